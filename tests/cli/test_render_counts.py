"""The table of planned changes a run prints: counts line up under their op and never touch."""

from __future__ import annotations

from daemon.cli.render import changes_table, withheld_counts
from daemon.models import Run


def test_a_count_too_wide_for_its_column_widens_it():
    lines = changes_table({"enrollments": {"create": 0, "update": 0, "archive": 21_756_000}})
    assert lines[1].split() == ["enrollments", "0", "0", "21,756,000", "0"]
    assert lines[0].index("archive") + len("archive") == lines[1].index("21,756,000") + 10


def test_usual_counts_keep_the_usual_layout():
    lines = changes_table({"students": {"create": 10_000, "update": 7, "archive": 12}})
    assert lines == [
        "                           create   update  archive  unarchive",
        "    students               10,000        7       12          0",
    ]


def test_withheld_counts_say_one_record_as_one():
    run = Run.model_construct(withheld={"students": 1, "enrollments": 4, "guardian_links": 1})
    assert withheld_counts(run) == "1 student, 4 enrollments, 1 guardian link"
