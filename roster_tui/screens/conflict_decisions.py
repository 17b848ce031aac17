"""Deciding conflicts: the panel asks (a message up), the screen confirms and writes."""

from __future__ import annotations

from daemon.service.interface import EngineClient
from roster_tui.screens.dialogs import ConfirmScreen
from roster_tui.widgets.conflicts_panel import ConflictsPanel, id_list
from roster_tui.words import plural


class ConflictDecisions:
    """Mixed into a `RosterScreen` that shows a `ConflictsPanel`.

    The panel knows which conflicts are marked and shown. Whether their run is applied (so that
    taking the feed's value changes the directory at once) is asked of the engine just before
    deciding, never guessed from what the screen loaded earlier; writing the decision, and
    asking the person first when it changes the directory at once, is the screen's work. The
    engine refuses such a take unless the person was asked (`take_now`), so a run applied
    between the question and the write is refused, not taken.
    """

    def on_conflicts_panel_decision_requested(
        self, event: ConflictsPanel.DecisionRequested
    ) -> None:
        event.stop()
        panel, ids, decision, run_ids = (
            event.panel,
            event.conflict_ids,
            event.decision,
            event.run_ids,
        )

        def done(count: int) -> None:
            panel.decided(ids, decision)
            self.conflicts_decided()

        def write(take_now: bool) -> None:
            self.write(  # type: ignore[attr-defined]
                lambda engine: engine.resolve_conflicts(ids, decision, take_now=take_now),
                then=done,
                busy=f"Deciding {plural(len(ids), 'conflict')}…",
            )

        if decision != "take":  # keep and ignore never change the directory by themselves
            write(take_now=False)
            return

        def statuses(engine: EngineClient) -> dict[int, str]:
            return {run_id: engine.get_run(run_id).status for run_id in run_ids}

        def ask_if_applied(found: dict[int, str]) -> None:
            applied = sorted(run_id for run_id, status in found.items() if status == "applied")
            if not applied:
                write(take_now=False)
                return
            runs = ", ".join(str(r) for r in applied)
            self.app.push_screen(  # type: ignore[attr-defined]
                ConfirmScreen(
                    "Take the feed's value now?",
                    f"{'Run' if len(applied) == 1 else 'Runs'} {runs} "
                    f"{'is' if len(applied) == 1 else 'are'} already applied: taking the feed's "
                    f"value for {plural(len(ids), 'conflict')} ({id_list(ids)}) changes the "
                    "directory at once, and open runs are superseded (plan them again).",
                    "Take it",
                ),
                lambda ok: write(take_now=True) if ok else None,
            )

        self.call(statuses, then=ask_if_applied, group="decision")  # type: ignore[attr-defined]

    def conflicts_decided(self) -> None:
        """After the panel showed the decision: what else on the screen depends on it."""
