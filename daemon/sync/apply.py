"""Applying a plan: one transaction that writes every planned change, or none of them."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

from daemon.audit import audit
from daemon.db import Database
from daemon.directory.orgs import hand_references_taken, rename_hand_references
from daemon.directory.records import WAITS_FOR, hand_to_what_keeps_them_out
from daemon.errors import RosterSyncError
from daemon.sync import kinds
from daemon.sync.kinds import Table
from daemon.sync.reference import apply_reference_data
from daemon.sync.unchanged import synced_hash, synced_hash_of

# Test hook: `ROSTER_SYNC_CRASH_AT=<step>` kills the process at that step (kill-during-apply tests).
CRASH_ENV = "ROSTER_SYNC_CRASH_AT"
NEW_RECORD_DEFAULTS = {"classrooms": ", name_locked", "users": ", account_active, contacts_edited"}
NEW_RECORD_VALUES = {"classrooms": ", false", "users": ", false, false"}


def crash_point(step: str) -> None:
    if os.environ.get(CRASH_ENV) == step:
        os.kill(os.getpid(), signal.SIGKILL)


def write_plan(db: Database, schema: str, run_id: int, actor: str) -> None:
    """Inside the caller's transaction: creates, updates, unarchives and archives per table."""
    stored = _stored_columns(db, schema)
    for table in kinds.TABLES:
        plan = f"{schema}.plan_{table.name}"
        present = stored.get(f"plan_{table.name}", set())
        _insert_creates(db, table, plan, run_id, present)
        crash_point(f"after_create_{table.name}")
        touched = int(db.one(f"SELECT count(*) FROM {plan} WHERE op IN {_ops(_TOUCHED)}") or 0)
        if touched and _few(db, table, touched):
            _rewrite_rows(db, table, plan, run_id, present)
        elif touched:
            _update_rows(db, table, plan, run_id, present)
            _archive_rows(db, table, plan, run_id)
        crash_point(f"after_{table.name}")
    _hand_over_what_waits(db, schema, stored)
    _end_hand_unarchives(db, schema, bool(stored.get("hand_unarchives_ended")))
    apply_reference_data(db, schema, run_id)
    _keep_hand_references(db, schema, run_id, actor)
    # New schools answer to their SIS id.
    db.execute(
        f"""INSERT INTO school_sis_ids
            SELECT p.sis_id, p.id, current_timestamp, 'sync' FROM {schema}.plan_schools p
            WHERE p.op = 'create' AND p.sis_id IS NOT NULL"""
    )


def _stored_columns(db: Database, schema: str) -> dict[str, set[str]]:
    """The columns of each table a plan stored (one catalog read for them all): the feed may
    not speak for every column in every run."""
    return {
        name: set(columns)
        for name, columns in db.rows(
            "SELECT table_name, list(column_name) FROM duckdb_columns() "
            "WHERE schema_name = ? GROUP BY table_name",
            [schema.strip('"')],
        )
    }


def _hand_over_what_waits(db: Database, schema: str, stored: dict[str, set[str]]) -> None:
    """What the plan found waiting for an archived owner (a classroom or person: sync/diff.py
    `hand_over_what_waits`) is handed to that one's archive, once every record has its status
    and tonight's archives their moment: a classroom this run archives hands it tonight's, and
    the owner this run brings back, active now, is not the one it waits for. Only where the
    plan stored such a table and it lists any (most nights, none)."""
    for table in WAITS_FOR:
        handed = f"{schema}.handed_{table}"
        if f"handed_{table}" in stored and db.one(f"SELECT EXISTS (FROM {handed})"):
            hand_to_what_keeps_them_out(db, table, f"SELECT id FROM {handed}")


