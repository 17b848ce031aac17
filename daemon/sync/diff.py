"""The set-based diff: desired rows against the directory -> plan tables and field-level changes.

Rows are compared by a hash of the columns the feed decides; the field-by-field before/after is
computed only for rows whose hash differs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from daemon.db import sql_literal
from daemon.directory.records import WAITS_FOR, archived_with
from daemon.sync.context import PlanContext
from daemon.sync.kinds import REFERENCES, Table, table_named
from daemon.sync.scope import record_filter
from daemon.sync.unchanged import raw_shortcut_allowed

# Which files a record may have come from, per table: it is archived for being absent only when
# the file it came from is in this drop as a bulk file.
SOURCE_ENTITIES = {
    "schools": ("orgs",),
    "classrooms": ("classes",),
    "users": ("users", "guardians"),
    "enrollments": ("enrollments",),
    "guardian_links": ("users", "guardians"),
    "student_attributes": ("student_attributes",),
}
# Children archived with their parent (in any mode): table -> [(column, parent table)].
CASCADES = {
    "enrollments": (("user_id", "users"), ("classroom_id", "classrooms")),
    "guardian_links": (("student_id", "users"), ("guardian_id", "users")),
    "student_attributes": (("student_id", "users"),),
}
# Children the sync makes for a person of one kind, archived when a run makes them another (a
# student turned teacher keeps no guardian links or student attributes): no OneRoster row can
# give them to such a person, so a link kept by a row in error elsewhere (the guardian's) would
# be written by an export that, synced back, archives it.
KIND_CASCADES = {
    "guardian_links": (("student_id", "student"), ("guardian_id", "guardian")),
    "student_attributes": (("student_id", "student"),),
}
# What such an archive's change says. It goes with the update that makes it (a role read from a
# good row), so it is never withheld (sync/withheld.py): the person's new kind and an active
# link or attribute under it would break the directory's invariants.
KIND_CHANGE_NOTES = {
    ("student_id", "student"): "its student is no longer a student",
    ("guardian_id", "guardian"): "its guardian is no longer a guardian",
}
# What an archive that goes with its parent's says (CASCADES): its own row may still be in the
# feed (a student marked tobedeleted, whose memberships the file still lists).
CASCADE_NOTES = {
    ("enrollments", "user_id"): "its person is archived",
    ("enrollments", "classroom_id"): "its class is archived",
    ("guardian_links", "student_id"): "its student is archived",
    ("guardian_links", "guardian_id"): "its guardian is archived",
    ("student_attributes", "student_id"): "its student is archived",
}
# Links the sync made that a person archived before tonight still holds: manage_guardians =
# false archives no link, not even with its student, so once the sync manages guardians again
# such a link is archived as it would have been with its person (whatever files the night
# brings: a changes-only district never names it again). A person the run brings back keeps it.
ARCHIVED_EARLIER = {
    "guardian_links": (
        ("student_id", "its student is archived"),
        ("guardian_id", "its guardian is archived"),
    ),
}


# What a record a person made says when it comes back with its person (plan_table
# `back_with_their_person`): no feed row names it.
BACK_WITH_PERSON_NOTE = "made by hand, and archived with its person: back with them"

# What an unarchive of a record a person archived (no run did) says: the feed undoes a hand
# decision there, and whoever reviews the run should see it (archived_students = keep_archived
# keeps a student archived instead).
BY_HAND_NOTE = "archived by hand; the feed lists it again"
# What an archive for being absent says, and one its own row marked tobedeleted; a setting
# that left the record out (LeftOutBySetting: a role guardian_roles leaves out, a homeroom
# filter) takes the place of exactly these notes.
ABSENT_NOTE = "no longer in the feed"
TOBEDELETED_NOTE = "marked tobedeleted"


def _scope(ctx: PlanContext, table: Table) -> str:
    """Records this run may archive at all (manage_guardians = false leaves guardians alone)."""
    if not ctx.settings.manage_guardians:
        if table.name == "users":
            return "d.kind <> 'guardian'"
        if table.name == "guardian_links":
            return "false"
    return "true"


def compared_columns(ctx: PlanContext, table: Table) -> list[str]:
    """The columns the feed speaks for in this run (a file without a column keeps it)."""
    kept = ctx.keep_fields.get(table.name, set())
    return [c for c in table.compared if c not in kept]


def plan_table(ctx: PlanContext, table: Table) -> None:
    """Write plan_<table>: one row per create, update, unarchive and archive."""
    desired = ctx.t(f"desired_{table.name}")
    plan = ctx.keep(f"plan_{table.name}")
    cols = compared_columns(ctx, table)
    f_cols = ", ".join(f"f.{c}" for c in cols)
    d_cols = ", ".join(f"d.{c}" for c in cols)
    f_hash = "hash(" + ", ".join(f"f.{c}" for c in cols) + ")"
    d_hash = "d._values_hash"
    bulk_files = _bulk_files(ctx, table)
    absent_clause = "false"
    if bulk_files:
        # A school-level upload speaks only for its schools' records (sync/scope.py).
        absent_clause = f"""lower(d.source_file) IN ({bulk_files})
            AND d.{table.id_col} NOT IN (SELECT id FROM {ctx.t(f"present_{table.name}")})
            AND {record_filter(ctx.scope, table.name)}"""
    cascade = _cascade_clause(ctx, table)
    # A membership, link or attribute a person made stays theirs (kinds.Table.adopts_hand_made):
    # a feed row for the same pair changes nothing, so the sync never takes it over, and the
    # archives below (origin 'sync' only) never reach it.
    theirs = "" if table.adopts_hand_made else "AND d.origin IS DISTINCT FROM 'hand'"
    # A hashed table's rows that match but remember another source are refreshed (not a change).
    hashes = [h for h, on in (("source_hash", table.hashed), ("raw_hash", table.raw_hashed)) if on]
    source = "".join(f", f._{h}" for h in hashes)
    no_source = "".join(", CAST(NULL AS UBIGINT)" for _ in hashes)
    # A night whose raw rows are not keyed (raw_shortcut_allowed) knows nothing of them: a record
    # keeps the raw row it remembers, still one that becomes exactly its values and source hash,
    # as the shortcut, which recognises it by its normalised row, keeps it too.
    refreshing = [h for h in hashes if h != "raw_hash" or raw_shortcut_allowed(ctx)]
    refresh = "".join(f"OR f._{h} IS DISTINCT FROM d.{h} " for h in refreshing)
    # The directory side is reduced to a hash before the join, and to the records the feed
    # rows name: a narrow, small build side is what keeps comparing millions of rows cheap (and
    # after the unchanged-row shortcut, a night's desired rows are few).
    directory = f"""(SELECT {table.id_col}, status, origin{"".join(f", {h}" for h in hashes)},
                            hash({", ".join(cols)}) AS _values_hash FROM {table.name}
                     SEMI JOIN (SELECT _target_id FROM {desired}) t
                       ON t._target_id = {table.name}.{table.id_col})"""
    # The records a row marks deleted (and no other row keeps).
    deleted = f"""(SELECT _target_id, min(_file) AS _file, min(_line) AS _line FROM {desired}
                   WHERE _deleted AND _target_id IS NOT NULL
                     AND _target_id NOT IN (SELECT id FROM {ctx.t(f"present_{table.name}")})
                   GROUP BY _target_id)"""
    back = back_with_their_person(ctx, table, d_cols, no_source)
    # The archives are found on the narrow columns, then fetched whole by their place: reading
    # every column of every record to archive 1% of them cost about 1 s of CPU at 1M students.
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TABLE {plan} AS
        SELECT CASE WHEN f._target_id IS NULL THEN 'create'
                    WHEN d.status = 'archived' THEN 'unarchive'
                    WHEN d.origin = 'hand' OR {f_hash} <> {d_hash} THEN 'update'
                    ELSE 'refresh' END AS op,
               f._id AS id, {f_cols}, f._file, f._line, f._label {source}
        FROM {desired} f LEFT JOIN {directory} d ON d.{table.id_col} = f._target_id
        WHERE NOT f._skip AND NOT f._deleted {theirs}
          AND (f._target_id IS NULL OR d.status = 'archived' OR d.origin = 'hand' OR {f_hash} <> {d_hash}
               {refresh})
        UNION ALL
        SELECT 'archive', d.{table.id_col}, {d_cols}, x._file, x._line, NULL {no_source}
        FROM {table.name} d
        LEFT JOIN {deleted} x ON x._target_id = d.{table.id_col}
        WHERE d.rowid IN (
            SELECT d.rowid FROM {table.name} d
            LEFT JOIN {deleted} x ON x._target_id = d.{table.id_col}
            WHERE d.status = 'active' AND d.origin = 'sync' AND {_scope(ctx, table)}
              AND ({absent_clause} OR x._target_id IS NOT NULL {cascade}))
        {f"UNION ALL {back}" if back else ""}
        """
    )
    hand_over_what_waits(ctx, table)


