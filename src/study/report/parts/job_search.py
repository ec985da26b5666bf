"""Research question 1, job search: the results of :mod:`study.estimands.job_search` in words.

The numbers come from ``ctx.results["job_search.<section>"]`` (the functions the validation
harness checks); this module only words them, and says "too imprecise to interpret yet" where
an interval is too wide to be read."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from study.report.i18n import label, t
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
    from study.report.notebook import Context


def value_label(ctx: Context, by: str, value: str) -> str:
    """A share table's group in words (a missing source is "no contact" / "not recorded")."""
    from study.analysis.jobs import NO_VALUE

    if value == NO_VALUE.get(by, "not recorded"):
        return t(f"source.{'no_contact' if by == 'basis' else 'not_recorded'}", ctx.lang)
    if by == "tie_strength":
        return t(f"strength.{value}", ctx.lang)
    return label(by, value, ctx.lang)


def _listing(ctx: Context, items: list[str]) -> str:
    """ "a, b and c" in the language."""
    if len(items) <= 1:
        return "".join(items)
    return t("report.and", ctx.lang, first=", ".join(items[:-1]), last=items[-1])


def _horizon(ctx: Context) -> str:
    return ctx.day(ctx.end - pd.Timedelta(days=ctx.window))


def _last_known_month(ctx: Context) -> str:
    """The last month whose start lies at or before cut-off − W, in words ("October 2025")."""
    from study.periods import parse_period
    from study.report.i18n import period_label

    day = (ctx.end - pd.Timedelta(days=ctx.window)).tz_convert(ctx.study.tz)
    return period_label(parse_period(f"{day.year}-{day.month:02d}"), ctx.lang)


def rates_words(ctx: Context, r) -> list[str]:
    """The rates section's sentences (also the answer box's first ones)."""
    key = "section.job_search.rates"
    words = []
    if r.participants == 1:
        words.append(
            t(
                f"{key}.answer",
                ctx.lang,
                n=r.leads,
                months=r.n_months,
                rate=estimate(ctx, r.per_month),
            )
        )
    elif r.per_month is not None:
        words.append(
            t(
                f"{key}.answer_panel",
                ctx.lang,
                n=r.leads,
                participants=r.participants,
                months=r.n_months,
                rate=estimate(ctx, r.per_month),
            )
        )
    else:
        words.append(t("report.no_population", ctx.lang, n=r.participants))
    if r.per_100_reliable is not None:
        words.append(
            t(
                f"{key}.per_100_reliable",
                ctx.lang,
                rate=estimate(ctx, r.per_100_reliable),
                months=r.known_months,
                horizon=_last_known_month(ctx),
            )
        )
    else:
        words.append(
            t(f"{key}.per_100_not_yet", ctx.lang, horizon=_horizon(ctx), window=ctx.window)
        )
    return words


@section("job_search.rates")
def job_search_rates(ctx: Context, out: list[Item]) -> None:
    from study import figures

    need(ctx, "job_search.rates", len(ctx.leads))
    r = ctx.results["job_search.rates"]
    out += [
        Text(" ".join(rates_words(ctx, r))),
        Chart(figures.leads_per_month(r.summary, ctx.lang)),
    ]


def top_words(ctx: Context, res, by: str) -> str:
    """ "Most frequent channel: referral, 4 of 9 leads (44%, 95% CI …)", or the groups that tie
    for it named as a tie."""
    key = "section.job_search.sources"
    top = res.top(by)
    sh = res.shares[by]
    if len(top) > 1:
        return t(
            f"{key}.tie_{by}",
            ctx.lang,
            values=_listing(ctx, [value_label(ctx, by, g) for g in top]),
            k=int(sh.summary.set_index(by).loc[top[0], "leads"]),
            n=res.n,
        )
    e = sh.shares[top[0]]
    return t(
        f"{key}.{by}",
        ctx.lang,
        value=value_label(ctx, by, top[0]),
        k=int(round(e.estimate * res.n)),
        n=res.n,
        share=estimate(ctx, e, ".0%"),
    )


@section("job_search.sources")
def job_search_sources(ctx: Context, out: list[Item]) -> None:
    from study.estimands.job_search import SOURCES

    need(ctx, "job_search.sources", len(ctx.leads))
    res = ctx.results["job_search.sources"]
    rows = []
    for by in SOURCES:
        for r in res.shares[by].summary.itertuples(index=False):
            rows.append(
                {
                    t("column.property", ctx.lang): t(f"column.{by}", ctx.lang),
                    t("column.group", ctx.lang): value_label(ctx, by, getattr(r, by)),
                    t("column.leads", ctx.lang): int(r.leads),
                    t("column.share_ci", ctx.lang): ci_cell(ctx, r.share, r.low, r.high, ".0%"),
                }
            )
    words = " ".join(top_words(ctx, res, by) for by in SOURCES)
    out += [Text(words), Table(pd.DataFrame(rows))]


