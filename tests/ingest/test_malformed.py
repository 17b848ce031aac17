"""The malformed-input suite: one table of kinds of bad drop, one test per kind.

Each kind says how to break a clean drop and what the drop must get:
- REFUSED: the file or drop is refused with a message naming it (nothing changes);
- KEPT: the row gets an ERROR, and the record it names is kept (rows the reader rejects appear
  in the rejected table with their key; planning keeps the record: see the end-to-end tests);
- WARNING: the drop is read, with a WARNING naming file and line;
- ACCEPTED: read as intended, without any issue.

docs/file-formats.md summarises this table; a test keeps the two in step.
"""

from __future__ import annotations

import collections
import os
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.ingest.reading import Ingested, ingest_folder, line_text, rewrite_line

REFUSED, KEPT, WARNING, ACCEPTED = "refused", "kept", "warning", "accepted"
UNTOLD = "untold"  # a row ERROR whose record cannot be told: the file speaks only for its rows
DOCS = Path(__file__).resolve().parents[2] / "docs" / "file-formats.md"


@dataclass(frozen=True)
class Kind:
    id: str
    build: Callable[[Path], Path]  # breaks the drop written at the path; returns the drop to read
    outcome: str
    expect: str = ""  # REFUSED: in the error; KEPT/WARNING: in the issue's message or rule
    file: str = "users.csv"
    key: str | None = None  # KEPT: the sourcedId named by the broken row
    rejected: bool = True  # KEPT: the reader rejected the row (vs a value error in a staged row)


# ---------------------------------------------------------------------------- builders
def _edit(file: str, starts: str, change: Callable[[str], str]) -> Callable[[Path], Path]:
    def build(drop: Path) -> Path:
        rewrite_line(drop / file, starts, change(line_text(drop / file, starts)))
        return drop

    return build


def _replace_in(file: str, starts: str, old: str, new: str) -> Callable[[Path], Path]:
    return _edit(file, starts, lambda text: text.replace(old, new, 1))


def _bytes(file: str, change: Callable[[bytes], bytes]) -> Callable[[Path], Path]:
    def build(drop: Path) -> Path:
        path = drop / file
        path.write_bytes(change(path.read_bytes()))
        return drop

    return build


def _header(file: str, change: Callable[[str], str]) -> Callable[[Path], Path]:
    def build(drop: Path) -> Path:
        lines = (drop / file).read_text().split("\n")
        lines[0] = change(lines[0])
        (drop / file).write_text("\n".join(lines))
        return drop

    return build


def _write(file: str, text: str) -> Callable[[Path], Path]:
    def build(drop: Path) -> Path:
        (drop / file).write_text(text)
        return drop

    return build


# A manifest's first rows: the version and the four files every drop of the suite has.
_FOUR_FILES_BULK = (
    "oneroster.version,1.1",
    "file.users,bulk",
    "file.classes,bulk",
    "file.enrollments,bulk",
    "file.orgs,bulk",
)


def _manifest(*rows: str) -> Callable[[Path], Path]:
    return _write("manifest.csv", "propertyName,value\n" + "".join(r + "\n" for r in rows))


def _without(file: str, then: Callable[[Path], Path]) -> Callable[[Path], Path]:
    def build(drop: Path) -> Path:
        (drop / file).unlink()
        return then(drop)

    return build


def _zip(layout: Callable[[Path, zipfile.ZipFile], None]) -> Callable[[Path], Path]:
    def build(drop: Path) -> Path:
        archive = drop.parent / "drop.zip"
        with zipfile.ZipFile(archive, "w", compression=zipfile.ZIP_DEFLATED) as z:
            layout(drop, z)
        return archive

    return build


def _all_files(drop: Path, z: zipfile.ZipFile, folder: str = "") -> None:
    for f in sorted(drop.iterdir()):
        z.write(f, folder + f.name)


def _two_users_in_two_folders(drop: Path, z: zipfile.ZipFile) -> None:
    _all_files(drop, z, "district/")
    z.write(drop / "users.csv", "old/users.csv")


def _two_folders_deep(drop: Path, z: zipfile.ZipFile) -> None:
    _all_files(drop, z, "district/2026/")


