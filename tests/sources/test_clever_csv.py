"""Clever's SFTP CSV format as a drop: recognised by its files, checked row by row at its own file
and line, mapped exactly as the Clever Data API is (docs/sources.md), so the same district
dropped as OneRoster CSV, pulled from a OneRoster REST hub or Clever's API, or dropped as Clever
CSV plans the same, and a district switches between them without a single change."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.models import Run
from daemon.service.engine import Engine
from daemon.sources.config import SourceConfig
from tests.district import TinyDistrict
from tests.hubs import clever
from tests.hubs.district import clever_csv, write_files
from tests.sources.conftest import rest_config, start_hub
from tests.sources.test_clever_api import (
    kept_ids,
    lacked_fields,
    phones_and_grades,
    records,
    serve,
    with_phones_and_grades_for_every_role,
    with_what_clever_lacks,
)
from tests.sources.test_oneroster_rest import applied_from_csv


@pytest.fixture
def files(clever_district: TinyDistrict) -> dict[str, list[dict[str, str]]]:
    return clever_csv(clever_district)


def issues(engine: Engine, run_id: int) -> list[tuple]:
    return engine.db.rows(
        "SELECT file_name, line, severity, column_name, message FROM row_issues "
        "WHERE run_id = ? ORDER BY file_name, line",
        [run_id],
    )


WAYS = ("OneRoster CSV", "OneRoster REST", "Clever API", "Clever CSV")


class FourWays:
    """One district served four ways at once: as OneRoster CSV files, by a OneRoster REST hub
    (`classlink`), by a Clever API hub (`clever`) and as Clever's SFTP CSV files."""

    def __init__(
        self,
        engine: Engine,
        district: TinyDistrict,
        files: dict[str, list[dict[str, str]]],
        folder: Path,
        secret_file: Path,
    ) -> None:
        self.engine, self.district, self.files, self.folder = engine, district, files, folder
        self.drops = itertools.count(1)
        token = folder / "clever.token"
        token.write_text(clever.TOKEN)
        token.chmod(0o600)
        self.rest = start_hub(district)
        self.clever = serve(district)
        clever_source = SourceConfig.model_validate(
            {"kind": "clever", "base_url": self.clever.base_url, "client_secret_file": token,
             "district_sis_id": "dist-1", "page_size": 4}
        )  # fmt: skip
        engine.configure_sources(
            {"classlink": rest_config(self.rest, secret_file), "clever": clever_source},
            engine.archive,
        )

    def plan(self, way: str) -> Run:
        n = next(self.drops)
        if way == "OneRoster CSV":
            run = self.engine.plan_source(str(self.district.write(self.folder / f"oneroster-{n}")))
        elif way == "OneRoster REST":
            run = self.engine.pull_source("classlink")
        elif way == "Clever API":
            run = self.engine.pull_source("clever")
        else:
            run = self.engine.plan_source(str(write_files(self.files, self.folder / f"clever-{n}")))
        assert run.status == "planned", (way, run.error)
        return run

    def stop(self) -> None:
        self.rest.stop()
        self.clever.stop()


@pytest.fixture
def four_ways(
    puller: Engine,
    clever_district: TinyDistrict,
    files: dict[str, list[dict[str, str]]],
    tmp_path: Path,
    secret_file: Path,
) -> Iterator[FourWays]:
    ways = FourWays(puller, clever_district, files, tmp_path, secret_file)
    yield ways
    ways.stop()


def test_the_same_district_from_each_source_plans_the_same_changes(
    puller: Engine, four_ways: FourWays
) -> None:
    runs = {way: four_ways.plan(way) for way in WAYS}
    assert issues(puller, runs["Clever CSV"].run_id) == []
    expected = runs["OneRoster CSV"]
    for way, run in runs.items():
        assert run.changes == expected.changes, way
        assert records(puller, run.run_id) == records(puller, expected.run_id), way


def test_applied_from_csv_then_each_source_in_turn_every_source_plans_nothing(
    puller: Engine,
    clever_district: TinyDistrict,
    tmp_path: Path,
    secret_file: Path,
) -> None:
    """The switch a district makes, in every direction: applied from its OneRoster CSV, then
    from each other source in turn (and back to the CSV), no source plans a single change,
    although the SIS has phones and grades Clever carries for other roles only (students' and
    teachers' phones, teachers' grades, a parent's second number)."""
    sis = with_phones_and_grades_for_every_role(clever_district)
    four_ways = FourWays(puller, sis, clever_csv(sis), tmp_path, secret_file)
    try:
        puller.apply_run(four_ways.plan("OneRoster CSV").run_id, scan_duplicates=False)
        before = kept_ids(puller), phones_and_grades(puller)
        for switched_to in ("OneRoster REST", "Clever API", "Clever CSV", "OneRoster CSV"):
            # The source switched to is planned last: a newer plan supersedes the open one.
            for way in (*(w for w in WAYS if w != switched_to), switched_to):
                run = four_ways.plan(way)
                assert (run.total_changes(), run.conflicts) == (0, 0), (
                    switched_to, way, run.changes,
                )  # fmt: skip
            puller.apply_run(run.run_id, scan_duplicates=False)
            assert (kept_ids(puller), phones_and_grades(puller)) == before, switched_to
    finally:
        four_ways.stop()


