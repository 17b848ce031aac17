"""Runs: every sync run, newest first, with a preview of the highlighted one (why it is held)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime
from typing import ClassVar

from rich.console import Group, RenderableType
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Vertical
from textual.widgets import DataTable, Static

from daemon.models import DaemonInfo, DropList, NotifyStatus, Run
from roster_tui.screens.base import RosterScreen
from roster_tui.screens.drops import DropsScreen
from roster_tui.screens.run_decisions import (
    RUN_DECISION_BINDINGS,
    RUN_DECISION_OPERATIONS,
    RunDecisions,
    decision_allowed,
)
from roster_tui.widgets.chrome import NavBar, Plain, bottom_bars
from roster_tui.widgets.paged_table import FillTable
from roster_tui.widgets.run_summary import marked, override_line
from roster_tui.words import (
    fit_count,
    held_reasons,
    kind_counts,
    plural,
    run_source,
    status_meaning,
    status_text,
    when,
)

COLUMNS = [
    ("Run", 3),
    ("Created", 15),
    ("Status", 12),
    ("Changes", 7),
    ("Errors", 6),
    ("Confl.", 6),
    ("Source", None),
]


class RunsScreen(RunDecisions, RosterScreen):
    MODE = "runs"
    HELP = (
        "Every sync run, newest first. A run is a plan made from one drop of the SIS's files: "
        "planned runs wait for your approval; held runs tripped a safety rule (too many records "
        "would be archived) and need a deliberate override. The box below the list says what the "
        "highlighted run would change and, for a held run, why it is held. While the daemon "
        "holds drops it has not planned, a line says so and d lists them (a waiting one can "
        "be set aside there)."
    )
    OPERATIONS: ClassVar[dict[str, str | tuple[str, ...]]] = {
        **RUN_DECISION_OPERATIONS,
        "plan": "plan_source",
    }
    LIVE = True
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("enter", "open", "Open"),
        *RUN_DECISION_BINDINGS,
        Binding("n", "plan", "New run"),
        Binding("p", "replan", "Re-plan"),
        Binding("d", "drops", "Drops"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.runs: list[Run] = []
        self.shown_on: date | None = None  # the day the list's times were written

    def compose(self) -> ComposeResult:
        yield NavBar(self.MODE)
        with Vertical(id="runs-body"):
            yield FillTable(id="runs", cursor_type="row")
            yield Plain(id="runs-empty", classes="empty")
            yield Static(id="runs-outbox", markup=False)
            yield Static(id="runs-drops", markup=False)
            yield Plain(id="run-preview")
        yield from bottom_bars()

    def on_mount(self) -> None:
        self.query_one("#runs", FillTable).set_columns(COLUMNS)

    def reload(self) -> None:
        self.load(live=False)

    def reload_live(self) -> None:
        self.load(live=True)

    def load(self, live: bool) -> None:
        """The runs, the outbox's line and the daemon's drops line. Asked by the timer (`live`),
        a failure keeps what is shown (the daemon restarting for a minute must not empty the
        list, nor move the cursor when it is back) and is said once until an ask succeeds."""

        def quietly(_exc: Exception) -> None:
            pass

        self.call(
            lambda engine: engine.list_runs(200),
            then=self.show_runs,
            failed=self.live_failed if live else self.load_failed,
        )
        self.call(
            lambda engine: engine.notify_status(),
            then=self.show_outbox,
            failed=quietly if live else self.no_outbox,
            group="outbox",
        )
        self.call(
            lambda engine: engine.daemon_info(),
            then=self.show_drops,
            failed=quietly if live else self.no_drops,
            group="drops",
        )

    def show_outbox(self, state: NotifyStatus) -> None:
        """One line, only when notifications wait or could not be sent (a daemon that cannot
        reach its mail server should not stay a secret)."""
        line = outbox_line(state)
        self.query_one("#runs-outbox", Static).update(line or "")
        self.set_class(line is not None, "-outbox")
        self.show_preview()

    def no_outbox(self, _exc: Exception) -> None:
        """An older daemon without notifications: nothing to say."""
        self.set_class(False, "-outbox")

    def show_drops(self, info: DaemonInfo) -> None:
        """One line, only when the daemon holds drops it has not planned (waiting for the daily
        sync, a file still arriving, a folder its SFTP mirror cannot list): a drop stuck for a
        reason a person must fix should not stay in `roster-sync status` alone. Without the
        daemon (--db), the drops it queued and did not plan yet, which the database knows."""
        if not info.running:
            self.call(
                lambda engine: engine.drops(),
                then=self.show_queued,
                failed=self.no_drops,
                group="drops",
            )
            return
        self.show_drops_line(drops_line(info.pending_drops))

    def show_queued(self, drops: DropList) -> None:
        self.show_drops_line(drops_line([f"{w.name}: {w.why}" for w in drops.waiting]))

    def show_drops_line(self, line: Text | None) -> None:
        self.query_one("#runs-drops", Static).update(line or "")
        self.set_class(line is not None, "-drops")
        self.show_preview()
        self.refresh_bindings()

    def no_drops(self, _exc: Exception) -> None:
        """An older daemon that does not say: nothing to say."""
        self.set_class(False, "-drops")
        self.refresh_bindings()

    def load_failed(self, exc: Exception) -> None:
        """The notice, and the reason in place of the list (the daemon may be down)."""
        from roster_tui.gateway import describe_error

        self.roster.show_error(exc)
        title, message = describe_error(exc)
        self.failing = True
        self.shown_on = None  # the list is rebuilt when an ask succeeds, even an empty one
        self.runs = []
        self.query_one("#runs", DataTable).clear()
        self.set_class(True, "-empty")
        self.query_one("#runs-empty", Static).update(
            f"Could not load the runs. {title}: {message}\n\nctrl+r tries again."
        )
        self.show_preview()
        self.refresh_bindings()

    def show_runs(self, runs: list[Run]) -> None:
        self.failing = False
        table = self.query_one("#runs", DataTable)
        now = self.now()
        if runs == self.runs and table.row_count == len(runs) and now.date() == self.shown_on:
            self.show_preview()  # nothing new: the list stays as it is, scrolled where it was
            return
        self.shown_on = now.date()  # "today 02:00" is yesterday's after midnight
        before, self.runs = self.runs, runs
        self.roster.recent_runs = runs
        self.query_one("#runs", FillTable).refill(
            [
                (
                    Text(f"{run.run_id:>3}"),
                    when(run.created_at, now),
                    status_text(run.status),
                    Text(fit_count(run.total_changes(), 7), justify="right"),
                    Text(fit_count(run.rows.error, 6) if run.rows.error else "·", justify="right"),
                    Text(fit_count(run.conflicts, 6) if run.conflicts else "·", justify="right"),
                    run_source(run, short=True)
                    + (f" [{', '.join(run.scope)}]" if run.scope else ""),
                )
                for run in runs
            ],
            before,
            runs,
            lambda a, b: a.run_id == b.run_id,
        )
        empty = not runs
        self.set_class(empty, "-empty")
        self.query_one("#runs-empty", Static).update(
            "No runs yet.\n\nPress n to plan a drop (a folder or ZIP of OneRoster or Clever CSV files), "
            "or run: roster-sync run PATH"
            if empty
            else ""
        )
        self.show_preview()
        self.refresh_bindings()

    @property
    def current(self) -> Run | None:
        table = self.query_one("#runs", DataTable)
        if not self.runs or not 0 <= table.cursor_row < len(self.runs):
            return None
        return self.runs[table.cursor_row]

    def on_data_table_row_highlighted(self, _event: DataTable.RowHighlighted) -> None:
        self.show_preview()
        self.refresh_bindings()

    def on_data_table_row_selected(self, _event: DataTable.RowSelected) -> None:
        self.action_open()

    def show_preview(self) -> None:
        """The preview takes the room the list does not need (the list keeps its runs, up to half
        the height, and at least five lines)."""
        box = self.query_one("#run-preview", Static)
        body = self.query_one("#runs-body").size
        table_rows = max(5, min(len(self.runs) + 1, max(6, body.height // 2)))  # 5: its CSS
        room = body.height - 1 - table_rows  # 1: the rule above the preview
        room -= sum(1 for line in ("-outbox", "-drops") if self.has_class(line))
        width = max(20, body.width - 2)

        def fits(renderable: RenderableType) -> bool:
            options = self.app.console.options.update_width(width)
            return len(self.app.console.render_lines(renderable, options, pad=False)) <= room

        box.update(preview(self.current, self.now(), fits if body.height else None))

    def on_resize(self) -> None:
        self.show_preview()

    @property
    def selected_run(self) -> Run | None:
        return self.current

    def can(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        allowed = decision_allowed(self.current, action)
        if allowed is not None:
            return allowed
        if action == "replan":  # an older night than an applied drop's is not planned again
            return self.current is not None and self.current.later_drop_applied is None
        if action == "open":
            return self.current is not None
        if action == "drops":  # in the footer while the line says the daemon holds drops
            return self.has_class("-drops")
        return True

    def action_open(self) -> None:
        if self.current is not None:
            self.roster.open_run(self.current.run_id)

    def action_plan(self) -> None:
        self.roster.plan_drop(self, None)

    def action_drops(self) -> None:
        self.app.push_screen(DropsScreen())


def outbox_line(state: NotifyStatus) -> Text | None:
    """'Notifications: 2 waiting, 1 not sent (email-1: ...)', or None when all were sent."""
    if not (state.pending or state.failed):
        return None
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("Notifications: ", style="bold")
    parts = []
    if state.pending:
        parts.append(f"{state.pending:,} waiting")
    if state.failed:
        parts.append(f"{state.failed:,} not sent")
    text.append(", ".join(parts))
    broken = next((c for c in state.channels if c.last_error), None)
    if broken is not None:
        text.append(f" — {broken.channel}: {broken.last_error}")
    text.append(" (roster-sync status)", style="dim")
    return text


def drops_line(pending: list[str]) -> Text | None:
    """'Drops: 2 waiting (d lists them) — sftp-2026-09-15: the last mirror could not list …'
    (the first of `pending`, 'name: why' each), or None."""
    if not pending:
        return None
    text = Text(no_wrap=True, overflow="ellipsis")
    text.append("Drops: ", style="bold")
    text.append(f"{len(pending):,} waiting ")
    text.append("(d lists them)", style="dim")  # before the reason, which may be cut
    text.append(f" — {pending[0]}")
    return text


def preview(
    run: Run | None, now: datetime, fits: Callable[[RenderableType], bool] | None = None
) -> RenderableType:
    """A few lines about one run: status meaning, why held or failed, changes per kind. A held
    run lists every limit it exceeded, as many as `fits` lets in (then '… and N more')."""
    if run is None:
        return ""
    reasons = held_reasons(run) if run.status == "held" else []
    # one fewer than all would only swap a reason for the line saying there is one more
    counts = [len(reasons), *range(len(reasons) - 2, -1, -1)]
    for shown in counts:
        lines = _preview(run, now, reasons, shown)
        if fits is None or fits(lines):
            break
    return lines


def _preview(run: Run, now: datetime, reasons: list[str], shown: int) -> RenderableType:
    head = Text(no_wrap=False)
    head.append(f"Run {run.run_id} ")
    head.append_text(status_text(run.status))
    head.append(f" — {status_meaning(run)}")
    if run.status == "failed":
        head.append("\nError: ", style="bold")
        head.append(run.error or "unknown")
        return head
    parts: list[RenderableType] = [head]
    if run.override_by:
        parts.append(override_line(run, now))
    if reasons:
        parts.append(Text(f"Why held ({plural(len(reasons), 'limit')} exceeded):", style="bold"))
        more = [f"… and {len(reasons) - shown} more (open the run)"] if shown < len(reasons) else []
        parts.append(marked(reasons[:shown], "‖", more))
    tail = Text(no_wrap=False)
    tail.append("Changes: ", style="bold")
    tail.append(kind_counts(run) + "\n")
    tail.append("Rows: ", style="bold")
    tail.append(
        f"{run.rows.success:,} ok · {plural(run.rows.warning, 'warning')} · "
        f"{plural(run.rows.error, 'error')}"
    )
    if run.conflicts:
        tail.append(f" · {plural(run.conflicts, 'conflict')} ({run.blocking_conflicts} blocking)")
    if run.scope:
        tail.append("\nScope: ", style="bold")
        tail.append(f"school-level upload for {', '.join(run.scope)}")
    if run.withheld:
        tail.append("\nWithheld: ", style="bold")
        state = "waiting for a decision" if run.withheld_waiting else run.withheld_decision or ""
        tail.append(f"{plural(run.total_withheld(), 'archive')}, {state}")
    parts.append(tail)
    return Group(*parts)
