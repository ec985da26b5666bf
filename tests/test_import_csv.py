"""`study import csv --kind KIND` (our column format) and the annotate round trip."""

from __future__ import annotations

import csv
import io

import pytest

import study


@pytest.fixture
def inited(cli):
    cli("init")
    return cli


def _write(tmp_path, name, text, encoding="utf-8"):
    p = tmp_path / name
    p.write_bytes(text.encode(encoding))
    return str(p)


def test_metric_profile_views_from_the_statistics_page(inited, tmp_path):
    path = _write(
        tmp_path,
        "views.csv",
        "name,value,period,platform\n"
        "profile_views,37,2026-11-01..2026-11-07,xing\n"
        "profile_views,52,2026-11-08..2026-11-14,xing\n",
    )
    code, out, err = inited("import", "csv", path, "--kind", "metric")
    assert code == 0, err
    assert out.startswith("2 events added, 0 already present")
    code, out, _ = inited("import", "csv", path, "--kind", "metric")
    assert out.startswith("0 events added, 2 already present")
    with study.open(inited.db) as s:
        ev = s.events("metric")
    assert list(ev.value) == [37.0, 52.0] and str(ev.period_end.iloc[1].date()) == "2026-11-14"


def test_job_leads_vouch_checks_and_interactions(inited, tmp_path):
    code, out, _ = inited(
        "contact", "add", "Anna Beispiel", "--platform", "xing", "--basis", "met_in_person"
    )
    anna = out.strip()
    code, out, _ = inited(
        "contact",
        "add",
        "Bernd Muster",
        "--platform",
        "xing",
        "--basis",
        "introduced",
        "--introducer",
        anna,
    )
    bernd = out.strip()
    leads = _write(
        tmp_path,
        "leads.csv",
        f"lead;at;contact;channel;stage\r\nL1;2026-10-01;{anna};referral;lead\r\nL1;2026-10-15;;;applied\r\n",
        "cp1252",
    )
    code, out, err = inited("import", "csv", leads, "--kind", "job_lead")
    assert code == 0, err
    vouch = _write(tmp_path, "vouch.csv", f"at,contact,outcome\n2026-10-02,{bernd},unknown\n")
    assert inited("import", "csv", vouch, "--kind", "vouch_check")[0] == 0
    inter = _write(
        tmp_path,
        "calls.csv",
        f"at\tcontact\tchannel\tdirection\n2026-10-03 14:30\t{anna}\tcall\tout\n",
    )
    assert inited("import", "csv", inter, "--kind", "interaction")[0] == 0
    with study.open(inited.db) as s:
        lead = s.events("job_lead")
        assert list(lead.stage) == ["lead", "applied"] and list(lead.contact) == [anna, anna]
        assert s.events("vouch_check").introducer.iloc[0] == anna
        assert s.events("interaction").occurred_at.iloc[0].hour == 12  # 14:30 CEST = 12:30 UTC


@pytest.mark.parametrize(
    ("kind", "text", "message"),
    [
        (
            "metric",
            "name,value,period\nprofile_views,-3,2026-11-01..2026-11-07\n",
            "views.csv line 2 column 2 (value): '-3' is below the minimum 0",
        ),
        (
            "metric",
            "name,value,colour\nfollowers,3,red\n",
            "views.csv line 1 column 3 (colour): 'colour' is not a column of metric",
        ),
        ("metric", "name,value\nfollowers,3\n", "views.csv line 1: the column 'at' is missing"),
        (
            "metric",
            "at,name,value\n2026-11-01,followers,3\n",
            "views.csv line 2: platform: required for metric",
        ),
        (
            "interaction",
            "at,contact,channel,direction\n2026-01-01,c-nobody,call,out\n",
            "views.csv line 2 column 2 (contact): unknown contact 'c-nobody'",
        ),
        (
            "interaction",
            "at,contact,channel,direction\n,c-x,call,out\n",
            "views.csv line 2 column 1 (at): missing date",
        ),
        (
            "metric",
            "at,name,value\n2026-13-01,followers,3\n",
            "views.csv line 2 column 1 (at): '2026-13-01' is not a date or time",
        ),
    ],
)
def test_csv_errors(inited, tmp_path, kind, text, message):
    path = _write(tmp_path, "views.csv", text)
    code, out, err = inited("import", "csv", path, "--kind", kind)
    assert code == 2 and err.startswith("error: " + message) and err.count("\n") == 1, err
    with study.open(inited.db) as s:
        assert s.count() == 0


