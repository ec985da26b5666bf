"""`study backup` and `study restore`: round trips compare every row of every table, on both
engines and across them, including a backup taken while another process writes."""

from __future__ import annotations

import multiprocessing
import shutil
import sqlite3
import tempfile
import time
from pathlib import Path

import pytest
from sqlalchemy import create_engine, select

import study
from study import store
from study.backup import backup, restore, tables_of
from study.errors import StudyError
from study.privacy import forget, named_files


def dump(url: str) -> dict[str, list[tuple]]:
    """Every row of every table, in primary-key order, as plain values."""
    engine = create_engine(store.resolve_url(url))
    try:
        with engine.connect() as conn:
            out = {}
            for t in tables_of(conn):
                rows = conn.execute(select(t)).all()
                out[t.name] = sorted((tuple(_plain(v) for v in r) for r in rows), key=repr)
            return out
    finally:
        engine.dispose()


def _plain(v):  # type: ignore[no-untyped-def]
    if isinstance(v, dict):
        return tuple(sorted(v.items()))
    return v


def populate(s: study.Study) -> None:
    a = s.add_contact("Anke Manuell", platform="xing", basis="knows_personally", email="a@x.de")
    b = s.add_contact(
        "Bruno Manuell",
        platform="xing",
        basis="introduced",
        introducer=a,
        identity="https://www.xing.com/profile/Bernd_Muster",
        first_seen="2025-01-05",
    )
    c = s.add_contact(
        platform="linkedin", basis="introduced", introducer=b, first_seen="2025-02-01"
    )
    s.add_participant("p2")
    with s.batch() as batch:
        batch.log("request_accepted", contact=b, direction="in", at="2025-01-06")
        batch.log("introduction", contact=b, at="2025-01-06")
        batch.log("vouch_check", contact=b, outcome="known", at="2025-01-07")
        batch.log("interaction", contact=c, channel="call", direction="out", at="2025-02-02")
        batch.log("note", contact=a, text="Anke mentioned a job", at="2025-02-03")
        batch.log(
            "metric",
            name="profile_views",
            value=37,
            period="2025-01-01..2025-01-07",
            platform="xing",
        )
        batch.log(
            "job_lead", lead="L1", channel="referral", stage="lead", contact=a, at="2025-03-01"
        )
        batch.log("activity", type="talk", topic="Netzwerken", platform="xing", at="2025-03-02")
        for i in range(300):
            batch.log(
                "metric",
                name="followers",
                value=i,
                platform="linkedin",
                at=f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}T{i % 24:02d}:00",
                source="Followers.csv",
                source_key=str(i),
            )
        batch.log("note", text="Äöü ß €, 🙂 and 'quotes'", participant="p2", at="2025-03-03")
    # the importers' own tables (provenance, snapshots) are part of a study as well
    from study.cli.main import main
    from tests.export_fixtures import CONNECTIONS_2026, write_zip

    folder = Path(tempfile.mkdtemp(prefix="study-bk-"))
    archive = write_zip(
        folder / "Complete_LinkedInDataExport_11-21-2026.zip",
        {"Connections.csv": CONNECTIONS_2026.encode()},
    )
    assert main(["import", "linkedin", str(archive), "--db", s.url, "--no-progress"]) == 0
    shutil.rmtree(folder)


