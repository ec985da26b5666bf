"""Research question 2, sustainability: how long ties last, how they end, whom to contact.

Every number comes from ``ctx.results["sustainability.<section>"]``
(:mod:`study.estimands.sustainability`); this module only puts it into words. :func:`answer`
is the part's answer in two or three sentences (shown first in ``sustainability.survival``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from study.analysis.base import Estimate, NotEnoughData
from study.report.i18n import label, number, t
from study.report.sections import Chart, Item, Table, Text, ci, ci_cell, p_value, section

if TYPE_CHECKING:
    from study.analysis.sustainability import CoxResult, KMResult
    from study.estimands.sustainability import Coverage, Survival
    from study.report.notebook import Context

MONTH = 365.25 / 12
KEY = "section.sustainability"
#: The horizons of the Kaplan–Meier table: (the summary's name, the column's string, days).
HORIZON_COLUMNS = (
    ("6 months", "surv_6", 182.625),
    ("12 months", "surv_12", 365.25),
    ("24 months", "surv_24", 730.5),
)


def result(ctx: Context, name: str) -> Any:
    """``ctx.results[name]``; a study without follow-up yet says from when it will have some."""
    from study.estimands.sustainability import NoFollowUp

    try:
        return ctx.results[name]
    except NoFollowUp as exc:
        raise NotEnoughData(name, 0, _no_followup_needs(ctx, exc)) from None


def _no_followup_needs(ctx: Context, exc: Any) -> str:
    lang = ctx.lang
    words = t(f"{KEY}.survival.not_enough_followup", lang, window=exc.window)
    if exc.ready is not None:
        words += " " + t(f"{KEY}.survival.from_date", lang, date=ctx.day(exc.ready))
    return words


def group_label(ctx: Context, by: str, value: str) -> str:
    return label(by, value, ctx.lang)


def months(ctx: Context, days: float) -> str:
    """A median lifetime in words: "19 months", or "not reached" (more than half alive)."""
    if days is None or pd.isna(days) or np.isinf(days):
        return t("report.not_reached", ctx.lang)
    return t("report.months", ctx.lang, n=number(days / MONTH, ctx.lang, ".0f"))


def term_label(ctx: Context, term: str, encoding: dict[str, list[str]]) -> str:
    """What a model term compares: "no personal contact vs (a) knows personally", "request
    with a message vs request without a message", "LinkedIn vs XING"."""
    if "[" in term:
        col, level = term[:-1].split("[", 1)
        ref = encoding.get(col, [None])[0]
        return t(
            "report.versus",
            ctx.lang,
            group=group_label(ctx, col, level),
            ref=group_label(ctx, col, ref),
        )
    return t(f"term.{term}", ctx.lang)


# the answer ---------------------------------------------------------------------------------------


def answer(ctx: Context) -> str:
    """The part's answer in two or three plain sentences: the basis contrast fixed in advance
    with its interval (or "too imprecise yet"), what the estimates hold, or what is missing and
    from when there will be enough."""
    from study.estimands.sustainability import NoFollowUp

    lang = ctx.lang
    try:
        surv = ctx.results["sustainability.survival"]
    except NoFollowUp as exc:
        if exc.ready is None:
            return t(f"{KEY}.survival.no_followup_nodate", lang, window=ctx.window)
        return t(f"{KEY}.survival.no_followup", lang, window=ctx.window, date=ctx.day(exc.ready))
    except NotEnoughData as exc:
        return t(f"{KEY}.survival.headline_missing", lang, why=too_few(ctx, exc))
    words = [headline(ctx, surv), held(ctx, surv.coverage)]
    return " ".join(w for w in words if w)


