"""Synthetic platform exports in the formats (and quirks) of the wild. Invented people only."""

from __future__ import annotations

import zipfile
from pathlib import Path

PREAMBLE = (
    "Notes:\n"
    '"When exporting your connection data, you may notice that some of the email addresses are '
    "missing. You will only see email addresses for connections who have allowed their "
    "connections to see or download their email address using this setting https://www.linkedin.com/psettings/privacy/email. "
    'You can learn more here: https://www.linkedin.com/help/linkedin/answer/261"\n'
    "\n"
)

CONNECTIONS_2026 = (
    PREAMBLE + "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
    "Anna,Beispiel,https://www.linkedin.com/in/anna-beispiel,,Muster GmbH,Beraterin,14 Mar 2022\n"
    'Bernd ,Muster ,https://www.linkedin.com/in/Bernd-Muster/,bernd@example.org,"Acme, Inc.",CTO,02 Jan 2023\n'
    "Carla,Probe,https://www.linkedin.com/in/carla-probe,,Probe AG,Einkauf,21 Nov 2025\n"
    ",,,,,,14 Mar 2022\n"
    "Dieter,Test,https://www.linkedin.com/in/dieter-test,,Test KG,Vertrieb,05 May 2024\n"
)

INVITATIONS = (
    "From,To,Sent At,Message,Direction,inviterProfileUrl,inviteeProfileUrl\n"
    'Max Mustermann,Carla Probe,"11/19/25, 9:04 PM","Hallo Carla, wir kennen uns aus Köln.",OUTGOING,'
    "https://www.linkedin.com/in/max-mustermann,https://www.linkedin.com/in/carla-probe\n"
    'Dieter Test,Max Mustermann,"5/4/24, 8:00 AM",,INCOMING,'
    "https://www.linkedin.com/in/dieter-test,https://www.linkedin.com/in/max-mustermann\n"
    'Erika Fremd,Max Mustermann,"11/01/25, 10:00 AM",,INCOMING,'
    "https://www.linkedin.com/in/erika-fremd,https://www.linkedin.com/in/max-mustermann\n"
)

MESSAGES = (
    "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,RECIPIENT PROFILE URLS,DATE,"
    "SUBJECT,CONTENT,FOLDER,ATTACHMENTS,IS MESSAGE DRAFT\n"
    "2-abc,,Anna Beispiel,https://www.linkedin.com/in/anna-beispiel,Max Mustermann,"
    'https://www.linkedin.com/in/max-mustermann,2024-05-14 10:03:27 UTC,,"Hallo Max,\nwie geht es?",INBOX,,No\n'
    "2-abc,,Max Mustermann,https://www.linkedin.com/in/max-mustermann,Anna Beispiel,"
    "https://www.linkedin.com/in/anna-beispiel,2024-05-14 11:00:00 UTC,,Gut!,INBOX,,No\n"
    "2-def,,LinkedIn Member,,Max Mustermann,https://www.linkedin.com/in/max-mustermann,"
    "2024-06-01 09:00:00 UTC,Sponsored,Buy now,INBOX,,No\n"
    "2-ghi,,Max Mustermann,https://www.linkedin.com/in/max-mustermann,Bernd Muster,"
    "https://www.linkedin.com/in/bernd-muster,2024-06-02 09:00:00 UTC,,unfinished,DRAFT,,Yes\n"
    "2-jkl,,Rita Recruiter,https://www.linkedin.com/in/rita-recruiter,Max Mustermann,"
    "https://www.linkedin.com/in/max-mustermann,2024-07-01 08:00:00 UTC,Opportunity at Foo,"
    "Interested?,INBOX,,No\n"
)

# older layout: no RECIPIENT PROFILE URLS, no draft columns, file named Messages.csv
MESSAGES_OLD = (
    "CONVERSATION ID,CONVERSATION TITLE,FROM,SENDER PROFILE URL,TO,DATE,SUBJECT,CONTENT,FOLDER\n"
    "1-old,,Anna Beispiel,https://www.linkedin.com/in/anna-beispiel,Max Mustermann,"
    "2019-03-02 08:00:00 UTC,,Servus,INBOX\n"
)

PROFILE = "First Name,Last Name,Headline\nMax,Mustermann,Berater\n"

RECOMMENDATIONS = (
    "First Name,Last Name,Company,Job Title,Text,Creation Date,Status\n"
    'Anna,Beispiel,Muster GmbH,Beraterin,"Max is great, really.","03/14/25, 07:05 PM",VISIBLE\n'
)

