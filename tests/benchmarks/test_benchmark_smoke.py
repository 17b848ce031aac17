"""The performance benchmark runs end to end at a tiny scale (the figures live in BENCHMARKS.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def harness(tmp_path_factory: pytest.TempPathFactory) -> tuple[subprocess.CompletedProcess, Path]:
    """One run of the harness at a tiny scale, three samples of each repeated step (its work
    folder and its output): every test below reads it."""
    work = tmp_path_factory.mktemp("harness")
    result = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "run_benchmark.py"), "--students", "300",
         "--work", str(work), "--skip-naive", "--repeat", "3",
         "--json-out", str(work / "results.json")],
        capture_output=True, text=True, timeout=300, cwd=REPO,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    return result, work


def test_benchmark_script_runs_every_step_and_counts_match(harness) -> None:
    result, work = harness
    for step in (
        "floor",
        "roster-sync initial",
        "roster-sync plan",
        "roster-sync apply",
        "incremental duplicate scan (after day 2)",
    ):
        assert step in result.stdout
    assert "ratios: plan/floor=" in result.stdout
    assert "MISMATCH" not in result.stdout.upper()
    # guardians are checked too: their person updates, not rows whose agents alone changed
    assert "note roster-sync plan" not in result.stdout
    [district] = [d.parent for d in work.glob("*/day2")]
    _read_costs_counts_the_lines_day_2_changed(district, work / "costs.json")


def _read_costs_counts_the_lines_day_2_changed(district: Path, out: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "benchmarks.read_costs", str(district), "--json-out", str(out)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    costs = json.loads(out.read_text())
    for name in ("users", "enrollments"):
        assert 0 < costs[name]["lines new on day 2"] < costs[name]["lines"]
        assert costs[name]["parse and keep, file order"] > 0


def test_repeats_report_the_median_of_alternating_samples(harness) -> None:
    _, work = harness
    out = work / "results.json"
    steps = json.loads(out.read_text())["results"][0]["steps"]
    for name in ("floor", "roster-sync plan"):
        samples = steps[name]["samples"]
        assert len(samples) == 3 and steps[name]["median_of"] == 3
        assert steps[name]["seconds"] == sorted(samples)[1]
        assert steps[name]["mismatches"] == []
        assert len(steps[name]["cpu_samples"]) == 3 and steps[name]["cpu_seconds"] > 0
    assert steps["roster-sync plan"]["stages"]  # the median sample's own profile
    assert not list(work.glob("*before-day2*")) and not list(work.glob("*repeat*"))
    report = subprocess.run(
        [sys.executable, str(REPO / "benchmarks" / "report.py"), str(out), "--targets-at", "300"],
        capture_output=True, text=True, timeout=60, cwd=REPO, check=True,
    ).stdout  # fmt: skip
    assert "Medians of samples taken in alternating pairs" in report
    assert "| CPU × floor |" in report
    assert "Their CPU seconds (user + system, same order): floor " in report


def test_the_pull_benchmark_pulls_and_plans_a_small_district(tmp_path):
    result = subprocess.run(
        [
            sys.executable,
            str(REPO / "benchmarks" / "pull_district.py"),
            "--students",
            "200",
            "--page-size",
            "100",
            "--work",
            str(tmp_path),
            "--plan",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=REPO,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "records/s; peak RSS of the pull" in result.stdout
    assert "planned: run 1 planned" in result.stdout and " 0 rows in error" in result.stdout
