"""Research question 3, online reputation: did profile work and activity move the views?

* :func:`its` — a general interrupted time series (segmented count regression) for any count
  series with one or more interventions: level change and slope change per intervention as rate
  ratios with CIs, optional exposure (offset), Fourier seasonality, Newey–West errors; fitted
  values and the counterfactual for a figure. Checked against Lopez Bernal, Cummins & Gasparrini
  (2017) in ``tests/test_refdata_its.py``.
* :func:`profile_views_its` — :func:`its` applied to the weekly panel around ``profile_updated``.
* :func:`metric_trend` — the trend of a level (followers, own-name search rank) per month.
* :func:`activity_lags` — distributed-lag count model: views in week t on activity in weeks
  t, t-1 … t-k.

Segments: for an intervention starting at time t₀ the model adds ``level = 1[t ≥ t₀]`` and
``slope = (t − t₀)·1[t ≥ t₀]``; so the level change is the jump at t₀ itself (the first
observation of the new segment against the previous segment's line extended to t₀), and the
slope change multiplies the rate per time unit from then on. The counterfactual is the fit
with every level and slope term set to zero (the pre-intervention segment continued), with the
seasonal terms and offset kept. With Fourier terms the curves also hold ``deseasonalised`` and
``deseasonalised_counterfactual`` (the seasonal terms at zero), the straight lines of the
tutorial's figure.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from study.analysis.base import Estimate, NotEnoughData
from study.analysis.counts import CountFit, fit_counts
from study.errors import StudyError

#: Observations every segment (before the first intervention, after each) needs at least.
MIN_SEGMENT = 3
WEEKS_PER_MONTH = 365.25 / 12 / 7


@dataclass(frozen=True)
class InterventionEffect:
    """One intervention's effect: where it starts, the level change and the slope change."""

    at: Any
    time: float
    level: Estimate
    slope: Estimate | None


@dataclass
class ItsResult:
    """An interrupted-time-series fit: effects, the pre-intervention trend, and the curves."""

    effects: list[InterventionEffect]
    trend: Estimate
    summary: pd.DataFrame
    curves: pd.DataFrame
    fit: CountFit
    method: str
    n: int
    time_unit: str = "time unit"

    @property
    def level(self) -> Estimate:
        """The first intervention's level change (the usual single-intervention answer)."""
        return self.effects[0].level

    @property
    def slope(self) -> Estimate | None:
        return self.effects[0].slope


def _time_values(time: Any, n: int, period: int) -> tuple[np.ndarray, pd.Series | None, str]:
    """Numeric time, the original dates (if any), and the unit's name."""
    if time is None:
        return np.arange(1, n + 1, dtype=float), None, "time unit"
    series = pd.Series(time).reset_index(drop=True)
    if len(series) != n:
        raise StudyError(f"time: {len(series)} values for {n} counts")
    if pd.api.types.is_numeric_dtype(series):
        return series.to_numpy(dtype=float), None, "time unit"
    dates = pd.to_datetime(series)
    if getattr(dates.dt, "tz", None) is not None:
        dates = dates.dt.tz_convert(None)
    return _date_time(dates, dates.iloc[0], period), dates, "week" if period == 52 else "month"


def _date_time(dates: pd.Series, origin: pd.Timestamp, period: int) -> np.ndarray:
    if period == 12:
        return ((dates.dt.year - origin.year) * 12 + dates.dt.month - origin.month).to_numpy(
            dtype=float
        )
    return ((dates - origin) / pd.Timedelta(days=7)).to_numpy(dtype=float)


