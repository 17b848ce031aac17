"""Applying a plan: one transaction that writes every planned change, or none of them."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

from daemon.db import Database
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


def write_plan(db: Database, schema: str, run_id: int) -> None:
    """Inside the caller's transaction: creates, updates, unarchives and archives per table."""
    for table in kinds.TABLES:
        plan = f"{schema}.plan_{table.name}"
        _insert_creates(db, table, plan, run_id)
        crash_point(f"after_create_{table.name}")
        _update_rows(db, table, plan, run_id)
        _archive_rows(db, table, plan, run_id)
        crash_point(f"after_{table.name}")
    apply_reference_data(db, schema, run_id)
    # New schools answer to their SIS id.
    db.execute(
        f"""INSERT INTO school_sis_ids
            SELECT p.sis_id, p.id, current_timestamp, 'sync' FROM {schema}.plan_schools p
            WHERE p.op = 'create' AND p.sis_id IS NOT NULL"""
    )


def _plan_columns(db: Database, table: Table, plan: str) -> list[str]:
    """The plan's columns: the feed may not speak for every column in every run."""
    schema, name = plan.split(".", 1)
    present = set(db.columns(name.strip('"'), schema.strip('"')))
    return [c for c in table.compared if c in present]


def _insert_creates(db: Database, table: Table, plan: str, run_id: int) -> None:
    columns = _plan_columns(db, table, plan)
    cols = ", ".join(columns)
    p_cols = ", ".join(f"p.{c}" for c in columns)
    hash_cols, hash_values = "", ""
    if table.hashed:
        hash_cols = ", source_hash, synced_hash"
        synced = _synced_hash(table, columns, lambda c: "NULL")
        hash_values = f", p._source_hash, {synced}"
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


def _update_rows(db: Database, table: Table, plan: str, run_id: int) -> None:
    columns = _plan_columns(db, table, plan)
    sets = ", ".join(f"{c} = p.{c}" for c in columns)
    hashes = ""
    if table.hashed:
        # A column the plan lacks keeps its value, which is the record's (before the update).
        synced = _synced_hash(table, columns, lambda c: f"{table.name}.{c}")
        hashes = f", source_hash = p._source_hash, synced_hash = {synced}"
    db.execute(
        f"""
        UPDATE {table.name} SET {sets}, status = 'active', origin = 'sync', last_run = {run_id},
               updated_at = current_timestamp, archived_run = NULL, archived_at = NULL,
               source_file = p._file, source_line = p._line {hashes}
        FROM {plan} p
        WHERE {table.name}.{table.id_col} = p.id AND p.op IN ('update', 'unarchive')
        """
    )
    if table.hashed:  # unchanged records that now remember the feed row they match
        db.execute(
            f"""
            UPDATE {table.name} SET source_hash = p._source_hash,
                   synced_hash = {synced_hash(table, table.name)}
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
