"""`roster-sync check`: the invariants the planner relies on, verified over the whole directory.

Large tables carry no database constraints (they would slow bulk loads), so this is where a
district, or a test after a kill, can confirm the directory is consistent.
"""

from __future__ import annotations

from daemon.db import Database

CHECKS: tuple[tuple[str, str], ...] = (
    ("users have unique ids", "SELECT count(*) - count(DISTINCT user_id) FROM users"),
    ("schools have unique ids", "SELECT count(*) - count(DISTINCT school_id) FROM schools"),
    (
        "classrooms have unique ids",
        "SELECT count(*) - count(DISTINCT classroom_id) FROM classrooms",
    ),
    (
        "enrollments have unique ids",
        "SELECT count(*) - count(DISTINCT enrollment_id) FROM enrollments",
    ),
    (
        "guardian links have unique ids",
        "SELECT count(*) - count(DISTINCT link_id) FROM guardian_links",
    ),
    (
        "attributes have unique ids",
        "SELECT count(*) - count(DISTINCT attribute_id) FROM student_attributes",
    ),
    (
        "one enrollment per classroom and person",
        "SELECT count(*) FROM (SELECT 1 FROM enrollments GROUP BY classroom_id, user_id HAVING count(*) > 1)",
    ),
    (
        "one link per student and guardian",
        "SELECT count(*) FROM (SELECT 1 FROM guardian_links GROUP BY student_id, guardian_id HAVING count(*) > 1)",
    ),
    (
        "one value per student and attribute",
        "SELECT count(*) FROM (SELECT 1 FROM student_attributes GROUP BY student_id, name HAVING count(*) > 1)",
    ),
    (
        "enrollments name existing classrooms and people",
        """SELECT count(*) FROM enrollments e
           WHERE NOT EXISTS (SELECT 1 FROM classrooms c WHERE c.classroom_id = e.classroom_id)
              OR NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = e.user_id)""",
    ),
    (
        "guardian links name existing people",
        """SELECT count(*) FROM guardian_links l
           WHERE NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = l.student_id)
              OR NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = l.guardian_id)""",
    ),
    (
        "classrooms belong to existing schools",
        """SELECT count(*) FROM classrooms c
           WHERE c.school_id IS NOT NULL AND NOT EXISTS (SELECT 1 FROM schools s WHERE s.school_id = c.school_id)""",
    ),
    (
        "merged records point at a survivor that is not merged",
        """SELECT count(*) FROM users m LEFT JOIN users s ON s.user_id = m.merged_into
           WHERE m.status = 'merged' AND (s.user_id IS NULL OR s.status = 'merged')""",
    ),
    (
        "every school SIS id belongs to an existing school",
        """SELECT count(*) FROM school_sis_ids m
           WHERE NOT EXISTS (SELECT 1 FROM schools s WHERE s.school_id = m.school_id)""",
    ),
    (
        "statuses are known",
        """SELECT (SELECT count(*) FROM users WHERE status NOT IN ('active', 'archived', 'merged'))
                + (SELECT count(*) FROM enrollments WHERE status NOT IN ('active', 'archived'))
                + (SELECT count(*) FROM classrooms WHERE status NOT IN ('active', 'archived'))""",
    ),
    ("no run is left loading", "SELECT count(*) FROM runs WHERE status = 'loading'"),
)


def check_directory(db: Database) -> list[tuple[str, int]]:
    """(check, number of offending rows) for every invariant."""
    return [(name, int(db.one(sql) or 0)) for name, sql in CHECKS]
