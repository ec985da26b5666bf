"""notebooks/explore.ipynb, run as a researcher runs it: Papermill on a simulated study, every
cell top to bottom; its numbers are the entry point's, its export is there, and running it
leaves the study as it was. The notebook is kept in git without outputs, as its generator
writes it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest
from report_study import make_simulated_study

import study
from study.report.run import ensure_kernel

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
NOTEBOOK = ROOT / "notebooks" / "explore.ipynb"
PERIOD = "2026-10"


def outputs_text(cell: nbformat.NotebookNode) -> str:
    """What a cell showed: its text/plain results and printed lines."""
    parts = []
    for out in cell.get("outputs", []):
        if "text" in out:
            parts.append(out["text"])
        data = out.get("data", {})
        if "text/plain" in data:
            parts.append(data["text/plain"])
    return "\n".join(parts)


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> tuple[nbformat.NotebookNode, Path, Path]:
    """The notebook executed with Papermill on a simulated study of 24 months."""
    import papermill as pm

    tmp = tmp_path_factory.mktemp("explore")
    db = tmp / "study.db"
    make_simulated_study(db)
    out = tmp / "explore.out.ipynb"
    export_dir = tmp / "tables"
    pm.execute_notebook(
        str(NOTEBOOK),
        str(out),
        parameters={"db": str(db), "period": PERIOD, "export_dir": str(export_dir)},
        kernel_name=ensure_kernel(),
        cwd=str(tmp),
        progress_bar=False,
    )
    return nbformat.read(out, as_version=4), db, export_dir


def test_every_cell_runs_and_shows_something(run) -> None:
    nb, _, _ = run
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert len(code) >= 10
    for cell in code[2:]:  # after the parameters and the opening cell
        assert cell.get("outputs"), cell.source
        assert not any(o.get("output_type") == "error" for o in cell.outputs), cell.source


def test_the_notebook_shows_the_entry_points_numbers(run) -> None:
    """The job-search rates the notebook shows are those of study.results for the period."""
    nb, db, _ = run
    shown = next(outputs_text(c) for c in nb.cells if 'r.get("job_search.rates")' in c.source)
    with study.open(db) as s:
        per_month = study.results(s, "me", PERIOD)["job_search.rates"].per_month
    assert f"estimate={per_month.estimate!r}" in shown or f"{per_month.estimate:.4g}" in shown
    names = next(outputs_text(c) for c in nb.cells if c.source.strip() == "r.names()")
    for section in ("job_search.rates", "sustainability.cox", "reputation.views"):
        assert section in names


def test_a_figure_and_the_tables_for_r_or_duckdb(run) -> None:
    nb, _, export_dir = run
    figure = next(c for c in nb.cells if "figures.km_curves" in c.source)
    assert any("image/png" in o.get("data", {}) for o in figure.outputs)
    import pandas as pd

    for name in ("events", "contacts", "ties"):
        assert (export_dir / f"{name}.parquet").is_file(), sorted(export_dir.iterdir())
    ties = pd.read_parquet(export_dir / "ties.parquet")
    assert len(ties) > 0 and "name" not in ties.columns


def test_running_the_notebook_leaves_the_study_as_it_was(run) -> None:
    _, db, _ = run
    with study.open(db) as s:
        before = len(s.events())
    import papermill as pm

    pm.execute_notebook(
        str(NOTEBOOK),
        str(db.parent / "again.ipynb"),
        parameters={"db": str(db), "period": PERIOD, "export_dir": str(db.parent / "again")},
        kernel_name=ensure_kernel(),
        cwd=str(db.parent),
        progress_bar=False,
    )
    with study.open(db) as s:
        assert len(s.events()) == before


def test_the_notebook_in_git_has_no_outputs_and_is_what_its_generator_writes() -> None:
    nb = json.loads(NOTEBOOK.read_text(encoding="utf-8"))
    assert all(not c.get("outputs") and not c.get("execution_count") for c in nb["cells"])
    regenerated = subprocess.run(
        [
            sys.executable,
            "-c",
            "import runpy; m = runpy.run_path('scripts/make_explore_notebook.py'); "
            "import nbformat, sys; nbformat.write(m['notebook'](), sys.stdout)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert json.loads(regenerated) == nb
