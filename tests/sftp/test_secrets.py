"""Secrets: owner-only files, env vars, and nothing leaking into logs, errors or repr()."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest

from daemon.service.sftp import SftpAuthError, SftpConfigError, mirror

from .sshd import SshdServer

pytestmark = pytest.mark.sftp


def test_key_with_passphrase_from_secret_file(
    sshd: SshdServer, make_config, put, dest: Path, tmp_path: Path
) -> None:
    put("users.csv", b"a\n")
    passphrase = tmp_path / "passphrase"
    passphrase.write_text(sshd.key_passphrase + "\n")
    passphrase.chmod(0o400)
    config = make_config(
        password_file=None, key_file=sshd.client_key("ed25519_pass"), passphrase_file=passphrase
    )

    assert mirror(config, dest).downloaded == ["users.csv"]


def test_password_from_environment_variable(
    sshd: SshdServer, make_config, put, dest: Path, monkeypatch
) -> None:
    put("users.csv", b"a\n")
    monkeypatch.setenv("RS_TEST_SFTP_PASSWORD", sshd.password)
    config = make_config(password_file=None, password_env="RS_TEST_SFTP_PASSWORD")

    assert mirror(config, dest).downloaded == ["users.csv"]


def test_secret_file_readable_by_others_is_refused(
    make_config, password_file: Path, dest: Path
) -> None:
    password_file.chmod(0o644)

    with pytest.raises(SftpConfigError) as caught:
        mirror(make_config(), dest)

    assert str(password_file) in str(caught.value)
    assert "0644" in str(caught.value)


def test_wrong_passphrase_is_a_clear_config_error(
    sshd: SshdServer, make_config, dest: Path, monkeypatch
) -> None:
    monkeypatch.setenv("RS_TEST_PASSPHRASE", "not-the-passphrase")
    config = make_config(
        password_file=None,
        key_file=sshd.client_key("ed25519_pass"),
        passphrase_env="RS_TEST_PASSPHRASE",
    )

    with pytest.raises(SftpConfigError, match="wrong passphrase") as caught:
        mirror(config, dest)
    assert "not-the-passphrase" not in str(caught.value)


def test_auth_failure_is_not_retried(
    make_config, password_file: Path, dest: Path, no_sleep: list[float]
) -> None:
    password_file.write_text("definitely-wrong\n")

    with pytest.raises(SftpAuthError) as caught:
        mirror(make_config(retries=5), dest, sleep=no_sleep.append)

    assert no_sleep == []
    assert "refused the login" in str(caught.value)


def test_password_never_appears_in_logs_or_errors(
    sshd: SshdServer, make_config, put, password_file: Path, dest: Path, caplog
) -> None:
    caplog.set_level(logging.DEBUG)  # paramiko's transport logging included
    put("users.csv", b"a\n")
    config = make_config()
    report = mirror(config, dest)
    password_file.write_text("wrong-" + sshd.password + "\n")
    with pytest.raises(SftpAuthError) as caught:
        mirror(config, dest)

    assert report.downloaded == ["users.csv"]
    assert "Authentication (password) failed" in caplog.text  # paramiko's logs were captured
    texts = [caplog.text, str(caught.value), repr(caught.value), repr(config), repr(report)]
    texts += [str(caught.value.__cause__), str(caught.value.__context__)]
    for text in texts:
        assert sshd.password not in text
