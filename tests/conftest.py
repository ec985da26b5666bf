"""Shared fixtures: a fresh study per test, and the command line run in-process or as a process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import study
from study.cli.main import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "study.db"


@pytest.fixture
def s(db_path: Path) -> study.Study:
    st = study.init(db_path)
    yield st
    st.close()


class CLI:
    """Runs `study ...` in-process against one database and captures what it prints."""

    def __init__(self, db: Path, capsys: pytest.CaptureFixture[str]):
        self.db = db
        self.capsys = capsys

    def __call__(self, *args: str) -> tuple[int, str, str]:
        self.capsys.readouterr()
        try:
            code = main([*args, "--db", str(self.db)] if args else ["--db", str(self.db)])
        except SystemExit as exc:  # argparse's own exits (help, usage mistakes)
            code = int(exc.code or 0)
        out, err = self.capsys.readouterr()
        return code, out, err


@pytest.fixture
def cli(db_path: Path, capsys: pytest.CaptureFixture[str]) -> CLI:
    return CLI(db_path, capsys)


def run_study(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None
) -> subprocess.CompletedProcess[str]:
    """The real `study` command in a child process."""
    return subprocess.run(
        [sys.executable, "-m", "study.cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        cwd=cwd,
        timeout=120,
    )
