"""A collection read through a server's own cursors, without X-Total-Count, is not taken as
whole just because its next links stop.

A next link without an offset cannot be checked as offset links are, and without a total
nothing says how many records there are: a link left out on a middle page, or a page that comes
back empty too soon, would end the users short, and the plan would archive everyone after them
(up to the deletion threshold, which a few missing pages never reach). OneRoster servers must
page by `offset` too, so the page at the offset of the records read is asked: a record there
that was never read fails the pull; one that cannot say (an error, or records already read) is
an unconfirmed end, and the run's notes say so.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from daemon.service.engine import Engine
from tests.district import TinyDistrict
from tests.hubs.clever import CleverHub
from tests.hubs.district import clever_api, clever_compatible, oneroster_rest
from tests.hubs.oneroster import OneRosterHub
from tests.sources.test_oneroster_rest import pull_rest
from tests.sources.test_pull_paging import _clever_pull, _students


class CursorLinks(OneRosterHub):
    """Next links carry a cursor of the server's own (`page`), and no X-Total-Count is sent;
    a page asked by `offset` (as every OneRoster server must answer) is that offset's."""

    def __init__(self, data) -> None:  # type: ignore[no-untyped-def]
        super().__init__(data, total=False)

    def _page(self, name: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        limit = int(query["limit"][0])
        if "page" in query:
            offset = int(query["page"][0]) * limit
        else:
            offset = int(query.get("offset", ["0"])[0])
        status, headers, body = super()._page(
            name, {"limit": [str(limit)], "offset": [str(offset)]}
        )
        if "Link" in headers:
            after = (offset + limit) // limit
            headers["Link"] = f'<{self.base_url}/{name}?limit={limit}&page={after}>; rel="next"'
        return status, headers, body


class CursorsEndEarly(CursorLinks):
    """Cursor links, no total; page 2 of users (`page=2`) ends the users: without its next link
    (`how` = 'no link') or empty (`how` = 'empty'). Asked by offset, every user is there."""

    def __init__(self, data, how: str) -> None:  # type: ignore[no-untyped-def]
        super().__init__(data)
        self.how = how

    def _page(self, name: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        if name == "users" and query.get("page") == ["2"]:
            if self.how == "empty":
                return 200, {}, json.dumps({"users": []}).encode()
            status, headers, body = super()._page(name, query)
            headers.pop("Link", None)
            return status, headers, body
        return super()._page(name, query)


@pytest.mark.parametrize("how", ["no link", "empty"])
def test_cursor_links_that_end_early_fail_the_pull_naming_a_user_never_read(
    puller: Engine, district: TinyDistrict, secret_file: Path, how: str
) -> None:
    data = oneroster_rest(district)
    run = pull_rest(puller, CursorsEndEarly(data, how), secret_file, page_size=4)
    assert run.status == "failed"
    read = 12 if how == "no link" else 8
    first_unread = data["users"][read]["sourcedId"]
    assert run.error.startswith(
        f"users: {puller_where(run)}: the server's next links ended after {read} users, but "
        f"offset {read} still holds users never read ('{first_unread}', "
    ), run.error
    assert run.total_changes() == 0


def puller_where(run) -> str:  # type: ignore[no-untyped-def]
    return run.error.split(": ")[1]


def test_cursor_links_that_reach_the_end_are_confirmed_by_one_more_request(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    hub = CursorLinks(oneroster_rest(district))
    run = pull_rest(puller, hub, secret_file, page_size=4)
    assert run.status == "planned", run.error
    assert run.fetch["resources"]["users"]["records"] == 22
    assert hub.api_requests("/users")[-1].endswith("?limit=4&offset=22")
    assert len(hub.api_requests("/users")) == 7  # six pages, and the page after them: empty
    assert not [n for n in run.notes if "could not be checked" in n["message"]]


class CursorsIgnoreOffset(CursorLinks):
    """Cursor links, no total, and the users' `offset` ignored: a page without a cursor is the
    first."""

    def _page(self, name: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        if name == "users":
            query = {k: v for k, v in query.items() if k != "offset"}
        return super()._page(name, query)


def test_an_end_the_server_cannot_confirm_is_planned_and_the_run_says_so(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    hub = CursorsIgnoreOffset(oneroster_rest(district))
    run = pull_rest(puller, hub, secret_file, page_size=4)
    assert run.status == "planned", run.error
    [note] = [n["message"] for n in run.notes if "next links" in n["message"]]
    assert "the users were read through the server's own next links, which end after 22" in note
    assert "held only records already read (the server may ignore offset)" in note
    assert note.endswith("the deletion threshold is then the only guard)")


def test_a_clever_page_that_comes_back_empty_too_soon_behind_its_own_cursor_is_not_the_end(
    puller: Engine, district: TinyDistrict, tmp_path: Path
) -> None:
    # the first page of students links on with a cursor of the server's own (no starting_after),
    # and that page comes back empty, linking nowhere: the page after the last student read is
    # asked all the same, and holds the rest
    data = clever_api(clever_compatible(district))

    class EmptyBehindItsCursor(CleverHub):
        def answer(self, handler, method, path, query, body):  # type: ignore[no-untyped-def]
            if "cursor" in query:
                return 200, {}, json.dumps({"data": [], "links": []}).encode()
            status, headers, payload = super().answer(handler, method, path, query, body)
            if query.get("role") == ["student"] and "starting_after" not in query:
                doc = json.loads(payload)
                for link in doc["links"]:
                    if link["rel"] == "next":
                        link["uri"] = link["uri"].replace("starting_after=", "cursor=")
                payload = json.dumps(doc).encode()
            return status, headers, payload

    run = _clever_pull(puller, EmptyBehindItsCursor(data), tmp_path)
    assert run.status == "planned", run.error
    assert run.fetch["resources"]["users (student)"]["records"] == len(_students(data))
