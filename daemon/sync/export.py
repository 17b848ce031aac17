"""Exporting the sync-managed, active directory as a OneRoster drop (1.1 or 1.2).

The export is a faithful drop: the version of the drop the directory came from (or the one
asked for), every file in the spec's column order with the spec's spelling of each term, every
field the directory stores, and the files its rows reference (orgs, courses, sessions), with a
manifest that says which are there. Syncing an export back plans zero changes: every value is
written the way the loader reads it. Values are written byte for byte as stored (no spreadsheet
escaping: that belongs to `results`, which people open in spreadsheets).

Hand-made records are not exported (they have no SIS id, and syncing them back would adopt them).
"""

from __future__ import annotations

import errno
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pydantic import BaseModel, Field

from daemon.db import Database, sql_ident, sql_literal
from daemon.directory.orgs import HASH_SIS_IDS, is_hand_reference
from daemon.errors import RosterSyncError
from daemon.settings import load_settings
from daemon.sync.reference import canonical_sql

VERSIONS = ("1.1", "1.2")
# Every file.* line a manifest of each version carries (the spec's lists).
SPEC_FILES = {
    "1.1": (
        "academicSessions",
        "categories",
        "classes",
        "classResources",
        "courses",
        "courseResources",
        "demographics",
        "enrollments",
        "lineItems",
        "orgs",
        "resources",
        "results",
        "users",
    ),
    "1.2": (
        "academicSessions",
        "categories",
        "classes",
        "classResources",
        "courses",
        "courseResources",
        "demographics",
        "enrollments",
        "lineItemLearningObjectiveIds",
        "lineItems",
        "lineItemScoreScales",
        "orgs",
        "resources",
        "resultLearningObjectiveIds",
        "results",
        "resultScoreScales",
        "roles",
        "scoreScales",
        "userProfiles",
        "userResources",
        "users",
    ),
}
ALWAYS_WRITTEN = ("users", "classes", "enrollments")  # a drop is not a drop without them
# 1.1 has no such roles: they leave a 1.1 export as administrators (and come back as such).
ROLES_ONLY_IN_12 = (
    "counselor",
    "districtadministrator",
    "principal",
    "siteadministrator",
    "systemadministrator",
)
BLANK = "''"


class ExportError(RosterSyncError, ValueError):
    """The export cannot be written where it was asked; the message says why."""

    title = "Export not written"


class ExportSummary(BaseModel):
    folder: str
    oneroster_version: str
    files: dict[str, int] = Field(default_factory=dict)  # file name -> rows written
    hand_made_not_exported: int = 0
    notes: list[str] = Field(default_factory=list)


@dataclass(frozen=True)
class ExportFile:
    entity: str  # file stem
    select: str  # SQL yielding the file's columns in order, already named as the spec names them
    versions: tuple[str, ...] = VERSIONS


# ---------------------------------------------------------------------------------- pieces
def _synced(alias: str) -> str:
    """An active record the sync manages (hand-made ones have no SIS id to export)."""
    return f"{alias}.status = 'active' AND {alias}.origin = 'sync' AND {alias}.sis_id IS NOT NULL"


def _from_guardians_file(alias: str) -> str:
    """Guardians without a username or orgs came from guardians.csv and go back there."""
    return (
        f"({alias}.kind = 'guardian' AND ({alias}.username IS NULL OR {alias}.org_sis_ids IS NULL))"
    )


FROM_GUARDIANS_FILE = _from_guardians_file("u")


STILL_NAMED_ORGS = f"""
    SELECT s.sis_id FROM classrooms c JOIN schools s USING (school_id) WHERE {_synced("c")}
    UNION SELECT trim(unnest(string_split(u.org_sis_ids, ','))) FROM users u WHERE {_synced("u")}
    UNION SELECT org_sis_id FROM courses WHERE status = 'active'"""


def _bulk_columns() -> str:
    """status and dateLastModified are empty in a bulk file (the spec: MUST NOT be used)."""
    return f"{BLANK} AS status, {BLANK} AS dateLastModified"


def _blank(*names: str) -> str:
    """Spec columns the directory does not keep: written empty, so the file has every column."""
    return ", ".join(f"{BLANK} AS {sql_ident(n)}" for n in names)


def _flag(expr: str) -> str:
    """A boolean as the spec spells it (true / false), empty when unknown."""
    return f"CASE {expr} WHEN true THEN 'true' WHEN false THEN 'false' END"


