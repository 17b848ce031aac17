"""What the sync made for a student as a student (guardian links, student attributes) goes when
a good row makes them staff, whatever else the night holds: no OneRoster row can give either to
a teacher, so an export would write what, synced back, it archives."""

from __future__ import annotations

import pytest

from daemon.directory.integrity import check_directory


def _attribute_status(sync, student: str) -> str:
    return sync.engine.db.one(
        """SELECT a.status FROM student_attributes a JOIN users u ON u.user_id = a.student_id
           WHERE u.sis_id = ?""",
        [student],
    )


@pytest.fixture
def with_attribute(sync, tiny):
    tiny.files["student_attributes.csv"] = [
        {"studentSourcedId": "stu-4", "name": "bus_route", "value": "12", "status": "",
         "dateLastModified": ""}
    ]  # fmt: skip
    sync.apply(tiny)
    return tiny


def test_an_attribute_goes_with_the_student_role_on_a_night_without_attributes(
    sync, with_attribute
):
    """student_attributes.csv is absent: the file says nothing of attributes, users.csv does."""
    del with_attribute.files["student_attributes.csv"]
    with_attribute.row("users.csv", "stu-4")["role"] = "teacher"
    sync.apply(with_attribute, override=True)
    assert _attribute_status(sync, "stu-4") == "archived"


def test_an_attribute_row_in_error_does_not_keep_an_attribute_for_a_teacher(sync, with_attribute):
    with_attribute.rows("student_attributes.csv")[0]["value"] = "x" * 5000  # over the limit
    with_attribute.row("users.csv", "stu-4")["role"] = "teacher"
    sync.apply(with_attribute, override=True)
    assert _attribute_status(sync, "stu-4") == "archived"


def test_an_export_synced_back_after_a_student_turned_teacher_changes_nothing(
    sync, with_attribute, tmp_path
):
    del with_attribute.files["student_attributes.csv"]
    with_attribute.row("users.csv", "stu-4")["role"] = "teacher"
    sync.apply(with_attribute, override=True)
    sync.engine.export(str(tmp_path / "export"))
    assert sync.engine.plan_source(str(tmp_path / "export")).total_changes() == 0


def test_reverting_the_night_gives_the_student_back_their_attribute_and_link(sync, with_attribute):
    with_attribute.row("users.csv", "stu-4")["role"] = "teacher"
    turned = sync.apply(with_attribute, override=True)
    revert = sync.engine.revert_run(turned.run_id)
    sync.engine.apply_run(revert.run_id, override=True, reason="test", scan_duplicates=False)
    assert sync.user("stu-4")["kind"] == "student"
    assert _attribute_status(sync, "stu-4") == "active"
    assert (
        sync.engine.db.one(
            """SELECT l.status FROM guardian_links l JOIN users s ON s.user_id = l.student_id
               WHERE s.sis_id = 'stu-4'"""
        )
        == "active"
    )


def test_check_reports_a_synced_link_and_attribute_under_a_teacher(sync, with_attribute):
    """As a planning bug would leave them: the person turned staff, their rows left active."""
    sync.engine.db.execute(
        "UPDATE users SET kind = 'staff', role = 'teacher' WHERE sis_id = 'stu-4'"
    )
    failed = dict(check_directory(sync.engine.db))
    assert failed["guardian links the sync made join a student and a guardian"] == 1
    assert failed["attributes the sync made belong to students"] == 1


def test_the_archive_that_goes_with_a_new_role_says_so(sync, with_attribute):
    with_attribute.row("users.csv", "stu-4")["role"] = "teacher"
    run = sync.plan(with_attribute)
    notes = sync.engine.db.rows(
        "SELECT kind, label, note FROM changes WHERE run_id = ? AND op = 'archive' ORDER BY kind",
        [run.run_id],
    )
    assert notes == [
        ("guardian_links", "gdn-4 for stu-4", "its student is no longer a student"),
        ("student_attributes", "bus_route", "its student is no longer a student"),
    ]


@pytest.mark.parametrize(
    ("setting", "value"),
    [("archive_mode", "additions_only"), ("threshold_action", "withhold_archives")],
)
def test_a_run_that_withholds_its_archives_still_takes_what_goes_with_a_new_role(
    sync, with_attribute, setting, value
):
    """Withheld, the link would stay active under a teacher, which the directory's invariants
    forbid: the run could never be applied. It goes with the role change it follows."""
    sync.engine.settings_set(setting, value)
    with_attribute.row("users.csv", "stu-4")["role"] = "teacher"
    for i in range(7, 11):  # school B leaves: 40% of the students, over the threshold
        with_attribute.remove("users.csv", sourcedId=f"stu-{i}")
        with_attribute.remove("enrollments.csv", userSourcedId=f"stu-{i}")
    run = sync.apply(with_attribute)
    assert run.status == "applied"
    assert _attribute_status(sync, "stu-4") == "archived"
    assert sync.user("stu-9")["status"] == "active"
    withheld = {w.sis_id for w in sync.engine.withheld_page(run.run_id).items}
    assert "stu-9" in withheld
