"""One odd OneRoster REST record is that record's problem, never an internal error.

A value in another shape than the binding documents is read when the shape still says what it
is (one role object for a list of them); one that cannot be read is an error on that record's
row, which keeps the record as the directory has it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from daemon.service.engine import Engine
from tests.district import TinyDistrict
from tests.hubs.district import oneroster_rest, oneroster_rest_12
from tests.hubs.oneroster import OneRosterHub
from tests.sources.test_oneroster_rest import applied_from_csv, pull_rest

Data = dict[str, list[dict[str, Any]]]


def _user(data: Data, sourced_id: str) -> dict[str, Any]:
    return next(u for u in data["users"] if u["sourcedId"] == sourced_id)


def _pull_12_after_baseline(
    puller: Engine, district: TinyDistrict, secret_file: Path, change: Callable[[Data], None]
):  # type: ignore[no-untyped-def]
    first = pull_rest(
        puller, OneRosterHub(oneroster_rest_12(district), version="v1p2"), secret_file
    )
    puller.apply_run(first.run_id, scan_duplicates=False)
    data = oneroster_rest_12(district)
    change(data)
    return pull_rest(puller, OneRosterHub(data, version="v1p2"), secret_file)


def test_one_role_object_where_12_lists_roles_is_read_as_that_role(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    def change(data: Data) -> None:
        user = _user(data, "stu-4")
        user["roles"] = user["roles"][0]

    run = _pull_12_after_baseline(puller, district, secret_file, change)
    assert run.status == "planned", run.error
    assert run.rows.error == 0 and run.total_changes() == 0, run.changes


@pytest.mark.parametrize("roles", [5, True, "student", [{"role": "student"}, "student"]])
def test_roles_that_cannot_be_read_are_an_error_on_that_user_only(
    puller: Engine, district: TinyDistrict, secret_file: Path, roles: Any
) -> None:
    def change(data: Data) -> None:
        _user(data, "stu-4")["roles"] = roles

    run = _pull_12_after_baseline(puller, district, secret_file, change)
    assert run.status == "planned", run.error
    assert run.rows.error == 1
    assert run.total_changes() == 0, run.changes


@pytest.mark.parametrize(
    ("field", "value", "found"),
    [
        ("email", {"address": "cleo@students.example.org"}, "an object without a sourcedId"),
        ("identifier", [["S3"]], "a list inside a list"),
        ("orgs", [{"href": "https://sis.example.org/orgs/sch-a"}], "an object without a sourcedId"),
    ],
)
def test_a_value_that_cannot_be_read_is_an_error_on_its_row_and_the_stored_one_kept(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path, field: str,
    value: Any, found: str,
) -> None:  # fmt: skip
    applied_from_csv(puller, district, tmp_path)
    data = oneroster_rest(district)
    _user(data, "stu-3")[field] = value
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    assert run.status == "planned", run.error
    assert run.total_changes() == 0, run.changes
    said = f": stu-3: {field} is {found}; the row is an error, so the record is kept"
    assert [m for m in _errors(puller, run.run_id) if said in m] != []  # (orgs: and required)


def _errors(puller: Engine, run_id: int) -> list[str]:
    return [r.message or "" for r in puller.results_page(run_id, status="ERROR").items]


def test_one_user_id_object_where_the_binding_lists_them_is_read_as_that_one(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path
) -> None:
    row = next(r for r in district.files["users.csv"] if r["sourcedId"] == "stu-3")
    row["userIds"] = "{LDAP:cleo.nguyen}"
    applied_from_csv(puller, district, tmp_path)
    data = oneroster_rest(district)
    _user(data, "stu-3")["userIds"] = {"type": "LDAP", "identifier": "cleo.nguyen"}
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    assert run.status == "planned", run.error
    assert run.total_changes() == 0, run.changes


def _baseline_with_ldap_id(puller: Engine, district: TinyDistrict, tmp_path: Path) -> Data:
    """The district applied with stu-3's userIds {LDAP:cleo.nguyen}; its REST data."""
    row = next(r for r in district.files["users.csv"] if r["sourcedId"] == "stu-3")
    row["userIds"] = "{LDAP:cleo.nguyen}"
    applied_from_csv(puller, district, tmp_path)
    return oneroster_rest(district)


