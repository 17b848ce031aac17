"""Clever contacts without a SIS id: one id per person, kept from night to night and through the
change of rule that made it so.

Two parents of one family often share one e-mail address, and Clever lists them as two contacts
(Clever merges users by e-mail among staff only). The id Roster Sync derives for a contact
without a SIS id was once built from the e-mail alone, so the second parent's row repeated the
first's sourcedId: an ERROR every night from the API, a parent silently folded into the other
from Clever's CSV, and that parent never synced. The id now comes from the e-mail and the name;
a guardian the directory holds under the old id keeps it (docs/sources.md), so the night of the
change archives and re-creates nobody.
"""

from __future__ import annotations

import copy
import hashlib
from pathlib import Path
from typing import Any

import pytest

from daemon.models import Run
from daemon.service.engine import Engine
from tests.district import TinyDistrict
from tests.hubs.clever import CleverHub
from tests.hubs.district import clever_api, clever_csv, write_files
from tests.sources import test_clever_api

SHARED = "parent1@example.net"  # the e-mail both of stu-1's parents give


@pytest.fixture
def family(clever_district: TinyDistrict) -> TinyDistrict:
    """stu-1 has two parents who give one e-mail: Parent1 Lopez (gdn-1) and Marta Lopez."""
    first = clever_district.row("users.csv", "gdn-1")
    clever_district.rows("users.csv").append(
        {**first, "sourcedId": "gdn-11", "givenName": "Marta", "phone": "555-0211",
         "username": SHARED}
    )  # fmt: skip
    clever_district.row("users.csv", "stu-1")["agentSourcedIds"] = "gdn-1,gdn-11"
    return clever_district


def old_rule_id(email: str) -> str:
    """The id the mapping gave a contact with an e-mail and no SIS id until this change."""
    return "contact-" + hashlib.sha256(f"email:{email.lower()}".encode()).hexdigest()[:16]


def synced_under_old_ids(district: TinyDistrict, *left_out: str) -> TinyDistrict:
    """The district as an earlier Clever sync left it: each guardian under the old rule's id
    (the people `left_out`, their rows repeating another's id, were never synced)."""
    old = district.copy()
    for sis_id in left_out:
        old.remove("users.csv", sourcedId=sis_id)
    ids = {u["sourcedId"]: old_rule_id(u["email"]) for u in old.rows("users.csv")
           if u["role"] == "parent"}  # fmt: skip
    for row in old.rows("users.csv"):
        row["sourcedId"] = ids.get(row["sourcedId"], row["sourcedId"])
        agents = [a for a in row["agentSourcedIds"].split(",") if a and a not in left_out]
        row["agentSourcedIds"] = ",".join(ids.get(a, a) for a in agents)
    return old


def applied(engine: Engine, district: TinyDistrict, folder: Path) -> None:
    run = engine.plan_source(str(district.write(folder)))
    engine.apply_run(run.run_id, scan_duplicates=False)


def pull(engine: Engine, district: TinyDistrict, token_file: Path) -> Run:
    hub = CleverHub(clever_api(district, contacts_without_sis_id=True)).start()
    run = test_clever_api.pull_clever(engine, hub, token_file)
    assert run.status == "planned", run.error
    return run


def clever_csv_drop(engine: Engine, district: TinyDistrict, folder: Path) -> Run:
    files = clever_csv(district)
    for row in files["students.csv"]:
        row["Contact_sis_id"] = ""
    run = engine.plan_source(str(write_files(files, folder)))
    assert run.status == "planned", run.error
    return run


def guardians_of(engine: Engine, student: str) -> list[tuple[str, str]]:
    return engine.db.rows(
        """SELECT g.given_name, g.email FROM guardian_links l
           JOIN users g ON g.user_id = l.guardian_id JOIN users s ON s.user_id = l.student_id
           WHERE s.sis_id = ? AND l.status = 'active' ORDER BY g.given_name""",
        [student],
    )


def errors(engine: Engine, run: Run) -> list[str]:
    return [i.message for i in engine.results_page(run.run_id, status="ERROR").items]


# ------------------------------------------------------------------ two parents, one e-mail
def test_two_parents_sharing_an_email_are_two_guardians_from_the_api(
    puller: Engine, family: TinyDistrict, token_file: Path
) -> None:
    run = pull(puller, family, token_file)
    assert errors(puller, run) == []
    puller.apply_run(run.run_id, scan_duplicates=False)
    assert guardians_of(puller, "stu-1") == [("Marta", SHARED), ("Parent1", SHARED)]


