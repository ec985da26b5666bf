"""LinkedIn's archive: each era and quirk, snapshots, idempotence, and every error path."""

from __future__ import annotations

import datetime as dt
import hashlib

import pytest
from sqlalchemy import select

import study
from study.importers import import_path, provenance
from study.importers.linkedin import norm_url
from tests.export_fixtures import (
    CONNECTIONS_2026,
    MESSAGES_OLD,
    PREAMBLE,
    linkedin_files,
    write_folder,
    write_zip,
)

ZIP = "Complete_LinkedInDataExport_11-21-2026.zip"


def _events(s, kind=None):
    return s.events(kind)


def _by_name(s):
    c = s.contacts(names=True)
    return dict(zip(c["name"].fillna(""), c.key, strict=True))


def test_full_archive_under_one_folder(s, tmp_path):
    path = write_zip(tmp_path / ZIP, linkedin_files(), folder=ZIP[:-4])
    summary = import_path(s, "linkedin", path)
    names = _by_name(s)
    assert set(names) == {"Anna Beispiel", "Bernd Muster", "Carla Probe", "Dieter Test", ""}
    c = s.contacts(names=True).set_index("name")
    # trailing spaces stripped, URL normalized (lower-case, no trailing slash), quoted comma kept
    assert c.loc["Bernd Muster", "profile_url"] == "https://www.linkedin.com/in/bernd-muster"
    assert c.loc["Bernd Muster", "company"] == "Acme, Inc."
    assert (c.basis == "unknown").all()
    acc = _events(s, "request_accepted").set_index("contact")
    assert len(acc) == 5  # the ghost row is a tie too
    # direction from Invitations.csv where it covers the connection, else the default "in"
    assert acc.loc[names["Carla Probe"], "direction"] == "out"
    assert acc.loc[names["Dieter Test"], "direction"] == "in"
    assert acc.loc[names["Anna Beispiel"], "occurred_at"] == dt.datetime(
        2022, 3, 14, 11, tzinfo=dt.UTC
    )
    sent = _events(s, "request_sent")
    assert list(sent.contact) == [names["Carla Probe"]] and bool(sent.with_message.iloc[0])
    msgs = _events(s, "interaction")
    m = msgs[msgs.channel == "message"]
    assert sorted(m.direction) == ["in", "out"] and set(m.contact) == {names["Anna Beispiel"]}
    assert set(msgs.channel) == {"message", "recommendation", "endorsement"}
    skipped = {reason for (_f, reason) in summary.skipped}
    assert "sponsored message from 'LinkedIn Member'" in skipped
    assert "draft (not a message)" in skipped
    lead = _events(s, "job_lead")
    assert list(lead.stage) == ["applied"] and list(lead.channel) == ["posting"]
    acts = _events(s, "activity")
    assert sorted(acts.type) == ["comment", "comment", "comment", "group_post"]
    assert 'Er sagte "ja" und' in set(acts.topic)  # broken quoting in Comments.csv survived
    assert list(_events(s, "contact_followed").contact) == [names["Anna Beispiel"]]
    assert list(_events(s, "contact_unfollowed").contact) == [names["Bernd Muster"]]
    assert "Muster Consulting" in _events(s, "note").text.iloc[0]
    # no InMail lead unless asked
    assert not (lead.lead.str.startswith("inmail:")).any()


def test_reimport_adds_nothing_and_trace_points_at_rows(s, tmp_path):
    path = write_zip(tmp_path / ZIP, linkedin_files())
    first = import_path(s, "linkedin", path, inmail_as_leads=True)
    n = s.count()
    assert first.total_added == n and n > 15
    again = import_path(s, "linkedin", path, inmail_as_leads=True)
    assert again.total_added == 0 and again.total_present == n and again.contacts_added == 0
    assert s.count() == n
    # an unpacked copy of the same archive (a different file name) adds nothing either
    folder = write_folder(tmp_path / "unpacked", linkedin_files())
    assert import_path(s, "linkedin", folder, export_date=dt.date(2026, 11, 21)).total_added == 0
    ev = _events(s, "request_accepted")
    row = ev[ev.contact == _by_name(s)["Bernd Muster"]].iloc[0]
    with s.engine.connect() as conn:
        where = provenance.trace(conn, row.source, row.source_key)
    data = linkedin_files()["Connections.csv"]
    assert where == {
        "name": f"{ZIP}:Connections.csv",
        "sha256": hashlib.sha256(data).hexdigest(),
        "importer": "linkedin",
        "line": 6,  # 3 preamble lines, the header, Anna, Bernd
    }


