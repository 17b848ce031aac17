"""Deciding conflicts: the panel asks (a message up), the screen confirms and writes."""

from __future__ import annotations

from roster_tui.screens.dialogs import ConfirmScreen
from roster_tui.widgets.conflicts_panel import ConflictsPanel
from roster_tui.words import plural


class ConflictDecisions:
    """Mixed into a `RosterScreen` that shows a `ConflictsPanel`.

    The panel knows which conflicts are marked and whether their run is applied; writing the
    decision, and asking first when it changes the directory at once, is the screen's work.
    """

    def on_conflicts_panel_decision_requested(
        self, event: ConflictsPanel.DecisionRequested
    ) -> None:
        event.stop()
        panel, ids, decision = event.panel, event.conflict_ids, event.decision

        def done(count: int) -> None:
            panel.decided(count, decision)
            self.conflicts_decided()

        def go(ok: bool | None = True) -> None:
            if ok:
                self.write(  # type: ignore[attr-defined]
                    lambda engine: engine.resolve_conflicts(ids, decision),
                    then=done,
                    busy=f"Deciding {plural(len(ids), 'conflict')}…",
                )

        if decision == "take" and event.applied_now:
            self.app.push_screen(  # type: ignore[attr-defined]
                ConfirmScreen(
                    "Take the feed's value now?",
                    "These conflicts belong to a run that is already applied: taking the feed's "
                    "value changes the directory at once, and open runs are superseded "
                    "(plan them again).",
                    "Take it",
                ),
                go,
            )
        else:
            go()

    def conflicts_decided(self) -> None:
        """After the panel showed the decision: what else on the screen depends on it."""
