"""One pull: authenticate, fetch every collection into a drop folder, say what was fetched.

`pull` is what the engine hands to the run (daemon.sync.runs.plan_source `fetch`): it either
writes the whole district or raises SourceError, which fails the run before anything is planned.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import SecretStr

from daemon.progress import Progress
from daemon.sources.config import SourceConfig, read_secret
from daemon.sources.drop_writer import DropWriter
from daemon.sources.errors import SourceError, redact, secrets_hidden
from daemon.sources.http import Fetcher, where
from daemon.sources.oneroster_rest import OneRosterPull, collections
from daemon.sources.paging import Absent, offset_pages, parse_body, total_count

# Files a district adds next to an API source (the hubs often lack guardians).
SIDE_FILES = ("guardians.csv", "student_attributes.csv")
Sleep = Callable[[float], None]
# Collections no district lacks (name in the fetch summary, what the message calls them); the
# others (sessions, courses, classes, enrollments, demographics, staff, contacts, sections) may
# be empty: a district between terms, one that shares only some data with the application.
MUST_HAVE = {
    "oneroster-rest": (("orgs", "orgs"), ("users", "users")),
    "clever": (("districts", "district"), ("schools", "schools"), ("users (student)", "students")),
}


def pull(
    name: str,
    config: SourceConfig,
    folder: Path,
    progress: Progress | None = None,
    *,
    sleep: Sleep | None = None,
    backoff: float = 1.0,
) -> dict[str, Any]:
    """Write the source's district into `folder` as a OneRoster drop; returns the fetch summary."""
    secret = read_secret(config)
    with secrets_hidden(secret.get_secret_value()):  # every message of the pull is redacted
        return _pull(name, config, folder, progress or Progress(), secret, sleep, backoff)


def _pull(
    name: str,
    config: SourceConfig,
    folder: Path,
    progress: Progress,
    secret: SecretStr,
    sleep: Sleep | None,
    backoff: float,
) -> dict[str, Any]:
    started = time.monotonic()
    summary: dict[str, Any] = {
        "source": name,
        "kind": config.kind,
        "label": config.display(),
        "base_url": config.base_url,
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    writer = DropWriter(folder)
    try:
        with Fetcher(config, secret, sleep=sleep, backoff=backoff) as fetcher:
            try:
                if config.kind == "clever":
                    from daemon.sources.clever_api import CleverPull

                    puller: Any = CleverPull(
                        fetcher, config.base_url, config.page_size, progress,
                        config.district_sis_id,
                    )  # fmt: skip
                    version = "1.1"
                else:
                    version = config.oneroster_version
                    puller = OneRosterPull(
                        fetcher, config.base_url, version, config.page_size, progress
                    )
                puller.run(writer)
                _refuse_missing(config.kind, puller.summary()["resources"])
            except SourceError as exc:
                summary.update(puller.summary(), requests=fetcher.requests, retried=fetcher.retried)
                summary["seconds"] = round(time.monotonic() - started, 3)
                summary["error"] = str(exc)
                raise SourceError(str(exc), summary) from None
            summary.update(puller.summary(), requests=fetcher.requests, retried=fetcher.retried)
            notes = puller.notes.lines()
            if notes:
                summary["notes"] = notes
            for note in notes:
                writer.run_note(note)
            if fetcher.tokens is not None:
                summary["tokens_fetched"] = fetcher.tokens.fetched
        summary["files"] = _side_files(config, writer, summary)
        summary["oneroster_version"] = version
        writer.manifest(
            version,
            f"{config.display()} ({name})",
            puller.absent,
            summary.get("side_files", []),
            puller.derived_ids,
            puller.not_carried,
        )
        writer.publish()
    except BaseException as exc:  # a crash too: what was written is never left as a drop
        writer.failed(redact(str(exc) or type(exc).__name__))
        raise
    summary["seconds"] = round(time.monotonic() - started, 3)
    writer.summary(summary)
    return summary


def _refuse_missing(kind: str, resources: dict[str, Any]) -> None:
    """A district always has orgs and users (Clever: its district, schools and students): an
    empty one answered with a 200 is an outage (a sync job mid-run, a revoked share), and planning
    it would archive everyone. Even a new district's first pull is refused: with no one in it,
    the source is not yet sharing what it should."""
    for name, what in MUST_HAVE[kind]:
        stats = resources.get(name) or {}
        if int(stats.get("records", 0)) - int(stats.get("deleted", 0)) > 0:
            continue
        raise SourceError(
            f"{name}: the API returned no {what}; refused as an outage (a district always has "
            "some), so nothing was planned"
        )


def _side_files(config: SourceConfig, writer: DropWriter, summary: dict[str, Any]) -> list[str]:
    """guardians.csv and student_attributes.csv from the configured folder join the pull."""
    names = sorted(writer.files)
    if config.files_folder is None:
        return names
    if not config.files_folder.is_dir():
        raise SourceError(
            f"files_folder {config.files_folder} is not a folder; nothing was planned",
            summary,
        )
    added = []
    for name in SIDE_FILES:
        found = next(
            (p for p in config.files_folder.iterdir() if p.name.lower() == name and p.is_file()),
            None,
        )
        if found is not None and not found.is_symlink():
            writer.add(name, found)
            added.append(name)
    summary["side_files"] = added
    return names + added


def count_source(config: SourceConfig, *, sleep: Sleep | None = None) -> dict[str, Any]:
    """Authenticate and count the records of each collection; writes nothing anywhere."""
    secret = read_secret(config)
    counts: dict[str, int | None] = {}
    with secrets_hidden(secret.get_secret_value()), Fetcher(config, secret, sleep=sleep) as fetcher:
        if config.kind == "clever":
            from daemon.sources.clever_api import count_clever

            counts = count_clever(fetcher, config.base_url, config.page_size)
        else:
            for collection in collections(config.oneroster_version):
                counts[collection.name] = _count(
                    fetcher, config, collection.name, collection.required
                )
        result: dict[str, Any] = {"counts": counts, "requests": fetcher.requests}
        if fetcher.tokens is not None:
            result["token"] = "granted"
    return result


def _count(fetcher: Fetcher, config: SourceConfig, name: str, required: bool) -> int | None:
    """X-Total-Count of a one-record page when the server gives it; else page through."""
    url = f"{config.base_url}/{name}?limit=1&offset=0"
    response = fetcher.get(url, allow_404=not required)
    if response.status_code == 404:
        return None
    parse_body(response, name, url)
    total = total_count(response.headers, url)
    if total is not None:
        return total
    count = 0
    try:
        for page in offset_pages(
            fetcher, config.base_url, name, name, config.page_size, optional=not required
        ):
            count = len(page.added()) + (count if page.number > 1 else 0)  # 1: read afresh
    except Absent:
        return None
    return count


__all__ = ["count_source", "pull", "where"]
