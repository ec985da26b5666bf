"""Many contacts at once: ``Batch.add_contacts(frame)``, the rules of ``add_contact`` per column.

Like :mod:`study.bulk` for events, there is one specification and two executors: the per-row
one (:meth:`study.api.Batch.add_contact`, called row by row in the frame's order) and this
per-column one. This module only decides *which* rows break a rule, column by column, as if
every earlier row had been added (an introducer or a key may be on an earlier row of the same
frame); the first such row is then replayed through ``add_contact`` itself, on a copy of the
batch's state that knows the earlier rows, which raises the very error the row-by-row call
would raise (prefixed with the frame's row label). Nothing of the frame is written then. The
randomized test in ``tests/test_bulk_contacts.py`` holds both executors to the same outcome.

What runs per row in Python, because it is rare or small: first_seen cells that are not a
tz-aware datetime column (text, naive times: :func:`~study.vocabulary.parse_datetime` cell by
cell), identities (a keyed hash per row), the participants (once per distinct value), and
whole frames whose text holds a NUL character (pandas' factorize stops reading at a NUL).

The insert sends pre-built rows with the driver's ``executemany`` inside the batch's
transaction: ISO text times on SQLite (the format SQLAlchemy's ``DateTime`` writes there, so
the API reads them back) and aware datetimes on PostgreSQL.
"""

from __future__ import annotations

import copy
import datetime as dt
import gc
import secrets
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import select

from study import store
from study.bulk import (
    _NAT,
    CHUNK_KEYS,
    INSERT_CHUNK,
    _is_na,
    _label_error,
    _plain,
    _Text,
    _time_cells,
    _us,
)
from study.errors import ValidationError
from study.rules import ContactState, Ledger
from study.vocabulary import (
    BASES,
    DEFAULT_PARTICIPANT,
    FUTURE_TOLERANCE,
    MAX_DETAIL,
    PLATFORMS,
    parse_bool,
    storable_text,
)

if TYPE_CHECKING:
    from study.api import Batch

#: The columns of a contacts frame: the keyword arguments of ``add_contact``.
KEYWORD_COLUMNS = (
    "key",
    "platform",
    "basis",
    "introducer",
    "participant",
    "first_seen",
    "first_seen_estimated",
    "identity",
)
#: Columns for the details table; ``name`` is stored as ``display_name``.
DETAIL_COLUMNS = ("name", "profile_url", "company", "position", "email")
CONTACTS_COLUMNS = KEYWORD_COLUMNS + DETAIL_COLUMNS
#: Columns of the keys: given as text (``str`` of the cell), never stripped, as ``add_contact``.
_TEXT_KEYWORDS = ("key", "introducer", "participant", "identity")
_FUTURE_US = FUTURE_TOLERANCE // dt.timedelta(microseconds=1)
_CONTACT_INSERT = tuple(c.name for c in store.contacts.columns)
_DETAIL_INSERT = tuple(c.name for c in store.contact_details.columns)


def check_columns(frame: pd.DataFrame) -> None:
    unknown = [c for c in frame.columns if c not in CONTACTS_COLUMNS]
    if unknown:
        raise ValidationError(
            f"{unknown[0]!r} is not a column of a contacts frame "
            f"(columns: {', '.join(CONTACTS_COLUMNS)})",
            "columns",
        )
    if frame.columns.duplicated().any():
        raise ValidationError("the frame has duplicate column names", "columns")


def _empty(v: Any) -> bool:
    """An empty cell: None, NaN, NaT, NA, or the empty string ("not given")."""
    return _is_na(v) or (isinstance(v, str) and v == "")


def row_arguments(frame: pd.DataFrame, pos: int) -> tuple[Any, dict[str, Any]]:
    """Row ``pos`` of ``frame`` as the arguments of ``Batch.add_contact``: name, keywords.

    The one definition of how a frame's cells map to ``add_contact``: an empty cell is "not
    given" (the keyword's default; the platform, which has none, is then missing); keys,
    introducers, participants and identities are taken as text; pandas times as datetimes.
    """
    r = {c: _plain(frame[c].iat[pos]) for c in frame.columns}
    kwargs: dict[str, Any] = {"platform": None}
    for col, v in r.items():
        if col == "name" or _empty(v):
            continue
        if col in _TEXT_KEYWORDS:
            v = str(v)
        elif col == "first_seen":
            v = _as_datetime(v)
        kwargs[col] = v
    name = r.get("name")
    return (None if name is None or _empty(name) else name), kwargs


