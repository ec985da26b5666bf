"""`study forget` leaves nothing of the name behind: not in lead ids or any other free text,
not in the importers' file names, not in files written with names (exports, annotation sheets,
reports), not after a restore; checked byte for byte (issue 18, defects 1 and 2)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

import study
from study.backup import backup, restore
from study.privacy import named_files, register_named_file
from study.redact import Person
from tests.export_fixtures import vcard, write_folder
from tests.test_privacy import all_text

FIRST, LAST = "Zebulon", "Quargelmeier"
NAME = f"{FIRST} {LAST}"
EMAIL = "z.quargelmeier@example.org"
URL = "https://www.xing.com/profile/Zebulon_Quargelmeier"
#: Every spelling of the person a byte search looks for (their first name alone is unusual
#: enough here to count as theirs).
TRACES = re.compile(rb"zebulon|quargelmeier|z\.quargel", re.IGNORECASE)


def traces(data: bytes) -> list[bytes]:
    return TRACES.findall(data)


def zebulon_study(cli, tmp_path: Path) -> str:
    """A study where the name has reached every place it can: the contact imported from a
    vCard file named after him, a job lead named after him, notes, a topic, another contact's
    position, exports with names, an annotation sheet, a report run with names, a backup."""
    cli("init")
    folder = write_folder(
        tmp_path / "vcards",
        {
            "Zebulon_Quargelmeier.vcf": vcard(FIRST, LAST, url=URL, org="Quargelmeier GmbH"),
            "Bernd_Muster.vcf": vcard("Bernd", "Muster", title=f"Assistent von {NAME}"),
        },
    )
    code, _, err = cli("import", "xing", str(folder), "--export-date", "2026-01-10")
    assert code == 0, err
    s = study.open(cli.db)
    key = s.find_contact(URL, platform="xing")
    assert key
    s.set_details(key, email=EMAIL)
    for args in (
        ("job_lead", "--lead", f"{NAME} referral", "--channel", "referral", "--stage", "lead"),
        ("job_lead", "--lead", f"{NAME} referral", "--channel", "referral", "--stage", "applied"),
        ("job_lead", "--lead", "other lead", "--channel", "posting", "--stage", "lead"),
        ("note", "--text", "lunch on Friday", "--contact", key),
        ("note", "--text", f"ask quargelmeier, zebulon about {EMAIL}"),
        ("activity", "--type", "talk", "--topic", "talk with Zebulon_Quargelmeier"),
        ("interaction", "--contact", key, "--channel", "call", "--direction", "out"),
    ):
        code, _, err = cli("log", *args, "--at", "2026-01-12")
        assert code == 0, (args, err)
    code, _, err = cli("export", "--names", "--format", "csv", str(tmp_path / "exports" / "a"))
    assert code == 0, err
    code, _, err = cli("export", "--format", "parquet", str(tmp_path / "exports" / "b"))
    assert code == 0, err
    code, _, err = cli("contacts", "annotate", "--out", str(tmp_path / "exports" / "basis.csv"))
    assert code == 0, err
    report = tmp_path / "reports" / "2026-01" / "study-report-me-2026-01.pdf"
    report.parent.mkdir(parents=True)
    report.write_bytes(b"%PDF-1.7 ... " + NAME.encode())  # as `study report --names` registers
    register_named_file(s, report, "report")
    (tmp_path / "backups").mkdir()
    backup(s, tmp_path / "backups" / "before.db")
    s.close()
    return key


def files_with_names(tmp_path: Path, registered: list[str]) -> list[Path]:
    under = [p for d in ("exports", "reports") for p in (tmp_path / d).rglob("*") if p.is_file()]
    return sorted({*under, *(Path(p) for p in registered if Path(p).is_file())})


def test_forget_leaves_no_byte_of_the_name_in_the_study_or_its_files(sqlite_cli, db_path, tmp_path):
    key = zebulon_study(sqlite_cli, tmp_path)
    raw = db_path.read_bytes() + Path(f"{db_path}-wal").read_bytes()
    assert traces(raw)  # the name is there to begin with, in many places
    s = study.open(db_path)
    registered = [p for p, what in named_files(s) if what != "backup"]
    assert {Path(p).name for p in registered} >= {"contacts.csv", "events.parquet", "basis.csv"}
    s.close()

    code, out, err = sqlite_cli("forget", NAME)

    assert code == 0, err
    assert "backup" in out and "still holds this person" in out  # kept, and said so
    for suffix in ("", "-wal", "-shm"):
        f = Path(f"{db_path}{suffix}")
        if f.exists():
            assert traces(f.read_bytes()) == [], suffix
    for f in files_with_names(tmp_path, registered):
        assert traces(f.read_bytes()) == [], f
    assert not any(Path(p).exists() for p in registered)
    s = study.open(db_path)
    ev = s.events()
    leads = ev[ev.kind == "job_lead"]
    assert leads.lead.nunique() == 2  # his lead is still one lead, under a keyed hash
    assert set(leads.lead) - {"other lead"} == {next(iter(set(leads.lead) - {"other lead"}))}
    assert (leads.lead != "other lead").sum() == 2
    assert key not in all_text(str(db_path), skip=("erasures",))


def test_forget_clears_every_place_on_both_engines(cli, db_url, tmp_path):
    zebulon_study(cli, tmp_path)
    assert traces(all_text(db_url).encode())
    code, _, err = cli("forget", NAME)
    assert code == 0, err
    assert traces(all_text(db_url).encode()) == []
    s = study.open(db_url)
    bernd = s.contacts(names=True).dropna(subset=["display_name"]).iloc[0]
    assert bernd.position == "Assistent von [forgotten]"  # another person's details, redacted
    from sqlalchemy import select

    from study.importers.provenance import import_files

    with s.engine.connect() as conn:
        files = set(conn.execute(select(import_files.c.name)).scalars())
    assert files == {"vcards/[forgotten].vcf", "vcards/Bernd_Muster.vcf"}


def test_restore_keeps_the_register_of_files_with_names(cli, db_url, tmp_path):
    """Defect 2: `restore --force` emptied the register, so an export written after the backup
    was never deleted by `forget`."""
    cli("init")
    code, key, _ = cli("contact", "add", NAME, "--platform", "xing")
    key = key.strip()
    backup(study.open(db_url), tmp_path / "b.db")
    out = tmp_path / "exports"
    code, _, err = cli("export", "--names", "--format", "csv", str(out))
    assert code == 0 and NAME in (out / "contacts.csv").read_text()

    restore(db_url, tmp_path / "b.db", force=True)

    s = study.open(db_url)
    assert str(out / "contacts.csv") in {p for p, _ in named_files(s)}
    code, stdout, err = cli("forget", NAME)
    assert code == 0, err
    assert "3 file(s) with names deleted" in stdout
    assert not (out / "contacts.csv").exists()


def test_restore_forgets_again_and_deletes_the_files_with_names(cli, db_url, tmp_path):
    """A backup older than an erasure: the person comes back with the backup's rows and is
    forgotten again in the same transaction, and files written with names go."""
    cli("init")
    cli("contact", "add", NAME, "--platform", "xing")
    backup(study.open(db_url), tmp_path / "b.db")
    cli("forget", NAME)
    cli("export", "--names", "--format", "csv", str(tmp_path / "e"))
    summary = restore(db_url, tmp_path / "b.db", force=True)
    assert summary.reapplied_erasures == 1
    assert sorted(Path(p).name for p in summary.files_deleted) == [
        "contacts.csv",
        "events.csv",
        "participants.csv",
    ]
    assert traces(all_text(db_url).encode()) == []
    s = study.open(db_url)
    from sqlalchemy import select

    from study import store

    with s.engine.connect() as conn:
        assert len(conn.execute(select(store.erasures)).all()) == 1  # merged, not doubled


@pytest.mark.parametrize(
    ("text", "cleared"),
    [
        ("Zebulon Quargelmeier referral", "[forgotten] referral"),
        ("vcards/Zebulon_Quargelmeier.vcf", "vcards/[forgotten].vcf"),
        ("Quargelmeier, Zebulon", "[forgotten]"),
        ("ZEBULONQUARGELMEIER", "[forgotten]"),
        ("zebulon%20quargelmeier", "[forgotten]"),
        ("mail z.quargelmeier@example.org", "mail [forgotten]"),
        ("see xing.com/profile/Zebulon_Quargelmeier", "see [forgotten]"),
        ("Zebulon alone", "Zebulon alone"),  # a first name alone would hit other people
    ],
)
def test_every_spelling_of_the_person_is_found(text, cleared):
    assert Person.of(NAME, EMAIL, URL).redact(text) == cleared


def test_transliterations_and_short_names():
    p = Person.of("Jürgen Müller")
    assert {p.redact(t) for t in ("Juergen_Mueller.vcf", "jurgen muller.vcf")} == {
        "[forgotten].vcf"
    }
    assert p.redact("MÜLLER, JÜRGEN") == "[forgotten]"
    short = Person.of("Li Wu")
    assert short.redact("Oliwurst with Li Wu") == "Oliwurst with [forgotten]"
    assert Person.of("", None, None).redact("anything") == "anything"
