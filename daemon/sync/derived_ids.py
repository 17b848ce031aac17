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
"""

from __future__ import annotations

from daemon.formats.drop import DERIVED_IDS_PROPERTY, listed
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
