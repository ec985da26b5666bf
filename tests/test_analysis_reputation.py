"""RQ3 online reputation: ITS on known truth, views around profile updates, trends, lags."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from study.analysis.base import NotEnoughData
from study.analysis.reputation import (
    SEASON_FROM_WEEKS,
    activity_lags,
    intervention_weeks,
    its,
    metric_trend,
    profile_views_its,
    season_pairs,
)
from study.frames import tidy_events
from study.tables.metrics import weekly_metrics

LEVEL, SLOPE, TREND = 1.5, 1.01, 1.002


def weekly_series(seed: int, n: int = 104, at: int = 52, family: str = "poisson"):
    rng = np.random.default_rng(seed)
    t = np.arange(n)
    step = (t >= at).astype(float)
    mu = 40 * TREND**t * LEVEL**step * SLOPE ** ((t - at) * step)
    y = rng.poisson(mu) if family == "poisson" else rng.negative_binomial(5, 5 / (5 + mu))
    return y, pd.date_range("2024-01-01", periods=n, freq="W-MON")


def covers(seeds: range, family: str) -> tuple[float, float]:
    hit_level = hit_slope = 0
    for seed in seeds:
        y, weeks = weekly_series(seed, family=family)
        r = its(y, weeks, [52], family=family)
        hit_level += r.level.low <= LEVEL <= r.level.high
        hit_slope += r.slope.low <= SLOPE <= r.slope.high
    return hit_level / len(seeds), hit_slope / len(seeds)


def test_its_recovers_level_and_slope_change_quick() -> None:
    y, weeks = weekly_series(0)
    r = its(y, weeks, [weeks[52]], family="poisson")
    assert r.time_unit == "week"
    assert r.effects[0].at == weeks[52]
    assert r.level.low < LEVEL < r.level.high
    assert r.slope.low < SLOPE < r.slope.high
    assert r.trend.low < TREND < r.trend.high
    assert set(r.summary["term"]) == {"trend (per week)", "level change", "slope change (per week)"}
    level_cov, slope_cov = covers(range(1, 11), "poisson")
    assert level_cov >= 0.8 and slope_cov >= 0.8


@pytest.mark.slow
@pytest.mark.parametrize("family", ["poisson", "negbin"])
def test_its_coverage_50_seeds(family: str) -> None:
    """Known truth: the level change's 95% CI covers RR 1.5 (and the slope change 1.01 per
    week) in at least 90% of 50 simulated series, Poisson and negative-binomial counts."""
    level_cov, slope_cov = covers(range(100, 150), family)
    assert level_cov >= 0.9 and slope_cov >= 0.9


def test_its_options_hac_fourier_exposure_and_two_interventions() -> None:
    rng = np.random.default_rng(5)
    n = 156
    t = np.arange(n)
    season = 1 + 0.3 * np.sin(2 * np.pi * t / 52)
    exposure = rng.uniform(0.5, 1.0, n)
    mu = exposure * 30 * season * np.where(t >= 52, 2.0, 1.0) * np.where(t >= 104, 0.6, 1.0)
    y = rng.poisson(mu)
    r = its(
        y, None, [52, 104], exposure=exposure, fourier=1, period=52, hac_lags=4, slope_change=False
    )
    assert len(r.effects) == 2
    assert r.effects[0].level.low < 2.0 < r.effects[0].level.high
    assert r.effects[1].level.low < 0.6 < r.effects[1].level.high
    assert "HAC" in r.method and r.effects[0].slope is None
    assert r.curves["segment"].tolist() == [0] * 52 + [1] * 52 + [2] * 52


def test_its_refuses_too_few_points() -> None:
    y, weeks = weekly_series(1, n=10, at=8)
    with pytest.raises(NotEnoughData) as err:
        its(y, weeks, [8])
    assert err.value.n == 2
    with pytest.raises(NotEnoughData):
        its(y, weeks, [])
    with pytest.raises(NotEnoughData):
        its(np.zeros(20), None, [10])


def panel_events(seed: int, update: str = "2024-07-03T10:00Z") -> pd.DataFrame:
    """Weekly profile-view exports and a profile update: the level jumps by LEVEL from the week
    of the update."""
    rng = np.random.default_rng(seed)
    weeks = pd.date_range("2024-01-01", periods=80, freq="W-MON")
    update_week = pd.Timestamp(update).tz_convert(None).normalize()
    update_week -= pd.Timedelta(days=update_week.dayofweek)
    rows = []
    for w in weeks:
        mu = 30 * (LEVEL if w >= update_week else 1.0)
        rows.append(
            {
                "kind": "metric",
                "name": "profile_views",
                "value": float(rng.poisson(mu)),
                "occurred_at": (w + pd.Timedelta(days=6, hours=12)).strftime("%Y-%m-%dT%H:%MZ"),
                "period_start": w.date().isoformat(),
                "period_end": (w + pd.Timedelta(days=6)).date().isoformat(),
            }
        )
        rows.append(
            {
                "kind": "metric",
                "name": "followers",
                "value": float(100 + 2 * len(rows) // 2 + rng.normal(0, 3)),
                "occurred_at": (w + pd.Timedelta(days=2, hours=12)).strftime("%Y-%m-%dT%H:%MZ"),
            }
        )
    rows.append({"kind": "profile_updated", "section": "about", "occurred_at": update})
    rows.append({"kind": "profile_updated", "section": "photo", "occurred_at": "2024-07-10T10:00Z"})
    df = pd.DataFrame(rows)
    df["participant"], df["platform"] = "me", "xing"
    return tidy_events(df)


def test_profile_views_its_on_the_weekly_panel() -> None:
    panel = weekly_metrics(panel_events(0))
    assert intervention_weeks(panel) == [pd.Timestamp("2024-07-01")]
    assert intervention_weeks(panel, min_gap_weeks=1) == [
        pd.Timestamp("2024-07-01"),
        pd.Timestamp("2024-07-08"),
    ]
    assert intervention_weeks(panel, sections=["photo"]) == [pd.Timestamp("2024-07-08")]
    r = profile_views_its(panel, family="poisson", slope_change=False)
    assert r.effects[0].at == pd.Timestamp("2024-07-01")
    assert r.level.low < LEVEL < r.level.high
    assert len(r.curves) == 80
    with pytest.raises(NotEnoughData, match="after intervention 1"):
        profile_views_its(panel, which="all", min_gap_weeks=1)  # one week between the two
    nb = profile_views_its(panel, family="negbin")
    assert "negative-binomial" in nb.method and nb.level.low < LEVEL < nb.level.high
    chosen = profile_views_its(panel, interventions=["2024-03-06"], family="poisson")
    assert chosen.effects[0].at == pd.Timestamp("2024-03-11")  # the first week on or after


def test_the_season_enters_once_a_year_of_weeks_is_measured() -> None:
    panel = weekly_metrics(panel_events(0))  # 80 weeks
    assert season_pairs(panel) == 1
    views = panel["profile_views"].notna()
    first = panel.loc[views, "week"].min()
    short = panel[panel["week"] < first + pd.Timedelta(weeks=SEASON_FROM_WEEKS - 1)]
    assert season_pairs(short) == 0
    year = panel[panel["week"] < first + pd.Timedelta(weeks=SEASON_FROM_WEEKS)]
    assert season_pairs(year) == 1
    # weeks without a measurement do not count
    gaps = panel.copy()
    gaps.loc[gaps["week"] >= first + pd.Timedelta(weeks=20), "profile_views"] = np.nan
    assert season_pairs(gaps) == 0
    assert season_pairs(panel.iloc[:0]) == 0


def test_profile_views_its_without_updates_says_so() -> None:
    ev = panel_events(1)
    ev = ev[ev["kind"] != "profile_updated"]
    with pytest.raises(NotEnoughData, match="profile_updated"):
        profile_views_its(weekly_metrics(ev))


def test_metric_trend_of_followers_per_month() -> None:
    panel = weekly_metrics(panel_events(2))
    tr = metric_trend(panel, "followers")
    # followers grow by 2 a week: 2 * 365.25 / 12 / 7 = 8.70 a month
    assert tr.slope.low < 2 * 365.25 / 12 / 7 < tr.slope.high
    assert "Newey–West" in tr.method
    assert len(tr.curves) == 80
    with pytest.raises(NotEnoughData):
        metric_trend(panel.head(3), "followers")


def test_activity_lags_recover_the_lag_structure() -> None:
    rng = np.random.default_rng(7)
    n = 200
    weeks = pd.date_range("2023-01-02", periods=n, freq="W-MON")
    talk = rng.binomial(1, 0.15, n)
    post = rng.poisson(1.0, n)
    talk_lag1 = np.r_[0, talk[:-1]]
    mu = 40 * 1.4**talk_lag1 * 1.1**post
    panel = pd.DataFrame(
        {
            "participant": "me",
            "week": weeks,
            "profile_views": rng.poisson(mu).astype(float),
            "profile_views_days": 7,
            "talk": talk,
            "group_post": post,
            "article": 0,
            "intervention": pd.array([pd.NA] * n, dtype="string"),
        }
    )
    r = activity_lags(panel, lags=2, family="poisson")
    by = r.by_lag.set_index(["activity", "lag"])
    assert set(r.cumulative) == {"talk", "group_post"}  # articles never happened
    assert by.loc[("talk", 1), "low"] < 1.4 < by.loc[("talk", 1), "high"]
    assert by.loc[("talk", 0), "low"] < 1.0 < by.loc[("talk", 0), "high"]
    assert by.loc[("group_post", 0), "low"] < 1.1 < by.loc[("group_post", 0), "high"]
    assert r.cumulative["talk"].low < 1.4 < r.cumulative["talk"].high
    assert r.n == n - 2


def test_a_metric_the_panel_lacks_or_several_participants_are_user_errors() -> None:
    from study.errors import StudyError

    panel = weekly_metrics(panel_events(3))
    with pytest.raises(StudyError, match="no column"):
        metric_trend(panel, "not_a_metric")
    two = pd.concat([panel, panel.assign(participant="you")], ignore_index=True)
    with pytest.raises(StudyError, match="participant"):
        metric_trend(two, "followers")
    assert metric_trend(two, "followers", participant="you").slope.n == 80
