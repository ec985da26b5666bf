"""Entry point of the ``study`` command: builds the parser from the command modules and runs one.

Each module in :data:`COMMANDS` has ``register(subparsers)``; it must import nothing heavy at
module level (pandas, statsmodels, seaborn are imported inside the handlers).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence

from study.cli.base import Parser, db_parent

COMMANDS = (
    "study.cli.setup_cmd",
    "study.cli.contacts_cmd",
    "study.cli.log_cmd",
    "study.cli.events_cmd",
    "study.cli.import_cmd",
    "study.cli.simulate_cmd",
    "study.cli.report_cmd",
    "study.cli.backup_cmd",
    "study.cli.privacy_cmd",
)


def build_parser() -> Parser:
    parser = Parser(
        prog="study",
        description="A research toolkit for longitudinal studies of professional online networks.",
        epilog='examples:\n  study init\n  study contact add "Anna Beispiel" --platform xing --basis met_in_person\n'
        "  study log interaction --contact c-1a2b3c4d5e --channel call --direction out\n"
        "  study events --kind interaction --since 2026-01-01\n\n"
        "Run `study COMMAND --help` for a command's options and examples.",
        parents=[db_parent()],
    )
    parser.add_argument("--version", action="version", version="study 0.1.0")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    for name in COMMANDS:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    handler = getattr(args, "func", None)
    if handler is None:
        parser.print_help()
        return 2
    from sqlalchemy.exc import SQLAlchemyError

    from study.errors import StudyError

    try:
        return int(handler(args) or 0)
    except StudyError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return exc.exit_code
    except SQLAlchemyError as exc:
        from study.store import _short

        sys.stderr.write(f"error: database: {_short(exc)}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write("error: interrupted; nothing of the unfinished write was kept\n")
        return 130
    except BrokenPipeError:
        return 0


if __name__ == "__main__":
    raise SystemExit(main())
