"""``Batch.log_frame`` (per column) and a loop of ``Batch.log`` (per event) are one rule book.

For random frames, mixing valid and broken rows, both executors must write the same events
(read back through the API's own types) or raise the same first error, word for word.
"""

from __future__ import annotations

import datetime as dt
import random
import tempfile
import warnings
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

import study
from study import store
from study.errors import ValidationError
from study.vocabulary import COUNT_METRICS, KINDS
from study.write.frame import log_frame_rows

NOW = dt.datetime(2026, 11, 21, 12, 0, tzinfo=dt.UTC)


class _Rollback(Exception):
    pass


def _world() -> tuple[study.Study, dict[str, str]]:
    """A study with contacts in every state the rules care about."""
    tmp = Path(tempfile.mkdtemp())
    s = study.init(tmp / "study.db")
    s.add_participant("p2")
    k = {}
    k["a"] = s.add_contact(platform="xing", basis="knows_personally", first_seen="2024-01-01")
    k["b"] = s.add_contact(
        platform="linkedin", basis="introduced", introducer=k["a"], first_seen="2024-01-01"
    )
    k["c"] = s.add_contact(platform="xing", basis="none", first_seen="2024-01-01")
    k["d"] = s.add_contact(platform="xing", participant="p2", first_seen="2024-01-01")
    k["r"] = s.add_contact(platform="xing", first_seen="2024-01-01")
    s.log("request_accepted", contact=k["r"], direction="in", at="2025-01-01")
    s.log("contact_removed", contact=k["r"], at="2025-06-01")
    s.log("job_lead", lead="L1", channel="recruiter", stage="lead", at="2025-02-01", contact=k["a"])
    s.log("job_lead", lead="L1", stage="interview", at="2025-03-01")
    s.log("note", text="already there", source="sim", source_key="k0", at="2025-01-01")
    return s, k


_WORLD: tuple[study.Study, dict[str, str]] | None = None


def world() -> tuple[study.Study, dict[str, str]]:
    global _WORLD
    if _WORLD is None:
        _WORLD = _world()
    return _WORLD


TIMES = [
    pd.Timestamp("2024-06-01 10:00", tz="UTC"),
    pd.Timestamp("2025-01-15 10:00", tz="UTC"),
    pd.Timestamp("2025-05-01", tz="UTC"),
    pd.Timestamp("2025-06-01 10:00", tz="UTC"),  # the removal's moment
    pd.Timestamp("2025-07-01", tz="UTC"),
    pd.Timestamp("2025-07-01", tz="UTC"),
    pd.Timestamp("2025-09-01 08:30:00.123456789", tz="UTC"),
    pd.Timestamp("2030-01-01", tz="UTC"),  # the future
    pd.Timestamp("2026-11-21 12:05", tz="UTC"),  # within the tolerated clock skew
]


def _value(rng: random.Random, col: str, keys: dict[str, str], bad_rate: float) -> object:
    """A plausible value for ``col``; with probability ``bad_rate`` a broken one."""
    good, bad = {
        "contact": (
            [keys["a"], keys["b"], keys["c"], keys["r"], " " + keys["a"] + " "],
            ["c-nobody", keys["d"], keys["a"] + "\x00x"],
        ),
        "introducer": ([keys["a"], keys["c"]], [keys["b"], "c-nobody", keys["d"]]),
        "direction": (["in", "out", " in"], ["sideways", ""]),
        "channel": (["call", "message", "recruiter", "referral"], ["fax", "   "]),
        "with_message": ([True, False, "yes", "nein", 1, 1.0, 0.0], ["maybe", 2, 0.5]),
        "name": (["followers", "profile_views", "googlability_rank", "connections"], ["likes"]),
        "value": ([0, 3, 12, "7"], [-1, 0.5, 12.5, "x", float("inf"), True]),
        "period_start": (["2025-01-01", dt.date(2025, 1, 5), "2025-02-01"], ["20250101", None]),
        "period_end": (["2025-01-07"], ["2025-01-01", dt.date(2027, 1, 1), "soon", None]),
        "completeness": ([10, 100, "80"], [101, -3]),
        "lead": (["L1", "L2", "L3"], ["", "x" * 201, "L1\x00"]),
        "stage": (["lead", "applied", "interview", "offer", "accepted", "rejected"], ["hired"]),
        "outcome": (["known", "unknown"], ["maybe"]),
        "text": (["hello", 'say "hi"'], ["", "  ", "x" * 10_001, "hello\x00world", "caf\udce9"]),
        "type": (["talk", "article"], ["party"]),
        "topic": (["networking", 'say "hi"'], [3]),
        "section": (["about", "photo"], ["footer"]),
        "introducer_connections": ([740, 12], [-5, "many", 12.5]),
        "removed_after": (["2025-01-01", dt.date(2025, 3, 1)], ["someday", "  "]),
        "removed_before": (["2025-06-01", "2025-02-01"], ["soon", 20250601]),
    }[col]
    return rng.choice(bad if rng.random() < bad_rate else good)