def test_two_parents_sharing_an_email_are_two_guardians_from_clever_csv(
    puller: Engine, family: TinyDistrict, tmp_path: Path
) -> None:
    run = clever_csv_drop(puller, family, tmp_path / "clever")
    assert errors(puller, run) == []
    puller.apply_run(run.run_id, scan_duplicates=False)
    assert guardians_of(puller, "stu-1") == [("Marta", SHARED), ("Parent1", SHARED)]


def test_a_parent_named_for_two_children_in_clever_csv_is_still_one_guardian(
    puller: Engine, clever_district: TinyDistrict, tmp_path: Path
) -> None:
    clever_district.row("users.csv", "gdn-1")["agentSourcedIds"] = "stu-1,stu-2"
    clever_district.row("users.csv", "stu-2")["agentSourcedIds"] = "gdn-1,gdn-2"
    run = clever_csv_drop(puller, clever_district, tmp_path / "clever")
    puller.apply_run(run.run_id, scan_duplicates=False)
    assert guardians_of(puller, "stu-2") == [
        ("Parent1", SHARED),
        ("Parent2", "parent2@example.net"),
    ]
    assert run.changes["guardians"]["create"] == 10


# ------------------------------------------------------------------ the night of the change
def test_guardians_synced_under_the_old_ids_plan_no_change_from_the_api(
    puller: Engine, clever_district: TinyDistrict, token_file: Path, tmp_path: Path
) -> None:
    applied(puller, synced_under_old_ids(clever_district), tmp_path / "old")
    run = pull(puller, clever_district, token_file)
    assert run.total_changes() == 0, run.changes


def test_guardians_synced_under_the_old_ids_plan_no_change_from_clever_csv(
    puller: Engine, clever_district: TinyDistrict, tmp_path: Path
) -> None:
    applied(puller, synced_under_old_ids(clever_district), tmp_path / "old")
    run = clever_csv_drop(puller, clever_district, tmp_path / "clever")
    assert run.total_changes() == 0, run.changes


def test_a_guardian_keeps_the_old_id_night_after_night(
    puller: Engine, clever_district: TinyDistrict, token_file: Path, tmp_path: Path
) -> None:
    applied(puller, synced_under_old_ids(clever_district), tmp_path / "old")
    puller.apply_run(pull(puller, clever_district, token_file).run_id, scan_duplicates=False)
    again = pull(puller, clever_district, token_file)
    assert again.total_changes() == 0, again.changes
    [(sis_id,)] = puller.db.rows("SELECT sis_id FROM users WHERE given_name = 'Parent1'")
    assert sis_id == old_rule_id(SHARED)


def test_the_parent_left_out_under_the_old_ids_is_created_and_the_other_kept(
    puller: Engine, family: TinyDistrict, token_file: Path, tmp_path: Path
) -> None:
    applied(puller, synced_under_old_ids(family, "gdn-11"), tmp_path / "old")
    run = pull(puller, family, token_file)
    assert (run.changes["guardians"], run.changes["guardian_links"]) == (
        {"create": 1, "update": 0, "archive": 0, "unarchive": 0},
        {"create": 1, "update": 0, "archive": 0, "unarchive": 0},
    )
    [created] = puller.change_page(run.run_id, kind="guardians").items
    assert created.label is not None and "Marta" in created.label


def test_a_parent_who_leaves_does_not_hand_their_record_to_the_other(
    puller: Engine, family: TinyDistrict, token_file: Path, tmp_path: Path
) -> None:
    applied(puller, synced_under_old_ids(family, "gdn-11"), tmp_path / "old")
    puller.apply_run(pull(puller, family, token_file).run_id, scan_duplicates=False)
    family.remove("users.csv", sourcedId="gdn-1")
    family.row("users.csv", "stu-1")["agentSourcedIds"] = "gdn-11"
    run = pull(puller, family, token_file)
    [archived] = puller.change_page(run.run_id, kind="guardians").items
    assert (archived.op, archived.sis_id) == ("archive", old_rule_id(SHARED))


