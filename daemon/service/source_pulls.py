"""Engine operations on API sources: list them, test one, pull one into a run.

Why in the service: the sources are the daemon's config (`[sources.NAME]`), which only the
service reads; the pull itself (daemon.sources) and the run (daemon.sync.runs) know nothing of it.
A pull is a run like any other: its folder in the archive is the drop it planned from.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from daemon.models import SourceCheck, SourceInfo
from daemon.service.drop_archive import safe_label
from daemon.sources.config import SourceConfig
from daemon.sources.pull import count_source, pull
from daemon.sync import queries, runs
from daemon.sync.runs import RunError

if TYPE_CHECKING:
    from daemon.db import Database
    from daemon.progress import Progress

LAST_PULLS = """
    SELECT source_name, run_id, status, created_at, error, fetch_json FROM runs
    WHERE source_name IS NOT NULL
    QUALIFY row_number() OVER (PARTITION BY source_name ORDER BY run_id DESC) = 1"""


def pull_folder(archive: Path, name: str, now: datetime) -> Path:
    """archive/YYYY-MM-DD/HHMMSS-pull-NAME: beside the day's drops, pruned with them."""
    day = archive / now.strftime("%Y-%m-%d")
    day.mkdir(parents=True, exist_ok=True)
    base = f"{now:%H%M%S}-pull-{safe_label(name)}"
    target, n = day / base, 1
    while target.exists() or target.is_symlink():
        n += 1
        target = day / f"{base}.{n}"
    target.mkdir(mode=0o750)
    return target


def source_named(sources: dict[str, SourceConfig], name: str) -> SourceConfig:
    config = sources.get(name)
    if config is None:
        known = ", ".join(sorted(sources)) or "none are configured"
        raise RunError(
            f"there is no source {name!r} in the daemon's config ([sources.{name}]); "
            f"configured: {known}"
        )
    return config


def records_fetched(fetch: dict[str, Any] | None) -> int | None:
    if not fetch:
        return None
    return sum(int(r.get("records", 0)) for r in (fetch.get("resources") or {}).values())


def list_sources(db: Database, sources: dict[str, SourceConfig]) -> list[SourceInfo]:
    """Each configured source with its last pull (no secrets: the config holds none)."""
    last = {row["source_name"]: row for row in db.dicts(LAST_PULLS)}
    found = []
    for name, config in sorted(sources.items()):
        row = last.get(name) or {}
        fetch = _json(row.get("fetch_json"))
        found.append(
            SourceInfo(
                name=name,
                kind=config.kind,
                label=config.display(),
                base_url=config.base_url,
                auth=config.auth or "",
                client_id=config.client_id,
                last_run_id=row.get("run_id"),
                last_status=row.get("status"),
                last_pull_at=row.get("created_at"),
                last_records=records_fetched(fetch),
                last_error=row.get("error"),
            )
        )
    return found


def test_source(name: str, config: SourceConfig) -> SourceCheck:
    """Reach the API, authenticate, count records per resource; change nothing."""
    result = count_source(config)
    return SourceCheck(
        name=name, label=config.display(), counts=result["counts"], requests=result["requests"]
    )


def pull_source(
    db: Database,
    name: str,
    config: SourceConfig,
    archive: Path | None,
    *,
    actor: str,
    progress: Progress,
) -> int:
    """Pull the source into a new folder of the archive and plan it as a run; its id."""
    if archive is None:
        raise RunError("the daemon's config names no archive folder; a pull is kept there")
    folder = pull_folder(archive, name, datetime.now())
    run_id = runs.plan_source(
        db,
        folder,
        actor=actor,
        source_kind=config.run_kind,
        progress=progress,
        fetch=lambda: pull(name, config, folder, progress),
        source_name=name,
    )
    if queries.get_run(db, run_id).status in ("planned", "held"):
        _supersede_older_pulls(db, name, run_id, actor)
    return run_id


def _supersede_older_pulls(db: Database, name: str, run_id: int, actor: str) -> None:
    """A newer pull of a source is the truth: its older open plans are superseded, so nobody
    approves one by mistake (as the daemon does for a source's older drops)."""
    older = [
        int(r[0])
        for r in db.rows(
            "SELECT run_id FROM runs WHERE source_name = ? AND run_id < ? "
            "AND status IN ('planned', 'held')",
            [name, run_id],
        )
    ]
    runs.supersede_runs(
        db, older, actor=actor, reason=f"a newer pull of {name} was planned (run {run_id})"
    )


def _json(text: str | None) -> dict[str, Any] | None:
    return json.loads(text) if text else None
