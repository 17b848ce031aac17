"""A OneRoster REST source (ClassLink's Roster Server, SIS APIs) pulled into a run.

Every test talks to a real HTTP server on loopback (tests/hubs/oneroster.py) that pages, signs
and fails the way the documented API does.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import shutil
from pathlib import Path

from daemon.db import Database
from daemon.models import Run
from daemon.service.engine import Engine
from daemon.sources.drop_writer import trace_record
from tests.district import TinyDistrict
from tests.hubs.oneroster import OneRosterHub
from tests.sources.conftest import rest_config


def changes(engine: Engine, run_id: int) -> list[tuple]:
    page = engine.change_page(run_id, limit=1000)
    assert page.total == len(page.items)
    return sorted(
        (c.kind, c.op, c.sis_id, c.label, tuple((f.field, f.old, f.new) for f in c.fields),
         c.source_file, c.source_line)
        for c in page.items
    )  # fmt: skip


def applied_from_csv(engine: Engine, district: TinyDistrict, tmp_path: Path) -> int:
    """The district applied from its CSV files as run 1 of the engine's new database (the
    directory a pull then meets); its version.

    Many tests start so, most from the same few districts: each district is planned and applied
    once a session (about a second), and its database copied in under the engine's."""
    db = engine.db
    assert db.one("SELECT count(*) FROM runs") == 0, "the district is applied as run 1"
    assert db.one("SELECT count(*) FROM settings") == 0, "and applied under default settings"
    template = _applied_once(district, tmp_path.parent / "csv-applied")
    db.close()
    shutil.copyfile(template, db.path)
    db.con = Database(db.path).con
    return db.directory_version()


_APPLIED_ONCE: dict[str, Path] = {}


def _applied_once(district: TinyDistrict, root: Path) -> Path:
    """The database `district` applied as run 1 leaves, made the first time it is asked for (in
    the session's temporary folder, its drop kept there so a replan of run 1 finds it)."""
    content = json.dumps([district.files, district.manifest], sort_keys=True)
    key = hashlib.sha256(content.encode()).hexdigest()[:16]
    if key not in _APPLIED_ONCE:
        folder = root / key
        folder.mkdir(parents=True)
        path = folder / "roster.duckdb"
        with Database(path) as db:
            engine = Engine(db, "tester")
            first = engine.plan_source(str(district.write(folder / "drops")))
            run = engine.apply_run(first.run_id, scan_duplicates=False)
            assert run.status == "applied", run.error
        _APPLIED_ONCE[key] = path
    return _APPLIED_ONCE[key]


def assert_planned_as_csv(engine: Engine, run: Run, district: TinyDistrict, tmp_path: Path) -> None:
    """The pull planned exactly what the same district sent as CSV files plans."""
    assert run.status == "planned", run.error
    from_csv = engine.plan_source(str(district.write(tmp_path / "drops")))
    assert changes(engine, run.run_id) == changes(engine, from_csv.run_id)


def configure(engine: Engine, hub: OneRosterHub, secret_file: Path, **overrides) -> None:  # type: ignore[no-untyped-def]
    engine.configure_sources(
        {"classlink": rest_config(hub, secret_file, **overrides)}, engine.archive
    )


def pull_rest(engine: Engine, hub: OneRosterHub, secret_file: Path, **overrides) -> Run:  # type: ignore[no-untyped-def]
    """Configure the hub as the `classlink` source, pull it once, stop the hub."""
    with hub:
        configure(engine, hub, secret_file, **overrides)
        return engine.pull_source("classlink")


def test_a_pull_plans_the_same_changes_as_the_same_district_sent_as_csv(
    puller: Engine, hub: OneRosterHub, secret_file: Path, district: TinyDistrict, tmp_path: Path
) -> None:
    configure(puller, hub, secret_file)
    from_csv = puller.plan_source(str(district.write(tmp_path / "drops")))
    pulled = puller.pull_source("classlink")
    assert pulled.status == "planned", pulled.error
    assert pulled.source_kind == "rest" and pulled.source_name == "classlink"
    assert changes(puller, pulled.run_id) == changes(puller, from_csv.run_id)
    assert pulled.changes == from_csv.changes
    assert pulled.rows == from_csv.rows


