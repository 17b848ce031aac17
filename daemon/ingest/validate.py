"""Row checks in SQL: the value rules of a file in one pass, then its keys and references."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from daemon.db import Database, rows_sharing_a_hash, sql_ident, sql_literal, temp_table
from daemon.formats.controls import CONTROL_CHARACTER_PATTERN, CONTROL_NAMES
from daemon.formats.spec import STAFF_ROLES, Column, FileSpec, Reference, ValueType
from daemon.ingest.issues import ERROR, WARNING
from daemon.ingest.load import StagedFile
from daemon.ingest.row_memo import CheckedRows, remembered_files
from daemon.ingest.value_rules import (
    INVISIBLE_IN_ID_PATTERN,
    required_rule,
    value_rule,
    visible_text,
)
from daemon.words import counted

ATTRIBUTE_NAME_PATTERN = r"^[A-Za-z0-9_.\-]{1,64}$"
# Above this many rows to check, a file's value checks first keep the rows that break any rule
# (each check is then written twice: the filter, and the issues of the rows it keeps). Planning
# the second copy costs a few milliseconds, which a small file never earns back: measured on the
# sample's users.csv and enrollments.csv rows, the filter pays from about 8,000 rows; at a
# million rows with one in a thousand broken, leaving it out took the checks 2.5 times as long.
FILTER_FROM_ROWS = 5000


@dataclass(frozen=True)
class FileContext:
    staged: StagedFile
    spec: FileSpec
    mode: str  # bulk | delta
    # Whether the file's bytes hold a control character, NUL among them (unknown: check).
    has_controls: bool = True
    ext_terms: bool = False  # OneRoster 1.2: extensible vocabularies accept `ext:` terms

    @property
    def table(self) -> str:
        return self.staged.table

    @property
    def file(self) -> str:
        return self.staged.file_name

    @property
    def id_column(self) -> str:
        return sql_ident(self.spec.key[0])


# A function that names, for a referenced entity, the SIS ids the directory already knows.
DirectoryIds = Callable[[str], str | None]


class Validator:
    def __init__(
        self,
        db: Database,
        run_id: int,
        files: dict[str, FileContext],
        directory_ids: DirectoryIds,
        records: DirectoryIds | None = None,
    ) -> None:
        self.db = db
        self.run_id = run_id
        self.files = files
        self.directory_ids = directory_ids
        self.records = records or (lambda entity: None)
        self._pending: list[tuple[str, str | None, str, str, str]] = []
        # bulk files with rows marked tobedeleted, as "users.csv (3 rows, first on line 12)":
        # said once, in the run's notes
        self.bulk_with_deletions: list[str] = []
        self.inactive_statuses: list[str] = []  # notes: files with OneRoster 1.0's 'inactive'
        # Rows per entity whose value checks ran: the rest passed them before (row_memo).
        self.value_checked: dict[str, int] = {}
        self._remembered: frozenset[str] | None = None  # files with a row memory, read once
        self._unseen: list[str] = []  # each file's DROP of its unseen rows, for the end

    def _flush(self, ctx: FileContext) -> None:
        """Every gathered row check of one file in a single pass over its rows."""
        checks, self._pending = self._pending, []
        if not checks:
            return
        structs = ", ".join(
            f"CASE WHEN {where} THEN {{'severity': {sql_literal(severity)}, "
            f"'column_name': CAST({sql_literal(column) if column else 'NULL'} AS VARCHAR), "
            f"'rule': {sql_literal(rule)}, 'message': CAST(({message}) AS VARCHAR)}} END"
            for severity, column, rule, where, message in checks
        )
        any_check = " OR ".join(f"({where})" for _, _, _, where, _ in checks)
        if self._remembered is None:
            self._remembered = remembered_files(self.db)
        checks_sql = f"{structs}\x1f{any_check}"
        rows = CheckedRows(self.db, self.run_id, ctx.staged, checks_sql, self._remembered)
        to_check = rows.to_check()
        if rows.checked:  # a file whose every row passed these checks before has none to read
            only_broken = f"WHERE {any_check}" if rows.checked > FILTER_FROM_ROWS else ""
            self.db.execute(
                f"""
                INSERT INTO row_issues
                SELECT ?, ?, _line, id, i.severity, i.column_name, i.rule,
                       {sql_literal(ctx.file)} || ' line ' || _line || ': ' || i.message
                FROM (SELECT _line, {ctx.id_column} AS id,
                             unnest(list_filter([{structs}], lambda x: x IS NOT NULL)) AS i
                      FROM {to_check} {only_broken})
                """,
                [self.run_id, ctx.file],
            )
        rows.remember(self.run_id)
        self._unseen.append(rows.drop_unseen())
        self.value_checked[ctx.spec.entity] = rows.checked

    def run(self) -> None:
        for entity, ctx in self.files.items():
            self._unknown_columns(ctx)
            self._columns(ctx)
            self._delta_rules(ctx)
            self._statuses(ctx)
            if entity == "student_attributes":
                self._attribute_names(ctx)
            self._flush(ctx)
            self._duplicate_keys(ctx)
            for reference in ctx.spec.references:
                self._reference(ctx, reference)
        if "users" in self.files:
            self._users_without_org(self.files["users"])
            self._agents_who_are_not_family(self.files["users"])
            if "enrollments" in self.files:
                self._students_enrolled_as_staff(self.files["enrollments"], self.files["users"])
        if "roles" in self.files:
            self._second_primary_roles(self.files["roles"])
        if "orgs" in self.files:
            self._org_parent_cycles(self.files["orgs"])
            if "classes" in self.files:
                self._department_as_school(self.files["classes"], self.files["orgs"])
        if "guardians" in self.files:
            self._guardian_rows_disagree(self.files["guardians"])
        self.db.execute_all(self._unseen)

    # ------------------------------------------------------------------ plumbing
    def _emit(
        self,
        ctx: FileContext,
        severity: str,
        column: str | None,
        rule: str,
        where: str,
        message: str,
        source: str | None = None,
    ) -> None:
        """`message` is an SQL expression; it is prefixed with '<file> line <n>: '.

        Checks on a file's own rows are gathered and run as one scan (see `_flush`)."""
        if source is None:
            self._pending.append((severity, column, rule, where, message))
            return
        self.db.execute(
            f"""
            INSERT INTO row_issues
            SELECT ?, ?, _line, {ctx.id_column}, ?, ?, ?,
                   {sql_literal(ctx.file)} || ' line ' || _line || ': ' || ({message})
            FROM {source or ctx.table} WHERE {where}
            """,
            [self.run_id, ctx.file, severity, column, rule],
        )

    # ------------------------------------------------------------------ file-level notes
    def _unknown_columns(self, ctx: FileContext) -> None:
        unknown = ctx.staged.header.unknown
        if not unknown:
            return
        names = ", ".join(unknown)
        self.db.execute(
            "INSERT INTO row_issues VALUES (?, ?, 1, NULL, 'WARNING', NULL, 'unknown_columns', ?)",
            [
                self.run_id,
                ctx.file,
                f"{ctx.file} line 1: unknown column{'s' if len(unknown) > 1 else ''} {names} "
                "kept but not synced",
            ],
        )

    # ------------------------------------------------------------------ per column
    def _columns(self, ctx: FileContext) -> None:
        present = set(ctx.staged.header.names)
        # Control characters: only files that hold one are searched (the hashing pass counted
        # them). Every column is, those no rule reads too: the review UI shows them all.
        ids = {c.name for c in ctx.spec.columns if c.type in (ValueType.ID, ValueType.ID_LIST)}
        for name in ctx.staged.header.names if ctx.has_controls else []:
            self._control_characters(ctx, name, in_id=name in ids)
        for column in ctx.spec.columns:
            if column.not_carried is not None:
                self._not_carried(ctx, column)
                continue
            if column.name not in present:
                continue
            col = sql_ident(column.name)
            self._emit(
                ctx,
                ERROR,
                column.name,
                "too_long",
                f"strlen({col}) > {column.max_length} AND length({col}) > {column.max_length}",
                f"'{column.name} is ' || length({col}) || ' characters long; the limit is {column.max_length}'",
            )
            if column.required:
                required = required_rule(column, col)
                self._emit(
                    ctx,
                    required.severity,
                    column.name,
                    required.rule,
                    required.where,
                    required.message,
                )
            rule = value_rule(column, col, ext_terms=ctx.ext_terms)
            if rule is not None:
                self._emit(ctx, rule.severity, column.name, rule.rule, rule.where, rule.message)
            if column.type in (ValueType.ID, ValueType.ID_LIST):
                self._invisible_characters(ctx, column.name)

    def _not_carried(self, ctx: FileContext, column: Column) -> None:
        """A column the drop says its source does not carry is not read (its value rules
        neither): records keep what they have. A value a record cannot be without (a required
        column) cannot be kept by a record the directory does not have yet: the row that would
        make one is an ERROR naming the manifest, and is skipped. Checked on every row every
        night (not remembered by row_memo): it hangs on the directory, not on the row alone."""
        if not column.required:
            return
        records = self.records(ctx.spec.entity) or "SELECT NULL AS id WHERE false"
        ending = "coalesce(lower(status), '') = 'tobedeleted'" if ctx.spec.has_status else "false"
        self._emit(
            ctx,
            ERROR,
            column.name,
            "not_carried",
            f"{ctx.id_column} IS NOT NULL AND NOT {ending} AND {ctx.id_column} NOT IN ({records})",
            sql_literal(
                f"{column.name} is required for a new record, and {column.not_carried} says this "
                "drop does not carry it (source.notCarried); the row was skipped"
            ),
            source=ctx.table,
        )

    def _control_characters(self, ctx: FileContext, name: str, in_id: bool) -> None:
        """A value holding a control character (daemon/formats/controls.py: a C0 control other
        than TAB, LF and CR, DEL, or a C1 control) is an ERROR naming the first one: shown on a
        terminal, an escape sequence recolours, moves the cursor, retitles the window. In an id,
        `_invisible_characters` reports every one of them (NUL too): one issue is enough."""
        col = sql_ident(name)
        pattern = sql_literal(CONTROL_CHARACTER_PATTERN)
        code = f"unicode(regexp_extract({col}, {pattern}))"
        found = f"regexp_matches({col}, {pattern})"
        if in_id:
            found += f" AND NOT regexp_matches({col}, {sql_literal(INVISIBLE_IN_ID_PATTERN)})"
        names = "[" + ", ".join(sql_literal(n) for n in CONTROL_NAMES) + "]"
        self._emit(
            ctx,
            ERROR,
            name,
            "control_character",
            found,
            f"{sql_literal(f'{name} contains a control character (')} || {names}[{code} + 1] || "
            f"printf(', U+%04X)', {code})",
        )

    def _invisible_characters(self, ctx: FileContext, name: str) -> None:
        """An id holding a control, zero-width or bidirectional character is an ERROR: it can
        look exactly like another id (a right-to-left override even reorders what is shown), so
        accepting it would let one record pass for another."""
        col = sql_ident(name)
        pattern = sql_literal(INVISIBLE_IN_ID_PATTERN)
        found = f"regexp_extract({col}, {pattern})"
        self._emit(
            ctx,
            ERROR,
            name,
            "invisible_character",
            f"{col} IS NOT NULL AND {_may_hold_invisible(ctx, col)} AND regexp_matches({col}, {pattern})",
            f"'{name} holds the invisible character ' || printf('U+%04X', unicode({found})) || "
            f"' at position ' || strpos({col}, {found}) || '; an id must be visible text'",
        )

    # ------------------------------------------------------------------ keys
    def _duplicate_keys(self, ctx: FileContext) -> None:
        """Only the rows whose key's hash another row shares (rows_sharing_a_hash: a sort of
        integers) are grouped by their key, and the repeated ones named: the same result as
        grouping every row of the file, at about half the cost."""
        if not all(k in ctx.staged.header.names for k in ctx.spec.key):
            return
        parts = [sql_ident(k) for k in ctx.spec.key]
        key_expr = (
            parts[0]
            if len(parts) == 1
            else " || chr(31) || ".join(f"coalesce({p}, '')" for p in parts)
        )
        shown = " || ', ' || ".join(
            f"'{k}=' || coalesce(t.{sql_ident(k)}, '')" for k in ctx.spec.key
        )
        first = sql_ident(ctx.spec.key[0])
        source = f"""(
            WITH c AS MATERIALIZED (
                SELECT * FROM {ctx.table}
                WHERE _rid IN ({rows_sharing_a_hash(ctx.table, "_rid", f"hash({key_expr})")}))
            SELECT t.*, d._first_line FROM c t
            JOIN (SELECT {key_expr} AS k, min(_line) AS _first_line FROM c
                  WHERE {first} IS NOT NULL GROUP BY k HAVING count(*) > 1) d
              ON {key_expr.replace(first, "t." + first) if len(parts) == 1 else key_expr} = d.k)"""
        self._emit(
            ctx,
            ERROR,
            ctx.spec.key[0],
            "duplicate_id",
            "_line <> _first_line",
            f"'duplicate ' || {shown.replace('t.', '')} || ' (first on line ' || _first_line || '); this row was skipped'",
            source=source,
        )

    def _statuses(self, ctx: FileContext) -> None:
        """What the run says once (a note) about a file's statuses.

        A bulk file with rows marked tobedeleted: the mark of a changes-only file, which read
        as bulk archives whoever it leaves out. It is read as the manifest says (whole); the
        note tells a district whose SIS sends changes only to declare the file delta (the
        deletion threshold holds the night meanwhile). Rows that all say `active` say nothing:
        most real full exports fill the column so, though the spec leaves it empty in bulk.
        And `inactive` (OneRoster 1.0; 1.1 knows active and tobedeleted only) is read as
        active: the note says so, since the SIS may mean the person or class is gone."""
        if "status" not in ctx.staged.header.names:
            return
        inactive = "lower(status) = 'inactive'"
        deleted = "lower(status) = 'tobedeleted'"
        deleted_rows, first_deleted, inactive_rows, first = self.db.rows(
            f"""SELECT count(*) FILTER (WHERE {deleted}), min(_line) FILTER (WHERE {deleted}),
                       count(*) FILTER (WHERE {inactive}),
                       min(_line) FILTER (WHERE {inactive}) FROM {ctx.table}"""
        )[0]
        if deleted_rows and ctx.mode == "bulk":
            self.bulk_with_deletions.append(
                f"{ctx.file} ({counted(deleted_rows, 'row')}, first on line {first_deleted})"
            )
        if inactive_rows:
            rows = f"{inactive_rows:,} rows" if inactive_rows != 1 else "1 row"
            verb = "say" if inactive_rows != 1 else "says"
            self.inactive_statuses.append(
                f"{ctx.file}: {rows} (first on line {first}) {verb} status 'inactive', a OneRoster "
                "1.0 value that 1.1 dropped; read as active. A record is archived when its row "
                "says tobedeleted, or when a bulk file leaves it out."
            )

    def _delta_rules(self, ctx: FileContext) -> None:
        if ctx.mode != "delta" or not ctx.spec.has_status:
            return
        for name in ("status", "dateLastModified"):
            if name not in ctx.staged.header.names:
                self.db.execute(
                    "INSERT INTO row_issues VALUES (?, ?, 1, NULL, 'ERROR', ?, 'delta_column', ?)",
                    [
                        self.run_id,
                        ctx.file,
                        name,
                        f"{ctx.file} line 1: a delta file needs a {name} column",
                    ],
                )
                continue
            col = sql_ident(name)
            self._emit(
                ctx,
                ERROR,
                name,
                "delta_required",
                f"{col} IS NULL",
                f"'{name} is required in a delta file'",
            )

    # ------------------------------------------------------------------ references
    def _known_ids(self, target: str, target_filter: str | None) -> str | None:
        """SQL selecting the ids a reference may name, or None when it cannot be checked.

        Its readers ask only whether an id is among them: the parts are not made distinct
        (UNION ALL), which would hash every id of the target file once more."""
        parts = []
        target_ctx = self.files.get(target)
        if target_ctx is not None:
            where = self._target_where(target, target_ctx, target_filter)
            parts.append(f"SELECT {target_ctx.id_column} AS id FROM {target_ctx.table} {where}")
            parts.extend(self._ids_of_rows_in_error(target_ctx))
        # A file read as changes only tonight (declared delta, or cut short) leaves the
        # directory's records as they are, and rows may name them.
        if target_ctx is None or target_ctx.staged.mode_tonight(target_ctx.mode) == "delta":
            directory = self.directory_ids(target)
            if directory is not None:
                parts.append(directory)
            elif target_ctx is None:
                return None
        return " UNION ALL ".join(parts)

    def _ids_of_rows_in_error(self, target_ctx: FileContext) -> list[str]:
        """A row in error still names its record (planning keeps it, and says of each row naming
        it that it is not synced, and why): a reference to it is not a dangling one. Rows the
        reader could not split, and ids in error for an invisible character, as they look."""
        id_col, name = target_ctx.id_column, target_ctx.spec.key[0]
        invisible = f"""SELECT line FROM row_issues WHERE run_id = {int(self.run_id)}
                        AND file_name = {sql_literal(target_ctx.file)}
                        AND rule = 'invisible_character' AND column_name = {sql_literal(name)}"""
        return [
            f"SELECT {id_col} FROM {target_ctx.staged.rejected_table} WHERE {id_col} IS NOT NULL",
            f"""SELECT {visible_text("t." + id_col)} FROM {target_ctx.table} t
                SEMI JOIN ({invisible}) i ON i.line = t._line""",
        ]

    def _target_where(self, target: str, target_ctx: FileContext, target_filter: str | None) -> str:
        """The rows of the target file a reference may name. A user's role is in users.csv in
        1.1 but in roles.csv in 1.2 (some 1.2 exporters still send both): either one counts."""
        if not target_filter:
            return ""
        roles = self.files.get("roles")
        if target != "users" or roles is None or "role" not in roles.staged.header.names:
            return f"WHERE {target_filter}"
        in_roles = (
            f"{target_ctx.id_column} IN (SELECT {sql_ident('userSourcedId')} FROM {roles.table}"
            f" WHERE {target_filter})"
        )
        if "role" in target_ctx.staged.header.names:
            return f"WHERE ({target_filter}) OR {in_roles}"
        return f"WHERE {in_roles}"

    def _reference(self, ctx: FileContext, ref: Reference) -> None:
        if ref.column not in ctx.staged.header.names:
            return
        known = self._known_ids(ref.target, ref.target_filter)
        if known is None:
            return
        col = sql_ident(ref.column)
        spec_column = ctx.spec.column(ref.column)
        is_list = spec_column is not None and spec_column.type is ValueType.ID_LIST
        # Single values are already trimmed in staging (rs_clean: ASCII spaces), as joins see them.
        # So is a list of one (no comma): only lists are split (splitting every users.csv row's
        # orgSourcedIds cost 0.25 s of CPU at 1M students, the lookup of 2,000 orgs 0.05 s).
        live = "AND coalesce(lower(status), '') <> 'tobedeleted'" if ref.live_only else ""
        values = f"SELECT _line, {ctx.id_column}, {col} AS ref_value FROM {ctx.table}"
        if is_list:
            values = f"""{values} WHERE NOT contains({col}, ',') {live}
                UNION ALL
                SELECT _line, {ctx.id_column}, trim(unnest(string_split({col}, ','))) AS ref_value
                FROM {ctx.table} WHERE contains({col}, ',') {live}"""
        else:
            values = f"{values} WHERE {col} IS NOT NULL {live}"
        target_file = self.files[ref.target].file if ref.target in self.files else "the directory"
        source = f"""(
            SELECT v._line, v.{ctx.id_column}, v.ref_value
            FROM ({values}) v
            ANTI JOIN ({known}) k ON k.id = v.ref_value
            WHERE v.ref_value <> '')"""
        what = ref.what or f"a row of {target_file}"
        suffix = "" if ref.severity == ERROR else f"; {ref.outcome}"
        self._emit(
            ctx,
            ref.severity,
            ref.column,
            "dangling_reference",
            "true",
            f"'{ref.column} ''' || ref_value || ''' is not "
            f"{(what + suffix).replace(chr(39), chr(39) * 2)}'",
            source=source,
        )

    def _users_without_org(self, ctx: FileContext) -> None:
        known = self._known_ids("orgs", None)
        if known is None or "orgSourcedIds" not in ctx.staged.header.names:
            return
        # One equality join of each named org with the known ids: a list tested against every
        # known id was a nested-loop join, growing with the square of the schools (2,000 at
        # 1M students: 0.14 s; 6,000 at 3M: 5.6 s). Most users name one org (staging values
        # are trimmed): that is looked up as it is, and only lists are split and their lines
        # set against the lines that named a known org.
        named_a_known_org = f"""
            SELECT x._line FROM (SELECT _line, trim(unnest(string_split(orgSourcedIds, ','))) AS org
                                 FROM {ctx.table} WHERE contains(orgSourcedIds, ',')) x
            SEMI JOIN ({known}) k ON k.id = x.org"""
        source = f"""(
            SELECT u._line, u.sourcedId FROM {ctx.table} u
            ANTI JOIN ({known}) k ON k.id = u.orgSourcedIds
            WHERE u.orgSourcedIds IS NOT NULL AND NOT contains(u.orgSourcedIds, ',')
            UNION ALL
            SELECT u._line, u.sourcedId FROM {ctx.table} u
            WHERE contains(u.orgSourcedIds, ',') AND u._line NOT IN ({named_a_known_org}))"""
        self._emit(
            ctx,
            ERROR,
            "orgSourcedIds",
            "no_known_org",
            "true",
            "'none of the orgs in orgSourcedIds is known, so the user belongs nowhere'",
            source=source,
        )

    def _row_roles(self, users: FileContext, *carried: str) -> str:
        """SQL selecting each users.csv row's `_line`, `sourcedId`, role (lower case), the file
        that says it (`said_in`) and the `carried` columns of the row, the role as planning
        reads it (sync/feed/users.py): users.csv's own `role`, else, in OneRoster 1.2, the
        user's live primary role in roles.csv (else the first listed). The checks of what
        a role means (an agent who is staff, a student enrolled as a teacher) read this, so a
        1.2 drop, whose users.csv has no role column, is checked as a 1.1 one is."""
        own = "lower(u.role)" if "role" in users.staged.header.names else "CAST(NULL AS VARCHAR)"
        extra = "".join(f", u.{sql_ident(c)}" for c in carried)
        if not self._roles_file_says_roles():
            return f"""SELECT u._line, u.sourcedId, {own} AS role, 'users.csv' AS said_in {extra}
                       FROM {users.table} u"""
        roles = self.files["roles"]
        role_names = set(roles.staged.header.names)
        primary_first = (
            "CASE lower(roleType) WHEN 'primary' THEN 0 ELSE 1 END"
            if "roleType" in role_names
            else "1"
        )
        live = "coalesce(lower(status), '') <> 'tobedeleted'" if "status" in role_names else "true"
        return f"""SELECT u._line, u.sourcedId, coalesce({own}, r.role) AS role,
                          CASE WHEN {own} IS NULL THEN 'roles.csv' ELSE 'users.csv' END AS said_in
                          {extra}
                   FROM {users.table} u
                   LEFT JOIN (SELECT userSourcedId,
                                     arg_min(lower(role), [{primary_first}, _line]) AS role
                              FROM {roles.table} WHERE {live} GROUP BY userSourcedId) r
                          ON r.userSourcedId = u.sourcedId"""

    def _roles_file_says_roles(self) -> bool:
        """roles.csv (1.2) can give users their role: the file is there with its columns."""
        roles = self.files.get("roles")
        return roles is not None and {"userSourcedId", "role"} <= set(roles.staged.header.names)

    def _agents_who_are_not_family(self, ctx: FileContext) -> None:
        """agentSourcedIds names a user's family (or, on a parent, its students): a staff member
        there, another student on a student's row, or the user itself, is almost always a
        mistake in the export. No link is made of it (a link joins a student and a guardian);
        the row says so. The agents are read once, into the few rows that say something, and
        joined to the staff and students only: the guardians, most of a users.csv, can say
        nothing here but "the user itself", which needs no join.

        Each row's role comes with its agents: joining the roles back to the rows by line cost
        1.4 s of CPU at 1M students. Without roles.csv the role is the row's own column, read
        from staging as it is; with it, the roles are worked out once, into a table."""
        if "agentSourcedIds" not in ctx.staged.header.names:
            return
        staff = ", ".join(sql_literal(r) for r in STAFF_ROLES)
        roles = f"({self._row_roles(ctx, 'agentSourcedIds')})"
        if self._roles_file_says_roles():
            roles = temp_table(self.run_id, "row_roles")
            self.db.execute(
                f"CREATE OR REPLACE TEMP TABLE {roles} AS {self._row_roles(ctx, 'agentSourcedIds')}"
            )
        odd = temp_table(self.run_id, "agents_not_family")
        self.db.execute(
            f"""CREATE OR REPLACE TEMP TABLE {odd} AS
                SELECT a._line, a.sourcedId, a.agent, s.role AS agent_role
                FROM (SELECT u._line, u.sourcedId, u.role,
                             trim(unnest(string_split(u.agentSourcedIds, ','))) AS agent
                      FROM {roles} u
                      WHERE u.agentSourcedIds IS NOT NULL) a
                LEFT JOIN (SELECT sourcedId, role FROM {roles}
                           WHERE role IN ({staff}, 'student')) s
                       ON s.sourcedId = a.agent
                WHERE a.agent = a.sourcedId OR s.role IN ({staff})
                   OR (a.role = 'student' AND s.role = 'student')"""
        )
        self.db.execute(f"DROP TABLE IF EXISTS {temp_table(self.run_id, 'row_roles')}")
        family = "; agents are a student''s family (or a parent''s students)"
        self._emit(
            ctx,
            WARNING,
            "agentSourcedIds",
            "agent_is_staff",
            f"agent <> sourcedId AND agent_role IN ({staff})",
            f"'agentSourcedIds names ''' || agent || ''', a ' || agent_role || '{family}'",
            source=odd,
        )
        self._emit(
            ctx,
            WARNING,
            "agentSourcedIds",
            "agent_not_family",
            f"agent = sourcedId OR agent_role NOT IN ({staff})",
            "CASE WHEN agent = sourcedId THEN 'agentSourcedIds names the user itself' "
            "ELSE 'agentSourcedIds names ''' || agent || ''', a student, on a student''s row' "
            f"END || '{family}: no link is made'",
            source=odd,
        )
        self.db.execute(f"DROP TABLE {odd}")

    def _second_primary_roles(self, ctx: FileContext) -> None:
        """A user has one primary role: a second live `primary` row is almost always an
        export's mistake. The first by line is the user's role (sync/feed/users.py); the row
        says so. Only users whose id a primary row shares are grouped (rows_sharing_a_hash)."""
        primary = f"""(SELECT _rid, _line, sourcedId, userSourcedId FROM {ctx.table}
                       WHERE lower(roleType) = 'primary' AND userSourcedId IS NOT NULL
                         AND coalesce(lower(status), '') <> 'tobedeleted')"""
        shared = rows_sharing_a_hash(primary, "_rid", "hash(userSourcedId)")
        source = f"""(SELECT * FROM (
                          SELECT _line, sourcedId, userSourcedId,
                                 min(_line) OVER (PARTITION BY userSourcedId) AS first_line
                          FROM {primary} WHERE _rid IN ({shared}))
                      WHERE _line <> first_line)"""
        self._emit(
            ctx,
            WARNING,
            "roleType",
            "second_primary_role",
            "true",
            "'user ''' || userSourcedId || ''' has a primary role on line ' || first_line || "
            "' already, which is the user''s role; this row''s role is not (its org still counts)'",
            source=source,
        )

    def _students_enrolled_as_staff(self, enrollments: FileContext, users: FileContext) -> None:
        """A student enrolled as a class's teacher (or administrator, proctor) is almost always
        an export's mistake, and it hands a student a teacher's place: read as sent, noted."""
        if "role" not in enrollments.staged.header.names:
            return
        source = f"""(
            SELECT e._line, e.sourcedId, e.userSourcedId, lower(e.role) AS enrolled_as, u.said_in
            FROM {enrollments.table} e
            JOIN ({self._row_roles(users)}) u ON u.sourcedId = e.userSourcedId
                                               AND u.role = 'student'
            WHERE lower(e.role) IN ('teacher', 'administrator', 'proctor'))"""
        self._emit(
            enrollments,
            WARNING,
            "role",
            "student_as_staff",
            "true",
            "'userSourcedId ''' || userSourcedId || ''' is a student in ' || said_in || ', "
            "enrolled here as a ' || enrolled_as || '; read as sent'",
            source=source,
        )

    def _org_parent_cycles(self, ctx: FileContext) -> None:
        """An org that is its own parent, or whose parents lead back to it, has no top: noted."""
        if "parentSourcedId" not in ctx.staged.header.names:
            return
        source = f"""(
            WITH RECURSIVE edges AS (
                SELECT DISTINCT sourcedId AS org, parentSourcedId AS parent FROM {ctx.table}
                WHERE sourcedId IS NOT NULL AND parentSourcedId IS NOT NULL),
            walk(start, here, depth) AS (
                SELECT org, parent, 1 FROM edges
                UNION
                SELECT w.start, e.parent, w.depth + 1 FROM walk w JOIN edges e ON e.org = w.here
                WHERE w.here <> w.start AND w.depth < (SELECT count(*) FROM edges))
            SELECT o._line, o.sourcedId, min(w.depth) AS depth FROM {ctx.table} o
            JOIN walk w ON w.start = o.sourcedId AND w.here = o.sourcedId
            GROUP BY o._line, o.sourcedId)"""
        self._emit(
            ctx,
            WARNING,
            "parentSourcedId",
            "org_cycle",
            "true",
            "CASE WHEN depth = 1 THEN 'org ''' || sourcedId || ''' is its own parent' "
            "ELSE 'org ''' || sourcedId || ''' is its own ancestor (' || depth || "
            "' steps up)' END || '; the org hierarchy has no top here'",
            source=source,
        )

    def _department_as_school(self, classes: FileContext, orgs: FileContext) -> None:
        """A class's school should be a school; a department there is read as its school."""
        if "schoolSourcedId" not in classes.staged.header.names:
            return
        source = f"""(
            SELECT c._line, c.sourcedId, c.schoolSourcedId FROM {classes.table} c
            JOIN {orgs.table} o ON o.sourcedId = c.schoolSourcedId
             AND lower(o.type) = 'department')"""
        self._emit(
            classes,
            WARNING,
            "schoolSourcedId",
            "school_is_department",
            "true",
            "'schoolSourcedId ''' || schoolSourcedId || ''' is a department in orgs.csv, "
            "not a school'",
            source=source,
        )
        # A district (or a state's org) there is the class's org as it is: said as plainly.
        others = f"""(
            SELECT c._line, c.sourcedId, c.schoolSourcedId, lower(o.type) AS org_type
            FROM {classes.table} c
            JOIN {orgs.table} o ON o.sourcedId = c.schoolSourcedId
             AND lower(o.type) NOT IN ('school', 'department'))"""
        self._emit(
            classes,
            WARNING,
            "schoolSourcedId",
            "school_is_not_a_school",
            "true",
            "'schoolSourcedId ''' || schoolSourcedId || ''' is a ' || org_type || "
            "' in orgs.csv, not a school; the class is synced under it'",
            source=others,
        )

    def _guardian_rows_disagree(self, ctx: FileContext) -> None:
        fields = [  # the details the sync reads: not those the drop does not carry
            f
            for f in ("givenName", "familyName", "email", "sms", "phone", "language")
            if ctx.spec.read_columns([f])
        ]
        signature = " || chr(31) || ".join(f"coalesce({sql_ident(f)}, '')" for f in fields)
        source = f"""(SELECT _line, sourcedId, sig, first_value(sig) OVER w AS first_sig, first_value(_line) OVER w AS first_line
                      FROM (SELECT _line, sourcedId, {signature} AS sig FROM {ctx.table})
                      WINDOW w AS (PARTITION BY sourcedId ORDER BY _line))"""
        self._emit(
            ctx,
            WARNING,
            None,
            "guardian_details_differ",
            "sig <> first_sig",
            "'details of guardian ''' || sourcedId || ''' differ from line ' || first_line || ', whose details are used'",
            source=source,
        )

    def _attribute_names(self, ctx: FileContext) -> None:
        self._emit(
            ctx,
            ERROR,
            "name",
            "attribute_name",
            f"name IS NOT NULL AND NOT regexp_full_match(name, {sql_literal(ATTRIBUTE_NAME_PATTERN)})",
            "'attribute name ''' || name || ''' may hold only letters, digits, _, - and .'",
        )


def _may_hold_invisible(ctx: FileContext, col: str) -> str:
    """SQL: a cheap test `col` passes whenever it holds a character of INVISIBLE_IN_ID_PATTERN,
    so the pattern is matched only on those values (four ids on each of 7M enrollments: 2.2 s
    of one core, against 0.01 s for the test). Beyond the ASCII controls (none in a file whose
    bytes hold none: `has_controls`), the pattern's characters are TAB, LF, CR, and characters
    past ASCII (a value then has more bytes than characters)."""
    if ctx.has_controls:
        return "true"
    past_ascii = f"strlen({col}) <> length({col})"
    if not ctx.staged.may_hold_tabs_or_breaks:
        return past_ascii
    blanks = " OR ".join(f"contains({col}, chr({c}))" for c in (9, 10, 13))
    return f"({past_ascii} OR {blanks})"
