"""Rows of the log as pandas DataFrames with proper dtypes (imported only when reading)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

from study import store
from study.vocabulary import ATTRIBUTE_FIELDS, BASES, KINDS, PLATFORMS

EVENT_COLUMNS = (
    "id",
    "participant",
    "platform",
    "occurred_at",
    "recorded_at",
    "kind",
    "contact",
    "value",
    *ATTRIBUTE_FIELDS,
    "source",
    "source_key",
)
_BOOL_ATTRIBUTES = ("with_message",)
_DATE_ATTRIBUTES = ("period_start", "period_end", "removed_after", "removed_before")


def _utc(values: Any) -> pd.Series:
    return pd.to_datetime(pd.Series(values, dtype="object"), utc=True)


def events_frame(rows: Sequence[Any]) -> pd.DataFrame:
    """One row per event; attributes spread into columns named after the vocabulary's fields."""
    base = pd.DataFrame.from_records(
        [tuple(r) for r in rows],
        columns=[c.name for c in store.events.columns],
    )
    attrs = [a if isinstance(a, dict) else json.loads(a or "{}") for a in base.pop("attributes")]
    if attrs:
        flat = pd.DataFrame.from_records(attrs, columns=list(ATTRIBUTE_FIELDS), index=base.index)
    else:  # from_records cannot build an empty frame on an empty index
        flat = pd.DataFrame(columns=list(ATTRIBUTE_FIELDS), index=base.index)
    df = pd.concat([base, flat], axis=1)
    return tidy_events(df)


def tidy_events(df: pd.DataFrame) -> pd.DataFrame:
    """Give an events table (ours, or anyone's in the same columns) the documented dtypes."""
    df = df.copy()
    for col in EVENT_COLUMNS:
        if col not in df:
            df[col] = None
    df["id"] = pd.array(df["id"], dtype="Int64")
    df["occurred_at"] = _utc(df["occurred_at"])
    df["recorded_at"] = _utc(df["recorded_at"])
    df["kind"] = pd.Categorical(df["kind"], categories=list(KINDS))
    df["platform"] = pd.Categorical(df["platform"], categories=list(PLATFORMS))
    df["value"] = pd.to_numeric(df["value"], errors="coerce").astype("float64")
    for col in _BOOL_ATTRIBUTES:
        df[col] = pd.array([None if pd.isna(v) else bool(v) for v in df[col]], dtype="boolean")
    for col in _DATE_ATTRIBUTES:
        df[col] = pd.to_datetime(df[col], errors="coerce")
    for col in (
        "participant",
        "contact",
        "source",
        "source_key",
        "section",
        "name",
        "direction",
        "channel",
        "introducer",
        "outcome",
        "type",
        "topic",
        "lead",
        "stage",
        "text",
    ):
        if col in df:
            df[col] = df[col].astype("string")
    return df[list(EVENT_COLUMNS)].reset_index(drop=True)


CONTACT_COLUMNS = (
    "key",
    "participant",
    "platform",
    "basis",
    "introducer",
    "first_seen",
    "first_seen_estimated",
)
#: A contact's personal details (``contacts(names=True)``); ``name`` as ``add_contact(name=...)``.
DETAIL_COLUMNS = ("name", "profile_url", "company", "position", "email")


def contacts_frame(rows: Sequence[Any], *, names: bool = False) -> pd.DataFrame:
    cols = list(CONTACT_COLUMNS) + (list(DETAIL_COLUMNS) if names else [])
    df = pd.DataFrame.from_records([tuple(r) for r in rows], columns=cols)
    df["first_seen"] = _utc(df["first_seen"])
    df["platform"] = pd.Categorical(df["platform"], categories=list(PLATFORMS))
    df["basis"] = pd.Categorical(df["basis"], categories=list(BASES))
    df["first_seen_estimated"] = df["first_seen_estimated"].astype(bool)
    for col in ("key", "participant", "introducer", *(DETAIL_COLUMNS if names else ())):
        df[col] = df[col].astype("string")
    return df


# the fast read ---------------------------------------------------------------------------------
#: Rows fetched per round trip when reading events (bounds the memory of Python objects).
READ_CHUNK = 200_000
#: Columns read straight from the events table (the rest are attributes).
_TABLE_COLUMNS = tuple(c.name for c in store.events.columns if c.name != "attributes")
_NUMBER_ATTRIBUTES = ("introducer_connections",)