def _spread_over_two_folders(drop: Path, z: zipfile.ZipFile) -> None:
    for i, f in enumerate(sorted(drop.iterdir())):
        z.write(f, ("a/", "b/")[i % 2] + f.name)


def _duplicate_entry(drop: Path, z: zipfile.ZipFile) -> None:
    import warnings

    _all_files(drop, z)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # zipfile warns about the duplicate name: the point
        z.write(drop / "users.csv", "users.csv")


def _corrupt_entry(drop: Path) -> Path:
    archive = _zip(_all_files)(drop)
    data = bytearray(archive.read_bytes())
    with zipfile.ZipFile(archive) as z:
        info = z.getinfo("users.csv")
    start = info.header_offset + 30 + len(info.filename) + len(info.extra)
    for i in range(start + 10, start + 60):
        data[i] ^= 0x5A
    archive.write_bytes(bytes(data))
    return archive


def _bomb(drop: Path, z: zipfile.ZipFile) -> None:
    _all_files(drop, z)
    z.writestr("padding.bin", b"\0" * (60 * 1024 * 1024))


def _escaping(drop: Path, z: zipfile.ZipFile) -> None:
    _all_files(drop, z)
    z.writestr("../../escaped.csv", "x")


def _symlink(drop: Path) -> Path:
    outside = drop.parent / "elsewhere.csv"
    outside.write_text("sourcedId,name\n")
    (drop / "academicSessions.csv").symlink_to(outside)
    return drop


def _unfinished_pull(drop: Path) -> Path:
    """A pull writes its summary (pull/fetch.json) last: without it, collections are missing."""
    (drop / "pull" / "pages").mkdir(parents=True)
    return drop


def _fifo(drop: Path) -> Path:
    os.mkfifo(drop / "courses.csv")
    return drop


def _with_12_manifest(build: Callable[[Path], Path]) -> Callable[[Path], Path]:
    def wrapped(drop: Path) -> Path:
        (drop / "manifest.csv").write_text(
            "propertyName,value\nmanifest.version,1.0\noneroster.version,1.2\n"
        )
        return build(drop)

    return wrapped


def _student_row(drop: Path) -> str:
    return line_text(drop / "users.csv", "stu-4,")


def _cut_file(drop: Path) -> Path:
    data = (drop / "users.csv").read_bytes()
    (drop / "users.csv").write_bytes(data[: data.rindex(b"tch-2,") + 12])
    return drop


def _unclosed_quote_in_key(drop: Path) -> Path:
    rewrite_line(drop / "users.csv", "stu-3,", '"stu-3,,,true,sch-a,student')
    return drop


def _trailing_commas_everywhere(drop: Path) -> Path:
    path = drop / "users.csv"
    lines = path.read_text().rstrip("\n").split("\n")
    path.write_text("\n".join([lines[0], *(line + "," for line in lines[1:])]) + "\n")
    return drop


def _trailing_empty_header_names(drop: Path) -> Path:
    path = drop / "orgs.csv"
    lines = path.read_text().rstrip("\n").split("\n")
    path.write_text("\n".join(line + ",," for line in lines) + "\n")
    return drop


def _trailing_empty_header_names_only(drop: Path) -> Path:
    """A spreadsheet's trailing commas on the header line alone: the rows are a column short."""
    path = drop / "users.csv"
    lines = path.read_text().rstrip("\n").split("\n")
    path.write_text("\n".join([lines[0] + ",,", *lines[1:]]) + "\n")
    return drop


def _unknown_column_twice(drop: Path) -> Path:
    path = drop / "orgs.csv"
    lines = path.read_text().rstrip("\n").split("\n")
    lines = [lines[0] + ",notes,notes", *(line + ",a,b" for line in lines[1:])]
    path.write_text("\n".join(lines) + "\n")
    return drop


def _header_only_file_without_a_column(drop: Path) -> Path:
    (drop / "academicSessions.csv").write_text("sourcedId,title,startDate\n")
    return drop


