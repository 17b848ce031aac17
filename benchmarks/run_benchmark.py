"""Performance benchmark: DuckDB floor vs Roster Sync vs a naive csv+dict diff, on the same files.

    python benchmarks/run_benchmark.py --students 1000000 [--work DIR] [--skip-naive]
        [--memory-limit 2GB] [--scales 100000,300000,1000000] [--json-out FILE] [--keep-db]
        [--repeat N]

Generates the district first when DIR lacks it (benchmarks/generate_district.py). Every measured
step runs as its own child process; see measure() for how its peak RSS is taken.

`--repeat N` measures the floor and the day-2 plan N times, in alternating pairs (floor, then
the plan on a fresh copy of the database as it was before day 2), and reports each one's median
with every sample: on a shared machine one sample of either can be 40% off.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
from bench_common import compare_changes  # noqa: E402
from generate_district import GENERATOR_VERSION  # noqa: E402
from profile_stages import stages  # noqa: E402

PY = sys.executable
# Plans print every SQL statement's time (stderr), grouped into stages (profile_stages.py).
PROFILED = {"ROSTER_SYNC_PROFILE": "1", "ROSTER_SYNC_PROFILE_MIN": "0"}


@dataclass
class Measured:
    argv: list[str]
    returncode: int
    seconds: float
    peak_rss_mb: float
    cpu_seconds: float  # user + system time of the child: steadier than wall on a shared machine
    stdout: str
    stderr: str


def measure(argv: list[str], env: dict[str, str] | None = None) -> Measured:
    """Run argv as a child process; return its wall time, CPU time and its own peak RSS.

    Peak RSS comes from os.wait4() on that child's pid: the kernel returns the rusage of exactly
    that child (ru_maxrss = its high-water mark, plus that of any descendants it waited for), which
    is what GNU `/usr/bin/time -v` reports too. getrusage(RUSAGE_CHILDREN) would not do: its
    ru_maxrss is the maximum over *all* children ever waited for, so a later, smaller step would
    inherit the peak of an earlier, bigger one. Output goes to temporary files (no pipe deadlock).
    """
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        t0 = time.perf_counter()
        proc = subprocess.Popen(argv, stdout=out, stderr=err, env=env)
        _, status, usage = os.wait4(proc.pid, 0)
        seconds = time.perf_counter() - t0
        proc.returncode = os.waitstatus_to_exitcode(status)  # already reaped: tell Popen
        out.seek(0)
        err.seek(0)
        return Measured(
            argv=[str(a) for a in argv],
            returncode=proc.returncode,
            seconds=round(seconds, 2),
            peak_rss_mb=round(usage.ru_maxrss / 1024, 1),  # Linux reports KiB
            cpu_seconds=round(usage.ru_utime + usage.ru_stime, 2),
            stdout=out.read().decode(errors="replace"),
            stderr=err.read().decode(errors="replace"),
        )


def ensure_data(work: Path, students: int, seed: int, rate: float) -> tuple[Path, dict[str, Any]]:
    data = work / f"district-{students}-seed{seed}-rate{rate:g}"
    exp_path = data / "expected.json"
    if exp_path.exists():
        exp = json.loads(exp_path.read_text())
        same = (exp.get("students"), exp.get("seed"), exp.get("change_rate"),
                exp.get("generator_version")) == (students, seed, rate, GENERATOR_VERSION)  # fmt: skip
        if same:
            print(f"using existing data in {data}")
            return data, exp
    print(f"generating {students:,} students into {data} ...", flush=True)
    subprocess.run([PY, str(HERE / "generate_district.py"), "--students", str(students),
                    "--out", str(data), "--seed", str(seed), "--change-rate", str(rate)],
                   check=True)  # fmt: skip
    return data, json.loads(exp_path.read_text())


def warm_cache(data: Path) -> None:
    """Read every CSV once so each measured step sees the same (warm) page cache."""
    for path in sorted(data.glob("day*/*.csv")):
        with path.open("rb") as fh:
            while fh.read(1 << 24):
                pass


def find_cli(explicit: str | None) -> str | None:
    if explicit:
        return explicit
    local = ROOT / ".venv" / "bin" / "roster-sync"
    if local.exists():
        return str(local)
    return shutil.which("roster-sync")


def parse_json(text: str) -> Any:
    """The CLI's JSON object; tolerate log lines around it."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        start = text.find("{")
        end = text.rfind("}")
        if start >= 0 and end > start:
            return json.loads(text[start : end + 1])
        raise


