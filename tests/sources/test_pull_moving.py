"""A collection that moves while it is paged is read again, never planned with a record missing.

OneRoster REST pages by offset. When the hub removes a record before the offset mid-pull (a
student who left), every later record moves back a place and the one at the page boundary is
never sent: planning that pull would archive someone still enrolled. So each page after the
first starts one record early and must begin with the record that ended the page before; when it
does not, the collection is read again from the start (twice at most), and a collection that keeps
moving fails the pull.
"""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest

from daemon.cli.render import fetch_line
from daemon.models import Run
from daemon.service.engine import Engine
from daemon.sources.drop_writer import trace_record
from roster_tui.words import fetch_lines
from tests.district import TinyDistrict
from tests.hubs.district import oneroster_rest
from tests.hubs.oneroster import Data, OneRosterHub
from tests.sources.conftest import NoWait, start_hub
from tests.sources.test_oneroster_rest import applied_from_csv, changes, pull_rest

MODES = pytest.mark.parametrize(
    ("link", "total"),
    [(True, True), (True, False), (False, True), (False, False)],
    ids=["link+total", "link", "total", "neither"],
)


def leaves(district: TinyDistrict, student: str) -> TinyDistrict:
    """The district once `student` has left: the user and their enrollments gone."""
    after = district.copy()
    after.remove("users.csv", sourcedId=student)
    after.remove("enrollments.csv", userSourcedId=student)
    return after


def joins(district: TinyDistrict, teacher: str) -> TinyDistrict:
    """The district with one more teacher, listed last."""
    after = district.copy()
    row = dict(after.row("users.csv", "tch-2"))
    row.update(sourcedId=teacher, username=f"{teacher}.new", givenName="Nia", familyName="Late")
    row.update(email=f"{teacher}@example.org")
    after.rows("users.csv").append(row)
    return after


def becomes(target: TinyDistrict) -> Any:
    """A change that makes the hub's users and enrollments those of `target`, in its order."""
    served = oneroster_rest(target)

    def change(data: Data) -> None:
        data["users"][:] = served["users"]
        data["enrollments"][:] = served["enrollments"]

    return change


def pull_as_it_becomes(
    puller: Engine, district: TinyDistrict, after: TinyDistrict, secret_file: Path,
    tmp_path: Path, **hub: bool,
) -> Run:  # fmt: skip
    """Pull `district` (applied first) from a hub whose users and enrollments become those of
    `after` while page 2 of users is asked for; the pull must plan what `after` sent as CSV
    plans (the same changes, from the same lines)."""
    applied_from_csv(puller, district, tmp_path)
    server = start_hub(district, **hub)
    server.meanwhile("users", becomes(after), at={2})
    expected = puller.plan_source(str(after.write(tmp_path / "drops")))
    run = pull_rest(puller, server, secret_file, page_size=4)
    assert run.fetch.get("error") is None, run.error
    assert run.status == expected.status  # one archive may hold the tiny district: both alike
    assert changes(puller, run.run_id) == changes(puller, expected.run_id)
    return run


@MODES
def test_a_student_removed_before_the_offset_mid_pull_is_the_only_one_archived(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path, no_wait: NoWait,
    link: bool, total: bool,
) -> None:  # fmt: skip
    # stu-1 leaves and a teacher joins at the end while page 2 of users is asked for: without
    # the overlap, stu-5 (first on page 2) is skipped and X-Total-Count still agrees
    after = joins(leaves(district, "stu-1"), "tch-9")
    run = pull_as_it_becomes(puller, district, after, secret_file, tmp_path, link=link, total=total)
    archived = puller.change_page(run.run_id, kind="students", op="archive").items
    assert [c.sis_id for c in archived] == ["stu-1"]
    assert run.fetch["resources"]["users"]["records"] == 22
    assert run.fetch["resources"]["users"]["reread"] == 1
    assert no_wait.waits == [1.0]  # the fetcher's backoff before the read again


