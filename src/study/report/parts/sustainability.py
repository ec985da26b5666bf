"""Research question 2, sustainability: how long ties last, what predicts it, whom to contact."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from study.report.i18n import label, number, t
from study.report.sections import (
    Chart,
    Item,
    Table,
    Text,
    ci,
    ci_cell,
    memo,
    need,
    p_value,
    section,
)
from study.vocabulary import FIRST_HAND_BASES

if TYPE_CHECKING:
    from study.analysis.sustainability import CoxResult, KMResult
    from study.report.notebook import Context

MONTH = 365.25 / 12
#: Ties a Kaplan–Meier group needs (smaller groups are left out of the curves).
MIN_GROUP = 10
#: The at-risk list: its horizon (three months) and length.
AT_RISK_DAYS = 91
AT_RISK_TOP = 15


def group_label(ctx: Context, by: str, value: str) -> str:
    if by == "made":
        return t(f"made.{value}", ctx.lang)
    return label(by, value, ctx.lang)


def months(ctx: Context, days: float) -> str:
    """A median lifetime in words: "19 months", or "not reached" (more than half alive)."""
    if days is None or pd.isna(days) or np.isinf(days):
        return t("report.not_reached", ctx.lang)
    return t("report.months", ctx.lang, n=number(days / MONTH, ctx.lang, ".0f"))


def km_table(ctx: Context, km: KMResult, by: str) -> pd.DataFrame:
    """Per group: ties, ended, median lifetime (95% CI) and survival at 6/12/24 months (CI)."""
    lang = ctx.lang
    s = km.summary

    def median(r: pd.Series) -> str:
        if pd.isna(r["median_days"]):
            return t("report.not_reached", lang)
        hi = r["median_high"]
        high = "∞" if pd.isna(hi) or np.isinf(hi) else number(hi / MONTH, lang, ".0f")
        low = number(r["median_low"] / MONTH, lang, ".0f") if not pd.isna(r["median_low"]) else "–"
        return t(
            "report.ci_cell",
            lang,
            est=number(r["median_days"] / MONTH, lang, ".0f"),
            low=low,
            high=high,
        )

    frame = pd.DataFrame(
        {
            t(f"column.{by}", lang) if by != "made" else t("column.group", lang): [
                group_label(ctx, by, g) for g in s["group"]
            ],
            t("column.ties", lang): s["n"].astype(int),
            t("column.ended", lang): s["events"].astype(int),
            t("column.median_months", lang): [median(r) for _, r in s.iterrows()],
        }
    )
    for h, words in (("6 months", "surv_6"), ("12 months", "surv_12"), ("24 months", "surv_24")):
        frame[t(f"column.{words}", lang)] = [
            ci_cell(ctx, r[f"surv_{h}"], r[f"surv_{h}_low"], r[f"surv_{h}_high"], ".0%")
            for _, r in s.iterrows()
        ]
    return frame


def km_by(ctx: Context, name: str, ties: pd.DataFrame, by: str) -> KMResult:
    """Kaplan–Meier curves of the groups with at least :data:`MIN_GROUP` ties; none such:
    not enough data, n being the largest group."""
    from study.analysis import sustainability as rq2

    largest = int(ties.groupby(by, observed=True).size().max())
    need(ctx, name, largest, MIN_GROUP)
    return rq2.kaplan_meier(ties, by, small="skip", min_n=MIN_GROUP)


def _ties(ctx: Context, name: str) -> pd.DataFrame:
    need(ctx, name, len(ctx.ties), MIN_GROUP)
    return ctx.ties


def in_person(ties: pd.DataFrame) -> pd.DataFrame:
    """The ties with ``made``: ``in_person`` (basis a or b) or ``other`` (c, none, unknown)."""
    made = np.where(
        ties["basis"].astype("string").isin(FIRST_HAND_BASES).fillna(False), "in_person", "other"
    )
    return ties.assign(made=pd.Categorical(made, categories=["other", "in_person"]))


def headline(ctx: Context, ties: pd.DataFrame) -> str:
    """ "Ties made in person lasted longer: median 19 months against 7; hazard ratio 0.48,
    95% CI 0.31–0.74" — Kaplan–Meier medians and the Cox hazard ratio of in person vs other."""
    from study.analysis import sustainability as rq2

    key = "section.sustainability.survival"
    t2 = in_person(ties)
    km = rq2.kaplan_meier(t2, "made", min_n=MIN_GROUP)
    fit = rq2.cox(t2, ["made"], min_n=MIN_GROUP)
    hr = fit.hazard_ratio("made[in_person]")
    verdict = "longer" if hr.high < 1 else "shorter" if hr.low > 1 else "same"
    return t(
        f"{key}.{verdict}",
        ctx.lang,
        m1=months(ctx, km.curves["in_person"].median.estimate),
        m0=months(ctx, km.curves["other"].median.estimate),
        hr=number(hr.estimate, ctx.lang, ".2f"),
        low=number(hr.low, ctx.lang, ".2f"),
        high=number(hr.high, ctx.lang, ".2f"),
    )


