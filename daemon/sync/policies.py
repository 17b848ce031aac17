"""Rules that make the sync live with hand-made edits: protected contacts, kept names, people
archived by hand (and students kept archived), claimed SIS ids. Each rule edits the desired rows
before the diff and, where a person should decide, records a conflict. A question already
answered 'keep' or 'ignore' is not asked again.
"""

from __future__ import annotations

from daemon.db import sql_literal
from daemon.sync.context import PlanContext

CONTACT_FIELDS = ("email", "mobile_phone", "home_phone")
# SQL over the directory user `d`: its contacts are a person's, which the feed does not overwrite
# (unless update_active_users_contacts); a revert asks about them the same way (sync/revert.py).
CONTACTS_PROTECTED = "(d.account_active OR d.contacts_edited)"


def insert_conflicts(ctx: PlanContext, select_sql: str) -> None:
    """select_sql yields: kind, record_kind, record_id, other_record_id, sis_id, label, field,
    feed_value, directory_value, message, suggestion, blocking, conflict_key, source_file, source_line."""
    ctx.db.execute(
        f"""
        INSERT INTO conflicts
        SELECT nextval('conflict_ids'), {ctx.run_id}, c.kind, c.record_kind, c.record_id, c.other_record_id,
               c.sis_id, c.label, c.field, c.feed_value, c.directory_value, c.message, c.suggestion,
               c.blocking, NULL, NULL, NULL, c.conflict_key, c.source_file, c.source_line
        FROM ({select_sql}) c
        WHERE c.conflict_key NOT IN (SELECT conflict_key FROM conflicts
                                     WHERE decision IN ('keep', 'ignore') AND conflict_key IS NOT NULL)
        """
    )


def keep_stored_values(ctx: PlanContext, table: str, id_col: str) -> None:
    """A feed value that broke its type rule was reported (WARNING) and is not used: the
    record keeps the value it has, so an invalid value never blanks a good one. The same holds
    for an empty cell its row says the source has no data for (users: phones and grades a hub
    carries for some roles only, see feed/users.py `_not_carried_flags`)."""
    desired = ctx.t(f"desired_{table}")
    checked = ctx.checked_fields.get(table, [])
    if not checked:
        return
    # Most nights break no value: one read of the flags spares an UPDATE per field.
    broken = ctx.db.rows(
        f"SELECT {', '.join(f'coalesce(bool_or(_broken_{n}), false)' for n in checked)} "
        f"FROM {desired}"
    )[0]
    for name, any_broken in zip(checked, broken, strict=True):
        if not any_broken:
            continue
        ctx.db.execute(
            f"UPDATE {desired} SET {name} = d.{name} FROM {table} d "
            f"WHERE d.{id_col} = {desired}._target_id AND {desired}._broken_{name}"
        )


GUARDIANS_FILE_SILENT = (
    "username",
    "user_ids",
    "identifier",
    "middle_name",
    "preferred_given_name",
    "grades",
    "birth_date",
    "org_sis_ids",
    "enabled",
)


def user_rules(ctx: PlanContext) -> None:
    desired = ctx.t("desired_users")
    db = ctx.db
    # guardians.csv has no column for these: a guardian described only there keeps them.
    if ctx.present("guardians"):
        sets = ", ".join(f"{c} = d.{c}" for c in GUARDIANS_FILE_SILENT)
        db.execute(
            f"UPDATE {desired} SET {sets} FROM users d WHERE d.user_id = {desired}._target_id "
            f"AND {desired}._file = {sql_literal(ctx.file('guardians'))}"
        )
    # Matched through a merged record: the survivor keeps its own SIS id, and the key it was
    # found by (student_id = identifier: its own identifier). Given the merged record's, the
    # survivor answered to that key itself the next night, and took its SIS id as well.
    db.execute(
        f"""UPDATE {desired} SET sis_id = d.sis_id,
                   identifier = CASE WHEN {desired}._key_type = 'ident' THEN d.identifier
                                     ELSE {desired}.identifier END
            FROM users d WHERE d.user_id = {desired}._target_id AND {desired}._via_tombstone"""
    )
    keep_stored_values(ctx, "users", "user_id")
    _claimed_twice(ctx)
    if not ctx.settings.update_active_users_contacts:
        _protect_contacts(ctx)
    else:
        n = ctx.one(
            f"""SELECT count(*) FROM {desired} f JOIN users d ON d.user_id = f._target_id
                WHERE {CONTACTS_PROTECTED}
                  AND ({" OR ".join(f"f.{c} IS DISTINCT FROM d.{c}" for c in CONTACT_FIELDS)})"""
        )
        if n:
            ctx.note(
                "users",
                f"{n} activated or hand-edited users get the feed's contact details "
                "(update_active_users_contacts = true); hand edits do not persist",
            )
    _archived_people(ctx)


