"""An SFTP folder the server never lets the mirror list: its drop, and the SFTP drops queued
after it, wait (nothing is planned from a copy the daemon cannot check), `status` says since
when and what a person can do, and once that lasts `unreachable_hours` the notifications tell
someone (a real SMTP server and webhook receiver on loopback); a folder unreadable from the
first mirror shows as a drop that waits too. Against a real sshd, with the wall clock moved by
hand."""

from __future__ import annotations

from datetime import timedelta

import pytest

from daemon.notify import notifier
from daemon.service.config import load_config
from tests.notify.conftest import (  # noqa: F401  (fixtures, reused as they are)
    hook_server,
    hooks,
    notify_toml,
    notify_values,
    secrets,
    smtp,
    smtp_server,
    tls_files,
)

from .conftest import SAMPLE, preset, runs_in, wait_for
from .test_daemon_drops import EXPORTED, pending, pending_line, polls, sftp_settings, upload
from .test_sftp_late_manifest import drop_row, planned_in_export_order, two_queued

pytestmark = pytest.mark.sftp
ADVICE = (
    "nothing is planned from it until a mirror lists it: fix the folder's permissions on the "
    "server, or set the drop aside (roster-sync drops set-aside"
)


def events_of(server, kind: str) -> list:
    return [m for m in server.mails if m.message["X-Roster-Sync-Event"] == kind]


def unlist_the_queued_folder(client, remote) -> None:
    """2026-09-16 waits behind the queued 2026-09-15, whose folder the server then stops
    letting the mirror list; returns once a mirror has failed on it."""
    pending_line(client, "sftp-2026-09-16: queued; waits behind sftp-2026-09-15", "held")
    (remote / "2026-09-15").chmod(0)
    wait_for(
        lambda: "failed (2026-09-15/)" in (client.status().daemon.last_mirror_result or ""),
        60, "a mirror that could not list 2026-09-15",
    )  # fmt: skip


@pytest.fixture
def unlisted_while_uploaded_again(
    make_daemon_config, make_config, put, remote, sshd, start_daemon, clock, ticks, tmp_path,
    smtp, hooks, secrets, monkeypatch,  # noqa: F811
):  # fmt: skip
    """Two queued (`two_queued`); the manifest of the older 2026-09-15 comes late (still
    changing on a server whose files settle after 60 s), so the newer 2026-09-16 waits behind
    it; then the folder's permissions change on the server for good (chmod 0), with
    [notify] pointing at the test's mail server and webhook receiver. Returns a client."""
    monkeypatch.setattr(notifier, "OBSERVE_EVERY", 0.1)
    config_path = two_queued(
        make_daemon_config, make_config, put, start_daemon, clock, ticks, tmp_path
    )
    sftp = sftp_settings(make_config, remote_quiet_seconds=60.0)
    assert make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp) == config_path
    with open(config_path, "a", encoding="utf-8") as f:
        f.write(notify_toml(notify_values(smtp, hooks, secrets, unreachable_hours=24)))
    drop = tmp_path / "delta"  # made by delta_drop in two_queued
    put("2026-09-15/manifest.csv", (drop / "manifest.csv").read_bytes(), mtime=EXPORTED + 300)
    client = start_daemon(config_path, clock, ticks).client()
    unlist_the_queued_folder(client, remote)
    yield client
    (remote / "2026-09-15").chmod(0o755)  # the server's tree is removed after the test
    client.close()


def test_a_folder_never_listed_again_holds_its_queued_drop_and_says_since_when_and_what_to_do(
    unlisted_while_uploaded_again, sshd, clock, ticks
) -> None:
    client = unlisted_while_uploaded_again
    unlisted_at = clock()
    clock.set(unlisted_at + timedelta(hours=30))
    ticks.advance(10 * 600.0)  # far past every give-up: a folder not looked at has none
    polls(sshd, 3)
    assert runs_in(client) == [(1, "applied")]  # neither the queued copy nor the newer drop
    line = pending_line(client, "sftp-2026-09-16: queued; waits behind sftp-2026-09-15", "held")
    assert line.endswith(
        "which waits for its manifest.csv, come after it was queued: the last mirror could not list 2026-09-15/ "
        f"(Permission denied); waiting for the next one; not listed since "
        f"{unlisted_at:%Y-%m-%d %H:%M} (30 hours), and {ADVICE} sftp-2026-09-15 --reason "
        "TEXT: it is not planned, and the drops queued after it go on)"
    ), line


