"""The rules of uniqueness have two forms (daemon/directory/integrity.py): narrowed to the rows a
run wrote, for a nightly apply, and one pass over the table, for a first load and `check`.
Whichever is chosen, the same records must be named."""

from __future__ import annotations

import pytest

from daemon.directory.integrity import INVARIANTS, _render, violations

TWO_FORMS = [i for i in INVARIANTS if i.offenders_in_one_pass is not None]


def _offenders(sync, sql: str, run_id: int | None) -> list[int]:
    return sorted(r[0] for r in sync.engine.db.rows(f"SELECT id FROM ({_render(sql, run_id)})"))


def _break_uniqueness(sync) -> None:
    """Repeated ids and repeated pairs, some written by run 1, some by no run (NULL), some by
    another run: every way a row can fall in or out of a run's scope."""
    db = sync.engine.db
    for table, id_col in (
        ("users", "user_id"),
        ("enrollments", "enrollment_id"),
        ("guardian_links", "link_id"),
        ("classrooms", "classroom_id"),
    ):
        db.execute(f"""INSERT INTO {table} SELECT * REPLACE (last_run + 6 AS last_run)
                       FROM {table} WHERE {id_col} IN (SELECT min({id_col}) FROM {table})""")
        db.execute(f"""INSERT INTO {table} SELECT * REPLACE (NULL AS last_run)
                       FROM {table} WHERE {id_col} IN (SELECT max({id_col}) FROM {table})""")
        db.execute(f"""INSERT INTO {table} SELECT * REPLACE ({id_col} + 100000 AS {id_col})
                       FROM {table} WHERE {id_col} IN (SELECT min({id_col}) + 1 FROM {table})""")
    db.execute("UPDATE enrollments SET last_run = 9 WHERE enrollment_id > 100000")


@pytest.mark.parametrize("invariant", TWO_FORMS, ids=lambda i: i.name)
@pytest.mark.parametrize("run_id", [None, 1, 7, 9])
def test_both_forms_of_a_rule_name_the_same_records(sync, invariant, run_id, tiny_applied) -> None:
    _break_uniqueness(sync)
    narrowed = _offenders(sync, invariant.offenders, run_id)
    assert narrowed == _offenders(sync, invariant.offenders_in_one_pass or "", run_id)


def test_the_broken_directory_breaks_the_rules_both_ways(sync, tiny_applied) -> None:
    """The test above compares something: the rows it adds are found, by `check` and a run."""
    _break_uniqueness(sync)
    broken = {v.name for v in violations(sync.engine.db)}
    assert {
        "users have unique ids",
        "enrollments have unique ids",
        "one enrollment per classroom and person",
        "one link per student and guardian",
        "classrooms have unique ids",
        "active enrollments have unique SIS ids",
    } <= broken
    assert "enrollments have unique ids" in {v.name for v in violations(sync.engine.db, 1)}


# What the reference rules mean, as plainly as SQL says it (integrity.py writes it as anti
# joins, which cost less): every row one of whose references names no record, once.
PLAIN_REFERENCES = {
    "enrollments name existing classrooms and people": """
        SELECT e.enrollment_id AS id FROM enrollments e WHERE {scope:e}
          AND (NOT EXISTS (SELECT 1 FROM classrooms c WHERE c.classroom_id = e.classroom_id)
               OR NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = e.user_id))""",
    "guardian links name existing people": """
        SELECT l.link_id AS id FROM guardian_links l WHERE {scope:l}
          AND (NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = l.student_id)
               OR NOT EXISTS (SELECT 1 FROM users u WHERE u.user_id = l.guardian_id))""",
}


# (first reference, second reference, run that wrote the row, id offset) of each row added:
# naming no record on one side, on the other, on both, written by another run, and two rows
# sharing one id (both dangling).
DANGLING = (
    ("{a} + 900000", "{b}", 1, 0),
    ("{a}", "{b} + 900000", 1, 1),
    ("900001", "900002", 1, 2),
    ("900003", "{b}", 4, 3),
    ("900004", "{b}", 1, 4),
    ("900004", "{b}", 1, 4),
)


def _dangle_references(sync) -> None:
    db = sync.engine.db
    for table, id_col, a, b in (
        ("enrollments", "enrollment_id", "classroom_id", "user_id"),
        ("guardian_links", "link_id", "student_id", "guardian_id"),
    ):
        for new_a, new_b, run, offset in DANGLING:
            db.execute(
                f"""INSERT INTO {table} SELECT * REPLACE ({id_col} + 800000 + {offset} AS {id_col},
                        {new_a.format(a=a)} AS {a}, {new_b.format(b=b)} AS {b}, {run} AS last_run)
                    FROM {table} WHERE {id_col} = (SELECT min({id_col}) FROM {table})"""
            )


@pytest.mark.parametrize("name", sorted(PLAIN_REFERENCES))
@pytest.mark.parametrize("run_id", [None, 1])
def test_reference_rules_name_each_dangling_row_once(sync, name, run_id, tiny_applied) -> None:
    _dangle_references(sync)
    invariant = next(i for i in INVARIANTS if i.name == name)
    expected = _offenders(sync, PLAIN_REFERENCES[name], run_id)
    assert len(expected) == (6 if run_id is None else 5)
    assert _offenders(sync, invariant.offenders, run_id) == expected
