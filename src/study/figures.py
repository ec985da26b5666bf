"""The report's figures: seaborn with defaults readable in print, one function per figure.

Each function takes a DataFrame (or result object) and the language, and returns a matplotlib
Figure; labels and axis titles come from :mod:`study.report.i18n`. Notebooks show them as SVG
(vector, sharp in the PDF). ``fig.savefig(path)`` saves a figure whole, every label inside the
picture (:class:`WholeFigure`).
"""

from __future__ import annotations

import textwrap
from typing import Any

import matplotlib.dates as mdates
import matplotlib.pyplot as plt
import pandas as pd
import seaborn as sns
from matplotlib.figure import Figure

from study.report.i18n import label, t

#: Width of a figure on an A4 page with the report's margins, in inches.
WIDTH = 6.2
PALETTE = "colorblind"


#: Date ticks: numeric for German (matplotlib's month names follow the C locale).
_DATE_FORMAT = {"de": "%d.%m.%Y", "en": "%d %b %Y"}


def use_report_style() -> None:
    """Seaborn defaults for print: white grid, larger type, a colour-blind palette, vector
    text as paths (so the PDF needs no fonts of the plotting machine)."""
    sns.set_theme(context="paper", style="whitegrid", palette=PALETTE, font_scale=1.2)
    plt.rcParams.update(
        {
            "figure.dpi": 100,
            "savefig.bbox": "tight",
            "svg.fonttype": "path",
            "axes.titleweight": "bold",
        }
    )


class WholeFigure(Figure):
    """A matplotlib Figure whose ``savefig`` keeps every label: it crops to what is drawn
    (``bbox_inches="tight"``, as Jupyter shows figures) unless told otherwise, so an axis label
    near the edge is not cut off. (Constrained layout does the same at every drawing, but
    makes the report's figures markedly slower: docs/performance.md.)"""

    def savefig(self, fname: Any, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("bbox_inches", "tight")
        super().savefig(fname, *args, **kwargs)


def _subplots(*args: Any, **kwargs: Any) -> tuple[Figure, Any]:
    """``plt.subplots`` making a :class:`WholeFigure`."""
    return plt.subplots(*args, FigureClass=WholeFigure, **kwargs)


def _decimal_axis(ax: plt.Axes, lang: str, axis: str = "x", integer: bool = False) -> None:
    """Tick labels with the language's decimal separator (whole numbers only for counts)."""
    from matplotlib.ticker import FuncFormatter, MaxNLocator

    from study.report.i18n import number

    target = ax.xaxis if axis == "x" else ax.yaxis
    if integer:
        target.set_major_locator(MaxNLocator(integer=True))
    target.set_major_formatter(FuncFormatter(lambda v, _pos: number(v, lang)))


def events_by_kind(counts: pd.DataFrame, lang: str) -> Figure:
    """Horizontal bars: events of the period by kind (columns ``kind``, ``count``)."""
    data = counts.assign(label=[label("kind", k, lang) for k in counts["kind"]])
    fig, ax = _subplots(figsize=(WIDTH, 0.35 * len(data) + 1.2))
    sns.barplot(data=data, y="label", x="count", color=sns.color_palette(PALETTE)[0], ax=ax)
    ax.set(
        xlabel=t("axis.count", lang), ylabel="", title=t("section.overview.activity.figure", lang)
    )
    _decimal_axis(ax, lang, integer=True)
    return fig


def _date_axis(ax: plt.Axes, lang: str) -> None:
    """Dates on the x axis: at most six ticks, in the language's format."""
    ax.xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=6))
    ax.xaxis.set_major_formatter(mdates.DateFormatter(_DATE_FORMAT[lang]))
    ax.set_xlabel(t("axis.date", lang))


def _percent_axis(ax: plt.Axes, lang: str) -> None:
    from matplotlib.ticker import FuncFormatter

    from study.report.i18n import number

    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _pos: number(v, lang, ".0%")))


def leads_per_month(table: pd.DataFrame, lang: str) -> Figure:
    """Bars: job leads first seen in each month (``month``, ``leads`` of
    :func:`study.analysis.jobs.lead_rates`)."""
    fig, ax = _subplots(figsize=(WIDTH, 2.4))
    months = pd.to_datetime(table["month"])
    ax.bar(months, table["leads"], width=20, color=sns.color_palette(PALETTE)[1])
    ax.set(ylabel=t("axis.leads", lang), title=t("section.job_search.rates.figure", lang))
    _date_axis(ax, lang)
    _decimal_axis(ax, lang, "y", integer=True)
    return fig