def _orgs(*rows: str) -> Callable[[Path], Path]:
    def build(drop: Path) -> Path:
        with open(drop / "orgs.csv", "a") as out:
            out.writelines(r + "\n" for r in rows)
        return drop

    return build


def _department_school(drop: Path) -> Path:
    _orgs("dep-1,,,Science Dept,department,,sch-a")(drop)
    return _class_school("dep-1")(drop)


def _class_school(org: str) -> Callable[[Path], Path]:
    def build(drop: Path) -> Path:
        rewrite_line(
            drop / "classes.csv",
            "cls-a2,",
            line_text(drop / "classes.csv", "cls-a2,").replace(",sch-a,", f",{org},"),
        )
        return drop

    return build


# ---------------------------------------------------------------------------- the table
KINDS = [
    # -- rows whose shape is broken: the record they name is kept
    Kind(
        "unterminated quote",
        _replace_in("users.csv", "stu-3,", ",Cleo,", ',"Cleo,'),
        KEPT,
        "never closed",
        key="stu-3",
    ),
    Kind(
        "stray quote after a closing quote",
        _replace_in("users.csv", "stu-5,", ",Eli,", ',"E"li,'),
        KEPT,
        "stray quote",
        key="stu-5",
    ),
    Kind(
        "row one value short",
        _edit("users.csv", "stu-4,", lambda t: t.rsplit(",", 1)[0]),
        KEPT,
        "column_count",
        key="stu-4",
    ),
    Kind(
        "class row one value short",
        _edit("classes.csv", "cls-a2,", lambda t: t.rsplit(",", 1)[0]),
        KEPT,
        "column_count",
        file="classes.csv",
        key="cls-a2",
    ),
    Kind(
        "5,000 extra values",
        _edit("users.csv", "stu-4,", lambda t: t + ",x" * 5000),
        KEPT,
        "column_count",
        key="stu-4",
    ),
    Kind(
        "unquoted comma in a name",
        _replace_in("users.csv", "stu-2,", ",Ben,", ",Ben, Jr,"),
        KEPT,
        "column_count",
        key="stu-2",
    ),
    Kind(
        "trailing comma on one row",
        _edit("users.csv", "stu-4,", lambda t: t + ","),
        KEPT,
        "column_count",
        key="stu-4",
    ),
    Kind(
        "10 MB value",
        _replace_in("users.csv", "stu-6,", ",Fay,", "," + "F" * 10_000_000 + ","),
        KEPT,
        "value_too_long",
        key="stu-6",
    ),
    Kind(
        "17 MB line",
        _edit("users.csv", "stu-6,", lambda t: t + "x" * 17_000_000),
        KEPT,
        "line_too_long",
        key="stu-6",
    ),
    Kind(
        "enrollment row one value short",
        _edit("enrollments.csv", "enr-4a,", lambda t: t.rsplit(",", 1)[0]),
        KEPT,
        "column_count",
        file="enrollments.csv",
        key="enr-4a",
    ),
    # -- rows whose key cannot be told: the row is an ERROR, the file is read as changes only
    Kind("unterminated quote in the key", _unclosed_quote_in_key, UNTOLD, "a quoted value opened"),
    Kind(
        "row too short to place its key",
        _edit("users.csv", "stu-3,", lambda t: "stu-3,Cleo"),
        UNTOLD,
        "row has 2 values",
    ),
    Kind("file cut in the middle of its last row", _cut_file, UNTOLD, "the file ends in the"),
    Kind(
        "file cut in the key of its last row",
        _bytes("enrollments.csv", lambda b: b[: b.rindex(b"\nenr-") + 6]),
        UNTOLD,
        "the file ends in the middle of this row (in sourcedId)",
        file="enrollments.csv",
    ),
    Kind(
        "file cut inside a quoted value",
        _bytes("users.csv", lambda b: b[: b.rindex(b",Omar,")] + b',"Om'),
        UNTOLD,
        "the file ends in the middle of this row (in givenName)",
    ),
    Kind(
        "file cut inside a character",
        _bytes("users.csv", lambda b: b[: b.rindex(b",Omar,")] + ",Ó".encode()[:2]),
        UNTOLD,
        "the file ends in the middle of this row (in givenName, inside a character)",
    ),
    Kind(
        "trailing comma on every row",
        _trailing_commas_everywhere,
        REFUSED,
        "none of its 22 rows could be read",
    ),
    # -- bytes and encodings
    Kind(
        "NUL byte in a value",
        _replace_in("users.csv", "stu-4,", ",Dev,", ",D\x00ev,"),
        KEPT,
        "NUL",
        key="stu-4",
        rejected=False,
    ),
    Kind(
        "NUL bytes in the header",
        _header("users.csv", lambda h: h.replace(",", "\x00,", 1)),
        REFUSED,
        "line 1: the header contains NUL bytes",
    ),
    Kind(
        "UTF-16 little-endian file without a byte-order mark",
        _bytes("users.csv", lambda b: b.decode().encode("utf-16-le")),
        REFUSED,
        "users.csv line 1, column 1: the file is UTF-16 without a byte-order mark",
    ),
    Kind(
        "UTF-16 file with a byte-order mark",
        _bytes("users.csv", lambda b: b.decode().encode("utf-16")),
        REFUSED,
        "users.csv line 1, column 1: the file is UTF-16 (it starts with the byte-order mark FF FE)",
    ),
    Kind(
        "UTF-16 big-endian file without a byte-order mark",
        _bytes("users.csv", lambda b: b.decode().encode("utf-16-be")),
        REFUSED,
        "users.csv line 1, column 1: the file is UTF-16 without a byte-order mark",
    ),
    Kind(
        "Windows-1252 file",
        _bytes("users.csv", lambda b: b.replace(b"Moreau", "Moréau".encode("cp1252"))),
        WARNING,
        "it was read as Windows-1252",
    ),
    Kind(
        "mixed encodings",
        _bytes(
            "users.csv",
            lambda b: b.replace(b"Moreau", "Moréau".encode()).replace(
                b"Cohen", "Cohén".encode("cp1252")
            ),
        ),
        REFUSED,
        "mixes UTF-8 with another encoding",
    ),
    Kind(
        "byte-order mark at the start", _bytes("users.csv", lambda b: b"\xef\xbb\xbf" + b), ACCEPTED
    ),
    Kind(
        "byte-order mark in the middle",
        _bytes("users.csv", lambda b: b.replace(b"\nstu-4,", b"\n\xef\xbb\xbfstu-4,")),
        WARNING,
        "byte-order mark",
    ),
    Kind("CR-only line ends", _bytes("users.csv", lambda b: b.replace(b"\n", b"\r")), ACCEPTED),
    Kind("CRLF line ends", _bytes("users.csv", lambda b: b.replace(b"\n", b"\r\n")), ACCEPTED),
    Kind(
        "no line end after the last row", _bytes("users.csv", lambda b: b.rstrip(b"\n")), ACCEPTED
    ),
    Kind(
        "blank lines between rows",
        _bytes("users.csv", lambda b: b.replace(b"\nstu-4,", b"\n\n\nstu-4,")),
        ACCEPTED,
    ),
    Kind(
        "quote inside an unquoted value",
        _replace_in("users.csv", "stu-4,", ",Patel,", ',Pa"tel,'),
        ACCEPTED,
    ),
    Kind(
        "quoted line break in a value",
        _replace_in("classes.csv", "cls-a1,", ",homeroom,,", ',homeroom,"Room 4\nNorth wing",'),
        ACCEPTED,
        file="classes.csv",
    ),
    # -- headers
    Kind(
        "header case and space games",
        _header("users.csv", lambda h: " SOURCEDID ," + h.split(",", 1)[1].upper()),
        ACCEPTED,
    ),
    Kind(
        "a known column twice",
        _header("users.csv", lambda h: h.replace("middleName", "givenName")),
        REFUSED,
        "column 'givenName' appears twice",
    ),
    Kind(
        "an unknown column twice", _unknown_column_twice, WARNING, "appears twice", file="orgs.csv"
    ),
    Kind(
        "empty names at the end of the header",
        _trailing_empty_header_names,
        WARNING,
        "without a name; their values are ignored",
        file="orgs.csv",
    ),
    Kind(
        "empty names ending the header only",
        _trailing_empty_header_names_only,
        WARNING,
        "without a name; their values are ignored",
    ),
    Kind(
        "empty name between named columns",
        _header("users.csv", lambda h: h.replace(",middleName,", ",,")),
        REFUSED,
        "a column has no name",
    ),
    Kind(
        "20,000 header columns",
        _header("classes.csv", lambda h: h + "".join(f",x{i}" for i in range(20_000))),
        REFUSED,
        "classes.csv line 1: the header has 20,014 columns; a file may have at most 1,000",
    ),
    Kind(
        "missing required column",
        _header("users.csv", lambda h: h.replace("givenName", "firstName")),
        REFUSED,
        "users.csv line 1: missing required column givenName",
    ),
    Kind(
        "semicolon separated",
        _bytes("orgs.csv", lambda b: b.replace(b",", b";")),
        REFUSED,
        "separated by semicolons",
    ),
    Kind("empty file", _write("orgs.csv", ""), REFUSED, "orgs.csv: the file is empty"),
    Kind(
        "blank line before the header",
        _bytes("users.csv", lambda b: b"\n" + b),
        REFUSED,
        "users.csv line 1: the line is blank; the header must be the first line",
    ),
    Kind(
        "header-only optional file",
        _write(
            "academicSessions.csv",
            "sourcedId,status,dateLastModified,title,type,startDate,endDate,parentSourcedId,schoolYear\n",
        ),
        ACCEPTED,
    ),
    Kind(
        "header-only optional file lacking a column",
        _header_only_file_without_a_column,
        WARNING,
        "the file has no rows, so it is ignored",
        file="academicSessions.csv",
    ),
    # -- identifiers and values
    Kind(
        "bidi override in an id",
        _replace_in("users.csv", "stu-4,", "stu-4,", "stu-\u202e4,"),
        KEPT,
        "U+202E",
        key="stu-\u202e4",
        rejected=False,
    ),
    Kind(
        "zero-width space in an id",
        _replace_in("enrollments.csv", "enr-4a,", ",stu-4,", ",stu-4\u200b,"),
        KEPT,
        "U+200B",
        file="enrollments.csv",
        key="enr-4a",
        rejected=False,
    ),
    Kind(
        "control character in an id",
        _replace_in("users.csv", "stu-4,", "stu-4,", "stu-4\x07,"),
        KEPT,
        "U+0007",
        key="stu-4\x07",
        rejected=False,
    ),
    Kind(
        "no-break space after an id",
        _replace_in("users.csv", "stu-4,", "stu-4,", "stu-4\u00a0,"),
        KEPT,
        "U+00A0",
        key="stu-4\u00a0",
        rejected=False,
    ),
    Kind(
        "date-only dateLastModified",
        _replace_in("users.csv", "stu-4,", "stu-4,,,", "stu-4,,2026-11-01,"),
        WARNING,
        "is a date without a time",
    ),
    Kind(
        "space-separated dateLastModified",
        _replace_in("users.csv", "stu-4,", "stu-4,,,", "stu-4,,2026-11-01 06:00:00,"),
        WARNING,
        "separates date and time with a space",
    ),
    Kind(
        "ext: classType in OneRoster 1.2",
        _with_12_manifest(_replace_in("classes.csv", "cls-a2,", ",scheduled,", ",ext:lab,")),
        ACCEPTED,
        file="classes.csv",
    ),
    Kind(
        "ext: classType in OneRoster 1.1",
        _replace_in("classes.csv", "cls-a2,", ",scheduled,", ",ext:lab,"),
        KEPT,
        "is not one of",
        file="classes.csv",
        key="cls-a2",
        rejected=False,
    ),
    Kind(
        "org that is its own parent",
        _orgs("sch-c,,,Cedar,school,C,sch-c"),
        WARNING,
        "is its own parent",
        file="orgs.csv",
    ),
    Kind(
        "org cycle",
        _orgs("sch-c,,,Cedar,school,C,sch-d", "sch-d,,,Dogwood,school,D,sch-c"),
        WARNING,
        "is its own ancestor",
        file="orgs.csv",
    ),
    Kind(
        "department used as a class's school",
        _department_school,
        WARNING,
        "is a department in orgs.csv",
        file="classes.csv",
    ),
    Kind(
        "district used as a class's school",
        _class_school("dist-1"),
        WARNING,
        "is a district in orgs.csv, not a school; the class is synced under it",
        file="classes.csv",
    ),
    Kind(
        "student enrolled as a teacher",
        _replace_in("enrollments.csv", "enr-1a,", ",student,", ",teacher,"),
        WARNING,
        "is a student in users.csv, enrolled here as a teacher; read as sent",
        file="enrollments.csv",
    ),
    Kind(
        "agentSourcedIds naming a teacher",
        _replace_in("users.csv", "stu-4,", ",gdn-4,", ",tch-1,"),
        WARNING,
        "a teacher; agents are",
    ),
    # -- manifest
    Kind(
        "empty mode for an unused file",
        _manifest(
            *_FOUR_FILES_BULK,
            "file.demographics,bulk",
            "file.scoreScales,",
        ),
        WARNING,
        "Roster Sync does not use scoreScales",
        file="manifest.csv",
    ),
    Kind(
        "manifest without its header row",
        _write(
            "manifest.csv",
            "manifest.version,1.0\noneroster.version,1.1\nfile.users,bulk\nfile.classes,bulk\n"
            "file.enrollments,bulk\nfile.orgs,bulk\nfile.demographics,bulk\n",
        ),
        WARNING,
        "the header 'propertyName,value' is missing",
        file="manifest.csv",
    ),
    Kind(
        "bad mode for a synced file",
        _manifest("oneroster.version,1.1", "file.users,sometimes"),
        REFUSED,
        "manifest.csv line 3: 'file.users' is 'sometimes'",
    ),
    Kind(
        "manifest gives a file two modes",
        _manifest("oneroster.version,1.1", "file.users,bulk", "file.users,delta"),
        REFUSED,
        "manifest.csv lines 3 and 4: file.users is given twice ('bulk', then 'delta')",
    ),
    Kind(
        "manifest lists a missing file",
        _manifest(
            *_FOUR_FILES_BULK,
            "file.demographics,bulk",
            "file.courses,bulk",
        ),
        WARNING,
        "file.courses says bulk, but courses.csv is not in the drop",
        file="manifest.csv",
    ),
    Kind(
        "manifest omits a present file",
        _manifest(
            *_FOUR_FILES_BULK,
        ),
        WARNING,
        "does not list demographics.csv",
        file="manifest.csv",
    ),
    Kind(
        "manifest says absent, file present",
        _manifest(
            *_FOUR_FILES_BULK,
            "file.demographics,absent",
        ),
        WARNING,
        "says demographics.csv is absent",
        file="manifest.csv",
    ),
    Kind(
        "misspelt manifest property",
        _manifest(
            *_FOUR_FILES_BULK,
            "fiel.demographics,bulk",
        ),
        WARNING,
        "manifest.csv line 7: 'fiel.demographics' is no property Roster Sync reads (did you "
        "mean file.demographics?); the row is ignored",
        file="manifest.csv",
    ),
    Kind(
        # A public LEPO sample drop: the row is about a file that is not in the drop, so left
        # out it changes nothing.
        "misspelt manifest row for a file not in the drop",
        _without("demographics.csv", _manifest(*_FOUR_FILES_BULK, "fiel.demographics,absent")),
        WARNING,
        "manifest.csv line 7: 'fiel.demographics' is no property Roster Sync reads (did you "
        "mean file.demographics?); the row is ignored",
        file="manifest.csv",
    ),
    Kind(
        "manifest misspells a file in the drop as absent",
        _manifest(*_FOUR_FILES_BULK, "fiel.demographics,absent"),
        REFUSED,
        "'fiel.demographics' is no property Roster Sync knows; did you mean file.demographics?",
    ),
    Kind(
        "manifest misspells a source property",
        _manifest(*_FOUR_FILES_BULK, "file.demographics,bulk", "source.notCaried,users.email"),
        REFUSED,
        "'source.notcaried' is no property Roster Sync knows; did you mean source.notCarried?",
    ),
    Kind(
        "manifest misspells a synced file",
        _manifest(
            *_FOUR_FILES_BULK,
            "file.demographics,bulk",
            "file.enrolments,delta",
        ),
        REFUSED,
        "'file.enrolments' is no property Roster Sync knows; did you mean file.enrollments?",
    ),
    Kind(
        "manifest names a file no OneRoster version has",
        _manifest(*_FOUR_FILES_BULK, "file.demographics,bulk", "file.attendance,bulk"),
        WARNING,
        "'file.attendance' names no OneRoster file; the row is ignored",
        file="manifest.csv",
    ),
    Kind(
        "manifest version disagrees with the headers",
        _manifest("oneroster.version,1.2"),
        WARNING,
        "users.csv has a OneRoster 1.1 header",
        file="manifest.csv",
    ),
    # -- the drop itself
    Kind(
        "ZIP with users.csv in two folders",
        _zip(_two_users_in_two_folders),
        REFUSED,
        "holds two users.csv ('district/users.csv' and 'old/users.csv')",
    ),
    Kind("ZIP with users.csv twice", _zip(_duplicate_entry), REFUSED, "holds two users.csv"),
    Kind(
        "ZIP with its files two folders deep",
        _zip(_two_folders_deep),
        REFUSED,
        "drop.zip: its CSV files are in 'district/2026/', 2 folders down; a drop's CSV files lie "
        "at its top, or all in one folder alone at its top",
    ),
    Kind(
        "ZIP with its files in two folders",
        _zip(_spread_over_two_folders),
        REFUSED,
        "drop.zip: its CSV files are in 2 folders ('a/', 'b/'); a drop's CSV files lie",
    ),
    Kind(
        "ZIP with a damaged entry",
        _corrupt_entry,
        REFUSED,
        "entry 'users.csv' is damaged and cannot be unpacked",
    ),
    Kind("ZIP bomb", _zip(_bomb), REFUSED, "looks like a ZIP bomb"),
    Kind(
        "ZIP entry escaping the folder",
        _zip(_escaping),
        REFUSED,
        "entry '../../escaped.csv' would escape the extraction folder",
    ),
    Kind(
        "symbolic link in a folder drop",
        _symlink,
        REFUSED,
        "academicSessions.csv: is a symbolic link",
    ),
    Kind("FIFO in a folder drop", _fifo, REFUSED, "courses.csv: is not a regular file"),
    Kind(
        "API pull that did not finish",
        _unfinished_pull,
        REFUSED,
        "this folder holds an API pull that did not finish",
    ),
]
KINDS_BY_ID = {k.id: k for k in KINDS}
assert len(KINDS_BY_ID) == len(KINDS), "kind ids are unique"


