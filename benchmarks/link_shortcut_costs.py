"""What building guardian links for changed people only would save (issue 18), measured.

The links stage makes every (student, guardian) pair from every users.csv line's
agentSourcedIds each night. The shortcut measured here leaves out the people whose links provably
need nothing, and builds the rest with the engine's own statement. A person is "settled" when
their line is an unchanged one (sync/unchanged.py gives their record without a string lookup),
they are not held, and their agentSourcedIds name exactly the unchanged people their active
synced links join them to, and no one else: then every link between two settled people is
made by both their lines and nothing else, so (relationship equal) it plans nothing and is only
present. Everything else (changed lines, unsettled people, the settled side of any other link)
goes through the engine's statement. Nothing is remembered between nights: the test reads the
directory's links, so a link archived or made by hand, a withheld archive or a kept row all show
as a difference and take the full path.

1. a day-2 plan runs on a copy of the database; the people's tables the links read are copied
   to a capture database as the plan has them when it reaches the links;
2. the engine's links (desired rows, present, plan table) and the shortcut's alternate in one
   connection set up as the engine's; after the first pair the two plan tables must be equal
   and the shortcut's desired rows the engine's less the settled links.

Wall and CPU seconds of each sample; the CPU time (all DuckDB threads) moves less with a busy
machine than the wall time. "Hand-over" is what the users step would have to keep for the
links (the unchanged lines with their agents, the changed lines apart): paid once a night, so
add it to each shortcut sample.

Usage: python -m benchmarks.link_shortcut_costs --db BEFORE_DAY2.duckdb --drop DIR/day2 --work W
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path

from benchmarks.bench_common import plan_with_capture
from daemon.db import Database
from daemon.settings import SyncSettings
from daemon.sync.context import PlanContext
from daemon.sync.diff import build_present, plan_table
from daemon.sync.feed.links import build_desired_links
from daemon.sync.kinds import GUARDIAN_LINKS

PEOPLE = ("feed_users", "user_map", "not_synced", "held_users")
# Run inside `roster-sync run`: the unchanged people before the users step drops them, the rest
# when the links start.
CAPTURE = """
import sys
from daemon.sync import plan
CAP = sys.argv.pop(1)
user_map = plan.build_user_map
def capture_unchanged(ctx):
    ctx.db.execute(f"ATTACH '{CAP}' AS cap")
    ctx.db.execute(f"CREATE TABLE cap.unchanged_users AS SELECT * FROM {ctx.t('unchanged_users')}")
    ctx.db.execute("DETACH cap")
    user_map(ctx)
plan.build_user_map = capture_unchanged
links = plan._links
def capture_people(ctx):
    ctx.db.execute(f"ATTACH '{CAP}' AS cap")
    for name in ("feed_users", "user_map", "not_synced", "held_users"):
        ctx.db.execute(f"CREATE TABLE cap.{name} AS SELECT * FROM {ctx.t(name)}")
    ctx.db.execute(f"CREATE TABLE cap.run AS SELECT {ctx.run_id} AS run_id, '{ctx.schema}' AS schema")
    ctx.db.execute("DETACH cap")
    links(ctx)
