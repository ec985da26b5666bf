"""Power analysis by repeated simulation: how often would the analysis detect an effect?

For each effect size and study length, :func:`power` simulates ``reps`` studies with the same
generator as :func:`study.simulate.run` (as DataFrames, without a database, so it is fast),
runs an estimator on each, and counts how often its confidence interval excludes the null.
The result carries a Wilson interval for that detection probability.

Estimators are plain functions ``estimator(frames) -> (estimate, low, high)`` taking a
:class:`SimFrames` (``events`` and ``contacts`` DataFrames as ``Study.events()`` and
``Study.contacts()`` return them, the ``truth`` and the study's ``end``). The two in
:data:`POWER_ESTIMATORS` are minimal statsmodels fits, written so that the analysis package's
functions can take their place.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from study.errors import ValidationError
from study.simulate.params import Params

Estimator = Callable[[Any], tuple[float, float, float]]


@dataclass
class SimFrames:
    """A simulated study as DataFrames: what the analyses read, without a database."""

    events: pd.DataFrame
    contacts: pd.DataFrame
    truth: dict[str, Any]
    end: pd.Timestamp

    @classmethod
    def from_datas(cls, datas: list[Any], truth: dict[str, Any], win: Any) -> SimFrames:
        from study.frames import tidy_events

        ev = pd.concat([d.events for d in datas], ignore_index=True)
        ev["source"] = "simulate"
        ev["recorded_at"] = ev["occurred_at"]
        contacts = pd.concat([d.contacts for d in datas], ignore_index=True).drop(columns="name")
        contacts["first_seen_estimated"] = False
        end = pd.Timestamp(win.end, tz="UTC") + pd.Timedelta(days=1)
        return cls(tidy_events(ev), contacts, truth, end)


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


def ties_table(events: pd.DataFrame, end: pd.Timestamp, window_days: int = 365) -> pd.DataFrame:
    """Ties per docs/definitions.md (first spell), analysed at the cut-off ``end - W``.

    A tie goes quiet at its last interaction once W days passed without one, so whether a
    tie that fell silent in the last W days has ended is not yet known. Censoring such ties at
    their last sign of life makes censoring coincide with the end of quiet ties (while removals
    are seen at once): informative censoring that biases hazard ratios between bases with
    different shares of removals. Looking back from ``end - W`` everything is known.
    """
    W = pd.Timedelta(days=window_days)
    cut = end - W
    ev = events
    acc = (
        ev[ev["kind"] == "request_accepted"].groupby("contact", observed=True)["occurred_at"].min()
    )
    acc = acc[acc < cut]
    req = ev[ev["kind"].isin(["request_sent", "request_received"])]
    msg = req.groupby("contact", observed=True)["with_message"].first()
    plat = ev.groupby("contact", observed=True)["platform"].first()
    stop = ev[ev["kind"].isin(["contact_removed", "contact_hidden"])]
    stop = stop.groupby("contact", observed=True)["occurred_at"].min()
    # signs of life: the start, every interaction and the removal or hiding; a gap of W or more
    # after one (to the next, or to the end of the data) means the tie went quiet there
    life = ev.loc[ev["kind"] == "interaction", ["contact", "occurred_at"]]
    life = pd.concat(
        [life, acc.rename("occurred_at").reset_index(), stop.rename("occurred_at").reset_index()],
        ignore_index=True,
    )
    life = life[life["contact"].isin(acc.index)].sort_values(["contact", "occurred_at"])
    nxt = life.groupby("contact", observed=True)["occurred_at"].shift(-1).fillna(end)
    quiet_at = (
        life.loc[nxt - life["occurred_at"] >= W]
        .groupby("contact", observed=True)["occurred_at"]
        .min()
    )
    t = pd.DataFrame({"start": acc})
    t["end"] = pd.concat([stop.reindex(t.index), quiet_at.reindex(t.index)], axis=1).min(axis=1)
    t["event"] = (t["end"] <= cut).astype(int)
    t["end"] = t["end"].where(t["event"] == 1, cut)
    t["days"] = (t["end"] - t["start"]).dt.total_seconds() / 86400
    t["with_message"] = msg.reindex(t.index).fillna(False).astype(bool).astype(int)
    t["platform"] = plat.reindex(t.index).astype(str)
    return t


def cox_basis_hr(frames: SimFrames, basis: str = "none") -> tuple[float, float, float]:
    """Hazard ratio of ``basis`` vs knows_personally: Cox PHReg (statsmodels), strata by
    participant, adjusted for platform and message."""
    import statsmodels.api as sm

    ties = ties_table(frames.events, frames.end)
    c = frames.contacts.set_index("key")
    ties = ties.join(c[["basis", "participant"]], how="left")
    ties = ties[ties["days"] > 0]
    X = pd.DataFrame(
        {
            f"basis_{b}": (ties["basis"] == b).astype(float)
            for b in ("met_in_person", "introduced", "none")
        },
        index=ties.index,
    )
    X["linkedin"] = (ties["platform"] == "linkedin").astype(float)
    X["with_message"] = ties["with_message"].astype(float)
    X = X.loc[:, X.std() > 0]
    col = f"basis_{basis}"
    if col not in X or ties["event"].sum() < 5:
        return (math.nan, math.nan, math.nan)
    in_group = ties["basis"] == basis
    if ties.loc[in_group, "event"].sum() < 1 or ties.loc[~in_group, "event"].sum() < 1:
        return (math.nan, math.nan, math.nan)  # no ended tie on one side: not estimable
    strata = ties["participant"].astype(str) if ties["participant"].nunique() > 1 else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            fit = sm.PHReg(ties["days"], X, status=ties["event"], strata=strata, ties="efron").fit()
        except np.linalg.LinAlgError:
            return (math.nan, math.nan, math.nan)
    i = list(X.columns).index(col)
    return _ratio(float(fit.params[i]), float(fit.bse[i]))


def _ratio(b: float, se: float) -> tuple[float, float, float]:
    """exp of a log-scale estimate with its 95% Wald interval; NaN when the fit diverged."""
    if not (math.isfinite(b) and math.isfinite(se)) or abs(b) > 20 or se > 20:
        return (math.nan, math.nan, math.nan)
    return math.exp(b), math.exp(b - 1.96 * se), math.exp(b + 1.96 * se)


def its_view_step(frames: SimFrames) -> tuple[float, float, float]:
    """Level change of weekly profile views after the profile was completed: a segmented
    quasi-Poisson GLM (statsmodels), series by participant and platform, yearly harmonics."""
    import statsmodels.api as sm

    ev = frames.events
    v = ev[(ev["kind"] == "metric") & (ev["name"] == "profile_views")].copy()
    upd = ev[(ev["kind"] == "profile_updated") & (ev["section"] == "about")]
    iv = upd.groupby(["participant", "platform"], observed=True)["occurred_at"].min()
    iv = iv.dt.tz_convert(None).dt.normalize()
    v["week"] = pd.to_datetime(v["period_start"])
    v["iv"] = [
        iv.get((p, pl), pd.NaT) for p, pl in zip(v["participant"], v["platform"], strict=True)
    ]
    v = v[v["iv"].notna()]
    v = v[(v["week"] >= v["iv"]) | (v["week"] + pd.Timedelta(days=6) < v["iv"])]
    if v.empty or v["week"].ge(v["iv"]).sum() < 3 or v["week"].lt(v["iv"]).sum() < 3:
        return (math.nan, math.nan, math.nan)
    years = (v["week"] - v["week"].min()).dt.days / 365.25
    doy = v["week"].dt.dayofyear + 3
    post = (v["week"] >= v["iv"]).astype(float)
    X = pd.DataFrame(
        {
            "t": years,
            "post": post,
            "t_post": post * (v["week"] - v["iv"]).dt.days / 365.25,
            "cos": np.cos(2 * np.pi * doy / 365.25),
            "sin": np.sin(2 * np.pi * doy / 365.25),
        }
    )
    series = v["participant"].astype(str) + "/" + v["platform"].astype(str)
    dummies = pd.get_dummies(series, prefix="s", dtype=float)
    X = pd.concat([dummies, X], axis=1)
    fit = sm.GLM(v["value"].to_numpy(), X, family=sm.families.Poisson()).fit(scale="X2")
    return _ratio(float(fit.params["post"]), float(fit.bse["post"]))


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
