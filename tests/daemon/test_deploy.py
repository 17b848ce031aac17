"""The files in deploy/: the example config is valid and complete, the unit runs the daemon."""

from __future__ import annotations

import configparser
import tomllib
from pathlib import Path

import pytest

from daemon.notify.config import EmailChannel, NotifyConfig, WebhookChannel
from daemon.service.config import ConfigError, DaemonConfig, RolesConfig, load_config
from daemon.service.sftp import SftpConfig
from daemon.sources.config import SourceConfig

from .conftest import REPO

DEPLOY = REPO / "deploy"
EXAMPLE = DEPLOY / "roster-sync.example.toml"


def test_the_example_config_loads_and_names_every_key() -> None:
    config = load_config(EXAMPLE)
    assert config.socket == Path("/run/roster-sync/roster-sync.sock")
    assert config.sftp is not None and config.sftp.known_hosts.is_absolute()
    assert config.roles.rostering_admin == ["@roster-admins"]
    data = tomllib.loads(EXAMPLE.read_text())
    optional = {"ready_marker"}  # off unless set: documented as a comment
    assert set(data) == set(DaemonConfig.model_fields) - optional
    assert set(data["roles"]) == set(RolesConfig.model_fields)
    # every key is at least documented (secrets have alternatives, so some are comments)
    text = EXAMPLE.read_text()
    for key in [*optional, *SftpConfig.model_fields, *SourceConfig.model_fields]:
        assert f"{key} = " in text, key
    assert config.notify is not None and [n for n, _ in config.notify.channels()] == [
        "email-1",
        "webhook-1",
    ]
    assert [s.kind for s in config.sources.values()] == ["oneroster-rest"]
    channel_keys = {*EmailChannel.model_fields, *WebhookChannel.model_fields} - {"from_"}
    for key in [*NotifyConfig.model_fields, *channel_keys, "from"]:
        assert f"{key} = " in text or key in ("email", "webhook"), key


def test_relative_sftp_paths_are_relative_to_the_config_file(tmp_path: Path) -> None:
    text = EXAMPLE.read_text()
    for key in ("known_hosts", "key_file"):
        start = text.index(f"\n{key} = ") + 1
        end = text.index("\n", start)
        text = text[:start] + f'{key} = "keys/{key}"' + text[end:]
    (tmp_path / "roster-sync.toml").write_text(text)
    sftp = load_config(tmp_path / "roster-sync.toml").sftp
    assert sftp is not None
    assert sftp.known_hosts == tmp_path / "keys" / "known_hosts"
    assert sftp.key_file == tmp_path / "keys" / "key_file"


def test_an_unknown_key_is_refused_naming_it(tmp_path: Path) -> None:
    text = EXAMPLE.read_text().replace("quiet_seconds = 30", "quiet_seconds = 30\nquiet_secs = 5")
    (tmp_path / "bad.toml").write_text(text)
    with pytest.raises(ConfigError, match="unknown key 'quiet_secs'"):
        load_config(tmp_path / "bad.toml")
    text = EXAMPLE.read_text().replace("retries = 5", "retries = 5\nhostkey = 'x'")
    (tmp_path / "bad2.toml").write_text(text)
    with pytest.raises(ConfigError, match=r"unknown key 'sftp\.hostkey'"):
        load_config(tmp_path / "bad2.toml")


def test_the_systemd_unit_runs_the_daemon_with_the_state_it_needs() -> None:
    unit = configparser.ConfigParser(strict=False, interpolation=None)
    unit.optionxform = str  # type: ignore[assignment,method-assign]
    unit.read(DEPLOY / "roster-sync.service")
    service = unit["Service"]
    assert service["Type"] == "simple"
    assert service["User"] == service["Group"] == "roster-sync"
    assert service["ExecStart"] == (
        "/opt/roster-sync/.venv/bin/roster-sync --config /etc/roster-sync/roster-sync.toml daemon"
    )
    assert service["RuntimeDirectory"] == service["StateDirectory"] == "roster-sync"
    assert service["KillSignal"] == "SIGTERM" and service["Restart"] == "on-failure"
    assert int(service["TimeoutStopSec"]) >= 300
    assert service["ProtectSystem"] == "strict" and service["NoNewPrivileges"] == "true"
    assert "/var/lib/roster-sync" in service["ReadWritePaths"].split()
    assert service["PrivateTmp"] == "true"
    example = load_config(EXAMPLE)
    for path in (example.database, example.inbox, example.archive, example.mirror_dir):
        assert path.is_relative_to("/var/lib/roster-sync"), path
    assert example.socket.parent == Path("/run/roster-sync")
    assert unit["Install"]["WantedBy"] == "multi-user.target"
