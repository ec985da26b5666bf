"""The survival row of ``bench/run``: Kaplan-Meier by basis + Cox with 3 covariates, ours vs lifelines.

The ties table is generated (deterministic for a seed) with the columns and dtypes of
``study.tables.ties.ties``: basis, platform, with_message (nullable boolean),
introducer_reliable (nullable boolean), duration_days at minute resolution (the log's
timestamps) and ended. Lifetimes are exponential with hazard ratios per basis, platform and the
two flags, so both fits are checked against each other (the coefficients must agree).

Ours: ``kaplan_meier(ties, by="basis")`` and ``cox(ties, covariates, strata=None)``.
The reference: lifelines ``KaplanMeierFitter`` per basis and ``CoxPHFitter`` (Efron) on the
same design (treatment dummies against the first level, a missing flag as its own level).
"""

from __future__ import annotations

import time

#: introducer_reliable is not among them: it is missing for every tie not introduced, so its
#: "unknown" level (a missing value is a level of its own) is the complement of basis
#: `introduced` and the design is singular
COVARIATES = ["basis", "platform", "with_message"]
BASES = ["knows_personally", "met_in_person", "introduced", "none"]


def ties_frame(n: int, seed: int = 0):
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    basis = rng.choice(len(BASES), n, p=[0.4, 0.3, 0.2, 0.1])
    platform = rng.choice(2, n)
    msg = rng.random(n) < 0.5
    msg_na = rng.random(n) < 0.2
    rel = rng.random(n) < 0.3
    rel_na = basis != 2  # only introduced ties have an introducer
    log_hr = (
        np.array([0.0, 0.3, 0.6, 0.9])[basis]
        + 0.2 * platform
        - 0.3 * (msg & ~msg_na)
        - 0.4 * (rel & ~rel_na)
    )
    life = rng.exponential(400 * np.exp(-log_hr))
    censor = rng.uniform(0, 730, n)
    duration = np.round(np.minimum(life, censor) * 1440) / 1440
    return pd.DataFrame(
        {
            "participant": pd.array(np.repeat("me", n), dtype="string"),
            "basis": pd.Categorical.from_codes(basis, categories=BASES),
            "platform": pd.Categorical.from_codes(platform, categories=["xing", "linkedin"]),
            "with_message": pd.array(np.where(msg_na, None, msg), dtype="boolean"),
            "introducer_reliable": pd.array(np.where(rel_na, None, rel), dtype="boolean"),
            "duration_days": duration,
            "ended": (life <= censor).astype(int),
        }
    )


def child_ours(n: int) -> dict:
    from study.analysis.sustainability import cox, kaplan_meier

    t = ties_frame(n)
    kaplan_meier(t.head(200), by="basis")  # warm: imports are not the work
    t0 = time.perf_counter()
    km = kaplan_meier(t, by="basis")
    t_km = time.perf_counter() - t0
    c = cox(t, COVARIATES, strata=None)
    seconds = time.perf_counter() - t0
    medians = {g: cv.median.estimate for g, cv in km.curves.items()}
    return {
        "seconds": seconds,
        "km": t_km,
        "cox": seconds - t_km,
        "coef": c.summary["coef"].round(4).tolist(),
        "medians": medians,
    }


def _design(t):
    import pandas as pd

    X = pd.DataFrame(index=t.index)
    for lv in BASES[1:]:
        X[f"basis[{lv}]"] = (t["basis"] == lv).astype(float)
    X["platform[linkedin]"] = (t["platform"] == "linkedin").astype(float)
    for c in ("with_message",):  # no (reference), yes, unknown
        X[f"{c}[yes]"] = (t[c] == True).fillna(False).astype(float)  # noqa: E712
        X[f"{c}[unknown]"] = t[c].isna().astype(float)
    X["duration_days"] = t["duration_days"]
    X["ended"] = t["ended"]
    return X


def child_reference(n: int) -> dict:
    from lifelines import CoxPHFitter, KaplanMeierFitter

    t = ties_frame(n)
    KaplanMeierFitter().fit(t["duration_days"].head(200), t["ended"].head(200))  # warm
    t0 = time.perf_counter()
    medians = {}
    for g, sub in t.groupby("basis", observed=True, sort=True):
        kmf = KaplanMeierFitter().fit(sub["duration_days"], sub["ended"], label=str(g))
        medians[str(g)] = float(kmf.median_survival_time_)
    t_km = time.perf_counter() - t0
    cph = CoxPHFitter().fit(_design(t), duration_col="duration_days", event_col="ended")
    seconds = time.perf_counter() - t0
    return {
        "seconds": seconds,
        "km": t_km,
        "cox": seconds - t_km,
        "coef": cph.params_.round(4).tolist(),
        "medians": medians,
    }
