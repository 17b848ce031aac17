"""Setting a drop aside (`roster-sync drops set-aside DROP --reason TEXT`): a person's decision
that a drop the daemon holds is not planned.

Why a command: a drop can wait for a long time on purpose (a folder the SFTP mirror cannot
list, a manifest listing a file that never comes, an upload that never ends), and every SFTP
drop queued after it waits behind it. The ways out were on the filesystem (fix the server,
move the folder there, delete the queued copy, which records it as failed). Data is lost only by
an explicit, reasoned, audited decision of a person: this one is recorded as `skipped`, with
the person and their reason, audited as `drop.skipped`; a queued copy goes to the archive as
skipped drops do, and the drops queued after it go on. A drop set aside is never planned later
unless its files change (then it is a new upload, decided afresh): the decision keeps what the
drop is known by (its content, its data alone, or its bytes when it cannot be opened: migration
28), written before any of its files move, and the loop plans no drop known so however its files
come back (dropped again, zipped, a copy a crash left in the queue, the same files uploaded again
to the server, with a manifest come late). `roster-sync run PATH` on the archived copy plans it
by hand, and that later decision lifts the set-aside for that content.

Which drop: the id or the name `roster-sync drops` shows. This module finds it and says, in one
line, why a drop decided already cannot be set aside and what to do instead; the daemon loop
(`main_loop.py`) and, without a daemon, the engine (`engine.py`) act on it.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from daemon.errors import RosterSyncError
from daemon.models import WaitingDrop
from daemon.service.drop_history import INBOX, SFTP, DropHistory, DropRow

USAGE = "roster-sync drops set-aside DROP --reason TEXT"
ANSWER_SECONDS = 10.0  # how long a call over the socket waits for the loop to do it


class DropNotSetAside(RosterSyncError):
    """The drop named cannot be set aside (unknown, decided already, no reason given)."""

    title = "Drop not set aside"


@dataclass
class SetAsideRequest:
    """A person's request, handed from a socket thread to the daemon loop, which does it
    between two of its steps (never while it plans or moves a drop) and answers."""

    drop: str
    reason: str
    actor: str
    done: threading.Event = field(default_factory=threading.Event)
    answer: str | None = None
    refused: str | None = None


def checked_reason(reason: str | None) -> str:
    """The reason as kept (one line); an empty one is refused."""
    text = " ".join((reason or "").split())
    if not text:
        raise DropNotSetAside(
            f"a reason is required to set a drop aside: {USAGE} (it is kept, audited and shown)"
        )
    return text


def recorded_reason(actor: str, reason: str) -> str:
    """What the drop's decision says: who set it aside, and why."""
    return f"set aside by {actor}: {reason}"


def label(row: DropRow) -> str:
    """How a decided drop is named to a person: its queue folder while it has one."""
    if row.queued_as:
        return Path(row.queued_as).name
    return row.name if row.source == INBOX else f"{row.source}/{row.name}"


def find(drop: str, waiting: Sequence[WaitingDrop], history: DropHistory) -> WaitingDrop | DropRow:
    """The drop `drop` names: a waiting one by the name or id shown, else a decision of the
    history by its id, its name (`2026-09-15`, `sftp/2026-09-15`) or its queue folder's name
    (the latest decision of that name). Unknown or ambiguous: refused, saying where to look."""
    wanted = drop.strip()
    shown = [w for w in waiting if wanted in (w.name, str(w.drop_id))]
    if len(shown) == 1:
        return shown[0]
    if wanted.isascii() and wanted.isdigit():  # '²' is a digit to Python, not an id
        row = history.find(int(wanted))
        if row is not None:
            return row
    rows = [
        row
        for source in (INBOX, SFTP)
        for row in history.latest_by_name(source).values()
        if wanted in (row.name, f"{row.source}/{row.name}", label(row))
    ]
    if len(rows) == 1 and not shown:
        return rows[0]
    if shown or rows:
        each = [w.name for w in shown] + [f"drop {r.drop_id} ({r.source} {r.name})" for r in rows]
        raise DropNotSetAside(
            f"'{wanted}' names more than one drop ({', '.join(each)}); give its id "
            "(roster-sync drops shows them)"
        )
    raise DropNotSetAside(
        f"no drop '{wanted}' among those the daemon holds or decided; roster-sync drops lists "
        "them, with their ids"
    )


def refuse_decided(row: DropRow, run_status: str | None) -> None:
    """Raise, saying why and what to do instead, unless the drop is queued (not decided yet)."""
    if row.status == "queued":
        return
    what = f"drop {row.drop_id} ({label(row)})"
    run = row.run_id
    if row.status == "planning":
        why = "is being planned now; once it is, reject its run instead (roster-sync reject RUN)"
    elif row.status == "planned" and run_status == "applied":
        why = (
            f"was planned as run {run}, which was applied: it is in the directory; to undo it, "
            f"revert that run (roster-sync revert {run})"
        )
    elif row.status == "planned" and run_status in ("planned", "held", "loading"):
        why = (
            f"was planned as run {run}, which waits for review: reject that run instead "
            f"(roster-sync reject {run} --reason TEXT)"
        )
    elif row.status == "planned":
        why = f"was planned as run {run} ({run_status}); nothing of it waits to be set aside"
    elif row.status == "skipped" and row.set_aside_by:
        why = f"was set aside already ({row.reason})"
    elif row.status == "skipped":
        why = f"was skipped already: {row.reason}"
    elif row.status == "failed":
        why = f"failed ({row.reason}); nothing is planned from it, so there is nothing to set aside"
    elif row.status == "superseded":
        why = (
            f"was superseded ({row.reason}); it is never planned, so there is nothing to set aside"
        )
    else:  # seen at the first mirror
        why = f"is {row.status} ({row.reason}); it is not planned, so there is nothing to set aside"
    raise DropNotSetAside(f"{what} {why}")
