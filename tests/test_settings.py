"""Settings are checked before anything is created, a lock on PostgreSQL is waited for only so
long, and a damaged or hostile setting is one line (issue 18, defects 7, 8, 9 and 10)."""

from __future__ import annotations

import sqlite3
import time

import pytest
from sqlalchemy import text

import study
from study.errors import DatabaseError, StudyError, ValidationError
from tests.conftest import run_study
from tests.test_faults import assert_one_error_line


def test_an_invalid_study_tz_creates_nothing(tmp_path):
    """Defect 7: the study was created with the bad zone stored; every later command failed."""
    db = tmp_path / "s.db"
    res = run_study("init", "--db", str(db), env={"STUDY_TZ": "Mars/Olympus"})
    assert_one_error_line(res, "STUDY_TZ: 'Mars/Olympus' is not a time zone")
    assert list(tmp_path.iterdir()) == []
    res = run_study("init", "--db", str(db), "--timezone", "Mars/Olympus")
    assert_one_error_line(res, "timezone: 'Mars/Olympus' is not a time zone")
    assert list(tmp_path.iterdir()) == []
    res = run_study("init", "--db", str(db), env={"STUDY_TZ": "Europe/Vienna"})
    assert res.returncode == 0 and "time zone Europe/Vienna" in res.stdout


def test_init_repairs_a_stored_zone_that_is_not_one_and_never_silently_keeps_another(tmp_path):
    db = tmp_path / "s.db"
    study.init(db).close()
    with sqlite3.connect(db) as c:  # as an older toolkit left it
        c.execute("UPDATE study_meta SET value = 'Mars/Olympus' WHERE key = 'timezone'")
    res = run_study("events", "--db", str(db))
    assert_one_error_line(res, "'Mars/Olympus' is not a time zone", "study init --timezone")
    res = run_study("init", "--db", str(db))
    assert_one_error_line(res, "'Mars/Olympus' is not a time zone")
    res = run_study("init", "--db", str(db), "--timezone", "Europe/Vienna")
    assert res.returncode == 0 and "time zone Europe/Vienna" in res.stdout, res.stderr
    res = run_study("init", "--db", str(db), "--timezone", "Europe/Berlin")
    assert_one_error_line(res, "this study's time zone is Europe/Vienna")
    assert study.open(db).tz.key == "Europe/Vienna"


def test_a_bad_busy_timeout_creates_nothing(tmp_path):
    res = run_study("init", "--db", str(tmp_path / "s.db"), env={"STUDY_BUSY_TIMEOUT": "later"})
    assert_one_error_line(res, "STUDY_BUSY_TIMEOUT: 'later' is not a number")
    assert list(tmp_path.iterdir()) == []


def test_a_held_lock_on_postgresql_ends_in_one_line(pg_server):
    """Defect 8: a lock held by another session made `study log` wait for ever."""
    url = pg_server.new_database()
    s = study.init(url)
    before = s.count()
    holder = s.engine.connect()
    tx = holder.begin()
    holder.execute(text("LOCK TABLE events IN ACCESS EXCLUSIVE MODE"))
    try:
        started = time.monotonic()
        res = run_study("log", "note", "--text", "x", "--db", url, env={"STUDY_BUSY_TIMEOUT": "1"})
        waited = time.monotonic() - started
        assert_one_error_line(res, "lock timeout", "more than 1 s", "STUDY_BUSY_TIMEOUT")
        assert 1 <= waited < 30
    finally:
        tx.rollback()
        holder.close()
    assert s.count() == before
    assert run_study("log", "note", "--text", "x", "--db", url).returncode == 0
    assert s.count() == before + 1


def test_a_study_without_its_pseudonym_key_is_one_line(tmp_path):
    """Defect 9: a study whose pseudonym key was lost was a KeyError traceback."""
    db = tmp_path / "s.db"
    s = study.init(db)
    s.add_contact("Anna Beispiel", platform="xing")
    s.close()
    with sqlite3.connect(db) as c:
        c.execute("DELETE FROM study_meta WHERE key = 'pseudonym_key'")
    # the anonymized export draws a key of its own for each export: it needs no study key
    res = run_study(
        "export", "--anonymized", "--format", "csv", str(tmp_path / "x"), "--db", str(db)
    )
    assert res.returncode == 0, res.stderr
    with pytest.raises(DatabaseError, match="no valid pseudonym key"):
        study.open(db).find_contact("https://x", platform="xing")


