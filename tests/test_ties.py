"""The ties, reliability timeline and introductions tables against docs/definitions.md."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from helpers.frames import Log, day

from study.errors import StudyError
from study.tables.introductions import introductions
from study.tables.ties import reliability_timeline, ties


def one(t: pd.DataFrame, contact: str, spell: int = 1) -> pd.Series:
    rows = t[(t["contact"] == contact) & (t["spell"] == spell)]
    assert len(rows) == 1, rows
    return rows.iloc[0]


@pytest.fixture
def log() -> Log:
    return Log()


def test_alive_at_cutoff_with_last_sign_of_life_and_followup_to_the_horizon(log: Log) -> None:
    log.contact("a")
    log.accepted("a", 0, with_message=True)
    log.talk("a", 10)
    log.talk("a", 100, "in")
    r = one(ties(log.events(), log.contacts(), cutoff=day(400)), "a")
    assert r["end_reason"] == "censored" and r["alive_at_cutoff"]
    assert r["end"] == day(100)  # the last sign of life
    # survival: followed up to the outcome-known horizon, cut-off - W = day 35
    assert (r["followup_end"], r["duration_days"], r["ended"]) == (day(35), 35, 0)
    assert (r["n_in"], r["n_out"]) == (2, 1)
    assert r["last_in"] == day(100) and r["last_out"] == day(10)
    assert r["last_two_way"] == day(10)
    assert bool(r["with_message"]) is True
    # at the cut-off (day 400) the last outbound is 390 days old: not reliable
    assert not r["reliable_at_end"]
    assert one(ties(log.events(), log.contacts(), cutoff=day(300)), "a")["reliable_at_end"]


def test_censored_tie_goes_quiet_once_w_has_passed_before_cutoff(log: Log) -> None:
    log.contact("a")
    log.accepted("a", 0)
    log.talk("a", 20)
    r = one(ties(log.events(), log.contacts(), cutoff=day(20 + 365)), "a")
    assert (r["end_reason"], r["end"], r["ended"]) == ("went_quiet", day(20), 1)
    assert (r["duration_days"], r["alive_at_cutoff"]) == (20, False)
    r = one(ties(log.events(), log.contacts(), cutoff=day(20 + 364.9)), "a")
    assert (r["end_reason"], r["end"], r["ended"]) == ("censored", day(20), 0)
    assert r["duration_days"] == pytest.approx(19.9) and r["alive_at_cutoff"]


def test_quiet_exactly_at_w(log: Log) -> None:
    """A gap of exactly W days ends the tie at the interaction before it; a shorter one doesn't."""
    log.contact("a")
    log.contact("b")
    for k, gap in (("a", 365), ("b", 364.99)):
        log.accepted(k, 0)
        log.talk(k, 5)
        log.talk(k, 5 + gap)
    t = ties(log.events(), log.contacts(), cutoff=day(500))
    a, b = one(t, "a"), one(t, "b")
    assert (a["end_reason"], a["end"], a["duration_days"]) == ("went_quiet", day(5), 5)
    assert (a["n_in"], a["n_out"]) == (1, 1)  # the interaction after the gap is not counted
    assert (b["end_reason"], b["end"]) == ("censored", day(369.99))
    assert (b["n_in"], b["n_out"]) == (2, 2)
    # a smaller window makes b quiet too
    b2 = one(ties(log.events(), log.contacts(), cutoff=day(500), window_days=300), "b")
    assert (b2["end_reason"], b2["end"]) == ("went_quiet", day(5))


