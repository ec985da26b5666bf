"""Research question 1, job search: how many leads, from where, how far, through which ties."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from study.report.i18n import label, number, t
from study.report.sections import (
    Chart,
    Item,
    Table,
    Text,
    ci,
    ci_cell,
    need,
    p_value,
    section,
)
from study.vocabulary import LEAD_PROGRESS

if TYPE_CHECKING:
    from study.report.notebook import Context

#: The GLM's rate ratios are per this many reliable ties.
TIES_STEP = 10
#: What the share tables break leads down by, in this order.
SOURCES = ("channel", "basis", "platform")


def _leads(ctx: Context, name: str) -> pd.DataFrame:
    need(ctx, name, len(ctx.leads))
    return ctx.leads


def value_label(ctx: Context, by: str, value: str) -> str:
    """A share table's group in words (a missing source is "no contact" / "not recorded")."""
    from study.analysis.jobs import NO_VALUE

    if value == NO_VALUE.get(by, "not recorded"):
        return t(f"source.{'no_contact' if by == 'basis' else 'not_recorded'}", ctx.lang)
    if by == "tie_strength":
        return t(f"strength.{value}", ctx.lang)
    return label(by, value, ctx.lang)


@section("job_search.rates")
def job_search_rates(ctx: Context, out: list[Item]) -> None:
    from study import figures
    from study.analysis import jobs

    key = "section.job_search.rates"
    leads = _leads(ctx, "job_search.rates")
    timeline = ctx.timeline if len(ctx.timeline) else None
    r = jobs.lead_rates(leads, timeline, end=ctx.end)
    words = [
        t(
            f"{key}.answer",
            ctx.lang,
            n=int(r.summary["leads"].sum()),
            months=r.months,
            rate=ci(ctx, r.per_month.estimate, r.per_month.low, r.per_month.high),
        )
    ]
    if r.per_100_ties is not None:
        e = r.per_100_ties
        words.append(t(f"{key}.per_100", ctx.lang, rate=ci(ctx, e.estimate, e.low, e.high)))
    if r.per_100_reliable is not None:
        e = r.per_100_reliable
        words.append(
            t(f"{key}.per_100_reliable", ctx.lang, rate=ci(ctx, e.estimate, e.low, e.high))
        )
    out += [Text(" ".join(words)), Chart(figures.leads_per_month(r.summary, ctx.lang))]


@section("job_search.sources")
def job_search_sources(ctx: Context, out: list[Item]) -> None:
    from study.analysis import jobs

    key = "section.job_search.sources"
    leads = _leads(ctx, "job_search.sources")
    rows, tops = [], {}
    for by in SOURCES:
        shares = jobs.lead_shares(leads, by)
        s = shares.summary.sort_values("leads", ascending=False, kind="stable")
        tops[by] = s.iloc[0]
        for r in s.itertuples(index=False):
            rows.append(
                {
                    "by": t(f"column.{by}", ctx.lang),
                    "value": value_label(ctx, by, getattr(r, by)),
                    "leads": int(r.leads),
                    "share": ci_cell(ctx, r.share, r.low, r.high, ".0%"),
                }
            )
    words = [
        t(
            f"{key}.{by}",
            ctx.lang,
            value=value_label(ctx, by, tops[by][by]),
            k=int(tops[by]["leads"]),
            n=len(leads),
            share=ci(ctx, tops[by]["share"], tops[by]["low"], tops[by]["high"], ".0%"),
        )
        for by in SOURCES
    ]
    table = pd.DataFrame(rows).rename(
        columns={
            "by": t("column.property", ctx.lang),
            "value": t("column.group", ctx.lang),
            "leads": t("column.leads", ctx.lang),
            "share": t("column.share_ci", ctx.lang),
        }
    )
    out += [Text(" ".join(words)), Table(table)]


