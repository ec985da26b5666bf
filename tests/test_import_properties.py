"""Properties of every importer on hostile input: a clear StudyError naming the file, or a
correct import; never another exception, never a partial write; a second import adds nothing."""

from __future__ import annotations

import itertools
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import study
from study.errors import StudyError
from study.importers import import_path
from tests.export_fixtures import PREAMBLE

SETTINGS = settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
_counter = itertools.count()

COLUMNS = ["First Name", "Last Name", "URL", "Email Address", "Company", "Position", "Connected On"]
DATES = st.one_of(
    st.dates(
        min_value=__import__("datetime").date(2003, 5, 5),
        max_value=__import__("datetime").date(2026, 11, 20),
    ).map(lambda d: d.strftime("%d %b %Y")),
    st.dates(
        min_value=__import__("datetime").date(2003, 5, 5),
        max_value=__import__("datetime").date(2018, 12, 31),
    ).map(lambda d: d.strftime("%m/%d/%y, %I:%M %p")),
    st.sampled_from(
        [
            "",
            "32 Nov 2020",
            "11-Mar-24",
            "2024-02-30",
            "yesterday",
            "0/0/00, 0:00 AM",
            "14 Mar 1970",
        ]
    ),
)
CELL = st.text(
    alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=30
)


@pytest.fixture(scope="module")
def shared(tmp_path_factory):
    root = tmp_path_factory.mktemp("props")
    st_ = study.init(root / "study.db")
    yield st_, root
    st_.close()


def _state(s):
    return s.count(), len(s.contacts())


def _check(s, name, path, **options):
    """Import: on error nothing changed and the message names the file; on success a second
    import adds nothing."""
    before = _state(s)
    try:
        summary = import_path(s, name, path, **options)
    except StudyError as exc:
        assert _state(s) == before
        text = str(exc)
        assert "\n" not in text
        assert Path(path).name in text or "participant" in text, text
        return None
    again = import_path(s, name, path, **options)
    assert again.total_added == 0 and again.contacts_added == 0
    return summary


def _folder(root: Path, files: dict[str, bytes]) -> Path:
    d = root / f"case{next(_counter)}"
    d.mkdir()
    for n, data in files.items():
        (d / n).write_bytes(data)
    return d


@SETTINGS
@given(data=st.binary(max_size=2000))
def test_linkedin_arbitrary_bytes(shared, data):
    s, root = shared
    _check(s, "linkedin", _folder(root, {"Connections.csv": data}), export_date=None)


@SETTINGS
@given(
    rows=st.lists(st.tuples(CELL, CELL, st.booleans(), CELL, DATES, st.booleans()), max_size=8),
    encoding=st.sampled_from(["utf-8", "utf-8-sig", "utf-16", "cp1252"]),
    delimiter=st.sampled_from([",", ";", "\t"]),
    preamble=st.booleans(),
    drop=st.sets(st.sampled_from(COLUMNS), max_size=2),
    extra=st.booleans(),
    duplicate=st.booleans(),
    huge=st.booleans(),
)
def test_linkedin_connections_variants(
    shared, rows, encoding, delimiter, preamble, drop, extra, duplicate, huge
):
    import csv
    import io

    s, root = shared
    cols = [c for c in COLUMNS if c not in drop] + (["Extra"] if extra else [])
    buf = io.StringIO()
    w = csv.writer(buf, delimiter=delimiter, lineterminator="\r\n")
    w.writerow(cols)
    lines = []
    for first, last, has_url, company, date, ghost in rows:
        values = {
            "First Name": "" if ghost else first,
            "Last Name": "" if ghost else last,
            "URL": ""
            if ghost or not has_url
            else f"https://www.linkedin.com/in/{abs(hash(first + last))}",
            "Email Address": "",
            "Company": "" if ghost else (company * 5000 if huge else company),
            "Position": "",
            "Connected On": date,
            "Extra": "x",
        }
        lines.append([values[c] for c in cols])
    if duplicate and lines:
        lines.append(lines[0])
    w.writerows(lines)
    text = (PREAMBLE if preamble else "") + buf.getvalue()
    try:
        data = text.encode(encoding)
    except UnicodeEncodeError:
        data = text.encode("utf-8")
    summary = _check(s, "linkedin", _folder(root, {"Connections.csv": data}))
    if summary is not None and not drop & {"First Name", "Last Name", "Connected On"}:
        assert (
            all(r == "the same connection twice in the export" for (_f, r) in summary.skipped)
            or not summary.skipped
        )


