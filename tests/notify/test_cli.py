"""`roster-sync notify test` sends to every channel and prints a line per channel, the same
embedded (the config file's [notify]) and through the daemon (the daemon's own [notify], an
admin operation); `roster-sync status` shows the outbox."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from daemon.cli.main import main
from daemon.db import Database
from daemon.service.config import load_config
from daemon.service.engine import Engine
from tests.cli.conftest import _log_to
from tests.daemon.conftest import DaemonThread

from .servers import SMTP_PASSWORD, secret_file


@pytest.fixture(autouse=True)
def _no_ambient_locations(monkeypatch) -> None:
    monkeypatch.delenv("ROSTER_SYNC_CONFIG", raising=False)
    monkeypatch.delenv("ROSTER_SYNC_DB", raising=False)


@pytest.fixture(params=["embedded", "daemon"])
def way(request, tmp_path: Path):
    """Run `roster-sync --config FILE ...` embedded, or with a daemon serving that config."""
    started: list[DaemonThread] = []

    def run(config: Path, *args: str, capsys) -> tuple[int, str, str]:
        if request.param == "daemon" and not started:
            started.append(DaemonThread(config, None).start())
            _log_to(tmp_path / "daemon.log")  # stderr is the command's own
        capsys.readouterr()
        code = main(["--config", str(config), *args])
        out, err = capsys.readouterr()
        return code, out, err

    run.mode = request.param  # type: ignore[attr-defined]
    yield run
    for daemon in started:
        daemon.stop()


def test_notify_test_sends_to_every_channel(way, daemon_config_file, smtp, hooks, capsys):
    config = daemon_config_file()
    code, out, err = way(config, "notify", "test", capsys=capsys)
    assert (code, err) == (0, "")
    assert out.splitlines() == [
        f"email-1 (smtp 127.0.0.1:{smtp.port}): sent: sent to 2 recipients",
        f"webhook-1 (http://127.0.0.1:{hooks.port}/…): sent: HTTP 200",
    ]
    [mail] = smtp.wait(1)
    [hook] = hooks.wait(1)
    assert mail.subject == "[Roster Sync] Riverbend Unified: test message"
    assert hook.json["event"] == "test" and hook.json["data"] == {"channel": "webhook-1"}


def test_a_channel_that_fails_says_why_and_the_command_fails(
    way, daemon_config_file, smtp, hooks, tmp_path: Path, capsys
):
    config = daemon_config_file()
    secret_file(tmp_path / "secrets" / "smtp-password", "wrong-password")
    code, out, err = way(config, "notify", "test", capsys=capsys)
    assert (code, err) == (1, "")
    lines = out.splitlines()
    assert lines[0].startswith(
        f"email-1 (smtp 127.0.0.1:{smtp.port}): FAILED: 127.0.0.1:{smtp.port} refused the login "
        "of roster-robot: 535 "
    )
    assert lines[1].endswith(": sent: HTTP 200")
    assert "wrong-password" not in out and SMTP_PASSWORD not in out


def test_notify_test_json(way, daemon_config_file, capsys) -> None:
    import json

    code, out, _ = way(daemon_config_file(), "notify", "test", "--json", capsys=capsys)
    assert code == 0
    assert [(r["channel"], r["ok"]) for r in json.loads(out)] == [
        ("email-1", True),
        ("webhook-1", True),
    ]


def test_notify_test_without_a_config_file_says_where_to_look(day1, capsys) -> None:
    code = main(["--db", str(day1.path), "notify", "test"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == (
        "roster-sync: notify test reads the [notify] section of the daemon's config file: "
        "roster-sync notify test --config FILE\n"
    )


def test_notify_test_with_no_config_and_no_database_asks_for_the_config(
    tmp_path: Path, monkeypatch, capsys
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))  # no database, no daemon at the defaults
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path / "run"))
    code = main(["notify", "test"])
    out, err = capsys.readouterr()
    assert (code, out) == (2, "")
    assert err == (
        "roster-sync: notify test reads the [notify] section of the daemon's config file: "
        "roster-sync notify test --config FILE\n"
    )


def test_a_ca_file_that_does_not_exist_is_refused_when_the_config_is_loaded(
    daemon_config_file,
) -> None:
    from daemon.notify.config import NotifyError

    path = daemon_config_file()
    text = path.read_text().replace('ca_file = "', 'ca_file = "/nowhere/typo-')
    path.write_text(text)
    with pytest.raises(
        NotifyError, match=r"^notify\.email\.0\.ca_file: /nowhere/typo-.*: no such file$"
    ):
        load_config(path)


def test_a_password_pasted_into_password_env_is_one_line_that_does_not_repeat_it(
    daemon_config_file, capsys
) -> None:
    path = daemon_config_file()
    text = path.read_text().replace("password_file = ", 'password_env = "Sup3r-S3cret/Relay!pw"\n#')
    path.write_text(text)
    code = main(["--config", str(path), "notify", "test"])
    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    line = 1 + path.read_text().splitlines().index('password_env = "Sup3r-S3cret/Relay!pw"')
    assert err == (
        f"roster-sync: {path} line {line}: 'notify.email.0.password_env': password_env must be "
        "the name of an environment variable (letters, digits, _), not the secret itself\n"
    )


def test_status_shows_the_outbox_without_secrets(
    way, daemon_config_file, smtp, hooks, capsys
) -> None:
    from daemon.notify.outbox import deliver_due, record_event

    path = daemon_config_file()
    config = load_config(path)
    hooks.script[:] = [503]
    db = Database(config.database)
    try:
        now = datetime.now(UTC)
        record_event(db, config.notify, "run_failed", "run_failed:9", {"run_id": 9}, now)
        deliver_due(db, config.notify, lambda: now)
        assert Engine(db, "t").status().notifications.pending == 1
    finally:
        db.close()
    code, out, _ = way(path, "status", capsys=capsys)
    assert code == 0
    lines = out.splitlines()
    at = lines.index("Notifications: 1 pending, 0 failed, 1 sent")
    assert lines[at + 1].startswith("  webhook-1: last error at ")
    assert lines[at + 1].endswith(
        f" UTC: http://127.0.0.1:{hooks.port}/… answered HTTP 503 Service Unavailable"
    )
    assert "t0k3n" not in out
    if way.mode == "daemon":
        assert (
            f"Notification channels: email-1 (smtp 127.0.0.1:{smtp.port}), "
            f"webhook-1 (http://127.0.0.1:{hooks.port}/…)"
        ) in lines
