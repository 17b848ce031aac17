"""Socket permissions and roles, with real Unix users calling the real CLI through the socket.

Throwaway users and groups are created (root only); each call runs `roster-sync` as that user,
so the daemon identifies the caller by the socket's peer credentials, never by the message.
"""

from __future__ import annotations

import grp
import json
import os
import stat
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from daemon.db import Database
from daemon.service.client import SocketClient
from daemon.service.config import load_config
from tests.district import TinyDistrict

from .conftest import SAMPLE, RoleAccounts, cli, copy_drop, preset, runs_in, wait_for


def test_socket_permissions_and_each_role(
    unix_users, make_daemon_config, start_daemon, clock
) -> None:
    config_path = make_daemon_config(socket_group=unix_users.socket_group, roles=_roles(unix_users))
    config_path.chmod(0o644)
    config = load_config(config_path)
    preset(config, sync_on_arrival=True)
    daemon = start_daemon(config_path, clock)

    st = os.stat(config.socket)
    assert stat.S_ISSOCK(st.st_mode)
    assert stat.S_IMODE(st.st_mode) == 0o660
    assert st.st_gid == grp.getgrnam(unix_users.socket_group).gr_gid

    copy_drop(SAMPLE / "day1", config.inbox, "day1")
    client = daemon.client()
    wait_for(lambda: runs_in(client) == [(1, "planned")], what="run 1")
    client.close()

    def as_user(short: str, *args: str) -> subprocess.CompletedProcess:
        return cli(config_path, *args, user=unix_users.user(short))

    viewer, contacts, admin = (unix_users.user(short) for short in ("viewer", "contacts", "admin"))

    # a viewer reads, and is refused a write with the role it lacks named
    listed = as_user("viewer", "runs")
    assert listed.returncode == 0, listed.stderr
    assert "planned" in listed.stdout
    refused = as_user("viewer", "apply", "1")
    assert refused.returncode != 0
    assert f"{viewer} may not apply run" in refused.stderr
    assert "needs the role rostering_admin" in refused.stderr

    # a users manager may not approve either
    refused = as_user("contacts", "apply", "1")
    assert refused.returncode != 0 and "rostering_admin" in refused.stderr

    # an admin (through a group) approves
    applied = as_user("admin", "apply", "1")
    assert applied.returncode == 0, applied.stderr

    # the users manager edits contact details; the viewer may not
    edited = as_user("contacts", "users", "edit-contact", "stu-1001", "--email", "c@example.org")
    assert edited.returncode == 0, edited.stderr
    refused = as_user("viewer", "users", "edit-contact", "stu-1001", "--email", "x@example.org")
    assert refused.returncode != 0 and "needs the role users_manager" in refused.stderr

    # in the socket's group without a role: nothing, not even reading
    refused = as_user("norole", "runs")
    assert refused.returncode != 0 and "needs the role viewer" in refused.stderr
    # not in the socket's group: the socket itself is closed to them
    refused = as_user("outsider", "runs")
    assert refused.returncode != 0
    assert "may not use the daemon's socket" in refused.stderr and "its group" in refused.stderr

    assert daemon.stop() == 0
    assert not config.socket.exists()
    db = Database(config.database)
    try:
        writes = db.rows(
            "SELECT actor, action, occurred_at IS NOT NULL FROM audit_log "
            "WHERE action IN ('run.apply', 'user.edit_contact') ORDER BY audit_id"
        )
        email = db.one("SELECT email FROM users WHERE sis_id = 'stu-1001'")
    finally:
        db.close()
    assert writes == [
        (admin, "run.apply", True),
        (contacts, "user.edit_contact", True),
    ]
    assert email == "c@example.org"


# ------------------------------------------------------------- rejecting runs, changing settings
def _roles(accounts: RoleAccounts) -> dict[str, list[str]]:
    return {
        "viewer": [accounts.user("viewer")],
        "users_manager": [accounts.user("contacts")],
        "rostering_admin": [f"@{accounts.admin_group}"],
    }


@dataclass
class Served:
    """A daemon serving a directory with run 1 planned, and the test's own client of it."""

    config_path: Path
    client: SocketClient


@pytest.fixture
def served(unix_users, make_daemon_config, start_daemon, clock, tmp_path) -> Iterator[Served]:
    config_path = make_daemon_config(socket_group=unix_users.socket_group, roles=_roles(unix_users))
    config_path.chmod(0o644)
    daemon = start_daemon(config_path, clock)
    client = daemon.client()
    assert client.plan_source(str(TinyDistrict().write(tmp_path))).status == "planned"
    yield Served(config_path, client)
    client.close()
    assert daemon.stop() == 0


@pytest.fixture(params=[("viewer", "viewer"), ("contacts", "users_manager")], ids=lambda p: p[1])
def below_admin(request, unix_users) -> tuple[str, str]:
    """(Unix user, role) of each role below rostering_admin."""
    short, role = request.param
    return unix_users.user(short), role


def _auto_apply(client) -> str:
    return next(r.value for r in client.settings_show() if r.key == "auto_apply")


def test_a_rostering_admin_may_reject_a_run_and_change_settings(unix_users, served) -> None:
    config_path, client = served.config_path, served.client
    admin = unix_users.user("admin")
    rejected = cli(config_path, "reject", "1", "--reason", "wrong term", user=admin)
    assert rejected.returncode == 0, rejected.stderr
    changed = cli(config_path, "settings", "set", "auto_apply", "true", user=admin)
    assert changed.returncode == 0, changed.stderr

    run = client.get_run(1)
    assert (run.status, run.decided_by) == ("rejected", admin)
    assert _auto_apply(client) == "true"


def test_whoami_names_the_callers_role_and_what_it_does_not_allow(served, below_admin) -> None:
    user, role = below_admin
    said = cli(served.config_path, "whoami", user=user)
    access = json.loads(cli(served.config_path, "whoami", "--json", user=user).stdout)
    assert said.returncode == 0, said.stderr
    lines = said.stdout.splitlines()
    assert lines[0] == f"{user}: {role}, through the daemon (its [roles] config gives the roles)"
    assert "Needs the role rostering_admin: " in said.stdout and "apply run" in said.stdout
    assert ("edit contact" in said.stdout) == (role == "viewer")
    assert (access["user"], access["roles"], access["in_process"]) == (user, [role], False)
    assert "get_run" in access["operations"] and "apply_run" not in access["operations"]
    assert ("edit_contact" in access["operations"]) == (role == "users_manager")


def test_roles_below_rostering_admin_may_neither_reject_a_run_nor_change_settings(
    served, below_admin
) -> None:
    (user, role), config_path, client = below_admin, served.config_path, served.client
    refused = cli(config_path, "reject", "1", user=user)
    assert refused.returncode != 0
    assert f"{user} may not reject run" in refused.stderr
    assert f"needs the role rostering_admin (you have: {role})" in refused.stderr
    refused = cli(config_path, "settings", "set", "auto_apply", "true", user=user)
    assert refused.returncode != 0
    assert f"{user} may not settings set" in refused.stderr
    assert "needs the role rostering_admin" in refused.stderr

    assert client.get_run(1).status == "planned"
    assert _auto_apply(client) == "false"
