"""Check a generated district: load every CSV with DuckDB (strict dialect) and verify integrity.

    python benchmarks/check_district.py DIR [--memory-limit 4GB]

Checks, per day: no rejected rows, row counts as in expected.json, unique sourcedIds, every reference
resolves (enrollment -> class/user, user -> orgs/agents, class -> school/course/term, ...), family
links are symmetric, seven enrollments and one homeroom per student, birth dates fit grades. Across
days: unchanged files are byte-identical, the keyed diff recomputed from the CSV files equals
expected.json, and every changed student differs in exactly one of familyName / email / grades.
Exit status 1 if anything fails.
"""

from __future__ import annotations

import argparse
import filecmp
import json
import sys
import tempfile
from pathlib import Path
from typing import Any

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_common import DIFF_FILES, compare_changes, diff_sql, read_csv_sql, summarize

FILES = ["orgs", "academicSessions", "courses", "classes", "users", "enrollments", "demographics"]
STATIC = ["orgs", "academicSessions", "courses", "classes", "manifest"]

# (description, SQL returning a count that must be zero); {d} is the day's table prefix.
ZERO_CHECKS = [
    ("duplicate sourcedIds in {f}", "SELECT count(*) - count(DISTINCT \"sourcedId\") FROM {d}{f}"),
    ("enrollments with unknown class",
     "SELECT count(*) FROM {d}enrollments e ANTI JOIN {d}classes c ON c.sourcedId = e.classSourcedId"),
    ("enrollments with unknown user",
     "SELECT count(*) FROM {d}enrollments e ANTI JOIN {d}users u ON u.sourcedId = e.userSourcedId"),
    ("enrollments whose school differs from the class's",
     "SELECT count(*) FROM {d}enrollments e JOIN {d}classes c ON c.sourcedId = e.classSourcedId "
     "WHERE e.schoolSourcedId <> c.schoolSourcedId"),
    ("enrollments whose role differs from the user's",
     "SELECT count(*) FROM {d}enrollments e JOIN {d}users u ON u.sourcedId = e.userSourcedId "
     "WHERE e.role <> u.role"),
    ("classes with unknown school",
     "SELECT count(*) FROM {d}classes c ANTI JOIN {d}orgs o "
     "ON o.sourcedId = c.schoolSourcedId AND o.type = 'school'"),
    ("classes with unknown course",
     "SELECT count(*) FROM {d}classes c ANTI JOIN {d}courses k ON k.sourcedId = c.courseSourcedId"),
    ("classes with unknown term",
     "SELECT count(*) FROM {d}classes c ANTI JOIN {d}academicSessions a "
     "ON a.sourcedId = c.termSourcedIds"),
    ("courses with unknown org",
     "SELECT count(*) FROM {d}courses c ANTI JOIN {d}orgs o ON o.sourcedId = c.orgSourcedId"),
    ("orgs with unknown parent",
     "SELECT count(*) FROM {d}orgs c ANTI JOIN {d}orgs o ON o.sourcedId = c.parentSourcedId "
     "WHERE c.parentSourcedId IS NOT NULL"),
    ("user orgSourcedIds naming no org",
     "SELECT count(*) FROM (SELECT unnest(string_split(orgSourcedIds, ',')) AS o FROM {d}users) x "
     "ANTI JOIN {d}orgs o ON o.sourcedId = x.o"),
    ("agentSourcedIds naming no user",
     "SELECT count(*) FROM {d}agents x ANTI JOIN {d}users u ON u.sourcedId = x.agent"),
    ("agent links of the wrong role pair",
     "SELECT count(*) FROM {d}agents x JOIN {d}users u ON u.sourcedId = x.agent "
     "WHERE (x.role = 'student') = (u.role = 'student') OR x.role = 'teacher'"),
    ("agent links not listed on the other side",
     "SELECT count(*) FROM {d}agents x ANTI JOIN {d}agents y "
     "ON y.sourcedId = x.agent AND y.agent = x.sourcedId"),
    ("students without a guardian",
     "SELECT count(*) FROM {d}users WHERE role = 'student' AND agentSourcedIds IS NULL"),
    ("guardians without a student",
     "SELECT count(*) FROM {d}users WHERE role IN ('parent', 'guardian') AND agentSourcedIds IS NULL"),
    ("students without exactly 7 enrollments / 1 homeroom",
     "SELECT count(*) FROM {d}users u LEFT JOIN (SELECT userSourcedId, count(*) AS n, "
     "count(*) FILTER (WHERE c.classType = 'homeroom') AS hr FROM {d}enrollments e "
     "JOIN {d}classes c ON c.sourcedId = e.classSourcedId GROUP BY ALL) e "
     "ON e.userSourcedId = u.sourcedId WHERE u.role = 'student' AND (n IS DISTINCT FROM 7 OR hr <> 1)"),
    ("classes without exactly one teacher",
     "SELECT count(*) FROM {d}classes c LEFT JOIN (SELECT classSourcedId, count(*) AS n "
     "FROM {d}enrollments WHERE role = 'teacher' GROUP BY ALL) e ON e.classSourcedId = c.sourcedId "
     "WHERE n IS DISTINCT FROM 1"),
    ("demographics rows that are not students",
     "SELECT count(*) FROM {d}demographics x ANTI JOIN {d}users u "
     "ON u.sourcedId = x.sourcedId AND u.role = 'student'"),
    ("students without demographics",
     "SELECT count(*) FROM {d}users u ANTI JOIN {d}demographics x ON u.sourcedId = x.sourcedId "
     "WHERE u.role = 'student'"),
    ("birth dates more than one year off the grade",
     "SELECT count(*) FROM {d}ages WHERE abs(age - grade_age) > 1"),
]  # fmt: skip

