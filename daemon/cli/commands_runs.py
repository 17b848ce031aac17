"""Commands about sync runs: run, runs, show, apply, reject, results, conflicts, settings."""

from __future__ import annotations

import argparse
import os
import sys

from daemon.cli import render
from daemon.cli.arguments import (
    conflict_numbers,
    count,
    drop_path,
    new_folder,
    run_number,
    school_sis_id,
)
from daemon.cli.client import engine
from daemon.cli.errors import CliError
from daemon.models import Run
from daemon.service.interface import EngineClient
from daemon.words import counted

RUN_HELP = "the run's number (see: roster-sync runs)"
JSON_HELP = "print JSON (for scripts) instead of text"


# Where a command that changes a run, cut off by Ctrl-C, says to look: its change is done whole
# or not at all (one transaction, or the daemon's), but it may have been done before the cut
# (while the run was read back or printed).
RUN_SHOWN = "roster-sync show {run}"
NEW_RUN = "roster-sync runs"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help="load a drop (folder or .zip) and plan a sync run")
    p.add_argument("source", type=drop_path, help="folder or .zip of OneRoster or Clever CSV files")
    p.add_argument("--apply", action="store_true", help="also apply the plan unless it is held")
    p.add_argument(
        "--force", action="store_true", help="run it on a blackout day all the same (audited)"
    )
    p.add_argument(
        "--school",
        action="append",
        type=school_sis_id,
        metavar="SIS_ID",
        help="a school-level upload: plan only within this school (repeatable); other schools' "
        "records are not archived for being absent",
    )
    p.add_argument("--json", action="store_true", help="print the run as JSON")
    p.set_defaults(handler=cmd_run, creates_database=True)

    p = sub.add_parser("runs", help="list runs, newest first")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.add_argument(
        "--limit", type=count, default=200, metavar="N", help="at most N runs (default 200)"
    )
    p.set_defaults(handler=cmd_runs)

    p = sub.add_parser("show", help="show one run")
    p.add_argument("run", type=run_number, help=RUN_HELP)
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_show)

    p = sub.add_parser("apply", help="apply a planned run (all or nothing)")
    p.add_argument("run", type=run_number, help=RUN_HELP)
    p.add_argument("--override", action="store_true", help="apply a held run after review")
    p.add_argument(
        "--reason", metavar="TEXT", help="why (recorded in the audit log; needed with --override)"
    )
    p.add_argument(
        "--no-duplicate-scan",
        action="store_true",
        help="apply now; look for duplicate students later (roster-sync duplicates scan)",
    )
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_apply, interrupted_check=RUN_SHOWN)

    p = sub.add_parser(
        "withheld",
        help="list the archives a run withheld, or decide them: --approve or --drop, with a reason",
    )
    p.add_argument("run", type=run_number, help=RUN_HELP)
    decision = p.add_mutually_exclusive_group()
    decision.add_argument(
        "--approve",
        action="store_true",
        help="archive them now (each is checked again: one re-created or changed since is kept)",
    )
    decision.add_argument(
        "--drop", action="store_true", help="archive none of them; the records stay as they are"
    )
    p.add_argument("--reason", metavar="TEXT", help="why (recorded in the audit log; needed)")
    p.add_argument(
        "--limit", type=count, default=50, metavar="N", help="list at most N (default 50)"
    )
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_withheld, interrupted_check=RUN_SHOWN)

    p = sub.add_parser(
        "revert",
        help="plan a run that undoes an applied run (reviewed and applied like any other)",
    )
    p.add_argument("run", type=run_number, help=RUN_HELP)
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_revert, interrupted_check=NEW_RUN)

    p = sub.add_parser(
        "replan",
        help="plan a superseded, failed or rejected run again from the same drop (not once a "
        "later drop's run was applied: its drop is an older night)",
    )
    p.add_argument("run", type=run_number, help=RUN_HELP)
    p.add_argument(
        "--force", action="store_true", help="plan it on a blackout day all the same (audited)"
    )
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_replan, interrupted_check=NEW_RUN)

    p = sub.add_parser("check", help="verify the directory's invariants (ids, links, merges)")
    p.set_defaults(handler=cmd_check)

    p = sub.add_parser("reject", help="reject a planned or held run")
    p.add_argument("run", type=run_number, help=RUN_HELP)
    p.add_argument("--reason", metavar="TEXT", help="why (recorded in the audit log)")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_reject, interrupted_check=RUN_SHOWN)

    p = sub.add_parser(
        "results",
        help="per-row results of a run as CSV (file, line, sourcedId, status, column, message)",
    )
    p.add_argument("run", type=run_number, help=RUN_HELP)
    p.add_argument(
        "-o", "--output", metavar="FILE", help="write to FILE instead of standard output"
    )
    p.set_defaults(handler=cmd_results)

    p = sub.add_parser(
        "export",
        help="write the active, sync-managed directory as a OneRoster drop (CSV and manifest)",
    )
    p.add_argument("folder", type=new_folder, help="a new or empty folder to write the drop into")
    p.add_argument(
        "--version",
        choices=("1.1", "1.2"),
        help="OneRoster version to write (default: the version of the last applied drop)",
    )
    p.set_defaults(handler=cmd_export)

    p = sub.add_parser("conflicts", help="list conflicts, or resolve one")
    p.add_argument("run", nargs="?", help="a run's number (default: every run), or 'resolve'")
    p.add_argument(
        "rest",
        nargs="*",
        metavar="ID take|keep|ignore",
        help="for resolve: ID[,ID...] and a decision",
    )
    p.add_argument("--open", action="store_true", help="only undecided conflicts")
    p.add_argument("--json", action="store_true", help=JSON_HELP)
    p.set_defaults(handler=cmd_conflicts)

    p = sub.add_parser("settings", help="show or change the sync settings")
    settings_sub = p.add_subparsers(dest="settings_command", metavar="show|set")
    settings_sub.required = True
    show = settings_sub.add_parser("show", help="every setting with its value and meaning")
    show.add_argument("--json", action="store_true", help=JSON_HELP)
    show.set_defaults(handler=cmd_settings_show)
    change = settings_sub.add_parser("set", help="change one setting (validated, audited)")
    change.add_argument("key", help="the setting (see: roster-sync settings show)")
    change.add_argument("value", help="its new value")
    change.set_defaults(handler=cmd_settings_set, creates_database=True)