def _string_dtype() -> pd.StringDtype:
    """Text columns: pandas' string dtype, stored by Arrow (a tenth of the memory of objects)."""
    return pd.StringDtype("pyarrow")


def event_columns(columns: Sequence[str] | None) -> list[str]:
    """The columns to read, in the documented order; refuse names that are not columns."""
    if columns is None:
        return list(EVENT_COLUMNS)
    unknown = [c for c in columns if c not in EVENT_COLUMNS]
    if unknown:
        from study.errors import ValidationError

        raise ValidationError(
            f"{unknown[0]!r} is not a column of events (one of: {', '.join(EVENT_COLUMNS)})",
            "columns",
        )
    return [c for c in EVENT_COLUMNS if c in set(columns)]


def _attribute_schema(names: list[str]) -> Any:
    import pyarrow as pa

    def kind(name: str) -> Any:
        if name in _DATE_ATTRIBUTES:
            return pa.timestamp("s")
        if name in _BOOL_ATTRIBUTES:
            return pa.bool_()
        if name in _NUMBER_ATTRIBUTES:
            return pa.float64()
        return pa.string()

    return pa.schema([(n, kind(n)) for n in names])


def _attributes(texts: list[Any], names: list[str]) -> pd.DataFrame:
    """The attributes' JSON texts as columns, parsed by Arrow's JSON reader (one per line)."""
    import io

    import pyarrow as pa
    import pyarrow.json as pj

    if not texts:
        return pd.DataFrame({n: pd.Series([], dtype=object) for n in names})
    lines = [t if isinstance(t, str) else json.dumps(t or {}) for t in texts]
    data = "\n".join(lines).encode() + b"\n"
    try:
        table = pj.read_json(
            io.BytesIO(data),
            read_options=pj.ReadOptions(block_size=max(1 << 20, len(data) // 4 + 1)),
            parse_options=pj.ParseOptions(
                explicit_schema=_attribute_schema(names), unexpected_field_behavior="ignore"
            ),
        )
        if table.num_rows != len(lines):
            raise pa.ArrowInvalid("a line per row")
        return pd.DataFrame(
            {n: table.column(n).to_pandas(types_mapper=_arrow_types) for n in names}
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):  # an odd value: the slow, forgiving way
        records = [json.loads(t) if isinstance(t, str) else (t or {}) for t in texts]
        return pd.DataFrame.from_records(records, columns=names)


def _arrow_types(t: Any) -> Any:
    import pyarrow as pa

    if t == pa.string():
        return _string_dtype()
    if t == pa.bool_():
        return pd.BooleanDtype()
    return None


def _strings(values: Any) -> Any:
    import pyarrow as pa

    return pd.arrays.ArrowStringArray(pa.array(values, type=pa.string()))


def _chunk_frame(rows: list[Any], names: list[str], attrs: list[str]) -> pd.DataFrame:
    """One chunk of rows (table columns, then the attributes' JSON) as typed columns."""
    cols = list(zip(*rows, strict=True)) if rows else [()] * (len(names) + bool(attrs))
    out: dict[str, Any] = {}
    for name, values in zip(names, cols, strict=False):
        if name in ("participant", "contact", "source", "source_key"):
            out[name] = _strings(values)
            continue
        arr = np.asarray(values, dtype=object)
        if name == "id":
            out[name] = pd.array(arr.astype("int64"), dtype="Int64")
        elif name in ("occurred_at", "recorded_at"):
            text = len(arr) and isinstance(arr[0], str)  # SQLite: text; PostgreSQL: datetimes
            times = pd.to_datetime(arr, utc=True, format="ISO8601" if text else None)
            out[name] = pd.DatetimeIndex(times).as_unit("ns")
        elif name == "kind":
            out[name] = pd.Categorical(arr, categories=list(KINDS))
        elif name == "platform":
            out[name] = pd.Categorical(arr, categories=list(PLATFORMS))
        elif name == "value":
            out[name] = pd.to_numeric(pd.Series(arr), errors="coerce").astype("float64").to_numpy()
        else:
            out[name] = _strings(values)
    frame = pd.DataFrame(out)
    if attrs:
        flat = _attributes(list(cols[len(names)]), attrs)
        for name in attrs:
            frame[name] = _attribute_column(flat[name], name)
    return frame


def read_events(partitions: Any, columns: list[str]) -> pd.DataFrame:
    """Events from chunks of raw rows, typed chunk by chunk so memory stays near the output's.

    ``partitions`` yields lists of rows holding the table columns of ``columns`` (in
    :data:`_TABLE_COLUMNS` order) and, if any attribute is asked for, the attributes' JSON text
    last.
    """
    names = [c for c in _TABLE_COLUMNS if c in columns]
    attrs = [c for c in columns if c in ATTRIBUTE_FIELDS]
    chunks = [_chunk_frame(rows, names, attrs) for rows in partitions]
    if not chunks:
        chunks = [_chunk_frame([], names, attrs)]
    df = pd.concat(chunks, ignore_index=True) if len(chunks) > 1 else chunks[0]
    return df[columns]


# SQLite: whole chunks as text, parsed by Arrow ---------------------------------------------------
_SEP = "\x1f"  # unit separator: never in a validated key or kind; JSON escapes it


def read_events_sqlite(conn: Any, conditions: list[Any], columns: list[str]) -> pd.DataFrame:
    """Events from SQLite with a few Python objects per chunk rather than one per value.

    SQLite joins each chunk of rows (a range of ids) into two strings: the table columns
    separated by ``\\x1f``, and the attributes' JSON, a line per row. Arrow's CSV and JSON
    readers parse them; NumPy sorts by (occurred_at, id) at the end. A chunk whose text does not
    parse into the expected rows (a separator inside a value) is fetched row by row instead.
    """
    from sqlalchemy import Text, and_, cast, func, literal, select, type_coerce
    from sqlalchemy.types import NullType

    from study import store

    e = store.events.c
    names = [c for c in _TABLE_COLUMNS if c in columns]
    for must in ("id", "occurred_at"):  # the order needs them
        if must not in names:
            names.append(must)
    attrs = [c for c in columns if c in ATTRIBUTE_FIELDS]
    # one printf per row (a missing value prints as ""; numbers as CAST(... AS TEXT) writes
    # them): cheaper for SQLite than a chain of || and ifnull
    line = func.printf(literal(_SEP.join(["%s"] * len(names))), *(e[n] for n in names))
    outputs = [func.count(), type_coerce(func.group_concat(line, "\n"), NullType())]
    if attrs:
        outputs.append(type_coerce(func.group_concat(cast(e.attributes, Text), "\n"), NullType()))
    lo, hi = conn.execute(select(func.min(e.id), func.max(e.id))).one()

    def exact(window: list[Any]) -> dict[str, Any]:
        """The slow, exact way for one chunk: its rows as tuples."""
        cols = [type_coerce(e[c], NullType()) for c in names]
        if attrs:
            cols.append(type_coerce(cast(e.attributes, Text), NullType()))
        rows = conn.execute(select(*cols).where(and_(*window, *conditions))).all()
        slow = _chunk_frame([tuple(r) for r in rows], names, attrs)
        return {c: slow[c].array for c in slow.columns}

    # SQLite writes the next chunk's text (on this connection, in this thread: one read
    # transaction, one snapshot; the driver lets go of the GIL meanwhile) while a second thread
    # parses the chunk before it
    chunks: list[Any] = []
    pending: tuple[list[Any], Future[Any]] | None = None

    def collect() -> None:
        if pending is not None:
            frame = pending[1].result()
            chunks.append(exact(pending[0]) if frame is None else frame)

    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="study-read") as pool:
        if lo is not None:
            for start in range(lo - 1, hi, READ_CHUNK):
                window = [e.id > start, e.id <= start + READ_CHUNK]
                got = tuple(conn.execute(select(*outputs).where(and_(*window, *conditions))).one())
                count, text, attr_text = (*got, None)[:3]
                del got
                collect()  # at most two chunks' text in memory
                pending = None
                if count:
                    job = pool.submit(_parse_chunk, text, attr_text, names, attrs, count)
                    pending = (window, job)
                del text, attr_text
        collect()
    if not chunks:
        empty = _chunk_frame([], names, attrs)
        chunks = [{c: empty[c].array for c in empty.columns}]
    return _assemble(chunks, columns)


def _assemble(chunks: list[dict[str, Any]], columns: list[str]) -> pd.DataFrame:
    """The chunks (dicts of arrays) as one frame in (occurred_at, id) order, built a column at
    a time and freeing each chunk's column as it goes: memory holds the output plus one column,
    not two copies of everything."""
    ids = np.concatenate([np.asarray(c["id"], dtype="int64") for c in chunks])
    times = np.concatenate([pd.DatetimeIndex(c["occurred_at"]).asi8 for c in chunks])
    order = np.lexsort((ids, times))
    del ids, times
    ordered = bool(np.all(order[1:] > order[:-1])) if len(order) > 1 else True
    out: dict[str, Any] = {}
    for name in columns:
        parts = [pd.Series(c.pop(name), copy=False) for c in chunks]
        col = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
        del parts
        out[name] = (col if ordered else col.take(order)).reset_index(drop=True)
        del col
    return pd.DataFrame(out, columns=columns, copy=False)


def _parse_chunk(
    text: str, attr_text: str | None, names: list[str], attrs: list[str], count: int
) -> dict[str, Any] | None:
    import io

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pcsv

    types = {
        "id": pa.int64(),
        "value": pa.float64(),
        "occurred_at": pa.timestamp("us"),
        "recorded_at": pa.timestamp("us"),
    }
    try:
        table = pcsv.read_csv(
            io.BytesIO(text.encode()),
            read_options=pcsv.ReadOptions(column_names=names, block_size=1 << 24),
            parse_options=pcsv.ParseOptions(
                delimiter=_SEP, quote_char=False, escape_char=False, newlines_in_values=False
            ),
            convert_options=pcsv.ConvertOptions(
                column_types={n: types.get(n, pa.string()) for n in names},
                null_values=[""],
                strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows != count:
        return None
    out: dict[str, Any] = {}
    for name in names:
        col = table.column(name)
        if name == "id":
            out[name] = pd.array(col.to_numpy(zero_copy_only=False), dtype="Int64")
        elif name in ("occurred_at", "recorded_at"):
            us = col.to_numpy(zero_copy_only=False).astype("datetime64[ns]")
            out[name] = pd.DatetimeIndex(us).tz_localize("UTC")
        elif name in ("kind", "platform"):
            cats = list(KINDS) if name == "kind" else list(PLATFORMS)
            codes = pc.fill_null(pc.index_in(col, value_set=pa.array(cats)), -1)
            out[name] = pd.Categorical.from_codes(codes.to_numpy(), categories=cats)
        elif name == "value":
            out[name] = col.to_numpy(zero_copy_only=False).astype("float64")
        else:
            out[name] = pd.arrays.ArrowStringArray(col)
    if attrs:
        flat = _attributes_text(attr_text or "", attrs, count)
        if flat is None:
            return None
        for name in attrs:
            out[name] = pd.array(_attribute_column(flat[name], name))
    return out


def _attributes_text(text: str, names: list[str], count: int) -> pd.DataFrame | None:
    import io

    import pyarrow as pa
    import pyarrow.json as pj

    data = text.encode() + b"\n"
    try:
        table = pj.read_json(
            io.BytesIO(data),
            read_options=pj.ReadOptions(block_size=max(1 << 20, len(data) // 4 + 1)),
            parse_options=pj.ParseOptions(
                explicit_schema=_attribute_schema(names), unexpected_field_behavior="ignore"
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return None
    if table.num_rows != count:
        return None
    return pd.DataFrame({n: table.column(n).to_pandas(types_mapper=_arrow_types) for n in names})


def _date_column(col: pd.Series) -> np.ndarray:
    """Dates as naive datetime64[ns]: as they are if Arrow parsed them; ISO text parsed at
    once (most rows have none), anything else as pandas reads it one by one."""
    if pd.api.types.is_datetime64_dtype(col.dtype):  # Arrow's JSON reader parsed them
        return col.to_numpy().astype("datetime64[ns]")
    out = np.full(len(col), np.datetime64("NaT"), dtype="datetime64[ns]")
    present = col.notna().to_numpy()
    if present.any():
        values = col[present].astype(str)
        try:
            parsed = pd.to_datetime(values, format="ISO8601")
            if parsed.dt.tz is not None:
                raise ValueError("a date with a time zone")
        except (ValueError, TypeError):
            parsed = pd.to_datetime(values.astype(object), errors="coerce").astype("datetime64[ns]")
        out[present] = parsed.to_numpy(dtype="datetime64[ns]")
    return out


def _attribute_column(col: pd.Series, name: str) -> Any:
    if name in _DATE_ATTRIBUTES:
        return _date_column(col)
    if name in _BOOL_ATTRIBUTES:
        return col.astype("boolean").array
    if name in _NUMBER_ATTRIBUTES:
        return pd.to_numeric(col, errors="coerce").astype("float64").array
    return col.astype(_string_dtype()).array