def test_switching_from_oneroster_csv_to_clever_csv_and_back_plans_no_change(
    puller: Engine,
    clever_district: TinyDistrict,
    files: dict[str, list[dict[str, str]]],
    tmp_path: Path,
) -> None:
    applied_from_csv(puller, clever_district, tmp_path)
    before = kept_ids(puller)
    run = puller.plan_source(str(write_files(files, tmp_path / "clever")))
    assert run.status == "planned" and run.total_changes() == 0, run.changes
    puller.apply_run(run.run_id, scan_duplicates=False)
    # Course_number, Term_name and SECTION:STUDENT are not the SIS's ids: the directory keeps its.
    assert kept_ids(puller) == before
    again = puller.plan_source(str(write_files(files, tmp_path / "clever2")))
    assert again.total_changes() == 0, again.changes
    back = puller.plan_source(str(clever_district.write(tmp_path / "back")))
    assert back.total_changes() == 0, back.changes


def test_fields_clever_csv_has_no_column_for_keep_what_the_sis_gave(
    puller: Engine, clever_district: TinyDistrict, tmp_path: Path
) -> None:
    sis = with_what_clever_lacks(clever_district)
    applied_from_csv(puller, sis, tmp_path)
    before = lacked_fields(puller)
    run = puller.plan_source(str(write_files(clever_csv(sis), tmp_path / "clever")))
    assert run.status == "planned" and run.total_changes() == 0, run.changes
    puller.apply_run(run.run_id, scan_duplicates=False)
    assert lacked_fields(puller) == before
    again = puller.plan_source(str(write_files(clever_csv(sis), tmp_path / "clever2")))
    assert again.total_changes() == 0, again.changes


def test_a_student_repeated_for_two_schools_keeps_both(
    puller: Engine, files: dict[str, list[dict[str, str]]], tmp_path: Path
) -> None:
    row = next(r for r in files["students.csv"] if r["Student_id"] == "stu-3")
    files["students.csv"].append({**row, "School_id": "sch-b"})
    run = puller.plan_source(str(write_files(files, tmp_path / "clever")))
    assert run.status == "planned", run.error
    puller.apply_run(run.run_id, scan_duplicates=False)
    [(orgs,)] = puller.db.rows("SELECT org_sis_ids FROM users WHERE sis_id = 'stu-3'")
    assert orgs == "sch-a,sch-b"


def test_contacts_without_a_sis_id_get_a_stable_id_and_emergency_contacts_are_relatives(
    puller: Engine, files: dict[str, list[dict[str, str]]], tmp_path: Path
) -> None:
    for row in files["students.csv"]:
        row["Contact_sis_id"] = ""
        if row["Student_id"] == "stu-1":
            row.update(Contact_type="Emergency", Contact_relationship="Aunt")
    first = puller.plan_source(str(write_files(files, tmp_path / "one")))
    guardians = puller.change_page(first.run_id, kind="guardians").items
    assert len(guardians) == 9 and all(g.sis_id.startswith("contact-") for g in guardians)
    puller.apply_run(first.run_id, scan_duplicates=False)
    second = puller.plan_source(str(write_files(files, tmp_path / "two")))
    assert second.status == "planned" and second.total_changes() == 0, second.changes


def test_a_missing_required_column_refuses_the_drop_naming_file_line_and_column(
    puller: Engine, files: dict[str, list[dict[str, str]]], tmp_path: Path
) -> None:
    for row in files["enrollments.csv"]:
        del row["Section_id"]
    run = puller.plan_source(str(write_files(files, tmp_path / "clever")))
    assert run.status == "failed"
    assert "enrollments.csv line 1: missing required column Section_id" in (run.error or "")