def back_with_their_person(
    ctx: PlanContext, table: Table, d_cols: str, no_source: str
) -> str | None:
    """SQL: plan rows (shaped as plan_table's) that unarchive each record a person made (a
    guardian link, a co-teacher's or a hand-made class's membership) that was archived with a
    person or classroom this plan brings back (`_archived_with_what_comes_back`), where
    everything it names is active after the plan. No feed row speaks for it
    (kinds.Table.adopts_hand_made), so nothing else would bring it back: `users unarchive` and
    a taken conflict bring it back the same way, and a revert that brings its person back too
    (sync/revert.py). What the sync made comes back with the feed's own rows. Traced to the row
    that brings the parent back. None when the plan brings back none of its parents."""
    brought = _archived_with_what_comes_back(ctx, table)
    if brought is None:
        return None
    return f"""
        SELECT 'unarchive' AS op, d.{table.id_col} AS id, {d_cols}, b._file, b._line, NULL {no_source}
        FROM {table.name} d JOIN ({brought}) b ON b.id = d.{table.id_col}
        WHERE {parents_active_after(ctx, table.name)}"""


# What a run says of the records a person made that wait, archived, for what keeps them out
# (note_what_waits), by the owner whose return they could not follow: for one, and for more.
WAITING_NOTES = {
    ("enrollments", "users"): (
        "membership made by hand, archived with a person this run brings back, waits for its "
        "class, which is archived: it comes back with the class",
        "memberships made by hand, archived with people this run brings back, wait for their "
        "classes, which are archived: they come back with them",
    ),
    ("enrollments", "classrooms"): (
        "membership made by hand, archived with a class this run brings back, waits for its "
        "person, who is archived: it comes back with them",
        "memberships made by hand, archived with classes this run brings back, wait for their "
        "people, who are archived: they come back with them",
    ),
    ("guardian_links", "users"): (
        "guardian link made by hand, archived with a person this run brings back, waits for "
        "its other person, who is archived: it comes back with them",
        "guardian links made by hand, archived with people this run brings back, wait for "
        "their other people, who are archived: they come back with them",
    ),
}


