"""userIds that the CSV binding's `{type:identifier},...` cannot carry are never written as if it
could, whether a pull or a CSV drop brings them, and the run's row results say so.

The binding defines no escaping: a brace ends or starts an entry, a comma separates entries, a
colon ends the type. Written as it came, an LDAP identifier `cleo},{StateID:42` would read back as
a second identifier, a state id the person does not have, and the duplicate matcher would pair
them with whoever does.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from daemon.models import Run
from daemon.service.engine import Engine
from tests.district import TinyDistrict
from tests.hubs.oneroster import OneRosterHub
from tests.sources.test_oneroster_rest import applied_from_csv, pull_rest

Data = dict[str, list[dict[str, Any]]]
LDAP = {"type": "LDAP", "identifier": "cleo.nguyen"}


def _baseline(puller: Engine, district: TinyDistrict, tmp_path: Path) -> Data:
    """The district applied with stu-3's userIds {LDAP:cleo.nguyen}; its REST data."""
    from tests.hubs.district import oneroster_rest

    district.row("users.csv", "stu-3")["userIds"] = "{LDAP:cleo.nguyen}"
    applied_from_csv(puller, district, tmp_path)
    return oneroster_rest(district)


def _stu3(data: Data) -> dict[str, Any]:
    return next(u for u in data["users"] if u["sourcedId"] == "stu-3")


def _warnings(puller: Engine, run: Run) -> list[tuple[str, int | None, str | None, str]]:
    page = puller.results_page(run.run_id, status="WARNING", limit=1000)
    return [(r.file_name, r.line, r.sourced_id, r.message or "") for r in page.items]


def _stored_user_ids(puller: Engine, sis_id: str) -> str | None:
    return puller.db.one("SELECT user_ids FROM users WHERE sis_id = ?", [sis_id])


def test_an_identifier_that_would_read_back_as_a_second_one_is_left_out(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path
) -> None:
    data = _baseline(puller, district, tmp_path)
    _stu3(data)["userIds"] = [LDAP, {"type": "LDAP", "identifier": "cleo},{StateID:42"}]
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    assert run.status == "planned", run.error
    assert run.total_changes() == 0, run.changes  # not {LDAP:cleo.nguyen},{LDAP:cleo},{StateID:42}
    cell = (Path(run.source) / "users.csv").read_text()
    assert "StateID" not in cell


@pytest.mark.parametrize(
    ("entry", "held"),
    [
        ({"type": "LDAP", "identifier": "cleo}nguyen"}, "'}'"),
        ({"type": "LDAP", "identifier": "{cleo"}, "'{'"),
        ({"type": "LDAP", "identifier": "CN=Cleo,OU=Students"}, "','"),
        ({"type": "SIS:Local", "identifier": "S3"}, "':'"),
    ],
    ids=["closing-brace", "opening-brace", "comma", "colon-in-type"],
)
def test_an_entry_the_binding_cannot_carry_is_a_warning_on_its_row_naming_it(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path,
    entry: dict[str, str], held: str,
) -> None:  # fmt: skip
    data = _baseline(puller, district, tmp_path)
    _stu3(data)["userIds"] = [LDAP, entry]
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    assert run.status == "planned", run.error
    assert run.total_changes() == 0, run.changes  # the entry it can carry is kept as it was
    [(file_name, line, sourced_id, message)] = _warnings(puller, run)
    assert (file_name, sourced_id) == ("users.csv", "stu-3")
    assert message.startswith(f"users.csv line {line}: userIds entry 1 (type "), message
    assert f"holds {held}" in message and "it is left out" in message
    assert repr(entry["identifier"]) in message


def test_a_colon_in_an_identifier_is_kept_since_the_first_colon_ends_the_type(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path
) -> None:
    data = _baseline(puller, district, tmp_path)
    _stu3(data)["userIds"] = [LDAP, {"type": "LTI", "identifier": "urn:uuid:7f3c"}]
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    assert run.status == "planned", run.error
    assert _warnings(puller, run) == []
    [change] = puller.change_page(run.run_id, kind="students").items
    assert [(f.field, f.new) for f in change.fields] == [
        ("user_ids", "{LDAP:cleo.nguyen},{LTI:urn:uuid:7f3c}")
    ]


def test_an_entry_without_an_identifier_is_a_warning_on_its_row_too(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path
) -> None:
    data = _baseline(puller, district, tmp_path)
    _stu3(data)["userIds"] = [LDAP, {"type": "SIS", "identifier": None}]
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    [(_, line, sourced_id, message)] = _warnings(puller, run)
    assert sourced_id == "stu-3"
    assert message == (
        f"users.csv line {line}: userIds entry 1 has no identifier (OneRoster's UserId requires "
        "one): it is left out (the other entries are used)"
    )


def test_the_row_warning_is_said_again_when_the_pulled_folder_is_planned_again(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path
) -> None:
    data = _baseline(puller, district, tmp_path)
    _stu3(data)["userIds"] = [LDAP, {"type": "LDAP", "identifier": "a}b"}]
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    again = puller.plan_source(run.source)
    assert _warnings(puller, again) == _warnings(puller, run) != []


