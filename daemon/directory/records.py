"""Hand-made records and hand edits: what staff do to the directory between syncs.

Every edit is one transaction that bumps the directory version (so plans made before it are
superseded) and is audited with who made it.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from daemon.audit import audit
from daemon.db import Database, sql_literal
from daemon.directory.errors import EditRefused
from daemon.directory.orgs import (
    hand_references_taken,
    org_naming,
    rename_hand_references,
    schools_in_orgs,
)
from daemon.directory.shapes import School
from daemon.directory.values import clean_value
from daemon.formats.spec import FAMILY_ROLES, STAFF_ROLES
from daemon.settings import load_settings

__all__ = ["EditRefused"]  # re-exported: callers catch it from here

KIND_WORDS = {"student": "a student", "staff": "a staff member", "guardian": "a guardian"}


@contextmanager
def directory_edit(
    db: Database,
    actor: str,
    action: str,
    target_kind: str,
    target_id: int | None,
    details: dict[str, Any],
) -> Iterator[None]:
    with db.transaction():
        yield
        db.bump_directory_version()
        audit(db, actor, action, target_kind=target_kind, target_id=target_id, details=details)


# ---------------------------------------------------------------- lookups
def resolve_user(db: Database, ref: str | int) -> int:
    """A user by internal id (#42, or 42 where no other record has it as SIS id or student
    number) or SIS id; a merged record resolves to its survivor."""
    user_id, merged_into = _named_user(db, ref)
    return merged_into or user_id


def _named_user(db: Database, ref: str | int) -> tuple[int, int | None]:
    """The record `ref` names itself, and the survivor it was merged into (None if it was not);
    a SIS id that a record not merged away also holds names that record."""
    text = _as_text(ref)
    user_id = _one_named(
        db,
        text,
        "user",
        "SELECT user_id FROM users WHERE user_id = ?",
        "SELECT user_id FROM users WHERE sis_id = ? OR (kind = 'student' AND identifier = ?) "
        "ORDER BY merged_into NULLS FIRST, user_id",
        "SELECT coalesce(given_name || ' ' || family_name, given_name, family_name, '') "
        "FROM users WHERE user_id = ?",
        "SIS id or student number",
    )
    if user_id is None:
        raise EditRefused(f"no user '{text}' (use an id like #42 or a SIS id)")
    merged_into = db.one("SELECT merged_into FROM users WHERE user_id = ?", [user_id])
    return user_id, None if merged_into is None else int(merged_into)


def _as_text(ref: str | int) -> str:
    """A reference as typed; a number the program passes (not a person) is a record id."""
    return f"#{ref}" if isinstance(ref, int) else str(ref).strip()


def _one_named(
    db: Database, text: str, what: str, by_id: str, by_sis: str, label: str, sis_words: str
) -> int | None:
    """The record `text` names: `#42` is an id; a SIS id is itself; plain digits are whichever of
    the two exists. SIS ids are often numbers, so digits that are one record's id and another's
    SIS id are refused, naming both (an archive meant for SIS id 3 once took user 3). A SIS may
    send ids starting with '#' too (an org '#4', directory/orgs.py): `#4` that is one record's
    id and another's SIS id is refused the same way, and `#x1` no record has as id is a SIS id."""
    hashed = text.startswith("#")
    digits = text[1:] if hashed else text
    as_id = int(digits) if digits.isdigit() and digits.isascii() else None
    exists = as_id is not None and bool(db.rows(by_id, [as_id]))
    named = db.rows(by_sis, [text] * by_sis.count("?"))
    by_sis_id = int(named[0][0]) if named else None
    if as_id is None or not exists:
        return by_sis_id
    if by_sis_id is None or by_sis_id == as_id:
        return as_id

    def shown(record: int) -> str:
        name = db.one(label, [record])
        return f"{what} #{record}" + (f" ({name})" if name else "")

    own = str(as_id) if hashed else f"#{as_id}"  # '#4' is what was ambiguous
    raise EditRefused(
        f"'{text}' is both the id of {shown(as_id)} and the {sis_words} of {shown(by_sis_id)}: "
        f"write {own} or #{by_sis_id}"
    )


def _not_merged_away(db: Database, ref: str | int, verb: str) -> int:
    """The record `ref` names. An archive meant for "the duplicate" must not land on the person
    kept: a reference to a record merged away is refused, naming the merge and the survivor."""
    user_id, merged_into = _named_user(db, ref)
    if merged_into is None:
        return user_id
    merge = db.one(
        "SELECT max(merge_id) FROM merges WHERE merged_id = ? AND undone_at IS NULL", [user_id]
    )
    by = f" by merge {merge}" if merge is not None else ""
    raise EditRefused(
        f"user {user_id} was merged into {merged_into}{by}; "
        f"{verb} {merged_into} if that is meant (or undo the merge)"
    )


