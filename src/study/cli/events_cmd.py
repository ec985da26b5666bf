"""``study events`` and ``study export``."""

from __future__ import annotations

import argparse
from typing import Any

from study.cli.base import add_command, open_study, print_frame
from study.vocabulary import KINDS


def register(sub: Any) -> None:
    p = add_command(
        sub,
        "events",
        help="show events of the log",
        examples="  study events --kind interaction --since 2026-01-01\n"
        "  study events --contact c-1a2b3c4d5e --format csv > anna.csv",
    )
    p.add_argument(
        "--kind",
        choices=tuple(KINDS),
        metavar="KIND",
        help="only events of this kind (see `study log --help` for the kinds)",
    )
    p.add_argument("--contact", metavar="KEY", help="only events about this contact")
    p.add_argument("--participant", help="only this participant's events (default: all)")
    p.add_argument(
        "--since", metavar="WHEN", help="from this date or date and time on (study time zone)"
    )
    p.add_argument(
        "--until", metavar="WHEN", help="up to this date or date and time (study time zone)"
    )
    p.add_argument(
        "--format",
        choices=("table", "csv", "json"),
        default="table",
        help="an aligned table, CSV or JSON lines (default: table)",
    )
    p.set_defaults(func=run_events)

    e = add_command(
        sub,
        "export",
        help="write one file per table (events, contacts, participants)",
        examples="  study export --format parquet exports/\n  study export --format csv exports/\n"
        "  study export --anonymized --shift-dates --format csv share/",
    )
    e.add_argument("outdir", help="the folder to write into (created if missing)")
    e.add_argument(
        "--format",
        choices=("parquet", "csv"),
        default="parquet",
        help="Parquet (R's arrow, DuckDB, pandas) or CSV (default: parquet)",
    )
    e.add_argument("--names", action="store_true", help="include names and other personal details")
    e.add_argument(
        "--anonymized",
        action="store_true",
        help="a copy to share: pseudonyms, no names, URLs or free text (docs/privacy.md)",
    )
    e.add_argument(
        "--shift-dates",
        action="store_true",
        help="with --anonymized: move each participant's dates by a random offset",
    )
    e.set_defaults(func=run_export)


def run_events(args: argparse.Namespace) -> int:
    df = open_study(args).events(
        args.kind,
        contact=args.contact,
        participant=args.participant,
        since=args.since,
        until=args.until,
    )
    if args.format == "table":
        df = df.dropna(axis=1, how="all")
        df = df.drop(columns=[c for c in ("recorded_at", "source", "source_key") if c in df])
    print_frame(df, args.format)
    return 0


def run_export(args: argparse.Namespace) -> int:
    from study.export import export_tables

    written = export_tables(
        open_study(args),
        args.outdir,
        args.format,
        names=args.names,
        anonymized=args.anonymized,
        shift_dates=args.shift_dates,
    )
    for path in written:
        print(path)
    return 0
