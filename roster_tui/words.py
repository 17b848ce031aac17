"""How the UI words runs, changes and times: symbols plus words, so nothing relies on colour."""

from __future__ import annotations

from datetime import datetime
from pathlib import PurePath

from rich.text import Text

from daemon.models import Run
from daemon.sync.kinds import CHANGE_KINDS
from daemon.words import counted, times

# status -> (symbol and word, style). The word and symbol carry the meaning; colour only helps.
STATUS = {
    "planned": ("● planned", "bold cyan"),
    "held": ("‖ HELD", "bold reverse yellow"),
    "applied": ("✓ applied", "green"),
    "rejected": ("– rejected", "dim"),
    "failed": ("✗ failed", "bold red"),
    "superseded": ("↷ superseded", "dim italic"),
    "loading": ("… loading", "italic"),
}
STATUS_MEANING = {
    "planned": "awaiting approval",
    "held": "a safety rule tripped: approving needs a deliberate override",
    "applied": "the directory was changed",
    "rejected": "discarded; the directory was not changed",
    "failed": "the drop could not be loaded",
    "superseded": "the directory changed after this plan was made: re-plan it",
    "loading": "being loaded",
}


def status_meaning(run: Run) -> str:
    """What the run's status means for it; a run a later drop's apply superseded is an older
    night, not one to re-plan (replan refuses it)."""
    if run.status == "superseded" and run.later_drop_applied is not None:
        return f"run {run.later_drop_applied}, from a later drop, was applied since: an older night"
    return STATUS_MEANING.get(run.status, run.status)


OPS = ("create", "update", "archive", "unarchive")
OP_SIGN = {"create": "+", "update": "~", "archive": "−", "unarchive": "↺"}
OP_VERB = {"create": "Create", "update": "Update", "archive": "Archive", "unarchive": "Unarchive"}
OP_PAST = {
    "create": "Created",
    "update": "Updated",
    "archive": "Archived",
    "unarchive": "Unarchived",
}
KIND_NAMES = {  # kind -> (singular, plural)
    "schools": ("school", "schools"),
    "classrooms": ("classroom", "classrooms"),
    "students": ("student", "students"),
    "staff": ("staff member", "staff"),
    "guardians": ("guardian", "guardians"),
    "enrollments": ("enrollment", "enrollments"),
    "guardian_links": ("guardian link", "guardian links"),
    "student_attributes": ("student attribute", "student attributes"),
}
OPEN = ("planned", "held")


def status_text(status: str) -> Text:
    word, style = STATUS.get(status, (status, ""))
    return Text(word, style=style)


def count_of(kind: str, n: int) -> str:
    """'1 student', '6 students', '2,641 enrollments'."""
    singular, plural = KIND_NAMES.get(kind, (kind, kind))
    return f"{n:,} {singular if n == 1 else plural}"


plural = counted  # the engine's words (daemon/words.py)


def when(moment: datetime | None, now: datetime) -> str:
    """'today 02:00', 'yesterday 02:00', 'Nov 21 02:00', '2025-11-21': short and unambiguous."""
    if moment is None:
        return "—"
    days = (now.date() - moment.date()).days
    if days == 0:
        return f"today {moment:%H:%M}"
    if days == 1:
        return f"yesterday {moment:%H:%M}"
    if moment.year == now.year:
        return f"{moment:%b %d %H:%M}"
    return f"{moment:%Y-%m-%d}"


def short_source(source: str) -> str:
    """The drop's folder and name: enough to recognise, and the same on every machine."""
    parts = PurePath(source).parts
    return "/".join(parts[-2:]) if len(parts) > 1 else source


def drop_name(source: str) -> str:
    """Just the drop's own name, for narrow lists."""
    return PurePath(source).name or source


def pulled_from(run: Run) -> str | None:
    """'ClassLink (classlink)' for a run pulled from an API source; None for a drop."""
    if not run.source_name:
        return None
    label = (run.fetch or {}).get("label") or run.source_kind
    return f"{label} ({run.source_name})"


