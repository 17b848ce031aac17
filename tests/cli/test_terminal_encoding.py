"""A terminal that cannot show a character shows its escape: the command still answers whole
(a name with an accent was an internal error half-way through a listing under ASCII)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import REPO


def test_a_name_an_ascii_terminal_cannot_show_is_escaped(tmp_path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ROSTER_SYNC")}

    def cli(*args: str, encoding: str = "utf-8") -> subprocess.CompletedProcess:
        return subprocess.run(
            [sys.executable, "-m", "daemon.cli.main", "--db", str(tmp_path / "r.duckdb"), *args],
            cwd=REPO, env={**env, "PYTHONIOENCODING": encoding}, capture_output=True,
            timeout=60, stdin=subprocess.DEVNULL,
        )  # fmt: skip

    assert cli("users", "add", "guardian", "Zoë", "Núñez").returncode == 0
    found = cli("users", "find", "Zo", encoding="ascii")
    assert found.returncode == 0, found.stderr
    assert b"Zo\\xeb N\\xfa\\xf1ez" in found.stdout and found.stdout.endswith(b"1 person\n")
