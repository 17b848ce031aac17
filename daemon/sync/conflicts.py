"""Deciding conflicts: take the feed's value, keep the directory's, or ignore.

A decision on a run that is not applied yet shapes its apply; on an applied run, 'take' changes
the directory at once (audited, and later plans are superseded).
"""

from __future__ import annotations

from daemon.audit import audit
from daemon.db import Database, sql_ident, sql_literal
from daemon.directory.integrity import Violation, broken_by_runs, broken_since
from daemon.directory.records import archive_attached, unarchive_attached
from daemon.errors import RosterSyncError
from daemon.sync.diff import CASCADES
from daemon.sync.kinds import table_named
from daemon.sync.policies import (
    ARCHIVED_IN_FEED,
    CONTACT_FIELDS,
    UNARCHIVED_BY_HAND_NOT_IN_FEED,
    unarchived_by_hand,
)
from daemon.sync.revert_values import REVERT_CONFLICT, take_reverts

DECISIONS = ("take", "keep", "ignore")
TAKEABLE = (
    "contact_protected",
    *ARCHIVED_IN_FEED,
    UNARCHIVED_BY_HAND_NOT_IN_FEED,
    "link_outside_sync",
    REVERT_CONFLICT,
)


# Runs whose conflicts can still be decided: before apply (planned, held), or after (applied).
# A rejected, superseded or failed run asked nothing that still stands.
_LIVE_RUNS = "SELECT run_id FROM runs WHERE status IN ('planned', 'held', 'applied')"


def open_conflict(alias: str = "c") -> str:
    """SQL: the conflict waits for a decision. Undecided, of a live run, and the newest asking
    of its question (a conflict raised again each night is one question, asked by the latest
    run: an older copy would take an older feed value)."""
    return f"""({alias}.decision IS NULL AND {alias}.run_id IN ({_LIVE_RUNS})
                AND NOT EXISTS (SELECT 1 FROM conflicts newer
                                WHERE newer.conflict_key = {alias}.conflict_key
                                  AND newer.conflict_id > {alias}.conflict_id
                                  AND newer.run_id IN ({_LIVE_RUNS})))"""


class ConflictError(RosterSyncError, ValueError):
    """A decision that cannot be made as asked; the message says why."""

    title = "Conflict not decided"


class TakeNotConfirmed(ConflictError):
    """Taking the feed's value on an applied run changes the directory at once, and the caller
    did not say that a person confirmed it (a screen that thought the run was still open)."""

    title = "Not taken: confirm it first"


