"""Mistakes a tired district administrator makes, found by an adversarial pass over every command.

The rule under test: a user mistake is one line saying what was wrong and what to do, never a
traceback or an "internal error", the same embedded and through the daemon, and nothing in the
directory is lost or half-changed. Each test is one mistake; a strict xfail is one still open,
its reason quoting what was printed.
"""

from __future__ import annotations

import sqlite3
import sys
import types
from pathlib import Path

import pytest

from daemon.cli import entry
from daemon.service.config import load_config
from tests.conftest import SAMPLE

from .conftest import Cli
from .test_mistakes import one_line, run_main

DAY2 = str(SAMPLE / "day2")


def usage_error(runner: Cli, *args: str) -> str:
    """The one line of a command refused for its arguments (argparse exits with status 2)."""
    with pytest.raises(SystemExit) as refused:
        runner(*args)
    out, err = runner.capsys.readouterr()
    assert refused.value.code == 2 and out == ""
    return one_line(err)


# ---------------------------------------------------------------- the database named by --db
def test_a_sqlite_file_named_as_the_database_is_not_a_duckdb_file(tmp_path, capsys):
    """DuckDB takes a SQLite file for one it could attach, and went to the network for the
    extension: "cannot open x.db: Failed to download extension "sqlite_scanner" at URL ..."."""
    other = tmp_path / "gradebook.db"
    with sqlite3.connect(other) as con:
        con.execute("CREATE TABLE grades (student TEXT)")
    before = other.read_bytes()
    code, out, err = run_main(capsys, "--db", str(other), "runs")
    assert code == 1 and out == ""
    assert one_line(err) == f"{other} is not a Roster Sync database (not a DuckDB file)"
    assert other.read_bytes() == before


def test_a_device_named_as_the_database_is_not_a_file(capsys):
    """It was DuckDB's 'Could not fsync file "/dev/null"'."""
    code, out, err = run_main(capsys, "--db", "/dev/null", "runs")
    assert code == 1 and out == ""
    assert one_line(err) == "/dev/null is not a regular file; name a database file (roster.duckdb)"


