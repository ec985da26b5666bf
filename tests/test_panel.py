"""Panel summaries and pooled estimates that count participants as clusters."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from study.analysis.base import NotEnoughData, wilson
from study.analysis.panel import (
    MIN_PARTICIPANTS,
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


def test_a_small_panel_has_counts_but_no_pooled_figures():
    """Three participants: each one's counts, and no population-level figure (issue 16: the
    report printed pooled intervals below the threshold)."""
    from study.estimands import Results
    from study.simulate import Params, frames
    from study.tables.bundle import Tables

    f = frames(Params(), 3, participants=3, months=24)
    tables = Tables(f.events, f.contacts, f.end)
    res = Results(tables)["overview.panel"]
    assert list(res.participants["participant"]) == sorted(f.truth["participants"])
    t = tables.ties
    assert res.participants["ties"].sum() == t.groupby(["participant", "contact"]).ngroups
    assert res.participants["leads"].sum() == len(tables.leads)
    assert res.leads_per_100 is None and res.views_level is None
    assert res.estimands() == {}
    rates = Results(tables)["job_search.rates"]
    assert rates.per_month is None and rates.per_100_reliable is None
    assert rates.estimands() == {}