STATS = {
    "students per class (min/avg/max)": "SELECT min(n), round(avg(n), 1), max(n) FROM (SELECT "
    "count(*) AS n FROM {d}enrollments WHERE role = 'student' GROUP BY classSourcedId)",
    "classes per teacher (min/avg/max)": "SELECT min(n), round(avg(n), 2), max(n) FROM (SELECT "
    "count(*) AS n FROM {d}enrollments WHERE role = 'teacher' GROUP BY userSourcedId)",
    "guardians per student (avg/max)": "SELECT round(avg(n), 3), max(n) FROM (SELECT count(*) AS n "
    "FROM {d}agents WHERE role = 'student' GROUP BY sourcedId)",
    "students per guardian (avg/max)": "SELECT round(avg(n), 3), max(n) FROM (SELECT count(*) AS n "
    "FROM {d}agents WHERE role <> 'student' GROUP BY sourcedId)",
    "birth date exactly fits grade (share)": "SELECT round(avg((age = grade_age)::INT), 4) FROM {d}ages",
}


def load_day(con: duckdb.DuckDBPyConnection, day_dir: Path, d: str) -> None:
    for f in FILES:
        con.execute(f"CREATE TABLE {d}{f} AS SELECT * FROM {read_csv_sql(day_dir / f'{f}.csv', store_rejects=True)}")  # fmt: skip
    con.execute(f"""CREATE TABLE {d}agents AS SELECT sourcedId, role, agent FROM (
        SELECT sourcedId, role, unnest(string_split(agentSourcedIds, ',')) AS agent FROM {d}users)""")
    con.execute(f"""CREATE TABLE {d}ages AS
        SELECT date_diff('year', strptime(x.birthDate, '%Y-%m-%d')::DATE, DATE '2026-09-01')
                 - (strftime(strptime(x.birthDate, '%Y-%m-%d'), '%m-%d') > '09-01')::INT AS age,
               5 + CASE WHEN u.grades = 'KG' THEN 0 ELSE u.grades::INT END AS grade_age
        FROM {d}demographics x JOIN {d}users u USING (sourcedId)""")


def check(out: Path, memory_limit: str = "4GB") -> list[str]:
    expected: dict[str, Any] = json.loads((out / "expected.json").read_text())
    failures: list[str] = []
    with tempfile.TemporaryDirectory(dir=out) as tmp:
        con = duckdb.connect(str(Path(tmp) / "check.duckdb"))
        con.execute(f"SET memory_limit = '{memory_limit}'")
        con.execute("SET python_enable_replacements = false")
        seen = 0  # reject_errors accumulates over loads
        for day in ("day1", "day2"):
            d = f"{day}_"
            load_day(con, out / day, d)
            rejects = con.execute("SELECT count(*) FROM reject_errors").fetchall()[0][0] - seen
            seen += rejects
            if rejects:
                failures.append(f"{day}: {rejects} rows rejected by strict CSV parsing")
            for f in FILES:
                n = con.execute(f"SELECT count(*) FROM {d}{f}").fetchall()[0][0]
                if n != expected["rows"][day][f]:
                    failures.append(f"{day}/{f}.csv: {n} rows, expected.json says {expected['rows'][day][f]}")  # fmt: skip
            for desc, sql in ZERO_CHECKS:
                for f in FILES if "{f}" in sql else [""]:
                    n = con.execute(sql.format(d=d, f=f)).fetchall()[0][0]
                    print(f"  {day}: {desc.format(f=f)}: {n}")
                    if n:
                        failures.append(f"{day}: {desc.format(f=f)}: {n}")
            for desc, sql in STATS.items():
                print(f"  {day}: {desc}: {con.execute(sql.format(d=d)).fetchall()[0]}")
        for f in STATIC:
            if not filecmp.cmp(out / "day1" / f"{f}.csv", out / "day2" / f"{f}.csv", shallow=False):
                failures.append(f"{f}.csv differs between days")
        actual = {n: summarize(con.execute(diff_sql(n, f"day1_{n}", f"day2_{n}")).fetchall())
                  for n in DIFF_FILES}  # fmt: skip
        failures += [f"diff from CSV vs expected.json: {p}" for p in compare_changes(expected["changes"], actual)]  # fmt: skip
        cols = [r[0] for r in con.execute("DESCRIBE day1_users").fetchall()]
        ndiff = " + ".join(f'(a."{c}" IS DISTINCT FROM b."{c}")::INT' for c in cols)
        in_three = " + ".join(f'(a."{c}" IS DISTINCT FROM b."{c}")::INT' for c in ("familyName", "email", "grades"))  # fmt: skip
        bad = con.execute(f"""SELECT count(*) FROM day1_users a JOIN day2_users b USING (sourcedId)
            WHERE a.role = 'student' AND a IS DISTINCT FROM b AND ({ndiff} <> 1 OR {in_three} <> 1)""").fetchall()[0][0]  # fmt: skip
        if bad:
            failures.append(f"{bad} changed students differ in more than familyName/email/grades")
        kinds = con.execute(f"""SELECT {", ".join(f'count(*) FILTER (WHERE a."{c}" IS DISTINCT FROM b."{c}")' for c in ("familyName", "email", "grades"))}
            FROM day1_users a JOIN day2_users b USING (sourcedId) WHERE a.role = 'student'""").fetchall()[0]  # fmt: skip
        print(f"  changed students by column familyName/email/grades: {kinds}")
        con.close()
    return failures


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out", type=Path)
    ap.add_argument("--memory-limit", default="4GB")
    args = ap.parse_args(argv)
    failures = check(args.out, args.memory_limit)
    for f in failures:
        print("FAIL:", f)
    print("OK: all checks passed" if not failures else f"{len(failures)} check(s) failed")
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
