"""Merging two records of one person, and undoing a merge exactly.

A merge moves everything attached to the merged record (enrollments, guardian links, student
attributes) to the survivor and turns the merged record into a tombstone (status 'merged',
merged_into = survivor) that keeps its SIS id, so the feed's old id resolves to the survivor.
Nothing is deleted. Where both records hold the same membership (same classroom, same guardian,
same attribute name) the survivor keeps one row, preferring an active row and then its own, and
the other stays on the tombstone, archived. Every changed column is written to merge_moves first
and then applied from there, so undo is the same operation backwards.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from daemon.audit import audit
from daemon.db import Database
from daemon.directory.records import WAITS_FOR, archived_with, directory_edit, resolve_user
from daemon.duplicates.errors import DuplicateError

ID_COLUMNS = {
    "users": "user_id",
    "enrollments": "enrollment_id",
    "guardian_links": "link_id",
    "student_attributes": "attribute_id",
}
# kind -> (table, owner column, the column that says "the same membership")
ATTACHED: dict[str, tuple[tuple[str, str, str], ...]] = {
    "student": (
        ("enrollments", "user_id", "classroom_id"),
        ("guardian_links", "student_id", "guardian_id"),
        ("student_attributes", "student_id", "name"),
    ),
    "guardian": (
        ("enrollments", "user_id", "classroom_id"),
        ("guardian_links", "guardian_id", "student_id"),
    ),
}
NOW = "CAST(CAST(current_timestamp AS TIMESTAMP) AS VARCHAR)"


@dataclass(frozen=True)
class Person:
    user_id: int
    kind: str
    status: str
    origin: str
    sis_id: str | None
    name: str

    @property
    def managed(self) -> bool:
        """Sync-managed: the feed keeps this record current."""
        return self.origin == "sync" and self.status == "active"

    def label(self) -> str:
        return f"{self.name} ({self.user_id}{', ' + self.sis_id if self.sis_id else ''})"


def person(db: Database, user_id: int) -> Person:
    rows = db.rows(
        """SELECT user_id, kind, status, origin, sis_id,
                  trim(coalesce(given_name, '') || ' ' || coalesce(family_name, ''))
           FROM users WHERE user_id = ?""",
        [user_id],
    )
    if not rows:
        raise DuplicateError(f"no user {user_id}")
    return Person(*rows[0])


def resolve(db: Database, ref: str | int) -> int:
    try:
        return resolve_user(db, ref)
    except ValueError as exc:
        raise DuplicateError(str(exc)) from exc


def choose_survivor(a: Person, b: Person, keep: int | None) -> tuple[Person, Person]:
    """(survivor, merged): the sync-managed record survives; otherwise the caller chooses."""
    managed = [p for p in (a, b) if p.managed]
    if len(managed) == 1:
        survivor = managed[0]
        if keep is not None and keep != survivor.user_id:
            raise DuplicateError(
                f"{survivor.label()} is the sync-managed record and must survive; "
                f"merge without --keep, or keep {survivor.user_id}"
            )
        return survivor, (b if survivor is a else a)
    if keep is None:
        why = "both records are sync-managed" if managed else "neither record is sync-managed"
        raise DuplicateError(
            f"{why}: choose the survivor with --keep {a.user_id} or --keep {b.user_id}"
        )
    if keep not in (a.user_id, b.user_id):
        raise DuplicateError(f"--keep must be one of the two records ({a.user_id} or {b.user_id})")
    return (a, b) if keep == a.user_id else (b, a)


def check_pair(a: Person, b: Person) -> None:
    if a.user_id == b.user_id:
        raise DuplicateError(f"{a.label()} and the other reference are already the same record")
    for p in (a, b):
        if p.status == "merged":
            raise DuplicateError(f"{p.label()} was already merged into another record")
        if p.kind not in ATTACHED:
            raise DuplicateError(f"{p.label()} is {p.kind}: only students and guardians are merged")
    if a.kind != b.kind:
        raise DuplicateError(f"{a.label()} is a {a.kind} and {b.label()} a {b.kind}")


def merge(
    db: Database, actor: str, survivor: Person, merged: Person, candidate_id: int | None
) -> int:
    """One transaction: record every change in merge_moves, apply it, audit on both records."""
    merge_id = int(db.one("SELECT coalesce(max(merge_id), 0) + 1 FROM merges"))
    s, m = survivor.user_id, merged.user_id
    cand = db.rows(
        "SELECT candidate_id, status FROM duplicate_candidates WHERE left_id = ? AND right_id = ?",
        [min(s, m), max(s, m)],
    )
    cand_id, cand_status = (cand[0][0], cand[0][1]) if cand else (candidate_id, None)
    details: dict[str, Any] = {"merge_id": merge_id, "survivor": s, "merged": m}
    with directory_edit(db, actor, "duplicates.merge", "users", s, details):
        moved = _plan_attached(db, merge_id, survivor.kind, s, m)
        _plan_users(db, merge_id, s, m)
        apply_moves(db, merge_id, forward=True)
        details.update(moved=moved, candidate_id=cand_id)
        db.execute(
            """INSERT INTO merges VALUES (?, ?, ?, ?, ?, ?, ?, current_timestamp, NULL, NULL, ?)""",
            [merge_id, s, m, survivor.kind, cand_id, cand_status, actor, json.dumps(moved)],
        )
        if cand:
            db.execute(
                """UPDATE duplicate_candidates SET status = 'merged', decided_by = ?,
                          decided_at = current_timestamp, merge_id = ?
                   WHERE candidate_id = ?""",
                [actor, merge_id, cand_id],
            )
        audit(
            db, actor, "duplicates.merged_into", target_kind="users", target_id=m, details=details
        )
    return merge_id


def _record(db: Database, merge_id: int, select_sql: str, params: list[Any]) -> int:
    """Append (table, row, column, old, new) rows to merge_moves, numbered after earlier ones."""
    db.execute(
        f"""INSERT INTO merge_moves
            SELECT ?, (SELECT coalesce(max(seq), 0) FROM merge_moves WHERE merge_id = ?)
                      + row_number() OVER (ORDER BY x.table_name, x.row_id, x.column_name),
                   x.table_name, x.row_id, x.column_name, x.old_value, x.new_value
            FROM ({select_sql}) x""",
        [merge_id, merge_id, *params],
    )
    return int(db.one("SELECT count(*) FROM merge_moves WHERE merge_id = ?", [merge_id]))


def _stays_archived(table: str, owner: str, m: int) -> str:
    """SQL over a record `t` of `table` and the merged person `mu`: a record a person made that
    was archived with the merged person (their leaving, say). It stays on the tombstone, where
    it waits for nothing (directory/integrity.py): moved to a survivor who is active it would
    wait, archived, for an archive that is not its owner's, and never come back; undoing the
    merge finds it where it was."""
    if table not in WAITS_FOR:  # a kind of record a person does not make by hand
        return "false"
    return (
        f"t.{owner} = {m} AND t.origin = 'hand' AND t.status = 'archived' "
        f"AND coalesce({archived_with('t', 'mu')}, false)"
    )


def _plan_attached(db: Database, merge_id: int, kind: str, s: int, m: int) -> dict[str, Any]:
    """Per table: which rows go to the survivor, which stay on the tombstone archived."""
    moved: dict[str, Any] = {}
    for table, owner, key in ATTACHED[kind]:
        id_col = ID_COLUMNS[table]
        db.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE dup_move_plan AS
            WITH r AS (
                SELECT t.{id_col} AS id, t.{key} AS key, t.{owner} AS owner, t.status,
                       t.archived_at, t.updated_at, t.{owner} = {s} AS is_s
                FROM {table} t LEFT JOIN users mu ON mu.user_id = {m}
                WHERE t.{owner} IN ({s}, {m}) AND NOT ({_stays_archived(table, owner, m)})
            ),
            ranked AS (
                SELECT *, row_number() OVER (PARTITION BY key ORDER BY status = 'active' DESC,
                                             is_s DESC, id) AS rk
                FROM r
            ),
            keys AS (
                SELECT key, bool_or(NOT is_s) AS m_has, bool_or(rk = 1 AND NOT is_s) AS m_keeps
                FROM ranked GROUP BY key
            )
            SELECT r.id, r.owner, r.status, r.archived_at, r.updated_at,
                   CASE WHEN r.rk = 1 THEN {s} WHEN r.is_s AND k.m_keeps THEN {m}
                        ELSE r.owner END AS new_owner,
                   r.rk > 1 AND r.status = 'active' AND (NOT r.is_s OR k.m_keeps) AS archive
            FROM ranked r JOIN keys k USING (key)
            WHERE k.m_has
            """
        )
        db.execute("DELETE FROM dup_move_plan WHERE new_owner = owner AND NOT archive")
        counts = db.rows(
            """SELECT count(*) FILTER (WHERE new_owner = ?), count(*) FILTER (WHERE archive),
                      count(*) FILTER (WHERE new_owner = ? AND owner = ?)
               FROM dup_move_plan""",
            [s, m, s],
        )[0]
        moved[f"{table}.{owner}"] = {
            "moved": int(counts[0]),
            "archived": int(counts[1]),
            "left_on_tombstone": int(counts[2]),
        }
        _record(
            db,
            merge_id,
            f"""SELECT '{table}' AS table_name, id AS row_id, '{owner}' AS column_name,
                       CAST(owner AS VARCHAR) AS old_value, CAST(new_owner AS VARCHAR) AS new_value
                FROM dup_move_plan WHERE new_owner <> owner
                UNION ALL
                SELECT '{table}', id, 'status', status, 'archived' FROM dup_move_plan WHERE archive
                UNION ALL
                SELECT '{table}', id, 'archived_at', CAST(archived_at AS VARCHAR), {NOW}
                FROM dup_move_plan WHERE archive
                UNION ALL
                SELECT '{table}', id, 'updated_at', CAST(updated_at AS VARCHAR), {NOW}
                FROM dup_move_plan""",
            [],
        )
    db.execute("DROP TABLE IF EXISTS temp.dup_move_plan")
    return moved


