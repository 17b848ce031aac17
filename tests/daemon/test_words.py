"""A file's lines as a run's messages name them."""

from __future__ import annotations

from daemon.words import line_ranges


def test_one_line_is_named_alone():
    assert line_ranges([4]) == "line 4"


def test_consecutive_lines_read_as_ranges():
    assert line_ranges([23, 8, 9, 10, 11, 18, 19, 20, 21]) == "lines 8-11, 18-21, 23"


def test_past_six_runs_the_rest_are_counted():
    assert line_ranges(list(range(1, 100, 2))) == "lines 1, 3, 5, 7, 9, 11 and 44 more"
