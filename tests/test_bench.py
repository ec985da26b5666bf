"""`bench/run --small` runs end to end, so the benchmark code cannot rot (speed is not judged)."""

from __future__ import annotations

import re
import subprocess
import sys

from conftest import ROOT


def test_bench_small_prints_every_row():
    done = subprocess.run(
        [sys.executable, str(ROOT / "bench" / "run"), "--small"],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    lines = done.stdout.splitlines()
    measured = [ln for ln in lines if re.search(r"\d+\.\d{3} s\s+\d+\.\d{3} s\s+\d+\.\d\dx", ln)]
    works = [ln.split("  ")[0] for ln in measured]
    assert any(w.startswith("study log") for w in works)
    assert any(w.startswith("bulk import of 20,000 events") for w in works)
    assert any(w.startswith("Study.events() of 20,000 events") for w in works)
    assert all(re.search(r"\d+ MiB / \d+ MiB", ln) for ln in measured)
    assert any(w.startswith("analysis tables, 10 x 24-month panel") for w in works)
    assert any(
        w.startswith("Kaplan-Meier by basis + Cox (4 covariates), 5,000 ties") for w in works
    )
    assert any(w.startswith("full one-participant PDF report (30 contacts)") for w in works)
    assert "pending" not in done.stdout
