"""End to end: Papermill runs every part notebook on a small study, pandoc + Typst render the
PDF, and pdftotext reads it back. Also the failure path and `study report --every`."""

from __future__ import annotations

import datetime as dt
import stat
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from conftest import run_study
from nbformat.v4 import new_code_cell, new_notebook
from report_study import make_simulated_study, make_small_study

from study.periods import last_complete_month, parse_period
from study.report.fingerprint import data_fingerprint
from study.report.i18n import t
from study.report.run import (
    KERNEL_NAME,
    ReportError,
    build_report,
    ensure_kernel,
    participant_pseudonym,
)
from study.report.sections import PARTS

pytestmark = pytest.mark.slow
NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PERIOD = "2026-10"


def pdf_text(pdf: Path) -> str:
    """The PDF's text on one line; a word broken at a line's end after a hyphen is joined.
    pdftotext drops a hyphen it finds at a line's end: "95-%-" + "KI" comes back as "95-%KI"."""
    import re

    out = subprocess.run(["pdftotext", str(pdf), "-"], capture_output=True, text=True, check=True)
    return " ".join(re.sub(r"-\n", "-", out.stdout).split()).replace("95-%KI", "95-%-KI")


@pytest.fixture(scope="module")
def db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo study (simulated, 24 months to October 2026): every section has data."""
    path = Path(tmp_path_factory.mktemp("report")) / "study.db"
    make_simulated_study(path)
    return path


@pytest.fixture(scope="module")
def names(db: Path) -> list[str]:
    import study

    with study.open(db) as s:
        return [n for n in s.contacts(names=True)["name"].dropna()]


@pytest.fixture(scope="module")
def german(db: Path) -> Path:
    """German, pseudonyms, PDF and HTML."""
    out = db.parent / "reports-de"
    return build_report(
        db,
        "me",
        PERIOD,
        "de",
        365,
        False,
        out,
        ("pdf", "html"),
        progress=False,
        notebooks=NOTEBOOKS,
    )


@pytest.fixture(scope="module")
def english_names(db: Path) -> Path:
    """English, with names."""
    out = db.parent / "reports-en"
    return build_report(db, "me", PERIOD, "en", 365, True, out, progress=False, notebooks=NOTEBOOKS)


@pytest.mark.parametrize("which", ["german", "english_names"])
def test_every_part_and_section_heading_is_in_the_pdf(which: str, request) -> None:
    pdf = request.getfixturevalue(which)
    lang = "de" if which == "german" else "en"
    assert pdf.name == f"study-report-me-{PERIOD}-{lang}.pdf" and pdf.parent.name == PERIOD
    text = pdf_text(pdf)
    for part, sections in PARTS.items():
        assert t(f"part.{part}.title", lang) in text
        for name in sections:
            if name == "overview.panel":  # a one-person study has no panel section
                assert t(f"section.{name}.title", lang) not in text
                continue
            assert t(f"section.{name}.title", lang) in text
    for key in ("report.title", "report.contents", "report.appendix", "report.fingerprint"):
        assert t(key, lang) in text
    assert t("section.sustainability.at_risk.heading", lang) in text


@pytest.mark.parametrize("which", ["german", "english_names"])
def test_no_code_is_shown(which: str, request) -> None:
    text = pdf_text(request.getfixturevalue(which))
    for code in ("nb.show", "import ", "ctx", "setup(", "participant =", "Traceback", "Figure("):
        assert code not in text


def key_figures(db: Path, lang: str) -> dict[str, list[str]]:
    """Each part's key figures as the report's results hold them (``study.results``), written
    out as the report writes numbers: the live ties; the leads per month, the headline hazard
    ratio, the views' level change, each with its interval; for second-degree contacts the
    first hazard ratio, or the words for not enough data yet."""
    import study
    from study.report.i18n import number

    f = lambda v: number(v, lang, ".2f")  # noqa: E731
    with study.open(db) as s:
        r = study.results(s, "me", PERIOD)
        alive = int(r.tables.timeline["alive"].iloc[-1])
        figures = {
            "job_search": r["job_search.rates"].per_month,
            "sustainability": r["sustainability.survival"].headline,
            "reputation": r["reputation.views"].estimands()["rr level change"],
        }
        second = r.get("second_degree.survival")
    out = {"overview": [f"{alive} " + ("lebendige" if lang == "de" else "live")]}
    for part, e in figures.items():
        assert e is not None, part
        out[part] = [f(e.estimate), f"{f(e.low)}–{f(e.high)}"]
    if second is None:
        out["second_degree"] = [t("section.second_degree.survival.title", lang)]
    else:
        e = next(iter(second.estimands().values()))
        out["second_degree"] = [f(e.estimate), f"{f(e.low)}–{f(e.high)}"]
    return out


@pytest.mark.parametrize("which", ["german", "english_names"])
def test_key_figures_of_every_part(which: str, request, db: Path) -> None:
    """The figures the PDF prints for each part are the report's results for the study
    (each estimate and its interval as the report writes numbers)."""
    lang = "de" if which == "german" else "en"
    text = pdf_text(request.getfixturevalue(which))
    for part, words in key_figures(db, lang).items():
        for w in words:
            assert f" {w}" in text or f"({w}" in text, (part, w)


@pytest.mark.parametrize("which", ["german", "english_names"])
def test_the_python_entry_point_returns_the_numbers_the_pdf_prints(
    which: str, request, db: Path
) -> None:
    """`study.results` (the call the report's appendix names) gives the very numbers of the
    PDF: the leads per month (job search) and the views' level change (online reputation),
    each with its 95 % interval, written out here without the report's formatting code."""
    import study

    lang = "de" if which == "german" else "en"
    text = pdf_text(request.getfixturevalue(which))
    with study.open(db) as s:
        r = study.results(s, "me", PERIOD)
        printed = {
            "job_search.rates": r["job_search.rates"].estimands()["leads per month"],
            "reputation.views": r["reputation.views"].estimands()["rr level change"],
        }
    for section, e in printed.items():
        assert not e.too_imprecise, section  # the demo's figures are findings: printed as such
        words = f"{e.estimate:.2f} (95% CI {e.low:.2f}–{e.high:.2f})"
        if lang == "de":
            words = words.replace(".", ",").replace("95% CI", "95-%-KI")
        assert words in text, (section, words)


def test_key_figures_and_fingerprint(german: Path, db: Path) -> None:
    import study

    text = pdf_text(german)
    assert "Oktober 2026" in text
    with study.open(db) as s:
        fp = data_fingerprint(s, "me", parse_period(PERIOD))
        pseudonym = participant_pseudonym(s, "me")
    assert fp.sha256 in text and f"Ereignisse im Zeitraum {fp.events}" in text
    assert pseudonym in text
    for package in ("pandas", "papermill", "typst", "pandoc"):
        assert package in text


def test_no_names_without_names(german: Path, names: list[str]) -> None:
    text = pdf_text(german)
    html = german.with_suffix(".html").read_text(encoding="utf-8")
    for name in names:
        assert name not in text
        assert name not in html
    assert "me-c0" in text  # the at-risk list shows pseudonymous keys


def test_names_when_asked_for(english_names: Path, names: list[str]) -> None:
    text = pdf_text(english_names)
    shown = [n for n in names if n in text]
    assert len(shown) >= 10  # the at-risk list: the participant's reminder whom to contact
    assert "me-c0" not in text
    assert "Participant me" in text  # the title page: the id, no pseudonym


def test_a4_pages_and_private_files(german: Path) -> None:
    info = subprocess.run(["pdfinfo", str(german)], capture_output=True, text=True).stdout
    assert "(A4)" in info
    assert int(info.split("Pages:")[1].split()[0]) >= 12
    period_dir = german.parent
    executed = sorted((period_dir / "executed" / "me-de").glob("*.ipynb"))
    assert [p.name for p in executed] == sorted(p.name for p in NOTEBOOKS.glob("[0-9]*.ipynb"))
    for d in (period_dir, period_dir / "executed", period_dir / "executed" / "me-de"):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700
    for f in (german, german.with_suffix(".html"), *executed):
        assert stat.S_IMODE(f.stat().st_mode) == 0o600
    assert not list(period_dir.glob(".*.tmp"))


def test_html_is_self_contained(german: Path) -> None:
    html = german.with_suffix(".html").read_text(encoding="utf-8")
    assert 'src="media' not in html and "http" not in html.split("<body")[1]
    # every figure inlined: events by kind; leads per month, funnel; two survival curves,
    # the endings' cumulative incidence, reliable share; views, trends; introducer rates, ego
    # network
    assert html.count("data:image/svg+xml") == 11
    assert t("part.sustainability.title", "de") in html
    assert "<table" in html and t("report.appendix", "de") in html


def test_existing_report_is_kept_unless_forced(german: Path, db: Path) -> None:
    before = german.stat().st_mtime_ns
    again = build_report(
        db, "me", PERIOD, "de", 365, False, german.parents[1], ("pdf", "html"), progress=False
    )
    assert again == german and german.stat().st_mtime_ns == before


# the machine, on notebooks that do almost nothing --------------------------------------
PARAMS = 'db = ""\nparticipant = "me"\nperiod = ""\nlang = "de"\nwindow = 365\nnames = False'


def write_notebooks(directory: Path, *bodies: list[str]) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for i, body in enumerate(bodies, 1):
        params = new_code_cell(PARAMS)
        params.metadata["tags"] = ["parameters"]
        nb = new_notebook(cells=[params, *(new_code_cell(src) for src in body)])
        nbformat.write(nb, directory / f"{i:02d}_part{i}.ipynb")
    return directory


SHOW = 'from IPython.display import Markdown, display\ndisplay(Markdown(f"# Teil {period}"))'


def test_failing_notebook_stops_with_one_line_and_no_pdf(db: Path, tmp_path: Path) -> None:
    nbs = write_notebooks(tmp_path / "nbs", [SHOW], ["x = 1", "1 / 0\nprint('never')", SHOW])
    with pytest.raises(ReportError) as exc:
        build_report(
            db, "me", PERIOD, "de", out_root=tmp_path / "out", progress=False, notebooks=nbs
        )
    message = str(exc.value)
    assert "\n" not in message
    assert message.startswith("notebook 02_part2.ipynb failed, cell 3 (1 / 0): ZeroDivisionError")
    kept = tmp_path / "out" / PERIOD / "executed" / "me-de" / "02_part2.ipynb"
    assert str(kept) in message and kept.exists()
    assert nbformat.read(kept, as_version=4)  # a notebook one can open
    assert not list((tmp_path / "out" / PERIOD).glob("*.pdf"))
    assert not list((tmp_path / "out" / PERIOD).glob(".*"))

    # the command line: the same line, exit 2, no traceback
    proc = run_study(
        "report",
        "--db",
        str(db),
        "--period",
        PERIOD,
        "--out",
        str(tmp_path / "cli"),
        env={"STUDY_NOTEBOOKS": str(nbs)},
    )
    assert proc.returncode == 2
    assert (
        proc.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "error: notebook 02_part2.ipynb failed, cell 3 (1 / 0): ZeroDivisionError: division by zero"
        )
    )
    assert "Traceback" not in proc.stderr
    assert not list((tmp_path / "cli" / PERIOD).glob("*.pdf"))