def test_readded_after_removal_gives_two_spells(log: Log) -> None:
    log.contact("a")
    log.accepted("a", 0, with_message=False)
    log.talk("a", 50)
    log.log("contact_removed", 60, "a")
    log.log("request_received", 80, "a", with_message=True)
    log.log("request_accepted", 81, "a", direction="out")
    log.talk("a", 90, "in")
    t = ties(log.events(), log.contacts(), cutoff=day(200))
    assert list(t["spell"]) == [1, 2]
    s1, s2 = one(t, "a", 1), one(t, "a", 2)
    assert (s1["end_reason"], s1["end"], s1["alive_at_cutoff"]) == ("removed", day(60), False)
    # a study shorter than W: no follow-up for survival (the horizon lies before the start)
    assert pd.isna(s1["duration_days"]) and pd.isna(s1["followup_end"]) and s1["ended"] == 0
    assert s1["reliable_at_end"] and (s1["n_in"], s1["n_out"]) == (1, 1)
    assert bool(s1["with_message"]) is False and bool(s2["with_message"]) is True
    assert (s2["start"], s2["end"], s2["end_reason"]) == (day(81), day(90), "censored")
    assert (s2["n_in"], s2["n_out"]) == (1, 0)  # spell 1's interactions don't count
    assert not s2["reliable_at_end"]


def test_survival_stops_at_the_outcome_known_horizon(log: Log) -> None:
    """Follow-up ends at cut-off - W for every tie: an end after it (a removal too) is censored
    there, so quiet endings (known only W days later) and removals are treated alike."""
    for k in ("early_removal", "late_removal", "late_quiet", "quiet"):
        log.contact(k)
        log.accepted(k, 0)
        log.talk(k, 10)
    log.log("contact_removed", 100, "early_removal")
    log.log("contact_removed", 300, "late_removal")  # after the horizon (day 235)
    log.talk("late_quiet", 240)  # goes quiet at 240: not yet known at the cut-off
    log.talk("quiet", 200)  # quiet from day 200: known by day 565
    log.talk("quiet", 200 + 365)  # after the gap: does not revive the tie
    t = ties(log.events(), log.contacts(), cutoff=day(600)).set_index("contact")
    got = t[["end_reason", "end", "alive_at_cutoff", "followup_end", "duration_days", "ended"]]
    assert got.loc["early_removal"].tolist() == ["removed", day(100), False, day(100), 100, 1]
    assert got.loc["late_removal"].tolist() == ["removed", day(300), False, day(235), 235, 0]
    assert got.loc["late_quiet"].tolist() == ["censored", day(240), True, day(235), 235, 0]
    assert got.loc["quiet"].tolist() == ["went_quiet", day(200), False, day(200), 200, 1]


def test_duplicate_accept_does_not_start_a_spell(log: Log) -> None:
    log.contact("a")
    log.accepted("a", 0)
    log.accepted("a", 30)
    t = ties(log.events(), log.contacts(), cutoff=day(100))
    assert len(t) == 1 and one(t, "a")["start"] == day(0)


def test_hidden_ends_the_tie(log: Log) -> None:
    log.contact("a")
    log.accepted("a", 0)
    log.talk("a", 10)
    log.log("contact_hidden", 30, "a")
    log.talk("a", 40)  # after the end: not part of the tie
    r = one(ties(log.events(), log.contacts(), cutoff=day(100)), "a")
    assert (r["end_reason"], r["end"], r["alive_at_cutoff"]) == ("hidden", day(30), False)
    assert (r["n_in"], r["n_out"]) == (1, 1)


def test_quiet_before_removal_wins(log: Log) -> None:
    log.contact("a")
    log.accepted("a", 0)
    log.talk("a", 10)
    log.log("contact_removed", 500, "a")
    r = one(ties(log.events(), log.contacts(), cutoff=day(600)), "a")
    assert (r["end_reason"], r["end"]) == ("went_quiet", day(10))


def test_tie_without_interactions(log: Log) -> None:
    log.contact("young")
    log.contact("old")
    log.accepted("young", 300)
    log.accepted("old", 0)
    t = ties(log.events(), log.contacts(), cutoff=day(400))
    y, o = one(t, "young"), one(t, "old")
    assert (y["end_reason"], y["end"]) == ("censored", day(300))
    assert pd.isna(y["duration_days"])  # started after the horizon (day 35): no follow-up
    assert (o["end_reason"], o["end"], o["duration_days"], o["ended"]) == (
        "went_quiet",
        day(0),
        0,
        1,
    )
    assert (y["n_in"], y["n_out"]) == (0, 0) and pd.isna(y["last_two_way"])
    assert not y["reliable_at_end"]


