"""What an administrator decides about a pair: merge it, say "not the same person", or skip it.

The engine calls land here: references (user ids, SIS ids, a candidate id) are resolved, the
survivor rule is applied, and each decision is one audited transaction.
"""

from __future__ import annotations

from typing import Any

from daemon.audit import audit
from daemon.db import Database
from daemon.directory.records import directory_edit
from daemon.duplicates import merge as merging
from daemon.duplicates.errors import DuplicateError
from daemon.duplicates.models import MergeUndone


def _candidate(db: Database, candidate_id: int) -> dict[str, Any]:
    rows = db.dicts("SELECT * FROM duplicate_candidates WHERE candidate_id = ?", [candidate_id])
    if not rows:
        raise DuplicateError(
            f"there is no duplicate candidate {candidate_id} (see: roster-sync duplicates list)"
        )
    return rows[0]


def pair_from(
    db: Database, a: str | int | None, b: str | int | None, candidate_id: int | None
) -> tuple[int, int, int | None]:
    """Two user ids (and the candidate, when named) from refs or a candidate id."""
    if candidate_id is not None:
        cand = _candidate(db, int(candidate_id))
        if cand["status"] in ("merged", "rejected"):
            raise DuplicateError(
                f"candidate {candidate_id} was already decided: {cand['status']} by {cand['decided_by']}"
            )
        ids = {cand["left_id"], cand["right_id"]}
        given = {merging.resolve(db, r) for r in (a, b) if r is not None}
        if not given <= ids:
            raise DuplicateError(
                f"candidate {candidate_id} is the pair {cand['left_id']} and {cand['right_id']}"
            )
        return cand["left_id"], cand["right_id"], int(candidate_id)
    if a is None or b is None:
        raise DuplicateError(
            "name two records (user ids or SIS ids) or a candidate (--candidate N)"
        )
    return merging.resolve(db, a), merging.resolve(db, b), None


def merge_pair(
    db: Database,
    actor: str,
    a: str | int | None,
    b: str | int | None,
    keep: str | int | None = None,
    candidate_id: int | None = None,
) -> int:
    left, right, cand = pair_from(db, a, b, candidate_id)
    pa, pb = merging.person(db, left), merging.person(db, right)
    merging.check_pair(pa, pb)
    keep_id = merging.resolve(db, keep) if keep is not None else None
    survivor, merged = merging.choose_survivor(pa, pb, keep_id)
    return merging.merge(db, actor, survivor, merged, cand)


def suggested_survivor(left: dict[str, Any], right: dict[str, Any]) -> int | None:
    """The survivor the rule picks, or None when the administrator must choose."""
    managed = [s for s in (left, right) if s["origin"] == "sync" and s["status"] == "active"]
    return managed[0]["user_id"] if len(managed) == 1 else None


def reject_pair(
    db: Database,
    actor: str,
    a: str | int | None,
    b: str | int | None,
    candidate_id: int | None = None,
) -> None:
    """'Not the same person': the pair is never proposed again, by any later scan."""
    x, y, cand = pair_from(db, a, b, candidate_id)
    if x == y:
        raise DuplicateError("both references name the same record")
    left, right = min(x, y), max(x, y)
    kind = db.one("SELECT kind FROM users WHERE user_id = ?", [left])
    if cand is None:
        cand = db.one(
            "SELECT candidate_id FROM duplicate_candidates WHERE left_id = ? AND right_id = ?",
            [left, right],
        )
    details = {"left": left, "right": right, "candidate_id": cand}
    with directory_edit(db, actor, "duplicates.reject", "users", left, details):
        if not db.one(
            "SELECT count(*) FROM duplicate_rejections WHERE left_id = ? AND right_id = ?",
            [left, right],
        ):
            db.execute(
                "INSERT INTO duplicate_rejections VALUES (?, ?, ?, ?, ?, current_timestamp)",
                [left, right, kind, cand, actor],
            )
        db.execute(
            """UPDATE duplicate_candidates SET status = 'rejected', decided_by = ?,
                      decided_at = current_timestamp
               WHERE left_id = ? AND right_id = ? AND status <> 'merged'""",
            [actor, left, right],
        )


def skip_candidate(db: Database, actor: str, candidate_id: int) -> None:
    """Decide later: the pair leaves the open list until a scan no longer finds it."""
    cand = _candidate(db, int(candidate_id))
    if cand["status"] != "open":
        raise DuplicateError(f"candidate {candidate_id} is {cand['status']}, not open")
    with db.transaction():
        db.execute(
            """UPDATE duplicate_candidates SET status = 'skipped', decided_by = ?,
                      decided_at = current_timestamp WHERE candidate_id = ?""",
            [actor, candidate_id],
        )
        audit(
            db,
            actor,
            "duplicates.skip",
            target_kind="duplicate_candidates",
            target_id=int(candidate_id),
            details={},
        )


def undo_merge(db: Database, actor: str, merge_id: int) -> MergeUndone:
    """The undo's details (as audited): what was not put back because it changed since."""
    return MergeUndone.model_validate(merging.undo(db, actor, int(merge_id)))


def undo_last(db: Database, actor: str) -> MergeUndone | None:
    """The actor's most recent merge that is not undone yet, undone; None when there is none."""
    merge_id = db.one(
        """SELECT max(merge_id) FROM merges WHERE merged_by = ? AND undone_at IS NULL""", [actor]
    )
    if merge_id is None:
        return None
    return undo_merge(db, actor, int(merge_id))
