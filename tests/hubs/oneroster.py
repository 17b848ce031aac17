"""A OneRoster REST (1.1 / 1.2) server as ClassLink's Roster Server and SIS APIs serve it.

Collections under `/ims/oneroster/v1p1` (or v1p2), paged with `limit`/`offset`, with `Link:
<...>; rel="next"` and `X-Total-Count` headers (each can be turned off). Authentication is either
OAuth 1.0a (HMAC-SHA256 signatures checked with oauthlib's own signature functions, nonces never
reused) or OAuth 2.0 client credentials (a token endpoint; tokens expire or can be revoked mid-pull).
"""

from __future__ import annotations

import base64
import secrets
import time
from collections.abc import Callable, Container
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, unquote_plus, urlencode

from oauthlib.common import Request
from oauthlib.oauth1.rfc5849 import signature

from tests.hubs.server import Hub, json_body

CLIENT_ID = "district-app"
CLIENT_SECRET = "s3cret-value-never-logged"
DEFAULT_LIMIT = 100
MAX_LIMIT = 1000
Data = dict[str, list[dict[str, Any]]]


class OneRosterHub(Hub):
    def __init__(
        self,
        data: dict[str, list[dict[str, Any]]],
        *,
        auth: str = "oauth1",
        version: str = "v1p1",
        link: bool = True,
        total: bool = True,
        scope: str | None = None,
    ) -> None:
        super().__init__()
        self.data, self.auth, self.link, self.total = data, auth, link, total
        self.base_path = f"/ims/oneroster/{version}"
        self.scope = scope
        self.tokens: dict[str, float] = {}
        self.token_lifetime = 3600.0
        self.tokens_issued = 0
        self.nonces: set[str] = set()
        self.refused = 0
        self.total_lies: dict[str, int] = {}  # collection -> X-Total-Count to claim instead
        self.revoke_after: int | None = None  # API requests after which every token is revoked
        self.api_calls = 0
        self.changes: list[tuple[str, Callable[[Data], None], Container[int] | None]] = []
        self.pages_asked: dict[str, int] = {}
        self.client_id, self.client_secret = CLIENT_ID, CLIENT_SECRET  # the token endpoint's
        self.decodes_basic = True  # False: a token endpoint that skips RFC 6749 2.3.1's decoding
        self.basic_tried: list[tuple[str, str]] = []

    @property
    def base_url(self) -> str:
        return self.url + self.base_path

    @property
    def token_url(self) -> str:
        return self.url + "/oauth/token"

    def meanwhile(
        self, name: str, change: Callable[[Data], None], at: Container[int] | None = None
    ) -> None:
        """The district changes while a pull pages: before the hub answers the `at`-th request
        of collection `name` (counted from 1; None: every one), `change` edits its data. Pages
        are cut from the data as it is then, so a record removed before the offset moves every
        later one back a place, as on a real server."""
        self.changes.append((name, change, at))

    def revoke_tokens(self) -> None:
        """Every token issued so far stops working (as when one expires early)."""
        self.tokens.clear()

    def answer(
        self,
        handler: BaseHTTPRequestHandler,
        method: str,
        path: str,
        query: dict[str, list[str]],
        body: bytes,
    ) -> tuple[int, dict[str, str], bytes]:
        if method == "POST" and path == "/oauth/token":
            return self._token(handler, body)
        if method != "GET" or not path.startswith(self.base_path + "/"):
            return 404, {}, json_body({"error": "not found"})
        self.api_calls += 1
        if self.revoke_after is not None and self.api_calls > self.revoke_after:
            self.revoke_after = None
            self.revoke_tokens()
        if not self._authorized(handler):
            self.refused += 1
            return 401, {"WWW-Authenticate": "OAuth"}, json_body({"imsx_codeMajor": "failure"})
        name = path[len(self.base_path) + 1 :].partition(";")[0]  # a servlet's path parameters
        if name not in self.data:
            return 404, {}, json_body({"imsx_codeMajor": "failure", "imsx_description": name})
        with self.lock:
            asked = self.pages_asked[name] = self.pages_asked.get(name, 0) + 1
            for changed, change, at in self.changes:
                if changed == name and (at is None or asked in at):
                    change(self.data)
        return self._page(name, query)

    # ------------------------------------------------------------------ paging
    def _page(self, name: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        records = self.data[name]
        limit = min(int(query.get("limit", [DEFAULT_LIMIT])[0]), MAX_LIMIT)
        offset = int(query.get("offset", ["0"])[0])
        page = records[offset : offset + limit]
        headers: dict[str, str] = {}
        if self.total:
            headers["X-Total-Count"] = str(self.total_lies.get(name, len(records)))
        if self.link and offset + limit < len(records):
            nxt = f"{self.base_url}/{name}?{urlencode({'limit': limit, 'offset': offset + limit})}"
            headers["Link"] = f'<{nxt}>; rel="next"'
        return 200, headers, json_body({name: page})

    # ------------------------------------------------------------------ authentication
    def _authorized(self, handler: BaseHTTPRequestHandler) -> bool:
        header = handler.headers.get("Authorization") or ""
        if self.auth == "oauth2":
            token = header.removeprefix("Bearer ").strip()
            expires = self.tokens.get(token)
            return (
                header.startswith("Bearer ") and expires is not None and time.monotonic() < expires
            )
        return self._oauth1_valid(handler, header)

    def _oauth1_valid(self, handler: BaseHTTPRequestHandler, header: str) -> bool:
        """RFC 5849 3.2, checked with oauthlib's signature functions (as a server would)."""
        if not header.startswith("OAuth "):
            return False
        uri = f"http://{handler.headers['Host']}{handler.path}"
        query = handler.path.partition("?")[2]
        headers = {"Authorization": header}
        oauth = dict(signature.collect_parameters(headers=headers, exclude_oauth_signature=False))
        if oauth.get("oauth_consumer_key") != CLIENT_ID:
            return False
        if oauth.get("oauth_signature_method") != "HMAC-SHA256":
            return False
        nonce = oauth.get("oauth_nonce", "")
        if not nonce or nonce in self.nonces:
            return False
        if abs(time.time() - int(oauth.get("oauth_timestamp", "0"))) > 300:
            return False
        request = Request(uri, http_method="GET", headers=headers)
        request.params = signature.collect_parameters(
            uri_query=query, headers=headers, exclude_oauth_signature=True
        )
        request.signature = oauth.get("oauth_signature", "")
        if not signature.verify_hmac_sha256(request, client_secret=CLIENT_SECRET):
            return False
        self.nonces.add(nonce)
        return True

    def _token(
        self, handler: BaseHTTPRequestHandler, body: bytes
    ) -> tuple[int, dict[str, str], bytes]:
        """RFC 6749 4.4: client credentials in HTTP Basic, grant_type=client_credentials. As a
        compliant server reads them (2.3.1): the Basic user and password are ASCII, each
        form-urlencoded (so split at the first ':', then decoded)."""
        form = {k: v[0] for k, v in parse_qs(body.decode()).items()}
        basic = (handler.headers.get("Authorization") or "").removeprefix("Basic ")
        try:
            raw = base64.b64decode(basic, validate=True)
            text = raw.decode("ascii") if self.decodes_basic else raw.decode()
            client_id, _, secret = text.partition(":")
        except Exception:
            client_id, secret = "", ""
        self.basic_tried.append((client_id, secret))
        if self.decodes_basic:
            client_id, secret = unquote_plus(client_id), unquote_plus(secret)
        if client_id != self.client_id or secret != self.client_secret:
            return 401, {}, json_body({"error": "invalid_client"})
        if form.get("grant_type") != "client_credentials":
            return 400, {}, json_body({"error": "unsupported_grant_type"})
        if self.scope and self.scope not in (form.get("scope") or "").split():
            return 400, {}, json_body({"error": "invalid_scope"})
        token = secrets.token_urlsafe(24)
        self.tokens[token] = time.monotonic() + self.token_lifetime
        self.tokens_issued += 1
        return (
            200,
            {"Cache-Control": "no-store"},
            json_body(
                {
                    "access_token": token,
                    "token_type": "Bearer",
                    "expires_in": int(self.token_lifetime),
                }
            ),
        )
