"""Counted words, as every edge prints them: '1 run', '2 runs', '1 candidate', '2,641 people'."""

from __future__ import annotations


def counted(n: int, word: str, many: str | None = None, spec: str = ",") -> str:
    """The count and the noun that agrees with it: `word` for one (or minus one), `many` (by
    default `word` + 's') for any other count, 0 included. `spec` formats the count: ">6" to
    align it in a column, "+d" to sign it."""
    return f"{n:{spec}} {word if abs(n) == 1 else (many or word + 's')}"


def times(n: int) -> str:
    """once, twice, 3 times."""
    return {1: "once", 2: "twice"}.get(n, f"{n} times")


def line_ranges(lines: list[int], most: int = 6) -> str:
    """'line 4', 'lines 8-11, 18-21, 23': a file's lines as a person reads them, the first
    `most` runs of consecutive lines and how many lines more."""
    runs: list[list[int]] = []
    for line in sorted(set(lines)):
        if runs and line == runs[-1][1] + 1:
            runs[-1][1] = line
        else:
            runs.append([line, line])
    shown = ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in runs[:most])
    rest = sum(b - a + 1 for a, b in runs[most:])
    more = f" and {rest:,} more" if rest else ""
    return f"{'line' if len(set(lines)) == 1 else 'lines'} {shown}{more}"