def headline(ctx: Context, surv: Survival) -> str:
    """The headline hazard ratio in words, or why there is none yet."""
    lang = ctx.lang
    if surv.headline is None or surv.headline_term is None:
        return t(f"{KEY}.survival.headline_missing", lang, why=too_few(ctx, surv.headline_missing))
    col, level = surv.headline_term[:-1].split("[", 1)
    hr: Estimate = surv.headline
    words = dict(
        group=phrase(ctx, col, level),
        ref=phrase(ctx, col, reference(col)),
        hr=number(hr.estimate, lang, ".2f"),
        low=number(hr.low, lang, ".2f"),
        high=number(hr.high, lang, ".2f"),
        n=surv.cox_n,
        events=surv.cox_events,
    )
    key = "headline_imprecise" if hr.too_imprecise else "headline"
    return t(f"{KEY}.survival.{key}", lang, **words)


def reference(col: str) -> str:
    """The reference level of a headline term's column."""
    return "knows_personally" if col == "basis" else "no"


def phrase(ctx: Context, col: str, level: str) -> str:
    """A level as it reads after "ties": "accepted without personal contact"."""
    return t(f"tie_phrase.{col}.{level}", ctx.lang)


def too_few(ctx: Context, exc: NotEnoughData | None) -> str:
    """Why a model is missing, in the report's language: too few ended ties (n = …)."""
    return t(f"{KEY}.survival.too_few", ctx.lang, n=exc.n if exc is not None else 0)


def held(ctx: Context, cov: Coverage) -> str:
    """What the survival estimates hold, and what they leave out."""
    lang = ctx.lang
    since = ctx.day(cov.observed_from) if cov.observed_from is not None else "–"
    words = [
        t(
            f"{KEY}.survival.held" if cov.prevalent else f"{KEY}.survival.held_incident",
            lang,
            followed=cov.followed,
            incident=cov.incident,
            prevalent=cov.prevalent,
            since=since,
        )
    ]
    parts = [
        t(f"{KEY}.survival.{key}", lang, n=n, window=cov.window)
        for key, n in (
            ("left_gone", cov.prevalent_gone),
            ("left_unknown", cov.unknown_age),
            ("left_spells", cov.later_spells),
            ("left_not_yet", cov.not_yet),
        )
        if n
    ]
    if parts:
        words.append(t(f"{KEY}.survival.left_out", lang, parts="; ".join(parts)))
    return " ".join(words)


# survival by basis and platform ------------------------------------------------------------------


def km_table(ctx: Context, km: KMResult, by: str) -> pd.DataFrame:
    """Per group: ties, ended, median lifetime (95% CI) and survival at 6/12/24 months (CI)."""
    lang = ctx.lang
    s = km.summary

    def median(r: pd.Series) -> str:
        if pd.isna(r["median_days"]):
            return t("report.not_reached", lang)
        hi = r["median_high"]
        high = "∞" if pd.isna(hi) or np.isinf(hi) else number(hi / MONTH, lang, ".0f")
        low = number(r["median_low"] / MONTH, lang, ".0f") if not pd.isna(r["median_low"]) else "0"
        return t(
            "report.ci_cell",
            lang,
            est=number(r["median_days"] / MONTH, lang, ".0f"),
            low=low,
            high=high,
        )

    frame = pd.DataFrame(
        {
            t(f"column.{by}", lang): [group_label(ctx, by, g) for g in s["group"]],
            t("column.ties", lang): s["n"].astype(int),
            t("column.ended", lang): s["events"].astype(int),
            t("column.median_months", lang): [median(r) for _, r in s.iterrows()],
        }
    )
    for h, words, _days in HORIZON_COLUMNS:
        frame[t(f"column.{words}", lang)] = [
            ci_cell(ctx, r[f"surv_{h}"], r[f"surv_{h}_low"], r[f"surv_{h}_high"], ".0%")
            for _, r in s.iterrows()
        ]
    return frame


