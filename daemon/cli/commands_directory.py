"""Commands on the directory itself: hand-made records, edits, duplicates, archived students."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Filled in by the directory-editing and duplicate modules."""