def _claimed_twice(ctx: PlanContext) -> None:
    desired = ctx.t("desired_users")
    insert_conflicts(
        ctx,
        f"""
        SELECT 'sis_id_claimed_twice' AS kind, 'users' AS record_kind, NULL AS record_id,
               NULL AS other_record_id, f.sis_id, f.given_name || ' ' || f.family_name AS label, CASE WHEN f._key_type = 'ident' THEN 'identifier' ELSE 'sis_id' END AS field,
               f._match_key AS feed_value, NULL AS directory_value,
               'the feed''s ' || CASE WHEN f._key_type = 'ident' THEN 'identifier' ELSE 'sourcedId' END ||
               ' ''' || f._match_key || ''' is claimed by more than one directory record; the row was skipped. Merge the duplicates or correct the SIS id.' AS message,
               'ignore' AS suggestion, true AS blocking,
               'claimed:' || f._key_type || ':' || f._match_key AS conflict_key, f._file AS source_file, f._line AS source_line
        FROM {desired} f WHERE f._ambiguous
        UNION ALL
        SELECT 'sis_id_claimed_twice', 'users', f._target_id, NULL, f.sis_id, f.given_name || ' ' || f.family_name, 'sis_id',
               f.sis_id, d.sis_id,
               'two feed rows name the same directory record (a merged student''s old and new ids?); '
               || 'line ' || f._line || ' was skipped',
               'ignore', false, 'claimed-row:' || f._target_id || ':' || f.sis_id, f._file, f._line
        FROM {desired} f JOIN users d ON d.user_id = f._target_id WHERE f._claimed_elsewhere
        """,
    )


def _protect_contacts(ctx: PlanContext) -> None:
    """Activated or hand-edited users keep their contact details; each difference is a conflict."""
    desired = ctx.t("desired_users")
    selects = []
    for c in CONTACT_FIELDS:
        selects.append(
            f"""
            SELECT 'contact_protected' AS kind, 'users' AS record_kind, d.user_id AS record_id,
                   NULL AS other_record_id, d.sis_id, f.given_name || ' ' || f.family_name AS label, {sql_literal(c)} AS field,
                   f.{c} AS feed_value, d.{c} AS directory_value,
                   '{c.replace("_", " ")} differs: the feed says ' || coalesce('''' || f.{c} || '''', 'nothing') ||
                   ', the directory has ' || coalesce('''' || d.{c} || '''', 'nothing') ||
                   CASE WHEN d.contacts_edited THEN ' (edited by hand)' ELSE ' (account active)' END AS message,
                   'keep' AS suggestion, false AS blocking,
                   'contact:' || d.user_id || ':{c}:' || coalesce(f.{c}, '') AS conflict_key,
                   f._file AS source_file, f._line AS source_line
            FROM {desired} f JOIN users d ON d.user_id = f._target_id
            WHERE {CONTACTS_PROTECTED} AND f.{c} IS DISTINCT FROM d.{c}
              AND NOT f._skip"""
        )
    insert_conflicts(ctx, " UNION ALL ".join(selects))
    # The record keeps values the row does not say, so it must not remember the row as its
    # source (sync/unchanged.py): once the account is no longer protected, the row is compared
    # again and its contacts applied, whether or not its own values changed.
    sets = ", ".join(f"{c} = d.{c}" for c in CONTACT_FIELDS)
    ctx.db.execute(
        f"UPDATE {desired} SET {sets}, _source_hash = NULL, _raw_hash = NULL FROM users d "
        f"WHERE d.user_id = {desired}._target_id AND {CONTACTS_PROTECTED}"
    )


# The conflicts about an archived person the feed lists again: taking one brings them back
# (sync/conflicts.py), with what archiving them by hand took.
ARCHIVED_STUDENT_IN_FEED = "archived_student_in_feed"
ARCHIVED_BY_HAND_IN_FEED = "archived_by_hand_in_feed"
ARCHIVED_IN_FEED = (ARCHIVED_STUDENT_IN_FEED, ARCHIVED_BY_HAND_IN_FEED)


