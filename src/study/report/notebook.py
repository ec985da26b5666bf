"""What a report notebook calls: ``ctx = setup(...)`` once, then ``show_part`` and
``show_section`` per cell. Loads the study's data for the period once; no analysis here.

    from study.report import notebook as nb
    ctx = nb.setup(db, participant, period, lang, window, names)
    nb.show_part(ctx, "overview")
    nb.show_section(ctx, "overview.activity")
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

from study.errors import ValidationError
from study.periods import Period, last_complete_month, parse_period
from study.report import sections
from study.report.i18n import check_lang, date, period_label, t

if TYPE_CHECKING:
    from study.api import Study


@dataclass
class Context:
    """One report's parameters and data: the participant's events up to the end of the period
    (``history``) and contacts (with names only if ``names``)."""

    study: Study
    participant: str
    period: Period
    lang: str
    window: int
    names: bool
    history: pd.DataFrame
    contacts: pd.DataFrame
    start: pd.Timestamp = field(init=False)
    end: pd.Timestamp = field(init=False)

    def __post_init__(self) -> None:
        tz = self.study.tz
        self.start = pd.Timestamp(dt.datetime.combine(self.period.start, dt.time.min, tz))
        self.end = pd.Timestamp(dt.datetime.combine(self.period.end, dt.time.max, tz))
        self.start, self.end = self.start.tz_convert("UTC"), self.end.tz_convert("UTC")

    @property
    def period_events(self) -> pd.DataFrame:
        """The events that occurred in the period."""
        return self.history[self.history["occurred_at"] >= self.start]

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

    # The analysis tables, built once per notebook on first use, from the whole history up to
    # the period's end (the analyses need history; the period's own figures are the overview's).

    @cached_property
    def ties(self) -> pd.DataFrame:
        """One row per tie spell, cut off at the period's end, reliability window W."""
        from study.tables.ties import ties

        return ties(self.history, self.contacts, cutoff=self.end, window_days=self.window)

    @cached_property
    def timeline(self) -> pd.DataFrame:
        """Alive and reliable ties at each month's end up to the period's end (its last point is
        the period's end itself)."""
        from study.tables.ties import reliability_timeline

        t = self.ties
        if t.empty:
            return pd.DataFrame(columns=["participant", "period_end", "alive", "reliable", "share"])
        first = pd.Timestamp(t["start"].min()).tz_convert("UTC").normalize()
        ends = pd.date_range(first, self.end, freq="MS", tz="UTC")
        ends = [e for e in ends if e > first and e < self.end] + [self.end]
        return reliability_timeline(self.history, t, freq=ends, window_days=self.window)

    @cached_property
    def introductions(self) -> pd.DataFrame:
        """One row per introduced (second-degree) contact."""
        from study.tables.introductions import introductions

        return introductions(
            self.history,
            self.contacts,
            cutoff=self.end,
            window_days=self.window,
            ties_table=self.ties,
        )

    @cached_property
    def panel(self) -> pd.DataFrame:
        """The weekly metrics panel (views, followers, rank, activity, profile updates)."""
        from study.tables.metrics import weekly_metrics

        return weekly_metrics(self.history, participant=self.participant)

    @cached_property
    def leads(self) -> pd.DataFrame:
        """One row per job lead, with the source tie's state when the lead came."""
        from study.tables.leads import leads

        return leads(self.history, self.contacts, ties=self.ties, window_days=self.window)


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


def resolve_period(period: str | Period, today: dt.date | None = None) -> Period:
    """A period from text; the empty text means the last complete month."""
    if isinstance(period, Period):
        return period
    if not str(period).strip():
        return last_complete_month(today or dt.date.today())
    return parse_period(period)


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
    from study.report.fingerprint import period_bounds

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
    _, until = period_bounds(p)
    history = study.events(participant=participant, until=until)
    contacts = study.contacts(names=bool(names), participant=participant)
    _style_figures()
    return Context(study, participant, p, lang, int(window), bool(names), history, contacts)


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
    """A part's heading and introduction."""
    if part not in sections.PARTS:
        raise KeyError(f"no part {part!r} (known: {', '.join(sections.PARTS)})")
    return [
        sections.Text(
            f"# {t(f'part.{part}.title', ctx.lang)}\n\n"
            f"{t(f'part.{part}.intro', ctx.lang, period=ctx.period_words)}"
        )
    ]


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


def show_part(ctx: Context, part: str) -> None:
    show(part_items(ctx, part), ctx.lang)


def show_section(ctx: Context, name: str) -> None:
    show(sections.section_items(ctx, name), ctx.lang)
