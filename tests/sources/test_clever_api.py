"""Clever's Data API as a source: the same district plans the same changes as its OneRoster CSV.

Clever carries the SIS's ids beside its own (sis_id), so people, schools and classrooms are the
same records whichever way the district arrives. What Clever has no SIS id for (terms, courses,
enrollments) is named by ids the mapping makes, and the directory keeps the SIS's
(docs/sources.md), so switching to Clever and back plans no change.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.models import Run
from daemon.service.engine import Engine
from daemon.sources.config import SourceConfig
from tests.district import TinyDistrict
from tests.hubs.clever import CleverHub
from tests.hubs.district import clever_api, oid
from tests.sources.test_oneroster_rest import applied_from_csv


def serve(district: TinyDistrict, **kwargs) -> CleverHub:  # type: ignore[no-untyped-def]
    return CleverHub(clever_api(district, **kwargs)).start()


@pytest.fixture
def hub(clever_district: TinyDistrict) -> Iterator[CleverHub]:
    server = serve(clever_district)
    yield server
    server.stop()


def configure(engine: Engine, hub: CleverHub, token_file: Path, **overrides) -> None:  # type: ignore[no-untyped-def]
    config = SourceConfig.model_validate(
        {
            "kind": "clever",
            "base_url": hub.base_url,
            "client_secret_file": token_file,
            "district_sis_id": "dist-1",
            "page_size": 4,
            **overrides,
        }
    )
    engine.configure_sources({"clever": config}, engine.archive)


def pull_clever(engine: Engine, hub: CleverHub, token_file: Path, **overrides) -> Run:  # type: ignore[no-untyped-def]
    """Configure the hub as the `clever` source, pull it once, stop the hub."""
    with hub:
        configure(engine, hub, token_file, **overrides)
        return engine.pull_source("clever")


CLEVER_OWN_IDS = {"course_sis_id", "term_sis_ids"}


def records(engine: Engine, run_id: int) -> list[tuple]:
    """The run's changes by record and field; enrollments by class and person (their ids are
    made by Clever's mapping), classrooms without the course and term ids Clever cannot carry."""
    found = []
    for c in engine.change_page(run_id, limit=1000).items:
        fields = tuple(
            (f.field, f.old, f.new)
            for f in c.fields
            if not (c.kind == "classrooms" and f.field in CLEVER_OWN_IDS)
        )
        key = c.label if c.kind != "enrollments" else None
        found.append((c.kind, c.op, c.sis_id if c.kind != "enrollments" else None, key, fields))
    return sorted(found, key=repr)


def test_clever_plans_the_same_people_schools_and_classrooms_as_the_csv(
    puller: Engine, hub: CleverHub, token_file: Path, clever_district: TinyDistrict, tmp_path: Path
) -> None:
    configure(puller, hub, token_file)
    from_csv = puller.plan_source(str(clever_district.write(tmp_path / "drops")))
    pulled = puller.pull_source("clever")
    assert pulled.status == "planned", pulled.error
    assert pulled.source_kind == "clever" and pulled.fetch["label"] == "Clever"
    assert pulled.changes == from_csv.changes
    assert records(puller, pulled.run_id) == records(puller, from_csv.run_id)


def kept_ids(engine: Engine) -> dict[str, list[tuple]]:
    """What Clever has no SIS id for, as the directory holds it: each classroom's course and
    term, each membership's id, and the SIS's courses and terms that are active."""
    return {
        "classrooms": engine.db.rows(
            "SELECT sis_id, course_sis_id, term_sis_ids FROM classrooms ORDER BY sis_id"
        ),
        "enrollments": engine.db.rows(
            "SELECT sis_id, classroom_id, user_id FROM enrollments ORDER BY sis_id"
        ),
        "reference": engine.db.rows(
            "SELECT 'course', sis_id FROM courses WHERE status = 'active' AND sis_id = 'crs-1' "
            "UNION ALL SELECT 'term', sis_id FROM academic_sessions "
            "WHERE status = 'active' AND sis_id = 'term-1' ORDER BY ALL"
        ),
    }


