"""`[sources.NAME]` tables in the daemon's TOML config."""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.service.config import ConfigError, load_config

BASE = """
database = "state/roster.duckdb"
inbox = "inbox"
archive = "archive"
socket = "/run/roster-sync/rs.sock"
"""


def test_a_source_table_is_read_with_its_secret_path_relative_to_the_config(tmp_path: Path) -> None:
    path = tmp_path / "roster-sync.toml"
    path.write_text(
        BASE
        + """
[sources.classlink]
kind = "oneroster-rest"
base_url = "https://district.oneroster.com/ims/oneroster/v1p1/"
client_id = "a1b2"
client_secret_file = "secrets/classlink.secret"
"""
    )
    source = load_config(path).sources["classlink"]
    assert source.auth == "oauth1" and source.oneroster_version == "1.1"
    assert source.base_url == "https://district.oneroster.com/ims/oneroster/v1p1"
    assert source.client_secret_file == tmp_path / "secrets" / "classlink.secret"
    assert source.display() == "ClassLink" and source.run_kind == "rest"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        (
            '[sources."Class Link"]\nkind = "clever"\nbase_url = "https://a.example"\n'
            'client_secret_env = "T"',
            "source name",
        ),
        ('[sources.x]\nkind = "ftp"\nbase_url = "https://a.example"', "'sources.x.kind'"),
        (
            '[sources.x]\nkind = "clever"\nbase_url = "https://a.example"\nclient_secret_env = "T"\n'
            'secret = "abc"',
            "unknown key 'sources.x.secret'",
        ),
    ],
)
def test_a_source_table_that_cannot_be_used_is_refused(tmp_path: Path, table, message) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "roster-sync.toml"
    path.write_text(BASE + "\n" + table + "\n")
    with pytest.raises(ConfigError, match=message):
        load_config(path)


def test_a_source_has_a_deadline_per_response_and_a_page_size_limit_by_default(
    tmp_path: Path,
) -> None:
    path = tmp_path / "roster-sync.toml"
    path.write_text(
        BASE + '\n[sources.x]\nkind = "clever"\nbase_url = "https://a.example"\n'
        'client_secret_env = "T"\n'
    )
    source = load_config(path).sources["x"]
    assert source.response_deadline_seconds == 300
    assert source.max_page_bytes == 256 * 1024 * 1024


@pytest.mark.parametrize(
    "setting",
    [
        "response_deadline_seconds = 0",
        "response_deadline_seconds = inf",
        "response_deadline_seconds = nan",
        "max_page_bytes = 0",
        "max_page_bytes = 100",
    ],
)
def test_a_deadline_or_page_limit_that_cannot_hold_is_refused(tmp_path: Path, setting: str) -> None:
    path = tmp_path / "roster-sync.toml"
    path.write_text(
        BASE + '\n[sources.x]\nkind = "clever"\nbase_url = "https://a.example"\n'
        f'client_secret_env = "T"\n{setting}\n'
    )
    with pytest.raises(ConfigError, match=f"'sources.x.{setting.split()[0]}'"):
        load_config(path)
