"""JSON values as OneRoster CSV cells: references, lists, booleans, userIds.

A value in a shape the API does not document for it (an object without a sourcedId, a list
inside a list) cannot be read: an empty cell would blank what the directory holds, so it raises
Unreadable, and the pull names the record and field (oneroster_rest.row_of).
"""

from __future__ import annotations

from typing import Any

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


def user_ids(value: Any) -> tuple[str, list[int]]:
    """[{type, identifier}] -> "{type:identifier},..." (the CSV binding's form), and the indexes
    of the entries left out; one object alone is read as a list of it.

    OneRoster's UserId requires both a type and an identifier. An entry without an identifier
    (null, missing or empty) identifies nothing: it is left out (the caller warns), as `{type:}`
    would be stored as an identifier that is empty. One with an identifier but no type cannot be
    written in the binding's form, and leaving it out would drop an identifier the directory may
    hold: it is Unreadable."""
    if isinstance(value, dict):
        value = [value]
    if not isinstance(value, list):
        return cell(value), []
    parts, skipped = [], []
    for index, item in enumerate(value):
        if not isinstance(item, dict):
            if item:
                parts.append(cell(item))
            continue
        kind, identifier = cell(item.get("type")), cell(item.get("identifier"))
        if not identifier:
            skipped.append(index)
        elif not kind:
            raise Unreadable(f"an entry with identifier {identifier!r} but no type (entry {index})")
        else:
            parts.append(f"{{{kind}:{identifier}}}")
    return ",".join(parts), skipped


def enabled(value: Any) -> str:
    """enabledUser arrives as a boolean or as "true"/"false" (both are in the wild)."""
    if isinstance(value, str):
        return value.strip().lower()
    return cell(value)
