"""Hostile input beyond the malformed-file table: formula cells, disk space, vocabularies."""

from __future__ import annotations

import csv
import shutil
import zipfile

import pytest

from daemon.formats import drop as drop_module
from daemon.formats.drop import DropError, open_drop
from daemon.sync.queries import spreadsheet_safe


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_results_neutralise_cells_a_spreadsheet_would_run(sync, tiny, tmp_path, start):
    tiny.row("users.csv", "stu-1")["email"] = "nope"
    tiny.row("users.csv", "stu-1")["sourcedId"] = f'{start}HYPERLINK("http://x")'
    run = sync.plan(tiny)
    out = tmp_path / "results.csv"
    sync.engine.write_results(run.run_id, str(out))
    with open(out, newline="", encoding="utf-8") as handle:
        rows = list(csv.reader(handle))
    cells = [cell for row in rows[1:] for cell in row]
    assert not [c for c in cells if c.startswith(("=", "+", "-", "@", "\t", "\r"))]
    assert f'\'{start}HYPERLINK("http://x")' in cells


def test_neutralising_leaves_ordinary_cells_and_numbers_alone():
    assert spreadsheet_safe("stu-1") == "stu-1"
    assert spreadsheet_safe(7) == 7
    assert spreadsheet_safe(None) is None
    assert spreadsheet_safe("-5") == "'-5"


def test_export_stays_byte_faithful_for_formula_like_names(sync, tiny, tmp_path):
    tiny.row("users.csv", "stu-2")["givenName"] = "=SUM(A1)"
    sync.apply(tiny)
    out = tmp_path / "export"
    sync.engine.export(str(out))
    assert ",=SUM(A1)," in (out / "users.csv").read_text()
    assert "'=SUM(A1)" not in (out / "users.csv").read_text()


def test_a_zip_that_would_fill_the_disk_is_refused(tiny, tmp_path, monkeypatch):
    folder = tiny.write(tmp_path / "drops")
    archive = tmp_path / "drop.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for f in folder.iterdir():
            z.write(f, f.name)
    total = sum(f.stat().st_size for f in folder.iterdir())
    real = shutil.disk_usage

    def little_space(path):
        usage = real(path)
        return usage._replace(free=total)  # half of it is less than the drop

    monkeypatch.setattr(drop_module.shutil, "disk_usage", little_space)
    with pytest.raises(DropError) as refused:
        open_drop(archive, tmp_path / "work")
    assert "drop.zip: would unpack to" in str(refused.value)
    assert "more than half of the" in str(refused.value) and "free on the disk" in str(
        refused.value
    )
    assert not (tmp_path / "work" / "extracted" / "users.csv").exists()


def test_ext_terms_are_accepted_in_every_extensible_12_vocabulary(sync, sample, tmp_path):
    drop = tmp_path / "drop12"
    shutil.copytree(sample / "oneroster12", drop)

    def replace_first(file: str, old: str, new: str) -> None:
        text = (drop / file).read_text()
        assert old in text, (file, old)
        (drop / file).write_text(text.replace(old, new, 1))

    replace_first("classes.csv", ",scheduled,", ",ext:lab,")
    replace_first("orgs.csv", ",school,", ",ext:campus,")
    replace_first("academicSessions.csv", ",semester,", ",ext:trimester,")
    run = sync.plan(drop)
    assert run.status in ("planned", "held"), run.error
    errors = [i for i in sync.issues(run, "ERROR") if i["rule"] == "enumeration"]
    assert errors == []


def test_a_misspelt_role_is_still_an_error_in_12(sync, sample, tmp_path):
    drop = tmp_path / "drop12"
    shutil.copytree(sample / "oneroster12", drop)
    text = (drop / "roles.csv").read_text()
    (drop / "roles.csv").write_text(text.replace(",student,", ",ext student,", 1))
    run = sync.plan(drop)
    (issue,) = [i for i in sync.issues(run, "ERROR") if i["rule"] == "enumeration"]
    assert "or an ext: term" in issue["message"]


@pytest.mark.parametrize("careful", [False, True], ids=["fast reader", "careful reader"])
@pytest.mark.parametrize("value", ["\\x01", "\\N", "NULL"])
def test_a_value_spelled_like_a_null_marker_is_read_as_itself(sync, tiny, tmp_path, value, careful):
    # The fast reader's null marker was the four characters \x01: a name so spelled read as
    # empty there ("required") and as itself on the careful reader (found by an adversarial test).
    tiny.row("users.csv", "stu-2")["givenName"] = value
    tiny.row("users.csv", "stu-3")["familyName"] = "Peña"
    drop = tiny.write(tmp_path / "drops")
    if careful:  # a Windows-1252 file is converted, then read by the careful reader
        users = drop / "users.csv"
        users.write_bytes(users.read_text(encoding="utf-8").encode("cp1252"))
    sync.apply(drop)
    assert sync.user("stu-2")["given_name"] == value
    assert sync.user("stu-3")["family_name"] == "Peña"
