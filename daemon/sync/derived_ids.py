"""Ids a source makes itself: a district can switch to a roster hub and back without churn.

A roster hub carries the SIS's ids for schools, people and classes, but not always for the rest:
Clever has its own ids for terms and courses and no enrollment ids at all, so its drops (API or
SFTP CSV) name those records with ids the translation makes (Clever's ObjectIDs, a course
number, a term name, `SECTION:PERSON`). Such a drop says so in its manifest
(`source.derivedIds`, the files concerned, e.g. `academicSessions,courses,enrollments`), and the
plan then keeps what the directory already knows:

- a membership is matched on its class and person, never on the id, and keeps its SIS id; a new
  one gets the source's id;
- a classroom keeps the course and term ids it has unless they are ids of the same source (a
  classroom first synced from the hub follows the hub's course and term);
- the source's courses and terms are added to the reference data, but do not archive the SIS's
  for being absent (classrooms still name them); a row marked tobedeleted still does.

Columns a source cannot fill at all (Clever has no class location or subject codes, no
userIds, no enrollment dates or primary flag) are listed the same way (`source.notCarried`,
`file.column` names): the drop reads them as columns the file lacks (formats/drop.py), so
records keep those fields. What a source has for some rows
only (Clever: phones for contacts, grades for students) is said per users.csv row instead, in
`metadata.rosterSync.notCarried` (sync/feed/users.py).

A source with the SIS's own ids (OneRoster CSV, OneRoster REST) declares nothing, and a change of
an enrollment's sourcedId there is the SIS's real change, planned as an update.

A person's id the source makes itself (a Clever contact without a SIS id) may come from a rule
that changed: the row then carries the id the rule before gave too (`FORMER_ID_COLUMN`), and a
guardian the directory holds under that id keeps it (`keep_former_ids`), so the night the rule
changes archives and re-creates nobody.
"""

from __future__ import annotations

from daemon.db import sql_ident
from daemon.formats.drop import DERIVED_IDS_PROPERTY, listed
from daemon.formats.spec import FORMER_ID_COLUMN
from daemon.ingest.load import replace_staged_values
from daemon.sync.context import PlanContext

MANIFEST_KEY = DERIVED_IDS_PROPERTY.lower()  # the manifest reader lowercases property names


def parse_derived(value: str | None) -> set[str]:
    """The file entities a manifest value names (commas, semicolons or spaces), lowercased."""
    return {part.lower() for part in listed(value)}


def keep_classroom_references(ctx: PlanContext) -> None:
    """A matched classroom keeps its course and term ids when the source's are its own and the
    directory's are not ids of this source (they are the SIS's): the hub does not know them."""
    desired = ctx.t("desired_classrooms")
    for column, entity in (("course_sis_id", "courses"), ("term_sis_ids", "academicSessions")):
        if not ctx.derived(entity) or column in ctx.keep_fields.get("classrooms", set()):
            continue
        # Classrooms that name an id of the source's own file follow the source.
        followed = "SELECT NULL::BIGINT AS classroom_id WHERE false"
        if ctx.present(entity):
            followed = f"""SELECT c.classroom_id
                FROM (SELECT classroom_id, trim(unnest(string_split({column}, ','))) AS ref
                      FROM classrooms WHERE {column} IS NOT NULL) c
                SEMI JOIN {ctx.t(entity)} s ON s.sourcedId = c.ref"""
        ctx.db.execute(
            f"""
            UPDATE {desired} SET {column} = d.{column}
            FROM classrooms d
            WHERE d.classroom_id = {desired}._target_id AND d.{column} IS NOT NULL
              AND d.{column} IS DISTINCT FROM {desired}.{column}
              AND d.classroom_id NOT IN ({followed})
            """
        )


def keep_enrollment_ids(ctx: PlanContext) -> None:
    """A membership the source names by its own id keeps the SIS id it has (it was matched on
    its class and person, see build_desired_enrollments)."""
    if not ctx.derived("enrollments"):
        return
    desired = ctx.t("desired_enrollments")
    ctx.db.execute(
        f"""
        UPDATE {desired} SET sis_id = d.sis_id
        FROM enrollments d
        WHERE d.enrollment_id = {desired}._target_id AND d.sis_id IS NOT NULL
          AND d.sis_id IS DISTINCT FROM {desired}.sis_id
        """
    )


def _full_name(given: str, family: str) -> str:
    """SQL: a name as one lowercase string, however it is split (Clever keeps a contact's whole
    name in last_name)."""
    return f"regexp_replace(lower(trim(concat_ws(' ', {given}, {family}))), '\\s+', ' ', 'g')"