@SETTINGS
@given(data=st.binary(max_size=1500), skip=st.booleans())
def test_xing_arbitrary_bytes(shared, data, skip):
    s, root = shared
    _check(s, "xing", _folder(root, {"a.vcf": data}), skip_bad_rows=skip)


@SETTINGS
@given(
    header=st.lists(
        st.sampled_from(["at", "name", "value", "period", "platform", "foo", ""]), max_size=5
    ),
    cells=st.lists(st.lists(CELL, max_size=6), max_size=5),
    kind=st.sampled_from(["metric", "interaction", "activity", "job_lead"]),
    skip=st.booleans(),
)
def test_csv_kinds_arbitrary_tables(shared, header, cells, kind, skip):
    import csv
    import io

    s, root = shared
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(header)
    w.writerows(cells)
    d = _folder(root, {"t.csv": buf.getvalue().encode()})
    _check(s, "csv", d / "t.csv", kind=kind, skip_bad_rows=skip)


@SETTINGS
@given(data=st.binary(max_size=1500))
def test_csv_arbitrary_bytes(shared, data):
    s, root = shared
    d = _folder(root, {"t.csv": data})
    _check(s, "csv", d / "t.csv", kind="metric")


@SETTINGS
@given(
    messages=st.lists(
        st.tuples(
            st.sampled_from(["Max Mustermann", "Anna Beispiel", "LinkedIn Member", "", "Fremd"]),
            st.sampled_from(["Max Mustermann", "Anna Beispiel", "A, B"]),
            DATES,
            CELL,
            st.sampled_from(["INBOX", "DRAFT", "SPONSORED", ""]),
        ),
        max_size=6,
    ),
    old=st.booleans(),
)
def test_linkedin_messages_variants(shared, messages, old):
    import csv
    import io

    s, root = shared
    buf = io.StringIO()
    w = csv.writer(buf)
    head = [
        "CONVERSATION ID",
        "FROM",
        "SENDER PROFILE URL",
        "TO",
        "DATE",
        "SUBJECT",
        "CONTENT",
        "FOLDER",
    ]
    if not old:
        head += ["IS MESSAGE DRAFT"]
    w.writerow(head)
    for i, (frm, to, date, content, folder) in enumerate(messages):
        row = [f"c{i}", frm, "", to, date, content[:3], content, folder]
        if not old:
            row.append("No")
        w.writerow(row)
    conns = (
        "First Name,Last Name,URL,Email Address,Company,Position,Connected On\n"
        "Anna,Beispiel,https://www.linkedin.com/in/anna,,,,01 Jan 2020\n"
    )
    _check(
        s,
        "linkedin",
        _folder(
            root,
            {
                "Connections.csv": conns.encode(),
                ("Messages.csv" if old else "messages.csv"): buf.getvalue().encode(),
            },
        ),
        inmail_as_leads=True,
    )


@SETTINGS
@given(data=st.binary(max_size=800), good=st.booleans())
def test_annotate_in_arbitrary_files(shared, data, good):
    from study.importers.annotate import apply

    s, root = shared
    key = s.add_contact(None, platform="xing")
    if good:
        data = f"key;basis;introducer\r\n{key};none;\r\n".encode("cp1252") + data
    d = _folder(root, {"in.csv": data})
    before = s.contacts().set_index("key").basis.to_dict()
    try:
        apply(s, d / "in.csv")
    except StudyError as exc:
        assert "in.csv" in str(exc) and "\n" not in str(exc)
        assert s.contacts().set_index("key").basis.to_dict() == before
