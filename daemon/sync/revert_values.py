"""Values a revert restores, as SQL: shared by the revert's plan and by a revert conflict taken.

A change remembers each field's before and after as text (as people read them); restoring one
casts the text back to the column's type, and a classroom's school back from its SIS id.
"""

from __future__ import annotations

from daemon.db import Database, sql_ident, sql_literal
from daemon.directory.records import archive_attached, archived_with
from daemon.sync import kinds
from daemon.sync.diff import CASCADES
from daemon.sync.kinds import table_named
from daemon.sync.plan import NO_SIS_ID, SCHOOL_SIS
from daemon.sync.policies import UNARCHIVED_BY_HAND_NOT_IN_FEED

# The tables whose records take memberships, links and attributes with them (CASCADES).
PARENTS = tuple(dict.fromkeys(parent for refs in CASCADES.values() for _, parent in refs))

REVERT_CONFLICT = "revert_changed_since"
# A hand reference '#N' a change showed at `{at}` in a person's orgs (directory/orgs.py: no school
# answered to it as a SIS id then) that a school other than N answers to now: (ref, school N,
# school N's own SIS id or NULL, the school answering to it now). Restored as it was, it would
# move the person to that school: it is restored as school N's SIS id, or the revert is refused.
TAKEN_HAND_REFERENCES = """
    SELECT m.sis_id AS ref, n.school_id, n.name,
           (SELECT min(o.sis_id) FROM school_sis_ids o WHERE o.school_id = n.school_id) AS naming,
           min(m.school_id) AS taker
    FROM school_sis_ids m JOIN schools n ON n.school_id = TRY_CAST(substr(m.sis_id, 2) AS BIGINT)
    WHERE regexp_full_match(m.sis_id, '#[0-9]{{1,18}}') AND m.school_id <> n.school_id
    GROUP BY ALL HAVING min(m.added_at) >= {at}"""
# Fields shown as something else than their value (see sync/plan.py): field -> (shown,
# restored). `{at}` is when the change was shown (the reverted run's planning): a school shown
# as '#N' had no SIS id then, and is school N even if another school answers to '#N' since; one
# shown as '#N (no SIS id)' is school N while another school answered to '#N' then.
SHOWN = {
    ("classrooms", "school_id"): (
        SCHOOL_SIS,
        "CASE WHEN {v} LIKE '#%' THEN coalesce("
        "(SELECT min(school_id) FROM school_sis_ids WHERE sis_id = {v} AND added_at < {at}), "
        "TRY_CAST(regexp_extract({v}, '^#([0-9]{{1,18}})(?:"
        + NO_SIS_ID.replace("(", "\\(").replace(")", "\\)")
        + ")?$', 1) AS BIGINT)) "
        "ELSE (SELECT min(school_id) FROM schools WHERE sis_id = {v}) END",
    ),
    ("users", "org_sis_ids"): (
        "CAST({v} AS VARCHAR)",
        "(SELECT array_to_string(list_transform(string_split({v}, ','), "
        "lambda x: coalesce(r.renamed[trim(x)], x)), ',') "
        "FROM (SELECT map(list(ref), list(naming)) AS renamed "
        "FROM (" + TAKEN_HAND_REFERENCES + ") WHERE naming IS NOT NULL) r)",
    ),
}


def planned_at(run: str) -> str:
    """SQL: when the run `run` (SQL) was planned, which its changes' text was shown as of."""
    return f"(SELECT planned_at FROM runs WHERE run_id = {run})"


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


def restored(table: str, column: str, text: str, types: dict[str, str], at: str) -> str:
    """SQL: the text a change showed at `at` (planned_at), back as the column's value."""
    pair = SHOWN.get((table, column))
    if pair:
        return pair[1].format(v=text, at=at)
    return f"CAST({text} AS {types[column]})"


