"""Overview: the study's indicators for the period and the ones before, and what was logged."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pandas as pd

from study.report import counts
from study.report.i18n import label, number, t
from study.report.sections import (
    Chart,
    Item,
    NotApplicable,
    Table,
    Text,
    ci,
    ci_cell,
    cols,
    need,
    section,
)
from study.vocabulary import BASES

if TYPE_CHECKING:
    from study.periods import Period
    from study.report.notebook import Context

#: How many periods before the report's period the overview shows.
PERIODS_BEFORE = {"month": 3, "quarter": 3}


def overview_span(period: Period) -> tuple[dt.date, dt.date, str]:
    """Start, end and step of the overview's periods: a month with the three before it, a
    quarter with the three before it, a year by quarters, a range of dates by months."""
    from study.periods import period_kind

    kind = period_kind(period)
    if kind in PERIODS_BEFORE:
        months = PERIODS_BEFORE[kind] * (3 if kind == "quarter" else 1)
        start = (pd.Timestamp(period.start) - pd.DateOffset(months=months)).date()
        return start, period.end, kind
    if kind == "year":
        return period.start, period.end, "quarter"
    return period.start.replace(day=1), period.end, "month"


@section("overview.indicators")
def overview_indicators(ctx: Context, out: list[Item]) -> None:
    from study.analysis import overview

    name = "overview.indicators"
    inputs = {
        "timeline": ctx.timeline,
        "ties": ctx.ties,
        "leads": ctx.leads,
        "panel": ctx.panel,
    }
    inputs = {k: v for k, v in inputs.items() if len(v)}
    need(ctx, name, sum(len(v) for v in inputs.values()))
    start, end, freq = overview_span(ctx.period)
    ov = overview.indicators(start, end, freq=freq, participant=ctx.participant, **inputs)
    table = ov.summary
    now = table.iloc[-1]
    change = overview.changes(ov).iloc[-1] if len(table) > 1 else None
    out.append(Text("\n".join(f"- {s}" for s in indicator_sentences(ctx, now, change))))
    out.append(Table(indicator_table(ctx, table), t(f"section.{name}.caption", ctx.lang)))


def _has(row: pd.Series, col: str) -> bool:
    return col in row and not pd.isna(row[col])


def _change(ctx: Context, change: pd.Series | None, col: str) -> str:
    """ " (+3 against the period before)"; empty without a period before."""
    from study.report.sections import signed

    if change is None or not _has(change, f"{col}_change"):
        return ""
    return t(
        "section.overview.indicators.change",
        ctx.lang,
        change=signed(ctx, change[f"{col}_change"]),
    )


def indicator_sentences(ctx: Context, now: pd.Series, change: pd.Series | None) -> list[str]:
    """One sentence per indicator the data have: the period's row of
    :func:`study.analysis.overview.indicators` and its row of ``changes`` (None: no period
    before)."""
    key = "section.overview.indicators"
    lang, period = ctx.lang, ctx.period_words
    out = []
    if _has(now, "network_size"):
        share = ""
        if _has(now, "share_reliable"):
            share = ci(ctx, now["share_reliable"], now["share_low"], now["share_high"], ".0%")
        out.append(
            t(
                f"{key}.network",
                lang,
                period=period,
                n=int(now["network_size"]),
                change=_change(ctx, change, "network_size"),
                reliable=int(now["reliable"]),
                share=share,
            )
        )
    if _has(now, "new_ties"):
        parts = [
            f"{int(now[f'new_ties_{b}'])} {label('basis', b, lang)}"
            for b in BASES
            if now.get(f"new_ties_{b}", 0)
        ]
        out.append(
            t(
                f"{key}.new_ties",
                lang,
                n=int(now["new_ties"]),
                by_basis=", ".join(parts) if parts else "–",
                change=_change(ctx, change, "new_ties"),
            )
        )
    if _has(now, "leads"):
        out.append(
            t(f"{key}.leads", lang, n=int(now["leads"]), change=_change(ctx, change, "leads"))
        )
    if _has(now, "views"):
        ratio = ""
        if change is not None and _has(change, "views_ratio"):
            ratio = t(
                f"{key}.views_ratio",
                lang,
                ratio=ci(
                    ctx,
                    change["views_ratio"],
                    change["views_ratio_low"],
                    change["views_ratio_high"],
                ),
            )
        out.append(
            t(
                f"{key}.views",
                lang,
                views=ci(ctx, now["views"], now["views_low"], now["views_high"], ".0f"),
                ratio=ratio,
            )
        )
    if _has(now, "followers"):
        out.append(
            t(
                f"{key}.followers",
                lang,
                n=int(now["followers"]),
                change=_change(ctx, change, "followers"),
            )
        )
    if _has(now, "googlability_rank"):
        out.append(
            t(
                f"{key}.rank",
                lang,
                rank=int(now["googlability_rank"]),
                change=_change(ctx, change, "googlability_rank"),
            )
        )
    return out


def indicator_table(ctx: Context, table: pd.DataFrame) -> pd.DataFrame:
    """Indicators as rows, periods as columns (the report's period last), cells as text."""
    lang = ctx.lang
    rows: list[tuple[str, list[str]]] = []

    def whole(col: str) -> list[str]:
        return [number(v, lang, ".0f") if not pd.isna(v) else "–" for v in table[col]]

    if "network_size" in table:
        rows.append((t("indicator.network_size", lang), whole("network_size")))
        rows.append((t("indicator.reliable", lang), whole("reliable")))
        rows.append(
            (
                t("indicator.share_reliable", lang),
                [
                    ci_cell(ctx, r.share_reliable, r.share_low, r.share_high, ".0%")
                    for r in table.itertuples()
                ],
            )
        )
    if "new_ties" in table:
        rows.append((t("indicator.new_ties", lang), whole("new_ties")))
        for b in BASES:
            col = f"new_ties_{b}"
            if col in table and table[col].sum() > 0:
                rows.append(("– " + label("basis", b, lang), whole(col)))
    if "leads" in table:
        rows.append((t("indicator.leads", lang), whole("leads")))
    if "views" in table:
        rows.append(
            (
                t("indicator.views", lang),
                [
                    ci_cell(ctx, r.views, r.views_low, r.views_high, ".0f")
                    for r in table.itertuples()
                ],
            )
        )
    for col in ("followers", "googlability_rank"):
        if col in table:
            rows.append((t(f"indicator.{col}", lang), whole(col)))
    frame = pd.DataFrame([values for _, values in rows], columns=list(table["period"]))
    frame.insert(0, t("column.indicator", lang), [name for name, _ in rows])
    return frame


@section("overview.activity")
def overview_activity(ctx: Context, out: list[Item]) -> None:
    from study import figures

    ev = ctx.period_events
    need(ctx, "overview.activity", len(ev))
    by_kind = counts.events_by_kind(ev)
    top = by_kind.iloc[0]
    text = t(
        "section.overview.activity.answer",
        ctx.lang,
        n=len(ev),
        top=label("kind", top["kind"], ctx.lang),
        top_n=int(top["count"]),
    )
    out += [Text(text), Chart(figures.events_by_kind(by_kind, ctx.lang))]


@section("overview.network")
def overview_network(ctx: Context, out: list[Item]) -> None:
    known = ctx.contacts[ctx.contacts["first_seen"] <= ctx.end]
    need(ctx, "overview.network", len(known))
    rule = int(known["basis"].isin(counts.RULE_BASES).sum())
    new = int((known["first_seen"] >= ctx.start).sum())
    table = counts.contacts_by_basis(known)
    table["basis"] = [label("basis", b, ctx.lang) for b in table["basis"]]
    table = table.rename(
        columns={p: label("platform", p, ctx.lang) for p in ("xing", "linkedin", "other")}
    )
    text = t(
        "section.overview.network.answer",
        ctx.lang,
        n=len(known),
        rule=rule,
        share=rule / len(known),
        new=new,
    )
    out += [Text(text), Table(cols(ctx, table, basis="basis", total="contacts"))]


@section("overview.panel")
def overview_panel(ctx: Context, out: list[Item]) -> None:
    """A study with several participants: each participant's figures and the pooled ones
    (cluster-robust by participant); left out of a one-person study's report."""
    from study.analysis.panel import study_panel_summary
    from study.report.run import participant_pseudonym

    ids = ctx.study.participants()
    if len(ids) < 2:
        raise NotApplicable
    res = study_panel_summary(ctx.study, ctx.end, window_days=ctx.window)
    lang = ctx.lang
    words = [t("section.overview.panel.answer", lang, n=len(ids))]
    if res.reliable_share is not None:
        r = res.reliable_share
        words.append(
            t("section.overview.panel.share", lang, share=ci(ctx, r.estimate, r.low, r.high, ".0%"))
        )
    if res.leads_per_participant is not None:
        r = res.leads_per_participant
        words.append(
            t("section.overview.panel.leads", lang, leads=ci(ctx, r.estimate, r.low, r.high))
        )
    per = res.participants
    show = lambda pid: pid if ctx.names else participant_pseudonym(ctx.study, pid)  # noqa: E731
    table = pd.DataFrame(
        {
            "participant": [show(p) for p in per["participant"]],
            "ties": per["ties"].astype(int),
            "median": [
                ci_cell(ctx, m / 30.4375, lo / 30.4375, hi / 30.4375, ".1f")
                for m, lo, hi in zip(
                    per["median_days"], per["median_low"], per["median_high"], strict=True
                )
            ],
            "reliable": [
                ci_cell(ctx, m, lo, hi, ".0%")
                for m, lo, hi in zip(
                    per["reliable_share"], per["reliable_low"], per["reliable_high"], strict=True
                )
            ],
            "leads": per["leads"].astype(int),
        }
    )
    out += [
        Text(" ".join(words)),
        Table(
            cols(
                ctx,
                table,
                participant="participant",
                ties="ties",
                median="panel_median",
                reliable="panel_reliable",
                leads="leads",
            )
        ),
    ]