def test_a_change_to_a_guardian_kept_under_the_old_id_traces_to_its_row(
    puller: Engine, clever_district: TinyDistrict, token_file: Path, tmp_path: Path
) -> None:
    applied(puller, synced_under_old_ids(clever_district), tmp_path / "old")
    clever_district.row("users.csv", "gdn-3")["phone"] = "555-0999"
    run = pull(puller, clever_district, token_file)
    [change] = puller.change_page(run.run_id, kind="guardians").items
    assert (change.op, change.sis_id) == ("update", old_rule_id("parent3@example.net"))
    assert [(f.field, f.old, f.new) for f in change.fields] == [
        ("home_phone", "555-0203", "555-0999")
    ]
    from daemon.sources.drop_writer import trace_record

    traced = trace_record(Path(run.source), "users.csv", change.source_line)
    assert traced["record"]["data"]["email"] == "parent3@example.net"


def test_a_contact_row_in_error_keeps_the_guardian_under_the_old_id(
    puller: Engine, clever_district: TinyDistrict, token_file: Path, tmp_path: Path
) -> None:
    applied(puller, synced_under_old_ids(clever_district), tmp_path / "old")
    data = clever_api(clever_district, contacts_without_sis_id=True)
    contact = next(u for u in data["users"] if u["email"] == "parent3@example.net")
    contact["name"] = "Parent3 Nguyen"  # not an object: the row has no name, an ERROR
    run = test_clever_api.pull_clever(puller, CleverHub(data).start(), token_file)
    assert run.status == "planned", run.error
    assert len({e.split(":")[0] for e in errors(puller, run)}) == 1  # that contact's row
    assert run.total_changes() == 0, run.changes


# ------------------------------------------------------------------ a contact known by name only
def name_only(district: TinyDistrict, guardian: str, *students: str) -> TinyDistrict:
    """`guardian` gives neither e-mail nor phone, and is the contact of each of `students`."""
    district.row("users.csv", guardian).update(
        email="", phone="", sms="", username="", agentSourcedIds=",".join(students)
    )
    for student in students:
        row = district.row("users.csv", student)
        agents = [a for a in row["agentSourcedIds"].split(",") if a]
        row["agentSourcedIds"] = ",".join(dict.fromkeys([*agents, guardian]))
    return district


def guardian_ids(engine: Engine) -> set[str]:
    return {sis_id for (sis_id,) in engine.db.rows(
        "SELECT sis_id FROM users WHERE kind = 'guardian' AND status = 'active'"
    )}  # fmt: skip


def parent1_links(engine: Engine) -> tuple[list[str], int]:
    """The students linked (active) to guardians named Parent1, and how many such guardians."""
    links = engine.db.rows(
        """SELECT g.sis_id, s.sis_id FROM guardian_links l
           JOIN users g ON g.user_id = l.guardian_id JOIN users s ON s.user_id = l.student_id
           WHERE g.given_name = 'Parent1' AND l.status = 'active'"""
    )
    return sorted(student for _, student in links), len({guardian for guardian, _ in links})


def test_a_name_only_contact_on_two_students_rows_in_clever_csv_is_a_guardian_per_student(
    puller: Engine, clever_district: TinyDistrict, tmp_path: Path
) -> None:
    """Two rows of one name may be two people of one name in two families: neither child is
    linked to the other's row (a duplicate guardian, not a parent of another family's child)."""
    name_only(clever_district, "gdn-1", "stu-1", "stu-2")
    run = clever_csv_drop(puller, clever_district, tmp_path / "clever")
    puller.apply_run(run.run_id, scan_duplicates=False)
    assert parent1_links(puller) == (["stu-1", "stu-2"], 2)


@pytest.mark.parametrize("way", ["api", "csv"])
def test_two_name_only_contacts_of_one_name_in_two_families_are_two_guardians(
    puller: Engine, clever_district: TinyDistrict, token_file: Path, tmp_path: Path, way: str
) -> None:
    name_only(clever_district, "gdn-1", "stu-1")
    name_only(clever_district, "gdn-2", "stu-2")
    clever_district.row("users.csv", "gdn-2").update(givenName="Parent1", familyName="Lopez")
    clever_district.row("users.csv", "gdn-1").update(familyName="Lopez")
    if way == "api":
        run = pull(puller, clever_district, token_file)
    else:
        run = clever_csv_drop(puller, clever_district, tmp_path / "clever")
    puller.apply_run(run.run_id, scan_duplicates=False)
    assert parent1_links(puller) == (["stu-1", "stu-2"], 2)


