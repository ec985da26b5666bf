"""Research question 3, online reputation: the numbers the report's part prints.

* **views**: an interrupted time series of the profile views around the profile completion
  (:func:`study.analysis.reputation.profile_completion`), fitted to the periods as they were
  entered (:func:`study.tables.metrics.metric_periods`: a monthly count is one observation, a
  period a platform missed is missing), with a separate pre-trend and slope change only with
  :data:`~study.analysis.reputation.MIN_TREND_WEEKS` measured weeks on each side;
* **trends**: the followers' gain per month (a count model of the gains between measurements,
  not a line through a random walk) and the own name's web-search rank as a factor per month;
* **activity**: distributed-lag rate ratios of the views on each activity, adjusted for the
  level change and the season, with Holm-adjusted p-values across the activity types (the
  text names an activity only if it stands out after that adjustment).

A panel pools the participants' own fits by a random-effects meta-analysis
(:func:`study.analysis.panel.random_effects`), and gives no pooled figure below
:data:`~study.analysis.panel.MIN_PARTICIPANTS` participants.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from study.analysis.base import Estimate, NotEnoughData
from study.analysis.panel import MIN_PARTICIPANTS, random_effects, too_few_participants
from study.analysis.reputation import (
    GrowthResult,
    LagResult,
    RankChange,
    ViewsIts,
    activity_lags,
    metric_growth,
    profile_completion,
    rank_change,
    segmented_its,
)
from study.estimands import result
from study.tables.bundle import Tables

#: Activity types whose association with the views the section reports.
ACTIVITIES = ("group_post", "article", "talk")
#: Weeks of activity whose association with the views is summed (this week and four before).
LAGS = 4
#: Activities of a type needed before the text speaks of its association.
MIN_ACTIVITIES = 5


def participants(tables: Tables) -> list[str]:
    """The participants of the tables: the one named, or every one in the history."""
    if tables.participant is not None:
        return [tables.participant]
    return sorted(tables.history["participant"].dropna().astype(str).unique())


def _per_participant(
    tables: Tables, fn: Callable[[str], Any]
) -> tuple[list[Any], list[NotEnoughData]]:
    """``fn(participant)`` for every participant; the errors of those with too few data."""
    fits, missing = [], []
    for pid in participants(tables):
        try:
            fits.append(fn(pid))
        except NotEnoughData as exc:
            missing.append(exc)
    return fits, missing


def _log_se(est: Estimate) -> tuple[float, float]:
    """log estimate and its standard error, from a ratio's interval (normal quantiles)."""
    from scipy.stats import norm

    q = norm.ppf(0.5 + est.level / 2)
    return math.log(est.estimate), (math.log(est.high) - math.log(est.low)) / (2 * q)


def pooled(estimates: list[Estimate]) -> Estimate:
    """Per-participant ratios pooled by a random-effects meta-analysis (a participant whose
    interval has no finite positive bound carries no information and is left out)."""
    pairs = [
        _log_se(e) for e in estimates if e.low > 0 and math.isfinite(e.high) and e.estimate > 0
    ]
    if len(pairs) < MIN_PARTICIPANTS:
        raise too_few_participants(len(pairs), "a pooled ratio")
    b, se = zip(*pairs, strict=True)
    return random_effects(b, np.square(se))


# --- the views around the profile completion ----------------------------------------------------


def views_fit(tables: Tables, participant: str) -> ViewsIts:
    """One participant's ITS of the profile views around the profile completion."""
    from study.tables.metrics import metric_periods

    periods = metric_periods(tables.history, "profile_views", participant=participant)
    periods = periods[periods["start"] <= tables.cutoff.tz_convert(None)]
    day = profile_completion(tables.history, participant)
    return segmented_its(periods, day)


