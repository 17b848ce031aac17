"""A row that a changes-only (delta) drop reports as fine is in the directory after apply.

The promise behind "Rows: N ok": a row with no issue either changed its record to what it says
or already matched. A row that cannot be applied must say why (a WARNING or an ERROR on its line);
nothing is dropped in silence. Generated over a tiny district: each delta drop sends a random
mix of users.csv, demographics.csv, enrollments.csv and classes.csv rows (renames, new e-mails,
birth dates, roles, new memberships, tobedeleted rows), each file delta or absent; and the
whole district with the same changes made in place, as a bulk drop.

(A demographics.csv row without its users.csv row was reported ok and changed nothing until
this property was written.)
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.db import Database
from daemon.service.engine import Engine
from tests.district import TinyDistrict, _enrollment, _user

EXAMPLES = int(
    os.environ.get("ROSTER_SYNC_PROPERTY_EXAMPLES", "10" if os.environ.get("CI") else "15")
)
WHEN = {"dateLastModified": "2026-11-05T06:00:00Z"}
NEWCOMERS = (1, 2)  # students a drop may bring (their memberships may come with them)
FILES = ("users.csv", "demographics.csv", "enrollments.csv", "classes.csv")
MANIFEST_NAMES = {
    "users.csv": "file.users",
    "demographics.csv": "file.demographics",
    "enrollments.csv": "file.enrollments",
    "classes.csv": "file.classes",
}


@pytest.fixture(scope="module")
def synced_district(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny district applied once (bulk); each example starts from a copy of it."""
    root = tmp_path_factory.mktemp("delta-rows")
    db = Database(root / "base.duckdb")
    try:
        engine = Engine(db, "property")
        engine.settings_set("deletion_threshold", "100")
        run = engine.plan_source(str(TinyDistrict().write(root)))
        engine.apply_run(run.run_id, scan_duplicates=False)
    finally:
        db.close()
    return root / "base.duckdb"


def _user_change(tiny: TinyDistrict) -> st.SearchStrategy[dict[str, str]]:
    people = [r["sourcedId"] for r in tiny.rows("users.csv")]
    newcomer = st.builds(
        lambda n: dict(
            _user(f"stu-new-{n}", "student", f"New{n}", "Arrival", "sch-a", grades="05"),
            status="active",
            **WHEN,
        ),
        st.sampled_from(NEWCOMERS),
    )
    return newcomer | st.builds(
        lambda sis, how, n: dict(
            tiny.row("users.csv", sis),
            status="tobedeleted" if how == "tobedeleted" else "active",
            **({"givenName": f"Renamed{n}"} if how == "rename" else {}),
            **({"email": f"new{n}@example.org"} if how == "email" else {}),
            **WHEN,
        ),
        st.sampled_from(people),
        st.sampled_from(("rename", "email", "tobedeleted", "same")),
        st.integers(0, 99),
    )


def _demographics_change(tiny: TinyDistrict) -> st.SearchStrategy[dict[str, str]]:
    students = [r["sourcedId"] for r in tiny.rows("demographics.csv")]
    return st.builds(
        lambda sis, birth: dict(
            tiny.row("demographics.csv", sis), birthDate=birth, status="active", **WHEN
        ),
        st.sampled_from(students),
        st.sampled_from(("2014-02-03", "2015-06-30", "2016-12-01", "")),
    )


def _enrollment_change(tiny: TinyDistrict) -> st.SearchStrategy[dict[str, str]]:
    rows = tiny.rows("enrollments.csv")
    existing = st.builds(
        lambda i, how: dict(
            rows[i % len(rows)],
            status="tobedeleted" if how == "tobedeleted" else "active",
            **({"role": "aide"} if how == "aide" else {}),
            **WHEN,
        ),
        st.integers(0, 999),
        st.sampled_from(("tobedeleted", "aide", "same")),
    )
    students = [*(f"stu-{i}" for i in range(1, 11)), *(f"stu-new-{n}" for n in NEWCOMERS)]
    new = st.builds(
        lambda cls, stu: dict(
            _enrollment(
                f"enr-new-{cls}-{stu}", cls, stu, school="sch-b" if cls == "cls-b1" else "sch-a"
            ),
            status="active",
            **WHEN,
        ),
        st.sampled_from(("cls-a1", "cls-a2", "cls-b1")),
        st.sampled_from(students),
    )
    return st.one_of(existing, new)


def _class_change(tiny: TinyDistrict) -> st.SearchStrategy[dict[str, str]]:
    classes = [r["sourcedId"] for r in tiny.rows("classes.csv")]
    return st.builds(
        lambda sis, how, n: dict(
            tiny.row("classes.csv", sis),
            status="tobedeleted" if how == "tobedeleted" else "active",
            **({"title": f"Retitled {n}"} if how == "retitle" else {}),
            **WHEN,
        ),
        st.sampled_from(classes),
        st.sampled_from(("retitle", "retitle", "tobedeleted")),
        st.integers(0, 99),
    )


