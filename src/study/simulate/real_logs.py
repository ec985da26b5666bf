"""What real logs do that the default model does not: the scenarios' parts of a participant's
draw (docs/simulation.md, "Scenarios that break the survival analysis' assumptions").

* :func:`archive_ties`: a study that starts from a platform archive of connections made before
  it (scenario (a), :class:`~study.simulate.params.Archive`);
* :func:`removals_seen_at_exports`: removals seen only through exports, dated at the midpoint
  between two of them, as the importers do.

The quiet lag (scenario (c)) and the missing keep-alive (scenario (b)) are settings of the
draw itself (:func:`study.simulate.generator.simulate_participant`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from study.simulate.names import invented_names
from study.simulate.params import Params

if TYPE_CHECKING:
    from study.simulate.generator import EventBuffer, Window


@dataclass
class Archived:
    """The archive's ties still alive when the study begins (its contacts: all of it)."""

    contacts: pd.DataFrame
    keys: np.ndarray
    platform: np.ndarray
    basis: np.ndarray
    s: np.ndarray  # when the log can see them: the study's first day
    end: np.ndarray  # connection date + lifetime
    reason: np.ndarray


def archive_ties(
    buf: EventBuffer,
    rng: np.random.Generator,
    p: Params,
    eff: dict[str, Any],
    pid: str,
    first: int,
    width: int,
    win: Window,
) -> Archived:
    """Scenario (a): connections made before the study (see :class:`~study.simulate.params.
    Archive`); their ``request_accepted`` at the connection date goes into ``buf``."""
    a, t = p.archive, p.ties
    n = a.connections
    names = np.array(list(p.arrivals.rate_per_month), dtype=object)
    w = np.array(list(p.arrivals.rate_per_month.values()), dtype=float)
    basis = names[rng.choice(names.size, size=n, p=w / w.sum())]  # by the direct arrival rates
    undated = rng.random(n) < a.share_undated
    platform = np.where(undated, "xing", "linkedin").astype(object)
    connected = -rng.uniform(0, a.years * 365.25, n)
    sent = rng.random(n) < np.array([p.arrivals.p_sent[b] for b in basis])
    msg = rng.random(n) < np.where(sent, p.arrivals.p_message_sent, p.arrivals.p_message_received)
    eta = (
        np.array([0.0 if b == "knows_personally" else math.log(t.hr_basis[b]) for b in basis])
        + np.where(platform == "linkedin", math.log(t.hr_linkedin), 0.0)
        + np.where(msg, math.log(t.hr_with_message), 0.0)
        + eff["tie_log_frailty"]
    )
    life = t.weibull_scale_days * (rng.exponential(1.0, n) * np.exp(-eta)) ** (1 / t.weibull_shape)
    end = connected + life
    u = rng.random(n)
    p_rem = np.array([t.p_removed[b] for b in basis])
    reason = np.where(
        u < p_rem, "removed", np.where(u < p_rem + (1 - p_rem) * t.p_hidden, "hidden", "quiet")
    ).astype(object)
    listed = (end > 0) | (reason != "removed")  # removed before the study: not in the archive
    keys = np.array([f"{pid}-c{first + j:0{width}d}" for j in range(n)], dtype=object)
    seen_days = np.where(undated, 0.0, connected)[listed]
    contacts = pd.DataFrame(
        {
            "key": keys[listed],
            "participant": pid,
            "platform": platform[listed],
            "basis": basis[listed],
            "introducer": None,
            "first_seen": win.start_ts
            + pd.to_timedelta(np.round(seen_days * 86400).astype("int64"), unit="s"),
            "name": invented_names(rng, int(listed.sum())),
            "first_seen_estimated": undated[listed],
        }
    )
    dated = listed & ~undated
    buf.add(
        "request_accepted",
        connected[dated],
        platform[dated],
        contact=keys[dated],
        direction=np.where(sent[dated], "out", "in").astype(object),
    )
    alive = listed & (end > 0)
    eff["archive"] = {
        "listed": int(listed.sum()),
        "alive_at_start": int(alive.sum()),
        "undated": int((listed & undated).sum()),
    }
    return Archived(
        contacts,
        keys[alive],
        platform[alive],
        basis[alive],
        np.zeros(int(alive.sum())),
        end[alive],
        reason[alive],
    )


def removals_seen_at_exports(events: pd.DataFrame, win: Window, every: float) -> pd.DataFrame:
    """Removals as the importers see them: at the midpoint between the export before and the
    export after (exports every ``every`` days from the study's first day), with
    ``removed_after``/``removed_before``. Not seen: a removal after the last export, and one
    of a tie that began after the export before it (it is in neither snapshot). The contact's
    events after the logged removal go (the log refuses them), a job lead keeps its event
    without the contact."""
    ev = events
    rem = ev["kind"] == "contact_removed"
    day = (ev["occurred_at"] - win.start_ts) / pd.Timedelta(days=1)
    k = np.floor(day / every)
    after, before = k * every, (k + 1) * every
    accepted = ev[ev["kind"] == "request_accepted"].groupby("contact")["occurred_at"].min()
    began = (ev["contact"].map(accepted) - win.start_ts) / pd.Timedelta(days=1)
    in_snapshot = began.isna() | (began <= after)  # undated archive ties: from the first day
    seen = rem & (before <= win.tmax) & in_snapshot
    mid = win.start_ts + pd.to_timedelta((after + every / 2) * 86400, unit="s")
    ev = ev[~rem | seen].copy()
    seen = seen[ev.index]
    ev.loc[seen, "occurred_at"] = mid[ev.index][seen].dt.round("s")
    as_date = lambda d: (win.start_ts + pd.to_timedelta(d, unit="D")).dt.date.astype(object)  # noqa: E731
    ev["removed_after"] = None
    ev["removed_before"] = None
    ev.loc[seen, "removed_after"] = as_date(after[ev.index][seen])
    ev.loc[seen, "removed_before"] = as_date(before[ev.index][seen])
    gone = ev.loc[seen, ["contact", "occurred_at"]].set_index("contact")["occurred_at"]
    when = ev["contact"].map(gone)
    later = when.notna() & (ev["occurred_at"] > when) & ~(ev["kind"] == "contact_removed")
    lead = later & (ev["kind"] == "job_lead")
    ev.loc[lead, "contact"] = None
    drop = later & ~lead & ~ev["kind"].isin(["note"])
    return ev[~drop].sort_values("occurred_at", kind="stable").reset_index(drop=True)
