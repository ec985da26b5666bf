"""``study import linkedin|xing|csv PATH``: platform exports and hand-kept spreadsheets.

The annotate round trip (``study contacts annotate``) is handled here too (:func:`run_annotate`);
the ``contacts`` command dispatches to it. Heavy work happens in :mod:`study.importers`,
imported inside the handlers.
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
from typing import Any

from study.cli.base import add_command, open_study, required_options
from study.errors import StudyError
from study.vocabulary import DEFAULT_PARTICIPANT, KINDS


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2026-11-21") from None


def _common(p: Any) -> None:
    p.add_argument("--participant", default=DEFAULT_PARTICIPANT, help="whose export it is")
    p.add_argument(
        "--dry-run", action="store_true", help="show what would be imported; write nothing"
    )
    p.add_argument(
        "--skip-bad-rows",
        action="store_true",
        help="import the rest of a malformed file and list each skipped row",
    )
    p.add_argument(
        "--no-progress", action="store_true", help="no progress bar on stderr (large archives)"
    )


def register(sub: Any) -> None:
    p = add_command(
        sub,
        "import",
        help="import a platform export or a spreadsheet (one transaction per import)",
        examples="  study import linkedin ~/Downloads/Complete_LinkedInDataExport_11-21-2026.zip\n"
        "  study import xing ~/xing-vcards/ --export-date 2026-11-21\n"
        "  study import csv views.csv --kind metric --dry-run\n"
        "See docs/import.md for the formats and what each import derives.",
    )
    isub = p.add_subparsers(dest="source", metavar="SOURCE", required=True)

    li = add_command(
        isub,
        "linkedin",
        help="LinkedIn's data archive: the zip or its unpacked folder",
        examples="  study import linkedin Complete_LinkedInDataExport_11-21-2026.zip\n"
        "  study import linkedin export-folder/ --export-date 2026-11-21 --dry-run",
    )
    li.add_argument("path", help="the archive (.zip) or its unpacked folder")
    li.add_argument(
        "--export-date",
        type=_date,
        metavar="DATE",
        help="the day the archive was exported (default: from the zip's name, else the "
        "newest date inside)",
    )
    li.add_argument(
        "--inmail-as-leads",
        action="store_true",
        help="also log each incoming message with a subject (an InMail) as a recruiter job lead",
    )
    _common(li)
    li.set_defaults(func=run_import)

    xi = add_command(
        isub,
        "xing",
        help="a folder of XING vCards, or one .vcf holding several",
        examples="  study import xing xing-2026-11/ --export-date 2026-11-21",
    )
    xi.add_argument("path", help="a folder of .vcf files, or one .vcf")
    xi.add_argument(
        "--export-date",
        type=_date,
        metavar="DATE",
        help="the day the vCards were downloaded (default: today); new contacts are first "
        "seen then (estimated)",
    )
    _common(xi)
    xi.set_defaults(func=run_import)

    ci = add_command(
        isub,
        "csv",
        help="a spreadsheet in our column format, one event kind per file (docs/import.md)",
        examples="  study import csv profile-views.csv --kind metric\n"
        "  study import csv leads.csv --kind job_lead --skip-bad-rows",
    )
    ci.add_argument("path", help="a .csv file (any of , ; tab; UTF-8 or Windows-1252)")
    required_options(ci).add_argument(
        "--kind",
        required=True,
        choices=tuple(KINDS),
        metavar="KIND",
        help="the event kind every row of the file holds (see `study log --help`)",
    )
    _common(ci)
    ci.set_defaults(func=run_import)


def run_import(args: argparse.Namespace) -> int:
    from study.importers import import_path

    s = open_study(args)
    options: dict[str, Any] = {}
    if getattr(args, "export_date", None):
        if args.export_date > dt.date.today():
            raise StudyError(f"export-date: {args.export_date} lies in the future")
        options["export_date"] = args.export_date
    if getattr(args, "inmail_as_leads", False):
        options["inmail_as_leads"] = True
    if args.source == "csv":
        options["kind"] = args.kind
    summary = import_path(
        s,
        args.source,
        args.path,
        participant=args.participant,
        dry_run=args.dry_run,
        skip_bad_rows=args.skip_bad_rows,
        progress=not args.no_progress and sys.stderr.isatty(),
        **options,
    )
    print(summary.render(dry_run=args.dry_run))
    return 0


def run_annotate(args: argparse.Namespace) -> int:
    from study.importers.annotate import apply, export_unclassified

    if bool(args.out) == bool(args.in_file):
        raise StudyError("contacts annotate: give either --out FILE or --in FILE")
    s = open_study(args)
    if args.out:
        n = export_unclassified(s, args.out, participant=args.participant, platform=args.platform)
        print(
            f"wrote {n} unclassified contacts to {args.out}; fill in basis (and introducer), "
            f"then: study contacts annotate --in {args.out}"
        )
        return 0
    counts = apply(s, args.in_file, dry_run=getattr(args, "dry_run", False))
    print(
        ("dry run (nothing written): " if getattr(args, "dry_run", False) else "")
        + f"basis set for {counts['set']} contacts; {counts['left unknown']} left unknown"
    )
    return 0
