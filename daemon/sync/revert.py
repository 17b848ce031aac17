"""Undoing an applied run: a new run, planned like any other, that restores what it changed.

Records the run created are archived, fields it updated get their old values back, records it
archived (withheld ones approved later included) are unarchived and records it unarchived are
archived again; memberships and links likewise, as records of their own tables. What a person
made that an archive the revert undoes took, or was handed since (a hand-made class brought back
while its member was archived: directory/records.py), comes back with that person or classroom
though no change of the run lists it, as the revert's own change; one whose classroom or other
person is archived now is handed to that one's archive, to come back with it. The revert is a
normal run: reviewed, held or withheld by the deletion threshold, applied in one transaction and
audited with `reverted_run`. What a later run or a hand edit touched since is never overwritten
silently: that field or record becomes a conflict (take restores it, keep leaves it), as does a
field of a record archived since (the revert does not write an archived record); so does
a contact detail the nightly feed would not overwrite either (an activated or hand-edited
account, sync/policies.py), and a field already back at its old value is left alone. A person or
classroom the revert archives takes its memberships, links and attributes with it, as a sync's
archive does; one it does not bring back (archived or merged since) keeps them archived. A
person merged since, survivor or merged record, counts as changed since: a conflict. A
conflict of the run a person took (a protected contact, a person archived by hand brought back)
changed the directory outside the run's changes: the revert asks whether to undo that decision
too (keep, the suggestion, leaves it); so does a guardian link a person made by taking one of
its conflicts. A run is reverted once: reverting it again is refused, naming the revert, unless
that revert left a question open (a record merged since, which the revert could not touch): then
a revert planned again does only what the first one left, and asks again.
Reverting a revert restores the first run's changes, since a revert's changes are ordinary
changes of its own. The reference data the run changed (courses, academic sessions, roles) is
restored too, row by row, unless a later run changed it again since (sync/reference.py). Two
things are not restored: a record the run adopted from a hand-made one
stays with the sync (origin), and a record it unarchived is archived again with the values it
has now. Enrollments a revert changes forget the feed row they matched, so the next drop
compares them in full.
"""

from __future__ import annotations

import time
from typing import Any

from daemon.audit import audit
from daemon.db import Database, sql_ident, sql_literal
from daemon.directory.orgs import schools_in_orgs
from daemon.ingest import run_schema
from daemon.settings import load_settings
from daemon.sync import kinds
from daemon.sync.context import PlanContext
from daemon.sync.diff import (
    CASCADES,
    back_with_their_person,
    count_changes,
    hand_over_what_waits,
    parents_active_after,
    record_changes,
)
from daemon.sync.feed.classes import note_what_hand_made_stays_in_archived_schools
from daemon.sync.kinds import USER_CHANGE_KINDS_SQL, table_named
from daemon.sync.plan import SCHOOL_SIS
from daemon.sync.policies import (
    ARCHIVED_IN_FEED,
    CONTACT_FIELDS,
    CONTACTS_PROTECTED,
    UNARCHIVED_BY_HAND_NOT_IN_FEED,
    insert_conflicts,
)
from daemon.sync.reference import plan_reference_revert
from daemon.sync.revert_values import (
    REVERT_CONFLICT,
    TAKEN_HAND_REFERENCES,
    column_types,
    planned_at,
    restored,
    shown,
)
from daemon.sync.runs import _PLANNING, RunError, finish_plan
from daemon.words import counted

# A contact detail of an activated or hand-edited user: the revert asks, as the feed does
# (sync/policies.py `_protect_contacts`), and keeps the directory's value unless taken.
PROTECTED_CONFLICT = "contact_protected"
KINDS_OF = {
    "users": ("students", "staff", "guardians"),
}
LABELS = {
    "users": "d.given_name || ' ' || d.family_name",
    "schools": "d.name",
    "classrooms": "d.name",
    "student_attributes": "d.name",
    # as a membership's or link's change reads ('stu-1 in cls-a2'), not its record's number
    **{
        table: f"coalesce({kinds.reference_label(table)}, "
        f"CAST(d.{table_named(table).id_col} AS VARCHAR))"
        for table in kinds.REFERENCES
    },
}