@st.composite
def delta_drops(draw: st.DrawFn) -> TinyDistrict:
    tiny = TinyDistrict()
    changes = {
        "users.csv": _user_change(tiny),
        "demographics.csv": _demographics_change(tiny),
        "enrollments.csv": _enrollment_change(tiny),
        "classes.csv": _class_change(tiny),
    }
    files: dict[str, list[dict[str, str]]] = {}
    manifest = {"file.orgs": "absent", "file.courses": "absent", "file.academicSessions": "absent"}
    for name in FILES:
        if draw(st.booleans()):
            rows = draw(st.lists(changes[name], max_size=4))
            # One row per sourcedId: a repeated id is its own rule (duplicate_id), not this one.
            files[name] = list({r["sourcedId"]: r for r in rows}.values())
            manifest[MANIFEST_NAMES[name]] = "delta"
        else:
            manifest[MANIFEST_NAMES[name]] = "absent"
    return TinyDistrict(files, manifest)


@st.composite
def bulk_drops(draw: st.DrawFn) -> TinyDistrict:
    """The whole district again, with the same kinds of changes made in place (a new row
    added, a changed one replacing its old self)."""
    drop = draw(delta_drops())
    whole = TinyDistrict()
    for name, rows in drop.files.items():
        changed = {r["sourcedId"]: r for r in rows}
        kept = [changed.pop(r["sourcedId"], r) for r in whole.rows(name)]
        whole.files[name] = kept + list(changed.values())
    return whole


@pytest.mark.timeout(600)
@settings(
    max_examples=EXAMPLES // 2,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(drop=bulk_drops())
def test_every_row_of_a_whole_drop_reported_fine_is_in_the_directory(
    synced_district: Path, drop: TinyDistrict
):
    _every_fine_row_landed(synced_district, drop)


@pytest.mark.timeout(600)
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=bool(os.environ.get("CI")),
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(drop=delta_drops())
def test_every_row_reported_fine_is_in_the_directory(synced_district: Path, drop: TinyDistrict):
    _every_fine_row_landed(synced_district, drop)


def _every_fine_row_landed(synced_district: Path, drop: TinyDistrict) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        shutil.copy(synced_district, root / "roster.duckdb")
        db = Database(root / "roster.duckdb")
        try:
            engine = Engine(db, "property")
            run = engine.plan_source(str(drop.write(root)))
            assert run.status in ("planned", "held"), run.error
            engine.apply_run(run.run_id, override=True, reason="property", scan_duplicates=False)
            flagged = {
                (file, line)
                for file, line in db.rows(
                    "SELECT file_name, line FROM row_issues WHERE run_id = ?", [run.run_id]
                )
            }
            for name, rows in drop.files.items():
                for line, row in enumerate(rows, start=2):
                    if (name, line) not in flagged:
                        _row_landed(db, name, line, row)
        finally:
            db.close()


def _row_landed(db: Database, file: str, line: int, row: dict[str, str]) -> None:
    where = f"{file} line {line} ({row['sourcedId']}, reported fine)"
    deleted = row.get("status") == "tobedeleted"
    if file == "users.csv":
        [(status, given, email)] = db.rows(
            "SELECT status, given_name, email FROM users WHERE sis_id = ?", [row["sourcedId"]]
        )
        if deleted:
            assert status == "archived", where
        else:
            assert (status, given, email) == ("active", row["givenName"], row["email"] or None), (
                where
            )
    elif file == "demographics.csv":
        [(status, birth)] = db.rows(
            "SELECT status, birth_date FROM users WHERE sis_id = ?", [row["sourcedId"]]
        )
        # The same drop may archive the person (a tobedeleted users.csv row): archiving wins.
        assert status == "archived" or birth == (row["birthDate"] or None), where
    elif file == "classes.csv":
        [(status, name)] = db.rows(
            "SELECT status, name FROM classrooms WHERE sis_id = ?", [row["sourcedId"]]
        )
        assert (
            (status == "archived") if deleted else ((status, name) == ("active", row["title"]))
        ), where
    elif file == "enrollments.csv":
        found = db.rows(
            """SELECT e.status, e.role FROM enrollments e
               JOIN classrooms c ON c.classroom_id = e.classroom_id
               JOIN users u ON u.user_id = e.user_id
               WHERE c.sis_id = ? AND u.sis_id = ?""",
            [row["classSourcedId"], row["userSourcedId"]],
        )
        if deleted:
            assert all(status == "archived" for status, _ in found), where
        else:
            assert found == [("active", row["role"])], where