def test_a_folder_unlisted_for_unreachable_hours_is_told_once_and_its_end_too(
    unlisted_while_uploaded_again, smtp, hooks, remote, sshd, clock, ticks,  # noqa: F811
) -> None:  # fmt: skip
    client = unlisted_while_uploaded_again
    clock.set(clock() + timedelta(hours=23))
    polls(sshd, 3)
    assert not events_of(smtp, "sftp_folder_unreadable")  # not yet a day
    clock.set(clock() + timedelta(hours=2))
    [mail] = wait_for(lambda: events_of(smtp, "sftp_folder_unreadable"), 30, "the message")
    assert mail.subject.endswith("SFTP folder 2026-09-15/ unreadable")
    assert (
        "2 drops wait on it, and none is planned until it can be read: sftp-2026-09-15, "
        "sftp-2026-09-16." in mail.text
    )
    [hook] = wait_for(
        lambda: [h for h in hooks.accepted() if h.json["event"] == "sftp_folder_unreadable"], 30
    )
    assert hook.json["data"] == {
        "folder": "2026-09-15/", "hours": 25, "drops": ["sftp-2026-09-15", "sftp-2026-09-16"]
    }  # fmt: skip
    polls(sshd, 3)
    assert len(events_of(smtp, "sftp_folder_unreadable")) == 1
    (remote / "2026-09-15").chmod(0o755)  # fixed on the server
    polls(sshd, 2)
    ticks.advance(60.0)  # the new upload settles
    planned_in_export_order(client, ticks)
    [back] = wait_for(lambda: events_of(smtp, "sftp_folder_recovered"), 30, "the end of it")
    assert back.subject.endswith("SFTP folder 2026-09-15/ resolved")
    assert drop_row(client, "2026-09-15").change_note is None


def test_a_folder_unreadable_from_the_first_mirror_waits_as_a_drop_and_is_synced_once_readable(
    make_daemon_config, make_config, put, remote, sshd, start_daemon, clock, ticks, tmp_path
) -> None:
    """The server holds 2026-09-14 and 2026-09-15, which the daemon's user may not list from
    the start: -14 is planned, and -15 is not forgotten: it waits, saying why (before, it made
    no drop at all, and nothing told anyone it was there). Once readable it is synced."""
    upload(put, "2026-09-14", SAMPLE / "day1", EXPORTED)
    upload(put, "2026-09-15", SAMPLE / "day2", EXPORTED + 100)
    (remote / "2026-09-15").chmod(0)
    sftp = sftp_settings(make_config, remote_quiet_seconds=0)
    config_path = make_daemon_config(mirror=str(tmp_path / "mirror"), sftp=sftp)
    preset(load_config(config_path), sync_on_arrival=True)
    client = start_daemon(config_path, clock, ticks).client()
    try:
        line = pending_line(client, "sftp/2026-09-15: ", "the unreadable folder's drop")
        wait_for(lambda: runs_in(client) == [(1, "planned")], 60, "2026-09-14 planned")
        assert line.startswith(
            "sftp/2026-09-15: the last mirror could not list 2026-09-15/ (Permission denied)"
        )
        clock.set(clock() + timedelta(hours=2))
        polls(sshd, 2)
        assert any(
            line.startswith("sftp/2026-09-15: ") and "(2 hours)" in line
            and line.endswith(f"{ADVICE} sftp/2026-09-15 --reason TEXT: it is not planned)")
            for line in pending(client)
        ), pending(client)  # fmt: skip
        assert len(runs_in(client)) == 1
    finally:
        (remote / "2026-09-15").chmod(0o755)
    wait_for(
        lambda: any(d.name == "2026-09-15" and d.run_id == 2 for d in client.status().daemon.drops),
        60, "2026-09-15 planned once readable",
    )  # fmt: skip
    client.close()
