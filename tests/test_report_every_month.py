"""`study report --every month` over the demo study: a PDF for every month, in both languages,
"not enough data yet" wherever a section cannot be computed (issue 15).

The test makes the first month (almost nothing has data) in German and the last in English;
scripts/report-every-month.sh makes every month of the demo's span in both languages (about 50
PDFs, half an hour: `make test` stays within its time)."""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from pathlib import Path

import pytest
from test_report_build import pdf_text

from study import simulate
from study.periods import last_complete_month


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo study as `study demo` makes it: 24 months up to the last complete month."""
    path = Path(tmp_path_factory.mktemp("every")) / "demo.db"
    simulate.run(seed=simulate.demo_seed(), db=path)
    return path


def first_month(db: Path) -> str:
    truth = simulate.truth(db)
    return truth["start"][:7]


def report(db: Path, out: Path, lang: str, *args: str, timeout: float = 900) -> list[str]:
    cmd = [sys.executable, "-m", "study.cli.main", "report", "--db", str(db), "--out", str(out)]
    proc = subprocess.run(
        [*cmd, "--lang", lang, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=dict(os.environ),
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.splitlines()


def test_the_first_month_in_german_and_the_last_in_english_make_a_pdf(
    demo: Path, tmp_path: Path
) -> None:
    last = last_complete_month(dt.date.today())
    lines = report(demo, tmp_path, "en", "--every", "month", "--since", last.label)
    assert len(lines) == 1 and lines[0].endswith(f"study-report-me-{last.label}-en.pdf")
    lines += report(demo, tmp_path, "de", "--period", first_month(demo))
    for line in lines:
        assert Path(line).read_bytes().startswith(b"%PDF")
    early = pdf_text(Path(lines[-1]))
    assert "Noch zu wenig Daten" in early
    # the survival part says from when it will have follow-up, never a bare "–"
    assert "Nachbeobachtung länger als W = 365 Tage (ab dem" in early


def test_every_month_of_the_demo_has_every_section_in_both_languages(demo: Path) -> None:
    """What each month's PDF would hold, for every month of the demo's span and both languages:
    every part's answer and every section's items come out, never an error (the sections run
    in-process, as the notebooks run them; scripts/report-every-month.sh renders all the PDFs).
    A month with too little data for a section says so."""
    import dataclasses

    from study.periods import iter_periods
    from study.report import notebook as nb
    from study.report.i18n import t
    from study.report.sections import PARTS, Text, section_items

    months = iter_periods("month", first_month(demo), last_complete_month(dt.date.today()).end)
    assert len(months) >= 24
    not_yet = {"de": 0, "en": 0}
    for period in months:
        german = nb.setup(demo, "me", period.label, "de", 365, False)
        english = dataclasses.replace(german, lang="en")  # the same tables and results
        for ctx in (german, english):
            other = t("answer.second_degree.few", ctx.lang, groups="").split(" (")[0]
            for part, sections in PARTS.items():
                answer = nb.part_answer(ctx, part)
                assert answer.strip(), (period.label, ctx.lang, part)
                # "the other kinds of introducer" only after a kind with enough checks
                assert not answer.startswith(other), (period.label, ctx.lang, answer)
                for name in sections:
                    items = section_items(ctx, name)
                    words = " ".join(i.markdown for i in items if isinstance(i, Text))
                    not_yet[ctx.lang] += (
                        "Noch zu wenig Daten" in words or "Not enough data yet" in words
                    )
                    # one lead is one lead (the demo's first months have one)
                    assert "Of 1 leads" not in words and "Von 1 Angeboten" not in words, words
    # the first months hold too little for several sections, and say so in both languages
    assert not_yet["de"] > 0 and not_yet["de"] == not_yet["en"], not_yet
