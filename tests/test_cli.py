"""The command line: the happy path, and every user mistake as one line on stderr with exit 2."""

from __future__ import annotations

import multiprocessing
import sqlite3

import pytest

from study.store import SCHEMA_VERSION
from tests.conftest import run_study


def test_init_log_and_list(cli):
    code, out, _ = cli("init")
    assert code == 0 and f"schema version {SCHEMA_VERSION}" in out
    code, out, _ = cli(
        "contact", "add", "Anna Beispiel", "--platform", "xing", "--basis", "met_in_person"
    )
    assert code == 0
    key = out.strip()
    assert key.startswith("c-")
    code, out, _ = cli(
        "log",
        "interaction",
        "--contact",
        key,
        "--channel",
        "call",
        "--direction",
        "out",
        "--at",
        "2026-11-01",
    )
    assert code == 0 and "logged interaction as event 1" in out
    code, out, _ = cli(
        "log",
        "metric",
        "--name",
        "profile_views",
        "--value",
        "37",
        "--period",
        "2026-11-01..2026-11-07",
        "--platform",
        "xing",
    )
    assert code == 0
    month = ("--period", "2026-10", "--platform", "xing")
    code, out, err = cli("log", "metric", "--name", "profile_views", "--value", "120", *month)
    assert code == 0, err
    code, out, _ = cli(
        "log", "request_sent", "--contact", key, "--with-message", "--at", "2026-10-30"
    )
    assert code == 0
    code, out, _ = cli("events", "--format", "csv")
    assert code == 0
    lines = out.strip().splitlines()
    assert len(lines) == 5 and lines[0].startswith("id,participant,platform,occurred_at")
    assert "2026-10-01,2026-10-31" in out  # --period 2026-10: the whole month
    code, out, _ = cli("events", "--kind", "interaction")
    assert code == 0 and "call" in out and "metric" not in out
    code, out, _ = cli("contacts")
    assert code == 0 and key in out and "Anna" not in out
    code, out, _ = cli("contacts", "--names")
    assert "Anna Beispiel" in out


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["log", "interaction", "--contact", "c-x", "--channel", "call", "--direction", "out"],
            "unknown contact",
        ),
        (
            ["log", "interaction", "--channel", "fax", "--contact", "c-x", "--direction", "out"],
            "channel: 'fax' is not allowed",
        ),
        (
            [
                "log",
                "metric",
                "--name",
                "profile_views",
                "--value",
                "-1",
                "--period",
                "2026-11-01..2026-11-07",
                "--platform",
                "xing",
            ],
            "value: '-1' is below the minimum 0",
        ),
        (
            [
                "log",
                "metric",
                "--name",
                "profile_views",
                "--value",
                "3",
                "--period",
                "2026-11-07..2026-11-01",
                "--platform",
                "xing",
            ],
            "period: the end 2026-11-01 precedes",
        ),
        (
            ["log", "note", "--text", "x", "--at", "2999-01-01"],
            "at: 2999-01-01T11:00:00+00:00 lies in the future",
        ),
        (
            ["log", "job_lead", "--lead", "L1", "--stage", "lead"],
            "channel: required on the first event",
        ),
        (["log", "nonsense"], "invalid choice"),
        (["log", "note"], "the following arguments are required: --text"),
        (["log", "metric", "--value", "3"], "the following arguments are required: --name"),
        (
            ["contact", "add", "X", "--platform", "xing", "--basis", "introduced"],
            "requires the introducer",
        ),
        (["contact", "add", "X", "--platform", "myspace"], "invalid choice"),
        (["contact", "set-basis", "c-nobody", "none"], "unknown contact"),
        (["events", "--since", "last tuesday"], "since: 'last tuesday' is not a date"),
        (["export", "--format", "xlsx", "out"], "invalid choice"),
    ],
)
def test_user_mistakes_are_one_line_and_exit_2(cli, args, message):
    cli("init")
    code, out, err = cli(*args)
    assert code == 2
    assert err.startswith("error: ") and err.count("\n") == 1, err
    assert message in err
    assert "Traceback" not in err


def test_no_study_yet_and_missing_directory(tmp_path):
    missing = run_study("events", "--db", str(tmp_path / "none.db"))
    assert missing.returncode == 2
    assert (
        missing.stderr.strip()
        == f"error: no study at {tmp_path / 'none.db'} (run `study init` first)"
    )
    nodir = run_study("init", "--db", str(tmp_path / "nope" / "x.db"))
    assert (
        nodir.returncode == 2 and "does not exist" in nodir.stderr and nodir.stderr.count("\n") == 1
    )


def test_newer_schema_exits_2(tmp_path):
    db = tmp_path / "s.db"
    assert run_study("init", "--db", str(db)).returncode == 0
    con = sqlite3.connect(db)
    con.execute("update study_meta set value='7' where key='schema_version'")
    con.commit()
    con.close()
    res = run_study("log", "note", "--text", "x", "--db", str(db))
    assert res.returncode == 2 and "newer than this toolkit knows" in res.stderr
    assert "Traceback" not in res.stderr


