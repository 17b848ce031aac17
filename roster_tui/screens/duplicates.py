"""Duplicates: candidate pairs side by side, field by field; merge, reject, skip, undo."""

from __future__ import annotations

from typing import Any, ClassVar

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.widgets import Static

from daemon.duplicates.models import MergeUndone, ScanSummary
from roster_tui.screens.base import RosterScreen
from roster_tui.screens.dialogs import ConfirmScreen, open_run_ids
from roster_tui.widgets.chrome import NavBar, Plain, bottom_bars
from roster_tui.widgets.paged_table import FillTable
from roster_tui.words import plural

# (label, side attribute, evidence field)
FIELDS = [
    ("Given name", "given_name", "given_name"),
    ("Family name", "family_name", "family_name"),
    ("Birth date", "birth_date", "birth_date"),
    ("Grade", "grades", "grade"),
    ("School", "school", "school"),
    ("Number", "identifier", "student_number"),
    ("E-mail", "email", "email"),
    ("Phone", "phone", "phone"),
    ("User ids", "user_ids", "user_ids"),
    ("Guardians", "guardians", "guardians"),
    ("Students", "students", "students"),
    ("In feed", "feed", "lifecycle"),
    ("SIS id", "sis_id", None),
    ("Status", "status", None),
    ("Origin", "origin", None),
]
MARKS = {  # evidence -> (mark, style): the sign and word carry it, colour only helps
    "agree": ("= same", "green"),
    "partial": ("≈ close", "yellow"),
    "differ": ("≠ differs", "bold red"),
    "missing": ("· missing", "dim"),
}
LIFECYCLE_MARKS = {  # the lifecycle's own words: a handover is no "same", twins are together
    "handover": ("⇄ re-keyed", "green"),
    "coexist": ("∥ together", "yellow"),
    "apart": ("· apart", "dim"),
}
UNAVAILABLE = (
    "Duplicate detection is not available: the engine this UI talks to has no duplicates "
    "operations (duplicates_list). Update Roster Sync (or the daemon) to review duplicates here; "
    "every other screen works as usual."
)


def feed_runs(side: Any) -> str:
    """When a record was in the feed: 'arrived run 3, left run 12', 'arrived run 3', or
    'hand-made' (read across both sides: one left as the other arrived, or both there at once)."""
    arrived, left = getattr(side, "arrived_run", None), getattr(side, "left_run", None)
    if arrived is None:
        return "hand-made" if side.origin == "hand" else "–"
    return (
        f"arrived run {arrived}, left run {left}" if left is not None else f"arrived run {arrived}"
    )


def side_value(side: Any, attribute: str) -> str:
    if attribute == "feed":
        return feed_runs(side)
    value = getattr(side, attribute, None)
    if isinstance(value, list):
        return ", ".join(value) if value else "–"
    return "–" if value in (None, "") else str(value)


def why(candidate: Any) -> Text:
    """The score's reasons: each field's verdict and points, strongest first."""
    points: dict[str, int] = getattr(candidate, "field_points", {}) or {}
    detail: dict[str, str] = getattr(candidate, "evidence_detail", {}) or {}
    parts = sorted(points.items(), key=lambda kv: -abs(kv[1]))
    text = Text("Why: ", style="bold")
    shown = [
        f"{field.replace('_', ' ')} {detail.get(field, '').replace('_', ' ')} {value:+d}"
        for field, value in parts
        if value
    ]
    text.append(" · ".join(shown) if shown else "no field evidence recorded")
    return text


def person(side: Any) -> str:
    return f"{side.given_name or ''} {side.family_name or ''}".strip() or "(no name)"


def describe(side: Any) -> str:
    """'#116 Jonathan Smith (stu-1115, synced, active)'."""
    origin = "synced" if side.origin == "sync" else "hand-made"
    ids = ", ".join(x for x in (side.sis_id, origin, side.status) if x)
    return f"#{side.user_id} {person(side)} ({ids})"


def superseded_line(open_runs: list[int]) -> str:
    """The directory changes, so the engine supersedes every open run: said before, not after."""
    if not open_runs:
        return ""
    listed = ", ".join(str(r) for r in open_runs)
    return (
        f"\n\nThe directory changes, so open runs ({listed}) are superseded: plan them "
        "again afterwards."
    )