# Cross-joined wherever _orgs_of is read: its lambda names the column (a lambda holds no subquery).
WITH_HASH_SIS_IDS = f"CROSS JOIN ({HASH_SIS_IDS}) h"


def _orgs_of(alias: str) -> str:
    """A user's orgs as the feed named them: a hand-made membership ('#id') is no SIS org, and a
    SIS org whose sourcedId starts with '#' is one (directory/orgs.py). The query cross-joins
    WITH_HASH_SIS_IDS."""
    hand = is_hand_reference("o", "h.hash_sis_ids")
    return (
        f"array_to_string(list_filter(string_split({alias}.org_sis_ids, ','), "
        f"lambda o: NOT {hand}), ',')"
    )


def _agents_of(alias: str) -> str:
    """The guardians of a student that users.csv carries, as agentSourcedIds."""
    return f"""(SELECT string_agg(g.sis_id, ',' ORDER BY g.sis_id) FROM guardian_links l
                JOIN users g ON g.user_id = l.guardian_id
                WHERE l.student_id = {alias}.user_id AND l.status = 'active' AND l.origin = 'sync'
                  AND g.status = 'active' AND g.sis_id IS NOT NULL
                  AND NOT {_from_guardians_file("g")})"""


def _has_a_role_only_in_12(alias: str) -> str:
    """The user's role is one 1.1 does not have (it leaves a 1.1 export as administrator)."""
    only_12 = ", ".join(sql_literal(r) for r in ROLES_ONLY_IN_12)
    return f"lower({alias}.role) IN ({only_12})"


def _role(version: str, alias: str) -> str:
    """The role in the spec's spelling, mapped to administrator where 1.1 has no such role."""
    role = canonical_sql(f"{alias}.role")
    if version == "1.1":
        return f"CASE WHEN {_has_a_role_only_in_12(alias)} THEN 'administrator' ELSE {role} END"
    return role


def _contacts(sms: str, phone: str) -> str:
    """email, sms and phone: which directory number goes in which column is the
    phone_credential_column setting's choice (made in export_directory)."""
    return f"u.email, u.{sql_ident(sms)} AS sms, u.{sql_ident(phone)} AS phone"


