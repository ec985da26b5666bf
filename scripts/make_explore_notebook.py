"""Write notebooks/explore.ipynb, the researcher's exploration notebook, without outputs.

The notebook is generated so that its cells stay thin and reviewable as code; edit here and run
``python scripts/make_explore_notebook.py``. tests/test_explore_notebook.py runs it with
Papermill on a simulated study.
"""

from __future__ import annotations

from pathlib import Path

import nbformat as nbf

md = nbf.v4.new_markdown_cell
code = nbf.v4.new_code_cell

CELLS = [
    md(
        """# Exploring the study

A researcher's first hour: open the study, look at the analysis tables, reproduce the report's
numbers with `study.results` (the very objects the report puts into words), then change a
setting and see what moves. Runs top to bottom on the demo study (`make report` makes it in
`data/study.db`). Thin on purpose: every function called here is tested in `tests/`, and
running a cell again changes nothing in the study (this notebook only reads)."""
    ),
    code(
        """db = "data/study.db"  # a path or SQLAlchemy URL; a relative path is found from here upwards
participant = "me"
period = ""  # e.g. 2026-10, 2026-Q3, 2026 or 2026-01-01..2026-03-31; empty: the last complete month
window = 365  # W: days without an interaction (either direction) after which a tie has gone quiet
export_dir = ""  # where the tables for R or DuckDB go; empty: a new temporary folder""",
        metadata={"tags": ["parameters"]},
    ),
    code(
        """import study
from study.report.notebook import resolve_db

s = study.open(resolve_db(db))
r = study.results(s, participant, period, window=window)  # the report's settings
r"""
    ),
    md(
        """Every section of the report has its result here, by the section's name (the report's
appendix lists the same calls). `r.get(name)` is `None` where the data are not enough yet;
`r[name]` raises `NotEnoughData` with the reason."""
    ),
    code("""r.names()"""),
    md(
        """## The analysis tables

`r.tables` holds the participant's events up to the end of the period and the tables built from
them; `docs/definitions.md` says what a tie, its start, its end and "reliable" are. Contacts
appear by their pseudonymous key."""
    ),
    code(
        """t = r.tables
t.ties.head()"""
    ),
    code("""t.panel.tail()"""),
    code("""t.leads.head()"""),
    md(
        """## Research question 1: job search

Leads per month and per 100 reliable ties as the report prints them: each an estimate with its
95 % interval, its n and the method (`too_imprecise` says whether the report reads it as a
finding)."""
    ),
    code(
        """rates = r.get("job_search.rates")
rates.estimands() if rates else "not enough data yet\""""
    ),
    md("""With another selection: the stage funnel of the leads that came through a recruiter."""),
    code(
        """from study.estimands.job_search import lead_funnel

recruiter = t.leads[t.leads["channel"].astype("string") == "recruiter"]
lead_funnel(recruiter).summary if len(recruiter) else "no recruiter leads\""""
    ),
    md(
        """## Research question 2: how long ties last

The Cox model the report prints (hazard ratios against ties with people known personally), the
same model with the basis alone, and the report's survival result with a shorter quiet window
W = 180 days."""
    ),
    code(
        """cox = r.get("sustainability.cox")
cox.fit.summary if cox else "not enough data yet\""""
    ),
    code(
        """from study.analysis.base import NotEnoughData
from study.estimands.sustainability import cox_model

try:
    basis_only = cox_model(t, covariates=[("basis",)]).fit.summary
except NotEnoughData as exc:
    basis_only = str(exc)
basis_only"""
    ),
    code(
        """r180 = study.results(s, participant, period, window=180)
{name: e for name, e in r180.estimands().items() if name.startswith("sustainability.cox")}"""
    ),
    md(
        """## Research question 3: online reputation

The profile views around the profile's completion (interrupted time series), as printed."""
    ),
    code(
        """views = r.get("reputation.views")
views.estimands() if views else "not enough data yet\""""
    ),
    md(
        """## Research question 4: second-degree contacts

Vouch checks passed and responses within 90 days, by the kind of introducer."""
    ),
    code(
        """intro = r.get("second_degree.rates")
intro.estimands() if intro else "not enough data yet\""""
    ),
    md(
        """## A figure

Every figure of the report is a function of `study.figures` that takes a result and returns a
matplotlib figure; `savefig` keeps its labels whole."""
    ),
    code(
        """from study import figures

figures.use_report_style()
survival = r.get("sustainability.survival")
fig = figures.km_curves(survival.km, {}, "en") if survival else None
fig"""
    ),
    md(
        """## For R or DuckDB

The log's tables (events, contacts, participants) and the ties table as Parquet files, with
pseudonymous keys and no names: `arrow::read_parquet()` in R, `SELECT * FROM 'ties.parquet'` in
DuckDB."""
    ),
    code(
        """import tempfile
from pathlib import Path

out = Path(export_dir) if export_dir else Path(tempfile.mkdtemp(prefix="study-tables-"))
s.export(out, "parquet")
t.ties.to_parquet(out / "ties.parquet", index=False)
sorted(p.name for p in out.iterdir())"""
    ),
]


def notebook() -> nbf.NotebookNode:
    nb = nbf.v4.new_notebook(cells=CELLS)
    for i, cell in enumerate(nb.cells, 1):
        cell["id"] = f"explore-{i:02d}"  # stable ids: regenerating changes nothing in git
    # the kernel the report registers for this environment (study.report.run.ensure_kernel)
    nb.metadata["kernelspec"] = {
        "display_name": "study (.venv)",
        "language": "python",
        "name": "study",
    }
    nb.metadata["language_info"] = {"name": "python"}
    return nb


if __name__ == "__main__":
    path = Path(__file__).resolve().parents[1] / "notebooks" / "explore.ipynb"
    nbf.write(notebook(), path)
    print(path)