def resolve_conflicts(
    db: Database,
    conflict_ids: list[int],
    decision: str,
    actor: str,
    *,
    take_now: bool = True,
) -> int:
    """Decide one or many conflicts; returns how many were decided.

    'take' on a conflict of an applied run changes the directory at once. A caller that did not
    ask a person first (the review UI, when it saw the run as open) passes `take_now=False`:
    then such a decision is refused, and nothing is decided."""
    if decision not in DECISIONS:
        raise ConflictError(f"'{decision}' is not a decision; use take, keep or ignore")
    conflict_ids = list(dict.fromkeys(conflict_ids))  # "6,6" is one conflict, decided once
    if not conflict_ids:
        return 0
    placeholders = ", ".join("?" for _ in conflict_ids)
    rows = db.rows(
        f"""SELECT c.conflict_id, c.kind, c.decision, r.status, c.run_id,
                   c.decision IS NULL AND NOT {open_conflict("c")} AS moot
            FROM conflicts c JOIN runs r USING (run_id)
            WHERE c.conflict_id IN ({placeholders})""",
        conflict_ids,
    )
    found = {r[0] for r in rows}
    missing = [i for i in conflict_ids if i not in found]
    if missing:
        raise ConflictError(f"there is no conflict {missing[0]}")
    for conflict_id, kind, current, run_status, run_id, moot in rows:
        if decision == "take" and kind not in TAKEABLE:
            raise ConflictError(
                f"conflict {conflict_id} ({kind}) has no feed value to take; use keep or ignore "
                "and fix the cause (merge duplicates, set the SIS id)"
            )
        if current is not None and run_status not in ("planned", "held"):
            raise ConflictError(f"conflict {conflict_id} was already decided ({current})")
        if moot:
            why = (
                f"its run {run_id} was {run_status}"
                if run_status not in ("planned", "held", "applied")
                else "a later run asks the same question (see `conflicts --open`)"
            )
            raise ConflictError(f"conflict {conflict_id} is no longer open: {why}")
    immediate = [r[0] for r in rows if r[3] not in ("planned", "held")]
    if decision == "take":
        if immediate and not take_now:
            _refuse_unconfirmed(
                sorted(immediate), sorted({r[4] for r in rows if r[0] in immediate})
            )
        _refuse_stale_contacts(db, immediate)
        _refuse_links_to_archived_people(db, conflict_ids)
        _refuse_takes_of_merged_records(db, conflict_ids)
        _refuse_stale_unarchives(db, conflict_ids)
        _refuse_memberships_without_their_owners(db, conflict_ids)
    with db.transaction():
        db.execute(
            f"""UPDATE conflicts SET decision = ?, decided_by = ?, decided_at = current_timestamp
                WHERE conflict_id IN ({placeholders})""",
            [decision, actor, *conflict_ids],
        )
        if decision == "take" and immediate:
            runs = _runs_of(db, immediate)
            broken_before = broken_by_runs(db, runs)
            _take(db, immediate)
            _refuse_a_broken_directory(immediate, broken_since(db, runs, broken_before))
            db.bump_directory_version()
        audit(
            db,
            actor,
            f"conflict.{decision}",
            target_kind="conflict",
            target_id=conflict_ids[0] if len(conflict_ids) == 1 else None,
            details={
                "conflict_ids": conflict_ids,
                "applied_now": immediate if decision == "take" else [],
            },
        )
    return len(conflict_ids)


def _runs_of(db: Database, conflict_ids: list[int]) -> list[int]:
    ids = ", ".join(str(int(i)) for i in conflict_ids)
    return [
        int(r[0])
        for r in db.rows(
            f"SELECT DISTINCT run_id FROM conflicts WHERE conflict_id IN ({ids}) ORDER BY 1"
        )
    ]


def _refuse_a_broken_directory(conflict_ids: list[int], broken: list[Violation]) -> None:
    """A take on an applied run writes the directory outside any apply: the invariants that
    every apply checks are checked here too, over the records the runs concerned wrote (a take
    marks what it changes with its run), before the commit; what the take broke refuses it."""
    if broken:
        raise ConflictError(
            f"taking {'conflict' if len(conflict_ids) == 1 else 'conflicts'} "
            + ", ".join(f"#{i}" for i in conflict_ids)
            + " would break the directory ("
            + "; ".join(v.describe() for v in broken)
            + "); nothing was taken. Please report this with the run's drop."
        )


def _refuse_unconfirmed(conflict_ids: list[int], run_ids: list[int]) -> None:
    conflicts = ", ".join(f"#{i}" for i in conflict_ids)
    runs = ", ".join(str(r) for r in run_ids)
    raise TakeNotConfirmed(
        f"{'conflict' if len(conflict_ids) == 1 else 'conflicts'} {conflicts}: "
        f"{'run' if len(run_ids) == 1 else 'runs'} {runs} {'is' if len(run_ids) == 1 else 'are'} "
        "applied, so taking the feed's value changes the directory at once; nothing was decided "
        "(decide again to be asked first)"
    )


def _refuse_stale_contacts(db: Database, conflict_ids: list[int]) -> None:
    """Taking a feed contact after the run was applied: the record must still hold the value
    the question was about (a person may have changed it since)."""
    if not conflict_ids:
        return
    ids = ", ".join(str(int(i)) for i in conflict_ids)
    for field in CONTACT_FIELDS:
        stale = db.rows(
            f"""SELECT c.conflict_id, u.{sql_ident(field)} FROM conflicts c
                JOIN users u ON u.user_id = c.record_id
                WHERE c.conflict_id IN ({ids}) AND c.kind = 'contact_protected'
                  AND c.field = {sql_literal(field)}
                  AND u.{sql_ident(field)} IS DISTINCT FROM c.directory_value
                ORDER BY 1 LIMIT 1"""
        )
        if stale:
            conflict_id, now = stale[0]
            raise ConflictError(
                f"conflict {conflict_id}: the {field.replace('_', ' ')} is "
                f"'{now or ''}' now, not what the question was about; nothing was taken "
                "(the next run asks again if the feed still differs)"
            )


