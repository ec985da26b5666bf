"""Rows into the events table: multi-row statements on SQLite, ``executemany`` elsewhere.

The last step of ``Batch.log_frame``: the rows that passed every check, as the driver takes
them (ISO text times on SQLite, the format SQLAlchemy's ``DateTime`` writes there, so the API
reads them back; aware datetimes on PostgreSQL; attributes serialized once per distinct
combination). ``ON CONFLICT DO NOTHING`` keeps rows another writer committed meanwhile out, and
the driver's count of added rows is what the summary reports.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from study import store
from study.vocabulary import (
    KINDS,
)
from study.write.cells import ParsedCells, from_us, member_of, not_none
from study.write.rules import READDING_KINDS

#: Rows per ``executemany`` call (bounds the memory of the Python tuples).
INSERT_CHUNK = 100_000
#: Parameters per multi-row INSERT statement on SQLite, at most (the library's limit may be
#: lower: 999 before 3.32). Few large statements: each is one release and one re-acquisition
#: of Python's global lock, which matters when a second thread inserts (study.write.groups).
SQLITE_PARAMETERS = 30_000
#: The events table's columns but the generated id, in table order.
#: (A correction, ``supersedes``, goes through ``log`` only: frames never carry one.)
_INSERT_COLUMNS = tuple(c.name for c in store.events.columns if c.name not in ("id", "supersedes"))
#: attribute name -> codes of the kinds that have it as a field
_KINDS_WITH = {
    name: [i for i, spec in enumerate(KINDS.values()) if name in {f.name for f in spec.fields}]
    for name in {f.name for spec in KINDS.values() for f in spec.fields}
}


class InsertRows:
    """The inserting step of :class:`study.write.events.BulkLog` (after the checks)."""

    out: ParsedCells
    n: int

    # insert --------------------------------------------------------------------------------
    def attributes_json(self, rows: np.ndarray) -> np.ndarray:
        """The attributes of ``rows`` as JSON text, serialized once per distinct combination.

        Each row's combination is one integer (a mixed-radix number of the columns' value
        codes, 0 for absent), compressed only when it would overflow; an attribute is looked
        at only in the rows of the kinds that have it.
        """
        names, cols = [], []
        whole = len(rows) == self.n
        kind = self.kind_codes if whole else self.kind_codes[rows]
        combined = np.zeros(len(rows), dtype=np.int64)
        span = 1
        for name, col in self.out.attrs.items():
            sub = np.flatnonzero(np.isin(kind, _KINDS_WITH.get(name, range(len(KINDS)))))
            if not len(sub):
                continue
            vals = col[sub] if whole else col[rows[sub]]
            has = not_none(vals)
            if not has.any():
                continue
            codes = pd.factorize(vals[has])[0]
            width = int(codes.max()) + 2
            if span * width >= 1 << 62:
                combined = pd.factorize(combined)[0].astype(np.int64)
                span = int(combined.max()) + 1
            combined *= width
            combined[sub[has]] += codes + 1
            span *= width
            names.append(name)
            cols.append(col if whole else col[rows])
        if not names:
            return np.full(len(rows), "{}", dtype=object)
        _, first, inverse = np.unique(combined, return_index=True, return_inverse=True)
        texts = []
        for i in first:
            attrs = {}
            for name, vals in zip(names, cols, strict=True):
                v = vals[i]
                if v is None:
                    continue
                attrs[name] = v.item() if isinstance(v, np.generic) else v
            texts.append(json.dumps(attrs))
        return np.array(texts, dtype=object)[inverse.reshape(-1)]

    def insert_columns(self) -> tuple[np.ndarray, list[np.ndarray]]:
        """The rows to insert (those not in the log already) and their values, one array per
        column of ``_INSERT_COLUMNS``, as the driver takes them."""
        rows = np.flatnonzero(~self.dup)
        if not len(rows):
            return rows, []
        out = self.out
        at = self.at[rows]
        now = self.now
        sqlite = self.conn.dialect.name == "sqlite"
        if sqlite:
            times = np.datetime_as_string(at.astype("datetime64[us]"), unit="us")
            chars = times.view(np.uint32).reshape(len(times), -1)
            chars[:, 10] = ord(" ")
            occurred = times.astype(object)
            recorded: Any = (
                now.astimezone(dt.UTC).replace(tzinfo=None).strftime("%Y-%m-%d %H:%M:%S.%f")
            )
        else:
            occurred = np.array([from_us(t) for t in at], dtype=object)
            recorded = now
        value = out.value[rows].astype(object)
        value[np.isnan(out.value[rows])] = None
        columns = [
            self.participant[rows],
            self.platform[rows],
            occurred,
            _constant(recorded, len(rows), sqlite),
            self.kind[rows],
            out.contact[rows],
            value,
            self.attributes_json(rows),
            _constant(self.source, len(rows), sqlite),
            self.source_key[rows],
        ]
        return rows, columns

    def count(self, rows: np.ndarray, added: int) -> None:
        """Add this frame's outcome to the batch's summary, and tell the batch's ledger."""
        self.batch.summary.added += added
        self.batch.summary.already_present += self.n - added
        if len(rows):
            self._teach_ledger(rows)

    def insert(self) -> int:
        rows, columns = self.insert_columns()
        if not len(rows):
            self.count(rows, 0)
            return 0
        if self.conn.dialect.name == "sqlite":
            cursor = self.conn.connection.cursor()
            try:
                added = insert_sqlite(cursor, columns)
            finally:
                cursor.close()
        else:
            added = self._insert_many(columns)
        self.count(rows, added)
        return added

    def _insert_many(self, columns: list[np.ndarray]) -> int:
        """The driver's ``executemany``, a tuple per row (PostgreSQL: psycopg pipelines it;
        its row count is the rows the server took, so rows another import committed meanwhile
        and ``ON CONFLICT DO NOTHING`` skipped are not counted as added)."""
        marks = ", ".join(["%s"] * 7 + ["%s::json"] + ["%s"] * 2)
        sql = (
            f"INSERT INTO events ({', '.join(_INSERT_COLUMNS)}) VALUES ({marks}) "
            "ON CONFLICT (source, source_key) DO NOTHING"
        )
        added = 0
        for i in range(0, len(columns[0]), INSERT_CHUNK):
            chunk = list(zip(*(c[i : i + INSERT_CHUNK].tolist() for c in columns), strict=True))
            result = self.conn.exec_driver_sql(sql, chunk)
            count = result.rowcount
            added += count if count is not None and count >= 0 else len(chunk)
        return added

    def _teach_ledger(self, rows: np.ndarray) -> None:
        """Drop what the batch's ledger cached about state these rows change: it reloads it
        from the database (inside this transaction) when a later ``log`` needs it."""
        ledger = self.batch.ledger
        ledger._source_keys.pop(self.source, None)
        kind = self.kind[rows]
        for pid in set(pd.unique(self.participant[rows][kind == "metric"])):
            ledger._metrics.pop(pid, None)
        member = member_of(kind, ["contact_removed", *READDING_KINDS])
        for key in set(pd.unique(self.out.contact[rows][member])) & set(ledger._membership):
            del ledger._membership[key]
        leads = kind == "job_lead"
        if leads.any() and ledger._leads:
            idents = set(
                zip(self.participant[rows][leads], self.out.attr("lead")[rows][leads], strict=True)
            )
            for ident in idents & set(ledger._leads):
                del ledger._leads[ident]


