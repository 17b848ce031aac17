"""`export` writes a faithful OneRoster drop: its version, the spec's spelling, every stored field
and the files its rows reference; syncing it back plans nothing."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from daemon.sync.export import ExportError


def _rows(folder: Path, name: str) -> list[dict[str, str]]:
    with open(folder / name, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _manifest(folder: Path) -> dict[str, str]:
    return {r["propertyName"]: r["value"] for r in _rows(folder, "manifest.csv")}


@pytest.fixture
def drop12(sample, tmp_path):
    """The bundled 1.2 drop with a site administrator and subject codes, as real drops have."""
    folder = tmp_path / "oneroster12"
    shutil.copytree(sample / "oneroster12", folder)
    roles = folder / "roles.csv"
    roles.write_text(
        roles.read_text().replace(
            "tch-5001,primary,teacher,2026-08-24,,sch-oak",
            "tch-5001,primary,siteAdministrator,2026-08-24,,sch-oak",
        )
    )
    classes = folder / "classes.csv"
    classes.write_text(classes.read_text().replace(",Technology,,5", ",Technology,TECH01,5"))
    return folder


@pytest.fixture
def exported12(sync, drop12, tmp_path):
    sync.apply(drop12)
    sync.engine.export(str(tmp_path / "export"))
    return tmp_path / "export"


def test_an_export_is_in_the_version_of_the_drop(exported12):
    manifest = _manifest(exported12)
    assert manifest["oneroster.version"] == "1.2"
    assert (exported12 / "roles.csv").exists()
    assert "role" not in _rows(exported12, "users.csv")[0]


def test_a_12_export_carries_every_file_line_of_the_12_manifest(exported12):
    files = [k for k in _manifest(exported12) if k.startswith("file.")]
    assert len([f for f in files if f not in ("file.guardians", "file.student_attributes")]) == 21


def test_an_export_spells_terms_as_the_spec_does(exported12):
    roles = {r["role"] for r in _rows(exported12, "roles.csv")}
    sessions = {r["type"] for r in _rows(exported12, "academicSessions.csv")}
    assert "siteAdministrator" in roles
    assert sessions == {"schoolYear", "semester"}


def test_an_export_carries_user_ids_and_subject_codes(exported12):
    users = {r["sourcedId"]: r for r in _rows(exported12, "users.csv")}
    assert users["stu-5001"]["userIds"] == "{SIS:S5001}"
    assert {r["subjectCodes"] for r in _rows(exported12, "classes.csv")} == {"TECH01"}


def test_an_export_carries_the_courses_and_sessions_its_classes_name(exported12):
    manifest = _manifest(exported12)
    assert manifest["file.courses"] == "bulk"
    assert manifest["file.academicSessions"] == "bulk"
    courses = {r["sourcedId"] for r in _rows(exported12, "courses.csv")}
    assert {r["courseSourcedId"] for r in _rows(exported12, "classes.csv")} <= courses


def test_a_12_export_synced_back_plans_nothing(sync, exported12):
    run = sync.plan(exported12)
    assert run.rows.error == 0, sync.issues(run, "ERROR")
    assert run.total_changes() == 0, run.changes


def test_a_11_export_of_a_12_directory_says_how_its_roles_were_written(sync, drop12, tmp_path):
    sync.apply(drop12)
    summary = sync.engine.export(str(tmp_path / "as11"), "1.1")
    assert summary.oneroster_version == "1.1"
    assert _manifest(tmp_path / "as11")["oneroster.version"] == "1.1"
    roles = {r["sourcedId"]: r["role"] for r in _rows(tmp_path / "as11", "users.csv")}
    assert roles["tch-5001"] == "administrator"
    assert "1 users with a OneRoster 1.2 role" in summary.notes[0]
    run = sync.plan(tmp_path / "as11")
    assert run.rows.error == 0, sync.issues(run, "ERROR")


def test_exporting_into_a_file_is_refused_in_words(sync, tmp_path, tiny_applied):
    target = tmp_path / "a-file"
    target.write_text("not a folder")
    with pytest.raises(ExportError, match="is a file; export writes into a folder"):
        sync.engine.export(str(target))


def test_an_11_export_synced_back_plans_nothing(sync, tiny, tmp_path):
    tiny.row("users.csv", "stu-1")["userIds"] = "{SIS:S1},{LDAP:ava}"
    tiny.row("classes.csv", "cls-a2")["subjectCodes"] = "SCI5"
    sync.apply(tiny)
    sync.engine.export(str(tmp_path / "export"))
    assert _manifest(tmp_path / "export")["oneroster.version"] == "1.1"
    run = sync.plan(tmp_path / "export")
    assert run.rows.error == 0, sync.issues(run, "ERROR")
    assert run.total_changes() == 0, run.changes


def test_an_export_of_a_school_whose_sourced_id_starts_with_a_hash_synced_back_plans_nothing(
    sync, tiny, tmp_path
):
    """A SIS may name an org '#2': it is the SIS's org, not a school named by hand by its id, so
    the export keeps it in every user's orgSourcedIds."""
    tiny.rename_org("sch-b", "#2")
    sync.apply(tiny)
    sync.engine.export(str(tmp_path / "export"))
    run = sync.plan(tmp_path / "export")
    assert run.rows.error == 0, sync.issues(run, "ERROR")
    assert run.total_changes() == 0, run.changes


