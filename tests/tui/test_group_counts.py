"""Counts in narrow columns: in full when they fit, shortened when not, never cut or run together."""

from __future__ import annotations

from roster_tui.widgets.changes_panel import group_option
from roster_tui.words import fit_count


def test_a_count_that_fits_is_shown_in_full_at_the_right_edge():
    assert group_option("+ students", 10_000) == "+ students   10,000"


def test_a_count_too_long_for_the_column_is_shortened_not_run_into_the_label():
    assert group_option("+ enrollments", 70_000) == "+ enrollments   70k"
    assert group_option("- enrollments", 7_252_000) == "- enrollments  7.3M"


def test_every_line_is_as_wide_as_the_column():
    for label, n in (("All", 21_756_000), ("~ links", 5), ("+ enrollments", 999)):
        assert len(group_option(label, n)) == 19


def test_a_count_is_shortened_only_when_its_column_is_too_narrow():
    assert fit_count(220_407, 7) == "220,407"
    assert fit_count(11_714_146, 7) == "11.7M"
    assert fit_count(123_456, 6) == "123k"