def _end_hand_unarchives(db: Database, schema: str, ended_stored: bool) -> None:
    """The people unarchived by hand whom this run's feed lists (sync/policies.py
    `keep_hand_unarchives`): the feed agrees with the person now, so from here on its absence
    archives them as anyone's. So for one this run archives or unarchives (a revert's plan,
    which lists nobody, or a conflict taken): the hand unarchive is behind them."""
    db.execute(
        f"""UPDATE users SET unarchived_by_hand_at = NULL
            WHERE unarchived_by_hand_at IS NOT NULL AND user_id IN (
                SELECT id FROM {schema}.plan_users WHERE op IN ('archive', 'unarchive'))"""
    )
    if ended_stored:  # only when the plan stored that table
        db.execute(
            f"""UPDATE users SET unarchived_by_hand_at = NULL
                WHERE user_id IN (SELECT id FROM {schema}.hand_unarchives_ended)"""
        )


def new_school_sis_ids(db: Database, schema: str) -> str:
    """SQL: the SIS ids the schools a plan creates answer to (hand_references_taken's rows).
    A plan of an orgs.csv without `name` has no name column (the field is kept as it is)."""
    name = (
        "coalesce(p.name, p.sis_id)" if "name" in db.columns("plan_schools", schema) else "p.sis_id"
    )
    return f"""SELECT p.sis_id, p.id AS school_id,
                      'the new school ''' || {name} || ''' (' || p._file
                      || ' line ' || p._line || ')' AS taker
               FROM {schema}.plan_schools p WHERE p.op = 'create' AND p.sis_id IS NOT NULL"""


def _keep_hand_references(db: Database, schema: str, run_id: int, actor: str) -> None:
    """A new school answering to '#N' must not take the people a person put at school N
    (directory/orgs.py): they are named by school N's own SIS id instead, audited; if it has
    none, the run is not applied."""
    taken = hand_references_taken(db, new_school_sis_ids(db, schema))
    refused = [t.refusal() for t in taken if t.naming is None]
    if refused:
        raise DirectoryWouldBreak(
            f"run {run_id} was not applied: {'; '.join(refused)}; then run the drop again. "
            "Nothing was changed."
        )
    rename_hand_references(db, taken)
    for t in taken:
        audit(
            db, actor, "user.orgs.rename", target_kind="school", target_id=t.school_id,
            details={"from": t.sis_id, "to": t.naming, "users": t.user_ids, "run": run_id},
        )  # fmt: skip


def _plan_columns(table: Table, present: set[str]) -> list[str]:
    """The plan's columns (`present`: those it stored) the feed spoke for."""
    return [c for c in table.compared if c in present]


def _raw_hash(table: Table, present: set[str]) -> str | None:
    """SQL: the raw row a record is applied from (sync/unchanged.py raw_key), written with its
    source hash; None for a table that keeps none. A plan without the column (a revert's, or
    one stored before schema 23) remembers none."""
    if not table.raw_hashed:
        return None
    return "p._raw_hash" if "_raw_hash" in present else "NULL"


def _insert_creates(db: Database, table: Table, plan: str, run_id: int, present: set[str]) -> None:
    columns = _plan_columns(table, present)
    cols = ", ".join(columns)
    p_cols = ", ".join(f"p.{c}" for c in columns)
    hash_cols, hash_values = "", ""
    if table.hashed:
        hash_cols = ", source_hash, synced_hash"
        synced = _synced_hash(table, columns, lambda c: "NULL")
        hash_values = f", p._source_hash, {synced}"
    raw = _raw_hash(table, present)
    if raw is not None:
        hash_cols, hash_values = f"{hash_cols}, raw_hash", f"{hash_values}, {raw}"
    db.execute(
        f"""
        INSERT INTO {table.name} ({table.id_col}, {cols}, status, origin, created_run, last_run,
                                  created_at, updated_at, source_file, source_line
                                  {NEW_RECORD_DEFAULTS.get(table.name, "")}{hash_cols})
        SELECT p.id, {p_cols}, 'active', 'sync', {run_id}, {run_id}, current_timestamp,
               current_timestamp, p._file, p._line {NEW_RECORD_VALUES.get(table.name, "")}{hash_values}
        FROM {plan} p WHERE p.op = 'create'
        """
    )