# A contact the source knows by name only (no e-mail or phone) has an id made from its name and
# its students (sources/clever_api.contact_id), which moves when a younger sibling joins or the
# eldest leaves: the guardian of one of its students by that name, under an id of that same
# rule, is that contact, and keeps its id.
_NAME_ONLY_CLAIMS = """by_name_and_student AS (
            SELECT n._rid, g.sis_id AS former, true AS same_name
            FROM (SELECT _rid, {name} AS name,
                         trim(unnest(string_split(agentSourcedIds, ','))) AS student
                  FROM {staged}
                  WHERE starts_with(sourcedId, 'contact-') AND email IS NULL AND phone IS NULL
                    AND sms IS NULL) n
            JOIN users s ON s.sis_id = n.student AND s.kind = 'student'
            JOIN guardian_links l ON l.student_id = s.user_id AND l.status = 'active'
            JOIN users g ON g.user_id = l.guardian_id AND g.kind = 'guardian'
            WHERE starts_with(g.sis_id, 'contact-') AND {held_name} = n.name
        )"""


def keep_former_ids(ctx: PlanContext) -> None:
    """A users.csv row whose sourcedId no record has, and whose former id (`FORMER_ID_COLUMN`:
    the id the source's rule gave before it changed) is one guardian's SIS id, names that
    guardian by it: the row's sourcedId becomes the former id before anything reads the rows, so
    the record keeps its id, links, hand edits and activation, and nothing is renamed.

    A former id the rows of tonight name as their own sourcedId is left alone. Several rows may
    carry one former id (a family's two parents under the e-mail they share, the second of
    whom the old rule could not sync): the only one takes it, or else the one whose name is the
    record's; when none or both are, none does (the record is then absent, as any other).
    Once a row's own id is the directory's (a parent first synced under the new rule), the
    former id is not read: a parent who leaves never hands their record to the other. A
    name-only contact's row takes the id of the guardian of one of its students who has its name
    and an id of the same rule (`_NAME_ONLY_CLAIMS`); of two such, the lowest id."""
    if not ctx.present("users") or FORMER_ID_COLUMN not in ctx.columns.get("users", set()):
        return
    staged, former = ctx.t("users"), sql_ident(FORMER_ID_COLUMN)
    taken = f"""
        WITH r AS (
            SELECT _rid, sourcedId, {former} AS former,
                   {_full_name("givenName", "familyName")} AS name
            FROM {staged}
            WHERE {former} IS NOT NULL AND sourcedId IS NOT NULL AND {former} <> sourcedId
        ),
        guardians AS (  -- the one record each former id names, a guardian's
            SELECT sis_id, any_value(kind) AS kind,
                   any_value({_full_name("given_name", "family_name")}) AS name
            FROM users WHERE sis_id IN (SELECT former FROM r)
            GROUP BY sis_id HAVING count(*) = 1
        ),
        by_former_id AS (
            SELECT r._rid, r.former, coalesce(r.name = g.name, false) AS same_name
            FROM r JOIN guardians g ON g.sis_id = r.former AND g.kind = 'guardian'
        ),
        {
        _NAME_ONLY_CLAIMS.format(
            staged=staged,
            name=_full_name("givenName", "familyName"),
            held_name=_full_name("g.given_name", "g.family_name"),
        )
    },
        claims AS (  -- one former id per row (the lowest, when a name-only contact has two)
            SELECT c._rid, c.former, bool_or(c.same_name) AS same_name
            FROM (FROM by_former_id UNION ALL FROM by_name_and_student) c
            JOIN {staged} s ON s._rid = c._rid
            ANTI JOIN users x ON x.sis_id = s.sourcedId
            ANTI JOIN {staged} y ON y.sourcedId = c.former
            GROUP BY c._rid, c.former
            QUALIFY row_number() OVER (PARTITION BY c._rid ORDER BY c.former) = 1
        )
        SELECT _rid, former AS value FROM claims
        QUALIFY count(*) OVER (PARTITION BY former) = 1
             OR (same_name AND sum(CAST(same_name AS INTEGER)) OVER (PARTITION BY former) = 1)
        """
    # A contact without a login is known by its id (clever_api: username), so the kept id is its
    # username too (else every change of rule would rename the account).
    replace_staged_values(
        ctx.db,
        staged,
        "username",
        f"SELECT t._rid, t.value FROM ({taken}) t JOIN {staged} s ON s._rid = t._rid "
        "WHERE s.username = s.sourcedId",
    )
    replace_staged_values(ctx.db, staged, "sourcedId", taken)