ENDORSEMENTS = (
    "Endorsement Date,Skill Name,Endorser First Name,Endorser Last Name,Endorser Public Url,"
    "Endorsement Status\n"
    "2024/02/29 16:22:07 UTC,Networking,Bernd,Muster,www.linkedin.com/in/bernd-muster,ACCEPTED\n"
)

APPLICATIONS = (
    "Application Date,Contact Email,Contact Phone Number,Company Name,Job Title,Job Url,"
    "Resume Name,Question And Answers\n"
    '"11/19/24, 3:21 PM",max@example.org,,Foo GmbH,Berater,https://www.linkedin.com/jobs/view/1,,\n'
)

SHARES = (
    "Date,ShareLink,ShareCommentary,SharedUrl,MediaUrl,Visibility\n"
    '2024-05-14 10:03:27,https://www.linkedin.com/feed/update/1,"Netzwerken mit Substanz\n'
    'zweite Zeile",,,MEMBER_NETWORK\n'
)

# broken quoting in the free-text column, as some exports have it
COMMENTS = (
    "Date,Link,Message\n"
    '2024-05-15 08:00:00,https://www.linkedin.com/feed/update/2,"Guter Punkt"\n'
    '2024-05-16 09:00:00,https://www.linkedin.com/feed/update/3,"Er sagte "ja" und\n'
    'dann "nein"."\n'
    "2024-05-17 10:00:00,https://www.linkedin.com/feed/update/4,Ohne Anführungszeichen, mit Komma\n"
)

FOLLOWS = (
    "Date,FullName,Status\n2024-01-10,Anna Beispiel,Active\n2024-02-10,Bernd Muster,Unfollow\n"
)

POSITIONS = (
    "Company Name,Title,Description,Location,Started On,Finished On\n"
    "Muster Consulting,Berater,,Köln,Jan 2020,\n"
)


def linkedin_files(connections: str = CONNECTIONS_2026, *, extra: bool = True) -> dict[str, bytes]:
    files = {"Connections.csv": connections.encode("utf-8")}
    if extra:
        files.update(
            {
                "Invitations.csv": INVITATIONS.encode(),
                "messages.csv": MESSAGES.encode(),
                "Profile.csv": PROFILE.encode(),
                "Recommendations_Received.csv": RECOMMENDATIONS.encode(),
                "Endorsement_Received_Info.csv": ENDORSEMENTS.encode(),
                "Jobs/Job Applications.csv": APPLICATIONS.encode(),
                "Shares.csv": SHARES.encode(),
                "Comments.csv": COMMENTS.encode(),
                "Member_Follows.csv": FOLLOWS.encode(),
                "Positions.csv": POSITIONS.encode(),
            }
        )
    return files


def write_zip(path: Path, files: dict[str, bytes], folder: str | None = None) -> Path:
    with zipfile.ZipFile(path, "w") as zf:
        for name, data in files.items():
            zf.writestr(f"{folder}/{name}" if folder else name, data)
    return path


def write_folder(path: Path, files: dict[str, bytes]) -> Path:
    for name, data in files.items():
        p = path / name
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    return path


def vcard(
    name: str,
    last: str,
    *,
    org: str = "",
    title: str = "",
    url: str = "",
    qp: bool = False,
    charset: str = "ISO-8859-1",
) -> bytes:
    """A XING-style vCard 2.1."""
    enc = charset.lower().replace("iso-8859-1", "latin-1")
    lines = [b"BEGIN:VCARD", b"VERSION:2.1", b"PRODID:-//XING AG//XING vCard Export//DE"]
    if qp:
        import quopri

        value = quopri.encodestring(f"{name} {last}".encode(enc)).replace(b"\n", b"=\r\n")
        lines.append(b"FN;CHARSET=" + charset.encode() + b";ENCODING=QUOTED-PRINTABLE:" + value)
    else:
        lines.append(b"FN;CHARSET=" + charset.encode() + b":" + f"{name} {last}".encode(enc))
    lines.append(b"N;CHARSET=" + charset.encode() + b":" + f"{last};{name};;;".encode(enc))
    if org:
        lines.append(b"ORG;CHARSET=" + charset.encode() + b":" + org.encode(enc))
    if title:
        lines.append(b"TITLE;CHARSET=" + charset.encode() + b":" + title.encode(enc))
    if url:
        lines.append(b"URL;TYPE=WORK:" + url.encode())
    lines.append(b"END:VCARD")
    return b"\r\n".join(lines) + b"\r\n"