def logrank_words(ctx: Context, km: KMResult) -> str:
    lr = km.logrank
    if lr is None:
        return ""
    return t(
        "report.logrank",
        ctx.lang,
        chisq=number(lr.chisq, ctx.lang, ".1f"),
        df=lr.df,
        p=p_value(ctx, lr.pvalue),
    )


@section("sustainability.survival")
def sustainability_survival(ctx: Context, out: list[Item]) -> None:
    from study import figures
    from study.analysis.base import NotEnoughData

    ties = _ties(ctx, "sustainability.survival")
    km = km_by(ctx, "sustainability.survival", ties, "basis")
    words = []
    try:
        words.append(headline(ctx, ties))
    except NotEnoughData:
        words.append(t("section.sustainability.survival.no_headline", ctx.lang))
    words.append(logrank_words(ctx, km))
    labels = {g: group_label(ctx, "basis", g) for g in km.curves}
    out += [
        Text(" ".join(w for w in words if w)),
        Chart(figures.km_curves(km, labels, ctx.lang)),
        Table(km_table(ctx, km, "basis")),
    ]


@section("sustainability.platform")
def sustainability_platform(ctx: Context, out: list[Item]) -> None:
    from study import figures

    key = "section.sustainability.platform"
    ties = _ties(ctx, "sustainability.platform")
    km = km_by(ctx, "sustainability.platform", ties, "platform")
    parts = [
        t(
            f"{key}.group",
            ctx.lang,
            group=group_label(ctx, "platform", g),
            surv=ci(ctx, *c.at.iloc[1][["surv", "low", "high"]], ".0%"),
        )
        for g, c in km.curves.items()
        if not pd.isna(c.at.iloc[1]["surv"])
    ]
    words = t(f"{key}.answer", ctx.lang, groups="; ".join(parts) or "–")
    labels = {g: group_label(ctx, "platform", g) for g in km.curves}
    out += [
        Text(" ".join(w for w in (words, logrank_words(ctx, km)) if w)),
        Chart(figures.km_curves(km, labels, ctx.lang)),
        Table(km_table(ctx, km, "platform")),
    ]


def model_ties(ctx: Context) -> pd.DataFrame:
    """The ties table with the model's derived covariate ``first_hand`` (basis a or b)."""
    from study.estimands.sustainability import model_ties as make

    return memo(ctx, "model_ties", lambda: make(ctx.tables))  # type: ignore[return-value]


def cox_fit(ctx: Context) -> CoxResult:
    """The Cox model the report prints (:func:`study.estimands.sustainability.cox_model`)."""
    return ctx.results["sustainability.cox"].fit


def term_label(ctx: Context, term: str, fit: CoxResult) -> str:
    """ "(b) met in person vs (a) knows personally", "with a message", …"""
    if "[" in term:
        col, level = term[:-1].split("[", 1)
        ref = fit.encoding.get(col, [None])[0]
        return t(
            "report.versus",
            ctx.lang,
            group=group_label(ctx, col, level),
            ref=group_label(ctx, col, ref),
        )
    return t(f"term.{term}", ctx.lang)


