"""Rows of the log as pandas DataFrames with proper dtypes (imported only when reading)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import pandas as pd

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
        columns=[
            "id",
            "participant",
            "platform",
            "occurred_at",
            "recorded_at",
            "kind",
            "contact",
            "value",
            "attributes",
            "source",
            "source_key",
        ],
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
DETAIL_COLUMNS = ("display_name", "profile_url", "company", "position", "email")


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