def test_every_skips_existing_periods(db: Path, tmp_path: Path) -> None:
    nbs = write_notebooks(tmp_path / "nbs", [SHOW])
    last = last_complete_month(dt.date.today())
    prev = parse_period(f"{(last.start - dt.timedelta(days=1)):%Y-%m}")
    out = tmp_path / "out"
    old = out / prev.label / f"study-report-me-{prev.label}-de.pdf"
    old.parent.mkdir(parents=True)
    old.write_bytes(b"an earlier report")
    env = {"STUDY_NOTEBOOKS": str(nbs)}
    args = ("report", "--db", str(db), "--out", str(out), "--every", "month", "--since", prev.label)
    proc = run_study(*args, env=env)
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    assert lines == [
        f"{old} (already there)",
        str(out / last.label / f"study-report-me-{last.label}-de.pdf"),
    ]
    new = out / last.label / f"study-report-me-{last.label}-de.pdf"
    assert old.read_bytes() == b"an earlier report"
    assert new.read_bytes().startswith(b"%PDF")
    proc = run_study(*args, env=env)
    assert proc.stdout.count("(already there)") == 2
    proc = run_study(*args, "--force", env=env)
    assert proc.returncode == 0 and "(already there)" not in proc.stdout
    assert old.read_bytes().startswith(b"%PDF")
    assert f"Teil {prev.label}" in pdf_text(old)


