"""Snapshots of the Runs and Run detail screens and the run dialogs (80x24 unless said)."""

from __future__ import annotations

from pathlib import Path

from daemon.service.engine import Engine
from tests.tui.conftest import FIXED_NOW, GoneClient, UntoldViewerClient, ViewerClient
from tests.tui.snap import (
    add_failed_run,
    closed_school_decided,
    district_sized,
    first_student_changed_run,
    pin_run,
    role_change_run,
    roles_only_run,
    shoot,
    unchanged_run,
)

DOWN_TO_RUN_2 = "down"


# ---------------------------------------------------------------- runs
def test_runs_empty(snap_compare, empty_engine: Engine) -> None:
    assert shoot(snap_compare, empty_engine)


def test_runs_typical_held_run_says_why(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine)


def test_runs_planned_run_highlighted(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, DOWN_TO_RUN_2)


def test_runs_failed_run(snap_compare, demo_engine: Engine, tmp_path: Path) -> None:
    add_failed_run(demo_engine, tmp_path / "drops" / "nofiles")
    assert shoot(snap_compare, demo_engine)


# A 1M-student district's first load and night: counts too long for their columns are shortened
# (11.7M, 70k), never cut ("11,714,") or run into a label ("+ enrollments70,000").
FIRST_LOAD = {"students": {"create": 1_000_000}, "enrollments": {"create": 10_714_146}}
NIGHT = {
    "students": {"create": 10_000, "update": 10_000, "archive": 10_000},
    "enrollments": {"create": 70_000, "archive": 7_252_000},
}


def test_runs_counts_of_a_large_district(snap_compare, demo_engine: Engine) -> None:
    district_sized(demo_engine, 1, FIRST_LOAD)
    district_sized(demo_engine, 2, NIGHT)
    assert shoot(snap_compare, demo_engine)


def test_detail_change_groups_of_a_large_district_short(snap_compare, demo_engine: Engine) -> None:
    district_sized(demo_engine, 2, NIGHT)
    assert shoot(snap_compare, demo_engine, ("open", "2:changes"), size=(60, 15))


def test_runs_daemon_unavailable(snap_compare) -> None:
    assert shoot(snap_compare, GoneClient())


def test_runs_as_a_viewer(snap_compare, demo_engine: Engine) -> None:
    """The daemon said the caller is a viewer: no key that changes anything in the footer."""
    assert shoot(snap_compare, ViewerClient(demo_engine), DOWN_TO_RUN_2)


def test_help_as_a_viewer(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, ViewerClient(demo_engine), DOWN_TO_RUN_2, "question_mark")


def test_runs_permission_denied(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, UntoldViewerClient(demo_engine), DOWN_TO_RUN_2, "a", "enter")


def test_runs_sixteen_colours(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, ansi=True)


def test_runs_after_approving(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, DOWN_TO_RUN_2, "a", "enter")


# ---------------------------------------------------------------- run detail
def test_detail_planned_summary(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, DOWN_TO_RUN_2, "enter")


def test_detail_held_summary(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "enter")


def test_detail_held_wide(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "enter", size=(120, 40))


def test_detail_changes(snap_compare, demo_engine: Engine) -> None:
    steps = (("open", "2:changes"), "down", "down")
    assert shoot(snap_compare, demo_engine, *steps)


def test_detail_archives_that_go_with_a_new_role(
    snap_compare, empty_engine: Engine, tmp_path: Path
) -> None:
    """A student made a teacher: the link archives read 'gdn-… for stu-…' and say why."""
    run_id = role_change_run(empty_engine, tmp_path / "night2")
    assert shoot(snap_compare, empty_engine, ("open", f"{run_id}:changes"), "down")


def test_detail_archives_that_go_with_a_new_role_short(
    snap_compare, empty_engine: Engine, tmp_path: Path
) -> None:
    run_id = role_change_run(empty_engine, tmp_path / "night2")
    assert shoot(snap_compare, empty_engine, ("open", f"{run_id}:changes"), "down", size=(60, 15))


def test_detail_archives_that_go_with_their_student(
    snap_compare, empty_engine: Engine, tmp_path: Path
) -> None:
    """A student marked tobedeleted: their memberships and links say 'its person is archived',
    'its student is archived', and name the student's row."""
    run_id = first_student_changed_run(empty_engine, tmp_path / "night2", "status", "tobedeleted")
    assert shoot(snap_compare, empty_engine, ("open", f"{run_id}:changes"), "down")


def test_detail_archives_that_go_with_their_student_short(
    snap_compare, empty_engine: Engine, tmp_path: Path
) -> None:
    run_id = first_student_changed_run(empty_engine, tmp_path / "night2", "status", "tobedeleted")
    assert shoot(snap_compare, empty_engine, ("open", f"{run_id}:changes"), "down", size=(60, 15))


def test_detail_changes_wide(snap_compare, demo_engine: Engine) -> None:
    steps = (("open", "3:changes"),)
    assert shoot(snap_compare, demo_engine, *steps, size=(120, 40))


def test_runs_wide_held_run_lists_every_limit(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, size=(120, 40))


def test_detail_changes_of_one_kind(snap_compare, demo_engine: Engine) -> None:
    steps = (("open", "2:changes"), "shift+tab", "down", "down", "down")
    assert shoot(snap_compare, demo_engine, *steps)


def test_detail_conflicts(snap_compare, demo_engine: Engine) -> None:
    steps = (("open", "2:conflicts"),)
    assert shoot(snap_compare, demo_engine, *steps)


def test_detail_row_errors(snap_compare, demo_engine: Engine) -> None:
    steps = (("open", "3:rows"),)
    assert shoot(snap_compare, demo_engine, *steps)


