"""Values a revert restores, as SQL: shared by the revert's plan and by a revert conflict taken.

A change remembers each field's before and after as text (as people read them); restoring one
casts the text back to the column's type, and a classroom's school back from its SIS id.
"""

from __future__ import annotations

from daemon.db import Database, sql_ident, sql_literal
from daemon.sync import kinds

REVERT_CONFLICT = "revert_changed_since"
# Fields shown as something else than their value (see sync/plan.py): field -> (shown, restored)
SHOWN = {
    ("classrooms", "school_id"): (
        "(SELECT sis_id FROM schools WHERE school_id = {v})",
        "(SELECT min(school_id) FROM schools WHERE sis_id = {v})",
    ),
}


def column_types(db: Database, table: str) -> dict[str, str]:
    return dict(
        db.rows(
            "SELECT column_name, data_type FROM duckdb_columns() "
            "WHERE schema_name = 'main' AND table_name = ?",
            [table],
        )
    )


def shown(table: str, column: str, value: str) -> str:
    """SQL: a column's value as a change shows it."""
    pair = SHOWN.get((table, column))
    return pair[0].format(v=value) if pair else f"CAST({value} AS VARCHAR)"


def restored(table: str, column: str, text: str, types: dict[str, str]) -> str:
    """SQL: the text a change showed, back as the column's value."""
    pair = SHOWN.get((table, column))
    if pair:
        return pair[1].format(v=text)
    return f"CAST({text} AS {types[column]})"


def table_named(name: str) -> kinds.Table:
    return next(t for t in kinds.TABLES if t.name == name)


def take_reverts(db: Database, chosen: str) -> None:
    """Revert conflicts someone chose to take: the field gets the value the revert restores, or
    the record the status it restores (the person decided, so a later change is overwritten)."""
    for table in kinds.TABLES:
        name, id_col = table.name, table.id_col
        types = column_types(db, name)
        mine = f"c.kind = {sql_literal(REVERT_CONFLICT)} AND c.record_kind = {sql_literal(name)}"
        for column in table.compared:
            db.execute(
                f"""UPDATE {name} SET {sql_ident(column)} = {restored(name, column, "c.feed_value", types)},
                           updated_at = current_timestamp, last_run = c.run_id
                    FROM {chosen} c
                    WHERE {mine} AND c.field = {sql_literal(column)} AND {name}.{id_col} = c.record_id"""
            )
        db.execute(
            f"""UPDATE {name} SET status = 'archived', archived_run = c.run_id,
                       archived_at = current_timestamp, last_run = c.run_id
                FROM {chosen} c
                WHERE {mine} AND c.field = 'status' AND c.feed_value = 'archived'
                  AND {name}.{id_col} = c.record_id AND {name}.status = 'active'"""
        )
        db.execute(
            f"""UPDATE {name} SET status = 'active', archived_run = NULL, archived_at = NULL,
                       updated_at = current_timestamp, last_run = c.run_id
                FROM {chosen} c
                WHERE {mine} AND c.field = 'status' AND c.feed_value = 'active'
                  AND {name}.{id_col} = c.record_id AND {name}.status = 'archived'"""
        )