def its(
    counts: Sequence[float] | np.ndarray | pd.Series,
    time: Sequence[Any] | np.ndarray | pd.Series | None = None,
    interventions: Sequence[Any] = (),
    *,
    family: str = "poisson",
    exposure: Sequence[float] | np.ndarray | pd.Series | None = None,
    fourier: int = 0,
    period: int = 52,
    season: Sequence[float] | np.ndarray | None = None,
    hac_lags: int | None = None,
    slope_change: bool = True,
    level: float = 0.95,
) -> ItsResult:
    """Segmented count regression of ``counts`` on time with one or more interventions.

    ``time``: numbers (e.g. 1..n), or dates (weekly if ``period=52``: time in weeks since the
    first date; monthly if ``period=12``: calendar months); default 1..n.
    ``interventions``: integers are positions (0-based) of the first observation after the
    intervention; dates (with date ``time``) are the intervention dates — the new segment starts
    at the first observation on or after the date.
    ``family``: ``poisson``, ``quasipoisson`` or ``negbin``. ``exposure``: the offset is its log.
    ``fourier``: number of sine/cosine pairs of period ``period`` in ``season`` (default: the
    numeric time, so month or week of the year when time counts from a January or week 1).
    ``hac_lags``: Newey–West errors with that many lags.
    """
    y = pd.Series(counts, dtype="float64").reset_index(drop=True).to_numpy()
    n = len(y)
    t, dates, unit = _time_values(time, n, period)
    starts = _intervention_times(interventions, t, dates, period)
    if not starts:
        raise NotEnoughData("an interrupted time series (no intervention)", 0, 1)
    keep = ~np.isnan(y)
    offset = None
    if exposure is not None:
        e = pd.Series(exposure, dtype="float64").reset_index(drop=True).to_numpy()
        if len(e) != n:
            raise StudyError(f"exposure: {len(e)} values for {n} counts")
        keep &= np.isfinite(e) & (e > 0)
        offset = np.log(np.where(keep, e, 1.0))
    if np.any(y[keep] < 0):
        raise StudyError("counts: a count is negative")
    X = pd.DataFrame({"const": 1.0, "time": t})
    for j, t0 in enumerate(starts, start=1):
        step = (t >= t0).astype(float)
        X[f"level_{j}"] = step
        if slope_change:
            X[f"slope_{j}"] = (t - t0) * step
    if fourier:
        if fourier < 0 or 2 * fourier > period:
            raise StudyError(f"fourier: {fourier} pairs do not fit a period of {period}")
        s = t if season is None else np.asarray(season, dtype=float)
        for k in range(1, fourier + 1):
            X[f"sin{k}"] = np.sin(2 * np.pi * k * s / period)
            X[f"cos{k}"] = np.cos(2 * np.pi * k * s / period)
    bounds = [-np.inf, *starts, np.inf]
    for j in range(len(bounds) - 1):
        inside = int(np.sum(keep & (t >= bounds[j]) & (t < bounds[j + 1])))
        if inside < MIN_SEGMENT:
            what = "before the first intervention" if j == 0 else f"after intervention {j}"
            raise NotEnoughData(f"an interrupted time series ({what})", inside, MIN_SEGMENT)
    fit = fit_counts(
        y[keep],
        X[keep].reset_index(drop=True),
        family=family,
        offset=None if offset is None else offset[keep],
        hac_lags=hac_lags,
    )
    shown = list(dates) if dates is not None else list(t)
    effects = []
    rows = []
    trend = fit.rate_ratio("time", level=level)
    rows.append(_row("trend (per " + unit + ")", None, trend, fit, "time"))
    for j, t0 in enumerate(starts, start=1):
        first = int(np.argmax(t >= t0))
        at = shown[first]
        lev = fit.rate_ratio(f"level_{j}", level=level)
        slo = fit.rate_ratio(f"slope_{j}", level=level) if slope_change else None
        effects.append(InterventionEffect(at, float(t0), lev, slo))
        rows.append(_row("level change", at, lev, fit, f"level_{j}"))
        if slo is not None:
            rows.append(_row(f"slope change (per {unit})", at, slo, fit, f"slope_{j}"))
    counterfactual = X.copy()
    for col in X.columns:
        if col.startswith(("level_", "slope_")):
            counterfactual[col] = 0.0
    curves = pd.DataFrame(
        {
            "time": shown,
            "observed": y,
            "fitted": fit.mean(X, offset),
            "counterfactual": fit.mean(counterfactual, offset),
            "segment": np.searchsorted(np.asarray(starts), t, side="right"),
        }
    )
    if fourier:
        # the seasonal terms at zero: the level averaged over the season (on the log scale)
        flat = X.copy()
        flat[[c for c in X.columns if c.startswith(("sin", "cos"))]] = 0.0
        curves["deseasonalised"] = fit.mean(flat, offset)
        flat[[c for c in X.columns if c.startswith(("level_", "slope_"))]] = 0.0
        curves["deseasonalised_counterfactual"] = fit.mean(flat, offset)
    if exposure is not None:
        curves["exposure"] = np.exp(offset) if offset is not None else 1.0
    summary = pd.DataFrame(rows)
    return ItsResult(effects, trend, summary, curves, fit, fit.method, int(keep.sum()), unit)


def _row(term: str, at: Any, est: Estimate, fit: CountFit, name: str) -> dict[str, Any]:
    return {
        "term": term,
        "at": at,
        "rate_ratio": est.estimate,
        "low": est.low,
        "high": est.high,
        "p_value": fit.p_value(name),
        "n": est.n,
        "method": est.method,
    }


def _intervention_times(
    interventions: Sequence[Any], t: np.ndarray, dates: pd.Series | None, period: int
) -> list[float]:
    out = []
    for item in interventions:
        if isinstance(item, (int, np.integer)) and not isinstance(item, bool):
            if not 0 <= item < len(t):
                raise NotEnoughData(
                    f"an interrupted time series (intervention at position {item})", len(t), item
                )
            out.append(float(t[item]))
        else:
            if dates is None:
                raise StudyError(
                    "interventions: dates need dates as time (or give positions as integers)"
                )
            day = pd.Timestamp(item)
            if day.tz is not None:
                day = day.tz_convert(None)
            after = dates[dates >= day.normalize()]
            if after.empty:
                raise NotEnoughData(
                    f"an interrupted time series (no observation after {day.date()})", 0, 1
                )
            out.append(float(t[after.index[0]]))
    return sorted(set(out))


