"""docs/validation.md: what the harness found, written by the harness (never by hand)."""

from __future__ import annotations

import datetime as dt
import os
import platform
from collections.abc import Mapping
from importlib.metadata import version
from pathlib import Path

import pandas as pd

from study.validation.harness import verdict
from study.validation.scenarios import SCENARIOS


def _pct(x: float) -> str:
    return "–" if pd.isna(x) else f"{100 * x:.1f} %"


def _num(x: float) -> str:
    return "–" if pd.isna(x) else f"{x:.3g}"


def markdown(
    summary: pd.DataFrame, *, seeds: int | Mapping[str, int], seconds: float, command: str
) -> str:
    """The page: when and on what it ran, then one table per scenario."""
    now = dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC")
    libs = ", ".join(f"{p} {version(p)}" for p in ("numpy", "scipy", "pandas", "statsmodels"))
    lines = [
        "# Validation: bias and coverage of every estimand the report prints",
        "",
        "Written by `python -m study.validation` (`bench/validate`); do not edit by hand.",
        "Each seed simulates a study with known truth (`study.simulate`), builds its analysis",
        "tables and runs the very functions the report prints from (`study.estimands`); each",
        "printed 95 % interval is compared with the truth (`study.validation.truths`).",
        "",
        f"- run: {now}, `{command}`, "
        + (
            "seeds per scenario as each one's heading says"
            if isinstance(seeds, Mapping)
            else f"{seeds} seeds per scenario"
        )
        + f", {seconds / 60:.1f} minutes",
        f"- machine: {platform.machine()}, {os.cpu_count()} cores, Python "
        f"{platform.python_version()}; {libs}",
        "- bias: mean of estimate − truth, on the log scale for ratios (log bias 0.1 ≈ 10 % too"
        " high); MC SE: its Monte Carlo standard error",
        "- coverage: share of seeds whose interval holds the truth, with its Monte Carlo SE; the"
        " verdict is `ok` inside 95 % ± max(2 points, 1.96 MC SE), `under` below (intervals too"
        " narrow or biased), `over` above (too wide)",
        "- computed: seeds in which the data sufficed for the estimate (else the report says"
        ' "not enough data yet"); finding: share of those printed as a finding rather than as'
        " too imprecise to interpret (`Estimate.too_imprecise`); coverage as a finding: the"
        " coverage among those seeds alone",
        "- verdict `not a finding`: the coverage lies outside the band, but the report prints"
        " the estimate as a finding in fewer than 5 % of the seeds of that scenario (it says"
        ' "too imprecise to interpret yet" instead)',
        "- no truth to compare with: the simulated world holds no single true value for the"
        " estimand (e.g. a share that depends on the whole tie process); it is printed with its"
        " interval but not validated here",
        "",
    ]
    for name, g in summary.groupby("scenario", sort=False):
        sc = SCENARIOS[name]
        lines += [
            f"## Scenario `{name}`",
            "",
            f"{sc.description} ({sc.participants} participant(s) × {sc.months} months; "
            f"{int(g['seeds'].iloc[0])} seed{'' if int(g['seeds'].iloc[0]) == 1 else 's'}).",
            "",
            "| estimand | truth | mean estimate | bias (MC SE) | coverage (MC SE) | verdict |"
            " computed | finding | coverage as a finding |",
            "|---|---|---|---|---|---|---|---|---|",
        ]
        for _, r in g.iterrows():
            bias = r.get("bias")
            lines.append(
                f"| {r['estimand']} | {_num(r['truth'])} | {_num(r['mean_estimate'])} | "
                + (
                    f"{_num(bias)} ({_num(r.get('bias_se'))})"
                    + (" log" if r.get("scale") == "log" else "")
                    if not pd.isna(bias)
                    else "–"
                )
                + f" | {_pct(r.get('coverage'))} ({_pct(r.get('coverage_se'))}) | {verdict(r)} | "
                f"{int(r['computed'])}/{int(r['seeds'])} | {_pct(r['findings'])} | "
                f"{_pct(r.get('finding_coverage'))} |"
            )
        lines.append("")
    return "\n".join(lines)


def write(text: str, path: Path) -> None:
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(text)
    tmp.replace(path)