def _tail(m: Measured) -> str:
    text = (m.stderr.strip() or m.stdout.strip()).splitlines()
    return " | ".join(text[-3:])[-400:] or "(no output)"


KIND_ALIASES = {
    "student": {"student"},
    "guardian/parent": {"guardian", "parent", "family", "familymember", "contact"},
    "enrollment": {"enrollment", "membership", "classmembership"},
}


def _find_kind(changes: dict[str, Any], aliases: set[str]) -> str | None:
    for kind in changes:
        norm = kind.lower().replace("_", "").replace("-", "")
        if norm.rstrip("s") in aliases or norm in aliases:
            return kind
    return None


def check_plan(changes: dict[str, Any], expected: dict[str, Any]) -> tuple[list[str], list[str]]:
    """Compare planned counts with expected.json. Students are checked, and so are guardians
    where expected.json counts the rows that change more than their agents (`person_changes`,
    what a plan updates); otherwise guardians are informational, as are enrollments."""
    users = expected["changes"]["users"]["by_role"]
    people = expected.get("person_changes")
    checked = {"student", "guardian/parent"} if people else {"student"}
    wanted = {
        "student": users["student"],
        "guardian/parent": users["guardian/parent"],
        "enrollment": expected["changes"]["enrollments"]["total"],
    }
    mismatches: list[str] = []
    notes: list[str] = []
    for label, exp in wanted.items():
        kind = _find_kind(changes, KIND_ALIASES[label])
        if kind is None:
            (mismatches if label in checked else notes).append(
                f"{label}: no matching kind in plan (kinds: {sorted(changes)})"
            )
            continue
        got = changes[kind] or {}
        updated = people[label] if people and label in people else exp["changed"]
        target = {"create": exp["added"], "archive": exp["gone"], "update": updated,
                  "unarchive": 0}  # fmt: skip
        for op, want in target.items():
            have = got.get(op, 0)
            if have != want:
                line = f"{label} ({kind}) {op}: planned {have}, expected {want}"
                (mismatches if label in checked else notes).append(line)
    return mismatches, notes


def roster_sync(
    cli: str | None,
    data: Path,
    db: Path,
    mem: str,
    expected: dict[str, Any],
    before_day2: Path | None = None,
) -> dict:
    """The initial load, the full scan, day 2's plan and apply, the incremental scan.
    `before_day2`: where to copy the database as it is before day 2's plan (for repeats)."""
    if cli is None:
        return {"status": "unavailable: roster-sync CLI not found (.venv/bin or PATH)"}
    env = {**os.environ, "ROSTER_SYNC_MEMORY_LIMIT": mem}
    for p in (db, db.with_name(db.name + ".wal")):
        p.unlink(missing_ok=True)
    steps: dict[str, dict[str, Any]] = {}
    out: dict[str, Any] = {"status": "ok", "cli": cli, "steps": steps}

    def step(name: str, argv: list[str]) -> Measured | None:
        try:
            m = measure(
                [cli, "--db", str(db), *argv], env={**env, **PROFILED} if argv[0] == "run" else env
            )
        except OSError as exc:
            out["status"] = f"unavailable: cannot start {cli}: {exc}"
            return None
        steps[name] = {"seconds": m.seconds, "cpu_seconds": m.cpu_seconds,
                       "peak_rss_mb": m.peak_rss_mb, "rc": m.returncode}  # fmt: skip
        if argv[0] == "run":
            steps[name]["stages"] = stages(m.stderr)
        if m.returncode != 0:
            # The first command failing means the CLI cannot work at all (e.g. not written yet).
            what = "unavailable" if name == "initial plan" else "failed"
            out["status"] = f"{what}: `{' '.join(m.argv[1:])}` exited {m.returncode}: {_tail(m)}"
            return None
        return m

    # The initial load is planning day 1 on an empty directory, then applying it. The duplicate
    # scan that follows every apply in normal use is measured as its own step.
    first = step("initial plan", ["run", str(data / "day1"), "--json"])
    if first is None:
        return out
    if (
        step(
            "initial apply",
            ["apply", str(parse_json(first.stdout)["run_id"]), "--no-duplicate-scan"],
        )
        is None
    ):
        return out
    steps["initial"] = {
        "seconds": steps["initial plan"]["seconds"] + steps["initial apply"]["seconds"],
        "cpu_seconds": steps["initial plan"]["cpu_seconds"] + steps["initial apply"]["cpu_seconds"],
        "peak_rss_mb": max(
            steps["initial plan"]["peak_rss_mb"], steps["initial apply"]["peak_rss_mb"]
        ),
        "rc": 0,
    }
    # The first scan is full (no cache yet); after day 2's apply the scan is the incremental one
    # the daemon runs after every applied run. Each also reports its own time (without the CLI's
    # start-up) and steps.
    _scan_step(step, steps, "duplicate scan", ["duplicates", "scan", "--full", "--json"])
    if before_day2 is not None:
        shutil.copyfile(db, before_day2)
    plan = step("plan", ["run", str(data / "day2"), "--json"])
    if plan is None:
        return out
    try:
        body = parse_json(plan.stdout)
        run_id, changes = body["run_id"], body.get("changes", {})
    except (ValueError, KeyError, TypeError) as exc:
        out["status"] = f"unavailable: plan output is not the expected JSON ({exc}): {plan.stdout[:300]!r}"  # fmt: skip
        return out
    out.update(run_id=run_id, plan_status=body.get("status"), changes=changes)
    out["mismatches"], out["notes"] = check_plan(changes, expected)
    step("apply", ["apply", str(run_id), "--no-duplicate-scan"])
    _scan_step(
        step, steps, "incremental duplicate scan (after day 2)", ["duplicates", "scan", "--json"]
    )
    out["peak_rss_mb"] = max(s["peak_rss_mb"] for s in steps.values())
    return out


