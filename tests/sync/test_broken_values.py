"""Planning decides a value is not used by the very rule validation reported it by."""

from __future__ import annotations

import duckdb
import pytest

from daemon.formats.spec import USERS_12
from daemon.settings import SyncSettings
from daemon.sync.context import PlanContext


def _broken(value: str, *, ext_terms: bool) -> bool:
    ctx = PlanContext(
        db=None,  # type: ignore[arg-type]  # `broken` only writes SQL
        run_id=1,
        schema="run_1",
        settings=SyncSettings(),
        modes={"users": "bulk"},
        file_names={"users": "users.csv"},
        columns={"users": {"role"}},
        specs={"users": USERS_12},
        ext_terms=ext_terms,
    )
    sql = f"SELECT {ctx.broken('users', 'role', 'u')} FROM (SELECT ? AS role) u"
    return bool(duckdb.connect().execute(sql, [value]).fetchall()[0][0])


@pytest.mark.parametrize(("value", "broken"), [("student", False), ("coach", True)])
def test_an_enumeration_value_is_broken_when_not_in_the_vocabulary(
    value: str, broken: bool
) -> None:
    assert _broken(value, ext_terms=True) is broken


def test_an_ext_term_is_a_good_value_in_a_1_2_drop() -> None:
    assert _broken("ext:coach", ext_terms=True) is False


def test_an_ext_term_is_broken_where_the_version_allows_none() -> None:
    assert _broken("ext:coach", ext_terms=False) is True
