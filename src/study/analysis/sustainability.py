"""Research question 2: how long do ties last, and what predicts it.

Takes the ties table (:func:`study.tables.ties.ties`, or anyone's table with ``duration_days``
and ``ended`` columns) and returns result objects whose ``summary`` is a DataFrame:

* :func:`kaplan_meier` - Kaplan-Meier curves by group (statsmodels ``SurvfuncRight``) with
  pointwise confidence bands (Greenwood standard errors; ``log`` transform by default, as R's
  ``survfit``), median lifetime with the CI found by inverting the same transform
  (``SurvfuncRight.quantile_ci``; for ``log`` this is R's ``print.survfit`` interval), and
  survival at 6, 12 and 24 months;
* :func:`logrank` - the log-rank test (statsmodels ``survdiff``);
* :func:`cox` - Cox proportional hazards (statsmodels ``PHReg``, Efron ties by default,
  participant strata for panels) with hazard ratios, and :func:`ph_test`, the
  Grambsch-Therneau test of proportional hazards on scaled Schoenfeld residuals;
* :func:`reliable_share` - the share of the network still reliable per period, Wilson intervals;
* :func:`at_risk` - live reliable ties ranked by their probability of ending within three
  months, from the fitted Cox model: whom to contact next.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from study.analysis.base import Estimate, NotEnoughData, wilson
from study.errors import StudyError

#: Survival reported at these horizons (days): 6, 12 and 24 months of 365.25 / 12 days.
HORIZONS: dict[str, float] = {"6 months": 182.625, "12 months": 365.25, "24 months": 730.5}
DEFAULT_COVARIATES = ("basis", "platform", "with_message", "introducer_reliable")
CONF_TYPES = ("log", "cloglog", "linear")


def _clean(ties: pd.DataFrame) -> pd.DataFrame:
    """The rows with follow-up. The ties table's survival columns stop at the outcome-known
    horizon, W days before the cut-off: a study no longer than W has none."""
    missing = {"duration_days", "ended"} - set(ties.columns)
    if missing:
        raise StudyError(f"the ties table lacks the columns {sorted(missing)}")
    t = ties[ties["duration_days"].notna() & ties["ended"].notna()].copy()
    if t.empty and len(ties) and "window_days" in ties.attrs:
        w = ties.attrs["window_days"]
        raise NotEnoughData(
            f"tie survival (follow-up ends W = {w:g} days before the cut-off, when every "
            "tie's fate is known; no tie started before that)",
            0,
            f"a study longer than W = {w:g} days",
        )
    if (t["duration_days"] < 0).any():
        raise StudyError("duration_days must not be negative (an end before the start?)")
    t["ended"] = t["ended"].astype(int)
    return t


# Kaplan-Meier -------------------------------------------------------------------------------


@dataclass
class KMCurve:
    """One Kaplan-Meier curve: its step table with pointwise bands, median, fixed horizons."""

    group: str
    n: int
    events: int
    table: pd.DataFrame  # time, n_risk, n_events, surv, se, low, high
    median: Estimate
    at: pd.DataFrame  # horizon, days, surv, low, high

    def survival(self, days: float) -> float:
        return float(self.at_time([days])["surv"].iloc[0])

    def at_time(self, days: Sequence[float]) -> pd.DataFrame:
        """The curve and its band at given times (NaN beyond the last observed time)."""
        tab = self.table
        idx = np.searchsorted(tab["time"].to_numpy(), np.asarray(days, float), side="right") - 1
        out = pd.DataFrame({"days": np.asarray(days, float)})
        for col in ("surv", "low", "high"):
            steps = tab[col].to_numpy()
            if len(steps) == 0:  # no event at all: the curve stays at 1
                steps = np.ones(1)
                idx = np.full(len(idx), -1)
            vals = np.where(idx >= 0, steps[np.clip(idx, 0, None)], 1.0)
            out[col] = np.where(np.asarray(days, float) > self._last_time, np.nan, vals)
        return out

    @property
    def _last_time(self) -> float:
        return float(self.table.attrs.get("last_time", self.table["time"].max()))


@dataclass
class KMResult:
    """Kaplan-Meier curves by group; ``summary`` one row per group, ``curves_table`` long form."""

    by: str | None
    curves: dict[str, KMCurve]
    conf_type: str
    level: float
    logrank: LogRank | None = None

    @property
    def summary(self) -> pd.DataFrame:
        rows = []
        for g, c in self.curves.items():
            row: dict[str, Any] = {
                "group": g,
                "n": c.n,
                "events": c.events,
                "median_days": c.median.estimate,
                "median_low": c.median.low,
                "median_high": c.median.high,
            }
            for _, h in c.at.iterrows():
                row[f"surv_{h['horizon']}"] = h["surv"]
                row[f"surv_{h['horizon']}_low"] = h["low"]
                row[f"surv_{h['horizon']}_high"] = h["high"]
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def curves_table(self) -> pd.DataFrame:
        """group, time, n_risk, n_events, surv, se, low, high, starting at (0, 1): for figures."""
        parts = []
        for g, c in self.curves.items():
            start = pd.DataFrame(
                {"time": [0.0], "n_risk": [c.n], "n_events": [0], "surv": [1.0], "se": [0.0]}
            )
            start["low"] = start["high"] = 1.0
            parts.append(pd.concat([start, c.table], ignore_index=True).assign(group=g))
        return pd.concat(parts, ignore_index=True)[
            ["group", "time", "n_risk", "n_events", "surv", "se", "low", "high"]
        ]


def _band(surv: np.ndarray, se: np.ndarray, z: float, conf_type: str):
    with np.errstate(divide="ignore", invalid="ignore"):
        if conf_type == "log":
            w = z * se / surv
            low, high = surv * np.exp(-w), surv * np.exp(w)
        elif conf_type == "cloglog":
            w = z * se / (surv * np.log(surv))
            low, high = surv ** np.exp(-w), surv ** np.exp(w)
        elif conf_type == "linear":
            low, high = surv - z * se, surv + z * se
        else:
            raise ValueError(f"conf_type must be one of {CONF_TYPES}")
    low = np.where(surv <= 0, 0.0, low)
    high = np.where(surv <= 0, 0.0, high)
    # S = 1 (no event yet) and the log-log transform at S = 1: the band is the point
    low = np.where(np.isnan(low) & (surv >= 1), 1.0, low)
    high = np.where(np.isnan(high) & (surv >= 1), 1.0, high)
    return np.clip(low, 0, 1), np.clip(high, 0, 1)


def km_curve(
    durations: Any,
    ended: Any,
    *,
    group: str = "all",
    level: float = 0.95,
    conf_type: str = "log",
    horizons: dict[str, float] | None = None,
    min_n: int = 10,
) -> KMCurve:
    """One Kaplan-Meier curve (statsmodels ``SurvfuncRight``) with bands, median and horizons."""
    from statsmodels.duration.survfunc import SurvfuncRight

    time = np.asarray(durations, float)
    status = np.asarray(ended, int)
    if len(time) < min_n:
        raise NotEnoughData(f"a survival curve ({group})", len(time), min_n)
    sf = SurvfuncRight(time, status)
    z = stats.norm.ppf(0.5 + level / 2)
    surv = np.asarray(sf.surv_prob, float)
    se = np.asarray(sf.surv_prob_se, float)
    low, high = _band(surv, se, z, conf_type)
    table = pd.DataFrame(
        {
            "time": np.asarray(sf.surv_times, float),
            "n_risk": np.asarray(sf.n_risk, int),
            "n_events": np.asarray(sf.n_events, int),
            "surv": surv,
            "se": se,
            "low": low,
            "high": high,
        }
    )
    table.attrs["last_time"] = float(time.max())
    events = int(status.sum())
    med = sf.quantile(0.5) if events else np.nan
    try:
        with np.errstate(divide="ignore", invalid="ignore"):
            mlow, mhigh = sf.quantile_ci(0.5, alpha=1 - level, method=conf_type)
    except (ValueError, IndexError, ZeroDivisionError):
        mlow, mhigh = np.nan, np.nan
    median = Estimate(
        float(med) if med is not None else np.nan,
        float(mlow) if mlow is not None else np.nan,
        float(mhigh) if mhigh is not None else np.nan,
        len(time),
        f"Kaplan-Meier median, CI by inverting the {conf_type}-transformed pointwise CI "
        "(Brookmeyer-Crowley type; R print.survfit for log)",
        level,
    )
    curve = KMCurve(group, len(time), events, table, median, pd.DataFrame())
    hz = horizons if horizons is not None else HORIZONS
    at = curve.at_time(list(hz.values()))
    at.insert(0, "horizon", list(hz.keys()))
    curve.at = at
    return curve


def kaplan_meier(
    ties: pd.DataFrame,
    by: str | None = None,
    *,
    level: float = 0.95,
    conf_type: str = "log",
    horizons: dict[str, float] | None = None,
    min_n: int = 10,
    small: str = "raise",
) -> KMResult:
    """Kaplan-Meier survival of ties, overall or by a column (``basis``, ``platform``, ...).

    Pointwise bands use Greenwood's standard error on the ``conf_type`` scale (``log``: R's
    default; ``cloglog``: log(-log S); ``linear``). A group with fewer than ``min_n`` ties
    raises :class:`NotEnoughData` (``small="skip"`` leaves it out instead). With ``by`` and two
    or more groups, the log-rank test is attached as ``.logrank``.
    """
    if conf_type not in CONF_TYPES:
        raise ValueError(f"conf_type must be one of {CONF_TYPES}")
    t = _clean(ties)
    if len(t) < min_n:
        raise NotEnoughData("survival curves", len(t), min_n)
    curves: dict[str, KMCurve] = {}
    groups = [("all", t)] if by is None else list(t.groupby(by, observed=True, sort=True))
    for g, sub in groups:
        if len(sub) < min_n and small == "skip":
            continue
        curves[str(g)] = km_curve(
            sub["duration_days"],
            sub["ended"],
            group=str(g),
            level=level,
            conf_type=conf_type,
            horizons=horizons,
            min_n=min_n,
        )
    result = KMResult(by, curves, conf_type, level)
    if by is not None and len(curves) >= 2:
        kept = t[t[by].astype(str).isin(list(curves))]
        result.logrank = logrank(kept, by)
    return result


# log-rank -------------------------------------------------------------------------------------


@dataclass
class LogRank:
    """The log-rank test: chi-square, degrees of freedom, p-value."""

    by: str
    chisq: float
    df: int
    pvalue: float
    n: int
    groups: list[str]
    strata: str | None = None

    @property
    def summary(self) -> pd.DataFrame:
        return pd.DataFrame(
            [
                {
                    "test": "log-rank",
                    "by": self.by,
                    "chisq": self.chisq,
                    "df": self.df,
                    "pvalue": self.pvalue,
                    "n": self.n,
                    "strata": self.strata,
                }
            ]
        )


def logrank(ties: pd.DataFrame, by: str, *, strata: str | None = None, min_n: int = 10) -> LogRank:
    """Log-rank test of equal survival across the groups of ``by`` (statsmodels ``survdiff``);
    ``strata`` (e.g. ``"participant"``) gives the stratified test."""
    from statsmodels.duration.survfunc import survdiff

    t = _clean(ties)
    t = t[t[by].notna()]
    groups = sorted(t[by].astype(str).unique())
    if len(t) < min_n or len(groups) < 2:
        raise NotEnoughData(f"a log-rank test by {by}", len(t), f"{min_n} ties in 2 groups")
    if t["ended"].sum() < 1:
        raise NotEnoughData(f"a log-rank test by {by}", 0, "1 ended tie")
    kw = {}
    if strata is not None and t[strata].nunique() > 1:
        kw["strata"] = pd.factorize(t[strata])[0]
    else:
        strata = None
    chisq, p = survdiff(
        t["duration_days"].to_numpy(float),
        t["ended"].to_numpy(int),
        t[by].astype(str).to_numpy(),
        **kw,
    )
    return LogRank(by, float(chisq), len(groups) - 1, float(p), len(t), groups, strata)


# Cox ------------------------------------------------------------------------------------------


@dataclass
class CoxResult:
    """A fitted Cox model: ``summary`` has coef, se, hr, hr_low, hr_high, z, p per term."""

    summary: pd.DataFrame
    n: int
    events: int
    ties_method: str
    strata: str | None
    covariates: list[str]
    dropped: list[str]
    level: float
    fit: Any = field(repr=False)
    design: pd.DataFrame = field(repr=False)
    encoding: dict[str, list[str]] = field(repr=False, default_factory=dict)

    def hazard_ratio(self, term: str) -> Estimate:
        r = self.summary.loc[term]
        return Estimate(
            float(r["hr"]),
            float(r["hr_low"]),
            float(r["hr_high"]),
            self.n,
            f"Cox PH hazard ratio ({self.ties_method} ties)",
            self.level,
        )

    def ph_test(self, transform: str = "km") -> pd.DataFrame:
        return ph_test(self, transform=transform)


def _design(
    t: pd.DataFrame, covariates: Sequence[str], encoding: dict[str, list[str]] | None = None
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Numbers for the model: categoricals as treatment dummies (first level the reference),
    booleans as 0/1 with missing as 0 (no message / not introduced by a reliable contact)."""
    cols: dict[str, pd.Series] = {}
    enc: dict[str, list[str]] = {} if encoding is None else encoding
    for c in covariates:
        s = t[c]
        if encoding is not None and c in encoding:
            levels = encoding[c]
        elif (
            isinstance(s.dtype, pd.CategoricalDtype)
            or s.dtype == object
            or pd.api.types.is_string_dtype(s.dtype)
        ):
            present = set(s.dropna().astype(str))
            order = (
                [str(x) for x in s.cat.categories]
                if isinstance(s.dtype, pd.CategoricalDtype)
                else sorted(present)
            )
            levels = [x for x in order if x in present]
            enc[c] = levels
        else:
            levels = None
        if levels is not None:
            for lv in levels[1:]:
                cols[f"{c}[{lv}]"] = (s.astype(str) == lv).astype(float)
        else:
            cols[c] = (
                pd.to_numeric(s.astype("Float64") if s.dtype == "boolean" else s, errors="coerce")
                .fillna(0)
                .astype(float)
            )
    return pd.DataFrame(cols, index=t.index), enc


