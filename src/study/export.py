"""Writing a study's tables to files (Parquet or CSV) for R, DuckDB and other tools."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

from study.errors import StudyError

if TYPE_CHECKING:
    from study.api import Study

FORMATS = ("parquet", "csv")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


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
    out.mkdir(parents=True, exist_ok=True, mode=0o755 if anonymized else 0o700)
    if anonymized:
        from study.privacy import anonymized_tables

        tables = anonymized_tables(study, shift_dates=shift_dates)
    else:
        tables = {
            "events": study.events(),
            "contacts": study.contacts(names=names),
            "participants": pd.DataFrame({"id": study.participants()}),
        }
    written = []
    for name, df in tables.items():
        path = out / f"{name}.{fmt}"
        tmp = path.with_suffix(path.suffix + ".part")
        if fmt == "parquet":
            df.to_parquet(tmp, index=False)
        else:
            text_cols = df.select_dtypes(include=["object", "string"]).columns
            df = df.copy()
            for col in text_cols:
                df[col] = escape_formulas(df[col])
            # CRLF rows (RFC 4180): a bare CR inside a cell is then quoted, not a line break
            df.to_csv(tmp, index=False, lineterminator="\r\n")
        if not anonymized:
            os.chmod(tmp, 0o600)
        os.replace(tmp, path)
        written.append(str(path))
    if not anonymized:
        from study.privacy import register_named_file

        for path in written:
            register_named_file(study, path, "export")
    return written