def _plan_users(db: Database, merge_id: int, s: int, m: int) -> None:
    """The tombstone, earlier tombstones of the merged record, and the survivor's login flag."""
    _record(
        db,
        merge_id,
        f"""SELECT 'users' AS table_name, user_id AS row_id, 'status' AS column_name,
                   status AS old_value, 'merged' AS new_value FROM users WHERE user_id = {m}
            UNION ALL
            SELECT 'users', user_id, 'merged_into', CAST(merged_into AS VARCHAR), '{s}'
            FROM users WHERE user_id = {m} OR merged_into = {m}
            UNION ALL
            SELECT 'users', user_id, 'updated_at', CAST(updated_at AS VARCHAR), {NOW}
            FROM users WHERE user_id = {m}
            UNION ALL
            SELECT 'users', s.user_id, 'account_active', 'false', 'true'
            FROM users s, users x
            WHERE s.user_id = {s} AND x.user_id = {m} AND x.account_active AND NOT s.account_active""",
        [],
    )


def apply_moves(db: Database, merge_id: int, *, forward: bool) -> list[tuple[str, int, str]]:
    """Write new values (merge) or old values back (undo). Undo skips a column that changed
    since the merge (a later sync or edit wins); returns the (table, row, column) it skipped."""
    skipped: list[tuple[str, int, str]] = []
    types = _column_types(db)
    for table, column in db.rows(
        "SELECT DISTINCT table_name, column_name FROM merge_moves WHERE merge_id = ? ORDER BY 1, 2",
        [merge_id],
    ):
        id_col, typ = ID_COLUMNS[table], types[(table, column)]
        value = "new_value" if forward else "old_value"
        same = "true"
        if not forward:
            same = f"{table}.{column} IS NOT DISTINCT FROM CAST(mv.new_value AS {typ})"
            skipped += [
                (str(table), int(row_id), str(column))
                for (row_id,) in db.rows(
                    f"""SELECT mv.row_id FROM {table} JOIN merge_moves mv
                          ON mv.row_id = {table}.{id_col}
                        WHERE mv.merge_id = ? AND mv.table_name = ? AND mv.column_name = ?
                          AND NOT ({same})
                        ORDER BY mv.row_id""",
                    [merge_id, table, column],
                )
            ]
        db.execute(
            f"""UPDATE {table} SET {column} = CAST(mv.{value} AS {typ})
                FROM merge_moves mv
                WHERE mv.merge_id = ? AND mv.table_name = ? AND mv.column_name = ?
                  AND mv.row_id = {table}.{id_col} AND {same}""",
            [merge_id, table, column],
        )
    return skipped


