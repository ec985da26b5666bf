"""Privacy by default: pseudonyms, `study forget` (down to the raw bytes of the SQLite file),
owner-only files, and the anonymized export."""

from __future__ import annotations

import re
import stat
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import create_engine, select

import study
from study import store
from study.backup import backup, tables_of
from study.errors import StudyError
from study.export import export_tables
from study.privacy import forget, named_files, pseudonym, pseudonymize, register_named_file

NAME = "Anna Beispiel"
EMAIL = "anna.beispiel@example.org"
URL = "https://www.xing.com/profile/Anna_Beispiel"


def all_text(url: str, skip: tuple[str, ...] = ()) -> str:
    """Every value of every table (but ``skip``) as one string."""
    engine = create_engine(store.resolve_url(url))
    with engine.connect() as conn:
        text = repr([conn.execute(select(t)).all() for t in tables_of(conn) if t.name not in skip])
    engine.dispose()
    return text


def populate(s: study.Study) -> dict[str, str]:
    anna = s.add_contact(
        NAME,
        platform="xing",
        basis="knows_personally",
        email=EMAIL,
        profile_url=URL,
        identity=URL,
        first_seen="2025-01-01",
    )
    bernd = s.add_contact(
        "Bernd Muster",
        platform="xing",
        basis="introduced",
        introducer=anna,
        first_seen="2025-01-02",
    )
    with s.batch() as b:
        b.log("request_accepted", contact=anna, direction="in", at="2025-01-01")
        b.log("interaction", contact=anna, channel="call", direction="out", at="2025-01-03")
        b.log("interaction", contact=anna, channel="meeting", direction="in", at="2025-01-04")
        b.log("note", contact=anna, text="Anna is moving to Hamburg", at="2025-01-05")
        b.log(
            "note", contact=bernd, text=f"met via {NAME}, ask anna beispiel later", at="2025-01-06"
        )
        b.log("activity", type="talk", topic=f"with {NAME}", platform="xing", at="2025-01-07")
        b.log("request_accepted", contact=bernd, direction="out", at="2025-01-08")
        b.log("introduction", contact=bernd, at="2025-01-08")
        b.log("vouch_check", contact=bernd, outcome="known", at="2025-01-09")
        b.log(
            "job_lead", lead="L1", channel="referral", stage="lead", contact=anna, at="2025-01-10"
        )
        b.log("contact_removed", contact=anna, at="2025-02-01")
        b.log(
            "note",
            text="imported",
            at="2025-02-02",
            source="Connections.csv",
            source_key=f"{URL}#1",
        )
    return {"anna": anna, "bernd": bernd}


def test_pseudonyms_are_stable_keyed_and_distinct(s, tmp_path):
    p = pseudonym(s, "c-0123456789")
    assert re.fullmatch(r"K-[A-Z2-7]{8}", p)
    assert pseudonym(s, "c-0123456789") == p
    assert pseudonym(s, "c-0123456788") != p
    other = study.init(tmp_path / "other.db")
    assert pseudonym(other, "c-0123456789") != p  # another study's key
    keys = populate(s)
    ev = pseudonymize(s.events(), s)
    assert set(ev.contact.dropna()) == {pseudonym(s, keys["anna"]), pseudonym(s, keys["bernd"])}
    assert set(ev.introducer.dropna()) == {pseudonym(s, keys["anna"])}
    assert ev.contact.isna().sum() == s.events().contact.isna().sum()
    assert len({pseudonym(s, f"c-{i:010x}") for i in range(20_000)}) == 20_000


def test_forget_erases_the_person_and_keeps_the_participants_counts(s, db_url, tmp_path):
    keys = populate(s)
    before = s.events().kind.value_counts()
    assert NAME in all_text(db_url) and EMAIL in all_text(db_url)
    report = tmp_path / "reports" / "2026-11" / "report-names.pdf"
    report.parent.mkdir(parents=True)
    report.write_bytes(b"%PDF with " + NAME.encode())
    register_named_file(s, report, "report")
    backup(s, tmp_path / "b.db")

    done = forget(s, NAME)

    assert done.contact == keys["anna"] and not done.warnings
    assert done.events_deleted == 1  # the note about her
    assert done.texts_redacted == 2  # her name in Bernd's note and in the talk's topic
    assert done.files_deleted == [str(report)] and not report.exists()
    assert done.backups_kept == [str(tmp_path / "b.db")]
    assert [w for w, _ in named_files(s)] == [str(tmp_path / "b.db")]
    after = s.events().kind.value_counts()
    assert after["note"] == before["note"] - 1
    assert after.drop("note").to_dict() == before.drop("note").to_dict()  # the rest stays right
    text = all_text(db_url).lower()
    for trace in (NAME, EMAIL, URL, "Hamburg"):
        assert trace.lower() not in text, trace
    # the former key is only in the record of the erasure (so a restore can apply it again)
    assert keys["anna"] not in all_text(db_url, skip=("erasures",))
    contacts = s.contacts(names=True)
    assert len(contacts) == 2 and NAME not in set(contacts["name"].dropna())
    new = contacts[contacts.key != keys["bernd"]].iloc[0]
    assert new.key != keys["anna"] and pd.isna(new["name"])
    assert (new.basis, new.platform) == ("knows_personally", "xing")
    assert contacts.set_index("key").loc[keys["bernd"]].introducer == new.key
    ev = s.events()
    assert (ev.contact == new.key).sum() == 5  # accepted, 2 interactions, lead, removed
    assert set(ev[ev.kind == "vouch_check"].introducer) == {new.key}
    assert s.find_contact(URL, platform="xing") is None
    with s.engine.connect() as conn:
        erased = conn.execute(select(store.erasures)).mappings().all()
    assert [(r["contact"], r["events_deleted"], r["files_deleted"]) for r in erased] == [
        (keys["anna"], 1, 1)
    ]
    with pytest.raises(StudyError, match="no contact with the key or name"):
        forget(s, NAME)