def test_csv_one_bad_row_writes_nothing(inited, tmp_path):
    path = _write(
        tmp_path,
        "f.csv",
        "at,name,value,platform\n2026-11-01,followers,3,xing\n2026-11-02,followers,x,xing\n",
    )
    code, _, err = inited("import", "csv", path, "--kind", "metric")
    assert code == 2 and "f.csv line 3 column 3 (value): 'x' is not a number" in err
    with study.open(inited.db) as s:
        assert s.count() == 0
    code, out, _ = inited("import", "csv", path, "--kind", "metric", "--skip-bad-rows")
    assert code == 0 and "1 events added" in out and "skipped row: f.csv line 3" in out


# annotate -------------------------------------------------------------------------------------
def test_annotate_round_trip_with_german_spreadsheet(inited, tmp_path):
    keys = {}
    for name in ("Anna Beispiel", "Bernd Muster", "=cmd|' /C calc'!A0", "Jörg Größe"):
        keys[name] = inited("contact", "add", name, "--platform", "linkedin")[1].strip()
    done = inited(
        "contact", "add", "Done Already", "--platform", "xing", "--basis", "met_in_person"
    )[1].strip()
    out_file = tmp_path / "unclassified.csv"
    code, out, err = inited("contacts", "annotate", "--out", str(out_file))
    assert code == 0 and "wrote 4 unclassified contacts" in out, err
    rows = list(csv.DictReader(io.StringIO(out_file.read_text("utf-8-sig"))))
    assert [r["key"] for r in rows] and done not in {r["key"] for r in rows}
    assert "'=cmd|' /C calc'!A0" in {r["name"] for r in rows}  # formula escaped
    assert list(rows[0]) == [
        "key",
        "name",
        "platform",
        "company",
        "first_seen",
        "basis",
        "introducer",
    ]
    # the researcher fills it in a German spreadsheet program: ';' and Windows-1252
    by_name = {r["name"]: r for r in rows}
    by_name["Anna Beispiel"]["basis"] = "knows_personally"
    by_name["Bernd Muster"]["basis"] = "introduced"
    by_name["Bernd Muster"]["introducer"] = keys["Anna Beispiel"]
    by_name["Jörg Größe"]["basis"] = "none"
    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), delimiter=";", lineterminator="\r\n")
    w.writeheader()
    w.writerows(rows)
    back = tmp_path / "filled.csv"
    back.write_bytes(buf.getvalue().encode("cp1252"))
    code, out, err = inited("contacts", "annotate", "--in", str(back))
    assert code == 0, err
    assert "basis set for 3 contacts; 1 left unknown" in out
    with study.open(inited.db) as s:
        c = s.contacts().set_index("key")
    assert c.loc[keys["Anna Beispiel"], "basis"] == "knows_personally"
    assert c.loc[keys["Bernd Muster"], "introducer"] == keys["Anna Beispiel"]
    assert c.loc[keys["Jörg Größe"], "basis"] == "none"
    assert c.loc[keys["=cmd|' /C calc'!A0"], "basis"] == "unknown"
    # and the listing still works
    assert inited("contacts")[0] == 0