def cox(
    ties: pd.DataFrame,
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    *,
    ties_method: str = "efron",
    strata: str | None = "auto",
    level: float = 0.95,
    min_n: int = 10,
    min_events: int = 3,
) -> CoxResult:
    """Cox proportional hazards of a tie's end (any reason) with statsmodels ``PHReg``.

    Categorical covariates enter as treatment dummies against their first level (for ``basis``:
    ``knows_personally``), booleans as 0/1. Covariates without variation are dropped (listed in
    ``dropped``). ``strata="auto"`` stratifies by participant when there are several (a baseline
    hazard per participant); ``None`` never does. ``ties_method``: ``efron`` (R's default) or
    ``breslow``.
    """
    from study.analysis.phreg import PHReg

    if ties_method not in ("efron", "breslow"):
        raise ValueError("ties_method must be efron or breslow")
    t = _clean(ties)
    covariates = [c for c in covariates if c in t.columns]
    n, events = len(t), int(t["ended"].sum())
    if n < min_n:
        raise NotEnoughData("a Cox model", n, f"{min_n} ties")
    if events < min_events:
        raise NotEnoughData("a Cox model (ended ties)", events, min_events)
    X, enc = _design(t, covariates)
    dropped = [c for c in X.columns if X[c].nunique() < 2]
    dropped += [c for c in enc if len(enc[c]) < 2]  # a categorical with a single level
    X = X.drop(columns=[c for c in dropped if c in X.columns])
    if X.shape[1] == 0:
        raise NotEnoughData("a Cox model (covariates that vary)", 0, 1)
    if events < X.shape[1] + 1:
        raise NotEnoughData("a Cox model (ended ties per term)", events, X.shape[1] + 1)
    if strata == "auto":
        strata = "participant" if "participant" in t and t["participant"].nunique() > 1 else None
    kw = {"strata": pd.factorize(t[strata])[0]} if strata else {}
    model = PHReg(
        t["duration_days"].to_numpy(float),
        X,
        status=t["ended"].to_numpy(int),
        ties=ties_method,
        **kw,
    )
    try:
        fit = model.fit()
    except np.linalg.LinAlgError as exc:
        raise NotEnoughData(f"a Cox model ({exc})", events, "more ended ties") from None
    params = np.asarray(fit.params)
    bse = np.asarray(fit.bse)
    if not np.all(np.isfinite(bse)) or np.any(np.abs(params) > 20):
        raise NotEnoughData(
            "a Cox model (no finite estimate: a group without ended ties?)", events, "more"
        )
    zc = stats.norm.ppf(0.5 + level / 2)
    summary = pd.DataFrame(
        {
            "coef": params,
            "se": bse,
            "hr": np.exp(params),
            "hr_low": np.exp(params - zc * bse),
            "hr_high": np.exp(params + zc * bse),
            "z": params / bse,
            "p": 2 * stats.norm.sf(np.abs(params / bse)),
        },
        index=pd.Index(list(X.columns), name="term"),
    )
    return CoxResult(
        summary,
        n,
        events,
        ties_method,
        strata,
        list(covariates),
        dropped,
        level,
        fit,
        X.assign(
            _time=t["duration_days"].to_numpy(float),
            _status=t["ended"].to_numpy(int),
            _stratum=t[strata].to_numpy() if strata else 0,
        ),
        enc,
    )


