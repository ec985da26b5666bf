"""No data lost under faults: concurrent writers, a killed import, and databases that cannot be
written (read-only, missing directory, locked, corrupt, server down). Each user-facing failure
is one ``error:`` line with exit status 2, and nothing is written. docs/reliability.md lists
these cases and their results."""

from __future__ import annotations

import hashlib
import multiprocessing
import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from sqlalchemy import text

import study
from study.errors import DatabaseError


def study_cmd(
    *args: str, env: dict[str, str] | None = None, unprivileged: bool = False, **kw
) -> subprocess.CompletedProcess:
    """The real `study` command in a child process; ``unprivileged`` takes away root's power
    to write any file (the capabilities DAC_OVERRIDE and DAC_READ_SEARCH), as for a user."""
    prefix = []
    if unprivileged and os.geteuid() == 0:
        prefix = ["setpriv", "--bounding-set=-dac_override,-dac_read_search", "--"]
    return subprocess.run(
        [*prefix, sys.executable, "-m", "study.cli.main", *args],
        capture_output=True,
        text=True,
        env={**os.environ, **(env or {})},
        timeout=120,
        **kw,
    )


def assert_one_error_line(res: subprocess.CompletedProcess, *needles: str) -> None:
    assert res.returncode == 2, (res.returncode, res.stdout, res.stderr)
    assert res.stderr.startswith("error: ") and res.stderr.count("\n") == 1, res.stderr
    assert "Traceback" not in res.stderr
    for needle in needles:
        assert needle in res.stderr, res.stderr


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def count(url: str) -> int:
    with study.open(url) as s:
        return s.count()


# concurrency ------------------------------------------------------------------------------
def _append(url: str, who: str, n: int, go) -> None:  # type: ignore[no-untyped-def]
    s = study.open(url)
    go.wait()
    for i in range(n):
        s.log("note", text=f"{who}:{i}")
    s.close()


@pytest.mark.slow
def test_four_processes_appending_at_once_lose_and_duplicate_nothing(db_url):
    study.init(db_url).close()
    ctx = multiprocessing.get_context("spawn")
    go = ctx.Event()
    procs = [ctx.Process(target=_append, args=(db_url, f"w{j}", 2000, go)) for j in range(4)]
    for p in procs:
        p.start()
    time.sleep(1.0)
    go.set()  # all four start appending at the same moment
    for p in procs:
        p.join(600)
    assert [p.exitcode for p in procs] == [0, 0, 0, 0]
    s = study.open(db_url)
    ev = s.events(kind="note")
    assert len(ev) == 8000
    assert ev.text.is_unique and ev.id.is_unique
    expected = {f"w{j}:{i}" for j in range(4) for i in range(2000)}
    assert set(ev.text) == expected


# a killed import --------------------------------------------------------------------------
IMPORT_SCRIPT = textwrap.dedent(
    """
    import sys, datetime as dt
    import study
    url, n = sys.argv[1], int(sys.argv[2])
    s = study.open(url)
    t0 = dt.datetime(2020, 1, 1, tzinfo=dt.UTC)
    with s.batch() as b:
        for i in range(n):
            b.log("note", text=f"reading {i}", platform="xing",
                  at=t0 + dt.timedelta(minutes=i), source="big-import", source_key=str(i))
            if i % 10000 == 0:
                print(i, flush=True)
    print("done", s.count(), flush=True)
    """
)


