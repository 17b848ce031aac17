"""JSON values as OneRoster CSV cells: references, lists, booleans, userIds.

A value in a shape the API does not document for it (an object without a sourcedId, a list
inside a list) cannot be read: an empty cell would blank what the directory holds, so it raises
Unreadable, and the pull makes that record's row an ERROR naming the record and field
(oneroster_rest.read_row), which keeps the record as the directory has it.
"""

from __future__ import annotations

import re
from typing import Any

from daemon.ingest.value_rules import USER_IDS_PATTERN
from daemon.sources.errors import SourceError


class Unreadable(SourceError):
    """A JSON value that is no value the CSV binding has a cell for."""


def cell(value: Any) -> str:
    """A JSON value as the CSV binding writes it (a list becomes comma-joined values)."""
    if isinstance(value, list):
        return ",".join(c for c in (_single(v, "a list inside a list") for v in value) if c)
    return _single(value, "")


def _single(value: Any, nested_list: str) -> str:
    """A value, or a reference (an object read as its sourcedId)."""
    if isinstance(value, dict):
        value = value.get("sourcedId")
        if value is None or isinstance(value, dict | list):
            raise Unreadable("an object without a sourcedId")
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        raise Unreadable(nested_list or "a list")
    return str(value).strip()


# What the CSV binding's `{type:identifier},...` cannot carry unambiguously (it defines no
# escaping): braces end or start an entry, a comma separates entries (a reader that splits the
# list at its commas, as it splits every other list column, would cut the entry), and a colon in
# the type moves where the identifier starts. A colon in the identifier is read back alike (the
# first colon ends the type), so URNs and `domain:name` identifiers are kept.
NOT_IN_TYPE = "{}:,"
NOT_IN_IDENTIFIER = "{},"


def user_ids(value: Any) -> tuple[str, list[tuple[int, str]]]:
    """[{type, identifier}] -> "{type:identifier},..." (the CSV binding's form), and the entries
    left out (their index and why); one object alone is read as a list of it.

    OneRoster's UserId requires both a type and an identifier. An entry without an identifier
    (null, missing or empty) identifies nothing: it is left out (the caller warns), as `{type:}`
    would be stored as an identifier that is empty. So is one holding a character the binding's
    form cannot carry (NOT_IN_TYPE, NOT_IN_IDENTIFIER): written as it is, `{LDAP:a},{SIS:9}` could
    be one identifier pretending to be two, and the duplicate matcher and any reader of the drop
    would split it so. One with an identifier but no type cannot be written in the binding's
    form, and leaving it out would drop an identifier the directory may hold: it is Unreadable
    (the row is then an error, and the person kept as the directory has them)."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        text = cell(value)
        return (text, []) if well_formed_user_ids(text) else ("", [(0, _not_entries(text))])
    parts, skipped = [], []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            text = cell(item)
            if text and not well_formed_user_ids(text):
                skipped.append((index, _not_entries(text)))
            elif text:
                parts.append(text)
            continue
        kind, identifier = cell(item.get("type")), cell(item.get("identifier"))
        if not identifier:
            skipped.append((index, "has no identifier (OneRoster's UserId requires one)"))
        elif not kind:
            raise Unreadable(f"an entry with identifier {identifier!r} but no type (entry {index})")
        elif found := _held(kind, NOT_IN_TYPE) or _held(identifier, NOT_IN_IDENTIFIER):
            what = f"(type {kind!r}, identifier {identifier!r})"
            skipped.append((index, f"{what} holds {found!r}, {_CANNOT}"))
        else:
            parts.append(f"{{{kind}:{identifier}}}")
    return ",".join(parts), skipped


def well_formed_user_ids(text: str) -> bool:
    """A userIds cell as the binding writes it (the rule ingest applies to a CSV drop's)."""
    return not text or re.fullmatch(USER_IDS_PATTERN, text) is not None


def _held(text: str, characters: str) -> str:
    return next((c for c in text if c in characters), "")


_CANNOT = "which the CSV form {type:identifier} cannot carry unambiguously"


def _not_entries(text: str) -> str:
    return f"{text!r} is not {{type:identifier}} entries, {_CANNOT}"


def enabled(value: Any) -> str:
    """enabledUser arrives as a boolean or as "true"/"false" (both are in the wild)."""
    if isinstance(value, str):
        return value.strip().lower()
    return cell(value)