def test_a_nul_in_a_participant_id_is_refused_on_both_engines(s):
    """Defect 10: stored on SQLite, a raw DataError on PostgreSQL."""
    with pytest.raises(ValidationError, match="participant: contains a NUL"):
        s.add_participant("an\x00na")
    assert s.participants() == ["me"]


def test_contact_details_have_a_length_limit(s):
    """Defect 10: a 5 MB name was accepted."""
    with pytest.raises(ValidationError, match="name: longer than 1,000 characters"):
        s.add_contact("A" * 5_000_000, platform="xing")
    with pytest.raises(ValidationError, match="position: longer than 1,000 characters"):
        s.add_contact("Anna", platform="xing", position="x" * 1001)
    import pandas as pd

    with pytest.raises(StudyError, match="row 1: name: longer than 1,000"), s.batch() as b:
        b.add_contacts(pd.DataFrame({"platform": ["xing", "xing"], "name": ["a", "b" * 1001]}))
    assert s.contacts().empty


def test_a_backup_of_a_read_only_study_stops_before_writing(tmp_path):
    """Defect 10: the whole backup was written, then the command reported failure."""
    from tests.test_faults import study_cmd

    db = tmp_path / "s.db"
    study.init(db).close()
    db.chmod(0o444)
    res = study_cmd("backup", str(tmp_path / "b.db"), "--db", str(db), unprivileged=True)
    assert_one_error_line(res, "cannot record the files with names", "so nothing was written")
    assert [p.name for p in tmp_path.iterdir() if not p.name.startswith("s.db")] == []


def test_csv_on_stdout_quotes_a_bare_carriage_return(cli):
    """Defect 10: `events --format csv` left a bare CR unquoted, so a CSV reader split it."""
    import csv
    import io

    cli("init")
    cli("log", "note", "--text", "first\rsecond")
    code, out, _ = cli("events", "--format", "csv")
    assert code == 0
    rows = list(csv.DictReader(io.StringIO(out, newline="")))
    assert [r["text"] for r in rows] == ["first\rsecond"]


def test_a_failed_import_leaves_no_empty_tables(cli, db_url, tmp_path):
    """Defect 10: a failed first import left the importers' four tables behind, empty."""
    from sqlalchemy import create_engine, inspect

    from study import store

    cli("init")
    bad = tmp_path / "bad.csv"
    bad.write_text("at,text\nnot a date,hello\n")
    code, _, err = cli("import", "csv", str(bad), "--kind", "note")
    assert code == 2 and "bad.csv line 2" in err
    engine = create_engine(store.resolve_url(db_url))
    tables = set(inspect(engine).get_table_names())
    engine.dispose()
    assert not tables & {"import_files", "import_rows", "import_snapshots", "snapshot_members"}
    good = tmp_path / "good.csv"
    good.write_text("at,text\n2026-01-01,hello\n")
    assert cli("import", "csv", str(good), "--kind", "note")[0] == 0


def test_a_vcard_charset_that_is_not_a_text_encoding_is_one_line(cli, tmp_path):
    cli("init")
    for charset in ("rot13", "zlib", "base64", "hex"):
        f = tmp_path / f"{charset}.vcf"
        f.write_bytes(b"BEGIN:VCARD\r\nFN;CHARSET=" + charset.encode() + b":Anna\r\nEND:VCARD\r\n")
        code, _, err = cli("import", "xing", str(f))
        assert code == 2 and err == (
            f"error: {charset}.vcf line 2 column FN: unknown CHARSET {charset!r}\n"
        )


def test_a_cell_over_a_million_characters_is_named_as_such(cli, tmp_path):
    cli("init")
    f = tmp_path / "long.csv"
    f.write_text("at,text\n2026-01-01," + "x" * 1_000_001 + "\n2026-01-02,fine\n")
    code, _, err = cli("import", "csv", str(f), "--kind", "note")
    assert code == 2 and err == "error: long.csv line 2: a cell longer than a million characters\n"
