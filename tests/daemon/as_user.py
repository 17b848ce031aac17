"""Run the `roster-sync` CLI as another Unix user: `python -m tests.daemon.as_user USER ARGS...`.

Why not runuser/setpriv: the test interpreter may live where the throwaway users cannot read it
(pyenv under /root is 0700). So this starts as root, imports what the CLI needs, then drops to
the user for good (uid, gid and supplementary groups) before the CLI connects to the socket; the
daemon then sees only that user in the socket's peer credentials.
"""

from __future__ import annotations

import os
import pwd
import sys

import daemon.cli.main as cli_main

# Modules the CLI imports lazily, loaded while still root (the user may not read them later).
import daemon.cli.render
import daemon.db
import daemon.service.client  # noqa: F401


def drop_to(user: str) -> None:
    entry = pwd.getpwnam(user)
    os.initgroups(user, entry.pw_gid)
    os.setresgid(entry.pw_gid, entry.pw_gid, entry.pw_gid)
    os.setresuid(entry.pw_uid, entry.pw_uid, entry.pw_uid)
    os.environ.update(USER=user, LOGNAME=user, HOME="/tmp")
    if os.getresuid() != (entry.pw_uid,) * 3:
        raise SystemExit(f"could not become {user}")


if __name__ == "__main__":
    drop_to(sys.argv[1])
    sys.exit(cli_main.main(sys.argv[2:]))
