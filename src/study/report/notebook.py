"""What a report notebook calls: ``ctx = setup(...)`` once, then ``show_part`` and
``show_section`` per cell. Loads the study's data for the period once; no analysis here.

    from study.report import notebook as nb
    ctx = nb.setup(db, participant, period, lang, window, names)
    nb.show_part(ctx, "overview")
    nb.show_section(ctx, "overview.activity")
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from study.errors import ValidationError
from study.periods import Period
from study.report import parts as _parts  # noqa: F401 (the parts register their sections)
from study.report import sections
from study.report.i18n import check_lang, date, period_label, t
from study.tables.bundle import Tables, resolve_period

if TYPE_CHECKING:
    from study.api import Study
    from study.estimands import Results


@dataclass
class Context:
    """One report's parameters and data: the participant's analysis tables at the end of the
    period (:class:`~study.tables.bundle.Tables`, events up to then and the contacts, with names
    only if ``names``) and the report's results computed from them (:mod:`study.estimands`)."""

    study: Study
    participant: str
    period: Period
    lang: str
    window: int
    names: bool
    tables: Tables

    @property
    def history(self) -> pd.DataFrame:
        return self.tables.history

    @property
    def contacts(self) -> pd.DataFrame:
        return self.tables.contacts

    @property
    def start(self) -> pd.Timestamp:
        return self.tables.start

    @property
    def end(self) -> pd.Timestamp:
        return self.tables.cutoff

    @cached_property
    def results(self) -> Results:
        """The report's result objects, each computed once (``ctx.results["part.name"]``)."""
        from study.estimands import Results

        return Results(self.tables)

    @property
    def period_events(self) -> pd.DataFrame:
        """The events that occurred in the period."""
        return self.tables.period_events

    @property
    def period_words(self) -> str:
        return period_label(self.period, self.lang)

    def who(self, key: str) -> str:
        """A contact as the report shows them: the pseudonymous key, or the name if ``names``
        (falling back to the key for a contact without a recorded name)."""
        if self.names and "name" in self.contacts:
            match = self.contacts.loc[self.contacts["key"] == key, "name"].dropna()
            if len(match):
                return str(match.iloc[0])
        return str(key)

    def day(self, moment: Any) -> str:
        """A moment as a date in the study's time zone, in words of the language."""
        return date(pd.Timestamp(moment).tz_convert(self.study.tz).date(), self.lang)

    # The analysis tables (study.tables.bundle.Tables), built once on first use from the whole
    # history up to the period's end (the analyses need history; the period's own figures are
    # the overview's).

    @property
    def ties(self) -> pd.DataFrame:
        return self.tables.ties

    @property
    def timeline(self) -> pd.DataFrame:
        return self.tables.timeline

    @property
    def introductions(self) -> pd.DataFrame:
        return self.tables.introductions

    @property
    def panel(self) -> pd.DataFrame:
        return self.tables.panel

    @property
    def leads(self) -> pd.DataFrame:
        return self.tables.leads


def resolve_db(db: str | os.PathLike[str]) -> str:
    """A relative database path is looked up from the working directory upwards, so the
    notebooks' default ``data/study.db`` works when run from ``notebooks/`` (JupyterLab)."""
    text = str(db)
    if "://" in text or not text:
        return text
    path = Path(text)
    if path.is_absolute() or path.exists():
        return text
    for parent in Path.cwd().parents:
        if (parent / path).exists():
            return str(parent / path)
    return text


#: Set by ``study report`` in its kernel: parts with the same parameters share one Context
#: (the data are read once per report, not once per part). Off in an interactive session, so a
#: re-run sees new events.
REUSE_CONTEXT = False
_CONTEXTS: dict[tuple[Any, ...], Context] = {}


def start_part(shell: Any) -> None:
    """Run by ``study report`` in its shared kernel before each part notebook: the part starts
    with an empty namespace (imported modules stay), and parts share one Context.

    IPython's ``%reset -f`` would do the emptying too, but it also opens a new history session
    and runs a full garbage collection over every loaded module's objects (0.1 to 0.3 s a part
    once pandas, SciPy and matplotlib are loaded); emptying the namespace is all a part needs.
    """
    global REUSE_CONTEXT
    REUSE_CONTEXT = True
    ns, hidden = shell.user_ns, shell.user_ns_hidden
    for name in [
        n for n in ns if n not in hidden and n not in ("__builtin__", "__builtins__", "__name__")
    ]:
        del ns[name]
    out = ns.get("_oh")
    if out is not None:
        out.clear()
    shell.displayhook._, shell.displayhook.__, shell.displayhook.___ = "", "", ""
    shell.last_execution_result = None


