"""Given-name nicknames as a table: Bill ~ William, Paco ~ Francisco.

The pairs ship in nicknames.csv beside this file (from the Apache-2.0 `nicknames` package, plus
common Spanish forms; see docs/duplicates.md). A pair matches in both directions, and two names
that are only ever nicknames of the same full name (bill, billy) match too; two full names that
share a nickname (Christopher, Christina) do not, or twins would slip through the twin guard.
"""

from __future__ import annotations

from importlib import resources

from daemon.db import Database, sql_literal

NICK_TABLE = "dup_nick"
NICK_PARENTS = "dup_nick_parent"  # nickname-only name -> the full names it shortens


def load_nicknames(db: Database) -> None:
    """(a, b) pairs of plain lower-case names that count as the same given name."""
    with resources.as_file(resources.files("daemon.duplicates") / "nicknames.csv") as path:
        db.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {NICK_TABLE} AS
            WITH raw AS (
                SELECT DISTINCT replace(name, ' ', '') AS name, replace(nickname, ' ', '') AS nick
                FROM read_csv({sql_literal(str(path))}, header = true, auto_detect = false,
                              columns = {{'name': 'VARCHAR', 'nickname': 'VARCHAR'}})
                WHERE name <> nickname
            ),
            full_names AS (SELECT DISTINCT name FROM raw),
            shared AS (
                SELECT x.nick AS a, y.nick AS b FROM raw x JOIN raw y ON x.name = y.name
                WHERE x.nick <> y.nick
                  AND x.nick NOT IN (SELECT name FROM full_names)
                  AND y.nick NOT IN (SELECT name FROM full_names)
            )
            SELECT DISTINCT a, b,
                   -- both are given names in their own right (Emily, Emma), not only a short form
                   a IN (SELECT name FROM full_names) AND b IN (SELECT name FROM full_names)
                       AS both_full
            FROM (
                SELECT name AS a, nick AS b FROM raw
                UNION ALL SELECT nick, name FROM raw
                UNION ALL SELECT a, b FROM shared
            )
            """
        )
        db.execute(
            f"""
            CREATE OR REPLACE TEMP TABLE {NICK_PARENTS} AS
            SELECT DISTINCT replace(nickname, ' ', '') AS nick, replace(name, ' ', '') AS parent
            FROM read_csv({sql_literal(str(path))}, header = true, auto_detect = false,
                          columns = {{'name': 'VARCHAR', 'nickname': 'VARCHAR'}})
            WHERE nickname NOT IN (SELECT name FROM read_csv({sql_literal(str(path))}, header = true,
                                   auto_detect = false,
                                   columns = {{'name': 'VARCHAR', 'nickname': 'VARCHAR'}}))
            """
        )
