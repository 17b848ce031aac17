"""Editing a person's contact details from their record (`e`; the CLI's `users edit-contact`):
what is typed is saved through the engine, audited, and kept against the feed; a value the
engine refuses stays in the dialog with the reason, and nothing is written."""

from __future__ import annotations

import json
from typing import Any

import pytest
from textual.widgets import Input

from daemon.service.engine import Engine
from roster_tui.screens.contact import EditContactScreen
from roster_tui.screens.record import RecordScreen
from tests.tui.conftest import RoleClient, make_app, notices_of, press, text_of, type_text
from tests.tui.snap import shoot
from tests.tui.test_archive_by_hand import STUDENT, _open_person
from tests.tui.test_keys import footer_keys
from tests.tui.test_keys_in_bursts import burst

SIZE = (80, 24)
CONTACT_COLUMNS = "email, mobile_phone, home_phone, language, contacts_edited"


def contact(engine: Engine, sis_id: str = STUDENT) -> tuple[Any, ...]:
    return engine.db.rows(f"SELECT {CONTACT_COLUMNS} FROM users WHERE sis_id = ?", [sis_id])[0]


def contact_edits(engine: Engine) -> list[tuple[str, dict[str, Any]]]:
    rows = engine.db.rows(
        "SELECT actor, details FROM audit_log WHERE action = 'user.edit_contact' ORDER BY audit_id"
    )
    return [(actor, json.loads(details)) for actor, details in rows]


async def _open_dialog(pilot: Any) -> EditContactScreen:
    await _open_person(pilot, STUDENT)
    await press(pilot, "e")
    assert isinstance(pilot.app.screen, EditContactScreen)
    return pilot.app.screen


def _problem(app: Any) -> str:
    return " ".join(text_of(app.screen.query_one("#problem")).split())


async def test_contact_details_typed_in_the_dialog_are_saved_and_audited(
    demo_engine: Engine,
) -> None:
    edits_before = contact_edits(demo_engine)
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await _open_dialog(pilot)
        await type_text(pilot, "henry.lopez@example.org")
        await press(pilot, "tab")
        await type_text(pilot, "555-0100")
        await press(pilot, "enter")
        assert isinstance(app.screen, RecordScreen)
        assert "Contact details saved: Henry López: e-mail, mobile saved." in notices_of(app)
        shown = text_of(app.screen.query_one("#record-details"))
        assert "henry.lopez@example.org" in shown and "555-0100" in shown
    assert contact(demo_engine)[:3] == ("henry.lopez@example.org", "555-0100", None)
    assert contact(demo_engine)[4] is True  # kept against the feed from now on
    actor, details = contact_edits(demo_engine)[-1]
    assert len(contact_edits(demo_engine)) == len(edits_before) + 1
    assert actor == "admin"
    assert details["new"] == {"email": "henry.lopez@example.org", "mobile_phone": "555-0100"}


async def test_a_value_the_engine_refuses_stays_in_the_dialog_with_the_reason(
    demo_engine: Engine,
) -> None:
    before = contact(demo_engine)
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _open_dialog(pilot)
        await press(pilot, "tab")
        await type_text(pilot, "not a phone")
        await press(pilot, "enter")
        assert app.screen is dialog
        assert "mobile phone 'not a phone' does not look like a phone number" in _problem(app)
        assert app.screen.focused is dialog.query_one("#mobile_phone")
    assert contact(demo_engine) == before


async def test_the_language_is_not_offered_while_it_follows_the_sis(
    demo_engine: Engine,
) -> None:
    demo_engine.settings_set("update_language", "true")
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _open_dialog(pilot)
        await press(pilot)
        said = " ".join(text_of(dialog.query_one("#consequences")).split())
        assert dialog.query_one("#language", Input).disabled
    assert "The language follows the SIS (update_language is on)." in said


