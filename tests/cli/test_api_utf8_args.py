"""An argument that is not UTF-8 is refused in one line, the same both ways (api review 7).

A byte typed in another encoding, or a drop folder named in Latin-1, reaches Python as a lone
surrogate: it can travel neither over the daemon's socket (JSON) nor into DuckDB.
"""

from __future__ import annotations

import json
import os

from .test_mistakes import one_line


def test_a_search_word_that_is_not_utf8_is_refused_in_one_line(both) -> None:
    refused = both("users", "find", os.fsdecode(b"\xffab"))
    assert (refused.code, refused.out) == (2, "")
    assert one_line(refused.err) == (
        "argument '\\xffab' is not valid UTF-8: rename the folder or type it again"
    )


def test_a_drop_folder_named_in_latin1_is_refused_before_any_run(both, tmp_path) -> None:
    drop = os.fsdecode(os.path.join(os.fsencode(tmp_path), b"caf\xe9-drop"))
    os.mkdir(drop)
    refused = both("run", drop)
    assert refused.code == 2
    assert "is not valid UTF-8: rename the folder or type it again" in one_line(refused.err)
    assert [run["run_id"] for run in json.loads(both("runs", "--json").out)] == [1]