def test_forget_leaves_no_trace_in_the_raw_sqlite_file(sqlite_study, db_path):
    s = sqlite_study
    populate(s)
    # many more rows, so the erased ones sit in pages among others
    with s.batch() as b:
        for i in range(3000):
            b.log("note", text=f"filler {i} " + "x" * 50, at="2025-03-01")
    raw = db_path.read_bytes() + Path(f"{db_path}-wal").read_bytes()
    assert NAME.encode() in raw and EMAIL.encode() in raw
    forget(s, NAME)
    for suffix in ("", "-wal", "-shm"):
        f = Path(f"{db_path}{suffix}")
        if f.exists():
            data = f.read_bytes()
            for trace in (NAME, EMAIL, URL, "Anna is moving"):
                assert trace.encode() not in data, (suffix, trace)
    assert Path(f"{db_path}-wal").stat().st_size == 0  # checkpointed and truncated
    assert s.count() == 3000 + 12 - 1


def test_forget_from_the_command_line(cli, db_url):
    cli("init")
    s = study.open(db_url)
    populate(s)
    s.add_contact("Carla Doppelt", platform="xing")
    s.add_contact("carla doppelt", platform="linkedin")
    code, out, err = cli("forget", NAME)
    assert code == 0, err
    assert "1 note(s) deleted" in out and "kept under a new unlinked key" in out
    code, _, err = cli("forget", NAME)
    assert code == 2 and err == f"error: contact: no contact with the key or name {NAME!r}\n"
    code, _, err = cli("forget", "Carla Doppelt")
    assert code == 2 and "2 contacts are named" in err and err.count("\n") == 1


def test_the_sqlite_file_its_journal_and_exports_with_names_are_owner_only(
    sqlite_study, db_path, tmp_path
):
    s = sqlite_study
    populate(s)
    for suffix in ("", "-wal", "-shm"):
        mode = stat.S_IMODE(Path(f"{db_path}{suffix}").stat().st_mode)
        assert mode == 0o600, (suffix, oct(mode))
    out = tmp_path / "exports"
    written = s.export(out, "csv", names=True)
    assert stat.S_IMODE(out.stat().st_mode) == 0o700
    assert {stat.S_IMODE(Path(p).stat().st_mode) for p in written} == {0o600}
    assert {p for p, _ in named_files(s)} == set(written)
    forget(s, NAME)
    assert not any(Path(p).exists() for p in written)


def test_anonymized_export_has_no_names_urls_or_free_text(s, tmp_path, cli):
    keys = populate(s)
    s.add_participant("Maria Mustermann")  # a participant id that is a name
    s.log("note", text="x", participant="Maria Mustermann", at="2025-03-01")
    out = tmp_path / "share"
    paths = export_tables(s, out, "csv", anonymized=True)
    text = "".join(Path(p).read_text() for p in paths)
    for trace in (
        NAME,
        "Bernd",
        EMAIL,
        "xing.com",
        "http",
        "Hamburg",
        "imported",
        "Maria",
        "L1",
        keys["anna"],
        keys["bernd"],
        "Connections.csv",
    ):
        assert trace not in text, trace
    events = pd.read_csv(out / "events.csv")
    assert "text" not in events and "topic" not in events and "source_key" not in events
    contacts = pd.read_csv(out / "contacts.csv")
    # pseudonyms of this export alone: consistent inside it, unlike the study's (reports')
    assert set(events.contact.dropna()) == set(contacts.key) and len(set(contacts.key)) == 2
    assert set(contacts.introducer.dropna()) <= set(contacts.key)
    assert not set(contacts.key) & {pseudonym(s, keys["anna"]), pseudonym(s, keys["bernd"])}
    assert set(events.participant) == set(pd.read_csv(out / "participants.csv").participant)
    assert pseudonym(s, "me", prefix="P-") not in set(events.participant)
    assert len(events) == s.count() and sorted(events.id) == list(range(1, s.count() + 1))
    assert set(contacts.columns) == {
        "key",
        "participant",
        "platform",
        "basis",
        "introducer",
        "first_seen",
        "first_seen_estimated",
    }