def dash_notes(ctx: Context, surv: Survival) -> list[str]:
    """One sentence per horizon with a "–" in the table: why, and from when; and which groups
    are too small for a curve."""
    lang = ctx.lang
    s = surv.km.summary
    notes = []
    if surv.small_groups:
        groups = ", ".join(
            t(f"{KEY}.survival.small_group", lang, group=group_label(ctx, surv.by, g), n=n)
            for g, n in surv.small_groups.items()
        )
        notes.append(t(f"{KEY}.survival.not_shown", lang, groups=groups))
    ties = surv.table
    for h, words, days in HORIZON_COLUMNS:
        empty = s[s[f"surv_{h}"].isna()]
        if empty.empty:
            continue
        horizon = t(f"{KEY}.horizon.{words}", lang)
        groups = empty["group"].astype(str).tolist()
        rows = ties[ties[surv.by].astype(str).isin(groups)] if ties is not None else None
        ready = surv.coverage.followed_to(days, rows)
        if ready is not None and ready > ctx.end:
            notes.append(
                t(
                    f"{KEY}.survival.dash",
                    lang,
                    horizon=horizon,
                    window=ctx.window,
                    date=ctx.day(ready),
                )
            )
        else:
            notes.append(t(f"{KEY}.survival.dash_past", lang, horizon=horizon))
    return notes


def logrank_words(ctx: Context, km: KMResult) -> str:
    lr = km.logrank
    if lr is None:
        return ""
    key = f"{KEY}.survival.logrank_strata" if lr.strata else "report.logrank"
    return t(
        key, ctx.lang, chisq=number(lr.chisq, ctx.lang, ".1f"), df=lr.df, p=p_value(ctx, lr.pvalue)
    )


@section("sustainability.survival")
def sustainability_survival(ctx: Context, out: list[Item]) -> None:
    from study import figures

    out.append(Text(f"**{t(f'{KEY}.survival.in_short', ctx.lang)}:** {answer(ctx)}"))
    surv = result(ctx, "sustainability.survival")
    km = surv.km
    labels = {g: group_label(ctx, "basis", g) for g in km.curves}
    words = " ".join(w for w in (logrank_words(ctx, km),) if w)
    if words:
        out.append(Text(words))
    out += [Chart(figures.km_curves(km, labels, ctx.lang)), Table(km_table(ctx, km, "basis"))]
    notes = dash_notes(ctx, surv)
    if notes:
        out.append(Text("  \n".join(notes)))


@section("sustainability.platform")
def sustainability_platform(ctx: Context, out: list[Item]) -> None:
    from study import figures

    key = f"{KEY}.platform"
    surv = result(ctx, "sustainability.platform")
    km = surv.km
    parts = []
    for g, c in km.curves.items():
        s12 = c.at.set_index("horizon").loc["12 months"]
        name = group_label(ctx, "platform", g)
        if pd.isna(s12["surv"]):
            parts.append(t(f"{key}.group_dash", ctx.lang, group=name))
        else:
            surv12 = ci(ctx, s12["surv"], s12["low"], s12["high"], ".0%")
            parts.append(t(f"{key}.group", ctx.lang, group=name, surv=surv12))
    words = t(f"{key}.answer", ctx.lang, groups="; ".join(parts))
    labels = {g: group_label(ctx, "platform", g) for g in km.curves}
    out += [
        Text(" ".join(w for w in (words, logrank_words(ctx, km)) if w)),
        Chart(figures.km_curves(km, labels, ctx.lang)),
        Table(km_table(ctx, km, "platform")),
    ]
    notes = dash_notes(ctx, surv)
    if notes:
        out.append(Text("  \n".join(notes)))


# the Cox model -----------------------------------------------------------------------------------


def cox_fit(ctx: Context) -> CoxResult:
    """The Cox model the report prints (:func:`study.estimands.sustainability.cox_model`)."""
    return result(ctx, "sustainability.cox").fit


def ph_words(ctx: Context, ph: pd.DataFrame, fit: CoxResult) -> str:
    key = f"{KEY}.cox"
    g = ph.loc["GLOBAL"]
    if g["p"] >= 0.05:
        return t(f"{key}.ph_holds", ctx.lang, p=p_value(ctx, g["p"]))
    bad = [term_label(ctx, x, fit.encoding) for x in ph.index[:-1] if ph.loc[x, "p"] < 0.05]
    return t(f"{key}.ph_fails", ctx.lang, p=p_value(ctx, g["p"]), terms=", ".join(bad) or "–")


