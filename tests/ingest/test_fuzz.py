"""Property: whatever bytes a file holds, the loader ends in a clear result, never a crash or hang."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from daemon.db import Database
from daemon.service.engine import Engine
from tests.conftest import example_folder
from tests.district import TinyDistrict

TARGETS = ("users.csv", "enrollments.csv", "classes.csv", "orgs.csv")


def _mutate(data: bytes, kind: str, position: float, payload: bytes) -> bytes:
    at = int(len(data) * position)
    if kind == "truncate":
        return data[:at]
    if kind == "stray_quote":
        return data[:at] + b'"' + data[at:]
    if kind == "nul":
        return data[:at] + b"\x00" * max(1, len(payload) % 5) + data[at:]
    if kind == "delimiter":
        return data.replace(b",", b";" if position < 0.5 else b"\t")
    if kind == "huge_field":
        return data[:at] + b"x" * (2 * 1024 * 1024) + data[at:]
    if kind == "insert":
        return data[:at] + payload + data[at:]
    return payload  # "replace": the whole file is arbitrary bytes


mutations = st.tuples(
    st.sampled_from(TARGETS),
    st.sampled_from(
        ["truncate", "stray_quote", "nul", "delimiter", "huge_field", "insert", "replace"]
    ),
    st.floats(min_value=0, max_value=1),
    st.binary(max_size=200),
)


# 40 examples in CI (CI=true: scripts/test.sh's two busy cores), 60 elsewhere; FUZZ_EXAMPLES asks
# for more. Failing examples found before are replayed first either way (Hypothesis's database).
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40" if os.environ.get("CI") else "60"))


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(changes=st.lists(mutations, min_size=1, max_size=3))
def test_malformed_files_end_in_a_clear_result(changes, empty_template, tmp_path_factory):
    with example_folder(tmp_path_factory) as tmp:
        root = Path(tmp)
        folder = TinyDistrict().write(root)
        for target, kind, position, payload in changes:
            path = folder / target
            path.write_bytes(_mutate(path.read_bytes(), kind, position, payload))
        shutil.copyfile(empty_template, root / "fuzz.duckdb")  # a new database, made once
        db = Database(root / "fuzz.duckdb")
        try:
            run = Engine(db, "fuzz").plan_source(str(folder))
            assert run.status in ("planned", "held", "failed")
            if run.status == "failed":
                assert run.error and "\n" not in run.error
                assert not run.error.startswith("internal error"), run.error
                assert any(name in run.error for name in (*TARGETS, "drop")), run.error
            else:
                issues = db.rows(
                    "SELECT file_name, line, message FROM row_issues WHERE run_id = ?", [run.run_id]
                )
                for file_name, line, message in issues:
                    assert message.startswith(f"{file_name} line {line}"), message
        finally:
            db.close()