def take_reverts(db: Database, chosen: str) -> None:
    """Revert conflicts someone chose to take: the field gets the value the revert restores, or
    the record the status it restores (the person decided, so a later change is overwritten)."""
    # the archive each record brought back comes back from: what went with it comes back with
    # it, once every record of the take is written (a membership whose class and person both
    # come back, archived with either)
    db.execute(
        "CREATE OR REPLACE TEMP TABLE taken_back AS "
        + " UNION ".join(
            f"""SELECT {sql_literal(t.name)} AS table_name, d.{t.id_col} AS id, d.archived_run,
                       d.archived_at
                FROM {t.name} d JOIN {chosen} c ON c.record_id = d.{t.id_col}
                WHERE c.kind = {sql_literal(REVERT_CONFLICT)} AND c.record_kind = {sql_literal(t.name)}
                  AND c.field = 'status' AND c.feed_value = 'active' AND d.status = 'archived'"""
            for t in kinds.TABLES
            if t.name in PARENTS
        )
    )
    for table in kinds.TABLES:
        name, id_col = table.name, table.id_col
        types = column_types(db, name)
        reverted_at = planned_at("(SELECT reverted_run FROM runs WHERE run_id = c.run_id)")
        mine = f"c.kind = {sql_literal(REVERT_CONFLICT)} AND c.record_kind = {sql_literal(name)}"
        for column in table.compared:
            db.execute(
                f"""UPDATE {name} SET {sql_ident(column)} = {restored(name, column, "c.feed_value", types, reverted_at)},
                           updated_at = current_timestamp, last_run = c.run_id
                    FROM {chosen} c
                    WHERE {mine} AND c.field = {sql_literal(column)} AND {name}.{id_col} = c.record_id"""
            )
        archived = f"""SELECT c.run_id, c.record_id FROM {chosen} c
                        WHERE {mine} AND c.field = 'status' AND c.feed_value = 'archived'
                          AND c.record_id IN (SELECT {id_col} FROM {name} WHERE status = 'active')"""
        by_run: dict[int, list[str]] = {}
        for run_id, record_id in db.rows(archived):
            by_run.setdefault(int(run_id), []).append(str(int(record_id)))
        hand_unarchive = ", unarchived_by_hand_at = NULL" if name == "users" else ""
        db.execute(
            f"""UPDATE {name} SET status = 'archived', archived_run = c.run_id,
                       archived_at = current_timestamp, last_run = c.run_id {hand_unarchive}
                FROM {chosen} c
                WHERE {mine} AND c.field = 'status' AND c.feed_value = 'archived'
                  AND {name}.{id_col} = c.record_id AND {name}.status = 'active'"""
        )
        for run_id, ids in by_run.items():
            _archive_attached(db, name, ", ".join(ids), run_id)
        db.execute(
            f"""UPDATE {name} SET status = 'active', archived_run = NULL, archived_at = NULL,
                       updated_at = current_timestamp, last_run = c.run_id
                FROM {chosen} c
                WHERE {mine} AND c.field = 'status' AND c.feed_value = 'active'
                  AND {name}.{id_col} = c.record_id AND {name}.status = 'archived'"""
        )
    for parent in PARENTS:
        mine = f"c.kind = {sql_literal(REVERT_CONFLICT)} AND c.record_kind = {sql_literal(parent)}"
        _unarchive_attached(db, parent, chosen, mine)
    db.execute("DROP TABLE taken_back")
    _unarchived_by_hand_again(db, chosen)


def _unarchived_by_hand_again(db: Database, chosen: str) -> None:
    """A person a taken hand-unarchive question archived (sync/conflicts.py), brought back by
    taking a revert's question about that decision (sync/revert.py), is unarchived by hand as
    before it, from the moment that question's key names: the feed's absence asks again."""
    asked = f"""SELECT o.record_id,
                       make_timestamp(CAST(split_part(o.conflict_key, ':', 3) AS BIGINT)) AS at
                FROM {chosen} c JOIN conflicts o
                  ON c.conflict_key LIKE 'revert:%:taken:%'
                 AND o.conflict_id = TRY_CAST(split_part(c.conflict_key, ':', 4) AS BIGINT)
                WHERE c.kind = {sql_literal(REVERT_CONFLICT)}
                  AND o.kind = {sql_literal(UNARCHIVED_BY_HAND_NOT_IN_FEED)}"""
    db.execute(
        f"""UPDATE users SET unarchived_by_hand_at = a.at FROM ({asked}) a
            WHERE users.user_id = a.record_id AND users.status = 'active'"""
    )


def _unarchive_attached(db: Database, parent: str, chosen: str, mine: str) -> None:
    """A person or classroom brought back by a taken conflict gets back what the reverted run
    archived with it, which the revert left archived while the person stayed archived
    (sync/revert.py), and what the archive it is brought back from took (`taken_back`: a later
    run's, say; the revert does not ask about those apart): each row only where everything it
    belongs to is active."""
    for child, refs in CASCADES.items():
        owners_active = " AND ".join(
            f"{child}.{column} IN (SELECT {table_named(table).id_col} FROM {table} "
            "WHERE status = 'active')"
            for column, table in refs
        )
        for column, table in refs:
            if table != parent:
                continue
            db.execute(
                f"""UPDATE {child} SET status = 'active', archived_run = NULL, archived_at = NULL,
                           updated_at = current_timestamp, last_run = c.run_id
                    FROM {chosen} c
                    WHERE {mine} AND c.field = 'status' AND c.feed_value = 'active'
                      AND {child}.{column} = c.record_id AND {child}.status = 'archived'
                      AND {child}.origin = 'sync' AND {owners_active}
                      AND ({child}.archived_run = (SELECT reverted_run FROM runs
                                                   WHERE run_id = c.run_id)
                           OR EXISTS (SELECT 1 FROM taken_back t
                                      WHERE t.table_name = {sql_literal(parent)}
                                        AND t.id = c.record_id
                                        AND {archived_with(child, "t")}))"""
            )


def _archive_attached(db: Database, table: str, ids: str, run_id: int) -> None:
    """What a person or classroom archived by a taken conflict holds goes with it, as every
    other archive takes it (a hand archive, a sync's or a revert's cascade): no archived person
    keeps an active membership, link or attribute, nor an archived classroom an enrollment."""
    if table == "users":
        archive_attached(db, ids, run_id)
    elif table == "classrooms":
        db.execute(
            f"""UPDATE enrollments SET status = 'archived', archived_run = {int(run_id)},
                       archived_at = current_timestamp, updated_at = current_timestamp
                WHERE classroom_id IN ({ids}) AND status = 'active' AND origin = 'sync'"""
        )