def test_a_database_in_a_folder_one_may_not_read_says_permission_denied(
    tmp_path, capsys, monkeypatch
):
    """It was Python's own words: "[Errno 13] Permission denied: '/root/new.duckdb'"."""
    hidden = tmp_path / "private" / "roster.duckdb"
    real_stat = Path.stat

    def stat(path: Path, *args, **kwargs):
        if path == hidden:
            raise PermissionError(13, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    monkeypatch.setattr(Path, "stat", stat)
    code, _out, err = run_main(capsys, "--db", str(hidden), "runs")
    assert code == 1
    assert one_line(err) == f"{hidden}: permission denied (ask who runs Roster Sync for access)"


@pytest.mark.parametrize(
    ("variable", "value"),
    [("ROSTER_SYNC_MEMORY_LIMIT", "2 gigs"), ("ROSTER_SYNC_THREADS", "four")],
)
def test_a_mistyped_environment_setting_is_named_not_an_internal_error(
    day1_db, capsys, monkeypatch, variable, value
):
    """They were "internal error: ValueError: ROSTER_SYNC_MEMORY_LIMIT='2 gigs': expected a size
    such as 2GB" and "internal error: ValueError: invalid literal for int() with base 10: 'four'"."""
    monkeypatch.setenv(variable, value)
    code, _out, err = run_main(capsys, "--db", str(day1_db), "runs")
    assert code == 1
    message = one_line(err)
    assert message.startswith(f"{variable}={value!r}: ")


def test_zero_threads_is_refused_by_name(day1_db, capsys, monkeypatch):
    """It was "internal error: SyntaxException: Syntax Error: Must have at least 1 thread!"."""
    monkeypatch.setenv("ROSTER_SYNC_THREADS", "0")
    code, _out, err = run_main(capsys, "--db", str(day1_db), "runs")
    assert code == 1
    assert one_line(err) == "ROSTER_SYNC_THREADS='0': expected a number of threads such as 4"


# ---------------------------------------------------------------- the drop named by `run`
def test_an_empty_drop_path_is_a_usage_error_not_a_run_of_the_current_folder(
    both, tmp_path, monkeypatch
):
    """`roster-sync run "$DROP"` with DROP unset planned the current folder as a drop (run 2,
    FAILED, "adv: its CSV files are in 11 folders ...")."""
    monkeypatch.chdir(tmp_path)
    assert usage_error(both, "run", "") == (
        "run: argument source: the path is empty: name a drop, a folder or a .zip "
        "(see: roster-sync run --help)"
    )
    assert "    2  " not in both("runs").out


def test_an_empty_school_is_refused_not_read_as_the_whole_district(both):
    """`run DROP --school "$SCHOOL"` with SCHOOL unset planned a whole-district run (exit 0,
    "Run 2: PLANNED"), whose bulk files archive every other school's records."""
    assert usage_error(both, "run", DAY2, "--school", "") == (
        "run: argument --school: the SIS id is empty: name a school such as sch-elm "
        "(see: roster-sync run --help)"
    )
    assert "    2  " not in both("runs").out


def test_an_empty_export_folder_is_a_usage_error_not_the_current_folder(
    both, tmp_path, monkeypatch
):
    """It was "/tmp/adv is not empty; export writes only into a new or empty folder": the
    current folder, which the person never named."""
    monkeypatch.chdir(tmp_path)
    assert usage_error(both, "export", "") == (
        "export: argument folder: the path is empty: name a new folder "
        "(see: roster-sync export --help)"
    )


def test_a_drop_behind_a_symlink_loop_says_so(both, tmp_path):
    """It was "loopA: no such file or folder", for a path that is there."""
    (tmp_path / "loopA").symlink_to(tmp_path / "loopB")
    (tmp_path / "loopB").symlink_to(tmp_path / "loopA")
    refused = both("run", str(tmp_path / "loopA"))
    assert refused.code == 1
    assert one_line(refused.err) == (
        f"{tmp_path / 'loopA'}: too many levels of symbolic links; name a drop: a folder or a "
        ".zip of OneRoster or Clever CSV files"
    )


def test_a_drop_path_too_long_for_the_system_says_so(both, tmp_path):
    """It was "no such file or folder"."""
    long = tmp_path / ("x" * 300)
    refused = both("run", str(long))
    assert refused.code == 1
    said = f"{long}:"
    assert one_line(refused.err) == (
        f"{said[:50]}…{said[-50:]} ({len(said):,} characters) file name too long; "
        "name a drop: a folder or a .zip of OneRoster or Clever CSV files"
    )


def test_a_drop_roster_sync_may_not_read_fails_its_run_naming_the_file(both, monkeypatch):
    """An unreadable users.csv (or drop folder) was "[Errno 13] Permission denied:
    '/tmp/advu/drop/users.csv'", and its run's error "internal error while planning:
    PermissionError: ...". Root reads every file, so the refusal is the system's, simulated."""
    users = SAMPLE / "day2" / "users.csv"

    def refuse(*_args, **_kwargs):
        raise PermissionError(13, "Permission denied", str(users))

    monkeypatch.setattr("daemon.sync.runs.open_drop", refuse)
    refused = both("run", DAY2)
    assert refused.code == 1
    message = (
        f"{users}: permission denied; give the user Roster Sync runs as read access to the "
        "drop, then run it again"
    )
    assert one_line(refused.err) == f"run 2 failed: {message}"
    assert f"error: {message}" in both("show", "2").out


# ---------------------------------------------------------------- settings and the config file
def test_a_settings_value_refused_by_a_rule_has_no_validator_words(both):
    """It was "blackout_dates: '2020-13-01' is not allowed (Value error, '2020-13-01' is not a
    date range ...)": "Value error," is the validator library's, not the administrator's."""
    refused = both("settings", "set", "blackout_dates", "2020-13-01")
    assert refused.code == 1
    message = one_line(refused.err)
    assert "Value error" not in message
    assert message.startswith("blackout_dates: '2020-13-01' is not allowed ('2020-13-01' is not")


@pytest.mark.parametrize("value", ["inf", "nan", "1e400"])
def test_a_quiet_period_that_is_not_a_finite_number_is_refused(tmp_path, value):
    """`quiet_seconds = inf` was taken: the daemon started and never planned a drop (it waited
    for the inbox to be quiet forever); `nan` was "Input should be greater than or equal to 0"."""
    config = tmp_path / "roster-sync.toml"
    config.write_text(
        f'database = "{tmp_path}/r.duckdb"\ninbox = "{tmp_path}/in"\n'
        f'archive = "{tmp_path}/ar"\nsocket = "{tmp_path}/s.sock"\nquiet_seconds = {value}\n'
    )
    with pytest.raises(Exception) as refused:
        load_config(config)
    assert str(refused.value) == (
        f"{config} line 5: 'quiet_seconds': Input should be a finite number"
    )


def test_a_config_value_of_the_wrong_type_names_its_line(tmp_path, capsys):
    config = tmp_path / "roster-sync.toml"
    config.write_text(
        f'database = "{tmp_path}/r.duckdb"\ninbox = "{tmp_path}/in"\n'
        f'archive = "{tmp_path}/ar"\nsocket = "{tmp_path}/s.sock"\nquiet_seconds = "thirty"\n'
    )
    code, _out, err = run_main(capsys, "--config", str(config), "runs")
    assert code == 1 and " line 5" in one_line(err)


# ---------------------------------------------------------------- Ctrl-C
def test_ctrl_c_that_escapes_the_command_is_still_one_line(monkeypatch, capsys):
    """Seen once (`apply 2`, SIGINT 2.3 s in): DuckDB's "Query interrupted" was being handled when
    Python's own KeyboardInterrupt fired, and the command died with a traceback (exit -2)."""
    program = types.ModuleType("roster_sync_cut_off")

    def cut_off() -> int:
        raise KeyboardInterrupt

    program.main = cut_off  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "roster_sync_cut_off", program)
    assert entry.run_program("roster-sync", "roster_sync_cut_off") == 130
    assert capsys.readouterr().err == "roster-sync: interrupted\n"


def test_ctrl_c_after_an_apply_committed_says_the_run_may_be_applied(cli, monkeypatch):
    """Cut off while the applied run was read back or printed: the change is done (whole), and
    the line says where to look rather than only 'interrupted'."""
    assert cli("run", DAY2)[0] == 0  # run 1 of a new directory

    def cut_off(*_args, **_kwargs):
        raise KeyboardInterrupt

    with monkeypatch.context() as patched:
        patched.setattr("daemon.cli.commands_runs.emit_run", cut_off)
        code, _out, err = cli("apply", "1")
    assert '"status": "applied"' in cli("show", "1", "--json")[1]
    assert code == 130 and one_line(err) == (
        "interrupted; it may have been done (whole) already: check with roster-sync show 1"
    )


# ---------------------------------------------------------------- what a message echoes back
def test_a_very_long_value_is_not_echoed_whole(both):
    refused = both("users", "show", "x" * 120_000)
    assert refused.code == 1 and len(one_line(refused.err)) < 1_000