def _column_types(db: Database) -> dict[tuple[str, str], str]:
    rows = db.rows(
        f"""SELECT table_name, column_name, data_type FROM duckdb_columns()
            WHERE schema_name = 'main' AND table_name IN ({", ".join(f"'{t}'" for t in ID_COLUMNS)})"""
    )
    return {(t, c): d for t, c, d in rows}


# table -> the people (users) and classrooms a row of it belongs to, owner first
PARENT_IDS = {"users": "user_id", "classrooms": "classroom_id"}
PARENTS: dict[str, tuple[tuple[str, str], ...]] = {
    "enrollments": (("users", "user_id"), ("classrooms", "classroom_id")),
    "guardian_links": (("users", "student_id"), ("users", "guardian_id")),
    "student_attributes": (("users", "student_id"),),
}
PARENT_LABELS = {
    "user_id": "person",
    "classroom_id": "classroom",
    "student_id": "student",
    "guardian_id": "guardian",
}


def later_dependents(db: Database, merge_id: int, survivor_id: int, kind: str) -> list[int]:
    """Later merges into the same survivor, not undone, whose de-duplication relied on rows
    this merge brought to the survivor: they touched a row with the same classroom, guardian,
    student or attribute name. Undoing this merge first would take those rows back to the
    merged record while the later merge's own rows stay archived on its tombstone."""
    found: set[int] = set()
    for table, owner, key in ATTACHED[kind]:
        id_col = ID_COLUMNS[table]
        found.update(
            int(r[0])
            for r in db.rows(
                f"""SELECT DISTINCT l.merge_id
                    FROM merges l
                    JOIN merge_moves lm ON lm.merge_id = l.merge_id AND lm.table_name = '{table}'
                    JOIN {table} lt ON lt.{id_col} = lm.row_id
                    WHERE l.merge_id > ? AND l.undone_at IS NULL AND l.survivor_id = ?
                      AND lt.{key} IN (
                          SELECT t.{key} FROM merge_moves mm
                          JOIN {table} t ON t.{id_col} = mm.row_id
                          WHERE mm.merge_id = ? AND mm.table_name = '{table}'
                            AND mm.column_name = '{owner}'
                            AND mm.new_value = CAST(? AS VARCHAR))""",
                [merge_id, survivor_id, merge_id, survivor_id],
            )
        )
    return sorted(found, reverse=True)