def plan_revert(db: Database, target: int, *, actor: str) -> int:
    """Plan the run that undoes `target` (an applied run); returns the new run's id."""
    rows = db.dicts("SELECT status, decided_at FROM runs WHERE run_id = ?", [target])
    if not rows:
        raise RunError(f"there is no run {target}")
    if rows[0]["status"] != "applied":
        raise RunError(
            f"run {target} is {rows[0]['status']}; only an applied run changed the directory and "
            "can be reverted"
        )
    applied_at = rows[0]["decided_at"]
    reverted_by = db.rows(
        "SELECT run_id FROM runs WHERE reverted_run = ? AND status = 'applied' ORDER BY run_id",
        [target],
    )
    left = _questions_left(db, [int(r[0]) for r in reverted_by])
    if reverted_by and not left:
        by = reverted_by[0][0]
        raise RunError(
            f"run {target} was already reverted by run {by}, which left no question open; a run "
            f"is reverted once (to undo that revert, revert run {by})"
        )
    open_revert = db.one(
        "SELECT min(run_id) FROM runs WHERE reverted_run = ? AND status IN ('planned', 'held')",
        [target],
    )
    if open_revert is not None:  # a second plan would only wait beside it
        raise RunError(
            f"run {open_revert}, a revert of run {target}, is open already; apply it or reject "
            "it first"
        )
    taken = _taken_hand_references(db, target)
    if refused := [t for t in taken if t["naming"] is None]:
        t = refused[0]
        raise RunError(
            f"run {target} cannot be reverted: it would put user {t['user_id']} back at "
            f"'{t['ref']}', which named school {t['school_id']} ({t['name']}) and is the SIS id "
            f"of school {t['taker']} now; give school {t['school_id']} a SIS id first "
            f"(roster-sync schools add-sis-id {t['school_id']} SIS_ID), then revert again"
        )
    run_id = int(db.one("SELECT nextval('run_ids')"))
    _PLANNING.add(run_id)
    started = time.monotonic()
    try:
        db.execute(
            """INSERT INTO runs (run_id, source, source_kind, status, created_at, created_by,
                                 reverted_run)
               VALUES (?, ?, 'revert', 'loading', current_timestamp, ?, ?)""",
            [run_id, f"revert of run {target}", actor, target],
        )
        schema = run_schema(run_id)
        db.execute(f"CREATE SCHEMA IF NOT EXISTS {sql_ident(schema)}")
        ctx = PlanContext(
            db=db, run_id=run_id, schema=schema, settings=load_settings(db), modes={},
            file_names={},
        )  # fmt: skip
        base_version = db.directory_version()
        with db.unordered():
            for table in kinds.TABLES:
                _plan_table(ctx, table, target, applied_at)
            _keep_schools_with_what_stays(ctx, target)
            note_what_hand_made_stays_in_archived_schools(ctx)
            counts: dict[str, dict[str, int]] = {
                k: {op: 0 for op in kinds.OPS} for k in kinds.CHANGE_KINDS
            }
            for table in kinds.TABLES:
                display = {"school_id": SCHOOL_SIS} if table.name == "classrooms" else None
                record_changes(ctx, table, display)
            for kind, op, n in count_changes(ctx, kinds.TABLES):
                counts[kind][op] = int(n)
            db.execute(
                "UPDATE changes SET note = ? WHERE run_id = ?", [f"undoes run {target}", run_id]
            )
            plan_reference_revert(ctx, target)
        ctx.drop_all()
        conflicts = dict(
            db.rows("SELECT kind, count(*) FROM conflicts WHERE run_id = ? GROUP BY kind", [run_id])
        )
        if n := int(conflicts.get(REVERT_CONFLICT, 0)):
            ctx.note(
                "revert",
                f"{n:,} change{'s' if n != 1 else ''} of run {target} "
                f"{'were' if n != 1 else 'was'} changed again since (by a later run or by hand): "
                "conflicts, take restores, keep leaves as it is",
            )
        for t in taken:
            ctx.note(
                "revert",
                f"'{t['ref']}' in user {t['user_id']}'s orgs named school {t['school_id']} "
                f"({t['name']}) when run {target} changed it, and is the SIS id of school "
                f"{t['taker']} now: it is restored as '{t['naming']}', school "
                f"{t['school_id']}'s own SIS id, so they go back to the school they were at",
            )
        if reverted_by:
            ctx.note(
                "revert",
                f"run {target} was reverted by run {reverted_by[-1][0]} already, which left "
                f"{left:,} question{'s' if left != 1 else ''} open: this revert does only what "
                "that one could not (what it restored is as it left it), and asks again",
            )
        if n := _ask_about_taken_conflicts(ctx, target) + _ask_about_taken_reverts(ctx, target):
            ctx.note(
                "revert",
                f"{n:,} conflict{'s' if n != 1 else ''} of run {target} a person took "
                f"{'stand' if n != 1 else 'stands'}: a person's decision, which the revert "
                "does not undo unless you take the conflict it asks (keep leaves it)",
            )
        if n := int(conflicts.get(PROTECTED_CONFLICT, 0)):
            ctx.note(
                "revert",
                f"{n:,} contact detail{'s' if n != 1 else ''} run {target} changed belong to "
                "activated or hand-edited users, whose contacts the sync does not overwrite "
                "(update_active_users_contacts = false): conflicts, take restores, keep leaves",
            )
        finish_plan(db, ctx, counts, base_version, {"plan": time.monotonic() - started}, [])
        audit(
            db, actor, "run.revert", target_kind="run", target_id=run_id,
            details={"reverted_run": target},
        )  # fmt: skip
    except Exception as exc:
        db.execute(
            "UPDATE runs SET status = 'failed', error = ? WHERE run_id = ?",
            [f"internal error while planning the revert: {type(exc).__name__}: {exc}", run_id],
        )
        raise
    finally:
        _PLANNING.discard(run_id)
    return run_id


def _taken_hand_references(db: Database, target: int) -> list[dict[str, Any]]:
    """The hand references '#N' (directory/orgs.py) the target changed out of people's orgs
    that a school other than N has come to answer to since: restored as they were, the person
    would move to that school. Each is restored as school N's own SIS id (`naming`), as a run
    bringing that school renames them (sync/apply.py); one whose school has none refuses the
    revert, as such a run is refused."""
    taken = TAKEN_HAND_REFERENCES.format(at=planned_at(str(int(target))))
    return db.dicts(
        f"""SELECT DISTINCT x.record_id AS user_id, t.ref, t.school_id, t.name, t.naming,
                   t.taker || ' (' || (SELECT name FROM schools WHERE school_id = t.taker) || ')'
                   AS taker
            FROM (SELECT record_id, unnest(fields) AS f FROM changes
                  WHERE run_id = {int(target)} AND op = 'update'
                    AND kind IN {USER_CHANGE_KINDS_SQL}) x
            JOIN ({taken}) t
              ON list_contains(list_transform(string_split(x.f.old, ','), lambda o: trim(o)), t.ref)
            WHERE x.f.field = 'org_sis_ids'
            ORDER BY t.naming NULLS FIRST, x.record_id, t.ref"""
    )


