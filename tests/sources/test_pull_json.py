"""Hostile but readable JSON never changes a record, and never ends in a traceback.

Python's JSON reader is lenient where a pull must not be: it takes NaN and Infinity (no JSON
numbers), keeps the last of a key given twice (silently dropping the other value), turns a long
decimal into the nearest float (another value), and raises a bare ValueError for a whole number
of thousands of digits. A page is read so that each is either kept as sent or fails the pull in
one line naming the page.
"""

from __future__ import annotations

import csv
import json
from collections.abc import Callable
from pathlib import Path

import pytest

from daemon.service.engine import Engine
from tests.district import TinyDistrict
from tests.hubs.district import oneroster_rest
from tests.hubs.oneroster import OneRosterHub
from tests.sources.test_oneroster_rest import pull_rest

Body = Callable[[bytes], bytes]


class Rewritten(OneRosterHub):
    """The second page of users as `rewrite` makes its body (and Content-Type)."""

    def __init__(self, data, rewrite: Body, content_type: str = "", **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(data, **kwargs)
        self.rewrite, self.content_type = rewrite, content_type

    def _page(self, name: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = super()._page(name, query)
        if name == "users" and query["offset"] == ["3"]:
            body = self.rewrite(body)
            if self.content_type:
                headers["Content-Type"] = self.content_type
        return status, headers, body


def pull_with(
    puller: Engine, district: TinyDistrict, secret_file: Path, rewrite: Body, content_type: str = ""
):  # type: ignore[no-untyped-def]
    hub = Rewritten(oneroster_rest(district), rewrite, content_type)
    return pull_rest(puller, hub, secret_file, page_size=4)


def first_user(change: Callable[[str], str]) -> Body:
    """The page's first user after its overlap, its JSON text changed by `change`."""

    def rewrite(body: bytes) -> bytes:
        page = json.loads(body)
        text = json.dumps(page["users"][1])
        return json.dumps(page).replace(text, change(text)).encode()

    return rewrite


def middle_name(value: str) -> Body:
    """The page's first new user with `value` (JSON text) for its middleName."""
    return first_user(lambda text: text.replace('"middleName": ""', f'"middleName": {value}'))


@pytest.mark.parametrize("constant", ["NaN", "Infinity", "-Infinity"])
def test_a_page_holding_nan_or_infinity_fails_the_pull_in_one_line(
    puller: Engine, district: TinyDistrict, secret_file: Path, constant: str
) -> None:
    run = pull_with(puller, district, secret_file, middle_name(constant))
    assert run.status == "failed"
    assert run.error.startswith("users: ") and f"a page holds {constant}, which is no JSON" in (
        run.error
    )


def test_a_whole_number_of_thousands_of_digits_fails_the_pull_in_one_line(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    run = pull_with(puller, district, secret_file, middle_name("9" * 5000))
    assert run.status == "failed"
    assert run.error.startswith("users: ") and "a whole number too long to read" in run.error
    assert "\n" not in run.error and "sys.set_int_max_str_digits" not in run.error


def test_a_record_giving_a_field_twice_with_different_values_fails_the_pull_naming_it(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    run = pull_with(
        puller, district, secret_file,
        first_user(lambda text: text.replace('"givenName": ', '"givenName": "Ann", "givenName": ')),
    )  # fmt: skip
    assert run.status == "failed"
    assert "gives 'givenName' twice with different values in one object (" in run.error, run.error


def test_a_record_giving_a_field_twice_with_the_same_value_is_read(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    run = pull_with(
        puller, district, secret_file,
        first_user(lambda text: text.replace('"role": "student"', '"role": "student", "role": "student"')),
    )  # fmt: skip
    assert run.status == "planned", run.error


def test_a_decimal_number_is_written_as_the_page_wrote_it(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    run = pull_with(puller, district, secret_file, middle_name("12345678901234567890.50"))
    assert run.status == "planned", run.error
    with open(Path(run.source) / "users.csv", encoding="utf-8", newline="") as handle:
        cells = [row["middleName"] for row in csv.DictReader(handle) if row["middleName"]]
    assert cells == ["12345678901234567890.50"]


def test_an_html_page_answered_with_200_fails_the_pull_naming_what_it_said_it_is(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    run = pull_with(
        puller, district, secret_file, lambda body: b"<html><body>Sign in</body></html>",
        "text/html; charset=utf-8",
    )  # fmt: skip
    assert run.status == "failed"
    assert run.error.startswith("users: ") and "a page is not valid JSON (" in run.error
    assert "; it says it is text/html)" in run.error, run.error


def test_json_said_to_be_html_is_read_as_the_json_it_is(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    run = pull_with(puller, district, secret_file, lambda body: body, "text/html")
    assert run.status == "planned", run.error


def _with_status_info(**info: object) -> Body:
    return lambda body: json.dumps({**json.loads(body), "statusInfoSet": [info]}).encode()


def test_a_page_reporting_a_failure_in_its_status_info_fails_the_pull_naming_page_and_why(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    report = _with_status_info(
        imsx_codeMajor="failure",
        imsx_severity="error",
        imsx_description="2 users could not be read",
        imsx_CodeMinor={
            "imsx_codeMinorField": [
                {
                    "imsx_codeMinorFieldName": "sourcedId",
                    "imsx_codeMinorFieldValue": "unknownobject",
                }
            ]
        },
    )
    run = pull_rest(puller, Rewritten(oneroster_rest(district), report), secret_file)
    assert run.status == "failed"
    assert run.error.startswith("users: "), run.error
    assert (
        "page 2 reports a failure (statusInfoSet codeMajor failure, unknownobject: 2 users could "
        "not be read)" in run.error
    ), run.error


def test_a_page_reporting_success_in_its_status_info_is_read(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    report = _with_status_info(
        imsx_codeMajor="success", imsx_severity="status", imsx_CodeMinor="fullsuccess"
    )
    run = pull_rest(puller, Rewritten(oneroster_rest(district), report), secret_file)
    assert run.status == "planned", run.error
