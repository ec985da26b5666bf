"""Research question 1, job search: how many leads, from where, how far, through which ties.

Inputs are the leads table (:func:`study.tables.leads.leads`) and a ties timeline — a DataFrame
with columns participant, period_end, alive, reliable: the counts of alive and reliable ties at
each period end (``study.tables.ties.reliability_timeline``; any table in that shape works).
A period end is an instant: midnight at the start of the 1st closes the previous month (the
timeline's default ``freq="MS"``); a month's value is its last point.

* :func:`lead_rates` — leads per month and per 100 live ties, exact Poisson intervals;
* :func:`lead_shares` — leads by source basis, channel, platform or tie strength, Wilson
  intervals; :func:`tie_strength_shares` — Granovetter's often / occasionally / rarely;
* :func:`funnel` — how many leads reached each stage, and the conversion from each stage to
  the next, Wilson intervals;
* :func:`monthly_panel` and :func:`leads_model` — a Poisson (or negative-binomial) regression of
  monthly lead counts on live reliable ties and activity; rate ratios with CIs, cluster-robust
  errors by participant when the panel holds several.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from study.analysis.base import Estimate, NotEnoughData, wilson
from study.analysis.counts import CountFit, fit_counts
from study.analysis.panel import MIN_PARTICIPANTS
from study.errors import StudyError
from study.vocabulary import LEAD_PROGRESS

#: Labels for missing values in the share tables.
NO_VALUE = {"basis": "no contact", "channel": "not recorded", "platform": "not recorded"}
STRENGTH_ORDER = ("often", "occasionally", "rarely")


def poisson_rate(count: int, exposure: float, *, level: float = 0.95, what: str = "") -> Estimate:
    """A rate (count per unit of exposure) with its exact Poisson interval (Garwood)."""
    from statsmodels.stats.rates import confint_poisson

    if exposure <= 0:
        raise NotEnoughData(what or "a rate", 0, "some exposure")
    low, high = confint_poisson(int(count), float(exposure), method="exact-c", alpha=1 - level)
    return Estimate(
        count / exposure, float(low), float(high), int(count), "exact Poisson interval", level
    )


def _month(values: pd.Series) -> pd.Series:
    ts = pd.to_datetime(values, utc=True).dt.tz_convert(None)
    return ts.dt.to_period("M")


def _month_ended(period_end: pd.Series) -> pd.Series:
    """The month a timeline point closes. A period end is an instant: the midnight that starts
    the 1st (the ties timeline's default, ``freq="MS"``) closes the month before."""
    ts = pd.to_datetime(period_end, utc=True).dt.tz_convert(None) - pd.Timedelta(1, "ns")
    return ts.dt.to_period("M")


# --- leads per month --------------------------------------------------------------------------


@dataclass
class LeadRates:
    """Leads per month and per 100 live ties (per month), with the monthly table behind them."""

    per_month: Estimate
    per_100_ties: Estimate | None
    per_100_reliable: Estimate | None
    summary: pd.DataFrame
    months: int


EXPOSURES = ("end", "start")


def _exposure_month(period_end: pd.Series, exposure_at: str) -> pd.Series:
    """The month a timeline point counts for: the month it closes (``end``), or the month it
    opens (``start``: the ties at the month's start, i.e. at the previous month's end)."""
    if exposure_at not in EXPOSURES:
        raise StudyError(f"exposure_at: {exposure_at!r} is not one of {', '.join(EXPOSURES)}")
    month = _month_ended(period_end)
    return month + 1 if exposure_at == "start" else month


def _timeline_by_month(timeline: pd.DataFrame, exposure_at: str = "end") -> pd.DataFrame:
    """Alive and reliable ties at each month's end (or start), summed over participants."""
    tl = timeline.copy()
    tl["month"] = _exposure_month(tl["period_end"], exposure_at)
    tl = tl.sort_values("period_end").groupby(["participant", "month"], observed=True).last()
    return tl.groupby(level="month")[["alive", "reliable"]].sum()


def lead_rates(
    leads: pd.DataFrame,
    timeline: pd.DataFrame | None = None,
    *,
    start: Any = None,
    end: Any = None,
    exposure_at: str = "end",
    level: float = 0.95,
) -> LeadRates:
    """Leads per month over the months ``start``..``end`` (default: the leads' and timeline's
    span), and — with a timeline — per 100 live (and per 100 reliable) ties per month: the
    leads divided by the sum over months of the ties alive at each month's end
    (``exposure_at="start"``: at each month's start, the ties the month's leads could come
    through, unaffected by what the leads themselves brought about).

    Rates per live reliable tie should stop at the outcome-known horizon (cut-off − W; the
    timeline's ``known`` column): in the last W days a tie that went quiet still counts as
    alive, because its end is not known yet, so the exposure there is too large.
    """
    months = _month(leads["first_seen"]) if len(leads) else pd.Series([], dtype="period[M]")
    tl = (
        _timeline_by_month(timeline, exposure_at)
        if timeline is not None and len(timeline)
        else None
    )
    candidates = list(months) + (list(tl.index) if tl is not None else [])
    first = (
        pd.Period(pd.Timestamp(start), "M") if start is not None else min(candidates, default=None)
    )
    last = pd.Period(pd.Timestamp(end), "M") if end is not None else max(candidates, default=None)
    if first is None or last is None or last < first:
        raise NotEnoughData("leads per month (no month to count)", 0, 1)
    index = pd.period_range(first, last, freq="M")
    counts = months.value_counts().reindex(index, fill_value=0)
    table = pd.DataFrame({"month": index.to_timestamp(), "leads": counts.to_numpy()})
    n_leads = int(table["leads"].sum())
    per_month = poisson_rate(n_leads, len(index), level=level, what="leads per month")
    per_100 = per_100_rel = None
    if tl is not None:
        tl = tl.reindex(index)
        table["alive"] = tl["alive"].to_numpy()
        table["reliable"] = tl["reliable"].to_numpy()
        table["per_100_ties"] = 100 * table["leads"] / table["alive"].where(table["alive"] > 0)
        covered = table["alive"].notna()
        tie_months = float(table.loc[covered, "alive"].sum())
        rel_months = float(table.loc[covered, "reliable"].sum())
        k = int(table.loc[covered, "leads"].sum())
        if tie_months > 0:
            per_100 = poisson_rate(k, tie_months / 100, level=level, what="leads per 100 ties")
        if rel_months > 0:
            per_100_rel = poisson_rate(
                k, rel_months / 100, level=level, what="leads per 100 reliable ties"
            )
    return LeadRates(per_month, per_100, per_100_rel, table, len(index))


# --- shares -----------------------------------------------------------------------------------


@dataclass
class Shares:
    """Shares of leads by one property, each with its Wilson interval."""

    by: str
    shares: dict[str, Estimate]
    summary: pd.DataFrame
    n: int


def lead_shares(
    leads: pd.DataFrame,
    by: str = "basis",
    *,
    dropna: bool = False,
    order: Sequence[str] | None = None,
    level: float = 0.95,
) -> Shares:
    """Leads by ``by`` (basis, channel, platform, tie_strength …): count, share, Wilson CI.

    Missing values count as their own group (e.g. basis "no contact") unless ``dropna``.
    """
    if by not in leads:
        raise StudyError(f"by: the leads table has no column {by!r}")
    values = leads[by].astype("string")
    missing = NO_VALUE.get(by, "not recorded")
    values = values.dropna() if dropna else values.fillna(missing)
    n = len(values)
    if n == 0:
        raise NotEnoughData(f"shares of leads by {by}", 0, 1)
    counts = values.value_counts()
    groups = list(order) if order is not None else list(counts.index)
    groups += [g for g in counts.index if g not in groups]
    shares = {g: wilson(int(counts.get(g, 0)), n, level, modified=True) for g in groups}
    summary = pd.DataFrame(
        [
            {
                by: g,
                "leads": int(counts.get(g, 0)),
                "share": e.estimate,
                "low": e.low,
                "high": e.high,
            }
            for g, e in shares.items()
        ]
    )
    summary["n"] = n
    return Shares(by, shares, summary, n)


def tie_strength_shares(leads: pd.DataFrame, *, level: float = 0.95) -> Shares:
    """Granovetter's question: how often did the participant interact with the contact the lead
    came through? Leads with a source contact only."""
    return lead_shares(leads, "tie_strength", dropna=True, order=STRENGTH_ORDER, level=level)


# --- the funnel -------------------------------------------------------------------------------


@dataclass
class Funnel:
    """How many leads reached each stage, and the conversion from each stage to the next."""

    reached: dict[str, int]
    conversions: dict[str, Estimate]
    summary: pd.DataFrame
    n: int = 0
    notes: list[str] = field(default_factory=list)


def funnel(leads: pd.DataFrame, *, level: float = 0.95) -> Funnel:
    """Stage counts and conversion rates P(reached k+1 | reached k) with Wilson intervals.

    Open leads count as not (yet) converted; read the later stages' rates with that in mind.
    """
    n = len(leads)
    if n == 0:
        raise NotEnoughData("the stage funnel", 0, 1)
    reached = {s: int(leads[f"reached_{s}"].sum()) for s in LEAD_PROGRESS}
    rows, conversions = [], {}
    previous = None
    for s in LEAD_PROGRESS:
        share = wilson(reached[s], n, level)
        row = {
            "stage": s,
            "reached": reached[s],
            "share_of_leads": share.estimate,
            "share_low": share.low,
            "share_high": share.high,
            "conversion": np.nan,
            "conversion_low": np.nan,
            "conversion_high": np.nan,
            "from": previous,
        }
        if previous is not None and reached[previous] > 0:
            conv = wilson(reached[s], reached[previous], level)
            conversions[s] = conv
            row.update(conversion=conv.estimate, conversion_low=conv.low, conversion_high=conv.high)
        rows.append(row)
        previous = s
    open_leads = int(leads["closed"].isna().sum()) if "closed" in leads else 0
    notes = [f"{open_leads} of {n} leads are still open"] if open_leads else []
    return Funnel(reached, conversions, pd.DataFrame(rows), n, notes)


# --- the regression ---------------------------------------------------------------------------


def monthly_panel(
    leads: pd.DataFrame,
    timeline: pd.DataFrame,
    activity: pd.DataFrame | None = None,
    *,
    start: Any = None,
    end: Any = None,
    exposure_at: str = "end",
) -> pd.DataFrame:
    """One row per participant and month: leads, alive and reliable ties at the month's end
    (``exposure_at="start"``: at its start), and the participant's activity events
    (``activity``: events, kind ``activity`` counted).

    Months run over each participant's timeline (or ``start``..``end``)."""
    tl = timeline.copy()
    tl["month"] = _exposure_month(tl["period_end"], exposure_at)
    tl = (
        tl.sort_values("period_end")
        .groupby(["participant", "month"], observed=True)[["alive", "reliable"]]
        .last()
        .reset_index()
    )
    if start is not None:
        tl = tl[tl["month"] >= pd.Period(pd.Timestamp(start), "M")]
    if end is not None:
        tl = tl[tl["month"] <= pd.Period(pd.Timestamp(end), "M")]
    counts = (
        pd.DataFrame({"participant": leads["participant"], "month": _month(leads["first_seen"])})
        .groupby(["participant", "month"], observed=True)
        .size()
        .rename("leads")
    )
    panel = tl.merge(counts.reset_index(), on=["participant", "month"], how="left")
    panel["leads"] = panel["leads"].fillna(0).astype(int)
    if activity is not None:
        act = activity
        if "kind" in act:
            act = act[act["kind"].astype("string") == "activity"]
        acts = (
            pd.DataFrame({"participant": act["participant"], "month": _month(act["occurred_at"])})
            .groupby(["participant", "month"], observed=True)
            .size()
            .rename("activity")
        )
        panel = panel.merge(acts.reset_index(), on=["participant", "month"], how="left")
        panel["activity"] = panel["activity"].fillna(0).astype(int)
    panel["month"] = panel["month"].dt.to_timestamp()
    return panel.sort_values(["participant", "month"]).reset_index(drop=True)


@dataclass
class LeadsModel:
    """Rate ratios of monthly leads: per 100 live reliable ties, per activity event, …"""

    rate_ratios: dict[str, Estimate]
    summary: pd.DataFrame
    fit: CountFit
    method: str
    n: int


def leads_model(
    panel: pd.DataFrame,
    *,
    covariates: Sequence[str] = ("reliable", "activity"),
    scale: dict[str, float] | None = None,
    family: str = "poisson",
    exposure: str | None = None,
    cluster: bool | None = None,
    level: float = 0.95,
) -> LeadsModel:
    """GLM of the monthly ``leads`` on ``covariates`` (log link).

    Rate ratios are per ``scale`` units of each covariate: by default per 100 ties for
    ``reliable`` and ``alive``, per 1 otherwise. ``exposure`` names a column whose log is the
    offset (e.g. ``alive``: then the covariates act on leads per tie). With several participants
    each has its own intercept, and from :data:`~study.analysis.panel.MIN_PARTICIPANTS` on the
    errors are cluster-robust by participant (t with G − 1 df).
    """
    scale = {"reliable": 100.0, "alive": 100.0, **(scale or {})}
    cols = [c for c in covariates if c in panel]
    missing = set(covariates) - set(cols)
    if missing:
        raise StudyError(f"covariates: the panel has no column {sorted(missing)[0]!r}")
    data = panel.dropna(subset=["leads", *cols])
    offset = None
    if exposure is not None:
        data = data[data[exposure] > 0]
        offset = np.log(data[exposure].to_numpy(dtype=float))
    X = pd.DataFrame({"const": 1.0}, index=data.index)
    groups = data["participant"].astype(str) if "participant" in data else None
    n_groups = 0 if groups is None else groups.nunique()
    if n_groups > 1:
        dummies = pd.get_dummies(groups, prefix="participant", drop_first=True, dtype=float)
        X = pd.concat([X, dummies], axis=1)
    use_cluster = n_groups >= MIN_PARTICIPANTS if cluster is None else (cluster and n_groups > 1)
    for c in cols:
        if data[c].nunique() < 2:
            raise NotEnoughData(f"a lead model ({c} does not vary)", len(data), "varying values")
        X[c] = data[c].astype(float)
    fit = fit_counts(
        data["leads"].to_numpy(),
        X.reset_index(drop=True),
        family=family,
        offset=offset,
        groups=groups.to_numpy() if use_cluster else None,
    )
    ratios, rows = {}, []
    for c in cols:
        per = scale.get(c, 1.0)
        est = fit.rate_ratio(c, scale=per, level=level)
        ratios[c] = est
        rows.append(
            {
                "covariate": c,
                "per": per,
                "rate_ratio": est.estimate,
                "low": est.low,
                "high": est.high,
                "p_value": fit.p_value(c),
            }
        )
    summary = pd.DataFrame(rows)
    summary["n"] = fit.n
    summary["method"] = fit.method
    return LeadsModel(ratios, summary, fit, fit.method, fit.n)