def ph_test(result: CoxResult, transform: str = "km") -> pd.DataFrame:
    """Grambsch-Therneau test of proportional hazards, per term and global.

    The correlation of the scaled Schoenfeld residuals (statsmodels ``PHReg``) with transformed
    event time (``km``: 1 - left-continuous Kaplan-Meier, ``rank``, ``identity``, ``log``) and the
    approximate chi-square test on 1 df (the global test on as many df as terms), as computed by
    R's ``cox.zph`` before survival 3.0. Columns rho, chisq, df, p; a last row ``GLOBAL``.
    """
    fit = result.fit
    d = result.design
    status = d["_status"].to_numpy()
    time = d["_time"].to_numpy()
    sres = np.asarray(fit.schoenfeld_residuals)[status == 1]
    ev_time = time[status == 1]
    ok = ~np.isnan(sres).any(axis=1)
    sres, ev_time = sres[ok], ev_time[ok]
    order = np.argsort(ev_time, kind="stable")
    sres, ev_time = sres[order], ev_time[order]
    ndead = len(ev_time)
    var = np.asarray(fit.cov_params())
    if transform == "km":
        from statsmodels.duration.survfunc import SurvfuncRight

        sf = SurvfuncRight(time, status)
        st, sp = np.asarray(sf.surv_times, float), np.asarray(sf.surv_prob, float)
        # left-continuous KM at each event time: the survival just before it
        i = np.searchsorted(st, ev_time, side="left") - 1
        km = np.where(i >= 0, sp[np.clip(i, 0, None)], 1.0)
        g = 1 - km
    elif transform == "rank":
        g = stats.rankdata(ev_time)
    elif transform == "identity":
        g = ev_time
    elif transform == "log":
        g = np.log(ev_time)
    else:
        raise ValueError("transform must be km, rank, identity or log")
    xx = g - g.mean()
    r2 = sres @ var * ndead
    test = xx @ r2
    rho = np.array([np.corrcoef(xx, r2[:, j])[0, 1] for j in range(r2.shape[1])])
    z = test**2 / (np.diag(var) * ndead * np.sum(xx**2))
    rows = pd.DataFrame(
        {"rho": rho, "chisq": z, "df": 1, "p": stats.chi2.sf(z, 1)},
        index=pd.Index(result.summary.index, name="term"),
    )
    tg = xx @ sres
    zg = float(tg @ var @ tg) * ndead / np.sum(xx**2)
    k = sres.shape[1]
    rows.loc["GLOBAL"] = [np.nan, zg, k, stats.chi2.sf(zg, k)]
    rows["df"] = rows["df"].astype(int)
    return rows


