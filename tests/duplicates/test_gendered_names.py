"""Two gendered forms of one name are two people, never a typo of one (docs/duplicates.md,
rule 5): the given-name tests, evaluated by DuckDB on the names themselves."""

from __future__ import annotations

import duckdb
import pytest

from daemon.duplicates.scoring import DISTINCT_NAMES, _given_close, _misspelt_given

GENDERED = [*DISTINCT_NAMES, ("daniel", "daniela"), ("julian", "julia"), ("francisco", "francisca")]


def holds(predicate: str, x: str, y: str) -> bool:
    con = duckdb.connect()
    try:
        return bool(
            con.execute(f"SELECT {predicate} FROM (SELECT ? AS x, ? AS y)", [x, y]).fetchall()[0][0]
        )
    finally:
        con.close()


@pytest.mark.parametrize("x, y", [*GENDERED, *((b, a) for a, b in GENDERED)])
def test_gendered_forms_are_never_close_given_names(x: str, y: str) -> None:
    assert not holds(_given_close("x", "y"), x, y)
    assert not holds(_misspelt_given("x", "y"), x, y)


@pytest.mark.parametrize("x, y", [("katherine", "catherine"), ("michael", "micheal")])
def test_typos_of_one_name_are_close(x: str, y: str) -> None:
    assert holds(_given_close("x", "y"), x, y)
