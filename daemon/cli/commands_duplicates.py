"""Commands for duplicate people and the first-sync clean-up: `duplicates ...` and `students ...`.

They call the same engine methods as the TUI's duplicates screen. `duplicates list --json`
prints an array of candidates; scripts rely on its keys (see daemon/duplicates/models.py).
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from daemon.cli import render
from daemon.cli.arguments import candidate_number, count, merge_number
from daemon.cli.client import engine
from daemon.duplicates.errors import DuplicateError
from daemon.duplicates.models import MergeUndone
from daemon.words import counted

PAGE = 500
FIELD_LABELS = {
    "given_name": "given name",
    "family_name": "family name",
    "birth_date": "birth date",
    "grade": "grade",
    "school": "school",
    "student_number": "student number",
    "email": "e-mail",
    "phone": "phone",
    "guardians": "guardians",
    "students": "students",
    "user_ids": "user ids",
    "lifecycle": "in the feed",
}
SIDE_FIELDS = {  # evidence field -> side attribute shown beside it
    "given_name": "given_name",
    "family_name": "family_name",
    "birth_date": "birth_date",
    "grade": "grades",
    "school": "school",
    "student_number": "identifier",
    "email": "email",
    "phone": "phone",
    "user_ids": "user_ids",
}


UNDO_ROW_LABELS = {
    "users": "user",
    "enrollments": "enrollment",
    "guardian_links": "guardian link",
    "student_attributes": "attribute",
}


JSON_HELP = "print JSON (for scripts) instead of text"
RECORD_HELP = "user id (#42), SIS id or student number"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "duplicates", help="find duplicate students and guardians; merge, reject, undo"
    )
    s = p.add_subparsers(dest="duplicates_command", metavar="scan|list|merge|reject|skip|undo")
    s.required = True
    c = s.add_parser(
        "scan",
        help="look for duplicates now (also done after every applied run): people changed "
        "since the last scan, with the same result as a full scan",
    )
    c.add_argument(
        "--full", action="store_true", help="compare everyone again, rebuilding the scan's cache"
    )
    c.add_argument("--json", action="store_true", help=JSON_HELP)
    c.set_defaults(handler=_scan)
    c = s.add_parser("list", help="candidates, best first, with the evidence for each")
    c.add_argument("--json", action="store_true", help="an array of candidates (for scripts)")
    c.add_argument("--all", action="store_true", help="also merged, rejected and skipped pairs")
    c.add_argument("--kind", choices=("student", "guardian"), help="only this kind of record")
    c.add_argument("--limit", type=count, default=None, metavar="N", help="at most N candidates")
    c.set_defaults(handler=_list)
    c = s.add_parser("merge", help="merge B into A or A into B (the sync-managed one survives)")
    c.add_argument("a", nargs="?", help=f"one record: {RECORD_HELP}")
    c.add_argument("b", nargs="?", help="the other record")
    c.add_argument("--keep", metavar="X", help="the survivor, when both or neither are synced")
    c.add_argument(
        "--candidate", type=candidate_number, metavar="N", help="the pair of candidate N"
    )
    c.add_argument("--json", action="store_true", help=JSON_HELP)
    c.set_defaults(handler=_merge)
    c = s.add_parser("reject", help="not the same person: never propose this pair again")
    c.add_argument("a", nargs="?", help=f"one record: {RECORD_HELP}")
    c.add_argument("b", nargs="?", help="the other record")
    c.add_argument(
        "--candidate", type=candidate_number, metavar="N", help="the pair of candidate N"
    )
    c.set_defaults(handler=_reject)
    c = s.add_parser("skip", help="decide later: hide candidate N until it changes")
    c.add_argument("candidate", type=candidate_number, help="the candidate's number (see: list)")
    c.set_defaults(handler=_skip)
    c = s.add_parser("undo", help="undo merge MERGE exactly (or your last merge: --last)")
    c.add_argument(
        "merge", nargs="?", type=merge_number, help="the merge's number (printed by merge)"
    )
    c.add_argument("--last", action="store_true", help="undo your most recent merge")
    c.add_argument("--json", action="store_true", help=JSON_HELP)
    c.set_defaults(handler=_undo)

    p = sub.add_parser("students", help="clean-up of students before relying on the sync")
    s = p.add_subparsers(dest="students_command", metavar="archive-unsynced")
    s.required = True
    c = s.add_parser(
        "archive-unsynced",
        help="archive hand-made students of synced schools (a dry-run count without --yes)",
    )
    c.add_argument("--yes", action="store_true", help="archive them (without: only count)")
    c.add_argument("--json", action="store_true", help=JSON_HELP)
    c.set_defaults(handler=_archive_unsynced)


# ---------------------------------------------------------------- handlers
def _scan(args: argparse.Namespace) -> int:
    with engine(args) as e:
        result = e.duplicates_scan(full=args.full)
    if args.json:
        print(json.dumps(result.model_dump(), indent=2))
        return 0
    kinds = ", ".join(counted(n, k) for k, n in result.open_by_kind.items()) or "none"
    print(
        f"Scanned {counted(result.people, 'person', 'people')} "
        + (f"({result.changed:,} changed since the last scan, " if result.incremental else "(")
        + f"{counted(result.pairs_compared, 'pair')} compared) "
        f"in {result.seconds:.1f} s: {counted(result.new, 'new candidate')}, {result.open:,} open "
        f"({kinds})"
    )
    if result.open:
        print("  See them with: roster-sync duplicates list")
    return 0


def _list(args: argparse.Namespace) -> int:
    status = None if args.all else "open"
    items: list[Any] = []
    with engine(args) as e:
        while True:
            page = e.duplicates_list(status=status, offset=len(items), limit=PAGE, kind=args.kind)
            items += page.items
            done = not page.items or len(items) >= page.total
            if done or (args.limit is not None and len(items) >= args.limit):
                break
    if args.limit is not None:
        items = items[: args.limit]
    if args.json:
        print(json.dumps([c.model_dump(mode="json") for c in items], indent=2))
        return 0
    if not items:
        print(
            "No duplicate candidates."
            + ("" if args.all else " (scan: roster-sync duplicates scan)")
        )
        return 0
    for c in items:
        print(candidate_text(c))
        print()
    print(counted(len(items), "candidate"))
    return 0


def _require_pair(args: argparse.Namespace) -> None:
    if args.candidate is None and (args.a is None or args.b is None):
        raise DuplicateError("name two records (A B) or a candidate (--candidate N)")


def _merge(args: argparse.Namespace) -> int:
    _require_pair(args)
    with engine(args) as e:
        merge_id = e.duplicates_merge(args.a, args.b, keep=args.keep, candidate_id=args.candidate)
    if args.json:
        print(json.dumps({"merge_id": merge_id}))
    else:
        print(
            f"merged (merge {merge_id}); undo with: {render.hint_command()} duplicates undo {merge_id}"
        )
    return 0


def _reject(args: argparse.Namespace) -> int:
    _require_pair(args)
    with engine(args) as e:
        e.duplicates_reject(args.a, args.b, candidate_id=args.candidate)
    print("marked as not the same person; this pair will not be proposed again")
    return 0


def _skip(args: argparse.Namespace) -> int:
    with engine(args) as e:
        e.duplicates_skip(args.candidate)
    print(f"skipped candidate {args.candidate}")
    return 0


def _undo(args: argparse.Namespace) -> int:
    if (args.merge is None) == (not args.last):
        raise DuplicateError("name a merge id, or --last for your most recent merge")
    with engine(args) as e:
        result = e.duplicates_undo_last() if args.last else e.duplicates_undo(args.merge)
    if result is None:
        raise DuplicateError("you have no merge left to undo")
    if args.json:
        print(json.dumps(result.model_dump(mode="json"), indent=2))
    else:
        print(describe_undo(result))
    return 0


def describe_undo(undone: MergeUndone) -> str:
    """The undo's outcome in words: as before, or what was not put back and why."""
    merge_id = undone.merge_id
    kept = undone.not_restored
    hand = undone.hand_made_again
    again = (
        f"\n  user {hand} is hand-made again: the sync kept it current through the merged "
        "record's SIS id since the merge, which that record holds again (the values it took stay)"
        if hand is not None
        else ""
    )
    if undone.exact:
        return f"undid merge {merge_id}: both records are as they were before it"
    if not kept:
        return f"undid merge {merge_id}:" + again
    stays = "stays as it is" if len(kept) == 1 else "stay as they are"
    lines = [
        f"undid merge {merge_id}; {counted(len(kept), 'change')} made since the merge {stays} "
        "now, so the records are not exactly as before it:"
    ]
    for k in kept:
        label = UNDO_ROW_LABELS.get(k.table, k.table)
        lines.append(f"  {label} {k.id}: {k.column} {k.now or '-'}: {k.why}")
    return "\n".join(lines) + again


