"""A frame of events, column by column: the vocabulary's stateless rules per column.

The first step of ``Batch.log_frame`` (:mod:`study.write.frame`): cells are read once per
distinct value (``TextColumn``), typed as :func:`study.vocabulary.validate` types one event (numbers,
dates, times, choices, yes/no), and each row that breaks a rule is marked in ``ParsedCells.bad``;
rows logged without a source key get the key of their content, made by the very function
``validate`` uses. Nothing here reads the log.
"""

from __future__ import annotations

import datetime as dt
import math
import numbers
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from study.errors import ValidationError
from study.vocabulary import (
    _FALSE,
    _TRUE,
    COUNT_METRICS,
    DEFAULT_PARTICIPANT,
    FUTURE_TOLERANCE,
    KINDS,
    PLATFORMS,
    Field,
    content_key,
    moment_key,
    parse_date,
    parse_datetime,
    storable_text,
)

if TYPE_CHECKING:
    from study.write.groups import FramePart

#: Columns of an events frame that are not fields of a kind.
META_COLUMNS = ("kind", "occurred_at", "participant", "platform", "source_key")
#: Keyword arguments of ``log`` that a frame may not carry as columns (they come from the call).
RESERVED_COLUMNS = ("at", "source", "force", "occurrence", "again", "supersedes")
#: Keys per ``IN (...)`` query, well below SQLite's and PostgreSQL's parameter limits.
CHUNK_KEYS = 5_000
_US = dt.timedelta(microseconds=1)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)
NAT = np.iinfo(np.int64).min


# helpers --------------------------------------------------------------------------------------
def member_of(values: np.ndarray, allowed: Any) -> np.ndarray:
    """Membership by hashing (object arrays may mix None and text, which cannot be sorted)."""
    return pd.Series(values, dtype=object).isin(list(allowed)).to_numpy(bool)


def not_none(values: np.ndarray) -> np.ndarray:
    return np.asarray(values != None, dtype=bool)  # noqa: E711


def to_us(moment: dt.datetime) -> int:
    return (moment - _EPOCH) // _US


def from_us(us: int) -> dt.datetime:
    return _EPOCH + dt.timedelta(microseconds=int(us))


def label_error(err: ValidationError, label: Any) -> ValidationError:
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


def is_na(v: Any) -> bool:
    if isinstance(v, (list, tuple, dict)):
        return False
    return v is None or bool(pd.isna(v))


def plain(v: Any) -> Any:
    """NumPy scalars as the Python values a row of records holds."""
    return v.item() if isinstance(v, (np.bool_, np.integer, np.floating)) else v


def row_arguments(
    frame: pd.DataFrame, pos: int, source: str
) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Row ``pos`` of ``frame`` as the arguments of ``Batch.log``: kind, keywords, fields.

    The one definition of how a frame's cells map to ``log``: an empty cell (None, NaN, NaT,
    NA) is "not given"; a missing participant is the default participant.
    """
    r = {c: plain(frame[c].iat[pos]) for c in frame.columns}
    fields = {c: v for c, v in r.items() if c not in META_COLUMNS and not is_na(v)}
    participant = r.get("participant")
    if is_na(participant) or participant == "":
        participant = DEFAULT_PARTICIPANT
    at = r["occurred_at"]
    if is_na(at):
        at = None
    elif isinstance(at, pd.Timestamp):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # nanoseconds: the store keeps µs
            at = at.to_pydatetime()
    platform = r.get("platform")
    source_key = r.get("source_key")
    kwargs = {
        "participant": participant,
        "platform": None if is_na(platform) else platform,
        "at": at,
        "source": source,
        "source_key": None if is_na(source_key) else str(source_key),
    }
    return r["kind"], kwargs, fields


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


def _text_column(values: pd.Series) -> TextColumn | None:
    """A column as ``TextColumn`` if it holds strings (and empty cells), else None."""
    if values.dtype.kind == "O" and not isinstance(values.dtype, pd.CategoricalDtype):
        found = _factorize_text(values, infer=True)
        if found is _NOT_TEXT:
            return None
        if found is not None:
            return TextColumn(values, factorized=found)
    # categoricals, and columns Arrow cannot read (lone surrogates): pandas decides
    return TextColumn(values, text=True) if _is_text(values) else None


class TextColumn:
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

    def subset(self, idx: np.ndarray) -> TextColumn:
        """The same column's rows ``idx``; the work per distinct value is shared."""
        part = object.__new__(TextColumn)
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


