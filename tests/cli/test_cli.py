"""The command line: scripts rely on its commands, JSON keys and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from daemon.cli.main import main

KINDS = ("schools", "classrooms", "students", "staff", "guardians", "enrollments", "guardian_links")
OPS = ("create", "update", "archive", "unarchive")


def test_run_json_has_the_documented_keys(cli, sample):
    code, out, _ = cli("run", str(sample / "day1"), "--json")
    run = json.loads(out)
    assert code == 0
    assert {"run_id", "status", "hold_reasons", "changes", "rows", "conflicts"} <= set(run)
    for kind in KINDS:
        assert set(run["changes"][kind]) >= set(OPS)
    assert set(run["rows"]) == {"success", "warning", "error", "file_warnings"}
    assert run["status"] == "planned" and run["hold_reasons"] == []


def test_run_with_apply_applies_unless_held(cli, sample):
    code, out, _ = cli("run", str(sample / "day1"), "--apply", "--json")
    assert code == 0 and json.loads(out)["status"] == "applied"
    code, out, err = cli("run", str(sample / "day3_broken"), "--apply", "--json")
    held = json.loads(out)
    assert held["status"] == "held" and held["hold_reasons"]
    assert code == 3, "a script must not take a held run for applied"
    assert err.startswith("roster-sync: run 2 is held and was not applied (")
    assert err.rstrip().endswith("apply 2 --override --reason TEXT") and err.count("\n") == 1


def test_a_held_run_planned_without_apply_exits_0(cli, sample, day1_db):  # day 1 applied
    code, out, err = cli("run", str(sample / "day3_broken"), "--json")
    assert code == 0, "planning was what was asked"
    assert json.loads(out)["status"] == "held" and err == ""


def test_runs_json_is_an_array_newest_first(cli, sample, day1_db):  # day 1 applied
    cli("run", str(sample / "day2"))
    code, out, _ = cli("runs", "--json")
    runs = json.loads(out)
    assert code == 0 and [r["run_id"] for r in runs] == [2, 1]
    assert [r["status"] for r in runs] == ["planned", "applied"]


def test_show_prints_a_summary_a_person_reads_quickly(cli, sample, day1_db):  # day 1 applied
    cli("run", str(sample / "day2"))
    code, out, _ = cli("show", "2")
    assert code == 0
    assert "Run 2: PLANNED - awaiting approval" in out
    assert "students" in out and "Next: roster-sync --db " in out


def test_the_next_steps_name_the_database_the_command_was_given(cli, sample, day1_db, db_path):
    cli("run", str(sample / "day2"))
    _, out, _ = cli("show", "2")
    assert (
        f"Next: roster-sync --db {db_path} apply 2   or   roster-sync --db {db_path} reject 2"
        in out
    )


def test_held_run_summary_says_why_and_how_to_override(cli, sample, day1_db):  # day 1 applied
    code, out, _ = cli("run", str(sample / "day3_broken"))
    assert code == 0
    assert "HELD: students:" in out and "--override" in out
    assert "roster-sync --db " in out and " results 2)" in out


def test_apply_of_a_held_run_without_override_fails_with_one_line(
    cli, sample, day1_db
):  # day 1 applied
    cli("run", str(sample / "day3_broken"))
    code, out, err = cli("apply", "2")
    assert code == 1 and out == ""
    assert err.strip().count("\n") == 0
    assert "held; apply it with --override" in err


def test_unknown_run_is_a_clear_error_not_a_traceback(cli, day1_db):
    code, _, err = cli("show", "99")
    assert code == 1 and err == "roster-sync: there is no run 99\n"


def test_a_failed_run_exits_non_zero(cli, tmp_path):
    (tmp_path / "empty").mkdir()
    code, _, err = cli("run", str(tmp_path / "empty"))
    assert code == 1 and "holds no CSV files" in err


def test_results_write_every_row_as_csv(cli, sample, tmp_path, day1_db):  # day 1 applied
    cli("run", str(sample / "day3_broken"))
    out_file = tmp_path / "results.csv"
    code, _, err = cli("results", "2", "-o", str(out_file))
    lines = out_file.read_text().splitlines()
    assert code == 0 and "row results written" in err
    assert lines[0] == "file,line,sourcedId,status,column,message"
    assert any(line.startswith("users.csv,42,stu-9001,ERROR,role,") for line in lines)


def test_settings_set_refuses_a_bad_value_with_the_allowed_ones(cli):
    code, _, err = cli("settings", "set", "classroom_filter", "some")
    assert code == 1 and "allowed: all, homeroom_only" in err
    code, out, _ = cli("settings", "set", "classroom_filter", "homeroom_only")
    assert code == 0 and out.strip() == "classroom_filter = homeroom_only"


def test_conflicts_resolve_decides_a_conflict(cli, sample, day1_db):  # day 1 applied
    cli("users", "activate", "gdn-3136")
    code, out, _ = cli("run", str(sample / "day2"), "--json")
    assert json.loads(out)["conflicts"] == 1
    _, out, _ = cli("conflicts", "2", "--json")
    conflict = json.loads(out)[0]
    code, out, _ = cli("conflicts", "resolve", str(conflict["conflict_id"]), "take")
    assert code == 0 and "decided: take" in out


def test_export_writes_oneroster_files_and_a_manifest(
    cli, sample, tmp_path, day1_db
):  # day 1 applied
    code, _, _ = cli("export", str(tmp_path / "out"))
    assert code == 0
    names = sorted(p.name for p in (tmp_path / "out").iterdir())
    assert {"manifest.csv", "users.csv", "classes.csv", "enrollments.csv", "orgs.csv"} <= set(names)


def test_export_counts_one_hand_made_record_left_out_as_one(cli, tmp_path, day1_db):
    cli("users", "add", "guardian", "Hanna", "Handmade")
    code, out, _ = cli("export", str(tmp_path / "out"))
    assert code == 0
    assert "1 hand-made record is not exported (it has no SIS id)." in out


def test_an_older_night_superseded_by_a_later_drop_is_not_offered_again(cli, sample, day1_db):
    """Its status says which later run was applied; applying it says to run the drop again, not
    to replan it (replan refuses: it would take back what the later run did)."""
    day2 = str(sample / "day2")
    assert cli("run", day2)[0] == 0  # run 2, left open
    assert cli("run", day2, "--apply")[0] == 0  # run 3, a later drop's, applied
    code, out, _ = cli("show", "2")
    assert code == 0
    assert "Run 2: SUPERSEDED - run 3, from a later drop, was applied since" in out
    code, _, err = cli("apply", "2")
    assert code != 0 and "its drop is an older night; to sync it all the same" in err


def test_the_console_script_runs_without_stdin_and_stays_quiet_when_piped(db_path, sample):
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "daemon.cli.main",
            "--db",
            str(db_path),
            "run",
            str(sample / "day1"),
        ],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=120,
    )
    assert result.returncode == 0
    # no progress bars when not on a terminal; only the one line saying a database was made
    assert result.stderr == f"roster-sync: created a new database at {db_path}\n"
    assert "Run 1: PLANNED" in result.stdout


def test_database_location_comes_from_the_environment(tmp_path, monkeypatch, capsys, sample):
    target = tmp_path / "env.duckdb"
    monkeypatch.setenv("ROSTER_SYNC_DB", str(target))
    monkeypatch.delenv("ROSTER_SYNC_CONFIG", raising=False)
    assert main(["run", str(sample / "day1")]) == 0
    assert Path(target).exists()


@pytest.fixture
def home(tmp_path, monkeypatch) -> Path:
    """A fresh HOME; no database named by --db, ROSTER_SYNC_DB or a config file."""
    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.delenv("ROSTER_SYNC_DB", raising=False)
    monkeypatch.delenv("ROSTER_SYNC_CONFIG", raising=False)
    return home


START = ["settings", "set", "auto_apply", "false"]  # a command that may start a database


def test_default_database_is_under_xdg_data_home(home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert main(START) == 0
    assert main(["runs", "--json"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1]) == []
    assert (tmp_path / "data" / "roster-sync" / "roster.duckdb").is_file()
    assert list(home.iterdir()) == []


def test_default_database_is_under_local_share_without_xdg_data_home(home, monkeypatch, capsys):
    monkeypatch.delenv("XDG_DATA_HOME", raising=False)
    assert main(START) == 0
    assert (home / ".local" / "share" / "roster-sync" / "roster.duckdb").is_file()


def test_empty_xdg_data_home_counts_as_unset(home, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", "")
    assert main(START) == 0
    assert (home / ".local" / "share" / "roster-sync" / "roster.duckdb").is_file()


def test_relative_xdg_data_home_is_ignored_as_the_spec_says(home, monkeypatch, capsys):
    monkeypatch.setenv("XDG_DATA_HOME", "relative/data")
    assert main(START) == 0
    assert (home / ".local" / "share" / "roster-sync" / "roster.duckdb").is_file()
