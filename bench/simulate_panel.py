"""Benchmark: simulate a panel (default 1,000 participants, 24 months) into a fresh SQLite file.

Prints the seconds of generation (numpy) and of writing (the validated write path,
``Batch.log_frame``) separately, and events per second. The issue's target: under 60 s.

    .venv/bin/python bench/simulate_panel.py --participants 1000 --months 24
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

from study.simulate import Params, run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--participants", type=int, default=1000)
    ap.add_argument("--months", type=int, default=24)
    ap.add_argument("--seed", type=int, default=7)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        db = Path(tmp) / "panel.db"
        t0 = time.perf_counter()
        r = run(Params(), args.seed, db, participants=args.participants, months=args.months)
        total = time.perf_counter() - t0
    n = r.events_added
    print(f"participants: {args.participants}  months: {args.months}")
    print(f"contacts: {r.contacts}  events: {n}")
    print(
        f"generate: {r.generate_seconds:.1f} s ({n / max(r.generate_seconds, 1e-9):,.0f} events/s)"
    )
    print(f"write:    {r.write_seconds:.1f} s ({n / max(r.write_seconds, 1e-9):,.0f} events/s)")
    print(f"total:    {total:.1f} s ({n / total:,.0f} events/s); target < 60 s")


if __name__ == "__main__":
    main()