def test_inmail_as_leads(s, tmp_path):
    path = write_zip(tmp_path / ZIP, linkedin_files())
    import_path(s, "linkedin", path, inmail_as_leads=True)
    leads = _events(s, "job_lead").set_index("lead")
    assert leads.loc["inmail:2-jkl", "channel"] == "recruiter"
    assert leads.loc["inmail:2-jkl", "stage"] == "lead"


OLD_2018 = (
    "First Name\tLast Name\tEmail Address\tCompany\tPosition\tConnected On\r\n"
    "Anna\tBeispiel\t\tMuster GmbH\tBeraterin\t10/11/18, 11:47 PM\r\n"
    "Otto\tAlt\t\tAlt & Co\tInhaber\t03/02/17, 9:05 AM\r\n"
)
SPREADSHEET = (
    "First Name;Last Name;URL;Email Address;Company;Position;Connected On\r\n"
    "Jürgen;Größe;https://www.linkedin.com/in/juergen;;Straße AG;Leiter;11-Mar-24\r\n"
)


def test_eras_utf16_tab_no_url_and_spreadsheet_copy(s, tmp_path):
    old = write_zip(
        tmp_path / "Basic_LinkedInDataExport_01-05-2019.zip",
        {
            "Connections.csv": b"\xff\xfe" + OLD_2018.encode("utf-16-le"),
            "Messages.csv": MESSAGES_OLD.encode(),
        },
    )
    summary = import_path(s, "linkedin", old)
    names = _by_name(s)
    assert set(names) == {"Anna Beispiel", "Otto Alt"}
    acc = _events(s, "request_accepted").set_index("contact")
    # 11:47 PM in Berlin (study time zone) is 22:47 UTC
    assert acc.loc[names["Anna Beispiel"], "occurred_at"] == dt.datetime(
        2018, 10, 11, 21, 47, tzinfo=dt.UTC
    )
    # old Messages.csv: no Profile.csv, so the participant is the most frequent sender...
    # here the only sender is Anna, so her message counts as the participant's own: documented
    assert any("most frequent sender" in n for n in summary.notes)
    sheet = write_folder(tmp_path / "resaved", {"Connections.csv": SPREADSHEET.encode("cp1252")})
    import_path(s, "linkedin", sheet, export_date=dt.date(2024, 4, 1))
    c = s.contacts(names=True).set_index("name")
    assert c.loc["Jürgen Größe", "company"] == "Straße AG"
    assert c.loc["Jürgen Größe", "first_seen"].date() == dt.date(2024, 3, 11)


def test_split_files_at_zip_root(s, tmp_path):
    header = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
    files = {
        "Connections.csv": (
            PREAMBLE + header + "A,One,https://www.linkedin.com/in/a1,,,,01 Jan 2024\n"
        ).encode(),
        "Connections_1.csv": (
            header + "B,Two,https://www.linkedin.com/in/b2,,,,02 Jan 2024\n"
        ).encode(),
        "Connections_2.csv": (header + "C,Three,linkedin.com/in/C3/,,,,03 Jan 2024\n").encode(),
    }
    import_path(s, "linkedin", write_zip(tmp_path / ZIP, files))
    assert sorted(_by_name(s)) == ["A One", "B Two", "C Three"]
    assert s.contacts(names=True).profile_url.tolist()[-1] == "https://www.linkedin.com/in/c3"


def test_url_normalization():
    assert norm_url("HTTP://LinkedIn.com/in/Anna-B/?trk=x") == "https://www.linkedin.com/in/anna-b"
    assert norm_url("www.linkedin.com/in/anna-b/") == "https://www.linkedin.com/in/anna-b"


# snapshots -----------------------------------------------------------------------------------
HEADER = "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
SNAP_N = (
    PREAMBLE
    + HEADER
    + (
        "Anna,Beispiel,https://www.linkedin.com/in/anna-beispiel,,Muster GmbH,Beraterin,14 Mar 2022\n"
        "Erik,Weg,https://www.linkedin.com/in/erik-weg,,Weg AG,Koch,01 Feb 2023\n"
        "Fritz,Geist,https://www.linkedin.com/in/fritz-geist,,Geist KG,Chef,07 Jul 2023\n"
        ",,,,,,14 Mar 2022\n"
    )
)
SNAP_N1 = (
    PREAMBLE
    + HEADER
    + (
        "Anna,Beispiel,https://www.linkedin.com/in/anna-beispiel,,Neu GmbH,Leiterin,14 Mar 2022\n"
        ",,,,,,07 Jul 2023\n"
        ",,,,,,14 Mar 2022\n"
        "Gerd,Neu,https://www.linkedin.com/in/gerd-neu,,,,01 Jun 2026\n"
    )
)


