"""Commands about the service: daemon, status, sftp."""

from __future__ import annotations

import argparse


def register(sub: argparse._SubParsersAction) -> None:
    """Filled in with the daemon."""