COLUMNS = sorted({f.name for k in KINDS.values() for f in k.fields})


def random_frame(seed: int, keys: dict[str, str]) -> tuple[pd.DataFrame, bool]:
    rng = random.Random(seed)
    n = rng.randint(1, 14)
    bad_rate = rng.choice([0.0, 0.0, 0.01, 0.05, 0.2])
    rows = []
    for _ in range(n):
        kind = rng.choice([*KINDS, *KINDS, "fax"] if rng.random() < bad_rate else list(KINDS))
        spec = KINDS.get(kind)
        names = {f.name for f in spec.fields} if spec else set()
        row: dict[str, object] = {
            "kind": kind,
            "occurred_at": rng.choice(TIMES if rng.random() < bad_rate else TIMES[:-2] + [pd.NaT]),
            "participant": rng.choice(
                ["ghost", "", " ", "me\x00"] if rng.random() < bad_rate else [None, None, "me"]
            ),
            "platform": rng.choice(
                ["xing", "linkedin", "other", "fax"] if rng.random() < bad_rate * 3 else [None]
            ),
            "source_key": rng.choice(
                [None, "k0", "k1", "k2", "k3", "k4", "k5", " k6"]
                + (["k1\x00"] if rng.random() < bad_rate else [])
            ),
        }
        for col in COLUMNS:
            if col in names:
                required = spec.field(col).required
                present = rng.random() < (1 - bad_rate if required else 0.5)
                row[col] = _value(rng, col, keys, bad_rate) if present else None
                if col == "channel" and row[col] in ("call", "message", "recruiter", "referral"):
                    row[col] = rng.choice(spec.field(col).choices)
            else:
                row[col] = _value(rng, col, keys, bad_rate) if rng.random() < bad_rate / 4 else None
        if kind in ("metric", "profile_updated") and rng.random() > bad_rate:
            row["platform"] = "linkedin"
        if kind == "metric" and rng.random() > bad_rate:  # a count has a period, a level not
            if row["name"] in COUNT_METRICS:
                row["period_start"] = row["period_start"] or "2025-01-01"
                row["period_end"] = row["period_end"] or "2025-01-07"
            else:
                row["period_start"] = row["period_end"] = None
        rows.append(row)
    frame = pd.DataFrame(rows, index=[f"line {i + 2}" for i in range(n)])
    if rng.random() < 0.3:  # times as text, read one by one
        frame["occurred_at"] = [None if pd.isna(t) else t.isoformat() for t in frame.occurred_at]
    if rng.random() < 0.3:
        frame = frame.drop(columns=[c for c in COLUMNS if frame[c].isna().all()])
    return frame, rng.random() < 0.3


def run_frame(
    executor, frame: pd.DataFrame, force: bool, s: study.Study | None = None, by_participant=False
):
    """What ``executor`` makes of ``frame`` in a batch that is rolled back: the error, or the
    rows written (in id order; ``by_participant``: by participant, then id) and the summary."""
    s = s if s is not None else world()[0]
    e = store.events.c
    order = (e.participant, e.id) if by_participant else (e.id,)
    try:
        with s.batch() as b:
            b.now = NOW
            start = b.conn.execute(select(func.max(e.id))).scalar() or 0
            try:
                executor(b, frame, source="sim", force=force)
            except ValidationError as err:
                outcome = ("error", str(err), err.field, err.forceable)
            else:
                b.flush()
                written = b.conn.execute(
                    select(
                        e.participant,
                        e.platform,
                        e.occurred_at,
                        e.kind,
                        e.contact,
                        e.value,
                        e.attributes,
                        e.source,
                        e.source_key,
                    )
                    .where(e.id > start)
                    .order_by(*order)
                ).all()
                outcome = (
                    "ok",
                    [tuple(r) for r in written],
                    b.summary.added,
                    b.summary.already_present,
                )
            raise _Rollback
    except _Rollback:
        pass
    return outcome