def test_a_removal_that_changes_x_total_count_is_read_again_too(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path, no_wait: NoWait
) -> None:
    after = leaves(district, "stu-1")
    run = pull_as_it_becomes(puller, district, after, secret_file, tmp_path)
    assert run.fetch["resources"]["users"]["reread"] == 1


@MODES
def test_a_record_inserted_before_the_offset_mid_pull_is_read_again(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path, no_wait: NoWait,
    link: bool, total: bool,
) -> None:  # fmt: skip
    joined = joins(district, "tch-0")
    first = joined.rows("users.csv").pop()
    joined.rows("users.csv").insert(0, first)  # listed first: every later record moves on
    run = pull_as_it_becomes(
        puller, district, joined, secret_file, tmp_path, link=link, total=total
    )
    assert run.status == "planned", run.error
    assert run.fetch["resources"]["users"]["records"] == 23
    created = puller.change_page(run.run_id, kind="staff", op="create").items
    assert [c.sis_id for c in created] == ["tch-0"]
    assert puller.change_page(run.run_id, op="archive").total == 0


@MODES
def test_a_collection_that_keeps_moving_fails_the_pull_and_plans_nothing(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path, no_wait: NoWait,
    link: bool, total: bool,
) -> None:  # fmt: skip
    applied_from_csv(puller, district, tmp_path)
    version = puller.db.directory_version()
    hub = start_hub(district, link=link, total=total)
    arrivals = iter(range(100, 200))

    def another_arrives(data: Data) -> None:
        teacher = dict(data["users"][-1], sourcedId=f"tch-{next(arrivals)}")
        data["users"].insert(0, teacher)

    hub.meanwhile("users", another_arrives)  # before every page
    run = pull_rest(puller, hub, secret_file, page_size=4)
    assert run.status == "failed"
    assert run.error.startswith("users: ") and "moved while they were read" in run.error
    assert "read 3 times" in run.error and "nothing was planned" in run.error, run.error
    assert "\n" not in run.error
    assert run.total_changes() == 0 and puller.change_page(run.run_id).total == 0
    assert puller.db.directory_version() == version
    assert no_wait.waits == [1.0, 2.0]
    assert len(hub.api_requests("/users")) == 6  # each read stops at its second page


@MODES
def test_a_normal_pull_asks_for_no_more_pages_than_the_overlap_adds(
    puller: Engine, district: TinyDistrict, secret_file: Path, link: bool, total: bool
) -> None:
    hub = start_hub(district, link=link, total=total)
    run = pull_rest(puller, hub, secret_file, page_size=4)
    assert run.status == "planned", run.error
    users = run.fetch["resources"]["users"]
    # 4 new records on page 1, 3 on each later one (its first is page 1's last): 4 + 6 * 3 = 22
    # without a total, a page holding only the overlap ends it (after the last linked one too:
    # a next link left out mid-collection would otherwise end it short); so it does when the
    # total is reached by a full page without next links (a stale total would end it short)
    pages = 7 if total and link else 8
    assert users["records"] == 22 and users["pages"] == pages
    offsets = [int(p.rpartition("offset=")[2]) for p in hub.api_requests("/users")]
    assert offsets == [0, 3, 6, 9, 12, 15, 18, 21][:pages]
    assert "reread" not in users


def test_a_change_after_a_read_again_traces_to_its_own_record(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path, no_wait: NoWait
) -> None:
    after = leaves(district, "stu-1")
    after.row("users.csv", "stu-9")["givenName"] = "Renamed"
    run = pull_as_it_becomes(puller, district, after, secret_file, tmp_path)
    renamed = next(
        c for c in puller.change_page(run.run_id, kind="students").items if c.sis_id == "stu-9"
    )
    folder = Path(run.source)
    traced = trace_record(folder, renamed.source_file, renamed.source_line)
    assert traced["record"]["sourcedId"] == "stu-9" and traced["record"]["givenName"] == "Renamed"
    # stu-9 is the eighth user now: page 1 holds 4, page 2 (from offset 3) 3 more, then page 3
    assert (traced["page"], traced["index"]) == ("users-00003.json.gz", 1)
    with gzip.open(folder / "pull" / "pages" / "users-00003.json.gz") as page:
        assert json.load(page)["users"][1]["sourcedId"] == "stu-9"
    pages = sorted(p.name for p in (folder / "pull" / "pages").glob("users-*"))
    assert len(pages) == run.fetch["resources"]["users"]["pages"] == 7  # none left from read 1


