"""The SQLite read of ``Study.events`` in many chunks: parsed in a second thread while SQLite
writes the next chunk, with the exact row-by-row way for a chunk whose text does not parse."""

from __future__ import annotations

import pandas as pd
import pytest

import study
from study import frames


def _fill(s: study.Study) -> None:
    anna = s.add_contact("Anna", platform="xing", basis="met_in_person", first_seen="2025-01-10")
    bert = s.add_contact(
        "Bert", platform="linkedin", basis="introduced", introducer=anna, first_seen="2025-01-12"
    )
    # logged out of time order, so the read has to sort across chunks
    for day in range(28, 0, -1):
        at = f"2025-02-{day:02d}T10:00"
        s.log("interaction", contact=anna, channel="call", direction="in", at=at)
        s.log("interaction", contact=bert, channel="message", direction="out", at=at)
        s.log("metric", name="followers", value=day, platform="xing", at=at)
    s.log("request_sent", contact=bert, with_message=True, at="2025-01-12T09:00")
    s.log("introduction", contact=bert, introducer=anna, introducer_connections=40, at="2025-01-12")
    s.log("metric", name="profile_views", value=9, period="2025-01-01..2025-01-07", platform="xing")
    # a unit separator inside a table column: that chunk cannot be parsed as delimited text
    s.log("note", text="a\x1fb", at="2025-02-03T11:00", source="t", source_key="k\x1fz")


@pytest.fixture
def filled(db_path) -> study.Study:
    st = study.init(db_path)
    _fill(st)
    yield st
    st.close()


@pytest.mark.parametrize("columns", [None, ["participant", "occurred_at", "kind", "introducer"]])
def test_many_chunks_read_the_same_frame_as_one(filled, monkeypatch, columns) -> None:
    one = filled.events(columns=columns)
    monkeypatch.setattr(frames, "READ_CHUNK", 7)
    many = filled.events(columns=columns)
    pd.testing.assert_frame_equal(many, one, check_exact=True)
    assert len(many) == 28 * 3 + 4
    assert many["occurred_at"].is_monotonic_increasing
    if columns is None:
        note = many[many["kind"] == "note"].iloc[0]
        assert (note["source_key"], note["text"]) == ("k\x1fz", "a\x1fb")


def test_chunks_agree_with_the_row_by_row_frame(filled, monkeypatch) -> None:
    """Each chunk (fast or exact) gives the values the plain row-by-row builder gives."""
    from sqlalchemy import select

    from study import store

    monkeypatch.setattr(frames, "READ_CHUNK", 5)
    fast = filled.events()
    with filled.engine.connect() as conn:
        e = store.events.c
        rows = conn.execute(select(store.events).order_by(e.occurred_at, e.id)).all()
    slow = frames.events_frame(rows)
    assert len(fast) == len(slow)
    for col in frames.EVENT_COLUMNS:
        a, b = fast[col].astype(object), slow[col].astype(object)
        assert [None if pd.isna(x) else x for x in a] == [None if pd.isna(x) else x for x in b], col
