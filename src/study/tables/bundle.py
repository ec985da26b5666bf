"""The analysis tables of one participant (or a panel) at one cut-off, built once on first use.

A report, a notebook and the validation harness all start here: events and contacts up to the
cut-off in, the tables every research question needs out (ties, the reliability timeline,
introductions, the weekly metrics panel, job leads). Pure pandas; no database.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import pandas as pd

from study.periods import Period, last_complete_month, parse_period

if TYPE_CHECKING:
    from study.api import Study

#: The reliability window W (days without a two-way interaction after which a tie went quiet).
WINDOW_DAYS = 365


def resolve_period(period: str | Period, today: dt.date | None = None) -> Period:
    """A period from text (``2026-10``, ``2026-Q3``, ``2026``, ``START..END``); the empty text
    means the last complete month."""
    if isinstance(period, Period):
        return period
    if not str(period).strip():
        return last_complete_month(today or dt.date.today())
    return parse_period(period)


@dataclass
class Tables:
    """Events up to ``cutoff`` (UTC) and the contacts; each table is built on first use.

    ``start`` is the period's first moment (what happened "in the period" is the overview's);
    the analyses use the whole history up to the cut-off.
    """

    history: pd.DataFrame
    contacts: pd.DataFrame
    cutoff: pd.Timestamp
    window: int = WINDOW_DAYS
    participant: str | None = None
    start: pd.Timestamp | None = None
    #: memo of computed results (study.results.Results keeps its results here)
    memo: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.cutoff = _utc(self.cutoff)
        if self.start is not None:
            self.start = _utc(self.start)

    @classmethod
    def from_study(
        cls,
        study: Study,
        participant: str = "me",
        period: str | Period = "",
        *,
        window: int = WINDOW_DAYS,
        names: bool = False,
    ) -> Tables:
        """The participant's tables at the end of ``period`` (days in the study's time zone)."""
        p = resolve_period(period)
        tz = study.tz
        start = pd.Timestamp(dt.datetime.combine(p.start, dt.time.min, tz))
        end = pd.Timestamp(dt.datetime.combine(p.end, dt.time.max, tz))
        history = study.events(
            participant=participant, until=dt.datetime.combine(p.end, dt.time.max)
        )
        contacts = study.contacts(names=bool(names), participant=participant)
        return cls(history, contacts, end, int(window), participant, start)

    @property
    def period_events(self) -> pd.DataFrame:
        """The events that occurred in the period (from ``start``; all if there is none)."""
        if self.start is None:
            return self.history
        return self.history[self.history["occurred_at"] >= self.start]

    @cached_property
    def ties(self) -> pd.DataFrame:
        """One row per tie spell, cut off at the cut-off, reliability window W."""
        from study.tables.ties import ties

        return ties(self.history, self.contacts, cutoff=self.cutoff, window_days=self.window)

    @cached_property
    def timeline(self) -> pd.DataFrame:
        """Alive and reliable ties at each month's end up to the cut-off (its last point is the
        cut-off itself)."""
        from study.tables.ties import reliability_timeline

        t = self.ties
        if t.empty:
            return pd.DataFrame(columns=["participant", "period_end", "alive", "reliable", "share"])
        first = pd.Timestamp(t["start"].min()).tz_convert("UTC").normalize()
        ends = pd.date_range(first, self.cutoff, freq="MS", tz="UTC")
        ends = [e for e in ends if e > first and e < self.cutoff] + [self.cutoff]
        return reliability_timeline(self.history, t, freq=ends, window_days=self.window)

    @cached_property
    def introductions(self) -> pd.DataFrame:
        """One row per introduced (second-degree) contact."""
        from study.tables.introductions import introductions

        return introductions(
            self.history,
            self.contacts,
            cutoff=self.cutoff,
            window_days=self.window,
            ties_table=self.ties,
        )

    @cached_property
    def panel(self) -> pd.DataFrame:
        """The weekly metrics panel (views, followers, rank, activity, profile updates)."""
        from study.tables.metrics import weekly_metrics

        return weekly_metrics(self.history, participant=self.participant)

    @cached_property
    def leads(self) -> pd.DataFrame:
        """One row per job lead, with the source tie's state when the lead came."""
        from study.tables.leads import leads

        return leads(self.history, self.contacts, ties=self.ties, window_days=self.window)


def _utc(moment: Any) -> pd.Timestamp:
    ts = pd.Timestamp(moment)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")
