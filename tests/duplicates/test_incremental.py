"""The incremental scan (after an applied run, and `duplicates scan` by default) finds exactly
the open candidates a full scan finds: over generated districts (families, twins, namesakes,
injected duplicates of every kind) changed by random mixtures of what runs and people do."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from benchmarks.duplicates.dataset import build
from daemon.db import Database
from daemon.duplicates import decisions
from daemon.duplicates.scan import scan

STUDENTS = 1500


def _candidates(db: Database) -> set[tuple]:
    return set(
        db.rows(
            """SELECT candidate_id, left_id, right_id, status, points, CAST(evidence AS VARCHAR),
                      CAST(field_points AS VARCHAR)
               FROM duplicate_candidates"""
        )
    )


def _some(db: Database, rng: random.Random, where: str, share: float) -> list[int]:
    ids = [r[0] for r in db.rows(f"SELECT user_id FROM users WHERE {where} ORDER BY user_id")]
    return rng.sample(ids, max(1, int(len(ids) * share))) if ids else []


def _in(ids: list[int]) -> str:
    return "(" + ", ".join(str(i) for i in ids) + ")"


def _typo_names(db, rng):
    ids = _some(db, rng, "kind = 'student' AND status = 'active'", 0.02)
    db.execute(f"UPDATE users SET given_name = given_name || 'e' WHERE user_id IN {_in(ids)}")


def _new_birth_dates(db, rng):
    ids = _some(db, rng, "kind = 'student' AND birth_date IS NOT NULL", 0.02)
    db.execute(
        "UPDATE users SET birth_date = strftime(CAST(birth_date AS DATE) + 1, '%Y-%m-%d') "
        f"WHERE user_id IN {_in(ids)}"
    )


def _archive(db, rng):
    ids = _some(db, rng, "kind IN ('student', 'guardian') AND status = 'active'", 0.02)
    db.execute(f"UPDATE users SET status = 'archived' WHERE user_id IN {_in(ids)}")


def _unarchive(db, rng):
    ids = _some(db, rng, "kind IN ('student', 'guardian') AND status = 'archived'", 0.3)
    if ids:
        db.execute(f"UPDATE users SET status = 'active' WHERE user_id IN {_in(ids)}")


def _new_duplicates(db, rng):
    """New records that copy existing students (a run that created them), some mistyped."""
    ids = _some(db, rng, "kind = 'student' AND status = 'active'", 0.02)
    top = int(db.one("SELECT max(user_id) FROM users"))
    db.execute(
        f"""INSERT INTO users SELECT * REPLACE (
                {top} + row_number() OVER (ORDER BY user_id) AS user_id,
                sis_id || '-again' AS sis_id,
                CASE WHEN user_id % 2 = 0 THEN given_name ELSE left(given_name, -1) END
                    AS given_name)
            FROM users WHERE user_id IN {_in(ids)}"""
    )
    db.execute(
        f"""INSERT INTO guardian_links SELECT l.* REPLACE (
                (SELECT max(link_id) FROM guardian_links) + row_number() OVER () AS link_id,
                u.user_id AS student_id)
            FROM users u JOIN guardian_links l ON l.student_id = CAST(
                (SELECT min(o.user_id) FROM users o WHERE o.sis_id || '-again' = u.sis_id) AS BIGINT)
            WHERE u.user_id > {top}"""
    )


def _links(db, rng):
    """Guardian links removed and added (a family's contacts changed)."""
    links = [r[0] for r in db.rows("SELECT link_id FROM guardian_links ORDER BY link_id")]
    gone = rng.sample(links, max(1, len(links) // 50))
    db.execute(f"DELETE FROM guardian_links WHERE link_id IN {_in(gone)}")
    students = _some(db, rng, "kind = 'student'", 0.01)
    guardians = _some(db, rng, "kind = 'guardian'", 0.01)
    for s, g in zip(students, guardians, strict=False):
        db.execute(
            """INSERT INTO guardian_links (link_id, student_id, guardian_id, status, origin)
               VALUES ((SELECT max(link_id) + 1 FROM guardian_links), ?, ?, 'active', 'sync')""",
            [s, g],
        )


def _guardian_contacts(db, rng):
    ids = _some(db, rng, "kind = 'guardian'", 0.03)
    db.execute(
        "UPDATE users SET mobile_phone = '555' || lpad(CAST(user_id % 9999999 AS VARCHAR), 7, '0'), "
        f"email = NULL WHERE user_id IN {_in(ids)}"
    )


def _schools(db, rng):
    """Students moved to another school (their orgs)."""
    ids = _some(db, rng, "kind = 'student' AND org_sis_ids IS NOT NULL", 0.02)
    orgs = [r[0] for r in db.rows("SELECT DISTINCT org_sis_ids FROM users WHERE kind = 'student'")]
    for i in ids:
        db.execute("UPDATE users SET org_sis_ids = ? WHERE user_id = ?", [rng.choice(orgs), i])


def _common_name(db, rng):
    """Many people take one family name: blocks outgrow their caps, names change rarity."""
    ids = _some(db, rng, "kind = 'student'", 0.05)
    db.execute(f"UPDATE users SET family_name = 'Garcia' WHERE user_id IN {_in(ids)}")


def _decide(db, rng):
    """The administrator merges some open candidates and rejects others."""
    open_ids = [
        r[0]
        for r in db.rows(
            "SELECT candidate_id FROM duplicate_candidates WHERE status = 'open' ORDER BY 1"
        )
    ]
    for n, cand in enumerate(rng.sample(open_ids, min(6, len(open_ids)))):
        if (
            db.one("SELECT status FROM duplicate_candidates WHERE candidate_id = ?", [cand])
            != "open"
        ):
            continue
        try:
            if n % 2:
                decisions.reject_pair(db, "tester", None, None, candidate_id=cand)
            else:
                decisions.merge_pair(db, "tester", None, None, candidate_id=cand)
        except Exception as e:  # a pair the merge refuses (both synced): reject it instead
            if (
                "merge" not in type(e).__name__.lower()
                and "duplicate" not in type(e).__name__.lower()
            ):
                raise
            decisions.reject_pair(db, "tester", None, None, candidate_id=cand)


CHANGES = [
    _typo_names,
    _new_birth_dates,
    _archive,
    _unarchive,
    _new_duplicates,
    _links,
    _guardian_contacts,
    _schools,
    _common_name,
    _decide,
]


@pytest.fixture(scope="module")
def district(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A scanned district, copied by each test."""
    path = tmp_path_factory.mktemp("district") / "directory.duckdb"
    with Database(path) as db:
        build(db, STUDENTS, 5)
        assert not scan(db)["incremental"]  # the first scan is full: there is no cache yet
    return path


@pytest.mark.parametrize("seed", range(6))
def test_an_incremental_scan_finds_what_a_full_scan_finds(district, tmp_path, seed):
    rng = random.Random(seed)
    path = tmp_path / "directory.duckdb"
    path.write_bytes(district.read_bytes())
    with Database(path) as db:
        for _night in range(2):
            for change in rng.sample(CHANGES, rng.randint(2, 5)):
                change(db, rng)
            result = scan(db)
            assert result["incremental"]
        incremental = _candidates(db)
        full = scan(db, full=True)
        assert (full["new"], full["gone"]) == (0, 0)
        assert _candidates(db) == incremental


def test_a_scan_with_nothing_changed_compares_no_pair(district, tmp_path):
    path = tmp_path / "directory.duckdb"
    path.write_bytes(district.read_bytes())
    with Database(path) as db:
        before = _candidates(db)
        result = scan(db)
        assert (result["incremental"], result["changed"], result["pairs_compared"]) == (True, 0, 0)
        assert _candidates(db) == before


def test_a_pair_that_disappears_because_one_side_changed_is_removed(district, tmp_path):
    path = tmp_path / "directory.duckdb"
    path.write_bytes(district.read_bytes())
    with Database(path) as db:
        left, right = db.rows(
            """SELECT left_id, right_id FROM duplicate_candidates
               WHERE status = 'open' AND record_kind = 'student' ORDER BY points DESC LIMIT 1"""
        )[0]
        db.execute(
            "UPDATE users SET given_name = 'Zebulon', family_name = 'Quartermaine', "
            "birth_date = '1990-01-01', identifier = NULL, email = NULL WHERE user_id = ?",
            [right],
        )
        result = scan(db)
        assert result["incremental"] and result["gone"] >= 1
        assert not db.one(
            "SELECT count(*) FROM duplicate_candidates WHERE left_id = ? AND right_id = ?",
            [left, right],
        )


def test_a_scan_after_the_scoring_code_changed_is_full(district, tmp_path):
    path = tmp_path / "directory.duckdb"
    path.write_bytes(district.read_bytes())
    with Database(path) as db:
        db.execute("UPDATE duplicate_scan_state SET format = 'an older version'")
        assert not scan(db)["incremental"]
        assert scan(db)["incremental"]


def test_a_block_that_outgrows_its_cap_and_shrinks_back_pairs_as_a_full_scan(district, tmp_path):
    """Forty students renamed Zenobia Quill make that name's block too large to pair anyone (its
    cap is 30). Two of them are one child entered twice, the second record with nothing but the
    name and the guardian, so that block is the only one they share. When thirty of the others
    get their own names back, the block pairs the ten left, and the child's records are found."""
    path = tmp_path / "directory.duckdb"
    path.write_bytes(district.read_bytes())
    with Database(path) as db:
        child, guardian = db.rows(
            """SELECT l.student_id, l.guardian_id FROM guardian_links l
               JOIN users u ON u.user_id = l.student_id AND u.status = 'active'
               ORDER BY l.student_id LIMIT 1"""
        )[0]
        again = int(db.one("SELECT max(user_id) + 1 FROM users"))
        db.execute(
            """INSERT INTO users SELECT * REPLACE (? AS user_id, sis_id || '-again' AS sis_id,
                   NULL AS birth_date, NULL AS org_sis_ids, NULL AS grades, NULL AS identifier,
                   NULL AS email, NULL AS user_ids, NULL AS mobile_phone, NULL AS home_phone)
               FROM users WHERE user_id = ?""",
            [again, child],
        )
        db.execute(
            """INSERT INTO guardian_links (link_id, student_id, guardian_id, status, origin)
               VALUES ((SELECT max(link_id) + 1 FROM guardian_links), ?, ?, 'active', 'sync')""",
            [again, guardian],
        )
        others = [
            r[0]
            for r in db.rows(
                f"""SELECT user_id FROM users WHERE kind = 'student' AND user_id NOT IN ({child}, {again})
                    ORDER BY user_id LIMIT 38"""
            )
        ]
        names = db.rows(
            f"SELECT user_id, given_name, family_name FROM users WHERE user_id IN {_in(others)}"
        )
        renamed = _in([child, again, *others])
        db.execute(
            f"UPDATE users SET given_name = 'Zenobia', family_name = 'Quill' WHERE user_id IN {renamed}"
        )
        assert scan(db)["incremental"]
        for user, given, family in names[:30]:
            db.execute(
                "UPDATE users SET given_name = ?, family_name = ? WHERE user_id = ?",
                [given, family, user],
            )
        assert scan(db)["incremental"]
        incremental = _candidates(db)
        assert any({left, right} == {child, again} for _, left, right, *_ in incremental)
        full = scan(db, full=True)
        assert (full["new"], full["gone"]) == (0, 0)
        assert _candidates(db) == incremental