def hand_over_what_waits(ctx: PlanContext, table: Table) -> None:
    """What a person made that the archive of a person or classroom this plan brings back took,
    and that cannot come back with it (its classroom or person, or a link's other person, is
    archived after the plan), is handed, as the plan is applied, to that one's archive, to come
    back with it (directory/records.py `hand_to_what_keeps_them_out`, as `users unarchive` and
    `classrooms unarchive` hand it): left to an archive that is over, nothing would bring it
    back. Kept as handed_<table> (`_with`: the owner whose return it cannot follow) for the apply
    (sync/apply.py) and for note_what_waits. A record whose other owner was merged away waits
    for no one: a merge leaves on the tombstone only the duplicate of a record the survivor
    holds (duplicates/merge.py), which stays archived."""
    if table.name not in WAITS_FOR:
        return
    brought = _archived_with_what_comes_back(ctx, table)
    if brought is None:
        return
    ctx.db.execute(
        f"""CREATE OR REPLACE TABLE {ctx.keep(f"handed_{table.name}")} AS
            SELECT b.* FROM {table.name} d JOIN ({brought}) b ON b.id = d.{table.id_col}
            WHERE NOT ({parents_active_after(ctx, table.name)})
              AND NOT ({_owned_by_a_merged_record(table.name)})"""
    )


