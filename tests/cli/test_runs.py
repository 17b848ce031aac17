"""Deciding runs from the command line: reject, apply with --override, show --json."""

from __future__ import annotations

import json
import shutil

import pytest

from daemon.audit import current_actor
from daemon.db import Database
from tests.directory_state import directory_fingerprint


def directory(db_path) -> tuple:
    with Database(db_path) as db:
        return directory_fingerprint(db)


def audit_entries(db_path, action: str) -> list[dict]:
    with Database(db_path) as db:
        return db.dicts(
            "SELECT actor, target_id, details FROM audit_log WHERE action = ? ORDER BY audit_id",
            [action],
        )


@pytest.fixture
def planned(cli, sample, day1_db) -> int:
    """Day one applied; day two planned (run 2), with changes waiting."""
    code, out, _ = cli("run", str(sample / "day2"), "--json")
    run = json.loads(out)
    assert code == 0 and run["status"] == "planned" and run["run_id"] == 2
    return 2


@pytest.fixture
def held(cli, db_path, held_template) -> int:
    """Day one applied; the broken day three held (run 2)."""
    shutil.copyfile(held_template, db_path)
    code, out, _ = cli("show", "2", "--json")
    assert code == 0 and json.loads(out)["status"] == "held"
    return 2


def test_reject_rejects_a_planned_run_and_leaves_the_directory(cli, db_path, planned):
    before = directory(db_path)
    code, out, err = cli("reject", str(planned), "--reason", "wrong term", "--json")
    assert code == 0, err
    assert json.loads(out)["status"] == "rejected"
    assert directory(db_path) == before
    [entry] = audit_entries(db_path, "run.reject")
    assert entry["target_id"] == planned and entry["actor"] == current_actor()
    assert json.loads(entry["details"]) == {"reason": "wrong term"}


def test_a_rejected_run_can_no_longer_be_applied(cli, db_path, planned):
    cli("reject", str(planned))
    before = directory(db_path)
    code, out, err = cli("apply", str(planned))
    assert code == 1 and out == ""
    assert (
        err == f"roster-sync: run {planned} is rejected; only planned or held runs can be applied\n"
    )
    assert directory(db_path) == before


def test_apply_with_override_applies_a_held_run_and_records_who_and_why(cli, db_path, held):
    version_before = directory(db_path)[-1]
    code, out, err = cli(
        "apply", str(held), "--override", "--reason", "mid-year school split", "--json"
    )
    assert code == 0, err
    run = json.loads(out)
    assert run["status"] == "applied"
    assert run["override_by"] == run["decided_by"] == current_actor()
    assert directory(db_path)[-1] == version_before + 1
    [entry] = audit_entries(db_path, "run.apply.override")
    assert entry["target_id"] == held
    assert json.loads(entry["details"]) == {"reason": "mid-year school split", "held": True}


def test_show_json_prints_the_run_as_json(cli, sample, planned):
    code, out, err = cli("show", str(planned), "--json")
    assert code == 0 and err == ""
    run = json.loads(out)
    assert run["run_id"] == planned and run["status"] == "planned"
    assert run["source"] == str(sample / "day2") and run["source_kind"] == "folder"
    assert run["oneroster_version"] == "1.1" and run["hold_reasons"] == []
    assert run["changes"]["students"] == {"create": 6, "update": 1, "archive": 4, "unarchive": 0}
    assert run["rows"] == {"success": 2546, "warning": 0, "error": 0, "file_warnings": 0}
    assert {f["file_name"] for f in run["files"]} >= {"users.csv", "enrollments.csv"}


def test_show_json_describes_the_run_as_it_now_stands(cli, planned):
    _, planned_out, _ = cli("show", str(planned), "--json")
    cli("apply", str(planned))
    _, applied_out, _ = cli("show", str(planned), "--json")
    before, after = json.loads(planned_out), json.loads(applied_out)
    assert (before["status"], after["status"]) == ("planned", "applied")
    assert before["decided_at"] is None and after["decided_at"] is not None
    assert after["changes"] == before["changes"]
