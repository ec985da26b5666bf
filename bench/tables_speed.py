#!/usr/bin/env python3
"""Wall time of the analysis tables on a large synthetic log (default 5 million events).

The weekly metrics panel and the leads table must stay vectorized: this prints how long each
takes on N events (daily profile-view exports and levels on two platforms, activity, profile
updates, interactions and job leads for 20 participants over five years).
Usage: python bench/tables_speed.py [--events 5000000]
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd


def synthetic_events(n: int, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    kinds = rng.choice(
        ["metric", "interaction", "activity", "profile_updated", "job_lead"],
        size=n,
        p=[0.55, 0.4, 0.03, 0.001, 0.019],
    )
    start = pd.Timestamp("2021-01-01", tz="UTC")
    at = start + pd.to_timedelta(rng.integers(0, 5 * 365 * 24 * 3600, n), unit="s")
    names = rng.choice(["profile_views", "search_appearances", "followers", "googlability_rank"], n)
    day = at.tz_convert(None).normalize()
    period = np.where(np.isin(names, ["profile_views", "search_appearances"]), 0, -1)
    length = pd.to_timedelta(rng.integers(0, 7, n), unit="D")
    is_metric = kinds == "metric"
    return pd.DataFrame(
        {
            "participant": pd.Categorical(rng.choice([f"p{i}" for i in range(20)], n)),
            "platform": pd.Categorical(rng.choice(["xing", "linkedin"], n)),
            "occurred_at": at,
            "kind": pd.Categorical(kinds),
            "contact": pd.array(
                np.where(
                    np.isin(kinds, ["interaction", "job_lead"]),
                    rng.integers(0, 5000, n).astype(str),
                    None,
                ),
                dtype="string",
            ),
            "value": np.where(is_metric, rng.integers(1, 100, n), np.nan).astype(float),
            "name": pd.array(np.where(is_metric, names, None), dtype="string"),
            "period_start": pd.Series(day - length).where(is_metric & (period == 0)),
            "period_end": pd.Series(day).where(is_metric & (period == 0)),
            "type": pd.array(np.where(kinds == "activity", "group_post", None), dtype="string"),
            "section": pd.array(
                np.where(kinds == "profile_updated", "about", None), dtype="string"
            ),
            "direction": pd.array(rng.choice(["in", "out"], n), dtype="string"),
            "channel": pd.array(
                np.where(kinds == "job_lead", "referral", "message"), dtype="string"
            ),
            "lead": pd.array(
                np.where(kinds == "job_lead", rng.integers(0, n // 200 + 1, n).astype(str), None),
                dtype="string",
            ),
            "stage": pd.array(
                np.where(kinds == "job_lead", rng.choice(["lead", "applied"], n), None),
                dtype="string",
            ),
            "outcome": pd.array([None] * n, dtype="string"),
        }
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=5_000_000)
    args = parser.parse_args()
    from study.tables.leads import leads
    from study.tables.metrics import weekly_metrics

    t0 = time.perf_counter()
    ev = synthetic_events(args.events)
    print(f"events: {len(ev):,} (generated in {time.perf_counter() - t0:.1f} s)")
    t0 = time.perf_counter()
    panel = weekly_metrics(ev)
    print(f"weekly_metrics: {len(panel):,} rows in {time.perf_counter() - t0:.1f} s")
    t0 = time.perf_counter()
    table = leads(ev)
    print(f"leads: {len(table):,} leads in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