def _bulk(b, frame, *, source, force):
    return b.log_frame(frame, source=source, force=force)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(seed=st.integers(0, 2**32 - 1))
def test_log_frame_and_log_agree(seed):
    _, keys = world()
    frame, force = random_frame(seed, keys)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)  # a disagreement must not fall back quietly
        ours = run_frame(_bulk, frame, force)
    reference = run_frame(log_frame_rows, frame, force)
    assert ours == reference


def test_the_random_frames_cover_both_outcomes():
    _, keys = world()
    outcomes = [run_frame(_bulk, *random_frame(seed, keys))[0] for seed in range(120)]
    assert outcomes.count("ok") >= 15 and outcomes.count("error") >= 15


def test_error_names_the_row(s):
    k = s.add_contact(platform="xing")
    frame = pd.DataFrame(
        {
            "kind": ["interaction"] * 3,
            "occurred_at": pd.to_datetime(["2026-01-01"] * 3, utc=True),
            "contact": [k] * 3,
            "channel": ["call", "call", "fax"],
            "direction": ["in"] * 3,
        },
        index=[15, 16, 17],
    )
    with pytest.raises(ValidationError) as err, s.batch() as b:
        b.log_frame(frame, source="import")
    assert str(err.value).startswith("row 17: channel: 'fax' is not allowed (one of: message")
    assert err.value.field == "channel" and err.value.row == 17
    assert s.count() == 0


def test_later_log_calls_see_the_frame(s):
    k = s.add_contact(platform="xing", first_seen="2025-01-01")
    frame = pd.DataFrame(
        {
            "kind": ["request_accepted", "contact_removed", "job_lead"],
            "occurred_at": pd.to_datetime(["2025-01-02", "2025-02-01", "2025-01-03"], utc=True),
            "contact": [k, k, None],
            "direction": ["in", None, None],
            "lead": [None, None, "L1"],
            "channel": [None, None, "posting"],
            "stage": [None, None, "offer"],
            "source_key": ["1", "2", "3"],
        }
    )
    with s.batch() as b:
        assert b.ledger.removed_at(k, NOW) is None  # the ledger has loaded this contact
        b.log_frame(frame, source="f")
        with pytest.raises(ValidationError, match="was removed on 2025-02-01"):
            b.log("interaction", contact=k, channel="call", direction="in", at="2025-03-01")
        with pytest.raises(ValidationError, match="goes backwards"):
            b.log("job_lead", lead="L1", stage="applied", at="2025-04-01")
        assert b.log("note", text="x", source="f", source_key="1") is False
    assert s.count() == 3


def _notes(keys: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": "note",
            "occurred_at": pd.Timestamp("2025-01-02", tz="UTC"),
            "text": [f"note {k}" for k in keys],
            "source_key": keys,
        }
    )


