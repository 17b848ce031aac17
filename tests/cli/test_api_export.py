"""`export` writes only into a new or empty folder, and never through a link (api review 2).

An export run by the daemon writes with the daemon's rights: a symbolic link planted in the
folder, or a folder that already holds a drop, must never make it overwrite or remove a file.
"""

from __future__ import annotations

import os

import pytest

import daemon.sync.export as export_module
from daemon.db import Database
from daemon.service.engine import Engine
from daemon.sync.export import ExportError

from .test_mistakes import one_line


def test_export_into_a_folder_with_files_is_refused_and_leaves_them(both, tmp_path) -> None:
    folder = tmp_path / "drop"
    folder.mkdir()
    (folder / "users.csv").write_text("keep me\n")
    (folder / "demographics.csv").write_text("keep me too\n")  # a file export would leave out
    refused = both("export", str(folder))
    assert refused.code == 1
    assert one_line(refused.err) == (
        f"{folder} is not empty; export writes only into a new or empty folder, so nothing "
        "there is overwritten: name a new one"
    )
    assert (folder / "users.csv").read_text() == "keep me\n"
    assert (folder / "demographics.csv").read_text() == "keep me too\n"
    assert sorted(p.name for p in folder.iterdir()) == ["demographics.csv", "users.csv"]


def test_a_link_in_the_folder_is_never_written_through(both, tmp_path) -> None:
    precious = tmp_path / "precious.duckdb"
    precious.write_bytes(b"the daemon's database")
    folder = tmp_path / "evil"
    folder.mkdir()
    (folder / "manifest.csv").symlink_to(precious)
    refused = both("export", str(folder))
    assert refused.code == 1
    assert "is not empty" in one_line(refused.err)
    assert precious.read_bytes() == b"the daemon's database"


def test_export_into_a_link_to_a_folder_is_refused(both, tmp_path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    link = tmp_path / "out"
    link.symlink_to(elsewhere)
    refused = both("export", str(link))
    assert refused.code == 1
    assert one_line(refused.err) == (
        f"{link} is a symbolic link; export writes only into a new or empty folder: name a new one"
    )
    assert list(elsewhere.iterdir()) == []


def test_export_into_an_empty_folder_writes_the_drop(both, tmp_path) -> None:
    folder = tmp_path / "empty"
    folder.mkdir()
    done = both("export", str(folder))
    assert done.code == 0, done.err
    assert {"manifest.csv", "users.csv", "classes.csv", "enrollments.csv"} <= {
        p.name for p in folder.iterdir()
    }


def test_a_link_planted_while_exporting_is_left_alone(day1_db, tmp_path, monkeypatch) -> None:
    """Between the check that the folder is empty and the writing of a file, someone who may
    write the folder plants a link under that file's name: each file is created exclusively."""
    precious = tmp_path / "precious"
    precious.write_text("not to be overwritten\n")
    folder = tmp_path / "out"
    original = export_module._files

    def plant_then_list(*args, **kwargs):
        (folder / "users.csv").symlink_to(precious)
        return original(*args, **kwargs)

    monkeypatch.setattr(export_module, "_files", plant_then_list)
    with Database(day1_db) as db, pytest.raises(ExportError, match="appeared while exporting"):
        Engine(db, "test").export(str(folder))
    assert precious.read_text() == "not to be overwritten\n"
    assert os.readlink(folder / "users.csv") == str(precious)