def lead_funnel(funnel, lang: str) -> Figure:
    """The lead funnel step by step: the conversion from the stage before among the leads whose
    step is decided, with its Wilson interval, and how many were decided (a
    :class:`study.estimands.job_search.LeadFunnel`)."""
    from matplotlib.ticker import FuncFormatter

    from study.report.i18n import number

    s = funnel.summary.iloc[1:]
    steps = [
        f"{label('stage', x, lang)} (n = {0 if pd.isna(d) else int(d)})"
        for x, d in zip(s["stage"], s["decided"], strict=True)
    ]
    fig, ax = _subplots(figsize=(WIDTH, 2.4))
    y = list(range(len(s)))[::-1]
    est = s["conversion"].fillna(0)
    err = [
        (est - s["conversion_low"].fillna(0)).clip(lower=0),
        (s["conversion_high"].fillna(0) - est).clip(lower=0),
    ]
    ax.barh(y, est, xerr=err, color=sns.color_palette(PALETTE)[1], capsize=3)
    ax.set_yticks(y, steps)
    ax.set_xlim(0, 1.02)
    ax.set(xlabel=t("axis.conversion", lang), title=t("section.job_search.funnel.figure", lang))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: number(v, lang, ".0%")))
    return fig


def km_curves(km, labels: dict[str, str], lang: str) -> Figure:
    """Kaplan–Meier step curves by group with their 95% bands (a
    :class:`study.analysis.sustainability.KMResult`); time in months."""
    data = km.curves_table
    fig, ax = _subplots(figsize=(WIDTH, 3.4))
    colours = sns.color_palette(PALETTE, len(km.curves))
    month = 365.25 / 12
    for colour, (group, part) in zip(colours, data.groupby("group", sort=False), strict=True):
        x = part["time"] / month
        ax.step(x, part["surv"], where="post", color=colour, label=labels.get(group, group))
        ax.fill_between(x, part["low"], part["high"], step="post", color=colour, alpha=0.15)
    ax.set_ylim(0, 1.02)
    ax.set_xlim(left=0)
    ax.set(
        xlabel=t("axis.months", lang),
        ylabel=t("axis.survival", lang),
        title=t("axis.km_title", lang),
    )
    _percent_axis(ax, lang)
    _decimal_axis(ax, lang, "x")
    ax.legend(loc="lower left", fontsize=9)
    return fig


def reliable_share(share: pd.DataFrame, lang: str) -> Figure:
    """The share of live ties that are reliable at each month's end, with its Wilson band
    (:func:`study.analysis.sustainability.reliable_share`)."""
    x = pd.to_datetime(share["period_end"]).dt.tz_convert(None)
    fig, ax = _subplots(figsize=(WIDTH, 2.8))
    colour = sns.color_palette(PALETTE)[2]
    ax.plot(x, share["share"], marker="o", markersize=3, color=colour)
    ax.fill_between(x, share["low"], share["high"], color=colour, alpha=0.2)
    ax.set_ylim(0, 1.02)
    ax.set(
        ylabel=t("axis.share_reliable", lang),
        title=t("section.sustainability.reliable.figure", lang),
    )
    _percent_axis(ax, lang)
    _date_axis(ax, lang)
    return fig


def its_views(res, lang: str) -> Figure:
    """Profile views per week around the profile completion: each entered period's views per
    week, the fitted segments, the counterfactual (the first segment continued, dashed) and
    the update (a vertical line) (a :class:`study.analysis.reputation.ViewsIts`). The axis holds
    everything drawn: a counterfactual that would run off the plot is drawn only as far as it
    stays within it (and not at all when the level change is too imprecise to read)."""
    c = res.curves.copy()
    c["time"] = pd.to_datetime(c["time"])
    at = pd.Timestamp(res.intervention)
    pal = sns.color_palette(PALETTE)
    fig, ax = _subplots(figsize=(WIDTH, 3.2))
    ax.scatter(c["time"], c["observed"], s=9, color="0.55", label=t("axis.observed", lang))
    for _, seg in c.groupby("segment"):
        ax.plot(seg["time"], seg["fitted"], color=pal[0], linewidth=2)
    ax.plot([], [], color=pal[0], linewidth=2, label=t("axis.fitted", lang))
    top = 1.15 * max(c["observed"].max(), c["fitted"].max())
    after = c[c["time"] >= at]
    if not res.level.too_imprecise:
        inside = after[after["counterfactual"] <= top]
        ax.plot(
            inside["time"],
            inside["counterfactual"],
            color=pal[0],
            linestyle="--",
            linewidth=1.5,
            label=t("axis.counterfactual", lang),
        )
    ax.axvline(at, color=pal[3], linewidth=1, label=t("axis.intervention", lang))
    ax.set_ylim(0, top)
    ax.set(ylabel=t("axis.views_per_week", lang), title=t("section.reputation.views.figure", lang))
    _date_axis(ax, lang)
    _decimal_axis(ax, lang, "y")
    # below the plot: the weeks around the update stay visible
    ax.legend(loc="upper center", bbox_to_anchor=(0.5, -0.2), fontsize=8, ncols=4, frameon=False)
    return fig


