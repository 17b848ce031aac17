"""What a night on a real network brings, and why a partial pull never plans.

Retries with backoff on a 5xx and on a dropped connection, 429 waits the server's Retry-After;
what still fails, fails the run with a message, before anything is planned.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.service.engine import Engine
from daemon.sources.config import SourceConfig
from tests.district import TinyDistrict
from tests.hubs import oneroster
from tests.hubs.district import oneroster_rest
from tests.hubs.oneroster import OneRosterHub
from tests.sources.conftest import NoWait, rest_config, start_hub
from tests.sources.test_oneroster_rest import (
    applied_from_csv,
    assert_planned_as_csv,
    configure,
    pull_rest,
)


def test_a_500_then_success_is_tried_again_after_a_backoff(
    puller: Engine, hub: OneRosterHub, secret_file: Path, no_wait: NoWait
) -> None:
    hub.fault("/users", "status", nth=2, status=503)
    configure(puller, hub, secret_file)
    run = puller.pull_source("classlink")
    assert run.status == "planned", run.error
    assert run.fetch["retried"] == 1 and no_wait.waits == [1.0]
    assert run.fetch["resources"]["users"]["records"] == 22


def test_429_waits_as_long_as_retry_after_says(
    puller: Engine, hub: OneRosterHub, secret_file: Path, no_wait: NoWait
) -> None:
    hub.fault("/enrollments", "status", status=429, headers={"Retry-After": "7"})
    configure(puller, hub, secret_file)
    run = puller.pull_source("classlink")
    assert run.status == "planned", run.error
    assert no_wait.waits == [7.0]


@pytest.mark.parametrize("retry_after", ["\u00b2", "1.5", "soon"])
def test_a_retry_after_that_is_not_whole_seconds_or_a_date_waits_the_backoff(
    puller: Engine, hub: OneRosterHub, secret_file: Path, no_wait: NoWait, retry_after: str
) -> None:
    hub.fault("/enrollments", "status", status=429, headers={"Retry-After": retry_after})
    configure(puller, hub, secret_file)
    run = puller.pull_source("classlink")
    assert run.status == "planned", run.error
    assert no_wait.waits == [1.0]


def test_a_connection_dropped_in_the_middle_of_a_page_is_read_again(
    puller: Engine, hub: OneRosterHub, secret_file: Path, no_wait: NoWait, tmp_path: Path,
    district: TinyDistrict,
) -> None:  # fmt: skip
    hub.fault("/users", "drop", nth=3)
    configure(puller, hub, secret_file)
    run = puller.pull_source("classlink")
    assert_planned_as_csv(puller, run, district, tmp_path)
    assert run.fetch["retried"] == 1


def test_a_5xx_that_outlasts_the_retries_fails_the_run_and_plans_nothing(
    puller: Engine, hub: OneRosterHub, secret_file: Path, no_wait: NoWait, district: TinyDistrict,
    tmp_path: Path,
) -> None:  # fmt: skip
    version = applied_from_csv(puller, district, tmp_path)
    hub.fault("/enrollments", "status", nth=2, status=500, times=10)
    configure(puller, hub, secret_file, retries=3)
    run = puller.pull_source("classlink")
    assert run.status == "failed"
    assert run.error.startswith("enrollments: ")
    assert "failed 4 times (last: HTTP 500)" in run.error and "nothing was planned" in run.error
    assert run.total_changes() == 0 and puller.change_page(run.run_id).total == 0
    assert no_wait.waits == [1.0, 2.0, 4.0]
    assert run.fetch["resources"]["users"]["records"] == 22  # how far it got
    assert puller.db.directory_version() == version


def test_a_page_that_is_not_json_fails_the_run(
    puller: Engine, hub: OneRosterHub, secret_file: Path
) -> None:
    hub.fault("/users", "garbage", nth=2)
    configure(puller, hub, secret_file)
    run = puller.pull_source("classlink")
    assert run.status == "failed"
    assert "users:" in run.error and "not valid JSON" in run.error


class NestsTooDeeply(OneRosterHub):
    def _page(self, name: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        if name == "users":
            return 200, {}, b'{"users": [' + b"[" * 100_000 + b"]" * 100_000 + b"]}"
        return super()._page(name, query)


def test_a_page_nested_too_deeply_to_read_fails_the_run_in_one_line(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    run = pull_rest(puller, NestsTooDeeply(oneroster_rest(district)), secret_file)
    assert run.status == "failed"
    assert run.error.startswith("users: ") and "nested too deeply" in run.error, run.error


def test_fewer_records_than_x_total_count_fails_the_run(
    puller: Engine, hub: OneRosterHub, secret_file: Path
) -> None:
    hub.total_lies["users"] = 30
    configure(puller, hub, secret_file)
    run = puller.pull_source("classlink")
    assert run.status == "failed"
    assert "the server said 30 records (X-Total-Count) but sent 22" in run.error
    assert "never planned" in run.error


def test_a_wrong_oauth1_secret_is_refused_and_not_tried_again(
    puller: Engine, hub: OneRosterHub, tmp_path: Path, no_wait: NoWait
) -> None:
    wrong = tmp_path / "wrong.secret"
    wrong.write_text("not-the-secret")
    wrong.chmod(0o600)
    configure(puller, hub, wrong)
    run = puller.pull_source("classlink")
    assert run.status == "failed"
    assert "refused the credentials (HTTP 401)" in run.error
    assert hub.refused == 1 and no_wait.waits == []


def test_oauth1_requests_are_signed_with_hmac_sha256_and_fresh_nonces(
    puller: Engine, hub: OneRosterHub, secret_file: Path
) -> None:
    configure(puller, hub, secret_file)
    run = puller.pull_source("classlink")
    assert run.status == "planned", run.error
    assert hub.refused == 0 and len(hub.nonces) == len(hub.requests)


@pytest.fixture
def oauth2_hub(district: TinyDistrict):  # type: ignore[no-untyped-def]
    server = start_hub(district, auth="oauth2", scope="roster-core.readonly")
    yield server
    server.stop()


def test_oauth2_client_credentials_get_one_token_for_the_pull(
    puller: Engine, oauth2_hub: OneRosterHub, secret_file: Path
) -> None:
    configure(puller, oauth2_hub, secret_file, scope="roster-core.readonly")
    run = puller.pull_source("classlink")
    assert run.status == "planned", run.error
    assert oauth2_hub.tokens_issued == 1 and run.fetch["tokens_fetched"] == 1


def test_a_token_that_expires_mid_pull_is_renewed_and_the_pull_goes_on(
    puller: Engine, oauth2_hub: OneRosterHub, secret_file: Path
) -> None:
    oauth2_hub.revoke_after = 5
    configure(puller, oauth2_hub, secret_file, scope="roster-core.readonly")
    run = puller.pull_source("classlink")
    assert run.status == "planned", run.error
    assert oauth2_hub.tokens_issued == 2 and oauth2_hub.refused == 1


def test_a_token_about_to_expire_is_renewed_before_it_is_used(
    puller: Engine, oauth2_hub: OneRosterHub, secret_file: Path
) -> None:
    oauth2_hub.token_lifetime = 20  # less than the margin: each request needs a new one
    configure(puller, oauth2_hub, secret_file, scope="roster-core.readonly")
    run = puller.pull_source("classlink")
    assert run.status == "planned", run.error
    assert oauth2_hub.refused == 0
    assert oauth2_hub.tokens_issued == run.fetch["requests"]


def test_a_wrong_oauth2_secret_or_scope_is_refused_by_the_token_endpoint(
    puller: Engine, oauth2_hub: OneRosterHub, secret_file: Path
) -> None:
    configure(puller, oauth2_hub, secret_file, scope="everything")
    run = puller.pull_source("classlink")
    assert run.status == "failed"
    assert "refused client_id 'district-app' (HTTP 400: invalid_scope)" in run.error
    assert oauth2_hub.api_calls == 0


def test_the_secret_is_never_stored_logged_or_kept_with_the_pull(
    puller: Engine, hub: OneRosterHub, secret_file: Path, caplog: pytest.LogCaptureFixture,
    no_wait: NoWait,
) -> None:  # fmt: skip
    hub.fault("/users", "status", status=500)
    caplog.set_level("DEBUG")
    configure(puller, hub, secret_file)
    run = puller.pull_source("classlink")
    secret = oneroster.CLIENT_SECRET
    assert secret not in caplog.text and "oauth_signature=" not in caplog.text
    assert secret not in str(puller.db.rows("SELECT * FROM runs"))
    for path in Path(run.source).rglob("*"):
        if path.is_file():
            assert secret.encode() not in path.read_bytes(), path
    assert secret not in repr(rest_config(hub, secret_file))


def test_a_secret_file_others_can_read_fails_the_run(
    puller: Engine, hub: OneRosterHub, secret_file: Path
) -> None:
    secret_file.chmod(0o644)
    configure(puller, hub, secret_file)
    run = puller.pull_source("classlink")
    assert run.status == "failed"
    assert "has mode 0644; it must be readable only by its owner" in run.error
    assert hub.requests == []


def test_the_secret_may_come_from_the_environment(
    puller: Engine, hub: OneRosterHub, secret_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CLASSLINK_SECRET", oneroster.CLIENT_SECRET)
    configure(
        puller, hub, secret_file, client_secret_file=None, client_secret_env="CLASSLINK_SECRET"
    )
    assert puller.pull_source("classlink").status == "planned"


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"base_url": "http://sis.example.org/ims/oneroster/v1p1"}, "must use https://"),
        ({"auth": "oauth2"}, "needs token_url"),
        ({"client_secret_env": "X"}, "exactly one of client_secret_file and client_secret_env"),
        ({"auth": "bearer"}, 'uses auth = "oauth1" or "oauth2"'),
        ({"base_url": "https://user:pw@sis.example.org/x"}, "must not carry credentials"),
    ],
)
def test_a_source_config_that_cannot_be_used_safely_is_refused(values, message) -> None:  # type: ignore[no-untyped-def]
    base = {
        "kind": "oneroster-rest",
        "base_url": "https://sis.example.org/ims/oneroster/v1p1",
        "client_id": "app",
        "client_secret_file": "/etc/roster-sync/sis.secret",
    }
    with pytest.raises(ValueError, match=message.replace("(", r"\(")):
        SourceConfig.model_validate({**base, **values})


def test_oneroster_12_roles_become_roles_csv_and_plan_like_the_11_csv(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path
) -> None:
    from tests.hubs.district import oneroster_rest_12

    hub = OneRosterHub(oneroster_rest_12(district), version="v1p2").start()
    run = pull_rest(puller, hub, secret_file)
    assert run.status == "planned", run.error
    assert run.oneroster_version == "1.2" and (Path(run.source) / "roles.csv").is_file()
    from_csv = puller.plan_source(str(district.write(tmp_path / "drops")))
    assert run.changes == from_csv.changes