# --- the weekly panel -------------------------------------------------------------------------


def intervention_weeks(
    panel: pd.DataFrame, *, min_gap_weeks: int = 8, sections: Sequence[str] | None = None
) -> list[pd.Timestamp]:
    """The weeks that start an intervention: profile updates closer than ``min_gap_weeks`` to
    the previous update belong to the same intervention, which starts at its first week."""
    marked = panel.loc[panel["intervention"].notna(), ["week", "intervention"]]
    if sections is not None:
        wanted = set(sections)
        marked = marked[marked["intervention"].map(lambda s: bool(wanted & set(s.split(","))))]
    weeks = sorted(pd.to_datetime(marked["week"]).unique())
    starts: list[pd.Timestamp] = []
    previous = None
    for w in weeks:
        if previous is None or (w - previous) >= pd.Timedelta(weeks=min_gap_weeks):
            starts.append(pd.Timestamp(w))
        previous = w
    return starts


def _one_series(
    panel: pd.DataFrame, participant: str | None, metric: str, extra: Sequence[str] = ()
) -> pd.DataFrame:
    if metric not in panel:
        raise StudyError(f"metric: the panel has no column {metric!r}")
    p = panel
    if participant is not None:
        p = p[p["participant"] == participant]
    elif p["participant"].nunique() > 1:
        raise StudyError("participant: the panel holds several participants; name one")
    if p.empty:
        raise NotEnoughData(f"{metric} (no weeks in the panel)", 0, MIN_SEGMENT)
    cols = [metric, *extra]
    days = f"{metric}_days"
    agg = {c: "sum" for c in cols if c in p}
    if days in p:
        agg[days] = "max"
    if "intervention" in p:
        agg["intervention"] = lambda s: ",".join(s.dropna()) or pd.NA
    out = p.groupby("week", sort=True).agg(agg).reset_index()
    if metric in p:
        # a week without any measurement stays missing, not zero
        measured = p.groupby("week", sort=True)[metric].count().to_numpy() > 0
        out.loc[~measured, metric] = np.nan
    return out


#: Measured weeks from which a views series is given its season: one annual sine/cosine pair.
#: Views follow the year (January high, summer low); over a year or more an ITS without the
#: season reads it as trend and level change, and a short stretch before the update, in the
#: season's high or low, decides the counterfactual.
SEASON_FROM_WEEKS = 52


def season_pairs(panel: pd.DataFrame, metric: str = "profile_views") -> int:
    """Fourier pairs for :func:`profile_views_its` on ``panel``: 1 once the measured weeks span
    a year (``SEASON_FROM_WEEKS``), else 0 (a season cannot be told from a trend in less)."""
    if metric not in panel or not len(panel):
        return 0
    weeks = pd.to_datetime(panel.loc[panel[metric].notna(), "week"])
    if weeks.empty:
        return 0
    span = (weeks.max() - weeks.min()) / pd.Timedelta(weeks=1) + 1
    return 1 if span >= SEASON_FROM_WEEKS else 0


def profile_views_its(
    panel: pd.DataFrame,
    *,
    metric: str = "profile_views",
    participant: str | None = None,
    interventions: Sequence[Any] | None = None,
    which: str = "first",
    min_gap_weeks: int = 8,
    sections: Sequence[str] | None = None,
    family: str = "negbin",
    fourier: int = 0,
    hac_lags: int | None = None,
    slope_change: bool = True,
) -> ItsResult:
    """Interrupted time series of a weekly count metric around profile updates.

    Interventions default to the panel's ``profile_updated`` weeks (see
    :func:`intervention_weeks`): ``which="first"`` uses the first one only (the study's "filled
    in the profile" moment), ``which="all"`` each cluster's first week; or pass dates yourself.
    The new segment starts in the week holding the update. Weeks without a measurement are left
    out; partially covered weeks enter with exposure ``days/7`` (column ``<metric>_days``).
    """
    series = _one_series(panel, participant, metric)
    if interventions is None:
        weeks = intervention_weeks(
            panel if participant is None else panel[panel["participant"] == participant],
            min_gap_weeks=min_gap_weeks,
            sections=sections,
        )
        if not weeks:
            raise NotEnoughData("an interrupted time series (no profile_updated event)", 0, 1)
        if which == "first":
            weeks = weeks[:1]
        elif which != "all":
            raise StudyError(f"which: {which!r} is not first or all")
        interventions = weeks
    series = series[series[metric].notna()].reset_index(drop=True)
    days_col = f"{metric}_days"
    exposure = series[days_col] / 7 if days_col in series else None
    return its(
        series[metric],
        series["week"],
        list(interventions),
        family=family,
        exposure=exposure,
        fourier=fourier,
        period=52,
        hac_lags=hac_lags,
        slope_change=slope_change,
    )