def metric_trends(trends: list, lang: str) -> Figure:
    """One panel per level metric: the measured values and the fitted growth (a
    :class:`study.analysis.reputation.GrowthResult` or ``RankChange``, with ``metric`` and
    ``curves`` holding week, observed, fitted)."""
    fig, axes = _subplots(
        len(trends), 1, figsize=(WIDTH, 2.3 * len(trends) + 0.4), sharex=True, squeeze=False
    )
    pal = sns.color_palette(PALETTE)
    for i, (ax, tr) in enumerate(zip(axes[:, 0], trends, strict=True)):
        week = pd.to_datetime(tr.curves["week"])
        ax.scatter(week, tr.curves["observed"], s=9, color="0.55")
        ax.plot(week, tr.curves["fitted"], color=pal[i], linewidth=2)
        ax.set(
            title=label("metric", tr.metric, lang), ylabel=t(f"axis.{tr.metric}", lang), xlabel=""
        )
        if tr.metric == "googlability_rank":
            ax.invert_yaxis()  # rank 1 on top: up is better
        _decimal_axis(ax, lang, "y")
    _date_axis(axes[-1, 0], lang)
    fig.tight_layout()
    return fig


def introducer_rates(
    summary: pd.DataFrame, labels: dict[str, str], lang: str, *, days: int = 90
) -> Figure:
    """Point ranges: vouch-check pass rate, response rate and 12-month survival by introducer
    type, with their 95% intervals (:func:`study.analysis.second_degree.rates`)."""
    measures = [
        ("pass_rate", "pass_low", "pass_high", "column.pass_rate"),
        ("response_rate", "response_low", "response_high", "column.response_rate"),
        ("survival", "survival_low", "survival_high", "column.surv_12"),
    ]
    groups = list(summary["introducer_type"].astype(str))
    fig, axes = _subplots(1, 3, figsize=(WIDTH, 0.35 * len(groups) + 1.4), sharey=True)
    pal = sns.color_palette(PALETTE)
    for i, (ax, (est, low, high, title)) in enumerate(zip(axes, measures, strict=True)):
        y = list(range(len(groups)))[::-1]
        if summary[est].isna().all():
            ax.text(
                0.5,
                0.5,
                t("axis.too_few", lang),
                ha="center",
                va="center",
                fontsize=9,
                transform=ax.transAxes,
                color="0.4",
            )
        for yi, (_, r) in zip(y, summary.iterrows(), strict=True):
            if pd.isna(r[est]):
                continue
            ax.plot([r[low], r[high]], [yi, yi], color=pal[i], linewidth=2)
            ax.plot(r[est], yi, "o", color=pal[i])
        ax.set_xlim(-0.03, 1.03)
        # three narrow panels: a long title (German) wraps instead of running into the next
        words = t(title, lang, days=days).split(" (")[0]
        ax.set_title(textwrap.fill(words, 16), fontsize=10)
        ax.set_yticks(y, [labels.get(g, g) for g in groups])
        from matplotlib.ticker import FuncFormatter

        from study.report.i18n import number

        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: number(100 * v, lang)))
        ax.set_xticks([0, 0.5, 1])
        ax.set_xlabel("%")
    fig.tight_layout()
    return fig