def test_snapshot_diff(s, tmp_path):
    n = write_zip(
        tmp_path / "Complete_LinkedInDataExport_05-21-2026.zip",
        {"Connections.csv": SNAP_N.encode()},
    )
    n1 = write_zip(
        tmp_path / "Complete_LinkedInDataExport_11-21-2026.zip",
        {"Connections.csv": SNAP_N1.encode()},
    )
    import_path(s, "linkedin", n)
    names = _by_name(s)
    assert len(s.contacts()) == 4
    second = import_path(s, "linkedin", n1)
    assert second.contacts_added == 1  # Gerd; Fritz's ghost row is Fritz, not a new tie
    assert len(s.contacts()) == 5
    removed = _events(s, "contact_removed").set_index("contact")
    assert set(removed.index) == {names["Erik Weg"], names["Fritz Geist"]}
    mid = (
        dt.datetime(2026, 5, 21, 10, tzinfo=dt.UTC)
        + (
            dt.datetime(2026, 11, 21, 11, tzinfo=dt.UTC)
            - dt.datetime(2026, 5, 21, 10, tzinfo=dt.UTC)
        )
        / 2
    )
    assert (removed.occurred_at == mid).all()
    assert (removed.removed_after == "2026-05-21").all() and (
        removed.removed_before == "2026-11-21"
    ).all()
    # the old ghost stays alive; Anna's new job is a note and her details are updated
    note = _events(s, "note")
    assert list(note.contact) == [names["Anna Beispiel"]] and "Neu GmbH" in note.text.iloc[0]
    c = s.contacts(names=True).set_index("key")
    assert c.loc[names["Anna Beispiel"], "company"] == "Neu GmbH"
    # re-importing either archive, in any order, adds nothing
    assert import_path(s, "linkedin", n1).total_added == 0
    assert import_path(s, "linkedin", n).total_added == 0
    # the ghost row in a third export still points at Fritz, and nothing is removed twice
    n2 = write_zip(
        tmp_path / "Complete_LinkedInDataExport_11-22-2026.zip",
        {"Connections.csv": SNAP_N1.encode()},
    )
    third = import_path(s, "linkedin", n2)
    assert third.total_added == 0 and third.contacts_added == 0
    assert len(_events(s, "contact_removed")) == 2


def test_ghost_that_disappears_is_removed(s, tmp_path):
    n = write_zip(
        tmp_path / "Complete_LinkedInDataExport_05-21-2026.zip",
        {"Connections.csv": SNAP_N.encode()},
    )
    gone = SNAP_N.replace(",,,,,,14 Mar 2022\n", "")
    n1 = write_zip(
        tmp_path / "Complete_LinkedInDataExport_11-21-2026.zip", {"Connections.csv": gone.encode()}
    )
    import_path(s, "linkedin", n)
    ghost = _by_name(s)[""]
    import_path(s, "linkedin", n1)
    assert list(_events(s, "contact_removed").contact) == [ghost]


# errors ---------------------------------------------------------------------------------------
def _bad(tmp_path, connections: bytes):
    return write_zip(tmp_path / ZIP, {**linkedin_files(), "Connections.csv": connections})


@pytest.mark.parametrize(
    ("connections", "message"),
    [
        (
            (PREAMBLE + HEADER + "Anna,B,https://www.linkedin.com/in/a,,,,32 Nov 2022\n").encode(),
            f"{ZIP}:Connections.csv line 5 column 7 (connected on): '32 Nov 2022' is not a valid date",
        ),
        (
            (HEADER + "Anna,B,https://www.linkedin.com/in/a,,,,\n").encode(),
            f"{ZIP}:Connections.csv line 2 column 7 (connected on): missing date",
        ),
        (
            b"First Name,Last Name,URL\nAnna,B,x\n",
            f"{ZIP}:Connections.csv line 1: no header line naming the columns first name, last name, connected on",
        ),
        (
            (HEADER + "Anna,B,https://www.linkedin.com/in/a,,,,21 Nov 2025\n").encode()
            + b"\xc3\xa9\xff,,,,,,1 Jan 2024\n",
            f"{ZIP}:Connections.csv line 3 column 3 (byte): byte 0xFF is not valid UTF-8",
        ),
        (
            (HEADER + "Anna,B,https://www.linkedin.com/in/a,,Foo, Bar,CEO,21 Nov 2025\n").encode(),
            f"{ZIP}:Connections.csv line 2 column 8: 8 cells where the header has 7",
        ),
        (
            (HEADER + "Anna,B,https://www.linkedin.com/in/a,,,,21 Nov 2099\n").encode(),
            f"{ZIP}:Connections.csv line 2 column 7 (connected on): '21 Nov 2099' lies in the future",
        ),
    ],
    ids=["bad-date", "no-date", "missing-column", "bad-bytes", "unquoted-comma", "future"],
)
def test_errors_exit_2_one_line_nothing_written(cli, tmp_path, connections, message):
    cli("init")
    code, out, err = cli("import", "linkedin", str(_bad(tmp_path, connections)))
    assert code == 2
    assert err.count("\n") == 1 and err.startswith("error: " + message), err
    with study.open(cli.db) as st:
        assert st.count() == 0
    code, out, _ = cli("contacts", "--format", "csv")
    assert out.strip().count("\n") == 0