async def test_the_language_is_edited_while_the_feed_leaves_it_alone(demo_engine: Engine) -> None:
    demo_engine.settings_set("update_language", "false")
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await _open_dialog(pilot)
        await press(pilot, "tab", "tab", "tab")
        await type_text(pilot, "fr")
        await press(pilot, "enter")
        assert isinstance(app.screen, RecordScreen)
    assert contact(demo_engine)[3] == "fr"


@pytest.mark.parametrize(
    ("overwritten", "said"),
    [
        ("false", "if the SIS sends another, the run asks (a conflict)."),
        ("true", "an e-mail or phone the SIS sends later replaces what is saved here."),
    ],
)
async def test_the_dialog_says_what_the_feed_does_to_an_edited_contact(
    demo_engine: Engine, overwritten: str, said: str
) -> None:
    demo_engine.settings_set("update_active_users_contacts", overwritten)
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _open_dialog(pilot)
        await press(pilot)
        assert said in " ".join(text_of(dialog.query_one("#consequences")).split())


async def test_saving_what_is_shown_writes_nothing(demo_engine: Engine) -> None:
    before = contact_edits(demo_engine)
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await _open_dialog(pilot)
        await press(pilot, "enter")
        assert isinstance(app.screen, RecordScreen)
    assert contact_edits(demo_engine) == before


async def test_an_emptied_field_is_cleared(demo_engine: Engine) -> None:
    assert contact(demo_engine)[0] is not None
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await _open_dialog(pilot)
        await press(pilot, "backspace", "enter")  # the value is selected on focus
        assert isinstance(app.screen, RecordScreen)
    assert contact(demo_engine)[0] is None
    assert contact_edits(demo_engine)[-1][1]["new"] == {"email": None}


async def test_escape_leaves_the_contact_as_it_was(demo_engine: Engine) -> None:
    before = contact(demo_engine)
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await _open_dialog(pilot)
        await type_text(pilot, "someone@example.org")
        await press(pilot, "escape")
        assert isinstance(app.screen, RecordScreen)
    assert contact(demo_engine) == before


async def test_keys_typed_after_tab_in_one_burst_go_to_the_next_field(
    demo_engine: Engine,
) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        await _open_dialog(pilot)
        await burst(pilot, *"a@example.org", "tab", *"5550100", "enter")
        assert isinstance(app.screen, RecordScreen)
    assert contact(demo_engine)[:2] == ("a@example.org", "5550100")


async def test_the_dialog_names_the_open_runs_the_edit_supersedes(demo_engine: Engine) -> None:
    app = make_app(demo_engine)
    async with app.run_test(size=SIZE) as pilot:
        dialog = await _open_dialog(pilot)
        said = " ".join(text_of(dialog.query_one("#consequences")).split())
    open_runs = [r.run_id for r in demo_engine.list_runs() if r.status in ("planned", "held")]
    assert open_runs
    assert f"open runs ({', '.join(map(str, sorted(open_runs)))}) are superseded" in said


async def test_a_users_manager_may_edit_contacts_and_nothing_else(demo_engine: Engine) -> None:
    app = make_app(RoleClient(demo_engine, frozenset({"users_manager"})))
    async with app.run_test(size=SIZE) as pilot:
        await _open_person(pilot, STUDENT)
        shown = {description for _, description in footer_keys(app)}
        assert "Edit contact…" in shown
        assert "Archive…" not in shown
        await press(pilot, "e")
        await type_text(pilot, "henry@example.org")
        await press(pilot, "enter")
        assert isinstance(app.screen, RecordScreen)
    assert contact(demo_engine)[0] == "henry@example.org"
    assert contact_edits(demo_engine)[-1][0] == "admin"  # the engine's actor in these tests


def test_the_contact_dialog_at_80x24(snap_compare, demo_engine: Engine) -> None:
    steps = ("5", ("type", STUDENT), "enter", "enter", "e")
    assert shoot(snap_compare, demo_engine, *steps)


def test_the_contact_dialog_at_60x15(snap_compare, demo_engine: Engine) -> None:
    steps = ("5", ("type", STUDENT), "enter", "enter", "e")
    assert shoot(snap_compare, demo_engine, *steps, size=(60, 15))
