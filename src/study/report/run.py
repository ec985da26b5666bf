"""``build_report``: execute the part notebooks with Papermill, then render one PDF (and HTML).

Layout of a period's output (directories 0700, files 0600: reports may hold names)::

    reports/<period>/study-report-<participant>-<period>-<lang>.pdf   (and .html with formats)
    reports/<period>/executed/<participant>-<lang>/01_overview.ipynb ... (for inspection)

One file per participant, period and language: a German and an English report of one period
lie side by side, and so do their executed notebooks.

A failing notebook stops the run with one line (notebook, cell, error), keeps its executed
copy, and writes no report file. Reports are written whole or not at all (temp file + rename).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import sys
from collections.abc import Collection, Sequence
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from study.errors import StudyError, ValidationError
from study.files import private_dir, private_placeholder
from study.periods import Period
from study.report.pseudonym import participant_pseudonym  # noqa: F401 (run.participant_pseudonym, as before)

KERNEL_NAME = "study"
KERNEL_DISPLAY_NAME = "study (.venv)"
FORMATS = ("pdf", "html")
#: Packages whose versions the appendix lists (what the numbers and the rendering depend on).
KEY_PACKAGES = (
    "study",
    "pandas",
    "numpy",
    "statsmodels",
    "scipy",
    "networkx",
    "seaborn",
    "matplotlib",
    "sqlalchemy",
    "papermill",
    "nbformat",
    "pypandoc-binary",
    "typst",
)


class ReportError(StudyError):
    """A notebook failed or the report could not be rendered (one line, exit 2)."""


def notebooks_dir() -> Path:
    """The part notebooks: ``$STUDY_NOTEBOOKS``, else ``notebooks/`` in the working directory,
    else the project's ``notebooks/`` beside ``src/`` (editable install)."""
    env = os.environ.get("STUDY_NOTEBOOKS")
    if env:
        return Path(env)
    here = Path.cwd() / "notebooks"
    if any(here.glob("[0-9][0-9]_*.ipynb")):
        return here
    return Path(__file__).resolve().parents[3] / "notebooks"


def part_notebooks(directory: Path) -> list[Path]:
    """The numbered notebooks (``01_overview.ipynb`` ...) in file order = part order."""
    found = sorted(Path(directory).glob("[0-9][0-9]_*.ipynb"))
    if not found:
        raise ReportError(f"no report notebooks (NN_name.ipynb) in {directory}")
    return found


def ensure_kernel(name: str = KERNEL_NAME) -> str:
    """Register this environment's Python as the Jupyter kernel ``name`` (in ``sys.prefix``)
    unless it is there already; return the name. Papermill gets it explicitly, so a run never
    depends on the kernel a notebook was saved with."""
    from jupyter_client.kernelspec import KernelSpecManager, NoSuchKernel

    ksm = KernelSpecManager()
    try:
        spec = ksm.get_kernel_spec(name)
    except NoSuchKernel:
        spec = None
    if spec is not None:
        python = Path(spec.argv[0]).absolute()
        if python.parent.parent == Path(sys.prefix).absolute():
            return name
        if not Path(spec.resource_dir).absolute().is_relative_to(Path(sys.prefix).absolute()):
            raise ReportError(
                f"the Jupyter kernel {name!r} ({spec.resource_dir}) runs {python}, not this "
                f"environment ({sys.prefix}); remove it with `jupyter kernelspec remove {name}`"
            )
    from ipykernel.kernelspec import install

    install(kernel_name=name, display_name=KERNEL_DISPLAY_NAME, prefix=sys.prefix)
    return name


def report_path(
    out_root: str | os.PathLike[str],
    participant: str,
    period: Period,
    fmt: str = "pdf",
    *,
    lang: str,
) -> Path:
    """Where the report of a participant, period and language goes."""
    name = f"study-report-{participant}-{period.label}-{lang}.{fmt}"
    return Path(out_root) / period.label / name


def executed_dir(
    out_root: str | os.PathLike[str], participant: str, period: Period, *, lang: str
) -> Path:
    """Where the executed part notebooks of that report are kept."""
    return Path(out_root) / period.label / "executed" / f"{participant}-{lang}"


def package_versions(names: Sequence[str] = KEY_PACKAGES) -> list[tuple[str, str]]:
    from study.report.render import pandoc_binary

    out = [("python", sys.version.split()[0])]
    for n in names:
        try:
            out.append((n, version(n)))
        except PackageNotFoundError:
            out.append((n, "not installed"))
    import subprocess

    pandoc = subprocess.run([pandoc_binary(), "--version"], capture_output=True, text=True)
    out.append(("pandoc", pandoc.stdout.split()[1] if pandoc.stdout else "?"))
    return out


def _private_dir(path: Path) -> Path:
    private_dir(path).chmod(0o700)  # a file in the way is one line (study.files)
    return path