plan._links = capture_people
from daemon.cli.main import main
sys.argv = ["roster-sync", *sys.argv[1:]]
sys.exit(main())
"""
ACTIVE = """(SELECT link_id, student_id, guardian_id, relationship FROM guardian_links
             WHERE status = 'active' AND origin = 'sync')"""
# An agents cell whose items are already clean (no space, no empty item): `rs_clean` would
# change none, so items can be counted and matched as they are. Others are not settled.
CLEAN = """(NOT contains(p.agents, ' ') AND NOT contains(p.agents, ',,')
            AND NOT starts_with(p.agents, ',') AND NOT ends_with(p.agents, ','))"""


def _listed(agents: str, sis_id: str) -> str:
    """SQL: the agents cell lists the SIS id as one whole item."""
    return f"(contains(',' || {agents} || ',', ',' || {sis_id} || ',') AND NOT contains({sis_id}, ','))"


def hand_over(t: Callable[[str], str]) -> list[tuple[str, str]]:
    return [
        (
            "hand-over: unchanged lines with their agents",
            f"""CREATE OR REPLACE TEMP TABLE {t("link_people")} AS
                SELECT u.id, u.kind, f.role, f._line, f.sis_id, f.agents
                FROM {t("unchanged_users")} u JOIN {t("feed_users")} f ON f._line = u._line""",
        ),
        (
            "hand-over: changed lines apart",
            f"""CREATE OR REPLACE TEMP TABLE {t("changed_lines")} AS
                SELECT f.* FROM {t("feed_users")} f
                ANTI JOIN {t("unchanged_users")} u ON u._line = f._line""",
        ),
    ]


def shortcut(t: Callable[[str], str], held: str, lines: str) -> list[tuple[str, str]]:
    people = t("link_people")
    return [
        (
            "per person: active links to unchanged people, and how many its agents list",
            f"""CREATE OR REPLACE TEMP TABLE {t("link_ends")} AS
                WITH ends AS MATERIALIZED (
                    SELECT l.student_id, {_listed("s.agents", "g.sis_id")} AS student_lists,
                           l.guardian_id, {_listed("g.agents", "s.sis_id")} AS guardian_lists
                    FROM {ACTIVE} l JOIN {people} s ON s.id = l.student_id
                    JOIN {people} g ON g.id = l.guardian_id)
                SELECT id, count(*) AS links, count_if(listed) AS listed FROM (
                    SELECT student_id AS id, student_lists AS listed FROM ends
                    UNION ALL SELECT guardian_id, guardian_lists FROM ends)
                GROUP BY id""",
        ),
        (
            "settled people",
            f"""CREATE OR REPLACE TEMP TABLE {t("settled")} AS
                SELECT p.id, p.kind, p.role, p._line FROM {people} p
                LEFT JOIN {t("link_ends")} e ON e.id = p.id
                WHERE coalesce(e.links, 0) = coalesce(e.listed, 0)
                  AND coalesce(length(p.agents) - length(replace(p.agents, ',', '')) + 1, 0)
                      = coalesce(e.links, 0)
                  AND (p.agents IS NULL OR {CLEAN})
                  AND (p.agents IS NULL OR (p.kind = 'student' AND p.role = 'student')
                       OR (p.kind = 'guardian' AND p.role IN ('parent', 'guardian', 'relative')))
                  AND p.sis_id NOT IN ({held})""",
        ),
        (
            "settled links",
            f"""CREATE OR REPLACE TEMP TABLE {t("settled_links")} AS
                SELECT l.link_id AS id FROM {ACTIVE} l
                JOIN {t("settled")} s ON s.id = l.student_id AND s.kind = 'student'
                JOIN {t("settled")} g ON g.id = l.guardian_id AND g.kind = 'guardian'
                WHERE l.relationship IS NOT DISTINCT FROM g.role""",
        ),
        (
            "lines left to build links from",
            f"""CREATE OR REPLACE TEMP TABLE {lines} AS
                WITH other_links AS (SELECT l.student_id, l.guardian_id FROM {ACTIVE} l
                                     ANTI JOIN {t("settled_links")} q ON q.id = l.link_id)
                SELECT sis_id, agents, role, _line FROM {t("changed_lines")}
                WHERE agents IS NOT NULL
                UNION ALL
                SELECT p.sis_id, p.agents, p.role, p._line FROM {people} p
                ANTI JOIN {t("settled")} s ON s.id = p.id WHERE p.agents IS NOT NULL
                UNION ALL
                -- a settled person's line names the other end of each of its other links
                SELECT p.sis_id, o.sis_id, p.role, p._line
                FROM (SELECT student_id AS id, guardian_id AS other FROM other_links
                      UNION ALL SELECT guardian_id, student_id FROM other_links) k
                JOIN {t("settled")} s ON s.id = k.id
                JOIN {people} p ON p.id = k.id JOIN {people} o ON o.id = k.other""",
        ),
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", type=Path, required=True, help="a database before day 2")
    parser.add_argument("--drop", type=Path, required=True, help="day 2's drop folder")
    parser.add_argument("--work", type=Path, required=True, help="a scratch folder")
    parser.add_argument("--pairs", type=int, default=3)
    args = parser.parse_args()
    planned, capture = plan_with_capture(args.db, args.drop, args.work, CAPTURE)
    os.environ.setdefault("ROSTER_SYNC_MEMORY_LIMIT", "2GB")  # as the plan ran (bench_common)
    db = Database(planned)  # the directory as the plan saw it (a plan changes none of it)
    db.execute(f"ATTACH '{capture}' AS cap (READ_ONLY)")
    run_id, schema = db.con.execute("SELECT run_id, schema FROM cap.run").fetchone() or (0, "")

    def context(run: int) -> PlanContext:
        return PlanContext(db, run, schema, SyncSettings(), {"users": "bulk"}, {})

    engine, short = context(run_id), context(run_id + 1000)
    for name in (*PEOPLE, "unchanged_users"):
        db.execute(f"CREATE TEMP TABLE {engine.t(name)} AS SELECT * FROM cap.{name}")
    for name in PEOPLE[1:]:  # the shortcut's context reads the same maps
        db.execute(f"CREATE TEMP VIEW {short.t(name)} AS SELECT * FROM {engine.t(name)}")
    db.execute("DETACH cap")
    # The shortcut's context builds its links from the lines left: its `feed_users` is those.
    steps = shortcut(engine.t, engine.held_sis("user"), short.t("feed_users"))

    def sample(label: str, run: Callable[[], None]) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        run()
        print(
            f"{label}: {time.perf_counter() - wall:6.2f} s wall, "
            f"{time.process_time() - cpu:6.2f} s CPU",
            flush=True,
        )

    def engine_links() -> None:
        build_desired_links(engine)
        build_present(engine, GUARDIAN_LINKS)
        plan_table(engine, GUARDIAN_LINKS)

    def shortcut_links() -> None:
        for _, sql in steps:
            db.execute(sql)
        build_desired_links(short)
        build_present(short, GUARDIAN_LINKS, f"SELECT id FROM {engine.t('settled_links')}")
        plan_table(short, GUARDIAN_LINKS)

    wall, cpu = time.perf_counter(), time.process_time()
    for _, sql in hand_over(engine.t):
        db.execute(sql)
    print(
        f"hand-over (once): {time.perf_counter() - wall:6.2f} s wall, "
        f"{time.process_time() - cpu:6.2f} s CPU"
    )
    plan = engine.keep("plan_guardian_links")
    for pair in range(1, args.pairs + 1):
        sample(f"pair {pair} engine  ", engine_links)
        db.execute(f"CREATE OR REPLACE TEMP TABLE engine_plan AS SELECT * FROM {plan}")
        sample(f"pair {pair} shortcut", shortcut_links)
        if pair == 1:
            _check(db, engine, short, plan)
    for label, sql in steps:
        started = time.perf_counter()
        db.execute(sql)
        print(f"{time.perf_counter() - started:7.2f}  {label}")


def _check(db: Database, engine: PlanContext, short: PlanContext, plan: str) -> None:
    """The shortcut plans what the engine plans, and leaves out only settled links."""
    settled = engine.t("settled_links")
    desired, left = engine.t("desired_guardian_links"), short.t("desired_guardian_links")
    differences = {
        "plan rows only the engine has": f"SELECT * FROM engine_plan EXCEPT ALL SELECT * FROM {plan}",
        "plan rows only the shortcut has": f"SELECT * FROM {plan} EXCEPT ALL SELECT * FROM engine_plan",
        "desired rows the shortcut lacks": f"""SELECT * FROM {desired}
            WHERE _target_id IS NULL OR _target_id NOT IN (SELECT id FROM {settled})
            EXCEPT ALL SELECT * FROM {left}""",
        "desired rows only the shortcut has": f"SELECT * FROM {left} EXCEPT ALL SELECT * FROM {desired}",
        "settled links the engine does not keep": f"""SELECT id FROM {settled} WHERE id NOT IN (
            SELECT _target_id FROM {desired} WHERE NOT _deleted AND _target_id IS NOT NULL)""",
    }
    for what, sql in differences.items():
        n = db.one(f"SELECT count(*) FROM ({sql})")
        if n:
            sys.exit(f"the shortcut is not equivalent: {n} {what}")
    counts = db.rows(
        f"SELECT (SELECT count(*) FROM {settled}), (SELECT count(*) FROM {short.t('feed_users')}),"
        f" (SELECT count(*) FROM {plan})"
    )[0]
    print(
        f"equivalent: {counts[0]:,} settled links left out, {counts[1]:,} lines left, "
        f"{counts[2]:,} plan rows either way"
    )


if __name__ == "__main__":
    main()