def _synced_hash(table: Table, planned: list[str], otherwise: Callable[[str], str]) -> str:
    """The hash of a record's values as apply leaves it (active, from the sync): the plan's
    value of each column it has, `otherwise(column)` for the rest."""
    return synced_hash_of(
        table, lambda c: f"p.{c}" if c in planned else otherwise(c), "'active'", "'sync'"
    )


# The ops that leave a record active with the plan's values, and every op on an existing record.
_ACTIVE = ("update", "unarchive")
_TOUCHED = (*_ACTIVE, "refresh", "archive")


def _made_by_the_sync(table: Table, alias: str) -> str:
    """SQL over the record `alias` (as it was): an update or unarchive makes it the sync's,
    naming the feed row it came from. A membership, link or attribute keeps its maker
    (kinds.Table.adopts_hand_made): one a person made, brought back with its person
    (sync/diff.py), stays theirs and names no feed row."""
    return "true" if table.adopts_hand_made else f"{alias}.origin = 'sync'"


# A plan touching at least this many records, and at least a tenth of its table (a year's
# rollover archiving every enrollment, an approved mass archive), is written in place: most
# vectors are then touched anyway, and rewriting whole rows cost more (every enrollment of 3M
# students archived: 75.5 s rewritten, 45.3 s in place).
IN_PLACE_FROM_ROWS = 100_000


def _few(db: Database, table: Table, touched: int) -> bool:
    if touched < IN_PLACE_FROM_ROWS:
        return True
    return touched * 10 < int(db.one(f"SELECT count(*) FROM {table.name}") or 0)