def _questions_left(db: Database, reverts: list[int]) -> int:
    """The questions applied reverts of a run left undecided: what they could not do without a
    person (a record merged since, whose question says to undo the merge and plan the revert
    again). While one is open, the run may be reverted again: that revert finds what the first
    one restored as it left it, so it does only what is left, and asks again what is still in
    question (a question kept or ignored is not asked again: sync/policies.py insert_conflicts)."""
    if not reverts:
        return 0
    runs = ", ".join(str(r) for r in reverts)
    return int(
        db.one(f"SELECT count(*) FROM conflicts WHERE run_id IN ({runs}) AND decision IS NULL") or 0
    )


def _ask_about_taken_conflicts(ctx: PlanContext, target: int) -> int:
    """A conflict of the target a person took (a contact detail the feed may not overwrite, a
    person archived by hand brought back, a guardian link the feed asked for outside the sync)
    changed the directory outside the target's changes:
    the revert asks whether to undo that decision too, rather than leave it unsaid. Only where
    the record is still as the decision left it. Returns how many it asks."""
    t = int(target)
    current = "CASE c.field " + " ".join(
        f"WHEN {sql_literal(f)} THEN CAST(u.{sql_ident(f)} AS VARCHAR)" for f in CONTACT_FIELDS
    )
    kept = ", ".join(sql_literal(k) for k in ARCHIVED_IN_FEED)
    record = f"""{sql_literal(REVERT_CONFLICT)} AS kind, 'users' AS record_kind,
                 u.user_id AS record_id, NULL AS other_record_id, u.sis_id,
                 u.given_name || ' ' || u.family_name AS label"""
    taken = f"""FROM conflicts c JOIN users u ON u.user_id = c.record_id
                WHERE c.run_id = {t} AND c.decision = 'take' AND u.status = 'active'"""
    before = ctx.db.one(f"SELECT count(*) FROM conflicts WHERE run_id = {ctx.run_id}")
    insert_conflicts(
        ctx,
        f"""
        SELECT {record}, c.field, c.directory_value AS feed_value, {current} END AS directory_value,
               'a person took run {t}''s ' || replace(c.field, '_', ' ') || ' '
               || coalesce('''' || c.feed_value || '''', 'nothing') || ' over '
               || coalesce('''' || c.directory_value || '''', 'nothing') || ' (conflict '
               || c.conflict_id || '); reverting leaves that decision unless you take this, '
               || 'which restores ' || coalesce('''' || c.directory_value || '''', 'nothing')
               AS message,
               'keep' AS suggestion, false AS blocking,
               'revert:{t}:taken:' || c.conflict_id AS conflict_key, u.source_file, u.source_line
        {taken} AND c.kind = {sql_literal(PROTECTED_CONFLICT)}
          AND {current} END IS NOT DISTINCT FROM c.feed_value
        UNION ALL
        SELECT {record}, 'status', 'archived', 'active',
               'archived by hand, then brought back by a person who took run {t}''s conflict '
               || c.conflict_id || '; reverting leaves them unless you take this, which '
               || 'archives them again', 'keep', false, 'revert:{t}:taken:' || c.conflict_id,
               u.source_file, u.source_line
        {taken} AND c.kind IN ({kept})
        UNION ALL
        SELECT {record}, 'status', 'active', 'archived',
               'unarchived by hand, then archived as the feed said by a person who took run {t}''s '
               || 'conflict ' || c.conflict_id || '; reverting leaves them archived unless you '
               || 'take this, which brings them back, unarchived by hand as before',
               'keep', false, 'revert:{t}:taken:' || c.conflict_id, u.source_file, u.source_line
        FROM conflicts c JOIN users u ON u.user_id = c.record_id
        WHERE c.run_id = {t} AND c.decision = 'take' AND u.status = 'archived'
          AND u.archived_run = {t} AND c.kind = {sql_literal(UNARCHIVED_BY_HAND_NOT_IN_FEED)}
        UNION ALL
        SELECT {sql_literal(REVERT_CONFLICT)}, 'guardian_links', l.link_id, NULL, s.sis_id,
               g.given_name || ' ' || g.family_name || ' for ' || s.given_name || ' '
               || s.family_name, 'status', 'archived', 'active',
               'a person took run {t}''s conflict ' || c.conflict_id || ', linking this guardian '
               || 'to a student the sync did not manage; reverting leaves the link unless you '
               || 'take this, which archives it', 'keep', false,
               'revert:{t}:taken:' || c.conflict_id, l.source_file, l.source_line
        FROM ({_links_a_person_took(t)}) l
        JOIN conflicts c ON c.conflict_id = l.conflict_id
        JOIN users s ON s.user_id = l.student_id JOIN users g ON g.user_id = l.guardian_id
        """,
    )
    return int(ctx.db.one(f"SELECT count(*) FROM conflicts WHERE run_id = {ctx.run_id}")) - int(
        before
    )


