"""The duplicate engine calls: the CLI, the socket API and the TUI's duplicates screen use these.

`Engine` inherits this mixin; the methods need only `self.db` and `self.actor`.
"""

from __future__ import annotations

from typing import Any

from daemon.db import Database
from daemon.duplicates import decisions
from daemon.duplicates.archive import archive_unsynced
from daemon.duplicates.listing import list_candidates
from daemon.duplicates.scan import scan
from daemon.models import Page


class DuplicatesMixin:
    db: Database
    actor: str

    def duplicates_scan(self) -> dict[str, Any]:
        """Recompute candidates now (also done after every applied run)."""
        return scan(self.db)

    def duplicates_list(
        self,
        status: str | None = "open",
        offset: int = 0,
        limit: int = 50,
        kind: str | None = None,
    ) -> Page:
        """Candidates best first; status 'open' (default), 'merged', 'rejected', 'skipped' or
        None / 'all'; kind 'student' or 'guardian'."""
        return list_candidates(self.db, status, offset, limit, kind)

    def duplicates_merge(
        self,
        a: str | int | None = None,
        b: str | int | None = None,
        keep: str | int | None = None,
        candidate_id: int | None = None,
    ) -> int:
        """Merge two records of one person (user ids, SIS ids, or a candidate); the merge id."""
        return decisions.merge_pair(self.db, self.actor, a, b, keep, candidate_id)

    def duplicates_reject(
        self,
        a: str | int | None = None,
        b: str | int | None = None,
        candidate_id: int | None = None,
    ) -> None:
        """Not the same person: never proposed again."""
        decisions.reject_pair(self.db, self.actor, a, b, candidate_id)

    def duplicates_skip(self, candidate_id: int) -> None:
        decisions.skip_candidate(self.db, self.actor, candidate_id)

    def duplicates_undo(self, merge_id: int) -> None:
        """Put back exactly what the merge changed."""
        decisions.undo_merge(self.db, self.actor, merge_id)

    def duplicates_undo_last(self) -> int | None:
        """Undo this actor's most recent merge; its id, or None when there is none."""
        return decisions.undo_last(self.db, self.actor)

    def archive_unsynced(self, dry_run: bool = True) -> dict[str, Any]:
        """Hand-made active students of synced schools: counted (dry run) or archived."""
        return archive_unsynced(self.db, self.actor, dry_run)
