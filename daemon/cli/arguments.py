"""Argument types shared by the commands: a mistyped value is refused before anything runs."""

from __future__ import annotations

import argparse


def _whole_number(text: str, what: str, example: str) -> int:
    value = text.strip().lstrip("#")
    if not value.isdigit() or int(value) < 1:
        raise argparse.ArgumentTypeError(f"'{text}' is not {what} (a number such as {example})")
    return int(value)


def run_number(text: str) -> int:
    return _whole_number(text, "a run number", "2")


def candidate_number(text: str) -> int:
    return _whole_number(text, "a candidate number", "7")


def merge_number(text: str) -> int:
    return _whole_number(text, "a merge number", "3")


def count(text: str) -> int:
    return _whole_number(text, "a count", "50")


def conflict_numbers(text: str) -> list[int]:
    """`12` or `12,13,14`."""
    parts = [part for part in text.split(",") if part.strip()]
    if not parts:
        raise argparse.ArgumentTypeError(f"'{text}' names no conflict (a number such as 12)")
    return [_whole_number(part, "a conflict number", "12") for part in parts]


# An empty argument is most often a shell variable that was not set (`run "$DROP"`): read as a
# path it would name the current folder, and an empty --school would drop the run's scope.
def _not_empty(text: str, what: str) -> str:
    if not text.strip():
        raise argparse.ArgumentTypeError(what)
    return text


def drop_path(text: str) -> str:
    return _not_empty(text, "the path is empty: name a drop, a folder or a .zip")


def new_folder(text: str) -> str:
    return _not_empty(text, "the path is empty: name a new folder")


def school_sis_id(text: str) -> str:
    return _not_empty(text, "the SIS id is empty: name a school such as sch-elm")
