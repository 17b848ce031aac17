"""A guardians.csv guardian is a guardian of its students (its rows are links): one a good row
or file leaves with no link tonight (its only student marked tobedeleted, or gone on a night
without guardians.csv; its only row marked tobedeleted) is archived, saying why. Kept active,
no export could write it, and the export synced back would archive it. A guardian whose own
row is in error (it names a student no longer in users.csv) is kept as it was."""

from __future__ import annotations

from daemon.models import Run
from daemon.sync.feed.users import GUARDIAN_WITHOUT_A_STUDENT
from tests.district import TinyDistrict, guardian_of


def _status(sync, sis_id: str = "gf-1") -> str:
    return sync.engine.db.one("SELECT status FROM users WHERE sis_id = ?", [sis_id])


def _guardian_change(sync, run) -> list[tuple[str, str, int, str]]:
    return sync.engine.db.rows(
        """SELECT op, c.source_file, c.source_line, note FROM changes c JOIN users u
           ON u.user_id = c.record_id WHERE c.run_id = ? AND c.kind = 'guardians'
           AND u.sis_id = 'gf-1'""",
        [run.run_id],
    )


def _linked_to_stu_1(tiny: TinyDistrict, *more: dict[str, str]) -> TinyDistrict:
    tiny.rows("guardians.csv").extend([guardian_of("stu-1"), *more])
    return tiny


def _stu_1_marked_tobedeleted(sync, tiny: TinyDistrict, *more: dict[str, str]) -> Run:
    """Night 1 links gf-1 (and `more`) to stu-1; night 2 marks stu-1 tobedeleted."""
    sync.apply(_linked_to_stu_1(tiny, *more))
    tiny.row("users.csv", "stu-1")["status"] = "tobedeleted"
    return sync.apply(tiny, override=True)


def test_a_guardian_whose_only_student_is_marked_tobedeleted_is_archived(sync, tiny):
    _stu_1_marked_tobedeleted(sync, tiny)
    assert _status(sync) == "archived"


def test_the_archive_says_why_and_names_the_guardians_row(sync, tiny):
    run = _stu_1_marked_tobedeleted(sync, tiny)
    assert _guardian_change(sync, run) == [
        ("archive", "guardians.csv", 2, GUARDIAN_WITHOUT_A_STUDENT)
    ]


def test_a_guardian_whose_only_row_is_marked_tobedeleted_is_archived(sync, tiny):
    sync.apply(_linked_to_stu_1(tiny))
    tiny.rows("guardians.csv")[-1]["status"] = "tobedeleted"
    sync.apply(tiny)
    assert _status(sync) == "archived"


def test_a_guardian_whose_only_student_leaves_on_a_night_without_guardians_csv_is_archived(
    sync, tiny
):
    sync.apply(_linked_to_stu_1(tiny))
    del tiny.files["guardians.csv"]
    tiny.remove("users.csv", sourcedId="stu-1")
    tiny.remove("enrollments.csv", userSourcedId="stu-1")
    sync.apply(tiny, override=True)
    assert _status(sync) == "archived"


def test_a_guardian_with_another_student_left_is_kept(sync, tiny):
    _stu_1_marked_tobedeleted(sync, tiny, guardian_of("stu-10"))
    assert _status(sync) == "active"


def test_the_same_drop_again_changes_nothing(sync, tiny):
    _stu_1_marked_tobedeleted(sync, tiny)
    assert sync.plan(tiny).total_changes() == 0


def test_an_export_synced_back_after_a_guardians_student_left_changes_nothing(sync, tiny, tmp_path):
    # gf-2 keeps a student, so the export writes a guardians.csv (without gf-1)
    _stu_1_marked_tobedeleted(sync, tiny, guardian_of("stu-10", "gf-2"))
    sync.engine.export(str(tmp_path / "export"))
    assert sync.engine.plan_source(str(tmp_path / "export")).total_changes() == 0


def test_the_student_back_brings_the_guardian_back(sync, tiny):
    _stu_1_marked_tobedeleted(sync, tiny)
    tiny.row("users.csv", "stu-1")["status"] = ""
    sync.apply(tiny, override=True)
    assert _status(sync) == "active"


def test_a_guardian_whose_row_names_a_student_gone_is_kept_while_the_row_is_in_error(sync, tiny):
    sync.apply(_linked_to_stu_1(tiny))
    tiny.remove("users.csv", sourcedId="stu-1")  # gf-1's row is in ERROR: stu-1 is no user
    tiny.remove("enrollments.csv", userSourcedId="stu-1")
    sync.apply(tiny, override=True)
    assert _status(sync) == "active"


def test_under_additions_only_the_guardian_stays_with_its_student(sync, tiny):
    sync.engine.settings_set("archive_mode", "additions_only")
    run = _stu_1_marked_tobedeleted(sync, tiny)
    withheld = {w.sis_id for w in sync.engine.withheld_page(run.run_id).items}
    assert (_status(sync), _status(sync, "stu-1"), "gf-1" in withheld) == ("active", "active", True)


def test_a_guardian_a_person_made_is_never_archived_by_the_sync(sync, tiny):
    """gf-1 is archived (its student left); a person merges it into a guardian they made by
    hand. The same drop again names gf-1, so it names the hand-made survivor: kept active.
    Found by review: the rule read the plan's update of the survivor as the sync's record."""
    _stu_1_marked_tobedeleted(sync, tiny)
    hand = sync.engine.create_user("guardian", "Robin", "Contact", email="robin@example.net")
    sync.engine.duplicates_merge("gf-1", str(hand), keep=str(hand))
    sync.apply(tiny, override=True)
    assert sync.engine.db.one("SELECT status FROM users WHERE user_id = ?", [hand]) == "active"
