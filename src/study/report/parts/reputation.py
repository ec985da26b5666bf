"""Research question 3, online reputation: did profile work and activity move the views?"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from study.report.i18n import label, number, t
from study.report.sections import Chart, Item, Table, Text, ci, ci_cell, need, p_value, section

if TYPE_CHECKING:
    from study.analysis.reputation import ItsResult
    from study.report.notebook import Context

#: Activities of a type needed before the text speaks of its association.
MIN_ACTIVITIES = 5
#: Weeks of activity whose association with the views is summed (this week and four before).
LAGS = 4


def views_its(ctx: Context) -> tuple[ItsResult, pd.Timestamp, pd.Timestamp]:
    """The ITS of weekly profile views around the first profile update that has enough
    measured weeks on both sides, with the season once a year is measured
    (``reputation.season_pairs``); also the first update's week (to say when they differ)."""
    from study.analysis import reputation
    from study.analysis.base import NotEnoughData

    panel = ctx.panel
    name = "reputation.views"
    need(ctx, name, int(panel["profile_views"].notna().sum()) if len(panel) else 0, 8)
    weeks = reputation.intervention_weeks(panel)
    need(ctx, name, len(weeks))
    fourier = reputation.season_pairs(panel)
    last: NotEnoughData | None = None
    for week in weeks:
        try:
            res = reputation.profile_views_its(panel, interventions=[week], fourier=fourier)
            return res, week, weeks[0]
        except NotEnoughData as exc:
            last = exc
    assert last is not None
    raise last


@section("reputation.views")
def reputation_views(ctx: Context, out: list[Item]) -> None:
    from study import figures

    key = "section.reputation.views"
    res, week, first = views_its(ctx)
    lang = ctx.lang
    words = []
    if week != first:
        words.append(t(f"{key}.later", lang, first=ctx.day(_utc(first)), used=ctx.day(_utc(week))))
    slope = res.slope
    words.append(
        t(
            f"{key}.answer",
            lang,
            week=ctx.day(_utc(week)),
            level=ci(ctx, res.level.estimate, res.level.low, res.level.high),
            slope=ci(ctx, slope.estimate, slope.low, slope.high, ".3f") if slope else "–",
            n=res.n,
        )
    )
    rows = res.summary
    terms = ["trend", "level", "slope"][: len(rows)]
    table = pd.DataFrame(
        {
            t("column.term", lang): [t(f"{key}.term_{x}", lang) for x in terms],
            t("column.rate_ratio_ci", lang): [
                ci_cell(ctx, r.rate_ratio, r.low, r.high, ".3f") for r in rows.itertuples()
            ],
            "p": [p_value(ctx, p).removeprefix("p = ") for p in rows["p_value"]],
        }
    )
    out += [Text(" ".join(words)), Chart(figures.its_views(res, lang)), Table(table)]


def _utc(week: pd.Timestamp) -> pd.Timestamp:
    """A panel week (tz-naive Monday, UTC calendar) as a moment ctx.day can show."""
    return pd.Timestamp(week).tz_localize("UTC") + pd.Timedelta(hours=12)


@section("reputation.trends")
def reputation_trends(ctx: Context, out: list[Item]) -> None:
    from study import figures
    from study.analysis import reputation
    from study.analysis.base import NotEnoughData

    key = "section.reputation.trends"
    need(ctx, "reputation.trends", len(ctx.panel), 4)
    trends, words, missing = [], [], None
    for metric in ("followers", "googlability_rank"):
        try:
            tr = reputation.metric_trend(ctx.panel, metric)
        except NotEnoughData as exc:
            missing = exc
            continue
        s = tr.summary.iloc[0]
        trends.append(tr)
        words.append(
            t(
                f"{key}.{metric}",
                ctx.lang,
                slope=ci(ctx, tr.slope.estimate, tr.slope.low, tr.slope.high, ".1f"),
                first=number(s["first"], ctx.lang, ".0f"),
                last=number(s["last"], ctx.lang, ".0f"),
                n=int(s["n"]),
            )
        )
    if not trends:
        assert missing is not None
        raise missing
    out += [Text(" ".join(words)), Chart(figures.metric_trends(trends, ctx.lang))]
    if missing is not None:
        raise missing  # the other metric: "not enough data yet" below what could be shown


@section("reputation.activity")
def reputation_activity(ctx: Context, out: list[Item]) -> None:
    from study.analysis import reputation

    key = "section.reputation.activity"
    panel = ctx.panel
    need(ctx, "reputation.activity", int(panel["activity"].sum()) if len(panel) else 0)
    res = reputation.activity_lags(panel, lags=LAGS)
    s = res.summary
    often = s["activity"].map(lambda a: int(panel[a].sum()) >= MIN_ACTIVITIES)
    clear = s[often & ((s["low"] > 1) | (s["high"] < 1))]
    if len(clear):
        r = clear.iloc[int(np.abs(np.log(clear["rate_ratio"].to_numpy(float))).argmax())]
        words = t(
            f"{key}.answer",
            ctx.lang,
            activity=activity_word(ctx, r["activity"]),
            rr=ci(ctx, r["rate_ratio"], r["low"], r["high"]),
            lags=LAGS,
        )
    else:
        words = t(f"{key}.none", ctx.lang, lags=LAGS)
    table = pd.DataFrame(
        {
            t("column.activity", ctx.lang): [label("activity", a, ctx.lang) for a in s["activity"]],
            t("column.count", ctx.lang): [int(panel[a].sum()) for a in s["activity"]],
            t("column.rate_ratio_ci", ctx.lang): [
                ci_cell(ctx, r.rate_ratio, r.low, r.high) for r in s.itertuples()
            ],
        }
    )
    out += [Text(words + " " + t(f"{key}.n", ctx.lang, n=res.n)), Table(table)]


def activity_word(ctx: Context, activity: str) -> str:
    """An activity type inside a sentence ("one more talk"; German nouns keep their capital)."""
    word = label("activity", activity, ctx.lang)
    return word.lower() if ctx.lang == "en" else word
