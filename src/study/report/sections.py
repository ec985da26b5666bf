"""The report's sections: a registry ``{name: function(ctx) -> list of display items}``.

A part (one notebook) lists its sections in :data:`PARTS`; a notebook shows a section with
``nb.show_section(ctx, "sustainability.at_risk")``, which adds the heading, the question and
the method sentence (from the i18n strings ``section.<name>.*``) and then the items the function
appends to the list it is given. A function that finds too little data raises
:class:`study.analysis.base.NotEnoughData`; what it appended so far stays, and the section then
says "not enough data yet (n = …, needs …)". The section functions live in
:mod:`study.report.parts` (one module per part). To add an analysis: write a function there,
decorate it with ``@section("part.name")``, add the strings to ``strings/*.toml``, add it to
:data:`PARTS` and a cell to the part's notebook (a test checks that every section is shown by
exactly one notebook).
"""

from __future__ import annotations

import importlib
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from study.analysis.base import Estimate, NotEnoughData
from study.report.i18n import number, t

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from study.report.notebook import Context


@dataclass(frozen=True)
class Text:
    """A paragraph (Markdown)."""

    markdown: str


@dataclass(frozen=True)
class Table:
    """A table; its column names are already in words. Numbers are formatted for the language
    when shown."""

    frame: pd.DataFrame
    caption: str = ""

    def to_html(self, lang: str) -> str:
        shown = self.frame.copy()
        for col in shown.columns:
            if pd.api.types.is_numeric_dtype(shown[col]) and not pd.api.types.is_bool_dtype(
                shown[col]
            ):
                shown[col] = [number(v, lang) for v in shown[col]]
        return shown.to_html(index=False, escape=True, border=0, na_rep="–")


@dataclass(frozen=True)
class Chart:
    """A matplotlib figure."""

    figure: Figure


@dataclass(frozen=True)
class Box:
    """A part's answer box: two or three plain sentences (shown framed, in the PDF a box)."""

    title: str
    text: str

    def to_html(self) -> str:
        from html import escape

        return (
            '<div class="answer" style="border:1px solid #999;background:#f4f4f4;'
            'padding:0.5em 0.8em;margin:0.6em 0">'
            f"<p><strong>{escape(self.title)}:</strong> {escape(self.text)}</p></div>"
        )


Item = Text | Table | Chart | Box
#: A section appends its items to the list it is given, so that what it could show before
#: running out of data stays shown (a partial section), followed by "not enough data yet".
SectionFn = Callable[["Context", list[Item]], None]

SECTIONS: dict[str, SectionFn] = {}

#: Parts in report order (= notebook file order) and their sections in order.
PARTS: dict[str, tuple[str, ...]] = {
    "overview": ("overview.indicators", "overview.activity", "overview.network", "overview.panel"),
    "job_search": (
        "job_search.rates",
        "job_search.sources",
        "job_search.funnel",
        "job_search.strength",
        "job_search.model",
    ),
    "sustainability": (
        "sustainability.survival",
        "sustainability.platform",
        "sustainability.cox",
        "sustainability.competing",
        "sustainability.reliable",
        "sustainability.at_risk",
        "sustainability.sensitivity",
    ),
    "reputation": ("reputation.views", "reputation.trends", "reputation.activity"),
    "second_degree": (
        "second_degree.rates",
        "second_degree.model",
        "second_degree.survival",
        "second_degree.network",
    ),
}


def section(name: str) -> Callable[[SectionFn], SectionFn]:
    """Register ``fn`` as the section ``name`` (``part.section``)."""

    def register(fn: SectionFn) -> SectionFn:
        SECTIONS[name] = fn
        return fn

    return register


def registered() -> dict[str, SectionFn]:
    """The registry, with the parts loaded: each part module registers its sections when it
    is imported (study.report.parts). They are loaded by name, as a registry loads its
    plugins, so that this module stays below the parts that use it."""
    if not SECTIONS:
        importlib.import_module("study.report.parts")
    return SECTIONS


class NotApplicable(Exception):  # noqa: N818 (a signal, not an error)
    """The section does not apply to this study (e.g. the panel section of a one-person study):
    it is left out entirely, heading included."""


def section_items(ctx: Context, name: str) -> list[Item]:
    """Everything a section shows: heading, question, method, then the answer's items (or the
    "not enough data yet" paragraph)."""
    if name not in registered():
        raise KeyError(f"no section {name!r} (known: {', '.join(sorted(SECTIONS))})")
    key = f"section.{name}"
    lang = ctx.lang
    words = {"period": ctx.period_words, "window": ctx.window}
    head = [
        Text(f"## {t(key + '.title', lang)}"),
        Text(
            f"**{t('report.question', lang)}:** {t(key + '.question', lang, **words)}  \n"
            f"**{t('report.method', lang)}:** {t(key + '.method', lang, **words)}"
        ),
    ]
    body: list[Item] = []
    try:
        with warnings.catch_warnings():
            # a model that does not converge raises NotEnoughData or is replaced by a smaller
            # one; its warnings would only print into the report
            warnings.simplefilter("ignore")
            SECTIONS[name](ctx, body)
    except NotApplicable:
        return []
    except NotEnoughData as exc:
        # the section's own words for what it needs (an analysis speaks English)
        needs = exc.needs if exc.what == name else t(key + ".needs", lang)
        body.append(Text(f"*{t('report.not_enough_data', lang, n=exc.n, needs=needs)}*"))
    return head + body