def test_switching_from_csv_to_clever_and_back_plans_no_change(
    puller: Engine, hub: CleverHub, token_file: Path, clever_district: TinyDistrict, tmp_path: Path
) -> None:
    configure(puller, hub, token_file)
    applied_from_csv(puller, clever_district, tmp_path)
    before = kept_ids(puller)
    assert before["reference"] == [("course", "crs-1"), ("term", "term-1")]
    pulled = puller.pull_source("clever")
    assert pulled.status == "planned" and pulled.total_changes() == 0, pulled.changes
    puller.apply_run(pulled.run_id, scan_duplicates=False)
    # Clever names terms, courses and memberships by its own ids (docs/sources.md): the
    # directory keeps the SIS's, so nothing changed and switching back changes nothing either.
    assert kept_ids(puller) == before
    again = puller.pull_source("clever")
    assert again.total_changes() == 0, again.changes
    back = puller.plan_source(str(clever_district.write(tmp_path / "back")))
    assert back.total_changes() == 0, back.changes


def with_what_clever_lacks(district: TinyDistrict) -> TinyDistrict:
    """The SIS's files with what Clever has no field for: class location and subject codes,
    users' userIds, enrollments' primary flag and dates."""
    for row in district.rows("classes.csv"):
        row.update(location="Room 5", subjectCodes="SCI-05")
    for row in district.rows("users.csv"):
        row["userIds"] = "{LDAP:" + row["sourcedId"] + "}"
    for row in district.rows("enrollments.csv"):
        row.update(primary=str(row["role"] == "teacher").lower(), beginDate="2026-08-20",
                   endDate="2027-06-15")  # fmt: skip
    return district


def lacked_fields(engine: Engine) -> list[tuple]:
    return engine.db.rows(
        "SELECT sis_id, location, subject_codes, NULL FROM classrooms UNION ALL "
        "SELECT sis_id, user_ids, NULL, NULL FROM users UNION ALL "
        "SELECT sis_id, CAST(is_primary AS VARCHAR), CAST(begin_date AS VARCHAR), "
        "CAST(end_date AS VARCHAR) FROM enrollments ORDER BY ALL"
    )


def test_fields_clever_has_nothing_for_keep_what_the_sis_gave(
    puller: Engine, clever_district: TinyDistrict, token_file: Path, tmp_path: Path
) -> None:
    sis = with_what_clever_lacks(clever_district)
    applied_from_csv(puller, sis, tmp_path)
    before = lacked_fields(puller)
    hub = serve(sis)
    pulled = pull_clever(puller, hub, token_file)
    assert pulled.status == "planned" and pulled.total_changes() == 0, pulled.changes
    puller.apply_run(pulled.run_id, scan_duplicates=False)
    assert lacked_fields(puller) == before


def with_phones_and_grades_for_every_role(district: TinyDistrict) -> TinyDistrict:
    """The SIS's files with what Clever carries for some roles only: students' and teachers'
    phones, teachers' grades, and a parent's second number (Clever has one phone per contact)."""
    for row in district.rows("users.csv"):
        n = row["sourcedId"].rpartition("-")[2]
        if row["role"] in ("student", "teacher"):
            row.update(sms=f"555-07{n:0>2}", phone=f"555-08{n:0>2}")
        if row["role"] == "teacher":
            row["grades"] = "05"
        if row["role"] == "parent":
            row["sms"] = f"555-09{n:0>2}"
    return district


def phones_and_grades(engine: Engine) -> list[tuple]:
    return engine.db.rows(
        "SELECT sis_id, mobile_phone, home_phone, grades FROM users ORDER BY sis_id"
    )