def _as_datetime(v: Any) -> Any:
    if isinstance(v, np.datetime64):
        v = pd.Timestamp(v)
    if isinstance(v, pd.Timestamp):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # nanoseconds: the store keeps µs
            v = v.to_pydatetime()
    return v


def add_contacts_rows(batch: Batch, frame: pd.DataFrame) -> list[str]:
    """The per-row executor over a frame: ``Batch.add_contact`` row by row (the reference)."""
    check_columns(frame)
    keys = []
    for pos in range(len(frame)):
        name, kwargs = row_arguments(frame, pos)
        try:
            keys.append(batch.add_contact(name, **kwargs))
        except ValidationError as err:
            raise _label_error(err, frame.index[pos]) from None
    return keys


def _rows_atomically(batch: Batch, frame: pd.DataFrame) -> list[str]:
    """The per-row executor, but on an error nothing of the frame stays queued in the batch
    (as with the per-column one), so a caller that catches the error can go on."""
    n_contacts, n_details = len(batch._contacts), len(batch._details)
    identities, added = dict(batch._identities), batch.summary.contacts_added
    try:
        return add_contacts_rows(batch, frame)
    except ValidationError:
        for row in batch._contacts[n_contacts:]:
            batch.ledger._contacts.pop(row["key"], None)  # reloaded (unknown) when asked
            batch.ledger._membership.pop(row["key"], None)
        del batch._contacts[n_contacts:]
        del batch._details[n_details:]
        batch._identities = identities
        batch.summary.contacts_added = added
        raise


# per-column checks -------------------------------------------------------------------------
def _given(values: pd.Series) -> np.ndarray:
    """Cells that are not empty (see :func:`_empty`)."""
    given = ~pd.isna(values).to_numpy(bool)
    if values.dtype.kind in "biufcmM" or isinstance(values.dtype, pd.DatetimeTZDtype):
        return given
    cells = values.to_numpy(dtype=object)[given]  # no NA left: == compares cell by cell
    given[given] = ~np.asarray(cells == "", dtype=bool)
    return given


def _nul(values: pd.Series) -> np.ndarray:
    """Text cells holding a NUL character. pandas' factorize and unique compare text only up
    to a NUL ("a\\x00b" counts as "a"), so frames with such text go row by row."""
    if values.dtype.kind in "biufcmM" or isinstance(values.dtype, pd.DatetimeTZDtype):
        return np.zeros(len(values), bool)
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = values.to_numpy(dtype=object)
    try:
        arr = pa.array(cells, type=pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):  # not all text, or invalid
        return np.array([isinstance(v, str) and "\x00" in v for v in cells], dtype=bool)
    found = pc.fill_null(pc.match_substring(arr, "\x00"), False)
    return found.to_numpy(zero_copy_only=False).astype(bool)


def _select_in(conn: Any, columns: str, table: str, column: str, values: list[Any]) -> list[Any]:
    """Rows of ``table`` whose ``column`` is one of ``values`` (raw driver, in chunks)."""
    quote = conn.dialect.identifier_preparer.quote
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    rows: list[Any] = []
    for i in range(0, len(values), CHUNK_KEYS):
        chunk = tuple(values[i : i + CHUNK_KEYS])
        sql = (
            f"SELECT {columns} FROM {quote(table)} "
            f"WHERE {quote(column)} IN ({', '.join([mark] * len(chunk))})"
        )
        rows += conn.exec_driver_sql(sql, chunk).fetchall()
    return rows


def preload_contacts(conn: Any, ledger: Ledger, keys: list[str]) -> None:
    """``Ledger.preload_contacts`` with one raw query per 5,000 keys (unknown keys are
    remembered as unknown), so checking a frame of new contacts costs a few queries."""
    todo = [k for k in dict.fromkeys(keys) if k not in ledger._contacts]
    if not todo:
        return
    quote = conn.dialect.identifier_preparer.quote
    names = ", ".join(quote(c) for c in ("key", "participant", "platform", "basis", "introducer"))
    found = {r[0]: ContactState(*r[1:]) for r in _select_in(conn, names, "contacts", "key", todo)}
    for k in todo:
        ledger._contacts[k] = found.get(k)


class _Disagreement(Exception):
    """The per-column checks flagged a row ``add_contact`` accepts (a bug; never silent)."""


