"""Where a plan's time goes: its SQL statements (ROSTER_SYNC_PROFILE=1), grouped into stages.

The CLI prints `[  1.234s] <first 150 characters of the statement>` to stderr for every statement
at least ROSTER_SYNC_PROFILE_MIN seconds long; the harness sets the minimum to 0, so the stages
add up to the time spent in SQL. What is not SQL (start-up, Python, hashing the files in a
thread beside the reads) is the step's wall time minus that sum.
"""

from __future__ import annotations

import re

PROFILE_LINE = re.compile(r"^\[\s*(?P<seconds>\d+\.\d+)s\] (?P<sql>.*)$")

# (stage, pattern on the statement's opening), first match wins; the order follows the data flow.
STAGES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (name, re.compile(pattern))
    for name, pattern in (
        # The value checks' memory (ingest/row_memo.py) reads the staging rows: its own stage.
        (
            "value checks: rows seen before (find, remember)",
            r'^(?!INSERT INTO row_issues).*(row_memo\.|__unseen_rows")',
        ),
        ("read CSV into staging", r'__rows"|__rejected"|read_csv'),
        ("ledger (each file line -> sourcedId)", r"ledger_"),
        ("users: normalise the feed", r"_feed_users"),
        (
            "users: recognise unchanged, match, compare",
            r"_(unchanged|desired|present|held)_users|plan_users|_user_map|_user_lines"
            r"|_unchanged_user_records",
        ),
        (
            "enrollments: recognise unchanged rows",
            r"_(repeated|unchanged|changed)_enrollments|_enrollment_lines",
        ),
        (
            "enrollments: resolve and compare",
            r"_(desired|present)_enrollments|plan_enrollments|_enrollment_sis_id",
        ),
        ("guardian links", r"guardian_links"),
        ("validate rows, report row results", r"INSERT INTO row_issues|_agents_not_family"),
        ("conflicts, field-level changes", r"INSERT INTO (conflicts|changes)"),
        ("schools, classes, attributes", r"schools|classroom|student_attributes|courses"),
    )
)
OTHER = "other (run records, summaries, checks)"


def stage_of(sql: str) -> str:
    for name, pattern in STAGES:
        if pattern.search(sql):
            return name
    return OTHER


def stages(stderr: str) -> dict[str, float]:
    """Seconds per stage, in data-flow order (stages with no statement left out)."""
    totals = {name: 0.0 for name, _ in STAGES} | {OTHER: 0.0}
    for line in stderr.splitlines():
        match = PROFILE_LINE.match(line)
        if match:
            totals[stage_of(match["sql"])] += float(match["seconds"])
    return {name: round(seconds, 2) for name, seconds in totals.items() if seconds > 0}
