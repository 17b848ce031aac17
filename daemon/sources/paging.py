"""Reading a collection page by page, and refusing anything that would make the pull partial.

OneRoster REST pages with `limit`/`offset`; servers may add a `Link: <...>; rel="next"` header and
`X-Total-Count`. The `next` link is followed when given (never off the API's host), else the
offset moves on by what the page held. A pull is complete only when the server says so: the next
link is gone, the total has come (exactly that many records), or, when the server says neither,
a page comes back empty. A sourcedId that comes twice fails the pull: the collection moved while
it was paged, so a record may have slipped past.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from daemon.sources.errors import SourceError
from daemon.sources.http import Fetcher, where
from daemon.sources.values import cell

MAX_PAGES = 1_000_000


class Absent(Exception):
    """An optional collection the server does not offer (404 on its first page)."""


@dataclass
class Page:
    number: int
    body: bytes
    records: list[dict[str, Any]]
    total: int | None


def page_json(body: bytes, url: str) -> Any:
    """A page's JSON (OneRoster's or Clever's); a page that cannot be read fails the pull."""
    try:
        return json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        problem = f"is not valid JSON ({exc})"
    except RecursionError:
        problem = "is nested too deeply to read (no API's page is)"
    raise SourceError(
        f"{where(url)}: a page {problem}; the pull is incomplete, so nothing was planned"
    )


def parse_body(body: bytes, key: str, url: str) -> dict[str, Any]:
    data = page_json(body, url)
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise SourceError(
            f"{where(url)}: a page has no '{key}' list; the pull is incomplete, so nothing was "
            "planned"
        )
    if not all(isinstance(r, dict) for r in data[key]):
        raise SourceError(f"{where(url)}: a page's '{key}' holds something other than records")
    return data


def total_count(headers: Any, url: str) -> int | None:
    value = headers.get("X-Total-Count")
    if value is None:
        return None
    try:
        total = int(value.strip())
    except ValueError:
        raise SourceError(f"{where(url)}: X-Total-Count is not a number ({value!r})") from None
    if total < 0:
        raise SourceError(f"{where(url)}: X-Total-Count is negative ({total})")
    return total


class Repeats:
    """The ids a collection has sent so far: one sent twice means the collection moved under the
    pull (or the server ignores `offset`), so some other record was skipped. Kept as short
    digests, one per record."""

    def __init__(self, key: str, id_field: str) -> None:
        self.key, self.id_field = key, id_field
        self.seen: set[bytes] = set()

    def check(self, records: list[dict[str, Any]], url: str) -> None:
        for record in records:
            value = cell(record.get(self.id_field))  # as written: a number's repeat counts
            if not value:
                continue  # a record without an id is that record's error, later
            digest = hashlib.blake2b(value.encode(), digest_size=12).digest()
            if digest in self.seen:
                raise SourceError(
                    f"{where(url)}: {self.id_field} {value!r} came twice (the {self.key} moved "
                    "while they were read, or the server ignores the paging), so others may be "
                    "missing; nothing was planned, pull again"
                )
            self.seen.add(digest)


def offset_pages(
    fetcher: Fetcher, base: str, collection: str, key: str, limit: int, *, optional: bool
) -> Iterator[Page]:
    """Every page of a OneRoster collection, in order. Raises Absent for a missing optional one.

    Without a next link and without X-Total-Count, a short page does not prove the end (a server
    may cap `limit` below what was asked without saying so): the offset moves on until a page
    comes back empty."""
    first = f"{base}/{collection}?{urlencode({'limit': limit, 'offset': 0})}"
    url: str | None = first
    offset = 0
    seen = 0
    total: int | None = None
    visited: set[str] = set()
    repeats = Repeats(key, "sourcedId")
    number = 0
    linked = False
    while url is not None:
        number += 1
        if number > MAX_PAGES or url in visited:
            raise SourceError(f"{where(url)}: the pages lead back to one already read; stopped")
        visited.add(url)
        response = fetcher.get(url, allow_404=optional and number == 1)
        if response.status_code == 404:
            raise Absent(collection)
        records = parse_body(response.content, key, url)[key]
        repeats.check(records, url)
        page_total = total_count(response.headers, url)
        if page_total is not None:
            if total is not None and page_total != total:
                raise SourceError(
                    f"{where(url)}: X-Total-Count changed from {total} to {page_total} during the "
                    "pull (the data changed while it was read); nothing was planned, pull again"
                )
            total = page_total
        seen += len(records)
        yield Page(number, response.content, records, total)
        offset += len(records)
        nxt = response.links.get("next", {}).get("url")
        if nxt:
            url, linked = fetcher.follow(url, nxt), True
            continue
        if linked:
            break  # a server that links its pages says where they end: here
        # only an empty page ends a collection whose server says neither link nor total
        more = seen < total if total is not None else bool(records)
        if more and not records:
            break  # an empty page before the total: reported below
        url = (
            f"{base}/{collection}?{urlencode({'limit': limit, 'offset': offset})}" if more else None
        )
    if total is not None and seen != total:
        raise SourceError(
            f"{where(first)}: the server said {total:,} records (X-Total-Count) but sent {seen:,}; "
            "a partial pull is never planned (it would archive the rest)"
        )
