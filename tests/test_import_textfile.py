"""The shared reader: encodings, delimiters, header lines, quoting, dates."""

from __future__ import annotations

import datetime as dt

import pytest

from study.importers.dates import DateFormatError, parse_when
from study.importers.textfile import ImportFileError, read_table
from tests.export_fixtures import PREAMBLE

HEADER = "First Name,Last Name,URL,Email Address,Company,Position,Connected On"
ROW = 'Jörg ,Ähnlich ,https://www.linkedin.com/in/joerg,,"Müller, Söhne",Chef,21 Nov 2025'
REQ = ["first name", "last name", "connected on"]


def _names(t):
    return [(r.get("first name"), r.get("company"), r.line) for r in t.rows]


TAB_ROW = "Jörg \tÄhnlich \thttps://www.linkedin.com/in/joerg\t\tMüller, Söhne\tChef\t21 Nov 2025"
SEMI_ROW = 'Jörg ;Ähnlich ;https://www.linkedin.com/in/joerg;;"Müller, Söhne";Chef;21 Nov 2025'


@pytest.mark.parametrize(
    ("data", "encoding", "delimiter"),
    [
        ((HEADER + "\n" + ROW + "\n").encode("utf-8"), "utf-8", ","),
        (b"\xef\xbb\xbf" + (HEADER + "\r\n" + ROW + "\r\n").encode("utf-8"), "utf-8-sig", ","),
        (
            b"\xff\xfe"
            + (HEADER.replace(",", "\t") + "\r\n" + TAB_ROW + "\r\n").encode("utf-16-le"),
            "utf-16-le",
            "\t",
        ),
        (
            (HEADER.replace(",", ";") + "\r" + SEMI_ROW + "\r").encode("cp1252"),
            "cp1252",
            ";",
        ),
    ],
    ids=["utf8", "utf8-bom-crlf", "utf16le-bom-tab", "cp1252-semicolon-cr"],
)
def test_encodings_and_delimiters(data, encoding, delimiter):
    t = read_table(data, "Connections.csv", required=REQ)
    assert t.encoding == encoding and t.delimiter == delimiter
    assert _names(t) == [("Jörg ", "Müller, Söhne", 2)]


def test_preamble_found_not_skipped_by_count():
    t = read_table((PREAMBLE + HEADER + "\n" + ROW + "\n").encode(), "C.csv", required=REQ)
    assert t.header_line == 4 and _names(t) == [("Jörg ", "Müller, Söhne", 5)]


def test_lines_of_multiline_records_are_where_they_start():
    data = b'Date,Link,Message\n2024-01-01,x,"a\nb\nc"\n2024-01-02,y,z\n'
    t = read_table(data, "Comments.csv", required=["date", "message"])
    assert [(r.line, r.get("message")) for r in t.rows] == [(2, "a\nb\nc"), (5, "z")]


def test_missing_column_names_file_and_line():
    with pytest.raises(ImportFileError) as e:
        read_table(b"First Name,Last Name\nA,B\n", "Connections.csv", required=REQ)
    assert str(e.value).startswith("Connections.csv line 1: no header line")


def test_bad_utf8_names_line_and_column():
    data = "Date,Link,Message\n2024-01-01,x,schön\n".encode() + b"2024-01-02,y,\xff\n"
    with pytest.raises(ImportFileError) as e:
        read_table(data, "Comments.csv", required=["date"])
    assert "Comments.csv line 3 column 14 (byte)" in str(e.value)


def test_nul_bytes_are_refused():
    with pytest.raises(ImportFileError, match="line 2 .*NUL"):
        read_table(b"Date\n\x00\x01\n", "x.csv", required=["date"])


def test_wrong_cell_count_is_a_bad_row():
    t = read_table(b"a,b,c\n1,2,3\n1,2\n1,2,3,4\n", "x.csv", required=["a"])
    assert len(t.rows) == 1
    assert [(e.line, e.column) for e in t.bad_rows] == [(3, "2"), (4, "4")]


def test_duplicate_known_column():
    with pytest.raises(ImportFileError, match="appears twice"):
        read_table(b"a,a\n1,2\n", "x.csv", required=["a"])


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("21 Nov 2025", dt.date(2025, 11, 21)),
        ("10/11/18, 11:47 PM", dt.datetime(2018, 10, 11, 23, 47)),
        ("11-Mar-24", dt.date(2024, 3, 11)),
        ("2024-05-14 10:03:27 UTC", dt.datetime(2024, 5, 14, 10, 3, 27, tzinfo=dt.UTC)),
        ("2024/02/29 16:22:07 UTC", dt.datetime(2024, 2, 29, 16, 22, 7, tzinfo=dt.UTC)),
        ('"03/14/25, 07:05 PM"', dt.datetime(2025, 3, 14, 19, 5)),
        ("Fri Jan 10 18:25:50 UTC 2025", dt.datetime(2025, 1, 10, 18, 25, 50, tzinfo=dt.UTC)),
        ("Jan 2020", dt.date(2020, 1, 1)),
        ("12/1/24, 12:05 AM", dt.datetime(2024, 12, 1, 0, 5)),
    ],
)
def test_dates(text, expected):
    assert parse_when(text) == expected


@pytest.mark.parametrize(
    "text", ["", "31 Feb 2024", "yesterday", "13/45/24", "2024-13-01", "1 Foo 2024"]
)
def test_bad_dates(text):
    with pytest.raises(DateFormatError):
        parse_when(text)


def test_neither_utf8_nor_windows_1252():
    with pytest.raises(ImportFileError) as e:
        read_table(b"Date\n2024-01-01 \x81\n", "x.csv", required=["date"])
    assert str(e.value) == (
        "x.csv line 2 column 12 (byte): byte 0x81 cannot be decoded (neither UTF-8 nor Windows-1252)"
    )


def test_broken_utf16():
    with pytest.raises(ImportFileError, match="x.csv: cannot decode the bytes as UTF-16-LE"):
        read_table(b"\xff\xfe\x00\xd8a\x00", "x.csv", required=["date"])


def test_an_unterminated_quote_is_a_bad_row_naming_where_it_opened():
    t = read_table(b'a,b\n1,2\n3,"x\n5,6\n7,8\n', "x.csv", required=["a"])
    assert [r.get("a") for r in t.rows] == ["1"]
    assert [(e.line, e.reason) for e in t.bad_rows] == [
        (3, "a quote opened in this record is never closed (it would swallow the rows to the "
            "end of the file)")
    ]  # fmt: skip


def test_columns_equal_but_for_dashes_and_spaces_are_one_column():
    with pytest.raises(ImportFileError, match="'source_key' .*and 'source-key' are the same"):
        read_table(b"a,source_key,source-key\n1,2,3\n", "x.csv", required=["a"],
                   optional=["source_key"])  # fmt: skip
    # columns nobody reads may repeat (LinkedIn's files are what they are)
    t = read_table(b"a,x y,x-y\n1,2,3\n", "x.csv", required=["a"])
    assert [r.get("a") for r in t.rows] == ["1"]