@dataclass(frozen=True)
class _Constant:
    """A column with one value in every row (the import's time and source), written into a
    multi-row statement's text once rather than bound to each of its rows."""

    text: str

    def literal(self) -> str:
        return "'" + self.text.replace("'", "''") + "'"


def _constant(value: Any, n: int, sqlite: bool) -> np.ndarray | _Constant:
    """``value`` for ``n`` rows: a ``_Constant`` for SQLite's statements where it can be one
    (text without NUL, which would end the statement's text), else a column."""
    if sqlite and isinstance(value, str) and "\x00" not in value:
        return _Constant(value)
    return np.full(n, value, dtype=object)


def insert_sqlite(
    cursor: Any, columns: list[np.ndarray], statement_gate: Any = contextlib.nullcontext
) -> int:
    """Multi-row ``INSERT ... VALUES (...), (...), ...`` statements on SQLite, through
    ``cursor`` (a DBAPI cursor of the batch's connection); the rows SQLite added.

    ``executemany`` binds and steps one row at a time, with Python work per row; a
    statement of a few hundred rows takes a flat list of parameters (built by NumPy for a
    whole chunk) and SQLite loops over its rows in C; ``_Constant`` columns are in the
    statement's text, not bound. SQLite counts the rows each
    statement added (``ON CONFLICT DO NOTHING`` skips concurrent duplicates).
    ``statement_gate``: a context manager around each statement (see study.write.groups).
    """
    import sqlite3

    one = "(" + ", ".join(c.literal() if isinstance(c, _Constant) else "?" for c in columns) + ")"
    columns = [c for c in columns if not isinstance(c, _Constant)]
    width = len(columns)
    limit = cursor.connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    per = min(SQLITE_PARAMETERS, limit) // width

    def statement(count: int) -> str:
        return (
            f"INSERT INTO events ({', '.join(_INSERT_COLUMNS)}) VALUES "
            + ", ".join([one] * count)
            + " ON CONFLICT (source, source_key) DO NOTHING"
        )

    full = statement(per)
    added = 0
    n = len(columns[0])
    for i in range(0, n, INSERT_CHUNK):
        table = np.empty((min(INSERT_CHUNK, n - i), width), dtype=object)
        for j, col in enumerate(columns):
            table[:, j] = col[i : i + INSERT_CHUNK]
        flat = table.ravel().tolist()  # row after row, one Python list per chunk
        rows = len(table)
        for a in range(0, rows, per):
            count = min(per, rows - a)
            with statement_gate():
                cursor.execute(
                    full if count == per else statement(count),
                    flat[a * width : (a + count) * width],
                )
                added += cursor.rowcount
    return added
