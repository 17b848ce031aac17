"""File-level problems fail the run with a clear message and leave the directory untouched;
what real SIS exports contain is accepted."""

from __future__ import annotations

import shutil
import zipfile
from pathlib import Path

import pytest

from daemon.cli import render
from daemon.db import Database


def _directory_snapshot(db: Database) -> tuple:
    return (
        *tuple(
            db.one(f"SELECT count(*) FROM {t}")
            for t in ("schools", "users", "classrooms", "enrollments")
        ),
        db.directory_version(),
    )


@pytest.fixture
def applied(sync, tiny_applied):
    return _directory_snapshot(sync.engine.db)


def test_missing_required_file_fails_the_run_and_leaves_the_directory(
    sync, tiny, tmp_path, applied
):
    folder = tiny.write(tmp_path)
    (folder / "enrollments.csv").unlink()
    run = sync.plan(folder)
    assert run.status == "failed"
    assert run.error == "enrollments.csv is missing from the drop; it is required"
    assert _directory_snapshot(sync.engine.db) == applied


def test_a_missing_required_file_is_named_with_every_other_files_refusal(sync, tiny, tmp_path):
    """Found on a public mock drop (no enrollments.csv, and users.csv without orgSourcedIds):
    the run named the missing file alone, and the re-export that added it was refused for the
    next file; one re-export should fix all."""
    for row in tiny.rows("users.csv"):
        del row["orgSourcedIds"]
    folder = tiny.write(tmp_path)
    (folder / "enrollments.csv").unlink()
    run = sync.plan(folder)
    assert run.status == "failed"
    assert run.error == (
        "enrollments.csv is missing from the drop; it is required; "
        "users.csv line 1: missing required column orgSourcedIds"
    )


def test_a_drop_missing_a_required_file_still_records_its_oneroster_version(sync, tiny, tmp_path):
    folder = tiny.write(tmp_path)
    (folder / "enrollments.csv").unlink()
    run = sync.plan(folder)
    assert (run.status, run.oneroster_version) == ("failed", "1.1")


def test_missing_required_column_fails_naming_the_column(sync, tiny, tmp_path):
    for row in tiny.rows("classes.csv"):
        del row["classType"]
    run = sync.plan(tiny)
    assert run.status == "failed"
    assert run.error == "classes.csv line 1: missing required column classType"


def test_semicolon_separated_file_is_refused_with_a_hint(sync, tiny, tmp_path):
    folder = tiny.write(tmp_path)
    text = (folder / "orgs.csv").read_text().replace(",", ";")
    (folder / "orgs.csv").write_text(text)
    run = sync.plan(folder)
    assert run.status == "failed"
    assert "separated by semicolons" in run.error


def test_zip_entry_escaping_the_folder_is_refused(sync, tiny, tmp_path, applied):
    folder = tiny.write(tmp_path)
    archive = tmp_path / "evil.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in folder.iterdir():
            z.write(f, f.name)
        z.writestr("../../escaped.csv", "x")
    run = sync.plan(archive)
    assert run.status == "failed"
    assert "entry '../../escaped.csv' would escape the extraction folder" in run.error
    assert not (tmp_path / "escaped.csv").exists()
    assert _directory_snapshot(sync.engine.db) == applied


def test_zip_bomb_is_refused(sync, tmp_path):
    archive = tmp_path / "bomb.zip"
    with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
        z.writestr("users.csv", b"\0" * (50 * 1024 * 1024))
    run = sync.plan(archive)
    assert run.status == "failed"
    assert "looks like a ZIP bomb" in run.error


def test_corrupt_zip_is_refused(sync, tmp_path):
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04" + b"garbage" * 10)
    run = sync.plan(archive)
    assert run.status == "failed"
    assert "broken.zip" in run.error


def test_a_damaged_zip_is_said_unreadable_and_its_run_labelled_a_zip(sync, tmp_path):
    archive = tmp_path / "broken.zip"
    archive.write_bytes(b"PK\x03\x04" + b"garbage" * 10)
    run = sync.plan(archive)
    assert (run.status, run.source_kind) == ("failed", "zip")
    assert run.error == (
        "broken.zip: not a readable ZIP file (File is not a zip file); send the drop again"
    )


