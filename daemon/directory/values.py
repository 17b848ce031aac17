"""A value typed by hand passes the same rules as the feed's: one set of rules for both.

The rules are the ingest's (daemon/ingest/value_rules.py: SQL conditions per value type, on the
columns of daemon/formats/spec.py), run here on one value. What the feed only warns about (an
e-mail that is not one) is refused by hand: the person typing it can fix it now.
"""

from __future__ import annotations

import dataclasses
import re

from daemon.db import Database
from daemon.directory.errors import EditRefused
from daemon.formats.controls import CONTROL_CHARACTER_PATTERN, control_name
from daemon.formats.spec import CLASSES, ORGS, USERS_11, Column, ValueType
from daemon.ingest.value_rules import (
    INVISIBLE_IN_ID_PATTERN,
    NOT_USED,
    Rule,
    required_rule,
    value_rule,
)

# field of a hand edit -> (the feed column with the same rules, how a person calls the field)
HAND_FIELDS: dict[str, tuple[Column, str]] = {
    "given_name": (USERS_11.column("givenName"), "given name"),  # type: ignore[dict-item]
    "family_name": (USERS_11.column("familyName"), "family name"),  # type: ignore[dict-item]
    "email": (USERS_11.column("email"), "email"),  # type: ignore[dict-item]
    "mobile_phone": (USERS_11.column("sms"), "mobile phone"),  # type: ignore[dict-item]
    "home_phone": (USERS_11.column("phone"), "home phone"),  # type: ignore[dict-item]
    "language": (USERS_11.column("language"), "language"),  # type: ignore[dict-item]
    "school_name": (ORGS.column("name"), "school name"),  # type: ignore[dict-item]
    "classroom_name": (CLASSES.column("title"), "classroom name"),  # type: ignore[dict-item]
    "sis_id": (ORGS.column("sourcedId"), "SIS id"),  # type: ignore[dict-item]
}


def clean_value(db: Database, field: str, raw: str | None) -> str | None:
    """The value as the sync would store it (trimmed, empty as none), or EditRefused naming the
    field, the value and the rule."""
    column, label = HAND_FIELDS[field]
    value = raw.strip() if raw is not None else None
    value = value or None
    if value is None:
        if column.required:
            raise EditRefused(f"{label} may not be empty")
        return None
    if any(ch in value for ch in ("\n", "\r")):
        raise EditRefused(f"{label} may not contain a line break")
    if control := re.search(CONTROL_CHARACTER_PATTERN, value):
        raise EditRefused(
            f"{label} may not contain a control character ({control_name(control.group())})"
        )
    if len(value) > column.max_length:
        raise EditRefused(
            f"{label} is {len(value)} characters long; the limit is {column.max_length}"
        )
    if column.type is ValueType.ID and (mark := re.search(INVISIBLE_IN_ID_PATTERN, value)):
        raise EditRefused(
            f"{label} holds the invisible character U+{ord(mark.group()):04X} at position "
            f"{mark.start() + 1}; an id must be visible text"
        )
    named = dataclasses.replace(column, name=label)
    if column.required and _breaks(db, required_rule(named, '"v"'), value) is not None:
        raise EditRefused(f"{label} may not be empty: it holds only invisible characters")
    rule = value_rule(named, '"v"')
    if rule is not None and (message := _breaks(db, rule, value)) is not None:
        # What the feed does with such a value is not what a person typing it needs to hear.
        raise EditRefused(message.removesuffix(NOT_USED).removesuffix("; ignored"))
    return value


def _breaks(db: Database, rule: Rule, value: str) -> str | None:
    """The rule's message for `value`, or None when the value keeps the rule."""
    message = db.one(
        f'SELECT {rule.message} FROM (SELECT ?::VARCHAR AS "v") WHERE {rule.where}', [value]
    )
    return None if message is None else str(message)


def clean_values(db: Database, values: dict[str, str | None]) -> dict[str, str | None]:
    return {field: clean_value(db, field, value) for field, value in values.items()}
