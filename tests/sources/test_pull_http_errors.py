"""What httpx raises besides a transport error is still one clear line naming the collection.

A body that cannot be decoded, a next link that is not a URL, a token endpoint that fails once:
none of them may end as an internal error, and a brief token endpoint failure is tried again
like any other request.
"""

from __future__ import annotations

from pathlib import Path

from daemon.service.engine import Engine
from tests.district import TinyDistrict
from tests.hubs.district import oneroster_rest
from tests.hubs.oneroster import OneRosterHub
from tests.sources.conftest import NoWait, start_hub
from tests.sources.test_oneroster_rest import pull_rest


class Hostile(OneRosterHub):
    """The pages of users after the first are broken in the way `kind` says."""

    kind = ""

    def _page(self, name: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        status, headers, body = super()._page(name, query)
        if name == "users" and query.get("offset") != ["0"]:
            if self.kind == "gzip":
                headers["Content-Encoding"] = "gzip"  # the body is not gzip
            else:
                headers["Link"] = '<http://[::1/users?offset=8>; rel="next"'
        return status, headers, body


def _pull(puller: Engine, district: TinyDistrict, secret_file: Path, kind: str):  # type: ignore[no-untyped-def]
    hub = Hostile(oneroster_rest(district))
    hub.kind = kind
    return pull_rest(puller, hub, secret_file)


def test_a_body_that_cannot_be_decoded_fails_the_pull_naming_collection_and_url(
    puller: Engine, district: TinyDistrict, secret_file: Path, no_wait: NoWait
) -> None:
    run = _pull(puller, district, secret_file, "gzip")
    assert run.status == "failed"
    assert run.error.startswith("users: 127.0.0.1:"), run.error
    assert "/ims/oneroster/v1p1/users: the response's gzip body cannot be decoded (" in run.error
    assert "\n" not in run.error


def test_a_next_link_that_is_not_a_url_fails_the_pull_in_one_line(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    run = _pull(puller, district, secret_file, "link")
    assert run.status == "failed"
    assert run.error.startswith("users: ") and "the next link is not a valid URL" in run.error


def test_a_token_endpoint_503_is_tried_again_like_any_request(
    puller: Engine, district: TinyDistrict, secret_file: Path, no_wait: NoWait
) -> None:
    hub = start_hub(district, auth="oauth2")
    hub.fault("/oauth/token", "status", status=503)
    run = pull_rest(puller, hub, secret_file)
    assert run.status == "planned", run.error
    assert no_wait.waits == [1.0] and run.fetch["tokens_fetched"] == 1


def test_a_token_endpoint_that_stays_down_mid_pull_does_not_claim_nothing_was_pulled(
    puller: Engine, district: TinyDistrict, secret_file: Path, no_wait: NoWait
) -> None:
    hub = start_hub(district, auth="oauth2")
    hub.revoke_after = 8
    hub.fault("/oauth/token", "status", nth=2, status=503, times=10)
    run = pull_rest(puller, hub, secret_file, retries=2)
    assert run.status == "failed"
    assert "the token endpoint" in run.error and "failed 3 times (last: HTTP 503)" in run.error
    assert "nothing was pulled" not in run.error and "nothing was planned" in run.error


def test_a_redirect_is_not_followed_and_says_where_it_pointed_without_its_secrets(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    hub = start_hub(district)
    moved = "https://admin:hunter2@roster.example.org:8443/ims/oneroster/v1p1/users?token=abc123"
    hub.fault("/users", "status", status=302, headers={"Location": moved})
    run = pull_rest(puller, hub, secret_file)
    assert run.status == "failed"
    assert "answered HTTP 302, a redirect to roster.example.org:8443/ims/oneroster/v1p1/users" in (
        run.error
    ), run.error
    assert not any(secret in run.error for secret in ("admin", "hunter2", "abc123"))


def test_a_request_that_fails_once_with_no_retries_says_once(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    hub = start_hub(district)
    hub.fault("/users", "status", status=503)
    run = pull_rest(puller, hub, secret_file, retries=0)
    assert run.status == "failed"
    assert "/users failed once (last: HTTP 503)" in run.error, run.error
