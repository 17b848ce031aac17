"""Telling unchanged feed rows apart cheaply, so a nightly run resolves only what changed.

A synced enrollment remembers the hash of the feed row it came from (`source_hash`) and of its
own values as the sync wrote them (`synced_hash`). A feed row whose hash equals the remembered
one, for a record nobody has touched since (its values still hash to `synced_hash`), needs no
class or user lookups and no comparison: it is present and unchanged. Everything else takes the
full path. Settings that shape enrollments are part of the feed row's hash, so changing them
sends every row through the full path once.
"""

from __future__ import annotations

from daemon.db import sql_ident, sql_literal
from daemon.sync.context import PlanContext

ENROLLMENT_VALUES = (
    "classroom_id",
    "user_id",
    "role",
    "sis_id",
    "is_primary",
    "begin_date",
    "end_date",
)


def synced_hash_of(alias: str, status: str, origin: str) -> str:
    """The hash of an enrollment's own values with a status and origin (as the sync leaves them)."""
    cols = ", ".join(f"{alias}.{c}" for c in ENROLLMENT_VALUES)
    return f"hash({cols}, {status}, {origin})"


def synced_hash(alias: str) -> str:
    return synced_hash_of(alias, f"{alias}.status", f"{alias}.origin")


def enrollment_source_hash(ctx: PlanContext, alias: str) -> str:
    """The hash of a feed row's values and of the settings that decide what they become."""
    shaping = sql_literal(f"{ctx.settings.classroom_filter}|{ctx.settings.school_matching}")
    cols = ", ".join(
        f"{alias}.{sql_ident(c)}"
        for c in (
            "classSourcedId",
            "userSourcedId",
            "role",
            "primary",
            "beginDate",
            "endDate",
            "status",
        )
    )
    return f"hash({cols}, {shaping})"


def find_unchanged_enrollments(ctx: PlanContext) -> None:
    """Feed lines whose enrollment is synced, untouched since, and sent again as it was."""
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t("unchanged_enrollments")} AS
        SELECT e._line, d.enrollment_id AS id
        FROM {ctx.good("enrollments")} e
        ANTI JOIN {ctx.t("repeated_enrollments")} r ON r._line = e._line
        JOIN enrollments d ON d.sis_id = e.sourcedId
        WHERE d.status = 'active' AND d.origin = 'sync'
          AND d.source_hash = {enrollment_source_hash(ctx, "e")}
          AND d.synced_hash = {synced_hash("d")}
        """
    )