# SQL: the record a user id stands for now (a merged record's survivor).
_SURVIVOR = "(SELECT coalesce(merged_into, user_id) FROM users WHERE user_id = {id})"


def _refuse_links_to_archived_people(db: Database, conflict_ids: list[int]) -> None:
    """Taking a link the feed asked for: both people must be active, or the link would be an
    active one of an archived person, which `roster-sync check` forbids."""
    ids = ", ".join(str(int(i)) for i in conflict_ids)
    archived = db.rows(
        f"""SELECT c.conflict_id, u.given_name || ' ' || u.family_name, u.sis_id FROM conflicts c
            JOIN users u ON u.user_id IN ({_SURVIVOR.format(id="c.record_id")},
                                          {_SURVIVOR.format(id="c.other_record_id")})
            WHERE c.conflict_id IN ({ids}) AND c.kind = 'link_outside_sync'
              AND u.status <> 'active'
            ORDER BY 1 LIMIT 1"""
    )
    if archived:
        conflict_id, name, sis_id = archived[0]
        raise ConflictError(
            f"conflict {conflict_id}: {name}{f' ({sis_id})' if sis_id else ''} is archived, and a "
            "link of an archived person cannot be active; nothing was taken (unarchive them "
            "first, or keep)"
        )


def _refuse_takes_of_merged_records(db: Database, conflict_ids: list[int]) -> None:
    """A conflict about a person's status (a revert's, or an archived person the feed lists
    again) whose person was merged since: their status belongs to the merge now, so taking it
    would do nothing, or make the merged record active; say so instead of deciding it."""
    ids = ", ".join(str(int(i)) for i in conflict_ids)
    archived_in_feed = ", ".join(sql_literal(k) for k in ARCHIVED_IN_FEED)
    merged = db.rows(
        f"""SELECT c.conflict_id, c.label, c.kind = {sql_literal(REVERT_CONFLICT)}
            FROM conflicts c JOIN users u ON u.user_id = c.record_id
            WHERE c.conflict_id IN ({ids}) AND c.record_kind = 'users' AND c.field = 'status'
              AND c.kind IN ({sql_literal(REVERT_CONFLICT)}, {archived_in_feed})
              AND u.status = 'merged'
            ORDER BY 1 LIMIT 1"""
    )
    if merged:
        conflict_id, label, revert = merged[0]
        outcome = (
            "the revert cannot change it; nothing was taken (undo the merge first, then "
            "archive it by hand if it should go)"
            if revert
            else "there is no one to bring back here; nothing was taken (the record kept is "
            "the survivor: unarchive that one if it should be active)"
        )
        raise ConflictError(
            f"conflict {conflict_id}: {label} was merged into another record since, so {outcome}"
        )


def apply_taken_conflicts(db: Database, run_id: int, actor: str) -> None:
    """At apply time, inside its transaction: the feed values chosen before applying."""
    ids = [
        r[0]
        for r in db.rows(
            "SELECT conflict_id FROM conflicts WHERE run_id = ? AND decision = 'take'", [run_id]
        )
    ]
    if ids:
        _take(db, ids)


