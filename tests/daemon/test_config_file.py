"""A daemon config that cannot work is refused when it is read, in one line naming the file."""

from __future__ import annotations

import pytest

from daemon.service.config import ConfigError, key_line, load_config
from daemon.service.main_loop import run_daemon


def test_an_archive_inside_the_inbox_is_refused(make_daemon_config, tmp_path) -> None:
    """Such an archive was taken for a new drop every second and moved into itself."""
    config_path = make_daemon_config(archive=str(tmp_path / "inbox" / "archive"))
    with pytest.raises(ConfigError, match=r"the archive folder is inside the inbox folder"):
        load_config(config_path)


def test_an_inbox_inside_the_archive_is_refused(make_daemon_config, tmp_path) -> None:
    config_path = make_daemon_config(inbox=str(tmp_path / "archive" / "in"))
    with pytest.raises(ConfigError, match=r"the inbox folder is inside the archive folder"):
        load_config(config_path)


def test_one_folder_for_inbox_and_archive_is_refused(make_daemon_config, tmp_path) -> None:
    config_path = make_daemon_config(archive=str(tmp_path / "inbox"))
    with pytest.raises(ConfigError, match=r"'inbox' and 'archive' are the same folder"):
        load_config(config_path)


def test_folders_side_by_side_are_taken(make_daemon_config, tmp_path) -> None:
    config_path = make_daemon_config(
        inbox=str(tmp_path / "drops" / "inbox"), archive=str(tmp_path / "drops" / "archive")
    )
    assert load_config(config_path).archive.name == "archive"


def test_a_config_that_is_not_utf8_names_its_line_and_column(tmp_path) -> None:
    config = tmp_path / "roster-sync.toml"
    config.write_bytes(b'database = "x.duckdb"\ninbox = "Eing\xe4nge"\n')
    with pytest.raises(ConfigError) as refused:
        load_config(config)
    assert str(refused.value) == (
        f"{config} line 2, column 14: not UTF-8 text (byte 0xe4); save the config file as UTF-8"
    )


def test_a_socket_path_too_long_for_unix_is_refused(make_daemon_config, tmp_path) -> None:
    long = tmp_path / ("s" * 120) / "rs.sock"
    config_path = make_daemon_config(socket=str(long))
    with pytest.raises(ConfigError, match=r"a Unix socket's path may have 107 at most"):
        load_config(config_path)


def test_an_inbox_that_is_a_file_stops_the_daemon_in_one_line(
    make_daemon_config, tmp_path, caplog
) -> None:
    (tmp_path / "inbox").write_text("not a folder")
    config = load_config(make_daemon_config())
    assert run_daemon(config) == 1
    assert f"cannot start: cannot make the inbox folder {tmp_path / 'inbox'}: File exists" in (
        caplog.text
    )


def test_an_empty_path_is_refused_naming_its_key(make_daemon_config) -> None:
    config_path = make_daemon_config(inbox="")
    with pytest.raises(ConfigError, match=r"'inbox': is empty: give a path$"):
        load_config(config_path)


# ------------------------------------------------ the line a validation error names
KEYED = """\
database = "r.duckdb"   # top level
[sftp]
host = "sis.example.org"
port = "twenty-two"

[[notify.email]]
password_env = "y"
[[notify.email]]
password_env = "x"
"""


@pytest.mark.parametrize(
    ("loc", "line"),
    [
        (["database"], 1),
        (["sftp", "port"], 4),
        (["notify", "email", "1", "password_env"], 9),
        (["notify", "email", "0", "password_env"], 7),
        (["sftp", "user"], None),  # not written: no line to name
    ],
)
def test_a_config_error_finds_its_key_s_line(loc, line):
    assert key_line(KEYED, loc) == line


def test_a_table_given_a_value_says_a_table_in_a_config_s_words(tmp_path):
    config = tmp_path / "roster-sync.toml"
    config.write_text(
        f'database = "{tmp_path}/r.duckdb"\ninbox = "{tmp_path}/in"\n'
        f'archive = "{tmp_path}/ar"\nsocket = "{tmp_path}/s.sock"\n[sources]\nclever = "yes"\n'
    )
    with pytest.raises(ConfigError) as refused:
        load_config(config)
    assert str(refused.value) == (
        f"{config} line 6: 'sources.clever': Input should be a table ([sources.clever])"
    )