def ratio_cell(ctx: Context, e: Estimate, spec: str = ".2f") -> str:
    """ "1.53 (0.32–7.36)", and "too imprecise" after an interval too wide to be a finding."""
    cell = ci_cell(ctx, e.estimate, e.low, e.high, spec)
    if e.too_imprecise:
        cell += " " + t(f"{KEY}.cox.imprecise", ctx.lang)
    return cell


def model_table(ctx: Context, fit: CoxResult, ph: pd.DataFrame | None = None) -> pd.DataFrame:
    s = fit.summary
    table = pd.DataFrame(
        {
            t("column.term", ctx.lang): [term_label(ctx, x, fit.encoding) for x in s.index],
            t("column.hr_ci", ctx.lang): [
                ratio_cell(ctx, fit.hazard_ratio(term)) for term in s.index
            ],
            "p": [p_value(ctx, p).removeprefix("p = ") for p in s["p"]],
        }
    )
    if ph is not None:
        table[t("column.ph_p", ctx.lang)] = [
            p_value(ctx, p).removeprefix("p = ") for p in ph["p"].iloc[:-1]
        ]
    return table


@section("sustainability.cox")
def sustainability_cox(ctx: Context, out: list[Item]) -> None:
    key = f"{KEY}.cox"
    model = result(ctx, "sustainability.cox")
    fit = model.fit
    term = model.headline()
    if term is not None:
        r = fit.summary.loc[term]
        first = t(
            f"{key}.answer",
            ctx.lang,
            n=fit.n,
            events=fit.events,
            term=term_label(ctx, term, fit.encoding),
            hr=ci(ctx, r["hr"], r["hr_low"], r["hr_high"]),
            p=p_value(ctx, r["p"]),
        )
    else:
        first = t(f"{key}.answer_no_basis", ctx.lang, n=fit.n, events=fit.events)
    out += [Text(f"{first} {ph_words(ctx, model.ph, fit)}"), Table(model_table(ctx, fit, model.ph))]


# the endings as competing events --------------------------------------------------------------------


def shown_horizon(inc: Any) -> tuple[str, float]:
    """The longest of 6, 12, 24 months at which some group has a cumulative incidence."""
    from study.analysis.sustainability import HORIZONS

    best = ("6 months", HORIZONS["6 months"])
    for name, days in HORIZONS.items():
        if any(not pd.isna(c.at(days).estimate) for c in inc.curves.values()):
            best = (name, days)
    return best