def _scan_step(step: Any, steps: dict[str, dict[str, Any]], name: str, argv: list[str]) -> None:
    """A duplicate scan step, with the scan's own figures from its JSON."""
    m = step(name, argv)
    if m is None:
        return
    try:
        body = parse_json(m.stdout)
    except ValueError:
        return
    steps[name]["scan"] = {
        k: body.get(k) for k in ("seconds", "incremental", "changed", "pairs_compared", "open")
    } | {"timings": body.get("timings")}


def run_scale(students: int, args: argparse.Namespace, cli: str | None) -> dict[str, Any]:
    data, expected = ensure_data(args.work, students, args.seed, args.change_rate)
    warm_cache(data)
    result: dict[str, Any] = {"students": students, "data": str(data),
                              "generation_seconds": expected["generation_seconds"],
                              "csv_bytes": expected["total_bytes"], "steps": {}}  # fmt: skip
    steps = result["steps"]

    print(f"[{students:,}] floor ...", flush=True)
    steps["floor"] = _floor(data, students, args, expected)

    print(f"[{students:,}] roster-sync ...", flush=True)
    db = args.work / f"roster-sync-{students}.duckdb"
    before_day2 = args.work / f"roster-sync-{students}-before-day2.duckdb"
    rs = roster_sync(
        cli, data, db, args.memory_limit, expected, before_day2 if args.repeat > 1 else None
    )
    files = [db, db.with_name(db.name + ".wal")]
    if db.exists():
        rs["db_mb"] = round(sum(p.stat().st_size for p in files if p.exists()) / 1e6, 1)
    if not args.keep_db:
        for p in files:
            p.unlink(missing_ok=True)
    result["roster_sync"] = rs
    for name, s in rs.get("steps", {}).items():
        steps[f"roster-sync {name}"] = s
    if args.repeat > 1 and before_day2.exists() and "plan" in rs.get("steps", {}):
        _repeat_floor_and_plan(data, students, args, cli, expected, before_day2, steps)
    before_day2.unlink(missing_ok=True)

    if not args.skip_naive:
        print(f"[{students:,}] naive ...", flush=True)
        d1, d2 = str(data / "day1"), str(data / "day2")
        m = measure([PY, str(HERE / "bench_steps.py"), "naive", d1, d2])
        steps["naive"] = _child_result(m, expected)
    result["ratios"] = ratios(steps, rs)
    return result


def _floor(data: Path, students: int, args: argparse.Namespace, expected: dict[str, Any]) -> dict:
    m = measure([PY, str(HERE / "bench_steps.py"), "floor", str(data / "day1"),
                 str(data / "day2"), "--db", str(args.work / f"floor-{students}.duckdb"),
                 "--memory-limit", args.memory_limit])  # fmt: skip
    return _child_result(m, expected)


