"""Run the scenarios over many seeds and summarize bias and coverage of every printed estimand.

``run_seed`` is one simulated study: simulate, build the tables, compute every result the report
prints (study.estimands), compare with the truth. ``run`` spreads seeds over processes;
``summarize`` gives per scenario and estimand the bias, the coverage of the 95% interval and
their Monte Carlo standard errors; :mod:`study.validation.report` writes docs/validation.md.
"""

from __future__ import annotations

import fnmatch
import math
import os
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ProcessPoolExecutor
from typing import Any

import numpy as np
import pandas as pd

#: Columns of one row per (scenario, seed, estimand).
ROW_COLUMNS = [
    "scenario",
    "seed",
    "estimand",
    "estimate",
    "low",
    "high",
    "truth",
    "scale",
    "covered",
    "finding",
]


def run_seed(scenario: str, seed: int, results_only: Sequence[str] = ()) -> list[dict[str, Any]]:
    """One simulated study of ``scenario``: every printed estimand against its truth.

    An estimand the data could not give (NotEnoughData) yields no row for that seed; the summary
    counts in how many seeds each estimand was computed.
    """
    from study.estimands import Answer, Results
    from study.simulate import frames
    from study.tables.bundle import Tables
    from study.validation.scenarios import SCENARIOS
    from study.validation.truths import TRUTHS

    sc = SCENARIOS[scenario]
    f = frames(sc.params(), seed, participants=sc.participants, months=sc.months, end=sc.end)
    participant = None if sc.participants > 1 else f.truth["participants"][0]
    tables = Tables(f.events, f.contacts, f.end, participant=participant)
    results = Results(tables)
    rows: list[dict[str, Any]] = []
    sections = [
        name
        for name in results.names()
        if (not sc.only or any(fnmatch.fnmatchcase(name, pat) for pat in sc.only))
        and (not results_only or any(fnmatch.fnmatchcase(name, pat) for pat in results_only))
    ]
    for section in sections:
        truth_fn = TRUTHS.get(section)
        r = results.get(section)
        if not isinstance(r, Answer):
            continue
        for name, est in r.estimands().items():
            key = f"{section}: {name}"
            if any(fnmatch.fnmatchcase(key, pat) for pat in sc.skip):
                continue
            truth = truth_fn(name, f.truth) if truth_fn else None
            covered = (
                bool(est.low <= truth.value <= est.high)
                if truth is not None and np.isfinite([est.low, est.high]).all()
                else None
            )
            rows.append(
                {
                    "scenario": scenario,
                    "seed": seed,
                    "estimand": key,
                    "estimate": float(est.estimate),
                    "low": float(est.low),
                    "high": float(est.high),
                    "truth": None if truth is None else float(truth.value),
                    "scale": None if truth is None else truth.scale,
                    "covered": covered,
                    "finding": not est.too_imprecise,
                }
            )
    return rows


def _one(job: tuple[str, int, tuple[str, ...]]) -> list[dict[str, Any]]:
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_seed(*job)


def _seeds_of(seeds: Iterable[int] | Mapping[str, Iterable[int]], scenario: str) -> list[int]:
    return [int(x) for x in (seeds[scenario] if isinstance(seeds, Mapping) else seeds)]