def _owned_by_a_merged_record(name: str) -> str:
    """SQL over `d`, a row of table `name`: one of the people it belongs to was merged away."""
    merged = "SELECT user_id FROM users WHERE status = 'merged'"
    return " OR ".join(
        f"d.{column} IN ({merged})" for column, parent in CASCADES[name] if parent == "users"
    )


def note_what_waits(ctx: PlanContext, counts: dict[str, dict[str, int]]) -> None:
    """Once the plan's archives are final (sync/runs.py finish_plan: some may be withheld,
    sync/withheld.py), what hand_over_what_waits kept for an archive that will not happen
    comes back with the owner that comes back, as the plan's own unarchive (`counts` counted);
    the run says how many still wait, and for what."""
    stored = ctx.db.tables(ctx.schema)
    for name in (n for n in WAITS_FOR if f"handed_{n}" in stored):
        table, handed, plan = (
            table_named(name),
            ctx.keep(f"handed_{name}"),
            ctx.keep(f"plan_{name}"),
        )
        free = f"""SELECT h.id, h._file, h._line FROM {handed} h
                   JOIN {name} d ON d.{table.id_col} = h.id
                   WHERE {parents_active_after(ctx, name)}
                     AND h.id NOT IN (SELECT id FROM {plan})"""
        if n := ctx.one(f"SELECT count(*) FROM ({free})"):
            add_unarchives(ctx, table, free)
            record_changes(
                ctx, table, only=f"p.op = 'unarchive' AND p.id IN (SELECT id FROM {handed})"
            )
            ctx.db.execute(
                f"DELETE FROM {handed} WHERE id IN (SELECT id FROM {plan} WHERE op = 'unarchive')"
            )
            ops = counts.setdefault(table.change_kind or name, {})
            ops["unarchive"] = ops.get("unarchive", 0) + n
        for owner, n in ctx.db.rows(f"SELECT _with, count(*) FROM {handed} GROUP BY 1 ORDER BY 1"):
            ctx.note(table.change_kind or name, f"{n:,} {WAITING_NOTES[(name, owner)][n != 1]}")


def _archived_with_what_comes_back(ctx: PlanContext, table: Table) -> str | None:
    """SQL (id, _file, _line, _with): each record a person made that was archived with a person
    or classroom this plan brings back (directory/records.py `archived_with`: by their hand
    archive, or handed to it since), once, with the row that brings that one back and its table
    (`_with`). None when the plan brings back none of them.

    Most nights bring nobody back: then nothing is read, and no night reads every membership
    and every active person for it."""
    if table.adopts_hand_made:
        return None
    parents = list(dict.fromkeys(parent for _, parent in CASCADES.get(table.name, ())))
    if not parents:
        return None
    # one statement asks of every parent's plan
    unarchiving = ctx.db.rows(
        "SELECT "
        + ", ".join(
            f"EXISTS (FROM {ctx.keep(f'plan_{parent}')} WHERE op = 'unarchive')"
            for parent in parents
        )
    )[0]
    brings_back = {parent for parent, yes in zip(parents, unarchiving, strict=True) if yes}
    cascades = [
        (column, parent) for column, parent in CASCADES.get(table.name, ()) if parent in brings_back
    ]
    if not cascades:
        return None
    brought = " UNION ALL ".join(
        f"""SELECT d.{table.id_col} AS id, p._file, p._line, '{parent}' AS _with
            FROM {table.name} d
            JOIN {ctx.keep(f"plan_{parent}")} p ON p.id = d.{column} AND p.op = 'unarchive'
            JOIN {parent} u ON u.{table_named(parent).id_col} = d.{column}
            WHERE d.status = 'archived' AND d.origin = 'hand' AND {archived_with("d", "u")}"""
        for column, parent in cascades
    )
    return f"""SELECT * FROM ({brought})
               QUALIFY row_number() OVER (PARTITION BY id ORDER BY _file, _line) = 1"""


