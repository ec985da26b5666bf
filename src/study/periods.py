"""Report periods: a month, a quarter, a year or a range of dates, as inclusive start and end.

Reports and the overview speak of periods; this module turns the user's text (``2026-Q3``,
``2026-11``, ``2026``, ``2026-01-01..2026-03-31``) into dates and walks months or quarters.
Pure standard library, so the command line can use it without importing pandas.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Iterator
from typing import NamedTuple

from study.errors import ValidationError

FIELD = "period"
_QUARTER = re.compile(r"^(\d{4})-?Q([1-4])$", re.IGNORECASE)
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_YEAR = re.compile(r"^(\d{4})$")
_HINT = "use 2026-Q3, 2026-11, 2026 or 2026-01-01..2026-03-31"
#: Dates the log holds: analysis tables are pandas datetimes (years 1677 to 2262), and a date
#: outside them, once stored, would break every later read of the log. A time (``at``,
#: ``first_seen``) is also refused when it lies in the future; a date field by this range.
FIRST_DAY, END_DAY = dt.date(1900, 1, 1), dt.date(2200, 1, 1)
OUTSIDE = f"is outside the dates the log holds ({FIRST_DAY} to {END_DAY.year - 1}-12-31)"


class Period(NamedTuple):
    """A report period: first and last day (both inclusive) and a label for titles."""

    start: dt.date
    end: dt.date
    label: str

    def contains(self, day: dt.date) -> bool:
        return self.start <= day <= self.end

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def month(year: int, number: int) -> Period:
    """The calendar month ``year-number``."""
    start = dt.date(year, number, 1)
    end = _next_month(start) - dt.timedelta(days=1)
    return Period(start, end, f"{year:04d}-{number:02d}")


def quarter(year: int, number: int) -> Period:
    """The calendar quarter ``number`` (1-4) of ``year``."""
    start = dt.date(year, 3 * (number - 1) + 1, 1)
    end = _next_month(_next_month(_next_month(start))) - dt.timedelta(days=1)
    return Period(start, end, f"{year:04d}-Q{number}")


def year(number: int) -> Period:
    return Period(dt.date(number, 1, 1), dt.date(number, 12, 31), f"{number:04d}")


def parse_period(text: str) -> Period:
    """``2026-Q3``, ``2026-11``, ``2026`` or ``START..END`` (ISO dates, inclusive) as a Period.

    Raises :class:`ValidationError` naming the field ``period`` on anything else.
    """
    raw = str(text).strip() if text is not None else ""
    if not raw:
        raise ValidationError(f"missing ({_HINT})", FIELD)
    found = _parsed(raw)
    if found is None:
        raise ValidationError(f"{raw!r} is not a period ({_HINT})", FIELD)
    if found.start < FIRST_DAY or found.end >= END_DAY:  # refused before a report starts
        raise ValidationError(f"{raw!r} {OUTSIDE}", FIELD)
    return found


def _parsed(raw: str) -> Period | None:
    try:
        if m := _QUARTER.match(raw):
            return quarter(int(m[1]), int(m[2]))
        if m := _MONTH.match(raw):
            return month(int(m[1]), int(m[2]))
        if m := _YEAR.match(raw):
            return year(int(m[1]))
        if ".." in raw:
            first, _, last = raw.partition("..")
            start = dt.date.fromisoformat(first.strip())
            end = dt.date.fromisoformat(last.strip())
            if end < start:
                raise ValidationError(f"the end {end} precedes the start {start}", FIELD)
            return Period(start, end, f"{start.isoformat()}..{end.isoformat()}")
    except ValueError:
        pass
    return None


def check_complete(period: Period, today: dt.date | dt.datetime | None = None) -> Period:
    """A report's period must be over: one that has not begun has no data, and one still
    running would print rates and shares of a part of it as if they were the whole."""
    day = _as_date(today or dt.date.today())
    if period.start > day:
        raise ValidationError(
            f"{period.label} has not begun yet (today is {day}); {_HINT} for a past period",
            FIELD,
        )
    if period.end >= day:
        last = last_complete_month(day)
        raise ValidationError(
            f"{period.label} is not over yet (it ends {period.end}); a report covers a "
            f"complete period, e.g. {last.label}",
            FIELD,
        )
    return period


def last_complete_month(today: dt.date | dt.datetime | None = None) -> Period:
    """The last calendar month that ended before ``today`` (default: today)."""
    day = _as_date(today or dt.date.today())
    first_of_this = day.replace(day=1)
    previous = first_of_this - dt.timedelta(days=1)
    return month(previous.year, previous.month)


def last_complete_quarter(today: dt.date | dt.datetime | None = None) -> Period:
    """The last calendar quarter that ended before ``today`` (default: today)."""
    day = _as_date(today or dt.date.today())
    this = (day.month - 1) // 3 + 1
    return quarter(day.year, this - 1) if this > 1 else quarter(day.year - 1, 4)


def months(start: dt.date | dt.datetime, until: dt.date | dt.datetime) -> Iterator[Period]:
    """Every calendar month from the one holding ``start`` to the one holding ``until``."""
    first, last = _as_date(start), _as_date(until)
    current = first.replace(day=1)
    while current <= last:
        yield month(current.year, current.month)
        current = _next_month(current)


def quarters(start: dt.date | dt.datetime, until: dt.date | dt.datetime) -> Iterator[Period]:
    """Every calendar quarter from the one holding ``start`` to the one holding ``until``."""
    first, last = _as_date(start), _as_date(until)
    y, q = first.year, (first.month - 1) // 3 + 1
    while True:
        p = quarter(y, q)
        if p.start > last:
            return
        yield p
        y, q = (y, q + 1) if q < 4 else (y + 1, 1)


def periods(
    start: dt.date | dt.datetime, until: dt.date | dt.datetime, freq: str = "month"
) -> list[Period]:
    """Months (``freq="month"``) or quarters (``"quarter"``) from ``start`` to ``until``."""
    if freq == "month":
        return list(months(start, until))
    if freq == "quarter":
        return list(quarters(start, until))
    raise ValidationError(f"{freq!r} is not a period length (month or quarter)", "freq")


EVERY = ("month", "quarter")


def iter_periods(every: str, since: str, until: dt.date) -> list[Period]:
    """Every month or quarter (``every``) from the one holding the start of ``since`` (a period's
    text, e.g. ``2026-01``) to the last one that has ended by ``until``; oldest first."""
    if every not in EVERY:
        raise ValidationError(f"{every!r} is not one of {', '.join(EVERY)}", "every")
    return [p for p in periods(parse_period(since).start, until, every) if p.end <= until]


def period_kind(period: Period) -> str:
    """``month``, ``quarter``, ``year`` or ``range``, read off the period's label."""
    if _QUARTER.match(period.label):
        return "quarter"
    if _MONTH.match(period.label):
        return "month"
    if _YEAR.match(period.label):
        return "year"
    return "range"


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + 1, 1, 1) if day.month == 12 else dt.date(day.year, day.month + 1, 1)


def _as_date(value: dt.date | dt.datetime) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if hasattr(value, "date") and not isinstance(value, dt.date):  # pandas Timestamp
        return value.date()
    return value
