"""What every importer shares: the files it reads, one transaction, the summary, the errors.

An importer is a function ``run(ctx: ImportContext, path) -> None`` registered in
:data:`study.importers.IMPORTERS`. It reads files with :mod:`study.importers.textfile`, and
writes only through ``ctx`` (which wraps one :class:`study.api.Batch`): so a malformed file
stops the whole import with ``FILE line N column C: ...`` and nothing is written, unless
``skip_bad_rows`` is set, in which case the row is skipped and listed in the summary.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import sys
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from study.errors import StudyError, ValidationError
from study.importers import provenance
from study.importers.textfile import ImportFileError, Row, Table

#: Tables with at least this many rows get a progress bar (on stderr, when it is a terminal).
PROGRESS_MIN_ROWS = 2000


@dataclass
class SourceFile:
    """One file of an export: the name errors show, and its bytes."""

    name: str
    data: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()


@dataclass
class Summary:
    """What an import did, by file and kind."""

    added: Counter[tuple[str, str]] = field(default_factory=Counter)
    present: Counter[tuple[str, str]] = field(default_factory=Counter)
    skipped: Counter[tuple[str, str]] = field(default_factory=Counter)
    bad_rows: list[str] = field(default_factory=list)
    contacts_added: int = 0
    details_updated: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def total_added(self) -> int:
        return sum(self.added.values())

    @property
    def total_present(self) -> int:
        return sum(self.present.values())

    def render(self, *, dry_run: bool = False) -> str:
        lines = [
            ("dry run (nothing written): " if dry_run else "")
            + f"{self.total_added} events added, {self.total_present} already present, "
            f"{self.contacts_added} contacts added, {sum(self.skipped.values())} rows skipped"
        ]
        for note in self.notes:
            lines.append(f"  {note}")
        keys = sorted(set(self.added) | set(self.present))
        files = {f for f, _ in keys} | {f for f, _ in self.skipped}
        prefix = _common_prefix(files)
        if prefix:
            lines.append(f"  files in {prefix.rstrip(':/')}:")
        for file, kind in keys:
            lines.append(
                f"  {file[len(prefix) :]}: {kind}: {self.added[(file, kind)]} added, "
                f"{self.present[(file, kind)]} already present"
            )
        for (file, reason), n in sorted(self.skipped.items()):
            lines.append(f"  {file[len(prefix) :]}: skipped {n}: {reason}")
        if self.details_updated:
            lines.append(f"  contact details updated (company or position): {self.details_updated}")
        for bad in self.bad_rows:
            lines.append(f"  skipped row: {bad}")
        return "\n".join(lines)


def _common_prefix(names: set[str]) -> str:
    """The shared archive and folder part of file names (up to a ':' or '/')."""
    if not names:
        return ""
    import os

    common = os.path.commonprefix(sorted(names))
    cut = max(common.rfind(":"), common.rfind("/"))
    return common[: cut + 1] if cut >= 0 else ""


class _DryRun(Exception):
    """Raised inside the batch to roll a dry run back."""


class ImportContext:
    """One import: the batch it writes through, its options, its summary."""

    def __init__(
        self,
        study: Any,
        batch: Any,
        *,
        importer: str,
        participant: str,
        skip_bad_rows: bool = False,
        progress: bool = True,
        options: dict[str, Any] | None = None,
    ):
        self.study = study
        self.batch = batch
        self.conn = batch.conn
        self.importer = importer
        self.participant = participant
        self.skip_bad_rows = skip_bad_rows
        self.progress = progress
        self.options = options or {}
        self.summary = Summary()
        self.now: dt.datetime = batch.now
        self._file_ids: dict[str, int] = {}
        self._trace: list[dict[str, Any]] = []
        if not batch.ledger.has_participant(participant):
            raise StudyError(
                f"participant: unknown participant {participant!r} "
                "(add it with `study participant add`)"
            )

    # files -------------------------------------------------------------------------------
    def register(self, sf: SourceFile, export_date: dt.date | None = None) -> None:
        """Keep the file's name, hash and size (the provenance of its events)."""
        self._file_ids[sf.name] = provenance.file_id(
            self.conn,
            participant=self.participant,
            importer=self.importer,
            name=sf.name,
            sha256=sf.sha256,
            size=len(sf.data),
            export_date=export_date,
            now=self.now,
        )

    def rows(self, table: Table, label: str | None = None) -> Iterator[Row]:
        """The table's rows; a malformed row stops the import (or is skipped and listed)."""
        if table.bad_rows:
            if not self.skip_bad_rows:
                raise min(table.bad_rows, key=lambda e: e.line or 0)
            for bad in table.bad_rows:
                self.summary.bad_rows.append(str(bad))
                self.summary.skipped[(table.file, "malformed row")] += 1
        rows: Any = table.rows
        if self.progress and len(rows) >= PROGRESS_MIN_ROWS:
            from tqdm import tqdm

            rows = tqdm(rows, desc=label or table.file, file=sys.stderr, leave=False, unit="row")
        yield from rows

    @contextmanager
    def guard(self, row: Row) -> Iterator[None]:
        """Turn a row's problem into an error naming file, line and column (or skip it)."""
        try:
            yield
        except ImportFileError as exc:
            if not self.skip_bad_rows:
                raise
            self.summary.bad_rows.append(str(exc))
            self.summary.skipped[(row.file, "malformed row")] += 1

    def skip(self, file: str, reason: str) -> None:
        self.summary.skipped[(file, reason)] += 1

    # writes ------------------------------------------------------------------------------
    def log(
        self,
        row: Row | None,
        kind: str,
        *,
        file: str,
        source: str,
        source_key: str,
        at: Any,
        columns: dict[str, str] | None = None,
        force: bool = False,
        **fields: Any,
    ) -> bool:
        """Log one event; a ValidationError names the row's file, line and column."""
        source_key = short_key(source_key)
        try:
            new = self.batch.log(
                kind,
                participant=self.participant,
                at=at,
                source=source,
                source_key=source_key,
                force=force or None,
                **fields,
            )
        except ValidationError as exc:
            raise self.row_error(row, file, exc, columns) from None
        if new:
            self.summary.added[(file, kind)] += 1
            fid = self._file_ids.get(file)
            if fid is not None:
                self._trace.append(
                    {
                        "file_id": fid,
                        "line": row.line if row else None,
                        "source": source,
                        "source_key": source_key,
                    }
                )
        else:
            self.summary.present[(file, kind)] += 1
        return new

    def row_error(
        self, row: Row | None, file: str, exc: ValidationError, columns: dict[str, str] | None
    ) -> ImportFileError:
        column = (columns or {}).get(exc.field or "", None)
        if row is None:
            return ImportFileError(file, str(exc))
        if column is None:
            return ImportFileError(file, str(exc), row.line)
        return row.error(column, exc.reason)

    def add_contact(
        self,
        row: Row | None,
        file: str,
        name: str | None,
        *,
        columns: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> str:
        try:
            key = self.batch.add_contact(name, participant=self.participant, **kwargs)
        except ValidationError as exc:
            raise self.row_error(row, file, exc, columns) from None
        self.summary.contacts_added += 1
        return key

    def finish(self) -> None:
        if self._trace:
            from sqlalchemy import insert

            self.batch.flush()
            self.conn.execute(insert(provenance.import_rows), self._trace)
            self._trace = []


def short_key(key: str) -> str:
    """A source key within the store's 200 characters (long ones end in a hash)."""
    if len(key) <= 200:
        return key
    return key[:150] + "#" + hashlib.sha256(key.encode()).hexdigest()[:32]


def digest(*parts: Any, n: int = 12) -> str:
    return hashlib.sha256("\x1f".join(str(p) for p in parts).encode()).hexdigest()[:n]


def run_import(
    study: Any,
    importer: str,
    body: Callable[[ImportContext], None],
    *,
    participant: str,
    dry_run: bool = False,
    skip_bad_rows: bool = False,
    progress: bool = True,
    options: dict[str, Any] | None = None,
) -> Summary:
    """Run ``body`` in one transaction; roll back on any error, or at the end of a dry run."""
    ctx: ImportContext | None = None
    try:
        with study.batch() as b:
            provenance.ensure_tables(b.conn)
            ctx = ImportContext(
                study,
                b,
                importer=importer,
                participant=participant,
                skip_bad_rows=skip_bad_rows,
                progress=progress,
                options=options,
            )
            body(ctx)
            ctx.finish()
            if dry_run:
                raise _DryRun
    except _DryRun:
        pass
    assert ctx is not None
    return ctx.summary
