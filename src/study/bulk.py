"""Many events at once: the vocabulary and the rules applied per column (``Batch.log_frame``).

There is one specification (:mod:`study.vocabulary`, :mod:`study.rules`) and two executors: the
per-event one (:meth:`study.api.Batch.log`) and this per-column one. This module only decides
*which* rows break a rule, column by column; the first such row is then replayed through the
per-event executor, which raises the very error ``log`` would raise (prefixed with the frame's
row label). So both executors accept the same events and name the same first problem; the
randomized test in ``tests/test_bulk.py`` holds them to it.

What runs per row in Python, because it is small or rare: rows of job leads (the lead rules need
the order of a lead's steps), contacts whose rows in the frame are not in time order (the
removal rule then depends on the order of the rows), and columns of Python objects that are not
of the expected dtype (numbers given as text, naive times).

The insert sends pre-built rows with the driver's ``executemany`` inside the batch's
transaction: ISO text times on SQLite (the format SQLAlchemy's ``DateTime`` writes there, so the
API reads them back), aware datetimes on PostgreSQL, and pre-serialized JSON attributes.
"""

from __future__ import annotations

import bisect
import contextlib
import datetime as dt
import gc
import json
import math
import numbers
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from sqlalchemy import and_, select

from study import store
from study.errors import ValidationError
from study.rules import (
    ALLOWED_WHILE_REMOVED,
    PLATFORM_REQUIRED,
    READDING_KINDS,
    Ledger,
    MetricEntry,
    _LeadStep,
    metric_conflict,
    metric_span,
)
from study.vocabulary import (
    _FALSE,
    _TRUE,
    COUNT_METRICS,
    DEFAULT_PARTICIPANT,
    FUTURE_TOLERANCE,
    KINDS,
    PLATFORMS,
    Event,
    Field,
    check_source,
    content_key,
    moment_key,
    parse_date,
    parse_datetime,
    storable_text,
)

if TYPE_CHECKING:
    from study.api import Batch
    from study.bulk_groups import FramePart

