"""Research question 2: how long do ties last, and what predicts it.

Takes the ties table (:func:`study.tables.ties.ties`, or anyone's table with ``duration_days``
and ``ended`` columns; ``entry_days`` for delayed entry) and returns result objects whose
``summary`` is a DataFrame:

* :func:`kaplan_meier` - Kaplan-Meier curves by group (statsmodels ``SurvfuncRight``) with
  pointwise confidence bands (Greenwood standard errors; ``log`` transform by default, as R's
  ``survfit``), median lifetime with the CI found by inverting the same transform
  (``SurvfuncRight.quantile_ci``; for ``log`` this is R's ``print.survfit`` interval), and
  survival at 6, 12 and 24 months;
* :func:`logrank` - the log-rank test (statsmodels ``survdiff``), stratified by participant in
  a panel;
* :func:`cox` - Cox proportional hazards (statsmodels ``PHReg``, Efron ties by default,
  participant strata for panels) of the end of a tie, any reason or one cause
  (cause-specific hazards of the competing endings), with hazard ratios, and :func:`ph_test`,
  the Grambsch-Therneau test of proportional hazards on scaled Schoenfeld residuals;
* :func:`reliable_share` - the share of the network still reliable per period, Wilson intervals.

Every survival function follows ties on the age scale (days since the tie began) from their
entry into observation: a prevalent tie, begun before the log could see it, enters at its age
then (``entry_days``; left truncation, docs/definitions.md). Only a contact's first spell
enters: a re-added contact's later spell is not an independent tie (docs/definitions.md).
Cumulative incidence of the competing endings: :mod:`study.analysis.competing`; the at-risk
list: :mod:`study.analysis.at_risk`.
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
#: The covariates of the Cox model by default. ``introducer_reliable`` is left out: it has a
#: value only for introduced ties (missing for the others is "not applicable", which with basis
#: in the model cannot be a level of its own); research question 4 asks about introducers.
DEFAULT_COVARIATES = ("basis", "platform", "with_message")
CONF_TYPES = ("log", "cloglog", "linear")


def survival_rows(ties: pd.DataFrame) -> pd.DataFrame:
    """The rows that enter the survival estimates, with ``_entry`` (days; 0 without delayed
    entry): ties with follow-up (the ties table's survival columns stop at the outcome-known
    horizon, W days before the cut-off: a study no longer than W has none), first spells only,
    a prevalent tie only if it was still alive when it entered (duration > entry)."""
    missing = {"duration_days", "ended"} - set(ties.columns)
    if missing:
        raise StudyError(f"the ties table lacks the columns {sorted(missing)}")
    t = ties[ties["duration_days"].notna() & ties["ended"].notna()]
    if "spell" in t:
        t = t[t["spell"] == 1]
    t = t.copy()
    entry = t["entry_days"].fillna(0.0).astype(float) if "entry_days" in t else 0.0
    t["_entry"] = entry
    if (t["_entry"] < 0).any():
        raise StudyError("entry_days must not be negative (an entry before the start?)")
    t = t[(t["_entry"] == 0) | (t["duration_days"] > t["_entry"])]
    if t.empty and len(ties) and "window_days" in ties.attrs:
        w = ties.attrs["window_days"]
        raise NotEnoughData(
            f"tie survival (follow-up ends W = {w:g} days before the cut-off, when every "
            "tie's fate is known; no tie was under observation before that)",
            0,
            f"a study longer than W = {w:g} days",
        )
    if (t["duration_days"] < 0).any():
        raise StudyError("duration_days must not be negative (an end before the start?)")
    t["ended"] = t["ended"].astype(int)
    return t


_clean = survival_rows


def entry_for_statsmodels(entry: Any) -> np.ndarray | None:
    """Entry times for ``SurvfuncRight`` and ``survdiff`` (at risk on (entry, time]): None
    without delayed entry; otherwise ties followed from their start get -1, so that a tie that
    ended at its start (day 0) is at risk at day 0, as it is without entry times."""
    e = np.asarray(entry, float)
    if not np.any(e > 0):
        return None
    return np.where(e > 0, e, -1.0)


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
    entry: Any = None,
) -> KMCurve:
    """One Kaplan-Meier curve (statsmodels ``SurvfuncRight``) with bands, median and horizons;
    ``entry`` (days) for delayed entry (left truncation)."""
    from statsmodels.duration.survfunc import SurvfuncRight

    time = np.asarray(durations, float)
    status = np.asarray(ended, int)
    if len(time) < min_n:
        raise NotEnoughData(f"a survival curve ({group})", len(time), min_n)
    sf = SurvfuncRight(time, status, entry=None if entry is None else entry_for_statsmodels(entry))
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
    if len(table) and (table["n_risk"] <= 0).any():  # pragma: no cover - statsmodels' own
        raise NotEnoughData(f"a survival curve ({group}): an empty risk set", len(time), "more")
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
    strata: str | None = "auto",
) -> KMResult:
    """Kaplan-Meier survival of ties, overall or by a column (``basis``, ``platform``, ...).

    Pointwise bands use Greenwood's standard error on the ``conf_type`` scale (``log``: R's
    default; ``cloglog``: log(-log S); ``linear``). A group with fewer than ``min_n`` ties
    raises :class:`NotEnoughData` (``small="skip"`` leaves it out instead). With ``by`` and two
    or more groups, the log-rank test is attached as ``.logrank``, stratified by ``strata``
    (``"auto"``: by participant when there are several). The curves pool the participants.
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
            entry=sub["_entry"],
        )
    result = KMResult(by, curves, conf_type, level)
    if by is not None and len(curves) >= 2:
        kept = t[t[by].astype(str).isin(list(curves))]
        result.logrank = logrank(kept, by, strata=strata)
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