@pytest.mark.parametrize(
    "broken",
    [{"type": "SIS", "identifier": None}, {"type": "SIS"}, {"type": "SIS", "identifier": ""}],
)
def test_a_user_id_without_an_identifier_is_left_out_and_the_log_names_record_and_field(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path,
    caplog: pytest.LogCaptureFixture, broken: dict[str, Any],
) -> None:  # fmt: skip
    data = _baseline_with_ldap_id(puller, district, tmp_path)
    _user(data, "stu-3")["userIds"] = [{"type": "LDAP", "identifier": "cleo.nguyen"}, broken]
    with caplog.at_level(logging.WARNING):
        run = pull_rest(puller, OneRosterHub(data), secret_file)
    assert run.status == "planned", run.error
    assert run.total_changes() == 0, run.changes  # not {LDAP:cleo.nguyen},{SIS:}
    assert "users: stu-3: userIds entry 1 has no identifier" in caplog.text


def test_a_lone_surrogate_in_a_value_refuses_the_pull_naming_record_and_column(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    data = oneroster_rest(district)
    _user(data, "stu-3")["givenName"] = "Cleo\ud800"  # valid JSON (\\ud800), not text
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    assert run.status == "failed"
    assert "users.csv: stu-3: givenName holds U+D800" in run.error, run.error
    assert "\ud800" not in run.error


def test_a_status_that_cannot_be_read_is_an_error_on_its_row_and_the_record_kept(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path
) -> None:
    applied_from_csv(puller, district, tmp_path)
    data = oneroster_rest(district)
    data["users"][2]["status"] = {"value": "tobedeleted"}
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    assert run.status == "planned", run.error
    assert run.total_changes() == 0, run.changes
    [message] = _errors(puller, run.run_id)
    assert f": {data['users'][2]['sourcedId']}: status is an object " in message


def test_a_sourced_id_that_cannot_be_read_refuses_the_pull_naming_that_record(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    data = oneroster_rest(district)
    data["users"][5]["sourcedId"] = {"value": "stu-x"}
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    assert run.status == "failed"
    assert run.error.startswith(
        "users: (a record whose sourcedId cannot be read): sourcedId is "
    ), run.error


def _without(data: dict[str, list[dict[str, Any]]], collection: str, name: str) -> None:
    for record in data[collection]:
        record.pop(name, None)


def test_a_field_the_server_never_sends_keeps_what_the_directory_holds(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path
) -> None:
    district.row("users.csv", "stu-1")["middleName"] = "Quinn"
    applied_from_csv(puller, district, tmp_path)
    data = oneroster_rest(district)
    _without(data, "users", "middleName")  # a server that does not serve it at all
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    assert run.status == "planned", run.error
    assert run.total_changes() == 0, run.changes
    assert "users.middleName" in (Path(run.source) / "manifest.csv").read_text()


def test_a_field_one_record_leaves_out_is_empty_on_that_record(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path
) -> None:
    district.row("users.csv", "stu-1")["middleName"] = "Quinn"
    applied_from_csv(puller, district, tmp_path)
    data = oneroster_rest(district)
    next(u for u in data["users"] if u["sourcedId"] == "stu-1").pop("middleName")
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    assert run.status == "planned", run.error
    [change] = puller.change_page(run.run_id, kind="students").items
    assert change.sis_id == "stu-1" and [(f.field, f.new) for f in change.fields] == [
        ("middle_name", None)
    ]


@pytest.mark.parametrize("value", [{"$date": "2026-11-01T06:00:00Z"}, 1793512800, "01/11/2026"])
def test_a_date_last_modified_in_another_form_is_a_warning_and_the_record_synced(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path, value: Any
) -> None:
    """dateLastModified is bookkeeping, never synced: whatever form it comes in, the row's
    other values are used."""
    applied_from_csv(puller, district, tmp_path)
    data = oneroster_rest(district)
    _user(data, "stu-3").update(dateLastModified=value, givenName="Cleopatra")
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    assert run.status == "planned", run.error
    assert _errors(puller, run.run_id) == []
    [change] = puller.change_page(run.run_id, kind="students").items
    assert (change.sis_id, [(f.field, f.new) for f in change.fields]) == (
        "stu-3", [("given_name", "Cleopatra")]
    )  # fmt: skip
    [(sourced_id, warning)] = [
        (r.sourced_id, r.message or "")
        for r in puller.results_page(run.run_id, status="WARNING").items
    ]
    assert sourced_id == "stu-3" and "dateLastModified" in warning
