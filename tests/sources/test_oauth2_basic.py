"""OAuth 2.0 client credentials in HTTP Basic, encoded as RFC 6749 2.3.1 says.

client_id and the secret are each form-urlencoded before Basic joins them with ':' and base64s
them; a compliant token endpoint decodes them (tests/hubs/oneroster.py does). Sent as they are, a
secret holding '%', '+' or a non-ASCII letter reaches it changed, and the pull is refused. Some
endpoints skip the decoding: for them the credentials as they are come second, after a refusal.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.service.engine import Engine
from tests.district import TinyDistrict
from tests.hubs.oneroster import OneRosterHub
from tests.sources.conftest import start_hub
from tests.sources.test_oneroster_rest import pull_rest

ODD_SECRETS = ["s3:cr%41t", "a+b c", "sécret-ß", "pa%2Bss:+é"]


def odd_secret(tmp_path: Path, secret: str) -> Path:
    path = tmp_path / "odd.secret"
    path.write_text(secret + "\n", encoding="utf-8")
    path.chmod(0o600)
    return path


def token_hub(district: TinyDistrict, secret: str, client_id: str = "district:app") -> OneRosterHub:
    hub = start_hub(district, auth="oauth2")
    hub.client_id, hub.client_secret = client_id, secret
    return hub


@pytest.mark.parametrize("secret", ODD_SECRETS)
def test_a_secret_with_reserved_or_non_ascii_characters_gets_a_token_from_a_compliant_endpoint(
    puller: Engine, district: TinyDistrict, tmp_path: Path, secret: str
) -> None:
    hub = token_hub(district, secret)
    run = pull_rest(puller, hub, odd_secret(tmp_path, secret), client_id="district:app")
    assert run.status == "planned", run.error
    assert len(hub.basic_tried) == 1  # the encoded form, taken at once


def test_the_basic_credentials_are_form_urlencoded_before_base64(
    puller: Engine, district: TinyDistrict, tmp_path: Path
) -> None:
    hub = token_hub(district, "pa%2Bss:+é")
    pull_rest(puller, hub, odd_secret(tmp_path, "pa%2Bss:+é"), client_id="district:app")
    assert hub.basic_tried[0] == ("district%3Aapp", "pa%252Bss%3A%2B%C3%A9")


def test_an_endpoint_that_does_not_decode_gets_the_credentials_as_they_are_after_a_refusal(
    puller: Engine, district: TinyDistrict, tmp_path: Path
) -> None:
    hub = token_hub(district, "a+b/c=", client_id="district-app")
    hub.decodes_basic = False
    hub.token_lifetime = 20  # each request needs a new token: the form that worked is kept
    run = pull_rest(puller, hub, odd_secret(tmp_path, "a+b/c="), client_id="district-app")
    assert run.status == "planned", run.error
    assert hub.basic_tried[:3] == [
        ("district-app", "a%2Bb%2Fc%3D"), ("district-app", "a+b/c="), ("district-app", "a+b/c="),
    ]  # fmt: skip


def test_a_wrong_secret_is_refused_after_both_forms(
    puller: Engine, district: TinyDistrict, tmp_path: Path
) -> None:
    hub = token_hub(district, "right+secret")
    run = pull_rest(puller, hub, odd_secret(tmp_path, "wrong+secret"), client_id="district:app")
    assert run.status == "failed"
    assert "refused client_id 'district:app' (HTTP 401: invalid_client)" in run.error, run.error
    assert len(hub.basic_tried) == 2 and hub.api_calls == 0