def _zipped_in(folder: Path, inner: str) -> Path:
    archive = folder.parent / "nightly.zip"
    with zipfile.ZipFile(archive, "w") as z:
        for f in folder.iterdir():
            z.write(f, f"{inner}{f.name}")
    return archive


def test_a_zip_refused_for_its_layout_is_labelled_a_zip(sync, tiny, tmp_path):
    run = sync.plan(_zipped_in(tiny.write(tmp_path), "export/2026/"))
    assert (run.status, run.source_kind) == ("failed", "zip")


def test_zip_with_files_in_one_subfolder_is_accepted(sync, tiny, tmp_path):
    run = sync.plan(_zipped_in(tiny.write(tmp_path), "export/"))
    assert run.status == "planned" and run.source_kind == "zip"
    assert run.changes["students"]["create"] == 10


def test_unreadable_file_fails_the_run(sync, tiny, tmp_path):
    folder = tiny.write(tmp_path)
    (folder / "orgs.csv").write_bytes(b"")
    run = sync.plan(folder)
    assert run.status == "failed"
    assert run.error == "orgs.csv: the file is empty; expected a header line"


def test_bom_crlf_quoted_and_reordered_headers_are_accepted(sync, tiny, tmp_path):
    folder = tiny.write(tmp_path)
    lines = (folder / "orgs.csv").read_text().splitlines()
    header = lines[0].split(",")
    rows = [line.split(",") for line in lines[1:]]
    order = list(reversed(range(len(header))))
    new_header = ",".join(f'"{header[i].upper()}"' for i in order)
    body = ["\ufeff" + new_header] + [",".join(r[i] for i in order) for r in rows]
    (folder / "orgs.csv").write_bytes("\r\n".join(body).encode() + b"\r\n")
    run = sync.plan(folder)
    assert run.status == "planned" and run.rows.error == 0
    assert run.changes["schools"]["create"] == 3


def _users_mode(sync, run) -> str:
    return sync.engine.db.one(
        "SELECT mode FROM run_files WHERE run_id = ? AND file_name = 'users.csv'", [run.run_id]
    )


def _spaced(line: str) -> str:
    """A line written in the `"a", "b"` style: every value quoted, a space after each comma."""
    return ", ".join(f'"{value}"' for value in line.split(","))


def _with_spaced_header(path: Path) -> None:
    lines = path.read_text(encoding="utf-8-sig").split("\n")
    path.write_text("\n".join([_spaced(lines[0].replace('"', "")), *lines[1:]]))


def test_a_header_written_a_b_style_is_read_as_its_rows_are(sync, tiny, tmp_path):
    folder = tiny.write(tmp_path)
    _with_spaced_header(folder / "users.csv")
    run = sync.plan(folder)
    assert run.status == "planned", run.error
    assert run.rows.error == 0 and run.changes["students"]["create"] == 10


def test_oneroster_12_is_recognised_by_a_users_header_written_a_b_style(sync, sample, tmp_path):
    drop = tmp_path / "undeclared"
    shutil.copytree(sample / "oneroster12", drop)
    (drop / "manifest.csv").unlink()
    (drop / "roles.csv").unlink()
    _with_spaced_header(drop / "users.csv")
    assert sync.plan(drop).oneroster_version == "1.2"


def test_a_manifest_written_a_b_style_is_read_as_rows_are(sync, tiny, tmp_path):
    folder = tiny.write(tmp_path)
    rows = ["propertyName,value", "oneroster.version,1.1", "file.users,delta"]
    (folder / "manifest.csv").write_text("\n".join(_spaced(row) for row in rows) + "\n")
    run = sync.plan(folder)
    assert run.status == "planned", run.error
    assert _users_mode(sync, run) == "delta"  # the manifest was read


