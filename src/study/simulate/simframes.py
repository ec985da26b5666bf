"""A simulated study as DataFrames (events, contacts, truth, end): what the analyses read,
without a database. :func:`study.simulate.frames` makes it; the power analysis and the
validation harness consume it. Its own module so that neither imports the other round a circle.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pandas as pd


@dataclass
class SimFrames:
    """A simulated study as DataFrames: what the analyses read, without a database."""

    events: pd.DataFrame
    contacts: pd.DataFrame
    truth: dict[str, Any]
    end: pd.Timestamp

    @classmethod
    def from_datas(cls, datas: list[Any], truth: dict[str, Any], win: Any) -> SimFrames:
        from study.frames import tidy_events

        ev = pd.concat([d.events for d in datas], ignore_index=True)
        ev["source"] = "simulate"
        ev["recorded_at"] = ev["occurred_at"]
        contacts = pd.concat([d.contacts for d in datas], ignore_index=True).drop(columns="name")
        est = contacts.get("first_seen_estimated")
        contacts["first_seen_estimated"] = (
            False if est is None else est.astype("boolean").fillna(False).astype(bool)
        )
        end = pd.Timestamp(win.end, tz="UTC") + pd.Timedelta(days=1)
        return cls(tidy_events(ev), contacts, truth, end)


__all__ = ["SimFrames"]
