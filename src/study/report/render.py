"""Executed notebooks → one PDF (pandoc → Typst → PDF), or one self-contained HTML page.

Route: notebook → (cleaned with nbformat) → pandoc from the ``pypandoc-binary`` wheel (pandoc 3,
reads ``.ipynb``, writes Typst, with the Lua filter ``ipynb.lua``) → the ``typst`` wheel → PDF.
Everything installs from PyPI and runs offline: the Typst template ``report.typ`` imports no
``@preview`` package and uses only Typst's embedded fonts. Why this route: docs/report.md.

What ends up in the report:

* markdown cells, and the outputs of code cells; code is never shown;
* cells tagged ``parameters``, ``injected-parameters`` or ``remove-cell`` are dropped entirely,
  ``remove-output`` drops a cell's outputs;
* stream outputs (``print()``, warnings on stderr) and errors are dropped, unless the cell is
  tagged ``show-stream``;
* an ``execute_result`` that only has ``text/plain`` (e.g. the repr of a trailing matplotlib
  call) is dropped; explicit ``display(...)`` output is kept;
* of each output's MIME bundle one representation is kept, in the order of
  :data:`MIME_PREFERENCE` (SVG before PNG; HTML tables become real tables).
"""

from __future__ import annotations

import copy
import functools
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from importlib import resources
from pathlib import Path

import nbformat

from study.errors import StudyError

DROP_CELL_TAGS = frozenset({"parameters", "injected-parameters", "remove-cell"})
REMOVE_OUTPUT_TAG = "remove-output"
SHOW_STREAM_TAG = "show-stream"
MIME_PREFERENCE: tuple[str, ...] = (
    "image/svg+xml",
    "image/png",
    "image/jpeg",
    "text/html",
    "text/markdown",
    "text/latex",
    "text/plain",
)
#: Labels the template needs (title page, contents, appendix tables), from the i18n strings.
TEMPLATE_LABELS = ("participant", "period", "generated", "contents", "appendix", "key", "value")

AppendixValue = Mapping[str, object] | Sequence[tuple[str, object]] | str


class RenderError(StudyError):
    """pandoc or Typst failed; the target file is left untouched."""


@dataclass(frozen=True)
class ReportMeta:
    """Title page, language and appendix of one report.

    ``appendix`` maps a section title to key/value pairs (a mapping or a list of pairs, shown
    as a table) or to a string (shown verbatim). ``labels`` are the template's words
    (:data:`TEMPLATE_LABELS`); by default taken from the i18n strings of ``lang``.
    """

    title: str
    participant: str
    period: str
    generated: str
    lang: str = "de"
    subtitle: str = ""
    labels: Mapping[str, str] = field(default_factory=dict)
    appendix: Mapping[str, AppendixValue] = field(default_factory=dict)

    def all_labels(self) -> dict[str, str]:
        from study.report.i18n import t

        return {**{k: t(f"report.{k}", self.lang) for k in TEMPLATE_LABELS}, **self.labels}

    def appendix_sections(self) -> list[dict[str, object]]:
        sections: list[dict[str, object]] = []
        for title, value in self.appendix.items():
            if isinstance(value, str):
                sections.append({"title": title, "text": value})
            else:
                pairs = value.items() if isinstance(value, Mapping) else value
                sections.append({"title": title, "rows": [[str(k), str(v)] for k, v in pairs]})
        return sections

    def to_json(self) -> dict[str, object]:
        """The dictionary the Typst template reads as ``meta``."""
        return {
            "title": self.title,
            "subtitle": self.subtitle,
            "participant": self.participant,
            "period": self.period,
            "generated": self.generated,
            "lang": self.lang,
            "labels": self.all_labels(),
            "appendix": self.appendix_sections(),
        }


