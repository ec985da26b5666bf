"""Simple counts straight from the log, for the report until the analyses take over.

Pure pandas: DataFrames in, DataFrames out, no wording (the sections add the words). Each
function answers one plain question about the events of a period or its history.
"""

from __future__ import annotations

import pandas as pd

from study.vocabulary import BASES, FIRST_HAND_BASES, LEAD_PROGRESS, LEAD_STAGES

#: Bases that meet the acceptance rule: (a), (b) and (c).
RULE_BASES = (*FIRST_HAND_BASES, "introduced")
COUNT_METRIC_NAMES = ("profile_views", "search_appearances", "post_impressions")


def events_by_kind(events: pd.DataFrame) -> pd.DataFrame:
    """Columns ``kind``, ``count``: kinds that occur, most frequent first (ties by name)."""
    counts = events["kind"].astype("string").value_counts()
    out = counts.rename_axis("kind").reset_index(name="count")
    return out.sort_values(["count", "kind"], ascending=[False, True], ignore_index=True)


def contacts_by_basis(contacts: pd.DataFrame) -> pd.DataFrame:
    """Rows: basis (in the vocabulary's order, only those present); columns: platforms and
    ``total``."""
    if contacts.empty:
        return pd.DataFrame(columns=["basis", "total"])
    table = pd.crosstab(
        contacts["basis"].astype("string"), contacts["platform"].astype("string")
    ).reindex([b for b in BASES if b in set(contacts["basis"].astype("string"))])
    table["total"] = table.sum(axis=1)
    return table.rename_axis(index="basis", columns=None).reset_index()


def ended_contacts(history: pd.DataFrame) -> set[str]:
    """Contacts whose last removal or hiding comes after their last acceptance."""
    ev = history.dropna(subset=["contact"])
    ends = ev[ev["kind"].isin(["contact_removed", "contact_hidden"])]
    last_end = ends.groupby("contact")["occurred_at"].max()
    accepts = ev[ev["kind"] == "request_accepted"].groupby("contact")["occurred_at"].max()
    return {str(c) for c, t in last_end.items() if c not in accepts.index or accepts[c] < t}


def live_ties(
    history: pd.DataFrame, contacts: pd.DataFrame, start: pd.Timestamp, end: pd.Timestamp
) -> pd.DataFrame:
    """Per contact seen by ``end`` and not ended by then: its basis and whether it had an
    interaction between ``start`` and ``end``. Columns ``contact``, ``basis``, ``active``."""
    ended = ended_contacts(history[history["occurred_at"] <= end])
    known = contacts[(contacts["first_seen"] <= end) & ~contacts["key"].isin(ended)]
    inter = history[
        (history["kind"] == "interaction")
        & (history["occurred_at"] >= start)
        & (history["occurred_at"] <= end)
    ]
    active = set(inter["contact"].dropna().astype(str))
    return pd.DataFrame(
        {
            "contact": known["key"].astype(str).to_numpy(),
            "basis": known["basis"].astype(str).to_numpy(),
            "active": known["key"].astype(str).isin(active).to_numpy(),
        }
    )


def quiet_ties(
    history: pd.DataFrame, contacts: pd.DataFrame, as_of: pd.Timestamp, top: int = 10
) -> pd.DataFrame:
    """The ties not removed or hidden, longest silence first: ``contact``, ``last``
    (last interaction, or the tie's start if none), ``days`` (to ``as_of``)."""
    hist = history[history["occurred_at"] <= as_of]
    ended = ended_contacts(hist)
    known = contacts[(contacts["first_seen"] <= as_of) & ~contacts["key"].isin(ended)]
    if known.empty:
        return pd.DataFrame(columns=["contact", "last", "days"])
    starts = hist[hist["kind"] == "request_accepted"].groupby("contact")["occurred_at"].min()
    last_inter = hist[hist["kind"] == "interaction"].groupby("contact")["occurred_at"].max()
    keys = known["key"].astype(str)
    first = pd.Series(known["first_seen"].to_numpy(), index=keys)
    start = starts.reindex(keys).fillna(first)
    last = last_inter.reindex(keys).fillna(start)
    out = pd.DataFrame({"contact": keys.to_numpy(), "last": last.to_numpy()})
    out["last"] = pd.to_datetime(out["last"], utc=True)
    out["days"] = (as_of - out["last"]).dt.days.astype(int)
    out = out.sort_values(["days", "contact"], ascending=[False, True], ignore_index=True)
    return out.head(top)


