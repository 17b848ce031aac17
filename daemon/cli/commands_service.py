"""Commands about the service: the daemon itself, its status, and pinning the SFTP host key."""

from __future__ import annotations

import argparse
import sys

from daemon.cli.client import daemon_config, engine
from daemon.cli.errors import CliError
from daemon.cli.render import print_json
from daemon.db.database import DatabaseUnusable
from daemon.models import Status
from daemon.service.engine import Engine
from daemon.words import counted


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "daemon", help="run the watch daemon (SFTP mirror, inbox, schedule, local API)"
    )
    p.set_defaults(handler=cmd_daemon)

    p = sub.add_parser("status", help="the directory, the last run, and the daemon's next sync")
    p.add_argument("--json", action="store_true", help="print JSON (for scripts) instead of text")
    p.set_defaults(handler=cmd_status)

    p = sub.add_parser(
        "whoami", help="who you are to Roster Sync: your roles, and what they do not allow"
    )
    p.add_argument("--json", action="store_true", help="print JSON (for scripts) instead of text")
    p.set_defaults(handler=cmd_whoami)

    p = sub.add_parser("sync-now", help="ask the daemon to mirror and sync every complete drop now")
    p.set_defaults(handler=cmd_sync_now)

    p = sub.add_parser(
        "drops", help="the drops the daemon holds (and why they wait) and its latest decisions"
    )
    p.add_argument("--json", action="store_true", help="print JSON (for scripts) instead of text")
    p.set_defaults(handler=cmd_drops)
    s = p.add_subparsers(dest="drops_command", metavar="set-aside")
    t = s.add_parser(
        "set-aside",
        help="set aside a drop the daemon holds: recorded as skipped, with your reason (audited); "
        "never planned unless its files change",
    )
    t.add_argument("drop", metavar="DROP", help="its id or name, as roster-sync drops shows it")
    t.add_argument("--reason", help="why (required: kept, audited and shown)")
    t.set_defaults(handler=cmd_set_aside)

    p = sub.add_parser("notify", help="notifications (email, webhooks) of the daemon's [notify]")
    s = p.add_subparsers(dest="notify_command", metavar="test")
    s.required = True
    t = s.add_parser("test", help="send a test message to every channel now; one line per channel")
    t.add_argument("--json", action="store_true", help="print JSON (for scripts) instead of text")
    t.set_defaults(handler=cmd_notify_test)

    p = sub.add_parser("sftp", help="SFTP tools")
    s = p.add_subparsers(dest="sftp_command", metavar="trust")
    s.required = True
    t = s.add_parser(
        "trust", help="show the SFTP server's host key fingerprint and pin it after you confirm"
    )
    t.add_argument(
        "--fingerprint", help="pin without asking when the server's key has this SHA256 fingerprint"
    )
    t.set_defaults(handler=cmd_sftp_trust)


def cmd_daemon(args: argparse.Namespace) -> int:
    config = daemon_config(args)
    if config is None:
        raise CliError("the daemon needs a config file: roster-sync daemon --config FILE", 2)
    from daemon.service.main_loop import run_daemon

    return run_daemon(config)


def cmd_status(args: argparse.Namespace) -> int:
    with engine(args) as e:
        status = e.status()
    if args.json:
        print(status.model_dump_json(indent=2))
        return 0
    print(
        f"Database: {status.database} (schema {status.schema_version}, directory version {status.directory_version})"
    )
    active = status.active
    print(
        f"Active: {counted(active.get('school', 0), 'school')}, "
        f"{counted(active.get('classroom', 0), 'classroom')}, "
        f"{counted(active.get('student', 0), 'student')}, "
        f"{counted(active.get('staff', 0), 'staff', 'staff')}, "
        f"{counted(active.get('guardian', 0), 'guardian')}"
    )
    if status.last_run:
        r = status.last_run
        print(f"Last run: {r.run_id} {r.status} at {r.created_at:%Y-%m-%d %H:%M} from {r.source}")
    print(
        f"Awaiting review: {counted(status.open_runs, 'run')}, "
        f"{counted(status.open_conflicts, 'conflict')}, "
        f"{counted(status.open_duplicates, 'duplicate candidate')}"
    )
    print_notifications(status)
    d = status.daemon
    if status.blackout:
        print(
            f"Blackout: {status.blackout}: the daemon syncs nothing (schedule, inbox, SFTP); "
            "a manual run needs --force"
        )
    if d.drops_seen_at_first_mirror:
        n = d.drops_seen_at_first_mirror
        print(
            f"First mirror: {counted(n, 'older drop')} on the server recorded as seen, "
            "not planned (only the newest drop there is)"
        )
    for drop in d.drops:  # newest first
        if drop.status != "seen" or drop.change_note:
            print(f"Drop: {drop.describe()}")
    if not d.running:
        print("Daemon: not running (this command opened the database itself)")
        return 0
    print(
        f"Daemon: running (pid {d.pid}) since {d.started_at:%Y-%m-%d %H:%M}"
        if d.started_at
        else "Daemon: running"
    )
    if d.daily_sync_enabled:
        print(
            f"Next scheduled sync: {d.next_sync:%Y-%m-%d %H:%M}"
            if d.next_sync
            else "Next scheduled sync: -"
        )
    else:
        print("Daily sync: off (nothing is synced on its own)")
    print(f"Sync on arrival: {'on' if d.sync_on_arrival else 'off'}; inbox: {d.inbox}")
    if d.sftp:
        when = f"{d.last_mirror:%Y-%m-%d %H:%M}" if d.last_mirror else "never"
        print(f"SFTP: {d.sftp}; last mirror {when}: {d.last_mirror_result or '-'}")
    print(
        f"Notification channels: {', '.join(d.notify_channels) or 'none (no [notify] in the config)'}"
    )
    if d.busy:
        print(f"Working on: {d.busy}")
    for pending in d.pending_drops:
        print(f"Inbox: {pending}")
    return 0