@pytest.mark.parametrize("cell", ["{LDAP:cleo}x}", "{LDAP:cleo},{SIS:}", "LDAP:cleo", "{SIS:a:b}x"])
def test_a_csv_cell_that_is_not_type_identifier_entries_is_a_warning_and_the_stored_value_kept(
    puller: Engine, district: TinyDistrict, tmp_path: Path, cell: str
) -> None:
    district.row("users.csv", "stu-3")["userIds"] = "{LDAP:cleo.nguyen}"
    applied_from_csv(puller, district, tmp_path)
    district.row("users.csv", "stu-3")["userIds"] = cell
    run = puller.plan_source(str(district.write(tmp_path / "night-2")))
    assert run.status == "planned", run.error
    assert run.total_changes() == 0, run.changes
    [(file_name, _, sourced_id, message)] = _warnings(puller, run)
    assert (file_name, sourced_id) == ("users.csv", "stu-3")
    assert f"userIds '{cell}' is not a list of {{type:identifier}} entries" in message
    assert message.endswith("ignored (a stored value is kept)")
    assert _stored_user_ids(puller, "stu-3") == "{LDAP:cleo.nguyen}"


@pytest.mark.parametrize("cell", ["{SIS:S3},{LTI:urn:uuid:1}", "{ StateID : 9001234 }, {LDAP:x}"])
def test_a_csv_cell_of_type_identifier_entries_is_used(
    puller: Engine, district: TinyDistrict, tmp_path: Path, cell: str
) -> None:
    district.row("users.csv", "stu-3")["userIds"] = cell
    run = puller.plan_source(str(district.write(tmp_path / "drops")))
    assert run.status == "planned", run.error
    assert _warnings(puller, run) == []
    puller.apply_run(run.run_id, scan_duplicates=False)
    assert _stored_user_ids(puller, "stu-3") == cell


def test_an_empty_list_written_as_brackets_is_taken_as_sent_without_a_warning(
    puller: Engine, district: TinyDistrict, tmp_path: Path
) -> None:
    district.row("users.csv", "stu-3")["userIds"] = "[]"  # as RosterHub's exports write none
    run = puller.plan_source(str(district.write(tmp_path / "drops")))
    assert _warnings(puller, run) == []


def _errors(puller: Engine, run: Run) -> list[tuple[str, int | None, str | None, str]]:
    page = puller.results_page(run.run_id, status="ERROR", limit=1000)
    return [(r.file_name, r.line, r.sourced_id, r.message or "") for r in page.items]


@pytest.mark.parametrize("kind", [None, ""])
def test_an_entry_with_an_identifier_but_no_type_is_an_error_on_its_row_naming_record_and_entry(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path, kind: Any
) -> None:
    data = _baseline(puller, district, tmp_path)
    _stu3(data)["userIds"] = [LDAP, {"type": kind, "identifier": "cleo.n"}]
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    assert run.status == "planned", run.error
    [(file_name, line, sourced_id, message)] = _errors(puller, run)
    assert (file_name, sourced_id) == ("users.csv", "stu-3")
    assert message.startswith(
        f"users.csv line {line}: stu-3: userIds is an entry with identifier 'cleo.n' but no type "
        "(entry 1)"
    ), message


def test_the_person_whose_user_ids_lack_a_type_is_kept_as_the_directory_has_them(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path
) -> None:
    data = _baseline(puller, district, tmp_path)
    _stu3(data).update(userIds=[{"identifier": "cleo.n"}], givenName="Cleopatra")
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    assert run.status == "planned", run.error
    assert run.total_changes() == 0, run.changes  # neither renamed nor blanked
    puller.apply_run(run.run_id, scan_duplicates=False)
    assert _stored_user_ids(puller, "stu-3") == "{LDAP:cleo.nguyen}"


def test_the_rest_of_the_pull_is_planned_beside_a_user_whose_user_ids_lack_a_type(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path
) -> None:
    data = _baseline(puller, district, tmp_path)
    _stu3(data)["userIds"] = [{"type": None, "identifier": "cleo.n"}]
    next(u for u in data["users"] if u["sourcedId"] == "stu-1")["givenName"] = "Alexandra"
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    assert run.status == "planned", run.error
    [change] = puller.change_page(run.run_id, kind="students").items
    assert (change.sis_id, [(f.field, f.new) for f in change.fields]) == (
        "stu-1", [("given_name", "Alexandra")]
    )  # fmt: skip


def test_the_row_error_is_said_again_when_the_pulled_folder_is_planned_again(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path
) -> None:
    data = _baseline(puller, district, tmp_path)
    _stu3(data)["userIds"] = [{"type": None, "identifier": "cleo.n"}]
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    again = puller.plan_source(run.source)
    assert _errors(puller, again) == _errors(puller, run) != []