def test_both_languages_of_one_period_lie_side_by_side(db: Path, tmp_path: Path) -> None:
    """`--lang de` and `--lang en` for one period write two files (and keep two sets of
    executed notebooks); the second run leaves the first one's report as it was. Without a
    terminal, each part is one line on stderr as it starts."""
    body = 'from IPython.display import Markdown, display\ndisplay(Markdown(f"# Teil {lang}"))'
    nbs = write_notebooks(tmp_path / "nbs", [body], [body])
    env = {"STUDY_NOTEBOOKS": str(nbs)}
    out = tmp_path / "out"
    args = ("report", "--db", str(db), "--period", PERIOD, "--out", str(out))
    german = run_study(*args, "--lang", "de", env=env)
    assert german.returncode == 0, german.stderr
    de = out / PERIOD / f"study-report-me-{PERIOD}-de.pdf"
    assert german.stdout.strip() == str(de)
    assert [line for line in german.stderr.splitlines() if ": part " in line] == [
        f"report {PERIOD} (de, me): part 1/2 01_part1",
        f"report {PERIOD} (de, me): part 2/2 02_part2",
    ]
    before = de.read_bytes()
    english = run_study(*args, "--lang", "en", env=env)
    assert english.returncode == 0, english.stderr
    en = out / PERIOD / f"study-report-me-{PERIOD}-en.pdf"
    assert english.stdout.strip() == str(en)
    assert sorted(p.name for p in (out / PERIOD).glob("*.pdf")) == [de.name, en.name]
    assert de.read_bytes() == before
    assert "Teil de" in pdf_text(de) and "Teil en" in pdf_text(en)
    for lang in ("de", "en"):
        kept = sorted(p.name for p in (out / PERIOD / "executed" / f"me-{lang}").iterdir())
        assert kept == ["01_part1.ipynb", "02_part2.ipynb"]
    quiet = run_study(*args, "--lang", "en", "--quiet", env=env)
    assert quiet.returncode == 0 and ": part " not in quiet.stderr