@section("sustainability.competing")
def sustainability_competing(ctx: Context, out: list[Item]) -> None:
    from study import figures
    from study.estimands.sustainability import CAUSES

    key = f"{KEY}.competing"
    lang = ctx.lang
    res = result(ctx, "sustainability.competing")
    inc = res.incidence
    groups = list(dict.fromkeys(g for g, _ in inc.curves))
    h_name, h_days = shown_horizon(inc)
    h_words = t(f"{KEY}.horizon.surv_{h_name.split()[0]}", lang)

    def cell(g: str, cause: str) -> str:
        e = inc.curves[(g, cause)].at(h_days)
        return ci_cell(ctx, e.estimate, e.low, e.high, ".0%")

    parts = []
    for g in groups:
        est = {c: inc.curves[(g, c)].at(h_days).estimate for c in CAUSES}
        if any(pd.isna(v) for v in est.values()):
            continue
        parts.append(
            t(
                f"{key}.part",
                lang,
                group=group_label(ctx, "basis", g),
                removed=number(est["removed"], lang, ".0%"),
                hidden=number(est["hidden"], lang, ".0%"),
                quiet=number(est["went_quiet"], lang, ".0%"),
            )
        )
    words = [t(f"{key}.answer", lang, horizon=h_words, parts="; ".join(parts))] if parts else []
    for cause in CAUSES:
        model = res.models.get(cause)
        name = label("end_reason", cause, lang)
        if model is None:
            why = too_few(ctx, res.missing.get(cause))
            words.append(t(f"{key}.cause_missing", lang, cause=name, why=why))
            continue
        term = model.headline()
        if term is None:
            continue
        r = model.fit.summary.loc[term]
        words.append(
            t(
                f"{key}.cause_hr",
                lang,
                cause=name,
                term=term_label(ctx, term, model.fit.encoding),
                hr=ci(ctx, r["hr"], r["hr_low"], r["hr_high"]),
            )
        )
    labels = {g: group_label(ctx, "basis", g) for g in groups}
    causes = {c: label("end_reason", c, lang) for c in CAUSES}
    table = pd.DataFrame(
        {
            t("column.basis", lang): [labels[g] for g in groups],
            t("column.ties", lang): [inc.curves[(g, CAUSES[0])].n for g in groups],
            t("column.removed_12", lang): [cell(g, "removed") for g in groups],
            t("column.hidden_12", lang): [cell(g, "hidden") for g in groups],
            t("column.quiet_12", lang): [cell(g, "went_quiet") for g in groups],
        }
    )
    out += [
        Text(" ".join(words)),
        Chart(figures.cumulative_incidence(inc, labels, causes, lang)),
        Table(table, caption=t(f"{key}.caption", lang, horizon=h_words)),
    ]
    missing = [g for g in groups if pd.isna(inc.curves[(g, CAUSES[0])].at(h_days).estimate)]
    if missing:
        out.append(
            Text(
                t(
                    f"{key}.dash",
                    lang,
                    horizon=h_words,
                    groups=", ".join(labels[g] for g in missing),
                )
            )
        )


# the share that is reliable ----------------------------------------------------------------------------


@section("sustainability.reliable")
def sustainability_reliable(ctx: Context, out: list[Item]) -> None:
    from study import figures

    key = f"{KEY}.reliable"
    res = result(ctx, "sustainability.reliable")
    now = res.now
    words = [
        t(
            f"{key}.answer",
            ctx.lang,
            reliable=int(round(now.estimate * now.n)),
            alive=now.n,
            share=ci(ctx, now.estimate, now.low, now.high, ".0%"),
        )
    ]
    if res.year_ago is not None:
        b = res.year_ago
        words.append(
            t(
                f"{key}.year_ago",
                ctx.lang,
                reliable=int(round(b.estimate * b.n)),
                alive=b.n,
                share=ci(ctx, b.estimate, b.low, b.high, ".0%"),
            )
        )
    out += [Text(" ".join(words)), Chart(figures.reliable_share(res.share, ctx.lang))]


# the at-risk list -----------------------------------------------------------------------------------------


def why_listed(ctx: Context, row: pd.Series) -> str:
    key = f"{KEY}.at_risk"
    if row["why"] == "quiet":
        return t(f"{key}.why_quiet", ctx.lang, date=ctx.day(row["quiet_on"]))
    which = "why_model" if bool(row.get("age_known", True)) else "why_model_unknown_age"
    return t(
        f"{key}.{which}",
        ctx.lang,
        basis=label("basis", row["basis"], ctx.lang),
        platform=label("platform", row["platform"], ctx.lang),
        age=number(row["age_days"] / MONTH, ctx.lang, ".1f"),
    )


def chance(ctx: Context, row: pd.Series) -> str:
    """The chance in words: "100 %" where certain, else "12 % (8–17 %)"; never "0 %"."""
    if row["why"] == "quiet":
        return number(1.0, ctx.lang, ".0%")

    def pct(p: float) -> str:
        return "< " + number(0.01, ctx.lang, ".0%") if p < 0.005 else number(p, ctx.lang, ".0%")

    return f"{pct(row['p_end'])} ({pct(row['p_low'])}–{pct(row['p_high'])})"


