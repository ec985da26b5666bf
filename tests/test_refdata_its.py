"""The interrupted-time-series function reproduces a published worked example.

Source: Lopez Bernal J, Cummins S, Gasparrini A. Interrupted time series regression for the
evaluation of public health interventions: a tutorial. Int J Epidemiol 2017;46(1):348-355,
with the authors' R code and data (github.com/gasparrini/2017_lopezbernal_IJE_codedata,
``Rcode.R``; the data are ../shared/refdata/sicily.csv): acute coronary events in Sicily,
59 months 2002-01..2006-11, the smoking ban from month 37 (position 36).

The models of ``Rcode.R``:

* model1 ``glm(aces ~ offset(log(stdpop)) + smokban + time, family=poisson)``;
* model2 the same with ``family=quasipoisson``;
* model3 model2 ``+ harmonic(month,2,12)``; the paper's seasonally adjusted result, rate ratio
  0.885 (95% CI 0.839-0.933), dispersion 2.262, trend ``exp(12 × time)`` = 1.067 per year
  (the same figures a public re-implementation checks against: its test prints
  "0.885 (0.839 to 0.933)", "dispersion 2.262", "1.067");
* model4 model3 ``+ I(time-36):smokban`` (the additional material), slope coefficient 0.00148.

The brief that asked for this test quoted 0.936 (0.893-0.980) for model1; these data give
0.894 (0.865-0.925) for model1 (and the paper's 0.885 for model3), so the test pins what the
code and data give, rounded as printed, and names model3's published figures explicitly.
``ci.exp`` (package Epi) gives Wald intervals with normal quantiles, as ``its`` does.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from study.analysis.reputation import its
from tests.helpers.refdata import read_refdata


@pytest.fixture(scope="module")
def sicily() -> pd.DataFrame:
    return read_refdata("sicily.csv")


def rounded(est, digits: int = 3) -> tuple[float, float, float]:
    return (round(est.estimate, digits), round(est.low, digits), round(est.high, digits))


def test_model3_seasonally_adjusted_quasi_poisson_as_published(sicily: pd.DataFrame) -> None:
    """Paper and Rcode.R model3: RR 0.885 (0.839-0.933), dispersion 2.262, trend 1.067/year."""
    r = its(
        sicily["aces"],
        sicily["time"],
        [36],
        family="quasipoisson",
        exposure=sicily["stdpop"],
        fourier=2,
        period=12,
        slope_change=False,
    )
    assert rounded(r.level) == (0.885, 0.839, 0.933)
    assert round(r.fit.dispersion, 3) == 2.262
    assert round(r.trend.estimate**12, 3) == 1.067
    assert r.effects[0].at == 37  # the first month of the ban
    assert r.n == 59
    flat = r.curves["deseasonalised"] / r.curves["deseasonalised_counterfactual"]
    assert np.allclose(flat[r.curves["segment"] == 1], r.level.estimate)
    assert np.allclose(flat[r.curves["segment"] == 0], 1.0)


def test_model1_poisson_and_model2_quasi_poisson(sicily: pd.DataFrame) -> None:
    """Rcode.R model1 (Poisson) and model2 (quasi-Poisson): the same point estimate, the
    quasi-Poisson interval wider by sqrt(dispersion)."""
    m1 = its(sicily["aces"], sicily["time"], [36], exposure=sicily["stdpop"], slope_change=False)
    m2 = its(
        sicily["aces"],
        sicily["time"],
        [36],
        family="quasipoisson",
        exposure=sicily["stdpop"],
        slope_change=False,
    )
    assert rounded(m1.level) == (0.894, 0.865, 0.925)
    assert rounded(m2.level) == (0.894, 0.839, 0.953)
    se1 = np.log(m1.level.high / m1.level.low)
    se2 = np.log(m2.level.high / m2.level.low)
    assert se2 / se1 == pytest.approx(np.sqrt(m2.fit.dispersion), rel=1e-5)


def test_model4_slope_change(sicily: pd.DataFrame) -> None:
    """Rcode.R model4: slope coefficient 0.00148 (its parameterisation I(time-36):smokban
    measures the level at month 36; ours at month 37, so its level is ours minus one slope)."""
    r = its(
        sicily["aces"],
        sicily["time"],
        [36],
        family="quasipoisson",
        exposure=sicily["stdpop"],
        fourier=2,
        period=12,
    )
    assert round(float(np.log(r.slope.estimate)), 5) == 0.00148
    theirs = r.fit.contrast({"level_1": 1.0, "slope_1": -1.0})
    assert theirs.estimate == pytest.approx(r.level.estimate / r.slope.estimate, rel=1e-12)
    # the slope change's interval covers 1: "not distinguishable from none"
    assert r.slope.low < 1 < r.slope.high


def test_counterfactual_continues_the_pre_ban_segment(sicily: pd.DataFrame) -> None:
    r = its(sicily["aces"], sicily["time"], [36], exposure=sicily["stdpop"], slope_change=False)
    c = r.curves
    assert list(c.columns[:4]) == ["time", "observed", "fitted", "counterfactual"]
    before, after = c[c["segment"] == 0], c[c["segment"] == 1]
    assert np.allclose(before["fitted"], before["counterfactual"])
    ratio = after["fitted"] / after["counterfactual"]
    assert np.allclose(ratio, r.level.estimate)
