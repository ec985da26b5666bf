"""Writing a study's tables to files (Parquet or CSV) for R, DuckDB and other tools."""

from __future__ import annotations

import os
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from study.errors import StudyError
from study.files import PRIVATE_DIR, PRIVATE_FILE, private_dir, private_file

if TYPE_CHECKING:
    from study.api import Study

FORMATS = ("parquet", "csv")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: An anonymized export is meant to be shared: its folder and files are readable by others.
SHARED_DIR, SHARED_FILE = 0o755, 0o644


def escape_formulas(values):  # type: ignore[no-untyped-def]
    """Prefix text cells a spreadsheet would run as a formula with an apostrophe."""
    return values.map(
        lambda v: "'" + v if isinstance(v, str) and v.startswith(_FORMULA_START) else v
    )


def export_tables(
    study: Study,
    outdir: str | os.PathLike[str],
    fmt: str,
    *,
    names: bool = False,
    anonymized: bool = False,
    shift_dates: bool = False,
) -> list[str]:
    """One file per table; contact details only when ``names`` is set.

    ``anonymized`` writes the shareable copy of :func:`study.privacy.anonymized_tables`
    (``shift_dates`` moves each participant's dates by a random offset). Other exports hold
    free text and perhaps names: they are written owner-only and recorded, so that
    ``study forget`` can delete them.
    """
    import pandas as pd

    if fmt not in FORMATS:
        raise StudyError(f"format: {fmt!r} is not allowed (one of: {', '.join(FORMATS)})")
    if anonymized and names:
        raise StudyError("names: an anonymized export cannot include names")
    if shift_dates and not anonymized:
        raise StudyError("shift-dates: only with --anonymized")
    out = Path(outdir)
    if out.exists() and not out.is_dir():
        raise StudyError(f"{outdir}: is a file; give a folder to write the tables into")
    if anonymized:
        from study.privacy import anonymized_tables

        tables = anonymized_tables(study, shift_dates=shift_dates)
    else:
        tables = {
            "events": study.events(),
            "contacts": study.contacts(names=names),
            "participants": pd.DataFrame({"id": study.participants()}),
        }
    paths = {name: out / f"{name}.{fmt}" for name in tables}
    private_dir(out, mode=SHARED_DIR if anonymized else PRIVATE_DIR)
    if not anonymized:  # recorded before the first byte, so `forget` finds even a torn export
        from study.privacy import register_named_files

        register_named_files(study, list(paths.values()), "export")
    with ExitStack() as stack:  # every table written first; renamed into place together
        for name, df in tables.items():
            fh = stack.enter_context(
                private_file(paths[name], mode=SHARED_FILE if anonymized else PRIVATE_FILE)
            )
            if fmt == "parquet":
                df.to_parquet(fh, index=False)
            else:
                csv_text(df).to_csv(fh, index=False, lineterminator="\r\n", encoding="utf-8")
    return [str(p) for p in paths.values()]


def csv_text(df):  # type: ignore[no-untyped-def]
    """A copy of ``df`` whose text cells a spreadsheet would run as formulas are escaped.

    Written with CRLF rows (RFC 4180): a bare CR inside a cell is then quoted, not read by a
    CSV reader as the end of the row."""
    df = df.copy()
    for col in df.select_dtypes(include=["object", "string"]).columns:
        df[col] = escape_formulas(df[col])
    return df