# the share of the network still reliable ------------------------------------------------------


def reliable_share(
    timeline: pd.DataFrame, *, level: float = 0.95, pooled: bool = True
) -> pd.DataFrame:
    """The share of live ties that are reliable at each period end, with Wilson intervals.

    ``timeline`` is :func:`study.tables.ties.reliability_timeline`. ``pooled`` sums alive and
    reliable ties over participants per period end (the intervals then treat ties as
    independent); otherwise one row per participant and period end.
    """
    keys = ["period_end"] if pooled else ["participant", "period_end"]
    g = timeline.groupby(keys, as_index=False)[["alive", "reliable"]].sum()
    est = [
        wilson(int(r), int(a), level) if a > 0 else None
        for r, a in zip(g["reliable"], g["alive"], strict=True)
    ]
    g["share"] = [e.estimate if e else np.nan for e in est]
    g["low"] = [e.low if e else np.nan for e in est]
    g["high"] = [e.high if e else np.nan for e in est]
    return g


# whom to contact next ---------------------------------------------------------------------------


def _breslow(time: np.ndarray, status: np.ndarray, risk: np.ndarray):
    """Breslow's baseline cumulative hazard (right-continuous) at the unique event times."""
    order = np.argsort(time, kind="stable")
    t, s, r = time[order], status[order], risk[order]
    ut, first = np.unique(t, return_index=True)
    # risk-set sums: everyone with time >= u
    at_risk = np.cumsum(r[::-1])[::-1][first]
    d = np.add.reduceat(s, first)
    keep = d > 0
    return ut[keep], np.cumsum(d[keep] / at_risk[keep])