# --- trends of levels -------------------------------------------------------------------------


@dataclass
class TrendResult:
    """A level's linear trend: the slope per month with its CI, and the line for a figure."""

    metric: str
    slope: Estimate
    summary: pd.DataFrame
    curves: pd.DataFrame
    method: str


def newey_west_lags(n: int) -> int:
    """The usual automatic lag choice, floor(4 (n/100)^(2/9))."""
    return int(np.floor(4 * (n / 100) ** (2 / 9)))


def metric_trend(
    panel: pd.DataFrame,
    metric: str = "followers",
    *,
    participant: str | None = None,
    hac_lags: int | None = None,
    level: float = 0.95,
) -> TrendResult:
    """OLS of a weekly level (followers, connections, own-name rank) on time, Newey–West errors.

    The slope is reported per month (weekly slope × 365.25/12/7). For ``googlability_rank`` a
    negative slope is an improvement (rank 1 is the top).
    """
    from study.analysis import sm

    series = _one_series(panel, participant, metric)
    series = series[series[metric].notna()].reset_index(drop=True)
    n = len(series)
    if n < 4:
        raise NotEnoughData(f"a trend of {metric}", n, 4)
    weeks = ((series["week"] - series["week"].iloc[0]) / pd.Timedelta(days=7)).to_numpy()
    X = sm.add_constant(pd.DataFrame({"week": weeks}))
    lags = newey_west_lags(n) if hac_lags is None else int(hac_lags)
    res = sm.OLS(series[metric].to_numpy(dtype=float), X).fit(
        cov_type="HAC", cov_kwds={"maxlags": lags}
    )
    low, high = res.conf_int(alpha=1 - level).loc["week"] * WEEKS_PER_MONTH
    method = f"OLS trend per month, Newey–West HAC errors ({lags} lags)"
    slope = Estimate(
        float(res.params["week"] * WEEKS_PER_MONTH),
        float(low),
        float(high),
        n,
        method,
        level,
        "difference",
    )
    summary = pd.DataFrame(
        [
            {
                "metric": metric,
                "slope_per_month": slope.estimate,
                "low": slope.low,
                "high": slope.high,
                "first": float(series[metric].iloc[0]),
                "last": float(series[metric].iloc[-1]),
                "n": n,
                "method": method,
            }
        ]
    )
    curves = pd.DataFrame(
        {"week": series["week"], "observed": series[metric], "fitted": res.fittedvalues}
    )
    return TrendResult(metric, slope, summary, curves, method)


# --- activity and views -----------------------------------------------------------------------


@dataclass
class LagResult:
    """Distributed-lag association of activity with a weekly count: RR per lag and in total."""

    outcome: str
    by_lag: pd.DataFrame
    cumulative: dict[str, Estimate]
    fit: CountFit
    method: str
    n: int
    summary: pd.DataFrame = field(default_factory=pd.DataFrame)


def activity_lags(
    panel: pd.DataFrame,
    *,
    outcome: str = "profile_views",
    activities: Sequence[str] = ("group_post", "article", "talk"),
    lags: int = 4,
    participant: str | None = None,
    family: str = "negbin",
    hac_lags: int | None = None,
    trend: bool = True,
    intervention: Any = None,
    season: bool = False,
    slope_change: bool = False,
    level: float = 0.95,
) -> LagResult:
    """Count model of the weekly ``outcome`` on each activity's count in weeks t-0 … t-``lags``.

    One rate ratio per activity and lag (views in week t per extra activity in week t-l) and the
    cumulative rate ratio (the product over lags: one activity's total association). A linear
    time trend adjusts for growth (``trend=False`` drops it). Activities never seen are left out.
    ``intervention`` (a day) adds the views' level change at the profile completion (the week
    holding it is left out) and ``season`` one annual sine/cosine pair: what else moves the
    views is then in the model, not in its errors.
    """
    series = _one_series(panel, participant, outcome, extra=[a for a in activities if a in panel])
    present = [a for a in activities if a in series and series[a].sum() > 0]
    if not present:
        raise NotEnoughData("a lag model (no activity of the types asked)", 0, 1)
    X = pd.DataFrame({"const": np.ones(len(series))})
    if trend:
        X["time"] = ((series["week"] - series["week"].iloc[0]) / pd.Timedelta(days=7)).to_numpy()
    for a in present:
        for lag in range(lags + 1):
            X[f"{a}_lag{lag}"] = series[a].shift(lag).to_numpy(dtype=float)
    week = pd.to_datetime(series["week"])
    transition = np.zeros(len(series), dtype=bool)
    if intervention is not None:
        day = pd.Timestamp(intervention)
        day = (day.tz_convert(None) if day.tzinfo is not None else day).normalize()
        X["level"] = (week >= day).to_numpy(dtype=float)
        if slope_change:
            X["slope"] = X["level"] * ((week - day) / pd.Timedelta(days=7)).to_numpy()
        transition = ((week < day) & (week + pd.Timedelta(days=6) >= day)).to_numpy()
    if season:
        angle = _doy_angle(week + pd.Timedelta(days=3.5))
        X["sin"], X["cos"] = np.sin(angle), np.cos(angle)
    days_col = f"{outcome}_days"
    exposure = (series[days_col] / 7).to_numpy() if days_col in series else np.ones(len(series))
    keep = X.notna().all(axis=1).to_numpy() & series[outcome].notna().to_numpy() & (exposure > 0)
    keep &= ~transition
    n = int(keep.sum())
    fit = fit_counts(
        series.loc[keep, outcome].to_numpy(),
        X[keep].reset_index(drop=True),
        family=family,
        offset=np.log(exposure[keep]),
        hac_lags=hac_lags,
    )
    if fit.family == "quasipoisson":  # an estimated scale: t with the residual df
        fit.df = float(n - X.shape[1])
    rows, cumulative = [], {}
    for a in present:
        for lag in range(lags + 1):
            est = fit.rate_ratio(f"{a}_lag{lag}", level=level)
            rows.append(
                {
                    "activity": a,
                    "lag": lag,
                    "rate_ratio": est.estimate,
                    "low": est.low,
                    "high": est.high,
                }
            )
        cumulative[a] = fit.contrast({f"{a}_lag{lag}": 1.0 for lag in range(lags + 1)}, level=level)
    by_lag = pd.DataFrame(rows)
    summary = pd.DataFrame(
        [
            {"activity": a, "rate_ratio": e.estimate, "low": e.low, "high": e.high, "n": e.n}
            for a, e in cumulative.items()
        ]
    )
    return LagResult(outcome, by_lag, cumulative, fit, fit.method, n, summary)