class OpaqueLinks(OneRosterHub):
    """Next links carry a cursor of the server's own (`page`), not an offset."""

    def _page(self, name: str, query: dict[str, list[str]]) -> tuple[int, dict[str, str], bytes]:
        limit = int(query["limit"][0])
        number = int(query.get("page", ["0"])[0])
        status, headers, body = super()._page(
            name, {"limit": [str(limit)], "offset": [str(number * limit)]}
        )
        if "Link" in headers:
            headers["Link"] = (
                f'<{self.base_url}/{name}?limit={limit}&page={number + 1}>; rel="next"'
            )
        return status, headers, body


def test_a_next_link_without_an_offset_is_followed_unchecked(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    hub = OpaqueLinks(oneroster_rest(district))
    run = pull_rest(puller, hub, secret_file, page_size=4)
    assert run.status == "planned", run.error
    assert run.fetch["resources"]["users"] == {
        **run.fetch["resources"]["users"], "records": 22, "pages": 6,
    }  # fmt: skip
    assert len(hub.api_requests("/users")) == 6


@MODES
def test_a_page_size_of_one_still_pages_through_every_record(
    puller: Engine, district: TinyDistrict, secret_file: Path, link: bool, total: bool
) -> None:
    hub = start_hub(district, link=link, total=total)
    run = pull_rest(puller, hub, secret_file, page_size=1)  # asked two at a time: one overlaps
    assert run.status == "planned", run.error
    assert run.fetch["resources"]["users"]["records"] == 22


def test_the_run_says_which_collection_was_read_again(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path, no_wait: NoWait
) -> None:
    run = pull_as_it_becomes(puller, district, leaves(district, "stu-1"), secret_file, tmp_path)
    assert "read again once: it moved while paged)" in fetch_line(run.fetch)
    [users] = [line for line in fetch_lines(run) if line.startswith("users:")]
    assert users.endswith("; read again once (it moved while paged)")


@MODES
def test_a_record_that_changes_between_two_reads_of_it_is_planned_as_read_last(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path,
    link: bool, total: bool,
) -> None:  # fmt: skip
    # page 1 ends with the fourth user marked tobedeleted; by page 2, which begins with that user
    # again (the overlap), the SIS has taken the mark back: the later read is the newer one, and
    # planning the first would archive someone still enrolled (and their classes and guardians)
    applied_from_csv(puller, district, tmp_path)
    data = oneroster_rest(district)
    fourth = data["users"][3]["sourcedId"]
    data["users"][3]["status"] = "tobedeleted"
    hub = OneRosterHub(data, link=link, total=total).start()

    def taken_back(data: Data) -> None:
        data["users"][3]["status"] = "active"

    hub.meanwhile("users", taken_back, at={2})
    run = pull_rest(puller, hub, secret_file, page_size=4)
    assert run.status == "planned", run.error
    assert run.total_changes() == 0, run.changes
    line = next(
        number
        for number, row in enumerate((Path(run.source) / "users.csv").read_text().splitlines(), 1)
        if row.startswith(f"{fourth},")
    )
    traced = trace_record(Path(run.source), "users.csv", line)
    assert (traced["page"], traced["index"]) == ("users-00002.json.gz", 0)
    assert traced["record"]["status"] == "active"
    assert run.fetch["resources"]["users"]["deleted"] == 0
