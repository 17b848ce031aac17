"""Commands on the directory itself: schools, classrooms and people, made or edited by hand."""

from __future__ import annotations

import argparse
from typing import Any

from pydantic import BaseModel

from daemon.cli import render
from daemon.cli.client import engine
from daemon.cli.errors import CliError
from daemon.directory.shapes import School, Shape, UserDetail
from daemon.words import counted

JSON_HELP = "print JSON (for scripts) instead of text"
USER_HELP = "the person: user id (#42), SIS id or student number"
SCHOOL_HELP = "the school: school id (#3) or SIS id"
CLASSROOM_HELP = "the classroom: classroom id (#12) or SIS id"


def register(sub: argparse._SubParsersAction) -> None:
    _schools(sub)
    _classrooms(sub)
    _users(sub)


def _schools(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "schools", help="list schools, create one by hand, or give one another SIS id"
    )
    s = p.add_subparsers(dest="schools_command", metavar="list|create|add-sis-id")
    s.required = True
    c = s.add_parser("list", help="every school with its students and SIS ids")
    c.add_argument("--json", action="store_true", help=JSON_HELP)
    c.set_defaults(handler=lambda a: _call(a, "list_schools", _print_schools))
    c = s.add_parser("create", help="a hand-made school (give it SIS ids to match feed schools)")
    c.add_argument("name", help="the school's name (unique in the directory)")
    c.set_defaults(
        handler=lambda a: _call(a, "create_school", _done("created school"), a.name),
        creates_database=True,
    )
    c = s.add_parser(
        "add-sis-id", help="the school also answers to SIS_ID (merges feed schools into one)"
    )
    c.add_argument("school", help=SCHOOL_HELP)
    c.add_argument("sis_id", help="the SIS id (an orgs.csv sourcedId)")
    c.set_defaults(
        handler=lambda a: _call(
            a, "add_school_sis_id", _done(f"school now answers to {a.sis_id}:"), a.school, a.sis_id
        )
    )


def _classrooms(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "classrooms", help="find, create, adopt, rename, archive classrooms; add co-teachers"
    )
    s = p.add_subparsers(
        dest="classrooms_command",
        metavar="find|create|set-sis-id|rename|archive|unarchive|add-teacher|add-student",
    )
    s.required = True
    c = s.add_parser("find", help="classrooms by name, SIS id or id")
    c.add_argument("query", nargs="?", default="", help="words of the name, a SIS id or an id")
    c.add_argument("--json", action="store_true", help=JSON_HELP)
    c.set_defaults(handler=lambda a: _call(a, "find_classrooms", _print_classrooms, a.query))
    c = s.add_parser("create", help="a hand-made classroom")
    c.add_argument("name", help="the classroom's name")
    c.add_argument("--school", required=True, help=SCHOOL_HELP)
    c.set_defaults(
        handler=lambda a: _call(a, "create_classroom", _done("created classroom"), a.name, a.school)
    )
    c = s.add_parser(
        "set-sis-id", help="the next sync adopts this classroom as the feed's class SIS_ID"
    )
    c.add_argument("classroom", help=CLASSROOM_HELP)
    c.add_argument("sis_id", help="the SIS id (a classes.csv sourcedId)")
    c.set_defaults(
        handler=lambda a: _call(
            a,
            "set_classroom_sis_id",
            _done("classroom will be adopted by the sync:"),
            a.classroom,
            a.sis_id,
        )
    )
    c = s.add_parser("rename", help="rename (a synced classroom then keeps this name)")
    c.add_argument("classroom", help=CLASSROOM_HELP)
    c.add_argument("name", help="the new name")
    c.set_defaults(
        handler=lambda a: _call(
            a, "rename_classroom", _done("renamed classroom"), a.classroom, a.name
        )
    )
    for verb in ("archive", "unarchive"):
        c = s.add_parser(
            verb,
            help=f"{verb} a classroom made by hand"
            + (" (its memberships go with it)" if verb == "archive" else ""),
        )
        c.add_argument("classroom", help=CLASSROOM_HELP)
        c.set_defaults(
            handler=lambda a, verb=verb: _call(
                a, f"{verb}_classroom", _done(f"{verb}d classroom"), a.classroom
            )
        )
    for role in ("teacher", "student"):
        c = s.add_parser(
            f"add-{role}",
            help=f"add a {'co-teacher' if role == 'teacher' else 'synced student to a hand-made classroom'}",
        )
        c.add_argument("classroom", help=CLASSROOM_HELP)
        c.add_argument(
            "user",
            help=f"the {'staff member' if role == 'teacher' else 'student'}: {USER_HELP.split(': ', 1)[1]}",
        )
        c.set_defaults(
            handler=lambda a, role=role: _call(
                a,
                "add_classroom_member",
                _done(f"added {role}; enrollment"),
                a.classroom,
                a.user,
                role,
            )
        )