def run_source(run: Run, short: bool = False) -> str:
    """Where a run's data came from: the API source it was pulled from, or its drop."""
    pulled = pulled_from(run)
    if pulled:
        return (run.fetch or {}).get("label") or pulled if short else pulled
    return drop_name(run.source) if short else short_source(run.source)


def fetch_lines(run: Run) -> list[str]:
    """What a pull fetched, one line per resource: records and pages."""
    lines = []
    for name, r in ((run.fetch or {}).get("resources") or {}).items():
        if r.get("absent"):
            lines.append(f"{name}: not offered by the API")
            continue
        deleted = f", {r['deleted']:,} marked deleted" if r.get("deleted") else ""
        again = int(r.get("reread") or 0)
        moved = f"; read again {times(again)} (it moved while paged)" if again else ""
        records, pages = int(r.get("records", 0)), int(r.get("pages", 0))
        lines.append(
            f"{name}: {plural(records, 'record')} in {plural(pages, 'page')}{deleted}{moved}"
        )
    return lines


def op_lines(run: Run, past: bool = False) -> list[tuple[str, str]]:
    """[('Create', '6 students, 6 guardians'), ('Archive', ...)]: the plan in plain words."""
    lines = []
    for op in OPS:
        parts = [
            count_of(kind, run.changes.get(kind, {}).get(op, 0))
            for kind in CHANGE_KINDS
            if run.changes.get(kind, {}).get(op, 0)
        ]
        if parts:
            lines.append(((OP_PAST if past else OP_VERB)[op], ", ".join(parts)))
    return lines


def kind_counts(run: Run) -> str:
    """'students +6 ~1 −3 · guardians +6 −4': per kind, for the runs list preview."""
    parts = []
    for kind in CHANGE_KINDS:
        ops = run.changes.get(kind, {})
        signs = " ".join(f"{OP_SIGN[op]}{ops[op]:,}" for op in OPS if ops.get(op))
        if signs:
            parts.append(f"{KIND_NAMES[kind][1]} {signs}")
    return " · ".join(parts) if parts else "no changes"


def held_reasons(run: Run) -> list[str]:
    """Short reasons: 'students: archives 46 of 300 (15.3%), limit 30'."""
    over = [t for t in run.thresholds if t.held and run.withheld_why is None]
    short = [
        f"{KIND_NAMES.get(t.kind, (t.kind, t.kind))[1]}: archives {t.archives:,} of "
        f"{t.active:,} ({100.0 * t.archives / t.active if t.active else 0:.1f}%), limit {t.limit:,}"
        for t in over
    ]
    # Holds of their own (a re-keyed rollover), after the threshold lines they do not repeat.
    others = [r for r in run.hold_reasons if not any(r.startswith(f"{t.kind}: ") for t in over)]
    return short + others


def consequences(run: Run) -> list[str]:
    """What approving does, restated in the confirmation."""
    lines = [f"{verb} {what}." for verb, what in op_lines(run)]
    if not lines and run.keeps_reference_data():
        lines.append(f"No record changes; it {run.reference_words()} (see the notes).")
    elif not lines:
        lines.append("No changes: the directory already matches this drop.")
    if run.taken_conflicts:
        lines.append(
            f"{plural(run.taken_conflicts, 'feed value')} taken: applying overwrites the "
            f"directory's {'value' if run.taken_conflicts == 1 else 'values'} there (hand "
            "edits, active accounts)."
        )
    if run.conflicts:
        blocking = f" ({run.blocking_conflicts} blocking)" if run.blocking_conflicts else ""
        lines.append(
            f"{plural(run.conflicts, 'conflict')}{blocking} in this run: undecided ones keep "
            "the directory's value."
        )
    lines.append(
        "Nothing is deleted: to undo it later, Revert (u on the applied run) plans the way "
        "back, to review like this one."
    )
    return lines


def fit_count(n: int, width: int) -> str:
    """A count in full when it fits in `width` characters, else shortened (70k, 11.7M): a
    narrow column must not cut 11,714,146 to "11,714," (the full count is a keystroke away)."""
    full = f"{n:,}"
    if len(full) <= width:
        return full
    if n >= 1_000_000:
        return f"{n / 1e6:.1f}M"
    return f"{n // 1000}k"