def merge_consequences(c: Any, keep: Any, other: Any, open_runs: list[int] | None = None) -> str:
    related = "guardian links, classes" if c.record_kind == "student" else "links to students"
    return (
        f"Survivor: {describe(keep)}.\n"
        f"Merged into it: {describe(other)}.\n\n"
        f"The merged record's {related} and history move to #{keep.user_id}; it is marked "
        f"merged, not deleted. u undoes the last merge." + superseded_line(open_runs or [])
    )


def reject_consequences(c: Any, open_runs: list[int] | None = None) -> str:
    return (
        f"{describe(c.left)}\n{describe(c.right)}\n\n"
        "They are recorded as two different people: this pair is never proposed again, and "
        "there is no undo. Both records stay as they are." + superseded_line(open_runs or [])
    )


def undo_consequences(open_runs: list[int] | None = None) -> str:
    return (
        "Your most recent merge is undone: the merged record comes back with the links, "
        "classes and history it had, exactly as before the merge."
        + superseded_line(open_runs or [])
    )


class DuplicatesScreen(RosterScreen):
    MODE = "duplicates"
    HELP = (
        "Pairs of records that may be the same person, best first. Each field is marked: "
        "= same, ≈ close (a nickname, swapped names, a typo, day and month swapped), ≠ differs, "
        "· missing. In feed says when each record was in the feed: ⇄ re-keyed when one left as "
        "the other arrived (a SIS that re-issued an id), ∥ together when both were in it at once "
        "(as twins are)."
    )
    WRITE_HELP: ClassVar[dict[str, str]] = {
        "duplicates_merge": "l merges keeping the left record, r keeping the right, once you "
        "confirm (y or Enter; the other's links, classes and history move to it).",
        "duplicates_reject": "n marks them as not the same person, once you confirm (never "
        "proposed again, no undo).",
        "duplicates_skip": "s skips for now.",
        "duplicates_undo_last": "u undoes the last merge, once you confirm. Merging, n and "
        "undo change the directory, so open runs are superseded and must be planned again "
        "(the question says which). The next pair comes up at once; the keys wait until the "
        "engine has answered.",
    }
    OPERATIONS: ClassVar[dict[str, str | tuple[str, ...]]] = {
        "merge": "duplicates_merge",
        "reject": "duplicates_reject",
        "skip": "duplicates_skip",
        "undo": "duplicates_undo_last",
        "scan": "duplicates_scan",
    }
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("l", "merge('left')", "Merge→left"),
        Binding("r", "merge('right')", "Merge→right"),
        Binding("n", "reject", "Not same"),
        Binding("s", "skip", "Skip"),
        Binding("u", "undo", "Undo merge"),
        Binding("R", "scan", "Scan"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.candidates: list[Any] = []
        self.total = 0
        self.available = True
        self.writing = False  # a decision is with the engine: the next waits for its answer
        self.open_runs: list[int] = []  # planned or held: a directory change supersedes them

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        yield Plain("", id="dup-head")
        yield FillTable(id="dup-pair", cursor_type="row")
        yield Plain("", id="dup-why")
        yield from bottom_bars()

    def reload(self) -> None:
        self.available = self.gw.supports("duplicates_list")
        if not self.available:
            self.show_unavailable()
            return
        self.call(
            lambda engine: engine.duplicates_list("open", 0, 50),
            then=self.show_page,
            failed=self.list_failed,
        )
        self.call(lambda engine: engine.list_runs(200), then=self.note_runs, group="runs")

    def note_runs(self, runs: list[Any]) -> None:
        self.open_runs = sorted(open_run_ids(runs))

    def list_failed(self, exc: Exception) -> None:
        self.roster.show_error(exc)
        if "duplicates_list" in str(exc) or "duplicate" in type(exc).__name__.lower():
            self.available = False
            self.show_unavailable()

    def show_unavailable(self) -> None:
        self.set_class(True, "-unavailable")
        self.query_one("#dup-head", Static).update(Text(UNAVAILABLE))
        self.query_one("#dup-why", Static).update("")
        self.query_one(FillTable).clear(columns=True)
        self.refresh_bindings()

    def show_page(self, page: Any) -> None:
        self.set_class(False, "-unavailable")
        self.candidates = list(page.items)
        self.total = page.total
        self.show_current()

    def show_current(self) -> None:
        table = self.query_one(FillTable)
        table.clear(columns=True)
        head = self.query_one("#dup-head", Static)
        self.set_class(not self.candidates, "-empty")
        if not self.candidates:
            head.update(
                "No open duplicate candidates. R scans the directory again "
                "(a scan also runs after every applied run)."
            )
            self.query_one("#dup-why", Static).update("")
            self.refresh_bindings()
            return
        c = self.candidates[0]
        text = Text()
        text.append(f"Pair 1 of {self.total:,} open", style="bold")
        text.append(f" · {c.record_kind}s · score {c.score:.2f}")
        if getattr(c, "points", None) is not None:
            text.append(f" ({plural(c.points, 'point')})")
        suggested = getattr(c, "survivor_id", None)
        if suggested is not None:
            which = "left" if suggested == c.left.user_id else "right"
            text.append(f" · suggested survivor: {which}")
        head.update(text)
        side = self.side_width()
        table.set_columns(
            [
                ("Field", 11),
                ("", 10),
                (f"l: #{c.left.user_id}", side),
                (f"r: #{c.right.user_id}", side),
            ]
        )
        for label, attribute, field in FIELDS:
            if attribute == "guardians" and c.record_kind != "student":
                continue
            if attribute == "students" and c.record_kind == "student":
                continue
            if attribute == "feed" and c.record_kind != "student":
                continue  # the lifecycle is weighed for students only
            verdict = c.evidence.get(field) if field else None
            left, right = side_value(c.left, attribute), side_value(c.right, attribute)
            if left == right == "–" and verdict in (None, "missing"):
                continue  # neither record has it: nothing to compare
            word, style = MARKS.get(verdict or "", ("", ""))
            if field == "lifecycle":
                detail = (getattr(c, "evidence_detail", {}) or {}).get(field)
                word, style = LIFECYCLE_MARKS.get(detail or "", (word, style))
            if verdict == "missing" and "–" not in (left, right):
                word = "· not used"  # both have it, but the score does not weigh it here
            mark = Text(word, style=style)
            style = "bold" if verdict == "differ" else ""
            cells = [Text(value, style=style) for value in (left, right)]
            lines = max(len(cell.wrap(self.app.console, side)) for cell in cells)
            table.add_row(label, mark, *cells, height=min(lines, 3))
        self.query_one("#dup-why", Static).update(why(c))
        self.refresh_bindings()

    def side_width(self) -> int:
        """Both records get half of what the field and verdict columns leave (long values wrap)."""
        width = self.query_one(FillTable).size.width or self.size.width or 80
        return max(12, (width - 11 - 10 - 4 * 2 - 2) // 2)  # 2: a scrollbar when rows wrap

    def on_resize(self) -> None:
        if self.candidates:
            self.show_current()

    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("merge", "reject", "skip", "undo", "scan"):
            possible = self.available and (bool(self.candidates) or action in ("undo", "scan"))
            if possible and self.writing:
                return None  # shown, dimmed, and ignored until the engine has answered
            return possible
        return True

    def _next(self) -> None:
        """Take the current pair off the list and show the next at once (before the engine
        answers); the notice comes with the engine's answer."""
        self.candidates.pop(0)
        self.total = max(0, self.total - 1)
        self.show_current()

    def decide(self, operation: Any, *, busy: str, then: Any, failed: Any | None = None) -> None:
        """One decision at a time: the screen's keys wait until the engine has answered (keys
        typed meanwhile, as a double tap, do nothing)."""
        self.writing = True
        self.refresh_bindings()

        def answered(result: Any) -> None:
            self._written()
            then(result)

        def refused(exc: Exception) -> None:
            self._written()
            (failed or self.roster.show_error)(exc)

        self.write(operation, busy=busy, then=answered, failed=refused)

    def _written(self) -> None:
        self.writing = False
        self.refresh_bindings()

    def _done(self, message: str, title: str, supersedes: list[int] | None = None) -> Any:
        def done(_result: Any) -> None:
            self.notify(message + superseded_notice(supersedes or []), title=title)
            if supersedes:
                self.open_runs = [r for r in self.open_runs if r not in supersedes]
            if len(self.candidates) < 5 and self.total > len(self.candidates):
                self.reload()

        return done

    def _write_failed(self, exc: Exception) -> None:
        self.roster.show_error(exc)
        self.reload()

    def action_merge(self, side: str) -> None:
        """Confirm first, naming the survivor: a merge moves one record's life into another."""
        c = self.candidates[0]
        keep, other = (c.left, c.right) if side == "left" else (c.right, c.left)
        suggested = getattr(c, "survivor_id", None)
        if suggested is not None and suggested != keep.user_id:
            key = "l" if suggested == c.left.user_id else "r"
            self.notify(
                f"#{suggested} {person(c.left if key == 'l' else c.right)} is the sync-managed "
                f"record and must survive: {key} merges into it.",
                title="Not merged",
                severity="warning",
            )
            return

        open_runs = list(self.open_runs)

        def answered(yes: bool | None) -> None:
            if yes and self.still_current(c):
                self.merge(c, keep, other, open_runs)

        self.keep_on_resume = True  # a reload now could bring back the pair being merged
        self.app.push_screen(
            ConfirmScreen(
                f"Merge #{other.user_id} into #{keep.user_id}?",
                merge_consequences(c, keep, other, open_runs),
                f"Merge, keeping #{keep.user_id}",
            ),
            answered,
        )

    def still_current(self, c: Any) -> bool:
        """The pair asked about is still the one shown, and nothing else is being decided."""
        return (
            not self.writing
            and bool(self.candidates)
            and self.candidates[0].candidate_id == c.candidate_id
        )

    def merge(self, c: Any, keep: Any, other: Any, open_runs: list[int]) -> None:
        self._next()
        self.decide(
            lambda engine: engine.duplicates_merge(
                c.left.user_id, c.right.user_id, keep.user_id, c.candidate_id
            ),
            busy=f"Merging #{other.user_id} into #{keep.user_id}…",
            then=self._done(
                f"#{other.user_id} merged into #{keep.user_id} {person(keep)}. u undoes it.",
                "Merged",
                open_runs,
            ),
            failed=self._write_failed,
        )

    def action_reject(self) -> None:
        """Confirm first, naming both people: the pair is never proposed again (no undo)."""
        c = self.candidates[0]
        open_runs = list(self.open_runs)

        def answered(yes: bool | None) -> None:
            if yes and self.still_current(c):
                self.reject(c, open_runs)

        self.keep_on_resume = True
        self.app.push_screen(
            ConfirmScreen(
                f"{person(c.left)} and {person(c.right)}: not the same person?",
                reject_consequences(c, open_runs),
                "Not the same person",
            ),
            answered,
        )

    def reject(self, c: Any, open_runs: list[int]) -> None:
        self._next()
        self.decide(
            lambda engine: engine.duplicates_reject(c.left.user_id, c.right.user_id),
            busy="Recording…",
            then=self._done(
                f"#{c.left.user_id} and #{c.right.user_id} will not be proposed again.",
                "Not the same person",
                open_runs,
            ),
            failed=self._write_failed,
        )

    def action_skip(self) -> None:
        c = self.candidates[0]
        self._next()
        self.decide(
            lambda engine: engine.duplicates_skip(c.candidate_id),
            busy="Skipping…",
            then=self._done(f"Pair #{c.candidate_id} skipped for now.", "Skipped"),
            failed=self._write_failed,
        )

    def action_undo(self) -> None:
        """Confirm first: undoing changes the directory too (and supersedes open runs)."""
        open_runs = list(self.open_runs)

        def undone(result: MergeUndone | None) -> None:
            if result is None:
                self.notify("There is no merge to undo.", severity="warning")
            elif result.exact:
                self.notify(
                    f"Merge {result.merge_id} undone: both records are back."
                    + superseded_notice(open_runs),
                    title="Undone",
                )
            else:
                kept = len(result.not_restored)
                self.notify(
                    f"Merge {result.merge_id} undone; "
                    + (
                        f"{plural(kept, 'change')} made since the merge stay as they are now "
                        "(see the records' history)."
                        if kept
                        else f"user {result.hand_made_again} is hand-made again."
                    )
                    + superseded_notice(open_runs),
                    title="Undone",
                    severity="warning",
                )
            self.reload()

        def answered(yes: bool | None) -> None:
            if yes and not self.writing:
                self.decide(
                    lambda engine: engine.duplicates_undo_last(),
                    busy="Undoing the last merge…",
                    then=undone,
                )

        self.keep_on_resume = True
        self.app.push_screen(
            ConfirmScreen("Undo the last merge?", undo_consequences(open_runs), "Undo it"),
            answered,
        )

    def action_scan(self) -> None:
        def scanned(result: ScanSummary) -> None:
            self.notify(f"{plural(result.open, 'candidate pair')} found.", title="Scan done")
            self.reload()

        self.decide(
            lambda engine: engine.duplicates_scan(),
            busy="Scanning the directory for duplicates…",
            then=scanned,
        )


def superseded_notice(open_runs: list[int]) -> str:
    if not open_runs:
        return ""
    return f" Open runs superseded: {', '.join(map(str, open_runs))}; plan them again."
