"""XING vCards: 2.1 with a CHARSET per field, quoted-printable, folders compared as snapshots."""

from __future__ import annotations

import datetime as dt

import pytest

import study
from study.importers import import_path
from study.importers.textfile import ImportFileError
from study.importers.xing import parse_vcards
from tests.export_fixtures import vcard


def _folder(tmp_path, name, cards):
    d = tmp_path / name
    d.mkdir()
    for i, c in enumerate(cards):
        (d / f"card{i}.vcf").write_bytes(c)
    return d


def test_vcard_21_charsets_and_quoted_printable():
    data = (
        vcard("Jörg", "Müller", org="Bäckerei Süß", title="Meister", qp=True)
        + vcard("Zoë", "Ørsted", charset="UTF-8", url="https://www.xing.com/profile/Zoe_Orsted")
        + b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN;ENCODING=QUOTED-PRINTABLE;CHARSET=ISO-8859-1:Hans=20Sch=\r\n"
        b"=F6n\r\nNOTE:folded\r\n  line\r\nEND:VCARD\r\n"
    )
    cards = parse_vcards(data, "x.vcf")
    assert [c.first("FN") for c in cards] == ["Jörg Müller", "Zoë Ørsted", "Hans Schön"]
    assert cards[0].first("ORG") == "Bäckerei Süß"
    assert cards[2].first("NOTE") == "folded line"


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"BEGIN:VCARD\r\nFN:A\r\n", "x.vcf line 1: the last card has no END:VCARD"),
        (b"FN:A\r\n", "x.vcf line 1: FN outside a card"),
        (
            b"BEGIN:VCARD\r\nFN;CHARSET=UTF-8:\xff\r\nEND:VCARD\r\n",
            "x.vcf line 2 column FN: bytes not valid",
        ),
        (
            b"BEGIN:VCARD\r\nFN;CHARSET=klingon:A\r\nEND:VCARD\r\n",
            "x.vcf line 2 column FN: unknown CHARSET",
        ),
        (b"BEGIN:VCARD\r\nnonsense\r\nEND:VCARD\r\n", "x.vcf line 2: a vCard line without ':'"),
    ],
)
def test_vcard_errors(data, message):
    with pytest.raises(ImportFileError) as e:
        parse_vcards(data, "x.vcf")
    assert str(e.value).startswith(message)


def test_xing_folders_as_snapshots(s, tmp_path):
    first = _folder(
        tmp_path,
        "2026-05",
        [
            vcard(
                "Anna",
                "Beispiel",
                org="Muster GmbH",
                url="https://www.xing.com/profile/Anna_Beispiel",
            ),
            vcard("Bernd", "Muster", org="Acme"),
            vcard("Jörg", "Müller", qp=True),
        ],
    )
    sm = import_path(s, "xing", first, export_date=dt.date(2026, 5, 1))
    assert sm.contacts_added == 3 and sm.total_added == 0
    c = s.contacts(names=True).set_index("name")
    assert c.first_seen_estimated.all()
    assert (c.first_seen.dt.date == dt.date(2026, 5, 1)).all()
    assert set(c.platform) == {"xing"}
    # the same folder again: nothing new
    assert import_path(s, "xing", first, export_date=dt.date(2026, 5, 1)).contacts_added == 0
    second = _folder(
        tmp_path,
        "2026-11",
        [
            vcard(
                "Anna", "Beispiel", org="Neu AG", url="https://www.xing.com/profile/Anna_Beispiel"
            ),
            vcard("Jörg", "Müller"),
            vcard("Clara", "Neu"),
        ],
    )
    sm = import_path(s, "xing", second, export_date=dt.date(2026, 11, 1))
    assert sm.contacts_added == 1
    removed = s.events("contact_removed")
    assert list(removed.contact) == [c.loc["Bernd Muster", "key"]]
    assert removed.removed_after.iloc[0].date() == dt.date(2026, 5, 1)
    assert removed.removed_before.iloc[0].date() == dt.date(2026, 11, 1)
    assert removed.occurred_at.iloc[0].date() == dt.date(2026, 8, 1)
    assert "Neu AG" in s.events("note").text.iloc[0]


def test_xing_one_vcf_with_several_cards_and_errors(cli, tmp_path):
    cli("init")
    f = tmp_path / "all.vcf"
    f.write_bytes(vcard("Anna", "Beispiel") + b"BEGIN:VCARD\r\nVERSION:2.1\r\nFN:Broken\r\n")
    code, _, err = cli("import", "xing", str(f))
    assert code == 2 and err == "error: all.vcf line 7: the last card has no END:VCARD\n"
    with study.open(cli.db) as st:
        assert len(st.contacts()) == 0
    code, out, _ = cli("import", "xing", str(f), "--skip-bad-rows")
    assert code == 0 and "skipped row: all.vcf line 7" in out
    empty = tmp_path / "empty"
    empty.mkdir()
    code, _, err = cli("import", "xing", str(empty))
    assert code == 2 and "no .vcf files" in err


def test_skip_bad_rows_skips_only_the_bad_card(s, tmp_path):
    f = tmp_path / "all.vcf"
    f.write_bytes(
        vcard("Anna", "Beispiel")
        + b"BEGIN:VCARD\r\nFN;CHARSET=UTF-8:\xff\r\nEND:VCARD\r\n"
        + vcard("Bernd", "Muster")
    )
    with pytest.raises(ImportFileError, match="all.vcf line 8 column FN"):
        import_path(s, "xing", f)
    sm = import_path(s, "xing", f, skip_bad_rows=True)
    assert sm.contacts_added == 2
    assert sm.bad_rows == [
        "all.vcf line 8 column FN: bytes not valid in CHARSET UTF-8 (invalid start byte)"
    ]