@pytest.mark.parametrize("first, again", [(40, 6), (3, 6)])
def test_a_reimport_adds_only_the_new_rows(s, first, again):
    """The frame's keys are looked up in a larger log, or the log's keys read whole."""
    old = [f"k{i}" for i in range(first)]
    with s.batch() as b:
        assert b.log_frame(_notes(old), source="file") == first
    # half of the new frame is in the log already, and one key repeats within the frame
    frame = _notes([*old[: again // 2], *[f"new{i}" for i in range(again // 2)], "new0"])
    with s.batch() as b:
        added = b.log_frame(frame, source="file")
        assert b.summary.already_present == again // 2 + 1
    assert added == again // 2
    assert s.count("note") == first + again // 2
    # the same keys under another source are other events
    with s.batch() as b:
        assert b.log_frame(_notes(old[:2]), source="other file") == 2


def test_bulk_rows_read_back_exactly(s):
    frame = pd.DataFrame(
        {
            "kind": ["metric", "activity"],
            "occurred_at": [pd.NaT, pd.Timestamp("2026-03-01 10:15:30.25", tz="Europe/Berlin")],
            "name": ["profile_views", None],
            "value": [37, None],
            "period_start": ["2026-02-01", None],
            "period_end": ["2026-02-07", None],
            "platform": ["xing", "linkedin"],
            "type": [None, "talk"],
            "topic": [None, 'the "strength" of weak ties'],
        }
    )
    with s.batch() as b:
        assert b.log_frame(frame, source="f") == 2
    ev = s.events()
    assert list(ev.occurred_at) == [
        pd.Timestamp("2026-02-07 11:00", tz="UTC"),  # noon in Berlin on the period's last day
        pd.Timestamp("2026-03-01 09:15:30.25", tz="UTC"),
    ]
    assert ev.topic.iloc[1] == 'the "strength" of weak ties'
    assert ev.period_end.iloc[0] == pd.Timestamp("2026-02-07")


@pytest.mark.parametrize(
    "source", ["O'Brien's export.csv", "x'); DROP TABLE events; --", "Übersicht", "s" * 200]
)
def test_the_source_is_stored_as_given(s, source):
    """On SQLite the import's source and time are written into the statement's text once
    (quotes doubled), not bound to every row."""
    with s.batch() as b:
        assert b.log_frame(_notes(["k1", "k2", "k3"]), source=source) == 3
        b.log("note", text="by hand", at="2026-01-01")
    ev = s.events()
    assert list(ev.source) == [source] * 3 + ["manual"]
    assert ev.recorded_at.iloc[:3].nunique() == 1
    assert ev.recorded_at.notna().all()
    assert abs(ev.recorded_at.iloc[0] - ev.recorded_at.iloc[3]) < pd.Timedelta(minutes=5)
    with s.batch() as b:  # a re-import of the same keys under the same source adds nothing
        assert b.log_frame(_notes(["k1", "k2", "k3"]), source=source) == 0


@pytest.mark.parametrize(
    ("source", "problem"),
    [("zwei\x00teile", "NUL"), ("caf\udce9", "UTF-8"), ("s" * 201, "200 characters")],
)
def test_a_source_the_log_cannot_hold_is_refused(s, source, problem):
    with s.batch() as b:
        with pytest.raises(ValidationError, match=problem) as frame_err:
            b.log_frame(_notes(["k1"]), source=source)
        with pytest.raises(ValidationError, match=problem) as log_err:
            b.log("note", text="by hand", source=source)
    assert frame_err.value.field == log_err.value.field == "source"
    assert s.count("note") == 0


@pytest.mark.parametrize("broken", [False, True])
def test_many_distinct_keys_agree_with_the_loop(broken):
    """Over 1,000 distinct values take the Arrow path: white space and length as in log()."""
    n = 1500
    keys = [f"k{i}" for i in range(n)]
    keys[10] = " k11 "  # the same key as row 11 once stripped: a duplicate
    keys[20] = "\u2003k20\t"  # Unicode white space
    if broken:
        keys[1400] = "x" * 201
    frame = pd.DataFrame(
        {
            "kind": "note",
            "occurred_at": pd.Timestamp("2026-01-01", tz="UTC"),
            "text": [f"note {i}" for i in range(n)],
            "source_key": keys,
        }
    )
    assert run_frame(_bulk, frame, False) == run_frame(log_frame_rows, frame, False)
    outcome = run_frame(_bulk, frame, False)
    if broken:
        assert outcome[0] == "error" and outcome[1].startswith("row 1400: source_key:")
        # a NUL character among many distinct keys and texts: refused as log() refuses it
        for column, row in (("source_key", 1300), ("text", 1200)):
            nul = frame.copy()
            nul.loc[row, column] = nul.loc[row, column] + "\x00z"
            assert run_frame(_bulk, nul, False) == run_frame(log_frame_rows, nul, False)
            assert (
                run_frame(_bulk, nul, False)[1] == f"row {row}: {column}: contains a NUL character"
            )
    else:
        # " k11 " repeats k11, and k0 is in the log already
        assert outcome[0] == "ok" and outcome[2] == n - 2 and outcome[3] == 2
