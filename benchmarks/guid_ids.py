"""A generated district with GUIDs for ids: the same district, every sourcedId (and every id a
row names) replaced by a GUID made from it, the same way in both days.

The generator's ids are short ("stu-0000001", 11 characters); many SIS exports use GUIDs (36).
DuckDB keeps a string of up to 12 bytes inside the value and a longer one apart, so every copy,
hash and comparison of an id costs more: the harness on this copy shows whether a step depends
on short ids. Columns are the spec's id and id-list columns (daemon/formats/spec.py); other files
(manifest.csv, expected.json: counts only) are copied as they are.

    python benchmarks/guid_ids.py SRC_DIR OUT_DIR      # e.g. district-1000000-seed7-rate0.01
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

import duckdb

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from daemon.db import sql_ident, sql_literal  # noqa: E402
from daemon.formats.spec import ONEROSTER_11, ValueType  # noqa: E402


def _guid(expr: str) -> str:
    """SQL: the GUID of an id (its MD5 in the 8-4-4-4-12 form); NULL and '' stay as they are."""
    h = f"md5({expr})"
    parts = ", ".join(f"substr({h}, {start}, {length})" for start, length in _GUID_PARTS)
    return f"CASE WHEN {expr} IS NULL OR {expr} = '' THEN {expr} ELSE concat_ws('-', {parts}) END"


_GUID_PARTS = ((1, 8), (9, 4), (13, 4), (17, 4), (21, 12))


def _column_sql(name: str, kind: ValueType | None) -> str:
    quoted = sql_ident(name)
    if kind is ValueType.ID:
        return f"{_guid(quoted)} AS {quoted}"
    if kind is ValueType.ID_LIST:
        each = _guid("trim(v)")
        return (
            f"CASE WHEN {quoted} IS NULL OR {quoted} = '' THEN {quoted} ELSE "
            f"array_to_string(list_transform(string_split({quoted}, ','), lambda v: {each}), ',') "
            f"END AS {quoted}"
        )
    return quoted


def convert_day(con: duckdb.DuckDBPyConnection, src: Path, out: Path) -> None:
    out.mkdir(parents=True, exist_ok=True)
    for path in sorted(src.iterdir()):
        spec = ONEROSTER_11.spec_for_file(path.name)
        if spec is None:
            shutil.copyfile(path, out / path.name)
            continue
        header = path.open(encoding="utf-8").readline().rstrip("\r\n").split(",")
        kinds = {c.name: c.type for c in spec.columns}
        columns = ", ".join(_column_sql(n, kinds.get(n)) for n in header)
        types = ", ".join(f"{sql_literal(n)}: 'VARCHAR'" for n in header)
        source = (
            f"read_csv({sql_literal(str(path))}, header = true, auto_detect = false, "
            f"columns = {{{types}}}, delim = ',', quote = '\"', escape = '\"', strict_mode = true)"
        )
        con.execute(
            f"COPY (SELECT {columns} FROM {source}) TO {sql_literal(str(out / path.name))} "
            "(HEADER, DELIMITER ',', QUOTE '\"', ESCAPE '\"')"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("src", type=Path)
    parser.add_argument("out", type=Path)
    args = parser.parse_args()
    con = duckdb.connect()
    con.execute("SET preserve_insertion_order = true")
    started = time.perf_counter()
    for day in ("day1", "day2"):
        convert_day(con, args.src / day, args.out / day)
    for path in args.src.iterdir():
        if path.is_file():
            shutil.copyfile(path, args.out / path.name)
    print(f"{args.out}: converted in {time.perf_counter() - started:.1f} s")


if __name__ == "__main__":
    main()