def _files(version: str, sms: str, phone: str) -> list[ExportFile]:
    users_where = f"WHERE {_synced('u')} AND NOT {FROM_GUARDIANS_FILE} ORDER BY u.user_id"
    names = "u.given_name AS givenName, u.family_name AS familyName, u.middle_name AS middleName"
    return [
        ExportFile(
            "orgs",
            # An org the directory archived while classes or people still name it is written
            # marked tobedeleted: the drop stays whole, and syncing it back keeps it archived.
            f"""SELECT sis_id AS sourcedId,
                       CASE WHEN status = 'active' THEN '' ELSE 'tobedeleted' END AS status,
                       {BLANK} AS dateLastModified, name, org_type AS type,
                       identifier, parent_sis_id AS parentSourcedId
                FROM schools s
                WHERE s.origin = 'sync' AND s.sis_id IS NOT NULL
                  AND (s.status = 'active' OR s.sis_id IN ({STILL_NAMED_ORGS}))
                ORDER BY school_id""",
        ),
        ExportFile(
            "academicSessions",
            f"""SELECT sis_id AS sourcedId, {_bulk_columns()}, title, session_type AS type,
                       start_date AS startDate, end_date AS endDate,
                       parent_sis_id AS parentSourcedId, school_year AS schoolYear
                FROM academic_sessions WHERE status = 'active' ORDER BY sis_id""",
        ),
        ExportFile(
            "courses",
            f"""SELECT sis_id AS sourcedId, {_bulk_columns()},
                       school_year_sis_id AS schoolYearSourcedId, title, course_code AS courseCode,
                       grades, org_sis_id AS orgSourcedId, subjects, subject_codes AS subjectCodes
                FROM courses WHERE status = 'active' ORDER BY sis_id""",
        ),
        ExportFile(
            "classes",
            f"""SELECT c.sis_id AS sourcedId, {_bulk_columns()}, c.name AS title, c.grades,
                       c.course_sis_id AS courseSourcedId, c.class_code AS classCode,
                       c.class_type AS classType, c.location, s.sis_id AS schoolSourcedId,
                       c.term_sis_ids AS termSourcedIds, c.subjects,
                       c.subject_codes AS subjectCodes, c.periods
                FROM classrooms c JOIN schools s USING (school_id)
                WHERE {_synced("c")}
                ORDER BY c.classroom_id""",
        ),
        ExportFile(
            "users",
            f"""SELECT u.sis_id AS sourcedId, {_bulk_columns()}, {_flag("u.enabled")} AS enabledUser,
                       {_orgs_of("u")} AS orgSourcedIds, {_role("1.1", "u")} AS role, u.username,
                       u.user_ids AS userIds, {names}, u.identifier, {_contacts(sms, phone)},
                       {_agents_of("u")} AS agentSourcedIds, u.grades, {_blank("password")},
                       u.language AS "metadata.language"
                FROM users u {WITH_HASH_SIS_IDS} {users_where}""",
            versions=("1.1",),
        ),
        ExportFile(
            "users",
            f"""SELECT u.sis_id AS sourcedId, {_bulk_columns()}, {_flag("u.enabled")} AS enabledUser,
                       u.username, u.user_ids AS userIds, {names}, u.identifier,
                       {_contacts(sms, phone)}, {_agents_of("u")} AS agentSourcedIds, u.grades,
                       {_blank("password", "userMasterIdentifier")},
                       u.preferred_given_name AS preferredGivenName,
                       {_blank("preferredMiddleName", "preferredFamilyName", "primaryOrgSourcedId", "pronouns")},
                       u.language AS "metadata.language"
                FROM users u {users_where}""",
            versions=("1.2",),
        ),
        ExportFile("roles", _roles_12(), versions=("1.2",)),
        ExportFile(
            "enrollments",
            f"""SELECT coalesce(e.sis_id, 'rs-enr-' || e.enrollment_id) AS sourcedId, {_bulk_columns()},
                       c.sis_id AS classSourcedId, s.sis_id AS schoolSourcedId,
                       u.sis_id AS userSourcedId, e.role, {_flag("e.is_primary")} AS "primary",
                       e.begin_date AS beginDate, e.end_date AS endDate
                FROM enrollments e JOIN classrooms c USING (classroom_id)
                     JOIN schools s ON s.school_id = c.school_id JOIN users u ON u.user_id = e.user_id
                WHERE e.status = 'active' AND e.origin = 'sync' AND c.status = 'active'
                  AND c.sis_id IS NOT NULL AND u.status = 'active' AND u.sis_id IS NOT NULL
                ORDER BY e.enrollment_id""",
        ),
        ExportFile(
            "demographics",
            f"""SELECT sis_id AS sourcedId, {_bulk_columns()}, birth_date AS birthDate,
                       {_blank(*DEMOGRAPHICS_NOT_KEPT)}
                -- everyone users.csv is written for: a night reads a birth date for any user
                -- (a student who became a teacher keeps theirs), and one left out is blanked
                FROM users u WHERE {_synced("u")} AND NOT {FROM_GUARDIANS_FILE}
                  AND birth_date IS NOT NULL
                ORDER BY user_id""",
        ),
        ExportFile(
            "guardians",
            f"""SELECT u.sis_id AS sourcedId, {_bulk_columns()}, s.sis_id AS studentSourcedId,
                       coalesce(l.relationship, u.role) AS relationship,
                       u.given_name AS givenName,
                       u.family_name AS familyName, {_contacts(sms, phone)}, u.language
                FROM users u JOIN guardian_links l
                       ON l.guardian_id = u.user_id AND l.status = 'active' AND l.origin = 'sync'
                     JOIN users s ON s.user_id = l.student_id AND s.status = 'active'
                      AND s.sis_id IS NOT NULL
                WHERE {_synced("u")} AND {FROM_GUARDIANS_FILE}
                -- each row its pair's relationship; the guardian's own role first, which a
                -- night reads as the person's (feed/users.py _add_guardians_file_people)
                ORDER BY u.user_id, l.relationship IS DISTINCT FROM u.role, s.user_id""",
        ),
        ExportFile(
            "student_attributes",
            """SELECT s.sis_id AS studentSourcedId, a.name, a.value, '' AS status,
                      '' AS dateLastModified
               FROM student_attributes a JOIN users s ON s.user_id = a.student_id
               WHERE a.status = 'active' AND a.origin = 'sync' AND s.status = 'active'
                 AND s.sis_id IS NOT NULL
               ORDER BY a.attribute_id""",
        ),
    ]


