"""The daemon's log: one line per event on stderr, with journald's priority under systemd.

Operations are logged by name, who asked and which fields, never the values (no PII)."""

from __future__ import annotations

import logging
import os
import sys

from daemon.formats.controls import printable

LOG = logging.getLogger("roster_sync.daemon")
_PRIORITY = {"DEBUG": 7, "INFO": 6, "WARNING": 4, "ERROR": 3, "CRITICAL": 2}


class _JournalFormatter(logging.Formatter):
    """One line per event; under systemd a `<N>` prefix gives journald the priority."""

    def __init__(self) -> None:
        self.journal = bool(os.environ.get("JOURNAL_STREAM"))
        prefix = "" if self.journal else "roster-sync"
        super().__init__(f"{prefix}[%(levelname)s] %(name)s: %(message)s")

    def formatMessage(self, record: logging.LogRecord) -> str:
        """The message on one line, control characters shown: a drop's name comes from whoever
        writes the inbox, and a line break or an escape sequence in it would forge a log line
        ("day2: run 5 applied") or reach the terminal that tails the log."""
        record.message = printable(record.message, one_line=True)
        return super().formatMessage(record)

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not self.journal:
            return text
        # journald reads stderr line by line: keep a traceback in the event's one line
        return f"<{_PRIORITY.get(record.levelname, 6)}>" + text.replace("\n", " | ")


class _StderrHandler(logging.StreamHandler):
    """stderr as it was when the daemon started. When that stream is closed since (a test's
    capture ended, an embedding program closed it), a line is dropped quietly: nobody could read
    it, and logging's own complaint would land in whatever stderr the process has now."""

    def __init__(self) -> None:
        super().__init__(sys.stderr)

    def handleError(self, record: logging.LogRecord) -> None:
        if getattr(self.stream, "closed", False):
            return
        super().handleError(record)


def configure_logging(level: str) -> logging.Handler:
    """Log to stderr (journald keeps it; it adds the time itself). Returns the handler, which
    the daemon removes when it stops: a process that ran it (a test, an embedding program) must
    not go on writing its log to a stream that may be closed since."""
    logger = logging.getLogger("roster_sync")
    for handler in list(logger.handlers):
        if getattr(handler, "roster_sync_daemon", False):
            logger.removeHandler(handler)
    handler = _StderrHandler()
    handler.roster_sync_daemon = True  # type: ignore[attr-defined]
    handler.setFormatter(_JournalFormatter())
    logger.addHandler(handler)
    try:
        logger.setLevel(level.upper())
    except ValueError:
        logger.setLevel(logging.INFO)
        LOG.warning("log_level %r is not a level (DEBUG, INFO, WARNING, ERROR); using INFO", level)
    return handler
