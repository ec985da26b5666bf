"""Importers for what the platforms export: one module per source behind one interface.

Each importer is ``run(ctx, path)``: it reads its files (:mod:`study.importers.textfile`
sniffs encodings, delimiters and the header line) and writes through the
:class:`~study.importers.base.ImportContext`, one transaction per import.
:func:`import_path` runs one by name. docs/import.md describes formats and decisions.
"""

from __future__ import annotations

from collections.abc import Callable
from importlib import import_module
from typing import Any

#: name -> module holding ``run(ctx, path)`` (imported when used).
IMPORTERS: dict[str, str] = {
    "linkedin": "study.importers.linkedin",
    "xing": "study.importers.xing",
    "csv": "study.importers.csvkind",
}


def importer(name: str) -> Callable[..., None]:
    from study.errors import StudyError

    if name not in IMPORTERS:
        raise StudyError(f"importer: {name!r} is not known (one of: {', '.join(IMPORTERS)})")
    return import_module(IMPORTERS[name]).run


def import_path(
    study: Any,
    name: str,
    path: str,
    *,
    participant: str = "me",
    dry_run: bool = False,
    skip_bad_rows: bool = False,
    progress: bool = False,
    **options: Any,
) -> Any:
    """Import ``path`` with the importer ``name``; return its :class:`~.base.Summary`."""
    from study.importers.base import run_import

    run = importer(name)
    return run_import(
        study,
        name,
        lambda ctx: run(ctx, str(path)),
        participant=participant,
        dry_run=dry_run,
        skip_bad_rows=skip_bad_rows,
        progress=progress,
        options=options,
    )
