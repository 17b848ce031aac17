"""Duplicate people: finding candidates (scan), deciding (merge / reject / skip), undoing merges.

See docs/duplicates.md. The engine's duplicates operations (daemon/service/engine.py) call
these modules; `scan_after_apply` runs after each applied sync run.
"""

from daemon.duplicates.errors import DuplicateError
from daemon.duplicates.scan import scan, scan_after_apply

__all__ = ["DuplicateError", "scan", "scan_after_apply"]
