"""Fixtures for API sources: a hub on loopback, a secret file, the engine configured to pull."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from daemon.service.engine import Engine
from daemon.sources.config import SourceConfig
from tests.district import TinyDistrict
from tests.hubs import clever, oneroster
from tests.hubs.district import clever_compatible, oneroster_rest, with_sessions_and_courses
from tests.hubs.oneroster import OneRosterHub


@pytest.fixture
def district() -> TinyDistrict:
    return with_sessions_and_courses(TinyDistrict())


@pytest.fixture
def clever_district(district: TinyDistrict) -> TinyDistrict:
    """The district as Clever can carry it (tests.hubs.district.clever_compatible)."""
    return clever_compatible(district)


@pytest.fixture
def token_file(tmp_path: Path) -> Path:
    """A Clever district-app token the loopback Clever hub accepts."""
    path = tmp_path / "clever.token"
    path.write_text(clever.TOKEN)
    path.chmod(0o600)
    return path


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    path = tmp_path / "secrets" / "classlink.secret"
    path.parent.mkdir()
    path.write_text(oneroster.CLIENT_SECRET + "\n")
    path.chmod(0o600)
    return path


def start_hub(district: TinyDistrict, **kwargs) -> OneRosterHub:  # type: ignore[no-untyped-def]
    return OneRosterHub(oneroster_rest(district), **kwargs).start()


@pytest.fixture
def hub(district: TinyDistrict) -> Iterator[OneRosterHub]:
    server = start_hub(district)
    yield server
    server.stop()


def rest_config(hub: OneRosterHub, secret_file: Path, **overrides) -> SourceConfig:  # type: ignore[no-untyped-def]
    values = {
        "kind": "oneroster-rest",
        "base_url": hub.base_url,
        "auth": hub.auth,
        "client_id": oneroster.CLIENT_ID,
        "client_secret_file": secret_file,
        "page_size": 4,
        "retries": 3,
    }
    if hub.auth == "oauth2":
        values["token_url"] = hub.token_url
    values.update(overrides)
    return SourceConfig.model_validate(values)


class NoWait:
    """Stands in for time.sleep: records the waits a pull asked for."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


@pytest.fixture
def no_wait(monkeypatch: pytest.MonkeyPatch) -> NoWait:
    """Backoff and Retry-After waits are recorded, not slept (the waits are asserted)."""
    import daemon.sources.http as http

    waits = NoWait()
    monkeypatch.setattr(http, "pause", waits)
    return waits


@pytest.fixture
def puller(engine: Engine, tmp_path: Path) -> Engine:
    engine.archive = tmp_path / "archive"
    return engine