def _kept_archived(ctx: PlanContext) -> str:
    """SQL over the directory user `d`: archived, and the feed does not bring them back. A
    guardian or staff member a person archived (no run did) stays archived whatever the
    settings say: a person decided it (a custody case, say), and the feed listing them again
    says nothing about that decision. Students follow archived_students (the seed product's
    setting); one a run archived comes back with the feed."""
    students = "true" if ctx.settings.archived_students == "keep_archived" else "false"
    return f"""(d.status = 'archived'
                AND CASE WHEN d.kind = 'student' THEN {students} ELSE d.archived_run IS NULL END)"""


def _archived_people(ctx: PlanContext) -> None:
    """A person kept archived (`_kept_archived`) is a question for a person, whose take brings
    them back; the row is skipped, and what is attached to them stays as it is (link_rules,
    feed/users.py build_user_map)."""
    desired = ctx.t("desired_users")
    kept = _kept_archived(ctx)
    insert_conflicts(
        ctx,
        f"""
        SELECT CASE WHEN d.kind = 'student' THEN '{ARCHIVED_STUDENT_IN_FEED}'
                    ELSE '{ARCHIVED_BY_HAND_IN_FEED}' END AS kind,
               'users' AS record_kind, d.user_id AS record_id,
               NULL AS other_record_id, d.sis_id, f.given_name || ' ' || f.family_name AS label, 'status' AS field,
               'active' AS feed_value, 'archived' AS directory_value,
               CASE WHEN d.kind = 'student'
                    THEN 'archived ' || CASE WHEN d.archived_run IS NULL THEN 'by hand' ELSE 'by run ' || d.archived_run END ||
                         ' but active in the feed; kept archived (archived_students = keep_archived)'
                    ELSE 'archived by hand, and the feed lists them again; they stay archived '
                         || '(take brings them back, with what archiving them took)'
               END AS message,
               'keep' AS suggestion, false AS blocking, 'archived:' || d.user_id AS conflict_key,
               f._file AS source_file, f._line AS source_line
        FROM {desired} f JOIN users d ON d.user_id = f._target_id
        WHERE {kept} AND NOT f._skip AND NOT f._deleted
        """,
    )
    ctx.db.execute(
        f"UPDATE {desired} SET _skip = true, _kept_archived = true, "
        "_skip_why = CASE WHEN d.kind = 'student' "
        "THEN 'stays archived (archived_students = keep_archived)' "
        "ELSE 'stays archived (archived by hand)' END "
        f"FROM users d WHERE d.user_id = {desired}._target_id AND {kept} AND NOT _deleted"
    )


def classroom_rules(ctx: PlanContext) -> None:
    desired = ctx.t("desired_classrooms")
    keep_stored_values(ctx, "classrooms", "classroom_id")
    locked = ctx.db.rows(
        f"""SELECT d.name, f.name FROM {desired} f JOIN classrooms d ON d.classroom_id = f._target_id
            WHERE d.name_locked AND f.name IS DISTINCT FROM d.name AND NOT f._filtered
            ORDER BY f._line"""
    )
    for kept, feed in locked[:20]:
        ctx.note("classrooms", f"'{kept}' keeps its hand-made name; the feed calls it '{feed}'")
    if len(locked) > 20:
        ctx.note("classrooms", f"... and {len(locked) - 20} more classrooms keep hand-made names")
    ctx.db.execute(
        f"UPDATE {desired} SET name = d.name FROM classrooms d "
        f"WHERE d.classroom_id = {desired}._target_id AND d.name_locked"
    )
    if not ctx.settings.unarchive_reappearing_classrooms:
        n = ctx.one(
            f"""SELECT count(*) FROM {desired} f JOIN classrooms d ON d.classroom_id = f._target_id
                WHERE d.status = 'archived' AND NOT f._deleted"""
        )
        if n:
            ctx.note(
                "classrooms",
                f"{n} archived classrooms in the feed stay archived "
                "(unarchive_reappearing_classrooms = false)",
            )
        ctx.db.execute(
            f"UPDATE {desired} SET _skip = true, "
            "_skip_why = 'stays archived (unarchive_reappearing_classrooms = false)' "
            f"FROM classrooms d WHERE d.classroom_id = {desired}._target_id AND d.status = 'archived'"
        )
    insert_conflicts(
        ctx,
        f"""
        SELECT 'sis_id_claimed_twice' AS kind, 'classrooms' AS record_kind, NULL AS record_id,
               NULL AS other_record_id, f.sis_id, f.name AS label, 'sis_id' AS field,
               f.sis_id AS feed_value, NULL AS directory_value,
               'classes.csv sourcedId ''' || f.sis_id || ''' is claimed by more than one directory classroom; the row was skipped' AS message,
               'ignore' AS suggestion, true AS blocking, 'claimed:classroom:' || f.sis_id AS conflict_key,
               f._file AS source_file, f._line AS source_line
        FROM {desired} f WHERE f._ambiguous
        """,
    )


