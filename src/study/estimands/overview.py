"""The overview part: what the report's first part prints, and the panel's pooled figures.

* **indicators**: the study's indicators for the period and the periods before
  (:func:`study.analysis.overview.indicators`): counts of the log (live and reliable ties, new
  ties, job leads, profile views as entered, followers, the own name's rank), printed without
  intervals because nothing in them is estimated: they are what the log holds;
* **network**: the contacts recorded and what became of them, so that the counts of the other
  parts (ties in the network figure, live ties, ties in the survival analysis) can be told
  apart;
* **panel**: a study of several participants: per participant its counts, and pooled the two
  figures the research questions rest on, leads through a contact per 100 reliable ties and
  month (:mod:`study.estimands.job_search`) and the views' level change at the profile
  completion (:mod:`study.estimands.reputation`, random-effects pooling), both
  population-level and so none below :data:`~study.analysis.panel.MIN_PARTICIPANTS`
  participants.
"""

from __future__ import annotations

import calendar
import datetime as dt
from dataclasses import dataclass, field

import pandas as pd

from study.analysis.base import Estimate, NotEnoughData
from study.analysis.overview import Overview
from study.analysis.panel import MIN_PARTICIPANTS
from study.estimands import result
from study.periods import Period, parse_period
from study.tables.bundle import Tables

#: How many periods before the report's period the overview shows.
PERIODS_BEFORE = {"month": 3, "quarter": 3}


def tables_period(tables: Tables) -> Period:
    """The report period the tables were cut for (``start`` to the cut-off); without a start,
    the month of the cut-off."""
    end = (tables.cutoff - pd.Timedelta(hours=12)).date()
    if tables.start is None:
        return parse_period(f"{end.year}-{end.month:02d}")
    start = (tables.start + pd.Timedelta(hours=12)).date()
    last = calendar.monthrange(end.year, end.month)[1]
    if start.day == 1 and end.day == last:
        if (start.year, start.month) == (end.year, end.month):
            return parse_period(f"{end.year}-{end.month:02d}")
        if start.year == end.year and start.month % 3 == 1 and end.month == start.month + 2:
            return parse_period(f"{end.year}-Q{(start.month - 1) // 3 + 1}")
        if start.year == end.year and start.month == 1 and end.month == 12:
            return parse_period(f"{end.year}")
    return parse_period(f"{start.isoformat()}..{end.isoformat()}")


def overview_span(period: Period) -> tuple[dt.date, dt.date, str]:
    """Start, end and step of the overview's periods: a month with the three before it, a
    quarter with the three before it, a year by quarters, a range of dates by months."""
    from study.periods import period_kind

    kind = period_kind(period)
    if kind in PERIODS_BEFORE:
        months = PERIODS_BEFORE[kind] * (3 if kind == "quarter" else 1)
        start = (pd.Timestamp(period.start) - pd.DateOffset(months=months)).date()
        return start, period.end, kind
    if kind == "year":
        return period.start, period.end, "quarter"
    return period.start.replace(day=1), period.end, "month"


@dataclass
class Indicators:
    """The indicators per period; counts of the log, so nothing to validate."""

    overview: Overview

    @property
    def summary(self) -> pd.DataFrame:
        return self.overview.summary

    def estimands(self) -> dict[str, Estimate]:
        return {}


@result("overview.indicators")
def overview_indicators(tables: Tables) -> Indicators:
    from study.analysis import overview
    from study.tables.metrics import metric_periods

    inputs = {
        "timeline": tables.timeline,
        "ties": tables.ties,
        "leads": tables.leads,
        "panel": tables.panel,
    }
    inputs = {k: v for k, v in inputs.items() if len(v)}
    if not inputs:
        raise NotEnoughData("indicators (ties, leads or metrics)", 0, 1)
    views = metric_periods(tables.history, "profile_views", participant=tables.participant)
    start, end, freq = overview_span(tables_period(tables))
    return Indicators(
        overview.indicators(
            start,
            end,
            freq=freq,
            participant=tables.participant,
            views=views if len(views) else None,
            **inputs,
        )
    )


@dataclass
class NetworkCounts:
    """The contacts recorded by the cut-off and what became of them."""

    contacts: int
    rule: int
    new: int
    ties: int
    alive: int
    followed: int

    def estimands(self) -> dict[str, Estimate]:
        return {}


@result("overview.network")
def overview_network(tables: Tables) -> NetworkCounts:
    from study.report.counts import RULE_BASES
    from study.tables.ties import alive_at_cutoff

    known = tables.contacts[tables.contacts["first_seen"] <= tables.cutoff]
    if known.empty:
        raise NotEnoughData("contacts", 0, 1)
    t = tables.ties
    latest = t.sort_values("spell").groupby(["participant", "contact"], observed=True).tail(1)
    new = (
        int((known["first_seen"] >= tables.start).sum()) if tables.start is not None else len(known)
    )
    return NetworkCounts(
        contacts=len(known),
        rule=int(known["basis"].isin(RULE_BASES).sum()),
        new=new,
        ties=len(latest),
        alive=int(alive_at_cutoff(latest).sum()) if len(latest) else 0,
        followed=int(t["duration_days"].notna().sum()) if len(t) else 0,
    )


@dataclass
class PanelFigures:
    """A panel: per participant its counts; pooled, leads through a contact per 100 reliable
    ties and month and the views' level change (None where a participant too few)."""

    participants: pd.DataFrame
    leads_per_100: Estimate | None
    views_level: Estimate | None
    missing: list[NotEnoughData] = field(default_factory=list)

    @property
    def n(self) -> int:
        return len(self.participants)

    def estimands(self) -> dict[str, Estimate]:
        out = {}
        if self.leads_per_100 is not None:
            out["leads per 100 reliable ties and month"] = self.leads_per_100
        if self.views_level is not None:
            out["rr level change"] = self.views_level
        return out


def participant_counts(tables: Tables) -> pd.DataFrame:
    """Per participant: ties ever, live and reliable ties at the cut-off, job leads."""
    from study.tables.ties import alive_at_cutoff

    t = tables.ties
    latest = t.sort_values("spell").groupby(["participant", "contact"], observed=True).tail(1)
    tl = tables.timeline.sort_values("period_end").groupby("participant", observed=True).last()
    leads = tables.leads.groupby(tables.leads["participant"].astype(str)).size()
    rows = []
    for pid, g in latest.groupby(latest["participant"].astype(str), sort=True):
        rows.append(
            {
                "participant": pid,
                "ties": len(g),
                "alive": int(alive_at_cutoff(g).sum()),
                "reliable": int(tl.loc[pid, "reliable"]) if pid in tl.index else 0,
                "leads": int(leads.get(pid, 0)),
            }
        )
    return pd.DataFrame(rows, columns=["participant", "ties", "alive", "reliable", "leads"])


@result("overview.panel")
def overview_panel(tables: Tables) -> PanelFigures:
    from study.estimands import Results

    pids = tables.history["participant"].dropna().astype(str).unique()
    if tables.participant is not None or len(pids) < 2:
        raise NotEnoughData("a panel (participants)", len(pids), 2)
    per = participant_counts(tables)
    r = Results(tables)
    missing = []
    leads = views = None
    if len(per) >= MIN_PARTICIPANTS:
        rates = r.get("job_search.rates")
        leads = None if rates is None else rates.per_100_reliable
        v = r.get("reputation.views")
        views = None if v is None else v.pooled.get("rr level change")
        if v is not None:
            missing = v.missing
    return PanelFigures(per, leads, views, missing)
