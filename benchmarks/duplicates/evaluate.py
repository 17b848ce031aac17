"""Duplicate finding measured through the real sync, on two labelled sets (docs/duplicates.md).

    .venv/bin/python -m benchmarks.duplicates.evaluate rekey --students 20000 --seed 11
    .venv/bin/python -m benchmarks.duplicates.evaluate noise --seed 11      # needs pseudopeople

rekey: a generated district (households, twins with look-alike names, siblings) is applied as
night 1; on night 2 the SIS re-issues 1% of students under new ids (new sourcedId, student
number and userIds; a third with a dropped letter in the given name, half with a new e-mail).
Both nights go through plan and apply; the scan runs after each apply, as in the product.

noise: children, their households and guardians from pseudopeople's sample population (a
realistic simulated US population; `pip install pseudopeople`, optional, never needed by the
tests), plus added twins (a quarter with look-alike names). For each of pseudopeople's noise
types on names and birth dates, a disjoint sample of children is entered a second time in the
SIS as pseudopeople's noisy copy of the child (its own sourcedId and student number, no
e-mail, the same school; half linked to the same guardians). One night is applied and scanned.

A proposed pair is correct when both records are one child. Reported: precision, recall and the
twins proposed, overall and per noise type, and the missed pairs by where they were lost
(never compared: blocking; compared but guarded; below the threshold).
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import shutil
import sys
import tempfile
import time
from collections import Counter, defaultdict
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.duplicates import names as N
from daemon.db import Database
from daemon.duplicates import people, scoring
from daemon.duplicates.nicknames import load_nicknames
from daemon.service.engine import Engine

USERS = [
    "sourcedId", "status", "dateLastModified", "enabledUser", "orgSourcedIds", "role",
    "username", "userIds", "givenName", "familyName", "middleName", "identifier", "email",
    "sms", "phone", "agentSourcedIds", "grades", "password",
]  # fmt: skip
SCHOOL_SIZE = 600


@dataclass
class Child:
    sid: str
    person: str  # the real child: two records of one child share it
    family: str  # household
    given: str
    family_name: str
    dob: str  # YYYY-MM-DD or ''
    grade: int
    number: str
    email: str = ""
    user_ids: str = ""
    guardians: list[str] = field(default_factory=list)
    kind: str = ""  # the injected duplicate's kind ('' for an original)


@dataclass
class Guardian:
    sid: str
    given: str
    family_name: str
    mobile: str
    home: str


def school_of(grade: int) -> str:
    return "sch-" + ("elem" if grade <= 5 else "mid" if grade <= 8 else "high")


def write_drop(
    folder: Path, children: list[Child], guardians: list[Guardian], zones: dict[str, str]
) -> Path:
    """A OneRoster 1.1 drop: orgs, users (students and guardians) and demographics."""
    folder.mkdir(parents=True)
    schools = sorted({f"{zones[c.family]}-{school_of(c.grade)}" for c in children})
    with open(folder / "orgs.csv", "w", newline="") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["sourcedId", "status", "dateLastModified", "name", "type", "identifier",
                    "parentSourcedId"])  # fmt: skip
        w.writerow(["dist", "", "", "Eval District", "district", "", ""])
        for s in schools:
            w.writerow([s, "", "", s.replace("-", " ").title(), "school", s, "dist"])
    agents: dict[str, list[str]] = defaultdict(list)
    for c in children:
        for g in c.guardians:
            agents[g].append(c.sid)
    with open(folder / "users.csv", "w", newline="") as out:
        w = csv.DictWriter(out, USERS, lineterminator="\n")
        w.writeheader()
        for c in children:
            grade = "KG" if c.grade == 0 else f"{c.grade:02d}"
            w.writerow(
                {
                    "sourcedId": c.sid,
                    "enabledUser": "true",
                    "role": "student",
                    "orgSourcedIds": f"{zones[c.family]}-{school_of(c.grade)}",
                    "username": c.sid,
                    "userIds": c.user_ids,
                    "givenName": c.given,
                    "familyName": c.family_name,
                    "identifier": c.number,
                    "email": c.email,
                    "agentSourcedIds": ",".join(c.guardians),
                    "grades": grade,
                }
            )
        for g in guardians:
            if not agents.get(g.sid):
                continue
            w.writerow(
                {
                    "sourcedId": g.sid,
                    "enabledUser": "true",
                    "role": "parent",
                    "orgSourcedIds": "dist",
                    "username": g.sid,
                    "givenName": g.given,
                    "familyName": g.family_name,
                    "sms": g.mobile,
                    "phone": g.home,
                    "agentSourcedIds": ",".join(agents[g.sid]),
                }
            )
    for name, header in (  # required files; classes do not matter here
        ("classes.csv", "sourcedId,status,dateLastModified,title,grades,courseSourcedId,classCode,"
                        "classType,location,schoolSourcedId,termSourcedIds,subjects,subjectCodes,periods"),
        ("enrollments.csv", "sourcedId,status,dateLastModified,classSourcedId,schoolSourcedId,"
                            "userSourcedId,role,primary,beginDate,endDate"),
    ):  # fmt: skip
        (folder / name).write_text(header + "\n")
    with open(folder / "demographics.csv", "w", newline="") as out:
        w = csv.writer(out, lineterminator="\n")
        w.writerow(["sourcedId", "status", "dateLastModified", "birthDate", "sex"])
        for c in children:
            w.writerow([c.sid, "", "", c.dob, ""])
    return folder


def apply(engine: Engine, folder: Path) -> int:
    run = engine.plan_source(str(folder))
    assert run.status in ("planned", "held"), run.error
    held = run.status == "held"
    engine.apply_run(run.run_id, override=held, reason="evaluation" if held else None)
    return run.run_id


# ---------------------------------------------------------------- measuring
def measure(
    db: Database, children: list[Child], examples: int = 4, leave_out: str = ""
) -> dict[str, Any]:
    """Proposed pairs against the truth; missed pairs by where they were lost (up to `examples`
    examples per reason). `leave_out`: a duplicate kind also measured apart, the figures
    without it under `without_<kind>` (fake names: see docs/duplicates.md)."""
    ids = dict(db.rows("SELECT sis_id, user_id FROM users WHERE kind = 'student'"))
    by_user = {ids[c.sid]: c for c in children if c.sid in ids}
    truth: dict[frozenset[int], str] = {}
    records: dict[str, list[Child]] = defaultdict(list)
    for c in children:
        if c.sid in ids:
            records[c.person].append(c)
    for recs in records.values():
        for i, a in enumerate(recs):
            for b in recs[i + 1 :]:
                truth[frozenset((ids[a.sid], ids[b.sid]))] = a.kind or b.kind
    found = db.rows(
        """SELECT left_id, right_id FROM duplicate_candidates
           WHERE status = 'open' AND record_kind = 'student'"""
    )
    proposed = {frozenset(p) for p in found}
    correct = proposed & truth.keys()
    twins = [
        p
        for p in proposed - truth.keys()
        if len({by_user[u].family for u in p if u in by_user}) == 1
        and len({by_user[u].dob for u in p if u in by_user}) == 1
    ]
    per_kind: dict[str, dict[str, int]] = defaultdict(lambda: {"pairs": 0, "found": 0})
    for p, kind in truth.items():
        per_kind[kind]["pairs"] += 1
        per_kind[kind]["found"] += p in correct
    wrong_by_kind: Counter[str] = Counter()
    for p in proposed - truth.keys():
        kinds = {by_user[u].kind for u in p if u in by_user} - {""}
        wrong_by_kind[",".join(sorted(kinds)) or "originals"] += 1
    wrong_examples = [
        f"{r[2]} | {r[3]} ({r[4]} points; {r[5]})"
        for r in db.rows(
            """SELECT c.left_id, c.right_id,
                      concat_ws(' ', a.given_name, a.family_name, a.birth_date),
                      concat_ws(' ', b.given_name, b.family_name, b.birth_date),
                      c.points, CAST(c.evidence AS VARCHAR)
               FROM duplicate_candidates c JOIN users a ON a.user_id = c.left_id
               JOIN users b ON b.user_id = c.right_id
               WHERE c.status = 'open' AND c.record_kind = 'student' ORDER BY c.points DESC"""
        )
        if frozenset(r[:2]) not in truth
    ][:12]
    missed = sorted(truth.keys() - proposed, key=sorted)
    without: dict[str, Any] = {}
    if leave_out:  # the pairs that involve no record of that kind
        kept = {
            p for p in proposed if leave_out not in {by_user[u].kind for u in p if u in by_user}
        }
        kept_truth = {p for p, kind in truth.items() if kind != leave_out}
        hits = kept & kept_truth
        without = {
            f"without_{leave_out}": {
                "proposed": len(kept),
                "true_pairs": len(kept_truth),
                "correct": len(hits),
                "precision": round(len(hits) / len(kept), 4) if kept else 1.0,
                "recall": round(len(hits) / len(kept_truth), 4) if kept_truth else 1.0,
                "twins_proposed": len([p for p in twins if p in kept]),
            }
        }
    return {
        "proposed": len(proposed),
        "true_pairs": len(truth),
        "correct": len(correct),
        "precision": round(len(correct) / len(proposed), 4) if proposed else 1.0,
        "recall": round(len(correct) / len(truth), 4) if truth else 1.0,
        "twins_proposed": len(twins),
        **without,
        "wrong_by_kind": dict(wrong_by_kind),
        "wrong_examples": wrong_examples,
        "per_kind": {
            k: {**v, "recall": round(v["found"] / v["pairs"], 4)}
            for k, v in sorted(per_kind.items())
        },
        "missed": where_missed(db, [sorted(p) for p in missed], truth, examples),
    }


def where_missed(
    db: Database, missed: list[list[int]], truth: dict[frozenset[int], str], examples_per: int = 4
) -> dict[str, Any]:
    """Rebuild the scan's working tables and ask, for each missed pair: was it compared at all
    (blocking), was it guarded, or did it score below the threshold? With examples."""
    if not missed or not hasattr(scoring, "scored_sql"):  # (an older scorer: no breakdown)
        return {}
    db.execute("CREATE OR REPLACE TEMP TABLE eval_missed (a BIGINT, b BIGINT)")
    values = ", ".join(f"({int(a)}, {int(b)})" for a, b in missed)
    db.execute(f"INSERT INTO eval_missed VALUES {values}")
    load_nicknames(db)
    people.build_people(db)  # with the name frequencies
    people.build_keys(db)
    people.build_pairs(db)
    compared = {
        frozenset(r)
        for r in db.rows(f"SELECT a, b FROM {people.PAIRS} SEMI JOIN eval_missed USING (a, b)")
    }
    db.execute(f"CREATE OR REPLACE TEMP TABLE {people.PAIRS} AS SELECT a, b FROM eval_missed")
    db.execute(
        f"""CREATE OR REPLACE TEMP TABLE eval_scored AS
            SELECT * FROM ({scoring.scored_sql("student", -1000, all_rows=True)})"""
    )
    rows = db.dicts("SELECT a, b, points, guarded, evidence FROM eval_scored")
    reasons: Counter[str] = Counter()
    examples: dict[str, list[str]] = defaultdict(list)
    names = {
        r[0]: f"{r[1]} {r[2]} {r[3]}"
        for r in db.rows(
            "SELECT user_id, given_name, family_name, birth_date FROM users WHERE kind = 'student'"
        )
    }
    for r in rows:
        pair = frozenset((r["a"], r["b"]))
        if pair not in compared:
            reason = "never compared (blocking)"
        elif r["guarded"]:
            reason = "guarded"
        else:
            reason = "below the threshold"
        key = f"{truth[pair] or 'original'}: {reason}"
        reasons[key] += 1
        if len(examples[key]) < examples_per:
            ev = {k: v for k, v in (r["evidence"] or {}).items() if v != "missing"}
            examples[key].append(
                f"{names[r['a']]} | {names[r['b']]} ({r['points']} points; {json.dumps(ev)})"
            )
    return {"by_reason": dict(reasons), "examples": dict(examples)}


# ---------------------------------------------------------------- set (a): a district re-keyed
def zipf_pick(rng: random.Random, head: list[str], s: float = 0.5) -> str:
    """A name from a Zipf head, or (40% of the time) a made-up tail name: the most common name
    is on about 1.5% of children, as in US districts."""
    if rng.random() < 0.4:
        sylls = [o + n + c for o in N.ONSETS for n in N.NUCLEI for c in N.CODAS]
        return "".join(rng.choice(sylls) for _ in range(rng.choice((2, 2, 3)))).title()
    weights = [1 / (i + 1) ** s for i in range(len(head))]
    return rng.choices(head, weights)[0]


def generate_district(rng: random.Random, students: int) -> tuple[list, list, dict]:
    children: list[Child] = []
    guardians: list[Guardian] = []
    zones: dict[str, str] = {}
    n = 0
    f = 0
    while len(children) < students:
        f += 1
        fam = f"f{f}"
        zones[fam] = f"z{len(children) // (SCHOOL_SIZE * 6)}"
        family_name = zipf_pick(rng, N.HEAD_FAMILY)
        home = f"555{rng.randrange(10**7):07d}"
        gs = []
        for _ in range(rng.choice((1, 2, 2))):
            g = Guardian(
                f"g{len(guardians) + 1}",
                rng.choice(N.ADULT_GIVEN),
                family_name,
                f"555{rng.randrange(10**7):07d}",
                home,
            )
            guardians.append(g)
            gs.append(g.sid)
        kids = rng.choice((1, 1, 2, 2, 2, 3, 3, 4))
        births: list[tuple[date, str]] = []
        for _ in range(kids):
            born = date(2008, 9, 1) + timedelta(days=rng.randrange(13 * 365))
            births.append((born, zipf_pick(rng, N.HEAD_GIVEN)))
        if kids >= 2 and rng.random() < 0.08:  # twins, a third with look-alike names
            born = births[0][0]
            if rng.random() < 0.33:
                a, b = rng.choice(N.TWIN_NAME_PAIRS)
                births[:2] = [(born, a), (born, b)]
            else:
                births[1] = (born, births[1][1])
        seen = set()
        for born, given in births:
            if given in seen:
                continue  # no family names two children alike
            seen.add(given)
            n += 1
            grade = max(0, min(12, (date(2026, 9, 1) - born).days // 365 - 5))
            local = f"{given}.{family_name}{n}".lower()
            children.append(
                Child(
                    sid=f"stu-{n}",
                    person=f"p{n}",
                    family=fam,
                    given=given,
                    family_name=family_name,
                    dob=born.isoformat(),
                    grade=grade,
                    number=f"S{n:07d}",
                    email=f"{local}@students.example.org",
                    user_ids=f"{{SIS:S{n:07d}}}",
                    guardians=list(gs),
                )
            )
    return children, guardians, zones


def drop_a_letter(rng: random.Random, name: str) -> str:
    """Jamal/Jama, Maya/May (the last letter, most often) or one letter inside."""
    if len(name) < 4:
        return name
    if rng.random() < 0.6:
        return name[:-1]
    i = rng.randrange(1, len(name) - 1)
    return name[:i] + name[i + 1 :]


def run_rekey(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    rng = random.Random(args.seed)
    children, guardians, zones = generate_district(rng, args.students)
    db = Database(work / "roster.duckdb")
    engine = Engine(db, "eval")
    started = time.perf_counter()
    apply(engine, write_drop(work / "night1", children, guardians, zones))
    chosen = rng.sample(range(len(children)), max(1, round(len(children) * args.rate)))
    night2 = list(children)
    kinds: Counter[str] = Counter()
    for k, i in enumerate(chosen):
        old = children[i]
        n = len(night2) + 1 + k
        given = drop_a_letter(rng, old.given) if k % 3 == 0 else old.given
        new_email = k % 2 == 0
        kind = ("dropped letter" if given != old.given else "same name") + (
            ", new e-mail" if new_email else ", same e-mail"
        )
        kinds[kind] += 1
        email = f"{given}.{old.family_name}{n}".lower() + "@students.example.org"
        night2[i] = replace(
            old,
            sid=f"stu-r{n}",
            given=given,
            number=f"S{n:07d}",
            user_ids=f"{{SIS:S{n:07d}}}",
            email=email if new_email else old.email,
            kind=kind,
        )
        old.kind = kind
    apply(engine, write_drop(work / "night2", night2, guardians, zones))
    elapsed = time.perf_counter() - started
    scan_seconds = engine.duplicates_scan().seconds
    result = measure(db, children + [c for c in night2 if c.kind], args.examples)
    db.close()
    return {
        "set": "rekey",
        "students": len(children),
        "rekeyed": dict(kinds),
        "seconds_sync_two_nights": round(elapsed, 1),
        "scan_seconds": scan_seconds,
        **result,
    }


# ---------------------------------------------------------------- set (b): realistic noise
NOISE_TYPES = {  # type -> the columns pseudopeople applies it to here
    "typo": ("make_typos", ("first_name", "last_name", "date_of_birth")),
    "ocr": ("make_ocr_errors", ("first_name", "last_name", "date_of_birth")),
    "phonetic": ("make_phonetic_errors", ("first_name", "last_name")),
    "nickname": ("use_nickname", ("first_name",)),
    "fake_name": ("use_fake_name", ("first_name", "last_name")),
    "blank": ("leave_blank", ("first_name", "last_name", "date_of_birth")),
    "day_month_swap": ("swap_month_and_day", ("date_of_birth",)),
    "wrong_digits": ("write_wrong_digits", ("date_of_birth",)),
    "household_date": ("copy_from_household_member", ("date_of_birth",)),
}
GUARDIAN_ROLES = {
    "Reference person", "Opposite-sex spouse", "Same-sex spouse", "Opposite-sex unmarried partner",
    "Same-sex unmarried partner", "Parent",
}  # fmt: skip


def census(psp: Any, seed: int, noise: str | None, column: str = "") -> Any:
    """pseudopeople's decennial census of its sample population: without noise, or with one
    noise type on one column (on every row it can) and nothing else."""
    if noise is None:
        return psp.generate_decennial_census(seed=seed, config=psp.NO_NOISE, verbose=False)
    config = psp.get_config()["decennial_census"]
    for row_noise in config["row_noise"].values():
        for key in row_noise:
            row_noise[key] = 0.0
    for noises in config["column_noise"].values():
        for settings in noises.values():
            settings["cell_probability"] = 0.0
    name, _columns = NOISE_TYPES[noise]
    config["column_noise"][column][name]["cell_probability"] = 1.0
    return psp.generate_decennial_census(
        seed=seed, config={"decennial_census": config}, verbose=False
    )


def _dob(value: Any) -> str:
    """pseudopeople's MM/DD/YYYY as ISO, or '' (blank or not a date after noise)."""
    text = "" if value is None or str(value) in ("nan", "<NA>", "None") else str(value)
    try:
        month, day, year = (int(x) for x in text.split("/"))
        return date(year, month, day).isoformat()
    except (ValueError, TypeError):
        return ""