def _rewrite_rows(db: Database, table: Table, plan: str, run_id: int, present: set[str]) -> None:
    """Updates, unarchives, refreshes and archives, written as each touched record's new row
    (deleted, then inserted again), not as updates in place.

    DuckDB keeps, for every vector of 2,048 rows an update touches, a copy of each updated
    column's vector until the commit; a night's changes are scattered over every vector of the
    large tables. At 3M students a day-2 apply so held 3.2 GB for 370,000 changed records (the
    enrollments' archives alone 1.7 GB), which under a 2 GB limit spilled and read back at the
    commit (7 s of a 17.5 s apply). Deleting and inserting the same records holds a few MB.
    A record's place in its table is not part of it (nothing reads the tables in storage order).
    Both ways write the same values: tests/sync/test_apply_invariants.py applies one plan each
    way and compares every column."""
    columns = _plan_columns(table, present)
    active = f"p.op IN {_ops(_ACTIVE)}"
    by_sync = f"{active} AND {_made_by_the_sync(table, 't')}"
    own = {c: f"CASE WHEN {active} THEN p.{c} ELSE t.{c} END AS {c}" for c in columns}
    bookkeeping = {
        "status": "CASE p.op WHEN 'archive' THEN 'archived' WHEN 'refresh' THEN t.status "
        "ELSE 'active' END AS status",
        "origin": f"CASE WHEN {by_sync} THEN 'sync' ELSE t.origin END AS origin",
        "last_run": f"CASE WHEN p.op = 'refresh' THEN t.last_run ELSE {run_id} END AS last_run",
        "updated_at": f"CASE WHEN {active} THEN current_timestamp ELSE t.updated_at END "
        "AS updated_at",
        "archived_run": f"CASE p.op WHEN 'archive' THEN {run_id} WHEN 'refresh' "
        "THEN t.archived_run END AS archived_run",
        "archived_at": "CASE p.op WHEN 'archive' THEN current_timestamp WHEN 'refresh' "
        "THEN t.archived_at END AS archived_at",
        "source_file": f"CASE WHEN {by_sync} THEN p._file ELSE t.source_file END AS source_file",
        "source_line": f"CASE WHEN {by_sync} THEN p._line ELSE t.source_line END AS source_line",
    }
    if table.hashed:
        # A column the plan lacks keeps its value, which is the record's (before the update);
        # a refreshed record remembers the feed row it matches and its own values' hash.
        updated = _synced_hash(table, columns, lambda c: f"t.{c}")
        bookkeeping["source_hash"] = (
            "CASE WHEN p.op = 'archive' THEN t.source_hash ELSE p._source_hash END AS source_hash"
        )
        bookkeeping["synced_hash"] = (
            f"CASE WHEN {active} THEN {updated} WHEN p.op = 'refresh' "
            f"THEN {synced_hash(table, 't')} ELSE t.synced_hash END AS synced_hash"
        )
    raw = _raw_hash(table, present)
    if raw is not None:
        bookkeeping["raw_hash"] = (
            f"CASE WHEN p.op = 'archive' THEN t.raw_hash ELSE {raw} END AS raw_hash"
        )
    rewritten = "apply_rewritten"
    db.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE {rewritten} AS
        SELECT t.* REPLACE ({", ".join([*own.values(), *bookkeeping.values()])})
        FROM {table.name} t
        JOIN (SELECT * FROM {plan} WHERE op IN {_ops(_TOUCHED)}) p ON p.id = t.{table.id_col}
        """
    )
    twice = db.one(f"SELECT count(*) - count(DISTINCT {table.id_col}) FROM {rewritten}")
    if twice:
        raise DirectoryWouldBreak(
            f"run {run_id} was not applied: its plan of {table.name} names {twice} record(s) "
            "more than once; nothing was changed. Please report this with the run's drop."
        )
    db.execute(
        f"DELETE FROM {table.name} WHERE {table.id_col} IN (SELECT {table.id_col} FROM {rewritten})"
    )
    db.execute(f"INSERT INTO {table.name} BY NAME SELECT * FROM {rewritten}")
    db.execute(f"DROP TABLE {rewritten}")


def _update_rows(db: Database, table: Table, plan: str, run_id: int, present: set[str]) -> None:
    columns = _plan_columns(table, present)
    sets = ", ".join(f"{c} = p.{c}" for c in columns)
    hashes = ""
    if table.hashed:
        # A column the plan lacks keeps its value, which is the record's (before the update).
        synced = _synced_hash(table, columns, lambda c: f"{table.name}.{c}")
        hashes = f", source_hash = p._source_hash, synced_hash = {synced}"
    raw = _raw_hash(table, present)
    if raw is not None:
        hashes += f", raw_hash = {raw}"
    by_sync = _made_by_the_sync(table, table.name)
    db.execute(
        f"""
        UPDATE {table.name} SET {sets}, status = 'active', last_run = {run_id},
               origin = CASE WHEN {by_sync} THEN 'sync' ELSE origin END,
               updated_at = current_timestamp, archived_run = NULL, archived_at = NULL,
               source_file = CASE WHEN {by_sync} THEN p._file ELSE source_file END,
               source_line = CASE WHEN {by_sync} THEN p._line ELSE source_line END {hashes}
        FROM {plan} p
        WHERE {table.name}.{table.id_col} = p.id AND p.op IN ('update', 'unarchive')
        """
    )
    if table.hashed:  # unchanged records that now remember the feed row they match
        db.execute(
            f"""
            UPDATE {table.name} SET source_hash = p._source_hash,
                   synced_hash = {synced_hash(table, table.name)}
                   {"" if raw is None else f", raw_hash = {raw}"}
            FROM {plan} p
            WHERE {table.name}.{table.id_col} = p.id AND p.op = 'refresh'
            """
        )


def _archive_rows(db: Database, table: Table, plan: str, run_id: int) -> None:
    db.execute(
        f"""
        UPDATE {table.name} SET status = 'archived', archived_run = {run_id},
               archived_at = current_timestamp, last_run = {run_id}
        FROM {plan} p
        WHERE {table.name}.{table.id_col} = p.id AND p.op = 'archive'
        """
    )


def _ops(ops: tuple[str, ...]) -> str:
    return "(" + ", ".join(f"'{op}'" for op in ops) + ")"


class DirectoryWouldBreak(RosterSyncError):
    """Writing the plan would break an invariant of the directory; the transaction rolls back."""