def test_a_12_drop_names_its_students_in_guardians_and_attributes_by_roles_csv(sync, drop12):
    """1.2 keeps a user's role in roles.csv, not users.csv: a guardians.csv or
    student_attributes.csv row naming a student is good (it was an error once)."""
    (drop12 / "guardians.csv").write_text(
        "sourcedId,status,dateLastModified,studentSourcedId,relationship,givenName,familyName,"
        "email,sms,phone,language\n"
        "gf-1,,,stu-5001,guardian,Robin,Lindqvist,robin@example.net,,,en\n"
    )
    (drop12 / "student_attributes.csv").write_text(
        "studentSourcedId,name,value\nstu-5001,bus_route,12\n"
    )
    manifest = drop12 / "manifest.csv"
    manifest.write_text(
        manifest.read_text()
        .replace("file.guardians,absent", "file.guardians,bulk")
        .replace("file.student_attributes,absent", "file.student_attributes,bulk")
    )
    run = sync.plan(drop12)
    assert [i["message"] for i in sync.issues(run, "ERROR")] == []
    assert sync.issues(run, "WARNING") == []
    linked = sync.changes(run, "guardian_links", "create")
    assert ("guardians.csv", 2) in [(c["source_file"], c["source_line"]) for c in linked]
    assert len(sync.changes(run, "student_attributes", "create")) == 1


# tch-5001 is also an aide at sch-pine, where they teach too: two roles at one school.
AIDE_AT_PINE = (
    "rol-000012,active,2026-08-20T06:00:00.000Z,tch-5001,secondary,aide,2026-08-24,,sch-pine,"
)


@pytest.fixture
def aide12(sample, tmp_path):
    folder = tmp_path / "aide12"
    shutil.copytree(sample / "oneroster12", folder)
    roles = folder / "roles.csv"
    roles.write_text(roles.read_text().replace("rol-000010,", f"{AIDE_AT_PINE}\nrol-000010,"))
    return folder


def _roles_of(folder: Path, user: str) -> list[tuple[str, ...]]:
    return [
        (r["sourcedId"], r["roleType"], r["role"], r["orgSourcedId"], r["beginDate"])
        for r in _rows(folder, "roles.csv")
        if r["userSourcedId"] == user
    ]


def _kept_roles(sync) -> list[tuple]:
    return sync.engine.db.rows(
        """SELECT sis_id, user_sis_id, role_type, role, begin_date, org_sis_id, status
           FROM sis_roles ORDER BY sis_id"""
    )


def test_a_12_export_writes_the_roles_the_sis_sent(sync, aide12, tmp_path):
    sync.apply(aide12)
    sync.engine.export(str(tmp_path / "export"))
    assert _roles_of(tmp_path / "export", "tch-5001") == [
        ("rol-000007", "primary", "teacher", "sch-oak", "2026-08-24"),
        ("rol-000008", "secondary", "teacher", "sch-elm", "2026-08-24"),
        ("rol-000009", "secondary", "teacher", "sch-pine", "2026-08-24"),
        ("rol-000012", "secondary", "aide", "sch-pine", "2026-08-24"),
    ]


def test_a_12_export_synced_back_keeps_the_roles_as_they_were(sync, aide12, tmp_path):
    sync.apply(aide12)
    kept = _kept_roles(sync)
    sync.engine.export(str(tmp_path / "export"))
    run = sync.apply(tmp_path / "export")
    assert run.total_changes() == 0, run.changes
    assert _kept_roles(sync) == kept


def test_roles_kept_that_no_longer_give_a_users_schools_are_written_from_the_record(
    sync, aide12, tmp_path
):
    """A directory whose kept roles of a user do not give its schools (kept from before, or a
    school given by hand): the user's roles are made from the record, one primary per school."""
    sync.apply(aide12)
    sync.engine.db.execute("DELETE FROM sis_roles WHERE sis_id = 'rol-000008'")
    sync.engine.export(str(tmp_path / "export"))
    assert _roles_of(tmp_path / "export", "tch-5001") == [
        ("role-tch-5001-sch-elm", "primary", "teacher", "sch-elm", ""),
        ("role-tch-5001-sch-oak", "primary", "teacher", "sch-oak", ""),
        ("role-tch-5001-sch-pine", "primary", "teacher", "sch-pine", ""),
    ]
    assert _roles_of(tmp_path / "export", "stu-5001") == [
        ("rol-000001", "primary", "student", "sch-elm", "2026-08-24")
    ]
