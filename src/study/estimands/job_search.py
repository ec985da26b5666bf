"""Research question 1, job search: the numbers the report's part prints.

One function per report section (``@result("job_search.<section>")``), each taking the analysis
tables and returning the result object the section puts into words; the validation harness
checks the same functions (docs/validation.md). Every estimand is defined so that it does not
drift with the length of follow-up:

* **rates**: leads per month over every month from the first logged event to the cut-off; and
  leads *through a reliable tie* per 100 reliable ties and month, the ties (and the lead's tie)
  counted reliable at each month's *start* (a lead's own interactions must not make its tie
  reliable), and only over the months
  up to the outcome-known horizon cut-off − W (after it, a tie that went quiet still counts as
  alive and reliable: the exposure would be too large);
* **sources**: shares of all leads by channel, basis of the source contact and platform, ties
  for the most frequent group named as ties;
* **funnel**: the conversion from each stage to the next among the leads whose step is decided
  (they reached the next stage, or closed before it): an open lead is open, not a failure;
* **strength**: Granovetter's often / occasionally / rarely among leads through a contact;
* **model**: a Poisson regression of the monthly leads on the reliable ties at the month's
  start and the activity of the month before, with calendar time, over the known months.

A panel (several participants) gives population-level figures: pooled rates with
cluster-robust intervals (t, G − 1 df), and none below
:data:`~study.analysis.panel.MIN_PARTICIPANTS` participants.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from study.analysis.base import Estimate, NotEnoughData, wilson
from study.analysis.jobs import (
    NO_VALUE,
    STRENGTH_ORDER,
    LeadsModel,
    Shares,
    lead_shares,
    leads_model,
    poisson_rate,
    tie_strength_shares,
)
from study.analysis.panel import MIN_PARTICIPANTS, pooled_rate
from study.estimands import result
from study.tables.bundle import Tables
from study.vocabulary import BASES, LEAD_CHANNELS, LEAD_CLOSING, LEAD_PROGRESS, PLATFORMS

#: What the share tables break leads down by, in this order.
SOURCES = ("channel", "basis", "platform")
#: The lead model's rate ratio for reliable ties is per this many ties.
TIES_STEP = 10
#: Known months the lead model needs.
MIN_MODEL_MONTHS = 6
#: Leads per model term the lead model needs (three terms: reliable ties, activity, calendar
#: time). With fewer its Wald intervals are not to be trusted: in the world without effects,
#: with about 2 leads in the 12 known months, the rate ratio per activity covered 86 %
#: (Vittinghoff & McCulloch 2007: 5 to 9 events per term).
MIN_LEADS_PER_TERM = 5


def _month(values: pd.Series) -> pd.Series:
    ts = pd.to_datetime(values, utc=True).dt.tz_convert(None)
    return ts.dt.to_period("M")


def lead_months(tables: Tables) -> pd.DataFrame:
    """One row per participant and month, from the month of the participant's first event to
    the cut-off's month: ``leads`` (all), ``through`` (leads with a source contact),
    ``through_reliable`` (leads through a tie that was reliable at the month's start),
    ``reliable`` and ``alive`` (ties at the month's start), ``known`` (the month's start lies at
    or before the outcome-known horizon cut-off − W), ``activity`` (activities in the month
    before)."""
    h = tables.history
    if h.empty:
        raise NotEnoughData("months of a study", 0, 1)
    last = pd.Period((tables.cutoff - pd.Timedelta(1, "ns")).tz_convert(None), "M")
    first = _month(h.groupby("participant", observed=True)["occurred_at"].min())
    rows = [
        pd.DataFrame({"participant": str(pid), "month": pd.period_range(m0, last, freq="M")})
        for pid, m0 in first.items()
        if m0 <= last
    ]
    if not rows:
        raise NotEnoughData("months of a study", 0, 1)
    months = pd.concat(rows, ignore_index=True)
    keys = ["participant", "month"]

    leads = tables.leads
    month = _month(leads["first_seen"])
    counts = pd.DataFrame(
        {
            "participant": leads["participant"].astype(str),
            "month": month,
            "through": leads["contact"].notna().to_numpy(),
            "through_reliable": _reliable_at_month_start(tables, month),
        }
    )
    n = counts.groupby(keys).agg(
        leads=("through", "size"),
        through=("through", "sum"),
        through_reliable=("through_reliable", "sum"),
    )
    months = months.merge(n.reset_index(), on=keys, how="left")

    tl = tables.timeline
    if len(tl):
        ends = pd.to_datetime(tl["period_end"], utc=True)
        # a point at midnight starting the 1st is the state at the start of that month
        starts = tl[(ends == ends.dt.floor("D")) & (ends.dt.day == 1)]
        at = pd.DataFrame(
            {
                "participant": starts["participant"].astype(str).to_numpy(),
                "month": _month(starts["period_end"]).to_numpy(),
                "reliable": starts["reliable"].to_numpy(),
                "alive": starts["alive"].to_numpy(),
            }
        ).drop_duplicates(keys, keep="last")
        months = months.merge(at, on=keys, how="left")
    else:
        months["reliable"] = 0
        months["alive"] = 0

    act = h[h["kind"].astype("string") == "activity"]
    a = (
        pd.DataFrame(
            {"participant": act["participant"].astype(str), "month": _month(act["occurred_at"]) + 1}
        )
        .groupby(keys)
        .size()
        .rename("activity")
    )
    months = months.merge(a.reset_index(), on=keys, how="left")
    for col in ("leads", "through", "through_reliable", "reliable", "alive", "activity"):
        months[col] = months[col].fillna(0).astype(int)
    horizon = tables.cutoff - pd.Timedelta(days=tables.window)
    start = months["month"].dt.to_timestamp().dt.tz_localize("UTC")
    months["known"] = (start <= horizon).to_numpy()
    return months


def _reliable_at_month_start(tables: Tables, month: pd.Series) -> np.ndarray:
    """For each lead: came it through a tie that was reliable at the start of its month?"""
    from study.tables.leads import tie_state_at

    leads = tables.leads
    if leads.empty or leads["contact"].isna().all():
        return np.zeros(len(leads), dtype=bool)
    start = month.dt.to_timestamp().dt.tz_localize("UTC")
    state = tie_state_at(leads, start, tables.ties, tables.history, window_days=tables.window)
    return state["reliable"].fillna(False).to_numpy(dtype=bool)


def _participants(months: pd.DataFrame) -> int:
    return int(months["participant"].nunique())


# --- rates ------------------------------------------------------------------------------------


@dataclass
class LeadRates:
    """Leads per month, and leads through a contact per 100 reliable ties and month.

    In a panel both are population-level (per participant-month), None below
    :data:`MIN_PARTICIPANTS` participants; ``per_100_reliable`` is None without a known month
    with reliable ties."""

    per_month: Estimate | None
    per_100_reliable: Estimate | None
    months: pd.DataFrame = field(repr=False)
    leads: int
    through: int
    participants: int
    #: months counted for leads per month, and the known months behind the rate per tie
    n_months: int
    known_months: int
    tie_months: int

    def estimands(self) -> dict[str, Estimate]:
        out = {}
        if self.per_month is not None:
            out["leads per month"] = self.per_month
        if self.per_100_reliable is not None:
            out["leads per 100 reliable ties and month"] = self.per_100_reliable
        return out

    @property
    def summary(self) -> pd.DataFrame:
        """Leads per calendar month (summed over participants), for the figure."""
        m = self.months.groupby("month")[["leads", "through"]].sum().reset_index()
        m["month"] = m["month"].dt.to_timestamp()
        return m


def lead_rates(tables: Tables) -> LeadRates:
    months = lead_months(tables)
    g = _participants(months)
    known = months[months["known"]]
    n_leads, n_through = int(months["leads"].sum()), int(known["through_reliable"].sum())
    tie_months = int(known["reliable"].sum())
    per_month = per_100 = None
    if g == 1:
        per_month = poisson_rate(n_leads, len(months), what="leads per month")
        if tie_months > 0:
            per_100 = poisson_rate(n_through, tie_months / 100, what="leads per 100 reliable ties")
    elif g >= MIN_PARTICIPANTS:
        per_month = pooled_rate(months.assign(one=1.0), "leads", "one")
        if tie_months > 0 and n_through > 0:
            rate = pooled_rate(known.assign(e=known["reliable"] / 100), "through_reliable", "e")
            per_100 = rate
    return LeadRates(
        per_month,
        per_100,
        months,
        n_leads,
        int(months["through"].sum()),
        g,
        len(months),
        len(known),
        tie_months,
    )


@result("job_search.rates")
def job_search_rates(tables: Tables) -> LeadRates:
    if tables.leads.empty:
        raise NotEnoughData("job leads", 0, 1)
    return lead_rates(tables)


# --- sources ----------------------------------------------------------------------------------


@dataclass
class LeadSources:
    """Shares of all leads by channel, basis of the source contact and platform."""

    shares: dict[str, Shares]
    n: int

    def top(self, by: str) -> list[str]:
        """The most frequent groups of ``by``: one, or several when they tie."""
        s = self.shares[by].summary
        return list(s.loc[s["leads"] == s["leads"].max(), by])

    def estimands(self) -> dict[str, Estimate]:
        return {
            f"share {by}[{group}]": est
            for by, sh in self.shares.items()
            for group, est in sh.shares.items()
        }


def source_groups(tables: Tables, by: str) -> list[str]:
    """The groups a share table lists, zero counts included: every channel; every basis of
    the study's contacts (and leads without one); every platform of its contacts."""
    contacts = tables.contacts
    if by == "channel":
        return list(LEAD_CHANNELS)
    present = set(contacts[by].dropna().astype(str)) if by in contacts else set()
    if by == "basis":
        return [NO_VALUE["basis"], *(b for b in BASES if b in present)]
    return [q for q in PLATFORMS if q in present]


@result("job_search.sources")
def job_search_sources(tables: Tables) -> LeadSources:
    """Shares of all leads by channel, basis and platform; groups of the study with no lead
    are listed with 0 (a group left out would not say that it had none)."""
    leads = tables.leads
    if leads.empty:
        raise NotEnoughData("job leads", 0, 1)
    shares = {}
    for by in SOURCES:
        shares[by] = lead_shares(leads, by, order=source_groups(tables, by))
    return LeadSources(shares, len(leads))


# --- the funnel -------------------------------------------------------------------------------


@dataclass
class LeadFunnel:
    """Stage by stage: the leads that reached it, and the conversion from the stage before
    among the leads whose step was decided (reached it, or closed before it)."""

    reached: dict[str, int]
    decided: dict[str, int]
    conversions: dict[str, Estimate]
    open: int
    n: int

    @property
    def summary(self) -> pd.DataFrame:
        rows = []
        for s in LEAD_PROGRESS:
            c = self.conversions.get(s)
            rows.append(
                {
                    "stage": s,
                    "reached": self.reached[s],
                    "decided": self.decided.get(s, np.nan),
                    "conversion": c.estimate if c else np.nan,
                    "conversion_low": c.low if c else np.nan,
                    "conversion_high": c.high if c else np.nan,
                }
            )
        return pd.DataFrame(rows)

    def estimands(self) -> dict[str, Estimate]:
        return {f"conversion to {s}": e for s, e in self.conversions.items()}


def lead_funnel(leads: pd.DataFrame, *, level: float = 0.95) -> LeadFunnel:
    """Conversions that do not drift with follow-up: P(next stage | stage reached), estimated
    from the leads whose step is decided. A lead still open at a stage tells nothing yet about
    that step (counted as a failure, the rate would rise with every month of follow-up)."""
    n = len(leads)
    if n == 0:
        raise NotEnoughData("the stage funnel", 0, 1)
    reached = {s: int(leads[f"reached_{s}"].sum()) for s in LEAD_PROGRESS}
    closed = leads["closed"].astype("string")
    stopped = closed.isin([c for c in LEAD_CLOSING if c != "accepted"]).fillna(False)
    decided, conversions = {}, {}
    for prev, s in zip(LEAD_PROGRESS[:-1], LEAD_PROGRESS[1:], strict=True):
        at_prev = leads[f"reached_{prev}"].astype(bool)
        advanced = leads[f"reached_{s}"].astype(bool)
        failed = at_prev & ~advanced & stopped
        k = int(advanced.sum())
        d = k + int(failed.sum())
        decided[s] = d
        if d > 0:
            conversions[s] = wilson(k, d, level, modified=True)
    return LeadFunnel(reached, decided, conversions, int(closed.isna().sum()), n)


@result("job_search.funnel")
def job_search_funnel(tables: Tables) -> LeadFunnel:
    return lead_funnel(tables.leads)


# --- tie strength -----------------------------------------------------------------------------


@dataclass
class TieStrength:
    """Leads through a contact by how often the participant interacted with the contact."""

    shares: Shares

    def estimands(self) -> dict[str, Estimate]:
        return {f"share {g}": self.shares.shares[g] for g in STRENGTH_ORDER}


@result("job_search.strength")
def job_search_strength(tables: Tables) -> TieStrength:
    leads = tables.leads
    n = int(leads["tie_strength"].notna().sum()) if len(leads) else 0
    if n == 0:
        raise NotEnoughData("leads through a contact", 0, 1)
    return TieStrength(tie_strength_shares(leads))


# --- the model --------------------------------------------------------------------------------


@dataclass
class LeadModel:
    """Rate ratios of the monthly leads: per ``TIES_STEP`` reliable ties at the month's start
    and per activity in the month before, adjusted for calendar time."""

    model: LeadsModel
    months: int
    participants: int

    @property
    def rate_ratios(self) -> dict[str, Estimate]:
        return self.model.rate_ratios

    def estimands(self) -> dict[str, Estimate]:
        names = {"reliable": f"rr per {TIES_STEP} reliable ties", "activity": "rr per activity"}
        return {names[k]: v for k, v in self.model.rate_ratios.items() if k in names}


@result("job_search.model")
def job_search_model(tables: Tables) -> LeadModel:
    if tables.leads.empty:
        raise NotEnoughData("job leads", 0, 1)
    months = lead_months(tables)
    data = months[months["known"]].copy()
    if len(data) < MIN_MODEL_MONTHS * _participants(months):
        raise NotEnoughData("known months for a lead model", len(data), MIN_MODEL_MONTHS)
    terms = 3
    if data["leads"].sum() < MIN_LEADS_PER_TERM * terms:
        raise NotEnoughData(
            "a lead model (leads per term)",
            int(data["leads"].sum()),
            f"{MIN_LEADS_PER_TERM * terms} leads",
        )
    first = data["month"].min()
    data["years"] = (data["month"] - first).apply(lambda d: d.n) / 12
    g = _participants(months)
    m = leads_model(
        data,
        covariates=("reliable", "activity", "years"),
        scale={"reliable": TIES_STEP},
        cluster=g >= MIN_PARTICIPANTS,
    )
    return LeadModel(m, len(data), g)
