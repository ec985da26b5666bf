"""Shared pieces of the command line: the parser class, the --db option, output helpers."""

from __future__ import annotations

import argparse
import sys
from typing import Any, NoReturn

from study.errors import StudyError


class Parser(argparse.ArgumentParser):
    """An argparse parser whose mistakes are one line, ``error: ...``, and exit 2."""

    def __init__(self, *args: Any, **kwargs: Any):
        kwargs.setdefault("formatter_class", argparse.RawDescriptionHelpFormatter)
        super().__init__(*args, **kwargs)

    def error(self, message: str) -> NoReturn:
        sys.stderr.write(f"error: {message} (see `{self.prog} --help`)\n")
        raise SystemExit(2)


def db_parent() -> argparse.ArgumentParser:
    """Options every command takes: which database."""
    parent = argparse.ArgumentParser(add_help=False)
    parent.add_argument(
        "--db",
        default=argparse.SUPPRESS,
        metavar="URL",
        help="database: a path or an SQLAlchemy URL (default: $STUDY_DB or data/study.db)",
    )
    return parent


def add_command(
    subparsers: Any, name: str, *, help: str, examples: str = "", **kwargs: Any
) -> Parser:
    """A subcommand with the --db option and an examples section in its --help."""
    epilog = ("examples:\n" + examples.rstrip()) if examples else None
    return subparsers.add_parser(
        name, help=help, description=help, epilog=epilog, parents=[db_parent()], **kwargs
    )


def required_options(parser: argparse.ArgumentParser) -> Any:
    """The group of a command's options that must be given: listed apart in its --help (and
    shown without brackets in its usage line)."""
    return parser.add_argument_group("required options")


def open_study(args: argparse.Namespace, *, create: bool = False) -> Any:
    from study.api import Study

    return Study(getattr(args, "db", None), create=create)


def fail(message: str) -> NoReturn:
    raise StudyError(message)


def print_frame(df: Any, fmt: str) -> None:
    """A DataFrame on stdout as an aligned table, CSV or JSON lines."""
    if fmt == "csv":  # as `study export` writes it: formulas escaped, CRLF rows (RFC 4180)
        from study.export import csv_text

        csv_text(df).to_csv(sys.stdout, index=False, lineterminator="\r\n")
    elif fmt == "json":
        sys.stdout.write(df.to_json(orient="records", lines=True, date_format="iso") + "\n")
    elif df.empty:
        print("(none)")
    else:
        import pandas as pd

        with pd.option_context(
            "display.max_rows", None, "display.max_columns", None, "display.width", 200
        ):
            print(df.to_string(index=False, na_rep=""))
