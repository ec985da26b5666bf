"""A large frame of several participants, checked group by group while a thread inserts
(``study.write.groups``), writes what the per-event executor writes, or raises its first error.

The grouped path starts at 50,000 rows; here it is switched on for every frame, so the random
frames of ``test_bulk`` (now for two participants) go through it.
"""

from __future__ import annotations

import random
import sqlite3
import tempfile
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import study
from study.errors import ValidationError
from study.write import groups as bulk_groups
from study.write import insert as bulk_insert
from study.write.frame import log_frame_rows
from tests.test_bulk import NOW, random_frame, run_frame

#: me's contact -> p2's contact in the same state
MIRROR = {"a": "e", "b": "f", "c": "g", "r": "rr"}


def _world() -> tuple[study.Study, dict[str, str]]:
    """test_bulk's world, and the same contacts (and lead) once more for participant p2."""
    s = study.init(Path(tempfile.mkdtemp()) / "study.db")
    s.add_participant("p2")
    k: dict[str, str] = {}
    for who, names in (("me", ("a", "b", "c", "r")), ("p2", ("e", "f", "g", "rr"))):
        first, introduced, none, removed = names
        k[first] = s.add_contact(
            platform="xing", basis="knows_personally", first_seen="2024-01-01", participant=who
        )
        k[introduced] = s.add_contact(
            platform="linkedin",
            basis="introduced",
            introducer=k[first],
            first_seen="2024-01-01",
            participant=who,
        )
        k[none] = s.add_contact(
            platform="xing", basis="none", first_seen="2024-01-01", participant=who
        )
        k[removed] = s.add_contact(platform="xing", first_seen="2024-01-01", participant=who)
        s.log(
            "request_accepted",
            contact=k[removed],
            direction="in",
            at="2025-01-01",
            participant=who,
        )
        s.log("contact_removed", contact=k[removed], at="2025-06-01", participant=who)
        s.log(
            "job_lead",
            lead="L1",
            channel="recruiter",
            stage="lead",
            at="2025-02-01",
            contact=k[first],
            participant=who,
        )
        s.log("job_lead", lead="L1", stage="interview", at="2025-03-01", participant=who)
    k["d"] = k["e"]  # test_bulk's "contact of another participant"
    s.log("note", text="already there", source="sim", source_key="k0", at="2025-01-01")
    return s, k


_WORLD: tuple[study.Study, dict[str, str]] | None = None


def world() -> tuple[study.Study, dict[str, str]]:
    global _WORLD
    if _WORLD is None:
        _WORLD = _world()
    return _WORLD


def two_participant_frame(seed: int) -> tuple[pd.DataFrame, bool]:
    """test_bulk's random frame, with about half of its rows moved to p2 (and their contacts
    to p2's contacts in the same state), mostly with a source key in every row (rows keyed by
    their content go through the single pass)."""
    _, k = world()
    frame, force = random_frame(seed, k)
    rng = random.Random(seed ^ 0x5EED)
    back = {k[m]: k[p] for m, p in MIRROR.items()}
    frame = frame.copy()
    if "participant" not in frame:
        frame["participant"] = None
    for i, label in enumerate(frame.index):
        if frame["participant"].iloc[i] not in (None, "me") or rng.random() < 0.5:
            continue
        frame.loc[label, "participant"] = "p2"
        for col in ("contact", "introducer"):
            if col in frame and frame[col].iloc[i] in back:
                frame.loc[label, col] = back[frame[col].iloc[i]]
    if rng.random() < 0.7:  # every row keyed: the grouped path takes it (else one pass)
        keys = frame["source_key"].astype(object)
        fill = pd.Series([f"g{i}" for i in range(len(frame))], index=frame.index, dtype=object)
        frame["source_key"] = keys.where(keys.notna(), fill)
    return frame, force


def _run(executor, frame: pd.DataFrame, force: bool):
    # groups keep each participant's rows in order, not the frame's order across participants
    return run_frame(executor, frame, force, s=world()[0], by_participant=True)


@pytest.fixture
def grouped(monkeypatch):
    """Every frame goes through the grouped path; count how often it completes."""
    monkeypatch.setattr(bulk_groups, "GROUPED_FROM", 1)
    done = []
    inner = bulk_groups.log_frame_by_groups

    def counted(*args, **kwargs):
        added = inner(*args, **kwargs)
        done.append(added is not None)
        return added

    monkeypatch.setattr(bulk_groups, "log_frame_by_groups", counted)
    return done


def _grouped(b, frame, *, source, force):
    return b.log_frame(frame, source=source, force=force)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow], derandomize=True
)
@given(seed=st.integers(0, 2**32 - 1))
def test_grouped_and_per_event_agree(seed):
    frame, force = two_participant_frame(seed)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(bulk_groups, "GROUPED_FROM", 1)
        with warnings.catch_warnings():
            warnings.simplefilter("error", RuntimeWarning)
            ours = _run(_grouped, frame, force)
    reference = _run(log_frame_rows, frame, force)
    assert ours == reference


