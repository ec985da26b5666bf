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


#: The store's tests run against both engines; PostgreSQL is a real throwaway server.
ENGINES = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgresql", id="postgresql", marks=pytest.mark.postgres),
]


@pytest.fixture(scope="session")
def pg_server():
    """The throwaway PostgreSQL cluster (tests/pgserver.py); a failure to start it fails the
    PostgreSQL tests with the reason, it never skips them."""
    from tests.pgserver import PostgresUnavailable, start

    try:
        server = start()
    except PostgresUnavailable as exc:
        pytest.fail(f"PostgreSQL is needed for this test and could not be started: {exc}", False)
    yield server
    server.stop()


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "study.db"


@pytest.fixture(params=ENGINES)
def db_url(request: pytest.FixtureRequest, db_path: Path) -> str:
    """A fresh database on each engine: a SQLite path, or a new database on the test server."""
    if request.param == "sqlite":
        return str(db_path)
    return request.getfixturevalue("pg_server").new_database()


@pytest.fixture
def s(db_url: str) -> study.Study:
    st = study.init(db_url)
    yield st
    st.close()


@pytest.fixture
def sqlite_study(db_path: Path) -> study.Study:
    """For the tests about the SQLite file itself (permissions, WAL, raw bytes)."""
    st = study.init(db_path)
    yield st
    st.close()


class CLI:
    """Runs `study ...` in-process against one database and captures what it prints."""

    def __init__(self, db: Path | str, capsys: pytest.CaptureFixture[str]):
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
def cli(db_url: str, capsys: pytest.CaptureFixture[str]) -> CLI:
    return CLI(db_url, capsys)


@pytest.fixture
def sqlite_cli(db_path: Path, capsys: pytest.CaptureFixture[str]) -> CLI:
    """The command line on the SQLite file at ``db_path`` (tests about the file itself)."""
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


# progress a person can see -------------------------------------------------------------------
#: The slow tests of this run, by node id: what each does (its docstring's first sentence).
_SLOW: dict[str, str] = {}
_CONFIG: list[pytest.Config] = []


def pytest_configure(config: pytest.Config) -> None:
    _CONFIG[:] = [config]


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("slow") is not None:
            doc = " ".join((getattr(item, "obj", None).__doc__ or "").split())
            first = doc.split(". ")[0].rstrip(".")
            _SLOW[item.nodeid] = first if len(first) <= 100 else first[:99] + "…"


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_logstart(nodeid: str, location: tuple) -> None:
    """A slow test names itself (and what it does) on its own line as it starts, so minutes
    without a dot read as work, not as a hang; with -v pytest names every test anyway."""
    if nodeid not in _SLOW or not _CONFIG or _CONFIG[0].get_verbosity() > 0:
        return
    reporter = _CONFIG[0].pluginmanager.get_plugin("terminalreporter")
    if reporter is None:
        return
    what = _SLOW[nodeid]
    text = f"slow: {nodeid}" + (f": {what}" if what else "")
    if reporter.showfspath:  # lines of dots start with their file: end this one, start anew
        reporter.ensure_newline()
        reporter.write(text)
        reporter.currentfspath = None
    else:  # -q: dots only
        reporter.write(f"\n{text}\n")