def test_a_header_with_text_after_a_closing_quote_is_refused_naming_the_column(
    sync, tiny, tmp_path
):
    folder = tiny.write(tmp_path)
    users = folder / "users.csv"
    users.write_text(users.read_text().replace("status,", '"status"x,', 1))
    run = sync.plan(folder)
    assert run.status == "failed"
    assert run.error == (
        "users.csv line 1, column 2: the header could not be read (text after a closing quote)"
    )


def test_windows_1252_file_is_converted_with_a_warning(sync, tiny, tmp_path):
    tiny.row("users.csv", "stu-6")["familyName"] = "Moréau"
    folder = tiny.write(tmp_path)
    text = (folder / "users.csv").read_text(encoding="utf-8")
    (folder / "users.csv").write_bytes(text.encode("cp1252"))
    run = sync.plan(folder)
    assert run.status == "planned"
    warning = next(i for i in sync.issues(run) if i["rule"] == "encoding")
    assert "users.csv is not UTF-8" in warning["message"] and "Windows-1252" in warning["message"]
    assert warning["column_name"] == "familyName"
    assert ", column familyName:" in warning["message"]
    created = sync.engine.db.one(
        f"SELECT family_name FROM run_{run.run_id}.plan_users WHERE sis_id = 'stu-6'"
    )
    assert created == "Moréau"


def test_file_mixing_encodings_is_refused(sync, tiny, tmp_path):
    tiny.row("users.csv", "stu-6")["familyName"] = "Moréau"
    folder = tiny.write(tmp_path)
    data = (
        folder / "users.csv"
    ).read_bytes() + "x,,,true,sch-a,student,z,,Zoë,Ba\xe9,,,,,,,,\n".encode("latin-1")
    (folder / "users.csv").write_bytes(data)
    run = sync.plan(folder)
    assert run.status == "failed"
    assert "mixes UTF-8 with another encoding" in run.error
    assert "users.csv line 24, column givenName:" in run.error  # Zoë, its first byte not UTF-8


def test_a_file_mixing_encodings_is_refused_though_it_ends_inside_a_character(sync, tiny, tmp_path):
    """Only a file that is UTF-8 to its last bytes was cut inside a character."""
    tiny.row("users.csv", "stu-6")["familyName"] = "Moréau"
    folder = tiny.write(tmp_path)
    users = folder / "users.csv"
    users.write_bytes(users.read_bytes() + b"x,,,true,sch-a,student,z,,Zo\xeb,Ba\n" + b"y,\xc3")
    run = sync.plan(folder)
    assert run.status == "failed"
    assert "users.csv line 24, column givenName: mixes UTF-8 with another" in run.error


def test_a_manifest_cut_inside_a_character_is_refused_as_cut(sync, tiny, tmp_path):
    """A manifest cut short may have lost the line that makes a file a delta: never guessed."""
    folder = tiny.write(tmp_path)
    (folder / "manifest.csv").write_bytes(
        b"propertyName,value\nfile.users,bulk\nsource.systemName,Syst" + "è".encode()[:1]
    )
    run = sync.plan(folder)
    assert run.status == "failed"
    assert run.error.startswith(
        "manifest.csv line 3, column value: the file ends inside a character, with no line end"
    ), run.error
    assert "send the whole file again" in run.error


def _manifest_with_a_vendor_name(folder: Path, name: str, encoding: str) -> None:
    rows = ["propertyName,value", "file.users,delta", f"source.systemName,{name}"]
    (folder / "manifest.csv").write_bytes("\n".join(rows).encode(encoding) + b"\n")


def test_a_manifest_in_windows_1252_is_converted_with_a_warning(sync, tiny, tmp_path):
    folder = tiny.write(tmp_path)
    _manifest_with_a_vendor_name(folder, "Système", "cp1252")
    run = sync.plan(folder)
    assert run.status == "planned", run.error
    (warning,) = [i for i in sync.issues(run) if i["rule"] == "encoding"]
    assert (warning["file_name"], warning["line"], warning["column_name"]) == (
        "manifest.csv",
        3,
        "value",
    )
    assert warning["message"].startswith("manifest.csv line 3, column value: manifest.csv is not")
    assert _users_mode(sync, run) == "delta"  # the manifest was read


