"""Exporting the sync-managed, active directory as OneRoster 1.1 CSV (plus the product files).

Syncing an export back plans zero changes: every value is written the way the loader reads it.
Hand-made records are not exported (they have no SIS id, and syncing them back would adopt them).
"""

from __future__ import annotations

from pathlib import Path

from daemon.db import Database, sql_literal
from daemon.settings import load_settings

USERS_COLUMNS = (
    "sourcedId, status, dateLastModified, enabledUser, orgSourcedIds, role, username, userIds, "
    "givenName, familyName, middleName, identifier, email, sms, phone, agentSourcedIds, grades, "
    'password, "metadata.language"'
)
# Guardians without a username or orgs came from guardians.csv and go back there.
IN_GUARDIANS_FILE = "(u.kind = 'guardian' AND (u.username IS NULL OR u.org_sis_ids IS NULL))"


def export_directory(db: Database, folder: Path) -> dict[str, int]:
    folder.mkdir(parents=True, exist_ok=True)
    settings = load_settings(db)
    sms, phone = (
        ("mobile_phone", "home_phone")
        if settings.phone_credential_column == "sms"
        else ("home_phone", "mobile_phone")
    )
    queries = {
        "orgs.csv": """
            SELECT sis_id AS sourcedId, '' AS status, '' AS dateLastModified, name, org_type AS type,
                   identifier, parent_sis_id AS parentSourcedId
            FROM schools WHERE status = 'active' AND origin = 'sync' AND sis_id IS NOT NULL ORDER BY school_id""",
        "classes.csv": """
            SELECT c.sis_id AS sourcedId, '' AS status, '' AS dateLastModified, c.name AS title, c.grades,
                   c.course_sis_id AS courseSourcedId, c.class_code AS classCode, c.class_type AS classType,
                   c.location, s.sis_id AS schoolSourcedId, c.term_sis_ids AS termSourcedIds, c.subjects,
                   NULL AS subjectCodes, c.periods
            FROM classrooms c JOIN schools s USING (school_id)
            WHERE c.status = 'active' AND c.origin = 'sync' AND c.sis_id IS NOT NULL ORDER BY c.classroom_id""",
        "users.csv": f"""
            SELECT u.sis_id AS sourcedId, '' AS status, '' AS dateLastModified,
                   CASE WHEN u.enabled THEN 'true' ELSE 'false' END AS enabledUser,
                   u.org_sis_ids AS orgSourcedIds, u.role, u.username, NULL AS userIds,
                   u.given_name AS givenName, u.family_name AS familyName, u.middle_name AS middleName,
                   u.identifier, u.email, u.{sms} AS sms, u.{phone} AS phone,
                   (SELECT string_agg(g.sis_id, ',' ORDER BY g.sis_id) FROM guardian_links l
                    JOIN users g ON g.user_id = l.guardian_id
                    WHERE l.student_id = u.user_id AND l.status = 'active' AND l.origin = 'sync'
                      AND g.status = 'active' AND g.sis_id IS NOT NULL
                      AND NOT (g.kind = 'guardian' AND (g.username IS NULL OR g.org_sis_ids IS NULL))) AS agentSourcedIds,
                   u.grades, NULL AS password, u.language AS "metadata.language"
            FROM users u
            WHERE u.status = 'active' AND u.origin = 'sync' AND u.sis_id IS NOT NULL AND NOT {IN_GUARDIANS_FILE}
            ORDER BY u.user_id""",
        "enrollments.csv": """
            SELECT coalesce(e.sis_id, 'rs-enr-' || e.enrollment_id) AS sourcedId, '' AS status,
                   '' AS dateLastModified, c.sis_id AS classSourcedId, s.sis_id AS schoolSourcedId,
                   u.sis_id AS userSourcedId, e.role,
                   CASE e.is_primary WHEN true THEN 'true' WHEN false THEN 'false' END AS "primary",
                   e.begin_date AS beginDate, e.end_date AS endDate
            FROM enrollments e JOIN classrooms c USING (classroom_id) JOIN schools s ON s.school_id = c.school_id
                 JOIN users u ON u.user_id = e.user_id
            WHERE e.status = 'active' AND e.origin = 'sync' AND c.status = 'active' AND c.sis_id IS NOT NULL
              AND u.status = 'active' AND u.sis_id IS NOT NULL
            ORDER BY e.enrollment_id""",
        "demographics.csv": """
            SELECT sis_id AS sourcedId, '' AS status, '' AS dateLastModified, birth_date AS birthDate
            FROM users WHERE status = 'active' AND origin = 'sync' AND kind = 'student'
              AND sis_id IS NOT NULL AND birth_date IS NOT NULL ORDER BY user_id""",
        "guardians.csv": f"""
            SELECT u.sis_id AS sourcedId, '' AS status, '' AS dateLastModified, s.sis_id AS studentSourcedId,
                   u.role AS relationship, u.given_name AS givenName, u.family_name AS familyName, u.email,
                   u.{sms} AS sms, u.{phone} AS phone, u.language
            FROM users u JOIN guardian_links l ON l.guardian_id = u.user_id AND l.status = 'active' AND l.origin = 'sync'
                 JOIN users s ON s.user_id = l.student_id AND s.status = 'active' AND s.sis_id IS NOT NULL
            WHERE u.status = 'active' AND u.origin = 'sync' AND u.sis_id IS NOT NULL AND {IN_GUARDIANS_FILE}
            ORDER BY u.user_id, s.user_id""",
        "student_attributes.csv": """
            SELECT s.sis_id AS studentSourcedId, a.name, a.value, '' AS status, '' AS dateLastModified
            FROM student_attributes a JOIN users s ON s.user_id = a.student_id
            WHERE a.status = 'active' AND a.origin = 'sync' AND s.status = 'active' AND s.sis_id IS NOT NULL
            ORDER BY a.attribute_id""",
    }
    counts: dict[str, int] = {}
    for name, query in queries.items():
        target = folder / name
        db.execute(
            f"COPY ({query}) TO {sql_literal(str(target))} (HEADER, DELIMITER ',', QUOTE '\"')"
        )
        counts[name] = int(db.one(f"SELECT count(*) FROM ({query})"))
    _write_manifest(folder, list(queries))
    counts["hand_made_not_exported"] = int(
        db.one(
            "SELECT (SELECT count(*) FROM users WHERE status = 'active' AND origin = 'hand')"
            " + (SELECT count(*) FROM classrooms WHERE status = 'active' AND origin = 'hand')"
        )
    )
    return counts


def _write_manifest(folder: Path, files: list[str]) -> None:
    lines = ["propertyName,value", "manifest.version,1.0", "oneroster.version,1.1"]
    entities = [f[:-4] for f in files]
    for entity in (
        "academicSessions",
        "categories",
        "classResources",
        "courseResources",
        "courses",
        "lineItems",
        "resources",
        "results",
    ):
        lines.append(f"file.{entity},absent")
    lines += [f"file.{e},bulk" for e in entities]
    lines += ["source.systemName,Roster Sync export", "source.systemCode,roster-sync"]
    (folder / "manifest.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