def test_a_name_only_contact_switched_from_clever_csv_to_the_api_keeps_every_child_linked(
    puller: Engine, clever_district: TinyDistrict, token_file: Path, tmp_path: Path
) -> None:
    """The API lists the contact once: the copy made for the second row is archived, and the
    contact the first row made is linked to both children."""
    name_only(clever_district, "gdn-1", "stu-1", "stu-2")
    applied_run = clever_csv_drop(puller, clever_district, tmp_path / "clever")
    puller.apply_run(applied_run.run_id, scan_duplicates=False)
    run = pull(puller, clever_district, token_file)
    assert run.changes["guardians"] == {"create": 0, "update": 0, "archive": 1, "unarchive": 0}
    puller.apply_run(run.run_id, scan_duplicates=False)
    assert parent1_links(puller) == (["stu-1", "stu-2"], 1)


def test_a_name_only_contact_switched_from_the_api_to_clever_csv_keeps_every_child_linked(
    puller: Engine, clever_district: TinyDistrict, token_file: Path, tmp_path: Path
) -> None:
    name_only(clever_district, "gdn-1", "stu-1", "stu-2")
    puller.apply_run(pull(puller, clever_district, token_file).run_id, scan_duplicates=False)
    run = clever_csv_drop(puller, clever_district, tmp_path / "clever")
    assert run.changes["guardians"] == {"create": 1, "update": 0, "archive": 0, "unarchive": 0}
    puller.apply_run(run.run_id, scan_duplicates=False)
    assert parent1_links(puller)[0] == ["stu-1", "stu-2"]


def test_a_name_only_contact_keeps_its_id_when_a_younger_sibling_joins_and_the_elder_leaves(
    puller: Engine, clever_district: TinyDistrict, token_file: Path
) -> None:
    """From the API, whose contact lists all its students (its id moves with the lowest)."""

    def plan(night: str) -> Run:
        return pull(puller, clever_district, token_file)

    name_only(clever_district, "gdn-2", "stu-2")
    puller.apply_run(plan("one").run_id, scan_duplicates=False)
    before = guardian_ids(puller)
    name_only(clever_district, "gdn-2", "stu-1", "stu-2")  # stu-1: the lower id
    joined = plan("two")
    assert joined.changes["guardians"] == {"create": 0, "update": 0, "archive": 0, "unarchive": 0}
    puller.apply_run(joined.run_id, scan_duplicates=False)
    clever_district.row("users.csv", "stu-2")["agentSourcedIds"] = ""  # its id was made from
    name_only(clever_district, "gdn-2", "stu-1")
    left = plan("three")
    assert left.changes["guardians"]["create"] == 0, left.changes
    puller.apply_run(left.run_id, scan_duplicates=False)
    assert guardian_ids(puller) <= before


# ------------------------------------------------------------------ one e-mail, one username
def guardian_pairs(engine: Engine) -> list[tuple[str | None, str | None, float]]:
    engine.duplicates_scan(full=True)
    page = engine.duplicates_list(kind="guardian", limit=100)
    return [(c.left.given_name, c.right.given_name, c.score) for c in page.items]


def test_two_parents_sharing_an_email_and_so_a_username_are_kept_and_not_proposed_as_one(
    puller: Engine, family: TinyDistrict, token_file: Path
) -> None:
    """Nothing requires a username to be unique, and the scan's guard keeps two guardians whose
    given names differ apart although they share e-mail, username and child."""
    run = pull(puller, family, token_file)
    puller.apply_run(run.run_id, scan_duplicates=False)
    assert puller.db.rows(
        "SELECT count(*) FROM users WHERE kind = 'guardian' AND username = ? AND status = 'active'",
        [SHARED],
    ) == [(2,)]
    assert guardian_pairs(puller) == []


# ------------------------------------------------------------------ one person, two Clever contacts
def parent_of_two(district: TinyDistrict) -> TinyDistrict:
    """gdn-1 (Parent1, no SIS id) is the contact of stu-1 and of stu-2."""
    district.row("users.csv", "gdn-1")["agentSourcedIds"] = "stu-1,stu-2"
    district.row("users.csv", "stu-2")["agentSourcedIds"] = "gdn-1,gdn-2"
    return district


