"""Job leads: furthest stage, source basis, Granovetter tie strength, the tie's state."""

from __future__ import annotations

import pandas as pd
import pytest

from study.frames import tidy_events
from study.tables.leads import leads, tie_strength


def events(*rows: dict) -> pd.DataFrame:
    base = {"participant": "me", "platform": "xing"}
    return tidy_events(pd.DataFrame([{**base, **r} for r in rows]))


def lead(lead_id: str, stage: str, at: str, **kw) -> dict:
    return {"kind": "job_lead", "lead": lead_id, "stage": stage, "occurred_at": at, **kw}


def interaction(contact: str, at: str, direction: str = "in") -> dict:
    return {
        "kind": "interaction",
        "contact": contact,
        "channel": "message",
        "direction": direction,
        "occurred_at": at,
    }


CONTACTS = pd.DataFrame(
    {
        "key": ["c1", "c2"],
        "participant": ["me", "me"],
        "basis": ["knows_personally", "none"],
    }
)


def test_one_row_per_lead_with_stages_channel_and_basis() -> None:
    ev = events(
        lead("L1", "lead", "2026-01-05T10:00Z", channel="referral", contact="c1"),
        lead("L1", "applied", "2026-01-10T10:00Z"),
        lead("L1", "interview", "2026-01-20T10:00Z"),
        lead("L1", "rejected", "2026-01-30T10:00Z"),
        lead("L2", "lead", "2026-02-01T10:00Z", channel="recruiter", platform="linkedin"),
        lead("L2", "interview", "2026-02-05T10:00Z"),
        lead("L2", "offer", "2026-02-15T10:00Z"),
        lead("L2", "accepted", "2026-02-20T10:00Z"),
    )
    t = leads(ev, CONTACTS).set_index("lead")
    assert len(t) == 2
    assert t.loc["L1", "furthest_stage"] == "interview"
    assert t.loc["L1", "closed"] == "rejected"
    assert t.loc["L1", "basis"] == "knows_personally"
    assert t.loc["L1", "channel"] == "referral"
    assert t.loc["L1", "first_seen"] == pd.Timestamp("2026-01-05T10:00Z")
    assert [t.loc["L1", f"reached_{s}"] for s in ("lead", "applied", "interview", "offer")] == [
        True,
        True,
        True,
        False,
    ]
    # a recruiter's interview without an application still passed "applied"
    assert t.loc["L2", "reached_applied"] and t.loc["L2", "reached_accepted"]
    assert t.loc["L2", "platform"] == "linkedin" and t.loc["L2", "closed"] == "accepted"
    assert pd.isna(t.loc["L2", "basis"]) and pd.isna(t.loc["L2", "tie_strength"])


def test_granovetter_bins() -> None:
    counts = pd.Series([0, 1, 2, 103, 104, 500, None])
    assert tie_strength(counts).tolist() == [
        "rarely",
        "rarely",
        "occasionally",
        "occasionally",
        "often",
        "often",
        pd.NA,
    ]


def test_tie_strength_counts_interactions_in_the_prior_year_only() -> None:
    weekly_twice = [
        interaction(
            "c1",
            (pd.Timestamp("2025-01-10T12:00Z") + pd.Timedelta(days=3.5 * i)).strftime(
                "%Y-%m-%dT%H:%MZ"
            ),
        )
        for i in range(104)
    ]
    ev = events(
        *weekly_twice,
        interaction("c2", "2024-06-01T12:00Z"),  # too long before
        interaction("c2", "2025-09-01T12:00Z"),
        interaction("c2", "2025-10-01T12:00Z"),
        interaction("c2", "2026-03-01T12:00Z"),  # after the lead: not counted
        lead("L1", "lead", "2026-01-09T12:00Z", channel="referral", contact="c1"),
        lead("L2", "lead", "2026-01-09T12:00Z", channel="referral", contact="c2"),
    )
    t = leads(ev, CONTACTS).set_index("lead")
    assert t.loc["L1", "interactions_12m"] == 104
    assert t.loc["L1", "tie_strength"] == "often"
    assert t.loc["L2", "interactions_12m"] == 2
    assert t.loc["L2", "tie_strength"] == "occasionally"


def test_tie_state_at_the_lead_alive_and_reliable() -> None:
    ev = events(
        interaction("c1", "2025-12-01T12:00Z", "in"),
        interaction("c1", "2025-12-02T12:00Z", "out"),
        interaction("c2", "2025-12-01T12:00Z", "in"),  # one direction only
        {
            "kind": "vouch_check",
            "contact": "c3",
            "outcome": "known",
            "occurred_at": "2025-11-01T12:00Z",
        },
        lead("L1", "lead", "2026-01-09T12:00Z", channel="referral", contact="c1"),
        lead("L2", "lead", "2026-01-09T12:00Z", channel="referral", contact="c2"),
        lead("L3", "lead", "2026-01-09T12:00Z", channel="referral", contact="c3"),
        lead("L4", "lead", "2026-01-09T12:00Z", channel="referral", contact="c4"),
        lead("L5", "lead", "2026-01-09T12:00Z", channel="posting"),
    )
    ties = pd.DataFrame(
        {
            "participant": ["me"] * 5,
            "contact": ["c1", "c2", "c3", "c4", "c4"],
            "spell": [1, 1, 1, 1, 2],
            "start": pd.to_datetime(
                ["2025-01-01", "2025-01-01", "2025-01-01", "2025-01-01", "2026-02-01"], utc=True
            ),
            "end": pd.to_datetime(
                ["2025-12-02", "2025-12-01", "2025-11-01", "2025-06-01", "2026-02-01"], utc=True
            ),
            "end_reason": ["censored", "censored", "censored", "removed", "censored"],
            "ended": [False, False, False, True, False],
        }
    )
    t = leads(ev, CONTACTS, ties=ties).set_index("lead")
    assert t.loc["L1", "alive"] and t.loc["L1", "reliable"]
    assert t.loc["L2", "alive"] and not t.loc["L2", "reliable"]
    assert t.loc["L3", "alive"] and t.loc["L3", "reliable"]  # by a passed vouch check
    # removed before the lead; the second spell starts only after it
    assert not t.loc["L4", "alive"] and not t.loc["L4", "reliable"]
    assert pd.isna(t.loc["L5", "alive"]) and pd.isna(t.loc["L5", "reliable"])
    # the same from end_reason alone ("censored" is not an end), and with NA for censored
    for reasons in (ties["end_reason"], ties["end_reason"].where(ties["ended"])):
        again = leads(ev, CONTACTS, ties=ties.drop(columns="ended").assign(end_reason=reasons))
        assert again.set_index("lead")["alive"].tolist() == t["alive"].tolist()


def test_no_leads_give_an_empty_table() -> None:
    ev = events(interaction("c1", "2025-12-01T12:00Z"))
    t = leads(ev, CONTACTS)
    assert t.empty and "furthest_stage" in t.columns


@pytest.mark.parametrize("n", [3000])
def test_many_leads(n: int) -> None:
    rows = [
        lead(
            f"L{i}",
            s,
            f"2026-01-{1 + i % 20:02d}T{h:02d}:00Z",
            channel="other",
            contact=f"c{i % 50}",
        )
        for i in range(n)
        for h, s in ((8, "lead"), (9, "applied"))
    ]
    t = leads(events(*rows), CONTACTS)
    assert len(t) == n
    assert t["reached_applied"].all() and not t["reached_interview"].any()
