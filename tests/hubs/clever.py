"""Clever's Data API v3.0 as a district app sees it: a bearer token, `{"data": [{"data": {...},
"uri": ...}], "links": [...]}` pages that go on through the `next` link (`starting_after`)."""

from __future__ import annotations

from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlencode

from tests.hubs.server import Hub, json_body

TOKEN = "clever-district-token-never-logged"
BASE = "/v3.0"


class CleverHub(Hub):
    def __init__(self, data: dict[str, list[dict[str, Any]]]) -> None:
        super().__init__()
        self.data = data  # districts, schools, terms, courses, sections, users
        self.refused = 0

    @property
    def base_url(self) -> str:
        return self.url + BASE

    def answer(
        self,
        handler: BaseHTTPRequestHandler,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
    ) -> tuple[int, dict[str, str], bytes]:
        if handler.headers.get("Authorization") != f"Bearer {TOKEN}":
            self.refused += 1
            return 401, {}, json_body({"message": "Unauthorized"})
        name = path.removeprefix(BASE + "/")
        if method != "GET" or name not in self.data:
            return 404, {}, json_body({"message": "not found"})
        records = self.data[name]
        if name == "users" and "role" in query:
            role = query["role"][0]
            records = [r for r in records if role in r["roles"]]
        limit = int(query.get("limit", ["100"])[0])
        after = query.get("starting_after", [None])[0]
        start = 0
        if after is not None:
            start = next(i for i, r in enumerate(records) if r["id"] == after) + 1
        page = records[start : start + limit]
        params = {k: v[0] for k, v in query.items() if k not in ("starting_after", "limit")}
        links = [{"rel": "self", "uri": f"{path}?{urlencode({**params, 'limit': limit})}"}]
        if start + limit < len(records):
            nxt = {**params, "limit": limit, "starting_after": page[-1]["id"]}
            links.append({"rel": "next", "uri": f"{path}?{urlencode(nxt)}"})
        return (
            200,
            {},
            json_body(
                {
                    "data": [{"data": r, "uri": f"{BASE}/{name}/{r['id']}"} for r in page],
                    "links": links,
                }
            ),
        )
