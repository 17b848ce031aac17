"""A person's mistake is one line saying what was wrong and what to do (issue 13, items 5-8, 12, 13).

Never a traceback, never an internal error, never a side effect: a mistyped path makes no database
and no run.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
from pathlib import Path

import pytest

from daemon.cli.main import build_parser, main, subcommands
from tests.conftest import SAMPLE


def one_line(err: str) -> str:
    assert err.endswith("\n") and err.count("\n") == 1, f"not one line: {err!r}"
    assert "Traceback" not in err and "internal error" not in err, err
    assert err.startswith("roster-sync: "), err
    return err.removeprefix("roster-sync: ").rstrip("\n")


def run_main(capsys, *args: str) -> tuple[int, str, str]:
    try:
        code = main(list(args))
    except SystemExit as exc:  # argparse's own exit
        code = int(exc.code or 0)
    out, err = capsys.readouterr()
    return code, out, err


# ---------------------------------------------------------------- item 5: a mistyped --db
READ_ONLY = [
    ["runs"],
    ["show", "1"],
    ["status"],
    ["conflicts"],
    ["users", "find", "abc"],
    ["schools", "list"],
    ["settings", "show"],
    ["duplicates", "list"],
    ["check"],
]


@pytest.mark.parametrize("command", READ_ONLY, ids=lambda c: " ".join(c))
def test_a_read_only_command_on_a_missing_database_makes_nothing(tmp_path, capsys, command):
    missing = tmp_path / "typo" / "roster.duckdb"
    code, out, err = run_main(capsys, "--db", str(missing), *command)
    assert code == 1 and out == ""
    assert one_line(err) == (
        f"no database at {missing}; check the path, or start one with: roster-sync run DROP"
    )
    assert not (tmp_path / "typo").exists()


def test_a_write_that_cannot_start_a_directory_makes_no_database_either(tmp_path, capsys):
    missing = tmp_path / "typo.duckdb"
    code, _, err = run_main(capsys, "--db", str(missing), "apply", "1")
    assert code == 1 and one_line(err).startswith(f"no database at {missing};")
    assert not missing.exists()


def test_a_command_that_starts_a_directory_says_it_made_a_database_once(tmp_path, capsys):
    new = tmp_path / "new" / "roster.duckdb"
    code, out, err = run_main(capsys, "--db", str(new), "run", str(SAMPLE / "day1"))
    assert code == 0 and "Run 1: PLANNED" in out
    assert err == f"roster-sync: created a new database at {new}\n"
    code, _, err = run_main(capsys, "--db", str(new), "runs")
    assert code == 0 and err == ""


@pytest.mark.parametrize(
    "command",
    [["settings", "set", "auto_apply", "true"], ["schools", "create", "Maple Annex"]],
    ids=lambda c: " ".join(c[:2]),
)
def test_other_commands_that_start_a_directory_may_make_a_database(tmp_path, capsys, command):
    new = tmp_path / "roster.duckdb"
    code, _, err = run_main(capsys, "--db", str(new), *command)
    assert code == 0 and err == f"roster-sync: created a new database at {new}\n"
    assert new.is_file()


def test_db_naming_a_folder_says_to_name_the_file(tmp_path, capsys):
    code, _, err = run_main(capsys, "--db", str(tmp_path), "runs")
    assert code == 1
    assert one_line(err) == (
        f"{tmp_path} is a folder; name the database file in it "
        f"(for example {tmp_path / 'roster.duckdb'})"
    )


def test_db_naming_a_file_that_is_no_database_says_so(capsys):
    readme = SAMPLE / "README.md"
    code, _, err = run_main(capsys, "--db", str(readme), "run", str(SAMPLE / "day1"))
    assert code == 1
    assert one_line(err) == f"{readme} is not a Roster Sync database (not a DuckDB file)"


def test_the_default_database_is_not_made_by_reading(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    code, _, err = run_main(capsys, "runs")
    expected = tmp_path / "data" / "roster-sync" / "roster.duckdb"
    assert code == 1 and one_line(err).startswith(f"no database at {expected};")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------- item 6: a mistyped drop
@pytest.mark.parametrize(
    "source, why",
    [
        ("/nonexistent/drop", "/nonexistent/drop: no such file or folder"),
        (str(SAMPLE / "README.md"), f"{SAMPLE / 'README.md'} is neither a folder nor a .zip"),
    ],
    ids=["missing", "not a drop"],
)
def test_a_path_that_is_no_drop_is_a_usage_error_not_a_failed_run(both, source, why):
    refused = both("run", source)
    assert refused.code == 1 and refused.out == ""
    assert one_line(refused.err) == (
        f"{why}; name a drop: a folder or a .zip of OneRoster or Clever CSV files"
    )
    runs = json.loads(both("runs", "--json").out)
    assert [(r["run_id"], r["status"]) for r in runs] == [(1, "applied")]


def test_a_fifo_named_as_a_drop_is_refused_without_opening_it(both, tmp_path):
    fifo = tmp_path / "drop.zip"
    os.mkfifo(fifo)  # opening it would wait for a writer, holding the daemon's write lock
    refused = both("run", str(fifo))
    assert refused.code == 1
    assert one_line(refused.err).startswith(f"{fifo} is neither a folder nor a .zip")


def test_a_relative_drop_path_is_the_one_the_person_meant(both, monkeypatch):
    monkeypatch.chdir(SAMPLE)
    planned = both("run", "day2", "--json")
    assert planned.code == 0, planned.err
    assert json.loads(planned.out)["source"] == str(SAMPLE / "day2")


def test_a_broken_zip_is_still_a_drop_and_fails_as_a_run(both, tmp_path):
    broken = tmp_path / "nightly.zip"
    broken.write_bytes(b"PK\x03\x04 this is not really a zip")
    failed = both("run", str(broken))
    assert failed.code == 1
    assert "Run 2: FAILED" in failed.out and "nightly.zip" in failed.err


# ---------------------------------------------------------------- items 7, 8: clear words
def test_conflicts_of_a_run_that_does_not_exist_says_so(both):
    missing = both("conflicts", "99")
    assert (missing.code, missing.out) == (1, "")
    assert one_line(missing.err) == "there is no run 99"


def test_conflicts_with_a_word_for_a_run_says_what_a_run_is(both):
    refused = both("conflicts", "abc")
    assert (refused.code, refused.out) == (2, "")
    assert one_line(refused.err) == "'abc' is not a run number (a number such as 2)"


def test_export_to_a_file_asks_for_a_folder(both, tmp_path):
    target = tmp_path / "export.csv"
    target.write_text("keep me\n")
    refused = both("export", str(target))
    assert refused.code == 1
    assert one_line(refused.err) == (
        f"{target} is a file; export writes into a folder: name a new one"
    )
    assert target.read_text() == "keep me\n"


BAD_ARGUMENTS = {
    "show abc": ["show", "abc"],
    "show -1": ["show", "-1"],
    "apply 99": ["apply", "99"],
    "reject 99": ["reject", "99"],
    "replan 99": ["replan", "99"],
    "results 99": ["results", "99"],
    "results to a folder": ["results", "1", "-o", "/"],
    "results to nowhere": ["results", "1", "-o", "/nonexistent/folder/results.csv"],
    "runs --limit abc": ["runs", "--limit", "abc"],
    "runs --limit 0": ["runs", "--limit", "0"],
    "conflicts 1 take": ["conflicts", "1", "take"],
    "conflicts resolve abc take": ["conflicts", "resolve", "abc", "take"],
    "conflicts resolve 1 maybe": ["conflicts", "resolve", "1", "maybe"],
    "conflicts resolve 999 keep": ["conflicts", "resolve", "999", "keep"],
    "settings set unknown": ["settings", "set", "colour", "blue"],
    "settings set bad value": ["settings", "set", "auto_apply", "perhaps"],
    "schools add-sis-id nobody": ["schools", "add-sis-id", "no-such-school", "sch-x"],
    "schools add-sis-id taken": ["schools", "add-sis-id", "sch-elm", "sch-oak"],
    "classrooms create nowhere": ["classrooms", "create", "Art", "--school", "nowhere"],
    "classrooms rename nothing": ["classrooms", "rename", "no-such-class", "Art"],
    "classrooms add-student to synced": ["classrooms", "add-student", "cls-oak-math-7", "stu-1001"],
    "users show nobody": ["users", "show", "nobody-at-all"],
    "users find --kind pet": ["users", "find", "--kind", "pet"],
    "users add staff without school": ["users", "add", "staff", "Sam", "Lee"],
    "users add with empty name": ["users", "add", "guardian", " ", "Lee"],
    "users edit-contact nothing": ["users", "edit-contact", "stu-1001"],
    "users unarchive active": ["users", "unarchive", "stu-1001"],
    "duplicates merge one": ["duplicates", "merge", "stu-1001"],
    "duplicates merge nobody": ["duplicates", "merge", "nobody-1", "nobody-2"],
    "duplicates skip abc": ["duplicates", "skip", "abc"],
    "duplicates undo 999": ["duplicates", "undo", "999"],
    "duplicates undo nothing": ["duplicates", "undo"],
    "sync-now without daemon": ["sync-now"],
    "sftp trust without config": ["sftp", "trust"],
    "daemon without config": ["daemon"],
    "no command": [],
    "unknown command": ["frobnicate"],
    "schools alone": ["schools"],
}


@pytest.mark.parametrize("command", BAD_ARGUMENTS.values(), ids=BAD_ARGUMENTS.keys())
def test_every_mistake_is_one_line_and_changes_nothing(day1_db, capsys, command):
    before = day1_db.stat().st_mtime_ns, day1_db.read_bytes()
    code, out, err = run_main(capsys, "--db", str(day1_db), *command)
    assert code in (1, 2) and out == ""
    message = one_line(err)
    assert len(message) > 15
    assert (day1_db.stat().st_mtime_ns, day1_db.read_bytes()) == before


def test_a_config_file_that_is_missing_is_named(tmp_path, capsys):
    missing = tmp_path / "roster-sync.toml"
    code, _, err = run_main(capsys, "runs", "--config", str(missing))
    assert code == 1 and one_line(err) == f"{missing}: no such config file"


def test_a_config_that_is_a_folder_is_named(tmp_path, capsys):
    code, _, err = run_main(capsys, "--config", str(tmp_path), "runs")
    assert code == 1
    assert one_line(err) == f"{tmp_path}: cannot read the config file (Is a directory)"


def test_export_into_a_place_that_cannot_hold_a_folder_says_so(both):
    target = SAMPLE / "README.md" / "export"
    refused = both("export", str(target))
    assert refused.code == 1
    assert one_line(refused.err) == (
        f"cannot write into {target}: Not a directory; name a folder you may write"
    )


# ---------------------------------------------------------------- item 10: names as typed
def test_swapped_guardian_and_student_are_named_as_typed(both):
    refused = both("users", "link-guardian", "stu-1001", "gdn-3011")
    assert refused.code == 1
    assert one_line(refused.err) == (
        "stu-1001 is a student and gdn-3011 a guardian: name the guardian first, then the student"
    )


def test_a_record_of_the_wrong_kind_is_named_as_typed(both):
    refused = both("users", "link-guardian", "tch-2003", "stu-1001")
    assert one_line(refused.err) == "tch-2003 is a staff member, not a guardian"
    refused = both("classrooms", "add-teacher", "cls-oak-math-7", "S1001")
    assert one_line(refused.err) == "S1001 is a student; co-teachers are staff"
    both("users", "archive", "stu-1001")
    refused = both("users", "archive", "stu-1001")
    assert one_line(refused.err) == "stu-1001 is already archived"


# ---------------------------------------------------------------- item 12: options anywhere
def test_config_or_db_after_the_command_is_the_same_as_before_it(both, capsys):
    before = both("runs")
    code = main(["runs", *both.location()])
    out, err = capsys.readouterr()
    assert (code, out, err) == (0, before.out, "")


def test_db_after_the_command_wins_over_nothing_before_it(day1_db, capsys):
    code, out, err = run_main(capsys, "runs", "--db", str(day1_db))
    assert code == 0, err
    assert "sample_data/day1" in out


def test_daemon_accepts_its_config_after_the_command(tmp_path, capsys):
    """`roster-sync daemon --config FILE` reads FILE (here one the daemon refuses, so it stops)."""
    config = tmp_path / "roster-sync.toml"
    config.write_text('database = "x.duckdb"\n')
    code, _, err = run_main(capsys, "daemon", "--config", str(config))
    assert code == 1 and one_line(err) == f"{config}: missing key 'inbox'"


def test_db_other_than_the_configs_database_is_opened_directly(both, tmp_path, capsys):
    """--db names the database; a daemon (from ROSTER_SYNC_CONFIG) serving another is not asked."""
    if both.mode != "daemon":
        pytest.skip("needs a running daemon")
    other = tmp_path / "other.duckdb"
    code, _, err = run_main(capsys, "--config", str(both.config), "--db", str(other), "runs")
    assert code == 1 and one_line(err).startswith(f"no database at {other};")


# ---------------------------------------------------------------- item 13: help for everything
def _documented(parser: argparse.ArgumentParser) -> list[str]:
    missing = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            helps = {a.dest: a.help for a in action._choices_actions}
            missing += [f"{parser.prog} {name}" for name in action.choices if not helps.get(name)]
        elif not action.help:
            missing.append(f"{parser.prog} {'/'.join(action.option_strings) or action.dest}")
    return missing


def test_every_command_and_every_argument_has_a_help_line():
    parser = build_parser()
    missing = _documented(parser)
    for command in subcommands(parser):
        missing += _documented(command)
    assert missing == []


def test_help_names_what_an_argument_is(capsys):
    with pytest.raises(SystemExit):
        main(["show", "--help"])
    out = capsys.readouterr().out
    assert re.search(r"\n  run +the run's number \(see: roster-sync runs\)\n", out)
    assert "--config FILE" in out and "--db PATH" in out


def test_the_readme_task_table_commands_parse():
    """Every command the README's task table shows is one the parser knows."""
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    table = readme.split("## Using it", 1)[1].split("\n\n", 2)[1]
    shown = {
        next(word for word in cell.split()[1:] if not word.startswith("-") and word != "FILE")
        for line in table.splitlines()[2:]
        for cell in line.split("`")[1::2]
        if cell.startswith("roster-sync ")
    }
    known = set(next(a for a in build_parser()._actions if a.dest == "command").choices)
    assert shown and shown <= known