# five eras of LinkedIn's Connections.csv, for the "archives in any order" test ------------------
#: name, URL slug, connection day, the export years the person is among the connections in
ERA_PEOPLE = [
    ("Ingrid", "Treu", "ingrid-treu", "2015-09-09", (2018, 2021, 2023, 2024, 2026)),
    ("Anna", "Beispiel", "anna-beispiel", "2016-03-01", (2018, 2021, 2023, 2024, 2026)),
    ("Otto", "Alt", "otto-alt", "2017-03-02", (2018, 2021)),
    ("Bernd", "Muster", "bernd-muster", "2018-02-10", (2018, 2021, 2024, 2026)),  # back again
    ("Carla", "Probe", "carla-probe", "2019-05-05", (2021, 2023, 2024, 2026)),
    ("Dieter", "Test", "dieter-test", "2020-07-07", (2021, 2023)),
    ("Erik", "Weg", "erik-weg", "2022-01-20", (2023, 2024, 2026)),
    ("Fritz", "Geist", "fritz-geist", "2023-08-08", (2024, 2026)),
    ("Gisela", "Neu", "gisela-neu", "2025-02-02", (2026,)),
]
#: each era's export day
ERA_EXPORTS = {
    2018: "2018-06-01",
    2021: "2021-03-15",
    2023: "2023-05-10",
    2024: "2024-04-02",
    2026: "2026-11-01",
}


def _era_day(day: str, era: int) -> str:
    import datetime as dt

    d = dt.date.fromisoformat(day)
    if era == 2018:  # "10/11/18, 11:47 PM": with a time of day
        return f"{d.month:02d}/{d.day:02d}/{d.year % 100:02d}, 11:47 PM"
    if era == 2024:
        return d.strftime("%d-%b-%y")
    return d.strftime("%d %b %Y")


def linkedin_era(era: int) -> dict[str, bytes]:
    """The files of one era's archive, in that era's format:

    * 2018: UTF-16 with BOM, tab-separated, no URL column, times of day;
    * 2021: UTF-8, no preamble, no URL column;
    * 2023: UTF-8 with BOM, the ``Notes:`` preamble, URLs; an invitation sent to Fritz, who
      accepted it only after this export;
    * 2024: split tables (``Connections.csv``, ``Connections_1.csv``), ``11-Mar-24`` dates, a
      ghost row;
    * 2026: today's format (preamble, URLs), the same ghost row.
    """
    people = [p for p in ERA_PEOPLE if era in p[4]]
    with_url = era >= 2023
    header = ["First Name", "Last Name", *(["URL"] if with_url else []), "Email Address",
              "Company", "Position", "Connected On"]  # fmt: skip
    rows = []
    for first, last, slug, day, _eras in people:
        url = [f"https://www.linkedin.com/in/{slug}"] if with_url else []
        rows.append([first, last, *url, "", f"{last} GmbH", "Beratung", _era_day(day, era)])
    if era >= 2024:
        rows.append(["", "", "", "", "", "", _era_day("2021-06-06", era)])  # a ghost row
    if era == 2018:
        text = "\r\n".join("\t".join(r) for r in [header, *rows]) + "\r\n"
        return {"Connections.csv": b"\xff\xfe" + text.encode("utf-16-le")}
    lines = [",".join(header), *(",".join(r) for r in rows)]
    if era == 2021:
        return {"Connections.csv": ("\n".join(lines) + "\n").encode()}
    if era == 2024:
        half = 1 + len(rows) // 2
        return {
            "Connections.csv": (PREAMBLE + "\n".join(lines[:half]) + "\n").encode(),
            "Connections_1.csv": ("\n".join([lines[0], *lines[half:]]) + "\n").encode(),
        }
    files = {"Connections.csv": (PREAMBLE + "\n".join(lines) + "\n").encode()}
    if era == 2023:
        files["Connections.csv"] = b"\xef\xbb\xbf" + files["Connections.csv"]
        files["Invitations.csv"] = (
            b"From,To,Sent At,Message,Direction,inviterProfileUrl,inviteeProfileUrl\n"
            b'Max Mustermann,Fritz Geist,"5/1/23, 9:04 PM",,OUTGOING,,\n'
        )
    return files


def write_era(folder: Path, era: int) -> Path:
    """One era's archive as LinkedIn names it (the export date in the zip's name)."""
    month, day, year = ERA_EXPORTS[era][5:7], ERA_EXPORTS[era][8:10], ERA_EXPORTS[era][:4]
    name = f"Basic_LinkedInDataExport_{month}-{day}-{year}.zip"
    return write_zip(folder / name, linkedin_era(era))