#: Columns of an events frame that are not fields of a kind.
META_COLUMNS = ("kind", "occurred_at", "participant", "platform", "source_key")
#: Keyword arguments of ``log`` that a frame may not carry as columns (they come from the call).
RESERVED_COLUMNS = ("at", "source", "force", "occurrence", "again", "supersedes")
#: Keys per ``IN (...)`` query, well below SQLite's and PostgreSQL's parameter limits.
CHUNK_KEYS = 5_000
#: Rows per ``executemany`` call (bounds the memory of the Python tuples).
INSERT_CHUNK = 100_000
#: Parameters per multi-row INSERT statement on SQLite, at most (the library's limit may be
#: lower: 999 before 3.32). Few large statements: each is one release and one re-acquisition
#: of Python's global lock, which matters when a second thread inserts (study.bulk_groups).
SQLITE_PARAMETERS = 30_000
#: The events table's columns but the generated id, in table order.
#: (A correction, ``supersedes``, goes through ``log`` only: frames never carry one.)
_INSERT_COLUMNS = tuple(c.name for c in store.events.columns if c.name not in ("id", "supersedes"))
#: attribute name -> codes of the kinds that have it as a field
_KINDS_WITH = {
    name: [i for i, spec in enumerate(KINDS.values()) if name in {f.name for f in spec.fields}]
    for name in {f.name for spec in KINDS.values() for f in spec.fields}
}
_US = dt.timedelta(microseconds=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
_NAT = np.iinfo(np.int64).min


# helpers --------------------------------------------------------------------------------------
def _isin(values: np.ndarray, allowed: Any) -> np.ndarray:
    """Membership by hashing (object arrays may mix None and text, which cannot be sorted)."""
    return pd.Series(values, dtype=object).isin(list(allowed)).to_numpy(bool)


def _present(values: np.ndarray) -> np.ndarray:
    return np.asarray(values != None, dtype=bool)  # noqa: E711


def _us(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // _US


def _from_us(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=int(us))


def _label_error(err: ValidationError, label: Any) -> ValidationError:
    """The same error, saying which row of the frame it is about."""
    new = ValidationError(err.reason, err.field, forceable=err.forceable)
    new.args = (f"row {label}: {err}",)
    new.row = label  # type: ignore[attr-defined]
    return new


def check_columns(frame: pd.DataFrame) -> None:
    if "kind" not in frame or "occurred_at" not in frame:
        raise ValidationError("a frame of events needs the columns kind and occurred_at", "columns")
    reserved = [c for c in RESERVED_COLUMNS if c in frame.columns]
    if reserved:
        raise ValidationError(
            f"{reserved[0]!r} is not a column of an events frame (it is an argument of log_frame "
            "or is called occurred_at)",
            "columns",
        )
    if frame.columns.duplicated().any():
        raise ValidationError("the frame has duplicate column names", "columns")


def _is_na(v: Any) -> bool:
    if isinstance(v, (list, tuple, dict)):
        return False
    return v is None or bool(pd.isna(v))


def _plain(v: Any) -> Any:
    """NumPy scalars as the Python values a row of records holds."""
    return v.item() if isinstance(v, (np.bool_, np.integer, np.floating)) else v


def row_arguments(
    frame: pd.DataFrame, pos: int, source: str
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Row ``pos`` of ``frame`` as the arguments of ``Batch.log``: kind, keywords, fields.

    The one definition of how a frame's cells map to ``log``: an empty cell (None, NaN, NaT,
    NA) is "not given"; a missing participant is the default participant.
    """
    r = {c: _plain(frame[c].iat[pos]) for c in frame.columns}
    fields = {c: v for c, v in r.items() if c not in META_COLUMNS and not _is_na(v)}
    participant = r.get("participant")
    if _is_na(participant) or participant == "":
        participant = DEFAULT_PARTICIPANT
    at = r["occurred_at"]
    if _is_na(at):
        at = None
    elif isinstance(at, pd.Timestamp):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # nanoseconds: the store keeps µs
            at = at.to_pydatetime()
    platform = r.get("platform")
    source_key = r.get("source_key")
    kwargs = {
        "participant": participant,
        "platform": None if _is_na(platform) else platform,
        "at": at,
        "source": source,
        "source_key": None if _is_na(source_key) else str(source_key),
    }
    return r["kind"], kwargs, fields


def log_frame_rows(batch: Batch, frame: pd.DataFrame, *, source: str, force: bool) -> int:
    """The per-event executor over a frame: ``Batch.log`` row by row (the reference)."""
    check_columns(frame)
    before = batch.summary.added + len(batch._events)
    for pos in range(len(frame)):
        kind, kwargs, fields = row_arguments(frame, pos, source)
        try:
            batch.log(kind, force=force, **kwargs, **fields)
        except ValidationError as err:
            raise _label_error(err, frame.index[pos]) from None
    return batch.summary.added + len(batch._events) - before


# per-column parsing (stateless rules) ----------------------------------------------------------
def _is_text(values: pd.Series) -> bool:
    """A column of strings (and empty cells): factorized, each distinct string read once."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return True
    return pd.api.types.infer_dtype(values, skipna=True) in ("string", "empty")


#: ``_factorize_text(..., infer=True)`` of a column that holds something other than strings.
_NOT_TEXT = object()


def _factorize_text(values: pd.Series, infer: bool = False) -> Any:
    """(codes, distinct strings) of a column of strings, by Arrow; None if Arrow cannot take
    the column as text (lone surrogates, not UTF-8: then cell by cell).

    ``infer``: the column is not known to be strings; Arrow's reading of it decides
    (``_NOT_TEXT`` for numbers, bytes, mixed cells...), in the same pass that factorizes it,
    where pandas' ``infer_dtype`` would read every cell once more.

    Not ``pd.factorize``: pandas compares strings only up to a NUL character ("a\\x00b" would
    count as "a" and be stored so); Arrow compares every byte.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    cells = values.to_numpy(dtype=object)
    try:
        arr = pa.array(cells, type=None if infer else pa.string(), from_pandas=True)
    except (pa.ArrowInvalid, pa.ArrowTypeError, UnicodeEncodeError):
        return None
    if pa.types.is_null(arr.type):  # no cell given: "empty", as infer_dtype says
        arr = arr.cast(pa.string())
    elif not pa.types.is_string(arr.type):
        return _NOT_TEXT
    encoded = arr.dictionary_encode()
    codes = pc.fill_null(encoded.indices, -1).to_numpy(zero_copy_only=False).astype(np.int64)
    return codes, np.asarray(encoded.dictionary.to_pylist(), dtype=object)


def _text_column(values: pd.Series) -> _Text | None:
    """A column as ``_Text`` if it holds strings (and empty cells), else None."""
    if values.dtype.kind == "O" and not isinstance(values.dtype, pd.CategoricalDtype):
        found = _factorize_text(values, infer=True)
        if found is _NOT_TEXT:
            return None
        if found is not None:
            return _Text(values, factorized=found)
    # categoricals, and columns Arrow cannot read (lone surrogates): pandas decides
    return _Text(values, text=True) if _is_text(values) else None


class _Text:
    """``str(cell)`` and ``str(cell).strip()`` of a column, computed once per distinct value.

    Only columns of strings (or categoricals) are factorized: in a column of mixed Python
    objects 1, 1.0 and True hash alike but read differently, so those go cell by cell.
    """

    def __init__(
        self,
        values: pd.Series,
        text: bool | None = None,
        distinct: bool = False,
        factorized: tuple[np.ndarray, np.ndarray] | None = None,
    ):
        """``text``: whether the column holds strings, if the caller knows already;
        ``distinct``: a column of keys, nearly all different (hashing them buys nothing);
        ``factorized``: its codes and distinct strings, found already."""
        if factorized is not None:
            codes, uniq = factorized
        elif isinstance(values.dtype, pd.CategoricalDtype):
            codes = values.cat.codes.to_numpy()
            uniq = np.asarray(values.cat.categories, dtype=object)
        elif distinct:
            given = ~pd.isna(values).to_numpy(bool)
            uniq = values.to_numpy(dtype=object)[given]
            codes = np.full(len(values), -1, dtype=np.int64)
            codes[given] = np.arange(len(uniq))
        elif (text if text is not None else _is_text(values)) and (
            factorized := _factorize_text(values)
        ) is not None:
            codes, uniq = factorized
        else:
            uniq = values.to_numpy(dtype=object)
            codes = np.where(pd.isna(values).to_numpy(bool), -1, np.arange(len(values)))
        self.codes = codes
        if len(uniq) > 1000 and all(isinstance(u, str) for u in uniq[:1]) and self._arrow(uniq):
            return
        self.raw = np.array([str(u) for u in uniq], dtype=object)
        self.text = np.array([t.strip() for t in self.raw], dtype=object)
        self.blank_str = np.array([isinstance(u, str) and not u.strip() for u in uniq], dtype=bool)
        self.unstorable_str = np.array([not storable_text(t) for t in self.raw], dtype=bool)
        self._lens: dict[bool, np.ndarray] = {}

    def _arrow(self, uniq: np.ndarray) -> bool:
        """Many distinct strings: let Arrow find the few with white space at either end."""
        import pyarrow as pa
        import pyarrow.compute as pc

        try:
            arr = pa.array(uniq, type=pa.string())
        except (pa.ArrowInvalid, pa.ArrowTypeError):  # not all strings after all
            return False
        changed = pc.not_equal(pc.utf8_trim_whitespace(arr), arr).to_numpy(zero_copy_only=False)
        # Arrow took them, so they are UTF-8; only a NUL character can make one unstorable
        self.unstorable_str = pc.match_substring(arr, "\x00").to_numpy(zero_copy_only=False)
        self.raw = uniq
        self.text = uniq.copy()
        for i in np.flatnonzero(changed):  # Python's own strip for those, to the letter
            self.text[i] = uniq[i].strip()
        self.blank_str = np.zeros(len(uniq), bool)
        self.blank_str[changed] = [not self.text[i] for i in np.flatnonzero(changed)]
        raw_lens = pc.utf8_length(arr).to_numpy(zero_copy_only=False).astype(np.int64)
        lens = raw_lens.copy()
        lens[changed] = [len(self.text[i]) for i in np.flatnonzero(changed)]
        self._lens = {True: raw_lens, False: lens}
        return True

    def subset(self, idx: np.ndarray) -> _Text:
        """The same column's rows ``idx``; the work per distinct value is shared."""
        part = object.__new__(_Text)
        part.__dict__.update(self.__dict__)
        part.codes = self.codes[idx]
        return part

    def _take(self, per_value: np.ndarray, fill: Any) -> np.ndarray:
        if not len(per_value):
            return np.full(len(self.codes), fill, dtype=per_value.dtype)
        return np.where(self.codes >= 0, per_value[np.maximum(self.codes, 0)], fill)

    def values(self, raw: bool = False) -> np.ndarray:
        return self._take(self.raw if raw else self.text, None)

    def isin(self, allowed: Any, lower: bool = False) -> np.ndarray:
        """Cells whose (stripped) text is one of ``allowed``, compared exactly (a set of
        Python strings: pandas' isin stops comparing at a NUL character)."""
        allowed = set(allowed)
        text = (t.lower() if lower else t for t in self.text)
        return self._take(np.array([t in allowed for t in text], dtype=bool), False)

    def lens(self, raw: bool = False) -> np.ndarray:
        if raw not in self._lens:
            src = self.raw if raw else self.text
            self._lens[raw] = np.array([len(t) for t in src], dtype=np.int64)
        return self._take(self._lens[raw], 0)

    def blank(self) -> np.ndarray:
        """Cells that are strings of only white space."""
        return self._take(self.blank_str, False)

    def unstorable(self) -> np.ndarray:
        """Cells whose text ``check_text`` refuses (a NUL character, not UTF-8)."""
        return self._take(self.unstorable_str.astype(bool), False)


def _bool_numbers(values: pd.Series, unread: np.ndarray, yes: np.ndarray, no: np.ndarray) -> None:
    """Mark in ``yes``/``no`` the ``unread`` cells that are the numbers 1 or 0 (1.0 from a CSV
    column with gaps), as ``parse_bool`` reads them; only those cells are looked at."""
    rows = np.flatnonzero(unread)
    if not len(rows):
        return
    cells = values.to_numpy(dtype=object)
    for i in rows:
        v = cells[i]
        if isinstance(v, numbers.Number) and v in (0, 1):
            (yes if v == 1 else no)[i] = True


def _blank(values: pd.Series, given: np.ndarray, txt: _Text | None = None) -> np.ndarray:
    """Given cells that are strings of only white space (numbers and dates given as text)."""
    if values.dtype.kind in "biufcmM":
        return np.zeros(len(values), bool)
    return given & (txt if txt is not None else _Text(values)).blank()


def _number_cells(values: pd.Series, given: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``parse_number`` per column: (the numbers, cells that are not finite numbers)."""
    n = len(values)
    if values.dtype == bool or isinstance(values.dtype, pd.BooleanDtype):
        return np.full(n, np.nan), given.copy()
    if values.dtype.kind in "iuf" or (
        isinstance(values.dtype, pd.api.extensions.ExtensionDtype)
        and pd.api.types.is_numeric_dtype(values.dtype)
    ):
        nums = values.to_numpy(dtype="float64", na_value=np.nan)
        return nums, given & ~np.isfinite(nums)
    nums = np.full(n, np.nan)
    bad = np.zeros(n, bool)
    raw = values.to_numpy(dtype=object)
    for i in np.flatnonzero(given):
        v = raw[i]
        if isinstance(v, bool):
            bad[i] = True
            continue
        try:
            x = float(v)
        except (TypeError, ValueError):
            bad[i] = True
            continue
        if math.isnan(x) or math.isinf(x):
            bad[i] = True
        else:
            nums[i] = x
    return nums, bad


def _date_cells(values: pd.Series, given: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``parse_date`` per column: (days as datetime64[D], cells that are not dates)."""
    n = len(values)
    if isinstance(values.dtype, pd.DatetimeTZDtype) or values.dtype.kind == "M":
        local = (
            values.dt.tz_localize(None) if isinstance(values.dtype, pd.DatetimeTZDtype) else values
        )
        days = local.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
        return days, np.zeros(n, bool)
    days = np.full(n, np.datetime64("NaT"), dtype="datetime64[D]")
    bad = np.zeros(n, bool)
    rows = np.flatnonzero(given)
    if not len(rows):
        return days, bad
    # parse_date once per distinct cell: values that hash alike here (1, 1.0, True) are all
    # not dates, and a date and a datetime of the same day are distinct keys
    raw = values.to_numpy(dtype=object)[rows]
    try:
        codes, uniq = pd.factorize(raw)
    except TypeError:  # unhashable cells (lists): one by one
        codes, uniq = np.arange(len(raw)), raw
    parsed = np.full(len(uniq), np.datetime64("NaT"), dtype="datetime64[D]")
    unreadable = np.zeros(len(uniq), bool)
    for j, v in enumerate(uniq):
        try:
            parsed[j] = np.datetime64(parse_date(v, "date"), "D")
        except ValidationError:
            unreadable[j] = True
    days[rows] = parsed[codes]
    bad[rows] = unreadable[codes]
    return days, bad


def _time_cells(values: pd.Series, tz: dt.tzinfo) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``parse_datetime`` per column: (µs since the epoch, UTC; given cells; unreadable cells)."""
    n = len(values)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        ns = pd.DatetimeIndex(values).as_unit("ns").asi8
        given = ns != _NAT
        return np.where(given, ns // 1000, _NAT), given, np.zeros(n, bool)
    raw = values.to_numpy(dtype=object)
    given = ~pd.isna(values).to_numpy(bool)
    us = np.full(n, _NAT, dtype=np.int64)
    bad = np.zeros(n, bool)
    for i in np.flatnonzero(given):
        v = raw[i]
        if isinstance(v, pd.Timestamp):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                v = v.to_pydatetime()
        elif isinstance(v, np.datetime64):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                v = pd.Timestamp(v).to_pydatetime()
        try:
            us[i] = _us(parse_datetime(v, tz, "at"))
        except (ValidationError, OverflowError, ValueError):
            bad[i] = True
    return us, given, bad


class _Parsed:
    """The frame after the stateless rules: typed columns, and which rows broke a rule."""

    def __init__(self, n: int):
        self.bad = np.zeros(n, bool)
        self.contact = np.full(n, None, dtype=object)
        self.value = np.full(n, np.nan)
        #: attribute name -> object array of parsed values (None: absent)
        self.attrs: dict[str, np.ndarray] = {}
        #: date attribute name -> datetime64[D] array (NaT: absent), made ISO text in attrs
        self.dates: dict[str, np.ndarray] = {}

    def date(self, name: str) -> np.ndarray:
        if name not in self.dates:
            self.dates[name] = np.full(len(self.bad), np.datetime64("NaT"), dtype="datetime64[D]")
        return self.dates[name]

    def attr(self, name: str) -> np.ndarray:
        if name not in self.attrs:
            self.attrs[name] = np.full(len(self.bad), None, dtype=object)
        return self.attrs[name]


def _parse_field(
    f: Field,
    values: pd.Series,
    given: np.ndarray,
    out: _Parsed,
    idx: np.ndarray,
    kind: str,
    column: _Text | None = None,
) -> None:
    """One field of one kind over the rows ``idx`` (``values`` and ``given`` are those rows;
    ``column``: the strings of those rows, if the frame's column holds strings)."""
    txt = None
    if f.type not in ("number", "int", "date"):
        txt = column if column is not None else _Text(values)
    missing = ~given
    if f.type != "text" and txt is not None:
        missing = missing | (given & txt.blank())
    elif f.type != "text":
        missing = missing | _blank(values, given, column)
    bad = np.zeros(len(idx), bool)
    if f.required:
        bad |= missing
    has = ~missing
    parsed: np.ndarray
    if f.type == "choice":
        bad |= has & ~txt.isin(f.choices)
        parsed = txt.values()
    elif f.type == "bool":
        if values.dtype == bool or isinstance(values.dtype, pd.BooleanDtype):
            parsed = values.to_numpy(dtype=object, na_value=None)
        else:
            yes, no = txt.isin(_TRUE, lower=True), txt.isin(_FALSE, lower=True)
            _bool_numbers(values, has & ~(yes | no), yes, no)
            bad |= has & ~(yes | no)
            parsed = np.where(yes, True, False).astype(object)
    elif f.type in ("number", "int"):
        nums, unreadable = _number_cells(values, has)
        bad |= unreadable
        with np.errstate(invalid="ignore"):
            if f.minimum is not None:
                bad |= has & ~unreadable & (nums < f.minimum)
            if f.maximum is not None:
                bad |= has & ~unreadable & (nums > f.maximum)
            if f.type == "int":
                bad |= has & ~unreadable & (nums != np.floor(nums))
        parsed = nums
    elif f.type == "date":
        days, unreadable = _date_cells(values, has)
        bad |= unreadable
        parsed = days
    elif f.type in ("contact", "lead"):
        lens = txt.lens()
        bad |= has & ((lens == 0) | (lens > 200) | txt.unstorable())
        parsed = txt.values()
    else:  # text
        if f.required:
            bad |= has & (txt.lens() == 0)
        bad |= has & ((txt.lens(raw=True) > 10_000) | txt.unstorable())
        parsed = txt.values(raw=True)
    out.bad[idx] |= bad
    ok = has & ~bad
    if f.name == "contact":
        out.contact[idx[ok]] = parsed[ok]
    elif f.name == KINDS[kind].value_field:
        out.value[idx[ok]] = parsed[ok].astype(float)
    elif f.type == "date":
        out.date(f.name)[idx[ok]] = parsed[ok]  # made ISO text in attrs later
    elif f.type in ("number", "int"):
        col = out.attr(f.name)
        col[idx[ok]] = parsed[ok].astype(float).astype(object)
    else:
        col = out.attr(f.name)
        col[idx[ok]] = parsed[ok]


# the executor ---------------------------------------------------------------------------------
class BulkLog:
    """Validate and insert one frame inside one batch; see :func:`log_frame`."""

    def __init__(
        self,
        batch: Batch,
        frame: pd.DataFrame,
        *,
        source: str,
        force: bool,
        part: FramePart | None = None,
    ):
        """``part``: ``frame`` is some rows of a larger frame (see :mod:`study.bulk_groups`),
        whose source keys are settled over the whole frame."""
        self.batch = batch
        self.part = part
        #: around each query: lets a part's inserting thread pause (see study.bulk_groups)
        self.reading = part.reading if part is not None else contextlib.nullcontext
        self.conn = batch.conn
        self.frame = frame
        self.source = source
        self.force = force
        self.tz = batch.study.tz
        self.now = batch.now
        self.n = len(frame)
        self._texts: dict[str, _Text | None] = {}
        #: the driver's parameter mark (raw SQL for the lookups of many keys)
        self.mark = "?" if self.conn.dialect.name == "sqlite" else "%s"

    # stateless ------------------------------------------------------------------------------
    def _text(self, column: str) -> _Text | None:
        """The frame's column of strings, read once per distinct value (None: not strings)."""
        if column not in self._texts:
            self._texts[column] = _text_column(self.frame[column])
        return self._texts[column]

    def _text_or_cells(self, column: str) -> _Text:
        txt = self._text(column)
        return txt if txt is not None else _Text(self.frame[column])

    def _given(self, column: str) -> np.ndarray:
        """Cells that are not empty (None, NaN, NaT, NA)."""
        txt = self._text(column)
        if txt is not None:
            return txt.codes >= 0
        return ~pd.isna(self.frame[column]).to_numpy(bool)

    def parse(self) -> None:
        fr, n = self.frame, self.n
        out = self.out = _Parsed(n)
        given = {c: self._given(c) for c in fr.columns if c not in META_COLUMNS}
        kinds = pd.Categorical(fr["kind"], categories=list(KINDS))
        codes = np.asarray(kinds.codes)
        self.kind_codes = codes
        self.kind = np.array(list(KINDS), dtype=object)[np.maximum(codes, 0)]
        # pandas matches text only up to a NUL character: "note\x00x" is not the kind note
        out.bad |= (codes < 0) | (fr["kind"].to_numpy(dtype=object) != self.kind)

        # participant, platform, source key
        if "participant" in fr:
            txt = self._text_or_cells("participant")
            default = ~self._given("participant") | (txt.values(raw=True) == "")
            part = np.where(default, DEFAULT_PARTICIPANT, txt.values())
            lens = np.where(default, len(DEFAULT_PARTICIPANT), txt.lens())
            out.bad |= (lens == 0) | (lens > 200) | (~default & txt.unstorable())
        else:
            part = np.full(n, DEFAULT_PARTICIPANT, dtype=object)
        self.participant = part
        self.platform = np.full(n, None, dtype=object)
        if "platform" in fr:
            pg = self._given("platform")
            txt = self._text_or_cells("platform")
            out.bad |= pg & ~txt.isin(PLATFORMS)
            self.platform[pg] = txt.values()[pg]
        self.source_key = np.full(n, None, dtype=object)
        if "source_key" in fr:
            txt = (
                self.part.source_keys()
                if self.part is not None
                else _Text(fr["source_key"], distinct=True)
            )
            sg = txt.codes >= 0
            lens = txt.lens()
            out.bad |= sg & ((lens == 0) | (lens > 200) | txt.unstorable())
            self.source_key[sg] = txt.values()[sg]

        # when
        at_us, at_given, at_bad = _time_cells(fr["occurred_at"], self.tz)
        out.bad |= at_bad
        now_us = _us(self.now)
        out.bad |= at_given & (at_us > now_us + FUTURE_TOLERANCE // _US)
        self.at = np.where(at_given, at_us, now_us)
        self.at_given = at_given

        # the kinds' fields
        for code, spec in enumerate(KINDS.values()):
            idx = np.flatnonzero(codes == code)
            if not len(idx):
                continue
            names = {f.name for f in spec.fields}
            for c, g in given.items():
                if c not in names:
                    out.bad[idx] |= g[idx]
            for f in spec.fields:
                column = None
                if f.name in fr:
                    values = fr[f.name].iloc[idx]
                    g = given[f.name][idx]
                    whole = self._text(f.name)
                    column = whole.subset(idx) if whole is not None else None
                else:
                    values = pd.Series(np.full(len(idx), None, dtype=object))
                    g = np.zeros(len(idx), bool)
                _parse_field(f, values.reset_index(drop=True), g, out, idx, spec.name, column)
            if spec.name == "metric":
                self._metric_rules(idx)
            else:
                self._dates_as_text(spec, idx)
        self._content_keys()

    def _content_keys(self) -> None:
        """Rows without a source key get the key of their content, as ``validate`` makes it
        (:func:`~study.vocabulary.content_key`): row by row, with the very function."""
        rows = np.flatnonzero(~_present(self.source_key) & ~self.out.bad)
        if not len(rows):
            return
        out = self.out
        local = self.now.astimezone(self.tz).date()
        attrs = list(out.attrs.items())
        for i in rows:
            kind = self.kind[i]
            a = {name: _plain(col[i]) for name, col in attrs if col[i] is not None}
            value = None if math.isnan(out.value[i]) else float(out.value[i])
            at = _from_us(self.at[i]) if self.at_given[i] else None
            contact = out.contact[i]
            self.source_key[i] = content_key(
                kind,
                self.participant[i],
                contact,
                self.platform[i],
                value,
                a,
                moment_key(kind, a, at, local),
            )

    def _metric_rules(self, idx: np.ndarray) -> None:
        out = self.out
        name = out.attr("name")[idx]
        value = out.value[idx]
        start = out.date("period_start")[idx]
        end = out.date("period_end")[idx]
        if not len(idx):
            return
        has_s, has_e = ~np.isnat(start), ~np.isnat(end)
        with np.errstate(invalid="ignore"):
            bad = (name == "googlability_rank") & ~np.isnan(value) & (value < 1)
        counted = _isin(name.astype(str), COUNT_METRICS)
        bad |= counted & ~(has_s & has_e)
        bad |= ~counted & (has_s | has_e)  # a level takes a moment, not a period
        bad |= has_s != has_e
        both = has_s & has_e
        today = np.datetime64(self.now.astimezone(self.tz).date(), "D")
        bad |= both & (end < start)
        bad |= both & (end > today)
        out.bad[idx] |= bad
        # a period without a time: the event happened at noon of its last day (or now)
        fill = both & ~self.at_given[idx]
        if fill.any():
            codes, days = pd.factorize(end[fill])
            noon = pd.DatetimeIndex(days.astype("datetime64[ns]")) + pd.Timedelta(hours=12)
            noon = noon.tz_localize(self.tz, ambiguous=True, nonexistent="shift_forward")
            us = (noon.as_unit("ns").asi8 // 1000)[codes]
            self.at[idx[fill]] = np.minimum(us, _us(self.now))
        for col, days in (("period_start", start), ("period_end", end)):
            iso = np.full(len(idx), None, dtype=object)
            iso[both] = np.datetime_as_string(days[both], unit="D").astype(object)
            out.attr(col)[idx] = iso

    def _dates_as_text(self, spec: Any, idx: np.ndarray) -> None:
        """Date fields other than a metric's period: ISO text, and an interval's order."""
        names = [f.name for f in spec.fields if f.type == "date"]
        if not names:
            return
        for name in names:
            days = self.out.date(name)[idx]
            iso = np.full(len(idx), None, dtype=object)
            has = ~np.isnat(days)
            iso[has] = np.datetime_as_string(days[has], unit="D").astype(object)
            self.out.attr(name)[idx] = iso
        if {"removed_after", "removed_before"} <= set(names):
            after = self.out.date("removed_after")[idx]
            before = self.out.date("removed_before")[idx]
            self.out.bad[idx] |= ~np.isnat(after) & ~np.isnat(before) & (before < after)

    # stateful ------------------------------------------------------------------------------
    def _in_chunks(self, keys: list[Any], query: Any) -> list[Any]:
        rows: list[Any] = []
        for i in range(0, len(keys), CHUNK_KEYS):
            with self.reading():
                rows.extend(self.conn.execute(query(keys[i : i + CHUNK_KEYS])).all())
        return rows

    def _keys_in(self, sql: str, keys: list[Any], *before: Any) -> list[Any]:
        """Rows of ``sql`` (which ends with ``IN``) for ``keys``, a chunk per query, through the
        driver: SQLAlchemy would compile an expanding ``IN`` anew per chunk, a cost per key."""
        mark = self.mark
        rows: list[Any] = []
        for i in range(0, len(keys), CHUNK_KEYS):
            chunk = keys[i : i + CHUNK_KEYS]
            query = f"{sql} ({', '.join([mark] * len(chunk))})"
            with self.reading():
                rows.extend(self.conn.exec_driver_sql(query, (*before, *chunk)).all())
        return rows

    def _duplicates(self) -> np.ndarray:
        """Rows whose source key is in the log already or earlier in the frame."""
        if self.part is not None:  # settled for the whole frame, before any of it went in
            return self.part.duplicates()
        return self.duplicate_keys(self.source_key)

    def duplicate_keys(self, sk: np.ndarray) -> np.ndarray:
        """Per row of ``sk`` (source keys, None for none): the key is in the log already or
        in an earlier row."""
        has = _present(sk)
        dup = np.zeros(len(sk), bool)
        if not has.any():
            return dup
        keys = pd.Series(sk[has], dtype=object)
        within = keys.duplicated(keep="first").to_numpy(bool)
        e = store.events.c
        known = self.batch.ledger._source_keys.get(self.source)
        if known is not None:
            in_db = keys.isin(known).to_numpy(bool)
        else:
            from sqlalchemy import func

            n_uniq = int(len(keys) - within.sum())
            # how many keys the log holds for the source, counted no further than the frame's
            stored = self.conn.execute(
                select(func.count()).select_from(
                    select(e.id)
                    .where(and_(e.source == self.source, e.source_key.is_not(None)))
                    .limit(n_uniq + 1)
                    .subquery()
                )
            ).scalar()
            if not stored:
                in_db = np.zeros(len(keys), bool)
            elif n_uniq < stored:
                # look the frame's keys up in the unique index (a log much larger than the
                # frame is not read whole: a simulator's or importer's later batches)
                found = self._keys_in(
                    f"SELECT source_key FROM events WHERE source = {self.mark} AND source_key IN",
                    list(keys[~within]),
                    self.source,
                )
                in_db = keys.isin([r[0] for r in found]).to_numpy(bool)
            else:
                stored_keys = self.conn.execute(
                    select(e.source_key).where(
                        and_(e.source == self.source, e.source_key.is_not(None))
                    )
                ).scalars()
                in_db = keys.isin(pd.Index(list(stored_keys))).to_numpy(bool)
        dup[np.flatnonzero(has)] = within | in_db
        return dup

    def check_rules(self) -> None:
        """The rules of :mod:`study.rules` over the rows that passed the stateless ones."""
        out = self.out
        self.dup = self._duplicates()
        live = ~out.bad & ~self.dup  # rows the per-event executor would check against the log
        self.state_bad = np.zeros(self.n, bool)
        bad = self.state_bad

        # participants: one query for the set
        parts = list(pd.unique(self.participant[live]))
        known_parts = {
            r[0] for r in self._keys_in("SELECT id FROM participants WHERE id IN", parts)
        }
        bad |= live & ~_isin(self.participant, list(known_parts))

        # contacts: one query per chunk of keys
        intro_given = out.attr("introducer")
        keys = set(pd.unique(out.contact[live & (out.contact != None)]))  # noqa: E711
        keys |= set(pd.unique(intro_given[live & (intro_given != None)]))  # noqa: E711
        contacts = self._contacts(keys)
        recorded = {st[3] for st in contacts.values() if st[3] is not None} - set(contacts)
        contacts.update(self._contacts(recorded))
        self.contacts = contacts

        has_c = live & (out.contact != None)  # noqa: E711
        cidx = np.flatnonzero(has_c)
        table = list(contacts.values())
        at = pd.Index(list(contacts), dtype=object).get_indexer(out.contact[cidx])
        c_missing = at < 0

        def column(i: int) -> np.ndarray:
            values = np.array([st[i] for st in table] + [None], dtype=object)
            return values[at]  # -1: the None at the end

        c_part, c_plat, c_intro = column(0), column(1), column(3)
        cbad = c_missing | (~c_missing & (c_part != self.participant[cidx]))
        given_pl = self.platform[cidx]
        cbad |= ~cbad & (given_pl != None) & (given_pl != c_plat)  # noqa: E711
        bad[cidx] |= cbad
        self.platform[cidx] = np.where(c_missing, given_pl, c_plat)

        # an event about a removed contact
        needs = has_c & ~bad & ~self._kind_in(ALLOWED_WHILE_REMOVED)
        if not self.force and needs.any():
            bad |= self._removed(needs, live)

        # introducer of introductions and vouch checks
        is_intro = has_c & ~bad & self._kind_in(["introduction", "vouch_check"])
        if is_intro.any():
            iidx = np.flatnonzero(is_intro)
            pos_in_c = np.searchsorted(cidx, iidx)
            given_i = intro_given[iidx]
            chosen = np.array(
                [g if g else r for g, r in zip(given_i, c_intro[pos_in_c], strict=True)],
                dtype=object,
            )
            ibad = np.array([not x for x in chosen], dtype=bool)
            ibad |= ~ibad & (chosen == out.contact[iidx])
            ist = [contacts.get(k) if k else None for k in chosen]
            ibad |= ~ibad & np.array(
                [
                    st is None or st[0] != pp
                    for st, pp in zip(ist, self.participant[iidx], strict=True)
                ],
                dtype=bool,
            )
            bad[iidx] |= ibad
            intro_given[iidx[~ibad]] = chosen[~ibad]

        # an introduction of a contact accepted without any prior contact
        if not self.force:
            is_introduction = has_c & ~bad & self._kind_in(["introduction"])
            if is_introduction.any():
                nidx = np.flatnonzero(is_introduction)
                c_basis = column(2)[np.searchsorted(cidx, nidx)]
                bad[nidx[c_basis == "none"]] = True

        # no contact: the platform is required for some kinds, else "other"
        no_c = live & (out.contact == None)  # noqa: E711
        no_pl = no_c & (self.platform == None)  # noqa: E711
        bad |= no_pl & self._kind_in(PLATFORM_REQUIRED)
        self.platform[no_pl & ~bad] = "other"

        self._check_metrics(live & ~bad & self._kind_in(["metric"]))

    def _check_metrics(self, rows_mask: np.ndarray) -> None:
        """One value per metric, platform and period (study.rules), over the frame's metric
        rows and the log: a row repeating an entry (the log's or an earlier row's) with the
        same value is a duplicate, with another value or an overlapping count period bad.

        Spans sorted by group: only groups where two spans meet are replayed row by row (with
        ``rules.metric_conflict``, as ``log`` checks them); the rest pass at the cost of a sort.
        """
        rows = np.flatnonzero(rows_mask)
        if not len(rows):
            return
        out = self.out
        name = out.attr("name")[rows]
        start = out.date("period_start")[rows]
        end = out.date("period_end")[rows]
        level = np.isnat(start)
        if level.any():  # a level's span is its local day
            local = (
                pd.DatetimeIndex(pd.to_datetime(self.at[rows[level]], unit="us", utc=True))
                .tz_convert(self.tz)
                .tz_localize(None)
                .to_numpy()
                .astype("datetime64[D]")
            )
            start = start.copy()
            end = end.copy()
            start[level] = local
            end[level] = local
        people = sorted(set(pd.unique(self.participant[rows])))
        with self.reading():
            self.batch.ledger.lock_metrics(people)
        logged = self._logged_metrics(people)
        spans = pd.DataFrame(
            {
                "participant": np.concatenate([logged["participant"], self.participant[rows]]),
                "platform": np.concatenate([logged["platform"], self.platform[rows]]),
                "name": np.concatenate([logged["name"], name]),
                "start": np.concatenate([logged["start"], start]),
                "end": np.concatenate([logged["end"], end]),
                "value": np.concatenate([logged["value"], out.value[rows]]),
                "row": np.concatenate([np.full(len(logged["start"]), -1), rows]),
                "id": np.concatenate([logged["id"], np.full(len(rows), -1)]),
            }
        )
        group = spans.groupby(["participant", "platform", "name"], sort=False).ngroup().to_numpy()
        order = np.lexsort((spans["start"].to_numpy(), group))
        g, st, en = group[order], spans["start"].to_numpy()[order], spans["end"].to_numpy()[order]
        reach = pd.Series(en).groupby(g).cummax().to_numpy()  # the latest end so far
        meets = np.zeros(len(order), bool)
        meets[1:] = (g[1:] == g[:-1]) & (st[1:] <= reach[:-1])
        if not meets.any():
            return
        suspect = np.unique(g[meets])
        self._replay_metrics(spans, group, suspect)

    def _logged_metrics(self, people: list[str]) -> dict[str, np.ndarray]:
        """The log's metric values of ``people`` (corrected ones left out), as spans."""
        e = store.events.c
        rows = self._in_chunks(
            people,
            lambda ks: select(
                e.id, e.participant, e.platform, e.occurred_at, e.value, e.attributes
            ).where(and_(e.participant.in_(ks), e.kind == "metric")),
        )
        gone = self.batch.ledger.superseded()
        found: dict[str, list[Any]] = {
            k: [] for k in ("id", "participant", "platform", "name", "start", "end", "value")
        }
        for r in rows:
            if r.id in gone:
                continue
            name = r.attributes["name"]
            a, b = metric_span(name, r.attributes, r.occurred_at, self.tz)
            for k, v in zip(
                found, (r.id, r.participant, r.platform, name, a, b, r.value), strict=True
            ):
                found[k].append(v)
        return {
            "id": np.asarray(found["id"], dtype=np.int64),
            "participant": np.asarray(found["participant"], dtype=object),
            "platform": np.asarray(found["platform"], dtype=object),
            "name": np.asarray(found["name"], dtype=object),
            "start": np.asarray(found["start"], dtype="datetime64[D]"),
            "end": np.asarray(found["end"], dtype="datetime64[D]"),
            "value": np.asarray(found["value"], dtype=float),
        }

    def _replay_metrics(self, spans: pd.DataFrame, group: np.ndarray, suspect: np.ndarray) -> None:
        """The rule row by row in the groups where spans meet: the log's entries first, then
        the frame's rows in frame order, each checked against those before it."""
        chosen = np.isin(group, suspect)
        sub = spans[chosen].assign(group=group[chosen]).sort_values(["group", "row"])
        entries: dict[int, list[MetricEntry]] = {}
        for r in sub.itertuples(index=False):
            a, b = pd.Timestamp(r.start).date(), pd.Timestamp(r.end).date()
            have = entries.setdefault(r.group, [])
            if r.row < 0:
                have.append(MetricEntry(int(r.id), r.platform, r.name, a, b, r.value))
                continue
            found = metric_conflict(have, a, b, r.value, self.force)
            if found is None:
                have.append(MetricEntry(None, r.platform, r.name, a, b, r.value))
            elif found[0] == "same":
                self.dup[r.row] = True
            else:
                self.state_bad[r.row] = True

    def _kind_in(self, kinds: Any) -> np.ndarray:
        """Rows of these kinds (by the kinds' codes: integers, not strings)."""
        codes = [i for i, k in enumerate(KINDS) if k in set(kinds)]
        return np.isin(self.kind_codes, codes)

    def _contacts(self, keys: set[Any]) -> dict[str, tuple[str, str, str, str | None]]:
        if not keys:
            return {}
        rows = self._keys_in(
            "SELECT key, participant, platform, basis, introducer FROM contacts WHERE key IN",
            sorted(keys),
        )
        return {r[0]: (r[1], r[2], r[3], r[4]) for r in rows}

    def _db_membership(self, keys: list[str]) -> pd.DataFrame:
        e = store.events.c
        rows = self._in_chunks(
            keys,
            lambda ks: select(e.contact, e.occurred_at, e.kind, e.id).where(
                and_(e.contact.in_(ks), e.kind.in_(["contact_removed", *READDING_KINDS]))
            ),
        )
        gone = self.batch.ledger.superseded()
        if gone:
            rows = [r for r in rows if r[3] not in gone]
        return pd.DataFrame(
            {
                "contact": [r[0] for r in rows],
                "t": np.array([_us(r[1]) for r in rows], dtype=np.int64),
                "removed": np.array([r[2] == "contact_removed" for r in rows], dtype=bool),
                "pos": np.full(len(rows), -1, dtype=np.int64),
            }
        )

    def _removed(self, needs: np.ndarray, live: np.ndarray) -> np.ndarray:
        """Rows about a contact that stands removed just before the row's time.

        The per-event executor sees the log plus the frame's earlier rows. When a contact's
        rows are in time order that is "everything earlier in time" (an as-of join); contacts
        whose rows are not are checked row by row.
        """
        out, kind = self.out, self.kind
        member = live & (out.contact != None) & self._kind_in(["contact_removed", *READDING_KINDS])  # noqa: E711
        # contacts as integer codes (joins and sorts on integers, not strings); -1: none
        codes, uniq = pd.factorize(out.contact)
        uniq = np.asarray(uniq, dtype=object)

        def flags(chosen: np.ndarray) -> np.ndarray:
            """Per row: is its contact one of ``chosen`` (codes)? (code -1 reads the last slot)"""
            table = np.zeros(len(uniq) + 1, bool)
            table[chosen] = True
            return table[codes]

        need_codes = np.unique(codes[needs])
        checked = flags(need_codes)
        db = self._db_membership(list(uniq[need_codes]))
        db_codes = pd.Index(uniq).get_indexer(db["contact"].to_numpy(dtype=object))
        fm = np.flatnonzero(member & checked)
        right = pd.DataFrame(
            {
                "contact": np.concatenate([db_codes, codes[fm]]).astype(np.int64),
                "t": np.concatenate([db["t"].to_numpy(np.int64), self.at[fm]]),
                "removed": np.concatenate(
                    [db["removed"].to_numpy(bool), kind[fm] == "contact_removed"]
                ),
            }
        )
        # contacts whose relevant rows go back in time somewhere in the frame
        rel = np.flatnonzero(needs | (member & checked))
        o = rel[np.argsort(codes[rel], kind="stable")]  # by contact, then row
        back = (np.diff(self.at[o]) < 0) & (codes[o][1:] == codes[o][:-1])
        unsorted_codes = np.unique(codes[o][1:][back])
        unsorted = flags(unsorted_codes)
        bad = np.zeros(self.n, bool)

        left_idx = np.flatnonzero(needs & ~unsorted)
        if len(left_idx) and len(right):
            left = pd.DataFrame(
                {
                    "contact": codes[left_idx].astype(np.int64),
                    "t": self.at[left_idx],
                    "row": left_idx,
                }
            ).sort_values("t", kind="stable")
            keep = ~np.isin(right["contact"].to_numpy(), unsorted_codes)
            r = right[keep].sort_values(["t", "removed"], kind="stable")
            m = pd.merge_asof(
                left,
                r,
                on="t",
                by="contact",
                allow_exact_matches=False,
                direction="backward",
            )
            hit = m["removed"].eq(True).to_numpy(bool)
            bad[m["row"].to_numpy()[hit]] = True
        if len(unsorted_codes):  # row by row, in the frame's order, as the per-event executor goes
            steps: dict[str, list[tuple[int, bool]]] = {}
            old = db[db["contact"].isin(set(uniq[unsorted_codes]))]
            for key, t, removed in zip(old["contact"], old["t"], old["removed"], strict=True):
                steps.setdefault(key, []).append((int(t), bool(removed)))
            for known in steps.values():
                known.sort()
            for row in rel[unsorted[rel]]:
                known = steps.setdefault(out.contact[row], [])
                if needs[row]:
                    i = bisect.bisect_left(known, (int(self.at[row]), False))
                    if i and known[i - 1][1]:
                        bad[row] = True
                if member[row]:
                    bisect.insort(known, (int(self.at[row]), kind[row] == "contact_removed"))
        return bad

    def check_leads(self, limit: int) -> int:
        """The lead rules row by row over the job-lead rows before ``limit``; the first bad row."""
        out = self.out
        live = ~out.bad & ~self.dup & ~self.state_bad
        idx = np.flatnonzero(live & (self.kind == "job_lead"))
        idx = idx[idx < limit]
        ledger = Ledger(self.conn, self.tz)
        self.lead_ledger = ledger
        if not len(idx):
            return limit
        lead, stage, channel = out.attr("lead"), out.attr("stage"), out.attr("channel")
        wanted = {(self.participant[i], lead[i]) for i in idx}
        for ident in wanted:
            ledger._leads[ident] = []
        e = store.events.c
        people = sorted({w[0] for w in wanted})
        rows = self._in_chunks(
            people,
            lambda ks: select(e.participant, e.occurred_at, e.attributes, e.contact, e.id).where(
                and_(e.participant.in_(ks), e.kind == "job_lead")
            ),
        )
        gone = self.batch.ledger.superseded()
        for r in rows:
            if r.id in gone:
                continue
            ident = (r.participant, r.attributes.get("lead"))
            if ident in wanted:
                a = r.attributes
                ledger._leads[ident].append(
                    _LeadStep(
                        r.occurred_at,
                        _rank(a["stage"]),
                        a["stage"],
                        a.get("channel"),
                        r.contact,
                    )
                )
        for steps in ledger._leads.values():
            steps.sort()
        for i in idx:
            attrs = {"lead": lead[i], "stage": stage[i]}
            if channel[i] is not None:
                attrs["channel"] = channel[i]
            ev = Event(
                participant=self.participant[i],
                platform=self.platform[i],
                occurred_at=_from_us(self.at[i]),
                kind="job_lead",
                contact=out.contact[i],
                attributes=attrs,
            )
            try:
                ledger._check_lead(ev, self.force)
            except ValidationError:
                self.state_bad[i] = True
                return int(i)
            channel[i] = ev.attributes.get("channel")
            out.contact[i] = ev.contact
            ledger.accept(ev)
        return limit

    # the first problem, as log() names it -----------------------------------------------------
    def raise_first(self, pos: int) -> None:
        """Replay row ``pos`` through the per-event executor, which raises its error."""
        from study.vocabulary import validate

        kind, kwargs, fields = row_arguments(self.frame, pos, self.source)
        label = self.frame.index[pos]
        try:
            ev = validate(kind, fields, tz=self.tz, now=self.now, **kwargs)
        except ValidationError as err:
            raise _label_error(err, label) from None
        ledger = getattr(self, "lead_ledger", None) or Ledger(self.conn, self.tz)
        if ev.contact is not None:
            db = self._db_membership([ev.contact])
            steps = [(_from_us(t), bool(r)) for t, r in zip(db.t, db.removed, strict=True)]
            out = self.out
            for q in range(pos):
                if (
                    out.contact[q] == ev.contact
                    and not out.bad[q]
                    and not self.dup[q]
                    and self.kind[q] in ("contact_removed", *READDING_KINDS)
                ):
                    steps.append((_from_us(self.at[q]), self.kind[q] == "contact_removed"))
            ledger._membership[ev.contact] = sorted(steps)
        try:
            ledger.check(ev, force=self.force)
            if ev.kind == "metric":
                self._earlier_metrics(ledger, ev.participant, pos)
                ledger.check_metric(ev, force=self.force)
        except ValidationError as err:
            raise _label_error(err, label) from None
        raise _Disagreement(pos)

    def _earlier_metrics(self, ledger: Ledger, participant: str, pos: int) -> None:
        """The ledger's metric entries of ``participant``, with the frame's metric rows before
        ``pos`` that went in (as ``log`` would have accepted them)."""
        entries = ledger.metrics(participant)
        out = self.out
        for q in range(pos):
            if (
                self.kind[q] != "metric"
                or self.participant[q] != participant
                or out.bad[q]
                or self.dup[q]
                or self.state_bad[q]
            ):
                continue
            name = out.attr("name")[q]
            attrs = {
                "period_start": out.attr("period_start")[q],
                "period_end": out.attr("period_end")[q],
            }
            a, b = metric_span(name, attrs, _from_us(self.at[q]), self.tz)
            entries.setdefault((self.platform[q], name), []).append(
                MetricEntry(None, self.platform[q], name, a, b, float(out.value[q]))
            )

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
            has = _present(vals)
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
            occurred = np.array([_from_us(t) for t in at], dtype=object)
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
        member = _isin(kind, ["contact_removed", *READDING_KINDS])
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
    ``statement_gate``: a context manager around each statement (see study.bulk_groups).
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


class _Disagreement(Exception):
    """The per-column executor flagged a row the per-event one accepts (a bug; never silent)."""


def _rank(stage: str) -> int:
    from study.rules import _RANK

    return _RANK[stage]


def log_frame(batch: Batch, frame: pd.DataFrame, *, source: str, force: bool) -> int:
    """Validate ``frame`` per column, raise the first row's problem, insert; return how many
    were new."""
    check_columns(frame)
    source = check_source(source)
    if "period" in frame.columns or batch.conn.dialect.name not in ("sqlite", "postgresql"):
        return log_frame_rows(batch, frame, source=source, force=force)
    if not len(frame):
        return 0
    # Millions of short-lived tuples and strings would make the cyclic garbage collector scan
    # the heap again and again (a quarter of the time); nothing here makes reference cycles.
    collecting = gc.isenabled()
    gc.disable()
    try:
        return _log_frame(batch, frame, source=source, force=force)
    finally:
        if collecting:
            gc.enable()


def _log_frame(batch: Batch, frame: pd.DataFrame, *, source: str, force: bool) -> int:
    batch.flush()  # contacts and events queued by log()/add_contact() are now in the database
    if batch.conn.dialect.name == "sqlite":
        from study import bulk_groups

        if len(frame) >= bulk_groups.GROUPED_FROM:
            added = bulk_groups.log_frame_by_groups(batch, frame, source=source, force=force)
            if added is not None:
                return added
    bulk = BulkLog(batch, frame, source=source, force=force)
    bulk.parse()
    bulk.check_rules()
    first = np.flatnonzero(bulk.out.bad | bulk.state_bad)
    limit = int(first[0]) if len(first) else bulk.n
    limit = bulk.check_leads(limit)
    if limit < bulk.n:
        try:
            bulk.raise_first(limit)
        except _Disagreement:
            warnings.warn(
                f"log_frame: the per-column checks disagree with log() on row "
                f"{frame.index[limit]}; falling back to row by row",
                RuntimeWarning,
                stacklevel=3,
            )
            return log_frame_rows(batch, frame, source=source, force=force)
    return bulk.insert()
