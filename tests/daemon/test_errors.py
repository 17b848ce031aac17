"""The error family (daemon/errors.py): every expected error is a RosterSyncError with a title,
and each edge answers it as such: the socket server without a traceback, keeping the title."""

from __future__ import annotations

import logging

import pytest

from daemon.db import DatabaseLocked, DatabaseUnusable, SchemaTooNew
from daemon.directory.errors import EditRefused
from daemon.duplicates.errors import DuplicateError
from daemon.errors import RosterSyncError
from daemon.formats.drop import DropError
from daemon.formats.encoding import EncodingRefused
from daemon.ingest.header import FileRefused
from daemon.service.api import PermissionDenied
from daemon.service.client import ApiError, DaemonUnavailable
from daemon.service.config import ConfigError
from daemon.service.sftp import SftpError
from daemon.settings import SettingError
from daemon.sources.errors import SourceAuthError, SourceConfigError, SourceError
from daemon.sync.conflicts import ConflictError
from daemon.sync.export import ExportError
from daemon.sync.runs import RunError, RunSuperseded
from roster_tui.gateway import describe_error
from tests.district import TinyDistrict

EXPECTED = (
    RunError, RunSuperseded, EditRefused, DuplicateError, SettingError, ConflictError,
    ExportError, DropError, FileRefused, EncodingRefused, DatabaseLocked, DatabaseUnusable,
    SchemaTooNew, PermissionDenied, ConfigError, SftpError, DaemonUnavailable,
    SourceError, SourceConfigError, SourceAuthError,
)  # fmt: skip


@pytest.mark.parametrize("kind", EXPECTED, ids=lambda kind: kind.__name__)
def test_every_expected_error_is_one_family_with_a_title(kind: type[RosterSyncError]) -> None:
    assert issubclass(kind, RosterSyncError)
    title, message = describe_error(kind("what went wrong, and what to do"))
    assert title == kind.title and title != "Unexpected error"
    assert message == "what went wrong, and what to do"


def test_a_superseded_run_is_its_own_kind_of_run_error() -> None:
    assert describe_error(RunSuperseded("run 2 ... it is superseded: re-plan it"))[0] == (
        "Run superseded"
    )
    assert describe_error(RunError("run 2 is held"))[0] == "Run not changed"


def test_an_expected_error_travels_with_its_title_and_is_logged_without_a_traceback(
    make_daemon_config, start_daemon, clock, tmp_path, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger="roster_sync")
    daemon = start_daemon(make_daemon_config(), clock)
    client = daemon.client()
    drop = TinyDistrict().write(tmp_path / "drops")
    run = client.plan_source(str(drop))
    client.reject_run(run.run_id)
    with pytest.raises(ApiError) as refused:
        client.apply_run(run.run_id)
    client.close()
    assert daemon.stop() == 0

    assert refused.value.type == "RunError" and not refused.value.internal
    assert refused.value.title == "Run not changed"
    assert describe_error(refused.value) == (
        "Run not changed",
        f"run {run.run_id} is rejected; only planned or held runs can be applied",
    )
    assert "apply_run by root refused: RunError" in caplog.text
    assert "failed with" not in caplog.text and "Traceback" not in caplog.text
