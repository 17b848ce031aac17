"""A revert treats protected contact details as the nightly feed does: the mobile phone of an
activated or hand-edited account is never restored silently, it is a `contact_protected`
conflict a person decides (take restores it, keep leaves it)."""

from __future__ import annotations

import pytest


@pytest.fixture
def new_mobile(sync, tiny, tiny_applied):
    """Run 1 loads the district; run 2 gives Parent3 a new mobile phone (sms)."""
    tiny.row("users.csv", "gdn-3")["sms"] = "555-0999"
    return sync.apply(tiny)


def _contact_conflicts(sync, run):
    return [c for c in sync.engine.conflicts(run.run_id).items if c.kind == "contact_protected"]


def test_a_revert_does_not_restore_the_mobile_of_an_account_activated_since(sync, new_mobile):
    sync.engine.set_account_active("gdn-3")
    revert = sync.engine.revert_run(new_mobile.run_id)
    assert revert.changes["guardians"]["update"] == 0
    sync.apply_planned(revert)
    assert sync.user("gdn-3")["mobile_phone"] == "555-0999"


def test_the_activated_account_s_mobile_is_a_contact_conflict(sync, new_mobile):
    sync.engine.set_account_active("gdn-3")
    revert = sync.engine.revert_run(new_mobile.run_id)
    [conflict] = _contact_conflicts(sync, revert)
    assert (conflict.field, conflict.feed_value, conflict.directory_value) == (
        "mobile_phone",
        "555-0103",
        "555-0999",
    )
    assert "(account active)" in conflict.message and conflict.suggestion == "keep"


def test_a_revert_does_not_restore_the_mobile_of_a_user_whose_contacts_were_edited(
    sync, new_mobile
):
    sync.engine.edit_contact("gdn-3", {"email": "parent3.home@example.net"})
    revert = sync.engine.revert_run(new_mobile.run_id)
    [conflict] = _contact_conflicts(sync, revert)
    assert conflict.field == "mobile_phone" and "(edited by hand)" in conflict.message
    sync.apply_planned(revert)
    gdn3 = sync.user("gdn-3")
    assert (gdn3["mobile_phone"], gdn3["email"]) == ("555-0999", "parent3.home@example.net")


def test_taking_the_contact_conflict_restores_the_mobile(sync, new_mobile):
    sync.engine.set_account_active("gdn-3")
    revert = sync.engine.revert_run(new_mobile.run_id)
    [conflict] = _contact_conflicts(sync, revert)
    sync.engine.resolve_conflicts([conflict.conflict_id], "take")
    sync.apply_planned(revert)
    assert sync.user("gdn-3")["mobile_phone"] == "555-0103"


def test_with_update_active_users_contacts_the_revert_restores_the_mobile(sync, new_mobile):
    sync.engine.settings_set("update_active_users_contacts", "true")
    sync.engine.set_account_active("gdn-3")
    revert = sync.engine.revert_run(new_mobile.run_id)
    assert _contact_conflicts(sync, revert) == []
    sync.apply_planned(revert)
    assert sync.user("gdn-3")["mobile_phone"] == "555-0103"
