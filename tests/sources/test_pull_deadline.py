"""A server that sends slowly or without end cannot hold the nightly sync, nor its memory.

`timeout_seconds` bounds each read, so a page dripped a byte at a time would take for ever;
`response_deadline_seconds` bounds a whole response (headers and body), and such a try is tried
again like a dropped connection. `max_page_bytes` bounds a page's size, up front from its
Content-Length and while it streams; a page too large is not tried again (it would be as large).
Either way the pull fails in one line naming the URL's path, and nothing is planned.
"""

from __future__ import annotations

import time
from pathlib import Path

from daemon.models import Run
from daemon.service.engine import Engine
from tests.district import TinyDistrict
from tests.hubs import clever
from tests.hubs.clever import CleverHub
from tests.hubs.district import clever_compatible
from tests.hubs.oneroster import OneRosterHub
from tests.sources.conftest import NoWait, start_hub
from tests.sources.test_clever_api import configure as configure_clever
from tests.sources.test_clever_api import serve as serve_clever
from tests.sources.test_oneroster_rest import applied_from_csv, assert_planned_as_csv, configure

ENDED_WELL_WITHIN = 30.0  # seconds: proves the pull ended, not how fast


def assert_nothing_planned(puller: Engine, run: Run, version: int) -> None:
    assert run.status == "failed"
    assert run.error.startswith("users: 127.0.0.1:"), run.error
    assert "nothing was planned" in run.error and "?" not in run.error and "\n" not in run.error
    assert run.total_changes() == 0 and puller.change_page(run.run_id).total == 0
    assert puller.db.directory_version() == version


def test_a_page_dripped_a_byte_at_a_time_fails_the_pull_after_the_deadline(
    puller: Engine, hub: OneRosterHub, secret_file: Path, no_wait: NoWait, district: TinyDistrict,
    tmp_path: Path,
) -> None:  # fmt: skip
    version = applied_from_csv(puller, district, tmp_path)
    hub.fault("/users", "trickle", nth=2, times=10)
    configure(puller, hub, secret_file, response_deadline_seconds=1, retries=1)
    started = time.monotonic()
    run = puller.pull_source("classlink")
    assert time.monotonic() - started < ENDED_WELL_WITHIN
    assert_nothing_planned(puller, run, version)
    tries = "/ims/oneroster/v1p1/users failed twice"
    assert f"{tries} (last: no whole response within 1 s (response_deadline_seconds))" in run.error


def test_a_dripped_page_is_tried_again_like_a_dropped_connection(
    puller: Engine, hub: OneRosterHub, secret_file: Path, no_wait: NoWait, district: TinyDistrict,
    tmp_path: Path,
) -> None:  # fmt: skip
    hub.fault("/users", "trickle", nth=2)
    configure(puller, hub, secret_file, response_deadline_seconds=1)
    run = puller.pull_source("classlink")
    assert_planned_as_csv(puller, run, district, tmp_path)
    assert run.fetch["retried"] == 1 and no_wait.waits == [1.0]


def test_headers_dripped_a_byte_at_a_time_count_against_the_deadline_too(
    puller: Engine, hub: OneRosterHub, secret_file: Path, no_wait: NoWait
) -> None:
    hub.fault("/users", "trickle-headers", times=10, interval=0.5)
    configure(puller, hub, secret_file, response_deadline_seconds=1, retries=0)
    started = time.monotonic()
    run = puller.pull_source("classlink")
    assert time.monotonic() - started < ENDED_WELL_WITHIN
    assert run.status == "failed"
    assert "failed once (last: no whole response within 1 s" in run.error, run.error


def test_a_token_endpoint_that_drips_its_answer_fails_the_pull_after_the_deadline(
    puller: Engine, district: TinyDistrict, secret_file: Path, no_wait: NoWait
) -> None:
    with start_hub(district, auth="oauth2") as hub:
        hub.fault("/oauth/token", "trickle", times=10)
        configure(puller, hub, secret_file, response_deadline_seconds=1, retries=0)
        run = puller.pull_source("classlink")
    assert run.status == "failed"
    assert "the token endpoint 127.0.0.1:" in run.error
    assert "/oauth/token failed once (last: no whole response within 1 s" in run.error


def test_a_page_that_never_ends_fails_the_pull_naming_the_limit_and_is_not_tried_again(
    puller: Engine, hub: OneRosterHub, secret_file: Path, no_wait: NoWait, district: TinyDistrict,
    tmp_path: Path,
) -> None:  # fmt: skip
    version = applied_from_csv(puller, district, tmp_path)
    hub.fault("/users", "endless", nth=2, times=10)
    configure(puller, hub, secret_file, max_page_bytes=1_000_000)
    run = puller.pull_source("classlink")
    assert_nothing_planned(puller, run, version)
    limit = "the response is larger than max_page_bytes (1000000 bytes)"
    assert f"/ims/oneroster/v1p1/users: {limit}" in run.error
    assert no_wait.waits == [] and run.fetch["retried"] == 0
    assert len(hub.api_requests("/users")) == 2


def test_a_content_length_over_the_limit_fails_the_pull_before_the_body_is_read(
    puller: Engine, hub: OneRosterHub, secret_file: Path, no_wait: NoWait
) -> None:
    hub.fault("/orgs", "oversize")
    configure(puller, hub, secret_file)
    run = puller.pull_source("classlink")
    assert run.status == "failed"
    assert "/orgs: the response is larger than max_page_bytes (268435456 bytes): its " in run.error
    assert "Content-Length is 1000000000000" in run.error and no_wait.waits == []


def test_a_pull_within_both_limits_plans_as_before(
    puller: Engine, hub: OneRosterHub, secret_file: Path, district: TinyDistrict, tmp_path: Path
) -> None:
    configure(puller, hub, secret_file, response_deadline_seconds=5, max_page_bytes=65536)
    run = puller.pull_source("classlink")
    assert_planned_as_csv(puller, run, district, tmp_path)
    assert run.fetch["retried"] == 0


def test_a_clever_page_that_drips_fails_the_pull_after_the_deadline(
    puller: Engine, district: TinyDistrict, tmp_path: Path, no_wait: NoWait
) -> None:
    token_file = tmp_path / "clever.token"
    token_file.write_text(clever.TOKEN)
    token_file.chmod(0o600)
    hub: CleverHub
    with serve_clever(clever_compatible(district)) as hub:
        hub.fault("/users", "trickle", times=10)
        configure_clever(puller, hub, token_file, response_deadline_seconds=1, retries=0)
        run = puller.pull_source("clever")
    assert run.status == "failed"
    assert "/users failed once (last: no whole response within 1 s" in run.error, run.error
