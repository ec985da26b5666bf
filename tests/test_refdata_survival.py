"""The survival functions against published analyses of public data and against lifelines.

Sources of the printed numbers:

* rossi.csv - Fox, J. & Weisberg, S., "Cox Proportional-Hazards Regression for Survival Data
  in R", appendix to *An R Companion to Applied Regression* (also Fox 2002/2008 versions):
  ``coxph(Surv(week, arrest) ~ fin + age + race + wexp + mar + paro + prio)`` (Efron ties),
  coefficients (se) fin -0.3794 (0.1914), age -0.0574 (0.0220), race 0.3139 (0.3080),
  wexp -0.1498 (0.2122), mar -0.4337 (0.3819), paro -0.0849 (0.1958), prio 0.0915 (0.0286);
  the appendix's ``cox.zph`` finds non-proportional hazards for age and wexp.
* lung.csv - R's survival package, data ``lung`` (Loprinzi et al. 1994):
  ``survfit(Surv(time, status) ~ 1, lung)`` median 310, 0.95 CI 285-363 (conf.type "log");
  ``survfit(Surv(time, status) ~ sex, lung)`` medians 270 (212-310) and 426 (348-550);
  ``survdiff(Surv(time, status) ~ sex, lung)`` "Chisq= 10.3 on 1 degrees of freedom,
  p= 0.00131116" (as printed e.g. in Packt's *Machine Learning with R Cookbook*, "Using the
  log-rank test"); ``coxph(Surv(time, status) ~ sex, lung)`` coef -0.531, exp(coef) 0.588,
  0.95 CI 0.4237-0.816 (STHDA, "Cox proportional hazards model", the lung example).
  The shared copy has status recoded to 1 = dead, 0 = censored (R: 2 = dead, 1 = censored),
  sex 1 = male, 2 = female.
"""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from study.analysis.sustainability import cox, kaplan_meier, logrank, ph_test
from tests.helpers.refdata import read_refdata

ROSSI_TERMS = ["fin", "age", "race", "wexp", "mar", "paro", "prio"]


@pytest.fixture(scope="module")
def rossi() -> pd.DataFrame:
    return read_refdata("rossi.csv").rename(columns={"week": "duration_days", "arrest": "ended"})


@pytest.fixture(scope="module")
def lung() -> pd.DataFrame:
    d = read_refdata("lung.csv").rename(columns={"time": "duration_days", "status": "ended"})
    assert set(d["ended"]) == {0, 1} and d["ended"].sum() == 165  # 165 deaths of 228
    d["sex"] = pd.Categorical(d["sex"].map({1: "male", 2: "female"}), ["male", "female"])
    return d


def test_rossi_cox_matches_fox_weisberg(rossi: pd.DataFrame) -> None:
    r = cox(rossi, ROSSI_TERMS)
    published = {
        "fin": (-0.3794, 0.1914),
        "age": (-0.0574, 0.0220),
        "race": (0.3139, 0.3080),
        "wexp": (-0.1498, 0.2122),
        "mar": (-0.4337, 0.3819),
        "paro": (-0.0849, 0.1958),
        "prio": (0.0915, 0.0286),
    }
    for term, (coef, se) in published.items():
        assert round(r.summary.loc[term, "coef"], 4) == coef, term
        assert round(r.summary.loc[term, "se"], 4) == se, term
    assert r.ties_method == "efron" and r.n == 432 and r.events == 114
    # Breslow ties give a visibly different fit (the option matters)
    b = cox(rossi, ROSSI_TERMS, ties_method="breslow")
    assert abs(b.summary.loc["fin", "coef"] - r.summary.loc["fin", "coef"]) > 1e-4


def test_rossi_ph_check_flags_age_and_wexp(rossi: pd.DataFrame) -> None:
    """The published conclusion: PH fails for age and wexp, holds for the other terms.

    statsmodels' Schoenfeld residuals use Breslow-type risk-set means, R's the Efron-adjusted
    ones, so the chi-squares differ from R's in the first digits; the conclusion is tested, and
    the statistic is compared with lifelines' implementation of the same test.
    """
    z = ph_test(cox(rossi, ROSSI_TERMS), transform="km")
    flagged = set(z.index[(z["p"] < 0.05) & (z.index != "GLOBAL")])
    assert flagged == {"age", "wexp"}
    from lifelines import CoxPHFitter
    from lifelines.statistics import proportional_hazard_test

    raw = read_refdata("rossi.csv")
    cph = CoxPHFitter().fit(raw, "week", "arrest")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ll = proportional_hazard_test(cph, raw, time_transform="km").summary["test_statistic"]
    for term in ROSSI_TERMS:
        assert z.loc[term, "chisq"] == pytest.approx(ll[term], abs=0.6), term