def _users(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "users", help="find and show people; add guardians and staff by hand; edit contacts"
    )
    s = p.add_subparsers(
        dest="users_command",
        metavar="find|show|add|link-guardian|edit-contact|activate|archive|unarchive|archived",
    )
    s.required = True
    c = s.add_parser("find", help="people by name, SIS id, student number, e-mail or id")
    c.add_argument(
        "query", nargs="?", default="", help="words of the name, a SIS id, a number or an e-mail"
    )
    c.add_argument("--kind", choices=("student", "staff", "guardian"), help="only this kind")
    c.add_argument("--json", action="store_true", help=JSON_HELP)
    c.set_defaults(handler=lambda a: _call(a, "find_users", _print_users, a.query, a.kind))
    c = s.add_parser("archived", help="archived students: when and by which run")
    c.add_argument("query", nargs="?", default="", help="words of the name, a SIS id or a number")
    c.add_argument("--json", action="store_true", help=JSON_HELP)
    c.set_defaults(
        handler=lambda a: _call(a, "find_users", _print_users, a.query, "student", "archived")
    )
    c = s.add_parser("show", help="one person with schools, links, classrooms and history")
    c.add_argument("user", help=USER_HELP)
    c.add_argument("--json", action="store_true", help=JSON_HELP)
    c.set_defaults(handler=lambda a: _call(a, "user_detail", _print_detail, a.user))
    c = s.add_parser(
        "add", help="a hand-made guardian or staff member (students come from the SIS)"
    )
    c.add_argument("kind", choices=("guardian", "staff", "student"), help="what the person is")
    c.add_argument("given_name", help="given (first) name")
    c.add_argument("family_name", help="family (last) name")
    c.add_argument("--email", help="e-mail address")
    c.add_argument("--mobile-phone", metavar="PHONE", help="mobile phone number")
    c.add_argument("--home-phone", metavar="PHONE", help="home phone number")
    c.add_argument("--school", help=f"{SCHOOL_HELP} (staff need one)")
    c.add_argument("--role", help="the OneRoster role (default: teacher for staff)")
    c.set_defaults(
        handler=lambda a: _call(
            a,
            "create_user",
            _done(f"created {a.kind}"),
            a.kind,
            a.given_name,
            a.family_name,
            a.email,
            a.mobile_phone,
            a.home_phone,
            a.school,
            a.role,
        ),
        creates_database=True,
    )
    c = s.add_parser("link-guardian", help="link a guardian to a student")
    c.add_argument("guardian", help="the guardian (first): user id (#42) or SIS id")
    c.add_argument("student", help="the student (second): user id (#42), SIS id or student number")
    c.add_argument(
        "--relationship",
        default="guardian",
        choices=("parent", "guardian", "relative"),
        help="how they are related (default: guardian)",
    )
    c.set_defaults(
        handler=lambda a: _call(
            a, "link_guardian", _done("linked; link"), a.guardian, a.student, a.relationship
        )
    )
    c = s.add_parser("edit-contact", help="edit contact details by hand (role users_manager)")
    c.add_argument("user", help=USER_HELP)
    c.add_argument("--email", help="new e-mail address")
    c.add_argument("--mobile-phone", metavar="PHONE", help="new mobile phone number")
    c.add_argument("--home-phone", metavar="PHONE", help="new home phone number")
    c.add_argument("--language", metavar="CODE", help="new language code (en, es, ...)")
    c.set_defaults(handler=_edit_contact)
    for name, method, word, what in (
        (
            "activate",
            "set_account_active",
            "account marked active:",
            "mark the person's account active",
        ),
        ("archive", "archive_user", "archived user", "archive a person by hand"),
        (
            "unarchive",
            "unarchive_user",
            "unarchived user",
            "bring an archived person back (kept active while the feed leaves them out: "
            "a conflict asks)",
        ),
    ):
        c = s.add_parser(name, help=what)
        c.add_argument("user", help=USER_HELP)
        c.set_defaults(handler=lambda a, m=method, w=word: _call(a, m, _done(w), a.user))


