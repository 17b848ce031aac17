"""People sent again as they were applied are recognised from their raw users.csv row before it
is normalised (sync/unchanged.py raw_key), and the night plans exactly what the full path plans:
a record written by hand since, a demographics.csv row changed, an org gone, a header reordered
all send the person the full path again."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.sync.feed import users
from tests.district import TinyDistrict
from tests.properties.test_sync_properties import _night_keeps_the_promises

PEOPLE = 22  # ten students, ten guardians, two teachers


@pytest.fixture
def recognised(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """How many users.csv rows each plan recognised from their raw row."""
    counts: list[int] = []
    normalise = users._rows_to_normalise

    def counted(ctx, mobile: str, home: str) -> tuple[str, bool]:
        rows = normalise(ctx, mobile, home)
        counts.append(int(ctx.db.one(f"SELECT count(id) FROM {ctx.t('user_lines')}")))
        return rows

    monkeypatch.setattr(users, "_rows_to_normalise", counted)
    return counts


def _night(sync, drop: TinyDistrict, tmp_path: Path, recognised: list[int]) -> int:
    """Planned with the shortcut and by the full path on a copy: the same plan, the same
    directory once each is applied (the property test's check). How many people the shortcut's
    plan recognised from their raw rows (the full path's, planned first, recognises none)."""
    recognised.clear()
    _night_keeps_the_promises(sync.engine, drop.write(tmp_path / "drops"), tmp_path)
    assert recognised[0] == 0
    return recognised[1]


def test_people_remember_the_raw_row_they_were_applied_from(sync, tiny_applied):
    remembered = sync.engine.db.one("SELECT count(raw_hash) FROM users WHERE status = 'active'")
    assert remembered == PEOPLE


def test_the_same_drop_again_recognises_everyone_from_their_raw_rows(
    sync, tiny, tiny_applied, recognised, tmp_path
):
    assert _night(sync, tiny, tmp_path, recognised) == PEOPLE


def test_a_person_written_by_hand_since_is_compared_again(
    sync, tiny, tiny_applied, recognised, tmp_path
):
    sync.engine.db.execute("UPDATE users SET given_name = 'Jo' WHERE sis_id = 'stu-1'")
    run = sync.plan(tiny)
    [change] = sync.changes(run, "students", "update")
    assert (change["sis_id"], change["fields"][0]["field"]) == ("stu-1", "given_name")
    assert recognised == [PEOPLE - 1]


def test_a_changed_demographics_row_sends_its_person_the_full_path(
    sync, tiny, tiny_applied, recognised, tmp_path
):
    tiny.row("demographics.csv", "stu-2")["birthDate"] = "2014-01-01"
    run = sync.plan(tiny)
    [change] = sync.changes(run, "students", "update")
    assert change["sis_id"] == "stu-2"
    assert recognised == [PEOPLE - 1]


def test_a_demographics_row_gone_sends_its_person_the_full_path(
    sync, tiny, tiny_applied, recognised, tmp_path
):
    tiny.remove("demographics.csv", sourcedId="stu-3")
    assert _night(sync, tiny, tmp_path, recognised) == PEOPLE - 1


def test_a_demographics_row_in_error_sends_its_person_the_full_path(
    sync, tiny, tiny_applied, recognised, tmp_path
):
    tiny.rows("demographics.csv").append(dict(tiny.row("demographics.csv", "stu-4")))
    assert _night(sync, tiny, tmp_path, recognised) == PEOPLE - 1


def test_an_org_gone_from_orgs_csv_sends_its_people_the_full_path(
    sync, tiny, tiny_applied, recognised, tmp_path
):
    tiny.remove("orgs.csv", sourcedId="sch-b")
    named_sch_b = sum(1 for r in tiny.rows("users.csv") if "sch-b" in r["orgSourcedIds"])
    assert named_sch_b > 0 and _night(sync, tiny, tmp_path, recognised) <= PEOPLE - named_sch_b


def test_the_district_as_a_guardians_org_sends_them_the_full_path(
    sync, tiny, tiny_applied, recognised, tmp_path
):
    """A guardian at the district belongs to their students' schools (feed/users.py), which
    their own row does not say: that row is never recognised raw."""
    tiny.row("users.csv", "gdn-1")["orgSourcedIds"] = "dist-1"
    sync.apply(tiny)
    assert _night(sync, tiny, tmp_path, recognised) == PEOPLE - 1


def test_a_header_reordered_with_the_same_bytes_below_is_read_again(
    sync, tiny, tiny_applied, recognised, tmp_path
):
    """The row hash is of the values in file order: the same values under swapped column names
    are other names, which the key must see."""
    rows = tiny.rows("users.csv")
    for i, row in enumerate(rows):
        swapped = {
            ("familyName" if k == "givenName" else "givenName" if k == "familyName" else k): v
            for k, v in row.items()
        }
        rows[i] = swapped
    run = sync.plan(tiny)
    renamed = {c["sis_id"] for c in sync.changes(run) if c["op"] == "update"}
    assert "stu-1" in renamed
    assert recognised == [0]


def test_a_setting_that_shapes_people_sends_everyone_the_full_path(
    sync, tiny, tiny_applied, recognised, tmp_path
):
    sync.engine.settings_set("update_language", "false")
    assert _night(sync, tiny, tmp_path, recognised) == 0


def test_people_applied_without_a_raw_row_are_refreshed_silently(
    sync, tiny, tiny_applied, recognised
):
    sync.engine.db.execute("UPDATE users SET raw_hash = NULL")
    run = sync.plan(tiny)
    assert run.total_changes() == 0 and recognised == [0]
    sync.engine.apply_run(run.run_id, scan_duplicates=False)
    assert sync.engine.db.one("SELECT count(raw_hash) FROM users") == PEOPLE


def test_a_school_level_night_keeps_the_raw_rows_people_remember(
    sync, tiny, tiny_applied, recognised, tmp_path
):
    # A school-level upload keys no raw row (raw_shortcut_allowed): its people are recognised
    # by their normalised rows, and by the full path alike, so both leave the raw row each
    # person remembers as it was (found by the property test: the full path forgot them).
    school_night = tiny.copy()
    school_night.manifest["source.schools"] = "sch-a"
    assert _night(sync, school_night, tmp_path / "school", recognised) == 0
    assert _night(sync, tiny, tmp_path / "whole", recognised) == PEOPLE