def at_risk(
    ties: pd.DataFrame,
    fit: CoxResult,
    horizon_days: float = 91,
    *,
    cutoff: Any = None,
    top: int | None = None,
) -> pd.DataFrame:
    """Live reliable ties ranked by the model's probability of ending within ``horizon_days``.

    For a tie alive and reliable at the cut-off (``alive_at_cutoff`` and ``reliable_at_end``) of
    age c (from its start to its last sign of life, ``end``; the time it is known alive):
    P(end within h | alive at c) = 1 - exp(-(H0(c + h) - H0(c)) * exp(x'b)), with the Breslow
    baseline cumulative hazard H0 of the tie's stratum (participant) and its linear predictor.
    Also: days since the last two-way interaction (at ``cutoff``, default the cut-off the ties
    table was built with, else the latest end in the table). Sorted most at risk first; ``top`` keeps the first rows per participant.
    """
    t = _clean(ties)
    d = fit.design
    cols = list(fit.summary.index)
    beta = fit.summary["coef"].to_numpy()
    # baseline hazards per stratum, from the data the model was fitted on
    lp_fit = d[cols].to_numpy() @ beta
    base: dict[Any, tuple[np.ndarray, np.ndarray]] = {}
    for k, idx in d.groupby("_stratum", sort=False).indices.items():
        base[k] = _breslow(
            d["_time"].to_numpy()[idx], d["_status"].to_numpy()[idx], np.exp(lp_fit[idx])
        )
    from study.tables.ties import alive_at_cutoff

    alive = alive_at_cutoff(ties)
    live = ties[alive & ties["reliable_at_end"].astype(bool)].copy()
    if live.empty:
        return live.assign(p_end=[], days_since_two_way=[])
    X, _ = _design(live, fit.covariates, fit.encoding)
    X = X.reindex(columns=cols, fill_value=0.0)
    live["risk_score"] = np.exp(X.to_numpy() @ beta)

    def cumhaz(k: Any, x: np.ndarray) -> np.ndarray:
        ut, H = base.get(k, (np.array([]), np.array([])))
        i = np.searchsorted(ut, x, side="right") - 1
        return np.where(i >= 0, H[np.clip(i, 0, None)] if len(H) else 0.0, 0.0)

    if "end" in live and "start" in live:
        c = ((live["end"] - live["start"]) / pd.Timedelta(days=1)).to_numpy(float)
    else:
        c = live["duration_days"].to_numpy(float)
    sk = live[fit.strata].to_numpy() if fit.strata else np.zeros(len(live), dtype=int)
    dH = np.empty(len(live))
    for k in np.unique(sk):
        m = sk == k
        dH[m] = cumhaz(k, c[m] + horizon_days) - cumhaz(k, c[m])
    live["p_end"] = 1 - np.exp(-dH * live["risk_score"].to_numpy())
    live["age_days"] = c
    if cutoff is None:
        cutoff = ties.attrs.get("cutoff")
    if cutoff is None and "end" in t:
        cutoff = pd.concat([t["end"], t["start"]]).max()
    if cutoff is not None and "last_two_way" in live:
        from study.tables.ties import as_utc

        live["days_since_two_way"] = (as_utc(cutoff) - live["last_two_way"]) / pd.Timedelta(days=1)
    live = live.sort_values(["p_end"], ascending=False)
    if top is not None:
        live = (
            live.groupby("participant", sort=False).head(top)
            if "participant" in live
            else live.head(top)
        )
    keep = [
        c
        for c in (
            "participant",
            "contact",
            "spell",
            "platform",
            "basis",
            "start",
            "age_days",
            "duration_days",
            "last_two_way",
            "days_since_two_way",
            "risk_score",
            "p_end",
        )
        if c in live
    ]
    return live[keep].reset_index(drop=True)
