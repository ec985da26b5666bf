"""README.md's code blocks, run in order on the demo study: the README cannot drift.

The test rebuilds what a reader has after the first `make report`, in a temporary folder: the
project folder with `.venv` (this environment) and `data/study.db` (the demo study, made by the
real `study demo`), and the reader's own files the README names (a LinkedIn archive in
~/Downloads, a folder of XING vCards, a CSV of profile views), made by tests/export_fixtures.py.
Then every block runs in file order, one test item per block (`pytest -v` names each as it
runs; selecting one runs the blocks before it first):

- ```sh blocks: through bash (``-e -o pipefail``) in the project folder, HOME in the temporary
  folder, this environment's `bin` first on PATH (so `study` is the real command);
- ```python blocks: in one namespace, with the project folder as the working directory.

A block that truly cannot run here carries ``<!-- readme-test: not run: REASON -->`` on the
line before it in README.md (visible in the source); the last test names and counts them, and
any new one must be added to :data:`NOT_RUN` on purpose.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from export_fixtures import linkedin_files, vcard, write_folder, write_zip

pytestmark = pytest.mark.slow
ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
_FENCE = re.compile(r"^```([\w-]*)[ \t]*\n(.*?)^```[ \t]*$", re.S | re.M)
_NOT_RUN = re.compile(r"^<!--\s*readme-test:\s*not run:\s*(.+?)\s*-->\s*$", re.S)

#: The blocks README.md marks as not run, by their first line: each needs a reason there.
NOT_RUN = {
    "make report   # first run: creates .venv, installs the locked packages, builds the demo study and its report",
    "export STUDY_DB=postgresql+psycopg://anna:secret@db.example.org/study   # or --db URL on each command",
    "python3 -m venv .venv && . .venv/bin/activate",
}


@dataclass(frozen=True)
class Block:
    """One fenced code block of README.md."""

    lang: str
    code: str
    line: int  # the line of its first code line
    not_run: str | None  # the reason given in README.md, if it is marked

    @property
    def name(self) -> str:
        return f"README.md:{self.line}:{self.lang}"

    @property
    def first_line(self) -> str:
        return self.code.strip().splitlines()[0].strip()


def readme_blocks(text: str) -> list[Block]:
    """The fenced blocks of a Markdown text in order, with the not-run mark before each."""
    blocks, end = [], 0
    for m in _FENCE.finditer(text):
        before = text[end : m.start()].rstrip().rsplit("\n", 1)[-1]
        mark = _NOT_RUN.match(before)
        line = text.count("\n", 0, m.start()) + 2
        blocks.append(Block(m[1], m[2], line, mark[1] if mark else None))
        end = m.end()
    return blocks


BLOCKS = readme_blocks(README.read_text(encoding="utf-8"))
RUN = [b for b in BLOCKS if b.not_run is None]


# the reader's own files, which the README's commands name ------------------------------------
def _linkedin_archive(path: Path) -> None:
    connections = (
        "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
        "Lena,Archiv,https://www.linkedin.com/in/lena-archiv,,Archiv GmbH,Beraterin,14 Mar 2025\n"
        "Jonas,Export,https://www.linkedin.com/in/jonas-export,,Export AG,CTO,02 Jan 2026\n"
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    write_zip(path, linkedin_files(connections, extra=False))


def _xing_vcards(path: Path) -> None:
    write_folder(
        path,
        {
            "mara_karte.vcf": vcard("Mara", "Karte", org="Karte KG", title="Einkauf"),
            "olaf_visitenkarte.vcf": vcard(
                "Olaf", "Visitenkarte", url="https://www.xing.com/profile/Olaf_V"
            ),
        },
    )


def _profile_views(path: Path) -> None:
    path.write_text(
        "name,value,period,platform\n"
        "profile_views,41,2026-11-01..2026-11-07,xing\n"
        "profile_views,38,2026-11-08..2026-11-14,xing\n"
        "profile_views,160,2026-10,linkedin\n",
        encoding="utf-8",
    )


#: Where README.md's commands expect a reader's file ("~" is the reader's home) and who makes it.
READER_FILES: dict[str, Callable[[Path], None]] = {
    "~/Downloads/Complete_LinkedInDataExport_11-21-2026.zip": _linkedin_archive,
    "~/xing-vcards/": _xing_vcards,
    "profile-views.csv": _profile_views,
}


class Reader:
    """A reader working through the README: the project folder, and the blocks done so far."""

    def __init__(self, root: Path):
        self.home = root / "home"
        self.project = root / "project"
        self.home.mkdir()
        (self.project / "data").mkdir(parents=True)
        (self.project / ".venv").symlink_to(Path(sys.prefix))
        for where, make in READER_FILES.items():
            make(self.home / where[2:] if where.startswith("~/") else self.project / where)
        self.env = {k: v for k, v in os.environ.items() if k not in ("STUDY_DB", "STUDY_NOTEBOOKS")}
        self.env.update(
            HOME=str(self.home),
            PATH=f"{Path(sys.prefix) / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
            MPLBACKEND="Agg",
        )
        self.namespace: dict[str, object] = {"__name__": "__readme__"}
        self.done = 0
        self.failed: Block | None = None
        # what the first `make report` leaves: the demo study in data/study.db
        self.sh("study demo", "set-up (what the first make report does)")

    def sh(self, code: str, where: str) -> None:
        proc = subprocess.run(
            ["bash", "-e", "-x", "-o", "pipefail", "-c", code],
            cwd=self.project,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=1200,
        )
        if proc.returncode != 0:
            pytest.fail(
                f"{where}: exit {proc.returncode}\n--- stdout (end)\n{proc.stdout[-3000:]}"
                f"\n--- stderr (end; bash -x shows each command)\n{proc.stderr[-3000:]}",
                pytrace=False,
            )

    def python(self, block: Block) -> None:
        import matplotlib

        matplotlib.use("Agg")
        source = "\n" * (block.line - 1) + block.code  # tracebacks show README.md's lines
        saved = {k: os.environ.get(k) for k in ("HOME", "STUDY_DB", "STUDY_NOTEBOOKS")}
        cwd = Path.cwd()
        os.environ["HOME"] = str(self.home)
        os.environ.pop("STUDY_DB", None)
        os.environ.pop("STUDY_NOTEBOOKS", None)
        os.chdir(self.project)
        try:
            exec(compile(source, str(README), "exec"), self.namespace)  # noqa: S102
        finally:
            os.chdir(cwd)
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v

    def run_through(self, block: Block) -> None:
        """Run every block up to and including ``block`` that has not run yet."""
        upto = RUN.index(block)
        while self.done <= upto:
            if self.failed is not None:
                pytest.fail(f"an earlier block failed: {self.failed.name}", pytrace=False)
            current = RUN[self.done]
            self.failed = current
            if current.lang == "sh":
                self.sh(current.code, current.name)
            elif current.lang == "python":
                self.python(current)
            else:
                pytest.fail(f"{current.name}: a ```{current.lang} block: run it or mark it")
            self.failed = None
            self.done += 1


@pytest.fixture(scope="module")
def reader(tmp_path_factory: pytest.TempPathFactory) -> Reader:
    return Reader(tmp_path_factory.mktemp("readme"))


@pytest.mark.parametrize("block", RUN, ids=[b.name for b in RUN])
def test_readme_block_runs(block: Block, reader: Reader) -> None:
    reader.run_through(block)


def test_reports_of_the_readme_lie_side_by_side(reader: Reader) -> None:
    """The Reports block's runs: the German and the English report of one quarter."""
    reader.run_through(next(b for b in RUN if "study report --period" in b.code))
    q3 = sorted(p.name for p in (reader.project / "reports" / "2026-Q3").glob("*.pdf"))
    assert q3 == ["study-report-me-2026-Q3-de.pdf", "study-report-me-2026-Q3-en.pdf"]


def test_blocks_not_run_are_marked_with_a_reason_and_named() -> None:
    """Every block runs unless README.md says why not; those are exactly :data:`NOT_RUN`, and
    the reader's files the test makes are the ones README.md names."""
    text = README.read_text(encoding="utf-8")
    skipped = [b for b in BLOCKS if b.not_run is not None]
    print(f"\n{len(skipped)} of {len(BLOCKS)} README blocks not run:")
    for b in skipped:
        print(f"  {b.name} ({b.first_line}): {b.not_run}")
    assert {b.first_line for b in skipped} == NOT_RUN
    assert all(len(b.not_run) > 10 for b in skipped)
    assert {b.lang for b in BLOCKS} <= {"sh", "python"}
    assert len(RUN) >= 10
    for where in READER_FILES:
        assert where in text, f"README.md no longer names {where}: drop its fixture"
