"""Power analysis by repeated simulation: how often would the analysis detect an effect?

For each effect size and study length, :func:`power` simulates ``reps`` studies with the same
generator as :func:`study.simulate.run` (as DataFrames, without a database, so it is fast),
runs an estimator on each, and counts how often its confidence interval excludes the null.
The result carries a Wilson interval for that detection probability.

Estimators are plain functions ``estimator(frames) -> (estimate, low, high)`` taking a
:class:`SimFrames` (``events`` and ``contacts`` DataFrames as ``Study.events()`` and
``Study.contacts()`` return them, the ``truth`` and the study's ``end``). The two in
:data:`POWER_ESTIMATORS` run the analysis package's functions on the analysis tables, exactly as
the reports do (the ties table with Cox; the weekly panel with the interrupted time series), so
the power is that of the estimates a report shows.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from typing import Any

import numpy as np
import pandas as pd

from study.errors import ValidationError
from study.simulate.params import Params
from study.simulate.simframes import SimFrames

Estimator = Callable[[Any], tuple[float, float, float]]


# the effects a power run can vary ----------------------------------------------------------
#: effect name -> (setting it changes, the null value of the estimate, what it means)
EFFECTS: dict[str, tuple[str, float, str]] = {
    "basis_hr": (
        "ties.hr_basis.none",
        1.0,
        "hazard ratio of a tie of basis none vs knows_personally",
    ),
    "view_step": (
        "views.level_rr",
        1.0,
        "rate ratio of the level change of weekly profile views after the profile was completed",
    ),
}


def ties_table(
    events: pd.DataFrame,
    end: pd.Timestamp,
    window_days: int = 365,
    contacts: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """The first spell of every tie with follow-up, by contact: start, end (of follow-up), event,
    days, with_message (0/1), platform — :func:`study.tables.ties.ties` at the cut-off ``end``,
    whose survival columns stop at the outcome-known horizon ``end - W`` (docs/definitions.md).
    """
    from study.tables.ties import ties

    if contacts is None:
        contacts = _contacts_of(events)
    t = ties(events, contacts, cutoff=end, window_days=window_days)
    t = t[(t["spell"] == 1) & t["duration_days"].notna()].set_index("contact")
    out = pd.DataFrame(
        {
            "start": t["start"],
            "end": t["followup_end"],
            "event": t["ended"].astype(int),
            "days": t["duration_days"].astype(float),
            "with_message": t["with_message"].fillna(False).astype(bool).astype(int),
            "platform": t["platform"].astype(str),
        }
    )
    out.index.name = "contact"
    return out


def _contacts_of(events: pd.DataFrame) -> pd.DataFrame:
    """A minimal contacts table from the events alone: key, participant, first_seen, the first
    platform logged; basis and introducer unknown."""
    ev = events[events["contact"].notna()].sort_values("occurred_at", kind="stable")
    g = ev.groupby(["participant", "contact"], observed=True)
    out = pd.DataFrame(
        {"first_seen": g["occurred_at"].min(), "platform": g["platform"].first()}
    ).reset_index()
    out = out.rename(columns={"contact": "key"})
    out["basis"] = pd.NA
    out["introducer"] = pd.NA
    return out


def _not_estimable() -> tuple[float, float, float]:
    return (math.nan, math.nan, math.nan)


def cox_basis_hr(frames: SimFrames, basis: str = "none") -> tuple[float, float, float]:
    """Hazard ratio of ``basis`` vs knows_personally, as the report estimates it:
    :func:`study.analysis.sustainability.cox` (PHReg, Efron ties, strata by participant) on
    :func:`study.tables.ties.ties`, adjusted for platform and message."""
    from study.analysis.base import NotEnoughData
    from study.analysis.sustainability import cox
    from study.tables.ties import ties

    t = ties(frames.events, frames.contacts, cutoff=frames.end)
    term = f"basis[{basis}]"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fit = cox(t, ["basis", "platform", "with_message"])
    except NotEnoughData:
        return _not_estimable()
    if term not in fit.summary.index:
        return _not_estimable()
    followed = t[t["duration_days"].notna()]
    in_group = followed["basis"].astype(str) == basis
    if followed.loc[in_group, "ended"].sum() < 1 or followed.loc[~in_group, "ended"].sum() < 1:
        return _not_estimable()  # no ended tie on one side: no finite estimate
    r = fit.summary.loc[term]
    return _ratio(float(r["coef"]), float(r["se"]))


def _ratio(b: float, se: float) -> tuple[float, float, float]:
    """exp of a log-scale estimate with its 95% Wald interval; NaN when the fit diverged."""
    if not (math.isfinite(b) and math.isfinite(se)) or abs(b) > 20 or se > 20:
        return _not_estimable()
    return math.exp(b), math.exp(b - 1.96 * se), math.exp(b + 1.96 * se)


def its_view_step(frames: SimFrames) -> tuple[float, float, float]:
    """Level change of the profile views at the profile completion, as the report estimates it:
    :func:`study.estimands.reputation.views_fit` (the ITS of the views as entered, around the
    first update of the About me page) for each participant; several participants pooled by a
    random-effects meta-analysis (:func:`study.analysis.panel.random_effects`; participants'
    effects may differ, and a fixed-effect pooling then gives too narrow an interval), and not
    estimable below :data:`~study.analysis.panel.MIN_PARTICIPANTS` participants (no
    population-level interval)."""
    from study.analysis.base import NotEnoughData
    from study.estimands.reputation import pooled, views_fit
    from study.tables.bundle import Tables

    tables = Tables(frames.events, frames.contacts, frames.end)
    pids = sorted(frames.events["participant"].dropna().astype(str).unique())
    levels = []
    for pid in pids:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                levels.append(views_fit(tables, pid).level)
        except NotEnoughData:
            continue
    if not levels:
        return _not_estimable()
    if len(pids) == 1:
        lv = levels[0]
        return lv.estimate, lv.low, lv.high
    try:
        est = pooled(levels)
    except NotEnoughData:
        return _not_estimable()
    return est.estimate, est.low, est.high


#: effect name -> the estimator a power run uses by default.
POWER_ESTIMATORS: dict[str, Estimator] = {
    "basis_hr": cox_basis_hr,
    "view_step": its_view_step,
}


def power(
    effect: str,
    values: Iterable[float],
    months_list: Iterable[int],
    participants: int,
    reps: int,
    estimator: Estimator | None = None,
    alpha: float = 0.05,
    *,
    params: Params | None = None,
    seed: int = 1,
) -> pd.DataFrame:
    """Detection probability (the estimator's CI excludes the null) by effect size and months.

    One row per (value, months): reps, detected, power with its Wilson interval, and the
    median estimate. ``alpha`` is the level the estimator's interval was made for (the
    Wilson interval of the power uses the same level).
    """
    from statsmodels.stats.proportion import proportion_confint

    from study.simulate import frames

    if effect not in EFFECTS:
        raise ValidationError(
            f"{effect!r} is not an effect (one of: {', '.join(EFFECTS)})", "effect"
        )
    if reps < 1:
        raise ValidationError(f"{reps} is not a number of repetitions (1 or more)", "reps")
    setting, null, _ = EFFECTS[effect]
    estimator = estimator or POWER_ESTIMATORS[effect]
    base = params or Params()
    rows = []
    for value in values:
        p = base.replace(setting, float(value))
        for months in months_list:
            estimates, detected, failed = [], 0, 0
            for r in range(reps):
                f = frames(p, seed * 1_000_003 + r, participants=participants, months=int(months))
                est, low, high = estimator(f)
                if any(map(math.isnan, (est, low, high))):
                    failed += 1
                    continue
                estimates.append(est)
                detected += int(not (low <= null <= high))
            n = reps
            lo, hi = proportion_confint(detected, n, alpha=alpha, method="wilson")
            rows.append(
                {
                    "effect": effect,
                    "value": float(value),
                    "months": int(months),
                    "participants": participants,
                    "reps": n,
                    "detected": detected,
                    "not_estimable": failed,
                    "power": detected / n,
                    "low": float(lo),
                    "high": float(hi),
                    "median_estimate": float(np.median(estimates)) if estimates else math.nan,
                }
            )
    return pd.DataFrame(rows)
