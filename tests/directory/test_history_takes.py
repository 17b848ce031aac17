"""A record's history shows a feed value a person took in a conflict: who, when, what changed."""

from __future__ import annotations


def test_a_taken_contact_conflict_is_in_the_records_history(sync, tiny, tiny_applied):
    sync.engine.set_account_active("gdn-2")
    tiny.row("users.csv", "gdn-2")["email"] = "sis@example.net"
    run = sync.apply(tiny)
    [conflict] = sync.engine.conflicts(run.run_id).items
    sync.engine.resolve_conflicts([conflict.conflict_id], "take")
    [take] = [h for h in sync.engine.user_detail("gdn-2").history if h.what == "take"]
    assert take.who == "tester"
    assert take.detail == (
        f"email: parent2@example.net -> sis@example.net "
        f"(conflict {conflict.conflict_id} of run {run.run_id})"
    )
