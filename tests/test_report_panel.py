"""The report's panel section: shown for a study with several participants, absent otherwise."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from study import simulate
from study.report import notebook as nb
from study.report.run import participant_pseudonym
from study.report.sections import Table, Text, section_items

END = dt.date(2026, 10, 31)


@pytest.fixture(scope="module")
def panel_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    db = tmp_path_factory.mktemp("panel") / "panel.db"
    simulate.run(None, 11, db, participants=3, months=24, end=END)
    return db


def test_panel_section_per_participant_and_pooled(panel_db: Path) -> None:
    ctx = nb.setup(panel_db, "p001", "2026-10", "en", 365, False)
    items = section_items(ctx, "overview.panel")
    text = " ".join(i.markdown for i in items if isinstance(i, Text))
    assert "## The panel" in text and "The study has 3 participants." in text
    # three participants: no population-level interval (issue 16), and the report says so
    assert "Pooled, " not in text and "95% CI" not in text
    assert "With 3 participants there is no population-level interval yet" in text
    table = next(i.frame for i in items if isinstance(i, Table))
    assert len(table) == 3
    # participants appear as pseudonyms unless names are allowed
    expected = {participant_pseudonym(ctx.study, p) for p in ("p001", "p002", "p003")}
    assert set(table["Participant"]) == expected
    named = nb.setup(panel_db, "p001", "2026-10", "de", 365, True)
    table_de = next(i.frame for i in section_items(named, "overview.panel") if isinstance(i, Table))
    assert set(table_de["Teilnehmer:in"]) == {"p001", "p002", "p003"}


def test_panel_section_is_left_out_of_a_one_person_study(tmp_path: Path) -> None:
    db = tmp_path / "one.db"
    simulate.run(None, 5, db, participants=1, months=6, end=END)
    ctx = nb.setup(db, "me", "2026-10", "en", 365, False)
    assert section_items(ctx, "overview.panel") == []
