"""Counted words, and a file's lines as a run's messages name them."""

from __future__ import annotations

from daemon.words import counted, line_ranges


def test_one_line_is_named_alone():
    assert line_ranges([4]) == "line 4"


def test_consecutive_lines_read_as_ranges():
    assert line_ranges([23, 8, 9, 10, 11, 18, 19, 20, 21]) == "lines 8-11, 18-21, 23"


def test_past_six_runs_the_rest_are_counted():
    assert line_ranges(list(range(1, 100, 2))) == "lines 1, 3, 5, 7, 9, 11 and 44 more"


def test_one_takes_the_singular():
    assert counted(1, "warning") == "1 warning"


def test_zero_takes_the_plural():
    assert counted(0, "warning") == "0 warnings"


def test_many_take_the_plural_with_thousands_marked():
    assert counted(2641, "error") == "2,641 errors"


def test_an_irregular_plural_is_given():
    assert counted(3, "person", "people") == "3 people"


def test_minus_one_takes_the_singular():
    assert counted(-1, "point", spec="+d") == "-1 point"


def test_the_count_can_be_aligned_in_a_column():
    assert counted(1, "student", spec=">4") == "   1 student"