def _archive_unsynced(args: argparse.Namespace) -> int:
    with engine(args) as e:
        result = e.archive_unsynced(dry_run=not args.yes)
    if args.json:
        print(json.dumps(result.model_dump(), indent=2, default=str))
        return 0
    if not result.total:
        print("No hand-made active students in synced schools: nothing to archive.")
        return 0
    verb = "Would archive" if result.dry_run else "Archived"
    print(f"{verb} {counted(result.total, 'hand-made student')} that no sync manages:")
    for school in result.schools:
        print(f"  {school.students:>6}  {school.name or 'school ' + str(school.school_id)}")
    if result.dry_run:
        print("Merge duplicates of synced students first (roster-sync duplicates list), then")
        print("archive the rest with: roster-sync students archive-unsynced --yes")
    return 0


# ---------------------------------------------------------------- human output
def candidate_text(c: Any) -> str:
    """A candidate side by side: one line per field with both values and the verdict."""
    left, right = c.left, c.right
    keep = {left.user_id: "left", right.user_id: "right"}.get(c.survivor_id, "choose with --keep")
    lines = [
        f"#{c.candidate_id} {c.record_kind}  score {c.score:.2f} ({counted(c.points, 'point', spec='+d')})  [{c.status}]"
        f"  survivor: {keep}"
    ]
    rows = [
        (
            "record",
            f"{left.user_id} {left.sis_id or '(hand-made)'}",
            f"{right.user_id} {right.sis_id or '(hand-made)'}",
            "",
        ),
        ("status", f"{left.status}, {left.origin}", f"{right.status}, {right.origin}", ""),
    ]
    for field, attr in SIDE_FIELDS.items():
        lv, rv = getattr(left, attr), getattr(right, attr)
        verdict = c.evidence_detail.get(field, "missing")
        if lv is None and rv is None:
            continue
        rows.append((FIELD_LABELS[field], lv or "-", rv or "-", _verdict(c, field, verdict)))
    related = "guardians" if c.record_kind == "student" else "students"
    rows.append(
        (
            related,
            ", ".join(getattr(left, related)) or "-",
            ", ".join(getattr(right, related)) or "-",
            _verdict(c, related, c.evidence_detail.get(related, "missing")),
        )
    )
    lifecycle = c.evidence_detail.get("lifecycle", "missing")
    if lifecycle != "missing":
        rows.append(
            (
                FIELD_LABELS["lifecycle"],
                feed_runs(left),
                feed_runs(right),
                _verdict(c, "lifecycle", lifecycle),
            )
        )
    width = max(24, *(len(str(v)) for r in rows for v in r[1:3]))
    for label, lv, rv, verdict in rows:
        lines.append(f"    {label:15} {lv!s:{width}}  {rv!s:{width}}  {verdict}".rstrip())
    if getattr(c, "lifecycle", None):
        lines.append(f"    {'':15} {c.lifecycle}")
    if c.status == "open":
        lines.append(
            f"    merge: {render.hint_command()} duplicates merge --candidate {c.candidate_id}"
            + ("" if c.survivor_id else f" --keep {left.user_id}|{right.user_id}")
            + f"    not the same: {render.hint_command()} duplicates reject --candidate {c.candidate_id}"
        )
    return "\n".join(lines)


def feed_runs(side: Any) -> str:
    """When a record was in the feed: 'arrived run 3, left run 12', 'arrived run 3', or
    'hand-made' (read across both sides: one left as the other arrived, or both there at once)."""
    arrived, left = getattr(side, "arrived_run", None), getattr(side, "left_run", None)
    if arrived is None:
        return "hand-made" if side.origin == "hand" else "-"
    return (
        f"arrived run {arrived}, left run {left}" if left is not None else f"arrived run {arrived}"
    )


def _verdict(c: Any, field: str, verdict: str) -> str:
    points = c.field_points.get(field, 0)
    word = verdict.replace("_", " ")
    return f"{word} ({points:+d})" if points else word