def emit_run(args: argparse.Namespace, run) -> int:  # type: ignore[no-untyped-def]
    if getattr(args, "json", False):
        render.print_json(run)
    else:
        print(render.run_summary(run))
    return 1 if run.status == "failed" else 0


# `run --apply` and `pull --apply` when the run is held: planned, not applied. A script (cron)
# must not take it for done; the run waits for a person's review.
HELD_NOT_APPLIED = 3


def apply_if_asked(args: argparse.Namespace, e: EngineClient, run: Run) -> int:
    """After planning: apply when --apply asks and nothing holds the run; print it; the exit
    status says whether what was asked happened."""
    if args.apply and run.status == "planned":
        run = e.apply_run(run.run_id)
    code = emit_run(args, run)
    if run.status == "failed":
        print(f"roster-sync: run {run.run_id} failed: {run.error}", file=sys.stderr)
    elif args.apply and run.status == "held":
        print(
            f"roster-sync: run {run.run_id} is held and was not applied "
            f"({'; '.join(run.hold_reasons)}): review it, then "
            f"{render.hint_command()} apply {run.run_id} --override --reason TEXT",
            file=sys.stderr,
        )
        return HELD_NOT_APPLIED
    return code


def cmd_run(args: argparse.Namespace) -> int:
    with engine(args) as e:
        run = e.plan_source(os.path.abspath(args.source), None, args.force, args.school)
        return apply_if_asked(args, e, run)


def cmd_runs(args: argparse.Namespace) -> int:
    with engine(args) as e:
        runs = e.list_runs(args.limit)
        if args.json:
            render.print_json([r.model_dump(mode="json") for r in runs])
        else:
            print(render.runs_table(runs))
    return 0


def cmd_show(args: argparse.Namespace) -> int:
    with engine(args) as e:
        run = e.get_run(args.run)
        emit_run(args, run)
    return 0


def cmd_apply(args: argparse.Namespace) -> int:
    with engine(args) as e:
        run = e.apply_run(
            args.run,
            override=args.override,
            reason=args.reason,
            scan_duplicates=not args.no_duplicate_scan,
        )
        return emit_run(args, run)


def cmd_withheld(args: argparse.Namespace) -> int:
    with engine(args) as e:
        if args.approve or args.drop:
            run = e.decide_withheld(args.run, "approve" if args.approve else "drop", args.reason)
        else:
            if args.reason:
                raise CliError("--reason goes with --approve or --drop", 2)
            run = e.get_run(args.run)
        page = e.withheld_page(args.run, 0, args.limit)
    if args.json:
        render.print_json(
            {
                "run": run.model_dump(mode="json"),
                "total": page.total,
                "items": [w.model_dump(mode="json") for w in page.items],
            }
        )
    else:
        print(render.withheld_listing(run, page))
    return 0


def cmd_revert(args: argparse.Namespace) -> int:
    with engine(args) as e:
        return emit_run(args, e.revert_run(args.run))


def cmd_replan(args: argparse.Namespace) -> int:
    with engine(args) as e:
        return emit_run(args, e.replan_run(args.run, args.force))