@pytest.mark.parametrize(
    ("basis", "introducer", "message"),
    [
        ("friends", "", "line 3 column 2 (basis): 'friends' is not a basis"),
        (
            "introduced",
            "",
            "line 3 column 3 (introducer): basis introduced requires the introducer",
        ),
        ("introduced", "c-nobody", "line 3 column 3 (introducer): unknown contact 'c-nobody'"),
        ("met_in_person", "{a}", "line 3 column 3 (introducer): an introducer is only recorded"),
    ],
)
def test_annotate_errors_change_nothing(inited, tmp_path, basis, introducer, message):
    a = inited("contact", "add", "Anna", "--platform", "xing")[1].strip()
    b = inited("contact", "add", "Bea", "--platform", "xing")[1].strip()
    f = tmp_path / "in.csv"
    f.write_text(
        f"key,basis,introducer\n{a},knows_personally,\n{b},{basis},{introducer.format(a=a)}\n"
    )
    code, _, err = inited("contacts", "annotate", "--in", str(f))
    assert code == 2 and err.startswith(f"error: in.csv {message}") and err.count("\n") == 1, err
    with study.open(inited.db) as s:
        assert set(s.contacts().basis) == {"unknown"}


def test_annotate_needs_one_of_in_or_out(inited, tmp_path):
    code, _, err = inited("contacts", "annotate")
    assert code == 2 and "either --out FILE or --in FILE" in err
    code, _, err = inited("contacts", "--out", "x.csv")
    assert code == 2 and "belong to `study contacts annotate`" in err


# read strictly (issue 17: each of these passed silently before) ------------------------------
def test_an_unterminated_quote_in_the_last_column_is_an_error_not_swallowed_rows(inited, tmp_path):
    path = _write(
        tmp_path,
        "calls.csv",
        'at,text\n2026-10-03,"first note\n2026-10-05,second note\n2026-10-06,third note\n',
    )
    code, _, err = inited("import", "csv", path, "--kind", "note")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: calls.csv line 2: a quote opened in this record is never closed")
    with study.open(inited.db) as s:
        assert s.count() == 0


def test_a_quote_closed_inside_a_later_row_names_the_line(inited, tmp_path):
    path = _write(
        tmp_path,
        "notes.csv",
        'at,text\n2026-10-03,"first\n2026-10-05,second\n2026-10-06,"third"\n',
    )
    code, _, err = inited("import", "csv", path, "--kind", "note")
    assert code == 2 and err.startswith("error: notes.csv line 2: broken quoting")
    assert "runs to line 4" in err


def test_a_quoted_cell_over_several_lines_is_still_one_cell(inited, tmp_path):
    path = _write(tmp_path, "notes.csv", 'at,text\n2026-10-03,"two\nlines"\n2026-10-04,x\n')
    code, out, err = inited("import", "csv", path, "--kind", "note")
    assert code == 0, err
    with study.open(inited.db) as s:
        assert s.events(kind="note").text.tolist() == ["two\nlines", "x"]


@pytest.mark.parametrize("second", ["source-key", "Source Key", "source_key"])
def test_two_columns_that_read_as_one_are_an_error(inited, tmp_path, second):
    path = _write(tmp_path, "f.csv", f"at,text,source_key,{second}\n2026-10-03,x,a,b\n")
    code, _, err = inited("import", "csv", path, "--kind", "note")
    assert code == 2 and err.startswith("error: f.csv line 1 column 4")
    assert "source_key" in err and second.lower() in err


def test_a_file_mixing_windows_1252_and_utf8_is_refused_naming_the_line(inited, tmp_path):
    p = tmp_path / "mixed.csv"
    p.write_bytes(
        b"at,text\n"
        + "2026-10-03,M\xfcller\n".encode("cp1252")  # a spreadsheet's line
        + "2026-10-04,Müller\n".encode()  # an export's line
    )
    code, _, err = inited("import", "csv", str(p), "--kind", "note")
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("error: mixed.csv line 2 column 13 (byte): byte 0xFC is not UTF-8")
    assert "line 3 is UTF-8" in err
    with study.open(inited.db) as s:
        assert s.count() == 0
    p.write_bytes(b"at,text\n" + "2026-10-03,M\xfcller\n".encode("cp1252"))  # one encoding
    code, _, err = inited("import", "csv", str(p), "--kind", "note")
    assert code == 0, err
    with study.open(inited.db) as s:
        assert s.events(kind="note").text.tolist() == ["Müller"]
