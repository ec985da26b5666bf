"""Report periods: parsing, the last complete month, and walking months and quarters."""

from __future__ import annotations

import datetime as dt

import pytest

from study.errors import ValidationError
from study.periods import (
    Period,
    last_complete_month,
    last_complete_quarter,
    months,
    parse_period,
    periods,
    quarters,
)

D = dt.date


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("2026-Q3", D(2026, 7, 1), D(2026, 9, 30), "2026-Q3"),
        ("2026q1", D(2026, 1, 1), D(2026, 3, 31), "2026-Q1"),
        ("2026-11", D(2026, 11, 1), D(2026, 11, 30), "2026-11"),
        ("2024-02", D(2024, 2, 1), D(2024, 2, 29), "2024-02"),
        ("2026-12", D(2026, 12, 1), D(2026, 12, 31), "2026-12"),
        ("2026", D(2026, 1, 1), D(2026, 12, 31), "2026"),
        (" 2026-01-01..2026-03-31 ", D(2026, 1, 1), D(2026, 3, 31), "2026-01-01..2026-03-31"),
        ("2026-05-05..2026-05-05", D(2026, 5, 5), D(2026, 5, 5), "2026-05-05..2026-05-05"),
    ],
)
def test_parse_period(text: str, start: dt.date, end: dt.date, label: str) -> None:
    p = parse_period(text)
    assert p == Period(start, end, label)
    s, e, lab = p  # unpacks as (start, end, label)
    assert (s, e, lab) == (start, end, label)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-13",
        "2026-Q5",
        "26-11",
        "Nov 2026",
        "2026-03-31..2026-01-01",
        "2026-02-30..2026-03-01",
        "2026-01-01..",
        None,
    ],
)
def test_bad_period_names_the_field(text: str | None) -> None:
    with pytest.raises(ValidationError) as err:
        parse_period(text)  # type: ignore[arg-type]
    assert err.value.field == "period"
    assert str(err.value).startswith("period: ")


def test_last_complete_month_and_quarter() -> None:
    assert last_complete_month(D(2026, 11, 21)) == parse_period("2026-10")
    assert last_complete_month(D(2026, 1, 1)) == parse_period("2025-12")
    assert last_complete_month(dt.datetime(2026, 3, 31, 23, 0)) == parse_period("2026-02")
    assert last_complete_quarter(D(2026, 11, 21)) == parse_period("2026-Q3")
    assert last_complete_quarter(D(2026, 2, 1)) == parse_period("2025-Q4")


def test_months_and_quarters_since_a_start() -> None:
    ms = list(months(D(2025, 11, 15), D(2026, 2, 1)))
    assert [m.label for m in ms] == ["2025-11", "2025-12", "2026-01", "2026-02"]
    # consecutive, no gaps, no overlaps
    for a, b in zip(ms, ms[1:], strict=False):
        assert b.start - a.end == dt.timedelta(days=1)
    qs = list(quarters(D(2025, 12, 31), D(2026, 7, 1)))
    assert [q.label for q in qs] == ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    assert periods(D(2026, 1, 1), D(2026, 1, 31), "quarter") == [parse_period("2026-Q1")]
    assert list(months(D(2026, 3, 1), D(2026, 2, 1))) == []
    with pytest.raises(ValidationError):
        periods(D(2026, 1, 1), D(2026, 2, 1), "week")


def test_period_days_and_contains() -> None:
    p = parse_period("2026-Q1")
    assert p.days == 90
    assert p.contains(D(2026, 3, 31)) and not p.contains(D(2026, 4, 1))


def test_a_report_period_must_be_over():
    """Measured: a report for a period that had not happened yet was accepted."""
    from study.periods import check_complete

    today = dt.date(2026, 12, 4)
    assert check_complete(parse_period("2026-11"), today).label == "2026-11"
    assert check_complete(parse_period("2026-Q3"), today).label == "2026-Q3"
    with pytest.raises(ValidationError, match="2027-01 has not begun yet") as err:
        check_complete(parse_period("2027-01"), today)
    assert err.value.field == "period"
    with pytest.raises(ValidationError, match=r"2026-Q4 is not over yet .* e.g. 2026-11"):
        check_complete(parse_period("2026-Q4"), today)
    with pytest.raises(ValidationError, match="not over yet"):
        check_complete(parse_period("2026-12-01..2026-12-04"), today)


def test_study_report_refuses_a_future_period_before_doing_anything(tmp_path):
    from study.report.run import build_report

    with pytest.raises(ValidationError, match="has not begun yet"):
        build_report(tmp_path / "none.db", period="2099-01", out_root=tmp_path / "out")
    assert not (tmp_path / "out").exists()