def test_the_grouped_path_completes_and_falls_back(grouped):
    """Of the random frames, some go in group by group, and some break a rule there and fall
    back to the single pass (which then raises)."""
    outcomes = []
    for seed in range(150):
        frame, force = two_participant_frame(seed)
        before = len(grouped)
        outcome = _run(_grouped, frame, force)[0]
        if len(grouped) > before:
            outcomes.append((grouped[-1], outcome))
    assert outcomes.count((True, "ok")) >= 10
    assert outcomes.count((False, "error")) >= 10
    assert (True, "error") not in outcomes


def test_participant_groups_keep_participants_whole():
    frame = pd.DataFrame({"participant": ["b", None, " a", "a", "", "me", "c", "b", np.nan] * 50})
    groups = bulk_groups.participant_groups(frame, 3)
    assert sorted(np.concatenate(groups)) == list(range(len(frame)))
    assert all((np.diff(g) > 0).all() for g in groups)  # frame order within a group
    name = frame["participant"].map(lambda p: str(p).strip() if isinstance(p, str) else p)
    name = name.replace("", "me").fillna("me")
    owner = {}
    for i, g in enumerate(groups):
        for person in set(name.iloc[g]):
            assert owner.setdefault(person, i) == i  # nobody in two groups
    assert len(groups) == 3
    assert len(bulk_groups.participant_groups(frame.assign(participant="x"), 3)) == 1


def _notes(participants: list[str], keys: list[str | None], texts: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "kind": "note",
            "occurred_at": pd.Timestamp("2025-01-02", tz="UTC"),
            "participant": participants,
            "text": texts,
            "source_key": keys,
        }
    )


@pytest.fixture
def two(sqlite_study):
    sqlite_study.add_participant("p2")
    return sqlite_study


def test_a_key_repeated_across_groups_is_the_first_rows(two, grouped):
    """me's rows form the first group, but p2's row has the key first: p2's note is kept."""
    frame = _notes(["me", "p2", "me"], ["a", "x", "x"], ["me: a", "p2: x", "me: x"])
    with two.batch() as b:
        assert b.log_frame(frame, source="f") == 2
        assert b.summary.already_present == 1
    assert grouped == [True]
    notes = two.events(kind="note")
    assert sorted(zip(notes.participant, notes.text, strict=True)) == [
        ("me", "me: a"),
        ("p2", "p2: x"),
    ]


def test_a_bad_row_in_a_later_group_leaves_nothing(two, grouped):
    frame = _notes(["me", "me", "p2", "ghost"], ["1", "2", "3", "4"], ["a", "b", "c", "d"])
    with pytest.raises(ValidationError, match="^row 3: participant") as err, two.batch() as b:
        b.log_frame(frame, source="f")
    assert err.value.field == "participant"
    assert grouped == [False]
    assert two.count() == 0


def test_an_insert_failure_rolls_the_frame_back_and_the_batch_goes_on(two, grouped, monkeypatch):
    calls = []
    insert = bulk_groups.insert_sqlite

    def failing(cursor, columns, gate):
        calls.append(len(columns[0]))
        if len(calls) == 2:
            raise sqlite3.OperationalError("disk I/O error")
        return insert(cursor, columns, gate)

    monkeypatch.setattr(bulk_groups, "insert_sqlite", failing)
    frame = _notes(["me"] * 40 + ["p2"] * 40, [str(i) for i in range(80)], ["t"] * 80)
    with two.batch() as b:
        with pytest.raises(sqlite3.OperationalError, match="disk I/O"):
            b.log_frame(frame, source="f")
        b.log("note", text="after", source="f", source_key="after")
    assert len(calls) == 2
    assert list(two.events(kind="note").text) == ["after"]


def test_a_panel_frame_goes_in_as_in_one_pass(tmp_path, monkeypatch):
    """A panel of 20 participants (the benchmark's frame, 20,000 events): the grouped path and
    the single pass store the same rows, each participant's in the same order."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(
        "panel", Path(__file__).parents[1] / "bench" / "panel.py"
    )
    panel = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(panel)
    frame = panel.events_frame(20_000)
    stored = {}
    for grouped_from in (1, 10**9):
        monkeypatch.setattr(bulk_groups, "GROUPED_FROM", grouped_from)
        path = tmp_path / f"{grouped_from}.db"
        panel.build_study(path, 20_000)
        s = study.open(path)
        with s.batch() as b:
            b.now = NOW
            assert b.log_frame(frame, source="bench") == len(frame)
        s.close()
        con = sqlite3.connect(path)
        stored[grouped_from] = con.execute(
            "SELECT participant, platform, occurred_at, kind, contact, value, attributes, "
            "source_key FROM events ORDER BY participant, id"
        ).fetchall()
        con.close()
    assert frame["participant"].nunique() == 20
    assert stored[1] == stored[10**9]
    assert len(stored[1]) == len(frame)


def test_statements_respect_the_librarys_parameter_limit(sqlite_study, monkeypatch):
    """A SQLite built with a lower limit of parameters per statement still takes the rows."""
    with sqlite_study.batch() as b:
        raw = b.conn.connection.dbapi_connection
        raw.setlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER, 999)
        frame = _notes(["me"] * 500, [str(i) for i in range(500)], ["t"] * 500)
        assert b.log_frame(frame, source="f") == 500
    assert sqlite_study.count("note") == 500
    assert bulk_insert.SQLITE_PARAMETERS > 999
