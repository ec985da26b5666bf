"""A synthetic panel for the import and read benchmarks: valid events of every common kind.

Built with NumPy in a second or two, deterministic for a seed, so the product and the reference
import the very same rows. (The analysis rows of ``bench/run`` use the simulator's panel.)
Every contact is accepted first; interactions and follows come later; some contacts are removed
after their last event; metrics carry periods; each participant has job leads in stage order.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import numpy as np
import pandas as pd

START = pd.Timestamp("2024-01-01", tz="UTC")
DAYS = 720
EVENTS_PER_CONTACT = 20


def sizes(events: int) -> tuple[int, int]:
    """Participants and contacts per participant for about ``events`` events."""
    contacts = max(events // EVENTS_PER_CONTACT, 10)
    participants = max(min(contacts // 50, 1000), 1)
    return participants, contacts // participants


def participants(n: int) -> list[str]:
    return [f"p{i:04d}" for i in range(n)]


def contacts_frame(events: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    n_p, per = sizes(events)
    pids = np.repeat(participants(n_p), per)
    keys = [f"c-{i:08x}" for i in range(len(pids))]
    return pd.DataFrame(
        {
            "key": keys,
            "participant": pids,
            "platform": rng.choice(["xing", "linkedin"], len(pids)),
            "basis": rng.choice(
                ["knows_personally", "met_in_person", "none", "unknown"], len(pids)
            ),
            "first_seen": START + pd.to_timedelta(rng.integers(0, 60, len(pids)), unit="D"),
        }
    )


def events_frame(events: int, seed: int = 0) -> pd.DataFrame:
    """About ``events`` valid events (contacts from :func:`contacts_frame` with the same seed)."""
    rng = np.random.default_rng(seed + 1)
    c = contacts_frame(events, seed)
    n_c = len(c)
    parts = []
    # the tie starts
    t0 = pd.DatetimeIndex(c["first_seen"]) + pd.Timedelta(days=1)
    parts.append(
        pd.DataFrame(
            {
                "kind": "request_accepted",
                "occurred_at": t0,
                "participant": c.participant,
                "contact": c.key,
                "direction": rng.choice(["in", "out"], n_c),
            }
        )
    )
    # interactions and follows, after the start
    n_i = int(events * 0.78)
    who = rng.integers(0, n_c, n_i)
    at = t0[who] + pd.to_timedelta(rng.integers(3600, 600 * 86400, n_i), unit="s")
    follow = rng.random(n_i) < 0.05
    parts.append(
        pd.DataFrame(
            {
                "kind": np.where(follow, "contact_followed", "interaction"),
                "occurred_at": at,
                "participant": c.participant.to_numpy()[who],
                "contact": c.key.to_numpy()[who],
                "channel": np.where(
                    follow, None, rng.choice(["message", "call", "meeting", "comment"], n_i)
                ),
                "direction": rng.choice(["in", "out"], n_i),
            }
        )
    )
    # some ties end after their last event
    gone = rng.random(n_c) < 0.05
    parts.append(
        pd.DataFrame(
            {
                "kind": "contact_removed",
                "occurred_at": t0[gone] + pd.Timedelta(days=650),
                "participant": c.participant[gone],
                "contact": c.key[gone],
            }
        )
    )
    # weekly metrics per participant and platform: a week's views (a count over the week) or
    # the followers at its end (a level); each metric's weeks distinct (one value per period)
    pids = participants(sizes(events)[0])
    weeks = DAYS // 7 - 2
    n_m = max(events - sum(len(p) for p in parts) - 20 * len(pids), 0)
    n_m = min(n_m, len(pids) * 2 * 2 * weeks)
    cell = rng.choice(len(pids) * 2 * 2 * weeks, n_m, replace=False)
    pm, rest = np.divmod(cell, 2 * 2 * weeks)
    on_xing, rest = np.divmod(rest, 2 * weeks)
    counted_code, week = np.divmod(rest, weeks)
    week = week + 1
    counted = counted_code == 1
    end = pd.Series((START + pd.to_timedelta(week * 7, unit="D")).tz_localize(None))
    level_at = START + pd.to_timedelta(week * 7, unit="D") + pd.Timedelta(hours=12)
    parts.append(
        pd.DataFrame(
            {
                "kind": "metric",
                "occurred_at": pd.Series(level_at).where(~counted),
                "participant": np.array(pids)[pm],
                "platform": np.where(on_xing == 1, "xing", "linkedin"),
                "name": np.where(counted, "profile_views", "followers"),
                "value": rng.integers(0, 500, n_m).astype(float),
                "period_start": (end - pd.Timedelta(days=6)).where(counted),
                "period_end": end.where(counted),
            }
        )
    )
    # job leads: five per participant, four stages each, in order
    stages = ["lead", "applied", "interview", "rejected"]
    lp = np.repeat(np.array(pids), 5 * len(stages))
    lead = np.tile(np.repeat([f"L{i}" for i in range(5)], len(stages)), len(pids))
    stage = np.tile(stages, 5 * len(pids))
    step = np.tile(np.arange(len(stages)), 5 * len(pids))
    parts.append(
        pd.DataFrame(
            {
                "kind": "job_lead",
                "occurred_at": START + pd.to_timedelta(100 + step * 9, unit="D"),
                "participant": lp,
                "lead": lead,
                "stage": stage,
                "channel": np.where(step == 0, "recruiter", None),
            }
        )
    )
    frame = pd.concat(parts, ignore_index=True)
    when = pd.DatetimeIndex(frame.occurred_at.fillna(frame.period_end.dt.tz_localize("UTC")))
    order = np.lexsort((when.asi8, frame.participant.to_numpy()))
    frame = frame.iloc[order].reset_index(drop=True)
    frame["source_key"] = [f"e{i:09d}" for i in range(len(frame))]
    return frame


def build_study(path: Path, events: int, seed: int = 0) -> None:
    """A study with the panel's participants and contacts (no events yet)."""
    import study

    s = study.init(path)
    c = contacts_frame(events, seed)
    con = sqlite3.connect(path)
    with con:
        con.executemany(
            "INSERT INTO participants (id, created_at) VALUES (?, '2024-01-01 00:00:00.000000')",
            [(p,) for p in pd.unique(c.participant)],
        )
        con.executemany(
            "INSERT INTO contacts (key, participant, platform, basis, introducer, first_seen, "
            "first_seen_estimated, identity, created_at) VALUES (?, ?, ?, ?, NULL, ?, 0, NULL, "
            "'2024-01-01 00:00:00.000000')",
            list(
                zip(
                    c.key,
                    c.participant,
                    c.platform,
                    c.basis,
                    c.first_seen.dt.strftime("%Y-%m-%d %H:%M:%S.%f"),
                    strict=True,
                )
            ),
        )
    con.close()
    s.close()
