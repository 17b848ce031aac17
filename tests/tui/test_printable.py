"""No value reaches the terminal as an escape sequence: the gateway hands screens display copies.

A database may hold a value with control characters (stored before ingest refused them, or typed
into an older version): the directory search, the record screen and the notices show it with
U+FFFD in their place, and nothing the app draws holds an ESC."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, NamedTuple

from pydantic import BaseModel
from textual.app import App

from daemon.errors import RosterSyncError
from daemon.service.engine import Engine
from roster_tui.gateway import Gateway, describe_error, for_display
from roster_tui.screens.record import RecordScreen
from roster_tui.widgets.paged_table import PagedTable
from tests.tui.conftest import make_app, press, type_text

HOSTILE = "Cl\x1b[31mRED\x1b[0maire\x1b]0;PWNED\x07"
SHOWN = "Cl\ufffd[31mRED\ufffd[0maire\ufffd]0;PWNED\ufffd"
SIZE = (100, 30)


def _student(engine: Engine) -> tuple[str, str]:
    """A student of the demo's directory, given the hostile name as an older version stored it."""
    sis_id, family = engine.db.rows(
        "SELECT sis_id, family_name FROM users WHERE role = 'student' AND status = 'active' "
        "ORDER BY sis_id LIMIT 1"
    )[0]
    engine.db.execute("UPDATE users SET given_name = ? WHERE sis_id = ?", [HOSTILE, sis_id])
    return sis_id, family


def _drawn(app: App[Any]) -> str:
    """Every character the screen draws (the text of its segments, without their styles)."""
    lines = app.screen._compositor.render_update(full=True).strips  # type: ignore[union-attr]
    return "\n".join("".join(segment.text for segment in strip) for strip in lines)


async def test_the_directory_and_the_record_show_the_name_without_its_escapes(
    demo_engine: Engine,
) -> None:
    sis_id, family = _student(demo_engine)
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await press(pilot, "5")
        await type_text(pilot, family)
        table = app.screen.query_one(PagedTable)
        row = next(r for r in table.items if r["sis_id"] == sis_id)
        assert row["given_name"] == SHOWN
        drawn = _drawn(app)
        assert "Cl\ufffd[31mRED" in drawn
        assert "\x1b" not in drawn and "\x07" not in drawn
        assert "\x1b" not in app.export_screenshot()
        table.focus()
        table.move_cursor(row=table.items.index(row))
        await press(pilot, "enter")
        assert isinstance(app.screen, RecordScreen)
        drawn = _drawn(app)
        print(drawn)
        assert "Cl\ufffd[31mRED\ufffd[0maire" in drawn
        assert "\x1b" not in drawn and "\x07" not in drawn
    # the database itself is as it was: only what is shown is a copy
    assert demo_engine.db.one("SELECT given_name FROM users WHERE sis_id = ?", [sis_id]) == HOSTILE


class _Inner(BaseModel):
    name: str
    tags: list[str]


class _Outer(BaseModel):
    user_id: int
    inner: _Inner
    extra: dict[str, Any]


@dataclass(frozen=True)
class _Row:
    label: str
    count: int


class _Pair(NamedTuple):
    left: str
    right: int


def test_display_copies_reach_every_string() -> None:
    value = _Outer(
        user_id=7,
        inner=_Inner(name=HOSTILE, tags=["ok", "\u202eevil"]),
        extra={"k\x9b": ("\x1b", 3), "row": _Row("\x07", 1), "pair": _Pair("\x7f", 2)},
    )
    shown = for_display(value)
    assert shown.user_id == 7
    assert shown.inner.name == SHOWN
    assert shown.inner.tags == ["ok", "\ufffdevil"]
    assert shown.extra == {
        "k\ufffd": ("\ufffd", 3),
        "row": _Row("\ufffd", 1),
        "pair": _Pair("\ufffd", 2),
    }
    assert value.inner.name == HOSTILE  # the original is untouched


def test_clean_values_are_returned_themselves() -> None:
    value = _Outer(user_id=1, inner=_Inner(name="Claire\tO'Neil\nline two", tags=[]), extra={})
    assert for_display(value) is value
    items = [{"sis_id": "stu-1", "given_name": "Zoë"}]
    assert for_display(items) is items


def test_the_gateway_returns_display_copies() -> None:
    class Client:
        def find(self) -> dict[str, str]:
            return {"given_name": HOSTILE}

    assert Gateway(Client()).run(lambda engine: engine.find()) == {  # type: ignore[attr-defined]
        "given_name": SHOWN
    }


def test_an_error_quoting_a_value_is_shown_without_its_escapes() -> None:
    class Refused(RosterSyncError):
        title = "Not \x1bchanged"

    title, message = describe_error(Refused(f"given name '{HOSTILE}' is not allowed"))
    assert "\x1b" not in title + message
    assert SHOWN in message
