"""A row that a changes-only (delta) drop reports as fine is in the directory after apply.

The promise behind "Rows: N ok": a row with no issue either changed its record to what it says
or already matched. A row that cannot be applied must say why (a WARNING or an ERROR on its line);
nothing is dropped in silence. Generated over a tiny district: each delta drop sends a random
mix of users.csv, demographics.csv, enrollments.csv, classes.csv, guardians.csv,
student_attributes.csv and orgs.csv rows (renames, new e-mails, birth dates, roles, new
memberships, new schools, tobedeleted rows), each file delta or absent; and the
whole district with the same changes made in place, as a bulk drop.

(A demographics.csv row without its users.csv row was reported ok and changed nothing until
this property was written.)
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.db import Database
from daemon.service.engine import Engine
from tests.district import TinyDistrict, _enrollment, _user
from tests.properties.districts import property_engine, property_settings

WHEN = {"dateLastModified": "2026-11-05T06:00:00Z"}
NEWCOMERS = (1, 2)  # students a drop may bring (their memberships may come with them)
FILES = (
    "users.csv",
    "demographics.csv",
    "enrollments.csv",
    "classes.csv",
    "guardians.csv",
    "student_attributes.csv",
    "orgs.csv",
)
MANIFEST_NAMES = {
    "users.csv": "file.users",
    "demographics.csv": "file.demographics",
    "enrollments.csv": "file.enrollments",
    "classes.csv": "file.classes",
    "guardians.csv": "file.guardians",
    "student_attributes.csv": "file.student_attributes",
    "orgs.csv": "file.orgs",
}


@pytest.fixture(scope="module")
def synced_district(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny district applied once (bulk); each example starts from a copy of it."""
    root = tmp_path_factory.mktemp("delta-rows")
    with property_engine(root / "base.duckdb") as engine:
        run = engine.plan_source(str(TinyDistrict().write(root)))
        engine.apply_run(run.run_id, scan_duplicates=False)
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
            **(
                {"orgSourcedIds": _other_school(tiny.row("users.csv", sis))}
                if how == "move"
                else {}
            ),
            **WHEN,
        ),
        st.sampled_from(people),
        st.sampled_from(("rename", "email", "move", "tobedeleted", "same")),
        st.integers(0, 99),
    )


def _other_school(row: dict[str, str]) -> str:
    return "sch-b" if row["orgSourcedIds"] == "sch-a" else "sch-a"


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


def _renamed_or_deleted(
    tiny: TinyDistrict, file: str, column: str, prefix: str
) -> st.SearchStrategy[dict[str, str]]:
    """One of a file's rows again, its `column` renamed (twice as often) or marked tobedeleted."""
    ids = [r["sourcedId"] for r in tiny.rows(file)]
    return st.builds(
        lambda sis, rename, n: dict(
            tiny.row(file, sis),
            status="active" if rename else "tobedeleted",
            **({column: f"{prefix} {n}"} if rename else {}),
            **WHEN,
        ),
        st.sampled_from(ids),
        st.sampled_from((True, True, False)),
        st.integers(0, 99),
    )


def _class_change(tiny: TinyDistrict) -> st.SearchStrategy[dict[str, str]]:
    return _renamed_or_deleted(tiny, "classes.csv", "title", "Retitled")


def _guardians_change(tiny: TinyDistrict) -> st.SearchStrategy[dict[str, str]]:
    """A contact described in guardians.csv (a new one, or a users.csv guardian again)."""
    students = [f"stu-{i}" for i in range(1, 11)]
    return st.builds(
        lambda who, stu, n, deleted: {
            "sourcedId": who,
            "status": "tobedeleted" if deleted else "active",
            "studentSourcedId": stu,
            "relationship": "guardian",
            "givenName": f"Robin{n}",
            "familyName": "Contact",
            "email": f"robin{n}@example.net",
            "sms": "",
            "phone": "",
            "language": "",
            **WHEN,
        },
        st.sampled_from(("gf-1", "gf-2", "gdn-3")),
        st.sampled_from(students),
        st.integers(0, 99),
        st.booleans(),
    )


def _attribute_change(tiny: TinyDistrict) -> st.SearchStrategy[dict[str, str]]:
    students = [f"stu-{i}" for i in range(1, 11)]
    return st.builds(
        lambda stu, name, n, deleted: {
            "studentSourcedId": stu,
            "name": name,
            "value": str(n),
            "status": "tobedeleted" if deleted else "active",
            **WHEN,
        },
        st.sampled_from(students),
        st.sampled_from(("plan_a", "plan_b")),
        st.integers(0, 99),
        st.booleans(),
    )