def _take(db: Database, conflict_ids: list[int]) -> None:
    ids = ", ".join(str(int(i)) for i in conflict_ids)
    chosen = f"(SELECT * FROM conflicts WHERE conflict_id IN ({ids}) AND decision = 'take')"
    for field in CONTACT_FIELDS:
        db.execute(
            f"""UPDATE users SET {sql_ident(field)} = c.feed_value, updated_at = current_timestamp,
                       last_run = c.run_id
                FROM {chosen} c
                WHERE c.kind = 'contact_protected' AND c.field = {sql_literal(field)} AND users.user_id = c.record_id"""
        )
    # A person taken back gets back what their hand archive took, as `users unarchive` does
    # (what a run's archive took comes back with the feed's rows, the next night).
    kept = ", ".join(sql_literal(k) for k in ARCHIVED_IN_FEED)
    unarchive_attached(
        db,
        f"""SELECT u.user_id FROM {chosen} c JOIN users u ON u.user_id = c.record_id
            WHERE c.kind IN ({kept}) AND u.status = 'archived'""",
    )
    db.execute(
        f"""UPDATE users SET status = 'active', archived_run = NULL, archived_at = NULL,
                   updated_at = current_timestamp, last_run = c.run_id
            FROM {chosen} c
            WHERE c.kind IN ({kept}) AND users.user_id = c.record_id"""
    )
    _archive_as_the_feed_says(db, chosen)
    # The link joins the records the two people are now (a merge since: its survivor), and only
    # two active people (resolve_conflicts refuses the take otherwise). A link the pair had and
    # lost comes back rather than a second one for the same pair.
    pairs = f"""SELECT s.user_id AS student_id, g.user_id AS guardian_id, g.role, c.run_id,
                       c.source_file, c.source_line
                FROM {chosen} c
                JOIN users s ON s.user_id = {_SURVIVOR.format(id="c.record_id")}
                JOIN users g ON g.user_id = {_SURVIVOR.format(id="c.other_record_id")}
                WHERE c.kind = 'link_outside_sync' AND s.status = 'active' AND g.status = 'active'
                QUALIFY row_number() OVER (PARTITION BY s.user_id, g.user_id
                                           ORDER BY c.conflict_id) = 1"""
    db.execute(
        f"""UPDATE guardian_links SET status = 'active', archived_run = NULL, archived_at = NULL,
                   updated_at = current_timestamp, last_run = p.run_id
            FROM ({pairs}) p
            WHERE guardian_links.student_id = p.student_id
              AND guardian_links.guardian_id = p.guardian_id AND guardian_links.status = 'archived'
              AND NOT EXISTS (SELECT 1 FROM guardian_links l WHERE l.student_id = p.student_id
                              AND l.guardian_id = p.guardian_id AND l.status = 'active')"""
    )
    db.execute(
        f"""INSERT INTO guardian_links
            SELECT (SELECT coalesce(max(link_id), 0) FROM guardian_links)
                   + row_number() OVER (ORDER BY p.student_id, p.guardian_id),
                   p.student_id, p.guardian_id, p.role, 'active', 'sync', p.run_id, p.run_id, NULL,
                   current_timestamp, current_timestamp, NULL, p.source_file, p.source_line
            FROM ({pairs}) p
            WHERE NOT EXISTS (SELECT 1 FROM guardian_links l WHERE l.student_id = p.student_id
                              AND l.guardian_id = p.guardian_id)"""
    )
    take_reverts(db, chosen)


def _unarchive_asked(conflict: str, person: str) -> str:
    """SQL: the conflict `conflict` asks about the hand unarchive the person `person` has now
    (its key names the moment: one archived and unarchived again since is another question)."""
    return f"""({conflict}.kind = {sql_literal(UNARCHIVED_BY_HAND_NOT_IN_FEED)}
                AND {conflict}.conflict_key = 'unarchived:' || {person}.user_id || ':'
                    || epoch_us({person}.unarchived_by_hand_at))"""