def _edit_contact(args: argparse.Namespace) -> int:
    changes = {
        k: v
        for k, v in (
            ("email", args.email),
            ("mobile_phone", args.mobile_phone),
            ("home_phone", args.home_phone),
            ("language", args.language),
        )
        if v is not None
    }
    if not changes:
        raise CliError(
            "name what to change: --email, --mobile-phone, --home-phone or --language", 2
        )
    return _call(args, "edit_contact", _done("contact details saved for user"), args.user, changes)


def _call(args: argparse.Namespace, method: str, show: Any, *params: Any) -> int:
    with engine(args) as e:
        result = getattr(e, method)(*params)
    if getattr(args, "json", False):
        render.print_json(_jsonable(result))
    else:
        show(result)
    return 0


def _jsonable(result: Any) -> Any:
    """What `--json` prints: a record or a list of schools as plain dicts in column order (their
    timestamps printed as Python prints them, as always), a page as JSON."""
    if isinstance(result, Shape):
        return result.as_dict()
    if isinstance(result, list):
        return [_jsonable(r) for r in result]
    if isinstance(result, BaseModel):
        return result.model_dump(mode="json")
    return result


def _done(word: str) -> Any:
    return lambda result: print(f"{word} {result}")


def _say(line: str) -> None:
    """One record or field per line, whatever its values hold (see render.one_line)."""
    print(render.one_line(line))


def _print_schools(rows: list[School]) -> None:
    for r in rows:
        _say(
            f"{r.school_id:>5}  {r.name or '':34} {r.org_type:9} {r.status:9} {r.origin:5} "
            f"{counted(r.students or 0, 'student', spec='>6'):15}  SIS ids: {r.sis_ids or '-'}"
        )


def _print_classrooms(page: Any) -> None:
    for r in page.items:
        lock = " (name kept)" if r["name_locked"] else ""
        _say(
            f"{r['classroom_id']:>6}  {r['name'] or '':32}{lock} {r['school'] or '':26} {r['status']:9} "
            f"{r['origin']:5} {counted(r['students'], 'student', spec='>4'):13}  {r['sis_id'] or '-'}"
        )
    print(counted(page.total, "classroom"))


def _print_users(page: Any) -> None:
    for r in page.items:
        extra = (
            f" archived {r['archived_at']:%Y-%m-%d} by {'run ' + str(r['archived_run']) if r['archived_run'] else 'hand'}"
            if r["status"] == "archived" and r["archived_at"]
            else ""
        )
        _say(
            f"{r['user_id']:>7}  {r['given_name'] or ''} {r['family_name'] or ''}  [{r['kind']}, {r['status']}, "
            f"{r['origin']}] {r['sis_id'] or '-'} {r['schools'] or ''}{extra}"
        )
    print(f"{page.total} {'person' if page.total == 1 else 'people'}")


def _print_detail(user: UserDetail) -> None:
    _say(
        f"{user.given_name} {user.family_name}  (user {user.user_id}, {user.kind}, {user.status}, "
        f"{'made by hand' if user.origin == 'hand' else 'synced'})"
    )
    for label, key in (
        ("SIS id", "sis_id"),
        ("number", "identifier"),
        ("email", "email"),
        ("mobile", "mobile_phone"),
        ("home phone", "home_phone"),
        ("language", "language"),
        ("grades", "grades"),
        ("birth date", "birth_date"),
    ):
        if getattr(user, key):
            _say(f"  {label:11} {getattr(user, key)}")
    _say(f"  schools     {', '.join(user.schools) or '-'}")
    for link in user.links:
        _say(
            f"  link        {link.given_name} {link.family_name} ({link.user_id}) [{link.status}, {link.origin}]"
        )
    for c in user.classrooms:
        _say(f"  classroom   {c.name} ({c.classroom_id}) as {c.role} [{c.status}, {c.origin}]")
    for h in user.history[:15]:
        _say(f"  {h.happened_at:%Y-%m-%d %H:%M} {h.who}: {h.what} {h.detail or ''}")
