"""OneRoster 1.2: a user's schools are the orgs of all of their live roles, night after night.

A model of the SIS's roles (each roles.csv row by its sourcedId) is changed by generated
changes-only nights: a role added at a school, a secondary role ended, a role moved to another
school, each sent with its user's users.csv row. After every night the directory's schools of
each user are those of the model's live roles for them. (A teacher who was also an aide at one
school lost the school when the aide's role ended, until roles were kept.)
"""

from __future__ import annotations

import csv
import io
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import SAMPLE, example_folder
from tests.district import write_changes_only_manifest
from tests.properties.districts import property_engine, property_settings

SCHOOLS = ("sch-elm", "sch-oak", "sch-pine")
SAMPLE_12 = SAMPLE / "oneroster12"
WHEN = "2026-11-05T06:00:00.000Z"


def _read(name: str) -> tuple[list[str], list[dict[str, str]]]:
    with open(SAMPLE_12 / name, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


USERS_HEADER, USERS = _read("users.csv")
ROLES_HEADER, ROLES = _read("roles.csv")
# Whose roles change: the teacher and two students (the guardian's role is at the district).
PEOPLE = ("tch-5001", "stu-5001", "stu-5004")


@dataclass(frozen=True)
class Change:
    how: str  # add | end | move | give (a secondary role re-sent as another person's)
    user: str
    school: str
    pick: int  # which of the user's roles (end, move)


changes = st.builds(
    Change,
    st.sampled_from(("add", "add", "end", "end", "move", "give")),
    st.sampled_from(PEOPLE),
    st.sampled_from(SCHOOLS),
    st.integers(0, 9),
)


@st.composite
def scenarios(draw: st.DrawFn) -> list[list[Change]]:
    """Roles added on the first (whole) night, then two or three changes-only nights."""
    return draw(st.lists(st.lists(changes, min_size=1, max_size=4), min_size=2, max_size=4))


def _role_row(sourced_id: str, user: str, school: str, role_type: str) -> dict[str, str]:
    role = "student" if user.startswith("stu-") else "aide"
    return {
        "sourcedId": sourced_id,
        "status": "active",
        "dateLastModified": WHEN,
        "userSourcedId": user,
        "roleType": role_type,
        "role": role,
        "beginDate": "2026-08-24",
        "endDate": "",
        "orgSourcedId": school,
        "userProfileSourcedId": "",
    }


class Model:
    """The SIS's roles: sourcedId -> roles.csv row (live ones only)."""

    def __init__(self) -> None:
        self.roles = {r["sourcedId"]: dict(r) for r in ROLES}
        self.made = 0
        self.givers: set[str] = set()  # people whose role went to another: their row is sent

    def change(self, change: Change) -> dict[str, str] | None:
        """Apply one change; the roles.csv row that says it (None: nothing to say)."""
        mine = sorted(sid for sid, r in self.roles.items() if r["userSourcedId"] == change.user)
        if change.how == "add":
            self.made += 1
            row = _role_row(f"rol-new-{self.made}", change.user, change.school, "secondary")
            self.roles[row["sourcedId"]] = row
            return row
        secondary = [sid for sid in mine if self.roles[sid]["roleType"] == "secondary"]
        if change.how == "end" and secondary:
            row = dict(
                self.roles.pop(secondary[change.pick % len(secondary)]), status="tobedeleted"
            )
            return dict(row, dateLastModified=WHEN)
        if change.how == "give" and secondary:
            sid = secondary[change.pick % len(secondary)]
            taker = PEOPLE[(PEOPLE.index(change.user) + 1 + change.pick) % len(PEOPLE)]
            self.givers.add(change.user)
            given = _role_row(sid, taker, self.roles[sid]["orgSourcedId"], "secondary")
            self.roles[sid] = given
            return given
        if change.how == "move" and mine:
            sid = mine[change.pick % len(mine)]
            self.roles[sid] = dict(
                self.roles[sid], orgSourcedId=change.school, dateLastModified=WHEN
            )
            return self.roles[sid]
        return None

    def schools(self, user: str) -> str:
        return ",".join(
            sorted({r["orgSourcedId"] for r in self.roles.values() if r["userSourcedId"] == user})
        )


def _write(path: Path, header: list[str], rows: list[dict[str, str]]) -> None:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=header, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def _whole_drop(folder: Path, model: Model) -> Path:
    shutil.copytree(SAMPLE_12, folder)
    _write(folder / "roles.csv", ROLES_HEADER, list(model.roles.values()))
    return folder


def _changes_drop(folder: Path, rows: list[dict[str, str]], givers: set[str]) -> Path:
    """users.csv and roles.csv as changes: the changed roles, their users' rows and the rows of
    the people who gave a role away."""
    folder.mkdir()
    users = {r["userSourcedId"] for r in rows} | givers
    _write(folder / "users.csv", USERS_HEADER, [u for u in USERS if u["sourcedId"] in users])
    _write(folder / "roles.csv", ROLES_HEADER, rows)
    write_changes_only_manifest(SAMPLE_12, folder, ("users", "roles"))
    return folder


@pytest.mark.timeout(600)
@property_settings(8, 12)
@given(scenarios())
def test_a_users_schools_are_those_of_all_their_live_roles(
    tmp_path_factory: pytest.TempPathFactory, nights: list[list[Change]]
):
    with example_folder(tmp_path_factory) as tmp:
        root = Path(tmp)
        with property_engine(root / "roster.duckdb") as engine:
            db = engine.db
            model = Model()
            for n, night in enumerate(nights):
                model.givers = set()
                said = [row for row in map(model.change, night) if row is not None]
                if n == 0:
                    drop = _whole_drop(root / "night-0", model)
                elif said:
                    # one row per role: the last change of a role says what it is now
                    rows = list({r["sourcedId"]: r for r in said}.values())
                    drop = _changes_drop(root / f"night-{n}", rows, model.givers)
                else:
                    continue
                run = engine.plan_source(str(drop))
                errors = db.rows(
                    "SELECT message FROM row_issues WHERE run_id = ? AND severity = 'ERROR'",
                    [run.run_id],
                )
                assert errors == [], errors
                engine.apply_run(
                    run.run_id, override=True, reason="property", scan_duplicates=False
                )
                for user in PEOPLE:
                    [(schools,)] = db.rows("SELECT org_sis_ids FROM users WHERE sis_id = ?", [user])
                    assert schools == model.schools(user), (n, user, said)
