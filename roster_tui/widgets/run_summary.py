"""A run in plain words and numbers: what will happen (or did), and the limits it is held by."""

from __future__ import annotations

from datetime import datetime

from rich.console import Group, RenderableType
from rich.table import Table
from rich.text import Text

from daemon.models import Run
from roster_tui.words import (
    KIND_NAMES,
    count_of,
    fetch_lines,
    held_reasons,
    op_lines,
    plural,
    run_source,
    status_meaning,
    status_text,
    when,
)


def title_line(run: Run, now: datetime) -> Text:
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append(f"Run {run.run_id} ", style="bold")
    text.append_text(status_text(run.status))
    text.append(f"  {run_source(run)} · created {when(run.created_at, now)}")
    if run.oneroster_version:
        text.append(f" · OneRoster {run.oneroster_version}")
    if run.reverted_run is not None:
        text.append(f" · reverts run {run.reverted_run}")
    if run.scope:
        text.append(f" · schools {', '.join(run.scope)}")
    return text


def summary(run: Run, now: datetime) -> RenderableType:
    parts: list[RenderableType] = [_status(run, now)]
    if run.fetch:
        parts.append(_fetched(run))
    if run.status == "failed":
        return Group(*parts)
    parts.append(_changes(run))
    withheld = _withheld(run, now)
    if withheld is not None:
        parts.append(withheld)
    parts.append(_rows(run))
    limits = _limits(run)
    if limits is not None:
        parts.append(limits)
    parts.append(_settings(run))
    if run.notes:
        notes = Text("Notes\n", style="bold")
        for note in run.notes[:8]:
            notes.append(f"  • {note.get('message', '')}\n")
        if len(run.notes) > 8:
            notes.append(f"  … and {len(run.notes) - 8} more\n")
        parts.append(notes)
    return Group(*parts)


def _fetched(run: Run) -> RenderableType:
    """A pulled run: where from, and what each resource gave (how far a failed pull got)."""
    fetch = run.fetch or {}
    text = Text(f"Pulled from {run_source(run)}", style="bold")
    retried = fetch.get("retried")
    seconds = fetch.get("seconds")
    extra = [
        f"{seconds:.1f} s" if seconds is not None else "",
        f"{retried} retried" if retried else "",
    ]
    extra += [f"with {', '.join(fetch['side_files'])}"] if fetch.get("side_files") else []
    if any(extra):
        text.append(" (" + ", ".join(e for e in extra if e) + ")", style="")
    return Group(text, marked(fetch_lines(run), "·"))


def marked(lines: list[str], mark: str, more: list[str] | None = None) -> Table:
    """Indented lines behind a mark; a wrapped line keeps the indent (narrow terminals)."""
    grid = Table.grid(padding=(0, 1), pad_edge=True)
    grid.add_column(width=3, justify="right")
    grid.add_column()
    for line in lines:
        grid.add_row(mark, line)
    for line in more or []:
        grid.add_row("", line)
    return grid


def _status(run: Run, now: datetime) -> RenderableType:
    parts: list[RenderableType] = []
    text = Text()
    text.append_text(status_text(run.status))
    text.append(f" — {status_meaning(run)}.\n")
    if run.status == "failed":
        text.append("Error: ", style="bold")
        text.append(f"{run.error or 'unknown'}\n")
        text.append(
            "The Files tab shows what was found in the drop; row problems are under Rows.\n"
        )
    if run.status == "held":
        text.append("Why it is held:", style="bold")
        parts.append(text)
        parts.append(marked(held_reasons(run), "‖"))
        text = Text()
        text.append("Approving needs a deliberate override (o), or reject it (x).\n")
    elif run.status == "planned":
        text.append("Next: a approves it, x rejects it.\n")
    elif run.status == "superseded" and run.later_drop_applied is not None:
        text.append("To sync this older drop all the same, start a run on it (n on Runs).\n")
    elif run.status == "superseded":
        text.append("Next: p plans its drop again against today's directory.\n")
    if run.reverted_run is not None:
        text.append(
            f"This run undoes run {run.reverted_run}: it restores what that run changed; what "
            "changed again since is under Conflicts.\n"
        )
    if run.scope:
        text.append(
            f"School-level upload for {', '.join(run.scope)}: other schools' records are not "
            "archived for being absent; the deletion limits count within these schools.\n"
        )
    if run.decided_at is not None:
        text.append(f"Decided {when(run.decided_at, now)} by {run.decided_by or '?'}\n")
    if run.override_by:
        text.append_text(override_line(run, now))
        text.append("\n")
    parts.append(text)
    return Group(*parts) if len(parts) > 1 else text


def override_line(run: Run, now: datetime) -> Text:
    """Who overrode the hold, when, and why: the audit log's record of a deliberate decision."""
    text = Text()
    text.append("‖ Hold overridden", style="bold")
    at = f" {when(run.decided_at, now)}" if run.decided_at else ""
    text.append(f" by {run.override_by}{at}")
    if run.override_reason:
        text.append(": ")
        text.append(run.override_reason, style="italic")
    else:
        text.append(" (no reason was recorded)")
    return text