@section("job_search.funnel")
def job_search_funnel(ctx: Context, out: list[Item]) -> None:
    from study import figures
    from study.analysis import jobs

    key = "section.job_search.funnel"
    leads = _leads(ctx, "job_search.funnel")
    f = jobs.funnel(leads)
    reached = {s: f.reached[s] for s in LEAD_PROGRESS}
    words = [t(f"{key}.answer", ctx.lang, n=f.n, **reached)]
    best = [s for s in LEAD_PROGRESS[1:] if s in f.conversions and f.reached[s] > 0]
    if best:
        s = best[-1]
        c = f.conversions[s]
        prev = LEAD_PROGRESS[LEAD_PROGRESS.index(s) - 1]
        words.append(
            t(
                f"{key}.conversion",
                ctx.lang,
                source=label("stage", prev, ctx.lang),
                target=label("stage", s, ctx.lang),
                share=ci(ctx, c.estimate, c.low, c.high, ".0%"),
            )
        )
    open_leads = int(leads["closed"].isna().sum())
    if open_leads:
        words.append(t(f"{key}.open", ctx.lang, n=open_leads))
    table = pd.DataFrame(
        {
            t("column.stage", ctx.lang): [label("stage", s, ctx.lang) for s in f.summary["stage"]],
            t("column.reached", ctx.lang): f.summary["reached"].astype(int),
            t("column.share_of_leads", ctx.lang): [
                ci_cell(ctx, r.share_of_leads, r.share_low, r.share_high, ".0%")
                for r in f.summary.itertuples()
            ],
            t("column.conversion", ctx.lang): [
                ci_cell(ctx, r.conversion, r.conversion_low, r.conversion_high, ".0%")
                for r in f.summary.itertuples()
            ],
        }
    )
    out += [Text(" ".join(words)), Table(table), Chart(figures.lead_funnel(f, ctx.lang))]


@section("job_search.strength")
def job_search_strength(ctx: Context, out: list[Item]) -> None:
    from study.analysis import jobs

    key = "section.job_search.strength"
    leads = _leads(ctx, "job_search.strength")
    need(ctx, "job_search.strength", int(leads["tie_strength"].notna().sum()))
    sh = jobs.tie_strength_shares(leads)
    e = {g: sh.shares[g] for g in jobs.STRENGTH_ORDER}
    words = t(
        f"{key}.answer",
        ctx.lang,
        n=sh.n,
        often=ci(ctx, e["often"].estimate, e["often"].low, e["often"].high, ".0%"),
        occasionally=ci(
            ctx, e["occasionally"].estimate, e["occasionally"].low, e["occasionally"].high, ".0%"
        ),
        rarely=ci(ctx, e["rarely"].estimate, e["rarely"].low, e["rarely"].high, ".0%"),
    )
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
    from study.analysis import jobs

    key = "section.job_search.model"
    leads = _leads(ctx, "job_search.model")
    need(ctx, "job_search.model", len(ctx.timeline), 6)
    panel = jobs.monthly_panel(leads, ctx.timeline, ctx.history, end=ctx.end)
    m = jobs.leads_model(panel, scale={"reliable": TIES_STEP})
    words = []
    rows = []
    for cov, est in m.rate_ratios.items():
        words.append(
            t(
                f"{key}.{cov}",
                ctx.lang,
                step=TIES_STEP,
                rr=number(est.estimate, ctx.lang, ".2f"),
                low=number(est.low, ctx.lang, ".2f"),
                high=number(est.high, ctx.lang, ".2f"),
            )
        )
        r = m.summary.set_index("covariate").loc[cov]
        rows.append(
            {
                t("column.term", ctx.lang): t(f"{key}.term_{cov}", ctx.lang, step=TIES_STEP),
                t("column.rate_ratio_ci", ctx.lang): ci_cell(ctx, est.estimate, est.low, est.high),
                "p": p_value(ctx, r["p_value"]).removeprefix("p = "),
            }
        )
    words.append(t(f"{key}.n", ctx.lang, n=m.n))
    out += [Text(" ".join(words)), Table(pd.DataFrame(rows))]
