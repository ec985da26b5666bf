"""The part notebooks in git: thin, parameterized, saved without outputs, one per part."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import nbformat
import pytest

from study.report.run import part_notebooks
from study.report.sections import PARTS

NOTEBOOKS = Path(__file__).resolve().parents[1] / "notebooks"
PARAMETERS = {
    "db": "data/study.db",
    "participant": "me",
    "period": "",
    "lang": "de",
    "window": 365,
    "names": False,
}


def notebooks() -> list[Path]:
    return part_notebooks(NOTEBOOKS)


def test_one_notebook_per_part_in_file_order() -> None:
    stems = [p.stem for p in notebooks()]
    assert stems == [f"{i:02d}_{part}" for i, part in enumerate(PARTS, 1)]


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_saved_without_outputs_and_with_a_parameters_cell(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    nbformat.validate(nb)
    for cell in nb.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [], f"{path.name} has outputs: clear them before committing"
            assert cell.execution_count is None
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    values = {
        node.targets[0].id: ast.literal_eval(node.value)
        for node in ast.parse(tagged[0].source).body
        if isinstance(node, ast.Assign)
    }
    assert values == PARAMETERS
    assert nb.metadata["kernelspec"]["name"] == "study"


@pytest.mark.parametrize("path", notebooks(), ids=lambda p: p.name)
def test_thin_cells_only_call_the_package(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    code = [c.source for c in nb.cells if c.cell_type == "code"][1:]  # after the parameters
    assert code[0].startswith("from study.report import notebook as nb")
    for src in code[1:]:
        assert re.fullmatch(r'nb\.show_(part|section)\(ctx, "[a-z_.]+"\)', src.strip()), src


def test_every_section_is_shown_by_exactly_one_notebook_in_order() -> None:
    for path, (part, sections) in zip(notebooks(), PARTS.items(), strict=True):
        nb = nbformat.read(path, as_version=4)
        calls = re.findall(
            r'nb\.show_(part|section)\(ctx, "([a-z_.]+)"\)',
            "\n".join(c.source for c in nb.cells if c.cell_type == "code"),
        )
        assert calls[0] == ("part", part)
        assert [name for kind, name in calls[1:]] == list(sections)


_PART_START_CHECK = """
import sys
from IPython.core.interactiveshell import InteractiveShell
from study.report import notebook

shell = InteractiveShell.instance()
shell.run_cell("import json\\nctx = {'part': 1}\\nctx", store_history=True)
assert shell.user_ns["ctx"] == {"part": 1} and shell.user_ns["_oh"]
shell.run_cell("import study.report.notebook\\nstudy.report.notebook.start_part(get_ipython())")
ns = shell.user_ns
assert "ctx" not in ns and "json" not in ns and "study" not in ns, sorted(ns)
assert not ns["_oh"] and shell.displayhook._ == ""
assert "json" in sys.modules and "get_ipython" in ns and "In" in ns
assert notebook.REUSE_CONTEXT is True
result = shell.run_cell("x = 1 + 1\\nx")
assert result.success and result.result == 2
print("ok")
"""


def test_each_part_starts_with_an_empty_namespace() -> None:
    """What the shared kernel runs before a part: the previous part's names are gone, IPython's
    own names and the imported modules stay, and parts share the loaded data. (In a child
    process: an IPython shell takes over the test process's ``__main__``.)"""
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", _PART_START_CHECK], capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().endswith("ok")