def test_imported_and_pending_contacts(log: Log) -> None:
    log.contact("imported", first_seen=-10)
    log.contact("pending")
    log.log("request_sent", 5, "pending", with_message=True)
    log.contact("imported_then_removed", first_seen=-5)
    log.log("contact_removed", 20, "imported_then_removed")
    t = ties(log.events(), log.contacts(), cutoff=day(100))
    assert set(t["contact"]) == {"imported", "imported_then_removed"}
    assert one(t, "imported")["start"] == day(-10)
    assert one(t, "imported_then_removed")["end_reason"] == "removed"


def test_events_after_cutoff_are_ignored(log: Log) -> None:
    log.contact("a")
    log.contact("late")
    log.accepted("a", 0)
    log.talk("a", 50)
    log.log("contact_removed", 150, "a")
    log.talk("a", 120)
    log.accepted("late", 110)
    t = ties(log.events(), log.contacts(), cutoff=day(100))
    assert list(t["contact"]) == ["a"]
    r = one(t, "a")
    assert (r["end_reason"], r["end"], r["n_in"]) == ("censored", day(50), 1)


def test_reliable_by_known_vouch_check(log: Log) -> None:
    log.contact("i", basis="knows_personally")
    log.contact("n", basis="introduced", introducer="i")
    log.accepted("i", 0)
    log.talk("i", 5)
    log.log("introduction", 10, "n", introducer="i", introducer_connections=620)
    log.accepted("n", 12)
    log.log("vouch_check", 15, "n", outcome="known", introducer="i")
    log.talk("n", 20, "out")
    t = ties(log.events(), log.contacts(), cutoff=day(100))
    n = one(t, "n")
    assert n["reliable_at_end"] and n["introducer"] == "i"
    assert n["introducer_basis"] == "knows_personally"
    assert n["introducer_collector"] and n["introducer_connections"] == 620
    assert n["introducer_reliable"]
    # a year on, the vouch check has lapsed
    assert not one(ties(log.events(), log.contacts(), cutoff=day(20 + 364)), "n")["reliable_at_end"]


def test_reliability_timeline_counts(log: Log, tmp_path: Path) -> None:
    for k in "abc":
        log.contact(k)
    log.accepted("a", 0)
    log.talk("a", 10)  # reliable from day 10 until day 375
    log.talk("a", 200)
    log.accepted("b", 0)
    log.talk("b", 10, "in")  # never reliable: no outbound
    log.accepted("c", 40)
    log.log("contact_removed", 70, "c")
    ev, con = log.events(), log.contacts()
    t = ties(ev, con, cutoff=day(250))
    ends = [day(5), day(20), day(50), day(100), day(240)]
    tl = reliability_timeline(ev, t, freq=ends, cutoff=day(250))
    assert list(tl["alive"]) == [2, 2, 3, 2, 2]
    assert list(tl["reliable"]) == [0, 1, 1, 1, 1]
    monthly = reliability_timeline(ev, t)  # the ties table's cut-off and window
    assert t.attrs == {"cutoff": day(250).isoformat(), "window_days": 365}
    t.to_parquet(tmp_path / "ties.parquet")  # plain attrs: the table writes to Parquet
    assert (monthly["period_end"].dt.day == 1).all() and len(monthly) == 8
    assert (monthly["reliable"] <= monthly["alive"]).all()