def test_switching_from_csv_to_rest_and_back_plans_no_change(
    puller: Engine, hub: OneRosterHub, secret_file: Path, district: TinyDistrict, tmp_path: Path
) -> None:
    configure(puller, hub, secret_file)
    applied_from_csv(puller, district, tmp_path)
    pulled = puller.pull_source("classlink")
    assert pulled.status == "planned" and pulled.total_changes() == 0, pulled.changes
    puller.apply_run(pulled.run_id, scan_duplicates=False)
    back = puller.plan_source(str(district.write(tmp_path / "drops")))
    assert back.total_changes() == 0, back.changes


def test_the_pull_pages_through_each_collection_and_says_what_it_fetched(
    puller: Engine, hub: OneRosterHub, secret_file: Path, district: TinyDistrict
) -> None:
    configure(puller, hub, secret_file, page_size=4)
    run = puller.pull_source("classlink")
    users = run.fetch["resources"]["users"]
    assert users["records"] == len(district.files["users.csv"]) == 22
    assert users["pages"] == 7 and users["total"] == 22  # 4, then 3 more per page (overlap)
    assert len(hub.api_requests("/users")) == 7
    assert run.fetch["label"] == "OneRoster REST" and run.fetch["source"] == "classlink"
    assert run.fetch["oneroster_version"] == "1.1"


def test_without_link_or_total_headers_the_offset_moves_on_until_a_page_adds_nothing(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    from tests.sources.conftest import start_hub

    hub = start_hub(district, link=False, total=False)
    run = pull_rest(puller, hub, secret_file, page_size=5)
    assert run.status == "planned", run.error
    assert run.fetch["resources"]["users"] == {
        **run.fetch["resources"]["users"], "records": 22, "pages": 7, "total": None,
    }  # fmt: skip  # 5 + 5 * 4 (each later page begins with the one before's last), and the
    # page holding only that last record, which ends them


def test_each_csv_line_traces_to_the_page_and_record_it_came_from(
    puller: Engine, hub: OneRosterHub, secret_file: Path
) -> None:
    configure(puller, hub, secret_file, page_size=4)
    run = puller.pull_source("classlink")
    folder = Path(run.source)
    created = [c for c in puller.change_page(run.run_id, kind="students", limit=50).items]
    ava = next(c for c in created if c.sis_id == "stu-1")
    traced = trace_record(folder, ava.source_file, ava.source_line)
    assert traced["page"] == "users-00001.json.gz" and traced["index"] == 0
    assert traced["record"]["sourcedId"] == "stu-1" and traced["record"]["givenName"] == "Ava"
    sixth = trace_record(folder, "users.csv", 7)  # line 7 is the sixth user: page 2 (from the
    # fourth, page 1's last), third
    assert (sixth["page"], sixth["index"], sixth["record"]["sourcedId"]) == (
        "users-00002.json.gz", 2, "stu-6",
    )  # fmt: skip
    with gzip.open(folder / "pull" / "pages" / "users-00002.json.gz") as page:
        assert [u["sourcedId"] for u in json.load(page)["users"]][:3] == ["stu-4", "stu-5", "stu-6"]
    fourth = trace_record(folder, "users.csv", 5)  # stu-4, written once: from its later read,
    # the copy that begins page 2 (the overlap)
    assert (fourth["page"], fourth["index"], fourth["record"]["sourcedId"]) == (
        "users-00002.json.gz", 0, "stu-4",
    )  # fmt: skip


def test_records_marked_tobedeleted_are_left_out_and_so_archived(
    puller: Engine, hub: OneRosterHub, secret_file: Path, district: TinyDistrict, tmp_path: Path
) -> None:
    configure(puller, hub, secret_file)
    applied_from_csv(puller, district, tmp_path)
    gus = next(u for u in hub.data["users"] if u["sourcedId"] == "stu-7")
    gus["status"] = "tobedeleted"
    run = puller.pull_source("classlink")
    assert run.fetch["resources"]["users"]["deleted"] == 1
    archived = puller.change_page(run.run_id, kind="students", op="archive").items
    assert [c.sis_id for c in archived] == ["stu-7"]


def test_a_collection_the_server_does_not_offer_is_absent_not_empty(
    puller: Engine, hub: OneRosterHub, secret_file: Path
) -> None:
    del hub.data["demographics"]
    configure(puller, hub, secret_file)
    run = puller.pull_source("classlink")
    assert run.status == "planned", run.error
    assert run.fetch["absent"] == ["demographics"]
    assert "file.demographics,absent" in (Path(run.source) / "manifest.csv").read_text()