def cmd_whoami(args: argparse.Namespace) -> int:
    with engine(args) as e:
        access = e.access()
    if args.json:
        print(access.model_dump_json(indent=2))
        return 0
    if access.in_process:
        print(
            f"{access.user}: the database opened directly (no daemon answered), so its file's "
            "permissions decide: every operation (sync-now asks a running daemon)"
        )
        return 0
    roles = ", ".join(access.roles) or "no role"
    print(f"{access.user}: {roles}, through the daemon (its [roles] config gives the roles)")
    from daemon.service.api import METHODS
    from daemon.service.operations import ROLE_ORDER

    refused: dict[str, list[str]] = {}
    for method, role in METHODS.items():
        if method not in access.operations:
            refused.setdefault(role, []).append(method.replace("_", " "))
    if not refused:
        print("Allowed: every operation")
        return 0
    print(f"Allowed: {len(access.operations)} of {len(METHODS)} operations, every read among them")
    for role, methods in sorted(refused.items(), key=lambda item: ROLE_ORDER[item[0]]):
        print(f"Needs the role {role}: {', '.join(methods)}")
    return 0


def cmd_drops(args: argparse.Namespace) -> int:
    with engine(args) as e:
        drops = e.drops()
    if args.json:
        print(drops.model_dump_json(indent=2))
        return 0
    if drops.waiting:
        print(f"Waiting: {counted(len(drops.waiting), 'drop')}")
        for w in drops.waiting:
            print(f"  {w.drop_id if w.drop_id is not None else '-':>4}  {w.name}: {w.why}")
        print(
            "Set one aside (not planned; audited): roster-sync drops set-aside DROP --reason TEXT"
        )
    elif drops.daemon_running:
        print("Waiting: none")
    else:
        print(
            "Waiting: none queued (the daemon is not running: what its inbox or SFTP server "
            "holds is known once it runs)"
        )
    if drops.recent:
        print("Decided recently (newest first):")
        for drop in drops.recent:
            print(f"  {drop.drop_id:>4}  {drop.describe()}")
    return 0


def cmd_set_aside(args: argparse.Namespace) -> int:
    with engine(args) as e:
        print(e.set_aside_drop(args.drop, args.reason))
    return 0


def cmd_sync_now(args: argparse.Namespace) -> int:
    with engine(args) as e:
        print(e.sync_now())
    return 0


NOTIFY_TEST_NEEDS_CONFIG = (
    "notify test reads the [notify] section of the daemon's config file: "
    "roster-sync notify test --config FILE"
)


def cmd_notify_test(args: argparse.Namespace) -> int:
    """Through the daemon, its own [notify] sends; embedded, the config file's (--config)."""
    config = daemon_config(args)
    try:
        with engine(args) as e:
            if isinstance(e, Engine):  # embedded: the config file's [notify]
                if config is None:
                    raise CliError(NOTIFY_TEST_NEEDS_CONFIG, 2)
                e.notify_config = config.notify
            results = e.notify_test()
    except DatabaseUnusable:
        if config is None:  # no daemon and no database: the config is what is missing
            raise CliError(NOTIFY_TEST_NEEDS_CONFIG, 2) from None
        raise
    if args.json:
        print_json(results)
    else:
        for r in results:
            state = "sent" if r.ok else "FAILED"
            print(f"{r.channel} ({r.target}): {state}: {r.detail}")
    return 0 if all(r.ok for r in results) else 1


def print_notifications(status: Status) -> None:
    """The outbox, when there is one: counts, and each channel's last error (no secrets)."""
    n = status.notifications
    if not n.channels:
        return
    dropped = f", {n.dropped} dropped" if n.dropped else ""
    print(f"Notifications: {n.pending} pending, {n.failed} failed, {n.sent} sent{dropped}")
    for c in n.channels:
        if c.last_error:
            print(
                f"  {c.channel}: last error at {c.last_error_at:%Y-%m-%d %H:%M} UTC: {c.last_error}"
            )


def cmd_sftp_trust(args: argparse.Namespace) -> int:
    from daemon.service.sftp import fetch_host_key, trust_host_key

    config = daemon_config(args)
    if config is None or config.sftp is None:
        raise CliError(
            "sftp trust reads the [sftp] section of the daemon's config file: "
            "roster-sync sftp trust --config FILE",
            2,
        )
    sftp = config.sftp
    info = fetch_host_key(sftp.host, sftp.port, sftp.timeout_seconds)
    print(
        f"{sftp.host}:{sftp.port} presents a {info.key_type} key, fingerprint {info.fingerprint_sha256}"
    )
    if args.fingerprint:
        if args.fingerprint != info.fingerprint_sha256:
            raise CliError(
                f"the server's fingerprint is {info.fingerprint_sha256}, not {args.fingerprint}; not pinned"
            )
    else:
        if not sys.stdin.isatty():
            raise CliError(
                "confirm interactively, or pass --fingerprint SHA256:... to pin a known key", 2
            )
        answer = input(
            "Compare it with the fingerprint your SFTP provider gave you. Pin it? [y/N] "
        )
        if answer.strip().lower() not in ("y", "yes"):
            print("Not pinned.")
            return 1
    trust_host_key(sftp.known_hosts, sftp.host, sftp.port, info.key)
    print(f"Pinned in {sftp.known_hosts}.")
    return 0