def _blank(values: pd.Series, given: np.ndarray, txt: TextColumn | None = None) -> np.ndarray:
    """Given cells that are strings of only white space (numbers and dates given as text)."""
    if values.dtype.kind in "biufcmM":
        return np.zeros(len(values), bool)
    return given & (txt if txt is not None else TextColumn(values)).blank()


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


def time_cells(values: pd.Series, tz: dt.tzinfo) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """``parse_datetime`` per column: (µs since the epoch, UTC; given cells; unreadable cells)."""
    n = len(values)
    if isinstance(values.dtype, pd.DatetimeTZDtype):
        ns = pd.DatetimeIndex(values).as_unit("ns").asi8
        given = ns != NAT
        return np.where(given, ns // 1000, NAT), given, np.zeros(n, bool)
    raw = values.to_numpy(dtype=object)
    given = ~pd.isna(values).to_numpy(bool)
    us = np.full(n, NAT, dtype=np.int64)
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
            us[i] = to_us(parse_datetime(v, tz, "at"))
        except (ValidationError, OverflowError, ValueError):
            bad[i] = True
    return us, given, bad


class ParsedCells:
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
    out: ParsedCells,
    idx: np.ndarray,
    kind: str,
    column: TextColumn | None = None,
) -> None:
    """One field of one kind over the rows ``idx`` (``values`` and ``given`` are those rows;
    ``column``: the strings of those rows, if the frame's column holds strings)."""
    txt = None
    if f.type not in ("number", "int", "date"):
        txt = column if column is not None else TextColumn(values)
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


class ParsedColumns:
    """The parsing step of :class:`study.write.events.BulkLog`: ``parse()`` fills ``out``
    (a ``ParsedCells``), ``participant``, ``platform``, ``source_key``, ``at`` and ``kind``."""

    frame: pd.DataFrame
    n: int
    tz: dt.tzinfo
    now: dt.datetime
    part: FramePart | None
    _texts: dict[str, TextColumn | None]

    # stateless ------------------------------------------------------------------------------
    def _text(self, column: str) -> TextColumn | None:
        """The frame's column of strings, read once per distinct value (None: not strings)."""
        if column not in self._texts:
            self._texts[column] = _text_column(self.frame[column])
        return self._texts[column]

    def _text_or_cells(self, column: str) -> TextColumn:
        txt = self._text(column)
        return txt if txt is not None else TextColumn(self.frame[column])

    def _given(self, column: str) -> np.ndarray:
        """Cells that are not empty (None, NaN, NaT, NA)."""
        txt = self._text(column)
        if txt is not None:
            return txt.codes >= 0
        return ~pd.isna(self.frame[column]).to_numpy(bool)

    def parse(self) -> None:
        fr, n = self.frame, self.n
        out = self.out = ParsedCells(n)
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
                else TextColumn(fr["source_key"], distinct=True)
            )
            sg = txt.codes >= 0
            lens = txt.lens()
            out.bad |= sg & ((lens == 0) | (lens > 200) | txt.unstorable())
            self.source_key[sg] = txt.values()[sg]

        # when
        at_us, at_given, at_bad = time_cells(fr["occurred_at"], self.tz)
        out.bad |= at_bad
        now_us = to_us(self.now)
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
        rows = np.flatnonzero(~not_none(self.source_key) & ~self.out.bad)
        if not len(rows):
            return
        out = self.out
        local = self.now.astimezone(self.tz).date()
        attrs = list(out.attrs.items())
        for i in rows:
            kind = self.kind[i]
            a = {name: plain(col[i]) for name, col in attrs if col[i] is not None}
            value = None if math.isnan(out.value[i]) else float(out.value[i])
            at = from_us(self.at[i]) if self.at_given[i] else None
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
        counted = member_of(name.astype(str), COUNT_METRICS)
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
            self.at[idx[fill]] = np.minimum(us, to_us(self.now))
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
