"""A next link is read from where the pull is, never where it says, and never off the collection.

Offset paging is checkable only when the pull knows which offset comes next: the records read so
far. A `Link: rel="next"` whose offset skips ahead would leave the records in between unread (and
the plan would archive them); one that goes back would read some twice. So the next page is asked
from the records read so far (one earlier, for the overlap), whatever offset the link says, with
the rest of its query as sent; a link that leads to another collection, or whose offset is not one
number, fails the pull. A link without an offset (a server's own cursor) cannot be checked: the
count read is held to X-Total-Count when the server gives one.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from daemon.service.engine import Engine
from tests.district import TinyDistrict
from tests.hubs.district import oneroster_rest
from tests.hubs.oneroster import OneRosterHub
from tests.sources.test_oneroster_rest import pull_rest
from tests.sources.test_pull_moving import OpaqueLinks

Rewrite = Callable[[str, int, int], str]  # (base URL of the collection, offset, limit) -> query


class OddLinks(OneRosterHub):
    """Pages users as the hub does, but writes each next link of users with `rewrite`: given
    where the link should lead (offset and limit), the link's query."""

    def __init__(self, data, rewrite: Rewrite, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(data, **kwargs)
        self.rewrite = rewrite

    def _page(self, name: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = super()._page(name, query)
        if name == "users" and "Link" in headers:
            limit = min(int(query["limit"][0]), 1000)
            offset = int(query["offset"][0]) + limit
            link = self.rewrite(f"{self.base_url}/users", offset, limit)
            headers["Link"] = f'<{link}>; rel="next"'
        return status, headers, body


def pull_with_links(
    puller: Engine, district: TinyDistrict, secret_file: Path, rewrite: Rewrite, **hub: bool
):  # type: ignore[no-untyped-def]
    server = OddLinks(oneroster_rest(district), rewrite, **hub)
    return server, pull_rest(puller, server, secret_file, page_size=4)


def users_asked(hub: OneRosterHub) -> list[str]:
    return [p.partition("?")[2] for p in hub.api_requests("/users")]


@pytest.mark.parametrize("total", [True, False], ids=["total", "no total"])
def test_a_next_link_that_skips_records_is_read_from_where_the_pull_is(
    puller: Engine, district: TinyDistrict, secret_file: Path, total: bool,
    caplog: pytest.LogCaptureFixture,
) -> None:  # fmt: skip
    # each link skips the 8 records after the page (offset 4 -> 12, 7 -> 15, ...)
    with caplog.at_level(logging.WARNING):
        hub, run = pull_with_links(
            puller, district, secret_file, lambda url, o, n: f"{url}?limit={n}&offset={o + 8}",
            total=total,
        )  # fmt: skip
    assert run.status == "planned", run.error
    assert run.fetch["resources"]["users"]["records"] == 22
    assert "reread" not in run.fetch["resources"]["users"]
    assert users_asked(hub)[:3] == ["limit=4&offset=0", "limit=4&offset=3", "limit=4&offset=6"]
    assert "the next link asks from offset 12, but 4 users were read" in caplog.text
    assert "(the link would skip records)" in caplog.text


def test_a_next_link_that_goes_back_is_read_from_where_the_pull_is(
    puller: Engine, district: TinyDistrict, secret_file: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING):
        _, run = pull_with_links(
            puller, district, secret_file, lambda url, o, n: f"{url}?limit={n}&offset=0"
        )
    assert run.status == "planned", run.error
    assert run.fetch["resources"]["users"]["records"] == 22
    assert "(the link would read records again)" in caplog.text


def test_a_next_link_that_changes_the_limit_keeps_its_limit_and_loses_nothing(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    hub, run = pull_with_links(
        puller, district, secret_file, lambda url, o, n: f"{url}?offset={o}&limit=3"
    )
    assert run.status == "planned", run.error
    assert run.fetch["resources"]["users"]["records"] == 22
    assert users_asked(hub)[1] == "offset=3&limit=3"


@pytest.mark.parametrize(
    "query",
    ["limit={n}&offset={o}&offset={o}", "limit={n}&offset=", "limit={n}&offset=-{o}",
     "limit={n}&offset=1e3"],
    ids=["twice", "empty", "negative", "not digits"],
)  # fmt: skip
def test_a_next_link_whose_offset_is_not_one_number_fails_the_pull(
    puller: Engine, district: TinyDistrict, secret_file: Path, query: str
) -> None:
    hub, run = pull_with_links(
        puller, district, secret_file,
        lambda url, o, n: f"{url}?{query.format(o=o + 8, n=n)}", total=False,
    )  # fmt: skip
    assert run.status == "failed"
    assert run.error.startswith("users: ") and "the next link's offset is" in run.error, run.error
    assert "not one number" in run.error and "nothing was planned" in run.error
    assert len(hub.api_requests("/users")) == 1


def test_a_next_link_whose_offset_name_is_percent_encoded_is_still_read_from_where_the_pull_is(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    hub, run = pull_with_links(
        puller, district, secret_file, lambda url, o, n: f"{url}?limit={n}&%6Fffset={o + 8}",
        total=False,
    )  # fmt: skip
    assert run.status == "planned", run.error
    assert run.fetch["resources"]["users"]["records"] == 22
    assert users_asked(hub)[1] == "limit=4&offset=3"


def test_a_next_link_to_another_collection_fails_the_pull(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    hub, run = pull_with_links(
        puller, district, secret_file,
        lambda url, o, n: f"{url.removesuffix('/users')}/classes?limit={n}&offset={o}",
    )  # fmt: skip
    assert run.status == "failed"
    assert run.error.startswith("users: ") and "the next link points to " in run.error, run.error
    assert "/classes, not to the users" in run.error
    assert not hub.api_requests("/classes")


class CursorLinks(OpaqueLinks):
    """Next links carry a cursor (`page`), and the cursor skips a page of users: the total still
    says 22."""

    def _page(self, name: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        if name == "users" and query.get("page") == ["1"]:
            query = {**query, "page": ["2"]}
        return super()._page(name, query)


def test_cursor_links_that_read_fewer_records_than_the_total_fail_the_pull(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    run = pull_rest(puller, CursorLinks(oneroster_rest(district)), secret_file, page_size=4)
    assert run.status == "failed"
    assert run.error.startswith("users: ") and "the server said 22 records" in run.error, run.error
    assert "sent 18" in run.error


class LaterLinks(OneRosterHub):
    """Each next link of users after the first page is written by `write` (given the link as the
    hub writes it, `<...>; rel="next"`): None leaves it out."""

    def __init__(self, data, write: Callable[[str], str | None], **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(data, **kwargs)
        self.write = write

    def _page(self, name: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = super()._page(name, query)
        if name == "users" and query["offset"] != ["0"] and "Link" in headers:
            link = self.write(headers.pop("Link"))
            if link is not None:
                headers["Link"] = link
        return status, headers, body


@pytest.mark.parametrize(
    "write",
    [lambda link: None, lambda link: link.replace('rel="next"', 'rel="next prev"'),
     lambda link: link.replace('rel="next"', "REL=Next"),
     lambda link: f'<{link[1:].partition(">")[0]}>; rel="prev", {link}; title="a, <b>; c"'],
    ids=["left out", "a list of rels", "in other case", "beside another link"],
)  # fmt: skip
def test_a_next_link_left_out_or_written_oddly_mid_collection_never_ends_it_short(
    puller: Engine, district: TinyDistrict, secret_file: Path, write: Callable[[str], str | None]
) -> None:
    hub = LaterLinks(oneroster_rest(district), write, total=False)
    run = pull_rest(puller, hub, secret_file, page_size=4)
    assert run.status == "planned", run.error
    assert run.fetch["resources"]["users"]["records"] == 22


def test_a_next_link_with_path_parameters_is_followed(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    hub = LaterLinks(
        oneroster_rest(district), lambda link: link.replace("/users?", "/users;jsessionid=ab1?"),
        total=False,
    )  # fmt: skip
    run = pull_rest(puller, hub, secret_file, page_size=4)
    assert run.status == "planned", run.error
    assert run.fetch["resources"]["users"]["records"] == 22
    assert hub.api_requests("/users;jsessionid=ab1")


def test_two_different_next_links_fail_the_pull(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    hub = LaterLinks(
        oneroster_rest(district),
        lambda link: f'{link}, {link.replace("offset=", "offset=1")}',
    )  # fmt: skip
    run = pull_rest(puller, hub, secret_file, page_size=4)
    assert run.status == "failed"
    assert run.error.startswith("users: ") and "links 2 different next pages" in run.error


class EmptyFirstPage(OneRosterHub):
    """The first page of users is empty, yet links on from offset 4."""

    def _page(self, name: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = super()._page(name, query)
        if name == "users" and query["offset"] == ["0"]:
            body = json.dumps({"users": []}).encode()
        return status, headers, body


def test_an_empty_first_page_that_links_past_records_fails_the_pull(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    hub = EmptyFirstPage(oneroster_rest(district), total=False)
    run = pull_rest(puller, hub, secret_file, page_size=4)
    assert run.status == "failed"
    assert run.error.startswith("users: "), run.error
    assert "the first page held no users yet links on from offset 4, so the records" in run.error


def test_a_next_link_that_asks_one_record_a_page_is_asked_two_at_a_time(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    hub, run = pull_with_links(
        puller, district, secret_file, lambda url, o, n: f"{url}?limit=1&offset={o}", total=False
    )
    assert run.status == "planned", run.error
    assert run.fetch["resources"]["users"]["records"] == 22
    assert users_asked(hub)[1] == "limit=2&offset=3"
