"""The whole command line against hostile arguments and files (issue 18).

Every option of every command (found by walking the parser, so a new option is covered
without editing this file) gets text that cannot be stored: bytes that were not UTF-8 (as a
Latin-1 terminal passes them) and a NUL. Then a table of hostile values by class (dates at the
calendar's edges, numbers that are not, paths that are devices, folders, loops or too long,
unusable database URLs) and hostile files (broken CSVs, vCards, zips, backups, settings). Each
must end in exit status 2, exactly one ``error:`` line on stderr, no traceback, and the
study's row counts (every table) unchanged. A hypothesis run then throws arbitrary text at the
fast commands' options: success, or that same one-line failure, never anything else.

In-process (``study.cli.main.main``) on one SQLite study, so the whole file takes well under
a minute; ``scripts/fuzz-cli.sh`` runs the hypothesis part much longer.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import resource
import sqlite3
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

import study
from study.cli.main import build_parser, main
from tests.export_fixtures import linkedin_files, vcard, write_folder

NOT_UTF8 = "caf\udce9"  # b"caf\xe9" from a Latin-1 terminal, as Python receives it
NUL = "an\x00na"
#: Commands that take minutes when their arguments are valid: only values that must fail.
SLOW = {"report", "simulate", "demo", "power"}
EXAMPLES = int(os.environ.get("STUDY_FUZZ_EXAMPLES", "120"))


# the study and the runner ------------------------------------------------------------------
class Fixture:
    def __init__(self, root: Path):
        self.root = root
        self.db = root / "study.db"
        s = study.init(self.db)
        self.anna = s.add_contact("Anna Beispiel", platform="xing", basis="met_in_person")
        self.bernd = s.add_contact(
            "Bernd Muster", platform="xing", basis="introduced", introducer=self.anna
        )
        with s.batch() as b:
            b.log(
                "interaction", contact=self.anna, channel="call", direction="out", at="2026-01-05"
            )
            b.log("note", text="first", at="2026-01-06")
            b.log("job_lead", lead="L1", channel="referral", stage="lead", at="2026-01-07")
        s.close()
        self.work = root / "work"
        self.work.mkdir()

    def counts(self) -> dict[str, int]:
        with contextlib.closing(sqlite3.connect(self.db)) as c:
            tables = [r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type='table'")]
            return {t: c.execute(f'SELECT count(*) FROM "{t}"').fetchone()[0] for t in tables}

    def run(self, *args: str, db: str | None = None) -> tuple[int, str, str]:
        out, err = io.StringIO(), io.StringIO()
        cwd = os.getcwd()
        os.chdir(self.work)  # relative paths land here
        try:
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    code = main([*args, "--db", db or str(self.db)])
                except SystemExit as exc:  # argparse's own exits
                    code = int(exc.code or 0)
        finally:
            os.chdir(cwd)
        return code, out.getvalue(), err.getvalue()

    def must_fail(self, *args: str) -> str:
        before = self.counts()
        code, _, err = self.run(*args)
        assert code == 2, (args, code, err)
        assert err.startswith("error: ") and err.count("\n") == 1, (args, err)
        assert "Traceback" not in err and "not enough memory" not in err, (args, err)
        assert self.counts() == before, args
        return err

    def fails_cleanly_or_works(self, *args: str) -> None:
        before = self.counts()
        code, _, err = self.run(*args)
        assert "Traceback" not in err and "not enough memory" not in err, (args, err)
        if code == 0:
            return
        assert code == 2, (args, code, err)
        assert err.startswith("error: ") and err.count("\n") == 1, (args, err)
        assert self.counts() == before, args


#: Address space for the fuzzed commands: a runaway read (a device taken for a file) becomes
#: a MemoryError, which the tests count as a failure, instead of taking the shared machine.
ADDRESS_SPACE = 8 << 30


@pytest.fixture(scope="module")
def fx(tmp_path_factory: pytest.TempPathFactory) -> Fixture:
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    limit = ADDRESS_SPACE if hard == resource.RLIM_INFINITY else min(ADDRESS_SPACE, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))
    try:
        yield Fixture(tmp_path_factory.mktemp("fuzz"))
    finally:
        resource.setrlimit(resource.RLIMIT_AS, (soft, hard))


# every option of every command -----------------------------------------------------------
def _commands(parser: argparse.ArgumentParser, path: tuple[str, ...] = ()):  # type: ignore[no-untyped-def]
    subs = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if subs:
        for name, sub in subs[0].choices.items():
            yield from _commands(sub, (*path, name))
        return
    yield (
        path,
        [
            a
            for a in parser._actions
            if not isinstance(a, (argparse._HelpAction, argparse._VersionAction))
            and a.nargs != 0  # flags take no value
        ],
    )


def _valid(action: argparse.Action) -> str:
    """A value argparse accepts for ``action`` (the study may still refuse it)."""
    if action.choices:
        return str(next(iter(action.choices)))
    if action.dest in ("values", "value", "completeness", "months", "window"):
        return "1"
    if action.dest in ("outdir", "dest", "out"):
        return "out-" + action.dest
    return "x"


COMMANDS = [(path, actions) for path, actions in _commands(build_parser())]
OPTIONS = [
    pytest.param(
        path,
        action,
        id=f"{' '.join(path)} {action.option_strings[0] if action.option_strings else action.dest}",
    )
    for path, actions in COMMANDS
    for action in actions
    if action.dest != "db"
]


def invocation(path: tuple[str, ...], target: argparse.Action, value: str) -> list[str]:
    """The command with its required arguments and ``value`` for ``target``."""
    actions = dict(COMMANDS)[path]
    args = list(path)
    for action in actions:
        if action is target:
            given = value
        elif action.required or not action.option_strings:
            given = _valid(action)
        else:
            continue
        if action.option_strings:
            args += [action.option_strings[0], given]
        elif action.nargs != "?" or action is target:
            args.append(given)
    return args


def test_every_option_of_every_command_is_covered():
    """The walk finds the commands the toolkit registers (a new one joins automatically)."""
    names = {" ".join(path) for path, _ in COMMANDS}
    assert {"log note", "import linkedin", "contact add", "forget", "restore", "report"} <= names
    assert len(OPTIONS) > 150


@pytest.mark.parametrize(("path", "action"), OPTIONS)
def test_text_that_cannot_be_stored_is_refused_by_name(fx, path, action):
    for value in (NOT_UTF8, NUL):
        err = fx.must_fail(*invocation(path, action, value))
        flag = action.option_strings[0] if action.option_strings else action.dest
        named = {flag, action.dest, action.dest.replace("_", "-")}
        assert any(n in err for n in named), (path, flag, err)


# hostile values by class -----------------------------------------------------------------
DATES = ["0001-01-01T00:00", "9999-12-31T23:59-12:00", "0001-01-01", "2026-13-45", "1899-12-31"]
NUMBERS = ["nan", "inf", "-1", "1e400", "0x10"]
HUGE = "99999999999999999999999"


def _hostile_values(fx: Fixture) -> list[list[str]]:
    a = fx.anna
    cases: list[list[str]] = []
    for d in DATES:
        cases += [
            ["log", "note", "--text", "x", "--at", d],
            ["log", "contact_removed", "--contact", a, "--removed-after", d],
            [
                "log",
                "metric",
                "--name",
                "profile_views",
                "--value",
                "1",
                "--platform",
                "xing",
                "--period",
                f"{d}..2026-01-07",
            ],
            ["contact", "add", "Carla", "--platform", "xing", "--first-seen", d],
            ["import", "xing", "x.vcf", "--export-date", d],
            ["simulate", "--end", d, "--months", "1"],
        ]
    for d in DATES[:2]:
        cases += [["events", "--since", d], ["events", "--until", d]]
    for n in NUMBERS:
        cases += [
            [
                "log",
                "metric",
                "--name",
                "profile_views",
                "--platform",
                "xing",
                "--period",
                "2026-01-01..2026-01-07",
                "--value",
                n,
            ],
            ["log", "profile_updated", "--section", "about", "--completeness", n],
            [
                "log",
                "introduction",
                "--contact",
                fx.bernd,
                "--introducer",
                a,
                "--introducer-connections",
                n,
            ],
            ["power", "--effect", "basis_hr", "--values", n],
            ["report", "--window", n],
        ]
    cases += [
        ["simulate", "--months", HUGE],
        ["simulate", "--participants", HUGE],
        ["simulate", "--seed", "-1"],
        ["power", "--effect", "basis_hr", "--values", "0.5", "--reps", HUGE],
        ["report", "--window", HUGE],
        ["report", "--period", "0001-01"],
        ["report", "--period", "2026-Q7"],
        ["report", "--participant", "../../etc"],
        ["log", "note", "--text", "x" * 20_000],
        ["log", "job_lead", "--lead", "x" * 5_000, "--channel", "referral", "--stage", "lead"],
        ["contact", "add", "y" * 100_000, "--platform", "xing"],
        ["participant", "add", "z" * 300],
        ["log", "note", "--text", "x", "--source-key", "k" * 5_000],
        ["log", "note", "--text", "x", "--source", "s" * 500],
        [
            "log",
            "interaction",
            "--contact",
            "c-doesnotexist",
            "--channel",
            "call",
            "--direction",
            "out",
        ],
        ["contact", "set-basis", a, "introduced", "--introducer", a],
        ["forget", "nobody at all"],
        ["init", "--timezone", "Mars/Olympus"],
        ["init", "--timezone", "../../../etc/passwd"],
        ["log", "note", "--text", "x", "--at", "2026-01-01", "--participant", "ghost"],
    ]
    return cases


PATH_CASES = [
    # input files that are not files
    ["import", "csv", "/dev/zero", "--kind", "note"],
    ["import", "csv", "{fifo}", "--kind", "note"],
    ["import", "csv", "{dir}", "--kind", "note"],
    ["import", "csv", "{loop}", "--kind", "note"],
    ["import", "csv", "n" * 5_000, "--kind", "note"],
    ["import", "xing", "/dev/zero"],
    ["import", "xing", "{loop}"],
    ["import", "linkedin", "/dev/zero"],
    ["import", "linkedin", "{loop}"],
    ["import", "linkedin", "n" * 5_000],
    ["import", "linkedin", "/"],
    ["restore", "/dev/zero"],
    ["restore", "{fifo}"],
    ["restore", "{dir}"],
    ["restore", "n" * 5_000],
    ["contacts", "annotate", "--in", "/dev/zero"],
    ["contacts", "annotate", "--in", "{dir}"],
    ["simulate", "--params", "/dev/zero", "--months", "1"],
    ["simulate", "--params", "{fifo}", "--months", "1"],
    ["simulate", "--params", "{dir}", "--months", "1"],
    # outputs in the way
    ["export", "/dev/null"],
    ["export", "{file}"],
    ["export", "{file}/sub"],
    ["export", "n" * 5_000],
    ["backup", "{dir}"],
    ["backup", "/dev/null"],
    ["backup", "{file}/sub.db"],
    ["backup", "n" * 5_000],
    ["contacts", "annotate", "--out", "{dir}"],
    ["contacts", "annotate", "--out", "/dev/null/x.csv"],
    ["contacts", "annotate", "--out", "n" * 5_000],
    ["report", "--out", "{file}"],
]


def _files(fx: Fixture) -> dict[str, str]:
    root = fx.root / "hostile"
    if root.exists():
        return {p.stem: str(p) for p in root.iterdir()} | {
            "fifo": str(root / "fifo.pipe"),
            "dir": str(root / "dir.d"),
            "loop": str(root / "loop.lnk"),
            "file": str(root / "plain.txt"),
        }
    root.mkdir()
    os.mkfifo(root / "fifo.pipe")
    (root / "dir.d").mkdir()
    (root / "loop.lnk").symlink_to(root / "loop.lnk")
    (root / "plain.txt").write_text("plain")
    return _files(fx)


@pytest.mark.parametrize("case", range(len(PATH_CASES)))
def test_paths_that_are_devices_folders_loops_or_too_long(fx, case):
    files = _files(fx)
    args = [a.format(**files) if "{" in a else a for a in PATH_CASES[case]]
    fx.must_fail(*args)


def test_hostile_values_by_class(fx):
    for args in _hostile_values(fx):
        fx.must_fail(*args)


@pytest.mark.parametrize(
    "url",
    [
        "/dev/zero",
        "/",
        "{dir}/no/such/dir/study.db",
        "{file}",
        "nosuchdriver://x",
        "postgresql+psycopg://nobody@/nothing?host={dir}",
        "sqlite:////dev/null/x.db",
    ],
)
def test_unusable_databases(fx, url):
    files = _files(fx)
    code, _, err = fx.run("events", db=url.format(**files))
    assert code == 2 and err.startswith("error: ") and err.count("\n") == 1, (url, err)
    assert "Traceback" not in err


# hostile files -----------------------------------------------------------------------------
def _zip(path: Path, members: dict[str, bytes], *, encrypted: bool = False) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in members.items():
            zf.writestr(name, data)
    if encrypted:  # mark every member encrypted (local headers and central directory)
        raw = bytearray(path.read_bytes())
        for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
            at = raw.find(signature)
            while at >= 0:
                raw[at + offset] |= 0x1
                at = raw.find(signature, at + 4)
        path.write_bytes(bytes(raw))
    return path


def hostile_files(root: Path) -> list[list[str]]:
    root.mkdir(exist_ok=True)
    csvs = {
        "nul.csv": b"at,text\n2026-01-01,a\x00b\n",
        "edge.csv": b"at,text\n0001-01-01T00:00,x\n",
        "edge2.csv": b"at,text\n9999-12-31T23:59-12:00,x\n",
        "long.csv": b"at,text\n2026-01-01," + b"x" * 1_000_001 + b"\n",
        "binary.csv": bytes(range(256)) * 40,
        "empty.csv": b"",
        "header.csv": b"at,text,unknown_column\n2026-01-01,x,y\n",
        "utf16.csv": "at,text\n2026-01-01,x\n".encode("utf-16-le"),
        "future.csv": b"at,text\n2999-01-01,x\n",
        "formula.csv": b"at,text,contact\n2026-01-01,=cmd|' /C calc'!A0,=1+1\n",
    }
    cases = []
    for name, data in csvs.items():
        (root / name).write_bytes(data)
        cases.append(["import", "csv", str(root / name), "--kind", "note"])
    cards = {
        "rot13.vcf": b"BEGIN:VCARD\r\nFN;CHARSET=rot13:Anna\r\nEND:VCARD\r\n",
        "zlib.vcf": b"BEGIN:VCARD\r\nFN;CHARSET=zlib:Anna\r\nEND:VCARD\r\n",
        "base64.vcf": b"BEGIN:VCARD\r\nFN;CHARSET=base64:QW5uYQ==\r\nEND:VCARD\r\n",
        "nul.vcf": b"BEGIN:VCARD\r\nFN:An\x00na\r\nEND:VCARD\r\n",
        "open.vcf": b"BEGIN:VCARD\r\nFN:Anna\r\n",
        "binary.vcf": bytes(range(256)) * 10,
        "long.vcf": vcard("A" * 2_000, "B"),
    }
    for name, data in cards.items():
        (root / name).write_bytes(data)
        cases.append(["import", "xing", str(root / name), "--export-date", "2026-01-10"])
    tables = linkedin_files()
    zips = {
        "text.zip": None,
        "empty.zip": {},
        "bomb.zip": {**tables, "messages.csv": b"0" * (4 << 20)},
        "encrypted.zip": tables,
        "badrow.zip": {
            **tables,
            "Connections.csv": b"First Name,Last Name,URL,Connected On\nA,B,,not a date\n",
        },
    }
    for name, members in zips.items():
        path = root / name
        if members is None:
            path.write_text("not a zip at all")
        else:
            _zip(path, members, encrypted=name == "encrypted.zip")
        cases.append(["import", "linkedin", str(path), "--export-date", "2026-11-21"])
    folder = write_folder(root / "linkedin-folder", linkedin_files())
    (folder / "messages.csv").unlink()
    (folder / "messages.csv").symlink_to("/dev/zero")
    cases.append(["import", "linkedin", str(folder), "--export-date", "2026-11-21"])
    (root / "nostudy.db").touch()
    with contextlib.closing(sqlite3.connect(root / "other.db")) as c:
        c.execute("CREATE TABLE t (x)")
    cases += [
        ["restore", str(root / "nostudy.db"), "--force"],
        ["restore", str(root / "other.db"), "--force"],
        ["restore", str(root / "nul.csv"), "--force"],
    ]
    (root / "annot.csv").write_text("key,basis\nc-unknown,knows_personally\n")
    (root / "annot2.csv").write_text("key,basis\nc-0,telepathy\n")
    (root / "bad.toml").write_bytes(b"[ties\nx = \xff\n")
    (root / "huge.toml").write_bytes(b"# " + b"x" * (2 << 20))
    cases += [
        ["contacts", "annotate", "--in", str(root / "annot.csv")],
        ["contacts", "annotate", "--in", str(root / "annot2.csv")],
        ["contacts", "annotate", "--in", str(root / "long.csv")],
        ["simulate", "--params", str(root / "bad.toml"), "--months", "1"],
        ["simulate", "--params", str(root / "huge.toml"), "--months", "1"],
    ]
    return cases


def test_hostile_files(fx):
    for args in hostile_files(fx.root / "files"):
        fx.must_fail(*args)


# arbitrary text at the fast commands ------------------------------------------------------
FAST = [
    pytest.param(path, action, id=f"{' '.join(path)}")
    for path, actions in COMMANDS
    if path[0] not in SLOW
    for action in actions
    if action.dest != "db"
]
_TEXT = st.one_of(
    st.text(max_size=40),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=12),
    st.sampled_from([NOT_UTF8, NUL, "", " ", "-", "--", "--db", "\r", "\n", "'", '"', "=1+1"]),
    st.sampled_from(DATES + NUMBERS + [HUGE, "2026-01-01", "2026-01-01..2026-01-07"]),
    st.sampled_from(["/dev/zero", "/dev/null", ".", "..", "n" * 300]),
)


@settings(
    max_examples=EXAMPLES,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(data=st.data())
def test_arbitrary_text_is_taken_or_refused_in_one_line(fx, data):
    path, action = data.draw(st.sampled_from([(p.values[0], p.values[1]) for p in FAST]))
    value = data.draw(_TEXT)
    # the fuzzer runs as the tester: no writing into "/" (as root that would work), and no
    # import reading the whole disk (the curated cases above try "/" where it must fail)
    assume(not (value.startswith("/") and value not in ("/dev/zero", "/dev/null")))
    fx.fails_cleanly_or_works(*invocation(path, action, value))