def clean_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of ``nb`` with only the cells and outputs meant for the report."""
    nb = copy.deepcopy(nb)
    cells = []
    for cell in nb.cells:
        tags = set(cell.get("metadata", {}).get("tags", []))
        if tags & DROP_CELL_TAGS:
            continue
        if cell.cell_type == "code":
            cell.source = ""
            cell.outputs = (
                []
                if REMOVE_OUTPUT_TAG in tags
                else _clean_outputs(cell.get("outputs", []), SHOW_STREAM_TAG in tags)
            )
        cells.append(cell)
    nb.cells = cells
    return nb


def _clean_outputs(
    outputs: list[nbformat.NotebookNode], keep_stream: bool
) -> list[nbformat.NotebookNode]:
    """Drop unwanted outputs and reduce each MIME bundle to one entry."""
    kept = []
    for out in outputs:
        kind = out.get("output_type")
        if kind == "stream":
            if keep_stream and out.get("name") == "stdout":
                kept.append(out)
            continue
        if kind not in ("display_data", "execute_result"):
            continue  # errors and unknown output types
        data = out.get("data", {})
        best = next((m for m in MIME_PREFERENCE if m in data), None)
        if best is None or (best == "text/plain" and kind == "execute_result"):
            continue
        out["data"] = {best: data[best]}
        out["metadata"] = {k: v for k, v in out.get("metadata", {}).items() if k == best}
        kept.append(out)
    return kept


def _resource(name: str) -> Path:
    return Path(str(resources.files("study.report").joinpath(name)))


@functools.lru_cache(maxsize=1)
def pandoc_binary() -> str:
    """The pandoc shipped in the pypandoc-binary wheel (pandoc >= 3 writes Typst).

    pypandoc itself picks the newest pandoc it finds (PATH included); we pin the bundled one so
    every machine renders with the same pandoc (Debian's is too old for Typst).
    """
    import pypandoc

    files = Path(pypandoc.__file__).resolve().parent / "files"
    path = next(
        (str(files / n) for n in ("pandoc", "pandoc.exe") if (files / n).is_file()),
        None,
    ) or str(pypandoc.get_pandoc_path())
    out = subprocess.run([path, "--version"], capture_output=True, text=True, check=True).stdout
    if int(out.split()[1].split(".")[0]) < 3:
        raise RenderError(f"pandoc >= 3 is needed (Typst writer), found {out.splitlines()[0]}")
    return path


def _pandoc(args: Sequence[str], cwd: Path, what: str) -> None:
    proc = subprocess.run(
        [pandoc_binary(), *args], cwd=cwd, capture_output=True, text=True, check=False
    )
    if proc.returncode != 0:
        raise RenderError(f"pandoc failed for {what}: {proc.stderr.strip()}")


def notebook_to(notebook: Path, build: Path, part_id: str, target: str = "typst") -> Path:
    """Clean ``notebook`` and convert it with pandoc to ``build/<part_id>.typ`` (or ``.json``,
    pandoc's AST, for ``target="html"``). Media go to ``build/media/<part_id>/``."""
    nb = nbformat.read(notebook, as_version=4)
    cleaned = build / "src" / f"{part_id}.ipynb"
    cleaned.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(clean_notebook(nb), cleaned)
    out = build / f"{part_id}.{'typ' if target == 'typst' else 'json'}"
    title = nb.get("metadata", {}).get("title") or notebook.stem.replace("_", " ")
    _pandoc(
        [
            str(cleaned.relative_to(build)),
            "--from=ipynb+smart",  # "x" -> language-aware quotes
            f"--to={'typst' if target == 'typst' else 'json'}",
            "--ipynb-output=all",
            f"--lua-filter={_resource('ipynb.lua')}",
            f"--extract-media=media/{part_id}",
            f"--resource-path={notebook.resolve().parent}",
            f"--metadata=part-id:{part_id}",
            f"--metadata=part-title:{title}",
            f"--metadata=report-target:{target}",
            "--wrap=preserve",
            f"--output={out.name}",
        ],
        build,
        str(notebook),
    )
    return out


def _main_typ(parts: Sequence[Path]) -> str:
    """The Typst entry point: the template, then every part in order, then the appendix."""
    return "\n".join(
        [
            '#import "report.typ": report, appendix',
            '#let meta = json("meta.json")',
            "#show: report.with(meta)",
            *(f'#include "{p.name}"' for p in parts),
            "#appendix(meta)",
            "",
        ]
    )


class TypstParts:
    """Executed notebooks converted to Typst one by one as they come, in a second thread: while
    the kernel runs the next part, pandoc converts the previous one (``render_pdf`` then only
    compiles). Use as a context manager; the build directory goes with it."""

    def __init__(self) -> None:
        from concurrent.futures import ThreadPoolExecutor

        self._tmp = tempfile.TemporaryDirectory(prefix="study-render-")
        self.build = Path(self._tmp.name)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="study-render")
        self._parts: list = []

    def add(self, notebook: os.PathLike[str] | str) -> None:
        """Convert ``notebook``, the next part, in the background."""
        part_id = f"part-{len(self._parts) + 1:02d}"
        self._parts.append(self._pool.submit(notebook_to, Path(notebook), self.build, part_id))

    def parts(self) -> list[Path]:
        """The Typst file of every part, in order (a conversion's error is raised here)."""
        return [f.result() for f in self._parts]

    def __enter__(self) -> TypstParts:
        return self

    def __exit__(self, *exc: object) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        self._tmp.cleanup()


def creation_timestamp() -> int | None:
    """The PDF's creation time from ``SOURCE_DATE_EPOCH`` (the reproducible-builds convention:
    the same notebooks then give the same bytes), else None: Typst takes the present moment."""
    value = os.environ.get("SOURCE_DATE_EPOCH", "").strip()
    return int(value) if value.isdigit() else None


def render_pdf(
    notebooks: Sequence[os.PathLike[str] | str],
    output: os.PathLike[str] | str,
    meta: ReportMeta,
    *,
    template: os.PathLike[str] | str | None = None,
    keep_build_dir: os.PathLike[str] | str | None = None,
    converted: TypstParts | None = None,
) -> Path:
    """Render executed ``notebooks`` (in part order) into one PDF at ``output``.

    Written to a temporary file beside ``output`` and renamed, so a failed render never leaves
    a partial PDF. ``keep_build_dir`` copies the Typst sources there (for debugging).
    ``converted``: the same notebooks, converted already (see :class:`TypstParts`).
    """
    if converted is None:
        with TypstParts() as fresh:
            for nb in notebooks:
                fresh.add(nb)
            return render_pdf(
                notebooks,
                output,
                meta,
                template=template,
                keep_build_dir=keep_build_dir,
                converted=fresh,
            )
    import typst

    build = converted.build
    parts = converted.parts()
    if len(parts) != len(notebooks):
        raise RenderError(f"{len(parts)} parts converted for {len(notebooks)} notebooks")
    shutil.copyfile(template or _resource("report.typ"), build / "report.typ")
    (build / "meta.json").write_text(
        json.dumps(meta.to_json(), ensure_ascii=False), encoding="utf-8"
    )
    (build / "main.typ").write_text(_main_typ(parts), encoding="utf-8")
    if keep_build_dir is not None:
        shutil.copytree(build, keep_build_dir, dirs_exist_ok=True)
    try:
        pdf = typst.compile(
            str(build / "main.typ"),
            root=str(build),
            ignore_system_fonts=True,
            timestamp=creation_timestamp(),
        )
    except typst.TypstError as exc:
        detail = getattr(exc, "diagnostic", "") or str(exc)
        raise RenderError(f"typst failed: {detail}") from None
    atomic_write(Path(output), pdf)
    return Path(output)


def render_html(
    notebooks: Sequence[os.PathLike[str] | str],
    output: os.PathLike[str] | str,
    meta: ReportMeta,
) -> Path:
    """The same report as one self-contained HTML page (figures embedded, no network)."""
    with tempfile.TemporaryDirectory(prefix="study-render-") as tmp:
        build = Path(tmp)
        docs = [
            json.loads(notebook_to(Path(nb), build, f"part-{i:02d}", "html").read_text("utf-8"))
            for i, nb in enumerate(notebooks, 1)
        ]
        merged = {**docs[0], "meta": {}, "blocks": [b for d in docs for b in d["blocks"]]}
        (build / "report.json").write_text(json.dumps(merged), encoding="utf-8")
        (build / "appendix.html").write_text(_appendix_html(meta), encoding="utf-8")
        labels = meta.all_labels()
        _pandoc(
            [
                "report.json",
                "--from=json",
                "--to=html5",
                "--standalone",
                "--embed-resources",
                "--toc",
                "--toc-depth=2",
                "--number-sections",
                "--include-after-body=appendix.html",
                f"--metadata=title:{meta.title}",
                f"--metadata=subtitle:{meta.period}",
                f"--metadata=author:{labels['participant']}: {meta.participant}",
                f"--metadata=date:{labels['generated']} {meta.generated}",
                f"--metadata=lang:{meta.lang}",
                f"--metadata=toc-title:{labels['contents']}",
                "--output=report.html",
            ],
            build,
            "the HTML report",
        )
        atomic_write(Path(output), (build / "report.html").read_bytes())
    return Path(output)


def _appendix_html(meta: ReportMeta) -> str:
    labels = meta.all_labels()
    parts = [f"<h1 class='unnumbered'>{escape(labels['appendix'])}</h1>"]
    for section in meta.appendix_sections():
        parts.append(f"<h2 class='unnumbered'>{escape(str(section['title']))}</h2>")
        if "rows" in section:
            rows = "".join(
                f"<tr><td>{escape(k)}</td><td>{escape(v)}</td></tr>"
                for k, v in section["rows"]  # type: ignore[union-attr]
            )
            parts.append(
                f"<table><thead><tr><th>{escape(labels['key'])}</th>"
                f"<th>{escape(labels['value'])}</th></tr></thead><tbody>{rows}</tbody></table>"
            )
        else:
            parts.append(f"<pre>{escape(str(section['text']))}</pre>")
    return "\n".join(parts)


def atomic_write(target: Path, data: bytes) -> None:
    """Write ``data`` to ``target`` (reports may hold names) through :mod:`study.files`: a
    private temporary file in the same directory, renamed into place only when complete."""
    from study.files import private_dir, private_file

    private_dir(target.parent)
    with private_file(target) as fh:
        fh.write(data)