def logrank(
    ties: pd.DataFrame, by: str, *, strata: str | None = "auto", min_n: int = 10
) -> LogRank:
    """Log-rank test of equal survival across the groups of ``by`` (statsmodels ``survdiff``),
    with delayed entry; ``strata`` (e.g. ``"participant"``) gives the stratified test,
    ``"auto"`` stratifies by participant when there are several."""
    from statsmodels.duration.survfunc import survdiff

    t = _clean(ties)
    t = t[t[by].notna()]
    groups = sorted(t[by].astype(str).unique())
    if len(t) < min_n or len(groups) < 2:
        raise NotEnoughData(f"a log-rank test by {by}", len(t), f"{min_n} ties in 2 groups")
    if t["ended"].sum() < 1:
        raise NotEnoughData(f"a log-rank test by {by}", 0, "1 ended tie")
    kw: dict[str, Any] = {}
    if strata == "auto":
        strata = "participant" if "participant" in t else None
    if strata is not None and t[strata].nunique() > 1:
        kw["strata"] = pd.factorize(t[strata])[0]
    else:
        strata = None
    time = t["duration_days"].to_numpy(float)
    entry = entry_for_statsmodels(t["_entry"])
    if entry is not None and "strata" in kw:
        # statsmodels' survdiff passes every row's entry time to each stratum (a length
        # mismatch); the stratified test is the plain one on strata moved to disjoint stretches
        # of time: a risk set then never holds rows of two strata
        shift = kw.pop("strata") * (np.nanmax(time) + 10.0)
        time, entry = time + shift, entry + shift
    if entry is not None:
        kw["entry"] = entry
    chisq, p = survdiff(
        time,
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
    #: None: the end of a tie, any reason; else the cause-specific model of this ending.
    cause: str | None = None

    def hazard_ratio(self, term: str) -> Estimate:
        r = self.summary.loc[term]
        what = f"cause-specific ({self.cause}) " if self.cause else ""
        return Estimate(
            float(r["hr"]),
            float(r["hr_low"]),
            float(r["hr_high"]),
            self.n,
            f"Cox PH {what}hazard ratio ({self.ties_method} ties)",
            self.level,
        )

    def ph_test(self, transform: str = "km") -> pd.DataFrame:
        return ph_test(self, transform=transform)


#: The level a missing value of a covariate gets (its own level, never the reference's).
UNKNOWN = "unknown"


def _design(
    t: pd.DataFrame, covariates: Sequence[str], encoding: dict[str, list[str]] | None = None
) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Numbers for the model: categoricals as treatment dummies (first level the reference);
    yes/no columns as the levels ``no`` (reference) and ``yes``; a missing value, in either,
    as a level of its own, ``unknown`` (a tie imported without its request has no message
    known: it is not a tie "without a message"). Numbers stay numbers."""
    cols: dict[str, pd.Series] = {}
    enc: dict[str, list[str]] = {} if encoding is None else encoding
    for c in covariates:
        s = t[c]
        if pd.api.types.is_bool_dtype(s.dtype) or _is_yes_no(s):
            s = s.map({True: "yes", False: "no"}, na_action="ignore").astype("string")
            s = pd.Series(pd.Categorical(s, categories=["no", "yes"]), index=t.index)
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
            if s.isna().any() and UNKNOWN not in levels:
                levels.append(UNKNOWN)
            enc[c] = levels
        else:
            levels = None
        if levels is not None:
            text = s.astype("string").fillna(UNKNOWN)
            for lv in levels[1:]:
                cols[f"{c}[{lv}]"] = (text == lv).astype(float)
        else:
            cols[c] = pd.to_numeric(s, errors="coerce").astype(float)
    X = pd.DataFrame(cols, index=t.index)
    if X.isna().any().any():
        bad = [c for c in X.columns if X[c].isna().any()]
        raise StudyError(f"missing values in the numeric covariates {bad}")
    return X, enc


def _is_yes_no(s: pd.Series) -> bool:
    """A column of True/False with gaps (pandas ``boolean``, or objects)."""
    if isinstance(s.dtype, pd.BooleanDtype):
        return True
    if s.dtype != object:
        return False
    values = set(s.dropna().unique())
    return bool(values) and values <= {True, False}


def hazard_ratio_table(
    coef: np.ndarray, se: np.ndarray, terms: list[str], level: float = 0.95
) -> pd.DataFrame:
    """Coefficients on the log-hazard scale as a table: hazard ratio, Wald interval, z, p
    (the Cox model and the at-risk list's piecewise-exponential model print the same)."""
    zc = stats.norm.ppf(0.5 + level / 2)
    return pd.DataFrame(
        {
            "coef": coef,
            "se": se,
            "hr": np.exp(coef),
            "hr_low": np.exp(coef - zc * se),
            "hr_high": np.exp(coef + zc * se),
            "z": coef / se,
            "p": 2 * stats.norm.sf(np.abs(coef / se)),
        },
        index=pd.Index(terms, name="term"),
    )


def cox(
    ties: pd.DataFrame,
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    *,
    ties_method: str = "efron",
    strata: str | None = "auto",
    level: float = 0.95,
    min_n: int = 10,
    min_events: int = 3,
    cause: str | None = None,
) -> CoxResult:
    """Cox proportional hazards of a tie's end with statsmodels ``PHReg``: any reason, or with
    ``cause`` (``removed``, ``hidden``, ``went_quiet``) the cause-specific hazard of that ending
    (the other endings censor the tie there).

    Categorical covariates enter as treatment dummies against their first level (for ``basis``:
    ``knows_personally``), yes/no columns as ``no``/``yes``, a missing value as the level
    ``unknown`` (see :func:`_design`). Covariates without variation are dropped (listed in
    ``dropped``). ``strata="auto"`` stratifies by participant when there are several (a baseline
    hazard per participant); ``None`` never does. ``ties_method``: ``efron`` (R's default) or
    ``breslow``. Delayed entry (``entry_days``) enters as PHReg's entry times.
    """
    from study.analysis.phreg import PHReg

    if ties_method not in ("efron", "breslow"):
        raise ValueError("ties_method must be efron or breslow")
    t = _clean(ties)
    if cause is not None:
        if "end_reason" not in t:
            raise StudyError("a cause-specific model needs the ties table's end_reason")
        t["ended"] = (t["ended"].astype(bool) & (t["end_reason"].astype(str) == cause)).astype(int)
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
    kw: dict[str, Any] = {"strata": pd.factorize(t[strata])[0]} if strata else {}
    if (t["_entry"] > 0).any():
        kw["entry"] = t["_entry"].to_numpy(float)
    model = PHReg(
        t["duration_days"].to_numpy(float),
        X,
        status=t["ended"].to_numpy(int),
        ties=ties_method,
        **kw,
    )
    try:
        fit = model.fit()
        if not np.all(np.isfinite(np.asarray(fit.params))):
            # Newton's full steps can overshoot from 0 (a rare ending, wide hazard ratios);
            # BFGS on the same partial likelihood then finds the maximum
            fit = model.fit(method="bfgs", maxiter=1000)
    except (np.linalg.LinAlgError, ValueError) as exc:
        # a singular information matrix: no covariance, so no interval (statsmodels' words)
        raise NotEnoughData(f"a Cox model ({exc})", events, "more ended ties") from None
    params = np.asarray(fit.params)
    bse = np.asarray(fit.bse)
    if not np.all(np.isfinite(bse)) or np.any(np.abs(params) > 20):
        raise NotEnoughData(
            "a Cox model (no finite estimate: a group without ended ties?)", events, "more"
        )
    summary = hazard_ratio_table(params, bse, list(X.columns), level)
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
            _entry=t["_entry"].to_numpy(float),
        ),
        enc,
        cause,
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

        entry = d["_entry"].to_numpy(float) if "_entry" in d else np.zeros(len(time))
        sf = SurvfuncRight(time, status, entry=entry_for_statsmodels(entry))
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
