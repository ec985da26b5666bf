"""RQ2 on data with a known answer: Weibull lifetimes with a true hazard ratio, and edge cases."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers.frames import Log, day, weibull_ties

from study.analysis.at_risk import at_risk, piecewise_exponential
from study.analysis.base import NotEnoughData, wilson
from study.analysis.sustainability import (
    cox,
    kaplan_meier,
    logrank,
    ph_test,
    reliable_share,
)
from study.errors import StudyError
from study.tables.ties import reliability_timeline, ties

TRUE_HR = 0.5


def covers(seed: int, n: int = 400) -> bool:
    r = cox(weibull_ties(n, seed, hr=TRUE_HR), ["group"])
    row = r.summary.loc["group"]
    return bool(row["hr_low"] <= TRUE_HR <= row["hr_high"])


def test_cox_recovers_true_hazard_ratio_fast() -> None:
    assert sum(covers(seed) for seed in (1, 2, 3)) >= 2
    r = cox(weibull_ties(2000, 7, hr=TRUE_HR), ["group"])
    assert r.summary.loc["group", "hr"] == pytest.approx(TRUE_HR, rel=0.15)


@pytest.mark.slow
def test_cox_ci_coverage_over_50_seeds() -> None:
    hits = sum(covers(seed) for seed in range(100, 150))
    assert hits >= 45, hits


def test_km_median_covers_weibull_truth() -> None:
    shape, scale = 1.3, 400.0
    t = weibull_ties(600, 11, shape=shape, scale=scale, hr=1.0)
    km = kaplan_meier(t)
    med = km.curves["all"].median
    assert med.low <= scale * math.log(2) ** (1 / shape) <= med.high
    s12 = km.summary.iloc[0]
    truth12 = math.exp(-((365.25 / scale) ** shape))
    assert s12["surv_12 months_low"] <= truth12 <= s12["surv_12 months_high"]
    # the band is a band: low <= surv <= high everywhere, and it starts at 1
    tab = km.curves_table
    assert (tab["low"] <= tab["surv"] + 1e-12).all() and (tab["surv"] <= tab["high"] + 1e-12).all()
    assert tab.iloc[0][["time", "surv"]].tolist() == [0.0, 1.0]


def test_logrank_and_groups() -> None:
    t = weibull_ties(400, 5)
    km = kaplan_meier(t, "basis")
    assert set(km.curves) == {"met_in_person", "none"}
    assert km.logrank is not None and km.logrank.pvalue < 0.01
    same = weibull_ties(400, 5, hr=1.0)
    assert logrank(same, "basis").pvalue > 0.01
    # the cloglog band differs from the log band but brackets the same curve
    c = kaplan_meier(t, conf_type="cloglog").curves["all"].table
    lg = kaplan_meier(t).curves["all"].table
    assert not np.allclose(c["low"], lg["low"])
    np.testing.assert_allclose(c["surv"], lg["surv"])


def test_panel_cox_is_stratified_by_participant() -> None:
    parts = []
    for i, scale in enumerate((200.0, 400.0, 900.0)):
        d = weibull_ties(300, 20 + i, scale=scale, hr=TRUE_HR)
        parts.append(d.assign(participant=f"p{i}", contact=d["contact"] + f"-{i}"))
    t = pd.concat(parts, ignore_index=True)
    r = cox(t, ["group"])
    assert r.strata == "participant"
    assert r.summary.loc["group", "hr_low"] <= TRUE_HR <= r.summary.loc["group", "hr_high"]
    assert cox(t, ["group"], strata=None).strata is None
    lr = logrank(t, "basis", strata="participant")
    assert lr.strata == "participant" and lr.pvalue < 0.01


def test_not_enough_data() -> None:
    t = weibull_ties(40, 3)
    with pytest.raises(NotEnoughData):
        cox(t.head(5), ["group"])
    few_events = t.assign(ended=0)
    few_events.loc[few_events.index[:2], "ended"] = 1
    with pytest.raises(NotEnoughData):
        cox(few_events, ["group"])
    small = pd.concat([t, t.head(3).assign(basis="introduced")], ignore_index=True)
    with pytest.raises(NotEnoughData, match="introduced"):
        kaplan_meier(small, "basis")
    assert "introduced" not in kaplan_meier(small, "basis", small="skip").curves
    with pytest.raises(NotEnoughData):
        kaplan_meier(t.head(4))
    with pytest.raises(StudyError, match="ended"):
        kaplan_meier(t.drop(columns="ended"))
    with pytest.raises(StudyError, match="negative"):
        cox(t.assign(duration_days=-1.0), ["group"])


def test_cox_drops_constant_covariates_and_checks_ph() -> None:
    t = weibull_ties(300, 9)
    r = cox(t, ["group", "platform", "with_message"])
    assert set(r.dropped) == {"platform", "with_message"} and list(r.summary.index) == ["group"]
    z = ph_test(r)
    assert list(z.index) == ["group", "GLOBAL"]
    assert 0 <= z.loc["group", "p"] <= 1
    # Weibull with a common shape: proportional hazards hold
    assert z.loc["group", "p"] > 0.01


def test_piecewise_model_with_one_piece_is_the_exponential_mle() -> None:
    """One piece: the hazard ratio of a binary group is (d1/E1) / (d0/E0), events over days."""
    t = weibull_ties(400, 13)
    fit = piecewise_exponential(t, ["basis"], cuts=(0.0,))
    d = t.groupby("basis")[["ended", "duration_days"]].sum()
    rate = d["ended"] / d["duration_days"]
    assert fit.summary.loc["basis[none]", "hr"] == pytest.approx(
        rate["none"] / rate["met_in_person"], rel=1e-8
    )
    assert fit.pieces["hazard"].iloc[0] == pytest.approx(rate["met_in_person"], rel=1e-8)


def test_piecewise_model_recovers_the_cox_hazard_ratio() -> None:
    t = weibull_ties(2000, 7, hr=TRUE_HR)
    fit = piecewise_exponential(t, ["group"])
    assert len(fit.pieces) >= 3 and np.isinf(fit.pieces["end"].iloc[-1])
    hr = fit.hazard_ratio("group")
    assert hr.low <= TRUE_HR <= hr.high
    assert hr.estimate == pytest.approx(cox(t, ["group"]).summary.loc["group", "hr"], rel=0.05)


def test_at_risk_never_says_zero_and_certain_where_the_definition_says_so() -> None:
    """A live tie whose quiet date falls within the horizon ends by then unless someone acts:
    chance 1, why "quiet"; every other live tie gets the model's chance, never exactly 0."""
    log = Log()
    rng = np.random.default_rng(4)
    for i in range(60):
        k = log.contact(f"c{i}", basis="none" if i % 2 else "met_in_person")
        log.accepted(k, float(rng.uniform(0, 200)))
        for _ in range(int(rng.integers(0, 4))):
            log.talk(k, float(rng.uniform(200, 900)))
    t = ties(log.events(), log.contacts(), cutoff=day(900))
    fit = piecewise_exponential(t, ["basis"])
    ranked = at_risk(t, fit, 91)
    assert set(ranked["contact"]) == set(t.loc[t["alive_at_cutoff"], "contact"])
    soon = ranked["quiet_on"] <= day(900 + 91)
    assert soon.any() and (~soon).any()
    assert (ranked.loc[soon, "p_end"] == 1).all() and (ranked.loc[soon, "why"] == "quiet").all()
    rest = ranked[~soon]
    assert (rest["p_end"] > 0).all() and (rest["why"] == "model").all()
    assert ((rest["p_low"] <= rest["p_end"]) & (rest["p_end"] <= rest["p_high"])).all()
    assert ranked["p_end"].is_monotonic_decreasing
    want = (ranked["last_sign"] + pd.Timedelta(days=365)).rename("quiet_on")
    pd.testing.assert_series_equal(ranked["quiet_on"], want)
    assert list(at_risk(t, fit, 91, top=3)["contact"]) == list(ranked["contact"][:3])