def lead_stages(history: pd.DataFrame) -> pd.DataFrame:
    """One row per job lead: ``lead``, ``channel`` (of its first event), ``first`` (time),
    ``furthest`` (the furthest progress stage reached), ``closed`` (its closing stage or NA)."""
    leads = history[history["kind"] == "job_lead"].sort_values("occurred_at")
    if leads.empty:
        return pd.DataFrame(columns=["lead", "channel", "first", "furthest", "closed"])
    rank = {s: i for i, s in enumerate(LEAD_PROGRESS)}
    rows = []
    for lead, g in leads.groupby("lead", sort=True):
        stages = g["stage"].astype(str)
        progress = [s for s in stages if s in rank]
        closing = [s for s in stages if s in ("rejected", "withdrawn", "accepted")]
        rows.append(
            {
                "lead": str(lead),
                "channel": str(g["channel"].iloc[0]),
                "first": g["occurred_at"].iloc[0],
                "furthest": max(progress, key=rank.__getitem__) if progress else "lead",
                "closed": closing[-1] if closing else pd.NA,
            }
        )
    return pd.DataFrame(rows)


def stage_reached(stages: pd.DataFrame, stage: str) -> int:
    """How many leads reached ``stage`` or a later progress stage."""
    rank = {s: i for i, s in enumerate(LEAD_PROGRESS)}
    return int(stages["furthest"].map(rank).ge(rank[stage]).sum())


def leads_by_channel(stages: pd.DataFrame) -> pd.DataFrame:
    """Rows: channel; columns: the progress stages in order (furthest reached) and ``total``."""
    order = [s for s in LEAD_STAGES if s in LEAD_PROGRESS]
    table = pd.crosstab(stages["channel"], stages["furthest"]).reindex(columns=order, fill_value=0)
    table["total"] = table.sum(axis=1)
    return table.rename_axis(index="channel", columns=None).reset_index()


def metric_summary(events: pd.DataFrame) -> pd.DataFrame:
    """Metrics of a period per (name, platform): count metrics summed, levels at their last
    reading. Columns ``name``, ``platform``, ``value``, ``readings``."""
    m = events[events["kind"] == "metric"].sort_values("occurred_at")
    if m.empty:
        return pd.DataFrame(columns=["name", "platform", "value", "readings"])
    m = m.assign(name=m["name"].astype(str), platform=m["platform"].astype(str))
    g = m.groupby(["name", "platform"], sort=True)["value"]
    out = pd.DataFrame({"sum": g.sum(), "last": g.last(), "readings": g.size()}).reset_index()
    out["value"] = out["sum"].where(out["name"].isin(COUNT_METRIC_NAMES), out["last"])
    return out[["name", "platform", "value", "readings"]]


def activities_by_type(events: pd.DataFrame) -> pd.DataFrame:
    """Profile updates and activities of a period: columns ``type``, ``count``."""
    acts = events[events["kind"].isin(["activity", "profile_updated"])]
    types = acts["type"].astype("string").where(acts["kind"] == "activity", "profile_updated")
    out = types.value_counts().rename_axis("type").reset_index(name="count")
    return out.sort_values(["count", "type"], ascending=[False, True], ignore_index=True)


def vouch_outcomes(history: pd.DataFrame) -> tuple[int, int]:
    """Vouch checks so far: (known, all)."""
    v = history[history["kind"] == "vouch_check"]
    return int((v["outcome"] == "known").sum()), len(v)