def _org_change(tiny: TinyDistrict) -> st.SearchStrategy[dict[str, str]]:
    """A school or the district renamed or tobedeleted, or a new school."""
    existing = _renamed_or_deleted(tiny, "orgs.csv", "name", "Renamed")
    new = st.builds(
        lambda n: {
            "sourcedId": "sch-c",
            "status": "active",
            "name": f"Cedar School {n}",
            "type": "school",
            "identifier": "C",
            "parentSourcedId": "dist-1",
            **WHEN,
        },
        st.integers(0, 99),
    )
    return st.one_of(existing, new)


@st.composite
def delta_drops(draw: st.DrawFn) -> TinyDistrict:
    tiny = TinyDistrict()
    changes = {
        "users.csv": _user_change(tiny),
        "demographics.csv": _demographics_change(tiny),
        "enrollments.csv": _enrollment_change(tiny),
        "classes.csv": _class_change(tiny),
        "guardians.csv": _guardians_change(tiny),
        "student_attributes.csv": _attribute_change(tiny),
        "orgs.csv": _org_change(tiny),
    }
    files: dict[str, list[dict[str, str]]] = {}
    manifest = {"file.courses": "absent", "file.academicSessions": "absent"}
    for name in FILES:
        if draw(st.booleans()):
            rows = draw(st.lists(changes[name], max_size=4))
            # One row per key: a repeated key is its own rule (duplicate_id), not this one.
            files[name] = list({_key(name, r): r for r in rows}.values())
            manifest[MANIFEST_NAMES[name]] = "delta"
        else:
            manifest[MANIFEST_NAMES[name]] = "absent"
    return TinyDistrict(files, manifest)


def _key(file: str, row: dict[str, str]) -> tuple[str, ...]:
    if file == "guardians.csv":
        return (row["sourcedId"], row["studentSourcedId"])
    if file == "student_attributes.csv":
        return (row["studentSourcedId"], row["name"])
    return (row["sourcedId"],)


def hand_edits() -> st.SearchStrategy[list[tuple[str, str]]]:
    """What a person did to the directory before the drop: an account activated (its contacts
    are then protected) or a contact edited by hand."""
    people = [*(f"stu-{i}" for i in range(1, 11)), *(f"gdn-{i}" for i in range(1, 11))]
    return st.lists(
        st.tuples(st.sampled_from(("activate", "edit_contact")), st.sampled_from(people)),
        max_size=3,
    )


SETTINGS = property_settings(10, 15, HealthCheck.function_scoped_fixture)
EXAMPLES = SETTINGS.max_examples


@st.composite
def bulk_drops(draw: st.DrawFn) -> TinyDistrict:
    """The whole district again, with the same kinds of changes made in place (a new row
    added, a changed one replacing its old self)."""
    drop = draw(delta_drops())
    whole = TinyDistrict()
    for name, rows in drop.files.items():
        changed = {_key(name, r): r for r in rows}
        kept = [changed.pop(_key(name, r), r) for r in whole.rows(name)]
        whole.files[name] = kept + list(changed.values())
    return whole


