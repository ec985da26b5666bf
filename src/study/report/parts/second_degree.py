"""Research question 4, second-degree contacts: does the introducer know them, do they respond,
do their ties last — by the kind of introducer."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from study.report.i18n import number, t
from study.report.sections import Chart, Item, Table, Text, ci, ci_cell, need, p_value, section

if TYPE_CHECKING:
    from study.report.notebook import Context


def introducer(ctx: Context, kind: str) -> str:
    return t(f"introducer.{kind}", ctx.lang)


@section("second_degree.rates")
def second_degree_rates(ctx: Context, out: list[Item]) -> None:
    from study import figures
    from study.analysis import second_degree as rq4

    key = "section.second_degree.rates"
    intro = ctx.introductions
    need(ctx, "second_degree.rates", len(intro))
    res = rq4.rates(intro)
    s = res.summary
    checked = s[s["vouch_checks"] > 0]
    parts = [
        t(
            f"{key}.group",
            ctx.lang,
            group=introducer(ctx, r.introducer_type),
            k=int(round(r.pass_rate * r.vouch_checks)),
            n=int(r.vouch_checks),
            share=ci(ctx, r.pass_rate, r.pass_low, r.pass_high, ".0%"),
        )
        for r in checked.itertuples()
    ]
    from study.analysis.base import wilson

    responded = int(intro["responded"].sum())
    w = wilson(responded, len(intro))
    words = [
        t(f"{key}.answer", ctx.lang, groups="; ".join(parts) if parts else "–"),
        t(
            f"{key}.response",
            ctx.lang,
            k=responded,
            n=len(intro),
            share=ci(ctx, w.estimate, w.low, w.high, ".0%"),
        ),
    ]
    lang = ctx.lang
    table = pd.DataFrame(
        {
            t("column.introducer_type", lang): [introducer(ctx, g) for g in s["introducer_type"]],
            t("column.contacts", lang): s["n"].astype(int),
            t("column.vouch_checks", lang): s["vouch_checks"].astype(int),
            t("column.pass_rate", lang): [
                ci_cell(ctx, r.pass_rate, r.pass_low, r.pass_high, ".0%") for r in s.itertuples()
            ],
            t("column.response_rate", lang): [
                ci_cell(ctx, r.response_rate, r.response_low, r.response_high, ".0%")
                for r in s.itertuples()
            ],
            t("column.surv_12", lang): [
                ci_cell(ctx, r.survival, r.survival_low, r.survival_high, ".0%")
                for r in s.itertuples()
            ],
        }
    )
    labels = {g: introducer(ctx, g) for g in s["introducer_type"]}
    out += [Text(" ".join(words)), Table(table), Chart(figures.introducer_rates(s, labels, lang))]


@section("second_degree.model")
def second_degree_model(ctx: Context, out: list[Item]) -> None:
    from study.analysis import second_degree as rq4

    key = "section.second_degree.model"
    intro = ctx.introductions
    need(ctx, "second_degree.model", int(intro["vouch_outcome"].notna().sum()) if len(intro) else 0)
    m = rq4.vouch_model(intro, connections=None)
    s = m.summary.drop(index="Intercept")
    words = [t(f"{key}.answer", ctx.lang, n=m.n, passed=m.passed)]
    for term, r in s.iterrows():
        words.append(
            t(
                f"{key}.term",
                ctx.lang,
                term=model_term(ctx, term),
                odds=ci(ctx, r["or"], r["or_low"], r["or_high"]),
            )
        )
    table = pd.DataFrame(
        {
            t("column.term", ctx.lang): [model_term(ctx, x) for x in s.index],
            t("column.or_ci", ctx.lang): [
                ci_cell(ctx, r["or"], r["or_low"], r["or_high"]) for _, r in s.iterrows()
            ],
            "p": [p_value(ctx, p).removeprefix("p = ") for p in s["p"]],
        }
    )
    out += [Text(" ".join(words)), Table(table)]


def model_term(ctx: Context, term: str) -> str:
    if term.startswith("introducer_type["):
        kind = term[len("introducer_type[") : -1]
        return t(
            "report.versus",
            ctx.lang,
            group=introducer(ctx, kind),
            ref=introducer(ctx, "first_hand"),
        )
    return t(f"term.{term}", ctx.lang)


@section("second_degree.survival")
def second_degree_survival(ctx: Context, out: list[Item]) -> None:
    from study.analysis import second_degree as rq4

    key = "section.second_degree.survival"
    need(ctx, "second_degree.survival", len(ctx.ties))
    cmp = rq4.second_vs_first(ctx.ties)
    r = cmp.summary.iloc[0]
    verdict = "shorter" if r["hr_low"] > 1 else "longer" if r["hr_high"] < 1 else "same"
    out.append(
        Text(
            t(
                f"{key}.{verdict}",
                ctx.lang,
                hr=number(r["hr"], ctx.lang, ".2f"),
                low=number(r["hr_low"], ctx.lang, ".2f"),
                high=number(r["hr_high"], ctx.lang, ".2f"),
                n2=cmp.n_second,
                n1=cmp.n_first,
                p=p_value(ctx, cmp.logrank.pvalue),
            )
        )
    )


@section("second_degree.network")
def second_degree_network(ctx: Context, out: list[Item]) -> None:
    from study import figures
    from study.analysis import second_degree as rq4

    key = "section.second_degree.network"
    need(ctx, "second_degree.network", len(ctx.ties))
    g = rq4.ego_network(ctx.ties, ctx.introductions, participant=ctx.participant)
    degree = [d for _, d in g.nodes(data="degree")]
    alive = sum(1 for _, a in g.nodes(data="alive") if a) - 1  # the participant
    out += [
        Text(
            t(
                f"{key}.answer",
                ctx.lang,
                first=degree.count(1),
                second=degree.count(2),
                alive=alive,
            )
        ),
        Chart(figures.ego_network(g, ctx.lang)),
    ]