def need(ctx: Context, name: str, n: int, at_least: int = 1) -> None:
    """Raise NotEnoughData unless ``n >= at_least``; "needs" in words from the strings."""
    if n < at_least:
        raise NotEnoughData(name, n, t(f"section.{name}.needs", ctx.lang))


def cols(ctx: Context, frame: pd.DataFrame, **names: str) -> pd.DataFrame:
    """Rename columns to words: ``names`` maps a column to an i18n ``column.*`` key."""
    return frame.rename(columns={c: t(f"column.{k}", ctx.lang) for c, k in names.items()})


def _num(ctx: Context, value: float, spec: str) -> str:
    """A number with a true minus sign."""
    if value is not None and not pd.isna(value) and value < 0:
        return "−" + number(-value, ctx.lang, spec)
    return number(value, ctx.lang, spec)


def _interval(ctx: Context, key: str, est: float, low: float, high: float, spec: str) -> str:
    f = lambda v: _num(ctx, v, spec)  # noqa: E731
    # a dash between negative numbers reads as a minus: "−1.4 to −1.1"
    to = "_to" if (low is not None and not pd.isna(low) and low < 0) else ""
    return t(f"report.{key}{to}", ctx.lang, est=f(est), low=f(low), high=f(high))


def ci(ctx: Context, est: float, low: float, high: float, spec: str = ".2f") -> str:
    """An estimate with its 95% interval in words: "0.48 (95% CI 0.31–0.74)"."""
    return _interval(ctx, "ci", est, low, high, spec)


def ci_cell(ctx: Context, est: float, low: float, high: float, spec: str = ".2f") -> str:
    """The same for a table cell whose column says "(95% CI)": "0.48 (0.31–0.74)"."""
    if est is None or pd.isna(est):
        return "–"
    return _interval(ctx, "ci_cell", est, low, high, spec)


def imprecise(ctx: Context, est: Estimate, spec: str = ".2f") -> str:
    """ "too imprecise to interpret yet (n = 12, 95% CI 3.28–92,055,500.14); roughly 9 times as
    much data would make it interpretable" (the factor from :func:`~study.analysis.base.
    data_factor`: intervals narrow with the square root of the data)."""
    from study.analysis.base import data_factor

    f = lambda v: _num(ctx, v, spec)  # noqa: E731
    factor = data_factor(est)
    words = {"n": est.n, "low": f(est.low), "high": f(est.high)}
    if factor is None:
        return t("report.too_imprecise_more", ctx.lang, **words)
    return t("report.too_imprecise", ctx.lang, factor=_round_up(factor), **words)


def _round_up(x: float) -> int:
    """A factor as people say it: 2, 3 … 10, then 15, 20, 30 …, 100, 150 …"""
    import math

    n = max(2, math.ceil(x))
    if n <= 10:
        return n
    step = 10 ** (len(str(n)) - 1)
    for m in (1, 1.5, 2, 3, 5, 10):
        if n <= m * step:
            return int(m * step)
    return n


def estimate(ctx: Context, est: Estimate, spec: str = ".2f") -> str:
    """An estimate as a finding, "0.48 (95% CI 0.31–0.74)", or, when its interval is too wide
    to be read (:attr:`Estimate.too_imprecise`), the words of :func:`imprecise`."""
    if est.too_imprecise:
        return imprecise(ctx, est, spec)
    return ci(ctx, est.estimate, est.low, est.high, spec)


def signed(ctx: Context, value: float, spec: str = "") -> str:
    """A change with its sign: +3, −2, ±0."""
    if value is None or pd.isna(value):
        return "–"
    if value == 0:
        return "±" + number(0, ctx.lang, spec)
    return ("+" if value > 0 else "−") + number(abs(value), ctx.lang, spec)


def p_value(ctx: Context, p: float) -> str:
    """A p-value in words: "p = 0.03", "p < 0.001"."""
    if p is None or pd.isna(p):
        return "–"
    if p < 0.001:
        return "p < " + number(0.001, ctx.lang, ".3f")
    return "p = " + number(p, ctx.lang, ".3f" if p < 0.01 else ".2f")


def memo(ctx: Context, key: str, make: Callable[[], object]) -> object:
    """A result computed once per notebook (e.g. the Cox fit the at-risk list reuses); a
    NotEnoughData is remembered and raised again."""
    cache = ctx.__dict__.setdefault("_memo", {})
    if key not in cache:
        try:
            cache[key] = make()
        except NotEnoughData as exc:
            cache[key] = exc
    if isinstance(cache[key], NotEnoughData):
        raise cache[key]
    return cache[key]
