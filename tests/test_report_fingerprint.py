"""The data fingerprint: independent of row order and storage, sensitive to content."""

from __future__ import annotations

import hashlib

from report_study import make_small_study

from study.periods import parse_period
from study.report.fingerprint import canonical_lines, data_fingerprint, fingerprint, period_events


def test_fingerprint_of_a_period(tmp_path) -> None:
    s = make_small_study(tmp_path / "s.db")
    oct_ = parse_period("2026-10")
    fp = data_fingerprint(s, "me", oct_)
    assert fp.events == 10
    ev = period_events(s, "me", oct_)
    assert ev["occurred_at"].min() >= __import__("pandas").Timestamp("2026-09-30T22:00Z")
    expected = hashlib.sha256("\n".join(canonical_lines(ev)).encode()).hexdigest()
    assert fp.sha256 == expected and len(fp.sha256) == 64
    # row order, row ids and recording times do not matter
    shuffled = ev.sample(frac=1, random_state=3).assign(id=range(100, 110))
    shuffled["recorded_at"] = shuffled["recorded_at"] + __import__("pandas").Timedelta(days=1)
    assert fingerprint(shuffled) == fp
    # content does
    changed = ev.copy()
    changed.loc[changed.index[0], "value"] = 999.0
    assert fingerprint(changed).sha256 != fp.sha256
    assert fingerprint(ev.iloc[1:]).events == 9
    # another period, another fingerprint; a new event changes it
    assert data_fingerprint(s, "me", parse_period("2026-09")) != fp
    s.log("note", text="late entry", at="2026-10-30T09:00")
    assert data_fingerprint(s, "me", oct_).events == 11


def test_period_bounds_follow_the_study_time_zone(tmp_path) -> None:
    s = make_small_study(tmp_path / "s.db")
    s.log("note", text="just after midnight in Berlin", at="2026-11-01T00:30")
    s.log("note", text="just before midnight in Berlin", at="2026-10-31T23:30")
    texts = set(period_events(s, "me", parse_period("2026-10"))["text"].dropna())
    assert texts == {"just before midnight in Berlin"}
