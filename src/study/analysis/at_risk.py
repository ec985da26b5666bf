"""Whom to get in touch with: the chance that each live tie ends within the horizon.

Two things decide it, and the list says which one put each tie on it:

* **the definition**: a tie goes quiet W days after its last interaction (its last sign of
  life). A live tie whose quiet date falls within the horizon will have ended by then unless
  someone gets in touch: its chance is 1, "certain unless someone acts" (``why = "quiet"``);
* **the model**, for every other live tie: a piecewise-exponential proportional-hazards model
  (a Poisson GLM on the ties' time at risk split into pieces of age, with the log of the time
  as offset; statsmodels) whose baseline hazard is constant within each piece and beyond the
  last cut, so it covers any horizon (the Breslow baseline of a Cox model is flat past the
  longest follow-up and between event times, which gave many ties exactly 0 %). Delayed entry
  (prevalent ties) enters as time at risk from the entry on. The interval of each chance is the
  2.5 and 97.5 percentiles over draws of the coefficients from their estimated normal
  distribution (``why = "model"``).

The model's hazard ratios are estimands like the Cox model's (docs/validation.md): the same
proportional hazards, a baseline of steps instead of Breslow's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from study.analysis.base import Estimate, NotEnoughData
from study.analysis.sustainability import (
    DEFAULT_COVARIATES,
    _design,
    hazard_ratio_table,
    survival_rows,
)

#: Cuts of the age pieces (days): 0-3, 3-6, 6-12, 12-24 months, then one open-ended piece.
CUTS: tuple[float, ...] = (0.0, 91.3125, 182.625, 365.25, 730.5)
#: Ended ties each piece needs; a piece with fewer is merged with the one before it.
MIN_PIECE_EVENTS = 2
#: Draws of the coefficients for the chances' intervals (a fixed seed: the same list twice).
DRAWS = 1000


@dataclass
class PiecewiseFit:
    """A fitted piecewise-exponential model: ``summary`` has the hazard ratios per term
    (coef, se, hr, hr_low, hr_high, z, p) and ``pieces`` the baseline hazard per day in each
    piece of age (for the reference levels)."""

    summary: pd.DataFrame
    pieces: pd.DataFrame  # start, end (inf for the last), events, exposure_days, hazard
    n: int
    events: int
    covariates: list[str]
    dropped: list[str]
    level: float
    params: np.ndarray = field(repr=False)
    cov: np.ndarray = field(repr=False)
    encoding: dict[str, list[str]] = field(repr=False, default_factory=dict)
    #: the design's columns after the pieces (covariate terms, then participant terms)
    columns: list[str] = field(repr=False, default_factory=list)

    def hazard_ratio(self, term: str) -> Estimate:
        r = self.summary.loc[term]
        return Estimate(
            float(r["hr"]),
            float(r["hr_low"]),
            float(r["hr_high"]),
            self.n,
            "piecewise-exponential hazard ratio (Poisson GLM on time at risk)",
            self.level,
        )

    def cumulative_hazard(self, ages: np.ndarray, horizon: float, params: np.ndarray) -> np.ndarray:
        """Baseline hazard summed from each age over the next ``horizon`` days; ``params``
        may be one coefficient vector or a stack of draws (rows)."""
        k = len(self.pieces)
        starts = self.pieces["start"].to_numpy(float)
        ends = self.pieces["end"].to_numpy(float)
        a = np.asarray(ages, float)[:, None]
        overlap = np.clip(np.minimum(a + horizon, ends) - np.maximum(a, starts), 0, None)
        log_h = np.atleast_2d(params)[:, :k]
        return overlap @ np.exp(log_h).T  # ties x draws

    def chance(
        self, rows: pd.DataFrame, ages: np.ndarray, horizon: float, *, draws: int = DRAWS
    ) -> pd.DataFrame:
        """P(end within ``horizon`` days | alive at ``age``) per row, with its interval."""
        extra = ["participant"] if "participant" in self.encoding else []
        X, _ = _design(rows, [*self.covariates, *extra], dict(self.encoding))
        X = X.reindex(columns=self.columns, fill_value=0.0).to_numpy(float)
        k = len(self.pieces)

        def p(params: np.ndarray) -> np.ndarray:
            params = np.atleast_2d(params)
            lp = X @ params[:, k:].T  # ties x draws
            return 1 - np.exp(-self.cumulative_hazard(ages, horizon, params) * np.exp(lp))

        point = p(self.params)[:, 0]
        rng = np.random.default_rng(0)
        sims = rng.multivariate_normal(self.params, self.cov, size=draws, method="eigh")
        ps = p(sims)
        lo, hi = (1 - self.level) / 2, 1 - (1 - self.level) / 2
        return pd.DataFrame(
            {
                "p_model": point,
                "p_low": np.quantile(ps, lo, axis=1),
                "p_high": np.quantile(ps, hi, axis=1),
            },
            index=rows.index,
        )


def _pieces(t: pd.DataFrame, cuts: Sequence[float]) -> list[float]:
    """The cuts kept: none beyond the longest follow-up, and every piece with at least
    :data:`MIN_PIECE_EVENTS` ended ties (a poor piece is merged with the one before it)."""
    dur = t["duration_days"].to_numpy(float)
    ended = dur[t["ended"].to_numpy(int) == 1]
    kept = [float(c) for c in cuts if c < dur.max()] or [0.0]
    while len(kept) > 1:
        piece = np.clip(np.searchsorted(kept, ended, "left") - 1, 0, None)
        poor = np.flatnonzero(np.bincount(piece, minlength=len(kept)) < MIN_PIECE_EVENTS)
        if not len(poor):
            break
        kept.pop(max(int(poor[-1]), 1))
    return kept


def piecewise_exponential(
    ties: pd.DataFrame,
    covariates: Sequence[str] = DEFAULT_COVARIATES,
    *,
    cuts: Sequence[float] = CUTS,
    level: float = 0.95,
    min_n: int = 10,
    min_events: int = 3,
) -> PiecewiseFit:
    """The piecewise-exponential model of a tie's end (any reason) on ``covariates``.

    Each tie's time at risk, from its entry (``entry_days``, 0 for a tie followed from its
    start) to its follow-up end, is split at the cuts; a Poisson GLM of the ends per piece on
    one indicator per piece (the log baseline hazard) and the covariates (coded as in the Cox
    model), offset log(days at risk), gives the hazard ratios. With several participants their
    own baseline levels enter as participant terms (not reported).
    """
    from study.analysis import sm

    t = survival_rows(ties)
    n, events = len(t), int(t["ended"].sum())
    if n < min_n:
        raise NotEnoughData("a piecewise-exponential model", n, f"{min_n} ties")
    if events < min_events:
        raise NotEnoughData("a piecewise-exponential model (ended ties)", events, min_events)
    covariates = [c for c in covariates if c in t.columns]
    extra = ["participant"] if "participant" in t and t["participant"].nunique() > 1 else []
    X, enc = _design(t, [*covariates, *extra])
    dropped = [c for c in X.columns if X[c].nunique() < 2]
    dropped += [c for c in enc if len(enc[c]) < 2]
    X = X.drop(columns=[c for c in dropped if c in X.columns])
    kept = _pieces(t, cuts)
    bounds = np.array([*kept, np.inf])
    entry = t["_entry"].to_numpy(float)
    dur = t["duration_days"].to_numpy(float)
    ended = t["ended"].to_numpy(int) == 1
    rows, y, expo, piece = [], [], [], []
    for j in range(len(kept)):
        lo, hi = bounds[j], bounds[j + 1]
        days = np.clip(np.minimum(dur, hi) - np.maximum(entry, lo), 0, None)
        inside = (dur > lo) & (dur <= hi) if j else (dur <= hi)
        at = (days > 0) | (ended & inside & (dur == lo))
        idx = np.flatnonzero(at)
        rows.append(idx)
        y.append((ended & inside)[idx].astype(float))
        # an end at the very start of a piece (a tie that ended at its start) has no time at
        # risk: half a day stands for it, so that it counts
        expo.append(np.where(days[idx] > 0, days[idx], 0.5))
        piece.append(np.full(len(idx), j))
    idx = np.concatenate(rows)
    pj = np.concatenate(piece)
    base = np.zeros((len(idx), len(kept)))
    base[np.arange(len(idx)), pj] = 1.0
    names = [f"_piece{j}" for j in range(len(kept))]
    exog = np.column_stack([base, X.to_numpy(float)[idx]])
    yy, ee = np.concatenate(y), np.concatenate(expo)
    try:
        fit = sm.GLM(yy, exog, family=sm.families.Poisson(), offset=np.log(ee)).fit(tol=1e-12)
    except (np.linalg.LinAlgError, ValueError) as exc:
        raise NotEnoughData(f"a piecewise-exponential model ({exc})", events, "more") from None
    params, cov = np.asarray(fit.params), np.asarray(fit.cov_params())
    bse = np.sqrt(np.diag(cov))
    k = len(kept)
    if not np.all(np.isfinite(bse)) or np.any(np.abs(params[k:]) > 20):
        raise NotEnoughData(
            "a piecewise-exponential model (no finite estimate: a group without ended ties?)",
            events,
            "more",
        )
    # the participants' own baseline levels are fitted, not reported
    shown = [i for i, c in enumerate(X.columns) if not c.startswith("participant[")]
    terms = [X.columns[i] for i in shown]
    summary = hazard_ratio_table(params[k:][shown], bse[k:][shown], terms, level)
    pieces = pd.DataFrame(
        {
            "start": bounds[:-1],
            "end": bounds[1:],
            "events": [int(yy[pj == j].sum()) for j in range(k)],
            "exposure_days": [float(ee[pj == j].sum()) for j in range(k)],
            "hazard": np.exp(params[:k]),
        },
        index=pd.Index(names, name="piece"),
    )
    reported = [c for c in covariates if c not in dropped]
    return PiecewiseFit(
        summary, pieces, n, events, reported, dropped, level, params, cov, enc, list(X.columns)
    )


def at_risk(
    ties: pd.DataFrame,
    fit: PiecewiseFit | None,
    horizon_days: float = 91,
    *,
    cutoff: Any = None,
    window_days: float | None = None,
    top: int | None = None,
) -> pd.DataFrame:
    """Live ties ranked by their chance of ending within ``horizon_days`` of the cut-off.

    Columns: participant, contact, spell, platform, basis, start, age_days (at the cut-off; a
    lower bound for a tie of unknown age), age_known, reliable (at the cut-off), last_sign (the
    tie's last sign of life: its last interaction, or its start / the observation start),
    quiet_on (last_sign + W: the day it goes quiet unless someone gets in touch),
    last_two_way, days_since_two_way, p_model, p_low, p_high (the model's chance and interval),
    p_end (1 where the quiet date falls within the horizon, else the model's), why (``quiet``
    or ``model``). Sorted most at risk first (then the earlier quiet date); ``top`` keeps the
    first rows per participant. Without a model (``fit`` None: a study without follow-up yet)
    only what the definition makes certain is known: the other ties' chances are NaN.
    """
    from study.tables.ties import alive_at_cutoff, as_utc

    if cutoff is None:
        cutoff = ties.attrs.get("cutoff")
    if cutoff is None:
        raise ValueError("at_risk needs the cut-off (the ties table's attrs or cutoff=)")
    cutoff = as_utc(cutoff)
    w = window_days if window_days is not None else ties.attrs.get("window_days", 365)
    live = ties[alive_at_cutoff(ties)].copy()
    if live.empty:
        return live.assign(p_end=pd.Series(dtype=float), why=pd.Series(dtype=str))
    day = pd.Timedelta(days=1)
    live["age_days"] = ((cutoff - live["start"]) / day).clip(lower=0).to_numpy(float)
    live["reliable"] = live["reliable_at_end"].astype(bool)
    live["last_sign"] = live["end"]
    live["quiet_on"] = live["end"] + pd.Timedelta(days=w)
    live["days_since_two_way"] = (cutoff - live["last_two_way"]) / day
    if fit is not None:
        live = live.join(fit.chance(live, live["age_days"].to_numpy(float), horizon_days))
    else:
        live = live.assign(p_model=np.nan, p_low=np.nan, p_high=np.nan)
    certain = (live["quiet_on"] <= cutoff + pd.Timedelta(days=horizon_days)).to_numpy(bool)
    live["p_end"] = np.where(certain, 1.0, live["p_model"])
    live["why"] = np.where(certain, "quiet", "model")
    live = live.sort_values(
        ["p_end", "quiet_on"], ascending=[False, True], kind="stable", na_position="last"
    )
    if top is not None:
        live = (
            live.groupby("participant", sort=False).head(top)
            if "participant" in live
            else live.head(top)
        )
    keep = [
        "participant",
        "contact",
        "spell",
        "platform",
        "basis",
        "start",
        "age_days",
        "age_known",
        "prevalent",
        "reliable",
        "last_sign",
        "quiet_on",
        "last_two_way",
        "days_since_two_way",
        "p_model",
        "p_low",
        "p_high",
        "p_end",
        "why",
    ]
    return live[[c for c in keep if c in live]].reset_index(drop=True)
