"""The data fingerprint of a report: how many events, and a SHA-256 of them in canonical form.

Two reports with the same fingerprint were made from the same events, whatever the database,
the order of insertion or the time of recording. The canonical form of an event is its JSON
without the database's row id and the recording time, with sorted keys and UTC times; the
lines are sorted before hashing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

    from study.api import Study
    from study.periods import Period

#: Columns that say how an event was stored, not what happened: left out of the fingerprint.
STORAGE_COLUMNS = ("id", "recorded_at")


@dataclass(frozen=True)
class Fingerprint:
    events: int
    sha256: str


def _plain(value: Any) -> Any:
    import pandas as pd

    if value is None or value is pd.NA or value is pd.NaT:
        return None
    if isinstance(value, pd.Timestamp | dt.datetime):
        ts = pd.Timestamp(value)
        ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
        return ts.isoformat()
    if isinstance(value, float):
        return None if math.isnan(value) else value
    if hasattr(value, "item"):  # numpy scalars
        return _plain(value.item())
    return value


def canonical_lines(events: pd.DataFrame) -> list[str]:
    """One sorted JSON line per event, without the storage columns."""
    cols = sorted(c for c in events.columns if c not in STORAGE_COLUMNS)
    lines = [
        json.dumps(
            {c: _plain(v) for c, v in zip(cols, row, strict=True)},
            sort_keys=True,
            ensure_ascii=False,
            separators=(",", ":"),
        )
        for row in events[cols].itertuples(index=False, name=None)
    ]
    return sorted(lines)


def fingerprint(events: pd.DataFrame) -> Fingerprint:
    """The fingerprint of an events table (as :meth:`Study.events` returns it)."""
    digest = hashlib.sha256("\n".join(canonical_lines(events)).encode("utf-8")).hexdigest()
    return Fingerprint(len(events), digest)


def period_bounds(period: Period) -> tuple[dt.datetime, dt.datetime]:
    """First and last moment of a period, naive (read in the study's time zone)."""
    return (
        dt.datetime.combine(period.start, dt.time.min),
        dt.datetime.combine(period.end, dt.time.max),
    )


def period_events(study: Study, participant: str, period: Period) -> pd.DataFrame:
    """The participant's events that occurred in the period (days in the study's time zone)."""
    since, until = period_bounds(period)
    return study.events(participant=participant, since=since, until=until)


def data_fingerprint(study: Study, participant: str, period: Period) -> Fingerprint:
    return fingerprint(period_events(study, participant, period))