@section("sustainability.cox")
def sustainability_cox(ctx: Context, out: list[Item]) -> None:

    key = "section.sustainability.cox"
    _ties(ctx, "sustainability.cox")
    model = ctx.results["sustainability.cox"]
    fit = model.fit
    s = fit.summary
    strongest = s["p"].idxmin()
    r = s.loc[strongest]
    words = [
        t(
            f"{key}.answer",
            ctx.lang,
            n=fit.n,
            events=fit.events,
            term=term_label(ctx, strongest, fit),
            hr=ci(ctx, r["hr"], r["hr_low"], r["hr_high"]),
            p=p_value(ctx, r["p"]),
        )
    ]
    ph = model.ph
    g = ph.loc["GLOBAL"]
    if g["p"] >= 0.05:
        words.append(t(f"{key}.ph_holds", ctx.lang, p=p_value(ctx, g["p"])))
    else:
        bad = [term_label(ctx, x, fit) for x in ph.index[:-1] if ph.loc[x, "p"] < 0.05]
        words.append(
            t(f"{key}.ph_fails", ctx.lang, p=p_value(ctx, g["p"]), terms=", ".join(bad) or "–")
        )
    table = pd.DataFrame(
        {
            t("column.term", ctx.lang): [term_label(ctx, x, fit) for x in s.index],
            t("column.hr_ci", ctx.lang): [
                ci_cell(ctx, r.hr, r.hr_low, r.hr_high) for r in s.itertuples()
            ],
            "p": [p_value(ctx, p).removeprefix("p = ") for p in s["p"]],
            t("column.ph_p", ctx.lang): [
                p_value(ctx, p).removeprefix("p = ") for p in ph["p"].iloc[:-1]
            ],
        }
    )
    out += [Text(" ".join(words)), Table(table)]


@section("sustainability.reliable")
def sustainability_reliable(ctx: Context, out: list[Item]) -> None:
    from study import figures
    from study.analysis import sustainability as rq2

    key = "section.sustainability.reliable"
    tl = ctx.timeline
    need(ctx, "sustainability.reliable", int((tl["alive"] > 0).sum()) if len(tl) else 0, 2)
    share = rq2.reliable_share(tl[tl["alive"] > 0])
    now = share.iloc[-1]
    words = [
        t(
            f"{key}.answer",
            ctx.lang,
            reliable=int(now["reliable"]),
            alive=int(now["alive"]),
            share=ci(ctx, now["share"], now["low"], now["high"], ".0%"),
        )
    ]
    year_ago = pd.Timestamp(now["period_end"]) - pd.DateOffset(months=12)
    before = share[pd.to_datetime(share["period_end"]) <= year_ago]
    if len(before):
        b = before.iloc[-1]
        words.append(
            t(
                f"{key}.year_ago",
                ctx.lang,
                reliable=int(b["reliable"]),
                alive=int(b["alive"]),
                share=ci(ctx, b["share"], b["low"], b["high"], ".0%"),
            )
        )
    out += [Text(" ".join(words)), Chart(figures.reliable_share(share, ctx.lang))]


@section("sustainability.at_risk")
def sustainability_at_risk(ctx: Context, out: list[Item]) -> None:
    from study.analysis import sustainability as rq2

    key = "section.sustainability.at_risk"
    _ties(ctx, "sustainability.at_risk")
    fit = cox_fit(ctx)
    risk = rq2.at_risk(model_ties(ctx), fit, AT_RISK_DAYS, cutoff=ctx.end, top=AT_RISK_TOP)
    need(ctx, "sustainability.at_risk", len(risk))
    from study.tables.ties import alive_at_cutoff

    live = ctx.ties[alive_at_cutoff(ctx.ties) & ctx.ties["reliable_at_end"].astype(bool)]
    out.append(
        Text(
            t(
                f"{key}.answer",
                ctx.lang,
                n=len(live),
                k=len(risk),
                p=number(risk["p_end"].iloc[0], ctx.lang, ".0%"),
            )
        )
    )
    table = pd.DataFrame(
        {
            "#": range(1, len(risk) + 1),
            t("column.contact", ctx.lang): [ctx.who(k) for k in risk["contact"]],
            t("column.basis", ctx.lang): [label("basis", b, ctx.lang) for b in risk["basis"]],
            t("column.platform", ctx.lang): [
                label("platform", p, ctx.lang) for p in risk["platform"]
            ],
            t("column.p_end", ctx.lang): [number(p, ctx.lang, ".0%") for p in risk["p_end"]],
            t("column.last_two_way", ctx.lang): [
                ctx.day(ts) if not pd.isna(ts) else "–" for ts in risk["last_two_way"]
            ],
            t("column.days_since", ctx.lang): [
                int(d) if not pd.isna(d) else "–" for d in risk["days_since_two_way"]
            ],
        }
    )
    out += [Text(f"**{t(f'{key}.heading', ctx.lang)}**"), Table(table)]