def resolve_school(db: Database, ref: str | int) -> int:
    text = _as_text(ref)
    school_id = _one_named(
        db,
        text,
        "school",
        "SELECT school_id FROM schools WHERE school_id = ?",
        "SELECT school_id FROM school_sis_ids WHERE sis_id = ?",
        "SELECT name FROM schools WHERE school_id = ?",
        "SIS id",
    )
    if school_id is None:
        raise EditRefused(f"no school '{text}' (use an id like #3 or a SIS id)")
    return school_id


def resolve_classroom(db: Database, ref: str | int) -> int:
    text = _as_text(ref)
    classroom_id = _one_named(
        db,
        text,
        "classroom",
        "SELECT classroom_id FROM classrooms WHERE classroom_id = ?",
        "SELECT classroom_id FROM classrooms WHERE sis_id = ? ORDER BY classroom_id",
        "SELECT name FROM classrooms WHERE classroom_id = ?",
        "SIS id",
    )
    if classroom_id is None:
        raise EditRefused(f"no classroom '{text}' (use an id like #12 or a SIS id)")
    return classroom_id


def _next_id(db: Database, table: str, id_col: str) -> int:
    return int(db.one(f"SELECT coalesce(max({id_col}), 0) + 1 FROM {table}"))


# ---------------------------------------------------------------- schools
def list_schools(db: Database) -> list[School]:
    rows = db.dicts(
        """SELECT s.school_id, s.name, s.org_type, s.status, s.origin,
                  (SELECT string_agg(sis_id, ',' ORDER BY sis_id) FROM school_sis_ids m
                   WHERE m.school_id = s.school_id) AS sis_ids,
                  (SELECT count(*) FROM user_schools us JOIN users u USING (user_id)
                   WHERE us.school_id = s.school_id AND u.kind = 'student' AND u.status = 'active') AS students
           FROM schools s ORDER BY s.org_type = 'district' DESC, s.name"""
    )
    return [School.model_validate(row) for row in rows]


def create_school(db: Database, actor: str, name: str) -> int:
    name = clean_value(db, "school_name", name)  # type: ignore[assignment]
    same = db.rows(
        "SELECT school_id, status, name FROM schools WHERE lower(name) = lower(?) "
        "ORDER BY school_id",
        [name],
    )
    if same:
        school, status, existing = same[0]
        raise EditRefused(
            f"a school named '{existing}' already exists (school {school}, {status}); to match it to "
            f"a feed school, give it that SIS id: roster-sync schools add-sis-id {school} SIS_ID"
        )
    school_id = _next_id(db, "schools", "school_id")
    with directory_edit(db, actor, "school.create", "schools", school_id, {"name": name}):
        db.execute(
            "INSERT INTO schools (school_id, org_type, name, status, origin, created_at, updated_at) "
            "VALUES (?, 'school', ?, 'active', 'hand', current_timestamp, current_timestamp)",
            [school_id, name],
        )
    return school_id


def add_school_sis_id(db: Database, actor: str, school_ref: str, sis_id: str) -> int:
    """A school may answer to several SIS ids: feed schools with these ids merge into it."""
    school_id = resolve_school(db, school_ref)
    sis_id = clean_value(db, "sis_id", sis_id)  # type: ignore[assignment]
    owner = db.rows(
        "SELECT s.school_id, s.name FROM school_sis_ids m JOIN schools s USING (school_id) "
        "WHERE m.sis_id = ?",
        [sis_id],
    )
    if owner:
        raise EditRefused(
            f"SIS id '{sis_id}' already belongs to school {owner[0][0]} ({owner[0][1]})"
        )
    # A hand reference '#N' in people's orgs keeps naming school N (directory/orgs.py).
    taker = sql_literal(f"school {school_id}")
    taken = hand_references_taken(
        db, f"SELECT {sql_literal(sis_id)} AS sis_id, {school_id} AS school_id, {taker} AS taker"
    )
    for t in taken:
        if t.naming is None:
            raise EditRefused(t.refusal())
    details: dict[str, Any] = {"sis_id": sis_id}
    if taken:
        details["renamed"] = [
            {"from": t.sis_id, "to": t.naming, "users": t.user_ids} for t in taken
        ]
    with directory_edit(db, actor, "school.add_sis_id", "schools", school_id, details):
        rename_hand_references(db, taken)
        db.execute(
            "INSERT INTO school_sis_ids VALUES (?, ?, current_timestamp, ?)",
            [sis_id, school_id, actor],
        )
        db.execute(
            "UPDATE schools SET sis_id = coalesce(sis_id, ?) WHERE school_id = ?",
            [sis_id, school_id],
        )
    return school_id


