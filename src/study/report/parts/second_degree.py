"""Research question 4, second-degree contacts: the results of
:mod:`study.estimands.second_degree` in words (``ctx.results["second_degree.<section>"]``, the
functions the validation harness checks)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from study.report.i18n import t
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


def introducer(ctx: Context, kind: str) -> str:
    return t(f"introducer.{kind}", ctx.lang)


def pass_words(ctx: Context, res) -> list[str]:
    """ "known first-hand: 12 of 14, 86% (95% CI …)" per kind with vouch checks."""
    key = "section.second_degree.rates"
    out = []
    for name, est in res.estimands().items():
        if not name.startswith("pass rate "):
            continue
        kind = name.removeprefix("pass rate ")
        out.append(
            t(
                f"{key}.group",
                ctx.lang,
                group=introducer(ctx, kind),
                k=int(round(est.estimate * est.n)),
                n=est.n,
                share=estimate(ctx, est, ".0%"),
            )
        )
    return out


@section("second_degree.rates")
def second_degree_rates(ctx: Context, out: list[Item]) -> None:
    from study import figures

    key = "section.second_degree.rates"
    need(ctx, "second_degree.rates", len(ctx.introductions))
    res = ctx.results["second_degree.rates"]
    s = res.summary
    lang = ctx.lang
    parts = pass_words(ctx, res)
    words = [t(f"{key}.answer", lang, groups="; ".join(parts) if parts else "–")]
    eligible = int(s["responders"].sum())
    if eligible:
        answered = int(round((s["response_rate"].fillna(0) * s["responders"]).sum()))
        from study.analysis.base import wilson

        words.append(
            t(
                f"{key}.response",
                lang,
                k=answered,
                n=eligible,
                days=res.response_days,
                share=estimate(ctx, wilson(answered, eligible, modified=True), ".0%"),
            )
        )
    else:
        words.append(t(f"{key}.response_not_yet", lang, days=res.response_days))
    table = pd.DataFrame(
        {
            t("column.introducer_type", lang): [introducer(ctx, g) for g in s["introducer_type"]],
            t("column.contacts", lang): s["n"].astype(int),
            t("column.vouch_checks", lang): s["vouch_checks"].astype(int),
            t("column.pass_rate", lang): [
                ci_cell(ctx, r.pass_rate, r.pass_low, r.pass_high, ".0%") for r in s.itertuples()
            ],
            t("column.response_rate", lang, days=res.response_days): [
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
    out += [
        Text(" ".join(words)),
        Table(table),
        Chart(figures.introducer_rates(s, labels, lang, days=res.response_days)),
    ]


@section("second_degree.model")
def second_degree_model(ctx: Context, out: list[Item]) -> None:
    key = "section.second_degree.model"
    intro = ctx.introductions
    need(ctx, "second_degree.model", int(intro["vouch_outcome"].notna().sum()) if len(intro) else 0)
    res = ctx.results["second_degree.model"]
    m = res.model
    s = res.terms
    words = [t(f"{key}.answer", ctx.lang, n=m.n, passed=m.passed)]
    ests = res.estimands()
    for term in s.index:
        words.append(
            t(
                f"{key}.term",
                ctx.lang,
                term=model_term(ctx, term),
                odds=estimate(ctx, ests[f"or {term}"]),
            )
        )
    if m.left_out:
        words.append(
            t(
                f"{key}.left_out",
                ctx.lang,
                groups=", ".join(introducer(ctx, g) for g in m.left_out),
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
    key = "section.second_degree.survival"
    need(ctx, "second_degree.survival", len(ctx.ties))
    res = ctx.results["second_degree.survival"]
    lang = ctx.lang
    words = [
        t(
            f"{key}.answer",
            lang,
            known=estimate(ctx, res.vs_known),
            met=estimate(ctx, res.vs_met),
            n2=res.n["introduced"],
            n_known=res.n["knows_personally"],
            n_met=res.n["met_in_person"],
        ),
        t(f"{key}.logrank", lang, p=p_value(ctx, res.logrank.pvalue)),
        t(f"{key}.followed", lang, window=ctx.window),
    ]
    out.append(Text(" ".join(words)))


@section("second_degree.network")
def second_degree_network(ctx: Context, out: list[Item]) -> None:
    from study import figures
    from study.analysis import second_degree as rq4

    key = "section.second_degree.network"
    need(ctx, "second_degree.network", len(ctx.ties))
    c = ctx.results["second_degree.network"]
    g = rq4.ego_network(ctx.ties, ctx.introductions, participant=ctx.participant)
    out += [
        Text(
            t(
                f"{key}.answer",
                ctx.lang,
                contacts=c.contacts,
                first=c.ties_first,
                second=c.ties_second,
                alive=c.alive,
                never=c.never,
            )
        ),
        Chart(figures.ego_network(g, ctx.lang)),
    ]


def answer(ctx: Context) -> str:
    """The part's answer box: do introducers know the people, and do those ties last."""
    key = "answer.second_degree"
    lang = ctx.lang
    words = []
    rates = ctx.results.get("second_degree.rates") if len(ctx.introductions) else None
    if rates is None:
        return t(f"{key}.none", lang)
    passes = {
        n.removeprefix("pass rate "): e
        for n, e in rates.estimands().items()
        if n.startswith("pass rate ")
    }
    clear = {k: e for k, e in passes.items() if not e.too_imprecise}
    few = {k: e for k, e in passes.items() if e.too_imprecise}
    if clear:
        groups = "; ".join(
            t(
                "section.second_degree.rates.group",
                lang,
                group=introducer(ctx, k),
                k=int(round(e.estimate * e.n)),
                n=e.n,
                share=estimate(ctx, e, ".0%"),
            )
            for k, e in clear.items()
        )
        words.append(t(f"{key}.vouch", lang, groups=groups))
    if few:
        words.append(
            t(
                f"{key}.few" if clear else f"{key}.few_all",
                lang,
                groups=", ".join(f"{introducer(ctx, k)}: {e.n}" for k, e in few.items()),
            )
        )
    if not passes:
        words.append(t(f"{key}.no_checks", lang))
    surv = ctx.results.get("second_degree.survival")
    if surv is not None:
        words.append(t(f"{key}.survival", lang, hr=estimate(ctx, surv.vs_known)))
    else:
        words.append(t(f"{key}.survival_not_yet", lang, window=ctx.window))
    return " ".join(words)
