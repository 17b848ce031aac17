"""Generate the sample drops of the fictional Maplewood Unified School District.

    python sample_data/generate.py

Writes next to this file, replacing earlier output: day1/, day2/, day3_broken/, day4.zip,
oneroster12/ and expected.json. Deterministic (fixed seed, no clock), standard library only.
"""

from __future__ import annotations

import json
import shutil
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from _csvio import (
    PLAIN,
    WINDOWS_EXPORT,
    Drop,
    ReadFile,
    Style,
    manifest_of,
    read_drop,
    table_text,
    write_folder,
    write_zip,
)
from _district import build_district
from _drops import make_day2, make_day3, make_day4
from _expected import (
    Rows,
    State,
    apply_delta,
    as_rows,
    check_references,
    check_shape,
    check_unique,
    diff,
    row_counts,
    state,
)
from _oneroster12 import oneroster12_drop
from _render import bulk_drop

SEED = 20261101
HERE = Path(__file__).resolve().parent
OUTPUTS = ("day1", "day2", "day3_broken", "day4.zip", "oneroster12", "expected.json")


def texts_of(drop: Drop, styles: dict[str, Style] | None = None) -> dict[str, str]:
    styles = styles or {}
    return {name: table_text(table, styles.get(name, PLAIN)) for name, table in drop.items()}


def write_all(out: Path) -> dict[str, Any]:
    """Build the model, write every drop, return what only the generator knows (the events)."""
    for name in OUTPUTS:
        target = out / name
        if target.is_dir():
            shutil.rmtree(target)
        elif target.exists():
            target.unlink()

    day1 = build_district(SEED)
    day1_drop = bulk_drop(day1)
    # Real exports: a byte-order mark, CRLF line ends and quoted header names.
    write_folder(out / "day1", texts_of(day1_drop, {"users.csv": WINDOWS_EXPORT}))

    day2, day2_events = make_day2(day1, SEED + 2)
    day2_drop = bulk_drop(day2)
    write_folder(out / "day2", texts_of(day2_drop))

    day3_texts, bad_rows = make_day3(day2_drop)
    write_folder(out / "day3_broken", day3_texts)

    touched = {*day2_events["leavers"], *day2_events["new_students"]}
    touched |= {day2_events["renamed_student"]["sourcedId"]}
    touched |= {day2_events["bus_route_changed"]["studentSourcedId"]}
    touched |= {day2_events["class_change"]["studentSourcedId"]}
    day4_drop, day4_events = make_day4(day2, SEED + 4, touched)
    write_zip(out / "day4.zip", texts_of(day4_drop))

    write_folder(out / "oneroster12", texts_of(oneroster12_drop()))
    return {
        "cases": day1.cases,
        "day2": day2_events,
        "day3_bad_rows": bad_rows,
        "day4": day4_events,
    }


DUPLICATE_KINDS = (
    ("dup_nickname", "nickname"),
    ("dup_swapped", "swapped_names"),
    ("dup_typo", "family_name_typo_and_day_month_swapped"),
)


def check(files: dict[str, dict[str, ReadFile]], rows: dict[str, Rows], day4_applied: Rows) -> None:
    """Stop with a message if the written drops are not what the brief promises."""
    problems: list[str] = []
    for label in ("day1", "day2", "day4", "oneroster12"):
        problems += check_shape(files[label], label)
        problems += check_unique(rows[label], label)
    for label in ("day1", "day2", "oneroster12"):
        problems += check_references(rows[label], label)
    problems += check_references(day4_applied, "day4 applied to day2")
    if problems:
        sys.exit("generated data is inconsistent:\n  " + "\n  ".join(problems[:40]))


def day3_report(day2: dict[str, ReadFile], day3: dict[str, ReadFile], bad_rows: list[Any]) -> Any:
    for bad in bad_rows:  # the recorded line really holds the recorded row
        assert day3[bad["file"]].rows[bad["line"] - 2][0] == bad["sourcedId"], bad
    bad_users = {b["sourcedId"] for b in bad_rows if b["file"] == "users.csv"}
    in_file = {row[0] for row in day3["users.csv"].rows}
    missing = Counter(r["role"] for r in day2["users.csv"].dicts() if r["sourcedId"] not in in_file)
    return {
        "base": "day2",
        "users_rows_day2": len(day2["users.csv"].rows),
        "users_rows_in_file": len(in_file),
        "users_rows_kept": len(in_file - bad_users),
        "students_archived": missing["student"],
        "users_missing_by_role": dict(sorted(missing.items())),
        "bad_rows": bad_rows,
    }


def expected(out: Path, events: dict[str, Any]) -> dict[str, Any]:
    """Everything the tests check, computed from the files as written."""
    files = {
        "day1": read_drop(out / "day1"),
        "day2": read_drop(out / "day2"),
        "day3_broken": read_drop(out / "day3_broken"),
        "day4": read_drop(out / "day4.zip"),
        "oneroster12": read_drop(out / "oneroster12"),
    }
    rows = {label: as_rows(f) for label, f in files.items()}
    day4_applied = apply_delta(rows["day2"], files["day4"], manifest_of(files["day4"]))
    check(files, rows, day4_applied)

    day1, day2 = state(rows["day1"]), state(rows["day2"])
    day4, oneroster12 = state(day4_applied), state(rows["oneroster12"])
    empty: State = {kind: {} for kind in day1}
    cases = events["cases"]
    drops = {}
    for label, f in files.items():
        manifest = manifest_of(f)
        drops[label] = {
            "path": "day4.zip" if label == "day4" else label,
            "oneroster_version": manifest.get("oneroster.version"),
            "modes": {k: v for k, v in manifest.items() if k.startswith("file.") and v != "absent"},
            "rows": row_counts(f),
        }
    return {
        "district": "Maplewood Unified School District (fictional)",
        "seed": SEED,
        "drops": drops,
        "transitions": {
            "day1": {"base": None, "counts": diff(empty, day1)},
            "day2": {"base": "day1", "counts": diff(day1, day2)},
            "day4": {"base": "day2", "counts": diff(day2, day4)},
            "oneroster12": {"base": None, "counts": diff(empty, oneroster12)},
        },
        "day3_broken": day3_report(files["day2"], files["day3_broken"], events["day3_bad_rows"]),
        "duplicates": {
            "pairs": [[*cases[name], kind] for name, kind in DUPLICATE_KINDS],
            "not_duplicates": [[*cases["twins"], "twins"], [*cases["siblings"], "siblings"]],
        },
        "events": {"day2": events["day2"], "day4": events["day4"]},
    }


def main() -> None:
    events = write_all(HERE)
    result = expected(HERE, events)
    text = json.dumps(result, indent=2, ensure_ascii=False) + "\n"
    (HERE / "expected.json").write_text(text, encoding="utf-8")
    for label, transition in result["transitions"].items():
        counts = {
            k: {op: n for op, n in ops.items() if n} for k, ops in transition["counts"].items()
        }
        print(f"{label}: {json.dumps({k: v for k, v in counts.items() if v})}")


if __name__ == "__main__":
    main()