def _repeat_floor_and_plan(
    data: Path,
    students: int,
    args: argparse.Namespace,
    cli: str | None,
    expected: dict[str, Any],
    before_day2: Path,
    steps: dict[str, dict[str, Any]],
) -> None:
    """More samples of the floor and the day-2 plan, in alternating pairs; each step's figure
    becomes the median sample (its own peak RSS and stages), and `samples` lists them all."""
    floors, plans = [steps["floor"]], [steps["roster-sync plan"]]
    env = {**os.environ, "ROSTER_SYNC_MEMORY_LIMIT": args.memory_limit, **PROFILED}
    copy = args.work / f"roster-sync-{students}-repeat.duckdb"
    for i in range(2, args.repeat + 1):
        print(f"[{students:,}] floor and day-2 plan, sample {i} of {args.repeat} ...", flush=True)
        floors.append(_floor(data, students, args, expected))
        shutil.copyfile(before_day2, copy)
        os.sync()  # the copy's write-back is not the plan's to pay
        m = measure([str(cli), "--db", str(copy), "run", str(data / "day2"), "--json"], env=env)
        sample = {"seconds": m.seconds, "cpu_seconds": m.cpu_seconds,
                  "peak_rss_mb": m.peak_rss_mb, "rc": m.returncode,
                  "stages": stages(m.stderr)}  # fmt: skip
        if m.returncode == 0:  # every sample's counts are checked, as the first plan's are
            changes = parse_json(m.stdout).get("changes", {})
            sample["mismatches"] = check_plan(changes, expected)[0]
        plans.append(sample)
        for p in (copy, copy.with_name(copy.name + ".wal")):
            p.unlink(missing_ok=True)
    for name, samples in (("floor", floors), ("roster-sync plan", plans)):
        ok = sorted((s for s in samples if s.get("rc") == 0), key=lambda s: s["seconds"])
        if not ok:
            continue
        median = ok[(len(ok) - 1) // 2]
        steps[name] = {**steps[name], **median,
                       "samples": [s["seconds"] for s in samples],
                       "cpu_samples": [s.get("cpu_seconds") for s in samples],
                       "median_of": len(ok),
                       "mismatches": [x for s in samples for x in s.get("mismatches", [])]}  # fmt: skip
    for name in ("floor", "roster-sync plan"):
        shown = ", ".join(f"{x:.1f}" for x in steps[name].get("samples", []))
        print(f"{name} samples (s): {shown or 'none succeeded'}", flush=True)


def _child_result(m: Measured, expected: dict[str, Any]) -> dict[str, Any]:
    res: dict[str, Any] = {"seconds": m.seconds, "cpu_seconds": m.cpu_seconds,
                           "peak_rss_mb": m.peak_rss_mb, "rc": m.returncode}  # fmt: skip
    if m.returncode != 0:
        res["error"] = _tail(m)
        return res
    body = json.loads(m.stdout)
    res["phases"] = body["phases"]
    res["mismatches"] = compare_changes(expected["changes"], body["changes"])
    return res


def ratios(steps: dict[str, dict[str, Any]], rs: dict[str, Any]) -> dict[str, float | None]:
    floor = steps.get("floor", {}).get("seconds")

    def over(name: str) -> float | None:
        s = steps.get(name, {})
        ok = floor and s.get("rc") == 0 and "seconds" in s
        return round(s["seconds"] / floor, 2) if ok else None

    floor_cpu = steps.get("floor", {}).get("cpu_seconds")

    def cpu_over(name: str) -> float | None:
        s = steps.get(name, {})
        ok = floor_cpu and s.get("rc") == 0 and s.get("cpu_seconds")
        return round(s["cpu_seconds"] / floor_cpu, 2) if ok else None

    return {"plan/floor": over("roster-sync plan"), "apply/floor": over("roster-sync apply"),
            "initial/floor": over("roster-sync initial"), "naive/floor": over("naive"),
            "dup_scan/floor": over("roster-sync duplicate scan"),
            "sync_peak_rss_mb": rs.get("peak_rss_mb"),
            # CPU time (user + system) against the floor's: a second opinion that a noisy
            # neighbour moves less than wall time (the targets are wall time)
            "plan/floor cpu": cpu_over("roster-sync plan"),
            "initial/floor cpu": cpu_over("roster-sync initial"),
            "dup_scan/floor cpu": cpu_over("roster-sync duplicate scan")}  # fmt: skip


def print_scale(r: dict[str, Any]) -> None:
    print(f"\n== {r['students']:,} students ({r['data']}) ==")
    floor = r["steps"].get("floor", {}).get("seconds") or 0
    print(f"{'step':<42}{'wall s':>10}{'CPU s':>9}{'peak RSS MB':>14}{'x floor':>10}")
    for name, s in r["steps"].items():
        x = f"{s['seconds'] / floor:.2f}" if floor and s.get("rc") == 0 else "-"
        flag = "" if s.get("rc") == 0 else f"  (exit {s.get('rc')})"
        cpu = f"{s['cpu_seconds']:.1f}" if s.get("cpu_seconds") is not None else "-"
        print(f"{name:<42}{s['seconds']:>10.2f}{cpu:>9}{s['peak_rss_mb']:>14.0f}{x:>10}{flag}")
    rs = r["roster_sync"]
    if rs["status"] != "ok":
        print(f"roster-sync: {rs['status']}")
    for name, s in r["steps"].items():
        for line in s.get("mismatches", []) if "mismatches" in s else []:
            print(f"MISMATCH {name}: {line}")
        if s.get("error"):
            print(f"ERROR {name}: {s['error']}")
    for line in rs.get("mismatches", []):
        print(f"MISMATCH roster-sync plan: {line}")
    for line in rs.get("notes", []):
        print(f"note roster-sync plan: {line}")
    for name, s in r["steps"].items():
        if "scan" in s:
            sc = s["scan"]
            print(
                f"{name}: {sc['seconds']} s inside the CLI "
                f"({'incremental, ' + format(sc['changed'], ',') + ' people changed' if sc['incremental'] else 'full'}, "
                f"{sc['pairs_compared']:,} pairs compared, {sc['open']:,} open; steps {sc['timings']})"
            )
    if "db_mb" in rs:
        print(f"roster-sync database after apply: {rs['db_mb']:.0f} MB")
    if "changes" in rs:
        print(f"roster-sync planned changes: {json.dumps(rs['changes'])}")
    print("ratios: " + ", ".join(f"{k}={v}" for k, v in r["ratios"].items()))
    print_stages(r)


def print_stages(r: dict[str, Any]) -> None:
    """The plans' SQL time per stage (see profile_stages.py)."""
    plans = {n: s for n, s in r["steps"].items() if s.get("stages")}
    if not plans:
        return
    names = list(dict.fromkeys(stage for s in plans.values() for stage in s["stages"]))
    print(
        f"\n{'where the plans spend their time (s)':<48}" + "".join(f"{n[12:]:>16}" for n in plans)
    )
    for stage in names:
        print(
            f"{stage:<48}" + "".join(f"{s['stages'].get(stage, 0):>16.2f}" for s in plans.values())
        )
    print(
        f"{'sum of SQL statements':<48}"
        + "".join(f"{sum(s['stages'].values()):>16.2f}" for s in plans.values())
    )
    print(
        f"{'wall time of the step':<48}" + "".join(f"{s['seconds']:>16.2f}" for s in plans.values())
    )


def print_scales(results: list[dict[str, Any]]) -> None:
    names = list(dict.fromkeys(n for r in results for n in r["steps"]))
    print("\n== scaling: seconds (microseconds per student) ==")
    print(f"{'students':>10}  " + "".join(f"{n:>26}" for n in names))
    for r in results:
        cells = []
        for n in names:
            s = r["steps"].get(n)
            ok = s and s.get("rc") == 0
            cells.append(
                f"{s['seconds']:.2f} ({s['seconds'] / r['students'] * 1e6:.1f})" if ok else "-"
            )
        print(f"{r['students']:>10,}  " + "".join(f"{c:>26}" for c in cells))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--students", type=int, default=1_000_000)
    ap.add_argument("--scales", help="comma-separated student counts, e.g. 100000,300000,1000000")
    ap.add_argument("--work", type=Path, default=HERE / "data")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--change-rate", type=float, default=0.01)
    ap.add_argument("--memory-limit", default="2GB")
    ap.add_argument("--skip-naive", action="store_true")
    ap.add_argument("--roster-sync", help="path of the roster-sync CLI (default: .venv/bin, PATH)")
    ap.add_argument("--json-out", type=Path)
    ap.add_argument("--keep-db", action="store_true", help="keep Roster Sync's database afterwards")
    ap.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="samples of the floor and the day-2 plan, in alternating pairs (medians reported)",
    )
    args = ap.parse_args(argv)
    args.work = args.work.resolve()
    args.work.mkdir(parents=True, exist_ok=True)
    scales = [int(x) for x in args.scales.split(",")] if args.scales else [args.students]
    cli = find_cli(args.roster_sync)
    results = []
    for n in scales:
        results.append(run_scale(n, args, cli))
        print_scale(results[-1])
    if len(results) > 1:
        print_scales(results)
    if args.json_out:
        machine = {"cpus": os.cpu_count(), "platform": platform.platform(),
                   "python": platform.python_version(), "memory_limit": args.memory_limit}  # fmt: skip
        args.json_out.write_text(json.dumps({"machine": machine, "results": results}, indent=2))
    failed = any(s.get("mismatches") for r in results for s in r["steps"].values())
    failed |= any(r["roster_sync"].get("mismatches") for r in results)
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