def _active_school(db: Database, ref: str, what: str) -> int:
    """The school a class or person is made in by hand: not an archived one, where it would be
    active in a school the directory, its export and every LMS no longer show."""
    school_id = resolve_school(db, ref)
    _refuse_inactive_school(db, school_id, what, "made in", shown=ref)
    return school_id


def _refuse_inactive_school(
    db: Database, school_id: int, what: str, doing: str, shown: str | None = None
) -> None:
    """Refused, naming the school (as `shown`, else by its SIS id), when it is not active (see
    _active_school)."""
    own, name, status = db.rows(
        "SELECT coalesce(sis_id, '#' || school_id), name, status FROM schools WHERE school_id = ?",
        [school_id],
    )[0]
    if status != "active":
        raise EditRefused(
            f"school '{shown or own}' ({name}) is {status}: a {what} is not {doing} it (the SIS brings "
            "a school back with its orgs.csv row)"
        )


# ---------------------------------------------------------------- classrooms
def create_classroom(db: Database, actor: str, name: str, school_ref: str) -> int:
    name = clean_value(db, "classroom_name", name)  # type: ignore[assignment]
    school_id = _active_school(db, school_ref, "class")
    classroom_id = _next_id(db, "classrooms", "classroom_id")
    with directory_edit(
        db,
        actor,
        "classroom.create",
        "classrooms",
        classroom_id,
        {"name": name, "school_id": school_id},
    ):
        db.execute(
            """INSERT INTO classrooms (classroom_id, school_id, name, status, origin, created_at, updated_at)
               VALUES (?, ?, ?, 'active', 'hand', current_timestamp, current_timestamp)""",
            [classroom_id, school_id, name],
        )
    return classroom_id


def set_classroom_sis_id(db: Database, actor: str, classroom_ref: str, sis_id: str) -> int:
    """The next sync adopts a hand-made classroom that carries the feed's SIS id.

    A classroom the sync manages is refused: its SIS id is the feed's, and one set by hand
    made the next night archive it (co-teachers and name with it) and create it anew."""
    classroom_id = resolve_classroom(db, classroom_ref)
    origin, name, current = db.rows(
        "SELECT origin, name, sis_id FROM classrooms WHERE classroom_id = ?", [classroom_id]
    )[0]
    if origin == "sync":
        raise EditRefused(
            f"classroom #{classroom_id} ({name}) is managed by the sync as {current}: its SIS id "
            "comes from classes.csv; only a hand-made classroom takes one by hand"
        )
    sis_id = clean_value(db, "sis_id", sis_id)  # type: ignore[assignment]
    other = db.rows(
        "SELECT classroom_id, name FROM classrooms WHERE sis_id = ? AND classroom_id <> ?",
        [sis_id, classroom_id],
    )
    if other:
        raise EditRefused(
            f"SIS id '{sis_id}' already belongs to classroom {other[0][0]} ({other[0][1]})"
        )
    with directory_edit(
        db, actor, "classroom.set_sis_id", "classrooms", classroom_id, {"sis_id": sis_id}
    ):
        db.execute(
            "UPDATE classrooms SET sis_id = ?, updated_at = current_timestamp WHERE classroom_id = ?",
            [sis_id, classroom_id],
        )
    return classroom_id


def rename_classroom(db: Database, actor: str, classroom_ref: str, name: str) -> int:
    """A synced classroom renamed by hand keeps its name; later plans note the feed's name."""
    classroom_id = resolve_classroom(db, classroom_ref)
    name = clean_value(db, "classroom_name", name)  # type: ignore[assignment]
    old = db.one("SELECT name FROM classrooms WHERE classroom_id = ?", [classroom_id])
    with directory_edit(
        db, actor, "classroom.rename", "classrooms", classroom_id, {"old": old, "new": name}
    ):
        db.execute(
            "UPDATE classrooms SET name = ?, name_locked = (origin = 'sync'), updated_at = current_timestamp "
            "WHERE classroom_id = ?",
            [name, classroom_id],
        )
    return classroom_id


