"""Secrets stay where they belong: never sent off the API's host, never shown in a message.

A next link may point anywhere; a token may be pasted wrapped over two lines; a token endpoint may
echo the secret it was sent. None of it may put a credential in front of another server, into a
log, the run record or the CLI.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler
from pathlib import Path

import pytest

from daemon.service.engine import Engine
from tests.district import TinyDistrict
from tests.hubs import clever, oneroster
from tests.hubs.clever import CleverHub
from tests.hubs.district import clever_api, clever_compatible, oneroster_rest
from tests.hubs.oneroster import OneRosterHub
from tests.hubs.server import Catcher
from tests.sources import test_clever_api
from tests.sources.conftest import NoWait
from tests.sources.test_oneroster_rest import pull_rest


@pytest.fixture
def catcher() -> Iterator[Catcher]:
    server = Catcher().start()
    yield server
    server.stop()


class LinksAway(OneRosterHub):
    """The second page of users links to another server."""

    away = ""

    def _page(self, name: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = super()._page(name, query)
        if name == "users" and "Link" in headers:
            headers["Link"] = f'<{self.away}/users?limit=4&offset=4>; rel="next"'
        return status, headers, body


def test_a_next_link_to_another_host_is_refused_and_gets_no_credentials(
    puller: Engine, district: TinyDistrict, secret_file: Path, catcher: Catcher
) -> None:
    hub = LinksAway(oneroster_rest(district))
    hub.away = catcher.url
    hub.start()
    run = pull_rest(puller, hub, secret_file)
    assert run.status == "failed"
    assert run.error.startswith("users: the next link leaves the API's host"), run.error
    assert catcher.requests == []


class CleverLinksAway(CleverHub):
    away = ""

    def answer(  # type: ignore[no-untyped-def]
        self, handler: BaseHTTPRequestHandler, method, path, query, body
    ) -> tuple[int, dict[str, str], bytes]:
        status, headers, payload = super().answer(handler, method, path, query, body)
        if path.endswith("/schools"):
            doc = json.loads(payload)
            doc["links"] = [{"rel": "next", "uri": f"{self.away}/collect?starting_after=x"}]
            payload = json.dumps(doc).encode()
        return status, headers, payload


def test_a_clever_next_link_to_another_host_is_refused_and_gets_no_token(
    puller: Engine, district: TinyDistrict, tmp_path: Path, catcher: Catcher
) -> None:
    hub = CleverLinksAway(clever_api(clever_compatible(district)))
    hub.away = catcher.url
    hub.start()
    run = test_clever_api.pull_clever(puller, hub, _token_file(tmp_path, clever.TOKEN))
    assert run.status == "failed"
    assert run.error.startswith("schools: the next link leaves the API's host"), run.error
    assert catcher.authorizations == []


def _token_file(tmp_path: Path, value: str) -> Path:
    path = tmp_path / "clever.token"
    path.write_text(value + "\n")
    path.chmod(0o600)
    return path


def test_a_token_wrapped_over_two_lines_is_refused_at_once_and_never_shown(
    puller: Engine, district: TinyDistrict, tmp_path: Path, caplog: pytest.LogCaptureFixture,
    no_wait: NoWait,
) -> None:  # fmt: skip
    hub = CleverHub(clever_api(clever_compatible(district))).start()
    caplog.set_level("DEBUG")
    run = test_clever_api.pull_clever(puller, hub, _token_file(tmp_path, "first-half\nsecond-half"))
    assert run.status == "failed"
    assert "holds a line break" in run.error
    assert hub.requests == [] and no_wait.waits == []
    seen = run.error + caplog.text + str(puller.db.rows("SELECT * FROM runs"))
    assert "first-half" not in seen and "second-half" not in seen


class TokenWithLineBreak(OneRosterHub):
    def _token(self, handler: BaseHTTPRequestHandler, body: bytes):  # type: ignore[no-untyped-def]
        status, headers, payload = super()._token(handler, body)
        doc = json.loads(payload)
        doc["access_token"] = "tok-first\ntok-second-half"
        return status, headers, json.dumps(doc).encode()


def test_an_access_token_with_a_line_break_is_refused_at_once_and_never_shown(
    puller: Engine, district: TinyDistrict, secret_file: Path, caplog: pytest.LogCaptureFixture,
    no_wait: NoWait,
) -> None:  # fmt: skip
    hub = TokenWithLineBreak(oneroster_rest(district), auth="oauth2").start()
    caplog.set_level("DEBUG")
    run = pull_rest(puller, hub, secret_file)
    assert run.status == "failed"
    assert "usable access_token" in run.error, run.error
    assert hub.api_calls == 0 and no_wait.waits == []
    seen = run.error + caplog.text + str(puller.db.rows("SELECT * FROM runs"))
    assert "tok-first" not in seen and "tok-second-half" not in seen


class EchoesTheSecret(OneRosterHub):
    """A token endpoint whose error text repeats the client secret it was sent."""

    def _token(self, handler: BaseHTTPRequestHandler, body: bytes):  # type: ignore[no-untyped-def]
        return 401, {}, json.dumps({"error": f"bad secret {oneroster.CLIENT_SECRET}"}).encode()


def test_an_error_text_that_echoes_the_secret_is_stored_redacted(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    hub = EchoesTheSecret(oneroster_rest(district), auth="oauth2").start()
    run = pull_rest(puller, hub, secret_file)
    assert run.status == "failed"
    assert "bad secret [redacted]" in run.error, run.error
    assert oneroster.CLIENT_SECRET not in str(puller.db.rows("SELECT * FROM runs"))


def test_a_value_that_echoes_the_secret_is_redacted_in_the_row_warning_it_makes(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    data = oneroster_rest(district)
    user = next(u for u in data["users"] if u["sourcedId"] == "stu-3")
    user["userIds"] = [{"type": "LDAP", "identifier": f"{oneroster.CLIENT_SECRET}}}"}]
    run = pull_rest(puller, OneRosterHub(data), secret_file)
    assert run.status == "planned", run.error
    [warning] = puller.results_page(run.run_id, status="WARNING").items
    assert "identifier '[redacted]}') holds '}'" in (warning.message or ""), warning.message
    assert oneroster.CLIENT_SECRET not in str(puller.db.rows("SELECT * FROM row_issues"))
    assert oneroster.CLIENT_SECRET not in (Path(run.source) / "pull" / "notes.csv").read_text()
