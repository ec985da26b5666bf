"""Sections: heading, question and method from the strings, answers from the analyses (the
numbers in the text are the estimators' numbers), the "not enough data yet" paragraph instead
of a crash, partial sections, and names only when asked for."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import pytest
from report_study import NAMES, make_simulated_study, make_small_study

import study
from study.errors import ValidationError
from study.report import notebook as nb
from study.report.i18n import number, t
from study.report.sections import PARTS, SECTIONS, Chart, Table, Text, section_items


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("sections")) / "study.db"
    make_small_study(path).close()
    return path


@pytest.fixture(scope="module")
def sim(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("sim")) / "demo.db"
    make_simulated_study(path)
    return path


@pytest.fixture(scope="module")
def sim_en(sim: Path) -> nb.Context:
    return nb.setup(sim, "me", "2026-10", "en", 365, False)


@pytest.fixture(scope="module")
def shown_en(sim_en: nb.Context) -> dict[str, list]:
    """Every section of the simulated study in English, built once."""
    return {name: section_items(sim_en, name) for name in SECTIONS}


def text_of(items, lang: str = "de") -> str:
    parts = []
    for i in items:
        if isinstance(i, Text):
            parts.append(i.markdown)
        elif isinstance(i, Table):
            parts.append(i.to_html(lang))
        elif isinstance(i, Chart):
            plt.close(i.figure)
    return "\n".join(parts)


def charts(items) -> list:
    return [i.figure for i in items if isinstance(i, Chart)]


def not_enough(text: str) -> bool:
    return "Noch zu wenig" in text or "Not enough" in text


# the small study: words, names, no crash -------------------------------------------------
#: Sections left out of a one-person study's report.
ONE_PERSON_ABSENT = {"overview.panel"}


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("names", [False, True])
def test_every_section_renders(db: Path, lang: str, names: bool) -> None:
    ctx = nb.setup(db, "me", "2026-10", lang, 365, names)
    everything = ""
    for part, sections in PARTS.items():
        everything += text_of(nb.part_items(ctx, part))
        for name in sections:
            items = section_items(ctx, name)
            if name in ONE_PERSON_ABSENT:
                assert items == []  # a one-person study has no panel section
                continue
            assert isinstance(items[0], Text) and items[0].markdown.startswith("## ")
            assert t(f"section.{name}.title", lang) in items[0].markdown
            assert "{" not in text_of(items[:2])  # every placeholder filled
            everything += text_of(items)
    if not names:
        for name in NAMES.values():
            assert name not in everything


def test_answers_come_from_the_data(db: Path) -> None:
    ctx = nb.setup(db, "me", "2026-10", "en", 365, False)
    text = text_of(section_items(ctx, "overview.activity"))
    assert "Events in the period: 10; the most frequent kind: Interaction (3)." in text
    figs = charts(section_items(ctx, "overview.activity"))
    assert figs and figs[0].axes[0].get_xlabel() == "Count"
    plt.close("all")


# the simulated study: the real estimators -------------------------------------------------
def test_every_section_answers_on_the_demo_study(shown_en: dict[str, list]) -> None:
    """Only the vouch-check model (13 checks, needs 20) and second- against first-degree
    survival lack data in the demo study: survival follow-up ends W = 365 days before the
    cut-off (docs/definitions.md), which leaves too few second-degree ties in 24 months."""
    lacking = {"second_degree.model", "second_degree.survival", "job_search.model"}
    for name, items in shown_en.items():
        text = text_of(items, "en")
        assert not_enough(text) == (name in lacking), (name, text[-300:])
    # kinds of introducer with fewer than 5 checks are left out: 8 first-hand checks remain
    assert "(n = 8, needs 20 vouch checks with both outcomes)" in text_of(
        shown_en["second_degree.model"], "en"
    )


def test_every_figure_is_labelled_and_readable(shown_en: dict[str, list]) -> None:
    """Width of an A4 text column, fonts of at least 8 pt, axes labelled (ego network: none)."""
    from study.figures import WIDTH

    for name, items in shown_en.items():
        for fig in charts(items):
            assert fig.get_figwidth() <= WIDTH + 1e-9, name
            for text in fig.findobj(plt.Text):
                if text.get_text():
                    assert text.get_fontsize() >= 8, (name, text.get_text())
            if name != "second_degree.network":  # panels may share the first one's y axis
                assert any(ax.get_ylabel() or ax.get_yticklabels() for ax in fig.axes), name
                assert any(ax.get_xlabel() or ax.get_title() for ax in fig.axes), name
            plt.close(fig)


def test_every_figure_saves_whole(shown_en: dict[str, list], tmp_path: Path) -> None:
    """A figure saved with plain savefig (whatever the report's style sets) keeps every label,
    tick label, title and legend inside the picture: a margin of background all round, where a
    label cut off at the picture's edge would leave its ink on the border."""
    import matplotlib
    import matplotlib.image

    saved = 0
    for name, items in shown_en.items():
        for fig in charts(items):
            path = tmp_path / f"{saved}.png"
            with matplotlib.rc_context({"savefig.bbox": None}):  # matplotlib's default
                fig.savefig(path, dpi=60)
            pixels = matplotlib.image.imread(path)[:, :, :3]
            assert pixels.shape[0] > 60 and pixels.shape[1] > 200, name  # a picture, not a crop
            border = [pixels[:2], pixels[-2:], pixels[:, :2], pixels[:, -2:]]
            ink = max(float((1 - b).max()) for b in border)
            assert ink < 0.05, (name, "something drawn is cut off at the edge")
            plt.close(fig)
            saved += 1
    assert saved >= 10  # every figure of the report


def test_survival_headline_is_the_basis_contrast_fixed_in_advance(
    sim_en: nb.Context, shown_en: dict[str, list]
) -> None:
    """The headline is the first of the contrasts fixed in advance that the Cox model has,
    never the term with the smallest p-value; its interval is printed with it."""
    from study.estimands.sustainability import HEADLINE_TERMS

    surv = sim_en.results["sustainability.survival"]
    fit = sim_en.results["sustainability.cox"].fit
    first = next(x for x in HEADLINE_TERMS if x in fit.summary.index)
    assert surv.headline_term == first
    hr = fit.hazard_ratio(first)
    text = text_of(shown_en["sustainability.survival"], "en")
    expected = (
        f"{number(hr.estimate, 'en', '.2f')}, 95% CI "
        f"{number(hr.low, 'en', '.2f')}–{number(hr.high, 'en', '.2f')};"
    )
    assert expected in text
    assert text.index("In short") < text.index("Log-rank test")
    assert ("too imprecise" in text) == hr.too_imprecise
    assert len(charts(shown_en["sustainability.survival"])) == 1
    # every "–" of the table is explained below it
    table = next(i for i in shown_en["sustainability.survival"] if isinstance(i, Table)).frame
    for col in (t("column.surv_12", "en"), t("column.surv_24", "en")):
        if (table[col] == "–").any():
            assert f"– at {col.split(' (')[0]}:" in text


def test_cox_table_and_ph_sentence(sim_en: nb.Context, shown_en: dict[str, list]) -> None:
    from study.analysis import sustainability as rq2
    from study.report.parts.sustainability import cox_fit

    fit = cox_fit(sim_en)
    text = text_of(shown_en["sustainability.cox"], "en")
    assert f"{fit.n} ties, {fit.events} of them ended" in text
    p = rq2.ph_test(fit).loc["GLOBAL", "p"]
    assert ("No evidence against proportional hazards" in text) == (p >= 0.05)
    assert "holds" not in text
    for r in fit.summary.itertuples():
        assert f"{number(r.hr, 'en', '.2f')} ({number(r.hr_low, 'en', '.2f')}–" in text
    assert " vs " in text  # every contrast says what it compares


def test_at_risk_list_is_the_results_ranking(sim_en: nb.Context, shown_en: dict[str, list]) -> None:
    res = sim_en.results["sustainability.at_risk"]
    risk = res.shown
    table = next(i for i in shown_en["sustainability.at_risk"] if isinstance(i, Table)).frame
    assert len(table) == len(risk) <= 15
    assert list(table["Contact"]) == list(risk["contact"])  # pseudonymous keys
    chances = list(table["Chance of ending in 3 months (95% CI)"])
    assert all(c.split(" ")[0] != "0%" for c in chances)  # never an exact 0 %
    certain = risk["why"] == "quiet"
    assert all(c == "100%" for c, q in zip(chances, certain, strict=True) if q)
    assert all(
        w.startswith("quiet on") == q
        for w, q in zip(table["Why on the list"], certain, strict=True)
    )
    assert PARTS["sustainability"][-1] == "sustainability.sensitivity"


def test_at_risk_list_shows_names_only_when_asked(sim: Path) -> None:
    with_names = nb.setup(sim, "me", "2026-10", "de", 365, True)
    table = next(
        i for i in section_items(with_names, "sustainability.at_risk") if isinstance(i, Table)
    ).frame
    contacts = with_names.contacts.set_index("key")["name"]
    shown = list(table["Kontakt"])
    assert shown[0] in set(contacts) and not shown[0].startswith("me-c")


def test_job_search_numbers(sim_en: nb.Context, shown_en: dict[str, list]) -> None:
    """The sections print the results of study.estimands (the validated functions)."""
    from study.report.sections import estimate

    r = sim_en.results["job_search.rates"]
    text = text_of(shown_en["job_search.rates"], "en")
    assert f"{r.leads} job leads in {r.n_months} months: {estimate(sim_en, r.per_month)}" in text
    assert estimate(sim_en, r.per_100_reliable) in text
    assert f"over the {r.known_months} months up to October 2025" in text
    # 12 known months with 1 lead: fewer than 5 leads per term of the lead model
    model = text_of(shown_en["job_search.model"], "en")
    assert "needs 6 months whose ties' fate is known and 15 job leads in them" in model
    f = sim_en.results["job_search.funnel"]
    assert f"Of {f.n} leads, {f.reached['applied']} led to an application" in text_of(
        shown_en["job_search.funnel"], "en"
    )


def test_reputation_numbers(sim_en: nb.Context, shown_en: dict[str, list]) -> None:
    from study.report.sections import estimate

    fit = sim_en.results["reputation.views"].fit
    assert fit.season  # over a year of weeks: the fit holds the season
    text = text_of(shown_en["reputation.views"], "en")
    assert f"changed by a factor of {estimate(sim_en, fit.level)}" in text
    assert (
        f"{round(fit.weeks_before)} weeks before and {round(fit.weeks_after)} weeks after" in text
    )
    fig = charts(section_items(sim_en, "reputation.views"))[0]
    ax = fig.axes[0]
    assert any(line.get_linestyle() == "--" for line in ax.get_lines())  # the counterfactual
    top = ax.get_ylim()[1]
    for line in ax.get_lines():  # every line drawn lies inside the axis
        y = [v for v in line.get_ydata() if v == v]
        assert not y or max(y) <= top
    assert ax.get_ylabel() == "Views per week"
    plt.close(fig)
    trends = text_of(shown_en["reputation.trends"], "en")
    assert "Followers grew by " in trends and "web search rank changed by a factor of " in trends


def test_overview_indicators(sim_en: nb.Context, shown_en: dict[str, list]) -> None:
    tl = sim_en.timeline
    last = tl.iloc[-1]
    text = text_of(shown_en["overview.indicators"], "en")
    assert f"the network had {int(last['alive'])} live ties" in text
    assert f"{int(last['reliable'])} of them were reliable" in text
    table = next(i for i in shown_en["overview.indicators"] if isinstance(i, Table)).frame
    assert list(table.columns)[1:] == ["2026-07", "2026-08", "2026-09", "2026-10"]


def test_second_degree_numbers(sim_en: nb.Context, shown_en: dict[str, list]) -> None:
    from study.analysis.base import NotEnoughData
    from study.estimands.second_degree import second_degree_survival

    text = text_of(shown_en["second_degree.survival"], "en")
    with pytest.raises(NotEnoughData) as too_few:  # follow-up ends W before the cut-off
        second_degree_survival(sim_en.tables)
    assert f"n = {too_few.value.n}" in text
    res = sim_en.results["second_degree.rates"]
    first = res.estimands()["pass rate first_hand"]
    rates = text_of(shown_en["second_degree.rates"], "en")
    assert f"known first-hand: {round(first.estimate * first.n)} of {first.n}" in rates
    assert len(charts(shown_en["second_degree.rates"])) == 1
    c = sim_en.results["second_degree.network"]
    network = text_of(shown_en["second_degree.network"], "en")
    assert f"{c.ties_first} first-degree and {c.ties_second} second-degree" in network
    ego = charts(section_items(sim_en, "second_degree.network"))[0]
    texts = [x.get_text() for x in ego.findobj(plt.Text)]
    assert not any(x.startswith("me-c") for x in texts)  # no contact labels
    plt.close("all")


def test_german_numbers_in_german(sim: Path) -> None:
    ctx = nb.setup(sim, "me", "2026-10", "de", 365, False)
    text = text_of(section_items(ctx, "sustainability.survival"))
    import re

    assert re.search(r"\d+,\d\d, 95-%-KI \d+,\d\d–\d+,\d\d;", text)
    plt.close("all")


# too little data ----------------------------------------------------------------------------
@pytest.mark.parametrize("period", ["2024-12", "2025-02", "2026-Q3", "2025"])
def test_early_and_longer_periods_render_without_a_crash(sim: Path, period: str) -> None:
    """Early in the study most estimators lack data (groups without an ended tie, months
    without leads); quarters and years use the same tables."""
    ctx = nb.setup(sim, "me", period, "de", 365, False)
    for name in SECTIONS:
        items = section_items(ctx, name)
        assert "{" not in text_of(items)
    plt.close("all")


def test_not_enough_data_instead_of_a_crash(tmp_path: Path) -> None:
    s = study.init(tmp_path / "empty.db")
    s.log("note", text="Studie begonnen", at="2026-01-05")
    s.close()
    ctx = nb.setup(tmp_path / "empty.db", "me", "2026-10", "de", 365, False)
    text = text_of(section_items(ctx, "overview.activity"))
    assert "Noch zu wenig Daten (n = 0, benötigt ein Ereignis)." in text
    text = text_of(section_items(ctx, "second_degree.rates"))
    assert "(n = 0, benötigt ein vermittelter Kontakt)" in text
    for name in set(SECTIONS) - ONE_PERSON_ABSENT:
        assert not_enough(text_of(section_items(ctx, name))), name


def test_a_partial_section_keeps_what_it_could_show(tmp_path: Path) -> None:
    """Followers measured often enough, the own-name rank never: the followers' trend is shown,
    then "not enough data yet" for the rest."""
    import datetime as dt

    s = study.init(tmp_path / "part.db")
    with s.batch() as b:
        for week in range(8):
            day = dt.datetime(2026, 9, 1, 12) + dt.timedelta(weeks=week)
            b.log("metric", name="followers", value=100 + 3 * week, platform="xing", at=day)
    s.close()
    ctx = nb.setup(tmp_path / "part.db", "me", "2026-10", "en", 365, False)
    items = section_items(ctx, "reputation.trends")
    text = text_of(items, "en")
    assert "Followers grew by 13.0 (95% CI " in text  # 3 a week
    assert len(charts(items)) == 1
    assert text.rstrip().endswith("needs 4 measurements).*")


def test_setup_rejects_bad_parameters(db: Path) -> None:
    with pytest.raises(ValidationError, match="participant"):
        nb.setup(db, "nobody", "2026-10")
    with pytest.raises(ValidationError, match="lang"):
        nb.setup(db, "me", "2026-10", "fr")
    with pytest.raises(ValidationError, match="period"):
        nb.setup(db, "me", "October")
    with pytest.raises(KeyError):
        section_items(nb.setup(db, "me", "2026-10"), "no.such.section")


def test_tables_are_built_once_per_notebook(db: Path) -> None:
    ctx = nb.setup(db, "me", "2026-10", "en", 365, False)
    assert ctx.ties is ctx.ties and ctx.leads is ctx.leads
    assert (
        pd.Timestamp(ctx.ties.attrs["cutoff"]) == ctx.end and ctx.ties.attrs["window_days"] == 365
    )
    assert ctx.timeline["period_end"].max() == ctx.end


def test_relative_db_is_found_from_a_subdirectory(db: Path, monkeypatch) -> None:
    sub = db.parent / "notebooks"
    sub.mkdir(exist_ok=True)
    monkeypatch.chdir(sub)
    assert nb.resolve_db("study.db") == str(db)
    assert nb.resolve_db("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert nb.setup("study.db", "me", "2026-10").period.label == "2026-10"


def test_default_period_is_the_last_complete_month() -> None:
    import datetime as dt

    assert nb.resolve_period("", dt.date(2026, 3, 4)).label == "2026-02"
    assert nb.resolve_period("2026-Q1").label == "2026-Q1"
