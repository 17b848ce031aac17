"""Why the check for users none of whose orgs is known is one equality join (ingest/validate.py).

Times, on synthetic users and orgs, the two shapes that check has had: each user's list of orgs
tested against every known org (DuckDB plans it as a blockwise loop join: it grows with users
times orgs) and one equality join of each named org (what the code does now). Both must find the
same users.

    python benchmarks/loop_joins.py --users 7500000 --orgs 6000
"""

from __future__ import annotations

import argparse
import time

import duckdb

LIST_AGAINST_EVERY_ORG = """
    SELECT count(*) FROM users u WHERE u.orgSourcedIds IS NOT NULL AND NOT EXISTS (
        SELECT 1 FROM orgs k WHERE list_contains(
            list_transform(string_split(u.orgSourcedIds, ','), lambda x: trim(x)), k.id))"""
EACH_ORG_JOINED = """
    SELECT count(*) FROM users u WHERE u.orgSourcedIds IS NOT NULL AND u._line NOT IN (
        SELECT x._line FROM (SELECT _line, trim(unnest(string_split(orgSourcedIds, ','))) AS org
                             FROM users WHERE orgSourcedIds IS NOT NULL) x
        SEMI JOIN orgs k ON k.id = x.org)"""


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--users", type=int, default=2_500_000)
    ap.add_argument("--orgs", type=int, default=2_000)
    args = ap.parse_args(argv)
    con = duckdb.connect()
    con.execute("SET memory_limit = '2GB'")
    # one school each, one user in seven also at an org nobody knows, one in a thousand at none
    con.execute(
        f"""CREATE TABLE users AS SELECT i + 2 AS _line,
                   CASE WHEN i % 1000 = 0 THEN 'gone-' || i ELSE 'sch-' || (i % {args.orgs}) END
                   || CASE WHEN i % 7 = 0 THEN ', elsewhere' ELSE '' END AS orgSourcedIds
            FROM range({args.users}) t(i)"""
    )
    con.execute(f"CREATE TABLE orgs AS SELECT 'sch-' || i AS id FROM range({args.orgs}) t(i)")
    found = set()
    for name, sql in (("list against every org", LIST_AGAINST_EVERY_ORG),
                      ("each org joined", EACH_ORG_JOINED)):  # fmt: skip
        started = time.perf_counter()
        n = con.execute(sql).fetchone()[0]  # type: ignore[index]
        print(
            f"{name:24} {time.perf_counter() - started:6.2f} s  ({n:,} users without a known org)"
        )
        found.add(n)
    return 0 if len(found) == 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