def parents_active_after(ctx: PlanContext, name: str) -> str:
    """SQL over `d`, a row of table `name`: every person and classroom it belongs to (CASCADES)
    is active after this plan: active now and not archived by it, or unarchived by it. A row
    made active under an archived or merged owner would break `roster-sync check`."""
    parts = []
    for column, parent in CASCADES.get(name, ()):
        plan = ctx.keep(f"plan_{parent}")
        parent_id = table_named(parent).id_col
        parts.append(
            f"""(d.{column} IN (SELECT id FROM {plan} WHERE op = 'unarchive')
                 OR (d.{column} IN (SELECT {parent_id} FROM {parent} WHERE status = 'active')
                     AND d.{column} NOT IN (SELECT id FROM {plan} WHERE op = 'archive')))"""
        )
    return " AND ".join(parts) or "true"


def _bulk_files(ctx: PlanContext, table: Table) -> str:
    names = [ctx.file(e).lower() for e in SOURCE_ENTITIES[table.name] if ctx.mode(e) == "bulk"]
    if table.name == "users" and ctx.mode("users") == "bulk":
        # A person last changed by a changes-only demographics.csv row (its birth date alone,
        # feed/users.py) is still users.csv's: a whole users.csv without them archives them.
        names.append(ctx.file("demographics").lower())
    return ", ".join(sql_literal(n) for n in names)


def _cascade_clause(ctx: PlanContext, table: Table) -> str:
    parts = []
    for column, parent in CASCADES.get(table.name, ()):
        parent_plan = ctx.keep(f"plan_{parent}")
        parts.append(f"OR d.{column} IN (SELECT id FROM {parent_plan} WHERE op = 'archive')")
    for column, kind in KIND_CASCADES.get(table.name, ()):
        parts.append(f"OR d.{column} IN ({_made_another_kind(ctx, kind)})")
    for column, _ in ARCHIVED_EARLIER.get(table.name, ()):
        parts.append(f"OR d.{column} IN ({_archived_earlier(ctx)})")
    return " ".join(parts)


def _archived_earlier(ctx: PlanContext) -> str:
    """SQL: the people archived before tonight whom this run does not bring back."""
    return f"""SELECT user_id FROM users WHERE status = 'archived' AND user_id NOT IN (
                   SELECT id FROM {ctx.keep("plan_users")} WHERE op = 'unarchive')"""


def _made_another_kind(ctx: PlanContext, kind: str) -> str:
    """SQL: the people this run keeps or makes active as another kind than `kind`."""
    return f"SELECT id FROM {ctx.keep('plan_users')} WHERE op <> 'archive' AND kind <> '{kind}'"


def _kind_change_notes(ctx: PlanContext, table: Table) -> str:
    """CASE branches over the plan row `p` and the record `d`: why an archive goes with its
    person's new kind (KIND_CASCADES)."""
    return " ".join(
        f"WHEN p.op = 'archive' AND d.{column} IN ({_made_another_kind(ctx, kind)}) "
        f"THEN {sql_literal(KIND_CHANGE_NOTES[(column, kind)])}"
        for column, kind in KIND_CASCADES.get(table.name, ())
    )