# --- the views around the profile completion, at the resolution they were entered in ------------

#: Weeks of measurements each side of the intervention needs before the ITS separates the trend
#: before it from a slope change after it. With fewer, a pre-trend rests on a handful of weeks:
#: with 3 (the old MIN_SEGMENT) its 5–95 % range was 0.69–1.33 per week for a true 1.001, and
#: the counterfactual it projects ran anywhere. Below it the model has one trend for both sides
#: and a level change (docs/validation.md measures both).
MIN_TREND_WEEKS = 12
#: Weeks each side needs for any ITS (the level change with a common trend).
MIN_LEVEL_WEEKS = 4
#: Lags of the Ljung–Box test on the Pearson residuals (autocorrelation is reported; with
#: independent weeks Newey–West errors covered 65–78 %, so they are not the default).
LJUNG_BOX_LAGS = 8
DAYS_PER_YEAR = 365.25


@dataclass
class ViewsIts:
    """An ITS of a count metric around one intervention, fitted to the periods as entered.

    ``model`` is ``separate`` (pre-trend, level change, slope change) with
    :data:`MIN_TREND_WEEKS` on each side, else ``level`` (one trend, level change). Ratios of
    trends are per year; ``weeks_before``/``weeks_after`` count the measured weeks each side
    (the period holding the intervention is left out: part before, part after)."""

    level: Estimate
    trend: Estimate | None
    pre_trend: Estimate | None
    slope: Estimate | None
    model: str
    season: bool
    robust: bool
    ljung_box_p: float
    intervention: pd.Timestamp
    weeks_before: float
    weeks_after: float
    periods_before: int
    periods_after: int
    resolution_days: float
    curves: pd.DataFrame = field(repr=False)
    fit: CountFit = field(repr=False)
    #: log level change and its standard error (for pooling participants)
    log_level: float = 0.0
    log_level_se: float = 0.0

    @property
    def method(self) -> str:
        return self.fit.method

    @property
    def n(self) -> int:
        return self.fit.n

    def estimands(self) -> dict[str, Estimate]:
        out = {"rr level change": self.level}
        for name, est in (
            ("rr trend per year", self.trend),
            ("rr pre-trend per year", self.pre_trend),
            ("rr slope change per year", self.slope),
        ):
            if est is not None:
                out[name] = est
        return out


def _doy_angle(days: pd.Series) -> np.ndarray:
    doy = pd.to_datetime(days).dt.dayofyear.to_numpy(dtype=float)
    return 2 * np.pi * doy / DAYS_PER_YEAR