class BulkContacts:
    """One contacts frame, checked per column against the batch's state."""

    def __init__(self, batch: Batch, frame: pd.DataFrame):
        self.batch = batch
        self.frame = frame
        self.conn = batch.conn
        self.ledger = batch.ledger
        self.n = n = len(frame)
        self.bad = np.zeros(n, bool)
        self.now_us = _us(batch.now)

    def _column(self, name: str) -> tuple[pd.Series | None, np.ndarray]:
        if name not in self.frame.columns:
            return None, np.zeros(self.n, bool)
        values = self.frame[name]
        return values, _given(values)

    def _text(self, name: str, raw: bool) -> tuple[np.ndarray, np.ndarray]:
        """A column as text (``str`` of the cell; stripped unless ``raw``), and its given cells."""
        values, given = self._column(name)
        if values is None:
            return np.full(self.n, None, dtype=object), given
        text = _Text(values).values(raw=raw)
        return np.where(given, text, None), given

    def check(self) -> None:
        """Flag every row that breaks a rule, assuming the rows before it were added."""
        n, bad, ledger = self.n, self.bad, self.ledger
        # platform and basis: choices (check_choice strips the text)
        values, given = self._column("platform")
        self.platform = np.full(n, None, dtype=object)
        if values is not None:
            txt = _Text(values)
            ok = given & txt.isin(PLATFORMS)
            self.platform[ok] = txt.values()[ok]
        else:
            ok = given
        bad |= ~ok
        values, given = self._column("basis")
        self.basis = np.full(n, "unknown", dtype=object)
        if values is not None:
            txt = _Text(values)
            ok = txt.isin(BASES)
            bad |= given & ~ok
            self.basis[given & ok] = txt.values()[given & ok]
        self.introducer, has_intro = self._text("introducer", raw=True)
        bad |= (self.basis == "introduced") & ~has_intro
        # participants: known ones, once per distinct value
        participant, given = self._text("participant", raw=True)
        participant[~given] = DEFAULT_PARTICIPANT
        self.participant = participant
        distinct = list(pd.unique(participant))
        self._preload_participants(distinct)
        known = {p: ledger.has_participant(p) for p in distinct}
        bad |= ~pd.Series(participant, dtype=object).map(known).eq(True).to_numpy(bool)
        # keys: not in the log or the batch, not on an earlier row
        self.key, self.has_key = self._text("key", raw=True)
        self._preload_contacts(
            list(pd.unique(np.concatenate([self.key[self.has_key], self.introducer[has_intro]])))
        )
        keys = pd.Series(self.key, dtype=object)
        bad |= self.has_key & keys.duplicated(keep="first").to_numpy(bool)
        exists = {k: ledger.contact(k) is not None for k in pd.unique(self.key[self.has_key])}
        bad |= self.has_key & keys.map(exists).eq(True).to_numpy(bool)
        # introducers: a contact of the same participant, in the log or on an earlier row
        self._check_introducers(has_intro, keys)
        self._check_first_seen()
        self._check_estimated()
        self._check_identities()
        self._check_details()

    def _preload_contacts(self, keys: list[str]) -> None:
        preload_contacts(self.conn, self.ledger, keys)

    def _preload_participants(self, pids: list[str]) -> None:
        todo = [p for p in pids if p not in self.ledger._participants]
        if todo:
            for row in _select_in(self.conn, "id", "participants", "id", todo):
                self.ledger.note_participant(row[0])

    def _check_introducers(self, has_intro: np.ndarray, keys: pd.Series) -> None:
        rows = np.flatnonzero(has_intro)
        if not len(rows):
            return
        intro = self.introducer[rows]
        owner = {}
        for k in pd.unique(intro):
            state = self.ledger.contact(k)
            owner[k] = state.participant if state is not None else None
        known_owner = pd.Series(intro, dtype=object).map(owner).to_numpy(dtype=object)
        given_keys = keys[self.has_key]
        first = pd.Series(given_keys.index.to_numpy(), index=given_keys.to_numpy(dtype=object))
        first = first[~first.index.duplicated(keep="first")]
        pos = pd.Series(intro, dtype=object).map(first).to_numpy(dtype="float64")
        earlier = np.nan_to_num(pos, nan=np.inf) < rows
        frame_owner = np.where(
            earlier, self.participant[np.where(earlier, pos, 0).astype(np.int64)], None
        )
        in_log = known_owner != None  # noqa: E711
        ok = np.where(in_log, known_owner == self.participant[rows], earlier)
        ok &= in_log | (frame_owner == self.participant[rows])
        self.bad[rows[~ok]] = True

    def _check_first_seen(self) -> None:
        values, given = self._column("first_seen")
        self.first_seen = np.full(self.n, self.now_us, dtype=np.int64)
        if values is None:
            return
        if not isinstance(values.dtype, pd.DatetimeTZDtype):  # empty text is "not given"
            values = pd.Series(np.where(given, values.to_numpy(dtype=object), None), dtype=object)
        us, _, unreadable = _time_cells(values, self.batch.study.tz)
        self.bad |= unreadable
        ok = given & ~unreadable & (us != _NAT)
        self.first_seen[ok] = us[ok]
        self.bad |= self.first_seen > self.now_us + _FUTURE_US

    def _check_estimated(self) -> None:
        """Yes or no (``vocabulary.parse_bool``, as ``add_contact`` reads it); a cell that
        is neither makes its row bad."""
        values, given = self._column("first_seen_estimated")
        self.estimated = np.zeros(self.n, bool)
        if values is not None:
            if values.dtype == bool:
                self.estimated = values.to_numpy(bool).copy()
            else:
                raw = values.to_numpy(dtype=object)
                for i in np.flatnonzero(given):
                    try:
                        self.estimated[i] = parse_bool(raw[i], "first_seen_estimated")
                    except ValidationError:
                        self.bad[i] = True

    def _check_identities(self) -> None:
        ident, given = self._text("identity", raw=True)
        self.identity = np.full(self.n, None, dtype=object)
        rows = np.flatnonzero(given & (self.platform != None))  # noqa: E711
        if not len(rows):
            return
        study = self.batch.study
        triples = [
            (
                self.participant[i],
                self.platform[i],
                study.identity_hash(self.participant[i], self.platform[i], ident[i]),
            )
            for i in rows
        ]
        in_log = self._identities_in_log(triples)
        seen = set(self.batch._identities) | in_log
        for i, t in zip(rows, triples, strict=True):
            self.identity[i] = t[2]
            if t in seen:
                self.bad[i] = True
            seen.add(t)

    def _identities_in_log(self, triples: list[tuple[str, str, str]]) -> set[tuple[str, str, str]]:
        c = store.contacts.c
        digests = sorted({t[2] for t in triples})
        found = set()
        for i in range(0, len(digests), CHUNK_KEYS):
            rows = self.conn.execute(
                select(c.participant, c.platform, c.identity).where(
                    c.identity.in_(digests[i : i + CHUNK_KEYS])
                )
            ).all()
            found.update((r[0], r[1], r[2]) for r in rows)
        return found

    def _check_details(self) -> None:
        """Detail text as ``_detail_row`` stores it (stripped, valid text); which rows have one."""
        self.details: dict[str, np.ndarray] = {}
        self.has_details = np.zeros(self.n, bool)
        for col in DETAIL_COLUMNS:
            values, given = self._column(col)
            if values is None or not given.any():
                continue
            txt = _Text(values)
            valid = np.array(
                [storable_text(t) and len(t) <= MAX_DETAIL for t in txt.text], dtype=bool
            )
            self.bad |= given & ~txt._take(valid, True)
            self.details[col] = np.where(given, txt.values(), None)
            if col == "name" or pd.api.types.infer_dtype(values, skipna=True) == "string":
                self.has_details |= given
            else:  # add_contact writes a details row when a detail is truthy
                raw = values.to_numpy(dtype=object)
                for i in np.flatnonzero(given):
                    self.has_details[i] |= bool(raw[i])

    # the first problem, as add_contact() names it ------------------------------------------------
    def raise_first(self, pos: int) -> None:
        """Replay row ``pos`` through ``add_contact`` on a copy of the batch's state that knows
        the frame's earlier rows; it raises the row-by-row call's error."""
        from study.api import Batch, WriteSummary

        batch = self.batch
        shadow = copy.copy(batch)
        ledger = copy.copy(batch.ledger)
        ledger._participants = set(ledger._participants)
        ledger._contacts = dict(ledger._contacts)
        ledger._membership = dict(ledger._membership)
        shadow.ledger = ledger
        shadow._contacts, shadow._details, shadow._events = [], [], []
        shadow._identities = dict(batch._identities)
        shadow.summary = WriteSummary()
        for q in range(pos):  # rows before the first bad one are all good: add them
            if self.has_key[q]:
                ledger._contacts[self.key[q]] = ContactState(
                    self.participant[q], self.platform[q], self.basis[q], self.introducer[q]
                )
            if self.identity[q] is not None:
                ident = (self.participant[q], self.platform[q], self.identity[q])
                shadow._identities[ident] = self.key[q]
        name, kwargs = row_arguments(self.frame, pos)
        try:
            Batch.add_contact(shadow, name, **kwargs)
        except ValidationError as err:
            raise _label_error(err, self.frame.index[pos]) from None
        raise _Disagreement(pos)

    # insert ----------------------------------------------------------------------------------
    def generate_keys(self) -> None:
        """Keys for rows without one, as ``add_contact`` makes them (in the frame's order)."""
        rows = np.flatnonzero(~self.has_key)
        if not len(rows):
            return
        taken = set(self.key[self.has_key])
        fresh = ["c-" + secrets.token_hex(5) for _ in rows]
        self._preload_contacts(fresh)
        for i, k in zip(rows, fresh, strict=True):
            while k in taken or self.ledger.contact(k) is not None:
                k = "c-" + secrets.token_hex(5)
            taken.add(k)
            self.key[i] = k

    def insert(self) -> list[str]:
        batch, conn = self.batch, self.conn
        batch.flush()  # queued contacts (introducers) are in the database first
        self.generate_keys()
        sqlite = conn.dialect.name == "sqlite"
        if sqlite:
            times = np.datetime_as_string(self.first_seen.astype("datetime64[us]"), unit="us")
            chars = times.view(np.uint32).reshape(len(times), -1)
            chars[:, 10] = ord(" ")
            first_seen = times.astype(object)
            now: Any = batch.now.astimezone(dt.UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        else:
            first_seen = (
                pd.to_datetime(self.first_seen, unit="us", utc=True).to_pydatetime().astype(object)
            )
            now = batch.now
        columns = {
            "key": self.key,
            "participant": self.participant,
            "platform": self.platform,
            "basis": self.basis,
            "introducer": self.introducer,
            "first_seen": first_seen,
            "first_seen_estimated": self.estimated.astype(object),
            "identity": self.identity,
            "created_at": np.full(self.n, now, dtype=object),
        }
        self._executemany("contacts", _CONTACT_INSERT, columns, np.arange(self.n))
        rows = np.flatnonzero(self.has_details)
        if len(rows):
            none = np.full(self.n, None, dtype=object)
            details = {
                "key": self.key,
                "display_name": self.details.get("name", none),
                **{f: self.details.get(f, none) for f in DETAIL_COLUMNS[1:]},
                "updated_at": np.full(self.n, now, dtype=object),
            }
            self._executemany("contact_details", _DETAIL_INSERT, details, rows)
        self._teach_batch()
        return self.key.tolist()

    def _executemany(
        self, table: str, names: tuple[str, ...], columns: dict[str, np.ndarray], rows: np.ndarray
    ) -> None:
        quote = self.conn.dialect.identifier_preparer.quote
        mark = "?" if self.conn.dialect.name == "sqlite" else "%s"
        sql = (
            f"INSERT INTO {quote(table)} ({', '.join(quote(c) for c in names)}) "
            f"VALUES ({', '.join([mark] * len(names))})"
        )
        cols = [columns[c][rows] for c in names]
        for i in range(0, len(rows), INSERT_CHUNK):
            chunk = list(zip(*(c[i : i + INSERT_CHUNK].tolist() for c in cols), strict=True))
            self.conn.exec_driver_sql(sql, chunk)

    def _teach_batch(self) -> None:
        """The batch's ledger and summary know the new contacts, as after ``add_contact``."""
        batch, ledger = self.batch, self.ledger
        for k, p, pl, b, i in zip(
            self.key, self.participant, self.platform, self.basis, self.introducer, strict=True
        ):
            ledger.note_contact(k, ContactState(p, pl, b, i), new=True)
        for i in np.flatnonzero(self.identity != None):  # noqa: E711
            batch._identities[(self.participant[i], self.platform[i], self.identity[i])] = self.key[
                i
            ]
        batch.summary.contacts_added += self.n


def add_contacts(batch: Batch, frame: pd.DataFrame) -> list[str]:
    """Check ``frame`` per column, raise the first bad row's problem, insert; return the keys."""
    check_columns(frame)
    if batch.conn.dialect.name not in ("sqlite", "postgresql"):
        return _rows_atomically(batch, frame)
    if not len(frame):
        return []
    if any(_nul(frame[c]).any() for c in frame.columns if c != "first_seen"):
        return _rows_atomically(batch, frame)  # text with NUL characters: rare, row by row
    collecting = gc.isenabled()
    gc.disable()  # many short-lived tuples; nothing here makes reference cycles (see bulk.py)
    try:
        bulk = BulkContacts(batch, frame)
        bulk.check()
        first = np.flatnonzero(bulk.bad)
        if len(first):
            try:
                bulk.raise_first(int(first[0]))
            except _Disagreement:
                warnings.warn(
                    f"add_contacts: the per-column checks disagree with add_contact() on row "
                    f"{frame.index[int(first[0])]}; falling back to row by row",
                    RuntimeWarning,
                    stacklevel=3,
                )
                return _rows_atomically(batch, frame)
        return bulk.insert()
    finally:
        if collecting:
            gc.enable()