@pytest.fixture
def db(new_database):
    return new_database


@pytest.mark.parametrize("kind", KINDS, ids=[k.id for k in KINDS])
def test_malformed_kind(kind: Kind, db, tiny, tmp_path):
    drop = kind.build(tiny.write(tmp_path / "drops"))
    outcome = ingest_folder(db, drop, tmp_path / "work")
    if kind.outcome == REFUSED:
        assert outcome.error is not None, "expected the drop to be refused"
        assert kind.expect in outcome.error, outcome.error
        assert "\n" not in outcome.error
        return
    assert outcome.error is None, outcome.error
    for issue in outcome.issues:  # every result names its file, and its line when it has one
        where = issue["file_name"] + (f" line {issue['line']}" if issue["line"] else ":")
        assert issue["message"].startswith(where), issue
    if kind.outcome == ACCEPTED:
        concerned = [i for i in outcome.issues if i["file_name"] == kind.file]
        assert concerned == [], concerned
    elif kind.outcome == WARNING:
        _assert_warning(kind, outcome)
    elif kind.outcome == UNTOLD:
        errors = [
            i for i in outcome.issues if i["file_name"] == kind.file and i["severity"] == "ERROR"
        ]
        assert any(kind.expect in i["message"] for i in errors), errors
        assert outcome.untold[kind.file.removesuffix(".csv")] is not None
    else:
        _assert_kept(kind, outcome)