def test_reliable_share_has_wilson_intervals() -> None:
    tl = pd.DataFrame(
        {
            "participant": ["a", "b", "a", "b"],
            "period_end": pd.to_datetime(["2024-02-01"] * 2 + ["2024-03-01"] * 2, utc=True),
            "alive": [10, 30, 0, 20],
            "reliable": [4, 18, 0, 5],
        }
    )
    pooled = reliable_share(tl)
    w = wilson(22, 40)
    assert pooled.iloc[0][["share", "low", "high"]].tolist() == pytest.approx(
        [w.estimate, w.low, w.high]
    )
    per = reliable_share(tl, pooled=False)
    assert len(per) == 4 and np.isnan(per.iloc[1]["share"])  # a, March: nothing alive


def test_reliable_share_from_events() -> None:
    log = Log()
    for i in range(6):
        log.contact(f"c{i}")
        log.accepted(f"c{i}", 0)
        if i < 4:
            log.talk(f"c{i}", 10)
    ev, con = log.events(), log.contacts()
    t = ties(ev, con, cutoff=day(100))
    share = reliable_share(reliability_timeline(ev, t, freq=[day(50)], cutoff=day(100)))
    assert share.iloc[0][["alive", "reliable"]].tolist() == [6, 4]


def test_a_study_shorter_than_w_has_no_follow_up_and_says_so() -> None:
    log = Log()
    for i in range(12):
        log.contact(f"c{i}")
        log.accepted(f"c{i}", i)
        log.log("contact_removed", 20 + i, f"c{i}")
    t = ties(log.events(), log.contacts(), cutoff=day(200))
    assert t["duration_days"].isna().all() and (t["end_reason"] == "removed").all()
    for fit in (lambda: kaplan_meier(t), lambda: cox(t, ["basis"]), lambda: logrank(t, "basis")):
        with pytest.raises(NotEnoughData, match="a study longer than W = 365 days"):
            fit()


def test_without_a_model_the_list_holds_what_the_definition_makes_certain() -> None:
    """Before any tie has follow-up (a study shorter than W) there is no model, but a tie whose
    quiet date falls within the horizon still goes quiet unless someone gets in touch."""
    from study.estimands.sustainability import sustainability_at_risk
    from study.tables.bundle import Tables

    log = Log()
    for i in range(8):
        log.contact(f"c{i}")
        log.accepted(f"c{i}", 10 * i)
        log.talk(f"c{i}", 10 * i + 5)
    ev, con = log.events(), log.contacts()
    t = ties(ev, con, cutoff=day(320))
    ranked = at_risk(t, None, 91)
    certain = ranked["quiet_on"] <= day(320 + 91)
    assert certain.sum() == 8 - 3 and (ranked.loc[certain, "p_end"] == 1).all()
    assert ranked.loc[~certain, "p_end"].isna().all()
    res = sustainability_at_risk(Tables(ev, con, day(320)))
    assert res.fit is None and res.estimands() == {}
    assert list(res.shown["contact"]) == list(ranked.loc[certain, "contact"])
    with pytest.raises(NotEnoughData):  # nothing certain and no model: nothing to list
        sustainability_at_risk(Tables(ev, con, day(200)))
