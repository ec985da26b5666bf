"""RQ1 job search: lead rates, shares, the funnel, and the lead model on known truth."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from study.analysis.base import NotEnoughData
from study.analysis.jobs import (
    funnel,
    lead_rates,
    lead_shares,
    leads_model,
    monthly_panel,
    poisson_rate,
    tie_strength_shares,
)
from study.vocabulary import LEAD_PROGRESS


def make_leads(furthest: list[str], **cols) -> pd.DataFrame:
    n = len(furthest)
    df = pd.DataFrame(
        {
            "participant": cols.pop("participant", ["me"] * n),
            "lead": [f"L{i}" for i in range(n)],
            "first_seen": cols.pop(
                "first_seen", pd.date_range("2026-01-03", periods=n, freq="5D", tz="UTC")
            ),
            "furthest_stage": furthest,
            "closed": cols.pop("closed", [pd.NA] * n),
            **cols,
        }
    )
    for i, s in enumerate(LEAD_PROGRESS):
        df[f"reached_{s}"] = [LEAD_PROGRESS.index(f) >= i for f in furthest]
    return df


def test_funnel_conversions_and_wilson() -> None:
    stages = ["lead"] * 4 + ["applied"] * 3 + ["interview"] * 2 + ["offer"] + ["accepted"]
    f = funnel(make_leads(stages))
    assert f.reached == {"lead": 11, "applied": 7, "interview": 4, "offer": 2, "accepted": 1}
    conv = f.conversions["applied"]
    assert conv.estimate == pytest.approx(7 / 11) and conv.n == 11
    assert conv.low < 7 / 11 < conv.high
    assert f.conversions["accepted"].estimate == pytest.approx(0.5)
    assert "lead" not in f.conversions
    assert f.summary["stage"].tolist() == list(LEAD_PROGRESS)
    with pytest.raises(NotEnoughData):
        funnel(make_leads([]))


def test_shares_by_basis_with_missing_as_a_group() -> None:
    df = make_leads(
        ["lead"] * 5, basis=["knows_personally", "knows_personally", "none", None, None]
    )
    s = lead_shares(df, "basis")
    assert s.n == 5
    assert s.shares["knows_personally"].estimate == pytest.approx(0.4)
    assert s.shares["no contact"].estimate == pytest.approx(0.4)
    assert s.summary["leads"].sum() == 5
    t = tie_strength_shares(
        make_leads(["lead"] * 4, tie_strength=["rarely", "often", "rarely", None])
    )
    assert list(t.shares) == ["often", "occasionally", "rarely"]
    assert t.n == 3 and t.shares["occasionally"].estimate == 0
    assert t.shares["occasionally"].high > 0  # Wilson: zero observed is not "zero for sure"


def test_lead_rates_per_month_and_per_100_ties() -> None:
    seen = pd.to_datetime(["2026-01-05", "2026-01-20", "2026-03-02"], utc=True)
    df = make_leads(["lead"] * 3, first_seen=seen)
    timeline = pd.DataFrame(
        {
            "participant": ["me"] * 3,
            "period_end": pd.to_datetime(["2026-01-31", "2026-02-28", "2026-03-31"], utc=True),
            "alive": [100, 100, 100],
            "reliable": [50, 50, 50],
        }
    )
    r = lead_rates(df, timeline)
    assert r.months == 3
    assert r.summary["leads"].tolist() == [2, 0, 1]
    assert r.per_month.estimate == pytest.approx(1.0)
    assert r.per_100_ties.estimate == pytest.approx(1.0)  # 3 leads / 300 tie-months * 100
    assert r.per_100_reliable.estimate == pytest.approx(2.0)
    # exact Poisson interval for 3 events (Garwood): 0.619 .. 8.768
    assert (r.per_month.low * 3, r.per_month.high * 3) == pytest.approx((0.6187, 8.7673), abs=1e-4)


def test_poisson_rate_needs_exposure() -> None:
    with pytest.raises(NotEnoughData):
        poisson_rate(3, 0)


def simulate_panel(
    seed: int,
    rr_reliable: float = 1.5,
    rr_activity: float = 1.1,
    months: int = 48,
    participants: int = 3,
):
    rng = np.random.default_rng(seed)
    rows = []
    for p in (f"p{i}" for i in range(1, participants + 1)):
        reliable = np.clip(np.cumsum(rng.normal(5, 8, months)) + rng.uniform(20, 200), 0, None)
        activity = rng.poisson(2, months)
        base = rng.uniform(0.2, 0.6)  # each participant's own baseline
        mu = np.exp(
            np.log(base) + np.log(rr_reliable) * reliable / 100 + np.log(rr_activity) * activity
        )
        rows.append(
            pd.DataFrame(
                {
                    "participant": p,
                    "month": pd.date_range("2022-01-01", periods=months, freq="MS"),
                    "leads": rng.poisson(mu),
                    "reliable": reliable.round(),
                    "alive": reliable.round() * 2,
                    "activity": activity,
                }
            )
        )
    return pd.concat(rows, ignore_index=True)


def coverage(seeds: range, **kw) -> tuple[float, float]:
    hit_r = hit_a = 0
    for seed in seeds:
        m = leads_model(simulate_panel(seed, **kw))
        r, a = m.rate_ratios["reliable"], m.rate_ratios["activity"]
        hit_r += r.low <= 1.5 <= r.high
        hit_a += a.low <= 1.1 <= a.high
    return hit_r / len(seeds), hit_a / len(seeds)


def test_leads_model_recovers_the_rate_ratios_quick() -> None:
    m = leads_model(simulate_panel(0))
    assert "model-based" in m.method  # three participants: fixed effects, no sandwich
    assert m.rate_ratios["reliable"].low < 1.5 < m.rate_ratios["reliable"].high
    cov_r, cov_a = coverage(range(1, 11))
    assert cov_r >= 0.8 and cov_a >= 0.8
    many = leads_model(simulate_panel(0, participants=12, months=24))
    assert "cluster-robust" in many.method
    assert many.rate_ratios["reliable"].low < 1.5 < many.rate_ratios["reliable"].high


@pytest.mark.slow
def test_leads_model_coverage_50_seeds() -> None:
    """Known truth: the 95% CIs cover RR 1.5 per 100 reliable ties and 1.1 per activity in at
    least 90% of 50 simulated panels: three participants (fixed effects), twenty participants
    (cluster-robust errors; a little below nominal, as sandwich errors are), and one."""
    cov_r, cov_a = coverage(range(100, 150))
    assert cov_r >= 0.9 and cov_a >= 0.9
    cov_r, cov_a = coverage(range(300, 350), participants=20, months=24)
    single = 0
    for seed in range(200, 250):
        panel = simulate_panel(seed, months=120)
        m = leads_model(panel[panel["participant"] == "p1"])
        single += m.rate_ratios["reliable"].low <= 1.5 <= m.rate_ratios["reliable"].high
    assert single / 50 >= 0.9
    assert cov_r >= 0.8 and cov_a >= 0.8


def test_leads_model_negbin_and_exposure() -> None:
    panel = simulate_panel(3)
    m = leads_model(panel, family="negbin")
    assert "negative-binomial" in m.method
    assert m.rate_ratios["reliable"].low < 1.5 < m.rate_ratios["reliable"].high
    e = leads_model(panel, covariates=("activity",), exposure="alive")
    assert set(e.rate_ratios) == {"activity"}


def test_leads_model_needs_varying_data() -> None:
    panel = simulate_panel(4)
    panel["activity"] = 1
    with pytest.raises(NotEnoughData):
        leads_model(panel)
    with pytest.raises(NotEnoughData):
        leads_model(panel.head(2), covariates=("reliable",))


def test_monthly_panel_joins_leads_ties_and_activity() -> None:
    seen = pd.to_datetime(["2026-01-05", "2026-01-20", "2026-03-02"], utc=True)
    leads = make_leads(["lead"] * 3, first_seen=seen)
    timeline = pd.DataFrame(
        {
            "participant": ["me"] * 4,
            "period_end": pd.to_datetime(
                ["2026-01-15", "2026-01-31", "2026-02-28", "2026-03-31"], utc=True
            ),
            "alive": [90, 100, 110, 120],
            "reliable": [40, 50, 55, 60],
        }
    )
    activity = pd.DataFrame(
        {
            "participant": ["me", "me"],
            "kind": ["activity", "activity"],
            "occurred_at": pd.to_datetime(["2026-02-03", "2026-02-10"], utc=True),
        }
    )
    p = monthly_panel(leads, timeline, activity)
    assert p["leads"].tolist() == [2, 0, 1]
    assert p["alive"].tolist() == [100, 110, 120]  # the month's last period end
    assert p["activity"].tolist() == [0, 2, 0]


def test_a_timeline_of_month_starts_closes_the_month_before() -> None:
    """The ties timeline's default period ends are month starts (freq "MS"): 2026-02-01 00:00
    is the end of January."""
    seen = pd.to_datetime(["2026-01-05", "2026-02-20"], utc=True)
    leads = make_leads(["lead"] * 2, first_seen=seen)
    timeline = pd.DataFrame(
        {
            "participant": ["me"] * 2,
            "period_end": pd.to_datetime(["2026-02-01", "2026-03-01"], utc=True),
            "alive": [10, 20],
            "reliable": [5, 8],
        }
    )
    p = monthly_panel(leads, timeline)
    assert p["month"].dt.strftime("%Y-%m").tolist() == ["2026-01", "2026-02"]
    assert p["alive"].tolist() == [10, 20]
    r = lead_rates(leads, timeline)
    assert r.summary["alive"].tolist() == [10, 20]
