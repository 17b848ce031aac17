"""Finding records in the directory, and a record's links and history."""

from __future__ import annotations

from typing import Any

from daemon.db import Database
from daemon.directory.records import EditRefused
from daemon.directory.shapes import ClassroomDetail, UserDetail
from daemon.models import Page

MAX_PAGE = 500
ID_COLUMNS = {"users": "user_id", "classrooms": "classroom_id", "schools": "school_id"}
USER_KIND_TO_CHANGE = {"student": "students", "staff": "staff", "guardian": "guardians"}


def find_users(
    db: Database,
    query: str = "",
    *,
    kind: str | None = None,
    status: str | None = None,
    offset: int = 0,
    limit: int = 50,
) -> Page:
    """By name (any order, any part), SIS id, student number, or email."""
    where, params = ["status <> 'merged'"], []
    if kind:
        where.append("kind = ?")
        params.append(kind)
    if status:
        where.append("status = ?")
        params.append(status)
    for word in query.lower().split():
        where.append(
            "(lower(given_name) LIKE ? OR lower(family_name) LIKE ? OR lower(sis_id) = ? "
            "OR lower(identifier) = ? OR lower(email) LIKE ? OR CAST(user_id AS VARCHAR) = ?)"
        )
        params += [f"{word}%", f"{word}%", word, word, f"{word}%", word.lstrip("#")]
    clause = " AND ".join(where)
    total = int(db.one(f"SELECT count(*) FROM users WHERE {clause}", params))
    rows = db.dicts(
        f"""SELECT user_id, kind, role, sis_id, identifier, given_name, family_name, email, mobile_phone,
                   status, origin, grades, birth_date, archived_at, archived_run, last_run,
                   (SELECT string_agg(s.name, ', ' ORDER BY s.name) FROM user_schools us
                    JOIN schools s USING (school_id) WHERE us.user_id = users.user_id) AS schools
            FROM users WHERE {clause}
            ORDER BY family_name, given_name, user_id LIMIT ? OFFSET ?""",
        [*params, max(1, min(limit, MAX_PAGE)), offset],
    )
    return Page(total=total, offset=offset, items=rows)


def find_classrooms(db: Database, query: str = "", offset: int = 0, limit: int = 50) -> Page:
    where, params = ["true"], []
    for word in query.lower().split():
        where.append(
            "(lower(c.name) LIKE ? OR lower(c.sis_id) = ? OR CAST(c.classroom_id AS VARCHAR) = ?)"
        )
        params += [f"%{word}%", word, word.lstrip("#")]
    clause = " AND ".join(where)
    total = int(db.one(f"SELECT count(*) FROM classrooms c WHERE {clause}", params))
    rows = db.dicts(
        f"""SELECT c.classroom_id, c.sis_id, c.name, c.class_type, c.status, c.origin, c.name_locked,
                   s.name AS school,
                   (SELECT count(*) FROM enrollments e WHERE e.classroom_id = c.classroom_id
                    AND e.status = 'active' AND e.role = 'student') AS students
            FROM classrooms c LEFT JOIN schools s USING (school_id) WHERE {clause}
            ORDER BY c.name, c.classroom_id LIMIT ? OFFSET ?""",
        [*params, max(1, min(limit, MAX_PAGE)), offset],
    )
    return Page(total=total, offset=offset, items=rows)


def user_detail(db: Database, user_id: int) -> UserDetail:
    rows = db.dicts("SELECT * FROM users WHERE user_id = ?", [user_id])
    if not rows:
        raise EditRefused(f"no user {user_id}")
    user = rows[0]
    user["schools"] = [
        r[0]
        for r in db.rows(
            "SELECT s.name FROM user_schools us JOIN schools s USING (school_id) WHERE us.user_id = ? ORDER BY 1",
            [user_id],
        )
    ]
    other = "guardian_id" if user["kind"] == "student" else "student_id"
    mine = "student_id" if user["kind"] == "student" else "guardian_id"
    user["links"] = db.dicts(
        f"""SELECT l.link_id, l.status, l.origin, l.relationship, u.user_id, u.given_name, u.family_name, u.sis_id
            FROM guardian_links l JOIN users u ON u.user_id = l.{other}
            WHERE l.{mine} = ? ORDER BY l.status, u.family_name""",
        [user_id],
    )
    user["classrooms"] = db.dicts(
        """SELECT c.classroom_id, c.name, c.sis_id, e.role, e.status, e.origin
           FROM enrollments e JOIN classrooms c USING (classroom_id) WHERE e.user_id = ?
           ORDER BY e.status, c.name""",
        [user_id],
    )
    user["attributes"] = db.dicts(
        "SELECT name, value, status, origin FROM student_attributes WHERE student_id = ? ORDER BY name",
        [user_id],
    )
    user["history"] = record_history(db, "users", user_id)
    user["merged_records"] = db.dicts(
        "SELECT user_id, sis_id, given_name, family_name FROM users WHERE merged_into = ?",
        [user_id],
    )
    return UserDetail.model_validate(user)


