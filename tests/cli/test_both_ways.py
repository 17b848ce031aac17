"""Every command answers the same embedded and through a live daemon (issue 13, item 20).

Each case is a short session a person might type; every step runs on two copies of one
day-one database, one opened by the CLI itself and one served by a daemon over its socket, and
the two must print the same (the clock and the folder aside). Behaviour itself is tested in the
other files of this folder, each test in both ways (the `both` fixture).
"""

from __future__ import annotations

import argparse
import json
from datetime import date

import pytest

from daemon.audit import current_actor
from daemon.cli.main import build_parser, subcommands
from tests.conftest import SAMPLE

# Several DuckDB threads, as in production: what they may do to row order is the point here.
pytestmark = pytest.mark.duckdb_threads

DAY2, DAY3 = str(SAMPLE / "day2"), str(SAMPLE / "day3_broken")
TODAY = date.today()

SESSIONS: dict[str, list[list[str]]] = {
    "runs": [["runs"], ["runs", "--json"], ["runs", "--limit", "1"], ["show", "1"]],
    "a run planned, shown, applied": [
        ["run", DAY2],
        ["show", "2", "--json"],
        ["apply", "2"],
        ["runs"],
    ],
    "a run planned and applied in one step": [["run", DAY2, "--apply", "--json"]],
    "a held run overridden with a reason": [
        ["run", DAY3],
        ["!", "apply", "2"],
        ["!", "apply", "2", "--override"],
        ["apply", "2", "--override", "--reason", "mid-year school split"],
        ["show", "2"],
        ["show", "2", "--json"],
    ],
    "withheld archives decided after the run applied": [
        ["settings", "set", "threshold_action", "withhold_archives"],
        ["run", DAY3],
        ["!", "withheld", "2", "--approve", "--reason", "too early"],
        ["apply", "2"],
        ["withheld", "2", "--limit", "3"],
        ["!", "withheld", "2", "--drop"],
        ["withheld", "2", "--approve", "--reason", "school year ended", "--limit", "2"],
        ["withheld", "2", "--json", "--limit", "1"],
        ["!", "withheld", "2", "--drop", "--reason", "twice"],
        ["runs"],
        ["check"],
    ],
    "a blackout day": [
        ["settings", "set", "blackout_dates", f"{TODAY}..{TODAY}"],
        ["!", "run", DAY2],
        ["run", DAY2, "--force"],
        ["users", "archive", "stu-1002"],
        ["!", "replan", "2"],
        ["replan", "2", "--force"],
    ],
    "a run reverted, and the revert reverted": [
        ["run", DAY2, "--apply"],
        ["!", "revert", "9"],
        ["revert", "2"],
        ["show", "3"],
        ["apply", "3"],
        ["revert", "3", "--json"],
        ["apply", "4"],
        ["runs"],
        ["check"],
    ],
    "a school-level upload": [
        ["run", DAY2, "--school", "sch-oak", "--school", "sch-elm"],
        ["show", "2"],
        ["runs"],
        ["results", "2"],
    ],
    "a run rejected": [["run", DAY2], ["reject", "2", "--reason", "wrong term"], ["show", "2"]],
    "replan only what is no longer open": [
        ["run", DAY2],
        ["!", "replan", "2"],
        ["apply", "2"],
        ["!", "replan", "2"],
        ["!", "replan", "1"],
    ],
    "an older night superseded by a later drop's apply": [
        ["run", DAY2],
        ["run", DAY2, "--apply"],
        ["show", "2"],
        ["!", "apply", "2"],
        ["!", "replan", "2"],
        ["runs"],
    ],
    "a superseded run planned again": [
        ["run", DAY2],
        ["users", "archive", "stu-1002"],
        ["!", "apply", "2"],
        ["replan", "2"],
    ],
    "results and export": [
        ["run", DAY3],
        ["results", "2"],
        ["results", "2", "-o", "{tmp}/results.csv"],
        ["export", "{tmp}/export"],
        ["check"],
    ],
    "conflicts": [
        ["users", "activate", "gdn-3136"],
        ["run", DAY2],
        ["conflicts"],
        ["conflicts", "2", "--open", "--json"],
        ["conflicts", "resolve", "1", "take"],
        ["conflicts", "2"],
    ],
    "a guardian archived by hand whom the feed lists again": [
        ["users", "archive", "gdn-3011"],
        ["run", DAY2],
        ["conflicts", "2"],
        ["conflicts", "resolve", "1", "take"],
        ["apply", "2"],
        ["users", "show", "gdn-3011"],
    ],
    "settings": [
        ["settings", "show"],
        ["settings", "show", "--json"],
        ["settings", "set", "deletion_threshold", "20"],
        ["!", "settings", "set", "deletion_threshold", "lots"],
        ["!", "settings", "set", "ext_roles", "ext:aide=teacher,EXT:Aide=student"],
        ["settings", "set", "sync_start_time", "03:30"],
    ],
    "schools": [
        ["schools", "list"],
        ["schools", "list", "--json"],
        ["schools", "create", "Maple Annex"],
        ["schools", "add-sis-id", "5", "sch-maple-annex"],
        ["schools", "list"],
    ],
    "classrooms": [
        ["classrooms", "find", "math"],
        ["classrooms", "find", "math 7", "--json"],
        ["settings", "set", "daily_sync_enabled", "false"],
        ["classrooms", "create", "Robotics Club", "--school", "sch-oak"],
        ["classrooms", "rename", "cls-oak-math-7", "Math 7 (Room 12)"],
        ["classrooms", "add-teacher", "cls-oak-math-7", "tch-2003"],
        ["classrooms", "set-sis-id", "51", "cls-oak-robotics"],
        ["classrooms", "add-student", "cls-oak-robotics", "stu-1101"],
        ["classrooms", "find", "robotics"],
        ["classrooms", "create", "Chess Club", "--school", "sch-oak"],
        ["classrooms", "add-student", "52", "stu-1101"],
        ["classrooms", "archive", "52"],
        ["!", "classrooms", "archive", "52"],
        ["!", "classrooms", "archive", "cls-oak-math-7"],
        ["classrooms", "unarchive", "52"],
        ["classrooms", "find", "chess"],
    ],
    "people": [
        ["users", "find", "abebe"],
        ["users", "find", "--kind", "staff", "--json"],
        ["users", "show", "stu-1001"],
        ["users", "show", "stu-1001", "--json"],
        ["users", "show", "gdn-3011"],
        ["users", "archived"],
    ],
    "hand-made people and edits": [
        ["users", "add", "guardian", "Ana", "Ortiz", "--email", "ana.ortiz@example.net"],
        ["users", "add", "staff", "Sam", "Lee", "--school", "sch-elm"],
        ["users", "link-guardian", "gdn-3011", "stu-1001", "--relationship", "relative"],
        ["users", "edit-contact", "stu-1001", "--email", "new.address@example.org"],
        ["users", "activate", "gdn-3011"],
        ["users", "archive", "stu-1001"],
        ["users", "archived", "--json"],
        ["users", "unarchive", "stu-1001"],
        ["users", "show", "stu-1001"],
    ],
    "duplicates": [
        ["duplicates", "list", "--limit", "3"],
        ["duplicates", "list", "--kind", "student", "--json"],
        ["duplicates", "merge", "--candidate", "1", "--keep", "116"],
        ["duplicates", "skip", "2"],
        ["duplicates", "reject", "--candidate", "3"],
        ["duplicates", "list", "--all", "--limit", "4"],
        ["duplicates", "undo", "--last"],
        ["duplicates", "merge", "stu-1115", "stu-1200", "--keep", "stu-1115", "--json"],
        ["duplicates", "undo", "2"],
        ["duplicates", "reject", "stu-1115", "stu-1200"],
        ["duplicates", "scan"],
        ["duplicates", "scan", "--json"],
    ],
    "students clean-up": [
        ["students", "archive-unsynced"],
        ["students", "archive-unsynced", "--yes", "--json"],
    ],
    "setting a drop aside (the list: below)": [
        ["!", "drops", "set-aside", "99", "--reason", "resent under another name"],
        ["!", "drops", "set-aside", "day2"],
        ["!", "drops", "set-aside", "day2", "--reason", " "],
    ],
    "mistakes": [
        ["!", "show", "99"],
        ["!", "apply", "99"],
        ["!", "conflicts", "99"],
        ["!", "results", "99"],
        ["!", "run", "/nonexistent/drop"],
        ["!", "run", str(SAMPLE / "README.md")],
        ["!", "users", "show", "nobody-here"],
        ["!", "users", "link-guardian", "stu-1001", "gdn-3011"],
        ["!", "users", "edit-contact", "gdn-3011", "--email", "not-an-email"],
        ["!", "schools", "create", "Oak Hill Middle"],
        ["!", "duplicates", "undo", "999"],
        ["!", "sftp", "trust"],
    ],
}


