"""The overview: indicators per month or quarter, and the change from the period before."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from study.analysis.base import NotEnoughData
from study.analysis.overview import changes, indicators


@pytest.fixture
def inputs() -> dict[str, pd.DataFrame]:
    timeline = pd.DataFrame(
        {
            "participant": ["me"] * 4 + ["you"] * 2,
            "period_end": pd.to_datetime(
                [
                    "2026-01-15",
                    "2026-01-31",
                    "2026-02-28",
                    "2026-03-31",
                    "2026-01-31",
                    "2026-02-28",
                ],
                utc=True,
            ),
            "alive": [5, 10, 12, 15, 20, 20],
            "reliable": [1, 4, 6, 9, 10, 12],
        }
    )
    ties = pd.DataFrame(
        {
            "participant": "me",
            "contact": ["a", "b", "c", "d"],
            "start": pd.to_datetime(
                ["2026-01-02", "2026-01-20", "2026-02-05", "2025-12-01"], utc=True
            ),
            "basis": ["knows_personally", "none", "introduced", "none"],
        }
    )
    leads = pd.DataFrame(
        {"participant": "me", "first_seen": pd.to_datetime(["2026-02-03", "2026-02-25"], utc=True)}
    )
    weeks = pd.date_range("2025-12-29", "2026-03-30", freq="W-MON")
    panel = pd.DataFrame(
        {
            "participant": "me",
            "week": weeks,
            "profile_views": 70.0,
            "followers": np.arange(len(weeks), dtype=float) + 100,
            "googlability_rank": np.linspace(20, 5, len(weeks)).round(),
        }
    )
    return {"timeline": timeline, "ties": ties, "leads": leads, "panel": panel}


def test_indicators_per_month(inputs: dict[str, pd.DataFrame]) -> None:
    o = indicators("2026-01-01", "2026-03-31", **inputs)
    t = o.summary.set_index("period")
    assert list(t.index) == ["2026-01", "2026-02", "2026-03"]
    # January: me's last point (10 alive, 4 reliable) plus you's (20, 10)
    assert t.loc["2026-01", "network_size"] == 30 and t.loc["2026-01", "reliable"] == 14
    assert t.loc["2026-03", "network_size"] == 15  # you has no point in March
    share = t.loc["2026-02", "share_reliable"]
    assert share == pytest.approx(18 / 32)
    assert t.loc["2026-02", "share_low"] < share < t.loc["2026-02", "share_high"]
    assert t.loc["2026-01", "new_ties"] == 2 and t.loc["2026-01", "new_ties_none"] == 1
    assert t.loc["2026-02", "new_ties_introduced"] == 1
    assert t["leads"].tolist() == [0, 2, 0]
    # 10 views a day, every day covered: 31, 28 and 31 days
    assert t["views"].tolist() == pytest.approx([310, 280, 310])
    assert t.loc["2026-02", "views_low"] < 280 < t.loc["2026-02", "views_high"]
    assert t.loc["2026-01", "followers"] == 104  # the week of Jan 26 is the last in January
    assert t.loc["2026-03", "googlability_rank"] == inputs["panel"]["googlability_rank"].iloc[-1]


def test_indicators_per_quarter_and_one_participant(inputs: dict[str, pd.DataFrame]) -> None:
    o = indicators("2026-01-01", "2026-03-31", freq="quarter", participant="me", **inputs)
    assert o.summary["period"].tolist() == ["2026-Q1"]
    assert o.summary["network_size"].iloc[0] == 15
    assert o.summary["leads"].iloc[0] == 2


def test_changes_vs_previous_period(inputs: dict[str, pd.DataFrame]) -> None:
    o = indicators("2026-01-01", "2026-03-31", **inputs)
    c = changes(o).set_index("period")
    assert c.loc["2026-02", "previous"] == "2026-01"
    assert c.loc["2026-02", "network_size_change"] == 2
    assert c.loc["2026-02", "leads_change"] == 2
    # the same views per day: ratio 1, interval around it
    assert c.loc["2026-02", "views_ratio"] == pytest.approx(1.0)
    assert c.loc["2026-02", "views_ratio_low"] < 1 < c.loc["2026-02", "views_ratio_high"]
    assert np.isnan(c.loc["2026-02", "leads_ratio"])  # no leads in January: no ratio
    with pytest.raises(NotEnoughData):
        changes(indicators("2026-01-01", "2026-01-31", **inputs))


def test_missing_inputs_are_left_out() -> None:
    o = indicators("2026-01-01", "2026-02-28")
    assert list(o.summary.columns) == ["period", "start", "end"]
    assert len(o.summary) == 2


def test_month_start_period_ends_belong_to_the_month_before(inputs) -> None:
    timeline = pd.DataFrame(
        {
            "participant": ["me", "me"],
            "period_end": pd.to_datetime(["2026-02-01", "2026-03-01"], utc=True),
            "alive": [10, 20],
            "reliable": [5, 8],
        }
    )
    t = indicators("2026-01-01", "2026-03-31", timeline=timeline).summary
    assert t["network_size"].tolist()[:2] == [10, 20]
    assert np.isnan(t["network_size"].iloc[2])