def cmd_check(args: argparse.Namespace) -> int:
    with engine(args) as e:
        results = e.check()
    bad = [(name, n) for name, n in results if n]
    for name, n in results:
        print(f"{'ok ' if not n else 'BAD'}  {name}" + (f": {counted(n, 'row')}" if n else ""))
    if bad:
        raise CliError(f"{counted(len(bad), 'check')} failed", 1)
    return 0


def cmd_reject(args: argparse.Namespace) -> int:
    with engine(args) as e:
        return emit_run(args, e.reject_run(args.run, reason=args.reason))


def cmd_results(args: argparse.Namespace) -> int:
    with engine(args) as e:
        run = e.get_run(args.run)  # a run that does not exist is named before any file is made
        if run.status == "failed" and not e.results_page(args.run, None, 0, 1).total:
            # a run that failed before its rows got results: say why, and write no file
            raise CliError(
                render.one_line(f"run {run.run_id} failed, so it has no row results: {run.error}")
            )
        out = _output_file(args.output) if args.output else sys.stdout
        try:
            if hasattr(e, "db"):
                from daemon.sync.queries import write_results_csv

                n = write_results_csv(e.db, args.run, out)
            else:
                n = _results_over_socket(e, args.run, out)
        finally:
            if out is not sys.stdout:
                out.close()
    if args.output:
        print(f"{counted(n, 'row result')} written to {args.output}", file=sys.stderr)
    return 0


def _output_file(path: str):  # type: ignore[no-untyped-def]
    try:
        return open(path, "w", encoding="utf-8", newline="")
    except OSError as exc:
        raise CliError(
            f"cannot write {path}: {exc.strerror or exc}; name a file in a folder you may write"
        ) from None


def _results_over_socket(client, run_id: int, out) -> int:  # type: ignore[no-untyped-def]
    import csv

    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["file", "line", "sourcedId", "status", "column", "message"])
    offset = 0
    while True:
        page = client.results_page(run_id, None, offset, 500)
        for r in page.items:
            writer.writerow([r.file_name, r.line, r.sourced_id, r.status, r.column_name, r.message])
        offset += len(page.items)
        if not page.items or offset >= page.total:
            return offset


def cmd_conflicts(args: argparse.Namespace) -> int:
    if args.run == "resolve":
        ids, decision = _resolve_arguments(args.rest)
        with engine(args) as e:
            n = e.resolve_conflicts(ids, decision)
        print(f"{counted(n, 'conflict')} decided: {decision}")
        return 0
    if args.rest:
        raise CliError(
            f"conflicts takes one run number, not '{' '.join(args.rest)}'; to decide a conflict: "
            "roster-sync conflicts resolve ID take|keep|ignore",
            2,
        )
    run_id = _parse(run_number, args.run) if args.run is not None else None
    with engine(args) as e:
        page = e.conflicts(run_id, open_only=args.open)
    if args.json:
        render.print_json([c.model_dump(mode="json") for c in page.items])
    else:
        print(render.conflicts_table(page.items))
        if page.total > len(page.items):
            print(f"... {page.total - len(page.items)} more (use --json with a run id)")
    return 0


def _resolve_arguments(rest: list[str]) -> tuple[list[int], str]:
    if len(rest) != 2 or rest[1] not in ("take", "keep", "ignore"):
        raise CliError("usage: roster-sync conflicts resolve ID[,ID...] take|keep|ignore", 2)
    return _parse(conflict_numbers, rest[0]), rest[1]


def _parse(kind, text: str):  # type: ignore[no-untyped-def]
    try:
        return kind(text)
    except argparse.ArgumentTypeError as exc:
        raise CliError(str(exc), 2) from None


def cmd_settings_show(args: argparse.Namespace) -> int:
    with engine(args) as e:
        rows = e.settings_show()
    if args.json:
        render.print_json({r.key: r.value for r in rows})
        return 0
    width = max(len(r.key) for r in rows)
    for r in rows:
        print(f"{r.key:<{width}}  {r.value}")
        print(f"{'':<{width}}    {r.meaning} [{r.allowed}]")
    return 0


def cmd_settings_set(args: argparse.Namespace) -> int:
    with engine(args) as e:
        rows = e.settings_set(args.key, args.value)
    value = next(r.value for r in rows if r.key == args.key)
    print(f"{args.key} = {value}")
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    with engine(args) as e:
        summary = e.export(os.path.abspath(args.folder), args.version)
    for name, n in summary.files.items():
        print(f"{name:24} {counted(n, 'row', spec='>9,')}")
    print(f"Written to {args.folder} as OneRoster {summary.oneroster_version} (with manifest.csv).")
    for note in summary.notes:
        print(note)
    if summary.hand_made_not_exported:
        n = summary.hand_made_not_exported
        print(
            f"{counted(n, 'hand-made record')} {'is' if n == 1 else 'are'} not exported "
            f"({'it has' if n == 1 else 'they have'} no SIS id)."
        )
    return 0
