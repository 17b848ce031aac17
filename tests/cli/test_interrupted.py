"""Ctrl-C is one line, never a traceback or an "internal error", and never hides what was done:
a run applied before the duplicate scan after it was cut off says it was applied."""

from __future__ import annotations

import importlib.abc
import sys

from daemon.cli import entry

from .conftest import SAMPLE

QUERY_INTERRUPTED = RuntimeError("Query interrupted")  # what DuckDB raises on Ctrl-C


def _interrupt(*_args, **_kwargs):
    raise QUERY_INTERRUPTED


def test_ctrl_c_while_duckdb_plans_is_one_line(cli, monkeypatch) -> None:
    monkeypatch.setattr("daemon.sync.runs._plan", _interrupt)
    code, _out, err = cli("run", str(SAMPLE / "day1"))
    assert code == 130 and err.endswith("\nroster-sync: interrupted\n")  # after "created a ..."


def test_a_run_cut_off_while_planning_says_so(cli, monkeypatch) -> None:
    monkeypatch.setattr("daemon.sync.runs._plan", _interrupt)
    cli("run", str(SAMPLE / "day1"))
    monkeypatch.undo()
    _code, out, _err = cli("show", "1", "--json")
    assert '"status": "failed"' in out and "interrupted while planning (Ctrl-C)" in out


def test_a_scan_cut_off_after_the_apply_says_the_run_was_applied(cli, monkeypatch) -> None:
    code, _out, _err = cli("run", str(SAMPLE / "day1"))
    assert code == 0
    monkeypatch.setattr("daemon.duplicates.scan_after_apply", _interrupt)
    code, _out, err = cli("apply", "1")
    assert (code, err) == (
        1,
        "roster-sync: run 1 was applied; the duplicate scan after it was interrupted: find the "
        "candidates with roster-sync duplicates scan\n",
    )
    monkeypatch.undo()
    code, out, _err = cli("show", "1", "--json")
    assert '"status": "applied"' in out


class _CtrlCWhileLoading(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name == "daemon.cli.main":
            raise KeyboardInterrupt
        return None


def test_ctrl_c_while_the_program_loads_is_one_line(monkeypatch, capsys) -> None:
    monkeypatch.delitem(sys.modules, "daemon.cli.main")
    monkeypatch.setattr(sys, "meta_path", [_CtrlCWhileLoading(), *sys.meta_path])
    assert entry.main() == 130
    assert capsys.readouterr().err == "roster-sync: interrupted\n"