def _refuse_memberships_without_their_owners(db: Database, conflict_ids: list[int]) -> None:
    """Taking a revert's question that brings back a membership, link or attribute: each person
    and classroom it belongs to must be active, or come back in the same decision (its own
    question taken with it, now or before): none is active without them (`roster-sync check`)."""
    ids = ", ".join(str(int(i)) for i in conflict_ids)
    revert = sql_literal(REVERT_CONFLICT)
    pieces = []
    for child, refs in CASCADES.items():
        child_id = table_named(child).id_col
        for column, parent in refs:
            parent_id = table_named(parent).id_col
            owner = "o.given_name || ' ' || o.family_name" if parent == "users" else "o.name"
            pieces.append(
                f"""SELECT c.conflict_id, c.label, {sql_literal("person" if parent == "users" else "class")},
                           {owner}, o.sis_id,
                           (SELECT min(q.conflict_id) FROM conflicts q
                            WHERE q.run_id = c.run_id AND q.kind = {revert}
                              AND q.record_kind = {sql_literal(parent)} AND q.record_id = o.{parent_id}
                              AND q.field = 'status' AND q.feed_value = 'active') AS asked
                    FROM conflicts c JOIN {child} d ON d.{child_id} = c.record_id
                    JOIN {parent} o ON o.{parent_id} = d.{column}
                    WHERE c.conflict_id IN ({ids}) AND c.kind = {revert}
                      AND c.record_kind = {sql_literal(child)} AND c.field = 'status'
                      AND c.feed_value = 'active' AND o.status <> 'active'
                      AND NOT EXISTS (
                          SELECT 1 FROM conflicts q
                          WHERE q.run_id = c.run_id AND q.kind = {revert}
                            AND q.record_kind = {sql_literal(parent)} AND q.record_id = o.{parent_id}
                            AND q.field = 'status' AND q.feed_value = 'active'
                            AND (q.conflict_id IN ({ids}) OR q.decision = 'take'))"""
            )
    left = db.rows(" UNION ALL ".join(pieces) + " ORDER BY 1 LIMIT 1")
    if left:
        conflict_id, label, what, name, sis_id, asked = left[0]
        then = (
            f"take its question too (conflict {asked}), or keep"
            if asked is not None
            else "bring it back first, or keep"
        )
        raise ConflictError(
            f"conflict {conflict_id}: {label} cannot come back while its {what} {name}"
            f"{f' ({sis_id})' if sis_id else ''} stays archived; nothing was taken ({then})"
        )


def _refuse_stale_unarchives(db: Database, conflict_ids: list[int]) -> None:
    """Taking the feed's archive of a person unarchived by hand: they must still be as the
    question found them. Archived, merged or unarchived again since is a decision of its own,
    and the feed listing them since ended the hand unarchive: each is said as what it is, with
    what to do."""
    ids = ", ".join(str(int(i)) for i in conflict_ids)
    stale = db.rows(
        f"""SELECT c.conflict_id, c.label || CASE
                WHEN u.status = 'merged' THEN ' was merged into another record since; nothing '
                     || 'was taken (archive the record kept by hand if they should go)'
                WHEN u.status <> 'active' THEN ' was archived since the question was asked; '
                     || 'nothing is left to take'
                WHEN u.unarchived_by_hand_at IS NULL THEN ' was listed by the feed since, which '
                     || 'ended their hand unarchive; nothing was taken (a run that leaves them '
                     || 'out archives them)'
                ELSE ' was archived and unarchived by hand again since, a decision of its own; '
                     || 'nothing was taken (the next run that leaves them out asks about that one)'
                END
            FROM conflicts c JOIN users u ON u.user_id = c.record_id
            WHERE c.conflict_id IN ({ids}) AND c.kind = {sql_literal(UNARCHIVED_BY_HAND_NOT_IN_FEED)}
              AND NOT ({unarchived_by_hand("u")} AND {_unarchive_asked("c", "u")})
            ORDER BY 1 LIMIT 1"""
    )
    if stale:
        conflict_id, why = stale[0]
        raise ConflictError(f"conflict {conflict_id}: {why}")


def _archive_as_the_feed_says(db: Database, chosen: str) -> None:
    """People unarchived by hand whom the feed left out, taken: archived by the run that asked
    (as the feed's archive would have: the feed listing them again brings them back), with what
    is attached to them, and no longer hand unarchives. One statement per table for each run
    asking (a person asked by two runs at once goes with the later)."""
    asked = f"""SELECT u.user_id, max(c.run_id) AS run_id FROM {chosen} c
                JOIN users u ON u.user_id = c.record_id
                WHERE {_unarchive_asked("c", "u")} AND u.status = 'active' GROUP BY u.user_id"""
    runs = [int(r[0]) for r in db.rows(f"SELECT DISTINCT run_id FROM ({asked}) ORDER BY 1")]
    for run_id in runs:  # the people stay active until the last statement
        archive_attached(db, f"SELECT user_id FROM ({asked}) WHERE run_id = {run_id}", run_id)
    if runs:
        db.execute(
            f"""UPDATE users SET status = 'archived', archived_run = t.run_id,
                       archived_at = current_timestamp, unarchived_by_hand_at = NULL,
                       updated_at = current_timestamp, last_run = t.run_id
                FROM ({asked}) t WHERE users.user_id = t.user_id"""
        )
