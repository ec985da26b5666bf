"""The vectorized PHReg gives statsmodels' own likelihood, score, Hessian and fit."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.duration.hazard_regression import PHReg as StatsmodelsPHReg

from study.analysis.phreg import PHReg


def _data(n: int = 1500, seed: int = 3):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3))
    # times on a half-day grid: many tied failure times, so Efron differs from Breslow
    t = np.round(rng.exponential(np.exp(-x @ [0.5, -0.3, 0.2])) * 20) / 2
    status = (rng.random(n) < 0.7).astype(int)
    return t, x, status, rng.integers(0, 5, n)


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("extra", ["none", "strata", "offset"])
def test_same_as_statsmodels_loops(ties, extra):
    t, x, status, strata = _data()
    kw = {"strata": strata} if extra == "strata" else {}
    if extra == "offset":
        kw = {"offset": 0.1 * x[:, 0]}
    ref = StatsmodelsPHReg(t, x, status=status, ties=ties, **kw)
    ours = PHReg(t, x, status=status, ties=ties, **kw)
    p = np.array([0.3, -0.2, 0.1])
    assert ours.loglike(p) == pytest.approx(ref.loglike(p), rel=1e-10)
    np.testing.assert_allclose(ours.score(p), ref.score(p), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.hessian(p), ref.hessian(p), rtol=1e-9, atol=1e-9)
    a, b = ref.fit(), ours.fit()
    np.testing.assert_allclose(b.params, a.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(b.bse, a.bse, rtol=1e-8, atol=1e-10)


def test_efron_differs_from_breslow_on_tied_times():
    t, x, status, _ = _data()
    efron = PHReg(t, x, status=status, ties="efron").fit().params
    breslow = PHReg(t, x, status=status, ties="breslow").fit().params
    assert np.abs(efron - breslow).max() > 1e-3


@pytest.mark.parametrize("ties", ["efron", "breslow"])
@pytest.mark.parametrize("strata", [False, True])
def test_entry_times_give_statsmodels_risk_sets(ties, strata):
    """Delayed entry (left truncation): the vectorized sums leave out rows not yet entered,
    as statsmodels' loops do (entry <= failure time <= time), ties at entry times included."""
    t, x, status, st = _data(600)
    rng = np.random.default_rng(5)
    # half the rows enter late, some exactly at a failure time, some at their own time
    entry = np.where(rng.random(len(t)) < 0.5, np.round(t * rng.random(len(t)) * 2) / 2, 0.0)
    entry[:5] = t[:5]
    kw = {"strata": st} if strata else {}
    ref = StatsmodelsPHReg(t, x, status=status, entry=entry, ties=ties, **kw)
    ours = PHReg(t, x, status=status, entry=entry, ties=ties, **kw)
    assert ours._strata()  # the vectorized path, not the loops
    p = np.array([0.3, -0.2, 0.1])
    assert ours.loglike(p) == pytest.approx(ref.loglike(p), rel=1e-10)
    np.testing.assert_allclose(ours.score(p), ref.score(p), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(ours.hessian(p), ref.hessian(p), rtol=1e-9, atol=1e-9)
    a, b = ref.fit(), ours.fit()
    np.testing.assert_allclose(b.params, a.params, rtol=1e-8, atol=1e-10)
    np.testing.assert_allclose(b.bse, a.bse, rtol=1e-8, atol=1e-10)