def test_introductions_table(log: Log) -> None:
    log.contact("friend", basis="met_in_person")
    log.contact("coll", basis="none")
    log.contact("x", basis="introduced", introducer="friend")
    log.contact("y", basis="introduced", introducer="coll")
    log.contact("z", basis="introduced", introducer="coll")
    log.accepted("friend", 0)
    log.talk("friend", 1)
    log.accepted("coll", 0)
    log.log("introduction", 10, "x", introducer="friend", introducer_connections=120)
    log.log("introduction", 11, "y", introducer="coll", introducer_connections=900)
    log.accepted("x", 12)
    log.accepted("y", 12)
    log.log("vouch_check", 13, "x", outcome="known", introducer="friend")
    log.log("vouch_check", 13, "y", outcome="unknown", introducer="coll")
    log.log("vouch_check", 14, "y", outcome="known", introducer="coll")
    log.talk("x", 20, "in")
    intro = introductions(log.events(), log.contacts(), cutoff=day(100)).set_index("contact")
    assert list(intro.index) == ["z", "x", "y"]  # by introduced_at
    intro = intro.loc[["x", "y", "z"]]
    assert list(intro["introducer_type"].astype(str)) == ["first_hand", "collector", "none"]
    assert (
        intro.loc["x", "vouch_outcome"] == "known" and intro.loc["y", "vouch_outcome"] == "unknown"
    )
    assert pd.isna(intro.loc["z", "vouch_outcome"])
    assert list(intro["responded"]) == [True, False, False]
    assert bool(intro.loc["x", "introducer_reliable"]) and not intro.loc["y", "introducer_reliable"]
    assert intro.loc["x", "end_reason"] == "censored" and intro.loc["x", "end"] == day(20)
    assert intro.loc["z", "introduced_at"] == day(0)  # no introduction event: first_seen
    assert pd.isna(intro.loc["z", "introducer_connections"])


def test_ties_from_a_real_study(s) -> None:
    """The tables take what ``Study.events()`` and ``Study.contacts()`` return."""
    a = s.add_contact(
        "Anna Beispiel", platform="xing", basis="met_in_person", first_seen="2025-01-01"
    )
    b = s.add_contact(
        "Bernd Muster", platform="xing", basis="introduced", introducer=a, first_seen="2025-01-01"
    )
    s.log("request_sent", contact=a, with_message=True, at="2025-01-02")
    s.log("request_accepted", contact=a, direction="in", at="2025-01-03")
    s.log("interaction", contact=a, channel="call", direction="out", at="2025-02-01")
    s.log("interaction", contact=a, channel="message", direction="in", at="2025-02-02")
    s.log("introduction", contact=b, introducer_connections=42, at="2025-03-01")
    s.log("request_accepted", contact=b, direction="out", at="2025-03-02")
    s.log("vouch_check", contact=b, outcome="known", at="2025-03-03")
    s.log("contact_removed", contact=b, at="2025-04-01")
    ev, con = s.events(), s.contacts()
    t = ties(ev, con, cutoff="2025-06-01").set_index("contact")
    assert t.loc[a, "end_reason"] == "censored" and bool(t.loc[a, "with_message"])
    assert t.loc[a, "reliable_at_end"] and (t.loc[a, "n_in"], t.loc[a, "n_out"]) == (1, 1)
    assert t.loc[b, "end_reason"] == "removed" and t.loc[b, "introducer"] == a
    assert t.loc[b, "introducer_reliable"] and not t.loc[b, "introducer_collector"]
    intro = introductions(ev, con, cutoff="2025-06-01")
    assert list(intro["contact"]) == [b]
    assert (
        intro.loc[0, "introducer_type"] == "first_hand" and intro.loc[0, "vouch_outcome"] == "known"
    )


def test_empty_log_gives_empty_tables() -> None:
    log = Log()
    t = ties(log.events(), log.contacts(), cutoff=day(10))
    assert len(t) == 0 and list(t.columns)[:3] == ["participant", "contact", "spell"]
    assert len(introductions(log.events(), log.contacts(), cutoff=day(10))) == 0
    assert len(reliability_timeline(log.events(), t, cutoff=day(10))) == 0


def test_minimal_columns_from_anyones_data() -> None:
    """A plain events table with only the core columns (and direction) is enough."""
    ev = pd.DataFrame(
        {
            "participant": ["me"] * 4,
            "contact": ["a", "a", "a", "a"],
            "occurred_at": [day(0), day(5), day(6), day(400)],
            "kind": ["request_accepted", "interaction", "interaction", "interaction"],
            "direction": [None, "in", "out", "in"],
        }
    )
    con = Log()
    con.contact("a")
    r = one(ties(ev, con.contacts(), cutoff=day(500)), "a")
    assert (r["end_reason"], r["end"], r["n_in"], r["n_out"]) == ("went_quiet", day(6), 1, 1)
    assert pd.isna(r["with_message"])
    with pytest.raises(StudyError, match="occurred_at"):
        ties(ev.drop(columns="occurred_at"), con.contacts(), cutoff=day(500))