@pytest.fixture(params=["sqlite", "postgresql"])
def target_url(request, tmp_path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        return str(tmp_path / "restored.db")
    return request.getfixturevalue("pg_server").new_database("r")


def test_round_trip_keeps_every_row_on_and_across_engines(s, db_url, target_url, tmp_path):
    populate(s)
    logged = s.count()
    forget(s, "Anke Manuell")  # an erasure row to carry along
    dest = tmp_path / "backup.db"
    summary = backup(s, dest)
    before = dump(db_url)  # the backup is in the study's register, and so in the backup itself
    assert {"import_files", "import_rows", "snapshot_members"} <= set(before)
    assert summary.rows["events"] == s.count() == logged - 1  # the note about Anke went
    assert dest.stat().st_mode & 0o777 == 0o600
    assert not Path(str(dest) + "-wal").exists()
    assert (str(dest), "backup") in named_files(s)
    assert sqlite3.connect(dest).execute("pragma integrity_check").fetchone() == ("ok",)
    assert dump(str(dest)) == before
    restore(target_url, dest)
    assert dump(target_url) == before
    t = study.open(target_url)
    k = t.contacts().key.iloc[0]
    new_id = t.log("interaction", contact=k, channel="call", direction="in")
    assert new_id == max(r[0] for r in before["events"]) + 1  # ids continue after the restore
    assert t.find_contact("https://www.xing.com/profile/Bernd_Muster", platform="xing")


def test_restore_refuses_a_study_with_data_unless_forced(s, db_url, tmp_path):
    populate(s)
    n, contacts = s.count(), len(s.contacts())
    dest = tmp_path / "b.db"
    backup(s, dest)
    s.log("note", text="written after the backup")
    with pytest.raises(
        StudyError, match=f"already holds {n + 1} events and {contacts} contacts.*--force"
    ):
        restore(db_url, dest)
    assert s.count() == n + 1
    restore(db_url, dest, force=True)
    assert study.open(db_url).count() == n
    with pytest.raises(StudyError, match="exists; choose another name or use --force"):
        backup(s, dest)
    backup(s, dest, force=True)


def test_a_restore_forgets_again_who_was_forgotten_after_the_backup(s, db_url, tmp_path):
    populate(s)
    contacts = len(s.contacts())
    dest = tmp_path / "before-forget.db"
    backup(s, dest)
    forget(s, "Bruno Manuell")
    summary = restore(db_url, dest, force=True)
    assert summary.reapplied_erasures == 1
    named = study.open(db_url).contacts(names=True)
    assert "Bruno Manuell" not in set(named["name"].dropna())
    assert len(named) == contacts


def test_restore_of_something_that_is_not_a_backup(tmp_path, cli):
    cli("init")
    junk = tmp_path / "junk.db"
    junk.write_text("name,company\n")
    code, _, err = cli("restore", str(junk))
    assert code == 2 and err == f"error: {junk} is not a study backup (not a SQLite file)\n"
    empty = tmp_path / "empty.db"
    sqlite3.connect(empty).execute("create table x (a)").connection.commit()
    code, _, err = cli("restore", str(empty))
    assert code == 2 and "is not a study backup" in err and err.count("\n") == 1
    code, _, err = cli("restore", str(tmp_path / "none.db"))
    assert code == 2 and err.startswith("error: no backup at")


def test_backup_and_restore_from_the_command_line(cli, tmp_path):
    cli("init")
    cli("log", "note", "--text", "hello", "--at", "2026-01-01")
    code, out, err = cli("backup", str(tmp_path / "b.db"))
    assert code == 0 and "1 events" in out, err
    code, _, err = cli("backup", str(tmp_path / "b.db"))
    assert code == 2 and "exists" in err
    code, _, err = cli("restore", str(tmp_path / "b.db"))
    assert code == 2 and "already holds 1 events" in err
    code, out, _ = cli("restore", str(tmp_path / "b.db"), "--force")
    assert code == 0 and "restored" in out


def _writer(url: str, stop) -> None:  # type: ignore[no-untyped-def]
    s = study.open(url)
    n = 0
    while not stop.is_set() or n < 5:
        with s.batch() as b:  # ten events per transaction: a backup holds all ten or none
            for i in range(10):
                b.log("note", text=f"{n}:{i}", source="w", source_key=f"{n}:{i}")
        n += 1


@pytest.mark.slow
def test_a_backup_taken_while_another_process_writes_is_a_snapshot(s, db_url, tmp_path):
    populate(s)
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    proc = ctx.Process(target=_writer, args=(db_url, stop))
    proc.start()
    try:
        while s.count(kind="note") < 100:
            time.sleep(0.1)
        copies = []
        for j in range(3):
            dest = tmp_path / f"during-{j}.db"
            backup(s, dest)
            copies.append(dest)
            time.sleep(0.3)
    finally:
        stop.set()
        proc.join(120)
    assert proc.exitcode == 0
    sizes = []
    for dest in copies:
        with study.open(dest) as b:
            notes = b.events(kind="note")
        written = notes[notes.source == "w"]
        batches = written.source_key.str.split(":").str[0].value_counts()
        assert (batches == 10).all(), "a backup holds part of a transaction"
        assert sorted(int(x) for x in batches.index) == list(range(len(batches)))
        sizes.append(len(written))
    assert sizes == sorted(sizes) and sizes[-1] > sizes[0]  # taken while the log grew
    target = str(tmp_path / "restored.db")
    restore(target, copies[-1])
    assert dump(target) == dump(str(copies[-1]))
    assert study.open(db_url).count(kind="note") > sizes[-1]
