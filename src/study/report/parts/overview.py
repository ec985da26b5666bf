"""Overview: the study's indicators for the period and the ones before, and what was logged."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from study.analysis.panel import MIN_PARTICIPANTS
from study.report import counts
from study.report.i18n import label, number, t
from study.report.sections import (
    Chart,
    Item,
    NotApplicable,
    Table,
    Text,
    cols,
    estimate,
    memo,
    need,
    section,
)
from study.vocabulary import BASES

if TYPE_CHECKING:
    from study.report.notebook import Context


@section("overview.indicators")
def overview_indicators(ctx: Context, out: list[Item]) -> None:
    name = "overview.indicators"
    need(ctx, name, len(ctx.ties) + len(ctx.leads) + len(ctx.panel))
    from study.analysis import overview

    ov = ctx.results[name].overview
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
            share = number(now["share_reliable"], lang, ".0%")
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
        out.append(
            t(
                f"{key}.views",
                lang,
                views=views_text(ctx, now),
                change=_change(ctx, change, "views") if views_comparable(ctx) else "",
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


def views_comparable(ctx: Context) -> bool:
    """Views of the period and the one before can be compared only when both cover all days."""
    t_ = ctx.results["overview.indicators"].summary
    if len(t_) < 2 or "views_days" not in t_:
        return False
    length = (t_["end"] - t_["start"]).dt.days + 1
    return bool((t_["views_days"].iloc[-2:] >= length.iloc[-2:]).all())


def views_text(ctx: Context, row: pd.Series) -> str:
    """Views of a period, with the days they cover when not all: "578 (25 of 31 days)"."""
    if not _has(row, "views"):
        return "–"
    value = number(row["views"], ctx.lang, ".0f")
    length = (pd.Timestamp(row["end"]) - pd.Timestamp(row["start"])).days + 1
    days = int(row["views_days"]) if _has(row, "views_days") else length
    if days >= length:
        return value
    return t(
        "section.overview.indicators.views_days", ctx.lang, views=value, days=days, length=length
    )


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
                ["–" if pd.isna(v) else number(v, lang, ".0%") for v in table["share_reliable"]],
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
        rows.append((t("indicator.views", lang), whole("views")))
        if "views_days" in table:
            length = (table["end"] - table["start"]).dt.days + 1
            if (table["views_days"] < length).any():  # a period not measured throughout
                rows.append(("– " + t("indicator.views_days", lang), whole("views_days")))
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
    most = by_kind[by_kind["count"] == by_kind["count"].max()]
    kinds = [label("kind", k, ctx.lang) for k in most["kind"]]
    key = "section.overview.activity"
    if len(kinds) > 1:  # several kinds share the top: named as a tie
        text = t(
            f"{key}.answer_tie",
            ctx.lang,
            n=len(ev),
            top=t("report.and", ctx.lang, first=", ".join(kinds[:-1]), last=kinds[-1]),
            top_n=int(most["count"].iloc[0]),
        )
    else:
        text = t(
            f"{key}.answer", ctx.lang, n=len(ev), top=kinds[0], top_n=int(most["count"].iloc[0])
        )
    out += [Text(text), Chart(figures.events_by_kind(by_kind, ctx.lang))]


@section("overview.network")
def overview_network(ctx: Context, out: list[Item]) -> None:
    known = ctx.contacts[ctx.contacts["first_seen"] <= ctx.end]
    need(ctx, "overview.network", len(known))
    c = ctx.results["overview.network"]
    table = counts.contacts_by_basis(known)
    table["basis"] = [label("basis", b, ctx.lang) for b in table["basis"]]
    table = table.rename(
        columns={p: label("platform", p, ctx.lang) for p in ("xing", "linkedin", "other")}
    )
    key = "section.overview.network"
    words = [
        t(
            f"{key}.answer",
            ctx.lang,
            n=c.contacts,
            rule=c.rule,
            share=c.rule / c.contacts,
            new=c.new,
        ),
        t(
            f"{key}.counts",
            ctx.lang,
            ties=c.ties,
            alive=c.alive,
            followed=c.followed,
            window=ctx.window,
        ),
    ]
    out += [Text(" ".join(words)), Table(cols(ctx, table, basis="basis", total="contacts"))]


def panel_results(ctx: Context):
    """The results of every participant of the study together (the panel's pooled figures)."""
    from study.estimands import Results
    from study.tables.bundle import Tables

    def make() -> Results:
        return Results(Tables.from_study(ctx.study, None, ctx.period, window=ctx.window))

    return memo(ctx, "panel_results", make)


@section("overview.panel")
def overview_panel(ctx: Context, out: list[Item]) -> None:
    """A study with several participants: each participant's counts and the pooled figures
    (population-level, from 5 participants); left out of a one-person study's report."""
    from study.report.pseudonym import participant_pseudonym

    ids = ctx.study.participants()
    if len(ids) < 2:
        raise NotApplicable
    res = panel_results(ctx)["overview.panel"]
    lang = ctx.lang
    key = "section.overview.panel"
    words = [t(f"{key}.answer", lang, n=res.n)]
    if res.n < MIN_PARTICIPANTS:
        words.append(t("report.no_population", lang, n=res.n))
    else:
        if res.leads_per_100 is not None:
            words.append(t(f"{key}.leads", lang, leads=estimate(ctx, res.leads_per_100)))
        if res.views_level is not None:
            words.append(t(f"{key}.views", lang, level=estimate(ctx, res.views_level)))
    per = res.participants
    show = lambda pid: pid if ctx.names else participant_pseudonym(ctx.study, pid)  # noqa: E731
    table = pd.DataFrame(
        {
            "participant": [show(p) for p in per["participant"]],
            "ties": per["ties"].astype(int),
            "alive": per["alive"].astype(int),
            "reliable": per["reliable"].astype(int),
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
                ties="ties_ever",
                alive="alive_now",
                reliable="reliable_now",
                leads="leads",
            )
        ),
    ]


def answer(ctx: Context) -> str:
    """The overview's box: the network now and what the period brought."""
    key = "answer.overview"
    lang = ctx.lang
    ind = ctx.results.get("overview.indicators")
    if ind is None:
        return t(f"{key}.none", lang)
    now = ind.summary.iloc[-1]
    words = []
    if _has(now, "network_size"):
        words.append(
            t(
                f"{key}.network",
                lang,
                period=ctx.period_words,
                n=int(now["network_size"]),
                reliable=int(now["reliable"]),
            )
        )
    words.append(
        t(
            f"{key}.period",
            lang,
            ties=int(now["new_ties"]) if _has(now, "new_ties") else 0,
            leads=int(now["leads"]) if _has(now, "leads") else 0,
            views=views_text(ctx, now),
        )
    )
    return " ".join(words)
