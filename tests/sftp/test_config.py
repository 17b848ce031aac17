"""SftpConfig validation: it is the [sftp] table of the TOML config file."""

from __future__ import annotations

import tomllib

import pytest
from pydantic import ValidationError

from daemon.service.sftp import SftpConfig

TOML = """
[sftp]
host = "sftp.district.example"
username = "roster"
path = "/exports/oneroster"
password_env = "ROSTER_SFTP_PASSWORD"
known_hosts = "/etc/roster-sync/known_hosts"
"""


def test_config_loads_from_toml_with_defaults() -> None:
    config = SftpConfig.model_validate(tomllib.loads(TOML)["sftp"])

    assert (config.port, config.poll_seconds, config.retries) == (22, 300, 5)
    assert config.timeout_seconds == 30
    assert (config.remote_quiet_seconds, config.ready_marker) == (120, None)


@pytest.mark.parametrize("marker", ["", " ", "done/x", "..", ".done", "export.tmp", "a\\b"])
def test_a_ready_marker_is_a_plain_visible_file_name(marker: str) -> None:
    data = {**tomllib.loads(TOML)["sftp"], "ready_marker": marker}
    with pytest.raises(ValidationError, match="ready_marker"):
        SftpConfig.model_validate(data)
    ok = {**data, "ready_marker": "export.done"}
    assert SftpConfig.model_validate(ok).ready_marker == "export.done"


def test_config_requires_a_login_method() -> None:
    data = tomllib.loads(TOML)["sftp"]
    del data["password_env"]

    with pytest.raises(ValidationError, match="key_file, password_file or password_env"):
        SftpConfig.model_validate(data)


def test_config_rejects_unknown_keys() -> None:
    data = tomllib.loads(TOML)["sftp"] | {"pasword_file": "/x"}

    with pytest.raises(ValidationError, match="pasword_file"):
        SftpConfig.model_validate(data)


def test_config_rejects_a_passphrase_without_a_key() -> None:
    data = tomllib.loads(TOML)["sftp"] | {"passphrase_env": "X"}

    with pytest.raises(ValidationError, match="unlock key_file"):
        SftpConfig.model_validate(data)