def _changes(run: Run) -> RenderableType:
    applied = run.status == "applied"
    heading = (
        f"What run {run.run_id} did" if applied else f"What approving run {run.run_id} would do"
    )
    lines = op_lines(run, past=applied)
    if not lines and run.keeps_reference_data():
        return Text(f"{heading}\n  No record changes; it {run.reference_words(applied)} (Notes).\n")
    if not lines:
        return Text(f"{heading}\n  Nothing: the directory already matches this drop.\n")
    grid = Table.grid(padding=(0, 1))
    grid.add_column(width=1)
    grid.add_column(style="bold", no_wrap=True)
    grid.add_column()
    for verb, what in lines:
        grid.add_row("", verb, what)
    return Group(Text(heading, style="bold"), grid, Text(""))


WITHHELD_WHY = {
    "threshold": "over the deletion threshold (threshold_action = withhold_archives)",
    "additions_only": "archive_mode = additions_only",
}


def _withheld(run: Run, now: datetime) -> Text | None:
    """The archives the run withheld: waiting (w decides), or what became of them."""
    if not run.withheld:
        return None
    text = Text()
    text.append("Withheld  ", style="bold")
    counts = ", ".join(count_of(kind, n) for kind, n in run.withheld.items())
    text.append(f"archives of {counts}, {WITHHELD_WHY.get(run.withheld_why or '', '')}\n")
    if run.withheld_decision is not None:
        at = f" {when(run.withheld_decided_at, now)}" if run.withheld_decided_at else ""
        text.append(f"  {run.withheld_decision.capitalize()} by {run.withheld_decided_by}{at}: ")
        text.append(run.withheld_reason or "", style="italic")
        if run.withheld_decision == "approved":
            out = run.withheld_outcome
            text.append(
                f" · {out.get('archived', 0):,} archived, {out.get('kept', 0):,} kept, each "
                "with why (w)"
            )
        text.append("\n")
    elif run.status == "applied":
        text.append("  Waiting for a decision: w archives them or drops them (with a reason).\n")
    elif run.status in ("planned", "held"):
        text.append("  They wait for a decision once the rest of the run is applied.\n")
    else:
        text.append(f"  Never due: the run is {run.status}.\n")
    return text


def _rows(run: Run) -> Text:
    rows = run.rows
    text = Text()
    text.append("Rows      ", style="bold")
    text.append(
        f"{rows.success:,} ok · {rows.warning:,} with warnings · {rows.error:,} with errors"
        + (
            f" · {plural(rows.file_warnings, 'warning')} about the files"
            if rows.file_warnings
            else ""
        )
        + (" (see Rows)" if rows.warning or rows.error or rows.file_warnings else "")
        + "\n"
    )
    text.append("Conflicts ", style="bold")
    if run.conflicts:
        taken = (
            f"; {plural(run.taken_conflicts, 'feed value')} taken, applying overwrites the "
            "directory's there"
            if run.taken_conflicts
            else ""
        )
        text.append(
            f"{plural(run.conflicts, 'conflict')}, {run.blocking_conflicts} blocking "
            f"(see Conflicts); undecided ones keep the directory's value{taken}\n"
        )
    else:
        text.append("none\n")
    return text


def _limits(run: Run) -> RenderableType | None:
    """Archive counts against their limits: every kind that archives, and every held kind."""
    shown = [t for t in run.thresholds if t.archives or t.held]
    if not shown:
        return None
    percent = run.settings.get("deletion_threshold")
    count = run.settings.get("deletion_threshold_count")
    rule = f"at most {percent:g}% of active records" if percent is not None else "limits"
    if count is not None:
        rule += f" and {plural(count, 'record')}"
    table = Table(
        title=f"Archive limits ({rule} per kind)",
        title_justify="left",
        title_style="bold",
        box=None,
        padding=(0, 1),
        show_edge=False,
    )
    table.add_column("kind")
    table.add_column("archives", justify="right")
    table.add_column("of active", justify="right")
    table.add_column("%", justify="right")
    table.add_column("limit", justify="right")
    table.add_column("")
    for t in shown:
        pct = 100.0 * t.archives / t.active if t.active else 0.0
        verdict = Text("✓ within")
        if t.held:
            withheld = run.withheld_why == "threshold"
            verdict = Text("‖ over: withheld" if withheld else "‖ over: held", style="bold")
        table.add_row(
            KIND_NAMES.get(t.kind, (t.kind, t.kind))[1],
            f"{t.archives:,}",
            f"{t.active:,}",
            f"{pct:.1f}",
            f"{t.limit:,}",
            verdict,
        )
    return table


def _settings(run: Run) -> Text:
    from daemon.settings import SyncSettings, format_value

    text = Text("\n")
    if not run.settings:
        return text
    defaults = SyncSettings().model_dump()
    changed = [
        f"{key} = {format_value(value)}"
        for key, value in run.settings.items()
        if key in defaults and value != defaults[key]
    ]
    text.append("Planned with settings: ", style="bold")
    text.append((", ".join(changed) if changed else "all defaults") + "\n")
    return text
