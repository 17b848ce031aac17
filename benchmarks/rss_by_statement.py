"""During which SQL statements a roster-sync command's resident memory peaked (Linux).

The harness gives each step's peak RSS; this says where in the step it was reached. The command
runs with ROSTER_SYNC_PROFILE=1, so the CLI prints each statement's time as it ends; RSS is read
from /proc every 0.1 s, and each statement is given the highest sample taken while it ran.

    .venv/bin/python benchmarks/rss_by_statement.py [--top N] -- \
        .venv/bin/roster-sync --db work/roster.duckdb run DROP --json

ROSTER_SYNC_MEMORY_LIMIT is 2GB unless set. Prints the wall time, the peak sample and the N
statements with the highest samples (RSS while it ran, its duration, its opening).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

from profile_stages import PROFILE_LINE

SAMPLE_SECONDS = 0.1


def _rss_gb(pid: int) -> float | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1e6  # kB
    except FileNotFoundError:
        return None
    return None


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--top", type=int, default=8, help="statements to print (default 8)")
    parser.add_argument("command", nargs=argparse.REMAINDER, help="the command, after --")
    args = parser.parse_args()
    command = [c for c in args.command if c != "--"] if args.command[:1] == ["--"] else args.command
    if not command:
        parser.error("give the command to run after --")
    env = {
        "ROSTER_SYNC_MEMORY_LIMIT": "2GB",
        **os.environ,
        "ROSTER_SYNC_PROFILE": "1",
        "ROSTER_SYNC_PROFILE_MIN": os.environ.get("ROSTER_SYNC_PROFILE_MIN", "0.2"),
    }
    started = time.perf_counter()
    process = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
    )
    ended: list[tuple[float, str]] = []  # (when the statement's line came, the line)

    def read_profile() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            ended.append((time.perf_counter() - started, line.rstrip()))

    reader = threading.Thread(target=read_profile, daemon=True)
    reader.start()
    samples: list[tuple[float, float]] = []
    while process.poll() is None:
        rss = _rss_gb(process.pid)
        if rss is not None:
            samples.append((time.perf_counter() - started, rss))
        time.sleep(SAMPLE_SECONDS)
    reader.join(timeout=5)
    wall = time.perf_counter() - started
    if not samples:
        print(f"wall {wall:.1f} s, no RSS sample (exit {process.returncode})")
        return 1
    peak_at, peak = max(samples, key=lambda s: s[1])
    print(
        f"wall {wall:.1f} s, exit {process.returncode}, peak sampled RSS {peak:.2f} GB at {peak_at:.1f} s"
    )
    statements = []
    for end, line in ended:
        match = PROFILE_LINE.match(line)
        if match is None:
            continue
        seconds = float(match["seconds"])
        during = [rss for at, rss in samples if end - seconds <= at <= end]
        statements.append((max(during, default=0.0), seconds, match["sql"][:100]))
    for rss, seconds, sql in sorted(statements, reverse=True)[: args.top]:
        print(f"{rss:5.2f} GB {seconds:7.2f} s  {sql}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
