"""The report's figures: seaborn with defaults readable in print, one function per figure.

Each function takes a DataFrame (or result object) and the language, and returns a matplotlib
Figure; labels and axis titles come from :mod:`study.report.i18n`. Notebooks show them as SVG
(vector, sharp in the PDF).
"""

from __future__ import annotations

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
    fig, ax = plt.subplots(figsize=(WIDTH, 0.35 * len(data) + 1.2))
    sns.barplot(data=data, y="label", x="count", color=sns.color_palette(PALETTE)[0], ax=ax)
    ax.set(
        xlabel=t("axis.count", lang), ylabel="", title=t("section.overview.activity.figure", lang)
    )
    _decimal_axis(ax, lang, integer=True)
    return fig


def lead_funnel(stages: pd.DataFrame, lang: str) -> Figure:
    """The lead funnel: how many leads reached each progress stage or a later one (from
    :func:`study.report.counts.lead_stages`)."""
    from study.report.counts import stage_reached
    from study.vocabulary import LEAD_PROGRESS

    data = pd.DataFrame(
        {
            "stage": [label("stage", s, lang) for s in LEAD_PROGRESS],
            "count": [stage_reached(stages, s) for s in LEAD_PROGRESS],
        }
    )
    fig, ax = plt.subplots(figsize=(WIDTH, 3.0))
    sns.barplot(data=data, x="stage", y="count", color=sns.color_palette(PALETTE)[1], ax=ax)
    ax.set(xlabel=t("axis.stage", lang), ylabel=t("axis.count", lang))
    ax.set_title(t("section.job_search.leads.figure", lang))
    _decimal_axis(ax, lang, "y", integer=True)
    return fig


def metrics_over_time(metrics: pd.DataFrame, lang: str) -> Figure:
    """Lines: each metric's readings over time (metric events: ``occurred_at``, ``name``,
    ``value``, ``platform``), one panel per metric so scales do not clash."""
    data = metrics.assign(
        metric=[label("metric", n, lang) for n in metrics["name"]],
        platform=[label("platform", p, lang) for p in metrics["platform"].astype(str)],
        date=pd.to_datetime(metrics["occurred_at"]).dt.tz_localize(None),
    )
    names = list(dict.fromkeys(data["metric"]))
    fig, axes = plt.subplots(
        len(names), 1, figsize=(WIDTH, 1.9 * len(names) + 0.6), sharex=True, squeeze=False
    )
    for ax, name in zip(axes[:, 0], names, strict=True):
        sns.lineplot(
            data=data[data["metric"] == name],
            x="date",
            y="value",
            hue="platform",
            marker="o",
            ax=ax,
        )
        ax.set(title=name, xlabel="", ylabel=t("axis.value", lang))
        ax.legend(title=t("column.platform", lang), loc="best")
        _decimal_axis(ax, lang, "y")
    axes[-1, 0].xaxis.set_major_locator(mdates.AutoDateLocator(minticks=3, maxticks=6))
    axes[-1, 0].xaxis.set_major_formatter(mdates.DateFormatter(_DATE_FORMAT[lang]))
    axes[-1, 0].set_xlabel(t("axis.date", lang))
    fig.tight_layout()
    return fig
