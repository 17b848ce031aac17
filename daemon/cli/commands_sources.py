"""Commands about API sources ([sources.NAME] in the daemon's config): sources, sources test, pull."""

from __future__ import annotations

import argparse

from daemon.cli import render
from daemon.cli.client import daemon_config, engine
from daemon.cli.commands_runs import JSON_HELP, apply_if_asked
from daemon.cli.errors import CliError
from daemon.service.source_pulls import source_named
from daemon.words import counted


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "sources", help="the API sources of the daemon's config (ClassLink, Clever...), last pulls"
    )
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_sources_list, creates_database=True)
    s = p.add_subparsers(dest="sources_command", metavar="list|test")
    listing = s.add_parser("list", help="every configured source with its last pull")
    listing.add_argument("--json", action="store_true", help=JSON_HELP)
    listing.set_defaults(handler=cmd_sources_list, creates_database=True)
    t = s.add_parser(
        "test", help="reach a source's API, authenticate and count its records; changes nothing"
    )
    t.add_argument("name", help="the source's name ([sources.NAME] in the config)")
    t.add_argument("--json", action="store_true", help=JSON_HELP)
    t.set_defaults(handler=cmd_sources_test, creates_database=True)

    p = sub.add_parser("pull", help="pull an API source (ClassLink, Clever...) and plan a sync run")
    p.add_argument("name", help="the source's name ([sources.NAME] in the config)")
    p.add_argument("--apply", action="store_true", help="also apply the plan unless it is held")
    p.add_argument("--json", action="store_true", help="print the run as JSON")
    p.set_defaults(handler=cmd_pull, creates_database=True)


def _needs_config(args: argparse.Namespace) -> None:
    """Sources live in the daemon's config; without one there is nothing to list or pull (and
    no database is made for a mistyped --db or source name)."""
    config = daemon_config(args)
    if config is None:
        raise CliError(
            "API sources are configured in the daemon's config ([sources.NAME]); name it with "
            "--config FILE or $ROSTER_SYNC_CONFIG (see docs/sources.md)",
            2,
        )
    if getattr(args, "name", None) is not None:
        source_named(config.sources, args.name)


def cmd_sources_list(args: argparse.Namespace) -> int:
    _needs_config(args)
    with engine(args) as e:
        sources = e.list_sources()
    if args.json:
        render.print_json([s.model_dump(mode="json") for s in sources])
    else:
        print(render.sources_table(sources))
    return 0


def cmd_sources_test(args: argparse.Namespace) -> int:
    _needs_config(args)
    with engine(args) as e:
        check = e.test_source(args.name)
    if args.json:
        render.print_json(check)
        return 0
    print(
        f"{check.label} ({check.name}): reached and authenticated ({counted(check.requests, 'request')})"
    )
    for resource, n in check.counts.items():
        print(f"  {resource:18} {'not offered' if n is None else f'{n:>9,}'}")
    print("Nothing was changed.")
    return 0


def cmd_pull(args: argparse.Namespace) -> int:
    _needs_config(args)
    with engine(args) as e:
        run = e.pull_source(args.name)
        return apply_if_asked(args, e, run)