def classroom_detail(db: Database, classroom_id: int) -> ClassroomDetail:
    rows = db.dicts(
        """SELECT c.*, s.name AS school FROM classrooms c LEFT JOIN schools s USING (school_id)
           WHERE c.classroom_id = ?""",
        [classroom_id],
    )
    if not rows:
        raise EditRefused(f"no classroom {classroom_id}")
    room = rows[0]
    room["members"] = db.dicts(
        """SELECT u.user_id, u.given_name, u.family_name, u.sis_id, u.kind, e.role, e.status, e.origin
           FROM enrollments e JOIN users u USING (user_id) WHERE e.classroom_id = ?
           ORDER BY e.status, e.role DESC, u.family_name, u.given_name LIMIT 2000""",
        [classroom_id],
    )
    room["history"] = record_history(db, "classrooms", classroom_id)
    return ClassroomDetail.model_validate(room)


def record_history(db: Database, table: str, record_id: int) -> list[dict[str, Any]]:
    """Which runs changed the record, and which people edited it, newest first."""
    kinds = {
        "users": "('students', 'staff', 'guardians')",
        "classrooms": "('classrooms')",
        "schools": "('schools')",
    }[table]
    return db.dicts(
        f"""SELECT * FROM (
                SELECT r.decided_at AS happened_at, 'run ' || c.run_id AS who, c.op AS what,
                       array_to_string(list_transform(coalesce(c.fields, []),
                           lambda f: f.field || ': ' || coalesce(f.old, '-') || ' -> ' || coalesce(f.new, '-')), '; ') AS detail
                FROM changes c JOIN runs r USING (run_id)
                WHERE c.kind IN {kinds} AND r.status = 'applied'
                  AND c.record_id IN (SELECT ? UNION SELECT user_id FROM users
                                      WHERE merged_into = ? AND {"true" if table == "users" else "false"})
                UNION ALL
                SELECT r.decided_at, 'run ' || r.run_id, 'create', '' FROM {table} t
                JOIN runs r ON r.run_id = t.created_run
                WHERE t.{ID_COLUMNS[table]} = ?
                UNION ALL
                -- an archive a run withheld, done when a person approved it (sync/withheld.py)
                SELECT r.withheld_decided_at, r.withheld_decided_by, 'archive',
                       'withheld by run ' || r.run_id || ', approved: ' || coalesce(r.withheld_reason, '')
                FROM withheld_archives w JOIN runs r USING (run_id)
                WHERE w.table_name = ? AND w.record_id = ? AND w.outcome = 'archived'
                UNION ALL
                -- a feed value a person took in a conflict (sync/conflicts.py), once it applied
                SELECT c.decided_at, c.decided_by, 'take',
                       coalesce(c.field, c.kind) || ': ' || coalesce(c.directory_value, '-')
                       || ' -> ' || coalesce(c.feed_value, '-') || ' (conflict '
                       || c.conflict_id || ' of run ' || c.run_id || ')'
                FROM conflicts c JOIN runs r USING (run_id)
                WHERE c.decision = 'take' AND r.status = 'applied'
                  AND c.record_kind = ? AND c.record_id = ?
                UNION ALL
                SELECT occurred_at, actor, action, details FROM audit_log
                WHERE target_kind = ? AND target_id = ?)
            ORDER BY happened_at DESC LIMIT 200""",
        [record_id, record_id, record_id, table, record_id, table, record_id, table, record_id],
    )
