"""Where a school that ends and what names it meet other rules: second SIS ids, rows in error,
classroom_filter = homeroom_only, OneRoster 1.2 roles. Found by an adversarial read of the
rule (tests/sync/test_school_still_named.py); each night keeps the directory whole, and the
same drop again plans nothing."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from daemon.directory.integrity import check_directory
from tests.sync.test_school_still_named import WHEN, _without_school_b


def _status(sync, table: str, sis_id: str) -> str:
    return sync.engine.db.one(f"SELECT status FROM {table} WHERE sis_id = ?", [sis_id])


def _failed_checks(sync) -> list[tuple[str, int]]:
    return [(name, n) for name, n in check_directory(sync.engine.db) if n]


def _applied(sync, drop):
    """Plan and apply, a hold (the threshold) overridden after review."""
    run = sync.plan(drop)
    assert run.status in ("planned", "held"), run.error
    run = sync.engine.apply_run(run.run_id, override=True, reason="reviewed")
    assert run.status == "applied", run.error
    return run


def _plans_nothing_again(sync, drop) -> None:
    run = sync.plan(drop)
    assert run.total_changes() == 0, {k: v for k, v in run.changes.items() if any(v.values())}
    sync.engine.reject_run(run.run_id)


def _school_b_ends_its_class_row_kept(tiny):
    """Birch marked tobedeleted, everything of it gone but its class's row."""
    drop = _without_school_b(tiny)
    drop.rows("orgs.csv").append({**tiny.row("orgs.csv", "sch-b"), "status": "tobedeleted"})
    drop.rows("classes.csv").append(dict(tiny.row("classes.csv", "cls-b1")))
    return drop


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def _drop_lines(path: Path, needle: str) -> None:
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(x for i, x in enumerate(lines) if i == 0 or needle not in x))


# --------------------------------------------------------------------- second SIS ids


def test_a_school_archived_comes_back_with_its_class_under_its_second_sis_id(
    sync, tiny, tiny_applied
):
    """A row under a school's second id never speaks for the school (plan_table), so it does
    not bring an archived school back, nor do the rows naming that id bring its class back."""
    sync.engine.add_school_sis_id("sch-b", "sch-b2")
    sync.apply(_without_school_b(tiny), override=True)
    back = tiny.copy()
    back.rename_org("sch-b", "sch-b2")
    _applied(sync, back)
    assert (_status(sync, "schools", "sch-b"), _status(sync, "classrooms", "cls-b1")) == (
        "archived",
        "archived",
    )
    assert _failed_checks(sync) == []
    _plans_nothing_again(sync, back)


def test_a_class_naming_an_archived_school_by_its_second_sis_id_says_so(sync, tiny, tiny_applied):
    sync.engine.add_school_sis_id("sch-b", "sch-b2")
    sync.apply(_without_school_b(tiny), override=True)
    back = tiny.copy()
    back.rename_org("sch-b", "sch-b2")
    run = sync.plan(back)
    assert sync.said(run, "WARNING", "classes.csv", "not_synced") == {
        "school 'sch-b2' is archived, and its orgs.csv row (line 4) names it by a second SIS id, "
        "which does not bring it back, so this class was not synced"
    }


def test_the_warning_names_the_row_s_own_sis_id(sync, tiny, tiny_applied):
    sync.engine.add_school_sis_id("sch-b", "sch-b2")
    tiny.row("orgs.csv", "sch-b").update(sourcedId="sch-b2", status="tobedeleted")
    run = sync.plan(tiny)
    [issue] = [i for i in sync.issues(run) if i["rule"] == "school_still_named"]
    assert issue["sourced_id"] == "sch-b2"
    assert "school 'sch-b2' is marked tobedeleted" in issue["message"]


# --------------------------------------------------------------------- rows in error


@pytest.mark.parametrize("school", ["", "sch-typo"])
def test_a_class_row_in_error_keeps_the_school_of_the_class_it_holds(
    sync, tiny, tiny_applied, school
):
    drop = _school_b_ends_its_class_row_kept(tiny)
    drop.row("classes.csv", "cls-b1")["schoolSourcedId"] = school
    _applied(sync, drop)
    assert _status(sync, "schools", "sch-b") == "active"
    assert _failed_checks(sync) == []


def test_a_class_row_the_reader_rejects_keeps_the_school_of_the_class_it_holds(
    sync, tiny, tiny_applied, tmp_path
):
    folder = _school_b_ends_its_class_row_kept(tiny).write(tmp_path / "broken")
    _edit(folder / "classes.csv", "Homeroom 5B", '"Homeroom "5B')  # a stray quote
    _applied(sync, folder)
    assert _status(sync, "schools", "sch-b") == "active"
    assert _failed_checks(sync) == []


# --------------------------------------------------------------------- homeroom_only


def test_under_homeroom_only_a_scheduled_class_the_setting_archives_keeps_no_school(
    sync, tiny, tiny_applied
):
    """Birch's scheduled class, which the setting archives tonight, does not keep Birch; its
    homeroom's row, in error (its school is not in orgs.csv), does."""
    tiny.rows("classes.csv").append(
        {**tiny.row("classes.csv", "cls-b1"), "sourcedId": "cls-b2", "title": "Math 5B",
         "classType": "scheduled", "classCode": "CLS-B2"}
    )  # fmt: skip
    sync.apply(tiny)
    sync.engine.settings_set("classroom_filter", "homeroom_only")
    drop = _without_school_b(tiny)
    drop.manifest.update({"file.classes": "delta", "file.enrollments": "delta"})
    drop.files["classes.csv"] = [
        {**tiny.row("classes.csv", "cls-b1"), "status": "tobedeleted", "dateLastModified": WHEN}
    ]
    drop.files["enrollments.csv"] = []
    run = _applied(sync, drop)
    assert (
        "school 'sch-b' is not in orgs.csv, but 1 classes.csv row (line 2) still names it, so "
        "it is kept until nothing does"
    ) in [n["message"] for n in run.notes]
    assert _status(sync, "classrooms", "cls-b2") == "archived"
    _plans_nothing_again(sync, drop)


# --------------------------------------------------------------------- OneRoster 1.2


def test_people_whose_roles_a_changes_only_roles_csv_leaves_keep_their_school(
    sync, sample, tmp_path, sample12_applied
):
    """1.2: a person's schools are their roles'. roles.csv changes-only and empty tonight,
    Pine left out of orgs.csv: its students keep their roles there, so Pine stays."""
    drop = Path(shutil.copytree(sample / "oneroster12", tmp_path / "drop"))
    for name in ("orgs.csv", "classes.csv", "enrollments.csv"):
        _drop_lines(drop / name, "sch-pine")
    _edit(drop / "manifest.csv", "file.roles,bulk", "file.roles,delta")
    _drop_lines(drop / "roles.csv", "rol-")
    _applied(sync, drop)
    assert _status(sync, "schools", "sch-pine") == "active"
    _plans_nothing_again(sync, drop)


def test_a_school_kept_one_night_is_archived_the_first_night_nothing_names_it(
    sync, tiny, tiny_applied
):
    tiny.row("orgs.csv", "sch-b")["status"] = "tobedeleted"
    sync.apply(tiny)
    _plans_nothing_again(sync, tiny)
    without = _without_school_b(tiny)
    without.rows("orgs.csv").append({**tiny.row("orgs.csv", "sch-b"), "status": "tobedeleted"})
    _applied(sync, without)
    assert _status(sync, "schools", "sch-b") == "archived"
    assert _failed_checks(sync) == []
    _plans_nothing_again(sync, without)
