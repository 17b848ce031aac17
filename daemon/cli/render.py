"""What the CLI prints: text a person reads in ten seconds, and JSON that scripts rely on."""

from __future__ import annotations

import io
import json
import shlex
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any, TextIO

from pydantic import BaseModel

from daemon.formats.controls import json_printable, printable
from daemon.models import Conflict, Run, SourceInfo
from daemon.sync.kinds import CHANGE_KINDS
from daemon.sync.withheld import WHY_WORDS
from daemon.words import counted, times

_hint_command = "roster-sync"


def set_hint_command(
    db: str | None = None, config: str | None = None, program: str = "roster-sync"
) -> None:
    """Hints name the database or config file the command was given, so they paste as they are."""
    global _hint_command
    parts = [program]
    if db:
        parts += ["--db", shlex.quote(db)]
    if config:
        parts += ["--config", shlex.quote(config)]
    _hint_command = " ".join(parts)


def hint_command() -> str:
    return _hint_command


STATUS_WORDS = {
    "planned": "PLANNED - awaiting approval",
    "held": "HELD - a safety rule tripped; needs an explicit override",
    "applied": "APPLIED",
    "rejected": "REJECTED",
    "failed": "FAILED - could not load",
    "superseded": "SUPERSEDED - the directory changed since; re-plan it",
    "loading": "LOADING",
}
KIND_LABELS = {
    "schools": "schools",
    "classrooms": "classrooms",
    "students": "students",
    "staff": "staff",
    "guardians": "guardians",
    "enrollments": "enrollments",
    "guardian_links": "guardian links",
    "student_attributes": "student attributes",
}


def status_words(run: Run) -> str:
    """The run's status in words; a run a later drop's apply superseded is not to be re-planned
    (its drop is an older night: replan refuses it)."""
    if run.status == "superseded" and run.later_drop_applied is not None:
        return f"SUPERSEDED - run {run.later_drop_applied}, from a later drop, was applied since"
    return STATUS_WORDS.get(run.status, run.status.upper())


def run_summary(run: Run) -> str:
    lines = [
        f"Run {run.run_id}: {status_words(run)}",
        f"  source: {run.source} ({run.source_kind}"
        + (f", OneRoster {run.oneroster_version})" if run.oneroster_version else ")"),
    ]
    if run.reverted_run is not None:
        lines.append(f"  Reverts run {run.reverted_run}: restores what it changed")
    if run.scope:
        lines.append(f"  Scope: school-level upload for {', '.join(run.scope)}")
    if run.fetch:
        lines.append(f"  fetched: {fetch_line(run.fetch)}")
    if run.status == "failed":
        lines.append(f"  error: {run.error}")
        return listing(lines)
    if run.override_by:
        when = f" at {run.decided_at:%Y-%m-%d %H:%M}" if run.decided_at else ""
        why = run.override_reason or "(no reason was recorded)"
        lines.append(f"  Hold overridden by {run.override_by}{when}: {why}")
    verb = "Changed" if run.status == "applied" else "Will change when applied"
    total = run.total_changes()
    if total == 0 and run.keeps_reference_data():
        lines.append(
            "  No record changes; apply it all the same to keep the drop's reference data "
            "(see the note)."
            if run.reverted_run is None
            else f"  No record changes; applying it {run.reference_words()} (see the note)."
        )
    elif total == 0:
        lines.append("  No changes: the directory already matches this drop.")
    else:
        lines.append(f"  {verb}:")
        lines += changes_table(run.changes)
    for reason in run.hold_reasons:
        lines.append(f"  HELD: {reason}")
    lines += [f"  {line}" for line in withheld_lines(run)]
    rows = run.rows
    if run.reverted_run is None:  # a revert reads no drop
        about_files = (
            f"; {counted(rows.file_warnings, 'warning')} about the files (manifest, headers)"
            if rows.file_warnings
            else ""
        )
        lines.append(
            f"  Rows: {rows.success:,} ok, {rows.warning:,} with warnings, {rows.error:,} with errors"
            + about_files
            + (
                f" (see: {hint_command()} results {run.run_id})"
                if rows.warning or rows.error or rows.file_warnings
                else ""
            )
        )
    if run.conflicts:
        lines.append(
            f"  Conflicts: {run.conflicts:,} ({run.blocking_conflicts} blocking{taken_words(run)})"
            f" (see: {hint_command()} conflicts {run.run_id})"
        )
    shaped = settings_line(run)
    if shaped:
        lines.append(f"  {shaped}")
    for note in run.notes[:8]:
        lines.append(f"  Note: {note['message']}")
    if len(run.notes) > 8:
        lines.append(
            f"  ... and {counted(len(run.notes) - 8, 'more note')} ({hint_command()} show {run.run_id} --json)"
        )
    if run.status == "planned":
        lines.append(
            f"  Next: {hint_command()} apply {run.run_id}   or   {hint_command()} reject {run.run_id}"
        )
    elif run.status == "held":
        lines.append(
            f"  Next: review, then {hint_command()} apply {run.run_id} --override   or   {hint_command()} reject {run.run_id}"
        )
    return listing(lines)


