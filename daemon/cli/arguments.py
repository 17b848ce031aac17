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