def _ask_about_taken_reverts(ctx: PlanContext, target: int) -> int:
    """A conflict of a revert a person took (a field or record changed since, restored all the
    same) changed the directory outside that revert's changes: reverting that revert asks
    whether to undo the decision too (keep, the suggestion, leaves it; take puts back what the
    record held before), as for the other conflicts a person took. Only where the record is
    still as the decision left it. Returns how many it asks."""
    t, asked = int(target), 0
    for table in kinds.TABLES:
        name, id_col = table.name, table.id_col
        current = (
            "CASE c.field WHEN 'status' THEN d.status "
            + " ".join(
                f"WHEN {sql_literal(col)} THEN {shown(name, col, f'd.{col}')}"
                for col in table.compared
            )
            + " END"
        )
        sis = "d.sis_id" if "sis_id" in table.compared else "CAST(NULL AS VARCHAR)"
        label = LABELS.get(name, f"CAST(d.{id_col} AS VARCHAR)")
        before = int(ctx.db.one(f"SELECT count(*) FROM conflicts WHERE run_id = {ctx.run_id}"))
        insert_conflicts(
            ctx,
            f"""
            SELECT {sql_literal(REVERT_CONFLICT)} AS kind, {sql_literal(name)} AS record_kind,
                   d.{id_col} AS record_id, NULL AS other_record_id, {sis} AS sis_id,
                   {label} AS label, c.field, c.directory_value AS feed_value,
                   {current} AS directory_value,
                   'a person took run {t}''s conflict ' || c.conflict_id || ', setting '
                   || replace(c.field, '_', ' ') || ' to '
                   || coalesce('''' || c.feed_value || '''', 'nothing') || ' over '
                   || coalesce('''' || c.directory_value || '''', 'nothing') || '; reverting '
                   || 'leaves that decision unless you take this, which restores '
                   || coalesce('''' || c.directory_value || '''', 'nothing') AS message,
                   'keep' AS suggestion, false AS blocking,
                   'revert:{t}:taken:' || c.conflict_id AS conflict_key,
                   d.source_file, d.source_line
            FROM conflicts c JOIN {name} d ON d.{id_col} = c.record_id
            WHERE c.run_id = {t} AND c.decision = 'take'
              AND c.kind = {sql_literal(REVERT_CONFLICT)} AND c.record_kind = {sql_literal(name)}
              AND d.status <> 'merged'
              AND (c.field <> 'status' OR c.directory_value IN ('active', 'archived'))
              AND {current} IS NOT DISTINCT FROM c.feed_value
            """,
        )
        asked += int(ctx.db.one(f"SELECT count(*) FROM conflicts WHERE run_id = {ctx.run_id}"))
        asked -= before
    return asked


def _links_a_person_took(target: int) -> str:
    """SQL: the active guardian links a person made by taking a `link_outside_sync` conflict of
    the target (sync/conflicts.py `_take`: between the records the two people are, a merge's
    survivor), with the conflict. The take gave them the target as their run, yet no change of
    the target made them: a person's decision, which the revert asks about (keep leaves it)
    rather than archive as the target's own."""
    survivor = "(SELECT coalesce(merged_into, user_id) FROM users WHERE user_id = {})"
    return f"""SELECT l.*, c.conflict_id FROM conflicts c
               JOIN guardian_links l ON l.student_id = {survivor.format("c.record_id")}
                                    AND l.guardian_id = {survivor.format("c.other_record_id")}
               WHERE c.run_id = {int(target)} AND c.decision = 'take'
                 AND c.kind = 'link_outside_sync' AND l.status = 'active'"""


def _kind_filter(table: kinds.Table, alias: str = "kind") -> str:
    names = KINDS_OF.get(table.name) or (table.change_kind or table.name,)
    return f"{alias} IN ({', '.join(sql_literal(k) for k in names)})"


