"""The report's words in one place per language: ``t(key, lang, **numbers)``.

Strings live in ``strings/<lang>.toml``; numbers filled into a template are formatted for the
language with Babel (German: decimal comma, ``1.234``, ``48 %``). A format spec in a template
(``{hr:.2f}``, ``{share:.0%}``) says how many digits, never which separator.
"""

from __future__ import annotations

import datetime as dt
import functools
import numbers
import string
import tomllib
from importlib import resources
from typing import Any

from study.errors import ValidationError

LANGS = ("de", "en")
_LOCALES = {"de": "de_DE", "en": "en_GB"}
_PERCENT = {"de": "\u00a0%", "en": "%"}


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValidationError(f"{lang!r} is not a report language ({', '.join(LANGS)})", "lang")
    return lang


@functools.cache
def strings(lang: str) -> dict[str, str]:
    """All strings of a language, flattened to dotted keys (``section.overview.activity.title``)."""
    text = resources.files("study.report").joinpath("strings").joinpath(f"{check_lang(lang)}.toml")
    return _flatten(tomllib.loads(text.read_text(encoding="utf-8")))


def _flatten(tree: dict[str, Any], prefix: str = "") -> dict[str, str]:
    out: dict[str, str] = {}
    for k, v in tree.items():
        key = f"{prefix}{k}"
        if isinstance(v, dict):
            out.update(_flatten(v, key + "."))
        else:
            out[key] = str(v)
    return out


def number(value: float, lang: str, spec: str = "") -> str:
    """A number as text in the language's convention; ``spec`` like ``.2f``, ``.0%``, ``d``."""
    from babel.numbers import format_decimal

    locale = _LOCALES[check_lang(lang)]
    if value is None or (isinstance(value, float) and value != value):
        return "–"
    digits = None
    if spec and spec[0] == "." and spec[-1] in "f%" and spec[1:-1].isdigit():
        digits = int(spec[1:-1])
    frac = "." + "0" * digits if digits else ""
    if spec.endswith("%"):  # German writes a (non-breaking) space before the sign
        return number(value * 100, lang, f".{digits or 0}f") + _PERCENT[lang]
    if digits is not None:
        return format_decimal(value, format=f"#,##0{frac}", locale=locale)
    if isinstance(value, numbers.Integral) or float(value).is_integer():
        return format_decimal(int(value), format="#,##0", locale=locale)
    return format_decimal(value, format="#,##0.##", locale=locale)


def date(value: dt.date, lang: str) -> str:
    """A date in words: "21. November 2026" / "21 November 2026"."""
    from babel.dates import format_date

    return format_date(value, format="long", locale=_LOCALES[check_lang(lang)])


def month_name(month: int, lang: str) -> str:
    from babel.dates import format_date

    return format_date(dt.date(2000, month, 1), format="MMMM", locale=_LOCALES[check_lang(lang)])


class _Formatter(string.Formatter):
    def __init__(self, lang: str):
        self.lang = lang

    def format_field(self, value: Any, format_spec: str) -> str:
        if isinstance(value, numbers.Number) and not isinstance(value, bool):
            return number(value, self.lang, format_spec)  # type: ignore[arg-type]
        return super().format_field(value, format_spec)


def t(key: str, lang: str, **values: Any) -> str:
    """The string ``key`` in ``lang``, its placeholders filled (numbers formatted for ``lang``)."""
    table = strings(lang)
    try:
        template = table[key]
    except KeyError:
        raise KeyError(f"no string {key!r} for language {lang!r}") from None
    return _Formatter(lang).format(template, **values) if values else template


def label(group: str, value: Any, lang: str) -> str:
    """A vocabulary value in words (``label("basis", "met_in_person", "de")``); unknown values
    are shown as they are."""
    return strings(lang).get(f"{group}.{value}", str(value))


def period_label(period: Any, lang: str) -> str:
    """A :class:`study.periods.Period` in words: "November 2026", "3. Quartal 2026"."""
    from study.periods import period_kind

    kind = period_kind(period)
    if kind == "month":
        return t(
            "period.month",
            lang,
            month=month_name(period.start.month, lang),
            year=str(period.start.year),
        )
    if kind == "quarter":
        return t(
            "period.quarter",
            lang,
            q=str((period.start.month - 1) // 3 + 1),
            year=str(period.start.year),
        )
    if kind == "year":
        return t("period.year", lang, year=str(period.start.year))
    return t("period.range", lang, start=date(period.start, lang), end=date(period.end, lang))