def _failure_line(nb_path: Path, executed: Path, exc: Exception) -> str:
    """One line: notebook, failing cell (counted from 1 in the source notebook, and its first
    line), and the error."""
    import nbformat

    index = getattr(exc, "cell_index", None)
    source = str(getattr(exc, "source", "") or "")
    ename, evalue = getattr(exc, "ename", type(exc).__name__), getattr(exc, "evalue", str(exc))
    where = ""
    if index is not None:
        src = nbformat.read(nb_path, as_version=4)
        params = next(
            (i for i, c in enumerate(src.cells) if "parameters" in c.metadata.get("tags", [])),
            -1,
        )
        injected = params + 1  # papermill puts its cell after the parameters (or first)
        cell = index - (1 if index > injected or (index == injected and params < 0) else 0)
        first = source.strip().splitlines()[0] if source.strip() else ""
        where = f", cell {cell + 1} ({first})"
    evalue = " ".join(str(evalue).split())
    return (
        f"notebook {nb_path.name} failed{where}: {ename}: {evalue} "
        f"(executed notebook kept: {executed})"
    )


def _start_kernel(kernel: str, cwd: Path):
    """One kernel for every part notebook of a report (papermill's ``km``)."""
    from jupyter_client.manager import KernelManager

    km = KernelManager(kernel_name=kernel)
    # --IPKernelApp.log_level: no TCP warning noise
    km.start_kernel(extra_arguments=["--IPKernelApp.log_level=CRITICAL"], cwd=str(cwd))
    return km


#: Run in the shared kernel before each part: an empty namespace (modules stay imported),
#: and the report's data loaded once for all parts (see ``study.report.notebook.start_part``).
_PRELUDE = "import study.report.notebook\nstudy.report.notebook.start_part(get_ipython())"


def _fresh_namespace(km) -> None:
    kc = km.client()
    kc.start_channels()
    try:
        kc.wait_for_ready(timeout=120)
        reply = kc.execute_interactive(_PRELUDE, store_history=False, timeout=120)
        if reply["content"].get("status") != "ok":
            raise RuntimeError(f"the kernel refused {_PRELUDE!r}: {reply['content']}")
    finally:
        kc.stop_channels()


class _Progress:
    """What the report is doing, on stderr: a bar on a terminal; elsewhere (a pipe, CI, cron's
    log) one line per part as it starts, so a person sees it is not stuck."""

    def __init__(self, parts: Sequence[Path], title: str, enabled: bool):
        from tqdm import tqdm

        self.title, self.total, self.enabled = title, len(parts), enabled
        self.bar = None
        if enabled and sys.stderr.isatty():
            self.bar = tqdm(total=len(parts), unit="notebook", file=sys.stderr, leave=False)
        self.done = 0

    def part(self, nb_path: Path) -> None:
        if self.bar is not None:
            self.bar.set_description(nb_path.stem)
        elif self.enabled:
            number = f"{self.done + 1}/{self.total}"
            sys.stderr.write(f"{self.title}: part {number} {nb_path.stem}\n")
            sys.stderr.flush()

    def part_done(self) -> None:
        self.done += 1
        if self.bar is not None:
            self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()
            self.bar = None

    def step(self, what: str) -> None:
        """A step after the parts (rendering), as a line."""
        self.close()
        if self.enabled:
            sys.stderr.write(f"{self.title}: {what}\n")
            sys.stderr.flush()


def python_calls(
    url: str,
    participant: str | None,
    period: str,
    window: int,
    lang: str,
    *,
    left_out: Collection[str] = (),
) -> list[tuple[str, str]]:
    """The appendix's "reproduce in Python": the one call that returns the report's results,
    then each section's result by name (study.estimands), except the sections the report
    leaves out (``left_out``: the panel of a one-person study). Without names the
    participant's id is left for the reader to fill in (it may be a name)."""
    from study.estimands import load
    from study.report.i18n import t
    from study.report.sections import PARTS
    from study.store import describe

    who = repr(participant) if participant is not None else "ID"
    rows = [
        ("s", f"study.open({describe(url)!r})"),
        ("r", f"study.results(s, participant={who}, period={period!r}, window={window})"),
    ]
    registered = load()
    for names in PARTS.values():
        for name in names:
            if name in registered and name not in left_out:
                rows.append((t(f"section.{name}.title", lang), f"r[{name!r}]"))
    return rows


