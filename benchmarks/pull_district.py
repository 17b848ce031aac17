"""Benchmark: pull a large district from a OneRoster REST server on loopback.

The server (tests/hubs/oneroster.py, OAuth 1.0a signatures checked) makes each record when it is
asked for, so only the pull's own memory is measured: the pull runs in a child process, and its
peak RSS is read from the kernel when it ends. Prints records per second and peak memory; with
--plan, also plans the pulled drop into a fresh database (the same as a CSV drop).

    python benchmarks/pull_district.py --students 100000      # about 1.3M records
    python benchmarks/pull_district.py --students 2000         # a quick look
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.hubs import oneroster  # noqa: E402
from tests.hubs.oneroster import OneRosterHub  # noqa: E402

CLASSES_PER_STUDENT = 5
STUDENTS_PER_TEACHER = 25
SCHOOLS = 20


class Generated:
    """A collection whose records are made when a page asks for them (never stored)."""

    def __init__(self, size: int, make: Any) -> None:
        self.size, self.make = size, make

    def __len__(self) -> int:
        return self.size

    def __getitem__(self, window: slice) -> list[dict[str, Any]]:
        start, stop, _ = window.indices(self.size)
        return [self.make(i) for i in range(start, stop)]


def _ref(sourced_id: str, kind: str) -> dict[str, str]:
    return {
        "href": f"https://sis.example.org/{kind}/{sourced_id}",
        "sourcedId": sourced_id,
        "type": kind,
    }


def district(students: int) -> dict[str, Any]:
    teachers = max(1, students // STUDENTS_PER_TEACHER)
    classes = teachers * CLASSES_PER_STUDENT
    school = lambda i: f"sch-{i % SCHOOLS}"  # noqa: E731
    common = {"status": "active", "dateLastModified": "2026-11-01T06:00:00.000Z"}

    def org(i: int) -> dict[str, Any]:
        if i == 0:
            return {"sourcedId": "dist", **common, "name": "Bench District", "type": "district"}
        return {"sourcedId": f"sch-{i - 1}", **common, "name": f"School {i - 1}", "type": "school",
                "identifier": str(i), "parent": _ref("dist", "org")}  # fmt: skip

    def user(i: int) -> dict[str, Any]:
        if i < students:
            sid, role, org_id, agents = f"stu-{i}", "student", school(i), [_ref(f"gdn-{i}", "user")]
        elif i < 2 * students:
            j = i - students
            sid, role, org_id, agents = f"gdn-{j}", "parent", school(j), [_ref(f"stu-{j}", "user")]
        else:
            j = i - 2 * students
            sid, role, org_id, agents = f"tch-{j}", "teacher", school(j), []
        return {
            "sourcedId": sid, **common, "username": sid, "enabledUser": i % 2 == 0,
            "userIds": [{"type": "SIS", "identifier": sid}], "givenName": f"Given{i}",
            "familyName": f"Family{i % 997}", "middleName": "", "role": role, "identifier": sid,
            "email": f"{sid}@example.org", "sms": "", "phone": "", "agents": agents,
            "orgs": [_ref(org_id, "org")], "grades": ["05"] if role == "student" else [],
        }  # fmt: skip

    def klass(i: int) -> dict[str, Any]:
        return {"sourcedId": f"cls-{i}", **common, "title": f"Class {i}", "classCode": f"C{i}",
                "classType": "scheduled", "course": _ref("crs-1", "course"),
                "school": _ref(school(i // CLASSES_PER_STUDENT), "org"),
                "terms": [_ref("term-1", "academicSession")], "grades": ["05"]}  # fmt: skip

    def enrollment(i: int) -> dict[str, Any]:
        if i < students * CLASSES_PER_STUDENT:
            person, n, role = f"stu-{i // CLASSES_PER_STUDENT}", i // CLASSES_PER_STUDENT, "student"
            cls = (n // STUDENTS_PER_TEACHER) * CLASSES_PER_STUDENT + i % CLASSES_PER_STUDENT
        else:
            cls = i - students * CLASSES_PER_STUDENT
            person, role = f"tch-{cls // CLASSES_PER_STUDENT}", "teacher"
        return {"sourcedId": f"enr-{i}", **common, "user": _ref(person, "user"),
                "class": _ref(f"cls-{cls}", "class"),
                "school": _ref(school(cls // CLASSES_PER_STUDENT), "org"), "role": role}  # fmt: skip

    return {
        "orgs": Generated(SCHOOLS + 1, org),
        "users": Generated(2 * students + teachers, user),
        "classes": Generated(classes, klass),
        "enrollments": Generated(students * CLASSES_PER_STUDENT + classes, enrollment),
    }


CHILD = """
import json, sys, time
from pathlib import Path
from daemon.sources.config import SourceConfig
from daemon.sources.pull import pull
config = SourceConfig.model_validate_json(sys.argv[1])
started = time.monotonic()
summary = pull("bench", config, Path(sys.argv[2]))
print(json.dumps({"summary": summary, "seconds": time.monotonic() - started}))
"""


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=100_000)
    parser.add_argument("--page-size", type=int, default=1000)
    parser.add_argument(
        "--work", type=Path, default=None, help="folder for the pull (default: temp)"
    )
    parser.add_argument("--plan", action="store_true", help="also plan the pulled drop")
    args = parser.parse_args()
    work = args.work or Path(tempfile.mkdtemp(prefix="pull-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    secret = work / "bench.secret"
    secret.write_text(oneroster.CLIENT_SECRET)
    secret.chmod(0o600)
    hub = OneRosterHub(district(args.students)).start()  # type: ignore[arg-type]
    try:
        config = {
            "kind": "oneroster-rest", "base_url": hub.base_url, "auth": "oauth1",
            "client_id": oneroster.CLIENT_ID, "client_secret_file": str(secret),
            "page_size": args.page_size,
        }  # fmt: skip
        folder = work / "pull"
        result = subprocess.run(
            [sys.executable, "-c", CHILD, json.dumps(config), str(folder)],
            capture_output=True, text=True, cwd=REPO, check=False,
        )  # fmt: skip
    finally:
        hub.stop()
    if result.returncode != 0:
        print(result.stderr[-3000:], file=sys.stderr)
        return 1
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    out = json.loads(result.stdout.strip().splitlines()[-1])
    records = sum(r["records"] for r in out["summary"]["resources"].values() if "records" in r)
    pages = sum(r["pages"] for r in out["summary"]["resources"].values() if "pages" in r)
    seconds = out["seconds"]
    size = sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())
    print(f"students {args.students:,}: {records:,} records in {pages:,} pages, {seconds:.1f} s")
    print(f"  {records / seconds:,.0f} records/s; peak RSS of the pull {peak_mb:,.0f} MB; "
          f"folder {size / 1024**2:,.1f} MB (CSV, gzipped pages, trace)")  # fmt: skip
    if args.plan:
        from daemon.db import Database
        from daemon.service.engine import Engine

        db = Database(work / "roster.duckdb")
        try:
            started = time.monotonic()
            run = Engine(db, "bench").plan_source(str(folder))
            print(f"  planned: run {run.run_id} {run.status} in {time.monotonic() - started:.1f} s; "
                  f"{run.total_changes():,} changes, {run.rows.error:,} rows in error")  # fmt: skip
        finally:
            db.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
