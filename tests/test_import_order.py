"""Archives in any order: five LinkedIn archives of five eras, imported in random orders, end
with the same contacts, ties and removals as in export-date order; a snapshot that loses most
ties is stopped; the summary names the files an import did not use."""

from __future__ import annotations

import random

import pytest

import study
from study.errors import StudyError
from study.importers import import_path
from tests.export_fixtures import (
    ERA_EXPORTS,
    ERA_PEOPLE,
    linkedin_files,
    vcard,
    write_era,
    write_folder,
    write_zip,
)

ERAS = sorted(ERA_EXPORTS)


@pytest.fixture(scope="module")
def archives(tmp_path_factory):
    folder = tmp_path_factory.mktemp("eras")
    return {era: write_era(folder, era) for era in ERAS}


def outcome(s: study.Study) -> dict[str, object]:
    """What must not depend on the order: contacts (by name and URL, their first day), ties
    (by name and day), removals and re-additions (by name and interval)."""
    con = s.contacts(names=True)
    name = dict(zip(con.key, con.name.fillna("(ghost)"), strict=True))
    ev = s.events()
    acc = ev[ev.kind == "request_accepted"]
    removed = ev[ev.kind == "contact_removed"]
    return {
        "contacts": sorted(
            (n, u, d.date().isoformat())
            for n, u, d in zip(
                con.name.fillna("(ghost)"),
                con.profile_url.fillna(""),
                con.first_seen,
                strict=True,
            )
        ),
        "ties": sorted(
            (name[c], t.date().isoformat(), src)
            for c, t, src in zip(acc.contact, acc.occurred_at, acc.source, strict=True)
        ),
        "removals": sorted(
            (name[c], a.date().isoformat(), b.date().isoformat(), t.isoformat())
            for c, a, b, t in zip(
                removed.contact,
                removed.removed_after,
                removed.removed_before,
                removed.occurred_at,
                strict=True,
            )
        ),
    }


def import_in(tmp_path, archives, order, tag) -> dict[str, object]:
    s = study.init(tmp_path / f"{tag}.db")
    for era in order:
        import_path(s, "linkedin", archives[era])
    result = outcome(s)
    s.close()
    return result


def test_export_date_order_gives_the_expected_history(tmp_path, archives):
    got = import_in(tmp_path, archives, ERAS, "dated")
    people = {f"{f} {last}" for f, last, *_ in ERA_PEOPLE}
    assert {n for n, _u, _d in got["contacts"]} == people | {"(ghost)"}
    # URLs came with the 2023 format; Otto was gone by then
    assert all(
        u.startswith("https://www.linkedin.com/in/")
        for n, u, _d in got["contacts"]
        if n not in ("(ghost)", "Otto Alt")
    )
    assert [(n, a, b) for n, a, b, _t in got["removals"]] == [
        ("Bernd Muster", "2021-03-15", "2023-05-10"),
        ("Dieter Test", "2023-05-10", "2024-04-02"),
        ("Otto Alt", "2021-03-15", "2023-05-10"),
    ]
    readded = [t for t in got["ties"] if t[2] == "linkedin:snapshots"]
    assert [(n, day) for n, day, _src in readded] == [("Bernd Muster", "2023-10-21")]


def test_twenty_random_orders_end_as_export_date_order(tmp_path, archives):
    """Measured: newest first made 38 contacts (10 twice, with and without URL) and no
    removal; oldest first 27 contacts and 2 removals."""
    expected = import_in(tmp_path, archives, ERAS, "dated")
    rng = random.Random(17)
    orders = {tuple(ERAS[::-1])}
    while len(orders) < 20:
        orders.add(tuple(rng.sample(ERAS, len(ERAS))))
    for i, order in enumerate(sorted(orders)):
        assert import_in(tmp_path, archives, order, f"o{i}") == expected, order


