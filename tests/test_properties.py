"""Property-based tests: arbitrary input to the validators and the command line ends in success
or one clear error, never another exception; CSV exports never hand a spreadsheet a formula."""

from __future__ import annotations

import atexit
import contextlib
import csv
import datetime as dt
import io
import shutil
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import study
from study.cli.main import main
from study.errors import StudyError, ValidationError
from study.export import escape_formulas
from study.vocabulary import KINDS, validate

BERLIN = ZoneInfo("Europe/Berlin")
NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)

#: What a command-line argument can hold on Linux: any text, and bytes that are not UTF-8
#: (Python hands them over as lone surrogates), but never NUL.
argv_text = st.one_of(
    st.text(st.characters(blacklist_characters="\x00"), max_size=40),
    st.binary(max_size=20).map(
        lambda b: b.replace(b"\x00", b"").decode("utf-8", "surrogateescape")
    ),
    st.sampled_from(
        ["", " ", "-1", "1e309", "nan", "2026-02-30", "2026-11-01..2026-11-07", "yes", "call", "in"]
    ),
)

any_value = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    argv_text,
    st.dates(),
    st.datetimes(timezones=st.none() | st.just(dt.UTC)),
    st.lists(st.integers(), max_size=3),
    st.tuples(st.dates(), st.dates()),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)


@st.composite
def kind_and_fields(draw):  # type: ignore[no-untyped-def]
    kind = draw(st.sampled_from([*KINDS, "bogus"]))
    names = [f.name for f in KINDS[kind].fields] if kind in KINDS else []
    keys = st.sampled_from([*names, "period", "colour"]) if names else st.just("period")
    fields = draw(st.dictionaries(keys, any_value, max_size=6))
    return kind, fields


@settings(max_examples=400, deadline=None)
@given(
    kind_and_fields(),
    st.one_of(st.none(), any_value),
    st.one_of(st.none(), argv_text),
    st.one_of(st.none(), argv_text),
)
def test_validate_raises_only_validation_errors(kf, at, platform, source_key):
    kind, fields = kf
    try:
        ev = validate(
            kind,
            dict(fields),
            at=at,
            platform=platform,
            tz=BERLIN,
            now=NOW,
            source_key=source_key,
        )
    except ValidationError as exc:
        assert str(exc) and "\n" not in str(exc)
        return
    assert ev.kind == kind and ev.occurred_at.tzinfo is not None
    for v in [*ev.attributes.values(), ev.contact, ev.source_key]:
        if isinstance(v, str):
            v.encode("utf-8")  # storable


def _options(kind: str) -> list[str]:
    opts = []
    for f in KINDS[kind].fields:
        if f.name in ("period_start", "period_end") or f.type == "bool":
            continue
        opts.append("--" + f.name.replace("_", "-"))
    opts += ["--at", "--platform", "--participant", "--source-key"]
    if kind == "metric":
        opts.append("--period")
    return opts


@st.composite
def log_command(draw):  # type: ignore[no-untyped-def]
    kind = draw(st.sampled_from(list(KINDS)))
    chosen = draw(st.lists(st.sampled_from(_options(kind)), unique=True, max_size=6))
    args = ["log", kind]
    for opt in chosen:
        args += [opt, draw(argv_text)]
    if draw(st.booleans()):
        args.append(draw(st.sampled_from(["--force", "--with-message", "--no-message"])))
    return args


_STUDY: dict[str, object] = {}


def _shared_study() -> tuple[str, str]:
    """One study for all examples (a fresh file per example would dominate the run time)."""
    if not _STUDY:
        root = Path(tempfile.mkdtemp(prefix="study-prop-"))
        atexit.register(shutil.rmtree, root, ignore_errors=True)
        path = root / "study.db"
        s = study.init(path)
        key = s.add_contact("Prop Erty", platform="xing", basis="knows_personally")
        s.close()
        _STUDY.update(path=str(path), key=key)
    return str(_STUDY["path"]), str(_STUDY["key"])


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(log_command(), st.booleans())
def test_study_log_with_arbitrary_options_exits_0_or_2_with_one_error_line(args, use_contact):
    db, key = _shared_study()
    if (
        use_contact
        and "--contact" not in args
        and "contact" in {f.name for f in KINDS[args[1]].fields}
    ):
        args = [*args, "--contact", key]
    with study.open(db) as s:
        before = s.count()
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = main([*args, "--db", db])
        except SystemExit as exc:  # argparse's usage errors
            code = int(exc.code or 0)
    with study.open(db) as s:
        after = s.count()
    text = err.getvalue()
    assert code in (0, 2), (args, code, text)
    assert "Traceback" not in text
    if code == 2:
        assert text.startswith("error: ") and text.count("\n") == 1, (args, text)
        assert after == before
    else:
        assert text == "" and after - before in (0, 1)


@settings(max_examples=300, deadline=None)
@given(st.lists(st.one_of(st.text(max_size=12), st.none()), min_size=1, max_size=20))
def test_csv_cells_never_start_a_formula(cells):
    escaped = escape_formulas(pd.Series(cells, dtype="object"))
    buf = io.StringIO()
    pd.DataFrame({"cell": escaped}).to_csv(buf, index=False, lineterminator="\r\n")
    back = [row[0] if row else "" for row in csv.reader(io.StringIO(buf.getvalue(), newline=""))]
    back = back[1:]
    for original, written in zip(cells, back, strict=True):
        assert not written.startswith(("=", "+", "-", "@", "\t", "\r"))
        if original is None:
            assert written == ""
        elif original.startswith(("=", "+", "-", "@", "\t", "\r")):
            assert written == "'" + original  # kept, made inert
        else:
            assert written == original


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.text(st.characters(blacklist_characters="\x00"), max_size=15), min_size=1, max_size=5
    )
)
def test_exported_notes_are_escaped_and_round_trip(texts):
    db, _ = _shared_study()
    s = study.open(db)
    with s.batch() as b:
        for t in texts:
            try:
                b.log("note", text=t, at="2026-01-01", source="prop", again=True)
            except StudyError:
                return  # an empty note is refused, and that is tested elsewhere
    out = Path(db).parent / "out"
    s.export(out, "csv")
    notes = pd.read_csv(out / "events.csv", keep_default_na=False, dtype=str)
    written = notes[notes.source == "prop"].text.tolist()[-len(texts) :]
    for original, cell in zip(texts, written, strict=True):
        assert not cell.startswith(("=", "+", "-", "@", "\t", "\r"))
        assert cell in (original, "'" + original)