def _text(value: Any) -> str:
    return "" if value is None or str(value) in ("nan", "<NA>", "None") else str(value).strip()


def run_noise(args: argparse.Namespace, work: Path) -> dict[str, Any]:
    try:
        import pseudopeople as psp
    except ImportError:
        raise SystemExit("the noise set needs pseudopeople: pip install pseudopeople") from None
    rng = random.Random(args.seed)
    clean = census(psp, args.seed, None)
    clean["age"] = clean["age"].astype(int)
    kids = clean[(clean["age"] >= 5) & (clean["age"] <= 17)]
    adults = clean[
        (clean["age"] >= 18) & clean["relationship_to_reference_person"].isin(GUARDIAN_ROLES)
    ]
    guardians: list[Guardian] = []
    by_household: dict[str, list[str]] = defaultdict(list)
    homes: dict[str, str] = {}
    for row in adults.sort_values("age", ascending=False).itertuples():
        hh = str(row.household_id)
        if len(by_household[hh]) >= 2:
            continue
        home = homes.setdefault(hh, f"555{rng.randrange(10**7):07d}")
        g = Guardian(f"g-{row.simulant_id}", _text(row.first_name), _text(row.last_name),
                     f"555{rng.randrange(10**7):07d}", home)  # fmt: skip
        guardians.append(g)
        by_household[hh].append(g.sid)
    children: list[Child] = []
    zones: dict[str, str] = {}
    for row in kids.itertuples():
        hh = str(row.household_id)
        zones[hh] = "z0"
        n = len(children) + 1
        given, family_name = _text(row.first_name), _text(row.last_name)
        children.append(
            Child(
                sid=f"stu-{row.simulant_id}",
                person=str(row.simulant_id),
                family=hh,
                given=given,
                family_name=family_name,
                dob=_dob(row.date_of_birth),
                grade=int(row.age) - 5,
                number=f"S{n:07d}",
                email=f"{given}.{family_name}{n}".lower().replace(" ", "")
                + "@students.example.org",
                guardians=list(by_household.get(hh, [])),
            )
        )
    originals = list(children)
    # Twins: a quarter with look-alike names (the hard negatives), the rest with another child's
    # given name from the population.
    given_pool = [c.given for c in originals]
    twins = 0
    renamed: set[str] = set()  # the noisy copies carry the census name: no duplicates of these
    for c in rng.sample(originals, round(len(originals) * args.twins)):
        n = len(children) + 1
        if rng.random() < 0.25:
            a, b = rng.choice(N.TWIN_NAME_PAIRS)
            c.given, twin_given = a, b
            renamed.add(c.person)
        else:
            twin_given = rng.choice([g for g in given_pool if g != c.given])
        twins += 1
        children.append(
            replace(
                c,
                sid=f"stu-t{n}",
                person=f"t{n}",
                given=twin_given,
                number=f"S{n:07d}",
                email=f"{twin_given}.{c.family_name}{n}".lower() + "@students.example.org",
            )
        )
    # Duplicates: a disjoint sample per noise type, each the noisy copy pseudopeople made.
    pool = [c for c in originals if c.person not in renamed]
    rng.shuffle(pool)
    share = max(1, round(len(originals) * args.dup_rate))
    unchanged: Counter[str] = Counter()
    became_other: Counter[str] = Counter()  # noise made it another child's exact record
    records = Counter((c.given, c.family_name, c.dob) for c in children)
    # one column per duplicate: each noise type gets `share` duplicates, split over its columns
    slices = [(noise, column) for noise, (_, cols) in NOISE_TYPES.items() for column in cols]
    start = 0
    for noise, column in slices:
        noisy = census(psp, args.seed, noise, column).set_index("simulant_id")
        take = max(1, round(share / len(NOISE_TYPES[noise][1])))
        start += take
        for c in pool[start - take : start]:
            if c.person not in noisy.index:
                continue
            row = noisy.loc[c.person]
            given, family_name, dob = (
                _text(row.first_name),
                _text(row.last_name),
                _dob(row.date_of_birth),
            )
            if (given, family_name, dob) == (c.given, c.family_name, c.dob):
                unchanged[noise] += 1
                continue
            if records[(given, family_name, dob)]:  # e.g. a sibling of the same name's date
                became_other[noise] += 1
                continue
            n = len(children) + 1
            children.append(
                replace(
                    c,
                    sid=f"stu-d{n}",
                    given=given,
                    family_name=family_name,
                    dob=dob,
                    number=f"S{n:07d}",
                    email="",
                    kind=noise,
                    guardians=c.guardians if rng.random() < 0.5 else [],
                )
            )
    db = Database(work / "roster.duckdb")
    engine = Engine(db, "eval")
    apply(engine, write_drop(work / "night1", children, guardians, zones))
    scan_seconds = engine.duplicates_scan().seconds
    loaded = set(dict(db.rows("SELECT sis_id, user_id FROM users WHERE kind = 'student'")))
    not_loaded = Counter(c.kind for c in children if c.kind and c.sid not in loaded)
    result = measure(db, children, args.examples, leave_out="fake_name")
    db.close()
    return {
        "set": "noise",
        "children": len(originals),
        "twins_added": twins,
        "duplicates": sum(1 for c in children if c.kind),
        "noise_left_the_record_unchanged": dict(unchanged),
        "noise_made_another_childs_record": dict(became_other),
        "duplicates_the_sync_refused": dict(not_loaded),
        "scan_seconds": scan_seconds,
        **result,
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="set", required=True)
    a = sub.add_parser("rekey", help="a district whose SIS re-keyed students overnight")
    a.add_argument("--students", type=int, default=20000)
    a.add_argument("--rate", type=float, default=0.01, help="share of students re-keyed")
    b = sub.add_parser("noise", help="pseudopeople's children with census-style noise")
    b.add_argument("--dup-rate", type=float, default=0.05, help="share per noise type")
    b.add_argument("--twins", type=float, default=0.08, help="share of children given a twin")
    for p in (a, b):
        p.add_argument("--seed", type=int, default=11)
        p.add_argument("--keep", metavar="DIR", help="keep the database and drops here")
        p.add_argument("--examples", type=int, default=4, help="missed pairs shown per reason")
    args = parser.parse_args(argv)
    work = Path(args.keep) if args.keep else Path(tempfile.mkdtemp(prefix="dup-eval-"))
    if args.keep and work.exists():
        shutil.rmtree(work)
    work.mkdir(parents=True, exist_ok=True)
    try:
        result = run_rekey(args, work) if args.set == "rekey" else run_noise(args, work)
    finally:
        if not args.keep:
            shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
