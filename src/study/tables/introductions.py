"""The introductions table: one row per introduced (second-degree) contact.

Who introduced them, what kind of introducer that was (first-hand, basis none, collector,
other), whether the introducer vouched for them when asked, whether they ever responded, and how
their tie fared (the first spell's columns from :func:`study.tables.ties.ties`).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from study.tables.ties import _contact_events, as_utc, introducer_reliable, ties
from study.vocabulary import COLLECTOR_CONNECTIONS, FIRST_HAND_BASES

_KINDS = ("introduction", "vouch_check", "interaction")
INTRODUCER_TYPES = ("first_hand", "none", "collector", "other")
INTRODUCTION_COLUMNS = (
    "participant",
    "contact",
    "platform",
    "introducer",
    "introducer_basis",
    "introducer_type",
    "introducer_connections",
    "introducer_reliable",
    "introduced_at",
    "vouch_outcome",
    "vouched_at",
    "responded",
    "first_response_at",
    "spell",
    "start",
    "end",
    "end_reason",
    "alive_at_cutoff",
    "followup_end",
    "duration_days",
    "ended",
    "reliable_at_end",
)


def introducer_type(basis: pd.Series, connections: pd.Series) -> pd.Series:
    """first_hand (basis knows_personally / met_in_person), none, collector, or other.

    A collector (``introducer_connections`` >= ``COLLECTOR_CONNECTIONS``) takes precedence over
    the basis; ``unknown``, ``introduced`` and a missing basis are ``other``.
    """
    b = basis.astype("string")
    kind = np.select(
        [
            (pd.to_numeric(connections, errors="coerce") >= COLLECTOR_CONNECTIONS).to_numpy(),
            b.isin(FIRST_HAND_BASES).fillna(False).to_numpy(dtype=bool),
            (b == "none").fillna(False).to_numpy(dtype=bool),
        ],
        ["collector", "first_hand", "none"],
        "other",
    )
    return pd.Series(pd.Categorical(kind, categories=list(INTRODUCER_TYPES)), index=basis.index)


def introductions(
    events: pd.DataFrame,
    contacts: pd.DataFrame,
    *,
    cutoff: Any,
    window_days: float = 365,
    ties_table: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per introduced contact (an ``introduction`` event, or basis ``introduced``).

    introducer: the first introduction's introducer, else the contact's recorded one;
    introduced_at: the first introduction, else the tie's start, else ``first_seen``;
    introducer_connections: from the introduction event (NaN if not logged);
    introducer_reliable: the introducer's own tie was reliable at ``introduced_at``;
    vouch_outcome / vouched_at: the first vouch check (NaN if none);
    responded: any inbound interaction up to the cut-off (first_response_at: the first);
    spell ... reliable_at_end: the contact's first tie spell (NaN/NaT when never a tie).
    Pass ``ties_table`` to reuse a ties table built with the same cut-off and window.
    """
    cutoff = as_utc(cutoff)
    # the kinds this table looks at: introductions, vouch checks, interactions
    ev = _contact_events(events, cutoff, _KINDS)
    intro = ev[ev["kind"] == "introduction"].sort_values("occurred_at", kind="stable")
    # "first" skips missing values: the first introducer and the first logged connections
    first = intro.groupby(["participant", "contact"], observed=True).agg(
        introduced_at=("occurred_at", "first"),
        event_introducer=("introducer", "first"),
        introducer_connections=("introducer_connections", "first"),
    )
    con = contacts[contacts["first_seen"] <= cutoff].rename(columns={"key": "contact"})
    chosen = con.loc[
        con["basis"].astype("string") == "introduced", ["participant", "contact"]
    ].merge(first.reset_index()[["participant", "contact"]], how="outer")
    df = chosen.merge(
        con[["participant", "contact", "platform", "introducer", "first_seen"]],
        on=["participant", "contact"],
        how="left",
    ).merge(first.reset_index(), on=["participant", "contact"], how="left")
    df["introducer"] = df["event_introducer"].fillna(df["introducer"]).astype("string")
    df["introducer_connections"] = pd.to_numeric(
        df["introducer_connections"], errors="coerce"
    ).astype("float64")
    basis = con[["participant", "contact", "basis"]].rename(
        columns={"contact": "introducer", "basis": "introducer_basis"}
    )
    df = df.merge(basis, on=["participant", "introducer"], how="left")
    df["introducer_type"] = introducer_type(df["introducer_basis"], df["introducer_connections"])

    # vouch checks and responses
    vouch = (
        ev[ev["kind"] == "vouch_check"]
        .sort_values("occurred_at", kind="stable")
        .groupby(["participant", "contact"], observed=True)
        .agg(vouch_outcome=("outcome", "first"), vouched_at=("occurred_at", "first"))
        .reset_index()
    )
    df = df.merge(vouch, on=["participant", "contact"], how="left")
    inbound = (
        ev[(ev["kind"] == "interaction") & (ev["direction"] == "in")]
        .groupby(["participant", "contact"], observed=True)["occurred_at"]
        .min()
        .rename("first_response_at")
        .reset_index()
    )
    df = df.merge(inbound, on=["participant", "contact"], how="left")
    df["responded"] = df["first_response_at"].notna()

    # the first spell of the tie
    t = (
        ties_table
        if ties_table is not None
        else ties(events, contacts, cutoff=cutoff, window_days=window_days)
    )
    t1 = t[t["spell"] == 1][
        [
            "participant",
            "contact",
            "spell",
            "start",
            "end",
            "end_reason",
            "alive_at_cutoff",
            "followup_end",
            "duration_days",
            "ended",
            "reliable_at_end",
        ]
    ]
    df = df.merge(t1, on=["participant", "contact"], how="left")
    df["introduced_at"] = df["introduced_at"].fillna(df["start"]).fillna(df["first_seen"])
    df["introducer_reliable"] = introducer_reliable(
        df.assign(start=df["introduced_at"]), ev, contacts, window_days
    )
    df["vouch_outcome"] = df["vouch_outcome"].astype("string")
    return (
        df[list(INTRODUCTION_COLUMNS)]
        .sort_values(["participant", "introduced_at", "contact"])
        .reset_index(drop=True)
    )
