"""Snapshots of Conflicts, Archived, Duplicates, Directory and Settings (80x24)."""

from __future__ import annotations

from daemon.service.engine import Engine
from tests.tui.conftest import NoDuplicatesClient, UntoldViewerClient
from tests.tui.snap import shoot


# ---------------------------------------------------------------- conflicts
def test_conflicts_empty(snap_compare, empty_engine: Engine) -> None:
    assert shoot(snap_compare, empty_engine, "2")


def test_conflicts_typical(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "2")


def test_conflicts_marked(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "2", "space")


def test_conflicts_decided(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "2", "k", "v")


def test_conflicts_permission_denied(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, UntoldViewerClient(demo_engine), "2", "t")


def test_approve_names_the_feed_values_taken(snap_compare, demo_engine: Engine) -> None:
    demo_engine.resolve_conflicts([1, 2], "take")
    assert shoot(snap_compare, demo_engine, "1", "down", "a")


def test_conflicts_take_refused(snap_compare, demo_engine: Engine) -> None:
    """A conflict with no feed value to take: the engine's refusal, as a notice."""
    demo_engine.db.execute("UPDATE conflicts SET kind = 'sis_id_taken' WHERE conflict_id = 1")
    assert shoot(snap_compare, demo_engine, "2", "t")


# ---------------------------------------------------------------- archived
def test_archived_empty(snap_compare, empty_engine: Engine) -> None:
    assert shoot(snap_compare, empty_engine, "3")


def test_archived_typical(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "3")


def test_archived_search_without_match(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "3", "slash", ("type", "zzz"))


def test_archived_unarchive_dialog(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "3", "u")


def test_archived_permission_denied(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, UntoldViewerClient(demo_engine), "3", "u", "y")


# ---------------------------------------------------------------- duplicates
def test_duplicates_not_available(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, NoDuplicatesClient(demo_engine), "4")


def test_duplicates_empty(snap_compare, empty_engine: Engine) -> None:
    assert shoot(snap_compare, empty_engine, "4")


def test_duplicates_typical(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "4")


def test_duplicates_next_after_skip(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "4", "s")


def test_duplicates_permission_denied(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, UntoldViewerClient(demo_engine), "4", "l", "y")


def test_duplicates_merge_asks_naming_the_survivor(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "4", "r")


def test_duplicates_not_same_asks_naming_both_and_the_runs_superseded(
    snap_compare, demo_engine: Engine
) -> None:
    assert shoot(snap_compare, demo_engine, "4", "n")


def test_duplicates_not_same_asks_at_60x15(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "4", "n", size=(60, 15))


def test_duplicates_wide(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "4", size=(120, 40))


# ---------------------------------------------------------------- directory
def test_directory_empty(snap_compare, empty_engine: Engine) -> None:
    assert shoot(snap_compare, empty_engine, "5")


def test_directory_search(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "5", ("type", "haile"))


def test_directory_no_match(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "5", ("type", "nobody here"))


def test_directory_classrooms(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "5", ("type", "history"), "tab", "k", "k", "k", "k")


def test_classroom_members(snap_compare, demo_engine: Engine) -> None:
    steps = (
        "5",
        ("type", "algebra"),
        "tab",
        "k",
        "k",
        "k",
        "k",
        "tab",
        "enter",
        "right_square_bracket",
    )
    assert shoot(snap_compare, demo_engine, *steps)


def test_record_details(snap_compare, demo_engine: Engine) -> None:
    assert shoot(snap_compare, demo_engine, "5", ("type", "stu-1285"), "enter", "enter")


def test_record_history(snap_compare, demo_engine: Engine) -> None:
    steps = ("5", ("type", "stu-1285"), "enter", "enter", "left_square_bracket")
    assert shoot(snap_compare, demo_engine, *steps)


def test_record_links(snap_compare, demo_engine: Engine) -> None:
    steps = ("5", ("type", "stu-1114"), "enter", "enter", "right_square_bracket")
    assert shoot(snap_compare, demo_engine, *steps)


# ---------------------------------------------------------------- settings
def test_settings_defaults_on_a_fresh_database(snap_compare, empty_engine: Engine) -> None:
    assert shoot(snap_compare, empty_engine, "6")


def test_settings_typical(snap_compare, demo_engine: Engine) -> None:
    demo_engine.settings_set("deletion_threshold", "15")
    demo_engine.db.execute("UPDATE settings SET updated_at = TIMESTAMP '2026-11-22 10:00'")
    assert shoot(snap_compare, demo_engine, "6", "end", "up", "up")


def test_settings_edit_refused(snap_compare, demo_engine: Engine) -> None:
    steps = ("6", "end", "up", "up", "enter", ("type", "150"), "enter")
    assert shoot(snap_compare, demo_engine, *steps)


def test_settings_permission_denied(snap_compare, demo_engine: Engine) -> None:
    steps = ("6", "end", "up", "up", "enter", ("type", "20"), "enter")
    assert shoot(snap_compare, UntoldViewerClient(demo_engine), *steps)
