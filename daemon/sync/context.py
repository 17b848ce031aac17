"""What the planning steps share: the run, its staging schema, the drop's modes and the settings."""

from __future__ import annotations

from dataclasses import dataclass, field

from daemon.db import (
    Database,
    drop_run_tables,
    drop_temp_tables,
    sql_ident,
    sql_literal,
    temp_table,
)
from daemon.formats.spec import FileSpec, ValueType
from daemon.ingest.issues import Issue
from daemon.ingest.value_rules import value_rule, visible_text
from daemon.settings import SyncSettings

# Row results whose rows the plan leaves out, keeping the records they name: errors, and rows of
# a school outside a scoped run (a WARNING: the row is fine, only not this run's to sync).
LEFT_OUT = "(severity = 'ERROR' OR rule = 'out_of_scope')"
# A guardians.csv row whose guardian is no guardian (staff, a student, the student herself): a
# WARNING, and the row is left out too, but it keeps nothing (it is no row of that person's).
NOT_A_GUARDIAN = "not_a_guardian"
NOT_SYNCED = f"({LEFT_OUT} OR rule = '{NOT_A_GUARDIAN}')"


@dataclass
class PlanContext:
    db: Database
    run_id: int
    schema: str
    settings: SyncSettings
    modes: dict[str, str]  # entity -> bulk | delta | absent
    file_names: dict[str, str]  # entity -> file name as found in the drop
    columns: dict[str, set[str]] = field(default_factory=dict)  # entity -> staging columns
    notes: list[dict[str, str]] = field(default_factory=list)  # what shaped the plan, for people
    # Fields the feed cannot speak for in this run (column missing, setting off): kept as they are.
    keep_fields: dict[str, set[str]] = field(default_factory=dict)
    issues: list[Issue] = field(default_factory=list)  # row results found while planning
    specs: dict[str, FileSpec] = field(default_factory=dict)  # entity -> what its file may hold
    # Fields whose feed value broke its type rule, per table: the directory keeps what it has.
    checked_fields: dict[str, list[str]] = field(default_factory=dict)
    # School-level upload: the SIS ids of the schools this run speaks for (empty: the district).
    scope: list[str] = field(default_factory=list)
    # Files whose sourcedIds the source made itself, not the SIS's (a hub's courses, terms and
    # enrollments: see sync/derived_ids.py); records matched otherwise keep the ids they have.
    derived_ids: set[str] = field(default_factory=set)
    # OneRoster 1.2: extensible vocabularies accept `ext:` terms (as validation read them).
    ext_terms: bool = False

    def t(self, name: str) -> str:
        """A working table of this run: temporary, gone when the process ends."""
        return temp_table(self.run_id, name)

    def held(self, what: str) -> str:
        """SQL: the ids of the `what` records (users, classrooms) the feed names but this run
        cannot process (a row in error, claimed twice, kept archived: sync/plan.py `_hold`).
        They keep what is attached to them, and a row naming one is not synced."""
        return f"SELECT id FROM {self.t(f'held_{what}')}"

    def held_sis(self, kind: str) -> str:
        """SQL: the SIS ids of the `kind` records (user, class) a row may not speak for tonight
        (its own row in error, claimed twice, no key: sync/not_synced.py). A row naming one is
        not synced, and says why; by its SIS id, so a merged record's survivor named by its
        own id is not held for a row of the merged id."""
        return (
            f"SELECT sis_id FROM {self.t('not_synced')} "
            f"WHERE kind = '{kind}' AND held AND sis_id IS NOT NULL"
        )

    def keep(self, name: str) -> str:
        """A table of this run kept in the database (plans, for a later apply)."""
        return f"{self.schema}.{name}"

    def staged_columns(self, entity: str) -> list[str]:
        """The columns of a present file's staging view, in order (none for an absent file)."""
        return (
            self.db.columns(self.t(entity).strip('"'), temporary=True)
            if self.present(entity)
            else []
        )

    def present(self, entity: str) -> bool:
        return self.modes.get(entity, "absent") != "absent"

    def derived(self, entity: str) -> bool:
        """The file's sourcedIds are the source's own, not the SIS's (see derived_ids)."""
        return entity.lower() in self.derived_ids

    def mode(self, entity: str) -> str:
        return self.modes.get(entity, "absent")

    def file(self, entity: str) -> str:
        return self.file_names.get(entity, f"{entity}.csv")

    def good(self, entity: str) -> str:
        """The staging rows of a file the plan syncs (none with an ERROR result, see
        NOT_SYNCED), as a subquery."""
        file = sql_literal(self.file(entity))
        return f"""(SELECT s.* FROM {self.t(entity)} s
                    ANTI JOIN (SELECT DISTINCT line FROM row_issues
                               WHERE run_id = {self.run_id} AND file_name = {file} AND {NOT_SYNCED}) e
                    ON e.line = s._line)"""

    def good_except(self, entity: str, *line_tables: str) -> str:
        """The good rows of a file but the lines the tables list (by `_line`), as a subquery.

        After a night's unchanged rows are set aside, a handful of millions are left: they are
        found on the narrow line columns, then fetched whole by their place in staging (`_rid`),
        instead of reading every column of every row to keep a few. With nothing set aside (a
        first load), that detour is all cost: the good rows are read as they are."""
        if not any(self.db.one(f"SELECT EXISTS (FROM {table})") for table in line_tables):
            return self.good(entity)
        anti = " ".join(
            f"ANTI JOIN {table} x{i} ON x{i}._line = n._line" for i, table in enumerate(line_tables)
        )
        return f"""(SELECT s.* FROM {self.t(entity)} s
                    WHERE s._rid IN (SELECT n._rid FROM {self.good(entity)} n {anti}))"""

    def errored(self, entity: str) -> str:
        """The rows of a file that have an ERROR result, as a subquery: staging rows with an
        error, and the rows the reader rejected, with the values it could read (see
        daemon.ingest.load). Every record such a row names is kept as it is."""
        file = sql_literal(self.file(entity))
        rows = f"""(SELECT s.* FROM {self.t(entity)} s
                    SEMI JOIN (SELECT DISTINCT line FROM row_issues
                               WHERE run_id = {self.run_id} AND file_name = {file} AND {LEFT_OUT}) e
                    ON e.line = s._line
                    UNION ALL BY NAME SELECT * FROM {self.t(f"{entity}__rejected")})"""
        # An id in error for an invisible character names the record it looks like.
        spec = self.specs.get(entity)
        ids = [c.name for c in spec.columns if c.type is ValueType.ID] if spec else []
        if not ids:
            return rows
        visible = ", ".join(f"{visible_text(sql_ident(n))} AS {sql_ident(n)}" for n in ids)
        return f"(SELECT * REPLACE ({visible}) FROM {rows})"

    def column(self, entity: str, name: str, alias: str = "") -> str:
        """The cleaned value (trimmed, empty as NULL) when the file has the column, else NULL."""
        if name not in self.columns.get(entity, set()):
            return "CAST(NULL AS VARCHAR)"
        prefix = f"{alias}." if alias else ""
        return f"{prefix}{sql_ident(name)}"  # staging is already clean

    def keep_missing(self, table: str, entity: str, fields: dict[str, str]) -> None:
        """Fields (directory field -> file column) whose column the file lacks, or the drop does
        not carry (`source.notCarried`): the feed does not speak for them in this run, so
        records keep what they have."""
        present = self.columns.get(entity, set())
        missing = {f for f, c in fields.items() if c not in present}
        if missing:
            self.keep_fields.setdefault(table, set()).update(missing)

    def broken(self, entity: str, name: str, alias: str = "") -> str:
        """SQL: the column's value breaks its type rule (the rule validation reported it by).

        The same condition that gave the row its WARNING decides that the value is not used, so
        a value is never reported as ignored and then synced, or the other way round."""
        spec = self.specs.get(entity)
        column = spec.column(name) if spec is not None else None
        if column is None or name not in self.columns.get(entity, set()):
            return "false"
        rule = value_rule(column, self.column(entity, name, alias), ext_terms=self.ext_terms)
        return f"coalesce({rule.where}, false)" if rule is not None else "false"

    def checked(
        self, entity: str, name: str, field: str, alias: str, kept: str | None = None
    ) -> str:
        """SQL select items: the column's value as `field`, NULL when it breaks its type rule
        (`broken`: the row's WARNING says it is ignored), and `_broken_<field>`, by which the
        record keeps the value it has (policies.keep_stored_values, for the tables listed in
        `checked_fields`); a new record is left without one. `kept`: SQL, another reason the
        row leaves the record's value as it is."""
        broken = self.broken(entity, name, alias)
        return (
            f"CASE WHEN NOT {broken} THEN {self.column(entity, name, alias)} END AS {field}, "
            f"{broken}{f' OR ({kept})' if kept else ''} AS _broken_{field}"
        )

    def note(self, kind: str, message: str) -> None:
        self.notes.append({"kind": kind, "message": message})

    def drop(self, *names: str) -> None:
        """Free working tables as soon as planning no longer needs them (they hold a whole day)."""
        wanted = {f"run{self.run_id}_{n}" for n in names} | {
            f"run{self.run_id}_{n}__rows" for n in names
        }
        drop_temp_tables(self.db, lambda name: name in wanted)

    def narrow(self, name: str, *columns: str) -> None:
        """Keep only the columns later steps read of a working table (dropping a column frees
        its memory at once and keeps the rest as it is): working tables are held uncompressed,
        and what does not fit the memory limit spills."""
        table = self.t(name)
        # one call for them all: a call apiece cost as much again as DuckDB's work on a small day
        self.db.execute_all(
            f"ALTER TABLE {table} DROP COLUMN {sql_ident(column)}"
            for column in self.db.columns(table.strip('"'), temporary=True)
            if column not in columns
        )

    def drop_all(self) -> None:
        """Every working table of this run (a long-lived daemon connection must not keep them)."""
        drop_run_tables(self.db, self.run_id)

    def max_id(self, table: str, id_col: str) -> int:
        return int(self.db.one(f"SELECT coalesce(max({id_col}), 0) FROM {table}") or 0)

    def one(self, sql: str) -> int:
        return int(self.db.one(sql) or 0)
