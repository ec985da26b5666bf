"""The study's indicators per period (month or quarter) and their change from period to period.

The study tracks its own goals: a network grown with reliable contacts, job leads, a better
online reputation (views, followers) and a positive "Googlability". One row per period:

* **network_size**, **reliable**: ties alive / reliable at the period's last timeline point
  (the timeline: participant, period_end, alive, reliable), summed over participants; NA when
  the timeline has no point in the period. A period end is an instant: midnight starting the
  1st (the ties timeline's default ``freq="MS"``) belongs to the month before. **share_reliable** with its Wilson interval.
* **new_ties**, **new_ties_<basis>**: ties (spells) whose start falls in the period; an
  imported tie without a connection date (``age_known`` False: a vCard's ``first_seen`` is
  its export date) is never new.
* **leads**: job leads first seen in the period.
* **views**: profile views in the period. From ``views`` (the periods as entered,
  :func:`study.tables.metrics.metric_periods`): the entered values of the periods inside it,
  a period straddling its border counted by its days on each side; NA unless complete periods
  cover at least half of it (a month with nothing entered has no views, not a few spilled
  over from the weeks around it; monthly entries come back as entered); ``views_days`` says
  how many of its days they cover (the last month often lacks its last, unexported week).
  Counts of the log, without an interval. From the weekly ``panel`` instead (older callers): each week's views spread
  over its 7 days, with an exact Poisson interval.
* **followers**, **googlability_rank**: the last value measured in the period.

:func:`changes` compares each period with the one before: differences, and for views and leads
the rate ratio (per day of the period) with a score interval.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from study.analysis.base import NotEnoughData, wilson
from study.periods import Period, periods
from study.vocabulary import BASES

#: Share of a period's days the entered views must cover for the period to show views.
MIN_COVERED = 0.5


@dataclass
class Overview:
    """Indicators per period: the table for a report, and the periods behind it."""

    summary: pd.DataFrame
    periods: list[Period]
    freq: str


def _naive_day(values: pd.Series) -> pd.Series:
    ts = pd.to_datetime(values)
    if getattr(ts.dt, "tz", None) is not None:
        ts = ts.dt.tz_convert(None)
    return ts.dt.normalize()


def _filter(df: pd.DataFrame | None, participant: str | None) -> pd.DataFrame | None:
    if df is None or participant is None or "participant" not in df:
        return df
    return df[df["participant"] == participant]


def indicators(
    start: Any,
    end: Any,
    *,
    freq: str = "month",
    timeline: pd.DataFrame | None = None,
    ties: pd.DataFrame | None = None,
    leads: pd.DataFrame | None = None,
    panel: pd.DataFrame | None = None,
    views: pd.DataFrame | None = None,
    participant: str | None = None,
    level: float = 0.95,
) -> Overview:
    """One row per month (``freq="month"``) or quarter from ``start`` to ``end``.

    Every input is optional; indicators whose table is missing are left out.
    """
    ps = periods(pd.Timestamp(start).date(), pd.Timestamp(end).date(), freq)
    if not ps:
        raise NotEnoughData("an overview (no period between start and end)", 0, 1)
    timeline, ties, leads, panel = (_filter(x, participant) for x in (timeline, ties, leads, panel))
    table = pd.DataFrame(
        {
            "period": [p.label for p in ps],
            "start": [pd.Timestamp(p.start) for p in ps],
            "end": [pd.Timestamp(p.end) for p in ps],
        }
    )
    if timeline is not None:
        table = pd.concat([table, _network(timeline, ps, level)], axis=1)
    if ties is not None:
        table = pd.concat([table, _new_ties(ties, ps)], axis=1)
    if leads is not None:
        seen = _naive_day(leads["first_seen"])
        table["leads"] = [int(((seen >= p0) & (seen <= p1)).sum()) for p0, p1 in _bounds(ps)]
    if panel is not None:
        table = pd.concat([table, _reputation(panel, ps, level)], axis=1)
    if views is not None:
        views = _filter(views, participant)
        table["views"], table["views_days"] = _entered_views(views, ps)
        table = table.drop(columns=["views_low", "views_high"], errors="ignore")
    return Overview(table, ps, freq)


def _bounds(ps: list[Period]) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
    return [(pd.Timestamp(p.start), pd.Timestamp(p.end)) for p in ps]


def _network(timeline: pd.DataFrame, ps: list[Period], level: float) -> pd.DataFrame:
    # a period end is an instant: midnight starting the 1st closes the month before
    closes = pd.to_datetime(timeline["period_end"], utc=True).dt.tz_convert(None)
    tl = timeline.assign(_day=(closes - pd.Timedelta(1, "ns")).dt.normalize()).sort_values("_day")
    rows = []
    for p0, p1 in _bounds(ps):
        inside = tl[(tl["_day"] >= p0) & (tl["_day"] <= p1)]
        if inside.empty:
            rows.append({"network_size": np.nan, "reliable": np.nan})
            continue
        last = inside.groupby("participant", observed=True)[["alive", "reliable"]].last()
        alive, reliable = int(last["alive"].sum()), int(last["reliable"].sum())
        row = {"network_size": alive, "reliable": reliable}
        if alive > 0:
            share = wilson(reliable, alive, level)
            row.update(share_reliable=share.estimate, share_low=share.low, share_high=share.high)
        rows.append(row)
    out = pd.DataFrame(rows)
    for col in ("share_reliable", "share_low", "share_high"):
        if col not in out:
            out[col] = np.nan
    return out


def _new_ties(ties: pd.DataFrame, ps: list[Period]) -> pd.DataFrame:
    if "age_known" in ties:  # an imported tie without a date began before its import, not then
        ties = ties[ties["age_known"].astype(bool)]
    day = _naive_day(ties["start"])
    basis = ties["basis"].astype("string").fillna("unknown") if "basis" in ties else None
    rows = []
    for p0, p1 in _bounds(ps):
        inside = (day >= p0) & (day <= p1)
        row = {"new_ties": int(inside.sum())}
        if basis is not None:
            counts = basis[inside].value_counts()
            row.update({f"new_ties_{b}": int(counts.get(b, 0)) for b in BASES})
        rows.append(row)
    return pd.DataFrame(rows)


def _reputation(panel: pd.DataFrame, ps: list[Period], level: float) -> pd.DataFrame:
    from statsmodels.stats.rates import confint_poisson

    week = _naive_day(panel["week"])
    rows = []
    for p0, p1 in _bounds(ps):
        row: dict[str, float] = {}
        if "profile_views" in panel:
            # days of each week inside the period (0..7)
            lo = week.clip(lower=p0)
            hi = (week + pd.Timedelta(days=6)).clip(upper=p1)
            days = ((hi - lo).dt.days + 1).clip(lower=0)
            measured = panel["profile_views"].notna() & (days > 0)
            if measured.any():
                views = float((panel.loc[measured, "profile_views"] * days[measured] / 7).sum())
                low, high = confint_poisson(round(views), 1.0, method="exact-c", alpha=1 - level)
                row.update(views=views, views_low=float(low), views_high=float(high))
            else:
                row.update(views=np.nan, views_low=np.nan, views_high=np.nan)
        in_period = (week >= p0) & (week <= p1)
        for col in ("followers", "googlability_rank"):
            if col in panel:
                values = panel.loc[in_period, ["week", col]].dropna().sort_values("week")
                if "participant" in panel and col == "followers":
                    last = panel.loc[values.index].groupby("participant", observed=True)[col].last()
                    row[col] = float(last.sum()) if len(last) else np.nan
                else:
                    row[col] = float(values[col].iloc[-1]) if len(values) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _entered_views(periods: pd.DataFrame, ps: list[Period]) -> tuple[list[float], list[int]]:
    """Views in each period from the entered periods, and the days of the period they cover
    (see the module docstring)."""
    d = periods[periods["complete"].astype(bool)]
    start = _naive_day(d["start"]).to_numpy()
    end = _naive_day(d["end"]).to_numpy()
    value = d["value"].to_numpy(dtype=float)
    days = d["days"].to_numpy(dtype=float)
    one = np.timedelta64(1, "D")
    out, covered_days = [], []
    for p0, p1 in _bounds(ps):
        lo = np.maximum(start, np.datetime64(p0))
        hi = np.minimum(end, np.datetime64(p1))
        shared = np.clip((hi - lo) / one + 1, 0, None)
        covered = int(shared.sum())
        length = (p1 - p0).days + 1
        enough = covered >= MIN_COVERED * length
        out.append(float((value * shared / days).sum()) if enough else np.nan)
        covered_days.append(covered if enough else 0)
    return out, covered_days


def changes(overview: Overview, *, level: float = 0.95) -> pd.DataFrame:
    """Each period against the one before: differences of every indicator, and the rate ratio
    of views and of leads per day (score interval, ``confint_poisson_2indep``)."""
    from statsmodels.stats.rates import confint_poisson_2indep

    t = overview.summary
    if len(t) < 2:
        raise NotEnoughData("a change between periods", len(t), 2)
    days = ((t["end"] - t["start"]).dt.days + 1).to_numpy()
    out = pd.DataFrame(
        {"period": t["period"].iloc[1:].to_numpy(), "previous": t["period"].iloc[:-1].to_numpy()}
    )
    for col in (
        "network_size",
        "reliable",
        "share_reliable",
        "new_ties",
        "leads",
        "views",
        "followers",
        "googlability_rank",
    ):
        if col in t:
            out[f"{col}_change"] = t[col].diff().iloc[1:].to_numpy()
    for col in ("views", "leads"):
        if col not in t:
            continue
        ratios, lows, highs = [], [], []
        for i in range(1, len(t)):
            now, before = t[col].iloc[i], t[col].iloc[i - 1]
            if pd.isna(now) or pd.isna(before) or before <= 0:
                for values in (ratios, lows, highs):
                    values.append(np.nan)
                continue
            k1, k0 = round(float(now)), round(float(before))
            low, high = confint_poisson_2indep(
                k1, days[i], k0, days[i - 1], method="score", compare="ratio", alpha=1 - level
            )
            ratios.append((k1 / days[i]) / (k0 / days[i - 1]))
            lows.append(float(low))
            highs.append(float(high))
        out[f"{col}_ratio"] = ratios
        out[f"{col}_ratio_low"] = lows
        out[f"{col}_ratio_high"] = highs
    return out