def listed_once_per_child(district: TinyDistrict) -> dict[str, Any]:
    """Clever's records of `parent_of_two`, with Parent1 as two contacts of one name and e-mail
    (Clever lists a contact per record it was entered as): one of stu-1, one of stu-2."""
    data = clever_api(district, contacts_without_sis_id=True)
    first = next(u for u in data["users"] if u["email"] == SHARED)
    second = copy.deepcopy(first)
    second["id"] = first["id"] + "b"
    relationships = first["roles"]["contact"]["student_relationships"]
    first["roles"]["contact"]["student_relationships"] = relationships[:1]
    second["roles"]["contact"]["student_relationships"] = relationships[1:]
    data["users"].append(second)
    return data


def pull_listed_once_per_child(engine: Engine, district: TinyDistrict, token_file: Path) -> Run:
    hub = CleverHub(listed_once_per_child(district))
    run = test_clever_api.pull_clever(engine, hub, token_file)
    assert run.status == "planned", run.error
    return run


def test_two_api_contacts_of_one_name_and_email_are_one_guardian_of_both_children(
    puller: Engine, clever_district: TinyDistrict, token_file: Path
) -> None:
    run = pull_listed_once_per_child(puller, parent_of_two(clever_district), token_file)
    assert errors(puller, run) == []
    puller.apply_run(run.run_id, scan_duplicates=False)
    assert parent1_links(puller) == (["stu-1", "stu-2"], 1)


def test_a_guardian_folded_from_two_api_contacts_traces_to_the_first(
    puller: Engine, clever_district: TinyDistrict, token_file: Path
) -> None:
    from daemon.sources.drop_writer import trace_record

    data = listed_once_per_child(parent_of_two(clever_district))
    first = next(u for u in data["users"] if u["email"] == SHARED)
    run = test_clever_api.pull_clever(puller, CleverHub(data), token_file)
    users = (Path(run.source) / "users.csv").read_text().splitlines()
    [line] = [n for n, text in enumerate(users, 1) if SHARED in text and "Parent1" in text]
    assert trace_record(Path(run.source), "users.csv", line)["record"]["data"]["id"] == first["id"]


def test_two_api_contacts_with_one_sis_id_are_still_a_repeated_row_in_error(
    puller: Engine, clever_district: TinyDistrict, token_file: Path
) -> None:
    """A SIS id names one record: two Clever contacts under it are not folded."""
    data = listed_once_per_child(parent_of_two(clever_district))
    for user in data["users"]:
        if user["email"] == SHARED:
            user["roles"]["contact"]["sis_id"] = "gdn-1"
    run = test_clever_api.pull_clever(puller, CleverHub(data), token_file)
    assert run.status == "planned", run.error
    assert [e for e in errors(puller, run) if "gdn-1" in e], errors(puller, run)


def test_switching_from_clever_csv_to_the_api_plans_no_change_for_a_contact_listed_twice(
    puller: Engine, clever_district: TinyDistrict, token_file: Path, tmp_path: Path
) -> None:
    parent_of_two(clever_district)
    applied_run = clever_csv_drop(puller, clever_district, tmp_path / "clever")
    puller.apply_run(applied_run.run_id, scan_duplicates=False)
    run = pull_listed_once_per_child(puller, clever_district, token_file)
    assert run.total_changes() == 0, run.changes


def test_switching_from_the_api_to_clever_csv_plans_no_change_for_a_contact_listed_twice(
    puller: Engine, clever_district: TinyDistrict, token_file: Path, tmp_path: Path
) -> None:
    parent_of_two(clever_district)
    run = pull_listed_once_per_child(puller, clever_district, token_file)
    puller.apply_run(run.run_id, scan_duplicates=False)
    again = clever_csv_drop(puller, clever_district, tmp_path / "clever")
    assert again.total_changes() == 0, again.changes


def test_a_guardian_folded_from_two_api_contacts_is_said_in_the_runs_notes(
    puller: Engine, clever_district: TinyDistrict, token_file: Path
) -> None:
    run = pull_listed_once_per_child(puller, parent_of_two(clever_district), token_file)
    [note] = [n["message"] for n in run.notes if "Clever contacts of one name" in n["message"]]
    assert note.endswith(
        "is 2 Clever contacts of one name and e-mail (or phone) and no SIS id, written once with "
        "the students of each"
    ), note
