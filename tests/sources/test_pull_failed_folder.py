"""A pull that fails leaves nothing any run could read as a drop.

A pull writes each collection's CSV file as its pages arrive. Had a failed pull left orgs.csv and
half of users.csv under their own names, that folder, replanned or copied to the inbox without its
pull/ folder, would be a bulk drop of part of the district: every record never received would be
archived. So files are written as NAME.part until every collection is in, and a failed pull says
why in pull/failed.txt.
"""

from __future__ import annotations

import shutil
from pathlib import Path

from daemon.service.engine import Engine
from tests.district import TinyDistrict
from tests.hubs.oneroster import OneRosterHub
from tests.sources.test_oneroster_rest import pull_rest


def failed_at_users(puller: Engine, hub: OneRosterHub, secret_file: Path) -> Path:
    hub.fault("/users", "garbage", nth=2)  # orgs are in, users page 1 too, then page 2 is not JSON
    run = pull_rest(puller, hub, secret_file)
    assert run.status == "failed" and run.error.startswith("users: "), run.error
    return Path(run.source)


def test_a_failed_pull_leaves_no_file_a_drop_is_read_from(
    puller: Engine, hub: OneRosterHub, secret_file: Path
) -> None:
    folder = failed_at_users(puller, hub, secret_file)
    assert sorted(p.name for p in folder.iterdir() if p.is_file()) == [
        "academicSessions.csv.part", "courses.csv.part", "orgs.csv.part", "users.csv.part",
    ]  # fmt: skip
    assert not (folder / "pull" / "fetch.json").exists()


def test_a_failed_pull_says_why_in_its_folder(
    puller: Engine, hub: OneRosterHub, secret_file: Path
) -> None:
    folder = failed_at_users(puller, hub, secret_file)
    note = (folder / "pull" / "failed.txt").read_text()
    assert note.startswith("This pull failed: users: ") and "is not valid JSON" in note
    assert "not a drop and no run reads them" in note


def test_a_failed_pulls_files_copied_without_its_pull_folder_plan_nothing(
    puller: Engine, hub: OneRosterHub, secret_file: Path, tmp_path: Path
) -> None:
    hub.fault("/enrollments", "garbage", nth=2)  # every collection in but enrollments' page 1
    run = pull_rest(puller, hub, secret_file)
    assert run.status == "failed" and run.error.startswith("enrollments: "), run.error
    folder = Path(run.source)
    copy = tmp_path / "copied"
    shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("pull"))
    run = puller.plan_source(str(copy))
    assert run.status == "failed" and run.total_changes() == 0, run.error


def test_a_whole_pull_leaves_its_drop_files_under_their_own_names(
    puller: Engine, hub: OneRosterHub, secret_file: Path, district: TinyDistrict
) -> None:
    run = pull_rest(puller, hub, secret_file)
    assert run.status == "planned", run.error
    folder = Path(run.source)
    assert not list(folder.glob("*.part")) and not (folder / "pull" / "failed.txt").exists()
    assert {"manifest.csv", "orgs.csv", "users.csv", "enrollments.csv"} <= {
        p.name for p in folder.iterdir()
    }
