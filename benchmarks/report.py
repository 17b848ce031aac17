"""The tables of BENCHMARKS.md, from the JSON a harness run wrote (`run_benchmark.py --json-out`).

    python benchmarks/report.py results.json [--targets-at 1000000]

Prints Markdown: the steps at one scale against the speed issue's targets, time per student at
every scale, and where the plans spent their time (the profile the harness took).
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

# step -> (target as a ratio to the floor, how the target reads)
TARGETS: dict[str, tuple[float, str]] = {
    "roster-sync plan": (0.8, "<= 0.8 (1.0 at the very least)"),
    "roster-sync apply": (0.2, "<= 0.2"),
    "roster-sync initial": (1.2, "<= 1.2"),
    "roster-sync duplicate scan": (0.6, "<= 0.6"),
}
LABELS = {
    "floor": "floor: DuckDB reads day 1 + day 2, keyed diff of users and enrollments",
    "roster-sync initial plan": "initial plan (day 1 into an empty directory)",
    "roster-sync initial apply": "initial apply",
    "roster-sync initial": "**initial load** (plan + apply)",
    "roster-sync duplicate scan": "**full duplicate scan** after the initial load",
    "roster-sync plan": "**day-2 plan** (load, validate, diff, conflicts, store the plan)",
    "roster-sync apply": "**day-2 apply**",
    "roster-sync incremental duplicate scan (after day 2)": "incremental duplicate scan after day 2",
}
RSS_TARGET_MB = 2500


def _verdict(name: str, ratio: float) -> str:
    if name not in TARGETS:
        return ""
    target, _ = TARGETS[name]
    if ratio <= target:
        return "met"
    return f"missed by {ratio / target - 1:.0%}"


def steps_table(result: dict[str, Any]) -> list[str]:
    steps = result["steps"]
    floor = steps["floor"]["seconds"]
    floor_cpu = steps["floor"].get("cpu_seconds")  # absent from runs before the tenth session
    lines = [
        "| step | wall s | peak RSS | × floor | CPU × floor | target | |",
        "|---|---:|---:|---:|---:|---|---|",
    ]
    for name, label in LABELS.items():
        step = steps.get(name)
        if not step or step.get("rc") != 0:
            continue
        ratio = step["seconds"] / floor
        cpu = step.get("cpu_seconds")
        cpu_ratio = f"{cpu / floor_cpu:.2f}" if cpu and floor_cpu else ""
        target = TARGETS.get(name, (0, ""))[1]
        lines.append(
            f"| {label} | {step['seconds']:.1f} | {step['peak_rss_mb'] / 1000:.2f} GB | "
            f"{ratio:.2f} | {cpu_ratio} | {target} | {_verdict(name, ratio)} |"
        )
    peak = max(s["peak_rss_mb"] for n, s in steps.items() if n.startswith("roster-sync"))
    verdict = "met" if peak < RSS_TARGET_MB else "missed"
    lines.append(
        f"| peak RSS of any Roster Sync step | | **{peak / 1000:.2f} GB** | | | < 2.5 GB | {verdict} |"
    )
    return lines + _samples(steps)


def _samples(steps: dict[str, Any]) -> list[str]:
    """The samples behind a median (`run_benchmark.py --repeat`), in the order taken."""
    taken = {n: s["samples"] for n, s in steps.items() if s.get("samples")}
    if not taken:
        return []

    def listed(key: str) -> str:
        return "; ".join(
            f"{n.removeprefix('roster-sync ').replace('plan', 'day-2 plan')} "
            + ", ".join(f"{x:.1f}" for x in steps[n][key])
            for n in taken
            if None not in (steps[n].get(key) or [None])  # runs before CPU time have none
        )

    lines = [
        "",
        f"Medians of samples taken in alternating pairs (seconds, in order): {listed('samples')}.",
    ]
    if cpu := listed("cpu_samples"):  # runs from the tenth session on
        lines.append(f"Their CPU seconds (user + system, same order): {cpu}.")
    return lines


def growth_table(results: list[dict[str, Any]]) -> list[str]:
    names = [n for n in LABELS if n != "roster-sync initial"]
    header = [
        "students",
        *("floor" if n == "floor" else n.removeprefix("roster-sync ") for n in names),
    ]
    lines = ["| " + " | ".join(header) + " |", "|" + "---:|" * len(header)]
    for r in results:
        cells = [f"{r['students']:,}"]
        for n in names:
            s = r["steps"].get(n)
            ok = s and s.get("rc") == 0
            cells.append(
                f"{s['seconds']:.1f} ({s['seconds'] / r['students'] * 1e6:.1f})" if ok else "-"
            )
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def stages_table(result: dict[str, Any]) -> list[str]:
    plans = {n: s for n, s in result["steps"].items() if s.get("stages")}
    names = list(dict.fromkeys(stage for s in plans.values() for stage in s["stages"]))
    titles = {"roster-sync initial plan": "initial plan s", "roster-sync plan": "day-2 plan s"}
    lines = [
        "| stage | " + " | ".join(titles.get(n, n) for n in plans) + " |",
        "|---|" + "---:|" * len(plans),
    ]
    for stage in names:
        cells = [f"{s['stages'].get(stage, 0):.1f}" for s in plans.values()]
        lines.append(f"| {stage} | " + " | ".join(cells) + " |")
    sums = [f"**{sum(s['stages'].values()):.1f}**" for s in plans.values()]
    lines.append("| **sum of SQL statements** | " + " | ".join(sums) + " |")
    walls = [f"{s['seconds']:.1f}" for s in plans.values()]
    lines.append("| wall time of the step | " + " | ".join(walls) + " |")
    return lines


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("results", type=Path)
    ap.add_argument("--targets-at", type=int, default=1_000_000)
    args = ap.parse_args(argv)
    body = json.loads(args.results.read_text())
    results = body["results"]
    at = next(r for r in results if r["students"] == args.targets_at)
    out = [f"### Steps at {at['students']:,} students", "", *steps_table(at), ""]
    out += ["### Time per student", "", "Seconds, and microseconds per student in brackets:", ""]
    out += [*growth_table(results), ""]
    for r in results:
        if r["students"] in (args.targets_at, max(x["students"] for x in results)):
            out += [f"### Where the plans spend their time, {r['students']:,} students", ""]
            out += [*stages_table(r), ""]
    print("\n".join(out))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