def build_report(
    db: str | os.PathLike[str] | None,
    participant: str = "me",
    period: str | Period = "",
    lang: str = "de",
    window: int = 365,
    names: bool = False,
    out_root: str | os.PathLike[str] = "reports",
    formats: Sequence[str] = ("pdf",),
    force: bool = False,
    progress: bool = True,
    *,
    notebooks: str | os.PathLike[str] | None = None,
    today: dt.date | None = None,
) -> Path:
    """Execute every part notebook for one participant and period and render the report;
    return the PDF's path (the HTML lies beside it). An existing report is kept unless
    ``force``. ``progress`` shows each part on stderr as it runs (a bar on a terminal, one
    line per part elsewhere)."""
    import papermill as pm

    from study.api import Study
    from study.periods import check_complete
    from study.report.fingerprint import data_fingerprint
    from study.report.i18n import check_lang, date, period_label, t
    from study.report.notebook import resolve_period
    from study.report.render import ReportMeta, TypstParts, render_html, render_pdf
    from study.store import describe

    check_lang(lang)
    bad = [f for f in formats if f not in FORMATS]
    if bad or not formats:
        raise ValidationError(f"{bad[0] if bad else ''!r} is not one of pdf, html", "format")
    if not re.fullmatch(r"[A-Za-z0-9_][A-Za-z0-9_.-]*", participant):
        raise ValidationError(
            f"{participant!r} cannot be used in a file name (letters, digits, _ . -)",
            "participant",
        )
    p = check_complete(resolve_period(period, today), today)
    targets = {f: report_path(out_root, participant, p, f, lang=lang) for f in ("pdf", *formats)}
    if not force and all(path.exists() for path in targets.values()):
        return targets["pdf"]
    study = Study(db)
    if participant not in study.participants():
        raise ValidationError(
            f"no participant {participant!r} in {study.name} "
            f"(there are: {', '.join(study.participants()) or 'none'})",
            "participant",
        )
    parts = part_notebooks(Path(notebooks) if notebooks else notebooks_dir())
    kernel = ensure_kernel()
    if not Path(out_root).exists():
        _private_dir(Path(out_root))
    _private_dir(Path(out_root) / p.label)
    _private_dir(Path(out_root) / p.label / "executed")
    exec_dir = _private_dir(executed_dir(out_root, participant, p, lang=lang))
    params = {
        "db": study.url,
        "participant": participant,
        "period": p.label,
        "lang": lang,
        "window": int(window),
        "names": bool(names),
    }
    executed: list[Path] = []
    bar = _Progress(parts, f"report {p.label} ({lang}, {participant})", progress)
    # one kernel for all parts: a kernel start and the imports of pandas, statsmodels and
    # seaborn are most of a small report's time; each part starts with an empty namespace
    km = _start_kernel(kernel, parts[0].parent if parts else Path.cwd())
    # each executed part goes to pandoc while the kernel runs the next one
    converted = TypstParts()
    try:
        for nb_path in parts:
            bar.part(nb_path)
            out = exec_dir / nb_path.name
            private_placeholder(out)  # papermill writes into it: 0600 from the first byte
            try:
                _fresh_namespace(km)
                pm.execute_notebook(
                    str(nb_path),
                    str(out),
                    parameters=params,
                    kernel_name=kernel,
                    language="python",
                    progress_bar=False,
                    log_output=False,
                    request_save_on_cell_execute=False,
                    cwd=str(nb_path.parent),
                    km=km,  # nbclient leaves a kernel it did not start running
                )
            except Exception as exc:  # papermill's execution error, or a kernel that died
                if out.exists():
                    out.chmod(0o600)
                raise ReportError(_failure_line(nb_path, out, exc)) from None
            out.chmod(0o600)
            bar.part_done()
            executed.append(out)
            converted.add(out)
    except BaseException:
        converted.__exit__()
        bar.close()
        raise
    finally:
        km.shutdown_kernel(now=True)
    bar.step("rendering the PDF" + (" and HTML" if "html" in formats else ""))

    with converted:  # its build directory goes when the PDF is written
        fp = data_fingerprint(study, participant, p)
        shown = participant if names else participant_pseudonym(study, participant)
        yes_no = t("report.yes", lang) if names else t("report.no", lang)
        meta = ReportMeta(
            title=t("report.title", lang),
            subtitle=t("report.subtitle", lang),
            participant=shown,
            period=period_label(p, lang),
            generated=date(today or dt.date.today(), lang),
            lang=lang,
            appendix={
                t("report.parameters", lang): [
                    (t("report.database", lang), describe(study.url)),
                    (t("report.participant", lang), shown),
                    (
                        t("report.period", lang),
                        f"{p.label} ({p.start.isoformat()} .. {p.end.isoformat()})",
                    ),
                    (t("report.language", lang), lang),
                    (t("report.window", lang), str(int(window))),
                    (t("report.names", lang), yes_no),
                ],
                t("report.fingerprint", lang): [
                    (t("report.fingerprint_events", lang), str(fp.events)),
                    (t("report.fingerprint_sha256", lang), fp.sha256),
                ],
                t("report.python", lang): python_calls(
                    study.url,
                    participant if names else None,
                    p.label,
                    int(window),
                    lang,
                    left_out=() if len(study.participants()) > 1 else ("overview.panel",),
                ),
                t("report.versions", lang): package_versions(),
            },
        )
        study.close()
        render_pdf(executed, targets["pdf"], meta, converted=converted)
    if "html" in formats:
        render_html(executed, targets["html"], meta)
    if names:  # written with names: `study forget` deletes them (study/privacy.py)
        from study.privacy import register_named_file

        for path in [*executed, *(targets[f] for f in ("pdf", *formats))]:
            if path.exists():
                register_named_file(study, path, "report")
    return targets["pdf"]
