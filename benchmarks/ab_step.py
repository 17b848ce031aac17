"""A/B of one step of a plan, inside one real `roster-sync run`: a git revision's function (A)
against the working tree's (B), alternating on the very same state.

A whole plan's wall time moves by more than one step's gain on a shared machine. Here the plan
runs once; when it reaches the step, the step runs B, A, B, A, ... on the tables the plan has
at that point (each call replaces the table it writes), printing each call's wall and CPU
seconds (the process's, all DuckDB threads) and a fingerprint of the table it left (row count
and the sum of every row's hash), then the plan goes on with A's table. It fails when the two
leave different tables.

    python benchmarks/ab_step.py --ref main --step daemon.sync.feed.classes:build_desired_enrollments \\
        --called-from daemon.sync.plan --table desired_enrollments -- --db new.duckdb run DIR/day1

`--called-from` is the module whose name for the function the plan calls (it imported it).
A's module is loaded from a `git worktree` of the revision under another name; its imports
resolve to the working tree's modules, so the two may differ only in that module.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import os
import resource
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def _cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _function_of(tree: Path, module: str, name: str) -> Callable:
    path = tree / (module.replace(".", "/") + ".py")
    spec = importlib.util.spec_from_file_location(f"ab_step_a.{module}", path)
    assert spec is not None and spec.loader is not None
    loaded = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(loaded)
    return getattr(loaded, name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--ref", required=True, help="git revision whose function is A")
    ap.add_argument("--step", required=True, help="module:function, as the plan calls it")
    ap.add_argument("--called-from", required=True, help="the module the plan calls it from")
    ap.add_argument("--table", required=True, help="the working table the step writes")
    ap.add_argument("--pairs", type=int, default=3)
    ap.add_argument("cli", nargs=argparse.REMAINDER, help="-- then roster-sync's arguments")
    args = ap.parse_args()
    module, name = args.step.split(":")
    sys.path.insert(0, str(ROOT))
    different: list[bool] = []
    with tempfile.TemporaryDirectory(prefix="ab-step-") as tmp:
        tree = Path(tmp) / "a"
        subprocess.run(
            ["git", "worktree", "add", "--detach", "-q", str(tree), args.ref], cwd=ROOT, check=True
        )
        try:
            variants = (("B", getattr(importlib.import_module(module), name)),)
            variants += (("A", _function_of(tree, module, name)),)

            def alternate(ctx, *step_args, **step_kwargs):
                seen: dict[str, tuple] = {}
                for pair in range(1, args.pairs + 1):
                    for label, step in variants:
                        cpu, started = _cpu(), time.perf_counter()
                        step(ctx, *step_args, **step_kwargs)
                        wall, cpu = time.perf_counter() - started, _cpu() - cpu
                        table = ctx.t(args.table)
                        fingerprint = tuple(
                            ctx.db.rows(f"SELECT count(*), sum(hash(x)) FROM {table} x")[0]
                        )
                        seen.setdefault(label, fingerprint)
                        load = os.getloadavg()[0]
                        print(
                            f"pair {pair} {label}: {wall:6.2f} s (CPU {cpu:6.2f} s)  "
                            f"load {load:.1f}  rows {fingerprint[0]}",
                            file=sys.stderr,
                            flush=True,
                        )
                different.append(seen["A"] != seen["B"])

            setattr(importlib.import_module(args.called_from), name, alternate)
            from daemon.cli.main import main as cli

            status = cli([a for a in args.cli if a != "--"])
            if status:
                return status
        finally:
            subprocess.run(
                ["git", "worktree", "remove", "--force", str(tree)], cwd=ROOT, check=False
            )
    if not different:
        print("the step was never reached", file=sys.stderr)
        return 1
    if any(different):
        print("A and B left different tables", file=sys.stderr)
        return 1
    print("A and B left the same table every time", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
