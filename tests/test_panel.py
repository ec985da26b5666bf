"""Panel summaries and pooled estimates that count participants as clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from study.analysis.base import NotEnoughData, wilson
from study.analysis.panel import (
    MIN_PARTICIPANTS,
    panel_summary,
    participant_summary,
    pooled_rate,
    pooled_share,
    random_effects,
)
from study.analysis.sustainability import km_curve


def _clustered(rng, participants: int, per: int, spread: float) -> tuple[pd.DataFrame, float]:
    """Rows whose chance of True varies by participant (Beta around 0.4); the true share."""
    a = 0.4 * spread
    p = rng.beta(a, spread - a, participants)
    y = rng.random((participants, per)) < p[:, None]
    pid = np.repeat([f"p{i:02d}" for i in range(participants)], per)
    return pd.DataFrame({"participant": pid, "reliable_at_end": y.ravel()}), 0.4


def test_pooled_share_is_the_raw_share_with_a_wider_interval_for_clustered_rows():
    rng = np.random.default_rng(1)
    df, _ = _clustered(rng, 20, 100, spread=2.0)  # participants differ a lot
    est = pooled_share(df, "reliable_at_end")
    naive = wilson(int(df["reliable_at_end"].sum()), len(df))
    assert est.estimate == pytest.approx(df["reliable_at_end"].mean(), abs=1e-9)
    assert (est.high - est.low) > 2 * (naive.high - naive.low)
    assert "cluster-robust" in est.method


def test_pooled_share_covers_the_true_share():
    rng = np.random.default_rng(2)
    hits = 0
    reps = 200
    for _ in range(reps):
        df, truth = _clustered(rng, 30, 40, spread=4.0)
        est = pooled_share(df, "reliable_at_end")
        hits += est.low <= truth <= est.high
    assert 0.88 <= hits / reps <= 0.99


def test_below_the_threshold_there_is_no_population_level_interval():
    # issue 16: below 5 participants the share fell back to Wilson over ties as if independent
    # (43 % coverage with between-participant SD 0.8 on the logit scale)
    df = pd.DataFrame({"participant": ["a"] * 30 + ["b"] * 30, "x": [True, False, False] * 20})
    with pytest.raises(NotEnoughData, match="population-level"):
        pooled_share(df, "x")
    with pytest.raises(NotEnoughData, match="population-level"):
        pooled_rate(df.assign(n=1, e=1.0), "n", "e")
    with pytest.raises(NotEnoughData, match="population-level"):
        random_effects([0.1, 0.2, 0.3, 0.4], [0.01] * 4)
    assert MIN_PARTICIPANTS == 5


def _logit_normal_panel(rng, groups: int, sd: float) -> pd.DataFrame:
    p = 1 / (1 + np.exp(-(np.log(0.4 / 0.6) + rng.normal(0, sd, groups))))
    per = rng.integers(10, 40, groups)
    y = np.concatenate([rng.random(n) < pi for n, pi in zip(per, p, strict=True)])
    return pd.DataFrame({"participant": np.repeat(np.arange(groups), per), "x": y})


def test_pooled_share_covers_at_the_threshold_with_t_quantiles():
    # issue 16: cluster-robust intervals with normal quantiles covered 87.5 % at 5 participants
    rng = np.random.default_rng(6)
    z = np.random.default_rng(0).normal(0, 0.8, 400_000)
    truth = float(np.mean(1 / (1 + np.exp(-(np.log(0.4 / 0.6) + z)))))
    reps = 400
    hits = 0
    for _ in range(reps):
        est = pooled_share(_logit_normal_panel(rng, MIN_PARTICIPANTS, 0.8), "x")
        hits += est.low <= truth <= est.high
    assert hits / reps >= 0.92, hits / reps


def test_random_effects_pool_differing_participants():
    # per-participant log ratios around 0.5 with between-participant SD 0.3: HKSJ covers
    rng = np.random.default_rng(7)
    hits, reps = 0, 400
    for _ in range(reps):
        k = 8
        se = rng.uniform(0.1, 0.3, k)
        b = 0.5 + rng.normal(0, 0.3, k) + rng.normal(0, se)
        est = random_effects(b, se**2)
        hits += est.low <= np.exp(0.5) <= est.high
    assert 0.92 <= hits / reps <= 0.99, hits / reps


def test_pooled_rate_covers_the_true_rate():
    rng = np.random.default_rng(3)
    hits, reps = 0, 200
    for _ in range(reps):
        months = rng.integers(6, 25, 25).astype(float)
        rate = 0.5 * rng.gamma(4.0, 0.25, 25)  # participants differ; mean rate 0.5
        leads = rng.poisson(rate * months)
        df = pd.DataFrame({"participant": range(25), "leads": leads, "months": months})
        est = pooled_rate(df, "leads", "months")
        assert est.estimate == pytest.approx(leads.sum() / months.sum())
        hits += est.low <= 0.5 <= est.high
    assert 0.85 <= hits / reps <= 0.99


def _ties(rng, participants: int, per: int) -> pd.DataFrame:
    pid = np.repeat([f"p{i}" for i in range(participants)], per)
    life = rng.exponential(300, len(pid))
    cens = rng.uniform(0, 700, len(pid))
    return pd.DataFrame(
        {
            "participant": pd.array(pid, dtype="string"),
            "duration_days": np.minimum(life, cens),
            "ended": (life <= cens).astype(int),
            "reliable_at_end": pd.array(rng.random(len(pid)) < 0.3, dtype="boolean"),
        }
    )


def test_participant_summary_rows_follow_each_participant():
    rng = np.random.default_rng(4)
    t = _ties(rng, 3, 60)
    t = pd.concat([t, _ties(rng, 1, 5).assign(participant="tiny")], ignore_index=True)
    leads = pd.DataFrame({"participant": ["p0", "p0", "p2"]})
    s = participant_summary(t, leads)
    assert list(s["participant"]) == ["p0", "p1", "p2", "tiny"]
    p1 = t[t["participant"] == "p1"]
    med = km_curve(p1["duration_days"], p1["ended"]).median
    row = s.set_index("participant").loc["p1"]
    assert row["ties"] == 60 and row["ended"] == p1["ended"].sum()
    assert row["median_days"] == pytest.approx(med.estimate)
    assert row["median_low"] == pytest.approx(med.low)
    assert row["reliable_share"] == pytest.approx(p1["reliable_at_end"].mean())
    assert list(s["leads"]) == [2, 0, 1, 0]
    assert np.isnan(s.set_index("participant").loc["tiny", "median_days"])


def test_panel_summary_needs_two_participants_and_pools():
    rng = np.random.default_rng(5)
    with pytest.raises(NotEnoughData):
        panel_summary(_ties(rng, 1, 50))
    t = _ties(rng, 6, 50)
    leads = pd.DataFrame({"participant": [f"p{i % 6}" for i in range(31)]})
    ps = panel_summary(t, leads)
    assert len(ps.participants) == 6
    assert ps.reliable_share.estimate == pytest.approx(t["reliable_at_end"].mean())
    assert ps.leads_per_participant.estimate == pytest.approx(31 / 6)
    assert list(ps.summary["figure"]) == [
        "share of ties reliable at their end",
        "job leads per participant",
    ]


def test_study_panel_summary_of_a_simulated_panel(tmp_path):
    import study
    from study.analysis.panel import study_panel_summary
    from study.simulate import Params, run
    from study.tables.ties import ties

    run(Params(), 3, tmp_path / "panel.db", participants=3, months=12)
    s = study.open(tmp_path / "panel.db")
    cutoff = s.events(columns=["occurred_at"])["occurred_at"].max()
    ps = study_panel_summary(s, cutoff)
    t = ties(s.events(), s.contacts(), cutoff=cutoff)
    assert list(ps.participants["participant"]) == sorted(s.participants())
    assert ps.participants["ties"].sum() == len(t)
    assert ps.reliable_share.estimate == pytest.approx(t["reliable_at_end"].mean())
    assert "Wilson" in ps.reliable_share.method  # three participants: too few clusters
