"""The keys of a screen, one list for the help screen and the command palette, worded and
ordered as the footer shows them (so the three never disagree)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from textual.binding import Binding
from textual.dom import DOMNode

from roster_tui.gateway import operations_of

# App-wide actions: the help screen lists them once, under the screen's own keys.
GLOBAL_ACTIONS = frozenset({"switch_mode", "help", "quit", "reload", "command_palette"})


@dataclass
class KeyLine:
    keys: str  # as the footer shows them; several keys of one action: "o / a"
    description: str
    action: str  # with its parameters, as the binding has it: "merge('left')"
    in_footer: bool


def action_name(action: str) -> str:
    return action.split("(", 1)[0]


def ours(node: object, binding: Binding) -> bool:
    """A binding this app declares (not a Textual widget's cursor keys)."""
    for cls in type(node).__mro__:
        if binding in cls.__dict__.get("BINDINGS", ()):
            return cls.__module__.startswith("roster_tui") and bool(binding.description)
    return False


def wording(binding: Binding) -> str:
    return (binding.tooltip or binding.description).rstrip("…")


def key_lines(screen: Any) -> list[KeyLine]:
    """What works on `screen` now: the footer's keys first, in the footer's order and with its
    key names, then the keys the footer leaves out (esc, home, ...)."""
    app = screen.app
    lines: dict[str, KeyLine] = {}
    for node, binding, enabled, _tooltip in screen.active_bindings.values():
        if not enabled or not ours(node, binding) or action_name(binding.action) in GLOBAL_ACTIONS:
            continue
        shown = app.get_key_display(binding)
        line = lines.get(binding.action)
        if line is None:
            lines[binding.action] = KeyLine(shown, wording(binding), binding.action, binding.show)
        elif binding.show and not line.in_footer:  # the footer's key goes first
            line.keys, line.description, line.in_footer = (
                f"{shown} / {line.keys}",
                wording(binding),
                True,
            )
        else:
            line.keys += f" / {shown}"
    footer_keys = {k for line in lines.values() if line.in_footer for k in line.keys.split()}
    return [
        line
        for line in sorted(lines.values(), key=lambda line: not line.in_footer)
        # '[' (previous tab) is half of the footer's '[ ]': said there already
        if line.in_footer or not set(line.keys.split(" / ")) <= footer_keys
    ]


def class_key_lines(screen_class: type[DOMNode], app: Any) -> list[KeyLine]:
    """The keys a screen declares (for a screen not on display: nothing says yet what is
    enabled), grouped by action, but for those the caller's roles do not allow."""
    lines: dict[str, KeyLine] = {}
    operations: dict[str, str | tuple[str, ...]] = getattr(screen_class, "OPERATIONS", {})
    for binding in screen_class.BINDINGS:
        if not isinstance(binding, Binding) or not binding.description:
            continue
        name = action_name(binding.action)
        if name in GLOBAL_ACTIONS or binding.action == "back":
            continue
        if not app.gw.permits(*operations_of(operations, name)):
            continue
        shown = app.get_key_display(binding)
        line = lines.get(binding.action)
        if line is None:
            lines[binding.action] = KeyLine(shown, wording(binding), binding.action, binding.show)
        else:
            line.keys += f" / {shown}"
    return list(lines.values())


def global_keys(app: Any) -> list[tuple[str, str]]:
    """The app's own keys, named as the footer names keys."""

    def shown(key: str) -> str:
        return app.get_key_display(Binding(key, ""))

    from roster_tui.widgets.chrome import NAV

    return [
        ("1 … 6", "switch screen: " + ", ".join(label for _, label in NAV.values())),
        ("?", "this help"),
        (shown("ctrl+r"), "load the screen's data again"),
        (shown("ctrl+p"), "command palette: every screen's actions and the recent runs by name"),
        ("tab / shift+tab", "move between the parts of a screen"),
        (f"q / {shown('ctrl+q')}", "quit"),
    ]
