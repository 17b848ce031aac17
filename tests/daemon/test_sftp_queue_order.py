"""Attacks on the export order of queued SFTP drops (an older export is never planned after a
newer one, and a drop waiting on the server holds the newer ones behind it without losing any):
drops with no export date, restarts while one waits, re-uploads of re-uploads. Against a real
sshd."""

from __future__ import annotations

from datetime import timedelta

import pytest

from .conftest import SAMPLE
from .test_daemon_drops import EXPORTED, upload
from .test_late_manifest import queue_without_planning
from .test_manifest_wait import delta_drop, quiet_until
from .test_sftp_late_manifest import drop_row, first_drop_applied

pytestmark = pytest.mark.sftp
DECIDED = ("planned", "superseded", "failed", "skipped")


def test_an_undated_queued_drop_uploaded_again_keeps_its_place_before_a_newer_undated_one(
    make_daemon_config, make_config, put, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    """weekly-a and weekly-b carry no export date (ordered by when first seen); weekly-a is
    uploaded again an hour later, while both are queued: it is planned from the new upload, in
    its place, and weekly-b (the newer export) is planned after it, not superseded."""
    config_path = first_drop_applied(
        make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
    )
    drop = delta_drop(tmp_path)
    upload(put, "weekly-a", drop, EXPORTED + 100, skip=("manifest.csv",))
    queue_without_planning(
        config_path, clock, ticks, "weekly-a", "sftp", newer=("weekly-b",),
        meanwhile=lambda: upload(put, "weekly-b", SAMPLE / "day2", EXPORTED + 150),
    )  # fmt: skip
    clock.set(clock() + timedelta(hours=1))
    upload(put, "weekly-a", drop, EXPORTED + 300)
    client = start_daemon(config_path, clock, ticks).client()
    quiet_until(ticks, lambda: drop_row(client, "weekly-b").status in DECIDED, "weekly-b")
    assert drop_row(client, "weekly-b").status == "planned"
    assert drop_row(client, "weekly-a").run_id == 2
    assert drop_row(client, "weekly-b").run_id == 3
    client.close()