def test_skip_bad_rows_imports_the_rest_and_lists_them(cli, tmp_path):
    cli("init")
    data = (
        HEADER
        + "Anna,B,https://www.linkedin.com/in/a,,,,32 Nov 2022\n"
        + "Bea,C,https://www.linkedin.com/in/b,,,,01 Nov 2022\n"
        + "Cem,D,https://www.linkedin.com/in/c,,Foo, Bar,CEO,21 Nov 2025\n"
    ).encode()
    code, out, err = cli("import", "linkedin", str(_bad(tmp_path, data)), "--skip-bad-rows")
    assert code == 0, err
    assert "skipped row: " + f"{ZIP}:Connections.csv line 2 column 7 (connected on)" in out
    assert f"{ZIP}:Connections.csv line 4 column 8" in out
    code, out, _ = cli("contacts", "--names", "--format", "csv")
    assert "Bea C" in out and "Anna" not in out and "Cem" not in out


def test_dry_run_writes_nothing(cli, tmp_path):
    cli("init")
    code, out, _ = cli(
        "import", "linkedin", str(write_zip(tmp_path / ZIP, linkedin_files())), "--dry-run"
    )
    assert code == 0 and out.startswith("dry run (nothing written): 19 events added")
    code, out, _ = cli("contacts", "--format", "csv")
    assert out.strip().count("\n") == 0


def test_not_an_archive(cli, tmp_path):
    cli("init")
    (tmp_path / "x.zip").write_bytes(b"not a zip")
    code, _, err = cli("import", "linkedin", str(tmp_path / "x.zip"))
    assert code == 2 and "not a readable zip file" in err and err.count("\n") == 1
    code, _, err = cli(
        "import", "linkedin", str(write_zip(tmp_path / "e.zip", {"readme.txt": b"hi"}))
    )
    assert code == 2 and "no LinkedIn tables found" in err


def test_unknown_participant(cli, tmp_path):
    cli("init")
    code, _, err = cli(
        "import",
        "linkedin",
        str(write_zip(tmp_path / ZIP, linkedin_files())),
        "--participant",
        "zoe",
    )
    assert code == 2 and "unknown participant 'zoe'" in err


def test_connection_rows_keep_row_column_in_summary_of_tables(s, tmp_path):
    """The importers' own tables exist and hold a snapshot after the first import."""
    import_path(
        s, "linkedin", write_zip(tmp_path / ZIP, {"Connections.csv": CONNECTIONS_2026.encode()})
    )
    with s.engine.connect() as conn:
        snaps = conn.execute(select(provenance.import_snapshots)).all()
        members = conn.execute(select(provenance.snapshot_members)).all()
    assert len(snaps) == 1 and len(members) == 5


def test_connection_back_after_removal_starts_again(s, tmp_path):
    n = write_zip(
        tmp_path / "Complete_LinkedInDataExport_03-01-2026.zip",
        {"Connections.csv": SNAP_N.encode()},
    )
    without = SNAP_N.replace(
        "Erik,Weg,https://www.linkedin.com/in/erik-weg,,Weg AG,Koch,01 Feb 2023\n", ""
    )
    n1 = write_zip(
        tmp_path / "Complete_LinkedInDataExport_05-01-2026.zip",
        {"Connections.csv": without.encode()},
    )
    n2 = write_zip(
        tmp_path / "Complete_LinkedInDataExport_07-01-2026.zip",
        {"Connections.csv": SNAP_N.encode()},
    )
    for p in (n, n1, n2):
        import_path(s, "linkedin", p)
    erik = _by_name(s)["Erik Weg"]
    ev = s.events(["request_accepted", "contact_removed"], contact=erik)
    assert list(ev.kind) == ["request_accepted", "contact_removed", "request_accepted"]
    assert ev.occurred_at.iloc[2].date() == dt.date(2026, 5, 31)


