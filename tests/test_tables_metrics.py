"""The weekly metrics panel: distribution of count periods, last levels, interventions, activity."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from study.frames import tidy_events
from study.tables.metrics import weekly_metrics


def events(*rows: dict) -> pd.DataFrame:
    base = {"participant": "me", "platform": "xing"}
    return tidy_events(pd.DataFrame([{**base, **r} for r in rows]))


def metric(
    name: str, value: float, at: str, start: str | None = None, end: str | None = None, **kw
):
    return {
        "kind": "metric",
        "name": name,
        "value": value,
        "occurred_at": at,
        "period_start": start,
        "period_end": end,
        **kw,
    }


def test_a_count_period_is_spread_over_the_days_of_its_weeks() -> None:
    # 2026-01-01 is a Thursday; Jan 1..14 has 4 days in week Dec 29, 7 in Jan 5, 3 in Jan 12
    ev = events(metric("profile_views", 140, "2026-01-14T12:00Z", "2026-01-01", "2026-01-14"))
    p = weekly_metrics(ev)
    assert list(p["week"].dt.strftime("%Y-%m-%d")) == ["2025-12-29", "2026-01-05", "2026-01-12"]
    assert p["profile_views"].tolist() == pytest.approx([40, 70, 30])
    assert p["profile_views_days"].tolist() == [4, 7, 3]
    assert p["profile_views"].sum() == pytest.approx(140)
    assert (p["week"].dt.dayofweek == 0).all()


def test_platforms_are_summed_or_kept_apart() -> None:
    ev = events(
        metric("profile_views", 70, "2026-01-11T12:00Z", "2026-01-05", "2026-01-11"),
        metric(
            "profile_views",
            14,
            "2026-01-11T12:00Z",
            "2026-01-05",
            "2026-01-11",
            platform="linkedin",
        ),
        metric("followers", 10, "2026-01-06T12:00Z"),
        metric("followers", 12, "2026-01-09T12:00Z"),
        metric("followers", 30, "2026-01-07T12:00Z", platform="linkedin"),
        metric("googlability_rank", 8, "2026-01-06T12:00Z"),
        metric("googlability_rank", 5, "2026-01-10T12:00Z", platform="linkedin"),
    )
    p = weekly_metrics(ev)
    assert len(p) == 1
    row = p.iloc[0]
    assert row["profile_views"] == pytest.approx(84)
    assert row["profile_views_days"] == 7  # both cover the week: 7 days, not 14
    assert row["followers"] == 42  # last per platform (12) plus linkedin's 30
    assert row["googlability_rank"] == 5  # the last rank of the week, whatever the platform
    split = weekly_metrics(ev, by_platform=True).set_index("platform")
    assert split.loc["xing", "profile_views"] == pytest.approx(70)
    assert split.loc["linkedin", "followers"] == 30
    assert split.loc["xing", "followers"] == 12


def test_days_covered_take_each_period_on_its_own_platform() -> None:
    """Level metrics before the count metrics must not shift which platform a period is on:
    xing and linkedin each cover the same 3 days of the week, so the week has 3 days covered
    (the most of any platform), not 6."""
    ev = events(
        metric("followers", 10, "2026-01-05T08:00Z"),
        metric("followers", 11, "2026-01-05T09:00Z"),
        metric("profile_views", 30, "2026-01-07T12:00Z", "2026-01-05", "2026-01-07"),
        metric(
            "profile_views",
            12,
            "2026-01-07T13:00Z",
            "2026-01-05",
            "2026-01-07",
            platform="linkedin",
        ),
    )
    row = weekly_metrics(ev).iloc[0]
    assert row["profile_views"] == pytest.approx(42)
    assert row["profile_views_days"] == 3
    split = weekly_metrics(ev, by_platform=True).set_index("platform")
    assert split.loc["xing", "profile_views_days"] == 3
    assert split.loc["linkedin", "profile_views_days"] == 3


def test_weeks_without_measurement_are_missing_not_zero_and_activity_is_counted() -> None:
    ev = events(
        metric("profile_views", 7, "2026-01-11T12:00Z", "2026-01-05", "2026-01-11"),
        metric("profile_views", 21, "2026-01-25T12:00Z", "2026-01-19", "2026-01-25"),
        {"kind": "activity", "type": "talk", "occurred_at": "2026-01-13T18:00Z"},
        {"kind": "activity", "type": "group_post", "occurred_at": "2026-01-14T08:00Z"},
        {"kind": "activity", "type": "group_post", "occurred_at": "2026-01-15T08:00Z"},
    )
    p = weekly_metrics(ev).set_index("week")
    assert len(p) == 3
    gap = p.loc[pd.Timestamp("2026-01-12")]
    assert np.isnan(gap["profile_views"]) and gap["profile_views_days"] == 0
    assert (gap["talk"], gap["group_post"], gap["activity"], gap["article"]) == (1, 2, 3, 0)
    assert p["activity"].sum() == 3


def test_interventions_are_marked_with_weeks_since_the_first() -> None:
    ev = events(
        metric("profile_views", 7, "2026-01-04T12:00Z", "2025-12-29", "2026-01-04"),
        {"kind": "profile_updated", "section": "about", "occurred_at": "2026-01-07T10:00Z"},
        {"kind": "profile_updated", "section": "photo", "occurred_at": "2026-01-08T10:00Z"},
        {"kind": "profile_updated", "section": "about", "occurred_at": "2026-01-09T10:00Z"},
        metric("profile_views", 70, "2026-01-25T12:00Z", "2026-01-19", "2026-01-25"),
    )
    p = weekly_metrics(ev).set_index("week")
    assert p.loc[pd.Timestamp("2026-01-05"), "intervention"] == "about,photo"
    assert p.loc[pd.Timestamp("2026-01-05"), "profile_updates"] == 3
    assert p["intervention"].isna().sum() == 3
    assert p["weeks_since_first_intervention"].tolist() == [-1, 0, 1, 2]


def test_participants_are_kept_apart_and_can_be_chosen() -> None:
    ev = events(
        metric("profile_views", 7, "2026-01-11T12:00Z", "2026-01-05", "2026-01-11"),
        metric(
            "profile_views", 14, "2026-02-08T12:00Z", "2026-02-02", "2026-02-08", participant="you"
        ),
    )
    p = weekly_metrics(ev)
    assert p.groupby("participant").size().to_dict() == {"me": 1, "you": 1}
    only = weekly_metrics(ev, participant="you")
    assert only["participant"].unique().tolist() == ["you"]
    assert only["profile_views"].tolist() == pytest.approx([14])


def test_no_events_give_an_empty_panel_with_the_columns() -> None:
    p = weekly_metrics(events(metric("followers", 1, "2026-01-01T12:00Z")).iloc[0:0])
    assert p.empty
    assert {"participant", "week", "profile_views", "intervention", "activity"} <= set(p.columns)


def test_many_events_vectorized() -> None:
    rng = np.random.default_rng(1)
    n = 20_000
    start = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 700, n), unit="D")
    length = rng.integers(0, 30, n)
    df = pd.DataFrame(
        {
            "participant": rng.choice(["a", "b", "c"], n),
            "platform": rng.choice(["xing", "linkedin"], n),
            "kind": "metric",
            "name": "profile_views",
            "value": rng.integers(0, 100, n).astype(float),
            "occurred_at": start + pd.to_timedelta(length, unit="D"),
            "period_start": start,
            "period_end": start + pd.to_timedelta(length, unit="D"),
        }
    )
    p = weekly_metrics(tidy_events(df))
    assert p["profile_views"].sum() == pytest.approx(df["value"].sum())
    assert p.groupby("participant").size().min() > 90


def test_events_without_platform_by_platform() -> None:
    ev = events(
        metric("googlability_rank", 7, "2026-01-06T12:00Z", platform=None),
        {"kind": "activity", "type": "talk", "occurred_at": "2026-01-07T12:00Z", "platform": None},
        metric("profile_views", 7, "2026-01-11T12:00Z", "2026-01-05", "2026-01-11"),
        metric("profile_views", 14, "2026-01-11T12:00Z", "2026-01-05", "2026-01-11", platform=None),
    )
    assert weekly_metrics(ev)["profile_views"].tolist() == pytest.approx([21])
    split = weekly_metrics(ev, by_platform=True)
    assert len(split) == 2
    none = split[split["platform"].isna()].iloc[0]
    assert none["profile_views"] == pytest.approx(14)
    assert none["googlability_rank"] == 7 and none["talk"] == 1
    assert split.loc[split["platform"] == "xing", "profile_views"].tolist() == pytest.approx([7])


def _weekly_two_platforms(missing_week: int) -> pd.DataFrame:
    rows = []
    for w in range(6):
        start = pd.Timestamp("2026-01-05") + pd.Timedelta(weeks=w)
        end = start + pd.Timedelta(days=6)
        at = f"{end.date()}T12:00Z"
        rows.append(metric("profile_views", 25, at, str(start.date()), str(end.date())))
        if w != missing_week:
            rows.append(
                metric(
                    "profile_views", 15, at, str(start.date()), str(end.date()), platform="linkedin"
                )
            )
    return events(*rows)


def test_a_week_one_platform_missed_is_missing_not_low() -> None:
    # issue 16: the week without LinkedIn read as 25 views with 7 days' exposure beside 40s
    p = weekly_metrics(_weekly_two_platforms(missing_week=3))
    assert p["profile_views"].isna().tolist() == [False, False, False, True, False, False]
    assert p.loc[3, "profile_views_days"] == 0
    assert p["profile_views"].dropna().eq(40).all()


def test_metric_periods_keep_the_resolution_entered_in() -> None:
    from study.tables.metrics import metric_periods

    entered = [280, 300, 310, 290]
    rows = [
        metric(
            "profile_views",
            v,
            f"{end.date()}T12:00Z",
            f"2026-{m:02d}-01",
            str(end.date()),
        )
        for m, v in enumerate(entered, start=1)
        for end in [pd.Timestamp(f"2026-{m:02d}-01") + pd.offsets.MonthEnd(0)]
    ]
    per = metric_periods(events(*rows))
    assert per["value"].tolist() == entered  # not spread over weeks and summed back
    assert per["days"].tolist() == [31, 28, 31, 30]
    assert per["complete"].all()
    weekly = metric_periods(_weekly_two_platforms(missing_week=3))
    assert weekly["value"].isna().tolist() == [False, False, False, True, False, False]
    assert weekly["platforms"].eq(2).all()


def test_metric_periods_add_a_finer_platform_into_the_coarser_periods() -> None:
    from study.tables.metrics import metric_periods

    rows = [metric("profile_views", 310, "2026-01-31T12:00Z", "2026-01-01", "2026-01-31")]
    # LinkedIn weekly from Monday 2025-12-29 to Sunday 2026-02-01: covers all of January
    for w in range(5):
        start = pd.Timestamp("2025-12-29") + pd.Timedelta(weeks=w)
        end = start + pd.Timedelta(days=6)
        rows.append(
            metric(
                "profile_views",
                70,
                f"{end.date()}T12:00Z",
                str(start.date()),
                str(end.date()),
                platform="linkedin",
            )
        )
    per = metric_periods(events(*rows))
    assert per["value"].tolist() == pytest.approx([310 + 31 * 10])