def ego_network(graph, lang: str) -> Figure:
    """The participant in the centre, first-degree contacts on the inner ring, second-degree
    contacts outside near their introducer; colour by basis (first degree) or introducer type
    (second degree); no labels (contacts are people); ended ties drawn hollow."""
    import math

    import networkx as nx

    centre = next(n for n, d in graph.nodes(data="degree") if d == 0)
    # first-degree contacts in arcs by basis, live ones first: the colours form groups
    first = sorted(
        (n for n, d in graph.nodes(data="degree") if d == 1),
        key=lambda n: (str(graph.nodes[n].get("basis")), not graph.nodes[n].get("alive"), n),
    )
    second = [n for n, d in graph.nodes(data="degree") if d == 2]
    pos = {centre: (0.0, 0.0)}
    for i, n in enumerate(first):
        a = 2 * math.pi * i / max(len(first), 1)
        pos[n] = (math.cos(a), math.sin(a))
    for n in second:  # near the introducer, on the outer ring
        nbrs = [m for m in graph.neighbors(n) if m in pos and m != centre]
        base = math.atan2(pos[nbrs[0]][1], pos[nbrs[0]][0]) if nbrs else 0.0
        k = sum(1 for m in second if m in pos)
        pos[n] = (
            1.7 * math.cos(base + 0.06 * (k % 5 - 2)),
            1.7 * math.sin(base + 0.06 * (k % 5 - 2)),
        )
    pal = sns.color_palette(PALETTE)
    colour = {
        "knows_personally": pal[0],
        "met_in_person": pal[2],
        "none": pal[3],
        "unknown": "0.6",
        "introduced": pal[4],
        "first_hand": pal[4],
        "collector": pal[1],
        "other": "0.4",
    }
    fig, ax = _subplots(figsize=(WIDTH, WIDTH * 0.85))
    nx.draw_networkx_edges(graph, pos, ax=ax, width=0.5, edge_color="0.75")
    shown: dict[str, tuple] = {}
    # one scatter per kind of marker (degree, colour key, alive), not per contact: hundreds of
    # single-point collections take seconds to draw
    groups: dict[tuple[int, str, bool], list[tuple[float, float]]] = {}
    for n, d in graph.nodes(data=True):
        if d["degree"] == 0:
            ax.scatter(*pos[n], s=160, color="black", zorder=3)
            continue
        key = d.get("introducer_type") if d["degree"] == 2 else d.get("basis")
        key = key if key in colour else "other"
        groups.setdefault((d["degree"], key, bool(d.get("alive"))), []).append(pos[n])
        group = "introducer" if d["degree"] == 2 else "basis"
        shown[f"{group}.{key}"] = (colour[key], "o" if d["degree"] == 1 else "s")
    for (degree, key, alive), points in groups.items():
        c = colour[key]
        xs, ys = zip(*points, strict=True)
        ax.scatter(
            xs,
            ys,
            s=28 if degree == 1 else 20,
            facecolor=c if alive else "white",
            edgecolor=c,
            linewidth=1,
            zorder=3,
            marker="o" if degree == 1 else "s",
        )
    from matplotlib.lines import Line2D

    handles = [
        Line2D(
            [],
            [],
            marker=m,
            linestyle="",
            color=c,
            label=t("axis.introduced_by", lang, who=t(k, lang))
            if k.startswith("introducer.")
            else label(*k.split("."), lang),
        )
        for k, (c, m) in sorted(shown.items())
    ]
    handles.append(
        Line2D(
            [],
            [],
            marker="o",
            linestyle="",
            markerfacecolor="white",
            markeredgecolor="0.3",
            label=t("axis.ended", lang),
        )
    )
    ax.legend(
        handles=handles,
        loc="upper center",
        bbox_to_anchor=(0.5, 0.02),
        ncols=2,
        fontsize=8,
        frameon=False,
    )
    ax.set_aspect("equal")
    ax.set_xlim(-1.9, 1.9)
    ax.set_ylim(-1.9, 1.9)
    ax.axis("off")
    ax.set_title(t("section.second_degree.network.figure", lang))
    return fig


def cumulative_incidence(res, labels: dict[str, str], causes: dict[str, str], lang: str) -> Figure:
    """Aalen–Johansen cumulative incidence of each ending (one panel per ending), a line per
    group with its 95% band (a :class:`study.analysis.competing.CompetingResult`); months."""
    data = res.curves_table
    shown = [c for c in causes if c in set(data["cause"])]
    fig, axes = _subplots(
        1, len(shown), figsize=(WIDTH, 3.0), sharey=True, squeeze=False, layout="constrained"
    )
    groups = list(dict.fromkeys(data["group"]))
    colours = dict(zip(groups, sns.color_palette(PALETTE, len(groups)), strict=True))
    month = 365.25 / 12
    for ax, cause in zip(axes[0], shown, strict=True):
        for group, part in data[data["cause"] == cause].groupby("group", sort=False):
            x = part["time"] / month
            c = colours[group]
            ax.step(x, part["cif"], where="post", color=c, label=labels.get(group, group))
            ax.fill_between(x, part["low"], part["high"], step="post", color=c, alpha=0.12)
        ax.set_xlim(left=0)
        ax.set(title=causes[cause])
        _percent_axis(ax, lang)
        _decimal_axis(ax, lang, "x")
    fig.supxlabel(t("axis.months", lang), fontsize=10)
    axes[0][0].set_ylabel(t("axis.cumulative_incidence", lang))
    axes[0][0].set_ylim(0, 1.02)
    axes[0][-1].legend(loc="upper left", fontsize=8)
    return fig
