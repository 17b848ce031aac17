"""Reading a collection page by page, and refusing anything that would make the pull partial.

OneRoster REST pages with `limit`/`offset`; servers may add a `Link: <...>; rel="next"` header and
`X-Total-Count`. The `next` link is followed when given (never off the API's host), else the
offset moves on by what the page added. A pull is complete only when the server says so: the next
link is gone, the total has come (exactly that many records), or, when the server says neither,
a page adds no record.

Offset paging loses a record when one before the offset is removed mid-pull (every later record
moves back a place, and the one at the page boundary is never sent). So pages overlap: each page
after the first is asked from one record earlier and must begin with the record that ended the
page before. When it does not, or X-Total-Count changes, the collection moved: it is read again
from its start. A next link's `offset` is not trusted: one that skips ahead would leave records
unread (and the plan would archive them), so the page is asked from the records read so far (one
earlier), the link's query otherwise as sent; a link to another collection, or whose offset is
not one number, fails the pull. A next link without an `offset` (an opaque cursor) is followed
as it is: X-Total-Count (the count read must match) and the twice-check catch a skip there, and
without a total, the page at the offset of the records read must hold none never read (a link
left out on a middle page would end the collection short). A sourcedId that comes twice fails
the pull: the server ignores the paging, so a record may have slipped past. What the pull did
other than a link said is a run note (Notes), not only a line of the log.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote_plus, unquote_plus, urlencode, urlsplit, urlunsplit

from daemon.sources.errors import SourceError, redact
from daemon.sources.http import Fetcher, where
from daemon.sources.values import Unreadable, cell

LOG = logging.getLogger("roster_sync.sources")
MAX_PAGES = 1_000_000
# Pages in a row that add no record while the server links another: a collection may hold runs
# of empty pages (a server that filters records out after paging), never this many.
MAX_EMPTY_PAGES_IN_A_ROW = 1_000
REREADS = 2  # a collection that moved under the pull is read again from its start this often


class Absent(Exception):
    """An optional collection the server does not offer (404 on its first page)."""


class Moved(Exception):
    """The collection moved under this read of it (the reason), so a record may have slipped
    past: the read cannot be used."""


@dataclass
class Page:
    number: int
    body: bytes
    records: list[dict[str, Any]]
    total: int | None
    first: int = 0  # 1: records[0] is the page before's last record (the overlap), not new
    read: int = 1  # 2, 3: the collection read again from its start, having moved under the pull

    def added(self) -> list[tuple[int, dict[str, Any]]]:
        """The records this page adds, each with its index in the page as sent (the trace's)."""
        return list(enumerate(self.records))[self.first :]


class Number(str):
    """A JSON number that is not a whole one, kept as the page wrote it: as a float,
    12345678901234567890.5 would be written 1.2345678901234567e+19 (another value)."""


class _Unreadable(ValueError):
    """JSON Python's reader takes, but that cannot be read as the page meant it."""


def _constant(name: str) -> Any:
    raise _Unreadable(f"holds {name}, which is no JSON number")


def _object(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    """A JSON object; one that gives a key twice with different values is unreadable (which one
    the server meant cannot be told: Python's reader would keep the last, silently)."""
    record = dict(pairs)
    if len(record) != len(pairs):
        for key, value in pairs:
            if type(record[key]) is not type(value) or record[key] != value:
                ident = record.get("sourcedId", record.get("id"))
                whose = f" ({ident})" if isinstance(ident, str) else ""
                raise _Unreadable(f"gives {key!r} twice with different values in one object{whose}")
    return record


def page_json(response: Any, url: str) -> Any:
    """A page's JSON (OneRoster's or Clever's); a page that cannot be read fails the pull. What
    the server said it is (Content-Type) is not trusted either way, but named when the page is not
    JSON (an HTML login or error page answered with 200)."""
    try:
        return json.loads(
            response.content,
            parse_float=Number,
            parse_constant=_constant,
            object_pairs_hook=_object,
        )
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        said = (response.headers.get("Content-Type") or "").partition(";")[0].strip()
        problem = f"is not valid JSON ({exc}{'; it says it is ' + said if said else ''})"
    except _Unreadable as exc:
        problem = str(exc)
    except ValueError:  # Python reads no whole number of more than 4,300 digits
        problem = "holds a whole number too long to read (thousands of digits)"
    except RecursionError:
        problem = "is nested too deeply to read (no API's page is)"
    raise SourceError(
        f"{where(url)}: a page {problem}; the pull is incomplete, so nothing was planned"
    )


def parse_body(response: Any, key: str, url: str) -> dict[str, Any]:
    data = page_json(response, url)
    if not isinstance(data, dict) or not isinstance(data.get(key), list):
        raise SourceError(
            f"{where(url)}: a page has no '{key}' list; the pull is incomplete, so nothing was "
            "planned"
        )
    if not all(isinstance(r, dict) for r in data[key]):
        raise SourceError(f"{where(url)}: a page's '{key}' holds something other than records")
    return data


def no_content(url: str, key: str, number: int, *, optional: bool) -> None:
    """HTTP 204 (No Content) is read as an empty page (some servers answer an empty collection
    so), and the paging's checks apply as to `{"key": []}`; but never as the first page of a
    collection the pull requires (orgs, users, classes, enrollments): read as empty, it would
    plan archiving every one of them."""
    if number == 1 and not optional:
        raise SourceError(
            f"{where(url)} answered HTTP 204 (No Content) to the first page of the {key}, "
            f"which a pull never reads as none (that would archive every one); nothing was "
            f"planned: the server must send the {key}"
        )


def failed(body: dict[str, Any], url: str, number: int) -> None:
    """A page whose statusInfoSet reports a failure (codeMajor `failure`): OneRoster 1.1
    servers report so, with HTTP 200, records they could not send, so the page may be partial
    and the plan would archive what is missing."""
    infos = body.get("statusInfoSet")
    for info in infos if isinstance(infos, list) else [infos]:
        if not isinstance(info, dict):
            continue
        fields = {str(name).lower().removeprefix("imsx_"): value for name, value in info.items()}
        if str(fields.get("codemajor") or "").strip().lower() != "failure":
            continue
        said = str(fields.get("description") or "").strip()[:300]
        minor = _code_minor(fields.get("codeminor"))
        raise SourceError(
            f"{where(url)}: page {number} reports a failure (statusInfoSet codeMajor failure"
            f"{', ' + minor if minor else ''}: {said or 'no description'}), so it may lack "
            "records; the pull is incomplete, so nothing was planned"
        )


def _code_minor(value: Any) -> str:
    """codeMinor as text: a string, or the values of the binding's
    {imsx_codeMinorField: [{imsx_codeMinorFieldName, imsx_codeMinorFieldValue}]}."""
    if isinstance(value, dict):
        value = next((v for k, v in value.items() if k.lower().endswith("codeminorfield")), [])
        items = value if isinstance(value, list) else [value]
        value = ", ".join(
            str(v)
            for item in items
            if isinstance(item, dict)
            for k, v in item.items()
            if k.lower().endswith("fieldvalue") and isinstance(v, str)
        )
    return value.strip()[:100] if isinstance(value, str) else ""


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


class PageCount:
    """The pages a collection has read: at most MAX_PAGES, and never MAX_EMPTY_PAGES_IN_A_ROW in
    a row that add no record (a server linking empty page after empty page, each link new,
    would otherwise be followed a million times)."""

    def __init__(self) -> None:
        self.pages = 0
        self.empty_in_a_row = 0

    def next_page(self, url: str) -> None:
        """Before a page is asked for."""
        self.pages += 1
        if self.pages > MAX_PAGES:
            raise SourceError(
                f"{where(url)}: more than {MAX_PAGES:,} pages, and the server links another; "
                "stopped, the pull is incomplete, so nothing was planned"
            )

    def added(self, records: int, url: str) -> None:
        """After a page that links another: how many records it added."""
        self.empty_in_a_row = 0 if records else self.empty_in_a_row + 1
        if self.empty_in_a_row >= MAX_EMPTY_PAGES_IN_A_ROW:
            raise SourceError(
                f"{where(url)}: {self.empty_in_a_row:,} pages in a row held no record and each "
                "linked another; stopped, the pull is incomplete, so nothing was planned"
            )


class Notes:
    """What a pull says to the administrator reviewing its run, beside the log (the run's
    notes): one line per thing and collection, however often it happened (a server whose every
    next link asks for the wrong offset is one note, with its count)."""

    def __init__(self) -> None:
        self.said: dict[tuple[str, str], list[Any]] = {}  # (collection, what) -> [message, n]

    def add(self, collection: str, what: str, message: str) -> None:
        said = self.said.setdefault((collection, what), [message, 0])
        said[1] += 1

    def lines(self) -> list[str]:
        return [
            f"{message}{f' ({times:,} times in all; the log has each)' if times > 1 else ''}"
            for message, times in self.said.values()
        ]


class Repeats:
    """The ids a collection has sent so far: one sent again on a later page means the collection
    moved under the pull (or the server ignores `offset`), so some other record was skipped. Kept
    as short digests, one per record.

    One listed twice within a page, alike, is not that: the page counts both (a SIS whose query
    lists a user once per school), nothing was skipped, and failing would fail every night. Both
    copies are written, and the CSV's duplicate rule reports the second as any drop's repeated
    row (an ERROR on its line; the first row is used). Copies that differ (one school each) fail
    the pull naming the fields: using the first would move the person out of the other's
    school, and pulling again cannot help until the server's data is fixed."""

    def __init__(self, key: str, id_field: str) -> None:
        self.key, self.id_field = key, id_field
        self.seen: set[bytes] = set()
        self.alike = 0  # copies listed again within their page (each counted in what was read)

    def check(self, records: list[dict[str, Any]], url: str, overlap: int = 0) -> None:
        """`records`: a page's; the first `overlap` of them were sent by the page before."""
        here: dict[bytes, dict[str, Any]] = {}
        for number, record in enumerate(records):
            try:
                value = cell(record.get(self.id_field))  # as written: a number's repeat counts
            except Unreadable:
                continue  # an id that cannot be read is that record's error, named later
            if not value:
                continue  # a record without an id is that record's error, later
            digest = hashlib.blake2b(value.encode(), digest_size=12).digest()
            if digest in here:
                self._alike(here[digest], record, value, url)
                self.alike += 1
                continue  # twice in this page, alike: the duplicate rule's (above)
            here[digest] = record
            if number < overlap:
                continue  # read already, on the page before: this page sends it again
            if digest in self.seen:
                raise SourceError(
                    f"{where(url)}: {self.id_field} {value!r} came twice (the {self.key} moved "
                    "while they were read, or the server ignores the paging), so others may be "
                    "missing; nothing was planned, pull again"
                )
            self.seen.add(digest)

    def _alike(self, first: dict[str, Any], again: dict[str, Any], value: str, url: str) -> None:
        differ = sorted(k for k in {*first, *again} if not _same(first.get(k), again.get(k)))
        if differ:
            raise SourceError(
                f"{where(url)}: the server lists {self.id_field} {value!r} twice in one page, "
                f"with different {', '.join(differ[:5])}{', ...' if len(differ) > 5 else ''}: "
                "which is right cannot be told (using one would drop what the other says), so "
                "nothing was planned; pulling again will not help until the server sends "
                "each record once (ask its vendor)"
            )

    def unread(self, records: list[dict[str, Any]]) -> list[str]:
        """The ids of `records` this read has not sent (nor could: without a readable id)."""
        found = []
        for record in records:
            try:
                value = cell(record.get(self.id_field))
            except Unreadable:
                value = ""
            digest = hashlib.blake2b(value.encode(), digest_size=12).digest()
            if not value or digest not in self.seen:
                found.append(value or "(a record without an id)")
        return found


def _same(one: Any, other: Any) -> bool:
    """Two values of a field alike as JSON, or as the cells they are written as (true, "true")."""
    if one == other and type(one) is type(other):
        return True
    try:
        return cell(one) == cell(other)
    except Unreadable:
        return False


def offset_pages(
    fetcher: Fetcher, base: str, collection: str, key: str, limit: int, *, optional: bool,
    notes: Notes | None = None,
) -> Iterator[Page]:  # fmt: skip
    """Every page of a OneRoster collection, in order. Raises Absent for a missing optional one.

    A collection that moves under the pull is read again from its start (REREADS times at most,
    after the fetcher's backoff): a page numbered 1 after others starts the collection afresh, so
    whatever the pages before it gave is to be dropped. One that keeps moving fails the pull."""
    limit = max(limit, 2)  # a page after the first holds the one before's last record, and more
    first = _url(base, collection, limit, 0)
    for read in range(1, REREADS + 2):
        try:
            yield from _read(
                fetcher, base, collection, key, limit, read, optional=optional,
                notes=notes if notes is not None else Notes(),
            )  # fmt: skip
            return
        except Moved as moved:
            if read > REREADS:
                raise SourceError(
                    f"{where(first)}: the {key} moved while they were read, read {read} times "
                    f"({moved}; a server that ignores the paging looks the same); the pull is "
                    "incomplete, so nothing was planned; pull again later"
                ) from None
            fetcher.back_off(
                read, f"{where(first)}: the {key} moved while they were read ({moved}); reading "
                "them again from the start",
            )  # fmt: skip


def _read(
    fetcher: Fetcher, base: str, collection: str, key: str, limit: int, read: int, *,
    optional: bool, notes: Notes,
) -> Iterator[Page]:  # fmt: skip
    """One read of a collection from its first page; raises Moved when it moved under the read.

    Each page after the first is asked from one record early and must begin with the record
    that ended the page before: a record removed before the offset (which moves every later one
    back a place, so one would never be sent) or added there shows as a page that does not.
    Without a next link and without X-Total-Count, a short page does not prove the end (a server
    may cap `limit` below what was asked without saying so): the pages go on until one adds no
    record."""
    first = _url(base, collection, limit, 0)
    url: str | None = first
    seen = 0
    total: int | None = None
    visited: set[str] = set()
    repeats = Repeats(key, "sourcedId")
    number = 0
    linked = False
    cursor = False  # the last next link followed had no offset
    expected: str | None = None  # what the page asked for begins with: the last record read
    last_read: str | None = None
    widest = 0
    single = False  # every page held one record: the server may send no more, so no overlap
    count = PageCount()
    while url is not None:
        number += 1
        count.next_page(url)
        if linked and url in visited:  # (a built offset may be asked again)
            raise SourceError(f"{where(url)}: the pages lead back to one already read; stopped")
        visited.add(url)
        response = fetcher.get(
            url, allow_404=optional and read == 1 and number == 1, allow_204=True
        )
        if response.status_code == 404:
            raise Absent(collection)
        records: list[dict[str, Any]] = []
        page_total = None
        if response.status_code == 204:
            no_content(url, key, number, optional=optional)
        else:
            body = parse_body(response, key, url)
            failed(body, url, number)
            records = body[key]
            page_total = total_count(response.headers, url)
        if page_total is not None:
            if total is not None and page_total != total:
                raise Moved(f"X-Total-Count went from {total} to {page_total}")
            total = page_total
        start = 0
        if expected is not None:
            if not records or _identity(records[0]) != expected:
                raise Moved(
                    f"page {number} did not begin with the record that ended page {number - 1}"
                )
            start = 1
        added = records[start:]
        repeats.check(records, url, start)
        seen += len(added)
        widest = max(widest, len(records))
        yield Page(number, response.content, records, total, start, read)
        last = _identity(records[-1]) if records else None
        last_read = last or last_read
        nxt = next_link(response, url)
        if nxt:
            count.added(len(added), url)
            url, linked = _next_page(fetcher.follow(url, nxt), first, key, seen, notes), True
            cursor = _offset(url) is None
            expected = None if cursor or not seen else last_read
            continue
        if linked and cursor:
            if total is None:  # what X-Total-Count would check, the offset after them does
                _cursors_end(fetcher, first, base, collection, key, limit, seen, repeats, notes)
            break  # a server linking its own cursors says where they end: here
        # offset links (or none) end here: checked as built offsets are, below (a next link left
        # out mid-collection, or written so httpx does not see it, would end it short)
        # Without next links, a full page after the first that reaches the total is not the end
        # until the next adds nothing: a stale or filtered X-Total-Count would otherwise end the
        # collection short at a page's end, and every record after it would be archived (the
        # total is checked below). A short page, a next link's absence, or a first page (whose
        # offset paging is not yet known to work) agrees with the total.
        confirmed = linked or number == 1 or len(records) < widest
        if total is not None and seen - repeats.alike >= total and confirmed:
            break  # (a total may count a record listed twice in a page once, or twice)
        if not added:
            if start == 0 or widest > 1:
                break  # an empty page, or one holding only the overlap: the end (or, before the
                # total, a short pull reported below)
            single = True  # one record a page: an overlapping page could never add one
        url = _url(base, collection, limit, seen if single else seen - 1)
        expected = None if single else last
    if total is not None and total not in (seen, seen - repeats.alike):
        raise SourceError(
            f"{where(first)}: the server said {total:,} records (X-Total-Count) but sent {seen:,}; "
            "a partial pull is never planned (it would archive the rest)"
        )


def _cursors_end(
    fetcher: Fetcher, first: str, base: str, collection: str, key: str, limit: int, seen: int,
    repeats: Repeats, notes: Notes,
) -> None:  # fmt: skip
    """The end of a collection read through the server's own cursors (next links without an
    offset), without X-Total-Count: where its links stop cannot be checked by the links, and a
    link left out on a middle page (or a page come back empty too soon) would end it short,
    archiving every record after. OneRoster servers must also page by `offset`, so the page at
    the offset of the records read is asked: a record there that was never read fails the pull.
    When the server cannot answer so (an error, or records already read: it ignores `offset`),
    the end is unconfirmed, and the run's notes say so."""
    url = _url(base, collection, limit, seen)
    unconfirmed = (
        f"{where(first)}: the {key} were read through the server's own next links, which end "
        f"after {seen:,} records; it sends no X-Total-Count, and "
    )
    try:
        response = fetcher.get(url, allow_204=True)
    except SourceError as exc:
        notes.add(
            key,
            "end",
            f"{unconfirmed}asked for the page after them by offset, it "
            f"answered {exc}; so that nothing is missing could not be checked (a next link "
            "left out would end them short: the deletion threshold is then the only guard)",
        )
        return
    records = [] if response.status_code == 204 else parse_body(response, key, url)[key]
    unread = repeats.unread(records)
    if unread:
        raise SourceError(
            f"{where(first)}: the server's next links ended after {seen:,} {key}, but offset "
            f"{seen:,} still holds {key} never read ({', '.join(map(repr, unread[:3]))}"
            f"{', ...' if len(unread) > 3 else ''}): a next link was left out (or a page came "
            "back empty too soon), so others may be missing; the pull is incomplete, so nothing "
            "was planned; pull again"
        )
    if records:
        notes.add(
            key,
            "end",
            f"{unconfirmed}the page after them by offset held only records "
            "already read (the server may ignore offset); so that nothing is missing could "
            "not be checked (a next link left out would end them short: the deletion "
            "threshold is then the only guard)",
        )


def _url(base: str, collection: str, limit: int, offset: int) -> str:
    return f"{base}/{collection}?{urlencode({'limit': limit, 'offset': offset})}"


def _identity(record: dict[str, Any]) -> str:
    """What the overlap compares: the sourcedId as sent, or the whole record when it has none."""
    value = record.get("sourcedId")
    return json.dumps(record if value is None or value == "" else value, sort_keys=True)


_TOKEN = r"[!#$%&'*+.^_`|~0-9A-Za-z-]+"
_QUOTED = r'"(?:[^"\\]|\\.)*"'
_PARAM = re.compile(rf"\s*;\s*({_TOKEN})\s*(?:=\s*({_QUOTED}|[^;,\s]*))?")
_LINK = re.compile(
    rf"\s*<([^>]*)>((?:\s*;\s*{_TOKEN}\s*(?:=\s*(?:{_QUOTED}|[^;,\s]*))?)*)\s*(?:,|$)"
)


def next_link(response: Any, url: str) -> str | None:
    """The target of the Link header's `next` link (RFC 8288), read here rather than by httpx,
    which misses some: a rel is a space-separated list of relation types matched without regard
    to case (`rel="next prev"`, `REL=Next`), and a target may hold ';' (`users;jsessionid=...`).
    Two different next links fail the pull: which one leads on cannot be told."""
    found: dict[str, None] = {}
    for target, params in _LINK.findall(response.headers.get("Link") or ""):
        for name, value in _PARAM.findall(params):
            if name.lower() == "rel" and "next" in _unquoted(value).lower().split():
                found[target.strip()] = None
    found.pop("", None)
    if len(found) > 1:
        raise SourceError(
            f"{where(url)}: the page links {len(found)} different next pages, so where the "
            "collection goes on cannot be told; the pull is incomplete, so nothing was planned"
        )
    return next(iter(found), None)


def _unquoted(value: str) -> str:
    if len(value) >= 2 and value[0] == value[-1] == '"':
        return re.sub(r"\\(.)", r"\1", value[1:-1])
    return value


def _offset(url: str) -> int | None:
    """The `offset` a URL asks for; None when it has none (an opaque cursor). An offset that is
    not one whole number cannot be checked, nor moved back for the overlap: it fails the pull."""
    values = params_of(url, "offset")
    if not values:
        return None
    if len(values) > 1 or not (values[0].isascii() and values[0].isdigit()):
        raise SourceError(
            f"{where(url)}: the next link's offset is {', '.join(map(repr, values))}, not one "
            "number, so which records it skips cannot be told; the pull is incomplete, so "
            "nothing was planned"
        )
    return int(values[0])


def _next_page(link: str, first: str, key: str, seen: int, notes: Notes) -> str:
    """The page a next link leads to, asked from where this read is: one record before the
    `seen`-th (the overlap), its query otherwise as sent. A link whose offset is not `seen` would
    skip records (ahead: never read, so they would be archived) or read some again (back): it is
    read from `seen` all the same, and the log says so. A link to another collection fails the
    pull. A link without an offset (an opaque cursor) is followed as it is: the twice-check,
    X-Total-Count and, without it, _cursors_end check it."""
    same_collection(link, first, key)
    offset = _offset(link)
    if offset is None:
        return link
    if not seen and offset:
        raise SourceError(
            f"{where(first)}: the first page held no {key} yet links on from offset {offset}, "
            "so the records before that offset could never be read; the pull is incomplete, "
            "so nothing was planned"
        )
    if offset != seen:
        said = (
            f"{where(first)}: the next link asks from offset {offset}, but {seen} {key} were "
            f"read, so the next page is asked from offset {max(seen - 1, 0)} instead (the link "
            f"would {'skip records' if offset > seen else 'read records again'})"
        )
        LOG.warning("%s", redact(said))
        notes.add(key, "offset", said)
    limits = params_of(link, "limit")
    if len(limits) == 1 and limits[0].isascii() and limits[0].isdigit() and int(limits[0]) < 2:
        link = with_param(link, "limit", "2")  # a page of one would hold only the overlap
    return with_param(link, "offset", str(max(seen - 1, 0)))


def same_collection(link: str, first: str, key: str) -> None:
    """A next link must lead to more of the collection being read (its path, without a trailing
    '/' or path parameters): one to another would be read as this one's records."""
    if _path(link) != _path(first):
        raise SourceError(
            f"{where(first)}: the next link points to {where(link)}, not to the {key}; the "
            "pull is incomplete, so nothing was planned"
        )


def params_of(url: str, name: str) -> list[str]:
    """The values of the query parameter `name` (decoded) in `url`."""
    return [unquote_plus(value) for key, value in _fields(url) if key == name]


def with_param(url: str, name: str, value: str) -> str:
    """`url` with its parameter `name` set to `value`, the rest of its query as sent."""
    query = [
        f"{name}={quote_plus(value)}" if key == name else part
        for part, (key, _) in zip(urlsplit(url).query.split("&"), _fields(url), strict=True)
    ]
    return urlunsplit(urlsplit(url)._replace(query="&".join(query)))


def _path(url: str) -> str:
    """A URL's path as the collection it names: without a trailing '/' or path parameters
    (`users;jsessionid=...`, as some Java servers write their links)."""
    return urlsplit(url).path.partition(";")[0].rstrip("/")


def _fields(url: str) -> list[tuple[str, str]]:
    """A URL's query as (name, value as sent), one per `&`-separated part: the name decoded as
    the server reads it (`%6Fffset` is `offset`)."""
    fields = []
    for part in urlsplit(url).query.split("&"):
        name, _, value = part.partition("=")
        fields.append((unquote_plus(name), value))
    return fields
