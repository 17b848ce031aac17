"""The CLI commands: `duplicates list --json` keys scripts rely on, one-line refusals."""

from __future__ import annotations

import json

import pytest

from daemon.cli import main as cli_main
from tests.duplicates.conftest import add_student_like

SIDE_KEYS = {"sis_id", "status", "given_name", "family_name", "birth_date", "school"}


@pytest.fixture
def cli(monkeypatch, db_path, capsys):
    """`roster-sync --db DB ...` through the real entry point, the engine in process."""
    monkeypatch.delenv("ROSTER_SYNC_CONFIG", raising=False)

    def run(*argv: str) -> tuple[int, str, str]:
        capsys.readouterr()
        code = cli_main.main(["--db", str(db_path), *argv])
        out, err = capsys.readouterr()
        return code, out, err

    return run


@pytest.fixture
def synced_look_alikes(sync, tiny):
    tiny.row("users.csv", "stu-2")["givenName"] = "Benjamin"
    add_student_like(tiny, "stu-2", "stu-20", givenName="Ben", identifier="S20", email="")
    add_student_like(tiny, "stu-3", "stu-3-new")
    sync.apply(tiny)
    sync.engine.db.close()  # the CLI opens the database itself


def test_duplicates_list_json_has_the_keys_scripts_rely_on(cli, synced_look_alikes):
    code, out, _ = cli("duplicates", "list", "--json")
    assert code == 0
    candidates = json.loads(out)
    assert isinstance(candidates, list) and len(candidates) == 2
    for c in candidates:
        assert {"candidate_id", "score", "left", "right", "evidence"} <= set(c)
        assert 0 <= c["score"] <= 1
        for side in (c["left"], c["right"]):
            assert set(side) >= SIDE_KEYS
        assert set(c["evidence"].values()) <= {"agree", "partial", "differ", "missing"}
    nickname = next(c for c in candidates if c["left"]["given_name"] in ("Ben", "Benjamin"))
    assert nickname["evidence"]["given_name"] == "partial"
    assert nickname["evidence"]["birth_date"] == "agree"


def test_duplicates_list_shows_both_records_side_by_side(cli, synced_look_alikes):
    code, out, _ = cli("duplicates", "list")
    assert code == 0
    assert "Benjamin" in out and "Ben " in out
    assert "nickname (+5)" in out
    assert "2 candidates" in out


def test_a_refused_merge_is_one_line_on_stderr(cli, synced_look_alikes):
    code, _out, err = cli("duplicates", "merge", "stu-3", "stu-3-new")
    assert code == 1
    assert err.count("\n") == 1
    assert "choose the survivor with --keep" in err


def test_merge_then_undo_through_the_cli(cli, synced_look_alikes):
    code, out, _ = cli("duplicates", "merge", "stu-3", "stu-3-new", "--keep", "stu-3")
    assert code == 0 and "merge 1" in out
    code, out, _ = cli("duplicates", "undo", "1")
    assert code == 0 and "undid merge 1" in out
    code, out, _ = cli("duplicates", "list", "--json")
    assert len(json.loads(out)) == 2


def test_archive_unsynced_without_yes_prints_the_dry_run_and_how_to_confirm(cli, sync, tiny):
    e = sync.engine
    e.settings_set("daily_sync_enabled", "false")
    e.create_school("Alder")
    e.add_school_sis_id("1", "sch-a")
    e.create_user("student", "Old", "Record", school="sch-a")
    sync.apply(tiny)
    e.db.close()
    code, out, _ = cli("students", "archive-unsynced")
    assert code == 0
    assert "Would archive 1 hand-made student" in out
    assert "roster-sync students archive-unsynced --yes" in out
    code, out, _ = cli("students", "archive-unsynced", "--yes")
    assert "Archived 1 hand-made student" in out


def test_duplicates_list_shows_the_phones_the_score_compared(cli, sync, tiny):
    """Phone counts toward the score, so both records' phones are on the row that says so (one's
    mobile is the other's home number: a family phone, partial evidence)."""
    tiny.row("users.csv", "stu-2")["sms"] = "503-555-0101"
    add_student_like(
        tiny, "stu-2", "stu-20", identifier="S20", email="", sms="", phone="503-555-0101"
    )
    sync.apply(tiny)
    sync.engine.db.close()
    code, out, _ = cli("duplicates", "list")
    assert code == 0
    phone = next(line.split() for line in out.splitlines() if line.strip().startswith("phone"))
    assert phone == [
        "phone",
        "503-555-0101",
        "(mobile)",
        "503-555-0101",
        "(home)",
        "partial",
        "(+3)",
    ]


def test_duplicates_list_shows_the_ids_and_the_lifecycle_the_score_used(cli, sync, tiny):
    """A re-keyed student: the shared state id, each record's runs and the handover in words,
    in --json and in text."""
    from tests.duplicates.test_evidence_twins_never_share import rekey

    tiny.row("users.csv", "stu-1").update(givenName="Jamal", userIds="{StateID:77123}")
    first = sync.apply(tiny)
    rekey(tiny, "stu-1", "stu-1-new", givenName="Jama", identifier="S1N", email="")
    second = sync.apply(tiny, override=True)
    sync.engine.db.close()
    code, out, _ = cli("duplicates", "list", "--json")
    assert code == 0
    [candidate] = json.loads(out)
    assert candidate["evidence_detail"]["user_ids"] == "exact"
    assert candidate["evidence_detail"]["lifecycle"] == "handover"
    assert candidate["evidence"]["lifecycle"] == "agree"
    assert candidate["field_points"]["lifecycle"] > 0
    old, new = candidate["left"], candidate["right"]
    assert (old["user_ids"], new["user_ids"]) == ("{StateID:77123}", "{StateID:77123}")
    assert (old["arrived_run"], old["left_run"]) == (first.run_id, second.run_id)
    assert (new["arrived_run"], new["left_run"]) == (second.run_id, None)
    assert candidate["lifecycle"] == (
        f"#{old['user_id']} left the feed in run {second.run_id}; "
        f"#{new['user_id']} arrived in run {second.run_id}"
    )
    code, out, _ = cli("duplicates", "list")
    assert code == 0
    feed = next(line for line in out.splitlines() if line.strip().startswith("in the feed"))
    ids = next(line for line in out.splitlines() if line.strip().startswith("user ids"))
    assert f"arrived run {first.run_id}, left run {second.run_id}" in feed
    assert feed.endswith("handover (+6)")
    assert ids.endswith("exact (+10)")
    assert candidate["lifecycle"] in out


def test_duplicates_scan_compares_only_what_changed_unless_asked_for_a_full_scan(
    cli, synced_look_alikes
):
    code, out, _ = cli("duplicates", "scan")
    assert code == 0
    assert "(0 changed since the last scan, 0 pairs compared)" in out
    code, out, _ = cli("duplicates", "scan", "--full", "--json")
    body = json.loads(out)
    assert (code, body["incremental"], body["new"], body["gone"]) == (0, False, 0, 0)
    assert body["open"] >= 1 and body["pairs_compared"] >= 1
