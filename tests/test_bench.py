"""`bench/run --small` runs end to end, so the benchmark code cannot rot (speed is not judged)."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
from conftest import ROOT


@pytest.mark.slow
def test_bench_small_prints_every_row():
    """Runs every benchmark of `bench/run` on small data (a minute quiet, five busy)."""
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
        w.startswith("Kaplan-Meier by basis + Cox (3 covariates), 5,000 ties") for w in works
    )
    assert any(w.startswith("full one-participant PDF report (30 contacts)") for w in works)
    assert "pending" not in done.stdout


def test_a_childs_peak_memory_is_its_own_not_the_benchmark_process():
    """Linux charges a child started by a large process with that process's peak; the
    benchmark's spawner keeps each child's figure its own."""
    sys.path.insert(0, str(ROOT / "bench"))
    import measure

    ballast = bytearray(400 << 20)
    ballast[::4096] = b"\x01" * len(ballast[::4096])  # touched: 400 MiB resident here
    _, small, out = measure.run_measured([sys.executable, "-c", "print('hi')"])
    grow = "b = bytearray(200 << 20); b[::4096] = bytes([1]) * len(b[::4096])"
    _, big, _ = measure.run_measured([sys.executable, "-c", grow])
    del ballast
    assert out == "hi\n"
    assert small < 100 << 20
    assert 200 << 20 < big < 350 << 20