def _assert_warning(kind: Kind, outcome: Ingested) -> None:
    assert not [i for i in outcome.issues if i["severity"] == "ERROR"], outcome.issues
    matching = [
        i for i in outcome.issues if i["file_name"] == kind.file and kind.expect in i["message"]
    ]
    assert matching, outcome.issues
    assert all(i["severity"] == "WARNING" for i in matching)


def _assert_kept(kind: Kind, outcome: Ingested) -> None:
    errors = [
        i
        for i in outcome.issues
        if i["severity"] == "ERROR"
        and i["file_name"] == kind.file
        and (kind.expect in i["message"] or kind.expect == i["rule"])
    ]
    assert errors, outcome.issues
    assert errors[0]["sourced_id"] == kind.key
    entity = kind.file.removesuffix(".csv")
    rejected_keys = [r["sourcedId"] for r in outcome.rejected[entity]]
    if kind.rejected:
        assert kind.key in rejected_keys
        assert kind.key not in outcome.staged_keys[entity]
    else:  # a value error: the row is staged and planning sees its ERROR
        assert kind.key in outcome.staged_keys[entity]


def test_the_docs_summarise_every_kind():
    text = DOCS.read_text(encoding="utf-8")
    section = text[text.index("## Malformed input") :]
    listed = {line.split("|")[1].strip() for line in section.splitlines() if line.startswith("| ")}
    assert {k.id for k in KINDS} <= listed, sorted({k.id for k in KINDS} - listed)
    assert f"{len(KINDS)} kinds" in section
    counts = collections.Counter(k.outcome for k in KINDS)
    told = " ".join(section[: section.index("| kind |")].split())
    assert f"{counts[REFUSED]} are refused, {counts[KEPT]} give a row ERROR and keep" in told
    assert f"{counts[UNTOLD]} give a row ERROR naming no record" in told
    assert f"{counts[WARNING]} are read with a WARNING, and {counts[ACCEPTED]} are read" in told


