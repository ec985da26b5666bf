"""Competing endings: Aalen-Johansen cumulative incidence (statsmodels' estimate with delayed
entry) against statsmodels and lifelines, and cause-specific Cox models."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from study.analysis.competing import aalen_johansen, cumulative_incidence
from study.analysis.sustainability import cox


def competing_data(n: int, seed: int, *, entry: bool) -> pd.DataFrame:
    """Ties on the age scale: exponential lifetimes, three endings, random censoring; with
    ``entry`` half the ties are prevalent (enter at a random age, kept only if alive then)."""
    rng = np.random.default_rng(seed)
    g = rng.integers(0, 2, 4 * n)
    life = rng.exponential(np.where(g == 1, 300.0, 600.0))
    cause = rng.choice(3, size=4 * n, p=[0.3, 0.1, 0.6]) + 1
    cens = rng.uniform(50, 900, 4 * n)
    enter = np.where(rng.random(4 * n) < 0.5, rng.uniform(0, 400, 4 * n), 0.0) if entry else 0.0
    enter = np.minimum(enter, cens - 1)
    keep = life > enter  # left truncation: only ties alive at entry are seen
    t = pd.DataFrame(
        {
            "duration_days": np.minimum(life, cens),
            "ended": (life <= cens).astype(int),
            "end_reason": np.where(
                life <= cens, np.array(["removed", "hidden", "went_quiet"])[cause - 1], "censored"
            ),
            "entry_days": enter if entry else np.zeros(4 * n),
            "group": np.where(g == 1, "b", "a"),
            "basis": pd.Categorical(
                np.where(g == 1, "none", "knows_personally"), ["knows_personally", "none"]
            ),
        }
    )[keep]
    return t.head(n).reset_index(drop=True)


def codes(t: pd.DataFrame) -> np.ndarray:
    m = {"removed": 1, "hidden": 2, "went_quiet": 3}
    return np.array(
        [m.get(r, 0) if e else 0 for r, e in zip(t["end_reason"], t["ended"], strict=True)]
    )


def test_without_entry_it_is_statsmodels_cumincidenceright() -> None:
    from statsmodels.duration.survfunc import CumIncidenceRight

    t = competing_data(400, 1, entry=False)
    ours = aalen_johansen(t["duration_days"], codes(t))
    ref = CumIncidenceRight(t["duration_days"].to_numpy(), codes(t))
    for k in (1, 2, 3):
        times = ref.times
        at = np.searchsorted(ours[k]["time"].to_numpy(), times, side="right") - 1
        got = np.where(at >= 0, ours[k]["cif"].to_numpy()[np.clip(at, 0, None)], 0.0)
        np.testing.assert_allclose(got, ref.cinc[k - 1], atol=1e-12)
        se = np.where(at >= 0, ours[k]["se"].to_numpy()[np.clip(at, 0, None)], 0.0)
        ok = np.isfinite(ref.cinc_se[k - 1])
        np.testing.assert_allclose(se[ok], ref.cinc_se[k - 1][ok], rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("seed", [2, 3])
def test_with_delayed_entry_it_is_lifelines_aalen_johansen(seed: int) -> None:
    from lifelines import AalenJohansenFitter

    t = competing_data(500, seed, entry=True)
    assert (t["entry_days"] > 0).sum() > 100
    c = codes(t)
    ours = aalen_johansen(
        t["duration_days"], c, entry=t["entry_days"].where(t["entry_days"] > 0, -1)
    )
    for k in (1, 2, 3):
        ajf = AalenJohansenFitter(calculate_variance=False).fit(
            t["duration_days"], c, event_of_interest=k, entry=t["entry_days"]
        )
        ref = ajf.cumulative_density_.iloc[:, 0]
        at = np.searchsorted(ours[k]["time"].to_numpy(), ref.index.to_numpy(), side="right") - 1
        got = np.where(at >= 0, ours[k]["cif"].to_numpy()[np.clip(at, 0, None)], 0.0)
        np.testing.assert_allclose(got, ref.to_numpy(), atol=1e-6)


def test_the_endings_add_up_to_one_minus_kaplan_meier() -> None:
    from statsmodels.duration.survfunc import SurvfuncRight

    t = competing_data(500, 4, entry=True)
    res = cumulative_incidence(t)
    total = sum(
        res.curves[("all", k)].at(400).estimate for k in ("removed", "hidden", "went_quiet")
    )
    e = t["entry_days"].to_numpy()
    sf = SurvfuncRight(t["duration_days"], t["ended"], entry=np.where(e > 0, e, -1))
    km = sf.surv_prob[np.searchsorted(sf.surv_times, 400, side="right") - 1]
    assert total == pytest.approx(1 - km, abs=1e-12)
    row = res.summary.set_index("cause").loc["went_quiet"]
    assert row["cif_12 months_low"] <= row["cif_12 months"] <= row["cif_12 months_high"]


def test_cause_specific_cox_counts_only_its_ending() -> None:
    t = competing_data(800, 5, entry=True)
    anyend = cox(t, ["basis"])
    removed = cox(t, ["basis"], cause="removed")
    assert removed.events == int(((t["end_reason"] == "removed") & (t["ended"] == 1)).sum())
    assert anyend.events == int(t["ended"].sum()) > removed.events
    # the causes are drawn independently of the group: every cause-specific HR is the overall 2
    for fit in (anyend, removed):
        r = fit.summary.loc["basis[none]"]
        assert r["hr_low"] <= 2.0 <= r["hr_high"]
    assert "cause-specific (removed)" in removed.hazard_ratio("basis[none]").method
