"""Every invariant is checked at each apply over a directory of millions of rows, so none may be
planned as a loop over pairs of rows: a join DuckDB cannot hash (`x IN (a.c1, a.c2)`, an OR of
equalities, an inequality) compares every row with every other. One did, and a day-2 apply at
1M students took 55 s instead of 4. Read from DuckDB's own plan, not from the SQL's text."""

from __future__ import annotations

from daemon.directory.integrity import INVARIANTS, _render

LOOP_JOINS = ("Blockwise Nl Join", "Nested Loop Join", "Piecewise Merge Join")


def _loops(sync, sql: str) -> list[str]:
    plan = "\n".join(row[1] for row in sync.engine.db.rows("EXPLAIN " + sql)).lower()
    return [join for join in LOOP_JOINS if join.lower() in plan]


def test_no_invariant_is_planned_as_a_loop_join(sync, tiny_applied) -> None:
    looping = {
        (invariant.name, run_id, sql == invariant.offenders): loops
        for invariant in INVARIANTS
        for sql in (invariant.offenders, invariant.offenders_in_one_pass)
        if sql is not None
        for run_id in (None, 1)  # `check` over the whole directory, and an apply's rows
        if (loops := _loops(sync, _render(sql, run_id)))
    }
    assert looping == {}


def test_a_join_on_either_of_two_columns_is_seen_as_a_loop(sync, tiny_applied) -> None:
    """The check itself: the form that made apply slow is caught."""
    either = """SELECT l.link_id FROM guardian_links l WHERE EXISTS (
                    SELECT 1 FROM users u WHERE u.user_id IN (l.student_id, l.guardian_id)
                    AND u.status = 'archived')"""
    assert _loops(sync, either)
