"""Spreadsheets kept by hand, one event kind per file, in our documented column format.

Columns (by name, any order, ``-`` or ``_`` or spaces alike): ``at`` (a date or date and time),
``platform``, ``participant`` (default ``--participant``), ``contact`` (a contact key),
``source_key`` (optional: your own row id), ``period`` (``START..END``, ``2026-11``, ``2026-Q3``, ``2026``) or ``period_start`` and
``period_end``, and the kind's fields as in ``study log KIND --help``. Empty cells mean "not
given". Without a ``source_key`` column, a row's key is a hash of its kind and cells, so the same
row imported twice (from this file or a later copy of it) is added once. docs/import.md has an
example per kind.
"""

from __future__ import annotations

import hashlib

from study.errors import StudyError
from study.importers.base import ImportContext, SourceFile
from study.importers.textfile import ImportFileError, norm_name, read_table
from study.vocabulary import KINDS

META_COLUMNS = ("at", "platform", "participant", "source_key", "period")


def columns_of(kind: str) -> list[str]:
    spec = KINDS[kind]
    return [*META_COLUMNS, *(f.name for f in spec.fields)]


def _canon(name: str) -> str:
    return norm_name(name).replace("-", "_").replace(" ", "_")


def run(ctx: ImportContext, path: str) -> None:
    from pathlib import Path

    kind = ctx.options.get("kind")
    if kind not in KINDS:
        raise StudyError(f"kind: {kind!r} is not an event kind (one of: {', '.join(KINDS)})")
    p = Path(path)
    if not p.is_file():
        raise StudyError(f"{path}: no such file")
    sf = SourceFile(p.name, p.read_bytes())
    ctx.register(sf)
    allowed = columns_of(kind)
    # the header is the first line whose cells are all known columns
    table = read_table(sf.data, sf.name, required=[], optional=allowed)
    header = [_canon(h) for h in table.header]
    for i, h in enumerate(header):
        if h and h not in allowed:
            raise ImportFileError(
                sf.name,
                f"{table.header[i]!r} is not a column of {kind} (columns: {', '.join(allowed)})",
                table.header_line,
                f"{i + 1} ({table.header[i]})",
            )
    if "at" not in header and not (
        kind == "metric" and ("period" in header or "period_end" in header)
    ):
        raise ImportFileError(sf.name, "the column 'at' is missing", table.header_line)
    spec = KINDS[kind]
    source = f"csv:{kind}"
    for row in ctx.rows(table, sf.name):
        with ctx.guard(row):
            cells = {_canon(k): v.strip() for k, v in row.cells.items()}
            given = {k: v for k, v in cells.items() if v != ""}
            fields = {f.name: given[f.name] for f in spec.fields if f.name in given}
            if "period" in given:
                fields["period"] = given["period"]
            if "at" not in given and not (
                kind == "metric"
                and "name" in given
                and ("period" in given or "period_end" in given)
            ):
                raise row.error(_orig(table.header, "at"), "missing date (a date like 2026-11-21)")
            participant = given.get("participant", ctx.participant)
            key = (
                given.get("source_key")
                or "row:"
                + hashlib.sha256(
                    repr((kind, sorted((k, v) for k, v in given.items()))).encode()
                ).hexdigest()[:24]
            )
            columns = {c: _orig(table.header, c) for c in header if c}
            columns.update(
                {
                    "period_start": columns.get("period_start") or columns.get("period", "period"),
                    "period_end": columns.get("period_end") or columns.get("period", "period"),
                }
            )
            saved = ctx.participant
            ctx.participant = participant
            try:
                ctx.log(
                    row,
                    kind,
                    file=sf.name,
                    source=source,
                    source_key=key,
                    at=given.get("at"),
                    columns=columns,
                    platform=given.get("platform"),
                    **fields,
                )
            finally:
                ctx.participant = saved


def _orig(header: list[str], canon: str) -> str:
    return next((h for h in header if _canon(h) == canon), canon)
