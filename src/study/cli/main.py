"""Entry point of the ``study`` command: builds the parser from the command modules and runs one.

Each module in :data:`COMMANDS` has ``register(subparsers)``; it must import nothing heavy at
module level (pandas, statsmodels, seaborn are imported inside the handlers).
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any

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


class _Skipped:
    """Stands in for the parser of a command that is not being run: takes any call."""

    def __getattr__(self, name: str) -> Any:
        return self._any

    def _any(self, *args: Any, **kwargs: Any) -> _Skipped:
        return self


class _OnlyCommand:
    """The subparsers, registering only the command being run: building the parsers of all
    commands (argparse, its gettext lookups) costs more than running ``study log`` itself."""

    def __init__(self, sub: Any, name: str):
        self._sub, self._name, self.found = sub, name, False

    def add_parser(self, name: str, **kwargs: Any) -> Any:
        if name != self._name:
            return _Skipped()
        self.found = True
        return self._sub.add_parser(name, **kwargs)

    def __getattr__(self, name: str) -> Any:
        return getattr(self._sub, name)


def _command_name(argv: Sequence[str]) -> str | None:
    """The command in ``argv`` (the first word that is not an option or the --db value)."""
    skip = False
    for word in argv:
        if skip:
            skip = False
        elif word == "--db":
            skip = True
        elif not word.startswith("-"):
            return word
    return None


def build_parser(command: str | None = None) -> Parser:
    """The parser of every command, or of only ``command`` if given (and known)."""
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
    only = _OnlyCommand(sub, command) if command else None
    for name in COMMANDS:
        importlib.import_module(name).register(only or sub)
    if only is not None and not only.found:  # not a command: the full parser says so
        return build_parser()
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    words = sys.argv[1:] if argv is None else list(argv)
    parser = build_parser(_command_name(words))
    args = parser.parse_args(words)
    handler = getattr(args, "func", None)
    if handler is None:
        parser.print_help()
        return 2
    from sqlalchemy.exc import SQLAlchemyError

    from study.errors import StudyError

    try:
        check_arguments(args)
        return int(handler(args) or 0)
    except StudyError as exc:
        return _fail(str(exc), exc.exit_code)
    except SQLAlchemyError as exc:
        from study.store import _short

        return _fail(f"database: {_short(exc)}")
    except KeyboardInterrupt:
        return _fail("interrupted; nothing of the unfinished write was kept", 130)
    except BrokenPipeError:
        return 0
    except OSError as exc:  # the system refused a file: its name and the reason, no traceback
        from study.files import write_error

        where = exc.filename if exc.filename is not None else "a file"
        return _fail(str(write_error(where, exc, "use")))
    except MemoryError:
        return _fail("not enough memory for this command; nothing of it was written")


def _fail(message: str, code: int = 2) -> int:
    """The one line a failed command prints: no traceback, no line breaks of the message."""
    text = " ".join(message.split()) if "\n" in message or "\r" in message else message
    sys.stderr.write(f"error: {text}\n")
    return code


def check_arguments(args: Any) -> None:
    """Refuse an argument that is not text: bytes that were not UTF-8 (a Latin-1 terminal
    passes them as lone surrogates) and NUL characters (only a caller of :func:`main` can pass
    them) would fail deep inside a driver or a file name."""
    from study.vocabulary import check_text

    for name, value in vars(args).items():
        for text in value if isinstance(value, list) else [value]:
            if isinstance(text, str):
                check_text(text, name.replace("_", "-"))


if __name__ == "__main__":
    raise SystemExit(main())
