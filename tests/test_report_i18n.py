"""The report's words: one table per language, the same keys, numbers in the language's style."""

from __future__ import annotations

import datetime as dt
import re

import pytest

from study.errors import ValidationError
from study.periods import parse_period
from study.report.i18n import LANGS, date, label, number, period_label, strings, t
from study.report.sections import PARTS, registered
from study.vocabulary import BASES, KINDS, LEAD_STAGES, METRICS, PLATFORMS


def test_both_languages_have_the_same_keys_and_placeholders() -> None:
    de, en = strings("de"), strings("en")
    assert set(de) == set(en)
    for key in de:
        fields = lambda s: sorted(re.findall(r"\{(\w+)", s))  # noqa: E731
        assert fields(de[key]) == fields(en[key]), key


@pytest.mark.parametrize("lang", LANGS)
def test_every_part_and_section_has_its_words(lang: str) -> None:
    for part, names in PARTS.items():
        assert t(f"part.{part}.title", lang)
        for name in names:
            for field in ("title", "question", "method", "needs"):
                assert t(f"section.{name}.{field}", lang), (name, field)
    assert t("report.not_enough_data", lang, n=2, needs=5)
    assert t("section.sustainability.at_risk.heading", lang)
    assert set(registered()) == {s for names in PARTS.values() for s in names}


@pytest.mark.parametrize("lang", LANGS)
def test_every_vocabulary_value_has_a_label(lang: str) -> None:
    table = strings(lang)
    for group, values in [
        ("kind", KINDS),
        ("basis", BASES),
        ("platform", PLATFORMS),
        ("stage", LEAD_STAGES),
        ("metric", METRICS),
    ]:
        for v in values:
            assert f"{group}.{v}" in table, (group, v)


@pytest.mark.parametrize(
    ("value", "spec", "de", "en"),
    [
        (1234.5, "", "1.234,5", "1,234.5"),
        (0.4812, ".2f", "0,48", "0.48"),
        (1234567, "", "1.234.567", "1,234,567"),
        (19.0, "", "19", "19"),
        (0.25, ".0%", "25\u00a0%", "25%"),
        (0.1234, ".1%", "12,3\u00a0%", "12.3%"),
        (3, ".2f", "3,00", "3.00"),
        (float("nan"), "", "–", "–"),
    ],
)
def test_number(value: float, spec: str, de: str, en: str) -> None:
    assert number(value, "de", spec) == de
    assert number(value, "en", spec) == en


def test_t_formats_numbers_for_the_language() -> None:
    text = t("report.not_enough_data", "de", n=3, needs="5 Rückfragen")
    assert text == "Noch zu wenig Daten (n = 3, benötigt 5 Rückfragen)."
    text = t("section.overview.network.answer", "de", n=1200, rule=300, share=0.25, new=3)
    assert "Kontakte bis zum Ende des Zeitraums: 1.200, " in text and "300 (25\u00a0%)" in text
    text = t("section.overview.network.answer", "en", n=1200, rule=300, share=0.25, new=3)
    assert "Contacts by the end of the period: 1,200, " in text and "300 (25%)" in text


def test_dates_periods_and_labels() -> None:
    assert date(dt.date(2026, 11, 21), "de") == "21. November 2026"
    assert date(dt.date(2026, 3, 2), "en") == "2 March 2026"
    assert period_label(parse_period("2026-Q3"), "de") == "3. Quartal 2026"
    assert period_label(parse_period("2026-Q3"), "en") == "Q3 2026"
    assert period_label(parse_period("2026-03"), "de") == "März 2026"
    assert period_label(parse_period("2026"), "en") == "Year 2026"
    assert period_label(parse_period("2026-01-01..2026-01-31"), "de") == (
        "1. Januar 2026 bis 31. Januar 2026"
    )
    assert label("basis", "met_in_person", "de") == "(b) persönlich getroffen"
    assert label("basis", "something-new", "en") == "something-new"


def test_unknown_language_and_key() -> None:
    with pytest.raises(ValidationError):
        t("report.title", "fr")
    with pytest.raises(KeyError):
        t("no.such.key", "de")
