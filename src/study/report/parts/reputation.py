"""Research question 3, online reputation: the results of :mod:`study.estimands.reputation` in
words (the numbers are ``ctx.results["reputation.<section>"]``, the functions the validation
harness checks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from study.report.i18n import label, number, t
from study.report.sections import (
    Chart,
    Item,
    Table,
    Text,
    ci_cell,
    estimate,
    need,
    p_value,
    section,
)

if TYPE_CHECKING:
    from study.analysis.reputation import ViewsIts
    from study.report.notebook import Context


def _weeks(ctx: Context, weeks: float) -> str:
    return number(round(weeks), ctx.lang, ".0f")


def _day(ctx: Context, day: pd.Timestamp) -> str:
    """A tz-naive UTC day as the report shows dates."""
    return ctx.day(pd.Timestamp(day).tz_localize("UTC") + pd.Timedelta(hours=12))


def views_words(ctx: Context, fit: ViewsIts) -> list[str]:
    """The views section's sentences: the update, the weeks each side, the level change, the
    trend(s); each estimate a finding or "too imprecise to interpret yet"."""
    key = "section.reputation.views"
    lang = ctx.lang
    resolution = "weekly" if fit.resolution_days <= 7 else "periods"
    words = [
        t(
            f"{key}.update",
            lang,
            day=_day(ctx, fit.intervention),
            before=_weeks(ctx, fit.weeks_before),
            after=_weeks(ctx, fit.weeks_after),
        ),
    ]
    if resolution == "periods":
        words.append(t(f"{key}.periods", lang, before=fit.periods_before, after=fit.periods_after))
    words.append(t(f"{key}.level", lang, level=estimate(ctx, fit.level)))
    if fit.model == "separate":
        words.append(
            t(
                f"{key}.separate",
                lang,
                pre=estimate(ctx, fit.pre_trend, ".3f"),
                slope=estimate(ctx, fit.slope, ".3f"),
            )
        )
    else:
        words.append(
            t(f"{key}.common", lang, trend=estimate(ctx, fit.trend, ".3f"), weeks=_min_weeks())
        )
    words.append(t(f"{key}.{'robust' if fit.robust else 'independent'}", lang))
    return words


def _min_weeks() -> int:
    from study.analysis.reputation import MIN_TREND_WEEKS

    return MIN_TREND_WEEKS


@section("reputation.views")
def reputation_views(ctx: Context, out: list[Item]) -> None:
    from study import figures

    key = "section.reputation.views"
    need(ctx, "reputation.views", len(ctx.panel))
    fit = ctx.results["reputation.views"].fit
    lang = ctx.lang
    rows = [("level", fit.level)]
    if fit.model == "separate":
        rows += [("pre_trend", fit.pre_trend), ("slope", fit.slope)]
    else:
        rows += [("trend", fit.trend)]
    table = pd.DataFrame(
        {
            t("column.term", lang): [t(f"{key}.term_{x}", lang) for x, _ in rows],
            t("column.rate_ratio_ci", lang): [
                ci_cell(ctx, e.estimate, e.low, e.high, ".3f") for _, e in rows
            ],
            "p": [
                p_value(ctx, fit.fit.p_value(n)).removeprefix("p = ")
                for n in ["level", *(["years", "slope"] if fit.model == "separate" else ["years"])]
            ],
        }
    )
    out += [
        Text(" ".join(views_words(ctx, fit))),
        Chart(figures.its_views(fit, lang)),
        Table(table),
    ]


@section("reputation.trends")
def reputation_trends(ctx: Context, out: list[Item]) -> None:
    from study import figures

    key = "section.reputation.trends"
    need(ctx, "reputation.trends", len(ctx.panel))
    r = ctx.results["reputation.trends"]
    words, shown = [], []
    if r.followers is not None:
        g = r.followers
        words.append(
            t(
                f"{key}.followers",
                ctx.lang,
                gain=estimate(ctx, g.per_month, ".1f"),
                first=number(g.first, ctx.lang, ".0f"),
                last=number(g.last, ctx.lang, ".0f"),
                n=g.measurements,
            )
        )
        shown.append(g)
    if r.rank is not None:
        k = r.rank
        words.append(
            t(
                f"{key}.googlability_rank",
                ctx.lang,
                factor=estimate(ctx, k.per_month, ".3f"),
                first=number(k.first, ctx.lang, ".0f"),
                last=number(k.last, ctx.lang, ".0f"),
                n=k.measurements,
            )
        )
        shown.append(k)
    out += [Text(" ".join(words)), Chart(figures.metric_trends(shown, ctx.lang))]
    if r.missing:
        raise r.missing[0]  # the other metric: "not enough data yet" below what could be shown


@section("reputation.activity")
def reputation_activity(ctx: Context, out: list[Item]) -> None:
    from study.estimands.reputation import ACTIVITIES, LAGS, MIN_ACTIVITIES

    key = "section.reputation.activity"
    need(ctx, "reputation.activity", int(ctx.panel["activity"].sum()) if len(ctx.panel) else 0)
    r = ctx.results["reputation.activity"]
    lang = ctx.lang
    standing = r.stands_out()
    if standing:
        words = [
            t(
                f"{key}.answer",
                lang,
                activity=activity_word(ctx, a),
                rr=estimate(ctx, r.ratios[a]),
                lags=LAGS,
            )
            for a in standing
        ]
    else:
        words = [t(f"{key}.none", lang, lags=LAGS, k=len(r.ratios))]
        if not r.ratios:
            words = []
    shown = [a for a in ACTIVITIES if a in r.counts]
    few = [label("activity", a, lang) for a in shown if a not in r.ratios]
    if few:
        words.append(t(f"{key}.few", lang, activities=", ".join(few), k=MIN_ACTIVITIES))
    n = r.lags.n if r.lags is not None else r.participants
    words.append(t(f"{key}.n", lang, n=n))
    table = pd.DataFrame(
        {
            t("column.activity", lang): [label("activity", a, lang) for a in shown],
            t("column.count", lang): [r.counts.get(a, 0) for a in shown],
            t("column.rate_ratio_ci", lang): [
                ci_cell(ctx, r.ratios[a].estimate, r.ratios[a].low, r.ratios[a].high)
                if a in r.ratios
                else "–"
                for a in shown
            ],
            t("column.p_holm", lang): [
                p_value(ctx, r.p_holm[a]).removeprefix("p = ") if a in r.p_holm else "–"
                for a in shown
            ],
        }
    )
    out += [Text(" ".join(words)), Table(table)]


def activity_word(ctx: Context, activity: str) -> str:
    """An activity type inside a sentence ("one more talk"; German nouns keep their capital)."""
    word = label("activity", activity, ctx.lang)
    return word.lower() if ctx.lang == "en" else word


def answer(ctx: Context) -> str:
    """The part's answer box: the views around the profile completion, then followers and rank."""
    key = "answer.reputation"
    lang = ctx.lang
    words = []
    views = ctx.results.get("reputation.views")
    if views is not None:
        fit = views.fit
        words.append(
            t(
                f"{key}.views",
                lang,
                day=_day(ctx, fit.intervention),
                level=estimate(ctx, fit.level),
                before=_weeks(ctx, fit.weeks_before),
                after=_weeks(ctx, fit.weeks_after),
            )
        )
    else:
        words.append(t(f"{key}.no_views", lang))
    trends = ctx.results.get("reputation.trends")
    if trends is not None and trends.followers is not None:
        words.append(
            t(f"{key}.followers", lang, gain=estimate(ctx, trends.followers.per_month, ".1f"))
        )
    if trends is not None and trends.rank is not None:
        words.append(t(f"{key}.rank", lang, factor=estimate(ctx, trends.rank.per_month, ".3f")))
    return " ".join(words)