def set_classroom_archived(db: Database, actor: str, classroom_ref: str, archived: bool) -> int:
    """Archive or unarchive by hand a classroom a person made (the SIS's are archived and
    brought back by its classes.csv). Archiving takes its active memberships with it (the
    audit names them); unarchiving brings back those that archive took whose person is active,
    into a school that is active. One whose person is archived now is handed to that person's
    archive (`archived_with` them): it comes back when they do, by hand or with the feed's row,
    where before it was left behind by both, the classroom's return and then the person's."""
    classroom_id = resolve_classroom(db, classroom_ref)
    origin, status, school_id, archived_at = db.rows(
        "SELECT origin, status, school_id, archived_at FROM classrooms WHERE classroom_id = ?",
        [classroom_id],
    )[0]
    verb = "archive" if archived else "unarchive"
    if origin != "hand":
        raise EditRefused(
            f"classroom {classroom_ref} is the SIS's: its classes.csv {verb}s it (a person "
            f"{verb}s only a classroom made by hand)"
        )
    if archived and status == "archived":
        raise EditRefused(f"classroom {classroom_ref} is already archived")
    if not archived and status == "active":
        raise EditRefused(f"classroom {classroom_ref} is not archived")
    if not archived and school_id is not None:
        _refuse_inactive_school(db, int(school_id), "class", "brought back into")
    # Its active memberships; or, to bring back, those its archive took (by their moment), with
    # their person's status now (one merged away leaves a duplicate on its tombstone, which
    # stays archived and waits for no one: duplicates/merge.py)
    members = db.rows(
        """SELECT e.enrollment_id, u.status FROM enrollments e JOIN users u USING (user_id)
           WHERE e.classroom_id = ? AND e.status = ?
             AND (? OR e.archived_run IS NULL AND e.archived_at = ?) ORDER BY 1""",
        [classroom_id, "active" if archived else "archived", archived, archived_at],
    )
    taken = [int(e) for e, person in members if archived or person == "active"]
    handed = [int(e) for e, person in members if not archived and person == "archived"]
    details: dict[str, Any] = {"archived" if archived else "unarchived": {"enrollments": taken}}
    if handed:
        details["back_with_their_person"] = {"enrollments": handed}
    with directory_edit(db, actor, f"classroom.{verb}", "classrooms", classroom_id, details):
        if archived:
            db.execute(
                "UPDATE classrooms SET status = 'archived', archived_run = NULL, "
                "archived_at = current_timestamp, updated_at = current_timestamp "
                "WHERE classroom_id = ?",
                [classroom_id],
            )
        if taken:  # at the classroom's own moment: an unarchive knows what its archive took
            db.execute(
                f"""UPDATE enrollments SET status = {sql_literal("archived" if archived else "active")},
                           archived_run = NULL,
                           archived_at = {"current_timestamp" if archived else "NULL"},
                           updated_at = current_timestamp
                    WHERE enrollment_id IN ({", ".join(str(i) for i in taken)})"""
            )
        if handed:  # the person's archive now holds them (archived_with), as if it took them
            hand_to_what_keeps_them_out(
                db,
                "enrollments",
                ", ".join(str(i) for i in handed),
                coming_back=("classrooms", str(classroom_id)),
            )
        if not archived:
            db.execute(
                "UPDATE classrooms SET status = 'active', archived_run = NULL, archived_at = NULL, "
                "updated_at = current_timestamp WHERE classroom_id = ?",
                [classroom_id],
            )
    return classroom_id


def _refuse_archived_people(db: Database, *people: tuple[str, int]) -> None:
    """A membership or link is made only between active records: one of an archived person
    would be active beside them, shown by nobody's lists."""
    for ref, user_id in people:
        status = db.one("SELECT status FROM users WHERE user_id = ?", [user_id])
        if status != "active":
            raise EditRefused(f"{ref} is {status}: unarchive them first")


