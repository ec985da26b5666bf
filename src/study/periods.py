"""Report periods: parse ``2026-Q3``, ``2026-11``, ``2026`` or ``2026-01-01..2026-03-31``.

A period is a closed range of calendar days with a label; reports are filed under the label
(``reports/<label>/``), so a label is also a safe directory name.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass

from study.errors import ValidationError

EVERY = ("month", "quarter")

_YEAR = re.compile(r"^(\d{4})$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_QUARTER = re.compile(r"^(\d{4})-[Qq]([1-4])$")
_RANGE = re.compile(r"^(\d{4}-\d{2}-\d{2})\s*\.\.\s*(\d{4}-\d{2}-\d{2})$")


@dataclass(frozen=True, order=True)
class Period:
    """Calendar days ``start`` to ``end`` (both inclusive), named ``label`` (e.g. "2026-Q3")."""

    start: dt.date
    end: dt.date
    label: str

    @property
    def kind(self) -> str:
        """``year``, ``quarter``, ``month`` or ``range`` (read off the label)."""
        if _YEAR.match(self.label):
            return "year"
        if _QUARTER.match(self.label):
            return "quarter"
        if _MONTH.match(self.label):
            return "month"
        return "range"

    @property
    def days(self) -> int:
        return (self.end - self.start).days + 1


def _month(year: int, month: int) -> Period:
    if not 1 <= month <= 12:
        raise ValidationError(f"{year}-{month:02d} has no month {month} (use 01..12)", "period")
    first = dt.date(year, month, 1)
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return Period(first, nxt - dt.timedelta(days=1), f"{year}-{month:02d}")


def _quarter(year: int, q: int) -> Period:
    first = _month(year, 3 * q - 2)
    last = _month(year, 3 * q)
    return Period(first.start, last.end, f"{year}-Q{q}")


def parse_period(text: str) -> Period:
    """A period from text: ``2026``, ``2026-Q3``, ``2026-11`` or ``2026-01-01..2026-03-31``."""
    s = str(text).strip()
    if m := _YEAR.match(s):
        y = int(m[1])
        return Period(dt.date(y, 1, 1), dt.date(y, 12, 31), s)
    if m := _QUARTER.match(s):
        return _quarter(int(m[1]), int(m[2]))
    if m := _MONTH.match(s):
        return _month(int(m[1]), int(m[2]))
    if m := _RANGE.match(s):
        try:
            start, end = dt.date.fromisoformat(m[1]), dt.date.fromisoformat(m[2])
        except ValueError as exc:
            raise ValidationError(f"{s!r}: {exc}", "period") from None
        if end < start:
            raise ValidationError(f"{s!r} ends before it starts", "period")
        return Period(start, end, f"{start.isoformat()}..{end.isoformat()}")
    raise ValidationError(
        f"{s!r} is not a period (use 2026, 2026-Q3, 2026-11 or 2026-01-01..2026-03-31)",
        "period",
    )


def last_complete_month(today: dt.date) -> Period:
    """The calendar month before the one ``today`` lies in."""
    first = today.replace(day=1) - dt.timedelta(days=1)
    return _month(first.year, first.month)


def iter_periods(every: str, since: str, until: dt.date) -> list[Period]:
    """Every month or quarter from the one containing ``since`` to the last that ends by
    ``until`` (inclusive), oldest first."""
    if every not in EVERY:
        raise ValidationError(f"{every!r} is not one of {', '.join(EVERY)}", "every")
    first = parse_period(since).start
    step = _month if every == "month" else _quarter
    year, n = first.year, first.month if every == "month" else (first.month - 1) // 3 + 1
    last = 12 if every == "month" else 4
    out: list[Period] = []
    while True:
        p = step(year, n)
        if p.end > until:
            return out
        out.append(p)
        year, n = (year + 1, 1) if n == last else (year, n + 1)