# ---------------------------------------------------------------------------- end to end
END_TO_END = [k for k in KINDS if k.outcome == KEPT and k.rejected and k.file == "users.csv"]


@pytest.mark.parametrize("kind", END_TO_END, ids=[k.id for k in END_TO_END])
def test_a_broken_row_keeps_its_student_and_enrollments(
    kind: Kind, sync, tiny, tmp_path, tiny_applied
):
    db = sync.engine.db
    before = db.dicts(
        "SELECT u.user_id, u.status, count(e.enrollment_id) AS enrollments FROM users u "
        "LEFT JOIN enrollments e ON e.user_id = u.user_id AND e.status = 'active' "
        "WHERE u.sis_id = ? GROUP BY ALL",
        [kind.key],
    )
    drop = kind.build(tiny.write(tmp_path / "day2"))
    run = sync.plan(drop)
    assert run.status in ("planned", "held"), run.error
    sync.engine.apply_run(run.run_id, override=True, scan_duplicates=False)
    after = db.dicts(
        "SELECT u.user_id, u.status, count(e.enrollment_id) AS enrollments FROM users u "
        "LEFT JOIN enrollments e ON e.user_id = u.user_id AND e.status = 'active' "
        "WHERE u.sis_id = ? GROUP BY ALL",
        [kind.key],
    )
    assert after == before and before[0]["enrollments"] > 0


@pytest.mark.parametrize("kind", END_TO_END, ids=[k.id for k in END_TO_END])
def test_a_broken_rows_enrollments_are_no_dangling_references(
    kind: Kind, sync, tiny, tmp_path, tiny_applied
):
    """The student is in users.csv, on a row in error: its memberships stay, and say nothing
    false about it."""
    run = sync.plan(kind.build(tiny.write(tmp_path / "day2")))
    dangling = sync.engine.db.rows(
        "SELECT message FROM row_issues WHERE run_id = ? AND rule = 'dangling_reference' "
        "AND file_name = 'enrollments.csv'",
        [run.run_id],
    )
    assert dangling == []
