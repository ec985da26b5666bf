"""RQ4 on data with known vouch, response and survival probabilities; the ego network."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from helpers.frames import (
    VOUCH_INTERCEPT,
    VOUCH_SLOPE,
    Log,
    day,
    introductions_frame,
    weibull_ties,
)

from study.analysis.base import NotEnoughData
from study.analysis.second_degree import ego_network, rates, second_vs_first, vouch_model
from study.tables.introductions import introductions
from study.tables.ties import ties


def _rates_hits(seed: int) -> tuple[int, int]:
    """How many of the nine intervals (pass, response, 12-month survival per type) cover the
    truth, of how many."""
    d = introductions_frame(300, seed)
    r = rates(d).summary.set_index("introducer_type")
    assert list(r.index) == ["first_hand", "none", "collector"]
    assert (r["note"] == "").all()
    truth_pass = d.groupby("introducer_type", observed=True)["true_pass"].mean()
    hits = 0
    for g, row in r.iterrows():
        hits += row["pass_low"] <= truth_pass[g] <= row["pass_high"]
    for g, p in {"first_hand": 0.8, "none": 0.6, "collector": 0.3}.items():
        hits += r.loc[g, "response_low"] <= p <= r.loc[g, "response_high"]
    for g, mean in {"first_hand": 600.0, "none": 400.0, "collector": 200.0}.items():
        truth = math.exp(-365.25 / mean)
        hits += r.loc[g, "survival_low"] <= truth <= r.loc[g, "survival_high"]
    return int(hits), 9


def test_rates_recover_true_probabilities() -> None:
    hits = [_rates_hits(seed) for seed in (1, 2, 3)]
    assert sum(h for h, _ in hits) >= 24  # of 27 intervals (95% each: 25.65 expected)


@pytest.mark.slow
def test_rates_coverage_over_50_seeds() -> None:
    hits = sum(_rates_hits(seed)[0] for seed in range(300, 350))
    assert hits >= 0.9 * 450, hits


def test_rates_say_when_a_group_is_too_small() -> None:
    d = introductions_frame(30, 2)
    d = pd.concat([d, d.head(3).assign(introducer_type="other", vouch_outcome=np.nan)])
    r = rates(d).summary.set_index("introducer_type")
    assert np.isnan(r.loc["other", "survival"]) and np.isnan(r.loc["other", "pass_rate"])
    assert "no vouch checks" in r.loc["other", "note"] and "needs 10" in r.loc["other", "note"]
    with pytest.raises(NotEnoughData):
        rates(d.head(0))


def _vouch_covers(seed: int) -> bool:
    m = vouch_model(introductions_frame(400, seed), time_since=False)
    s = m.summary
    truth = {
        "introducer_type[none]": VOUCH_INTERCEPT["none"] - VOUCH_INTERCEPT["first_hand"],
        "introducer_type[collector]": VOUCH_INTERCEPT["collector"] - VOUCH_INTERCEPT["first_hand"],
        "log1p_connections": VOUCH_SLOPE,
    }
    return all(s.loc[k, "or_low"] <= math.exp(v) <= s.loc[k, "or_high"] for k, v in truth.items())


def test_vouch_model_recovers_odds_ratios() -> None:
    assert sum(_vouch_covers(seed) for seed in (3, 4, 5)) >= 2
    m = vouch_model(introductions_frame(200, 6))
    assert m.covariance == "model-based"
    assert "years_since_introduction" in m.summary.index
    # time since introduction has no effect in the truth
    row = m.summary.loc["years_since_introduction"]
    assert row["or_low"] <= 1 <= row["or_high"]
    per100 = vouch_model(introductions_frame(200, 6), connections="per100")
    assert "connections_per100" in per100.summary.index


@pytest.mark.slow
def test_vouch_model_coverage_over_50_seeds() -> None:
    assert sum(_vouch_covers(seed) for seed in range(200, 250)) >= 45


def test_vouch_model_panel_is_cluster_robust() -> None:
    d = introductions_frame(200, 7, participants=8)
    m = vouch_model(d)
    assert m.covariance == "cluster-robust by participant (t with 7 df)"
    naive = vouch_model(d, cluster=None)
    assert not np.allclose(m.summary["se"], naive.summary["se"])
    np.testing.assert_allclose(m.summary["coef"], naive.summary["coef"])


def test_vouch_model_not_enough_data() -> None:
    d = introductions_frame(5, 8)
    with pytest.raises(NotEnoughData):
        vouch_model(d)
    d = introductions_frame(50, 8).assign(vouch_outcome="known")
    with pytest.raises(NotEnoughData, match="both outcomes"):
        vouch_model(d)


def test_second_vs_first_finds_shorter_second_degree_ties() -> None:
    t = weibull_ties(600, 9, hr=0.5)  # group 1 (met_in_person) ends at half the hazard
    t["basis"] = np.where(t["group"] == 1, "met_in_person", "introduced")
    c = second_vs_first(t)
    s = c.summary.iloc[0]
    assert s["hr_low"] <= 2.0 <= s["hr_high"]  # second against first: 1 / 0.5
    assert s["logrank_p"] < 0.01 and s["n_first"] + s["n_second"] == 600
    with pytest.raises(NotEnoughData, match="second-degree"):
        second_vs_first(t[t["basis"] != "introduced"])


def test_ego_network_from_log() -> None:
    log = Log()
    log.contact("f1", basis="knows_personally")
    log.contact("f2", basis="met_in_person")
    log.contact("s1", basis="introduced", introducer="f1")
    log.contact("s2", basis="introduced", introducer="f1")
    for k in ("f1", "f2"):
        log.accepted(k, 0)
        log.talk(k, 10)
    log.log("introduction", 20, "s1", introducer="f1", introducer_connections=800)
    log.log("introduction", 21, "s2", introducer="f1")
    log.accepted("s1", 22)
    log.accepted("s2", 22)
    log.log("vouch_check", 23, "s1", outcome="unknown")
    log.log("contact_removed", 30, "s2")
    ev, con = log.events(), log.contacts()
    t = ties(ev, con, cutoff=day(60))
    intro = introductions(ev, con, cutoff=day(60), ties_table=t)
    g = ego_network(t, intro)
    assert g.nodes["me"]["degree"] == 0
    assert {n for n, a in g.nodes(data=True) if a["degree"] == 1} == {"f1", "f2"}
    assert {n for n, a in g.nodes(data=True) if a["degree"] == 2} == {"s1", "s2"}
    assert set(g.edges()) == {("me", "f1"), ("me", "f2"), ("f1", "s1"), ("f1", "s2")} or set(
        map(frozenset, g.edges())
    ) == {frozenset(e) for e in (("me", "f1"), ("me", "f2"), ("f1", "s1"), ("f1", "s2"))}
    assert g.nodes["s1"]["introducer_type"] == "collector"
    assert g.nodes["s1"]["vouch_outcome"] == "unknown" and g.nodes["s2"]["vouch_outcome"] is None
    assert g.nodes["s1"]["alive"] and not g.nodes["s2"]["alive"]
    assert g.nodes["f2"]["basis"] == "met_in_person"
