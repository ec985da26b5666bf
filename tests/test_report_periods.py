"""Report periods as the report uses them: parsing, the last complete month, `--every`."""

from __future__ import annotations

import datetime as dt

import pytest

from study.errors import ValidationError
from study.periods import Period, iter_periods, last_complete_month, parse_period, period_kind

D = dt.date


@pytest.mark.parametrize(
    ("text", "start", "end", "label"),
    [
        ("2026-Q3", D(2026, 7, 1), D(2026, 9, 30), "2026-Q3"),
        ("2026-q1", D(2026, 1, 1), D(2026, 3, 31), "2026-Q1"),
        ("2026-Q4", D(2026, 10, 1), D(2026, 12, 31), "2026-Q4"),
        ("2026-11", D(2026, 11, 1), D(2026, 11, 30), "2026-11"),
        ("2024-02", D(2024, 2, 1), D(2024, 2, 29), "2024-02"),
        ("2026-12", D(2026, 12, 1), D(2026, 12, 31), "2026-12"),
        ("2026", D(2026, 1, 1), D(2026, 12, 31), "2026"),
        (
            " 2026-01-01..2026-03-31 ",
            D(2026, 1, 1),
            D(2026, 3, 31),
            "2026-01-01..2026-03-31",
        ),
        ("2026-02-10 .. 2026-02-10", D(2026, 2, 10), D(2026, 2, 10), "2026-02-10..2026-02-10"),
    ],
)
def test_parse_period(text: str, start: dt.date, end: dt.date, label: str) -> None:
    p = parse_period(text)
    assert p == Period(start, end, label)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "2026-13",
        "2026-00",
        "2026-Q5",
        "26-11",
        "2026-03-31..2026-01-01",
        "nov",
        "2026-02-30..2026-03-01",
    ],
)
def test_bad_periods_name_the_field(text: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_period(text)
    assert exc.value.field == "period"


def test_kind_and_days() -> None:
    assert period_kind(parse_period("2026-Q3")) == "quarter"
    assert period_kind(parse_period("2026-11")) == "month"
    assert period_kind(parse_period("2026")) == "year"
    assert period_kind(parse_period("2026-01-01..2026-01-31")) == "range"
    assert parse_period("2026-Q1").days == 90
    assert parse_period("2024").days == 366


def test_period_is_frozen() -> None:
    p = parse_period("2026-11")
    with pytest.raises(AttributeError):
        p.label = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    ("today", "label"),
    [(D(2026, 11, 21), "2026-10"), (D(2026, 1, 1), "2025-12"), (D(2026, 3, 31), "2026-02")],
)
def test_last_complete_month(today: dt.date, label: str) -> None:
    assert last_complete_month(today).label == label


def test_iter_months_up_to_the_last_complete_one() -> None:
    until = last_complete_month(D(2026, 4, 15)).end
    labels = [p.label for p in iter_periods("month", "2025-11", until)]
    assert labels == ["2025-11", "2025-12", "2026-01", "2026-02", "2026-03"]


def test_iter_quarters_only_complete_ones() -> None:
    labels = [p.label for p in iter_periods("quarter", "2025-11", D(2026, 9, 29))]
    assert labels == ["2025-Q4", "2026-Q1", "2026-Q2"]
    labels = [p.label for p in iter_periods("quarter", "2026-Q1", D(2026, 9, 30))]
    assert labels == ["2026-Q1", "2026-Q2", "2026-Q3"]


def test_iter_nothing_yet_and_bad_every() -> None:
    assert iter_periods("month", "2026-11", D(2026, 11, 29)) == []
    with pytest.raises(ValidationError):
        iter_periods("week", "2026-01", D(2026, 11, 1))
