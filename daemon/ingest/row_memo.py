"""Rows a file sent before, unchanged, need their value checks only once.

A file's value checks (required, too long, a date that is not a date, an invisible character in
an id, ...) look at one row at a time and at nothing else: the same row under the same checks
gives the same issues. So the rows that passed them are remembered by the hash of their values
(taken while the file is read), and a later run checks only the rows it has not seen pass:
about 1% of a nightly export. Checks across rows (repeated ids, references) still read every
row.

What makes it safe by construction:
- the memory of a file is keyed by its *context*, a hash of the SQL of every check that ran and
  of the columns hashed: a new rule, another OneRoster version, a delta file or a file with a NUL
  byte somewhere changes the checks, so nothing remembered under other checks is used;
- a row is remembered only when its run found nothing in it (the reader nor a value check);
- the memory is a cache, not a record: it is rebuilt from each run's own rows, and losing it
  (or `ROSTER_SYNC_FULL_PATH=1`) only means checking every row again.

A row is found again by a 64-bit hash, as the unchanged-row shortcut finds unchanged records
(sync/unchanged.py): a new row would be taken for a remembered one only by a hash collision,
about one chance in 10^8 per night at a million students, and would then still be synced only
if it broke a value rule.
"""

from __future__ import annotations

import hashlib
import os

from daemon.db import Database, sql_ident, sql_literal, temp_table
from daemon.ingest.load import StagedFile

MEMO_SCHEMA = "row_memo"
# Test hook: `ROSTER_SYNC_FULL_PATH=1` checks every row and sends every row the full path (no
# rows remembered or used here, no unchanged-row shortcut in sync/unchanged.py), so that tests
# can show the shortcuts plan exactly what the full path plans.
FULL_PATH_ENV = "ROSTER_SYNC_FULL_PATH"


def remembered_files(db: Database) -> frozenset[str]:
    """The entities whose rows are remembered (one catalog read for every file of a run)."""
    return frozenset(db.tables(MEMO_SCHEMA))


class CheckedRows:
    """The rows of one staged file that its value checks must read, and what to remember."""

    def __init__(
        self,
        db: Database,
        run_id: int,
        staged: StagedFile,
        checks_sql: str,
        remembered: frozenset[str],
    ) -> None:
        """`remembered`: the entities with a memory (`remembered_files`)."""
        self.db, self.staged = db, staged
        self.memo = f"{MEMO_SCHEMA}.{sql_ident(staged.entity)}"
        signature = "\x1f".join([checks_sql, *staged.header.names])
        self.context = hashlib.sha256(signature.encode()).hexdigest()[:16]
        self.unseen = temp_table(run_id, f"{staged.entity}__unseen_rows")
        self.checked = staged.rows  # rows whose value checks run (see to_check)
        self._has_memo = staged.entity in remembered
        self._remembered = False
        self._size = 0  # rows in the memory (read with its context)

    def _usable(self) -> bool:
        if os.environ.get(FULL_PATH_ENV) or not self._has_memo:
            return False
        context, self._size = self.db.rows(
            f"SELECT (SELECT context FROM {self.memo} LIMIT 1), (SELECT count(*) FROM {self.memo})"
        )[0]
        return bool(context == self.context)

    def to_check(self) -> str:
        """The rows whose value checks must run: those not remembered as passing them."""
        self._remembered = self._usable()
        if not self._remembered:
            return self.staged.table
        # The few unseen rows are found on the hashes alone, then fetched whole by their place
        # (reading every column of every row to keep 1% of them cost a second at 1M students).
        # (DuckDB answers CREATE TABLE AS with the number of rows it wrote.)
        self.checked = int(
            self.db.one(
                f"""CREATE OR REPLACE TEMP TABLE {self.unseen} AS
                    SELECT t.* FROM {self.staged.hashed_rows} t
                    WHERE t._rid IN (SELECT r.rowid FROM {self.staged.rows_table} r
                                     ANTI JOIN {self.memo} m ON m.h = r._h)"""
            )
        )
        return f"(SELECT * EXCLUDE (_h) FROM {self.unseen})"

    def remember(self, run_id: int) -> None:
        """This run's rows that neither the reader nor a value check found anything in, for
        the next run of the same checks (called after the value checks and before the checks
        across rows, whose findings are not about the row's own values).

        What was remembered under the same checks stays true, so a night whose rows were
        mostly remembered adds only its new rows; the memory is written afresh when it has
        grown a quarter past the file (rows that left the file) or the checks changed."""
        if os.environ.get(FULL_PATH_ENV):
            # The test hook neither reads nor writes the memory: a run planned after it (the
            # property test's) reuses what earlier nights remembered, not this very drop.
            return
        issues = f"""(SELECT DISTINCT line FROM row_issues
                      WHERE run_id = {int(run_id)}
                        AND file_name = {sql_literal(self.staged.file_name)})"""
        context = sql_literal(self.context)
        if self._remembered and self._size <= 1.25 * self.staged.rows + 1000:
            if self.checked:  # else every row is remembered already
                self.db.execute(
                    f"""INSERT INTO {self.memo} SELECT u._h, {context} FROM {self.unseen} u
                        ANTI JOIN {issues} i ON i.line = u._line"""
                )
        else:
            if not self._has_memo:
                self.db.execute(f"CREATE SCHEMA IF NOT EXISTS {MEMO_SCHEMA}")
            self.db.execute(
                f"""CREATE OR REPLACE TABLE {self.memo} AS
                    SELECT r._h AS h, {context} AS context FROM {self.staged.row_hashes} r
                    ANTI JOIN {issues} i ON i.line = r._line"""
            )

    def drop_unseen(self) -> str:
        """The statement that drops the unseen rows' table (the caller drops every file's
        in one call, after `remember`)."""
        return f"DROP TABLE IF EXISTS {self.unseen}"
