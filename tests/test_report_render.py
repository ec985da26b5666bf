"""Rendering: what of a notebook reaches the report, and a failed render leaves nothing."""

from __future__ import annotations

import stat
import subprocess
from pathlib import Path

import nbformat
import pytest
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook, new_output

from study.report.render import (
    RenderError,
    ReportMeta,
    TypstParts,
    atomic_write,
    clean_notebook,
    pandoc_binary,
    render_pdf,
)


def executed_notebook() -> nbformat.NotebookNode:
    params = new_code_cell("x = 1")
    params.metadata["tags"] = ["parameters"]
    injected = new_code_cell("x = 2")
    injected.metadata["tags"] = ["injected-parameters"]
    hidden = new_markdown_cell("secret notes")
    hidden.metadata["tags"] = ["remove-cell"]
    shown = new_code_cell("display(df)")
    shown.outputs = [
        new_output("stream", name="stdout", text="debug line"),
        new_output(
            "display_data",
            data={
                "text/html": "<table><tr><th>Wert</th></tr><tr><td>1,5</td></tr></table>",
                "text/plain": "df repr",
            },
        ),
        new_output("execute_result", data={"text/plain": "Text(0.5, 1.0, 'title')"}),
        new_output("error", ename="ValueError", evalue="boom", traceback=["tb"]),
    ]
    return new_notebook(
        cells=[new_markdown_cell("# Teil eins\n\nText."), params, injected, hidden, shown]
    )


def test_clean_notebook_keeps_only_what_the_report_shows() -> None:
    cleaned = clean_notebook(executed_notebook())
    assert [c.cell_type for c in cleaned.cells] == ["markdown", "code"]
    code = cleaned.cells[1]
    assert code.source == ""
    assert len(code.outputs) == 1 and list(code.outputs[0]["data"]) == ["text/html"]


def test_pandoc_is_the_wheels_and_new_enough() -> None:
    out = subprocess.run([pandoc_binary(), "--version"], capture_output=True, text=True).stdout
    assert int(out.split()[1].split(".")[0]) >= 3
    assert "pypandoc" in pandoc_binary()


def test_render_and_a_failed_render(tmp_path: Path) -> None:
    nb_path = tmp_path / "01_part.ipynb"
    nbformat.write(executed_notebook(), nb_path)
    meta = ReportMeta("Titel", "P-1", "Oktober 2026", "1. November 2026", "de", appendix={"A": "x"})
    out = render_pdf([nb_path], tmp_path / "r" / "report.pdf", meta)
    assert out.read_bytes().startswith(b"%PDF")
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    text = subprocess.run(["pdftotext", str(out), "-"], capture_output=True, text=True).stdout
    assert "Teil eins" in text and "Wert" in text and "1,5" in text
    for hidden in ("secret notes", "debug line", "boom", "x = 1", "display(df)", "Text(0.5"):
        assert hidden not in text

    before = out.read_bytes()
    bad = tmp_path / "bad.typ"
    bad.write_text("#let report(meta, body) = { this is not typst ")
    with pytest.raises(RenderError):
        render_pdf([nb_path], out, meta, template=bad)
    assert out.read_bytes() == before
    assert [p.name for p in out.parent.iterdir()] == ["report.pdf"]


def test_parts_converted_ahead_render_the_same_pdf(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``study report`` converts each part while the kernel runs the next: the PDF is the one
    converting at the end gives; a part that cannot be converted fails the render. (The PDFs'
    creation time is fixed by SOURCE_DATE_EPOCH: two renders a second apart differed in it.)"""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1790000000")
    paths = []
    for i in (1, 2):
        nb = executed_notebook()
        nb.cells[0].source = f"# Teil {i}\n\nText."
        paths.append(tmp_path / f"0{i}_part.ipynb")
        nbformat.write(nb, paths[-1])
    meta = ReportMeta("Titel", "P-1", "Oktober 2026", "1. November 2026", "de", appendix={"A": "x"})
    plain = render_pdf(paths, tmp_path / "plain.pdf", meta).read_bytes()
    with TypstParts() as ahead:
        for path in paths:
            ahead.add(path)
        build = ahead.build
        assert (
            render_pdf(paths, tmp_path / "ahead.pdf", meta, converted=ahead).read_bytes() == plain
        )
    assert not build.exists()

    broken = tmp_path / "03_broken.ipynb"
    broken.write_text("{ not a notebook")
    with TypstParts() as ahead, pytest.raises(Exception, match="broken|JSON|Notebook"):
        for path in [*paths, broken]:
            ahead.add(path)
        render_pdf([*paths, broken], tmp_path / "never.pdf", meta, converted=ahead)
    assert not (tmp_path / "never.pdf").exists()
    with TypstParts() as ahead, pytest.raises(RenderError, match="1 parts converted for 2"):
        ahead.add(paths[0])
        render_pdf(paths, tmp_path / "never.pdf", meta, converted=ahead)


def test_atomic_write_leaves_no_temp_file_on_failure(tmp_path: Path) -> None:
    target = tmp_path / "x.pdf"
    with pytest.raises(TypeError):
        atomic_write(target, object())  # type: ignore[arg-type]
    assert list(tmp_path.iterdir()) == []