def _cascade_notes(ctx: PlanContext, table: Table) -> str:
    """CASE branches over `p` and `d`: an archive that goes with its parent's (CASCADES), or
    with a person archived earlier (ARCHIVED_EARLIER)."""
    tonight = [
        f"WHEN p.op = 'archive' AND d.{column} IN "
        f"(SELECT id FROM {ctx.keep(f'plan_{parent}')} WHERE op = 'archive') "
        f"THEN {sql_literal(CASCADE_NOTES[(table.name, column)])}"
        for column, parent in CASCADES.get(table.name, ())
    ]
    earlier = [
        f"WHEN p.op = 'archive' AND d.{column} IN ({_archived_earlier(ctx)}) "
        f"THEN {sql_literal(note)}"
        for column, note in ARCHIVED_EARLIER.get(table.name, ())
    ]
    return " ".join(tonight + earlier)


def add_archives(ctx: PlanContext, table: Table, records: str) -> None:
    """Add to plan_<table> an archive of each record `records` selects (`id`, `_file`, `_line`):
    what a step decides once the plan is written. The record keeps its values, as any archive."""
    _add_plan_rows(ctx, table, records, "archive")


def add_unarchives(ctx: PlanContext, table: Table, records: str) -> None:
    """As add_archives, an unarchive of each record: one a step finds free to come back."""
    _add_plan_rows(ctx, table, records, "unarchive")


def _add_plan_rows(ctx: PlanContext, table: Table, records: str, op: str) -> None:
    plan = ctx.keep(f"plan_{table.name}")
    values = {
        "op": sql_literal(op),
        "id": f"d.{table.id_col}",
        "_file": "r._file",
        "_line": "r._line",
    }
    selected = ", ".join(
        f"{values.get(c, f'd.{c}' if c in table.compared else 'NULL')} AS {c}"
        for c in ctx.db.columns(plan.split(".")[-1], ctx.schema)
    )
    ctx.db.execute(
        f"""INSERT INTO {plan} BY NAME SELECT {selected}
            FROM ({records}) r JOIN {table.name} d ON d.{table.id_col} = r.id"""
    )


def build_present(ctx: PlanContext, table: Table, extra_sql: str | None = None) -> None:
    """Directory ids the feed still speaks for (even through rows skipped or in error).

    Only ever read through NOT IN, so repeats are harmless and not worth removing."""
    desired = ctx.t(f"desired_{table.name}")
    extra = f"UNION ALL SELECT id FROM ({extra_sql})" if extra_sql else ""
    ctx.db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {ctx.t(f"present_{table.name}")} AS
        SELECT _target_id AS id FROM {desired} WHERE _target_id IS NOT NULL AND NOT _deleted
        {extra}
        """
    )


@dataclass(frozen=True)
class LeftOutBySetting:
    """Records a setting archives while their rows are still in the feed (a role
    guardian_roles does not count, a class homeroom_only leaves out): neither missing from the
    file nor marked tobedeleted, so their change names the row and the setting instead.

    `rows` is SQL giving one row per SIS id: (sis_id, note, _file, _line); a NULL _file keeps
    the record's own file. `replaces` are the notes it takes the place of."""

    rows: str
    replaces: tuple[str, ...] = (ABSENT_NOTE,)


_NONE_LEFT_OUT = (
    "SELECT NULL::VARCHAR AS sis_id, NULL::VARCHAR AS note, NULL::VARCHAR AS _file, "
    "NULL::BIGINT AS _line WHERE false"
)