def test_bad_rows_are_results_at_their_clever_file_and_line(
    puller: Engine, files: dict[str, list[dict[str, str]]], tmp_path: Path
) -> None:
    files["students.csv"][0]["Student_id"] = ""  # line 2: no id
    files["students.csv"][1]["School_id"] = "sch-x"  # line 3: unknown school
    files["sections.csv"][0]["Teacher_2_id"] = "tch-9"  # line 2: unknown teacher
    files["sections.csv"].append({**files["sections.csv"][1]})  # line 5: duplicate id
    files["enrollments.csv"][0]["Section_id"] = "cls-zz"  # line 2: unknown section
    files["enrollments.csv"][1]["Student_id"] = "stu-99"  # line 3: unknown student
    run = puller.plan_source(str(write_files(files, tmp_path / "clever")))
    assert run.status == "planned", run.error
    found = {(f, line, sev, col) for f, line, sev, col, _ in issues(puller, run.run_id)}
    assert {
        ("students.csv", 2, "ERROR", "Student_id"),
        ("students.csv", 3, "ERROR", "School_id"),
        ("sections.csv", 2, "ERROR", "Teacher_2_id"),
        ("sections.csv", 5, "ERROR", "sourcedId"),
        ("enrollments.csv", 2, "ERROR", "Section_id"),
        ("enrollments.csv", 3, "ERROR", "Student_id"),
    } <= found
    messages = [m for *_, m in issues(puller, run.run_id)]
    assert (
        "enrollments.csv line 2: Section_id cls-zz is not in sections.csv; the row is skipped"
        in messages
    )


def test_a_oneroster_drop_is_not_taken_for_clever(
    puller: Engine, clever_district: TinyDistrict, tmp_path: Path
) -> None:
    run = puller.plan_source(str(clever_district.write(tmp_path / "drops")))
    assert run.status == "planned" and issues(puller, run.run_id) == []


def test_every_change_traces_to_its_clever_file_and_line(
    puller: Engine, files: dict[str, list[dict[str, str]]], tmp_path: Path
) -> None:
    run = puller.plan_source(str(write_files(files, tmp_path / "clever")))
    changes = puller.change_page(run.run_id, limit=1000).items
    assert changes and all(c.source_file and c.source_line for c in changes)

    # A student's first row, a contact's first row, a student's enrollment row, a school's row.
    def line(file: str, column: str, value: str) -> int:
        return 2 + next(i for i, r in enumerate(files[file]) if r[column] == value)

    by_id = {(c.kind, c.sis_id): (c.source_file, c.source_line) for c in changes}
    assert by_id[("students", "stu-3")] == (
        "students.csv",
        line("students.csv", "Student_id", "stu-3"),
    )
    assert by_id[("guardians", "gdn-3")] == (
        "students.csv", line("students.csv", "Contact_sis_id", "gdn-3"),
    )  # fmt: skip
    assert by_id[("schools", "sch-b")] == ("schools.csv", line("schools.csv", "School_id", "sch-b"))
    assert by_id[("staff", "tch-1")] == (
        "teachers.csv",
        line("teachers.csv", "Teacher_id", "tch-1"),
    )
    enrolled = next(e for e in files["enrollments.csv"] if e["Student_id"] == "stu-4")
    assert by_id[("enrollments", f"{enrolled['Section_id']}:stu-4")] == (
        "enrollments.csv", 2 + files["enrollments.csv"].index(enrolled),
    )  # fmt: skip


def test_an_update_traces_to_the_clever_row_that_changed(
    puller: Engine, files: dict[str, list[dict[str, str]]], tmp_path: Path
) -> None:
    first = puller.plan_source(str(write_files(files, tmp_path / "one")))
    puller.apply_run(first.run_id, scan_duplicates=False)
    rows = files["students.csv"]
    index = next(i for i, r in enumerate(rows) if r["Student_id"] == "stu-5")
    for row in rows:
        if row["Student_id"] == "stu-5":
            row["Last_name"] = "Renamed"
    run = puller.plan_source(str(write_files(files, tmp_path / "two")))
    [change] = puller.change_page(run.run_id, kind="students").items
    assert (change.op, change.source_file, change.source_line) == (
        "update", "students.csv", index + 2,
    )  # fmt: skip


def test_a_zip_of_clever_files_is_read_as_clever(
    puller: Engine, files: dict[str, list[dict[str, str]]], tmp_path: Path
) -> None:
    import zipfile

    folder = write_files(files, tmp_path / "clever")
    archive = tmp_path / "clever.zip"
    with zipfile.ZipFile(archive, "w") as out:
        for path in folder.iterdir():
            out.write(path, path.name)
    run = puller.plan_source(str(archive))
    assert run.status == "planned", run.error
    assert run.changes["students"]["create"] == 10 and run.changes["guardians"]["create"] == 10