def taken_words(run: Run) -> str:
    """', 2 feed values taken': decisions that overwrite the directory's values on apply."""
    n = run.taken_conflicts
    return f", {counted(n, 'feed value')} taken" if n else ""


def withheld_counts(run: Run) -> str:
    return ", ".join(
        counted(n, KIND_LABELS[k] if k == "staff" else KIND_LABELS[k][:-1], KIND_LABELS[k])
        for k, n in run.withheld.items()
    )


def withheld_lines(run: Run) -> list[str]:
    """What became (or is to become) of the archives the run withheld."""
    if not run.withheld:
        return []
    n = run.total_withheld()
    head = f"Withheld: {counted(n, 'archive')} ({withheld_counts(run)}), {WHY_WORDS.get(run.withheld_why or '', run.withheld_why)}"
    if run.withheld_decision is not None:
        when = f" at {run.withheld_decided_at:%Y-%m-%d %H:%M}" if run.withheld_decided_at else ""
        verdict = (
            f"{run.withheld_decision} by {run.withheld_decided_by}{when}: {run.withheld_reason}"
        )
        out = run.withheld_outcome
        if run.withheld_decision == "approved":
            verdict += f" ({out.get('archived', 0):,} archived, {out.get('kept', 0):,} kept, each with why)"
        return [head, f"  {verdict} (see: {hint_command()} withheld {run.run_id})"]
    if run.status == "applied":
        return [
            head,
            f"  Waiting for a decision: {hint_command()} withheld {run.run_id} --approve --reason TEXT"
            f"   or   --drop --reason TEXT",
        ]
    if run.status in ("planned", "held"):
        return [head, "  They wait for a decision once the rest of the run is applied."]
    return [head, f"  Never due: the run is {run.status}."]


def withheld_listing(run: Run, page: Any) -> str:
    """`roster-sync withheld RUN`: the decision, then the archives one per line."""
    lines = withheld_lines(run) or [f"Run {run.run_id} withheld no archives."]
    for w in page.items:
        what = f"{KIND_LABELS.get(w.kind, w.kind)} {w.sis_id or w.record_id}"
        label = f" {w.label}" if w.label else ""
        outcome = (
            f" -> {w.outcome}" + (f" ({w.outcome_note})" if w.outcome_note else "")
            if w.outcome
            else ""
        )
        lines.append(f"  {what}{label}: {w.note or 'archive'}{outcome}")
    if page.total > len(page.items):
        lines.append(f"  ... {page.total - len(page.items):,} more (--limit N, or --json)")
    return listing(lines)


def runs_table(runs: list[Run]) -> str:
    if not runs:
        return f"No runs yet. Start one with: {hint_command()} run PATH"
    lines = [f"{'run':>5}  {'status':11} {'created':16}  {'changes':>9}  {'errors':>7}  source"]
    for run in runs:
        lines.append(
            f"{run.run_id:>5}  {run.status:11} {run.created_at:%Y-%m-%d %H:%M}  {run.total_changes():>9,}  "
            f"{run.rows.error:>7,}  {run.source}{_runs_marks(run)}"
        )
    return listing(lines)


def _runs_marks(run: Run) -> str:
    marks = []
    if run.reverted_run is not None:
        marks.append(f"reverts run {run.reverted_run}")
    if run.scope:
        marks.append(f"schools: {', '.join(run.scope)}")
    if run.withheld:
        waiting = " waiting" if run.withheld_waiting else ""
        marks.append(f"{counted(run.total_withheld(), 'archive')} withheld{waiting}")
    return f"  [{'; '.join(marks)}]" if marks else ""


def fetch_line(fetch: dict[str, Any]) -> str:
    """What a pull fetched, in one line: records and pages per resource, retries, time."""
    parts = []
    for name, r in (fetch.get("resources") or {}).items():
        if r.get("absent"):
            parts.append(f"{name} not offered")
            continue
        pages = int(r.get("pages", 0))
        again = int(r.get("reread") or 0)
        moved = f", read again {times(again)}: it moved while paged" if again else ""
        parts.append(f"{name} {int(r.get('records', 0)):,} ({counted(pages, 'page')}{moved})")
    head = f"{fetch.get('label', '')} {fetch.get('source', '')}".strip()
    tail = []
    if fetch.get("retried"):
        tail.append(f"{fetch['retried']} retried")
    if fetch.get("side_files"):
        tail.append("with " + ", ".join(fetch["side_files"]))
    if fetch.get("seconds") is not None:
        tail.append(f"{fetch['seconds']:.1f} s")
    return f"{head}: " + ", ".join(parts) + (f"; {', '.join(tail)}" if tail else "")