@dataclass
class ViewsResult:
    """The views' ITS: one participant's fit, or a panel's fits pooled."""

    fits: list[ViewsIts]
    pooled: dict[str, Estimate] = field(default_factory=dict)
    missing: list[NotEnoughData] = field(default_factory=list)

    @property
    def fit(self) -> ViewsIts:
        """The (first) participant's fit."""
        return self.fits[0]

    def estimands(self) -> dict[str, Estimate]:
        return self.pooled if len(self.fits) > 1 else self.fit.estimands()


@result("reputation.views")
def reputation_views(tables: Tables) -> ViewsResult:
    fits, missing = _per_participant(tables, lambda pid: views_fit(tables, pid))
    if not fits:
        if missing:
            raise missing[0]
        raise NotEnoughData("profile views", 0, 1)
    if len(participants(tables)) == 1:
        return ViewsResult(fits, missing=missing)
    if len(fits) < MIN_PARTICIPANTS:
        raise too_few_participants(len(fits), "the views' level change")
    # each participant's log level change and its own standard error (t-based intervals would
    # not give it back exactly)
    level = random_effects([f.log_level for f in fits], [f.log_level_se**2 for f in fits])
    out: dict[str, Estimate] = {"rr level change": level}
    for name in ("rr trend per year", "rr pre-trend per year", "rr slope change per year"):
        terms = [f.estimands().get(name) for f in fits]
        if all(e is not None for e in terms):
            with contextlib.suppress(NotEnoughData):
                out[name] = pooled(terms)  # type: ignore[arg-type]
    return ViewsResult(fits, out, missing)


# --- followers and the own name's rank ------------------------------------------------------------


@dataclass
class TrendsResult:
    """The followers' gain per month and the rank's factor per month (each None with too few
    measurements; ``missing`` says why)."""

    followers: GrowthResult | None
    rank: RankChange | None
    followers_pooled: Estimate | None = None
    rank_pooled: Estimate | None = None
    missing: list[NotEnoughData] = field(default_factory=list)
    participants: int = 1

    def estimands(self) -> dict[str, Estimate]:
        out = {}
        f = (
            self.followers_pooled
            if self.participants > 1
            else (self.followers.per_month if self.followers else None)
        )
        r = (
            self.rank_pooled
            if self.participants > 1
            else (self.rank.per_month if self.rank else None)
        )
        if f is not None:
            out["followers per month"] = f
        if r is not None:
            out["rank factor per month"] = r
        return out


@result("reputation.trends")
def reputation_trends(tables: Tables) -> TrendsResult:
    pids = participants(tables)
    h = tables.history
    growth, miss_g = _per_participant(tables, lambda pid: metric_growth(h, participant=pid))
    ranks, miss_r = _per_participant(tables, lambda pid: rank_change(h, participant=pid))
    missing = []
    if not growth:
        missing.append(NotEnoughData("followers", 0, "4 measurements"))
    if not ranks:
        missing.append(NotEnoughData("googlability_rank", 0, "5 checks"))
    if not growth and not ranks:
        raise NotEnoughData("followers or rank measurements", 0, 4)
    res = TrendsResult(
        growth[0] if growth else None,
        ranks[0] if ranks else None,
        missing=missing,
        participants=len(pids),
    )
    if len(pids) > 1:
        ratios = [g.per_month for g in growth if g.per_month.scale == "ratio"]
        for attr, ests in (
            ("followers_pooled", ratios),
            ("rank_pooled", [r.per_month for r in ranks]),
        ):
            with contextlib.suppress(NotEnoughData):
                setattr(res, attr, pooled(ests))
    return res


# --- activity and views ---------------------------------------------------------------------------


@dataclass
class ActivityResult:
    """Cumulative rate ratios of the weekly views per activity over this and the 4 weeks
    before; ``counts`` how many activities of each type; ``p_holm`` each type's p-value,
    Holm-adjusted across the types tested."""

    lags: LagResult | None
    ratios: dict[str, Estimate]
    counts: dict[str, int]
    p_holm: dict[str, float]
    participants: int = 1

    def stands_out(self) -> list[str]:
        """The activity types (with enough activities) whose association holds after the
        Holm adjustment."""
        return [
            a
            for a, p in self.p_holm.items()
            if p < 0.05 and self.counts.get(a, 0) >= MIN_ACTIVITIES
        ]

    def estimands(self) -> dict[str, Estimate]:
        return {f"rr {a}": e for a, e in self.ratios.items()}


