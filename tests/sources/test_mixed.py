"""Mixed sources: an API for users, classes and enrollments, plus guardians.csv and
student_attributes.csv from a folder (the SFTP folder or a manual upload) in the same run, as the
hubs' own help recommends when the hub carries no guardians."""

from __future__ import annotations

import csv
from pathlib import Path

from daemon.service.engine import Engine
from tests.district import TinyDistrict
from tests.hubs.oneroster import OneRosterHub
from tests.sources.conftest import start_hub
from tests.sources.test_oneroster_rest import pull_rest


def _write(path: Path, rows: list[dict[str, str]]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as out:
        writer = csv.DictWriter(out, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


def test_guardians_and_attributes_from_a_folder_join_the_pull(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path
) -> None:
    without_guardians = district.copy()
    without_guardians.files["users.csv"] = [
        {**u, "agentSourcedIds": ""} for u in district.files["users.csv"] if u["role"] != "parent"
    ]
    hub: OneRosterHub = start_hub(without_guardians)
    folder = tmp_path / "sftp-side"
    folder.mkdir()
    _write(
        folder / "guardians.csv",
        [
            {
                "sourcedId": "g-1",
                "status": "",
                "dateLastModified": "",
                "studentSourcedId": "stu-1",
                "relationship": "parent",
                "givenName": "Rosa",
                "familyName": "Lopez",
                "email": "rosa@example.net",
                "sms": "",
                "phone": "",
                "language": "",
            }
        ],
    )
    _write(
        folder / "student_attributes.csv",
        [
            {
                "studentSourcedId": "stu-1",
                "name": "bus",
                "value": "12",
                "status": "",
                "dateLastModified": "",
            }
        ],
    )
    run = pull_rest(puller, hub, secret_file, files_folder=folder)
    assert run.status == "planned", run.error
    assert run.fetch["side_files"] == ["guardians.csv", "student_attributes.csv"]
    assert run.changes["guardians"]["create"] == 1
    assert run.changes["guardian_links"]["create"] == 1
    assert run.changes["student_attributes"]["create"] == 1
    manifest = (Path(run.source) / "manifest.csv").read_text()
    assert "file.guardians,bulk" in manifest and "file.student_attributes,bulk" in manifest
    # (the hub leaves empty primary/beginDate/endDate out of every enrollment: not carried)
    assert not [
        n for n in run.notes if "manifest" in n["message"] and "not carried" not in n["message"]
    ]
    rosa = next(c for c in puller.change_page(run.run_id, kind="guardians").items)
    assert (rosa.sis_id, rosa.source_file, rosa.source_line) == ("g-1", "guardians.csv", 2)