def test_detail_row_warnings(snap_compare, demo_engine: Engine) -> None:
    steps = (("open", "3:rows"), "w")
    assert shoot(snap_compare, demo_engine, *steps)


def test_detail_files(snap_compare, demo_engine: Engine) -> None:
    steps = (("open", "3:files"),)
    assert shoot(snap_compare, demo_engine, *steps)


def test_detail_failed_run(snap_compare, demo_engine: Engine, tmp_path: Path) -> None:
    add_failed_run(demo_engine, tmp_path / "drops" / "nofiles")
    assert shoot(snap_compare, demo_engine, "enter")


def test_detail_nothing_to_change(snap_compare, empty_engine: Engine) -> None:
    unchanged_run(empty_engine)
    assert shoot(snap_compare, empty_engine, "enter")


def test_detail_of_a_run_that_changes_only_reference_data_asks_to_apply_it(
    snap_compare, empty_engine: Engine, tmp_path: Path
) -> None:
    roles_only_run(empty_engine, tmp_path / "drops" / "roles")
    assert shoot(snap_compare, empty_engine, "enter")


def test_detail_of_a_run_that_changes_only_reference_data_at_60x15(
    snap_compare, empty_engine: Engine, tmp_path: Path
) -> None:
    roles_only_run(empty_engine, tmp_path / "drops" / "roles")
    assert shoot(snap_compare, empty_engine, "enter", size=(60, 15))


def test_approving_a_run_that_changes_only_reference_data(
    snap_compare, empty_engine: Engine, tmp_path: Path
) -> None:
    roles_only_run(empty_engine, tmp_path / "drops" / "roles")
    assert shoot(snap_compare, empty_engine, "enter", "a")


def test_detail_overridden_run_says_who_when_and_why(snap_compare, demo_engine: Engine) -> None:
    demo_engine.apply_run(3, override=True, reason="partial upload checked with the SIS team")
    pin_run(demo_engine, 3, FIXED_NOW.replace(hour=2, minute=0))
    assert shoot(snap_compare, demo_engine, "enter")


def test_detail_applied_run(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "down", "down", "enter")


# ---------------------------------------------------------------- dialogs
def test_approve_dialog(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, DOWN_TO_RUN_2, "a")


def test_override_dialog_needs_the_word(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "o", ("type", "overide"), "enter")


def test_reject_dialog(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, DOWN_TO_RUN_2, "x")


def test_plan_dialog(snap_compare, empty_engine: Engine) -> None:
    assert shoot(snap_compare, empty_engine, "n")


def _blackout_on_the_fixed_day(engine: Engine) -> None:
    """The engine's day pinned as the app's clock is, and a blackout around it."""
    engine.today = lambda: FIXED_NOW.date()  # type: ignore[method-assign]
    engine.settings_set("blackout_dates", "2026-11-20..2026-11-27")


def test_plan_dialog_on_a_blackout_day(snap_compare, empty_engine: Engine) -> None:
    _blackout_on_the_fixed_day(empty_engine)
    assert shoot(
        snap_compare,
        empty_engine,
        "n",
        ("type", "drops/summer.zip"),
        "tab",
        ("type", "sch-oak"),
        "tab",
        "space",
    )


def test_what_an_approval_of_withheld_archives_did(
    snap_compare, empty_engine: Engine, tmp_path: Path
) -> None:
    """A closed school's archives approved: who and why, then what it kept first (each with why
    it no longer held: the long school name and reasons whole), then what it archived."""
    run_id = closed_school_decided(empty_engine, tmp_path / "drops")
    assert shoot(snap_compare, empty_engine, ("open", f"{run_id}:summary"), "w")


def test_what_an_approval_of_withheld_archives_did_scrolled_to_its_end(
    snap_compare, empty_engine: Engine, tmp_path: Path
) -> None:
    run_id = closed_school_decided(empty_engine, tmp_path / "drops")
    assert shoot(snap_compare, empty_engine, ("open", f"{run_id}:summary"), "w", "end")


def test_help(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, DOWN_TO_RUN_2, "enter", "question_mark")


# ---------------------------------------------------------------- small terminals
SMALL = (60, 15)


def test_runs_at_60x15(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, size=SMALL)


def test_override_dialog_at_60x15(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "o", ("type", "OVERRIDE"), "tab", size=SMALL)


def test_plan_dialog_on_a_blackout_day_at_60x15(snap_compare, empty_engine: Engine) -> None:
    _blackout_on_the_fixed_day(empty_engine)
    assert shoot(snap_compare, empty_engine, "n", "tab", "tab", size=SMALL)


def test_what_an_approval_of_withheld_archives_did_at_60x15(
    snap_compare, empty_engine: Engine, tmp_path: Path
) -> None:
    run_id = closed_school_decided(empty_engine, tmp_path / "drops")
    assert shoot(snap_compare, empty_engine, ("open", f"{run_id}:summary"), "w", size=SMALL)


def test_what_dropping_withheld_archives_did_at_60x15(
    snap_compare, empty_engine: Engine, tmp_path: Path
) -> None:
    """A drop archived nothing: the decision and that, with no list to scroll."""
    run_id = closed_school_decided(
        empty_engine,
        tmp_path / "drops",
        "drop",
        "the SIS sent the file before the closure was final",
    )
    assert shoot(snap_compare, empty_engine, ("open", f"{run_id}:summary"), "w", size=SMALL)


def test_detail_held_at_60x15(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "enter", size=SMALL)


def test_detail_planned_memberships_named_by_person_and_class(
    snap_compare, demo_engine: Engine
) -> None:
    """A planned membership reads as its person in its class; its SIS id is on the detail line."""
    steps = (("open", "2:changes"), "shift+tab", *("down",) * 8)
    assert shoot(snap_compare, demo_engine, *steps)