def school_rules(ctx: PlanContext) -> None:
    """match_only: feed schools with no match are skipped, reported once per school."""
    if ctx.settings.school_matching != "match_only":
        return
    desired = ctx.t("desired_schools")
    insert_conflicts(
        ctx,
        f"""
        SELECT 'unmatched_school' AS kind, 'schools' AS record_kind, NULL AS record_id, NULL AS other_record_id,
               f.sis_id, f.name AS label, 'sis_id' AS field, f.sis_id AS feed_value, NULL AS directory_value,
               'school ''' || coalesce(f.name, f.sis_id) || ''' (' || f.sis_id || ') matches no directory school; '
               || 'its rows were skipped (school_matching = match_only). Set this SIS id on a school to match it.' AS message,
               'ignore' AS suggestion, false AS blocking, 'unmatched:' || f.sis_id AS conflict_key,
               f._file AS source_file, f._line AS source_line
        FROM {desired} f WHERE f._unmatched AND f.org_type <> 'district'
        """,
    )


def link_rules(ctx: PlanContext) -> None:
    """A feed link to a student the sync does not manage is a question, not a change."""
    desired = ctx.t("desired_guardian_links")
    outside = f"""
        FROM {desired} f JOIN users s ON s.user_id = f.student_id
        WHERE NOT f._skip AND NOT f._deleted AND f._target_id IS NULL
          AND (s.origin = 'hand' OR s.status = 'archived')
          AND s.user_id NOT IN (SELECT _target_id FROM {ctx.t("desired_users")}
                                WHERE NOT _skip AND _target_id IS NOT NULL)"""
    insert_conflicts(
        ctx,
        f"""
        SELECT 'link_outside_sync' AS kind, 'guardian_links' AS record_kind, f.student_id AS record_id,
               f.guardian_id AS other_record_id, s.sis_id, (SELECT given_name || ' ' || family_name FROM users WHERE user_id = f.guardian_id) || ' for ' || s.given_name || ' ' || s.family_name AS label, 'guardian' AS field,
               CAST(f.guardian_id AS VARCHAR) AS feed_value, NULL AS directory_value,
               'the feed links a guardian to ' || s.given_name || ' ' || s.family_name ||
               ', a student the sync does not manage (' || CASE WHEN s.origin = 'hand' THEN 'made by hand' ELSE 'archived' END ||
               '); take to create the link' AS message,
               'ignore' AS suggestion, false AS blocking,
               'link:' || f.student_id || ':' || f.guardian_id AS conflict_key, f._file AS source_file, f._line AS source_line
        {outside}
        """,
    )
    ctx.db.execute(f"""UPDATE {desired} SET _skip = true WHERE _id IN (SELECT f._id {outside})""")
    # A person kept archived (_archived_people: a student under archived_students =
    # keep_archived, a guardian or staff member archived by hand) keeps the links their archive
    # took, as they keep their enrollments and attributes: the feed's links stay as they are.
    # So does a person the directory archived whom no row of the drop brings back (users.csv a
    # delta), on either side of the link, and no new link is made to them.
    kept = f"SELECT user_id FROM {ctx.t('user_map')} WHERE kept_archived"
    ctx.db.execute(
        f"""UPDATE {desired} SET _skip = true
            WHERE (_target_id IS NOT NULL AND student_id IN ({kept})) OR guardian_id IN ({kept})"""
    )