def add_member(db: Database, actor: str, classroom_ref: str, user_ref: str, role: str) -> int:
    """A co-teacher, or a synced student assigned to a hand-made classroom."""
    classroom_id = resolve_classroom(db, classroom_ref)
    user_id = resolve_user(db, user_ref)
    kind, origin_class = db.rows(
        "SELECT u.kind, c.origin FROM users u, classrooms c WHERE u.user_id = ? AND c.classroom_id = ?",
        [user_id, classroom_id],
    )[0]
    if role == "student" and kind != "student":
        raise EditRefused(f"{user_ref} is {KIND_WORDS[kind]}, not a student")
    if role == "teacher" and kind != "staff":
        raise EditRefused(f"{user_ref} is {KIND_WORDS[kind]}; co-teachers are staff")
    _refuse_archived_people(db, (user_ref, user_id))
    if db.one("SELECT status FROM classrooms WHERE classroom_id = ?", [classroom_id]) != "active":
        raise EditRefused(f"classroom {classroom_ref} is archived: unarchive it first")
    if role == "student" and origin_class == "sync":
        raise EditRefused(
            "students join synced classrooms through the SIS feed; assign students by hand only "
            "to hand-made classrooms"
        )
    existing = db.rows(
        "SELECT enrollment_id, status FROM enrollments WHERE classroom_id = ? AND user_id = ?",
        [classroom_id, user_id],
    )
    if existing and existing[0][1] == "active":
        raise EditRefused(f"{user_ref} is already in classroom {classroom_ref}")
    if existing:  # one membership per classroom and person: bring the archived one back
        enrollment_id = int(existing[0][0])
        with directory_edit(
            db,
            actor,
            f"classroom.add_{role}",
            "classrooms",
            classroom_id,
            {"user_id": user_id, "restored_enrollment": enrollment_id},
        ):
            db.execute(
                "UPDATE enrollments SET status = 'active', origin = 'hand', role = ?, archived_run = NULL, "
                "archived_at = NULL, updated_at = current_timestamp WHERE enrollment_id = ?",
                [role, enrollment_id],
            )
        return enrollment_id
    enrollment_id = _next_id(db, "enrollments", "enrollment_id")
    with directory_edit(
        db, actor, f"classroom.add_{role}", "classrooms", classroom_id, {"user_id": user_id}
    ):
        db.execute(
            """INSERT INTO enrollments (enrollment_id, classroom_id, user_id, role, status, origin, created_at, updated_at)
               VALUES (?, ?, ?, ?, 'active', 'hand', current_timestamp, current_timestamp)""",
            [enrollment_id, classroom_id, user_id, role],
        )
    return enrollment_id


# ---------------------------------------------------------------- people
# The roles a person made by hand may have, per kind (as the feed reads them: formats/spec.py).
ROLES_OF_KIND = {"student": ("student",), "staff": STAFF_ROLES, "guardian": FAMILY_ROLES}


def _role_of_kind(kind: str, role: str | None) -> str:
    """The role as stored (lower case), one of its kind's; the kind's usual one when not given."""
    if role is None:
        return {"student": "student", "staff": "teacher", "guardian": "guardian"}[kind]
    allowed = ROLES_OF_KIND[kind]
    if role.strip().lower() not in allowed:
        raise EditRefused(f"a {kind} cannot have the role '{role}': one of {', '.join(allowed)}")
    return role.strip().lower()


def create_user(
    db: Database,
    actor: str,
    *,
    kind: str,
    given_name: str,
    family_name: str,
    email: str | None = None,
    mobile_phone: str | None = None,
    home_phone: str | None = None,
    school_ref: str | None = None,
    role: str | None = None,
) -> int:
    if kind not in ("student", "staff", "guardian"):
        raise EditRefused("kind must be student, staff or guardian")
    settings = load_settings(db)
    if kind == "student" and settings.daily_sync_enabled:
        raise EditRefused(
            "students cannot be created by hand while the daily sync is enabled: the SIS is the "
            "source of students (turn off daily_sync_enabled first, or add the student in the SIS)"
        )
    values = {
        field: clean_value(db, field, value)
        for field, value in (
            ("given_name", given_name),
            ("family_name", family_name),
            ("email", email),
            ("mobile_phone", mobile_phone),
            ("home_phone", home_phone),
        )
    }
    given_name, family_name = values["given_name"], values["family_name"]  # type: ignore[assignment]
    email, mobile_phone, home_phone = values["email"], values["mobile_phone"], values["home_phone"]
    orgs = org_naming(db, _active_school(db, school_ref, "person")) if school_ref else None
    if kind == "staff" and orgs is None:
        raise EditRefused("staff need a school (--school)")
    role = _role_of_kind(kind, role)
    user_id = _next_id(db, "users", "user_id")
    details = {"kind": kind, "given_name": given_name, "family_name": family_name}
    # Contacts typed here are a person's, as an edit's are (edit_contact): should the sync ever
    # reach this record (a merge that keeps it over a synced record's SIS id), it asks before
    # changing them rather than overwrite them.
    typed = any(value is not None for value in (email, mobile_phone, home_phone))
    with directory_edit(db, actor, "user.create", "users", user_id, details):
        db.execute(
            """INSERT INTO users (user_id, kind, role, given_name, family_name, email, mobile_phone, home_phone,
                                  org_sis_ids, enabled, status, origin, contacts_edited, created_at, updated_at)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, true, 'active', 'hand', ?, current_timestamp, current_timestamp)""",
            [
                user_id,
                kind,
                role,
                given_name,
                family_name,
                email,
                mobile_phone,
                home_phone,
                orgs,
                typed,
            ],
        )
    return user_id


