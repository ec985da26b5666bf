"""Sections: heading, question and method from the strings, answers from the data, the
"not enough data yet" paragraph instead of a crash, and names only when asked for."""

from __future__ import annotations

from pathlib import Path

import matplotlib.pyplot as plt
import pytest
from report_study import NAMES, make_small_study

import study
from study.errors import ValidationError
from study.report import notebook as nb
from study.report.sections import PARTS, Chart, Table, Text, section_items


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = Path(tmp_path_factory.mktemp("sections")) / "study.db"
    make_small_study(path).close()
    return path


def text_of(items) -> str:
    parts = []
    for i in items:
        if isinstance(i, Text):
            parts.append(i.markdown)
        elif isinstance(i, Table):
            parts.append(i.to_html("de"))
        elif isinstance(i, Chart):
            plt.close(i.figure)
    return "\n".join(parts)


@pytest.mark.parametrize("lang", ["de", "en"])
@pytest.mark.parametrize("names", [False, True])
def test_every_section_renders(db: Path, lang: str, names: bool) -> None:
    ctx = nb.setup(db, "me", "2026-10", lang, 365, names)
    everything = ""
    for part, sections in PARTS.items():
        everything += text_of(nb.part_items(ctx, part))
        for name in sections:
            items = section_items(ctx, name)
            assert isinstance(items[0], Text) and items[0].markdown.startswith("## ")
            everything += text_of(items)
    for name in NAMES.values():
        if not names or name == NAMES["carla"]:  # carla was removed: in no list
            assert name not in everything
    if names:
        for who in ("anna", "bernd", "dieter", "erika", "franz"):
            assert NAMES[who] in everything
    assert "Noch zu wenig" not in everything and "Not enough" not in everything


def test_answers_come_from_the_data(db: Path) -> None:
    ctx = nb.setup(db, "me", "2026-10", "en", 365, False)
    text = text_of(section_items(ctx, "overview.activity"))
    assert "Events in the period: 10; the most frequent kind: Interaction (3)." in text
    text = text_of(section_items(ctx, "second_degree.introductions"))
    assert "4 of 6 vouch checks (67%, 95% CI 30%–90%)" in text
    charts = [i for i in section_items(ctx, "overview.activity") if isinstance(i, Chart)]
    assert charts and charts[0].figure.axes[0].get_xlabel() == "Count"
    plt.close("all")


def test_not_enough_data_instead_of_a_crash(tmp_path: Path) -> None:
    s = study.init(tmp_path / "empty.db")
    s.add_contact("Nur Kontakt", platform="xing", basis="met_in_person", first_seen="2026-01-05")
    s.close()
    ctx = nb.setup(tmp_path / "empty.db", "me", "2026-10", "de", 365, False)
    text = text_of(section_items(ctx, "overview.activity"))
    assert "Noch zu wenig Daten (n = 0, benötigt ein Ereignis)." in text
    text = text_of(section_items(ctx, "second_degree.introductions"))
    assert "(n = 0, benötigt 5 Rückfragen)" in text
    for sections in PARTS.values():
        for name in sections:
            assert section_items(ctx, name)  # none crashes


def test_setup_rejects_bad_parameters(db: Path) -> None:
    with pytest.raises(ValidationError, match="participant"):
        nb.setup(db, "nobody", "2026-10")
    with pytest.raises(ValidationError, match="lang"):
        nb.setup(db, "me", "2026-10", "fr")
    with pytest.raises(ValidationError, match="period"):
        nb.setup(db, "me", "October")
    with pytest.raises(KeyError):
        section_items(nb.setup(db, "me", "2026-10"), "no.such.section")


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
