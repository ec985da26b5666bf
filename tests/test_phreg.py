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


def test_entry_times_use_statsmodels_loops():
    t, x, status, _ = _data(300)
    entry = np.minimum(t * 0.3, t)
    ref = StatsmodelsPHReg(t, x, status=status, entry=entry).fit()
    ours = PHReg(t, x, status=status, entry=entry).fit()
    np.testing.assert_allclose(ours.params, ref.params, rtol=1e-10)