def test_an_older_archive_imported_later_narrows_a_removal_and_says_so(tmp_path, archives):
    s = study.init(tmp_path / "s.db")
    import_path(s, "linkedin", archives[2021])
    import_path(s, "linkedin", archives[2026])
    first = s.events(kind="contact_removed")
    assert [str(d.date()) for d in first.removed_before] == ["2026-11-01"] * 2  # Otto, Dieter
    summary = import_path(s, "linkedin", archives[2023])
    assert any("re-derived from the 3 linkedin snapshots" in n for n in summary.notes)
    assert any("narrowed" in n for n in summary.notes)
    now = s.events(kind="contact_removed")
    assert sorted(str(d.date()) for d in now.removed_before) == [
        "2023-05-10",  # Otto: gone by the 2023 export
        "2023-05-10",  # Bernd: gone by 2023, back by 2026 (a re-addition)
        "2026-11-01",  # Dieter: still in 2023
    ]
    everything = s.events(kind="contact_removed", superseded=True)
    assert len(everything) == 5  # append-only: the narrowed removals stay, superseded
    assert s.count("contact_removed") == 5


def test_an_invitation_to_a_contact_already_in_the_study_is_matched(tmp_path, archives):
    """Measured: invitations of a 2023 archive to people already in the study were skipped
    as "not among the connections"."""
    s = study.init(tmp_path / "s.db")
    import_path(s, "linkedin", archives[2026])
    summary = import_path(s, "linkedin", archives[2023])
    assert not any("invitation" in reason for _f, reason in summary.skipped)
    sent = s.events(kind="request_sent")
    con = s.contacts(names=True).set_index("key")
    assert [con.loc[k, "name"] for k in sent.contact] == ["Fritz Geist"]


# a snapshot that loses most ties -----------------------------------------------------------
def test_a_header_only_connections_file_stops_with_both_counts(tmp_path):
    s = study.init(tmp_path / "s.db")
    full = write_zip(tmp_path / "Basic_LinkedInDataExport_01-10-2026.zip", linkedin_files())
    import_path(s, "linkedin", full)
    empty = {
        "Connections.csv": b"First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
    }
    later = write_zip(tmp_path / "Basic_LinkedInDataExport_02-10-2026.zip", empty)
    with pytest.raises(StudyError, match=r"has 0 linkedin ties and would remove 5 of the 5 live"):
        import_path(s, "linkedin", later)
    assert s.count("contact_removed") == 0
    import_path(s, "linkedin", later, allow_mass_removal=True)
    assert s.count("contact_removed") == 5


def test_an_empty_vcard_file_after_a_full_export_stops(tmp_path, cli):
    """Measured: an empty vCard file logged contact_removed for every XING contact (exit 0)."""

    full = write_folder(
        tmp_path / "xing1",
        {f"{n}.vcf": vcard(n, "Muster", url=f"https://www.xing.com/profile/{n}") for n in "ABC"},
    )
    empty = tmp_path / "empty.vcf"
    empty.write_bytes(b"")
    cli("init")
    assert cli("import", "xing", str(full), "--export-date", "2026-10-01")[0] == 0
    code, out, err = cli("import", "xing", str(empty), "--export-date", "2026-11-01")
    assert code == 2 and err.count("\n") == 1
    assert (
        "0 xing ties and would remove 3 of the 3 live ones" in err and "--allow-mass-removal" in err
    )
    with study.open(cli.db) as s:
        assert s.count("contact_removed") == 0
    # losing one tie of three is an ordinary export
    one_less = write_folder(
        tmp_path / "xing2",
        {f"{n}.vcf": vcard(n, "Muster", url=f"https://www.xing.com/profile/{n}") for n in "AB"},
    )
    assert cli("import", "xing", str(one_less), "--export-date", "2026-11-01")[0] == 0
    with study.open(cli.db) as s:
        assert s.count("contact_removed") == 1


# the files an import did not use -------------------------------------------------------------
def test_the_summary_lists_the_archive_files_it_did_not_use(tmp_path):
    s = study.init(tmp_path / "s.db")
    files = {**linkedin_files(extra=False), "Ad_Targeting.csv": b"a\n1\n", "Rich_Media.csv": b"x\n"}
    summary = import_path(s, "linkedin", write_zip(tmp_path / "a.zip", files))
    text = summary.render()
    assert "not used: Ad_Targeting.csv, Rich_Media.csv" in text
