"""What a pull did other than the server asked is said where the run is reviewed, not only in the
daemon's log: an administrator approving the run never reads the log.
"""

from __future__ import annotations

from pathlib import Path

from daemon.service.engine import Engine
from tests.district import TinyDistrict
from tests.hubs.district import clever_api, clever_compatible
from tests.sources.test_pull_links import pull_with_links
from tests.sources.test_pull_paging import CleverOddNext, _clever_pull, _students


def _said(run, words: str) -> list[str]:  # type: ignore[no-untyped-def]
    return [n["message"] for n in run.notes if words in n["message"]]


def test_next_links_that_skip_records_are_one_note_of_the_run_with_their_count(
    puller: Engine, district: TinyDistrict, secret_file: Path
) -> None:
    _, run = pull_with_links(
        puller, district, secret_file, lambda url, o, n: f"{url}?limit={n}&offset={o + 8}"
    )
    assert run.status == "planned", run.error
    [note] = _said(run, "the next link asks from offset")
    assert (
        "the next link asks from offset 12, but 4 users were read, so the next page is asked "
        "from offset 3 instead (the link would skip records)" in note
    )
    assert note.endswith("(6 times in all; the log has each)")
    assert run.fetch["notes"] == [note]


def test_a_clever_next_link_that_starts_after_another_id_is_a_note_of_the_run(
    puller: Engine, district: TinyDistrict, tmp_path: Path
) -> None:
    data = clever_api(clever_compatible(district))
    students = _students(data)

    def skip_one_ahead(uri: str, records: list[dict]) -> str:  # type: ignore[type-arg]
        after = students[students.index(records[-1]["id"]) + 1]
        return uri.replace(f"starting_after={records[-1]['id']}", f"starting_after={after}")

    run = _clever_pull(puller, CleverOddNext(data, skip_one_ahead), tmp_path)
    assert run.status == "planned", run.error
    [note] = _said(run, "the next link starts after")
    assert (
        f"the next link starts after {students[4]}, but the last record read is "
        f"{students[3]}, so the next page is asked from there instead" in note
    )
