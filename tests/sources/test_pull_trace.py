"""A value with a line break spans lines of the CSV: the trace still names each record's line.

The sync numbers a row by the physical line it starts on (a lone CR ends a line too, as editors
show it), so a record after a multi-line value must trace to the line the sync reports, not to its
position in the file.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from daemon.service.engine import Engine
from daemon.sources.drop_writer import trace_record
from tests.district import TinyDistrict
from tests.hubs.district import oneroster_rest
from tests.hubs.oneroster import OneRosterHub
from tests.sources.test_oneroster_rest import applied_from_csv, pull_rest


@pytest.mark.parametrize("value", ["Line1\nLine2", "Line1\rLine2", "L1\n\rL2", "L1\r\r\nL2"])
def test_a_change_after_a_value_with_a_line_break_traces_to_its_own_record(
    puller: Engine, district: TinyDistrict, secret_file: Path, tmp_path: Path, value: str
) -> None:
    applied_from_csv(puller, district, tmp_path)
    data = oneroster_rest(district)
    users = {u["sourcedId"]: u for u in data["users"]}
    users["stu-2"]["middleName"] = value
    users["stu-5"]["givenName"] = "Renamed"
    hub = OneRosterHub(data).start()
    run = pull_rest(puller, hub, secret_file)
    assert run.status == "planned", run.error
    renamed = next(
        c for c in puller.change_page(run.run_id, kind="students").items if c.sis_id == "stu-5"
    )
    traced = trace_record(Path(run.source), renamed.source_file, renamed.source_line)
    assert traced["record"]["sourcedId"] == "stu-5"