@section("sustainability.at_risk")
def sustainability_at_risk(ctx: Context, out: list[Item]) -> None:
    key = f"{KEY}.at_risk"
    res = result(ctx, "sustainability.at_risk")
    risk = res.shown
    words = t(f"{key}.answer", ctx.lang, n=len(res.ranked), certain=res.certain, k=len(risk))
    if res.fit is None:
        from study.estimands.sustainability import NoFollowUp

        exc = res.missing
        why = _no_followup_needs(ctx, exc) if isinstance(exc, NoFollowUp) else too_few(ctx, exc)
        words = t(f"{key}.answer_no_model", ctx.lang, n=len(res.ranked), certain=res.certain)
        words += " " + t(f"{key}.no_model", ctx.lang, why=why)
    out.append(Text(words))
    table = pd.DataFrame(
        {
            "#": range(1, len(risk) + 1),
            t("column.contact", ctx.lang): [ctx.who(k) for k in risk["contact"]],
            t("column.basis", ctx.lang): [label("basis", b, ctx.lang) for b in risk["basis"]],
            t("column.p_end_ci", ctx.lang): [chance(ctx, r) for _, r in risk.iterrows()],
            t("column.why", ctx.lang): [why_listed(ctx, r) for _, r in risk.iterrows()],
            t("column.last_two_way", ctx.lang): [
                ctx.day(ts) if not pd.isna(ts) else t(f"{key}.never", ctx.lang)
                for ts in risk["last_two_way"]
            ],
        }
    )
    out += [Text(f"**{t(f'{key}.heading', ctx.lang)}**"), Table(table)]


# sensitivity to W -------------------------------------------------------------------------------------------


@section("sustainability.sensitivity")
def sustainability_sensitivity(ctx: Context, out: list[Item]) -> None:
    key = f"{KEY}.sensitivity"
    lang = ctx.lang
    res = result(ctx, "sustainability.sensitivity")
    notes, words, rows = [], [], []
    for w in res.windows:
        if w.headline is not None and w.headline_term is not None:
            cell = ratio_cell(ctx, w.headline)
            col, level = w.headline_term[:-1].split("[", 1)
            contrast = t(
                "report.versus",
                lang,
                group=group_label(ctx, col, level),
                ref=group_label(ctx, col, reference(col)),
            )
        else:
            cell = contrast = "–"
            if w.followed == 0:
                why = _no_followup_words(ctx, w.window, w.ready)
            else:
                why = too_few(ctx, w.missing)
            notes.append(t(f"{key}.dash", lang, window=w.window, why=why))
        if w.quiet_wrong is not None:
            q = w.quiet_wrong
            wrong = ci_cell(ctx, q.estimate, q.low, q.high, ".0%")
            if w.window == res.report_window:
                words.append(
                    t(
                        f"{key}.quiet_wrong",
                        lang,
                        window=w.window,
                        k=int(round(q.estimate * q.n)),
                        n=q.n,
                        share=ci(ctx, q.estimate, q.low, q.high, ".0%"),
                    )
                )
        else:
            wrong = "–"
            if w.followed:  # without follow-up the note above says why already
                why = t(f"{key}.no_quiet", lang)
                notes.append(t(f"{key}.dash", lang, window=w.window, why=why))
        rows.append(
            {
                t("column.window_days", lang): w.window,
                t("column.followed", lang): w.followed,
                t("column.prevalent", lang): w.prevalent,
                t("column.ended", lang): w.ended,
                t("column.contrast", lang): contrast,
                t("column.headline_hr", lang): cell,
                t("column.quiet_ended", lang): w.quiet,
                t("column.quiet_wrong", lang): wrong,
            }
        )
    if words:
        out.append(Text(" ".join(words)))
    out.append(Table(pd.DataFrame(rows)))
    if notes:
        out.append(Text("  \n".join(notes)))


def _no_followup_words(ctx: Context, window: int, ready: Any) -> str:
    words = t(f"{KEY}.survival.not_enough_followup", ctx.lang, window=window)
    if ready is not None:
        words += " " + t(f"{KEY}.survival.from_date", ctx.lang, date=ctx.day(ready))
    return words
