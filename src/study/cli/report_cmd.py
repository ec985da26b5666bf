"""``study report``: the periodic PDF report (Papermill runs the notebooks, Typst renders)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from study.cli.base import add_command

EXAMPLES = """\
  study report                                  # the last complete month
  study report --period 2026-Q3 --lang en
  study report --period 2026-01-01..2026-03-31 --format html
  study report --every month --since 2026-01    # every missing month up to the last complete one
  study report --every quarter --since 2026-01 --force   # redo them all
  study report --demo-if-empty                  # make report: the demo study if the log is empty"""


def register(sub: Any) -> None:
    p = add_command(
        sub,
        "report",
        help="build the study's report for a period: "
        "reports/<period>/study-report-<participant>-<period>-<lang>.pdf",
        examples=EXAMPLES,
    )
    p.add_argument(
        "--period",
        default="",
        help="2026-Q3, 2026-11, 2026 or 2026-01-01..2026-03-31 (default: the last complete month)",
    )
    p.add_argument("--participant", default="me", help="whose report (default: me)")
    p.add_argument("--lang", default="de", choices=("de", "en"), help="language (default: de)")
    p.add_argument(
        "--names",
        action="store_true",
        help="show contacts' names (default: pseudonymous keys); the report then holds personal data",
    )
    p.add_argument(
        "--window",
        type=int,
        default=365,
        metavar="DAYS",
        help="W: days without an interaction after which a tie has gone quiet (default: 365)",
    )
    p.add_argument(
        "--format",
        action="append",
        choices=("pdf", "html"),
        dest="formats",
        help="pdf (always written) and/or html (self-contained); repeatable",
    )
    p.add_argument(
        "--every",
        choices=("month", "quarter"),
        help="every month or quarter from --since to the last complete one; skips those there",
    )
    p.add_argument("--since", help="with --every: the first period, e.g. 2026-01")
    p.add_argument("--force", action="store_true", help="with --every: redo existing reports")
    p.add_argument("--out", default="reports", metavar="DIR", help="output root (default: reports)")
    p.add_argument(
        "--demo-if-empty",
        action="store_true",
        help="if the study has no events, first fill it with the demo study (`study demo`)",
    )
    p.add_argument(
        "--quiet",
        action="store_true",
        help="no progress on stderr (by default a bar on a terminal, else one line per part)",
    )
    p.set_defaults(func=run_report)


def run_report(args: argparse.Namespace) -> int:
    import datetime as dt

    from study.cli.base import fail
    from study.periods import iter_periods, last_complete_month
    from study.report.run import build_report, report_path

    db = getattr(args, "db", None)
    formats = tuple(dict.fromkeys(["pdf", *(args.formats or [])]))
    if args.every and not args.since:
        fail("--every needs --since (e.g. --since 2026-01)")
    if args.since and not args.every:
        fail("--since goes with --every month|quarter")
    if args.every and args.period:
        fail("give either --period or --every, not both")
    if not 1 <= args.window <= 36_500:
        fail(f"--window: {args.window} is not a number of days from 1 to 36500")
    if Path(args.out).exists() and not Path(args.out).is_dir():
        fail(f"--out: {args.out} is a file; give the folder the reports go into")
    if args.demo_if_empty:
        _demo_if_empty(db)
    common = dict(
        participant=args.participant,
        lang=args.lang,
        window=args.window,
        names=args.names,
        out_root=args.out,
        formats=formats,
        progress=not args.quiet,
    )
    if not args.every:
        pdf = build_report(db, period=args.period, force=True, **common)
        print(pdf)
        return 0
    today = dt.date.today()
    periods = iter_periods(args.every, args.since, last_complete_month(today).end)
    if not periods:
        print(f"no complete {args.every} since {args.since} yet")
    for p in periods:
        target = report_path(args.out, args.participant, p, args.lang)
        there = all(
            report_path(args.out, args.participant, p, args.lang, f).exists() for f in formats
        )
        if there and not args.force:
            print(f"{target} (already there)")
            continue
        print(build_report(db, period=p, force=True, **common))
    return 0


def _demo_if_empty(db: Any) -> None:
    """Fill an empty (or missing) study with the demo study by running `study demo` (the
    simulator's command) on the same database."""
    from study.api import init
    from study.cli.main import build_parser, main
    from study.errors import StudyError

    s = init(db)
    empty = s.count() == 0
    s.close()
    if not empty:
        return
    sub = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    if "demo" not in sub.choices:
        raise StudyError(
            "the study is empty and this version has no `study demo` to fill it; "
            "log events first (see `study log --help`)"
        )
    code = main(["demo", *(["--db", str(db)] if db else [])])
    if code:
        raise StudyError(f"`study demo` failed (exit {code})")
