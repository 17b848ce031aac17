"""Progress reporting for long work: a bar on a terminal, silence when piped, a callback elsewhere."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO


class Progress:
    """Does nothing; the base for reporters. The pipeline calls these at step boundaries."""

    def start(self, label: str, total: int | None = None) -> None:
        pass

    def advance(self, n: int = 1) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def finish(self) -> None:
        pass


class CallbackProgress(Progress):
    """Forwards steps to a function, e.g. a Textual worker updating a ProgressBar."""

    def __init__(self, callback: Callable[[str, int, int | None], None]) -> None:
        self.callback = callback
        self.label = ""
        self.done = 0
        self.total: int | None = None

    def start(self, label: str, total: int | None = None) -> None:
        self.label, self.done, self.total = label, 0, total
        self.callback(label, 0, total)

    def advance(self, n: int = 1) -> None:
        self.done += n
        self.callback(self.label, self.done, self.total)

    def note(self, text: str) -> None:
        self.callback(f"{self.label}: {text}", self.done, self.total)


class TerminalProgress(Progress):
    """A one-line bar on stderr, only when stderr is a terminal."""

    WIDTH = 24

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty()
        self.label = ""
        self.done = 0
        self.total: int | None = None
        self.started = 0.0
        self.detail = ""

    def start(self, label: str, total: int | None = None) -> None:
        self.label, self.done, self.total, self.detail = label, 0, total, ""
        self.started = time.monotonic()
        self._draw()

    def advance(self, n: int = 1) -> None:
        self.done += n
        self._draw()

    def note(self, text: str) -> None:
        self.detail = text
        self._draw()

    def finish(self) -> None:
        if self.enabled and self.label:
            elapsed = time.monotonic() - self.started
            self.stream.write(f"\r\x1b[2K{self.label} ... done in {elapsed:.1f}s\n")
            self.stream.flush()
        self.label = ""

    def _draw(self) -> None:
        if not self.enabled:
            return
        if self.total:
            filled = int(self.WIDTH * min(self.done, self.total) / self.total)
            bar = "[" + "#" * filled + "." * (self.WIDTH - filled) + f"] {self.done}/{self.total}"
        else:
            bar = "..."
        line = f"{self.label} {bar} {self.detail}"[:78]
        self.stream.write(f"\r\x1b[2K{line}")
        self.stream.flush()