def test_a_windows_1252_manifest_opening_with_a_byte_order_mark_is_read(sync, tiny, tmp_path):
    folder = tiny.write(tmp_path)
    _manifest_with_a_vendor_name(folder, "Système", "cp1252")
    manifest = folder / "manifest.csv"
    manifest.write_bytes(b"\xef\xbb\xbf" + manifest.read_bytes())
    run = sync.plan(folder)
    assert run.status == "planned", run.error
    assert _users_mode(sync, run) == "delta"  # the manifest was read


def test_a_manifest_mixing_encodings_is_refused_naming_line_and_column(sync, tiny, tmp_path):
    folder = tiny.write(tmp_path)
    _manifest_with_a_vendor_name(folder, "Système", "utf-8")
    with open(folder / "manifest.csv", "ab") as out:
        out.write(b"source.systemCode,caf\xe9\n")
    run = sync.plan(folder)
    assert run.status == "failed"
    assert run.error.startswith("manifest.csv line 4, column value: mixes UTF-8 with another")


def test_every_refused_file_is_named_at_once(sync, tiny, tmp_path, applied):
    folder = tiny.write(tmp_path)
    for name in ("users.csv", "classes.csv"):
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data.replace(b"\n", "\n\u00e9,".encode(), 1) + b"\x81\xe9\n")
    run = sync.plan(folder)
    assert run.status == "failed"
    assert run.error.count("re-export the file as UTF-8") == 2
    assert "users.csv line" in run.error and "classes.csv line" in run.error
    assert _directory_snapshot(sync.engine.db) == applied


def test_manifest_modes_are_recorded_per_file(sync, tiny):
    tiny.manifest = {
        "manifest.version": "1.0",
        "oneroster.version": "1.1",
        "file.users": "bulk",
        "file.classes": "bulk",
        "file.enrollments": "delta",
        "file.orgs": "bulk",
        "file.demographics": "absent",
    }
    for row in tiny.rows("enrollments.csv"):
        row.update(status="active", dateLastModified="2026-11-01T06:00:00Z")
    run = sync.plan(tiny)
    modes = {f.file_name: (f.mode, f.entity) for f in run.files}
    assert modes["enrollments.csv"] == ("delta", "enrollments")
    assert modes["users.csv"] == ("bulk", "users")
    assert modes["demographics.csv"] == (None, None)  # declared absent: listed, not loaded


def test_oneroster_12_is_recognised_by_its_headers(sync, sample):
    run = sync.plan(sample / "oneroster12")
    assert run.oneroster_version == "1.2"
    assert run.status == "planned" and run.rows.error == 0
    assert run.changes["students"]["create"] == 6


def test_oneroster_12_declared_in_the_manifest_is_recognised_without_12_headers(sync, tiny):
    # The tiny district's files have 1.1 headers and no roles.csv: only the manifest says 1.2.
    tiny.manifest = {"manifest.version": "1.0", "oneroster.version": "1.2"}
    run = sync.plan(tiny)
    assert run.oneroster_version == "1.2"
    assert run.status == "planned" and run.rows.error == 0


def test_oneroster_11_declared_in_the_manifest_wins_over_12_headers(sync, sample, tmp_path):
    drop = tmp_path / "declared11"
    shutil.copytree(sample / "oneroster12", drop)
    manifest = drop / "manifest.csv"
    manifest.write_text(
        manifest.read_text().replace("oneroster.version,1.2", "oneroster.version,1.1")
    )
    run = sync.plan(drop)
    assert run.oneroster_version == "1.1"
    # Read as 1.1, the 1.2 users.csv lacks the columns 1.1 requires.
    assert run.status == "failed"
    assert run.error == "users.csv line 1: missing required columns orgSourcedIds, role"