def run(
    scenarios: Sequence[str],
    seeds: Iterable[int] | Mapping[str, Iterable[int]],
    *,
    workers: int | None = None,
    results_only: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Every (scenario, seed) in worker processes (all cores by default); one row per estimand.
    ``seeds``: the same for every scenario, or per scenario (a mapping by name).
    ``results_only``: section patterns (fnmatch) to run, e.g. ``("job_search.*",)``.
    ``progress`` is told when each scenario is done (a run takes an hour or more)."""
    if not isinstance(seeds, Mapping):
        seeds = list(seeds)
    jobs = [(sc, seed, tuple(results_only)) for sc in scenarios for seed in _seeds_of(seeds, sc)]
    left = {sc: len(_seeds_of(seeds, sc)) for sc in scenarios}
    t0 = time.perf_counter()
    workers = workers or os.cpu_count() or 1
    rows: list[dict[str, Any]] = []

    def done(job: tuple[str, int, tuple[str, ...]]) -> None:
        left[job[0]] -= 1
        if progress is not None and left[job[0]] == 0:
            minutes = (time.perf_counter() - t0) / 60
            progress(f"scenario {job[0]} done ({minutes:.1f} minutes so far)")

    if workers == 1:
        for job in jobs:
            rows += _one(job)
            done(job)
    else:
        os.environ.setdefault("OMP_NUM_THREADS", "1")
        os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
        with ProcessPoolExecutor(max_workers=workers) as pool:
            for job, part in zip(jobs, pool.map(_one, jobs, chunksize=1), strict=True):
                rows += part
                done(job)
    return pd.DataFrame(rows, columns=ROW_COLUMNS)


def summarize(rows: pd.DataFrame, seeds: int | Mapping[str, int]) -> pd.DataFrame:
    """Per scenario and estimand (``seeds``: run per scenario, one number or by name): seeds computed, truth, mean estimate, bias (on the log scale
    for ratios), coverage and its Monte Carlo SE, share printed as a finding, and the band the
    coverage must lie in: 95 % ± max(2 points, 1.96 MC SE at 95 %)."""
    out = []
    for (scenario, estimand), g in rows.groupby(["scenario", "estimand"], sort=True):
        n = len(g)
        truth = g["truth"].dropna()
        rec: dict[str, Any] = {
            "scenario": scenario,
            "estimand": estimand,
            "computed": n,
            "seeds": seeds[scenario] if isinstance(seeds, Mapping) else seeds,
            "truth": float(truth.iloc[0]) if len(truth) else math.nan,
            "mean_estimate": float(g["estimate"].mean()),
            "findings": float(g["finding"].mean()),
        }
        if len(truth):
            log = g["scale"].iloc[0] == "log"
            est = np.log(g["estimate"]) if log else g["estimate"]
            true = np.log(g["truth"]) if log else g["truth"]
            diff = (est - true).replace([np.inf, -np.inf], np.nan).dropna()
            cov = g["covered"].dropna().astype(float)
            k = len(cov)
            c = float(cov.mean()) if k else math.nan
            as_finding = g.loc[g["finding"].astype(bool), "covered"].dropna().astype(float)
            rec.update(
                finding_coverage=float(as_finding.mean()) if len(as_finding) else math.nan,
                scale="log" if log else "identity",
                bias=float(diff.mean()) if len(diff) else math.nan,
                bias_se=float(diff.std(ddof=1) / math.sqrt(len(diff)))
                if len(diff) > 1
                else math.nan,
                coverage=c,
                coverage_se=math.sqrt(c * (1 - c) / k) if k else math.nan,
                band=coverage_band(k),
            )
        out.append(rec)
    return pd.DataFrame(out)


def coverage_band(k: int, nominal: float = 0.95) -> tuple[float, float]:
    """Where a true 95 % interval's observed coverage over ``k`` seeds lies: ± max(0.02, 1.96 ×
    its Monte Carlo SE) around 95 %."""
    if k <= 0:
        return (math.nan, math.nan)
    half = max(0.02, 1.96 * math.sqrt(nominal * (1 - nominal) / k))
    return (nominal - half, min(1.0, nominal + half))


#: Below this share of seeds printed as a finding, an estimand outside its band is one the
#: report (almost) never states as a result in that scenario: it says "too imprecise".
RARELY_A_FINDING = 0.05


def verdict(rec: pd.Series) -> str:
    """``ok``; ``under`` (too narrow) or ``over`` (too wide); ``not a finding`` when the
    coverage is outside the band but the report prints the estimate as a finding in fewer than
    5 % of the seeds (it says "too imprecise to interpret yet" instead); or why there is no
    verdict."""
    if pd.isna(rec.get("truth")):
        return "no truth to compare with"
    cov, band = rec.get("coverage"), rec.get("band")
    if cov is None or pd.isna(cov):
        return "never computed"
    if band[0] <= cov <= band[1]:
        return "ok"
    findings = rec.get("findings")
    if findings is not None and not pd.isna(findings) and findings < RARELY_A_FINDING:
        return "not a finding"
    return "under" if cov < band[0] else "over"


def timed_run(
    scenarios: Sequence[str],
    seeds: Sequence[int] | Mapping[str, Sequence[int]],
    *,
    workers: int | None = None,
    results_only: Sequence[str] = (),
    progress: Callable[[str], None] | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, float]:
    t0 = time.perf_counter()
    rows = run(scenarios, seeds, workers=workers, results_only=results_only, progress=progress)
    counts = {sc: len(seeds[sc]) for sc in scenarios} if isinstance(seeds, Mapping) else len(seeds)
    return rows, summarize(rows, counts), time.perf_counter() - t0