def record_changes(
    ctx: PlanContext,
    table: Table,
    display: dict[str, str] | None = None,
    only: str | None = None,
    notes: Sequence[tuple[str, str]] = (),
    left_out: LeftOutBySetting | None = None,
) -> None:
    """Append updates, archives and unarchives, with field-level before/after, to `changes`.

    Creates are not copied: the plan table lists them until applied, and the directory's
    `created_run` afterwards, so a first load of millions of records is not written twice.
    `only` (SQL over the plan row `p`) records a step's own rows; `notes` are (when, note)
    pairs, both SQL over `p` and the record `d` as it is (a fixed note is a `sql_literal`),
    saying why a step changed a row, before the notes every archive may have; `left_out`
    names the row and the setting behind archives a setting decided.
    """
    plan = ctx.keep(f"plan_{table.name}")
    recorded = "op IN ('update', 'archive', 'unarchive') AND " + (only or "true")
    start, any_recorded = ctx.db.rows(
        f"""SELECT (SELECT coalesce(max(seq), 0) FROM changes WHERE run_id = ?),
                   EXISTS (FROM {plan} p WHERE {recorded})""",
        [ctx.run_id],
    )[0]
    if not any_recorded:  # a first load's creates, a night without changes: nothing to write
        return
    display = display or {}
    fields = []
    # What apply makes the record's origin (sync/apply.py `_made_by_the_sync`): the sync's,
    # unless it keeps its maker (a membership or link a person made, brought back).
    origin = "'sync'" if table.adopts_hand_made else "d.origin"
    for c in (*compared_columns(ctx, table), "origin"):
        new = origin if c == "origin" else f"p.{c}"
        old_shown = display.get(c, "CAST({v} AS VARCHAR)").format(v=f"d.{c}")
        new_shown = display.get(c, "CAST({v} AS VARCHAR)").format(v=new)
        fields.append(
            f"CASE WHEN {new} IS DISTINCT FROM d.{c} THEN "
            f"{{'field': {sql_literal(c)}, 'old': {old_shown}, 'new': {new_shown}}} END"
        )
    field_list = "list_filter([" + ", ".join(fields) + "], lambda x: x IS NOT NULL)"
    kind = table.kind_expr("p")
    label = _archive_label(table)
    # An archive that goes with its parent's names the row that archived the parent (a
    # student's row marked tobedeleted), when there is one.
    parents = [f"parent{i}" for i in range(len(CASCADES.get(table.name, ())))]
    parent_joins = "\n".join(
        f"""LEFT JOIN (SELECT id, _file, _line FROM {ctx.keep(f"plan_{parent}")}
                       WHERE op = 'archive' AND _file IS NOT NULL) {alias}
              ON {alias}.id = d.{column}"""
        for alias, (column, parent) in zip(parents, CASCADES.get(table.name, ()), strict=True)
    )
    traced = ["p", *parents]
    source_file = (
        "CASE "
        + " ".join(f"WHEN {a}._file IS NOT NULL THEN {a}._file" for a in traced)
        + " ELSE d.source_file END"
    )
    source_line = (
        "CASE " + " ".join(f"WHEN {a}._file IS NOT NULL THEN {a}._line" for a in traced) + " END"
    )
    own = " ".join(f"WHEN {when} THEN {note}" for when, note in notes)
    # A record that keeps its maker is unarchived only with its person (plan_table).
    back = (
        ""
        if table.adopts_hand_made
        else f"WHEN p.op = 'unarchive' AND d.origin = 'hand' THEN {sql_literal(BACK_WITH_PERSON_NOTE)}"
    )
    why = f"""CASE {own} {_kind_change_notes(ctx, table)}
                   WHEN p.op = 'archive' AND p._file IS NOT NULL THEN {sql_literal(TOBEDELETED_NOTE)}
                   {_cascade_notes(ctx, table)} {back}
                   WHEN p.op = 'unarchive' AND d.archived_run IS NULL THEN {sql_literal(BY_HAND_NOTE)}
                   WHEN p.op = 'archive' THEN {sql_literal(ABSENT_NOTE)} END"""
    left_out = left_out or LeftOutBySetting(_NONE_LEFT_OUT, ())
    replaced = ", ".join(sql_literal(n) for n in left_out.replaces)
    by_setting = f"lo_note IS NOT NULL AND note IN ({replaced})" if replaced else "false"
    ctx.db.execute(
        f"""
        INSERT INTO changes
        SELECT run_id, seq, kind, op, id, sis_id_shown, label, fields,
               CASE WHEN by_setting THEN coalesce(lo_file, source_file) ELSE source_file END,
               CASE WHEN by_setting THEN lo_line ELSE source_line END,
               CASE WHEN by_setting THEN lo_note ELSE note END
        FROM (SELECT *, {by_setting} AS by_setting FROM (
            SELECT {ctx.run_id} AS run_id,
                   {int(start)} + row_number() OVER (ORDER BY p.op, p.id) AS seq, {kind} AS kind, p.op,
                   p.id, p.sis_id_shown, coalesce(p._label, {label}) AS label,
                   CASE WHEN p.op IN ('update', 'unarchive') THEN {field_list} END AS fields,
                   {source_file} AS source_file, {source_line} AS source_line,
                   {why} AS note,
                   lo.note AS lo_note, lo._file AS lo_file, lo._line AS lo_line
            FROM (SELECT *, {_sis_expr(table)} AS sis_id_shown FROM {plan} p
                  WHERE {recorded}) p
            LEFT JOIN {table.name} d ON d.{table.id_col} = p.id
            LEFT JOIN ({left_out.rows}) lo ON p.op = 'archive' AND lo.sis_id = p.sis_id_shown
            {_reference_joins(table, plan)}
            {parent_joins}
        ))
        """
    )