def sources_table(sources: list[SourceInfo]) -> str:
    if not sources:
        return (
            "No API sources are configured. Add a [sources.NAME] table to the daemon's config "
            "(see docs/sources.md)."
        )
    lines = [f"{'name':16} {'kind':16} {'last pull':16}  {'run':>5}  {'status':10} {'records':>9}"]
    for s in sources:
        when = f"{s.last_pull_at:%Y-%m-%d %H:%M}" if s.last_pull_at else "never"
        run = str(s.last_run_id) if s.last_run_id is not None else "-"
        records = f"{s.last_records:,}" if s.last_records is not None else "-"
        lines.append(
            f"{s.name:16} {s.label:16} {when:16}  {run:>5}  {s.last_status or '-':10} {records:>9}"
        )
        lines.append(f"{'':16} {s.auth} {s.base_url}")
        if s.last_status == "failed" and s.last_error:
            lines.append(f"{'':16} last error: {s.last_error}")
    return listing(lines)


def one_line(text: str) -> str:
    """A line of a listing: a value holding a line break (a name from a drop, say) cannot
    start a line of its own that reads as another field or record."""
    return printable(text, one_line=True)


def listing(lines: list[str]) -> str:
    """Lines as printed, each kept to one line whatever the values in it hold (see one_line)."""
    return "\n".join(one_line(line) for line in lines)


def conflicts_table(conflicts: list[Conflict]) -> str:
    if not conflicts:
        return "No conflicts."
    lines = []
    for c in conflicts:
        decided = (
            f"decided: {c.decision} by {c.decided_by}"
            if c.decision
            else f"suggested: {c.suggestion}"
        )
        flag = " [blocking]" if c.blocking else ""
        lines.append(f"#{c.conflict_id} run {c.run_id} {c.kind}{flag}: {c.label or c.sis_id or ''}")
        lines.append(f"    {c.message}")
        lines.append(f"    {decided}")
    return listing(lines)


def settings_line(run: Run) -> str:
    """Which settings shaped the plan: those that differ from the defaults."""
    from daemon.settings import SyncSettings, format_value

    if not run.settings:
        return ""
    defaults = SyncSettings().model_dump()
    changed = [
        f"{key} = {format_value(value)}"
        for key, value in run.settings.items()
        if key in defaults and value != defaults[key]
    ]
    return "Settings: " + (", ".join(changed) if changed else "all defaults")


def print_json(value: Any) -> None:
    """`--json` output: models as pydantic dumps them, anything else through `json`."""
    if isinstance(value, BaseModel):
        text = value.model_dump_json(indent=2)
    elif isinstance(value, list) and value and isinstance(value[0], BaseModel):
        text = "[" + ",\n".join(v.model_dump_json(indent=2) for v in value) + "]"
    else:
        text = json.dumps(value, indent=2, default=str)
    print(text)


# The one line the CLI's progress bar redraws (daemon/progress.py, on stderr): a write opening
# with it is the bar's own; what follows is shown as any other text.
_REDRAW_LINE = "\r\x1b[2K"


class PrintableStream:
    """A text stream that shows what is written to it through `show` (`printable`): no value a
    command prints (a name from a drop, a stored value, an error quoting one) writes an escape
    sequence to the terminal. Everything else is the stream's own."""

    def __init__(self, stream: TextIO, show: Callable[[str], str]) -> None:
        self._stream = stream
        self._show = show

    def write(self, text: str) -> int:
        if text.startswith(_REDRAW_LINE):
            self._stream.write(_REDRAW_LINE + self._show(text[len(_REDRAW_LINE) :]))
        else:
            self._stream.write(self._show(text))
        return len(text)

    def writelines(self, lines: Any) -> None:
        for line in lines:
            self.write(line)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._stream, name)


@contextmanager
def printable_output(json_output: bool = False) -> Iterator[None]:
    """What a command prints, on standard output and error, while it runs: the one edge where
    the CLI's text reaches a terminal. Text goes through `printable`; `--json` output through
    `json_printable`, which writes the same characters as \\u escapes: the same JSON."""
    out, err = sys.stdout, sys.stderr
    for stream in (out, err):  # a terminal that cannot show a name shows its escape instead
        if isinstance(stream, io.TextIOWrapper):
            stream.reconfigure(errors="backslashreplace")
    sys.stdout = PrintableStream(out, json_printable if json_output else printable)
    sys.stderr = PrintableStream(err, printable)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = out, err


_OPS_SHOWN = (("create", 9), ("update", 9), ("archive", 9), ("unarchive", 11))


def changes_table(changes: dict[str, dict[str, int]]) -> list[str]:
    """Counts per kind and op, right-aligned; a column widens for a count too long for it, so
    two counts never run together (7,252,000 archives once read as "07,252,000")."""
    shown = [(kind, changes.get(kind, {})) for kind in CHANGE_KINDS]
    shown = [(kind, ops) for kind, ops in shown if any(ops.values())]
    widths = [
        max([width] + [len(f"{ops.get(op, 0):,}") + 1 for _, ops in shown])
        for op, width in _OPS_SHOWN
    ]
    header = "".join(f"{op:>{w}}" for (op, _), w in zip(_OPS_SHOWN, widths, strict=True))
    lines = [f"    {'':20}{header}"]
    for kind, ops in shown:
        counts = "".join(
            f"{ops.get(op, 0):>{w},}" for (op, _), w in zip(_OPS_SHOWN, widths, strict=True)
        )
        lines.append(f"    {KIND_LABELS[kind]:20}{counts}")
    return lines
