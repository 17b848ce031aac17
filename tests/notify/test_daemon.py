"""The daemon's loop notices events after each plan and sends them on a worker thread: a held
run is one email and one webhook, and a channel that cannot be reached never holds up or fails
a sync."""

from __future__ import annotations

import shutil
import time
from pathlib import Path

from daemon.notify import notifier
from daemon.service.config import load_config
from tests.cli.conftest import _log_to
from tests.conftest import SAMPLE
from tests.daemon.conftest import DaemonThread, copy_drop, preset, wait_for

from .servers import free_port


def start(config_path: Path, tmp_path: Path) -> DaemonThread:
    preset(load_config(config_path), sync_on_arrival=True)
    daemon = DaemonThread(config_path, None).start()
    _log_to(tmp_path / "daemon.log")
    return daemon


def runs(daemon: DaemonThread) -> list[tuple[int, str]]:
    client = daemon.client()
    try:
        return [(r.run_id, r.status) for r in sorted(client.list_runs(), key=lambda r: r.run_id)]
    finally:
        client.close()


def test_a_held_run_is_one_email_and_one_webhook(
    daemon_config_file, smtp, hooks, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setattr(notifier, "OBSERVE_EVERY", 0.1)  # many looks in the second below
    config_path = daemon_config_file()
    daemon = start(config_path, tmp_path)
    try:
        copy_drop(SAMPLE / "day3_broken", load_config(config_path).inbox, "day3")
        wait_for(lambda: (2, "held") in runs(daemon), 60, "run 2 held")
        [mail] = [m for m in smtp.wait(1, 30) if m.message["X-Roster-Sync-Event"] == "run_held"]
        [hook] = [h for h in hooks.wait(1, 30) if h.json["event"] == "run_held"]
        assert mail.subject.endswith("run 2 is held") and hook.json["data"]["run_id"] == 2
        time.sleep(1)  # ten more looks: nothing is sent again
        assert len(smtp.mails) == len(hooks.accepted()) == 1
        client = daemon.client()
        try:
            state = client.status().notifications
        finally:
            client.close()
        assert (state.pending, state.failed, state.sent) == (0, 0, 2)
    finally:
        daemon.stop()


def test_an_unreachable_channel_never_holds_up_the_sync(
    daemon_config_file, tmp_path: Path, monkeypatch
) -> None:
    monkeypatch.setenv("RS_TEST_WEBHOOK_SECRET", "a-key-for-a-receiver-that-is-down")
    config_path = daemon_config_file(
        webhook=[{"url": "http://127.0.0.1:9/down", "secret_env": "RS_TEST_WEBHOOK_SECRET"}],
        email=[],
    )
    broken = tmp_path / "no-users"
    broken.mkdir()
    shutil.copy(SAMPLE / "day2" / "orgs.csv", broken)  # fails at once: users.csv is missing
    daemon = start(config_path, tmp_path)
    try:
        copy_drop(broken, load_config(config_path).inbox, "day2")
        wait_for(lambda: (2, "failed") in runs(daemon), 60, "run 2 failed")

        def failed_once():
            client = daemon.client()
            try:
                channels = client.status().notifications.channels
                return channels if channels and channels[0].last_error else None
            finally:
                client.close()

        [channel] = wait_for(failed_once, 30, "a failed attempt")
        assert channel.channel == "webhook-1" and channel.pending == 1
        assert channel.last_error == "cannot reach http://127.0.0.1:9/…: Connection refused"
    finally:
        daemon.stop()
    log = (tmp_path / "daemon.log").read_text()
    failures = [line for line in log.splitlines() if "failed, attempt 1" in line]
    assert len(failures) == 1 and "next try at" in failures[0]


def test_a_secret_that_cannot_be_read_is_said_at_start(
    daemon_config_file, secrets, tmp_path: Path, caplog
) -> None:
    secrets["webhook"].chmod(0o640)
    daemon = start(daemon_config_file(), tmp_path)
    daemon.stop()
    log = caplog.text
    assert (
        f"notifications: webhook-1 cannot send until this is fixed: secret_file "
        f"{secrets['webhook']} has mode 0640; it must be readable only by its owner "
        f"(chmod 600 {secrets['webhook']}, or mode 0400 for a container secret)"
    ) in log
    assert "email-1 cannot send" not in log


def test_an_sftp_server_that_does_not_answer_is_told_once(
    daemon_config_file, smtp, hooks, tmp_path: Path, monkeypatch
) -> None:
    """Each mirror records whether the server answered; unanswered for `unreachable_hours`
    (a moment here) is one message, however many mirrors fail after it."""
    monkeypatch.setattr(notifier, "OBSERVE_EVERY", 0.1)
    monkeypatch.setenv("RS_TEST_SFTP_PASSWORD", "unused")
    (tmp_path / "known_hosts").write_text("")
    (tmp_path / "known_hosts").chmod(0o600)
    closed = free_port()  # nothing listens there
    config_path = daemon_config_file(
        sftp={
            "host": "127.0.0.1", "port": closed, "username": "district", "path": "/exports",
            "password_env": "RS_TEST_SFTP_PASSWORD", "known_hosts": str(tmp_path / "known_hosts"),
            "retries": 1, "timeout_seconds": 2, "poll_seconds": 0.2,
        },
        unreachable_hours=0.0003,  # about a second
    )  # fmt: skip
    preset(load_config(config_path), sync_on_arrival=True)  # poll the server all the time
    daemon = DaemonThread(config_path, None).start()
    _log_to(tmp_path / "daemon.log")
    try:
        [mail] = wait_for(
            lambda: [
                m for m in smtp.mails if m.message["X-Roster-Sync-Event"] == "source_unreachable"
            ],
            30,
            "the unreachable message",
        )
        assert mail.subject.endswith(": SFTP unreachable for 0 h")
        time.sleep(1)  # more failed mirrors, more looks
        assert [h.json["event"] for h in hooks.accepted()] == ["source_unreachable"]
    finally:
        daemon.stop()


def test_an_api_source_that_does_not_answer_is_told_once(
    daemon_config_file, smtp, hooks, tmp_path: Path, monkeypatch
) -> None:
    """A pull whose API does not answer counts like an unanswered SFTP server: one message once
    `unreachable_hours` have passed, named by the source."""
    monkeypatch.setattr(notifier, "OBSERVE_EVERY", 0.1)
    monkeypatch.setenv("RS_TEST_HUB_TOKEN", "unused")
    config_path = daemon_config_file(unreachable_hours=0.0003)  # about a second
    with open(config_path, "a", encoding="utf-8") as config:
        config.write(
            f"""
[sources.hub]
kind = "clever"
base_url = "http://127.0.0.1:{free_port()}/v3.0"
client_secret_env = "RS_TEST_HUB_TOKEN"
retries = 0
timeout_seconds = 2
"""
        )
    daemon = start(config_path, tmp_path)
    try:
        client = daemon.client()
        try:
            client.sync_now()  # pulls every source now
            time.sleep(1.5)  # longer than unreachable_hours
            client.sync_now()
        finally:
            client.close()
        [mail] = wait_for(
            lambda: [
                m for m in smtp.mails if m.message["X-Roster-Sync-Event"] == "source_unreachable"
            ],
            30,
            "the unreachable message",
        )
        assert mail.subject.endswith(": HUB unreachable for 0 h")
    finally:
        daemon.stop()