def keep_archived(db: Database, merge_id: int) -> list[dict[str, Any]]:
    """After the undo wrote the old values back: a row of this merge that is now active while
    its person, other person or classroom is not active is archived again, never made active
    (a run or a person archived that side since the merge). It is archived as if with that
    side (its archived_at and archived_run), so unarchiving or reverting the side brings it
    back. Returns what it kept archived, for the audit and the message."""
    kept: list[dict[str, Any]] = []
    for table, parents in PARENTS.items():
        id_col = ID_COLUMNS[table]
        rows = db.rows(
            " UNION ALL ".join(
                f"""SELECT x.{id_col} AS id, {rank} AS rank, '{col}' AS col,
                           p.{PARENT_IDS[ptable]} AS parent, p.status AS parent_status,
                           p.archived_at, p.archived_run
                    FROM {table} x JOIN {ptable} p
                      ON p.{PARENT_IDS[ptable]} = x.{col}
                    WHERE x.status = 'active' AND p.status <> 'active'
                      AND x.{id_col} IN (SELECT row_id FROM merge_moves
                                         WHERE merge_id = {int(merge_id)}
                                           AND table_name = '{table}')"""
                for rank, (ptable, col) in enumerate(parents)
            )
            + " ORDER BY id, parent_status <> 'archived', rank"
        )
        seen: set[int] = set()
        for row_id, _, col, parent_id, status, archived_at, archived_run in rows:
            if row_id in seen:
                continue
            seen.add(row_id)
            by_side = status == "archived"
            db.execute(
                f"""UPDATE {table} SET status = 'archived',
                           archived_at = coalesce(?, CAST(current_timestamp AS TIMESTAMP)),
                           archived_run = ?, updated_at = current_timestamp
                    WHERE {id_col} = ?""",
                [archived_at if by_side else None, archived_run if by_side else None, row_id],
            )
            kept.append(
                {
                    "table": table,
                    "id": int(row_id),
                    "why": f"{PARENT_LABELS[col]} {parent_id} is {status}",
                }
            )
    return kept