def _roles_12() -> str:
    """roles.csv: the roles the SIS sent (kept in sis_roles), for each user whose kept roles give
    exactly the user's schools and role as a night reading them would (a guardian's roles at
    the district give its students' schools); otherwise one primary role per school, made from
    the user's record (a directory from before roles were kept, or a user changed since by hand
    or by a 1.1 drop). Synced back, the kept roles stay as they are: an export once replaced
    them all with made-up ones."""
    return f"""
        WITH exported AS (
            SELECT u.user_id, u.sis_id, u.kind, {_role("1.2", "u")} AS role,
                   lower(u.role) AS plain_role,
                   list_sort(list_filter(string_split({_orgs_of("u")}, ','), lambda o: o <> ''))
                       AS orgs
            FROM users u {WITH_HASH_SIS_IDS} WHERE {_synced("u")} AND NOT {FROM_GUARDIANS_FILE}
        ),
        districts AS (
            SELECT m.sis_id FROM school_sis_ids m JOIN schools d USING (school_id)
            WHERE d.org_type = 'district' AND d.status = 'active'
        ),
        kept AS (
            SELECT x.user_id, r.* FROM exported x
            JOIN sis_roles r ON r.user_sis_id = x.sis_id AND r.status = 'active'
            WHERE list_contains(x.orgs, r.org_sis_id) OR r.org_sis_id IN (FROM districts)
        ),
        -- A guardian whose roles are at the district has its students' schools (feed/users.py).
        faithful AS (
            SELECT k.user_id FROM kept k JOIN exported x USING (user_id)
            GROUP BY k.user_id, x.orgs, x.plain_role, x.kind
            HAVING (list_sort(list(DISTINCT k.org_sis_id)) = x.orgs
                    OR (x.kind = 'guardian' AND bool_and(k.org_sis_id IN (FROM districts))))
               AND lower(arg_min(k.role, [CASE lower(k.role_type) WHEN 'primary' THEN 0 ELSE 1 END,
                                          k.source_line])) = x.plain_role
        )
        SELECT * EXCLUDE (_user, _line, _order) FROM (
            SELECT k.sis_id AS sourcedId, {_bulk_columns()}, x.sis_id AS userSourcedId,
                   lower(k.role_type) AS roleType, k.role, coalesce(k.begin_date, '') AS beginDate,
                   coalesce(k.end_date, '') AS endDate, k.org_sis_id AS orgSourcedId,
                   {_blank("userProfileSourcedId")},
                   x.user_id AS _user, k.source_line AS _line, k.sis_id AS _order
            FROM kept k JOIN exported x USING (user_id)
            WHERE k.user_id IN (SELECT user_id FROM faithful)
            UNION ALL
            SELECT 'role-' || x.sis_id || '-' || o.org, {_bulk_columns()}, x.sis_id, 'primary',
                   x.role, {_blank("beginDate", "endDate")}, o.org, {_blank("userProfileSourcedId")},
                   x.user_id, NULL, o.org
            FROM exported x, unnest(x.orgs) AS o(org)
            WHERE x.user_id NOT IN (SELECT user_id FROM faithful))
        ORDER BY _user, _line NULLS LAST, _order"""


DEMOGRAPHICS_NOT_KEPT = (
    "sex",
    "americanIndianOrAlaskaNative",
    "asian",
    "blackOrAfricanAmerican",
    "nativeHawaiianOrOtherPacificIslander",
    "white",
    "demographicRaceTwoOrMoreRaces",
    "hispanicOrLatinoEthnicity",
    "countryOfBirthCode",
    "stateOfBirthAbbreviation",
    "cityOfBirth",
    "publicSchoolResidenceStatus",
)


# ---------------------------------------------------------------------------------- export
def default_version(db: Database) -> str:
    """The version of the newest applied drop (what the directory came from), else 1.1."""
    version = db.one(
        "SELECT oneroster_version FROM runs WHERE status = 'applied' "
        "AND oneroster_version IS NOT NULL ORDER BY run_id DESC LIMIT 1"
    )
    return version if version in VERSIONS else "1.1"


