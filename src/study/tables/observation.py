"""The observation window: when the log begins to see a participant's network, per platform.

A study usually begins by importing a platform archive of connections made years before, with
no interaction logged before the study. The ties table (:mod:`study.tables.ties`) starts a
prevalent tie's quiet clock, and its entry into the survival risk set, at the observation start
of its participant and platform (docs/definitions.md, "The observation window").
"""

from __future__ import annotations

from typing import Any

import pandas as pd


def as_utc(when: Any) -> pd.Timestamp:
    """A moment as a UTC timestamp (a naive one is read as UTC), as the ties table reads it."""
    ts = pd.Timestamp(when)
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


#: Kinds whose events show that the log sees a participant's network as it happens: the
#: interactions and the requests made (an accepted request alone may come from a platform's
#: list of connections, which reaches back years).
OBSERVING_KINDS = ("interaction", "request_sent", "request_received")
#: Event sources of platform archives: their messages and invitations reach back before the
#: study; such an event shows the log watching only from when it was imported (recorded_at).
ARCHIVE_SOURCES = ("linkedin:", "xing:")


def observation_starts(events: pd.DataFrame, contacts: pd.DataFrame, cutoff: Any) -> pd.DataFrame:
    """When the log begins to see each participant's network on each platform: the first
    interaction or request (sent or received) about a contact of that platform, up to the
    cut-off; an archive's event (:data:`ARCHIVE_SOURCES`) counts from when it was imported.

    Returns participant, platform (the contact's), observed_from (UTC). See
    docs/definitions.md, "The observation window".
    """
    cutoff = as_utc(cutoff)
    cols = ["participant", "contact", "occurred_at"]
    archive_cols = [c for c in ("source", "recorded_at") if c in events]
    keep = events["kind"].isin(list(OBSERVING_KINDS)) & events["contact"].notna()
    keep &= events["occurred_at"] <= cutoff
    e = events.loc[keep.fillna(False).to_numpy(bool), cols + archive_cols]
    at = e["occurred_at"]
    if len(archive_cols) == 2 and len(e):
        archive = e["source"].astype("string").str.startswith(ARCHIVE_SOURCES).fillna(False)
        recorded = pd.to_datetime(e["recorded_at"], utc=True)
        at = at.where(~archive.to_numpy(bool), recorded.where(recorded > at, at))
    e = e.assign(at=at)[at <= cutoff]
    first = e.groupby(["participant", "contact"], observed=True, sort=False)["at"].min()
    first = first.reset_index()
    plat = contacts[["participant", "key", "platform"]].rename(columns={"key": "contact"})
    first = first.merge(
        plat.astype({"participant": "string", "contact": "string", "platform": "string"}),
        on=["participant", "contact"],
        how="inner",
    )
    out = first.groupby(["participant", "platform"], sort=True)["at"].min().reset_index()
    return out.rename(columns={"at": "observed_from"})


def observed_from_per_spell(
    participant: pd.Series,
    platform: pd.Series,
    events: pd.DataFrame,
    contacts: pd.DataFrame,
    cutoff: pd.Timestamp,
    given: Any,
) -> pd.Series:
    """Per spell: the observation start of its participant on its platform (else the
    participant's first on any platform, else the cut-off: nothing observed), or ``given``."""
    idx = participant.index
    part = participant.astype("string").to_numpy(dtype=object)
    plat = platform.astype("string").to_numpy(dtype=object)
    if given is not None and not isinstance(given, dict):
        return pd.Series(as_utc(given), index=idx)
    out = pd.Series(pd.NaT, index=idx, dtype="datetime64[ns, UTC]")
    if isinstance(given, dict):
        by_pair = {k: as_utc(v) for k, v in given.items() if isinstance(k, tuple)}
        by_part = {k: as_utc(v) for k, v in given.items() if not isinstance(k, tuple)}
    else:
        obs = observation_starts(events, contacts, cutoff)
        by_pair = {
            (p, f): t
            for p, f, t in zip(
                obs["participant"], obs["platform"], obs["observed_from"], strict=True
            )
        }
        by_part = obs.groupby("participant")["observed_from"].min().to_dict()
    if len(idx):
        out[:] = [
            by_pair.get((p, f), by_part.get(p, cutoff)) for p, f in zip(part, plat, strict=True)
        ]
    return out