def setup(
    db: str | os.PathLike[str] = "data/study.db",
    participant: str = "me",
    period: str | Period = "",
    lang: str = "de",
    window: int = 365,
    names: bool = False,
) -> Context:
    """Open the study, load the participant's data up to the end of the period, and set the
    figure style (SVG output when running in a notebook)."""
    key = (str(db), participant, str(period), lang, str(window), bool(names))
    if REUSE_CONTEXT and key in _CONTEXTS:
        _style_figures()
        return _CONTEXTS[key]
    ctx = _setup(db, participant, period, lang, window, names)
    if REUSE_CONTEXT:
        _CONTEXTS.clear()
        _CONTEXTS[key] = ctx
    return ctx


def _setup(
    db: str | os.PathLike[str],
    participant: str,
    period: str | Period,
    lang: str,
    window: int,
    names: bool,
) -> Context:
    from study.api import Study

    check_lang(lang)
    p = resolve_period(period)
    if int(window) < 1:
        raise ValidationError(f"{window!r} is not a number of days >= 1", "window")
    study = Study(resolve_db(db))
    if participant not in study.participants():
        raise ValidationError(
            f"no participant {participant!r} in {study.name} "
            f"(there are: {', '.join(study.participants()) or 'none'})",
            "participant",
        )
    tables = Tables.from_study(study, participant, p, window=int(window), names=bool(names))
    _style_figures()
    return Context(study, participant, p, lang, int(window), bool(names), tables)


def _style_figures() -> None:
    from study.figures import use_report_style

    use_report_style()
    try:
        from IPython import get_ipython

        if get_ipython() is not None:
            from matplotlib_inline.backend_inline import set_matplotlib_formats

            set_matplotlib_formats("svg")
    except ImportError:  # pragma: no cover - IPython comes with ipykernel
        pass


def part_items(ctx: Context, part: str) -> list[sections.Item]:
    """A part's heading and introduction, then its answer box: the part module's
    ``answer(ctx) -> str`` (study.report.parts.<part>), two or three plain sentences."""
    if part not in sections.PARTS:
        raise KeyError(f"no part {part!r} (known: {', '.join(sections.PARTS)})")
    items: list[sections.Item] = [
        sections.Text(
            f"# {t(f'part.{part}.title', ctx.lang)}\n\n"
            f"{t(f'part.{part}.intro', ctx.lang, period=ctx.period_words)}"
        )
    ]
    text = part_answer(ctx, part)
    if text:
        items.append(sections.Box(t("answer.label", ctx.lang), text))
    return items


def part_answer(ctx: Context, part: str) -> str:
    """The part's answer in words, or "" for a part without an ``answer`` function."""
    import importlib
    import warnings

    from study.analysis.base import NotEnoughData

    module = importlib.import_module(f"study.report.parts.{part}")
    fn = getattr(module, "answer", None)
    if fn is None:
        return ""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return str(fn(ctx))
        except NotEnoughData as exc:
            return t("report.not_enough_data", ctx.lang, n=exc.n, needs=exc.needs)


def show(items: list[sections.Item], lang: str) -> None:
    """Display items in the notebook: Markdown, HTML tables, figures (then closed)."""
    import matplotlib.pyplot as plt
    from IPython.display import HTML, Markdown, display

    for item in items:
        if isinstance(item, sections.Text):
            display(Markdown(item.markdown))
        elif isinstance(item, sections.Table):
            if item.caption:
                display(Markdown(f"*{item.caption}*"))
            display(HTML(item.to_html(lang)))
        elif isinstance(item, sections.Chart):
            display(item.figure)
            plt.close(item.figure)
        elif isinstance(item, sections.Box):
            display(HTML(item.to_html()))


def show_part(ctx: Context, part: str) -> None:
    show(part_items(ctx, part), ctx.lang)


def show_section(ctx: Context, name: str) -> None:
    show(sections.section_items(ctx, name), ctx.lang)
