"""Counted words, as every edge prints them: '1 run', '2 runs', '1 candidate', '2,641 people'."""

from __future__ import annotations


def counted(n: int, word: str, many: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


def times(n: int) -> str:
    """once, twice, 3 times."""
    return {1: "once", 2: "twice"}.get(n, f"{n} times")
