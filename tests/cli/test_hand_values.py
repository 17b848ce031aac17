"""Hand edits pass the feed's value rules (issue 13, item 11): one set of rules for both.

The feed warns about an e-mail that is not one and skips it; typed by hand it is refused, since
the person can correct it at once. A second school of the same name is refused too.
"""

from __future__ import annotations

import json

import pytest

from daemon.directory.values import HAND_FIELDS, clean_value
from daemon.ingest.value_rules import value_rule
from tests.cli.test_mistakes import one_line

BAD = {
    "email": ("not-an-email", "email 'not-an-email' does not look like an email address"),
    "mobile-phone": ("call me", "mobile phone 'call me' does not look like a phone number"),
    "home-phone": ("12", "home phone '12' does not look like a phone number"),
}


@pytest.mark.parametrize("option", BAD, ids=BAD)
def test_edit_contact_refuses_a_value_the_feed_would_flag(both, option):
    value, message = BAD[option]
    before = json.loads(both("users", "show", "gdn-3011", "--json").out)
    refused = both("users", "edit-contact", "gdn-3011", f"--{option}", value)
    assert refused.code == 1 and one_line(refused.err) == message
    assert json.loads(both("users", "show", "gdn-3011", "--json").out) == before


def test_edit_contact_refuses_a_language_that_is_no_language_code(both):
    both("settings", "set", "update_language", "false")
    refused = both("users", "edit-contact", "gdn-3011", "--language", "English please")
    assert one_line(refused.err) == (
        "language 'English please' is not a language code such as en or es"
    )
    assert both("users", "edit-contact", "gdn-3011", "--language", "es").code == 0


def test_edit_contact_stores_a_value_as_the_feed_would(both):
    saved = both("users", "edit-contact", "gdn-3011", "--email", "  hirut@example.net ")
    assert saved.code == 0, saved.err
    user = json.loads(both("users", "show", "gdn-3011", "--json").out)
    assert user["email"] == "hirut@example.net"


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--email", "nope"], "email 'nope' does not look like an email address"),
        (["--mobile-phone", "abc"], "mobile phone 'abc' does not look like a phone number"),
    ],
    ids=["email", "phone"],
)
def test_a_hand_made_person_gets_the_same_rules(both, extra, message):
    refused = both("users", "add", "staff", "Sam", "Lee", "--school", "sch-elm", *extra)
    assert refused.code == 1 and one_line(refused.err) == message
    found = json.loads(both("users", "find", "Sam Lee", "--json").out)
    assert found["total"] == 0


@pytest.mark.parametrize(
    "kind, role", [("staff", "student"), ("staff", "bogus"), ("guardian", "teacher")]
)
def test_a_hand_made_person_takes_only_a_role_of_its_kind(both, kind, role):
    school = ["--school", "sch-elm"] if kind == "staff" else []
    refused = both("users", "add", kind, "Sam", "Lee", *school, "--role", role)
    assert refused.code == 1
    assert one_line(refused.err).startswith(f"a {kind} cannot have the role '{role}': one of ")
    assert json.loads(both("users", "find", "Sam Lee", "--json").out)["total"] == 0


def test_a_hand_made_persons_role_is_stored_as_the_feed_stores_it(both):
    made = both("users", "add", "staff", "Sam", "Lee", "--school", "sch-elm", "--role", "Aide")
    assert made.code == 0, made.err
    [person] = json.loads(both("users", "find", "Sam Lee", "--json").out)["items"]
    assert person["role"] == "aide"


def test_a_name_may_not_be_blank(both):
    refused = both("users", "add", "guardian", "Ana", "  ")
    assert one_line(refused.err) == "family name may not be empty"
    refused = both("schools", "create", " ")
    assert one_line(refused.err) == "school name may not be empty"


def test_a_name_of_invisible_characters_only_is_refused_as_the_feed_refuses_it(both):
    refused = both("users", "add", "guardian", "Zuleika", "\u200b")
    assert (
        one_line(refused.err) == "family name may not be empty: it holds only invisible characters"
    )
    assert json.loads(both("users", "find", "Zuleika", "--json").out)["total"] == 0


def test_a_second_school_of_the_same_name_is_refused(both):
    assert both("schools", "create", "Maple Annex").code == 0
    refused = both("schools", "create", "maple annex ")
    assert refused.code == 1
    assert one_line(refused.err) == (
        "a school named 'Maple Annex' already exists (school 5, active); to match it to a feed "
        "school, give it that SIS id: roster-sync schools add-sis-id 5 SIS_ID"
    )
    schools = json.loads(both("schools", "list", "--json").out)
    assert [s["name"] for s in schools].count("Maple Annex") == 1


def test_a_sis_id_with_a_comma_is_refused_as_the_feed_refuses_it(both):
    refused = both("schools", "add-sis-id", "sch-elm", "sch-a,sch-b")
    assert one_line(refused.err) == "SIS id 'sch-a,sch-b' may not contain a comma"


def test_a_sis_id_holding_an_invisible_character_is_refused_as_the_feed_refuses_it(both):
    refused = both("schools", "add-sis-id", "sch-elm", "sch-elm\u061c")
    assert one_line(refused.err) == (
        "SIS id holds the invisible character U+061C at position 8; an id must be visible text"
    )


@pytest.mark.parametrize("field", sorted(HAND_FIELDS))
def test_each_hand_field_uses_the_feeds_rule_for_its_column(engine, field):
    """The rules are the ingest's own (value_rules.py), not a copy that could drift."""
    column, label = HAND_FIELDS[field]
    rule = value_rule(column, '"v"')
    if rule is None:  # free text: only the length, line breaks and emptiness are checked
        assert clean_value(engine.db, field, " x ") == "x"
        return
    refused = engine.db.one(
        f'SELECT count(*) FROM (SELECT ?::VARCHAR AS "v") WHERE {rule.where}', ["a,b c@@"]
    )
    if refused:
        with pytest.raises(ValueError, match=label):
            clean_value(engine.db, field, "a,b c@@")


@pytest.mark.parametrize("phone", ["(555) 010-1234 x12", "+44 20 7946 0958", "555-0101 ext. 12"])
def test_a_phone_number_the_feed_uses_is_taken_by_hand_too(engine, phone):
    assert clean_value(engine.db, "home_phone", phone) == phone


def test_a_value_typed_by_hand_may_not_hold_a_control_character(both):
    refused = both("users", "edit-contact", "gdn-3011", "--email", "a\x1b[31m@example.org")
    assert refused.code == 1
    assert one_line(refused.err) == "email may not contain a control character (ESC, U+001B)"