def test_oneroster_12_without_a_manifest_is_recognised_by_the_users_header(sync, sample, tmp_path):
    drop = tmp_path / "undeclared"
    shutil.copytree(sample / "oneroster12", drop)
    (drop / "manifest.csv").unlink()
    (drop / "roles.csv").unlink()  # a 1.2-only file would give the version away too
    run = sync.plan(drop)
    assert run.oneroster_version == "1.2"
    # Without roles.csv no user has a role: each users.csv row says so (and is kept).
    messages = {i["message"] for i in sync.issues(run, "ERROR")}
    assert (
        "users.csv line 2: the user has no role: the drop has no roles.csv and users.csv no role column; the row was skipped"
        in messages
    )
    assert run.rows.error == 8


def test_unsupported_oneroster_version_in_the_manifest_fails_the_run(sync, tiny, applied):
    tiny.manifest = {"manifest.version": "1.0", "oneroster.version": "2.0"}
    run = sync.plan(tiny)
    assert run.status == "failed"
    assert run.error == "manifest.csv: oneroster.version '2.0' is not supported (1.1 or 1.2)"
    assert _directory_snapshot(sync.engine.db) == applied


def test_run_records_a_content_hash_per_file(sync, tiny):
    run = sync.plan(tiny)
    hashes = {f.file_name: f.sha256 for f in run.files}
    assert all(len(h or "") == 64 for h in hashes.values())
    again = sync.plan(tiny)
    assert again.content_hash == run.content_hash


def test_gradebook_files_are_listed_and_ignored(sync, tiny, tmp_path):
    folder: Path = tiny.write(tmp_path)
    (folder / "lineItems.csv").write_text("sourcedId,title\nli-1,Quiz\n")
    run = sync.plan(folder)
    assert run.status == "planned"
    assert any("lineItems.csv: not rostering data; ignored" in n["message"] for n in run.notes)


def test_a_bulk_file_whose_rows_all_say_active_reads_without_a_note(sync, tiny):
    """Most real full exports fill status with `active`, which the spec leaves empty in bulk:
    a note every night would teach administrators to skip the notes."""
    for row in tiny.rows("users.csv"):
        row["status"] = "active"
    run = sync.plan(tiny)
    assert not [n for n in run.notes if "status" in n["message"]]
    assert run.rows.warning == 0


def test_a_bulk_file_with_rows_marked_tobedeleted_is_read_as_bulk_and_says_so(
    sync, tiny, tiny_applied
):
    """The mark of a changes-only file: read as the manifest says, and the run says so once."""
    tiny.row("users.csv", "stu-4")["status"] = "tobedeleted"
    tiny.row("users.csv", "stu-5")["status"] = "tobedeleted"
    run = sync.plan(tiny)
    [note] = [n["message"] for n in run.notes if "tobedeleted" in n["message"]]
    line = 1 + [r["sourcedId"] for r in tiny.rows("users.csv")].index("stu-4") + 1
    assert note.startswith(
        f"Rows of users.csv (2 rows, first on line {line}) are marked tobedeleted, as a "
        "changes-only file's are; read as bulk all the same"
    )
    assert "mark the files delta in manifest.csv" in note


def test_oneroster_10_inactive_status_is_read_as_active_and_the_run_says_so(
    sync, tiny, tiny_applied
):
    for sis_id in ("stu-4", "stu-5"):
        tiny.row("users.csv", sis_id)["status"] = "Inactive"
    run = sync.plan(tiny)
    [note] = [n["message"] for n in run.notes if "'inactive'" in n["message"]]
    assert note.startswith("users.csv: 2 rows (first on line ")
    assert "read as active" in note
    assert run.total_changes() == 0


def test_a_file_that_changes_while_it_is_read_refuses_the_run(
    sync, tiny, tmp_path, applied, monkeypatch
):
    """A writer still writing (an upload that paused longer than the quiet period): what was
    read is neither the old file nor the new one."""
    import daemon.ingest as ingest

    folder = tiny.write(tmp_path)
    staged = ingest.stage_file

    def stage_then_the_writer_goes_on(db, run_id, file, *args, **kwargs):
        result = staged(db, run_id, file, *args, **kwargs)
        if file.name == "users.csv":
            with open(folder / "users.csv", "a", encoding="utf-8") as late:
                late.write("stu-99,,,true,sch-a,student,late,,Late,Row,,,,,,,,\n")
        return result

    monkeypatch.setattr(ingest, "stage_file", stage_then_the_writer_goes_on)
    run = sync.plan(folder)
    assert run.status == "failed"
    assert run.error.startswith("users.csv: changed while it was read (")
    assert "was it still being written?" in run.error
    assert _directory_snapshot(sync.engine.db) == applied


