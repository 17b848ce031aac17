"""An empty collection a district cannot lack is an outage, not a district with no one in it.

A 200 with no users (a sync job mid-run on the server, a revoked share) would otherwise plan the
archiving of everyone. Collections a district may lack (no classes between terms) stay allowed,
and a directory with no one yet may take even an empty one.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.service.engine import Engine
from tests.district import TinyDistrict
from tests.hubs import clever
from tests.hubs.clever import CleverHub
from tests.hubs.district import clever_api, clever_compatible, oneroster_rest
from tests.hubs.oneroster import OneRosterHub
from tests.sources import test_clever_api
from tests.sources.test_oneroster_rest import pull_rest


def _rest_pull(puller: Engine, data: dict, secret_file: Path):  # type: ignore[no-untyped-def]
    return pull_rest(puller, OneRosterHub(data), secret_file)


def test_no_users_from_a_rest_api_fails_the_pull_as_an_outage(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    data = oneroster_rest(district)
    data["users"] = []
    run = _rest_pull(puller, data, secret_file)
    assert run.status == "failed"
    assert run.error.startswith("users: the API returned no users; refused as an outage")


def test_no_enrollments_is_a_district_between_terms_and_plans(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    data = oneroster_rest(district)
    data["enrollments"] = []
    run = _rest_pull(puller, data, secret_file)
    assert run.status == "planned", run.error


def test_no_students_from_clever_fails_the_pull_as_an_outage(
    puller: Engine, district: TinyDistrict, tmp_path: Path
) -> None:
    data = clever_api(clever_compatible(district))
    data["users"] = [u for u in data["users"] if "student" not in u["roles"]]
    hub = CleverHub(data).start()
    token = tmp_path / "clever.token"
    token.write_text(clever.TOKEN)
    token.chmod(0o600)
    run = test_clever_api.pull_clever(puller, hub, token)
    assert run.status == "failed"
    assert run.error.startswith("users (student): the API returned no students"), run.error


def test_no_content_for_an_optional_collection_is_read_as_an_empty_one(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    data = oneroster_rest(district)
    data["demographics"] = []
    hub = OneRosterHub(data)
    hub.fault("/demographics", "no-content")
    run = pull_rest(puller, hub, secret_file)
    assert run.status == "planned", run.error
    assert len(hub.api_requests("/demographics")) == 1  # the end: nothing more was asked


@pytest.mark.parametrize("collection", ["users", "enrollments"])
def test_no_content_for_a_required_collection_fails_the_pull_naming_it(
    puller: Engine, district: TinyDistrict, secret_file: Path, collection: str
) -> None:
    hub = OneRosterHub(oneroster_rest(district))
    hub.fault(f"/{collection}", "no-content")
    run = pull_rest(puller, hub, secret_file)
    assert run.status == "failed"
    assert f"answered HTTP 204 (No Content) to the first page of the {collection}" in run.error
    assert run.error.startswith(f"{collection}: "), run.error
