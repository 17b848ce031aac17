"""Approve, override, reject and re-plan: the same keys and rules wherever a run is shown."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.binding import Binding

from daemon.models import Run
from roster_tui.words import OPEN

if TYPE_CHECKING:
    from roster_tui.app import RosterApp

# the engine operations each decision ends in (a re-plan plans the drop, or a revert, again)
RUN_DECISION_OPERATIONS: dict[str, str | tuple[str, ...]] = {
    "approve": "apply_run",
    "override": "apply_run",
    "reject": "reject_run",
    "replan": ("plan_source", "replan_run"),
}
RUN_DECISION_BINDINGS = [
    Binding("a", "approve", "Approve"),
    Binding("o", "override", "Override…"),
    Binding("a", "override", "Override…", show=False),  # a on a held run: the same dialog
    Binding("x", "reject", "Reject"),
]


def decision_allowed(run: Run | None, action: str) -> bool | None:
    """Whether a decision applies to `run`; None when `action` is not a decision."""
    if action == "approve":
        return run is not None and run.status == "planned"
    if action == "override":
        return run is not None and run.status == "held"
    if action == "reject":
        return run is not None and run.status in OPEN
    return None


class RunDecisions:
    """Mixed into a screen that knows which run is in front of the user (`selected_run`)."""

    roster: RosterApp

    @property
    def selected_run(self) -> Run | None:
        raise NotImplementedError

    def action_approve(self) -> None:
        self._decide("approve")

    def action_override(self) -> None:
        self._decide("override")

    def action_reject(self) -> None:
        self._decide("reject")

    def action_replan(self) -> None:
        if self.selected_run is not None:
            self.roster.plan_drop(self, self.selected_run)  # type: ignore[arg-type]

    def _decide(self, decision: str) -> None:
        if self.selected_run is not None:
            self.roster.decide_run(self, self.selected_run, decision)  # type: ignore[arg-type]