def test_a_notebook_runs_with_its_defaults_from_the_notebooks_folder(tmp_path: Path) -> None:
    """As in JupyterLab: no parameters given, the working directory is notebooks/, the study
    is the project's data/study.db, the period the last complete month."""
    import shutil

    import papermill as pm

    project = tmp_path / "project"
    (project / "notebooks").mkdir(parents=True)
    (project / "data").mkdir()
    make_small_study(project / "data" / "study.db").close()
    src = project / "notebooks" / "01_overview.ipynb"
    shutil.copy(NOTEBOOKS / "01_overview.ipynb", src)
    out = tmp_path / "executed.ipynb"
    pm.execute_notebook(
        str(src), str(out), kernel_name=ensure_kernel(), cwd=str(src.parent), progress_bar=False
    )
    shown = "".join(
        o.get("data", {}).get("text/markdown", "")
        for c in nbformat.read(out, as_version=4).cells
        for o in c.get("outputs", [])
    )
    assert "# Überblick" in shown and "## Ereignisse im Zeitraum" in shown


def test_kernel_is_registered_for_this_environment() -> None:
    from jupyter_client.kernelspec import KernelSpecManager

    assert ensure_kernel() == KERNEL_NAME
    assert ensure_kernel() == KERNEL_NAME  # idempotent
    spec = KernelSpecManager().get_kernel_spec(KERNEL_NAME)
    assert Path(spec.argv[0]).absolute().parent.parent == Path(sys.prefix).absolute()


def test_demo_if_empty(db: Path, tmp_path: Path) -> None:
    """A study with events is left alone; an empty one gets `study demo` if this version has
    it, and otherwise a one-line error."""
    import study
    from study.cli.main import build_parser

    nbs = write_notebooks(tmp_path / "nbs", [SHOW])
    env = {"STUDY_NOTEBOOKS": str(nbs)}
    with study.open(db) as s:
        before = s.count()
    out = tmp_path / "out"
    proc = run_study("report", "--db", str(db), "--demo-if-empty", "--out", str(out), env=env)
    assert proc.returncode == 0, proc.stderr
    with study.open(db) as s:
        assert s.count() == before
    empty = tmp_path / "empty.db"
    proc = run_study("report", "--db", str(empty), "--demo-if-empty", "--out", str(out), env=env)
    sub = next(
        a
        for a in build_parser()._actions
        if hasattr(a, "choices") and "report" in (a.choices or {})
    )
    if "demo" in sub.choices:
        assert proc.returncode == 0, proc.stderr
        assert "holds no events yet: building the demo study first" in proc.stderr
        with study.open(empty) as s:
            assert s.count() > 0
    else:
        assert proc.returncode == 2
        assert proc.stderr.strip() == (
            "error: the study is empty and this version has no `study demo` to fill it; "
            "log events first (see `study log --help`)"
        )


def test_participant_must_be_usable_in_a_file_name(db: Path, tmp_path: Path) -> None:
    from study.errors import ValidationError

    with pytest.raises(ValidationError, match="file name"):
        build_report(db, "../escape", PERIOD, out_root=tmp_path / "out", progress=False)
    assert not (tmp_path / "out").exists()


def test_bad_format_and_participant(db: Path, tmp_path: Path) -> None:
    from study.errors import ValidationError

    with pytest.raises(ValidationError, match="format"):
        build_report(db, formats=("docx",), out_root=tmp_path)
    with pytest.raises(ValidationError, match="participant"):
        build_report(db, "nobody", PERIOD, out_root=tmp_path, progress=False)
    assert not (tmp_path / PERIOD).exists()


def test_reports_with_names_are_recorded_for_study_forget(
    english_names: Path, german: Path, db: Path
) -> None:
    import study
    from study.privacy import named_files

    with study.open(db) as s:
        recorded = {Path(p) for p, what in named_files(s) if what == "report"}
    executed = set((english_names.parent / "executed" / "me-en").glob("*.ipynb"))
    assert english_names in recorded and executed <= recorded
    assert german not in recorded  # pseudonyms only: nothing to forget there