def test_roster_tui_on_a_missing_database_makes_nothing(tmp_path, capsys):
    from roster_tui.__main__ import main as tui_main

    missing = tmp_path / "typo" / "roster.duckdb"
    assert tui_main(["--db", str(missing)]) == 2
    err = capsys.readouterr().err
    assert err == (
        f"roster-tui: no database at {missing}; check the path, or start one with: "
        "roster-sync run DROP\n"
    )
    assert not (tmp_path / "typo").exists()


def test_roster_tui_db_is_that_file_even_with_a_daemon_config_around(tmp_path, monkeypatch):
    from daemon.service.client import Locations
    from roster_tui.__main__ import build_parser as tui_parser
    from roster_tui.__main__ import locations as tui_locations
    from tests.daemon.conftest import write_config

    config = write_config(
        tmp_path / "roster-sync.toml",
        {
            "database": str(tmp_path / "served.duckdb"),
            "inbox": str(tmp_path / "inbox"),
            "archive": str(tmp_path / "archive"),
            "socket": str(tmp_path / "rs.sock"),
        },
    )
    monkeypatch.setenv("ROSTER_SYNC_CONFIG", str(config))
    demo = tmp_path / "demo.duckdb"
    assert tui_locations(tui_parser().parse_args(["--db", str(demo)])) == Locations(demo, None)
    served = tui_parser().parse_args(["--db", str(tmp_path / "served.duckdb")])
    assert tui_locations(served) == Locations(tmp_path / "served.duckdb", tmp_path / "rs.sock")


def test_results_of_a_refused_run_say_why_there_are_none(both, sample, tmp_path) -> None:
    drop = tmp_path / "night"
    shutil.copytree(sample / "day1", drop)
    (drop / "enrollments.csv").unlink()
    assert both("run", str(drop)).code == 1
    refused = both("results", "2", "-o", str(tmp_path / "results.csv"))
    assert refused.code == 1
    assert one_line(refused.err) == (
        "run 2 failed, so it has no row results: "
        "enrollments.csv is missing from the drop; it is required"
    )
    assert not (tmp_path / "results.csv").exists()
