"""The basis round trip: unclassified contacts out to a spreadsheet, basis and introducer back.

Imports cannot know how a contact meets the acceptance rule, so ``study contacts annotate
--out FILE`` writes the contacts whose basis is ``unknown`` (key, name, platform, company,
first_seen, basis, introducer) as CSV, with cells a spreadsheet would run as formulas escaped
(a leading ``'``). The researcher fills ``basis`` (and ``introducer``, a contact key, for
basis ``introduced``); ``--in FILE`` reads it back, as saved by any spreadsheet program
(UTF-8, or ``;``-delimited Windows-1252 as a German spreadsheet program writes it), validates
every row, and sets them all in one transaction, or none.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

from study.errors import StudyError, ValidationError
from study.importers.textfile import ImportFileError, read_table
from study.vocabulary import BASES

COLUMNS = ("key", "name", "platform", "company", "first_seen", "basis", "introducer")
_FORMULA_START = ("=", "+", "-", "@")


def escape(value: Any) -> str:
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def unescape(text: str) -> str:
    t = text.strip()
    return t[1:] if t.startswith("'") and t[1:2] in _FORMULA_START else t


def export_unclassified(
    study: Any, out: str | Path, *, participant: str | None = None, platform: str | None = None
) -> int:
    """Write the contacts with basis ``unknown``; return how many. The sheet holds names: it
    is written owner-only and recorded, so ``study forget`` deletes it."""
    import pandas as pd

    from study.files import private_file, target_file
    from study.privacy import register_named_file

    target = target_file(out, "annotation sheet")
    df = study.contacts(names=True, participant=participant, basis="unknown", platform=platform)
    register_named_file(study, target, "annotate")  # before the first name is written
    with private_file(target, text=True, encoding="utf-8-sig", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for r in df.itertuples(index=False):
            seen = r.first_seen
            w.writerow(
                [
                    escape(r.key),
                    escape(r.name if not pd.isna(r.name) else ""),
                    escape(r.platform),
                    escape(r.company if not pd.isna(r.company) else ""),
                    "" if pd.isna(seen) else seen.date().isoformat(),
                    "",
                    "",
                ]
            )
    return len(df)


def apply_annotations(study: Any, path: str | Path, *, dry_run: bool = False) -> dict[str, int]:
    """Read a filled-in annotation file and set basis and introducer in one transaction."""
    p = Path(path)
    if not p.is_file():
        raise StudyError(f"{path}: no such file")
    table = read_table(p.read_bytes(), p.name, required=["key", "basis"], optional=COLUMNS)
    if table.bad_rows:
        raise min(table.bad_rows, key=lambda e: e.line or 0)
    counts = {"set": 0, "left unknown": 0}
    with study.batch() as b:
        for row in table.rows:
            key = unescape(row.get("key"))
            basis = unescape(row.get("basis")).lower()
            introducer = unescape(row.get("introducer")) or None
            if not key:
                raise row.error("key", "missing contact key")
            if not basis or basis == "unknown":
                if introducer:
                    raise row.error("basis", "an introducer without a basis (use introduced)")
                counts["left unknown"] += 1
                continue
            if basis not in BASES:
                raise row.error("basis", f"{basis!r} is not a basis (one of: {', '.join(BASES)})")
            if introducer and basis != "introduced":
                raise row.error(
                    "introducer",
                    f"an introducer is only recorded for basis introduced, not {basis}",
                )
            try:
                b.set_basis(key, basis, introducer)
            except ValidationError as exc:
                column = {"contact": "key", "basis": "basis", "introducer": "introducer"}.get(
                    exc.field or "", "key"
                )
                raise row.error(column, exc.reason) from None
            counts["set"] += 1
        if dry_run:
            raise _Rollback(counts)
    return counts


class _Rollback(Exception):
    def __init__(self, counts: dict[str, int]):
        self.counts = counts


def apply(study: Any, path: str | Path, *, dry_run: bool = False) -> dict[str, int]:
    try:
        return apply_annotations(study, path, dry_run=dry_run)
    except _Rollback as rb:
        return rb.counts


__all__ = ["export_unclassified", "apply", "ImportFileError"]