ELSEWHERE = {  # commands not in a session, and why
    "daemon": "it is the daemon itself (tests/daemon start it, also as `daemon --config FILE`)",
    "status": "the daemon's own lines differ by design: test_status_differs_only_in_...",
    "sync-now": "needs a daemon by design: test_sync_now_needs_the_daemon",
    "whoami": "says how it reached the directory, by design: test_whoami_says_how_...",
    "notify test": "needs mail and web servers to send to: tests/notify/test_cli.py runs it both ways",
    "sources list": "needs an API source on loopback: tests/sources/test_cli_sources.py (both ways)",
    "sources test": "needs an API source on loopback: tests/sources/test_cli_sources.py (both ways)",
    "pull": "needs an API source on loopback: tests/sources/test_cli_sources.py (both ways)",
}


def test_the_sessions_cover_every_command() -> None:
    parser = build_parser()
    leaves = {
        command.prog.removeprefix("roster-sync ")
        for command in subcommands(parser)
        if not any(isinstance(a, argparse._SubParsersAction) for a in command._actions)
    }
    steps = [step[step[0] == "!" :] for session in SESSIONS.values() for step in session]
    typed = {" ".join(step[:2]) for step in steps} | {step[0] for step in steps}
    assert sorted(leaves - typed - set(ELSEWHERE)) == []


