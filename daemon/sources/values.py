"""JSON values as OneRoster CSV cells: references, lists, booleans, userIds."""

from __future__ import annotations

from typing import Any


def cell(value: Any) -> str:
    """A JSON value as the CSV binding writes it (a list becomes comma-joined values)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return cell(value.get("sourcedId"))
    if isinstance(value, list):
        return ",".join(c for c in (cell(v) for v in value) if c)
    return str(value).strip()


def user_ids(value: Any) -> str:
    """[{type, identifier}] -> "{type:identifier},..." (the CSV binding's form)."""
    if not isinstance(value, list):
        return cell(value)
    parts = []
    for item in value:
        if isinstance(item, dict):
            parts.append(f"{{{cell(item.get('type'))}:{cell(item.get('identifier'))}}}")
        elif item:
            parts.append(str(item))
    return ",".join(parts)


def enabled(value: Any) -> str:
    """enabledUser arrives as a boolean or as "true"/"false" (both are in the wild)."""
    if isinstance(value, str):
        return value.strip().lower()
    return cell(value)
