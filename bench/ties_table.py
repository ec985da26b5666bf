#!/usr/bin/env python3
"""Wall time of the ties table and the monthly reliability timeline on a large synthetic log.

Default: 1,000 participants x 250 contacts over 24 months, about 5 million events (requests,
acceptances, interactions, some removals), built directly as an events DataFrame in the shape
``Study.events()`` gives. Usage: python bench/ties_table.py [--participants 1000] [--contacts 250]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from study.frames import EVENT_COLUMNS
from study.tables.ties import reliability_timeline, ties

T0 = pd.Timestamp("2024-01-01", tz="UTC")


def synthetic_log(participants: int, contacts: int, seed: int = 0):
    rng = np.random.default_rng(seed)
    n = participants * contacts
    part = np.repeat([f"p{i}" for i in range(participants)], contacts)
    keys = np.array([f"c{i}" for i in range(n)])
    start = rng.uniform(0, 700, n)
    con = pd.DataFrame(
        {
            "key": pd.array(keys, dtype="string"),
            "participant": pd.array(part, dtype="string"),
            "platform": pd.Categorical(rng.choice(["xing", "linkedin"], n)),
            "basis": pd.Categorical(
                rng.choice(["knows_personally", "met_in_person", "introduced", "none"], n)
            ),
            "introducer": pd.array([None] * n, dtype="string"),
            "first_seen": T0 + pd.to_timedelta(start, unit="D"),
            "first_seen_estimated": False,
        }
    )
    per = 18
    ci = np.repeat(np.arange(n), per)
    removed = np.flatnonzero(rng.random(n) < 0.05)

    def frame(idx, days, kind, **attrs):
        return pd.DataFrame(
            {
                "participant": part[idx],
                "contact": keys[idx],
                "occurred_at": T0 + pd.to_timedelta(days, unit="D"),
                "kind": kind,
                **attrs,
            }
        )

    ev = pd.concat(
        [
            frame(np.arange(n), start, "request_sent", with_message=rng.random(n) < 0.5),
            frame(np.arange(n), start, "request_accepted", direction="in"),
            frame(
                ci,
                start[ci] + rng.exponential(200, len(ci)),
                "interaction",
                direction=rng.choice(["in", "out"], len(ci)),
                channel="message",
            ),
            frame(removed, start[removed] + rng.uniform(10, 300, len(removed)), "contact_removed"),
        ],
        ignore_index=True,
    )
    for c in EVENT_COLUMNS:
        if c not in ev:
            ev[c] = None
    ev["kind"] = pd.Categorical(ev["kind"])
    for c in ("participant", "contact", "direction", "outcome", "introducer"):
        ev[c] = ev[c].astype("string")
    ev["with_message"] = ev["with_message"].astype("boolean")
    ev["introducer_connections"] = ev["introducer_connections"].astype(float)
    return ev, con


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--participants", type=int, default=1000)
    ap.add_argument("--contacts", type=int, default=250)
    a = ap.parse_args()
    ev, con = synthetic_log(a.participants, a.contacts)
    cutoff = T0 + pd.Timedelta(days=730)
    t0 = time.perf_counter()
    t = ties(ev, con, cutoff=cutoff)
    t1 = time.perf_counter()
    tl = reliability_timeline(ev, t, cutoff=cutoff)
    t2 = time.perf_counter()
    print(f"events: {len(ev):,}  ties: {len(t):,}  timeline rows: {len(tl):,}")
    print(f"ties table: {t1 - t0:.1f} s   reliability timeline (monthly): {t2 - t1:.1f} s")


if __name__ == "__main__":
    main()