@section("job_search.funnel")
def job_search_funnel(ctx: Context, out: list[Item]) -> None:
    from study import figures

    key = "section.job_search.funnel"
    need(ctx, "job_search.funnel", len(ctx.leads))
    f = ctx.results["job_search.funnel"]
    words = [t(f"{key}.answer" + ("_one" if f.n == 1 else ""), ctx.lang, n=f.n, **f.reached)]
    words.append(
        t(f"{key}.open", ctx.lang, n=f.open) if f.open else t(f"{key}.none_open", ctx.lang)
    )
    s = f.summary
    table = pd.DataFrame(
        {
            t("column.stage", ctx.lang): [label("stage", x, ctx.lang) for x in s["stage"]],
            t("column.reached", ctx.lang): s["reached"].astype(int),
            t("column.decided", ctx.lang): [
                "–" if pd.isna(d) else str(int(d)) for d in s["decided"]
            ],
            t("column.conversion", ctx.lang): [
                ci_cell(ctx, r.conversion, r.conversion_low, r.conversion_high, ".0%")
                for r in s.itertuples()
            ],
        }
    )
    out += [Text(" ".join(words)), Table(table), Chart(figures.lead_funnel(f, ctx.lang))]


@section("job_search.strength")
def job_search_strength(ctx: Context, out: list[Item]) -> None:
    from study.analysis.jobs import STRENGTH_ORDER

    key = "section.job_search.strength"
    leads = ctx.leads
    need(ctx, "job_search.strength", int(leads["tie_strength"].notna().sum()) if len(leads) else 0)
    sh = ctx.results["job_search.strength"].shares
    counts = sh.summary.set_index("tie_strength")["leads"]
    words = t(
        f"{key}.answer" + ("_one" if sh.n == 1 else ""),
        ctx.lang,
        n=sh.n,
        **{g: int(counts.get(g, 0)) for g in STRENGTH_ORDER},
    )
    if all(e.too_imprecise for e in sh.shares.values()):
        words += " " + t(f"{key}.imprecise", ctx.lang, n=sh.n)
    table = pd.DataFrame(
        {
            t("column.strength", ctx.lang): [
                t(f"strength.{g}", ctx.lang) for g in sh.summary["tie_strength"]
            ],
            t("column.leads", ctx.lang): sh.summary["leads"].astype(int),
            t("column.share_ci", ctx.lang): [
                ci_cell(ctx, r.share, r.low, r.high, ".0%") for r in sh.summary.itertuples()
            ],
        }
    )
    out += [Text(words), Table(table)]


@section("job_search.model")
def job_search_model(ctx: Context, out: list[Item]) -> None:
    from study.estimands.job_search import TIES_STEP

    key = "section.job_search.model"
    need(ctx, "job_search.model", len(ctx.leads))
    m = ctx.results["job_search.model"]
    words, rows = [], []
    summary = m.model.summary.set_index("covariate")
    for cov in ("reliable", "activity"):
        est = m.rate_ratios[cov]
        term = t(f"{key}.term_{cov}", ctx.lang, step=TIES_STEP)
        if est.too_imprecise:
            words.append(t(f"{key}.imprecise", ctx.lang, term=term, what=estimate(ctx, est)))
        else:
            words.append(t(f"{key}.{cov}", ctx.lang, step=TIES_STEP, rr=estimate(ctx, est)))
        rows.append(
            {
                t("column.term", ctx.lang): term,
                t("column.rate_ratio_ci", ctx.lang): ci_cell(ctx, est.estimate, est.low, est.high),
                "p": p_value(ctx, summary.loc[cov, "p_value"]).removeprefix("p = "),
            }
        )
    words.append(t(f"{key}.n", ctx.lang, n=m.months, horizon=_last_known_month(ctx)))
    out += [Text(" ".join(words)), Table(pd.DataFrame(rows))]


def answer(ctx: Context) -> str:
    """The part's answer box: how many leads, whether reliable ties bring them, from where."""
    key = "answer.job_search"
    r = ctx.results.get("job_search.rates") if len(ctx.leads) else None
    if r is None:
        return t(f"{key}.none", ctx.lang)
    lang = ctx.lang
    if r.participants == 1:
        words = [
            t(
                f"{key}.leads",
                lang,
                n=r.leads,
                months=r.n_months,
                rate=estimate(ctx, r.per_month),
                through=r.through,
            )
        ]
    elif r.per_month is not None:
        words = [
            t(
                f"{key}.leads_panel",
                lang,
                n=r.leads,
                participants=r.participants,
                rate=estimate(ctx, r.per_month),
                through=r.through,
            )
        ]
    else:
        words = [t("report.no_population", lang, n=r.participants)]
    e = r.per_100_reliable
    if e is None:
        words.append(t(f"{key}.per_tie_not_yet", lang, window=ctx.window))
    elif e.too_imprecise:
        words.append(t(f"{key}.per_tie_imprecise", lang, what=estimate(ctx, e)))
    else:
        words.append(t(f"{key}.per_tie", lang, rate=estimate(ctx, e)))
    src = ctx.results.get("job_search.sources")
    if src is not None:
        top = src.top("channel")
        k = int(src.shares["channel"].summary.set_index("channel").loc[top[0], "leads"])
        if len(top) > 1:
            values = _listing(ctx, [value_label(ctx, "channel", g) for g in top])
            words.append(t(f"{key}.channel_tie", lang, values=values, k=k))
        else:
            words.append(
                t(f"{key}.channel", lang, value=value_label(ctx, "channel", top[0]), k=k, n=src.n)
            )
    return " ".join(words)


__all__ = ["answer"]