def test_a_refused_drop_leaves_no_working_tables_in_the_connection(sync, tiny, tmp_path):
    """A daemon's connection lives for months: a drop refused night after night (its first
    file here, the others read to name every refusal) must not keep a day staged."""

    def temporary() -> set[str]:
        return {
            r[0]
            for r in sync.engine.db.rows("SELECT table_name FROM duckdb_tables() WHERE temporary")
        }

    sync.apply(tiny)
    before = temporary()
    folder = tiny.write(tmp_path)
    (folder / "orgs.csv").write_bytes((folder / "orgs.csv").read_bytes() + b"x,\x81\n")
    run = sync.plan(folder)
    assert run.status == "failed" and "orgs.csv" in run.error
    assert temporary() == before


def test_warnings_about_the_files_themselves_are_counted_beside_the_rows(sync, tiny):
    """A manifest's or a header's warning names no data row: the run still counts it, so its
    summary points at the results."""
    tiny.manifest = {"manifest.version": "1.0", "oneroster.version": "1.1",
                     "fiel.demographics": "bulk"}  # fmt: skip
    run = sync.plan(tiny)
    assert run.rows.warning == 0
    manifest_warnings = [i for i in sync.issues(run, "WARNING") if i["file_name"] == "manifest.csv"]
    assert len(manifest_warnings) == run.rows.file_warnings == 1
    summary = render.run_summary(run)
    assert "; 1 warning about the files (manifest, headers)" in summary
    assert f"(see: {render.hint_command()} results {run.run_id})" in summary


@pytest.mark.parametrize("line_end", [b"\r", b"\r\r\n", b"\r\n"], ids=["CR", "CR CR LF", "CR LF"])
def test_an_encoding_warning_names_the_line_the_reader_gives_the_row(
    sync, tiny, tmp_path, line_end
):
    """encoding.locate counts lines apart from the careful reader: both must agree, whatever
    ends the lines above the row (a quoted value holding a line break included)."""
    tiny.row("users.csv", "stu-2")["givenName"] = "Ann\nMarie"
    tiny.row("users.csv", "stu-8").update(givenName="Zoë", email="not-an-email")
    folder = tiny.write(tmp_path)
    text = (folder / "users.csv").read_text(encoding="utf-8")
    lines = text.split("\n")
    # the first half of the file ends its lines with `line_end`, the rest with LF
    head, tail = lines[:5], lines[5:]
    data = (
        line_end.join(x.encode("cp1252") for x in head) + b"\n" + "\n".join(tail).encode("cp1252")
    )
    (folder / "users.csv").write_bytes(data)
    run = sync.plan(folder)
    [encoding] = [i for i in sync.issues(run) if i["rule"] == "encoding"]
    [email] = [
        i for i in sync.issues(run) if i["column_name"] == "email" and i["sourced_id"] == "stu-8"
    ]
    assert (encoding["line"], encoding["column_name"]) == (email["line"], "givenName")


@pytest.mark.parametrize(
    ("file", "column", "other"),
    [
        ("users.csv", "orgSourcedIds", "orgs"),
        ("classes.csv", "termSourcedIds", "termSourcedId"),
        ("classes.csv", "termSourcedIds", "terms"),
    ],
)
def test_a_required_column_under_another_versions_name_is_refused_saying_so(
    sync, tiny, file, column, other
):
    """Public drops name columns as OneRoster 1.0 or the REST binding does (orgs, terms,
    termSourcedId): the refusal says which column the header's name stands for."""
    for row in tiny.rows(file):
        row[other] = row.pop(column)
    run = sync.plan(tiny)
    assert run.error == (
        f"{file} line 1: missing required column {column} ('{other}' is what OneRoster 1.0 or "
        f"the REST binding calls {column}: rename the column)"
    )