def test_a_file_that_is_not_csv_text_refuses_the_drop(
    puller: Engine, files: dict[str, list[dict[str, str]]], tmp_path: Path
) -> None:
    folder = write_files(files, tmp_path / "clever")
    (folder / "teachers.csv").write_bytes(
        b"School_id,Teacher_id,First_name,Last_name\n\xff\xfe,x,y,z\n"
    )
    run = puller.plan_source(str(folder))
    assert run.status == "failed" and "cannot be read as CSV" in (run.error or "")


def test_staff_are_administrators_at_each_of_their_schools(
    puller: Engine, files: dict[str, list[dict[str, str]]], tmp_path: Path
) -> None:
    staff = {"School_id": "sch-a", "Staff_id": "stf-1", "Staff_email": "pat@example.org",
             "First_name": "Pat", "Last_name": "Kim", "Department": "Office", "Title": "Clerk"}  # fmt: skip
    files["staff.csv"] = [staff, {**staff, "School_id": "sch-b"}]
    run = puller.plan_source(str(write_files(files, tmp_path / "clever")))
    assert run.status == "planned", run.error
    assert run.changes["staff"]["create"] == 3, issues(puller, run.run_id)
    puller.apply_run(run.run_id, scan_duplicates=False)
    [(role, orgs)] = puller.db.rows("SELECT role, org_sis_ids FROM users WHERE sis_id = 'stf-1'")
    assert (role, orgs) == ("administrator", "sch-a,sch-b")


def test_what_the_oneroster_checks_find_is_reported_at_the_clever_file_and_line(
    puller: Engine, files: dict[str, list[dict[str, str]]], tmp_path: Path
) -> None:
    staff = {"School_id": "sch-a", "Staff_id": "stf-1", "Staff_email": "",
             "First_name": "Pat", "Last_name": "Kim"}  # fmt: skip
    files["staff.csv"] = [staff]  # no username and no email: the user has no login
    run = puller.plan_source(str(write_files(files, tmp_path / "clever")))
    assert [(f, line, m) for f, line, _, _, m in issues(puller, run.run_id)] == [
        ("staff.csv", 2, "staff.csv line 2: username is required")
    ]


def test_staff_phones_and_grades_and_a_contacts_other_number_keep_what_the_sis_gave(
    puller: Engine, clever_district: TinyDistrict, tmp_path: Path
) -> None:
    """staff.csv has no phone or grade columns; a contact has one phone, here a cell (sms):
    the SIS's numbers and grades Clever does not carry stay as they are."""
    sis = with_phones_and_grades_for_every_role(clever_district)
    teacher = sis.row("users.csv", "tch-1")
    sis.rows("users.csv").append(
        {**teacher, "sourcedId": "stf-1", "role": "administrator", "username": "pat.kim",
         "givenName": "Pat", "familyName": "Kim", "identifier": "stf-1",
         "email": "pat@example.org", "sms": "555-0611", "phone": "555-0612", "grades": "05"}
    )  # fmt: skip
    applied_from_csv(puller, sis, tmp_path)
    before = phones_and_grades(puller)
    files = clever_csv(sis)
    files["staff.csv"] = [
        {"School_id": "sch-a", "Staff_id": "stf-1", "Staff_email": "pat@example.org",
         "First_name": "Pat", "Last_name": "Kim", "Username": "pat.kim"}
    ]  # fmt: skip
    for row in files["students.csv"]:
        if row["Contact_sis_id"] == "gdn-1":
            row.update(Contact_phone="555-0901", Contact_phone_type="Cell")
    run = puller.plan_source(str(write_files(files, tmp_path / "clever")))
    assert run.status == "planned" and run.total_changes() == 0, run.changes
    puller.apply_run(run.run_id, scan_duplicates=False)
    assert phones_and_grades(puller) == before
    assert ("stf-1", "555-0611", "555-0612", "05") in before


def test_two_sections_under_one_section_id_are_an_error_and_their_rosters_do_not_merge(
    puller: Engine, clever_district: TinyDistrict, tmp_path: Path
) -> None:
    """enrollments.csv names a section by Section_id alone: which of two sections under one id
    a student is in cannot be told, so that class and its memberships stay as they are."""
    applied_from_csv(puller, clever_district, tmp_path)
    files = clever_csv(clever_district)
    files["sections.csv"].append({**files["sections.csv"][0], "Teacher_id": "tch-2"})
    files["enrollments.csv"] += [
        {"School_id": "sch-a", "Section_id": "cls-a1", "Student_id": s} for s in ("stu-7", "stu-8")
    ]
    run = puller.plan_source(str(write_files(files, tmp_path / "clever")))
    assert run.status == "planned", run.error
    assert [
        (f, line, sev) for f, line, sev, *_ in issues(puller, run.run_id) if sev == "ERROR"
    ] == [("sections.csv", 5, "ERROR")]
    assert run.total_changes() == 0, run.changes