def archived_since(db: Database, merge_id: int, merged_at: Any) -> list[dict[str, Any]]:
    """Rows the merge moved to the survivor (their status untouched by it) that something
    archived since, such as a hand archive of the survivor, which takes its memberships along.
    The undo gives them back to their first owner but leaves them archived: archiving is that
    later decision's, not the merge's. Named, so the undo never claims they are as before."""
    found: list[dict[str, Any]] = []
    for table, id_col in ID_COLUMNS.items():
        if table == "users":
            continue
        found += [
            {
                "table": table,
                "id": int(row_id),
                "column": "status",
                "now": "archived",
                "why": "archived since the merge; it stays archived (unarchive it if it should "
                "be active again)",
            }
            for (row_id,) in db.rows(
                f"""SELECT x.{id_col} FROM {table} x
                    WHERE x.status = 'archived' AND x.archived_at > ?
                      AND x.{id_col} IN (SELECT row_id FROM merge_moves
                                         WHERE merge_id = ? AND table_name = '{table}')
                      AND x.{id_col} NOT IN (SELECT row_id FROM merge_moves
                                             WHERE merge_id = ? AND table_name = '{table}'
                                               AND column_name = 'status')
                    ORDER BY 1""",
                [merged_at, merge_id, merge_id],
            )
        ]
    return found


