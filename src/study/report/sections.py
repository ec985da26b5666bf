"""The report's sections: a registry ``{name: function(ctx) -> list of display items}``.

A part (one notebook) lists its sections in :data:`PARTS`; a notebook shows a section with
``nb.show_section(ctx, "sustainability.at_risk")``, which adds the heading, the question and
the method sentence (from the i18n strings ``section.<name>.*``) and then the items the function
returns. A function that finds too little data raises
:class:`study.analysis.base.NotEnoughData`; the section then says "not enough data yet
(n = …, needs …)". To add an analysis: write a function, decorate it with
``@section("part.name")``, add the strings to ``strings/*.toml``, add it to :data:`PARTS` and a
cell to the part's notebook (a test checks that every section is shown by exactly one notebook).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

import pandas as pd

from study.analysis.base import NotEnoughData, wilson
from study.report import counts
from study.report.i18n import label, number, t
from study.vocabulary import BASES

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from study.report.notebook import Context


@dataclass(frozen=True)
class Text:
    """A paragraph (Markdown)."""

    markdown: str


@dataclass(frozen=True)
class Table:
    """A table; its column names are already in words. Numbers are formatted for the language
    when shown."""

    frame: pd.DataFrame
    caption: str = ""

    def to_html(self, lang: str) -> str:
        shown = self.frame.copy()
        for col in shown.columns:
            if pd.api.types.is_numeric_dtype(shown[col]) and not pd.api.types.is_bool_dtype(
                shown[col]
            ):
                shown[col] = [number(v, lang) for v in shown[col]]
        return shown.to_html(index=False, escape=True, border=0, na_rep="–")


@dataclass(frozen=True)
class Chart:
    """A matplotlib figure."""

    figure: Figure


Item = Text | Table | Chart
SectionFn = Callable[["Context"], list[Item]]

SECTIONS: dict[str, SectionFn] = {}

#: Parts in report order (= notebook file order) and their sections in order.
PARTS: dict[str, tuple[str, ...]] = {
    "overview": ("overview.activity", "overview.network"),
    "job_search": ("job_search.leads",),
    "sustainability": ("sustainability.ties", "sustainability.at_risk"),
    "reputation": ("reputation.metrics", "reputation.activities"),
    "second_degree": ("second_degree.introductions",),
}


def section(name: str) -> Callable[[SectionFn], SectionFn]:
    """Register ``fn`` as the section ``name`` (``part.section``)."""

    def register(fn: SectionFn) -> SectionFn:
        SECTIONS[name] = fn
        return fn

    return register


def section_items(ctx: Context, name: str) -> list[Item]:
    """Everything a section shows: heading, question, method, then the answer's items (or the
    "not enough data yet" paragraph)."""
    if name not in SECTIONS:
        raise KeyError(f"no section {name!r} (known: {', '.join(sorted(SECTIONS))})")
    key = f"section.{name}"
    lang = ctx.lang
    words = {"period": ctx.period_words, "window": ctx.window}
    head = [
        Text(f"## {t(key + '.title', lang)}"),
        Text(
            f"**{t('report.question', lang)}:** {t(key + '.question', lang)}  \n"
            f"**{t('report.method', lang)}:** {t(key + '.method', lang, **words)}"
        ),
    ]
    try:
        body = SECTIONS[name](ctx)
    except NotEnoughData as exc:
        body = [Text(f"*{t('report.not_enough_data', lang, n=exc.n, needs=exc.needs)}*")]
    return head + body


def _need(ctx: Context, name: str, n: int, at_least: int = 1) -> None:
    """Raise NotEnoughData unless ``n >= at_least``; "needs" in words from the strings."""
    if n < at_least:
        raise NotEnoughData(name, n, t(f"section.{name}.needs", ctx.lang))


def _cols(ctx: Context, frame: pd.DataFrame, **names: str) -> pd.DataFrame:
    """Rename columns to words: ``names`` maps a column to an i18n ``column.*`` key."""
    return frame.rename(columns={c: t(f"column.{k}", ctx.lang) for c, k in names.items()})


# overview --------------------------------------------------------------------------------
@section("overview.activity")
def overview_activity(ctx: Context) -> list[Item]:
    from study import figures

    ev = ctx.period_events
    _need(ctx, "overview.activity", len(ev))
    by_kind = counts.events_by_kind(ev)
    top = by_kind.iloc[0]
    text = t(
        "section.overview.activity.answer",
        ctx.lang,
        n=len(ev),
        top=label("kind", top["kind"], ctx.lang),
        top_n=int(top["count"]),
    )
    return [Text(text), Chart(figures.events_by_kind(by_kind, ctx.lang))]


@section("overview.network")
def overview_network(ctx: Context) -> list[Item]:
    known = ctx.contacts[ctx.contacts["first_seen"] <= ctx.end]
    _need(ctx, "overview.network", len(known))
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
    return [Text(text), Table(_cols(ctx, table, basis="basis", total="contacts"))]


# job search ------------------------------------------------------------------------------
@section("job_search.leads")
def job_search_leads(ctx: Context) -> list[Item]:
    from study import figures

    stages = counts.lead_stages(ctx.history)
    _need(ctx, "job_search.leads", len(stages))
    new = int((stages["first"] >= ctx.start).sum())
    text = t(
        "section.job_search.leads.answer",
        ctx.lang,
        n=len(stages),
        new=new,
        interview=counts.stage_reached(stages, "interview"),
        accepted=int((stages["closed"] == "accepted").sum()),
    )
    table = counts.leads_by_channel(stages)
    table["channel"] = [label("channel", c, ctx.lang) for c in table["channel"]]
    table = table.rename(
        columns={s: label("stage", s, ctx.lang) for s in table.columns if s not in ("channel",)}
    )
    table = _cols(ctx, table, channel="channel", total="leads")
    return [Text(text), Table(table), Chart(figures.lead_funnel(stages, ctx.lang))]


# sustainability --------------------------------------------------------------------------
@section("sustainability.ties")
def sustainability_ties(ctx: Context) -> list[Item]:
    live = counts.live_ties(ctx.history, ctx.contacts, ctx.start, ctx.end)
    _need(ctx, "sustainability.ties", len(live))
    share = wilson(int(live["active"].sum()), len(live))
    text = t(
        "section.sustainability.ties.answer",
        ctx.lang,
        active=int(live["active"].sum()),
        n=len(live),
        share=share.estimate,
        low=share.low,
        high=share.high,
    )
    g = live.groupby("basis", sort=False)["active"]
    table = pd.DataFrame({"contacts": g.size(), "active": g.sum()})
    table = table.reindex([b for b in BASES if b in table.index]).reset_index()
    table["share"] = table["active"] / table["contacts"]
    table["basis"] = [label("basis", b, ctx.lang) for b in table["basis"]]
    table["share"] = [number(v, ctx.lang, ".0%") for v in table["share"]]
    return [
        Text(text),
        Table(
            _cols(ctx, table, basis="basis", contacts="contacts", active="active", share="share")
        ),
    ]


@section("sustainability.at_risk")
def sustainability_at_risk(ctx: Context) -> list[Item]:
    quiet = counts.quiet_ties(ctx.history, ctx.contacts, ctx.end)
    _need(ctx, "sustainability.at_risk", len(quiet))
    text = t(
        "section.sustainability.at_risk.answer",
        ctx.lang,
        n=len(quiet),
        days=int(quiet["days"].iloc[0]),
    )
    table = pd.DataFrame(
        {
            "contact": [ctx.who(k) for k in quiet["contact"]],
            "last_interaction": [ctx.day(ts) for ts in quiet["last"]],
            "days_quiet": quiet["days"].astype(int),
        }
    )
    table.insert(0, "#", range(1, len(table) + 1))
    return [
        Text(text),
        Text(f"**{t('section.sustainability.at_risk.heading', ctx.lang)}**"),
        Table(
            _cols(
                ctx,
                table,
                contact="contact",
                last_interaction="last_interaction",
                days_quiet="days_quiet",
            )
        ),
    ]


# online reputation -----------------------------------------------------------------------
@section("reputation.metrics")
def reputation_metrics(ctx: Context) -> list[Item]:
    from study import figures

    ev = ctx.period_events
    summary = counts.metric_summary(ev)
    _need(ctx, "reputation.metrics", int(summary["readings"].sum()) if len(summary) else 0)
    views = float(summary.loc[summary["name"] == "profile_views", "value"].sum())
    text = t(
        "section.reputation.metrics.answer",
        ctx.lang,
        n=int(summary["readings"].sum()),
        views=views,
    )
    table = summary.assign(
        name=[label("metric", n, ctx.lang) for n in summary["name"]],
        platform=[label("platform", p, ctx.lang) for p in summary["platform"]],
    )[["name", "platform", "value"]]
    history = ctx.history[ctx.history["kind"] == "metric"]
    return [
        Text(text),
        Table(_cols(ctx, table, name="metric", platform="platform", value="value")),
        Chart(figures.metrics_over_time(history, ctx.lang)),
    ]


@section("reputation.activities")
def reputation_activities(ctx: Context) -> list[Item]:
    acts = counts.activities_by_type(ctx.period_events)
    n = int(acts["count"].sum()) if len(acts) else 0
    _need(ctx, "reputation.activities", n)
    acts["type"] = [label("activity", a, ctx.lang) for a in acts["type"]]
    return [
        Text(t("section.reputation.activities.answer", ctx.lang, n=n)),
        Table(_cols(ctx, acts, type="type", count="count")),
    ]


# second degree ---------------------------------------------------------------------------
VOUCH_CHECKS_NEEDED = 5


@section("second_degree.introductions")
def second_degree_introductions(ctx: Context) -> list[Item]:
    known, n = counts.vouch_outcomes(ctx.history)
    _need(ctx, "second_degree.introductions", n, at_least=VOUCH_CHECKS_NEEDED)
    share = wilson(known, n)
    intros = int((ctx.period_events["kind"] == "introduction").sum())
    text = t(
        "section.second_degree.introductions.answer",
        ctx.lang,
        known=known,
        n=n,
        share=share.estimate,
        low=share.low,
        high=share.high,
        intros=intros,
    )
    return [Text(text)]