@pytest.mark.timeout(600)
@settings(SETTINGS, max_examples=EXAMPLES // 2)
@given(drop=bulk_drops(), hand=hand_edits())
def test_every_row_of_a_whole_drop_reported_fine_is_in_the_directory(
    synced_district: Path, drop: TinyDistrict, hand: list[tuple[str, str]]
):
    _every_fine_row_landed(synced_district, drop, hand)


@pytest.mark.timeout(600)
@settings(SETTINGS)
@given(drop=delta_drops(), hand=hand_edits())
def test_every_row_reported_fine_is_in_the_directory(
    synced_district: Path, drop: TinyDistrict, hand: list[tuple[str, str]]
):
    _every_fine_row_landed(synced_district, drop, hand)


def _every_fine_row_landed(
    synced_district: Path, drop: TinyDistrict, hand: list[tuple[str, str]]
) -> None:
    with tempfile.TemporaryDirectory(dir=synced_district.parent) as tmp:  # as example_folder
        root = Path(tmp)
        shutil.copy(synced_district, root / "roster.duckdb")
        db = Database(root / "roster.duckdb")
        try:
            engine = Engine(db, "property")
            for what, who in hand:
                if what == "activate":
                    engine.set_account_active(who, True)
                else:
                    engine.edit_contact(who, {"email": f"hand-{who}@example.org"})
            run = engine.plan_source(str(drop.write(root)))
            assert run.status in ("planned", "held"), run.error
            engine.apply_run(run.run_id, override=True, reason="property", scan_duplicates=False)
            flagged = {
                (file, line)
                for file, line in db.rows(
                    "SELECT file_name, line FROM row_issues WHERE run_id = ?", [run.run_id]
                )
            }
            # A question asked of a person (a protected contact the feed would change) explains
            # the row as an issue does.
            flagged |= {
                (file, line)
                for file, line in db.rows(
                    "SELECT source_file, source_line FROM conflicts WHERE run_id = ?", [run.run_id]
                )
            }
            # guardians.csv describes a person only where users.csv does not.
            named = {r["sourcedId"] for r in drop.files.get("users.csv", [])}
            kept = _kept_by_another_row(drop)
            for name, rows in drop.files.items():
                for line, row in enumerate(rows, start=2):
                    if (name, line) not in flagged and (name, line) not in kept:
                        _row_landed(db, name, line, row, named)
        finally:
            db.close()


def _kept_by_another_row(drop: TinyDistrict) -> set[tuple[str, int]]:
    """tobedeleted rows whose relationship another row of the drop still sends: the membership
    under another sourcedId, the guardian link through users.csv's agentSourcedIds. Two rows
    disagree there, and the one that keeps it wins (nothing is lost)."""

    def live(file: str) -> list[dict[str, str]]:
        return [r for r in drop.files.get(file, []) if r.get("status") != "tobedeleted"]

    pairs = {(r["classSourcedId"], r["userSourcedId"]) for r in live("enrollments.csv")}
    links = {
        frozenset((r["sourcedId"], agent.strip()))
        for r in live("users.csv")
        for agent in (r.get("agentSourcedIds") or "").split(",")
        if agent.strip()
    }
    kept = set()
    for line, r in enumerate(drop.files.get("enrollments.csv", []), start=2):
        if r.get("status") == "tobedeleted" and (r["classSourcedId"], r["userSourcedId"]) in pairs:
            kept.add(("enrollments.csv", line))
    for line, r in enumerate(drop.files.get("guardians.csv", []), start=2):
        if (
            r.get("status") == "tobedeleted"
            and frozenset((r["sourcedId"], r["studentSourcedId"])) in links
        ):
            kept.add(("guardians.csv", line))
    return kept


def _row_landed(
    db: Database, file: str, line: int, row: dict[str, str], named_by_users: set[str]
) -> None:
    where = f"{file} line {line} ({', '.join(_key(file, row))}, reported fine)"
    deleted = row.get("status") == "tobedeleted"
    if file == "users.csv":
        [(status, given, email, orgs)] = db.rows(
            "SELECT status, given_name, email, org_sis_ids FROM users WHERE sis_id = ?",
            [row["sourcedId"]],
        )
        if deleted:
            assert status == "archived", where
        else:
            assert orgs == row["orgSourcedIds"], where
            assert (status, given, email) == ("active", row["givenName"], row["email"] or None), (
                where
            )
    elif file == "demographics.csv":
        [(status, birth)] = db.rows(
            "SELECT status, birth_date FROM users WHERE sis_id = ?", [row["sourcedId"]]
        )
        # The same drop may archive the person (a tobedeleted users.csv row): archiving wins.
        assert status == "archived" or birth == (row["birthDate"] or None), where
    elif file in ("orgs.csv", "classes.csv"):
        table, column = ("schools", "name") if file == "orgs.csv" else ("classrooms", "title")
        [(status, name)] = db.rows(
            f"SELECT status, name FROM {table} WHERE sis_id = ?", [row["sourcedId"]]
        )
        assert (status == "archived") if deleted else ((status, name) == ("active", row[column])), (
            where
        )
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
    elif file == "guardians.csv":
        guardian = db.rows(
            "SELECT status, given_name, email FROM users WHERE sis_id = ?", [row["sourcedId"]]
        )
        links = db.rows(
            """SELECT l.status FROM guardian_links l JOIN users s ON s.user_id = l.student_id
               JOIN users g ON g.user_id = l.guardian_id WHERE s.sis_id = ? AND g.sis_id = ?""",
            [row["studentSourcedId"], row["sourcedId"]],
        )
        if deleted:  # a guardian new with this row alone is not made at all (no student)
            assert all(s == "archived" for (s,) in links), where
        else:
            [(status, given, email)] = guardian
            assert links == [("active",)], where
            assert status == "active", where
            if row["sourcedId"] not in named_by_users:
                assert (given, email) == (row["givenName"], row["email"]), where
    elif file == "student_attributes.csv":
        found = db.rows(
            """SELECT a.status, a.value FROM student_attributes a
               JOIN users s ON s.user_id = a.student_id WHERE s.sis_id = ? AND a.name = ?""",
            [row["studentSourcedId"], row["name"]],
        )
        if deleted:
            assert all(s == "archived" for s, _ in found), where
        else:
            assert found == [("active", row["value"])], where