@pytest.mark.slow
def test_a_killed_import_leaves_nothing_and_a_rerun_completes(db_url, tmp_path):
    n = 200_000
    study.init(db_url).close()
    script = tmp_path / "import.py"
    script.write_text(IMPORT_SCRIPT)
    proc = subprocess.Popen(
        [sys.executable, str(script), db_url, str(n)], stdout=subprocess.PIPE, text=True
    )
    seen = 0
    for line in proc.stdout:  # type: ignore[union-attr]
        seen = int(line)
        if seen >= 70_000:  # past several flushes of rows into the open transaction
            break
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL and seen >= 70_000
    with study.open(db_url) as s:
        assert s.count() == 0
        with s.engine.connect() as conn:
            if s.engine.dialect.name == "sqlite":
                assert conn.exec_driver_sql("pragma integrity_check").scalar() == "ok"
            else:  # the server rolled back the dead client's transaction and holds no lock
                assert (
                    conn.execute(text("select count(*) from pg_locks where not granted")).scalar()
                    == 0
                )
    done = subprocess.run(
        [sys.executable, str(script), db_url, str(n)], capture_output=True, text=True, timeout=900
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip().splitlines()[-1] == f"done {n}"
    with study.open(db_url) as s:
        ev = s.events(kind="note")
        assert len(ev) == n and ev.source_key.is_unique
        assert set(ev.text) == {f"reading {i}" for i in range(n)}


# databases that cannot be written ----------------------------------------------------------
def test_a_read_only_database_file_is_read_but_never_written(tmp_path):
    db = tmp_path / "study.db"
    s = study.init(db)
    s.log("note", text="before", at="2026-01-01")
    s.close()
    db.chmod(0o444)
    before = digest(db)
    res = study_cmd("log", "note", "--text", "x", "--db", str(db), unprivileged=True)
    assert_one_error_line(res, f"cannot write to {db}", "readonly database", "not writable")
    shown = study_cmd("events", "--db", str(db), unprivileged=True)
    assert shown.returncode == 0 and "before" in shown.stdout, shown.stderr
    assert digest(db) == before
    assert count(str(db)) == 1


def test_a_missing_directory(tmp_path):
    db = tmp_path / "gone" / "study.db"
    for args in (["init"], ["log", "note", "--text", "x"], ["events"]):
        assert_one_error_line(study_cmd(*args, "--db", str(db)), "does not exist")
    assert not (tmp_path / "gone").exists()


def _hold_lock(db: Path, mode: str) -> subprocess.Popen:
    code = (
        "import sqlite3, sys\n"
        f"c = sqlite3.connect({str(db)!r}, isolation_level=None)\n"
        f"c.execute('PRAGMA locking_mode = {mode}')\n"
        "c.execute('BEGIN EXCLUSIVE')\n"
        "c.execute(\"insert into study_meta values ('held', 'yes')\")\n"
        "print('locked', flush=True)\n"
        "sys.stdin.read()\n"
        "c.execute('ROLLBACK')\n"
    )
    holder = subprocess.Popen(
        [sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True
    )
    assert holder.stdout.readline().strip() == "locked"  # type: ignore[union-attr]
    return holder


@pytest.mark.parametrize("mode", ["NORMAL", "EXCLUSIVE"])
def test_a_locked_file_fails_after_the_busy_timeout(tmp_path, mode):
    db = tmp_path / "study.db"
    study.init(db).close()
    holder = _hold_lock(db, mode)
    try:
        started = time.monotonic()
        res = study_cmd(
            "log", "note", "--text", "x", "--db", str(db), env={"STUDY_BUSY_TIMEOUT": "0.5"}
        )
        waited = time.monotonic() - started
        assert_one_error_line(res, "database is locked", "0.5 s", "STUDY_BUSY_TIMEOUT")
        assert waited >= 0.5
    finally:
        holder.communicate("", timeout=30)
    assert count(str(db)) == 0


def test_a_lock_released_within_the_busy_timeout_is_waited_for(tmp_path):
    db = tmp_path / "study.db"
    study.init(db).close()
    holder = _hold_lock(db, "NORMAL")
    writer = subprocess.Popen(
        [sys.executable, "-m", "study.cli.main", "log", "note", "--text", "x", "--db", str(db)],
        env={**os.environ, "STUDY_BUSY_TIMEOUT": "20"},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    time.sleep(1.5)
    holder.communicate("", timeout=30)
    out, err = writer.communicate(timeout=60)
    assert writer.returncode == 0, err
    assert count(str(db)) == 1


def test_a_bad_busy_timeout_is_one_error_line(tmp_path):
    db = tmp_path / "study.db"
    study.init(db).close()
    res = study_cmd("events", "--db", str(db), env={"STUDY_BUSY_TIMEOUT": "soon"})
    assert_one_error_line(res, "STUDY_BUSY_TIMEOUT: 'soon' is not a number")


@pytest.mark.parametrize("damage", ["not_a_database", "header_overwritten", "empty_tables_page"])
def test_a_corrupt_file_is_one_error_line_and_left_as_it_is(tmp_path, damage):
    db = tmp_path / "study.db"
    s = study.init(db)
    for i in range(200):
        s.log("note", text=f"n{i}", at="2026-01-01")
    s.close()
    raw = bytearray(db.read_bytes())
    if damage == "not_a_database":
        raw = bytearray(b"name,company\nAnna,Muster GmbH\n" * 300)
    elif damage == "header_overwritten":
        raw[0:100] = os.urandom(100)
    else:  # every page after the first zeroed: the schema is there, the tables are not
        page = int.from_bytes(raw[16:18], "big")
        raw[page:] = bytes(len(raw) - page)
    db.write_bytes(bytes(raw))
    before = digest(db)
    for args in (["log", "note", "--text", "x"], ["events"]):
        res = study_cmd(*args, "--db", str(db))
        assert_one_error_line(res)
        assert any(
            m in res.stderr
            for m in ("file is not a database", "malformed", "not a study", "corrupt")
        ), res.stderr
    assert digest(db) == before


def test_a_server_that_is_down(tmp_path, pg_server):
    down = [
        f"postgresql+psycopg://study@/study?host={tmp_path}",  # no server on this socket
        "postgresql+psycopg://study@127.0.0.1:1/study?connect_timeout=5",  # nothing listens
    ]
    for url in down:
        for args in (["init"], ["log", "note", "--text", "x"], ["events"]):
            assert_one_error_line(study_cmd(*args, "--db", url), "cannot open postgresql")
    # a server that goes away under a study that exists
    url = pg_server.new_database()
    study.init(url).close()
    broken = url.replace(f"host={pg_server.socket_dir}", f"host={tmp_path}")
    assert_one_error_line(study_cmd("log", "note", "--text", "x", "--db", broken), "connection")
    assert count(url) == 0


def test_the_api_raises_database_errors_not_driver_errors(tmp_path):
    db = tmp_path / "study.db"
    db.write_bytes(b"\x00" * 4096 + b"garbage" * 100)
    with pytest.raises(DatabaseError, match="cannot open"):
        study.open(db)
    with pytest.raises(DatabaseError, match="no study"):
        study.open(tmp_path / "none.db")
    assert sqlite3.connect(tmp_path / "x.db").execute("select 1").fetchone() == (1,)


def _import_same(url: str, n: int, go, results) -> None:  # type: ignore[no-untyped-def]
    import datetime as dt

    s = study.open(url)
    t0 = dt.datetime(2000, 1, 1, 9, tzinfo=dt.UTC)
    go.wait()
    with s.batch() as b:
        for i in range(n):
            b.log(
                "metric",
                name="followers",
                value=i,
                platform="linkedin",
                at=t0 + dt.timedelta(days=i),  # a level: one value a day
                source="Followers.csv",
                source_key=str(i),
            )
    results.put((b.summary.added, b.summary.already_present))


def test_the_same_file_imported_twice_at_once_is_added_once(db_url):
    n = 5000
    study.init(db_url).close()
    ctx = multiprocessing.get_context("spawn")
    go, results = ctx.Event(), ctx.Queue()
    procs = [ctx.Process(target=_import_same, args=(db_url, n, go, results)) for _ in range(3)]
    for p in procs:
        p.start()
    time.sleep(1.0)
    go.set()
    got = [results.get(timeout=300) for _ in procs]
    for p in procs:
        p.join(60)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert count(db_url) == n
    # each import's summary is true: together they added each row exactly once
    assert sum(a for a, _ in got) == n and all(a + d == n for a, d in got)


def test_a_row_committed_by_another_writer_meanwhile_is_not_counted_as_added(pg_server):
    """PostgreSQL lets two transactions import at once; the later one's ON CONFLICT DO NOTHING
    skips the rows the other committed meanwhile, and its summary must say so. (SQLite
    serializes writers, so the situation cannot arise there.)"""
    url = pg_server.new_database()
    s, other = study.init(url), study.open(url)
    with s.batch() as b:
        for key in ("1", "2", "3"):
            b.log("note", text=key, at="2026-01-01", source="f.csv", source_key=key)
        other.log("note", text="2", at="2026-01-01", source="f.csv", source_key="2")
    assert (b.summary.added, b.summary.already_present) == (2, 1)
    assert s.count() == 3


def test_a_frame_row_committed_by_another_writer_meanwhile_is_not_counted(pg_server, monkeypatch):
    """The same for ``log_frame``: another import commits a row after the frame's duplicate
    check and before its insert; the summary counts the rows the database took."""
    import pandas as pd

    from study.write import events as bulk

    insert = bulk.BulkLog.insert

    def other_commits_first(self):  # type: ignore[no-untyped-def]
        other.log("note", text="2", at="2026-01-01", source="f.csv", source_key="2")
        return insert(self)

    monkeypatch.setattr(bulk.BulkLog, "insert", other_commits_first)
    url = pg_server.new_database()
    s, other = study.init(url), study.open(url)
    frame = pd.DataFrame(
        {
            "kind": "note",
            "occurred_at": pd.Timestamp("2026-01-01", tz="UTC"),
            "text": ["1", "2", "3"],
            "source_key": ["1", "2", "3"],
        }
    )
    with s.batch() as b:
        assert b.log_frame(frame, source="f.csv") == 2
    assert (b.summary.added, b.summary.already_present) == (2, 1)
    assert s.count() == 3


def _writing(url: str) -> bool:
    """True while another process holds an open write transaction on the study."""
    if url.startswith("postgresql"):
        with study.open(url) as s, s.engine.connect() as conn:
            return bool(
                conn.execute(
                    text(
                        "select count(*) from pg_stat_activity where datname = current_database() "
                        "and pid <> pg_backend_pid() and backend_xid is not null"
                    )
                ).scalar()
            )
    con = sqlite3.connect(url, timeout=0, isolation_level=None)
    try:
        con.execute("BEGIN IMMEDIATE")
        con.execute("ROLLBACK")
        return False
    except sqlite3.OperationalError:
        return True
    finally:
        con.close()


@pytest.mark.slow
def test_a_killed_study_import_csv_leaves_nothing_and_a_rerun_completes(db_url, tmp_path):
    n = 100_000  # the API variant above kills a 200,000-event batch
    study.init(db_url).close()
    big = tmp_path / "followers.csv"
    with big.open("w") as fh:
        fh.write("at,text,platform,source_key\n")
        for i in range(n):
            day, minute = divmod(i, 1440)
            fh.write(
                f"{2000 + day // 365}-{1 + day % 365 // 31:02d}-{1 + day % 365 % 28:02d}T"
                f"{minute // 60:02d}:{minute % 60:02d},reading {i},xing,r{i}\n"
            )
    cmd = [sys.executable, "-m", "study.cli.main", "import", "csv", str(big), "--kind", "note"]
    cmd += ["--no-progress", "--db", db_url]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not _writing(db_url):
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() < deadline, "the import never started writing"
        time.sleep(0.05)
    time.sleep(1.0)  # well into the write
    assert proc.poll() is None, "the import finished before it could be killed"
    proc.send_signal(signal.SIGKILL)
    proc.wait(30)
    assert proc.returncode == -signal.SIGKILL
    with study.open(db_url) as s:
        assert s.count() == 0
        if s.engine.dialect.name == "sqlite":
            with s.engine.connect() as conn:
                assert conn.exec_driver_sql("pragma integrity_check").scalar() == "ok"
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=1200)
    assert done.returncode == 0, done.stderr
    with study.open(db_url) as s:
        ev = s.events(kind="note")
        assert len(ev) == n and set(ev.text) == {f"reading {i}" for i in range(n)}