def test_anonymized_export_can_shift_each_participants_dates(s, tmp_path):
    keys = populate(s)
    s.log("request_accepted", contact=keys["bernd"], direction="in", at="2025-03-01")
    s.log(
        "contact_removed",
        contact=keys["bernd"],
        removed_after="2025-03-10",
        removed_before="2025-04-01",
        at="2025-04-01",
    )
    original = s.events()
    code = export_tables
    code(s, tmp_path / "a", "parquet", anonymized=True, shift_dates=True)
    shifted = pd.read_parquet(tmp_path / "a" / "events.parquet")
    # ids are a random numbering: each date column, as a whole, is moved by one offset
    delta = shifted.occurred_at.min() - original.occurred_at.min()
    assert delta != pd.Timedelta(0) and abs(delta) <= pd.Timedelta(days=182)
    assert delta % pd.Timedelta(days=1) == pd.Timedelta(0)
    assert sorted(zip(shifted.occurred_at - delta, shifted.kind, strict=True)) == sorted(
        zip(original.occurred_at, original.kind, strict=True)
    )
    assert "recorded_at" not in shifted  # its latest value would give the offset away
    checked = set()
    for col in shifted.columns:  # every date column moved by the same offset
        if pd.api.types.is_datetime64_any_dtype(shifted[col]):
            moved = sorted(shifted[col].dropna() - delta)
            assert moved == sorted(original[col].dropna()), col
            if moved:
                checked.add(col)
    assert {"occurred_at", "removed_after", "removed_before"} <= checked
    contacts = pd.read_parquet(tmp_path / "a" / "contacts.parquet")
    assert sorted(contacts.first_seen - delta) == sorted(s.contacts().first_seen)
    with pytest.raises(StudyError, match="only with --anonymized"):
        code(s, tmp_path / "b", "csv", shift_dates=True)
    with pytest.raises(StudyError, match="cannot include names"):
        code(s, tmp_path / "b", "csv", anonymized=True, names=True)


def test_two_anonymized_exports_cannot_be_joined(s, tmp_path):
    """Defect 5: `--shift-dates` could be undone: `recorded_at` against the file's time gave
    the offset, and ids and pseudonyms were the same in every export, so joining two gave it
    too. Now each export has its own pseudonym key and id numbering, and no recording time."""
    populate(s)
    a = pd.read_csv(export_tables(s, tmp_path / "a", "csv", anonymized=True, shift_dates=True)[0])
    b = pd.read_csv(export_tables(s, tmp_path / "b", "csv", anonymized=True)[0])
    assert "recorded_at" not in a and "recorded_at" in b  # real dates: nothing to give away
    assert not set(a.contact.dropna()) & set(b.contact.dropna())
    assert not set(a.participant) & set(b.participant)
    assert not set(a.lead.dropna()) & set(b.lead.dropna())
    joined = a.merge(b, on="id", suffixes=("_a", "_b"))
    assert len(joined) == len(a)  # the same numbers, 1..n, but not the same events
    assert (joined.kind_a != joined.kind_b).any()


def test_anonymized_export_from_the_command_line(cli, tmp_path):
    cli("init")
    cli("contact", "add", NAME, "--platform", "xing", "--url", URL)
    cli("log", "note", "--text", f"lunch with {NAME}")
    code, out, err = cli(
        "export", "--anonymized", "--shift-dates", "--format", "csv", str(tmp_path / "s")
    )
    assert code == 0, err
    assert NAME not in (tmp_path / "s" / "contacts.csv").read_text()
    assert "lunch" not in (tmp_path / "s" / "events.csv").read_text()
    code, _, err = cli("export", "--shift-dates", str(tmp_path / "t"))
    assert code == 2 and err == "error: shift-dates: only with --anonymized\n"


def test_forget_reaches_the_importers_tables(s, db_url, tmp_path):
    """An imported contact: the importers' source keys embed the contact key, their provenance
    and snapshots too; after `forget` the former key is only in the record of the erasure."""
    from study.cli.main import main
    from tests.export_fixtures import CONNECTIONS_2026, MESSAGES, write_zip

    archive = write_zip(
        tmp_path / "Complete_LinkedInDataExport_11-21-2026.zip",
        {"Connections.csv": CONNECTIONS_2026.encode(), "messages.csv": MESSAGES.encode()},
    )
    assert main(["import", "linkedin", str(archive), "--db", db_url, "--no-progress"]) == 0
    anna = s.find_contact("https://www.linkedin.com/in/anna-beispiel", platform="linkedin")
    assert anna and anna in all_text(db_url)
    counts = s.events().kind.value_counts().to_dict()
    backup(s, tmp_path / "before.db")
    forget(s, anna)
    assert s.events().kind.value_counts().to_dict() == counts
    assert anna not in all_text(db_url, skip=("erasures",))
    assert "Anna" not in all_text(db_url) and "anna-beispiel" not in all_text(db_url)
    # re-importing the same archive does not bring back the rows that were re-keyed
    # (the person comes back as a new contact: docs/privacy.md says to remove them first)
    assert main(["import", "linkedin", str(archive), "--db", db_url, "--no-progress"]) == 0
    assert s.count() >= sum(counts.values())
