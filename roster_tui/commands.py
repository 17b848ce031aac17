"""The command palette (ctrl+p): every screen, recent run and action, found by typing part of
its name. Another screen's action goes to that screen first, then does what its key does."""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from textual.command import DiscoveryHit, Hit, Hits, Provider

from roster_tui.keys import class_key_lines, key_lines
from roster_tui.widgets.chrome import NAV
from roster_tui.words import STATUS, short_source


class RosterCommands(Provider):
    """Screens, recent runs, the current screen's actions and every other screen's actions."""

    def commands(self) -> list[tuple[str, Callable[[], Any], str]]:
        app: Any = self.app
        found: list[tuple[str, Callable[[], Any], str]] = []
        for mode, (key, label) in NAV.items():
            found.append((f"Go to {label}", partial(app.switch_mode, mode), f"screen (key {key})"))
        for run in app.recent_runs[:20]:
            word = STATUS.get(run.status, (run.status,))[0]
            found.append(
                (
                    f"Open run {run.run_id} ({word}, {short_source(run.source)})",
                    partial(app.open_run, run.run_id),
                    "run detail",
                )
            )
        screen = self.screen
        for line in key_lines(screen):
            found.append(
                (
                    f"{line.description} (this screen)",
                    partial(app.run_screen_action, screen, line.action),
                    f"key {line.keys}",
                )
            )
        for mode, screen_class in app.MODES.items():
            if isinstance(screen, screen_class):
                continue
            key, label = NAV[mode]
            for line in class_key_lines(screen_class, app):
                found.append(
                    (
                        f"{label}: {line.description}",
                        partial(app.go_and_run, mode, line.action, line.description),
                        f"screen {key}, then key {line.keys}",
                    )
                )
        found.append(("Help: keys of this screen", app.action_help, "key ?"))
        return found

    async def discover(self) -> Hits:
        for name, callback, help_text in self.commands():
            yield DiscoveryHit(name, callback, help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, callback, help_text in self.commands():
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), callback, help=help_text)