def segmented_its(
    periods: pd.DataFrame,
    intervention: Any,
    *,
    family: str = "quasipoisson",
    season: bool | None = None,
    min_trend_weeks: float = MIN_TREND_WEEKS,
    hac: bool = False,
    level: float = 0.95,
) -> ViewsIts:
    """Segmented count regression of entered periods (``start``, ``end``, ``days``, ``value``
    as :func:`study.tables.metrics.metric_periods` gives them) around ``intervention`` (a day).

    Each period is one observation with exposure days / 7 (rates per week) at its midpoint; a
    monthly count is one month, not four weeks. Periods before the day are the first segment,
    periods from it on the second; the period holding it is left out. ``season``: one annual
    sine/cosine pair of the day of the year (default: once a year of periods is measured).

    Errors: quasi-Poisson (the Pearson scale estimated) with t quantiles of the residual
    degrees of freedom, as R's ``summary.glm`` gives them for a quasi family. Measured on the
    simulated studies (docs/validation.md): the negative binomial's model-based interval covered
    the level change 90 % of the time with weekly views and 84 % with monthly ones (23 months
    estimate the dispersion poorly), quasi-Poisson with t 95 % and 99 %. A Ljung–Box test of
    the Pearson residuals is reported (``ljung_box_p``, ``robust``: autocorrelation found); with
    ``hac=True`` such a fit gets Newey–West errors, which is not the default: in the
    simulations they covered 50 % in the seeds whose residuals the test flagged.
    """
    from statsmodels.stats.diagnostic import acorr_ljungbox

    d = periods[periods["value"].notna()].sort_values("start").reset_index(drop=True)
    if d.empty:
        raise NotEnoughData("an interrupted time series (no measured period)", 0, MIN_LEVEL_WEEKS)
    day = pd.Timestamp(intervention)
    if day.tzinfo is not None:
        day = day.tz_convert(None)
    day = day.normalize()
    start = pd.to_datetime(d["start"])
    end = pd.to_datetime(d["end"])
    before, after = end < day, start >= day
    d, start, end = d[before | after], start[before | after], end[before | after]
    before, after = (end < day).to_numpy(), (start >= day).to_numpy()
    weeks_before = float(d.loc[before, "days"].sum() / 7)
    weeks_after = float(d.loc[after, "days"].sum() / 7)
    for side, weeks in (("before", weeks_before), ("after", weeks_after)):
        if weeks < MIN_LEVEL_WEEKS:
            raise NotEnoughData(
                f"an interrupted time series (measured weeks {side} the profile update)",
                int(weeks),
                MIN_LEVEL_WEEKS,
            )
    origin = start.min()
    mid = start + pd.to_timedelta(d["days"].to_numpy() / 2, unit="D")
    years = ((mid - origin) / pd.Timedelta(days=1) / DAYS_PER_YEAR).to_numpy()
    t0 = (day - origin) / pd.Timedelta(days=1) / DAYS_PER_YEAR
    separate = weeks_before >= min_trend_weeks and weeks_after >= min_trend_weeks
    span_weeks = ((end.max() - origin) / pd.Timedelta(days=1) + 1) / 7
    if season is None:
        season = span_weeks >= SEASON_FROM_WEEKS
    X = pd.DataFrame({"const": 1.0, "years": years})
    X["level"] = after.astype(float)
    if separate:
        X["slope"] = (years - t0) * after
    if season:
        angle = _doy_angle(mid)
        X["sin"], X["cos"] = np.sin(angle), np.cos(angle)
    y = d["value"].to_numpy(dtype=float)
    offset = np.log(d["days"].to_numpy(dtype=float) / 7)
    fit = fit_counts(y, X, family=family, offset=offset)
    mu = fit.mean(X, offset)
    var = fit.dispersion * mu if fit.family == "quasipoisson" else mu + fit.dispersion * mu**2
    resid = (y - mu) / np.sqrt(var)
    lags = max(1, min(LJUNG_BOX_LAGS, len(y) // 5))
    p_lb = float(acorr_ljungbox(resid, lags=[lags])["lb_pvalue"].iloc[0]) if len(y) > 10 else 1.0
    robust = p_lb < 0.05
    if robust and hac:
        fit = fit_counts(y, X, family=family, offset=offset, hac_lags=newey_west_lags(len(y)))
    if fit.family == "quasipoisson" or (robust and hac):
        # an estimated scale (or a robust covariance): t quantiles with the residual df
        fit.df = float(len(y) - X.shape[1])
    lev = fit.rate_ratio("level", level=level)
    trend = fit.rate_ratio("years", level=level)
    slope = fit.rate_ratio("slope", level=level) if separate else None
    cf = X.copy()
    cf["level"] = 0.0
    if separate:
        cf["slope"] = 0.0
    per_week = np.exp(offset)
    curves = pd.DataFrame(
        {
            "time": start.to_numpy(),
            "observed": y / per_week,
            "fitted": fit.mean(X),
            "counterfactual": fit.mean(cf),
            "segment": after.astype(int),
        }
    )
    return ViewsIts(
        level=lev,
        trend=None if separate else trend,
        pre_trend=trend if separate else None,
        slope=slope,
        model="separate" if separate else "level",
        season=bool(season),
        robust=robust,
        ljung_box_p=p_lb,
        intervention=day,
        weeks_before=weeks_before,
        weeks_after=weeks_after,
        periods_before=int(before.sum()),
        periods_after=int(after.sum()),
        resolution_days=float(d["days"].median()),
        curves=curves,
        fit=fit,
        log_level=float(fit.params["level"]),
        log_level_se=float(np.sqrt(fit.cov.loc["level", "level"])),
    )


#: Profile sections whose first update is the study's intervention: the "About me" page (the
#: seed: "filling in the profile completely and writing the About me page").
INTERVENTION_SECTIONS = ("about",)


def profile_completion(events: pd.DataFrame, participant: str | None = None) -> pd.Timestamp:
    """The day of the profile completion, the intervention the views are read around: the
    first update of the "About me" section; else the first update that brought the completeness
    to its highest value; else the first update. Set-up updates before it (headline,
    experience on day one) are not the intervention, however close they lie."""
    ev = events[events["kind"].astype("string") == "profile_updated"]
    if participant is not None:
        ev = ev[ev["participant"] == participant]
    if ev.empty:
        raise NotEnoughData("an interrupted time series (no profile_updated event)", 0, 1)
    ev = ev.sort_values("occurred_at", kind="stable")
    at = pd.to_datetime(ev["occurred_at"], utc=True)
    about = ev["section"].astype("string").isin(INTERVENTION_SECTIONS).fillna(False).to_numpy()
    if about.any():
        chosen = at[about].iloc[0]
    elif "completeness" in ev and ev["completeness"].notna().any():
        c = pd.to_numeric(ev["completeness"], errors="coerce")
        chosen = at[(c == c.max()).to_numpy()].iloc[0]
    else:
        chosen = at.iloc[0]
    return chosen.tz_convert(None).normalize()


# --- cumulative counts (followers, connections): their increments ------------------------------


@dataclass
class GrowthResult:
    """How fast a cumulative count grows: the mean gain per month (a count model of the gains
    between measurements), with the measurements behind it."""

    metric: str
    per_month: Estimate
    first: float
    last: float
    measurements: int
    curves: pd.DataFrame = field(repr=False)

    @property
    def method(self) -> str:
        return self.per_month.method


def level_measurements(
    events: pd.DataFrame, metric: str, participant: str | None = None
) -> pd.DataFrame:
    """The measurements of a level metric: platform, at (UTC), value; the last value of a day
    per platform."""
    ev = events[(events["kind"].astype("string") == "metric") & events["value"].notna()]
    ev = ev[ev["name"].astype("string") == metric]
    if participant is not None:
        ev = ev[ev["participant"] == participant]
    m = pd.DataFrame(
        {
            "platform": ev["platform"].astype("string").fillna("").reset_index(drop=True),
            "at": pd.to_datetime(ev["occurred_at"], utc=True).reset_index(drop=True),
            "value": pd.to_numeric(ev["value"]).astype(float).reset_index(drop=True),
        }
    ).sort_values("at", kind="stable")
    m["day"] = m["at"].dt.tz_convert(None).dt.normalize()
    return m.groupby(["platform", "day"], as_index=False).last()


def metric_growth(
    events: pd.DataFrame,
    metric: str = "followers",
    *,
    participant: str | None = None,
    level: float = 0.95,
) -> GrowthResult:
    """The gain per month of a cumulative count (followers, connections).

    A cumulative series is a random walk: a straight line through its levels with Newey–West
    errors covered its trend 27 % of the time (the levels' errors are not errors around a line,
    they add up). Its increments are what is independent: the gains between consecutive
    measurements of each platform are modelled as counts (negative binomial, one rate per
    platform, the months between the measurements as exposure), and the platforms' rates are
    summed (delta method on the log scale). A series that ever falls (unfollows, removals) has
    no count model: its gain per month is the mean increment per month with a t interval.
    """
    from scipy import stats

    m = level_measurements(events, metric, participant)
    gains = []
    for platform, g in m.groupby("platform", sort=True):
        g = g.sort_values("day")
        months = (g["day"].diff() / pd.Timedelta(days=1) / (DAYS_PER_YEAR / 12)).to_numpy()[1:]
        gains.append(
            pd.DataFrame({"platform": platform, "gain": np.diff(g["value"]), "months": months})
        )
    data = pd.concat(gains, ignore_index=True) if gains else pd.DataFrame()
    if len(data) < 3:
        raise NotEnoughData(f"the growth of {metric} (gains between measurements)", len(data), 3)
    data = data[data["months"] > 0]
    total = m.groupby("day")["value"].sum()
    platforms = sorted(data["platform"].unique())
    if (data["gain"] >= 0).all():
        X = pd.get_dummies(data["platform"], dtype=float)[platforms]
        try:
            fit = fit_counts(
                data["gain"].round().to_numpy(),
                X.reset_index(drop=True),
                family="negbin",
                offset=np.log(data["months"].to_numpy()),
            )
            rates = np.exp(fit.params[platforms].to_numpy())
            cov = fit.cov.loc[platforms, platforms].to_numpy()
            method = fit.method
        except NotEnoughData:
            # gains that fit a constant rate exactly (the GLM reports perfect prediction):
            # the Poisson maximum-likelihood rates and their model-based variances in closed form
            by = data.groupby("platform")[["gain", "months"]].sum().loc[platforms]
            if (by["gain"] <= 0).any():
                raise
            rates = (by["gain"] / by["months"]).to_numpy()
            cov = np.diag(1 / by["gain"].to_numpy())
            method = "Poisson rates (closed form), model-based errors"
        w = rates / rates.sum()
        se = float(np.sqrt(w @ cov @ w))
        q = stats.norm.ppf(0.5 + level / 2)
        est = Estimate(
            float(rates.sum()),
            float(rates.sum() * np.exp(-q * se)),
            float(rates.sum() * np.exp(q * se)),
            len(data),
            f"{method}, gains between measurements, summed over {len(platforms)} platform(s)",
            level,
        )
    else:
        per = data["gain"] / data["months"]
        b = float(data["gain"].sum() / data["months"].sum()) * len(platforms)
        se = float(per.std(ddof=1) / np.sqrt(len(per))) * len(platforms)
        q = stats.t.ppf(0.5 + level / 2, len(per) - 1)
        est = Estimate(
            b,
            b - q * se,
            b + q * se,
            len(data),
            "mean gain per month (the series also fell: no count model), t interval",
            level,
            "difference",
        )
    months_since = (total.index - total.index[0]) / pd.Timedelta(days=1) / (DAYS_PER_YEAR / 12)
    curves = pd.DataFrame(
        {
            "week": total.index,
            "observed": total.to_numpy(),
            "fitted": float(total.iloc[0]) + est.estimate * np.asarray(months_since),
        }
    )
    return GrowthResult(metric, est, float(total.iloc[0]), float(total.iloc[-1]), len(m), curves)


@dataclass
class RankChange:
    """How the own name's web-search rank moves: the factor per month of the rank number
    (below 1: better), from the changes of its log between checks."""

    per_month: Estimate
    first: float
    last: float
    measurements: int
    curves: pd.DataFrame = field(repr=False)
    metric: str = "googlability_rank"

    @property
    def method(self) -> str:
        return self.per_month.method


def rank_change(
    events: pd.DataFrame, *, participant: str | None = None, level: float = 0.95
) -> RankChange:
    """The own name's rank moves by a factor per month: the mean change of log(rank) per month
    between the first and the last check.

    A rank is a level moved by activity: log(rank) is a random walk with drift (each month's
    activity moves it for good) checked with noise (the search's day-to-day jitter, the
    rounding to a place). A line through the levels with Newey–West errors, or the changes'
    plain standard error, then misjudge the interval (the noise makes neighbouring changes
    negatively correlated: 100 % coverage; an ARIMA(0, 1, 1) fit covered 71 % over 24 checks).
    The variance of the mean change is (k s² + 2σ²) / k² for k months, the walk's variance per
    month s² and the check noise σ² read off the changes' autocovariances (lag 0: s² + 2σ², lag
    1: −σ², each with the divisor that leaves it unbiased); t quantiles with k − 1 df (94 % coverage
    over 24 monthly checks in simulation, docs/validation.md).
    """
    from scipy import stats

    m = level_measurements(events, "googlability_rank", participant)
    m = m.groupby("day", as_index=False)["value"].last().sort_values("day")
    m = m[m["value"] >= 1]
    if len(m) < 5:
        raise NotEnoughData("the change of the web-search rank (checks)", len(m), 5)
    d = np.diff(np.log(m["value"].to_numpy()))
    months = (m["day"].diff() / pd.Timedelta(days=1) / (DAYS_PER_YEAR / 12)).to_numpy()[1:]
    total = float(months.sum())
    b = float(d.sum() / total)
    e = d - b * months
    k = len(d)
    # autocovariances with the divisors that leave them unbiased around an estimated mean
    g0 = float(np.sum(e**2) / (total * (k - 1) / k))
    g1 = float(np.sum(e[1:] * e[:-1]) / max(k - 2, 1))
    noise = max(-g1, 0.0)
    walk = max(g0 - 2 * noise, 0.0)
    se = math.sqrt((walk * total + 2 * noise) / total**2)
    q = float(stats.t.ppf(0.5 + level / 2, len(d) - 1))
    est = Estimate(
        float(np.exp(b)),
        float(np.exp(b - q * se)),
        float(np.exp(b + q * se)),
        len(d),
        "mean change of log(rank) per month, random walk with check noise (t interval)",
        level,
    )
    since = ((m["day"] - m["day"].iloc[0]) / pd.Timedelta(days=1) / (DAYS_PER_YEAR / 12)).to_numpy()
    curves = pd.DataFrame(
        {
            "week": m["day"].to_numpy(),
            "observed": m["value"].to_numpy(),
            "fitted": float(m["value"].iloc[0]) * np.exp(b * since),
        }
    )
    return RankChange(est, float(m["value"].iloc[0]), float(m["value"].iloc[-1]), len(m), curves)
