"""No message ever names a person: every message of the story (every event kind, as stored, as
mailed and as posted) is scanned for every name, email, phone, username, number and id of the
district's people, from the directory and from the drops themselves."""

from __future__ import annotations

import copy
import csv
import re
from email.message import Message
from pathlib import Path

from daemon.db import Database
from daemon.notify.config import EVENTS
from tests.conftest import SAMPLE

PERSON_COLUMNS = (
    "given_name", "family_name", "middle_name", "preferred_given_name", "email", "username",
    "sis_id", "identifier", "mobile_phone", "home_phone", "birth_date",
)  # fmt: skip
CSV_COLUMNS = (
    "sourcedId", "givenName", "familyName", "middleName", "preferredFirstName", "email",
    "username", "identifier", "phone", "sms", "birthDate", "userIds",
)  # fmt: skip


def known_details(database: Path) -> set[str]:
    """What would identify someone: from the directory, and from every users.csv of the drops."""
    found: set[str] = set()
    db = Database(database)
    try:
        for row in db.rows(f"SELECT {', '.join(PERSON_COLUMNS)} FROM users"):
            found.update(str(v) for v in row if v)
    finally:
        db.close()
    for users in SAMPLE.glob("day*/users.csv"):
        with open(users, newline="", encoding="utf-8-sig") as f:
            for row in csv.DictReader(f):
                found.update(row[c] for c in CSV_COLUMNS if row.get(c))
    return {v.strip() for v in found if len(v.strip()) >= 2}


WORD = re.compile(r"[\w@.+'-]+")


def leaks(details: set[str], text: str) -> list[str]:
    """The details found in `text` as whole words (any case). Words are looked up in a set;
    a detail with a space in it is searched for as it is."""
    words = {w.strip(".'-").casefold() for w in WORD.findall(text)}
    lowered = text.casefold()
    return sorted(
        d for d in details
        if (d.casefold() in words if WORD.fullmatch(d) else d.casefold() in lowered)
    )  # fmt: skip


def _as_mailed(message: Message) -> str:
    """The whole mail but its Date header, which names the weekday: "Thu" is also a given
    name in the sample district, so the scan failed on Thursdays."""
    undated = copy.copy(message)
    del undated["Date"]
    return undated.as_string()


def test_the_scan_would_catch_a_name_an_id_or_an_email(story) -> None:
    details = known_details(story.database)
    assert len(details) > 1000
    planted = "Run 3 is held (first: claire SULLIVAN, stu-1001, csullivan1001)."
    assert leaks(details, planted) == ["Claire", "Sullivan", "csullivan1001", "stu-1001"]


def test_no_message_names_anyone(story) -> None:
    db = Database(story.database)
    try:
        stored = [" ".join(map(str, row)) for row in db.rows(
            "SELECT subject, body, data, command, screen FROM notify_events")]  # fmt: skip
        kinds = {k for (k,) in db.rows("SELECT DISTINCT kind FROM notify_events")}
    finally:
        db.close()
    sent = [_as_mailed(m.message) for m in story.mails] + [h.body.decode() for h in story.hooks]
    texts = stored + sent
    assert kinds == set(EVENTS) and len(sent) == 2 * len(stored)  # every kind, mailed and posted
    assert leaks(known_details(story.database), "\n".join(texts)) == []
