"""The daemon's log names operations, callers and fields, never values (issue 13, item 19).

A parent's private e-mail and mobile number typed into `users edit-contact` must not end up in
the journal; the audit log in the database is where the values are kept.
"""

from __future__ import annotations

import logging

import pytest

from daemon.db import Database
from daemon.service.client import ApiError
from daemon.service.config import load_config
from tests.district import TinyDistrict

PRIVATE_EMAIL = "hidden.parent@family.example.net"
PRIVATE_MOBILE = "+1 555 0100 237"


def test_a_write_is_logged_with_field_names_and_never_values(
    make_daemon_config, start_daemon, clock, tmp_path, caplog
) -> None:
    caplog.set_level(logging.DEBUG, logger="roster_sync")
    config_path = make_daemon_config()
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    drop = TinyDistrict().write(tmp_path / "drops")
    run = client.plan_source(str(drop))
    client.apply_run(run.run_id)
    user = client.find_users("", "guardian").items[0]
    client.edit_contact(
        str(user["user_id"]), {"email": PRIVATE_EMAIL, "mobile_phone": PRIVATE_MOBILE}
    )
    guardian = client.create_user("guardian", "Secret", "Person", "secret.person@example.org")
    with pytest.raises(ApiError, match="does not look like an email address"):
        client.edit_contact(str(guardian), {"email": "refused-but-private"})
    client.close()
    assert daemon.stop() == 0

    log = caplog.text
    assert "edit_contact by root (user; changes: email, mobile_phone)" in log
    assert "create_user by root (kind; given_name; family_name; email)" in log
    for value in (PRIVATE_EMAIL, PRIVATE_MOBILE, "Secret", "secret.person", "refused-but"):
        assert value not in log
    with Database(load_config(config_path).database) as db:
        details = db.one(
            "SELECT details FROM audit_log WHERE action = 'user.edit_contact' ORDER BY audit_id "
            "LIMIT 1"
        )
    assert PRIVATE_EMAIL in details  # the audit log keeps what was done, for who may read it


def test_an_internal_error_is_logged_without_its_message(
    make_daemon_config, start_daemon, clock, caplog, monkeypatch
) -> None:
    """A fault's message may quote values: the log keeps the traceback and the type only."""
    from daemon.service.engine import Engine

    def broken(self, query="", kind=None, status=None, offset=0, limit=50):
        raise ValueError(f"cannot search for {query!r}")

    monkeypatch.setattr(Engine, "find_users", broken)
    caplog.set_level(logging.DEBUG, logger="roster_sync")
    daemon = start_daemon(make_daemon_config(), clock)
    client = daemon.client()
    try:
        client.find_users(PRIVATE_EMAIL)
    except ApiError as exc:
        assert exc.internal and exc.type == "ValueError"
    else:
        raise AssertionError("the fault was not reported")
    client.close()
    assert daemon.stop() == 0
    assert "find_users by root failed with ValueError" in caplog.text
    assert PRIVATE_EMAIL not in caplog.text