def test_phones_and_grades_clever_has_for_other_roles_only_keep_what_the_sis_gave(
    puller: Engine, clever_district: TinyDistrict, token_file: Path, tmp_path: Path
) -> None:
    """Clever has no phone for students and staff, no grades for staff and one phone per
    contact: its rows say so (metadata.rosterSync.notCarried), so switching to Clever and back
    blanks nothing, night after night."""
    sis = with_phones_and_grades_for_every_role(clever_district)
    applied_from_csv(puller, sis, tmp_path)
    before = phones_and_grades(puller)
    assert ("tch-1", "555-0701", "555-0801", "05") in before
    assert ("gdn-1", "555-0901", "555-0201", None) in before
    hub = serve(sis)
    with hub:
        configure(puller, hub, token_file)
        pulled = puller.pull_source("clever")
        assert pulled.status == "planned" and pulled.total_changes() == 0, pulled.changes
        puller.apply_run(pulled.run_id, scan_duplicates=False)
        assert phones_and_grades(puller) == before
        again = puller.pull_source("clever")  # the nightly shortcut: the same rows again
        assert again.total_changes() == 0, again.changes
    back = puller.plan_source(str(sis.write(tmp_path / "back")))
    assert back.total_changes() == 0, back.changes


def test_a_person_first_synced_from_clever_has_no_phone_it_lacks(
    puller: Engine, hub: CleverHub, token_file: Path
) -> None:
    configure(puller, hub, token_file)
    pulled = puller.pull_source("clever")
    puller.apply_run(pulled.run_id, scan_duplicates=False)
    people = {sis_id: rest for sis_id, *rest in phones_and_grades(puller)}
    assert people["stu-1"] == [None, None, "05"]
    assert people["tch-1"] == [None, None, None]
    assert people["gdn-1"] == [None, "555-0201", None]


def test_a_classroom_first_synced_from_clever_follows_clevers_course(
    puller: Engine, clever_district: TinyDistrict, token_file: Path
) -> None:
    data = clever_api(clever_district)
    hub = CleverHub(data).start()
    with hub:
        configure(puller, hub, token_file)
        first = puller.pull_source("clever")
        puller.apply_run(first.run_id, scan_duplicates=False)
        data["courses"].append(
            {"id": oid("crs-2"), "district": oid("dist-1"), "name": "Science", "number": "SCI5"}
        )
        next(s for s in data["sections"] if s["sis_id"] == "cls-a2")["course"] = oid("crs-2")
        run = puller.pull_source("clever")
    [change] = puller.change_page(run.run_id, kind="classrooms").items
    assert change.sis_id == "cls-a2"
    assert [(f.field, f.old, f.new) for f in change.fields] == [
        ("course_sis_id", oid("crs-1"), oid("crs-2"))
    ]


def test_every_school_a_student_belongs_to_is_kept(
    puller: Engine, clever_district: TinyDistrict, token_file: Path
) -> None:
    clever_district.row("users.csv", "stu-3")["orgSourcedIds"] = "sch-a,sch-b"
    hub = serve(clever_district)
    run = pull_clever(puller, hub, token_file)
    assert run.status == "planned", run.error
    puller.apply_run(run.run_id, scan_duplicates=False)
    [(orgs,)] = puller.db.rows("SELECT org_sis_ids FROM users WHERE sis_id = 'stu-3'")
    assert orgs == "sch-a,sch-b"


def test_contacts_without_a_sis_id_keep_one_id_from_night_to_night(
    puller: Engine, clever_district: TinyDistrict, token_file: Path
) -> None:
    hub = serve(clever_district, contacts_without_sis_id=True)
    with hub:
        configure(puller, hub, token_file)
        first = puller.pull_source("clever")
        guardians = puller.change_page(first.run_id, kind="guardians").items
        assert len(guardians) == 10 and all(g.sis_id.startswith("contact-") for g in guardians)
        puller.apply_run(first.run_id, scan_duplicates=False)
        second = puller.pull_source("clever")
    assert second.status == "planned" and second.total_changes() == 0, second.changes


def test_emergency_contacts_are_relatives_which_guardian_roles_leaves_out(
    puller: Engine, clever_district: TinyDistrict, token_file: Path
) -> None:
    data = clever_api(clever_district)
    for user in data["users"]:
        contact = user["roles"].get("contact")
        if contact and contact["sis_id"] == "gdn-1":
            contact["student_relationships"][0].update(relationship="Aunt", type="Emergency")
    hub = CleverHub(data).start()
    run = pull_clever(puller, hub, token_file)
    guardians = {c.sis_id for c in puller.change_page(run.run_id, kind="guardians").items}
    assert "gdn-1" not in guardians and "gdn-2" in guardians