URN_INVITATIONS = (
    "From,To,Sent At,Message,Direction,inviterProfileUrn,inviteeProfileUrn\n"
    'Max Mustermann,Anna Beispiel,"3/10/22, 9:04 AM",Hallo,OUTGOING,'
    "urn:li:fsd_profile:ACoAAA1,urn:li:fsd_profile:ACoAAB2\n"
)


def test_urn_era_invitations_match_by_name_and_export_date_from_contents(s, tmp_path):
    folder = write_folder(
        tmp_path / "my-export",
        {"Connections.csv": SNAP_N.encode(), "Invitations.csv": URN_INVITATIONS.encode()},
    )
    summary = import_path(s, "linkedin", folder)
    anna = _by_name(s)["Anna Beispiel"]
    sent = s.events("request_sent")
    assert list(sent.contact) == [anna] and bool(sent.with_message.iloc[0])
    acc = s.events("request_accepted").set_index("contact")
    assert acc.loc[anna, "direction"] == "out"
    with s.engine.connect() as conn:
        taken = conn.execute(select(provenance.import_snapshots.c.taken_at)).scalar()
    assert taken.date() == dt.date(2023, 7, 7)  # the newest date inside: Fritz's connection
    assert summary.total_added == 5


@pytest.mark.parametrize(
    ("name", "text", "message"),
    [
        (
            "messages.csv",
            "CONVERSATION ID,FROM,SENDER PROFILE URL,TO,DATE,CONTENT\n"
            "c1,Anna Beispiel,,Max,2024-05-14 10:03:27 UTC,hi\nc1,Anna Beispiel,,Max,tomorrow,hi\n",
            "messages.csv line 3 column 5 (date): 'tomorrow' is not a date",
        ),
        (
            "Invitations.csv",
            'From,To,Sent At,Message,Direction\nA,B,"11/19/25, 9:04 PM",,SIDEWAYS\n',
            "Invitations.csv line 2 column 5 (direction): 'SIDEWAYS' is not INCOMING or OUTGOING",
        ),
        (
            "Member_Follows.csv",
            "Date,FullName,Status\n2024-01-10,Anna Beispiel,Maybe\n",
            "Member_Follows.csv line 2 column 3 (status): 'maybe' is not Active or Unfollow",
        ),
        (
            "Comments.csv",
            "Date,Link,Message\n2024-02-31 10:00:00,x,hi\n",
            "Comments.csv line 2 column 1 (date): '2024-02-31 10:00:00' is not a valid date",
        ),
        (
            "messages.csv",
            "CONVERSATION ID,FROM,DATE\nc1,Anna,2024-05-14 10:03:27 UTC\n",
            "messages.csv line 1: no header line naming the columns from, to, date",
        ),
    ],
)
def test_errors_in_other_tables(cli, tmp_path, name, text, message):
    cli("init")
    path = write_zip(tmp_path / ZIP, {**linkedin_files(), name: text.encode()})
    code, _, err = cli("import", "linkedin", str(path))
    assert (
        code == 2
        and err == f"error: {ZIP}:{message}\n"
        or err.startswith(f"error: {ZIP}:{message}")
    ), err
    with study.open(cli.db) as st:
        assert st.count() == 0 and len(st.contacts()) == 0


def test_removal_interval_fields(s):
    k = s.add_contact("Anna", platform="xing")
    with pytest.raises(study.ValidationError, match="removed_before: 2025-01-01 precedes"):
        s.log("contact_removed", contact=k, removed_after="2026-01-01", removed_before="2025-01-01")
    s.log(
        "contact_removed",
        contact=k,
        at="2026-02-01",
        removed_after="2026-01-01",
        removed_before="2026-03-01",
    )
    ev = s.events("contact_removed")
    assert ev.removed_after.iloc[0].date() == dt.date(2026, 1, 1)


def test_two_exports_of_one_day_merge_their_snapshot(s, tmp_path):
    day = "11-21-2026"
    a = write_zip(
        tmp_path / f"Basic_LinkedInDataExport_{day}.zip", {"Connections.csv": SNAP_N.encode()}
    )
    only_gerd = HEADER + "Gerd,Neu,https://www.linkedin.com/in/gerd-neu,,,,01 Jun 2026\n"
    b = write_zip(
        tmp_path / f"Complete_LinkedInDataExport_{day}.zip", {"Connections.csv": only_gerd.encode()}
    )
    import_path(s, "linkedin", a)
    import_path(s, "linkedin", b)
    with s.engine.connect() as conn:
        snaps = conn.execute(select(provenance.import_snapshots)).all()
        members = conn.execute(select(provenance.snapshot_members)).all()
    assert len(snaps) == 1 and len(members) == 5
    assert s.count("contact_removed") == 0
