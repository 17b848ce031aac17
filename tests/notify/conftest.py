"""Fixtures for the notification tests: a real SMTP server and a real webhook receiver on
loopback (started once per module, emptied for each test), secret files, and the [notify]
config that points at them."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from daemon.db import Database
from daemon.notify.config import NotifyConfig
from tests.cli.conftest import day1_template  # noqa: F401  (a fixture)

from .servers import (
    SMTP_PASSWORD,
    SMTP_USER,
    WEBHOOK_SECRET,
    SmtpServer,
    WebhookServer,
    secret_file,
    self_signed,
)

DISTRICT = "Riverbend Unified"


@pytest.fixture(scope="session")
def tls_files(tmp_path_factory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("tls"))


@pytest.fixture(scope="session")
def smtp_server(tls_files) -> Iterator[SmtpServer]:
    server = SmtpServer(*tls_files).start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def hook_server() -> Iterator[WebhookServer]:
    server = WebhookServer().start()
    yield server
    server.stop()


@pytest.fixture
def smtp(smtp_server: SmtpServer) -> SmtpServer:
    smtp_server.mails.clear()
    smtp_server.password = SMTP_PASSWORD
    smtp_server.logins_refused = 0
    smtp_server.refuse = set()
    smtp_server.quit_reply = None
    return smtp_server


@pytest.fixture
def hooks(hook_server: WebhookServer) -> WebhookServer:
    with hook_server.lock:
        hook_server.hooks.clear()
        hook_server.script.clear()
    return hook_server


@pytest.fixture
def secrets(tmp_path: Path) -> dict[str, Path]:
    return make_secrets(tmp_path / "secrets")


def make_secrets(folder: Path) -> dict[str, Path]:
    folder.mkdir()
    return {
        "password": secret_file(folder / "smtp-password", SMTP_PASSWORD),
        "webhook": secret_file(folder / "webhook-secret", WEBHOOK_SECRET),
    }


def notify_values(
    smtp: SmtpServer, hooks: WebhookServer, secrets: dict[str, Path], **extra: Any
) -> dict[str, Any]:
    """The [notify] table (as TOML would give it) for the servers of this module."""
    values: dict[str, Any] = {
        "district": DISTRICT,
        "retry_base_seconds": 60,
        "timeout_seconds": 5,
        "email": [
            {
                "host": "127.0.0.1",
                "port": smtp.port,
                "starttls": True,
                "ca_file": str(smtp.cert),
                "username": SMTP_USER,
                "password_file": str(secrets["password"]),
                "from": "roster-sync@riverbend.example.org",
                "to": ["rostering@riverbend.example.org", "it-oncall@riverbend.example.org"],
            }
        ],
        "webhook": [{"url": hooks.url, "secret_file": str(secrets["webhook"])}],
    }
    values.update(extra)
    return values


@pytest.fixture
def notify_config(smtp, hooks, secrets) -> NotifyConfig:
    return NotifyConfig.model_validate(notify_values(smtp, hooks, secrets))


@pytest.fixture
def day1(tmp_path: Path, day1_template: Path) -> Iterator[Database]:  # noqa: F811
    path = tmp_path / "day1.duckdb"
    shutil.copyfile(day1_template, path)
    db = Database(path)
    yield db
    db.close()


@pytest.fixture(scope="session")
def story(tmp_path_factory, day1_template, smtp_server, hook_server):  # noqa: F811
    """Every event kind, noticed and delivered once (tests/notify/story.py)."""
    from .story import build_story

    folder = tmp_path_factory.mktemp("story")
    config = NotifyConfig.model_validate(
        notify_values(smtp_server, hook_server, make_secrets(folder / "secrets"))
    )
    return build_story(folder, day1_template, config, smtp_server, hook_server)


def toml_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def notify_toml(values: dict[str, Any]) -> str:
    """The [notify] table and its [[notify.email]] / [[notify.webhook]] arrays, as TOML."""
    lines = ["", "[notify]"]
    lines += [f"{k} = {toml_value(v)}" for k, v in values.items() if not isinstance(v, list)]
    for group in ("email", "webhook"):
        for channel in values.get(group, []):
            lines += ["", f"[[notify.{group}]]"]
            lines += [f"{k} = {toml_value(v)}" for k, v in channel.items() if v is not None]
    return "\n".join(lines) + "\n"


@pytest.fixture
def daemon_config_file(tmp_path: Path, day1_template: Path, smtp, hooks, secrets):  # noqa: F811
    """A daemon config on a copy of the day-one database, with [notify] pointing at the
    servers; call it with changes to the [notify] table."""
    import tempfile

    from tests.daemon.conftest import write_config

    state = tmp_path / "state"
    state.mkdir()
    shutil.copyfile(day1_template, state / "roster.duckdb")
    sockets = Path(tempfile.mkdtemp(prefix="rsn-", dir="/tmp"))

    def make(sftp: dict[str, Any] | None = None, **changes: Any) -> Path:
        base: dict[str, Any] = {
            "database": str(state / "roster.duckdb"),
            "inbox": str(tmp_path / "inbox"),
            "archive": str(tmp_path / "archive"),
            "socket": str(sockets / "rs.sock"),
            "quiet_seconds": 0.3,
            "log_level": "INFO",
        }
        if sftp is not None:
            base["sftp"] = sftp
        path = write_config(tmp_path / "roster-sync.toml", base)
        values = notify_values(smtp, hooks, secrets, **changes)
        with open(path, "a", encoding="utf-8") as f:
            f.write(notify_toml(values))
        return path

    yield make
    shutil.rmtree(sockets, ignore_errors=True)