def export_directory(db: Database, folder: Path, version: str | None = None) -> ExportSummary:
    """Write the export into `folder`, which must be new or empty: nothing that was there is
    overwritten, removed or written through (a symbolic link planted in the folder is refused,
    never followed)."""
    version = version or default_version(db)
    if version not in VERSIONS:
        raise ExportError(f"OneRoster version '{version}' cannot be exported; use 1.1 or 1.2")
    if folder.is_symlink():
        raise ExportError(
            f"{folder} is a symbolic link; export writes only into a new or empty folder: "
            "name a new one"
        )
    if folder.exists() and not folder.is_dir():
        raise ExportError(f"{folder} is a file; export writes into a folder: name a new one")
    folder.mkdir(parents=True, exist_ok=True)
    settings = load_settings(db)
    sms, phone = _phone_columns(settings.phone_credential_column)
    summary = ExportSummary(folder=str(folder), oneroster_version=version)
    with _NewFiles(folder) as out, tempfile.TemporaryDirectory(prefix="roster-export-") as scratch:
        for file in _files(version, sms, phone):
            if version not in file.versions:
                continue
            rows = int(db.one(f"SELECT count(*) FROM ({file.select})"))
            if rows == 0 and file.entity not in ALWAYS_WRITTEN:
                continue  # the spec forbids files without rows: absent
            # DuckDB writes into a private folder of this process; the bytes are then copied into
            # a file created anew in the export folder, which nobody else can redirect.
            written = Path(scratch) / f"{file.entity}.csv"
            db.execute(
                f"COPY ({file.select}) TO {sql_literal(str(written))} "
                "(HEADER, DELIMITER ',', QUOTE '\"')"
            )
            out.copy_in(written)
            written.unlink()
            summary.files[written.name] = rows
        if version == "1.1":
            mapped = int(
                db.one(
                    "SELECT count(*) FROM users u "
                    f"WHERE {_synced('u')} AND {_has_a_role_only_in_12('u')}"
                )
            )
            if mapped:
                summary.notes.append(
                    f"{mapped} users with a OneRoster 1.2 role (principal, siteAdministrator, ...) "
                    "are exported as administrator: 1.1 has no such roles (export --version 1.2 "
                    "keeps them)"
                )
        out.write("manifest.csv", _manifest_text(version, summary.files).encode("utf-8"))
    summary.hand_made_not_exported = int(
        db.one(
            "SELECT (SELECT count(*) FROM users WHERE status = 'active' AND origin = 'hand')"
            " + (SELECT count(*) FROM classrooms WHERE status = 'active' AND origin = 'hand')"
        )
    )
    return summary


class _NewFiles:
    """The export folder, opened once without following a link; each file in it is created
    exclusively (O_EXCL | O_NOFOLLOW), so an existing file or link is never written through."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        try:
            self.fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)
        except OSError as exc:
            if exc.errno == errno.ELOOP:
                raise ExportError(
                    f"{folder} is a symbolic link; export writes only into a new or empty "
                    "folder: name a new one"
                ) from exc
            raise
        try:
            if os.listdir(self.fd):
                raise ExportError(
                    f"{folder} is not empty; export writes only into a new or empty folder, so "
                    "nothing there is overwritten: name a new one"
                )
        except BaseException:
            os.close(self.fd)
            raise

    def __enter__(self) -> _NewFiles:
        return self

    def __exit__(self, *_exc: object) -> None:
        os.close(self.fd)

    def _create(self, name: str) -> int:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
        try:
            return os.open(name, flags, 0o666, dir_fd=self.fd)
        except FileExistsError as exc:
            raise ExportError(
                f"{self.folder / name} appeared while exporting and was left as it is; export "
                "again into a new folder"
            ) from exc

    def write(self, name: str, data: bytes) -> None:
        fd = self._create(name)
        with os.fdopen(fd, "wb") as target:
            target.write(data)

    def copy_in(self, source: Path) -> None:
        fd = self._create(source.name)
        with os.fdopen(fd, "wb") as target, open(source, "rb") as original:
            shutil.copyfileobj(original, target, 1 << 20)


def _phone_columns(phone_credential_column: str) -> tuple[str, str]:
    """The directory columns written as sms and phone: the inverse of how the sync read them."""
    if phone_credential_column == "sms":
        return "mobile_phone", "home_phone"
    return "home_phone", "mobile_phone"


def _manifest_text(version: str, written: dict[str, int]) -> str:
    present = {name.removesuffix(".csv") for name in written}
    lines = ["propertyName,value", "manifest.version,1.0", f"oneroster.version,{version}"]
    lines += [f"file.{e},{'bulk' if e in present else 'absent'}" for e in SPEC_FILES[version]]
    lines += [f"file.{e},bulk" for e in ("guardians", "student_attributes") if e in present]
    lines += ["source.systemName,Roster Sync export", "source.systemCode,roster-sync"]
    return "\n".join(lines) + "\n"