def link_guardian(
    db: Database, actor: str, guardian_ref: str, student_ref: str, relationship: str = "guardian"
) -> int:
    guardian_id, student_id = resolve_user(db, guardian_ref), resolve_user(db, student_ref)
    kinds = dict(
        db.rows(
            "SELECT user_id, kind FROM users WHERE user_id IN (?, ?)", [guardian_id, student_id]
        )
    )
    if kinds.get(guardian_id) == "student" and kinds.get(student_id) == "guardian":
        raise EditRefused(
            f"{guardian_ref} is a student and {student_ref} a guardian: name the guardian first, "
            "then the student"
        )
    if kinds.get(guardian_id) != "guardian":
        raise EditRefused(f"{guardian_ref} is {KIND_WORDS[kinds[guardian_id]]}, not a guardian")
    if kinds.get(student_id) != "student":
        raise EditRefused(f"{student_ref} is {KIND_WORDS[kinds[student_id]]}, not a student")
    _refuse_archived_people(db, (guardian_ref, guardian_id), (student_ref, student_id))
    existing = db.rows(
        "SELECT link_id, status FROM guardian_links WHERE student_id = ? AND guardian_id = ?",
        [student_id, guardian_id],
    )
    if existing and existing[0][1] == "active":
        raise EditRefused("that guardian is already linked to that student")
    # one link per student and guardian: an archived one is brought back
    link_id = int(existing[0][0]) if existing else _next_id(db, "guardian_links", "link_id")
    details = {"guardian_id": guardian_id, "student_id": student_id}
    if existing:
        details["restored_link"] = link_id
    with directory_edit(db, actor, "guardian.link", "guardian_links", link_id, details):
        if existing:
            db.execute(
                "UPDATE guardian_links SET status = 'active', origin = 'hand', relationship = ?, "
                "archived_run = NULL, archived_at = NULL, updated_at = current_timestamp "
                "WHERE link_id = ?",
                [relationship, link_id],
            )
        else:
            db.execute(
                """INSERT INTO guardian_links (link_id, student_id, guardian_id, relationship, status, origin, created_at, updated_at)
                   VALUES (?, ?, ?, ?, 'active', 'hand', current_timestamp, current_timestamp)""",
                [link_id, student_id, guardian_id, relationship],
            )
    return link_id


def edit_contact(db: Database, actor: str, user_ref: str, changes: dict[str, str | None]) -> int:
    """Contact details edited by hand are protected from the sync unless the district says otherwise."""
    allowed = {"email", "mobile_phone", "home_phone", "language"}
    unknown = set(changes) - allowed
    if unknown or not changes:
        raise EditRefused(
            f"{'nothing to change' if not changes else 'not a contact field: ' + ', '.join(sorted(unknown))}"
            f"; editable contact fields: {', '.join(sorted(allowed))}"
        )
    user_id = resolve_user(db, user_ref)
    changes = {field: clean_value(db, field, value) for field, value in changes.items()}
    if "language" in changes and load_settings(db).update_language:
        raise EditRefused(
            "the language follows the SIS feed (update_language = true); change it in the SIS, "
            "or turn update_language off"
        )
    old = db.dicts(f"SELECT {', '.join(changes)} FROM users WHERE user_id = ?", [user_id])[0]
    sets = ", ".join(f"{field} = ?" for field in changes)
    contact = any(f != "language" for f in changes)
    with directory_edit(
        db, actor, "user.edit_contact", "users", user_id, {"old": old, "new": changes}
    ):
        db.execute(
            f"UPDATE users SET {sets}, contacts_edited = contacts_edited OR ?, updated_at = current_timestamp "
            "WHERE user_id = ?",
            [*changes.values(), contact, user_id],
        )
    return user_id


def set_account_active(db: Database, actor: str, user_ref: str, active: bool = True) -> int:
    """An archived person's account is not activated: they would sign in to a directory that
    lists them nowhere (a deactivation is always allowed)."""
    user_id = resolve_user(db, user_ref)
    if active:
        _refuse_archived_people(db, (str(user_ref), user_id))
    with directory_edit(
        db, actor, "user.activate" if active else "user.deactivate", "users", user_id, {}
    ):
        db.execute("UPDATE users SET account_active = ? WHERE user_id = ?", [active, user_id])
    return user_id


# What is attached to a person, as (table, id column, columns naming the person): archived with
# the person, as a sync's archive does (sync/diff.py CASCADES), so no archived person keeps an
# active membership, link or attribute.
ATTACHED = (
    ("enrollments", "enrollment_id", ("user_id",)),
    ("guardian_links", "link_id", ("student_id", "guardian_id")),
    ("student_attributes", "attribute_id", ("student_id",)),
)


