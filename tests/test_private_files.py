"""Files that hold names are private from their first byte, never written through a planted
symlink, complete or absent, and recorded so `study forget` finds them (issue 18, defects 3
and 4; the file-creation errors of defect 9)."""

from __future__ import annotations

import os
import resource
import stat
from pathlib import Path

import pandas as pd
import pytest

import study
from study.errors import StudyError
from study.files import private_file, private_path
from study.privacy import named_files
from tests.conftest import run_study
from tests.test_privacy import all_text

NAME = "Zebulon Quargelmeier"


def mode(path: Path) -> int:
    return stat.S_IMODE(path.lstat().st_mode)


def one_error_line(code: int, err: str, *needles: str) -> None:
    assert code == 2, err
    assert err.startswith("error: ") and err.count("\n") == 1 and "Traceback" not in err, err
    for needle in needles:
        assert needle in err, err


@pytest.fixture
def named(sqlite_cli):
    sqlite_cli("init")
    code, out, _ = sqlite_cli("contact", "add", NAME, "--platform", "xing")
    assert code == 0
    return sqlite_cli


def test_private_file_is_owner_only_while_it_is_written_and_gone_when_it_fails(tmp_path):
    old = os.umask(0o022)
    try:
        target = tmp_path / "names.csv"
        with private_file(target, text=True) as fh:
            fh.write(NAME)
            assert stat.S_IMODE(os.fstat(fh.fileno()).st_mode) == 0o600  # from the first byte
            assert not target.exists()  # nothing at the name until it is complete
        assert target.read_text() == NAME and mode(target) == 0o600
        with pytest.raises(RuntimeError), private_file(tmp_path / "torn.csv") as fh:
            fh.write(b"half of it")
            raise RuntimeError("the writer failed")
        assert sorted(p.name for p in tmp_path.iterdir()) == ["names.csv"]
        with private_path(tmp_path / "b.db", mode=0o644) as tmp:
            assert mode(tmp) == 0o600 and tmp.parent == tmp_path
        assert mode(tmp_path / "b.db") == 0o644
    finally:
        os.umask(old)


