#!/usr/bin/env python3
"""Median wall time of `study log ...` beside its floor, `python -c "import sqlalchemy"`.

The floor is the interpreter plus the database layer; everything else on the command line's
path (argument parsing, validation, the insert and commit) must fit in 0.15 s above it.
Usage: python bench/cli_latency.py [--runs 10]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

from measure import run_measured

TARGET_EXTRA_S = 0.15


def _median_time(cmd: list[str], runs: int) -> tuple[float, int]:
    """Median wall time of ``runs`` runs, and the largest peak memory among them."""
    times, peaks = [], []
    for _ in range(runs):
        seconds, peak, _ = run_measured(cmd)
        times.append(seconds)
        peaks.append(peak)
    return statistics.median(times), max(peaks)


def measure(runs: int = 10) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        db = str(Path(tmp) / "bench.db")
        subprocess.run(
            [sys.executable, "-m", "study.cli.main", "init", "--db", db],
            check=True,
            capture_output=True,
        )
        study_cmd = [
            sys.executable,
            "-m",
            "study.cli.main",
            "log",
            "metric",
            "--name",
            "followers",
            "--value",
            "42",
            "--platform",
            "xing",
            "--db",
            db,
        ]
        _median_time(study_cmd, 2)  # warm the file cache
        ours, ours_peak = _median_time(study_cmd, runs)
        floor, floor_peak = _median_time([sys.executable, "-c", "import sqlalchemy"], runs)
    return {
        "ours": ours,
        "floor": floor,
        "extra": ours - floor,
        "ours_peak": ours_peak,
        "floor_peak": floor_peak,
    }


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    args = ap.parse_args()
    r = measure(args.runs)
    print(f"{'work':<28}{'ours':>9}{'floor':>9}{'extra':>9}{'target':>10}")
    verdict = "ok" if r["extra"] <= TARGET_EXTRA_S else "OVER"
    print(
        f"{'study log (one event)':<28}{r['ours']:>8.3f}s{r['floor']:>8.3f}s{r['extra']:>8.3f}s"
        f"{'<= +0.15s':>10}  {verdict}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