def count_changes(ctx: PlanContext, tables: Sequence[Table]) -> list[tuple[str, str, int]]:
    """(kind, op, n) of the plan tables, creates included: one statement for them all."""
    return ctx.db.rows(
        " UNION ALL ".join(
            f"(SELECT {table.kind_expr('p')} AS kind, op, count(*) "
            f"FROM {ctx.keep(f'plan_{table.name}')} p WHERE op <> 'refresh' GROUP BY ALL)"
            for table in tables
        )
    )


def _sis_expr(table: Table) -> str:
    return "sis_id" if "sis_id" in table.compared else "CAST(NULL AS VARCHAR)"


def _archive_label(table: Table) -> str:
    if table.name == "users":
        return "d.given_name || ' ' || d.family_name"
    if table.name in ("schools", "classrooms"):
        return "d.name"
    if table.name == "student_attributes":
        return "d.name"
    own = "CAST(d." + table.id_col + " AS VARCHAR)"
    if table.name in REFERENCES:
        between = REFERENCES[table.name][2]
        return f"coalesce(ref0.sis_id || {sql_literal(between)} || ref1.sis_id, {own})"
    return own


def _reference_joins(table: Table, plan: str) -> str:
    """The SIS ids a label names (kinds.REFERENCES: 'stu-1 in cls-2', as a listed create reads,
    not the record's number), looked up for the records the plan changes only: a lookup per row
    joined every person (0.16-0.21 s against 0.02 s for a night's 16,724 link archives)."""
    if table.name not in REFERENCES:
        return ""
    changed = f"""(SELECT x.* FROM {table.name} x SEMI JOIN {plan} p
                   ON p.id = x.{table.id_col} AND p.op IN ('update', 'archive', 'unarchive'))"""
    joins = []
    for i, (column, target, target_id) in enumerate(REFERENCES[table.name][:2]):
        joins.append(
            f"""LEFT JOIN (SELECT {target_id}, sis_id FROM {target}
                           WHERE {target_id} IN (SELECT {column} FROM {changed})) ref{i}
                  ON ref{i}.{target_id} = d.{column}"""
        )
    return "\n".join(joins)
