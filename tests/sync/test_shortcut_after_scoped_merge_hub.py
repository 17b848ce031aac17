"""Found by the property test (tests/properties/test_sync_properties.py), events
`scoped_night`, then a hand `merge_students` and a `hub_night`: two lines of the hub's drop reach
one membership through the merged student, and the shortcut kept the line whose values the
record remembers while the full path kept the smallest sourcedId (a hub's ids are never the
record's SIS id), so the warning fell on another line. Such lines now take the full path."""

from __future__ import annotations

import os

from daemon.sync.unchanged import FULL_PATH_ENV
from tests.properties.districts import Night, apply_event
from tests.properties.test_sync_properties import _hand_event, _what_the_plan_says


def test_a_hub_night_after_a_scoped_night_and_a_merge_plans_as_the_full_path(sync, tiny, tmp_path):
    """Night 1: a school-level upload for sch-b (source.schools; the file still holds sch-a's
    rows, as out_of_scope warnings). Then two students are merged by hand. Night 2: a hub's
    drop (source.derivedIds enrollments, ids made up as CLASS:PERSON). The shortcut's plan
    must say what the full path's says."""
    sync.engine.settings_set("deletion_threshold", "100")
    first = Night(tiny.copy())
    apply_event(first, "scoped_night", 495)
    sync.apply(first.write(tmp_path / "night1"), override=True)
    _hand_event(sync.engine, "merge_students", 579)
    second = Night(tiny.copy())
    apply_event(second, "hub_night", 2)
    drop = second.write(tmp_path / "night2")

    os.environ[FULL_PATH_ENV] = "1"
    try:
        full = sync.engine.plan_source(str(drop))
    finally:
        del os.environ[FULL_PATH_ENV]
    full_says = _what_the_plan_says(sync.engine, full.run_id)
    sync.engine.reject_run(full.run_id)
    shortcut = sync.engine.plan_source(str(drop))
    assert _what_the_plan_says(sync.engine, shortcut.run_id) == full_says
