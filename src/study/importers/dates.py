"""The date and time formats found in platform exports, parsed without the machine's locale.

LinkedIn alone writes ``21 Nov 2026``, ``10/11/18, 11:47 PM`` (month first), ``11-Mar-24``,
``2024-05-14 10:03:27 UTC``, ``2024/02/29 16:22:07 UTC``, ``Fri Jan 10 18:25:50 UTC 2025`` and
``Jan 2020``. A time with ``UTC`` is UTC; any other time or a bare date is returned naive and
read in the study's time zone by the vocabulary (a bare date means noon there).
"""

from __future__ import annotations

import datetime as dt
import re

MONTHS = {
    m: i
    for i, m in enumerate(
        ("jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"), 1
    )
}
_TIME = r"(?:[ T,]+(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\.\d+)?\s*([AaPp][Mm])?)?"
_ZONE = r"\s*(UTC|GMT|Z|[+-]\d{2}:?\d{2})?"
_PATTERNS = [
    ("ymd", re.compile(r"(\d{4})[-/.](\d{1,2})[-/.](\d{1,2})" + _TIME + _ZONE + r"$")),
    ("mdy", re.compile(r"(\d{1,2})/(\d{1,2})/(\d{2}|\d{4})" + _TIME + _ZONE + r"$")),
    (
        "dmy_name",
        re.compile(r"(\d{1,2})[ -]([A-Za-z]{3})[a-z]*\.?[ -](\d{2}|\d{4})" + _TIME + _ZONE + r"$"),
    ),
    (
        "ctime",
        re.compile(
            r"[A-Za-z]{3} ([A-Za-z]{3}) (\d{1,2}) (\d{2}):(\d{2}):(\d{2}) (UTC|GMT) (\d{4})$"
        ),
    ),
    ("my_name", re.compile(r"([A-Za-z]{3})[a-z]* (\d{4})$")),
    ("y", re.compile(r"(\d{4})$")),
]


class DateFormatError(ValueError):
    """Text that is not a date in any format the importers know."""


def _year(text: str) -> int:
    y = int(text)
    return y + 2000 if y < 100 and len(text) == 2 else y


def _month(name: str) -> int:
    m = MONTHS.get(name[:3].lower())
    if m is None:
        raise DateFormatError(f"{name!r} is not a month name")
    return m


def _build(
    y: int, mo: int, d: int, time: tuple[str | None, ...], zone: str | None
) -> dt.date | dt.datetime:
    hh, mm, ss, ampm = time
    day = dt.date(y, mo, d)
    if hh is None:
        return day
    h = int(hh)
    if ampm:
        if not 1 <= h <= 12:
            raise DateFormatError(f"hour {h} with {ampm}")
        h = h % 12 + (12 if ampm.lower() == "pm" else 0)
    moment = dt.datetime.combine(day, dt.time(h, int(mm), int(ss or 0)))
    if zone in ("UTC", "GMT", "Z"):
        return moment.replace(tzinfo=dt.UTC)
    if zone:
        sign = 1 if zone[0] == "+" else -1
        digits = zone[1:].replace(":", "")
        offset = dt.timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        return moment.replace(tzinfo=dt.timezone(sign * offset))
    return moment


def parse_when(text: str) -> dt.date | dt.datetime:
    """A date (day only) or a datetime (aware if the text names UTC or an offset)."""
    t = " ".join(str(text).strip().strip('"').split())
    if not t:
        raise DateFormatError("empty")
    try:
        for name, pat in _PATTERNS:
            m = pat.match(t)
            if not m:
                continue
            g = m.groups()
            if name == "ymd":
                return _build(int(g[0]), int(g[1]), int(g[2]), g[3:7], g[7])
            if name == "mdy":
                return _build(_year(g[2]), int(g[0]), int(g[1]), g[3:7], g[7])
            if name == "dmy_name":
                return _build(_year(g[2]), _month(g[1]), int(g[0]), g[3:7], g[7])
            if name == "ctime":
                return _build(int(g[6]), _month(g[0]), int(g[1]), (g[2], g[3], g[4], None), g[5])
            if name == "my_name":
                return dt.date(int(g[1]), _month(g[0]), 1)
            if name == "y":
                return dt.date(int(g[0]), 1, 1)
    except (ValueError, OverflowError) as exc:
        raise DateFormatError(f"{t!r} is not a valid date ({exc})") from None
    raise DateFormatError(
        f"{t!r} is not a date in a known format (e.g. 21 Nov 2026, 11/19/26, 9:04 PM, "
        "2024-05-14 10:03:27 UTC)"
    )


def day_of(value: dt.date | dt.datetime) -> dt.date:
    return value.date() if isinstance(value, dt.datetime) else value