def _attached(people: str, status: str) -> dict[str, str]:
    """SQL per attached table: the ids of the attached records in `status` of the people that
    `people` (SQL giving user ids) selects."""
    return {
        table: f"""SELECT {id_col} FROM {table}
                   WHERE ({" OR ".join(f"{c} IN ({people})" for c in columns)})
                     AND status = '{status}'"""
        for table, id_col, columns in ATTACHED
    }


def archive_attached(db: Database, people: str, run_id: int | None = None) -> dict[str, list[int]]:
    """Archive what is attached to the people `people` selects, inside the caller's edit, which
    archives them: at the same moment (`current_timestamp` is the transaction's) and by the same
    run (`run_id`, None by hand), so that an unarchive knows what their archive took. Returns the
    ids per table, for the audit."""
    taken: dict[str, list[int]] = {}
    run = "NULL" if run_id is None else str(int(run_id))
    for table, sql in _attached(people, "active").items():
        if ids := _ids(db, sql):
            taken[table] = ids
            db.execute(
                f"""UPDATE {table} SET status = 'archived', archived_run = {run},
                           archived_at = current_timestamp, updated_at = current_timestamp
                    WHERE {_id_col(table)} IN ({sql})"""
            )
    return taken


def _ids(db: Database, sql: str) -> list[int]:
    return [int(r[0]) for r in db.rows(f"{sql} ORDER BY 1")]


def _refuse_only_archived_schools(db: Database, user_id: int) -> None:
    """A person made by hand is not brought back into schools that are all archived now, as
    none is made in one (_active_school): what the SIS made, the feed keeps or not."""
    mine = schools_in_orgs(
        f"SELECT user_id AS who, org_sis_ids FROM users WHERE user_id = {user_id} "
        "AND origin = 'hand'"
    )
    schools = db.rows(
        f"""SELECT s.school_id, s.status FROM ({mine}) m JOIN schools s USING (school_id)
            WHERE s.org_type <> 'district' ORDER BY s.status = 'active' DESC, 1"""
    )
    if schools and schools[0][1] != "active":
        _refuse_inactive_school(db, int(schools[0][0]), "person made by hand", "brought back into")


def set_archived(db: Database, actor: str, user_ref: str, archived: bool) -> int:
    """Archive or unarchive by hand (a person archived by hand has no archiving run).

    Archiving takes the person's active enrollments, guardian links and attributes with it (the
    audit names them); unarchiving brings back those that archive took, where the classroom and
    the other person are active. A person unarchived by hand stays active while the feed leaves
    them out, until it lists them again (`unarchived_by_hand_at`, sync/policies.py
    `keep_hand_unarchives`), as one archived by hand stays archived."""
    user_id = _not_merged_away(db, user_ref, "archive" if archived else "unarchive")
    status = db.one("SELECT status FROM users WHERE user_id = ?", [user_id])
    if status == "merged":
        raise EditRefused(f"{user_ref} was merged into another record; unarchive the survivor")
    if archived and status == "archived":
        raise EditRefused(f"{user_ref} is already archived")
    if not archived and status == "active":
        raise EditRefused(f"{user_ref} is not archived")
    if not archived:
        _refuse_only_archived_schools(db, int(user_id))
    attached: dict[str, list[int]] = {}
    details: dict[str, Any] = {"archived" if archived else "unarchived": attached}
    if not archived:
        details["stays_active_until_the_feed_lists_them"] = True
    with directory_edit(
        db, actor, "user.archive" if archived else "user.unarchive", "users", user_id, details
    ):
        if archived:
            db.execute(
                "UPDATE users SET status = 'archived', archived_run = NULL, archived_at = current_timestamp, "
                "unarchived_by_hand_at = NULL, updated_at = current_timestamp WHERE user_id = ?",
                [user_id],
            )
            attached.update(archive_attached(db, str(int(user_id))))  # named in the audit
        else:
            attached.update(unarchive_attached(db, str(int(user_id))))  # named in the audit
            db.execute(
                "UPDATE users SET status = 'active', archived_run = NULL, archived_at = NULL, "
                "unarchived_by_hand_at = current_timestamp, updated_at = current_timestamp "
                "WHERE user_id = ?",
                [user_id],
            )
    return user_id


def archived_with(record: str, person: str) -> str:
    """SQL over an attached record and its person (aliases or table names): the record was
    archived with the person, by one archive: at the same moment (`current_timestamp` is the
    transaction's), by hand or by the same run."""
    return (
        f"({record}.archived_at = {person}.archived_at "
        f"AND {record}.archived_run IS NOT DISTINCT FROM {person}.archived_run)"
    )


