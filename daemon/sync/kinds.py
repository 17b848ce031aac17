"""The directory tables the sync manages, and which of their columns the feed decides."""

from __future__ import annotations

from dataclasses import dataclass

from daemon.db import sql_literal

# Every directory table carries these bookkeeping columns after its own.
BOOKKEEPING = (
    "status",
    "origin",
    "created_run",
    "last_run",
    "archived_run",
    "created_at",
    "updated_at",
    "archived_at",
    "source_file",
    "source_line",
)


@dataclass(frozen=True)
class Table:
    name: str  # directory table
    id_col: str
    compared: tuple[str, ...]  # columns the feed decides (compared and written)
    extra_insert: tuple[str, ...] = ()  # columns set on create only (defaults otherwise)
    change_kind: str | None = None  # fixed change kind; None for users (kind column decides)
    hashed: bool = False  # remembers source and synced hashes (see sync/unchanged.py)
    # remembers the raw row it was applied from too (`raw_hash`, see sync/unchanged.py raw_key)
    raw_hashed: bool = False
    # A record of it made by hand becomes the sync's when the feed names it (sync/diff.py
    # plan_table): only a person gives a hand-made school, classroom or person the feed's SIS id
    # (classrooms set-sis-id, a merge), so that is their decision to hand it over. A membership,
    # link or attribute is found by its pair instead, which no person chose to hand over: one a
    # person made stays theirs (origin 'hand'). The sync never changes or archives it; it only
    # brings it back with its person, whose archive took it (as `users unarchive` does).
    adopts_hand_made: bool = True

    def kind_expr(self, alias: str) -> str:
        if self.change_kind:
            return sql_literal(self.change_kind)
        return (
            f"CASE {alias}.kind WHEN 'student' THEN 'students' WHEN 'staff' THEN 'staff' "
            "ELSE 'guardians' END"
        )


SCHOOLS = Table(
    "schools",
    "school_id",
    ("sis_id", "org_type", "name", "identifier", "parent_sis_id"),
    change_kind="schools",
)
CLASSROOMS = Table(
    "classrooms",
    "classroom_id",
    (
        "sis_id",
        "school_id",
        "name",
        "class_code",
        "class_type",
        "grades",
        "subjects",
        "subject_codes",
        "course_sis_id",
        "term_sis_ids",
        "periods",
        "location",
    ),
    change_kind="classrooms",
)
USERS = Table(
    "users",
    "user_id",
    (
        "kind",
        "role",
        "sis_id",
        "identifier",
        "username",
        "user_ids",
        "given_name",
        "family_name",
        "middle_name",
        "preferred_given_name",
        "email",
        "mobile_phone",
        "home_phone",
        "language",
        "grades",
        "birth_date",
        "org_sis_ids",
        "enabled",
    ),
    hashed=True,
    raw_hashed=True,
)
ENROLLMENTS = Table(
    "enrollments",
    "enrollment_id",
    ("classroom_id", "user_id", "role", "sis_id", "is_primary", "begin_date", "end_date"),
    change_kind="enrollments",
    hashed=True,
    adopts_hand_made=False,
)
# The change kinds of the users table (Table.kind_expr).
USER_CHANGE_KINDS = ("students", "staff", "guardians")
USER_CHANGE_KINDS_SQL = "(" + ", ".join(f"'{k}'" for k in USER_CHANGE_KINDS) + ")"

GUARDIAN_LINKS = Table(
    "guardian_links",
    "link_id",
    ("student_id", "guardian_id", "relationship"),
    change_kind="guardian_links",
    adopts_hand_made=False,
)
STUDENT_ATTRIBUTES = Table(
    "student_attributes",
    "attribute_id",
    ("student_id", "name", "value"),
    change_kind="student_attributes",
    adopts_hand_made=False,
)

TABLES = (SCHOOLS, CLASSROOMS, USERS, ENROLLMENTS, GUARDIAN_LINKS, STUDENT_ATTRIBUTES)


def table_named(name: str) -> Table:
    return next(t for t in TABLES if t.name == name)


# Columns of a record that name other records, for its label: 'stu-1 in cls-2' (column, table,
# its id column) twice, and the words between the two SIS ids.
REFERENCES = {
    "enrollments": (
        ("user_id", "users", "user_id"),
        ("classroom_id", "classrooms", "classroom_id"),
        " in ",
    ),
    "guardian_links": (
        ("guardian_id", "users", "user_id"),
        ("student_id", "users", "user_id"),
        " for ",
    ),
}


def reference_label(table: str, alias: str = "d") -> str | None:
    """SQL over `alias`, a record of `table` in REFERENCES: its label as its change reads
    ('stu-1 in cls-2'), each SIS id looked up by the record it names. None for other tables."""
    if table not in REFERENCES:
        return None
    (one, one_table, one_id), (other, other_table, other_id), between = REFERENCES[table]
    return f"""((SELECT sis_id FROM {one_table} WHERE {one_id} = {alias}.{one})
               || {sql_literal(between)}
               || (SELECT sis_id FROM {other_table} WHERE {other_id} = {alias}.{other}))"""


CHANGE_KINDS = (
    "schools",
    "classrooms",
    "students",
    "staff",
    "guardians",
    "enrollments",
    "guardian_links",
    "student_attributes",
)
OPS = ("create", "update", "archive", "unarchive")
