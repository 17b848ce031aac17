"""The daemon's history of drops (table `drops`): each drop is decided once, and the decision says
when the drop was first seen and complete, what ordered it, and why it was planned or not.

Why in the database: the decisions are what an administrator asks about ("why was the 11-30
export not synced?"), they must survive a restart (a processed SFTP drop stays history even
though the mirror keeps its files), and each one is audited. Only the daemon loop writes here,
under the daemon's write lock.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from daemon.audit import audit
from daemon.db import Database
from daemon.models import DropInfo
from daemon.service.drop_order import OrderKey, Taken, from_history, naive_local, utc_naive
from daemon.sync.runs import supersede_runs

LOG = logging.getLogger("roster_sync.daemon")
INBOX = "inbox"
SFTP = "sftp"
# Decisions that take a drop: a later, older drop of the same source is superseded by them.
TAKEN = ("queued", "planning", "planned", "skipped")
# Decisions not final yet: the drop's files are still to be read (queued, being planned).
UNDECIDED = ("queued", "planning")
RECENT = 12  # decisions shown by `roster-sync status`
# What `drops.manifest` says of a drop: it carried a manifest.csv; or the drop before it had one,
# it waited for its own and was taken without it.
MANIFEST_CARRIED = "carried"
MANIFEST_MISSING = "missing"

Signature = dict[str, tuple[int | None, int | None]]  # relative path -> (size, mtime seconds)


def encode_signature(files: Signature) -> str:
    return json.dumps(sorted([rel, *sig] for rel, sig in files.items()))


def decode_signature(text: str | None) -> Signature:
    if not text:
        return {}
    return {rel: (size, mtime) for rel, size, mtime in json.loads(text)}


def describe_change(before: Signature, now: Signature) -> str:
    """`demographics.csv is gone from the server; users.csv changed` (paths inside the drop)."""
    gone = sorted(set(before) - set(now))
    changed = sorted(rel for rel in set(before) & set(now) if before[rel] != now[rel])
    added = sorted(set(now) - set(before))
    parts = []
    if gone and not now:
        return "all its files are gone from the server"
    gone, changed, added = (
        [r.partition("/")[2] or r for r in rels] for rels in (gone, changed, added)
    )
    for rels, what in (
        (gone, "is gone from the server"),
        (changed, "changed"),
        (added, "is new"),
    ):
        if rels:
            more = f" (and {len(rels) - 3} more)" if len(rels) > 3 else ""
            verb = what.replace("is ", "are ") if len(rels) > 1 else what
            parts.append(f"{', '.join(rels[:3])}{more} {verb}")
    return "; ".join(parts)


@dataclass
class DropRow:
    drop_id: int
    source: str
    name: str
    status: str
    reason: str | None
    run_id: int | None
    queued_as: str | None
    signature: str | None
    change_signature: str | None
    export_at: datetime | None  # instants, naive UTC (as kept)
    first_seen_at: datetime | None
    ordered_by: str | None
    decided_at: datetime | None = None  # naive UTC
    manifest: str | None = None  # carried | missing | None (see MANIFEST_CARRIED)
    set_aside_by: str | None = None  # who set it aside (`roster-sync drops set-aside`)
    # of a drop set aside: the contents no drop is planned with (migration 28)
    content_hashes: list[str] | None = None

    def key(self) -> OrderKey | None:
        """Its order key, from the instants kept (local wall times are ambiguous once a year)."""
        if self.export_at is None or self.first_seen_at is None:
            return None
        at, seen_at = from_history(self.export_at), from_history(self.first_seen_at)
        return OrderKey(naive_local(at), naive_local(seen_at), self.name, self.ordered_by or "",
                        at, seen_at)  # fmt: skip


_COLUMNS = (
    "drop_id, source, name, status, reason, run_id, queued_as, signature, change_signature, "
    "export_at, first_seen_at, ordered_by, decided_at, manifest, set_aside_by, content_hashes"
)
# A drop a person set aside put nothing into the directory: it orders nothing and says nothing
# of manifests (`newest_taken`, `last_taken`).
_NOT_SET_ASIDE = "set_aside_by IS NULL"


class DropHistory:
    """Reads and writes the history on the daemon's connection, as the daemon."""

    def __init__(self, db: Database, actor: str) -> None:
        self.db = db
        self.actor = actor

    # ------------------------------------------------------------------ reading
    def _rows(self, where: str, params: list[Any]) -> list[DropRow]:
        return [
            DropRow(*row)
            for row in self.db.rows(f"SELECT {_COLUMNS} FROM drops WHERE {where}", params)
        ]

    def get(self, drop_id: int) -> DropRow:
        return self._rows("drop_id = ?", [drop_id])[0]

    def find(self, drop_id: int) -> DropRow | None:
        rows = self._rows("drop_id = ?", [drop_id])
        return rows[0] if rows else None

    def queued(self) -> list[DropRow]:
        """The drops queued, not planned yet, in the order they were queued (their slots')."""
        return self._rows("status = 'queued' ORDER BY queued_as", [])

    def by_queue_path(self, path: Path) -> DropRow | None:
        rows = self._rows("queued_as = ? ORDER BY drop_id DESC", [str(path)])
        return rows[0] if rows else None

    def newest_taken(self, source: str, beyond_queue: bool = False) -> Taken | None:
        """The high-water mark: the newest drop of `source` the daemon took (`beyond_queue`: of
        those that left the queue, planned or being planned; not those queued still)."""
        statuses = [s for s in TAKEN if not (beyond_queue and s == "queued")]
        rows = self._rows(
            f"source = ? AND status IN ({', '.join('?' * len(statuses))}) AND {_NOT_SET_ASIDE}",
            [source, *statuses],
        )
        if not rows:
            return None
        keys = [(key, r) for r in rows if (key := r.key()) is not None]
        if not keys:
            return None
        key, row = max(keys, key=lambda item: item[0])
        return Taken(row.name, key, row.run_id)

    def last_taken(self, source: str) -> DropRow | None:
        """The drop of `source` the daemon took last (in the order it took them)."""
        rows = self._rows(
            f"source = ? AND status IN ({', '.join('?' * len(TAKEN))}) AND {_NOT_SET_ASIDE} "
            "ORDER BY drop_id DESC LIMIT 1",
            [source, *TAKEN],
        )
        return rows[0] if rows else None

    def expects_manifest(self, source: str) -> bool:
        """Whether a drop of `source` waits for its manifest.csv: the drop taken before it carried
        one. (One taken without it after the wait ends the expectation, so an SIS that stopped
        sending manifests costs one wait, not one every night.)"""
        last = self.last_taken(source)
        return last is not None and last.manifest == MANIFEST_CARRIED

    def latest_by_name(self, source: str) -> dict[str, DropRow]:
        """The latest decision for each name of `source` (a name decided is history)."""
        latest: dict[str, DropRow] = {}
        for row in self._rows("source = ? ORDER BY drop_id", [source]):
            latest[row.name] = row
        return latest

    def mirror_prunable(
        self,
        local: Iterable[str],
        on_server: dict[str, dict[str, tuple[int | None, int | None]]],
        retention_days: int,
        now: datetime,
        unit_of: Callable[[str], str | None],
        top_files_on_server: Iterable[str] = (),
    ) -> list[str]:
        """Which of the mirror's local copies (`local`: its top-level folders and files) no
        decision needs any more: a drop decided (not queued or being planned) whose files are
        also in the archive (it went through the queue) and are gone from the server, or that
        was decided more than `retention_days` ago. A drop only the mirror holds (superseded
        when complete, seen at the first mirror) stays for the retention, so it can still be run
        by hand; one that failed and is still on the server stays (its files are watched for a
        change, and would be copied again). A file at the top (a loose file, or one that is part
        of no drop) goes once it is gone from the server: no drop reads it then (a queued drop
        has a snapshot of its own). `unit_of`: the drop a top-level name belongs to ("" for
        the loose files, None for none); `top_files_on_server`: the files at the server's top."""
        cutoff = utc_naive(now) - timedelta(days=retention_days)
        latest = self.latest_by_name(SFTP)
        prunable = []
        for entry in local:
            unit = unit_of(entry)
            if unit in ("", None):
                if entry not in top_files_on_server:
                    prunable.append(entry)
                continue
            row = latest.get(unit) if unit else None
            if row is None or row.status in UNDECIDED:
                continue
            if (row.status == "failed" or row.set_aside_by) and unit in on_server:
                continue  # watched for a change, which is a new upload
            gone = unit not in on_server and row.queued_as is not None
            old = row.decided_at is not None and row.decided_at < cutoff
            if gone or old:
                prunable.append(entry)
        return prunable

    def first_mirror_done(self, source: str) -> bool:
        return bool(
            self.db.one(
                "SELECT count(*) FROM drop_sources WHERE source = ? AND first_mirror_at IS NOT NULL",
                [source],
            )
        )

    # ------------------------------------------------------------------ writing
    def record(
        self,
        *,
        source: str,
        name: str,
        status: str,
        reason: str | None,
        now: datetime,
        key: OrderKey | None = None,
        first_seen: datetime | None = None,
        complete_at: datetime | None = None,
        queued_as: Path | None = None,
        signature: Signature | None = None,
        run_id: int | None = None,
        manifest: str | None = None,
        set_aside_by: str | None = None,
        content_hashes: list[str] | None = None,
    ) -> int:
        """A new decision about a drop, audited as `drop.<status>`."""
        drop_id = int(self.db.one("SELECT nextval('drop_ids')"))
        seen = first_seen if first_seen is not None else (key.seen_at if key else None)
        self.db.execute(
            """INSERT INTO drops (drop_id, source, name, first_seen_at, complete_at, export_at,
                   ordered_by, status, reason, run_id, queued_as, signature, decided_at, manifest,
                   set_aside_by, content_hashes, set_aside_after_run)
               VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?,
                       CASE WHEN ? THEN (SELECT max(run_id) FROM runs) END)""",
            [
                drop_id,
                source,
                name,
                utc_naive(seen) if seen is not None else None,
                utc_naive(complete_at) if complete_at else None,
                utc_naive(key.export_instant) if key else None,
                key.ordered_by if key else None,
                status,
                reason,
                run_id,
                str(queued_as) if queued_as else None,
                encode_signature(signature) if signature is not None else None,
                utc_naive(now),
                manifest,
                set_aside_by,
                content_hashes or None,
                set_aside_by is not None,
            ],
        )
        self._audit(drop_id, status, reason, run_id)
        return drop_id

    def set_aside(
        self,
        drop_id: int,
        reason: str,
        now: datetime,
        signature: Signature | None = None,
        content_hashes: list[str] | None = None,
    ) -> None:
        """A person (this history's actor) set the drop aside: skipped, with their reason, and
        never planned unless its files change (`signature`: its files as they are now, when
        known; `content_hashes`: their content, when read), audited as `drop.skipped` by that
        person."""
        self.db.execute(
            "UPDATE drops SET status = 'skipped', reason = ?, set_aside_by = ?, decided_at = ?, "
            "signature = coalesce(?, signature), content_hashes = ?, "
            "set_aside_after_run = (SELECT max(run_id) FROM runs), "
            "change_signature = NULL, change_note = NULL WHERE drop_id = ?",
            [
                reason, self.actor, utc_naive(now),
                encode_signature(signature) if signature is not None else None,
                content_hashes or None, drop_id,
            ],
        )  # fmt: skip
        self._audit(drop_id, "skipped", reason, None)

    def remember_content(self, drop_id: int, content_hashes: list[str], queued_as: Path) -> None:
        """What a drop set aside holds, read from its queued copy (`queued_as`), and, for an
        inbox drop, where that copy is and the name it was queued as (the inbox root's loose
        files get one of the daemon's): set aside before its files were moved, or without the
        daemon."""
        self.db.execute(
            """UPDATE drops SET
                   content_hashes = list_distinct(list_concat(coalesce(content_hashes, []), ?)),
                   queued_as = CASE WHEN source = ? THEN ? ELSE queued_as END,
                   name = CASE WHEN source = ? THEN ? ELSE name END
               WHERE drop_id = ?""",
            [content_hashes, INBOX, str(queued_as), INBOX, queued_as.name, drop_id],
        )

    def set_aside_with(self, content_hashes: list[str]) -> DropRow | None:
        """The newest drop a person set aside whose content was one of these, unless a person
        planned that content since (`roster-sync run` on its archived copy: a later decision,
        and then, as for any content planned before, A B A goes back to A)."""
        rows = self._rows(
            """set_aside_by IS NOT NULL AND list_has_any(content_hashes, ?::VARCHAR[])
               AND NOT EXISTS (
                   SELECT 1 FROM runs r
                   WHERE list_contains(?::VARCHAR[], r.content_hash)
                     AND r.status NOT IN ('failed', 'rejected')
                     AND r.run_id > coalesce(drops.set_aside_after_run, 0))
               ORDER BY drop_id DESC LIMIT 1""",
            [content_hashes, content_hashes],
        )
        return rows[0] if rows else None

    def knows_raw_content(self) -> bool:
        """Whether a drop set aside is known only by its bytes (its files could not be opened
        as a drop): then each queued drop's bytes are hashed too."""
        return bool(
            self.db.one(
                "SELECT EXISTS (FROM drops WHERE set_aside_by IS NOT NULL "
                "AND len(list_filter(content_hashes, lambda h: starts_with(h, 'raw:'))) > 0)"
            )
        )

    def adopt_signature(self, drop_id: int, files: Signature) -> None:
        """The files of a drop set aside while none of them were known (a folder never listed),
        as a mirror first lists them: a later change of them is a new upload."""
        self.db.execute(
            "UPDATE drops SET signature = ? WHERE drop_id = ? AND signature IS NULL",
            [encode_signature(files), drop_id],
        )

    def update(
        self,
        drop_id: int,
        status: str,
        reason: str | None,
        now: datetime,
        run_id: int | None = None,
        *,
        audited: bool = True,
    ) -> None:
        self.db.execute(
            "UPDATE drops SET status = ?, reason = ?, run_id = coalesce(?, run_id), "
            "decided_at = ? WHERE drop_id = ?",
            [status, reason, run_id, utc_naive(now), drop_id],
        )
        if audited:
            self._audit(drop_id, status, reason, run_id)

    def _audit(self, drop_id: int, status: str, reason: str | None, run_id: int | None) -> None:
        row = self.db.dicts(
            "SELECT source, name, first_seen_at, complete_at, export_at, ordered_by, set_aside_by "
            "FROM drops WHERE drop_id = ?",
            [drop_id],
        )[0]
        if row["set_aside_by"] is None:  # only a person's decision names them
            del row["set_aside_by"]
        for column, value in row.items():  # instants, said as such
            if isinstance(value, datetime):
                row[column] = from_history(value).isoformat()
        details = {**row, "reason": reason, "run_id": run_id}
        audit(self.db, self.actor, f"drop.{status}", target_kind="drop", target_id=drop_id,
              details=details)  # fmt: skip

    def join_manifest(
        self, drop_id: int, reason: str, now: datetime, signature: Signature | None = None
    ) -> None:
        """The manifest.csv of a queued drop came after it was taken and joined it: the drop is
        planned with it (and, from SFTP, its files now include it)."""
        self.db.execute(
            "UPDATE drops SET manifest = ?, reason = ?, signature = coalesce(?, signature) "
            "WHERE drop_id = ?",
            [
                MANIFEST_CARRIED, reason,
                encode_signature(signature) if signature is not None else None, drop_id,
            ],
        )  # fmt: skip
        row = self.get(drop_id)
        audit(self.db, self.actor, "drop.manifest_joined", target_kind="drop", target_id=drop_id,
              details={"source": row.source, "name": row.name, "at": utc_naive(now).isoformat(),
                       "reason": reason})  # fmt: skip

    def mark_first_mirror(self, source: str, now: datetime) -> None:
        self.db.execute(
            "INSERT INTO drop_sources VALUES (?, ?) ON CONFLICT (source) DO UPDATE "
            "SET first_mirror_at = excluded.first_mirror_at",
            [source, utc_naive(now)],
        )

    # ------------------------------------------------------------------ unlisted SFTP folders
    def unlisted_since(self) -> dict[str, datetime]:
        """The SFTP folders drops wait on because the mirror cannot list them, and since when
        (aware, UTC): kept across a restart, so a folder unreadable for good is told about."""
        rows = self.db.rows(
            "SELECT folder, since FROM sftp_unlisted_folders WHERE listed_at IS NULL"
        )
        return {str(folder): from_history(since) for folder, since in rows}

    def record_unlisted(
        self, waits: dict[str, tuple[str, ...]], since: dict[str, datetime], now: datetime
    ) -> None:
        """`waits`: each unlisted folder drops wait on -> those drops (from `since[folder]`).
        A folder no drop waits on any more is marked listed (told once, then removed:
        notify/events.py); a folder unlisted again starts a new wait."""
        open_rows = self.unlisted_since()
        for folder in open_rows.keys() - waits.keys():
            self.db.execute(
                "UPDATE sftp_unlisted_folders SET listed_at = ? "
                "WHERE folder = ? AND listed_at IS NULL",
                [utc_naive(now), folder],
            )
        for folder, drops in waits.items():
            if folder in open_rows:
                self.db.execute(
                    "UPDATE sftp_unlisted_folders SET waiting = ? "
                    "WHERE folder = ? AND listed_at IS NULL",
                    [", ".join(drops), folder],
                )
                continue
            self.db.execute("DELETE FROM sftp_unlisted_folders WHERE folder = ?", [folder])
            self.db.execute(
                "INSERT INTO sftp_unlisted_folders VALUES (?, ?, ?, NULL)",
                [folder, utc_naive(since.get(folder, now)), ", ".join(drops)],
            )

    def report_change(self, row: DropRow, now_files: Signature, now: datetime) -> str | None:
        """Note (once per new state of its files) that a drop taken before changed on the server;
        returns the note when it is news, None when it was reported already or nothing changed."""
        text = encode_signature(now_files)
        if text == (row.signature or encode_signature({})) or text == row.change_signature:
            return None
        note = describe_change(decode_signature(row.signature), now_files)
        self.db.execute(
            "UPDATE drops SET changed_at = ?, change_note = ?, change_signature = ? "
            "WHERE drop_id = ?",
            [utc_naive(now), note, text, row.drop_id],
        )
        audit(self.db, self.actor, "drop.changed", target_kind="drop", target_id=row.drop_id,
              details={"source": row.source, "name": row.name, "change": note})  # fmt: skip
        row.change_signature = text
        return note

    def supersede_older_runs(self, source: str, run_id: int, name: str, now: datetime) -> list[int]:
        """A drop of `source` was just planned as `run_id`: every other open run of that source's
        drops is superseded (with the reason), and those drops say so."""
        reason = f"a newer drop from {source} was planned: {name} (run {run_id})"
        rows = self._rows(
            "source = ? AND status = 'planned' AND run_id IS NOT NULL AND run_id <> ?",
            [source, run_id],
        )
        open_runs = [r.run_id for r in rows if r.run_id is not None]
        done = supersede_runs(self.db, open_runs, actor=self.actor, reason=reason)
        for row in rows:
            status = self.db.one("SELECT status FROM runs WHERE run_id = ?", [row.run_id])
            if status == "superseded":
                self.update(row.drop_id, "superseded", reason, now, audited=row.run_id in done)
        return done

    def recover(
        self,
        run_status: Iterable[tuple[str, int, str]],
        now: datetime,
        exists: Callable[[str], bool],
    ) -> list[str]:
        """At start, after a crash or kill: a drop left `planning` was interrupted. If its run got
        planned, it is that run's; otherwise it FAILED and is not planned again by itself (a drop
        that kills the daemon would otherwise do so after every restart). A queued drop whose
        files are gone from the queue failed too.

        `run_status`: (source path, run id, status) of the runs made from queued drops."""
        by_source: dict[str, list[tuple[int, str]]] = {}
        for source, run_id, status in run_status:
            by_source.setdefault(source, []).append((run_id, status))
        notes = []
        for row in self._rows("status = 'planning'", []):
            runs = sorted(by_source.get(row.queued_as or "", []))
            done = [(r, s) for r, s in runs if s != "failed"]
            if done:
                self.update(row.drop_id, "planned", None, now, done[-1][0])
                continue
            last_run = runs[-1][0] if runs else None
            hint = (
                f"`roster-sync replan {last_run}` once the cause is fixed"
                if last_run is not None
                else "`roster-sync run` on its archived folder"
            )
            reason = (
                "planning it was interrupted (the daemon stopped, crashed or was killed while "
                f"planning it); not planned again by itself: deliver a new drop, or {hint}"
            )
            self.update(row.drop_id, "failed", reason, now, last_run)
            notes.append(f"{row.name}: {reason}")
        return notes + self.gone_from_queue(now, exists)

    def gone_from_queue(self, now: datetime, exists: Callable[[str], bool]) -> list[str]:
        """Queued drops whose files were removed from the queue (by hand, or by a cleanup of
        the inbox): failed, saying so, not left `queued` for ever in the status."""
        notes = []
        for row in self._rows("status = 'queued'", []):
            if row.queued_as and not exists(row.queued_as):
                reason = (
                    "its files disappeared from the queue before it was planned; nothing was "
                    "planned from it: deliver it again"
                )
                self.update(row.drop_id, "failed", reason, now)
                notes.append(f"{row.name}: {reason}")
        return notes

    # ------------------------------------------------------------------ status
    def recent(self, limit: int = RECENT) -> tuple[list[DropInfo], int]:
        """The latest decisions, newest first, and how many drops the first mirror only saw."""
        rows = self.db.dicts(
            """SELECT drop_id, source, name, status, reason, run_id, first_seen_at, complete_at,
                      export_at, ordered_by, decided_at, change_note
               FROM drops ORDER BY drop_id DESC LIMIT ?""",
            [limit],
        )
        seen = int(self.db.one("SELECT count(*) FROM drops WHERE status = 'seen'"))
        for row in rows:  # instants, aware: shown in the server's zone with their offset
            for column, value in row.items():
                if isinstance(value, datetime):
                    row[column] = from_history(value)
        return [DropInfo(**row) for row in rows], seen