def undo(db: Database, actor: str, merge_id: int) -> dict[str, Any]:
    """Write back what the merge changed, except what changed since; never make a row active
    whose person or classroom is not. Returns the audit's details: `not_restored` names each
    change kept and why, `changed_since` counts them."""
    rows = db.dicts("SELECT * FROM merges WHERE merge_id = ?", [merge_id])
    if not rows:
        raise DuplicateError(f"there is no merge {merge_id}")
    row = rows[0]
    if row["undone_at"] is not None:
        raise DuplicateError(
            f"merge {merge_id} was already undone by {row['undone_by']} at {row['undone_at']:%Y-%m-%d %H:%M}"
        )
    survivor = person(db, row["survivor_id"])
    if survivor.status == "merged":
        later = db.one(
            "SELECT max(merge_id) FROM merges WHERE merged_id = ? AND undone_at IS NULL",
            [survivor.user_id],
        )
        raise DuplicateError(
            f"{survivor.label()} was itself merged later (merge {later}); undo merge {later} first"
        )
    if later_merges := later_dependents(db, merge_id, survivor.user_id, row["record_kind"]):
        named = ", ".join(str(m) for m in later_merges)
        plural = "s" if len(later_merges) > 1 else ""
        raise DuplicateError(
            f"merge{plural} {named} into {survivor.label()} de-duplicated against memberships "
            f"merge {merge_id} brought in; undoing merge {merge_id} now would drop what "
            f"merge{plural} {named} brought: undo merge{plural} {named} first, then merge {merge_id}"
        )
    details: dict[str, Any] = {
        "merge_id": merge_id,
        "survivor": row["survivor_id"],
        "merged": row["merged_id"],
    }
    with directory_edit(db, actor, "duplicates.undo", "users", row["survivor_id"], details):
        skipped = apply_moves(db, merge_id, forward=False)
        not_restored = [
            {
                "table": table,
                "id": row_id,
                "column": column,
                "now": _value(db, table, row_id, column),
                "why": "changed since the merge; the newer value is kept",
            }
            for table, row_id, column in skipped
            if column != "updated_at"  # moves with the row's other columns
        ]
        # before keep_archived, which archives rows the undo would make active
        not_restored += archived_since(db, merge_id, row["merged_at"])
        not_restored += [
            {**k, "column": "status", "now": "archived", "why": f"kept archived: {k['why']}"}
            for k in keep_archived(db, merge_id)
        ]
        if _release_adopted(db, row["survivor_id"], row["record_kind"]):
            details["hand_made_again"] = row["survivor_id"]
        details["changed_since"] = len(not_restored)
        details["not_restored"] = not_restored
        db.execute(
            "UPDATE merges SET undone_at = current_timestamp, undone_by = ? WHERE merge_id = ?",
            [actor, merge_id],
        )
        if row["candidate_id"] is not None:
            db.execute(
                """UPDATE duplicate_candidates
                   SET status = coalesce(?, 'open'), decided_by = NULL, decided_at = NULL, merge_id = NULL
                   WHERE candidate_id = ? AND merge_id = ?""",
                [row["candidate_status"], row["candidate_id"], merge_id],
            )
        audit(
            db,
            actor,
            "duplicates.unmerged",
            target_kind="users",
            target_id=row["merged_id"],
            details=details,
        )
    return details


def _release_adopted(db: Database, survivor_id: int, kind: str) -> bool:
    """A survivor the sync took over through the tombstone's SIS id (a hand-made survivor
    updated by a row of the merged record's id) is hand-made again once the tombstone takes
    its id back: left 'sync' with no SIS id of its own, the next drop would archive it. So is
    each of its memberships made by hand (no run created it) that a feed row matched through
    that id meanwhile, should one be the sync's: no row can name it now, and the next drop
    would archive it too. (The sync no longer takes over a membership or link a person made,
    sync/kinds.py adopts_hand_made, and migration 0017 gave back the active ones it had taken
    over: this is a last guard.)"""
    released = bool(
        db.rows(
            """UPDATE users SET origin = 'hand', updated_at = current_timestamp
               WHERE user_id = ? AND origin = 'sync' AND sis_id IS NULL AND status <> 'merged'
               RETURNING user_id""",
            [survivor_id],
        )
    )
    if released:
        for table, owner, _same in ATTACHED.get(kind, ()):
            db.execute(
                f"""UPDATE {table} SET origin = 'hand', updated_at = current_timestamp
                    WHERE {owner} = ? AND origin = 'sync' AND created_run IS NULL""",
                [survivor_id],
            )
    return released


def _value(db: Database, table: str, row_id: int, column: str) -> str | None:
    value = db.one(f"SELECT {column} FROM {table} WHERE {ID_COLUMNS[table]} = ?", [row_id])
    return None if value is None else str(value)
