"""Measure ingest on hostile files at doubling sizes, to see that every step stays linear.

    .venv/bin/python benchmarks/hostile_ingest.py [--scale N]

Each case is read at size n and 2n; the ratio of the times should stay near 2 (a quadratic step
shows as 4). Prints seconds and peak RSS. Not a test: speed targets live in benchmarks."""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from daemon.db import Database
from tests.district import TinyDistrict
from tests.ingest.reading import ingest_folder


def _users_line(i: int) -> str:
    return f"stu-x{i},,,true,sch-a,student,u{i},,Given{i},Family{i},,S{i},,,,,05,"


def wide_header(drop: Path, n: int) -> None:
    path = drop / "classes.csv"
    lines = path.read_text().split("\n")
    lines[0] += "".join(f",x{i}" for i in range(n))
    path.write_text("\n".join(lines))


def many_columns(drop: Path, n: int) -> None:
    """980 extra (unknown) columns, n rows."""
    path = drop / "orgs.csv"
    lines = path.read_text().rstrip("\n").split("\n")
    extra = "".join(f",m{i}" for i in range(980))
    values = "," * 980
    rows = [lines[0] + extra] + [line + values for line in lines[1:]]
    rows += [f"sch-z{i},,,Z{i},school,,dist-1{values}" for i in range(n)]
    path.write_text("\n".join(rows) + "\n")


def one_row_many_values(drop: Path, n: int) -> None:
    with open(drop / "users.csv", "a") as out:
        out.write(_users_line(0) + ",x" * n + "\n")


def many_short_rows(drop: Path, n: int) -> None:
    with open(drop / "users.csv", "a") as out:
        out.writelines(_users_line(i).rsplit(",", 1)[0] + "\n" for i in range(n))


def rows_with_extras(drop: Path, n: int) -> None:
    with open(drop / "users.csv", "a") as out:
        out.writelines(_users_line(i) + ",x" * 100 + "\n" for i in range(n))


def unclosed_quote_early(drop: Path, n: int) -> None:
    path = drop / "users.csv"
    lines = path.read_text().rstrip("\n").split("\n")
    lines[2] = lines[2].replace(",Ben,", ',"Ben,')
    lines += [_users_line(i) for i in range(n)]
    path.write_text("\n".join(lines) + "\n")


def stray_quotes_everywhere(drop: Path, n: int) -> None:
    with open(drop / "users.csv", "a") as out:
        out.writelines(
            _users_line(i).replace(f",Given{i},", f',"Given{i},') + "\n" for i in range(n)
        )


def one_id_on_every_row(drop: Path, n: int) -> None:
    """Every row repeats one sourcedId: every hash is shared, so the repeated-key check groups
    the whole file (the case its sort of hashes does not shorten)."""
    with open(drop / "users.csv", "a") as out:
        out.writelines(_users_line(i).replace(f"stu-x{i},", "stu-x0,", 1) + "\n" for i in range(n))


def no_id_on_any_row(drop: Path, n: int) -> None:
    """Rows without a sourcedId (each an error): their key's hash is the same empty value."""
    with open(drop / "users.csv", "a") as out:
        out.writelines(_users_line(i).replace(f"stu-x{i},", ",", 1) + "\n" for i in range(n))


CASES = {
    "20,000-column header (refused at line 1)": (wide_header, 20_000),
    "980 unknown columns": (many_columns, 2_000),
    "one row with many extra values": (one_row_many_values, 100_000),
    "rows one value short": (many_short_rows, 20_000),
    "rows with 100 extra values": (rows_with_extras, 5_000),
    "unclosed quote on line 3": (unclosed_quote_early, 20_000),
    "an unclosed quote on every row": (stray_quotes_everywhere, 10_000),
    "one sourcedId on every row": (one_id_on_every_row, 50_000),
    "no sourcedId on any row": (no_id_on_any_row, 50_000),
}


def run(build, n: int) -> tuple[float, str]:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        drop = TinyDistrict().write(root / "drops")
        build(drop, n)
        db = Database(root / "bench.duckdb")
        try:
            started = time.perf_counter()
            outcome = ingest_folder(db, drop, root / "work")
            return time.perf_counter() - started, (outcome.error or "read")[:70]
        finally:
            db.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--scale", type=float, default=1.0)
    args = parser.parse_args()
    for name, (build, n) in CASES.items():
        n = max(1, int(n * args.scale))
        t1, what = run(build, n)
        t2, _ = run(build, 2 * n)
        rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(
            f"{name:45} n={n:>7,}: {t1:6.2f}s  2n: {t2:6.2f}s  ratio {t2 / max(t1, 1e-3):4.1f}"
            f"  peak {rss:5.0f} MB  ({what})"
        )


if __name__ == "__main__":
    main()
