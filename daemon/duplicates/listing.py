"""Reading candidates a page at a time, each side described for a person to judge."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from daemon.db import Database
from daemon.directory.orgs import direct_schools
from daemon.duplicates.decisions import suggested_survivor
from daemon.duplicates.models import CandidateSide, DuplicateCandidate
from daemon.duplicates.scoring import COARSE, FIELDS
from daemon.models import Page

MAX_PAGE = 500
STATUSES = ("open", "merged", "rejected", "skipped")
SIDE_COLUMNS = """user_id, sis_id, status, origin, given_name, family_name, birth_date, identifier,
    user_ids, email, grades, created_run AS arrived_run, archived_run AS left_run, nullif(concat_ws(', ', nullif(trim(mobile_phone), '') || ' (mobile)',
                                    nullif(trim(home_phone), '') || ' (home)'), '') AS phone"""


def list_candidates(
    db: Database,
    status: str | None = "open",
    offset: int = 0,
    limit: int = 50,
    kind: str | None = None,
) -> Page:
    """Best first. 'open' leaves out pairs that a merge since made moot (one side merged)."""
    where, params = ["true"], []
    if status not in (None, "all"):
        if status not in STATUSES:
            raise ValueError(f"status must be one of {', '.join(STATUSES)} or all")
        where.append("c.status = ?")
        params.append(status)
    if status == "open":
        where.append("a.status <> 'merged' AND b.status <> 'merged'")
    if kind:
        where.append("c.record_kind = ?")
        params.append(kind)
    clause = " AND ".join(where)
    base = f"""FROM duplicate_candidates c JOIN users a ON a.user_id = c.left_id
               JOIN users b ON b.user_id = c.right_id WHERE {clause}"""
    total = int(db.one(f"SELECT count(*) {base}", params))
    rows = db.dicts(
        f"""SELECT c.* {base} ORDER BY c.score DESC, c.candidate_id LIMIT ? OFFSET ?""",
        [*params, max(1, min(int(limit), MAX_PAGE)), int(offset)],
    )
    ids = sorted({r["left_id"] for r in rows} | {r["right_id"] for r in rows})
    sides = _sides(db, ids)
    items = []
    for r in rows:
        left, right = sides[r["left_id"]], sides[r["right_id"]]
        detail = {f: (r["evidence"] or {}).get(f) or "missing" for f in FIELDS}
        items.append(
            DuplicateCandidate(
                candidate_id=r["candidate_id"],
                record_kind=r["record_kind"],
                score=round(float(r["score"]), 4),
                points=r["points"],
                status=r["status"],
                left=CandidateSide(**left),
                right=CandidateSide(**right),
                evidence={f: COARSE.get(v, v) for f, v in detail.items()},
                evidence_detail=detail,
                field_points={f: int((r["field_points"] or {}).get(f) or 0) for f in FIELDS},
                survivor_id=suggested_survivor(left, right),
                found_at=r["found_at"],
                decided_by=r["decided_by"],
                decided_at=r["decided_at"],
                merge_id=r["merge_id"],
                lifecycle=lifecycle_note(detail["lifecycle"], left, right),
            )
        )
    return Page(total=total, offset=offset, items=items)


def lifecycle_note(verdict: str, left: dict[str, Any], right: dict[str, Any]) -> str | None:
    """The runs behind the lifecycle verdict, in words: 'left the feed in run 12; the other
    arrived in run 12' (a re-keyed record), or 'both in the feed since run 3' (twins look so)."""
    if verdict == "handover":
        old, new = sorted((left, right), key=lambda s: (s["left_run"] is None, s["arrived_run"]))
        return (
            f"#{old['user_id']} left the feed in run {old['left_run']}; "
            f"#{new['user_id']} arrived in run {new['arrived_run']}"
        )
    if verdict == "coexist":
        since = max(left["arrived_run"], right["arrived_run"])
        ends = [s["left_run"] for s in (left, right) if s["left_run"] is not None]
        if ends:
            return f"both in the feed from run {since} until run {min(ends)}"
        return f"both in the feed since run {since}"
    if verdict == "apart":
        first, second = sorted((left, right), key=lambda s: s["arrived_run"])
        return (
            f"#{first['user_id']} was in the feed from run {first['arrived_run']} to run "
            f"{first['left_run']}; #{second['user_id']} arrived in run {second['arrived_run']}"
        )
    return None


def _sides(db: Database, ids: list[int]) -> dict[int, dict[str, Any]]:
    if not ids:
        return {}
    id_list = ", ".join(str(i) for i in ids)
    people = {
        r["user_id"]: {**r, "school": None, "guardians": [], "students": []}
        for r in db.dicts(f"SELECT {SIDE_COLUMNS} FROM users WHERE user_id IN ({id_list})")
    }
    links = db.rows(
        f"""SELECT l.student_id, l.guardian_id,
                   trim(coalesce(g.given_name, '') || ' ' || coalesce(g.family_name, '')),
                   trim(coalesce(s.given_name, '') || ' ' || coalesce(s.family_name, ''))
            FROM guardian_links l JOIN users g ON g.user_id = l.guardian_id
            JOIN users s ON s.user_id = l.student_id
            WHERE l.status = 'active' AND (l.student_id IN ({id_list}) OR l.guardian_id IN ({id_list}))
            ORDER BY 3, 4"""
    )
    students_of: dict[int, set[int]] = defaultdict(set)
    for student, guardian, g_name, s_name in links:
        if student in people:
            people[student]["guardians"].append(g_name)
        if guardian in people:
            people[guardian]["students"].append(s_name)
            students_of[guardian].add(student)
    schools = _direct_schools(db, sorted(set(ids) | {s for v in students_of.values() for s in v}))
    for user_id, person in people.items():
        names = schools.get(user_id) or sorted(
            {n for s in students_of.get(user_id, ()) for n in schools.get(s, [])}
        )
        person["school"] = ", ".join(names) if names else None
    return people


def _direct_schools(db: Database, ids: list[int]) -> dict[int, list[str]]:
    """School names from users' orgs (SIS ids, or '#id' for hand-made memberships: orgs.py)."""
    if not ids:
        return {}
    id_list = ", ".join(str(i) for i in ids)
    rows = db.rows(
        f"""WITH orgs AS (
                SELECT user_id, trim(unnest(string_split(org_sis_ids, ','))) AS org
                FROM users WHERE user_id IN ({id_list}) AND org_sis_ids IS NOT NULL),
            direct AS ({direct_schools("orgs")})
            SELECT DISTINCT d.user_id, coalesce(s.name, 'school ' || s.school_id)
            FROM direct d JOIN schools s ON s.school_id = d.school_id AND s.org_type <> 'district'
            ORDER BY 1, 2"""
    )
    found: dict[int, list[str]] = defaultdict(list)
    for user_id, name in rows:
        found[user_id].append(name)
    return found
