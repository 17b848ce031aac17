"""The CLI prints no escape sequence: what a command prints goes through `printable`.

A database may hold a value with control characters (stored before ingest refused them, or typed
into an older version): the text output shows U+FFFD in their place; `--json` stays the same
JSON (the characters written as \\u escapes), so scripts read the value as it is."""

from __future__ import annotations

import csv
import json
import re
import sys

from daemon.db import Database

HOSTILE = "Cl\x1b[31mRED\x1b[0maire\x1b]0;PWNED\x07"
SHOWN = "Cl\ufffd[31mRED\ufffd[0maire\ufffd]0;PWNED\ufffd"
# A C1 control (CSI, as one character), DEL and a right-to-left override.
C1_AND_BIDI = "Ro\x9b2Jbin\x7f\u202eevil"
RAW = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def _store(db_path, **values: str) -> tuple[str, str]:
    """Give a student of day one these values with SQL, as an older version stored them."""
    db = Database(db_path)
    try:
        sis_id, family = db.rows(
            "SELECT sis_id, family_name FROM users WHERE role = 'student' AND status = 'active' "
            "ORDER BY sis_id LIMIT 1"
        )[0]
        for name, value in values.items():
            db.execute(f"UPDATE users SET {name} = ? WHERE sis_id = ?", [value, sis_id])
        db.execute("CHECKPOINT")
    finally:
        db.close()
    return sis_id, family


def test_find_and_show_print_no_escape(cli, day1_db, db_path):
    sis_id, family = _store(db_path, given_name=HOSTILE, middle_name=C1_AND_BIDI)
    code, out, err = cli("users", "find", family)
    assert code == 0, err
    assert SHOWN in out
    assert RAW.search(out + err) is None
    code, out, err = cli("users", "show", sis_id)
    assert code == 0, err
    assert f"{SHOWN} {family}" in out
    assert RAW.search(out + err) is None


def test_a_name_holding_a_line_break_stays_on_its_records_line(cli, day1_db, db_path):
    # a quoted value may hold a line break (ingest reads it as part of the value)
    sis_id, family = _store(db_path, given_name="Avery\n  SIS id      fake")
    code, out, err = cli("users", "show", sis_id)
    assert code == 0, err
    assert out.splitlines()[0].startswith(f"Avery   SIS id      fake {family}  (user ")
    assert [line for line in out.splitlines() if "SIS id" in line][1:] == [
        f"  SIS id      {sis_id}"
    ]
    code, out, err = cli("users", "find", family)
    assert code == 0, err
    assert not [line for line in out.splitlines() if line.startswith("  SIS id")]


def test_json_output_is_the_same_value_without_raw_controls(cli, day1_db, db_path):
    sis_id, _ = _store(db_path, given_name=HOSTILE, family_name=C1_AND_BIDI)
    code, out, err = cli("users", "show", sis_id, "--json")
    assert code == 0, err
    assert RAW.search(out) is None
    shown = json.loads(out)
    assert shown["given_name"] == HOSTILE
    assert shown["family_name"] == C1_AND_BIDI


def test_an_error_quoting_a_value_prints_no_escape(cli, day1_db):
    code, out, err = cli("users", "show", "x\x1b]0;PWNED\x07y")
    assert code != 0
    assert err.startswith("roster-sync: ")
    assert "\ufffd]0;PWNED\ufffd" in err
    assert RAW.search(out + err) is None


def test_results_print_no_escape(cli, sample, day1_db, tmp_path):
    """A row in error quotes its value in a message (an email that is not one)."""
    drop = tmp_path / "day2"
    drop.mkdir()
    for path in (sample / "day1").iterdir():
        (drop / path.name).write_bytes(path.read_bytes())
    with open(drop / "users.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    rows[1][rows[0].index("email")] = "a\x1b[2Jb"
    with open(drop / "users.csv", "w", encoding="utf-8", newline="") as handle:
        csv.writer(handle, lineterminator="\n").writerows(rows)
    code, out, err = cli("run", str(drop), "--json")
    assert code == 0, err
    run_id = json.loads(out)["run_id"]
    code, out, err = cli("results", str(run_id))
    assert code == 0, err
    assert "email contains a control character (ESC, U+001B)" in out
    assert "a\ufffd[2Jb" in out
    assert RAW.search(out + err) is None


def test_the_streams_are_given_back(cli, day1_db):
    before = sys.stdout, sys.stderr
    cli("runs")
    assert (sys.stdout, sys.stderr) == before


def test_json_as_pydantic_writes_it_stays_the_same_json():
    """pydantic (`model_dump_json`) writes characters past ASCII as they are: C1 controls and
    bidirectional overrides too. `json_printable` escapes them; the JSON reads the same."""
    from pydantic import BaseModel

    from daemon.formats.controls import json_printable

    class Shown(BaseModel):
        name: str

    value = Shown(name=f"{C1_AND_BIDI}\t{HOSTILE}\n\u00e9")
    text = value.model_dump_json(indent=2)
    assert RAW.search(text) is not None
    printed = json_printable(text)
    assert RAW.search(printed) is None
    assert Shown.model_validate_json(printed) == value


def test_the_progress_line_keeps_its_own_redraw_and_nothing_else():
    """The CLI's progress bar (daemon/progress.py) redraws its line with CR and erase-line: a
    write opening with them is the bar's own; a label it shows is text like any other."""
    import io

    from daemon.cli.render import PrintableStream
    from daemon.formats.controls import printable

    written = io.StringIO()
    stream = PrintableStream(written, printable)
    stream.write("\r\x1b[2KReading users.csv ... \x1b]0;PWNED\x07")
    stream.write("value \r\x1b[2K")
    assert (
        written.getvalue()
        == "\r\x1b[2KReading users.csv ... \ufffd]0;PWNED\ufffdvalue \ufffd\ufffd[2K"
    )


def test_a_run_s_source_holding_a_line_break_stays_on_its_line(cli, sample, tmp_path):
    # a folder name may hold a line break; `show` and `runs` print it on the source's own line
    drop = tmp_path / "night\nRun 9: APPLIED"
    drop.mkdir()
    for path in (sample / "day1").iterdir():
        (drop / path.name).write_bytes(path.read_bytes())
    code, out, err = cli("run", str(drop))
    assert code == 0, err
    assert not [line for line in out.splitlines() if line.startswith("Run 9")]
    assert "night Run 9: APPLIED (folder, OneRoster" in out
    code, out, err = cli("runs")
    assert code == 0, err
    assert len(out.splitlines()) == 2