# The conflict about a person unarchived by hand whom the feed would archive: taking it
# archives them as the feed says (sync/conflicts.py).
UNARCHIVED_BY_HAND_NOT_IN_FEED = "unarchived_by_hand_not_in_feed"


# A hand unarchive made before schema 21, which began to keep it: migration 23 took it from the
# audit log, unable to tell whether a night since listed the person (which would have ended it).
_BEFORE_21 = """d.unarchived_by_hand_at < (SELECT applied_at FROM schema_migrations
                                             WHERE version = 21)"""


def unarchived_by_hand(user: str = "d") -> str:
    """SQL over the directory user `user`: a person unarchived them (directory/records.py
    set_archived) and no applied run's feed has listed them since."""
    return f"({user}.status = 'active' AND {user}.unarchived_by_hand_at IS NOT NULL)"


def keep_hand_unarchives(ctx: PlanContext) -> None:
    """A person unarchived by hand stays active while the feed leaves them out, as one archived
    by hand stays archived while the feed lists them (`_archived_people`): the feed saying again
    what it said before the person decided says nothing about that decision. So the archive the
    plan made of them (absent from a whole file, or a row marked tobedeleted) is taken out and
    asked about instead (keep, the suggestion, leaves them active; take archives them), and they
    keep what is attached to them, as a person held tonight does. Once the feed lists them
    again, the decision is no longer in question: the apply ends it (sync/apply.py), and from
    then on the feed's absence archives them as anyone's.

    Runs between plan_table and record_changes of the people (sync/plan.py)."""
    plan = ctx.keep("plan_users")
    desired = ctx.t("desired_users")
    archived = f"""SELECT p.id FROM {plan} p JOIN users d ON d.user_id = p.id
                   WHERE p.op = 'archive' AND {unarchived_by_hand()}"""
    listed = f"""SELECT _target_id FROM {desired} WHERE NOT _deleted AND _target_id IS NOT NULL
                 UNION ALL SELECT id FROM {ctx.t("unchanged_users")}"""
    ctx.db.execute(
        f"""CREATE OR REPLACE TABLE {ctx.keep("hand_unarchives_ended")} AS
            SELECT d.user_id AS id FROM users d
            WHERE {unarchived_by_hand()} AND d.user_id IN ({listed})
              AND d.user_id NOT IN ({archived})"""
    )
    insert_conflicts(
        ctx,
        f"""
        SELECT '{UNARCHIVED_BY_HAND_NOT_IN_FEED}' AS kind, 'users' AS record_kind,
               d.user_id AS record_id, NULL AS other_record_id, d.sis_id,
               d.given_name || ' ' || d.family_name AS label, 'status' AS field,
               'archived' AS feed_value, 'active' AS directory_value,
               'unarchived by hand'
               || CASE WHEN {_BEFORE_21} THEN ' on ' || strftime(d.unarchived_by_hand_at, '%Y-%m-%d')
                       || ', before Roster Sync kept that decision (a night since may have listed '
                       || 'them, which ended it)' ELSE '' END
               || ', and the feed '
               || CASE WHEN p._file IS NOT NULL THEN 'marks them tobedeleted'
                       ELSE 'still leaves them out' END
               || '; they stay active (take archives them, as the feed says)' AS message,
               'keep' AS suggestion, false AS blocking,
               'unarchived:' || d.user_id || ':' || epoch_us(d.unarchived_by_hand_at)
                   AS conflict_key,
               coalesce(p._file, d.source_file) AS source_file, p._line AS source_line
        FROM {plan} p JOIN users d ON d.user_id = p.id
        WHERE p.op = 'archive' AND {unarchived_by_hand()}
        """,
    )
    kept = ctx.t("kept_unarchived_by_hand")
    ctx.db.execute(f"CREATE OR REPLACE TEMP TABLE {kept} AS {archived}")
    n = int(ctx.one(f"SELECT count(*) FROM {kept}"))
    if not n:
        return
    ctx.db.execute(f"INSERT INTO {ctx.t('held_users')} SELECT id FROM {kept}")
    ctx.db.execute(f"DELETE FROM {plan} WHERE op = 'archive' AND id IN (SELECT id FROM {kept})")
    ctx.note(
        "users",
        f"{n:,} {'person' if n == 1 else 'people'} unarchived by hand "
        f"{'stays' if n == 1 else 'stay'} active though the feed would archive them: "
        "conflicts, take archives, keep leaves active",
    )
