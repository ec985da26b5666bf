#!/usr/bin/env python3
"""Wall time of a full report beside its floor: the same Papermill + pandoc + Typst pipeline
over notebooks that do nothing (one kernel start each, one page each).

The difference is what the report's own work costs (loading the log, the sections, the
figures); the floor is the machinery (kernel starts, rendering). Usage:
    python bench/report_floor.py [--contacts 300] [--runs 1]
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import statistics
import tempfile
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

import study
from study.report.run import build_report, part_notebooks

ROOT = Path(__file__).resolve().parents[1]
PARAMS = 'db = ""\nparticipant = "me"\nperiod = ""\nlang = "de"\nwindow = 365\nnames = False'


def make_study(path: Path, contacts: int, seed: int = 1) -> int:
    """A study over the year 2026 up to October: contacts, interactions, metrics, leads."""
    rng = random.Random(seed)
    s = study.init(path)
    start = dt.datetime(2026, 1, 5, 9)
    with s.batch() as b:
        keys = []
        for i in range(contacts):
            basis = rng.choice(["knows_personally", "met_in_person", "none", "unknown"])
            seen = start + dt.timedelta(days=rng.randint(0, 250))
            k = b.add_contact(
                f"Kontakt {i}",
                platform=rng.choice(["xing", "linkedin"]),
                basis=basis,
                first_seen=seen,
            )
            keys.append((k, seen))
            b.log("request_accepted", contact=k, direction="out", at=seen)
        for k, seen in keys:
            for _ in range(rng.randint(0, 12)):
                when = seen + dt.timedelta(days=rng.randint(1, 280))
                if when < dt.datetime(2026, 10, 31):
                    b.log(
                        "interaction",
                        contact=k,
                        channel=rng.choice(["message", "call", "meeting"]),
                        direction=rng.choice(["in", "out"]),
                        at=when,
                    )
        for month in range(1, 11):
            b.log(
                "metric",
                name="profile_views",
                value=rng.randint(20, 90),
                period_start=dt.date(2026, month, 1),
                period_end=dt.date(2026, month, 28),
                platform="xing",
                at=dt.datetime(2026, month, 28, 12),
            )
        for n in range(20):
            b.log(
                "job_lead",
                lead=f"L{n}",
                channel=rng.choice(["recruiter", "referral", "posting"]),
                stage="lead",
                at=start + dt.timedelta(days=10 * n),
            )
    count = s.count()
    s.close()
    return count


def floor_notebooks(directory: Path, n: int) -> Path:
    directory.mkdir(parents=True, exist_ok=True)
    for i in range(1, n + 1):
        params = new_code_cell(PARAMS)
        params.metadata["tags"] = ["parameters"]
        cells = [params, new_code_cell("pass")]
        nbformat.write(new_notebook(cells=cells), directory / f"{i:02d}_nothing.ipynb")
    return directory


def timed(runs: int, **kwargs) -> float:
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        build_report(force=True, progress=False, **kwargs)
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--contacts", type=int, default=300)
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    parts = part_notebooks(ROOT / "notebooks")
    with tempfile.TemporaryDirectory() as tmp:
        tmp_path = Path(tmp)
        events = make_study(tmp_path / "study.db", args.contacts)
        common = dict(db=tmp_path / "study.db", period="2026-10", lang="de", formats=("pdf",))
        full = timed(args.runs, out_root=tmp_path / "full", notebooks=ROOT / "notebooks", **common)
        nothing = floor_notebooks(tmp_path / "floor-nbs", len(parts))
        floor = timed(args.runs, out_root=tmp_path / "floor", notebooks=nothing, **common)
    print(
        f"study: {args.contacts} contacts, {events} events; {len(parts)} notebooks; median of {args.runs}"
    )
    print(f"{'full report':<14}{'floor':>10}{'ratio':>10}")
    print(f"{full:>10.1f} s {floor:>8.1f} s {full / floor:>9.2f}")


if __name__ == "__main__":
    main()
