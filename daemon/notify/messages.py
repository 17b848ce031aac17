"""What a notification says, built from an event's data: the district, the run, counts, and
which command or screen to open. Nothing else.

Why so little: a message leaves the district's systems (a mail relay, a chat webhook) where
nobody controls who reads it, so it never names a person. An event's data holds counts, run
ids and kinds only (see `events.py`, which builds it from counts, never from rows); this module
adds words around those, never anything read from the directory. `tests/notify/test_no_pii.py`
keeps that promise against a district whose names are known.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

from daemon.words import counted

FOOTER = "Counts and run ids only: this message never names a person."
TUI = "roster-tui"


class Message(BaseModel):
    """One rendered notification: the same words go to every channel."""

    kind: str
    district: str
    subject: str
    text: str
    command: str | None = None  # the command that shows more, e.g. `roster-sync show 12`
    screen: str | None = None  # where in roster-tui to look
    data: dict[str, Any] = Field(default_factory=dict)

    def payload(self, event_id: int | None, created_at: str | None) -> dict[str, Any]:
        """The webhook body (also what a script reading it relies on)."""
        return {
            "event": self.kind,
            "event_id": event_id,
            "district": self.district,
            "created_at": created_at,
            "subject": self.subject,
            "text": self.text,
            "command": self.command,
            "screen": self.screen,
            "data": self.data,
        }


def _changes_lines(changes: dict[str, dict[str, int]]) -> list[str]:
    lines = []
    for kind, ops in changes.items():
        done = ", ".join(f"{n:,} {op}" for op, n in ops.items() if n)
        if done:
            lines.append(f"  {kind}: {done}")
    return lines


def render(kind: str, district: str, data: dict[str, Any]) -> Message:
    """The message for an event of `kind` with `data` (counts and run ids)."""
    build = _RENDERERS.get(kind)
    if build is None:
        raise ValueError(f"no message for event {kind!r}")
    subject, body, command, screen = build(data)
    lines = [f"Roster Sync for {district}", "", *body]
    if command or screen:
        lines += ["", "To see more:"]
        if command:
            lines.append(f"  {command}")
        if screen:
            lines.append(f"  {TUI}: {screen}")
    lines += ["", FOOTER]
    return Message(
        kind=kind,
        district=district,
        subject=f"[Roster Sync] {district}: {subject}",
        text="\n".join(lines) + "\n",
        command=command,
        screen=screen,
        data=data,
    )


Rendered = tuple[str, list[str], str | None, str | None]


def _run_held(d: dict[str, Any]) -> Rendered:
    run = d["run_id"]
    body = [f"Run {run} is held: it waits for a decision and has changed nothing."]
    for t in d.get("thresholds", []):
        if t.get("held"):
            body.append(
                f"  {t['kind']}: {t['archives']:,} of {t['active']:,} active records would be "
                f"archived (limit {t['limit']:,})"
            )
    other = d.get("reasons", 0) - sum(1 for t in d.get("thresholds", []) if t.get("held"))
    if other > 0:
        body.append(f"  and {counted(other, 'other reason')} (shown by the command below)")
    body.append(
        f"It would make {counted(d.get('changes', 0), 'change')}; "
        f"{counted(d.get('rows_error', 0), 'row')} in error."
    )
    body.append("Override it with a reason if the drop is right, or reject it.")
    return (
        f"run {run} is held",
        body,
        f"roster-sync show {run}",
        f"Runs (key 1), run {run}",
    )


def _run_failed(d: dict[str, Any]) -> Rendered:
    run = d.get("run_id")
    if run is None:
        body = [
            "A drop could not be planned, and no run was made for it; nothing was changed.",
            "The daemon's status lists the drop and why; it is not planned again by itself.",
        ]
        return ("a drop failed", body, "roster-sync status", None)
    body = [
        f"Run {run} failed; nothing was changed.",
        f"{counted(d.get('rows_error', 0), 'row')} in error. The reason is in the run's "
        "summary (not in this message: it may quote a line of the file).",
        "Fix the export, then send it again as a new drop.",
    ]
    return (f"run {run} failed", body, f"roster-sync show {run}", f"Runs (key 1), run {run}")


def _review_reminder(d: dict[str, Any]) -> Rendered:
    run, hours = d["run_id"], d["hours"]
    status = d.get("status", "planned")
    body = [
        f"Run {run} is {status} and has waited {counted(hours, 'hour')} for review.",
        f"It would make {counted(d.get('changes', 0), 'change')}; newer drops may supersede it.",
    ]
    if status == "held":
        body.append("Override it with a reason if the drop is right, or reject it.")
    else:
        body.append("Apply it or reject it.")
    return (
        f"run {run} waits for review ({hours} h)",
        body,
        f"roster-sync show {run}",
        f"Runs (key 1), run {run}",
    )


def _new_conflicts(d: dict[str, Any]) -> Rendered:
    run, n, blocking = d["run_id"], d["conflicts"], d.get("blocking", 0)
    body = [f"Run {run} brought {counted(n, 'conflict')} to decide."]
    if blocking:
        body.append(f"{counted(blocking, 'conflict')} must be decided before the run can apply.")
    body.append("Take the feed's value, keep the directory's, or ignore each one.")
    return (
        f"{counted(n, 'conflict')} in run {run}",
        body,
        f"roster-sync conflicts {run} --open",
        "Conflicts (key 2)",
    )


def _new_duplicates(d: dict[str, Any]) -> Rendered:
    new, total = d["new"], d.get("open", d["new"])
    kinds = ", ".join(f"{n:,} {k}" for k, n in sorted(d.get("by_kind", {}).items()) if n)
    body = [
        f"{counted(new, 'new duplicate candidate')} found"
        + (f" ({kinds})" if kinds else "")
        + f"; {total:,} open in all.",
        "Merge the pairs that are one person, reject the others.",
    ]
    return (
        f"{counted(new, 'new duplicate candidate')}",
        body,
        "roster-sync duplicates list",
        "Duplicates (key 4)",
    )


def _source_unreachable(d: dict[str, Any]) -> Rendered:
    source, hours = d["source"], d["hours"]
    since = "since it started" if d.get("never") else "since the last success"
    body = [
        f"The daemon has not reached the {source.upper()} source for {counted(hours, 'hour')} "
        f"({since}).",
        "No new drops are synced until it answers. Check the server, the network and the "
        "credentials; the daemon's log and status say what failed.",
    ]
    return (f"{source.upper()} unreachable for {hours} h", body, "roster-sync status", None)


def _source_recovered(d: dict[str, Any]) -> Rendered:
    source, hours = d["source"], d["hours"]
    body = [f"The {source.upper()} source answers again after {counted(hours, 'hour')}."]
    return (f"{source.upper()} reachable again", body, "roster-sync status", None)


def _sftp_folder_unreadable(d: dict[str, Any]) -> Rendered:
    folder, hours, drops = d["folder"], d["hours"], d.get("drops", [])
    body = [
        f"The daemon has not been able to list the SFTP folder {folder} for "
        f"{counted(hours, 'hour')}: the server answers, but does not let it read that folder "
        "(its permissions, most likely).",
        f"{counted(len(drops), 'drop')} wait on it, and none is planned until it can be read: "
        f"{', '.join(drops)}.",
        "Nothing is planned from a folder the daemon cannot read. Fix the folder's permissions "
        "on the server so the daemon's SFTP user can list it, or, to give the drop up, set it "
        f"aside with a reason: roster-sync drops set-aside {drops[0] if drops else 'NAME'} "
        "--reason TEXT (recorded and audited; the drops queued after it then go on).",
    ]
    return (f"SFTP folder {folder} unreadable", body, "roster-sync drops", None)


def _sftp_folder_recovered(d: dict[str, Any]) -> Rendered:
    folder, hours = d["folder"], d["hours"]
    body = [
        f"No drop waits on the SFTP folder {folder} any more, after {counted(hours, 'hour')}: "
        "the daemon can list it again, or it was moved away. The drops that waited are synced "
        "as usual.",
    ]
    return (f"SFTP folder {folder} resolved", body, "roster-sync status", None)


def _daily_summary(d: dict[str, Any]) -> Rendered:
    runs: dict[str, int] = d.get("runs", {})
    total = sum(runs.values())
    body = [f"In the 24 hours up to {d['until']}:"]
    if total:
        body.append(
            f"  {counted(total, 'run')}: "
            + ", ".join(f"{n:,} {status}" for status, n in sorted(runs.items()))
        )
    else:
        body.append("  no runs")
    changes = _changes_lines(d.get("changes", {}))
    body += ["Changes applied:", *changes] if changes else ["No changes applied."]
    body.append(f"Rows in error: {d.get('rows_error', 0):,}")
    body += [
        "",
        f"Waiting: {counted(d.get('open_runs', 0), 'run')} to review, "
        f"{counted(d.get('open_conflicts', 0), 'conflict')}, "
        f"{counted(d.get('open_duplicates', 0), 'duplicate candidate')}.",
    ]
    failed = d.get("notifications_failed", 0)
    if failed:
        body.append(f"{counted(failed, 'notification')} could not be sent (see status).")
    return (f"daily summary {d['date']}", body, "roster-sync runs", "Runs (key 1)")


def _test(d: dict[str, Any]) -> Rendered:
    body = [
        "This is a test message from Roster Sync.",
        f"It was sent to the channel {d.get('channel', '?')} by `roster-sync notify test`.",
    ]
    return ("test message", body, "roster-sync status", None)


_RENDERERS = {
    "run_held": _run_held,
    "run_failed": _run_failed,
    "review_reminder": _review_reminder,
    "new_conflicts": _new_conflicts,
    "new_duplicates": _new_duplicates,
    "source_unreachable": _source_unreachable,
    "source_recovered": _source_recovered,
    "sftp_folder_unreadable": _sftp_folder_unreadable,
    "sftp_folder_recovered": _sftp_folder_recovered,
    "daily_summary": _daily_summary,
    "test": _test,
}