def _plan_table(ctx: PlanContext, table: kinds.Table, target: int, applied_at: Any) -> None:
    """plan_<table> of the revert, shaped as a drop's plan (sync/diff.py) so apply and the
    change records work the same; and the revert's conflicts for this table."""
    db, name, id_col = ctx.db, table.name, table.id_col
    cols = list(table.compared)
    types = column_types(db, name)
    t = int(target)
    at = f"CAST({sql_literal(str(applied_at))} AS TIMESTAMP)" if applied_at else "NULL"
    merged_since = _merged_since(table, at)
    # In the hands the target left it in: a record it adopted from a hand-made one may be
    # hand-made again since (a merge undone). A membership, link or attribute keeps its maker
    # (kinds.Table.adopts_hand_made): one a person made that the target brought back with its
    # person is the target's to undo as well.
    same_hands = "d.origin = 'sync'" if table.adopts_hand_made else "true"
    # A link a person made by taking one of the target's conflicts is theirs (asked about in
    # `_ask_about_taken_conflicts`), not one the target created.
    created = f"d.created_run = {t}"
    if name == "guardian_links":
        created += f" AND d.link_id NOT IN (SELECT link_id FROM ({_links_a_person_took(t)}))"
    untouched = f"""{same_hands} AND coalesce(d.last_run, 0) <= {t}
                    AND (d.updated_at IS NULL OR {at} IS NULL OR d.updated_at <= {at})
                    AND NOT ({merged_since})"""
    since = f"""CASE WHEN d.status = 'merged' THEN 'merged into another record since'
                     WHEN {merged_since} THEN 'kept as the survivor of a merge since'
                     WHEN d.status = 'archived' THEN 'archived ' || coalesce('by run ' || d.archived_run, 'by hand') || ' since'
                     WHEN NOT ({same_hands}) THEN 'managed by hand since'
                     WHEN coalesce(d.last_run, 0) > {t} THEN 'changed by run ' || d.last_run || ' since'
                     ELSE 'edited by hand since' END"""
    fields = ctx.t("revert_fields")
    current = (
        "CASE f.field "
        + " ".join(f"WHEN {sql_literal(c)} THEN {shown(name, c, f'd.{c}')}" for c in cols)
        + " END"
    )
    # Fields the target updated, whether each is still what the target made it (or back at what
    # it was), and whether it is a contact detail the sync leaves alone.
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE {fields} AS
            SELECT x.record_id AS id, x.f.field AS field, x.f.old AS old, x.f.new AS new,
                   {current} AS now, {_holds(table, "x.f.new", types, t)} AS still_new,
                   {_holds(table, "x.f.old", types, t)} AS back_old,
                   d.status = 'active' AND d.origin = 'sync' AS active,
                   {_protected(ctx, table)} AS protected
            FROM (SELECT record_id, unnest(fields) AS f FROM changes
                  WHERE run_id = {t} AND op = 'update' AND {_kind_filter(table)}) x
            JOIN {name} d ON d.{id_col} = x.record_id
            WHERE x.f.field IN ({", ".join(sql_literal(c) for c in cols)})"""
    )
    school_stays, moves_back = "true", "true"
    if name == "classrooms":
        # A class goes back to a school, or comes back at all, only where that school is active
        # after the revert: never into one archived since (`check`'s rule, and a night's). Nor
        # does the revert ask to: taking such a question would break the rule (a note says it).
        school_stays = _school_active_after(ctx, "d.school_id")
        old_school = restored(name, "school_id", "f.old", types, planned_at(str(t)))
        moves_back = f"NOT (f.field = 'school_id' AND NOT {_school_active_after(ctx, old_school)})"
    elif name == "users":
        # So does a person the sync made: back only where one of the schools they name is
        # active after the revert, and their orgs back only to such a school.
        archived = f"SELECT user_id AS who, org_sis_ids FROM users WHERE status = 'archived' AND origin = 'sync' AND user_id IN ({_archived_by(t, table)})"
        school_stays = f"d.user_id NOT IN ({_out_of_active_schools_after(ctx, archived)})"
        old_orgs = f"SELECT id AS who, old AS org_sis_ids FROM {fields} WHERE field = 'org_sis_ids'"
        moves_back = f"NOT (f.field = 'org_sis_ids' AND f.id IN ({_out_of_active_schools_after(ctx, old_orgs)}))"
    restorable = f"""SELECT * FROM {fields} f
                     WHERE active AND still_new AND NOT protected AND {moves_back}"""
    pivot = ", ".join(
        f"bool_or(field = {sql_literal(c)}) AS has_{c}, max(old) FILTER (WHERE field = {sql_literal(c)}) AS old_{c}"
        for c in cols
    )
    values = ", ".join(
        f"CASE WHEN r.has_{c} THEN {restored(name, c, f'r.old_{c}', types, planned_at(str(t)))} ELSE d.{c} END AS {sql_ident(c)}"
        for c in cols
    )
    same = ", ".join(f"d.{c}" for c in cols)
    source = ", CAST(NULL AS UBIGINT) AS _source_hash" if table.hashed else ""
    if table.raw_hashed:
        source += ", CAST(NULL AS UBIGINT) AS _raw_hash"
    tail = f"d.source_file AS _file, d.source_line AS _line, NULL AS _label{source}"
    archived_by_target = _archived_by(t, table)
    unarchived_by_target = f"""SELECT record_id FROM changes WHERE run_id = {t}
                               AND op = 'unarchive' AND {_kind_filter(table)}"""
    db.execute(
        f"""
        CREATE OR REPLACE TABLE {ctx.keep(f"plan_{name}")} AS
        -- what the target created: archived again
        SELECT 'archive' AS op, d.{id_col} AS id, {same}, {tail} FROM {name} d
        WHERE {created} AND d.status = 'active' AND {untouched}
        UNION ALL
        -- what it archived: unarchived, if nobody archived or edited it since, and only with
        -- the people and classroom it belongs to
        SELECT 'unarchive', d.{id_col}, {same}, {tail} FROM {name} d
        WHERE d.{id_col} IN ({archived_by_target}) AND d.status = 'archived'
          AND d.archived_run = {t} AND {same_hands} AND {parents_active_after(ctx, name)}
          AND {school_stays}
        UNION ALL
        -- what it unarchived: archived again
        SELECT 'archive', d.{id_col}, {same}, {tail} FROM {name} d
        WHERE d.{id_col} IN ({unarchived_by_target}) AND d.status = 'active' AND {untouched}
        UNION ALL
        -- the fields it updated, where they are still what it made them
        SELECT 'update', d.{id_col}, {values}, {tail}
        FROM {name} d JOIN (SELECT id, {pivot} FROM ({restorable}) GROUP BY id) r
          ON r.id = d.{id_col}
        """
    )
    plan = ctx.keep(f"plan_{name}")
    if name == "classrooms":
        _note_classes_kept_out_of_archived_schools(ctx, target, fields, old_school)
    elif name == "users":
        _note_people_kept_out_of_archived_schools(ctx, target, school_stays, moves_back, fields)
    by_parent = " OR ".join(
        f"d.{column} IN (SELECT id FROM {ctx.keep(f'plan_{parent}')} WHERE op = 'archive')"
        for column, parent in CASCADES.get(name, ())
    )
    if by_parent:
        # A person or classroom the revert archives takes its memberships, links and attributes
        # with it, as a sync's archive does (sync/diff.py): changed since or not, none of them
        # stays active without it.
        cascaded = f"""SELECT d.{id_col} FROM {name} d
                       WHERE d.status = 'active' AND d.origin = 'sync' AND ({by_parent})"""
        db.execute(f"DELETE FROM {plan} WHERE op <> 'archive' AND id IN ({cascaded})")
        db.execute(
            f"""INSERT INTO {plan}
                SELECT 'archive', d.{id_col}, {same}, {tail} FROM {name} d
                WHERE d.{id_col} IN ({cascaded}) AND d.{id_col} NOT IN (SELECT id FROM {plan})"""
        )
    if back := back_with_their_person(ctx, table, same, source):
        # What a person made that the target's archive of a person or classroom took, or that
        # was handed to it since (directory/records.py unarchive_attached), comes back with
        # them: no change of the target lists it, and nothing else would bring it back.
        db.execute(
            f"INSERT INTO {plan} SELECT * FROM ({back}) WHERE id NOT IN (SELECT id FROM {plan})"
        )
    hand_over_what_waits(ctx, table)
    kept_by_plan = f"d.{id_col} NOT IN (SELECT id FROM {plan} WHERE op = 'archive')"
    label = LABELS.get(name, f"CAST(d.{id_col} AS VARCHAR)")
    sis = "d.sis_id" if "sis_id" in cols else "CAST(NULL AS VARCHAR)"
    key = f"'revert:{t}:{name}:' || d.{id_col}"
    record = f"""{sql_literal(REVERT_CONFLICT)} AS kind, {sql_literal(name)} AS record_kind,
                 d.{id_col} AS record_id, NULL AS other_record_id, {sis} AS sis_id, {label} AS label"""
    insert_conflicts(
        ctx,
        f"""
        SELECT {record}, f.field AS field, f.old AS feed_value, f.now AS directory_value,
               'run {t} set ' || f.field || ' to ' || coalesce('''' || f.new || '''', 'nothing')
               || '; it is ' || coalesce('''' || f.now || '''', 'nothing') || ' now ('
               || {since} || '); reverting would restore '
               || coalesce('''' || f.old || '''', 'nothing') AS message,
               'keep' AS suggestion, false AS blocking,
               {key} || ':' || f.field AS conflict_key, d.source_file AS source_file,
               d.source_line AS source_line
        FROM {fields} f JOIN {name} d ON d.{id_col} = f.id
        WHERE NOT f.back_old AND {kept_by_plan}
          -- changed again since; or the record was (archived, made hand-made again): the
          -- revert does not write it, and says so rather than report nothing to restore
          AND (NOT f.still_new OR NOT f.active) AND d.status <> 'merged' AND {moves_back}
        UNION ALL
        SELECT {sql_literal(PROTECTED_CONFLICT)}, {sql_literal(name)}, d.{id_col}, NULL, {sis}, {label},
               f.field, f.old, f.now,
               replace(f.field, '_', ' ') || ' differs: reverting run {t} would restore '
               || coalesce('''' || f.old || '''', 'nothing') || ', the directory has '
               || coalesce('''' || f.now || '''', 'nothing') || {_protected_why(table)},
               'keep', false,
               'contact:' || d.{id_col} || ':' || f.field || ':' || coalesce(f.old, ''),
               d.source_file, d.source_line
        FROM {fields} f JOIN {name} d ON d.{id_col} = f.id
        WHERE f.active AND f.protected AND f.still_new AND {kept_by_plan}
        UNION ALL
        SELECT {record}, 'status', 'archived', d.status,
               'run {t} created this record; it was ' || {since}
               || CASE WHEN d.status = 'merged'
                       THEN ', so reverting leaves it (to revert it, undo the merge, then plan the revert again)'
                       ELSE ', so reverting does not archive it unless you take it' END,
               'keep', false, {key} || ':created', d.source_file, d.source_line
        FROM {name} d
        WHERE {created} AND {kept_by_plan}
          AND (d.status = 'active' AND NOT ({untouched}) OR d.status = 'merged')
        UNION ALL
        SELECT {record}, 'status', 'active', d.status,
               'run {t} archived this record; it is ' || d.status
               || coalesce(' (archived again by run ' || d.archived_run || ')', ' (by hand)')
               || ' now, so reverting leaves it unless you take it',
               'keep', false, {key} || ':archived', d.source_file, d.source_line
        FROM {name} d
        WHERE d.{id_col} IN ({archived_by_target})
          AND d.status <> 'active' AND (d.archived_run IS DISTINCT FROM {t} OR NOT ({same_hands}))
          -- nor into an archived school (a membership under a person or classroom that
          -- stays archived is asked: taken with its owner's question, it comes back with it)
          AND {school_stays}
        UNION ALL
        SELECT {record}, 'status', 'archived', d.status,
               'run {t} unarchived this record; it was ' || {since}
               || CASE WHEN d.status = 'merged'
                       THEN ', so reverting leaves it (to revert it, undo the merge, then plan the revert again)'
                       ELSE ', so reverting does not archive it unless you take it' END,
               'keep', false, {key} || ':unarchived', d.source_file, d.source_line
        FROM {name} d
        WHERE d.{id_col} IN ({unarchived_by_target}) AND {kept_by_plan}
          AND (d.status = 'active' AND NOT ({untouched}) OR d.status = 'merged')
        """,
    )


def _school_active_after(ctx: PlanContext, school_id: str) -> str:
    """SQL: the school `school_id` (SQL; none at all counts) is active after the revert: active
    now and not archived by it, or brought back by it."""
    plan = ctx.keep("plan_schools")
    return f"""({school_id} IS NULL OR {school_id} IN (SELECT id FROM {plan} WHERE op = 'unarchive')
               OR ({school_id} IN (SELECT school_id FROM schools WHERE status = 'active')
                   AND {school_id} NOT IN (SELECT id FROM {plan} WHERE op = 'archive')))"""


def _archived_by(target: int, table: kinds.Table) -> str:
    """SQL: the ids of the records of `table` run `target` archived (its own archives, and the
    withheld ones a person approved)."""
    return f"""SELECT record_id FROM changes WHERE run_id = {int(target)} AND op = 'archive'
                 AND {_kind_filter(table)}
               UNION SELECT record_id FROM withheld_archives
               WHERE run_id = {int(target)} AND table_name = {sql_literal(table.name)}
                 AND outcome = 'archived'"""


def _out_of_active_schools_after(ctx: PlanContext, people: str) -> str:
    """SQL: who of `people` (SQL: `who`, `org_sis_ids`) would be in no active school after the
    revert, though their orgs name a school (not the district): `check`'s rule for people."""
    plan = ctx.keep("plan_schools")
    active_after = f"""SELECT school_id FROM schools
                       WHERE school_id IN (SELECT id FROM {plan} WHERE op = 'unarchive')
                          OR (status = 'active'
                              AND school_id NOT IN (SELECT id FROM {plan} WHERE op = 'archive'))"""
    return f"""SELECT n.who FROM ({schools_in_orgs(people)}) n
               JOIN schools s ON s.school_id = n.school_id AND s.org_type <> 'district'
               LEFT JOIN ({active_after}) a ON a.school_id = s.school_id
               GROUP BY n.who HAVING count(a.school_id) = 0"""


def _note_people_kept_out_of_archived_schools(
    ctx: PlanContext, target: int, school_stays: str, moves_back: str, fields: str
) -> None:
    """Say what the revert leaves of the people the target archived or moved because their
    schools are archived now (as for classes)."""
    t = int(target)
    label = "d.given_name || ' ' || d.family_name || ' (' || coalesce(d.sis_id, '#' || d.user_id) || ')'"
    left = ctx.db.rows(
        f"""SELECT {label} || ', whom run {t} archived, stays archived: no school their orgs '
                   || 'name (' || d.org_sis_ids || ') is active now, and the revert does not '
                   || 'bring them back'
            FROM users d
            WHERE d.status = 'archived' AND NOT ({school_stays})
            UNION ALL
            SELECT {label} || ' stays at ' || coalesce(f.now, 'no org') || ': run {t} moved them '
                   || 'from ' || f.old || ', whose schools are archived now'
            FROM {fields} f JOIN users d ON d.user_id = f.id
            WHERE f.field = 'org_sis_ids' AND f.active AND f.still_new AND NOT ({moves_back})
            ORDER BY 1"""
    )
    for (text,) in left[:20]:
        ctx.note("revert", text)
    if len(left) > 20:
        ctx.note("revert", f"... and {len(left) - 20:,} more people kept out of archived schools")


def _school_words(school_id: str, joint: str = " is ") -> str:
    """SQL: "school 'sch-b' is archived (by run 4)" (or another `joint`: "', which is '"), the
    school `school_id` (SQL) as a person reads it."""
    sis = shown("classrooms", "school_id", "s.school_id")
    return f"""(SELECT 'school ''' || {sis} || '''{joint}archived'
                       || coalesce(' (by run ' || s.archived_run || ')', '')
                FROM schools s WHERE s.school_id = {school_id})"""


def _note_classes_kept_out_of_archived_schools(
    ctx: PlanContext, target: int, fields: str, old_school: str
) -> None:
    """Say what the revert leaves of the target's classes because their school is archived
    now: a class it archived stays archived, a class it moved stays where it is."""
    t = int(target)
    plan = ctx.keep("plan_classrooms")
    label = "'class ''' || d.name || ''' (' || coalesce(d.sis_id, '#' || d.classroom_id) || ')"
    left = ctx.db.rows(
        f"""SELECT {label}, which run {t} archived, stays archived: its '
                   || {_school_words("d.school_id")} || ' and the revert does not bring it back'
            FROM classrooms d
            WHERE d.status = 'archived'
              AND d.classroom_id IN (SELECT record_id FROM changes WHERE run_id = {t}
                                     AND op = 'archive' AND kind = 'classrooms'
                                     UNION SELECT record_id FROM withheld_archives
                                     WHERE run_id = {t} AND table_name = 'classrooms'
                                       AND outcome = 'archived')
              AND d.classroom_id NOT IN (SELECT id FROM {plan})
              AND NOT {_school_active_after(ctx, "d.school_id")}
            UNION ALL
            SELECT {label} stays in school ''' || f.now || ''': run {t} moved it out of '
                   || {_school_words(old_school, ", which is ")} || ' now'
            FROM {fields} f JOIN classrooms d ON d.classroom_id = f.id
            WHERE f.field = 'school_id' AND NOT f.back_old
              AND NOT {_school_active_after(ctx, old_school)}
            ORDER BY 1"""
    )
    for (text,) in left[:20]:
        ctx.note("revert", text)
    if len(left) > 20:
        ctx.note("revert", f"... and {len(left) - 20:,} more classes kept out of archived schools")


def _keep_schools_with_what_stays(ctx: PlanContext, target: int) -> None:
    """A school the revert would archive (the target created it or brought it back) in which a
    class or person the sync made stays active after the revert (changed since, say, so not
    archived) stays active too, and the revert says so: archiving it would leave them in a
    school the directory, its export and every LMS no longer show (as a night keeps a school
    something still names: sync/feed/classes.py keep_schools_still_named). Nor does the revert
    ask whether to archive such a school it leaves (one changed since): taking that question
    would do the same."""
    plan = ctx.keep("plan_schools")
    ending = f"""SELECT id FROM {plan} WHERE op = 'archive'
                 UNION SELECT record_id FROM conflicts WHERE run_id = {ctx.run_id}
                   AND kind = {sql_literal(REVERT_CONFLICT)} AND record_kind = 'schools'
                   AND field = 'status' AND feed_value = 'archived'"""
    if not ctx.db.one(f"SELECT EXISTS ({ending})"):
        return
    classes, people = ctx.keep("plan_classrooms"), ctx.keep("plan_users")
    people_staying = f"""
        SELECT u.user_id AS who, coalesce(p.org_sis_ids, u.org_sis_ids) AS org_sis_ids
        FROM users u LEFT JOIN {people} p ON p.id = u.user_id
        WHERE u.origin = 'sync' AND (p.op = 'unarchive' OR u.status = 'active'
                                     AND p.op IS DISTINCT FROM 'archive')"""
    staying = f"""
        SELECT 'class' AS what, coalesce(p.school_id, c.school_id) AS school_id
        FROM classrooms c LEFT JOIN {classes} p ON p.id = c.classroom_id
        WHERE c.origin = 'sync' AND (p.op = 'unarchive' OR c.status = 'active'
                                     AND p.op IS DISTINCT FROM 'archive')
        UNION ALL
        SELECT 'person', school_id FROM ({schools_in_orgs(people_staying)})"""
    kept = ctx.db.rows(
        f"""SELECT a.id, coalesce(s.sis_id, '#' || s.school_id), s.name,
                   s.created_run = {int(target)},
                   count(*) FILTER (WHERE n.what = 'class'),
                   count(*) FILTER (WHERE n.what = 'person')
            FROM ({ending}) a JOIN ({staying}) n ON n.school_id = a.id
            JOIN schools s ON s.school_id = a.id
            GROUP BY ALL ORDER BY 2"""
    )
    if not kept:
        return
    ids = ", ".join(str(int(k[0])) for k in kept)
    ctx.db.execute(f"DELETE FROM {plan} WHERE op = 'archive' AND id IN ({ids})")
    ctx.db.execute(
        f"""DELETE FROM conflicts WHERE run_id = {ctx.run_id}
            AND kind = {sql_literal(REVERT_CONFLICT)} AND record_kind = 'schools'
            AND field = 'status' AND feed_value = 'archived' AND record_id IN ({ids})"""
    )
    for _, sis_id, school, created, n_classes, n_people in kept:
        what = " and ".join(
            counted(n, word, many)
            for n, word, many in ((n_classes, "class", "classes"), (n_people, "person", "people"))
            if n
        )
        ctx.note(
            "revert",
            f"school '{sis_id}' ({school}) stays active, though run {target} "
            f"{'created it' if created else 'brought it back'}: {what} in it "
            f"{'stays' if n_classes + n_people == 1 else 'stay'} active",
        )


def _holds(table: kinds.Table, text: str, types: dict[str, str], target: int) -> str:
    """SQL over `d` and the changed field `x.f`: the record holds the value the change showed as
    `text`. A field shown as something else than its value (revert_values.shown: a classroom's
    school by its SIS id) is compared as the value the text stands for: a school that got a SIS
    id since reads otherwise, and is the same school."""
    at = planned_at(str(int(target)))
    return (
        "CASE x.f.field "
        + " ".join(
            f"WHEN {sql_literal(c)} THEN "
            + (
                f"{restored(table.name, c, text, types, at)} IS NOT DISTINCT FROM d.{c}"
                if shown(table.name, c, "v") != "CAST(v AS VARCHAR)"
                else f"{shown(table.name, c, f'd.{c}')} IS NOT DISTINCT FROM {text}"
            )
            for c in table.compared
        )
        + " END"
    )


def _merged_since(table: kinds.Table, at: str) -> str:
    """SQL over `d`: the person took part in a merge (survivor or merged) after the target was
    applied. A merge does not touch the survivor's updated_at, yet it holds what another record
    brought, so the revert must not treat it as untouched."""
    if table.name != "users":
        return "false"
    live = f"SELECT {{}} FROM merges WHERE undone_at IS NULL AND merged_at > {at}"
    return f"(d.user_id IN ({live.format('survivor_id')}) OR d.user_id IN ({live.format('merged_id')}))"


def _protected(ctx: PlanContext, table: kinds.Table) -> str:
    """SQL over `d` and `x.f`: the field is a contact detail the nightly feed would not overwrite
    either (an activated or hand-edited user, update_active_users_contacts = false)."""
    if table.name != "users" or ctx.settings.update_active_users_contacts:
        return "false"
    contacts = ", ".join(sql_literal(c) for c in CONTACT_FIELDS)
    return f"(x.f.field IN ({contacts}) AND {CONTACTS_PROTECTED})"


def _protected_why(table: kinds.Table) -> str:
    if table.name != "users":
        return "''"
    return (
        "CASE WHEN d.contacts_edited THEN ' (edited by hand)' ELSE ' (account active)' END"
        " || '; reverting keeps it unless you take it'"
    )