def _activity_fit(tables: Tables, pid: str) -> tuple[LagResult, dict[str, int]]:
    from study.analysis.reputation import SEASON_FROM_WEEKS
    from study.tables.metrics import metric_periods, weekly_metrics

    periods = metric_periods(tables.history, "profile_views", participant=pid)
    if len(periods) and periods["days"].median() > 7:
        raise NotEnoughData("an activity lag model (views entered weekly)", 0, "weekly views")
    panel = (
        tables.panel
        if tables.participant is not None
        else weekly_metrics(tables.history, participant=pid)
    )
    panel = panel[panel["participant"] == pid]
    try:
        day = profile_completion(tables.history, pid)
    except NotEnoughData:
        day = None
    weeks = int(panel["profile_views"].notna().sum()) if len(panel) else 0
    counts = {a: int(panel[a].sum()) for a in ACTIVITIES if a in panel}
    # a kind done fewer than MIN_ACTIVITIES times has no interval that says anything (and a
    # Wald interval of so few events is too narrow): it is counted, not modelled
    often = [a for a in ACTIVITIES if counts.get(a, 0) >= MIN_ACTIVITIES]
    if not often:
        raise NotEnoughData(
            "a lag model (activities of one kind)", max(counts.values(), default=0), MIN_ACTIVITIES
        )
    res = activity_lags(
        panel,
        participant=pid,
        activities=often,
        lags=LAGS,
        family="quasipoisson",
        intervention=day,
        slope_change=day is not None,
        season=weeks >= SEASON_FROM_WEEKS,
    )
    return res, counts


@result("reputation.activity")
def reputation_activity(tables: Tables) -> ActivityResult:
    from statsmodels.stats.multitest import multipletests

    fits, missing = _per_participant(tables, lambda pid: _activity_fit(tables, pid))
    if not fits:
        if missing:
            raise missing[0]
        raise NotEnoughData("activities", 0, 1)
    counts: dict[str, int] = {}
    for _, c in fits:
        for a, k in c.items():
            counts[a] = counts.get(a, 0) + k
    if len(participants(tables)) == 1:
        lag, _ = fits[0]
        ratios = dict(lag.cumulative)
        wald = {a: _wald_p(e) for a, e in ratios.items()}
    else:
        ratios = {}
        for a in ACTIVITIES:
            # a participant with fewer than MIN_ACTIVITIES of the kind has an interval that
            # says nothing (and a Wald interval of few events that is too narrow): left out
            ests = [
                lag.cumulative[a]
                for lag, c in fits
                if a in lag.cumulative and c.get(a, 0) >= MIN_ACTIVITIES
            ]
            try:
                ratios[a] = pooled(ests)
            except NotEnoughData:
                continue
        wald = {a: _wald_p(e) for a, e in ratios.items()}
        lag = None
    names = list(wald)
    adjusted = multipletests([wald[a] for a in names], method="holm")[1] if names else []
    p_holm = dict(zip(names, map(float, adjusted), strict=True))
    return ActivityResult(lag, ratios, counts, p_holm, len(participants(tables)))


def _wald_p(est: Estimate) -> float:
    """Two-sided p-value of a ratio's Wald interval against 1 (1 for an interval without a
    finite positive bound: nothing can be told from it)."""
    from scipy.stats import norm

    if not (est.low > 0 and math.isfinite(est.high) and est.estimate > 0):
        return 1.0
    b, se = _log_se(est)
    return float(2 * norm.sf(abs(b / se))) if se > 0 else 1.0