def unarchive_attached(db: Database, people: str) -> dict[str, list[int]]:
    """Bring back what the archive of each of the people `people` (SQL giving user ids) selects
    took (`archived_with` them), in one statement per table, where the classroom
    and the other person are active; inside the caller's edit, while the person is still
    archived (a link's other person is the one that must be active). Everything a hand archive
    took comes back; of what a run's archive took, what a person made (a run archives one only
    to undo a run that brought it back, or when a merge is undone): what the sync made comes
    back with the feed's rows. The sync brings back what a person made the same way when the
    feed brings the person back (sync/diff.py). Returns the ids per table, for the audit."""

    def took(table: str, sql: str, columns: tuple[str, ...], restorable: str) -> str:
        return f"""{sql} AND ({restorable})
                   AND EXISTS (SELECT 1 FROM users p
                               WHERE p.user_id IN ({people})
                                 AND p.user_id IN ({", ".join(f"{table}.{c}" for c in columns)})
                                 AND {archived_with(table, "p")}
                                 AND (p.archived_run IS NULL OR {table}.origin = 'hand'))"""

    attached = list(zip(_attached(people, "archived").items(), ATTACHED, strict=True))
    selected = {
        table: took(table, sql, columns, _RESTORABLE[table])
        for (table, sql), (_, _, columns) in attached
    }
    # What the archive took whose classroom or other person is archived still cannot come back
    # now: it is handed to that one's archive (as if it had taken it), to come back with it,
    # where it was left to an archive that is over, and nothing brought it back.
    waiting = {
        table: ids
        for (table, sql), (_, _, columns) in attached
        if table in WAITS_FOR
        and (ids := _ids(db, took(table, sql, columns, f"NOT ({_RESTORABLE[table]})")))
    }
    restored = {table: ids for table, sql in selected.items() if (ids := _ids(db, sql))}
    for table, sql in selected.items():
        db.execute(
            f"""UPDATE {table} SET status = 'active', archived_run = NULL, archived_at = NULL,
                       updated_at = current_timestamp
                WHERE {_id_col(table)} IN ({sql})"""
        )
    for table, ids in waiting.items():
        hand_to_what_keeps_them_out(
            db, table, ", ".join(str(i) for i in ids), coming_back=("users", people)
        )
    return restored


def hand_to_what_keeps_them_out(
    db: Database, table: str, records: str, coming_back: tuple[str, str] | None = None
) -> None:
    """Hand the archived records of `table` that `records` (SQL giving ids) selects, which the
    archive of a person or classroom coming back took (or was handed) and which cannot come
    back with it, to the archive of the owner that keeps them out (WAITS_FOR: the classroom or
    the person of a membership, a link's other person), as if that archive had taken them: they
    come back with it (`archived_with`). Left to an archive that is over, nothing would ever
    bring them back. `coming_back` (owner table, SQL giving its ids) names those on their way
    back but still archived in the caller's edit (by hand); a run hands them once every record
    has its status (sync/apply.py). One statement per owner table; an owner merged away is
    archived by no one, and a record of its tombstone waits for nothing (duplicates/merge.py)."""
    for owner, id_col, join in WAITS_FOR[table]:
        back_owner, back_ids = coming_back or ("", "")
        not_back = f"AND o.{id_col} NOT IN ({back_ids})" if back_owner == owner else ""
        db.execute(
            f"""UPDATE {table} SET archived_at = o.archived_at, archived_run = o.archived_run,
                       updated_at = current_timestamp
                FROM {owner} o WHERE {join} AND o.status = 'archived' {not_back}
                  AND {table}.status = 'archived' AND {table}.{_id_col(table)} IN ({records})"""
        )


# An attached record comes back with its person only where what else it names is active.
_RESTORABLE = {
    "enrollments": "classroom_id IN (SELECT classroom_id FROM classrooms WHERE status = 'active')",
    "guardian_links": """student_id IN (SELECT user_id FROM users WHERE status = 'active')
                         OR guardian_id IN (SELECT user_id FROM users WHERE status = 'active')""",
    "student_attributes": "true",
}


# What an attached record a person made may wait for when it cannot come back with another of
# its owners (hand_to_what_keeps_them_out): each owner's table, id column, and how a row `o` of
# it owns the record.
WAITS_FOR: dict[str, tuple[tuple[str, str, str], ...]] = {
    "enrollments": (
        ("classrooms", "classroom_id", "o.classroom_id = enrollments.classroom_id"),
        ("users", "user_id", "o.user_id = enrollments.user_id"),
    ),
    "guardian_links": (
        (
            "users",
            "user_id",
            "o.user_id IN (guardian_links.student_id, guardian_links.guardian_id)",
        ),
    ),
}


def _id_col(table: str) -> str:
    return next(id_col for name, id_col, _ in ATTACHED if name == table)
