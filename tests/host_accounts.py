"""Throwaway Unix users and groups the tests make (root only), each set under a name of its own.

Names are claimed, not fixed: two test runs on one host (a helper's and CI's) each made and
removed the same fixed users, and one run's cleanup deleted the other's users mid-test. A
claim is a random tag and a lock file held (flock) for as long as the accounts are in use: a
lock is seen across PID namespaces, where a process id is not. Accounts whose lock no live
process holds (a killed run's) are removed by the next claim of the same prefix.
"""

from __future__ import annotations

import contextlib
import fcntl
import grp
import os
import pwd
import secrets
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

_TAG_HEX = 10


@dataclass
class Claim:
    """A tag (`prefix` + 'x' + random hex) whose accounts this process owns until `release`."""

    tag: str
    lock: int
    locks: Path  # the folder of the prefix's lock files

    def release(self) -> None:
        """Remove every user, then every group, named from the tag, and give the tag up."""
        _remove_accounts(self.tag)
        (self.locks / f"{self.tag}.lock").unlink(missing_ok=True)
        os.close(self.lock)
        with contextlib.suppress(OSError):  # the last claim on the host leaves no folder
            self.locks.rmdir()


def claim(prefix: str, locks_folder: str) -> Claim:
    """A new tag of this process's own, its lock in `locks_folder` (under the temporary
    folder); first, the accounts of dead claims of `prefix` go."""
    locks = Path(tempfile.gettempdir()) / locks_folder
    _remove_orphans(prefix, locks)
    tag = f"{prefix}x{secrets.token_hex(_TAG_HEX // 2)}"  # never all digits (as pids were)
    while True:  # another process's release may remove the folder between the two steps
        locks.mkdir(mode=0o700, exist_ok=True)
        with contextlib.suppress(FileNotFoundError):
            fd = os.open(locks / f"{tag}.lock", os.O_CREAT | os.O_RDWR, 0o600)
            fcntl.flock(fd, fcntl.LOCK_EX)
            return Claim(tag, fd, locks)


def _remove_orphans(prefix: str, locks: Path) -> None:
    names = [e.pw_name for e in pwd.getpwall()] + [g.gr_name for g in grp.getgrall()]
    tags = {name[: len(prefix) + 1 + _TAG_HEX] for name in names if name.startswith(prefix + "x")}
    for tag in sorted(tags):
        lock = locks / f"{tag}.lock"
        try:
            fd = os.open(lock, os.O_RDWR)
        except FileNotFoundError:
            fd = None  # its lock file removed: no one holds it
        try:
            if fd is not None:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            continue  # a live test process holds it
        else:
            _remove_accounts(tag)
            lock.unlink(missing_ok=True)
        finally:
            if fd is not None:
                os.close(fd)


def _remove_accounts(tag: str) -> None:
    for entry in pwd.getpwall():
        if entry.pw_name.startswith(tag):
            subprocess.run(["userdel", entry.pw_name], check=False, capture_output=True)
    for group in grp.getgrall():
        if group.gr_name.startswith(tag):
            subprocess.run(["groupdel", group.gr_name], check=False, capture_output=True)