def test_study_db_environment_variable(tmp_path):
    db = tmp_path / "env.db"
    env = {"STUDY_DB": str(db)}
    assert run_study("init", env=env).returncode == 0
    res = run_study("log", "note", "--text", "hello", env=env)
    assert res.returncode == 0, res.stderr
    assert sqlite3.connect(db).execute("select count(*) from events").fetchone()[0] == 1


def test_every_command_has_help_with_examples(capsys):
    from study.cli.main import build_parser, main

    parser = build_parser()
    sub = next(a for a in parser._actions if a.dest == "command")
    for name in sub.choices:
        with pytest.raises(SystemExit) as exc:
            main([name, "--help"])
        assert exc.value.code == 0
        out = capsys.readouterr().out
        assert "examples:" in out, name
    with pytest.raises(SystemExit):
        main(["log", "metric", "--help"])
    out = capsys.readouterr().out
    assert "--period PERIOD" in out and "profile_views" in out


def all_parsers():
    """Every command's parser, by its words (``study log metric``), from the full parser."""
    import argparse

    from study.cli.main import build_parser

    def walk(parser, words):
        yield " ".join(words), parser
        for action in parser._actions:
            if isinstance(action, argparse._SubParsersAction):
                for name, child in action.choices.items():
                    yield from walk(child, [*words, name])

    return dict(walk(build_parser(), ["study"]))


def test_every_option_is_described_and_required_ones_are_shown_as_required():
    """Each option of each command has a description in its --help (or is hidden from it);
    an option that must be given is in the usage line without brackets and under "required
    options", and no description contradicts that."""
    import argparse
    import re

    from study.vocabulary import KINDS

    parsers = all_parsers()
    assert len(parsers) > len(KINDS) + 10  # every log kind and the other commands
    skip = (argparse._HelpAction, argparse._VersionAction, argparse._SubParsersAction)
    for words, parser in parsers.items():
        usage = " ".join(parser.format_usage().split())
        text = parser.format_help()
        for action in parser._actions:
            if isinstance(action, skip):
                continue
            name = action.option_strings[0] if action.option_strings else action.dest
            assert action.help, f"{words} {name}: no description"
            if action.help == argparse.SUPPRESS:
                shown = re.search(rf"{re.escape(name)}(?![\w-])", text)
                assert not shown, f"{words} {name}: hidden, yet in --help"
                continue
            assert "(optional)" not in action.help, f"{words} {name}: {action.help}"
            if action.required and action.option_strings:
                assert re.search(rf"(^|[^\[]){re.escape(name)} ", usage), f"{words}: {usage}"
                assert f"[{name}" not in usage, f"{words} {name}: shown as optional"
                body = text.split("\n\n", 1)[1]  # after the usage line
                assert body.index("required options:") < body.index(f"\n  {name}"), words
            elif action.option_strings:
                optional = re.search(rf"[\[|] ?{re.escape(name)}(?![\w-])", usage)
                assert optional, f"{words} {name}: shown as required"
    for kind in KINDS.values():  # the vocabulary's required fields are the required options
        parser = parsers[f"study log {kind.name}"]
        required = {a.dest for a in parser._actions if a.required}
        fields = {f.name for f in kind.fields if f.required and f.type != "bool"}
        assert required == fields, kind.name


def test_log_on_sqlite_imports_neither_pandas_nor_the_postgresql_dialect(tmp_path):
    db = tmp_path / "s.db"
    assert run_study("init", "--db", str(db)).returncode == 0
    probe = (
        f"import sys, runpy; sys.argv=['study','log','note','--text','x','--db',{str(db)!r}];"
        "from study.cli.main import main; code=main(sys.argv[1:]);"
        "heavy=[m for m in ('pandas','statsmodels','seaborn','matplotlib','numpy',"
        "'sqlalchemy.dialects.postgresql') if m in sys.modules];"
        "print(code, heavy)"
    )
    import subprocess
    import sys

    res = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, check=True)
    assert res.stdout.strip().endswith("0 []"), res.stdout


def _writer(db: str, who: str, n: int) -> None:
    import study

    s = study.open(db)
    for i in range(n):
        s.log("note", text=f"{who}-{i}", source=who, source_key=str(i))


def test_two_processes_writing_at_once_lose_nothing(tmp_path):
    db = str(tmp_path / "c.db")
    import study

    study.init(db).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(db, f"w{j}", 150)) for j in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
        assert p.exitcode == 0
    con = sqlite3.connect(db)
    assert con.execute(
        "select count(*), count(distinct text_key) from (select source || ':' || source_key as text_key from events)"
    ).fetchone() == (300, 300)