def test_a_wrong_token_fails_the_run_without_retrying(
    puller: Engine, hub: CleverHub, tmp_path: Path
) -> None:
    wrong = tmp_path / "wrong.token"
    wrong.write_text("nope")
    wrong.chmod(0o600)
    configure(puller, hub, wrong)
    run = puller.pull_source("clever")
    assert run.status == "failed" and "refused the credentials (HTTP 401)" in run.error
    assert hub.refused == 1


def test_a_dropped_page_is_read_again_and_a_lasting_500_fails_the_run(
    puller: Engine, hub: CleverHub, token_file: Path, no_wait
) -> None:  # type: ignore[no-untyped-def]
    hub.fault("/users", "drop", nth=2)
    configure(puller, hub, token_file, retries=2)
    assert puller.pull_source("clever").status == "planned"
    hub.fault("/sections", "status", status=500, times=5)
    run = puller.pull_source("clever")
    assert run.status == "failed" and run.error.startswith("sections: ")


def test_sources_test_counts_each_collection_and_users_by_role(
    puller: Engine, hub: CleverHub, token_file: Path
) -> None:
    configure(puller, hub, token_file)
    check = puller.test_source("clever")
    assert check.counts == {
        "schools": 2, "terms": 1, "courses": 1, "users (student)": 10, "users (teacher)": 2,
        "users (staff)": 0, "users (district_admin)": 0, "users (contact)": 10, "sections": 3,
    }  # fmt: skip
    assert puller.list_runs() == []


def test_each_line_of_a_clever_pull_traces_to_its_record(
    puller: Engine, hub: CleverHub, token_file: Path
) -> None:
    from daemon.sources.drop_writer import trace_record

    configure(puller, hub, token_file)
    run = puller.pull_source("clever")
    traced = trace_record(Path(run.source), "users.csv", 2)
    assert traced["page"] == "users-student-00001.json.gz"
    assert traced["record"]["data"]["roles"]["student"]["sis_id"] == "stu-1"


def test_a_token_that_sees_two_districts_fails_the_pull_naming_both_and_what_to_set(
    puller: Engine, clever_district: TinyDistrict, token_file: Path
) -> None:
    data = clever_api(clever_district)
    first = data["districts"][0]
    data["districts"].append({"id": "5f0d0000000000000000oak", "name": "Oakdale Unified"})
    run = pull_clever(puller, CleverHub(data).start(), token_file)
    assert run.status == "failed"
    assert run.error.startswith(
        f"districts: the token sees 2 districts ({first['name']} ({first['id']}), Oakdale "
        "Unified (5f0d0000000000000000oak)), and a source pulls one; set client_secret_file to "
        "a token of that district alone"
    ), run.error


def test_a_teacher_clever_also_lists_as_staff_is_one_user_whose_classes_still_sync(
    puller: Engine, clever_district: TinyDistrict, token_file: Path, tmp_path: Path
) -> None:
    # Clever gives one user several roles; as two users.csv rows of one SIS id, the second would
    # be a duplicate in error, and the teacher's memberships would wait on it every night
    applied_from_csv(puller, clever_district, tmp_path)
    data = clever_api(clever_district)
    teacher = next(u for u in data["users"] if "teacher" in u["roles"])
    teaches = teacher["roles"]["teacher"]
    teacher["roles"]["staff"] = {"sis_id": teaches["sis_id"], "schools": teaches["schools"]}
    data["sections"][0]["teachers"] = []  # tch-1 no longer teaches the first section
    run = pull_clever(puller, CleverHub(data), token_file)
    assert run.status == "planned", run.error
    assert run.rows.error == 0, puller.results_page(run.run_id, status="ERROR").items
    [archived] = puller.change_page(run.run_id, kind="enrollments", op="archive").items
    assert archived.label.startswith(f"{teaches['sis_id']} in ")
    assert [n["message"] for n in run.notes if "Clever under one SIS id" in n["message"]] == [
        f"users: {teaches['sis_id']} is both teacher and staff in Clever under one SIS id, and is "
        "written once, as teacher (a OneRoster user has one role)"
    ]