def test_lung_km_medians_and_logrank(lung: pd.DataFrame) -> None:
    overall = kaplan_meier(lung).summary.iloc[0]
    assert (overall["median_days"], overall["median_low"], overall["median_high"]) == (
        310,
        285,
        363,
    )
    by_sex = kaplan_meier(lung, "sex")
    s = by_sex.summary.set_index("group")
    assert tuple(s.loc["male", ["median_days", "median_low", "median_high"]]) == (270, 212, 310)
    assert tuple(s.loc["female", ["median_days", "median_low", "median_high"]]) == (426, 348, 550)
    assert (s.loc["male", "n"], s.loc["male", "events"]) == (138, 112)
    lr = by_sex.logrank
    assert round(lr.chisq, 1) == 10.3 and lr.df == 1
    assert round(lr.pvalue, 8) == 0.00131116
    assert logrank(lung, "sex").chisq == lr.chisq


def test_lung_cox_on_sex(lung: pd.DataFrame) -> None:
    r = cox(lung, ["sex"])
    row = r.summary.loc["sex[female]"]
    assert round(row["coef"], 3) == -0.531
    assert round(row["hr"], 3) == 0.588
    assert (round(row["hr_low"], 3), round(row["hr_high"], 3)) == (0.424, 0.816)
    assert str(r.hazard_ratio("sex[female]")).startswith("0.59 (95% CI 0.42–0.82")


def test_km_matches_lifelines(lung: pd.DataFrame, rossi: pd.DataFrame) -> None:
    from lifelines import KaplanMeierFitter

    for d in (lung, rossi):
        ours = kaplan_meier(d).curves["all"].table
        kmf = KaplanMeierFitter().fit(d["duration_days"], d["ended"])
        theirs = kmf.survival_function_.iloc[:, 0]
        # lifelines lists every observed time; ours the event times: compare at ours
        at = theirs.reindex(ours["time"].to_numpy())
        np.testing.assert_allclose(ours["surv"].to_numpy(), at.to_numpy(), atol=1e-6)
        # and between event times both are flat: evaluate ours at all of lifelines' times
        ev = kaplan_meier(d).curves["all"].at_time(theirs.index.to_numpy()[1:])
        np.testing.assert_allclose(ev["surv"].to_numpy(), theirs.to_numpy()[1:], atol=1e-6)


def test_km_band_matches_lifelines(lung: pd.DataFrame) -> None:
    """lifelines' pointwise interval is the log(-log) ("exponential Greenwood") one: our
    ``cloglog`` band must equal it."""
    from lifelines import KaplanMeierFitter

    ours = kaplan_meier(lung, conf_type="cloglog").curves["all"].table
    kmf = KaplanMeierFitter().fit(lung["duration_days"], lung["ended"])
    ci = kmf.confidence_interval_.reindex(ours["time"].to_numpy())
    np.testing.assert_allclose(ours["low"], ci.iloc[:, 0], atol=1e-6)
    np.testing.assert_allclose(ours["high"], ci.iloc[:, 1], atol=1e-6)
    # R's default log band is a different, wider-at-the-top interval
    log = kaplan_meier(lung).curves["all"].table
    assert not np.allclose(log["high"], ours["high"])


def test_cox_matches_lifelines(rossi: pd.DataFrame, lung: pd.DataFrame) -> None:
    from lifelines import CoxPHFitter

    # lifelines stops its Newton steps early by default (lung: 1.6e-6 off its own optimum,
    # score -5.6e-5); at a tight tolerance both sit on the same maximum
    tight = {"precision": 1e-12}
    ours = cox(rossi, ROSSI_TERMS).summary
    cph = CoxPHFitter().fit(
        rossi[[*ROSSI_TERMS, "duration_days", "ended"]],
        "duration_days",
        "ended",
        fit_options=tight,
    )
    np.testing.assert_allclose(ours["coef"], cph.params_[ROSSI_TERMS], atol=1e-6)
    np.testing.assert_allclose(ours["se"], cph.standard_errors_[ROSSI_TERMS], atol=1e-6)

    lung2 = lung.assign(female=(lung["sex"] == "female").astype(float))
    cph = CoxPHFitter().fit(
        lung2[["female", "duration_days", "ended"]], "duration_days", "ended", fit_options=tight
    )
    ours = cox(lung, ["sex"]).summary.iloc[0]
    assert ours["coef"] == pytest.approx(cph.params_["female"], abs=1e-6)
    assert ours["se"] == pytest.approx(cph.standard_errors_["female"], abs=1e-6)