@pytest.mark.parametrize("steps", SESSIONS.values(), ids=SESSIONS.keys())
def test_a_session_prints_the_same_embedded_and_through_the_daemon(twins, steps) -> None:
    """Steps marked "!" are mistakes: they must fail, alike, in one line."""
    for step in steps:
        mistake = step[0] == "!"
        result = twins(*step[mistake:])
        if mistake:
            assert result.code != 0 and result.out == "" and result.err.count("\n") == 1
        else:
            assert result.code == 0, result.err


def test_status_differs_only_in_what_it_says_of_the_daemon(twins) -> None:
    embedded, daemon = twins.embedded("status"), twins.daemon("status")
    assert embedded.code == daemon.code == 0
    before = [line for line in embedded.out.splitlines() if not line.startswith("Database:")]
    after = [line for line in daemon.out.splitlines() if not line.startswith("Database:")]
    cut = next(i for i, line in enumerate(before) if line.startswith("Daemon:"))
    assert before[:cut] == after[:cut]
    assert before[cut] == "Daemon: not running (this command opened the database itself)"
    assert after[cut].startswith("Daemon: running (pid ")

    embedded, daemon = twins.embedded("status", "--json"), twins.daemon("status", "--json")
    a, b = json.loads(embedded.out), json.loads(daemon.out)
    assert a.pop("daemon")["running"] is False and b.pop("daemon")["running"] is True
    assert a.pop("database") == str(twins.embedded.database)
    assert b.pop("database") == str(twins.daemon.database)
    assert a == b


def test_drops_differs_only_in_what_it_says_of_the_daemon(twins) -> None:
    """Without the daemon only its queue is known: the line says so rather than 'none'."""
    embedded, daemon = twins.embedded("drops"), twins.daemon("drops")
    assert embedded.code == daemon.code == 0
    assert embedded.out.splitlines()[0] == (
        "Waiting: none queued (the daemon is not running: what its inbox or SFTP server holds "
        "is known once it runs)"
    )
    assert daemon.out.splitlines()[0] == "Waiting: none"
    assert embedded.out.splitlines()[1:] == daemon.out.splitlines()[1:]

    embedded, daemon = twins.embedded("drops", "--json"), twins.daemon("drops", "--json")
    a, b = json.loads(embedded.out), json.loads(daemon.out)
    assert a.pop("daemon_running") is False and b.pop("daemon_running") is True
    assert a == b


def test_whoami_says_how_the_command_reached_the_directory(twins) -> None:
    """Embedded, the database file's permissions decide; through the daemon, its roles (the
    test's process is the daemon's own user: every operation)."""
    embedded, daemon = twins.embedded("whoami"), twins.daemon("whoami")
    assert embedded.code == daemon.code == 0
    user = current_actor()
    assert embedded.out == (
        f"{user}: the database opened directly (no daemon answered), so its file's "
        "permissions decide: every operation (sync-now asks a running daemon)\n"
    )
    assert daemon.out == (
        f"{user}: rostering_admin, through the daemon (its [roles] config gives the roles)\n"
        "Allowed: every operation\n"
    )
    embedded, daemon = twins.embedded("whoami", "--json"), twins.daemon("whoami", "--json")
    a, b = json.loads(embedded.out), json.loads(daemon.out)
    assert a.pop("in_process") is True and b.pop("in_process") is False
    assert a == b


def test_sync_now_needs_the_daemon(twins) -> None:
    embedded, daemon = twins.embedded("sync-now"), twins.daemon("sync-now")
    assert (embedded.code, embedded.out) == (1, "")
    assert embedded.err == (
        "roster-sync: no daemon is running; sync a drop with: roster-sync run PATH\n"
    )
    assert daemon.code == 0 and daemon.out.startswith("sync requested")
