"""Approving withheld archives keeps a record "in the feed of run N since" only when run N's
feed spoke for it: a later run that could not archive it tonight (a setting left it alone, or
its file was read as changes only) says nothing of whether it is still there.

Kept so, the person who approved the archive of someone who left saw it refused with a false
reason, and the record stayed active.
"""

from __future__ import annotations

import pytest

from tests.ingest.reading import rewrite_line


@pytest.fixture
def withheld(sync, tiny, tiny_applied):
    """Summer: additions only; gdn-4 and stu-9 leave, and their archives are withheld."""
    sync.engine.settings_set("archive_mode", "additions_only")
    tiny.remove("users.csv", sourcedId="gdn-4")
    tiny.remove("users.csv", sourcedId="stu-9")
    tiny.remove("enrollments.csv", userSourcedId="stu-9")
    run = sync.apply(tiny)
    assert run.withheld["guardians"] == 1 and run.withheld["students"] == 1
    sync.engine.settings_set("archive_mode", "normal")
    return sync, run.run_id


def _outcome(sync, run_id: int, sis_id: str) -> tuple[str | None, str | None]:
    [w] = [w for w in sync.engine.withheld_page(run_id).items if w.sis_id == sis_id]
    return w.outcome, w.outcome_note


def test_a_run_that_did_not_manage_guardians_does_not_keep_a_withheld_guardian(withheld, tiny):
    sync, first = withheld
    sync.engine.settings_set("manage_guardians", "false")
    tiny.row("users.csv", "stu-3")["givenName"] = "Cleo-Ann"
    sync.apply(tiny)
    sync.engine.decide_withheld(first, "approve", "they left in June")
    assert _outcome(sync, first, "gdn-4") == ("archived", None)


def test_a_file_read_as_changes_only_does_not_keep_a_withheld_student(withheld, tiny):
    sync, first = withheld
    drop = tiny.write(sync.root)
    rewrite_line(drop / "users.csv", "stu-3,", "stu-3,Cleo")  # a row whose key cannot be told
    run = sync.plan(drop)
    assert any("read as changes only" in n["message"] for n in run.notes)
    sync.engine.apply_run(run.run_id, scan_duplicates=False)
    sync.engine.decide_withheld(first, "approve", "they left in June")
    assert _outcome(sync, first, "stu-9") == ("archived", None)