def test_private_file_never_writes_through_a_symlink(tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    target = tmp_path / "out" / "events.csv"
    target.parent.mkdir()
    (target.parent / "events.csv.part").symlink_to(victim)
    for guess in range(3):  # even a temporary name guessed right is refused, not followed
        (target.parent / f".events.csv.{guess}.part").symlink_to(victim)
    with private_file(target) as fh:
        fh.write(NAME.encode())
    assert victim.read_text() == "untouched"
    assert target.read_bytes() == NAME.encode() and not target.is_symlink()


def test_export_files_are_private_while_written_and_none_is_left_when_it_fails(
    named, db_path, tmp_path, monkeypatch
):
    """Defect 4: a failed export left a 0644 `events.csv.part` with names."""
    os.umask(0o022)
    out = tmp_path / "exports"
    (out).mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("untouched")
    (out / "events.csv.part").symlink_to(victim)  # planted where the old code wrote
    seen = []
    real = pd.DataFrame.to_csv

    def failing_to_csv(df, fh, *args, **kwargs):  # type: ignore[no-untyped-def]
        seen.append(stat.S_IMODE(os.fstat(fh.fileno()).st_mode))
        real(df, fh, *args, **kwargs)
        if len(seen) == 2:
            raise OSError(28, "No space left on device")

    monkeypatch.setattr(pd.DataFrame, "to_csv", failing_to_csv)
    code, _, err = named("export", "--names", "--format", "csv", str(out))
    one_error_line(code, err, "exports/contacts.csv", "the disk is full")
    assert seen == [0o600, 0o600]
    # all tables or none: the events written before the failure are not left either
    assert [p.name for p in out.iterdir()] == ["events.csv.part"]
    assert victim.read_text() == "untouched"
    monkeypatch.undo()
    # the export that did not finish is registered all the same
    registered = {Path(p).name for p, _ in named_files(study.open(db_path))}
    assert registered == {"events.csv", "contacts.csv", "participants.csv"}
    code, _, err = named("export", "--names", "--format", "csv", str(out))
    assert code == 0, err
    assert {mode(p) for p in out.iterdir() if not p.is_symlink()} == {0o600}
    assert NAME in (out / "contacts.csv").read_text() and victim.read_text() == "untouched"


def test_annotation_sheet_is_private_registered_and_forgotten(named, db_path, tmp_path):
    """Defect 3: `contacts annotate --out` wrote names world-readable and did not register
    the file, so `forget` left it."""
    os.umask(0o022)
    sheet = tmp_path / "basis.csv"
    code, _, err = named("contacts", "annotate", "--out", str(sheet))
    assert code == 0, err
    assert NAME in sheet.read_text(encoding="utf-8-sig") and mode(sheet) == 0o600
    assert (str(sheet), "annotate") in named_files(study.open(db_path))
    code, out, err = named("forget", NAME)
    assert code == 0 and "1 file(s) with names deleted" in out, err
    assert not sheet.exists()


def test_a_failed_annotation_sheet_leaves_nothing(named, tmp_path, monkeypatch):
    import study.importers.annotate as annotate

    def broken(value):  # type: ignore[no-untyped-def]
        raise OSError(27, "File too large")

    monkeypatch.setattr(annotate, "escape", broken)
    code, _, err = named("contacts", "annotate", "--out", str(tmp_path / "basis.csv"))
    one_error_line(code, err, "basis.csv", "file-size limit")
    assert [p.name for p in tmp_path.iterdir() if "basis" in p.name] == []


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (("contacts", "annotate", "--out", "{tmp}"), "is a folder"),
        (("contacts", "annotate", "--out", "{tmp}/no/such/basis.csv"), "does not exist"),
        (("export", "{tmp}/study.db"), "is a file"),
        (("export", "{tmp}/study.db/sub"), "is not a folder"),
        (("backup", "{tmp}"), "exists"),
        (("backup", "{tmp}/no/such/b.db"), "does not exist"),
        (("report", "--out", "{tmp}/study.db", "--period", "2026-01"), "is a file"),
    ],
)
def test_files_and_folders_in_the_way_are_one_line(named, db_path, tmp_path, args, needle):
    before = all_text(str(db_path))
    code, _, err = named(*(a.format(tmp=tmp_path) for a in args))
    one_error_line(code, err, needle)
    assert sorted(p.name for p in tmp_path.iterdir() if not p.name.startswith("study.db")) == []
    assert all_text(str(db_path)) == before  # nothing registered, nothing written


def test_an_export_over_the_file_size_limit_is_one_line_and_leaves_nothing(pg_server, tmp_path):
    """Defect 9: an export hitting the file-size limit (ulimit -f) was a traceback. On a
    PostgreSQL study, so only the export writes local files."""
    url = pg_server.new_database()
    s = study.init(url)
    with s.batch() as b:
        for i in range(2000):
            b.log("note", text=f"{NAME} {i} " + "x" * 80, at="2026-01-01")
    s.close()
    limit = 64 * 1024

    def limited() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    out = tmp_path / "exports"
    import subprocess
    import sys

    res = subprocess.run(
        [sys.executable, "-m", "study.cli.main", "export", "--format", "csv", str(out)],
        capture_output=True,
        text=True,
        env={**os.environ, "STUDY_DB": url},
        preexec_fn=limited,
        timeout=120,
    )
    one_error_line(res.returncode, res.stderr, "events.csv", "file-size limit")
    assert list(out.iterdir()) == []
    assert run_study("export", "--format", "csv", str(out), env={"STUDY_DB": url}).returncode == 0
    assert len(pd.read_csv(out / "events.csv")) == 2000


def test_init_makes_an_existing_empty_file_owner_only(tmp_path):
    """Defect 10: `touch x.db; study init` kept the file at 0644."""
    db = tmp_path / "x.db"
    db.touch(mode=0o644)
    os.chmod(db, 0o644)
    res = run_study("init", "--db", str(db))
    assert res.returncode == 0, res.stderr
    assert mode(db) == 0o600


def test_files_refuse_what_is_not_a_file(tmp_path):
    with pytest.raises(StudyError, match="is a folder"), private_file(tmp_path):
        pass
