"""Panel studies: one summary row per participant, and pooled estimates that count participants.

Ties of one participant are not independent draws from the panel: a participant who keeps
ties keeps most of them. Pooling all ties as if they were independent makes intervals too
narrow. So the pooled figures here treat the participant as the unit of clustering:

* :func:`pooled_share` - a share over all rows (e.g. ties reliable at their end) from an
  intercept-only binomial GLM with cluster-robust errors by participant (statsmodels), the
  interval on the logit scale with t quantiles of G − 1 degrees of freedom;
* :func:`pooled_rate` - events per unit of exposure (e.g. job leads per participant-month) from
  an intercept-only Poisson GLM with the exposure as offset and the same small-sample
  cluster-robust interval;
* :func:`random_effects` - per-participant log ratios (e.g. each participant's interrupted time
  series) pooled by a random-effects meta-analysis (Paule–Mandel between-participant variance,
  Hartung–Knapp–Sidik–Jonkman interval with t of k − 1 degrees of freedom);
* :func:`participant_summary` - per participant: ties, ended ties, the Kaplan-Meier median
  lifetime with its interval (when there are enough ties), the share reliable at the end
  (Wilson), and job leads.

The report's panel section takes its pooled figures from the research questions' own
estimands on the panel's tables (:mod:`study.estimands.overview`).

The Cox model (:func:`study.analysis.sustainability.cox`) already stratifies by participant in a
panel, and the count models (:mod:`study.analysis.counts`, :mod:`study.analysis.jobs`,
:mod:`study.analysis.second_degree`) take cluster-robust errors by participant.

**One threshold.** A population-level interval (one that speaks of participants like these, not
only of the ones observed) needs the spread between participants, and that is estimated from
the participants themselves. With fewer than :data:`MIN_PARTICIPANTS` there is no such interval:
the functions raise :class:`~study.analysis.base.NotEnoughData` and the report says so. Why t
with G − 1 degrees of freedom: with normal quantiles the cluster-robust interval of a share
covered 85 % at 5 participants (between-participant SD 0.8 on the logit scale), with t(G − 1)
95 %; falling back to a Wilson interval over rows as if independent covered 43 %
(tests/test_panel.py measures both).
"""

from __future__ import annotations

import warnings
from collections.abc import Sequence

import numpy as np
import pandas as pd
from scipy import stats

from study.analysis.base import Estimate, NotEnoughData, wilson
from study.errors import StudyError

#: Fewer participants than this: no population-level interval (the spread between participants
#: cannot be estimated from fewer). The one threshold of every pooled figure of a panel.
MIN_PARTICIPANTS = 5


def too_few_participants(n_groups: int, what: str) -> NotEnoughData:
    """The error every pooled figure raises below :data:`MIN_PARTICIPANTS`."""
    return NotEnoughData(
        f"a population-level interval of {what} (participants)", n_groups, MIN_PARTICIPANTS
    )


def _t_interval(b: float, se: float, df: int, level: float) -> tuple[float, float]:
    q = float(stats.t.ppf(0.5 + level / 2, df))
    return b - q * se, b + q * se


def _groups(df: pd.DataFrame, by: str) -> np.ndarray:
    if by not in df:
        raise StudyError(f"the table lacks the column {by!r}")
    return pd.factorize(df[by].astype("string"))[0]


def pooled_share(
    df: pd.DataFrame, column: str, *, by: str = "participant", level: float = 0.95
) -> Estimate:
    """The share of true values of ``column`` over all rows, cluster-robust by ``by``.

    Missing values are left out. Intercept-only binomial GLM, cluster-robust (CR1) standard
    error, interval on the logit scale with t quantiles of G − 1 degrees of freedom. Fewer
    than :data:`MIN_PARTICIPANTS` groups: NotEnoughData (no population-level interval).
    """
    from study.analysis import sm

    d = df[df[column].notna()]
    y = d[column].astype(bool).to_numpy().astype(float)
    n = len(y)
    if n == 0:
        raise NotEnoughData(f"a pooled share of {column}", 0, 1)
    groups = _groups(d, by)
    n_groups = len(np.unique(groups))
    if n_groups < MIN_PARTICIPANTS:
        raise too_few_participants(n_groups, f"a share of {column}")
    k = int(y.sum())
    if k in (0, n):
        raise NotEnoughData(f"a pooled share of {column} (all rows alike)", n, "both values")
    fit = sm.GLM(y, np.ones((n, 1)), family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    b, se = float(fit.params[0]), float(fit.bse[0])
    low, high = _t_interval(b, se, n_groups - 1, level)
    expit = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    return Estimate(
        float(expit(b)),
        float(expit(low)),
        float(expit(high)),
        n,
        f"binomial GLM, cluster-robust by {by} ({n_groups} clusters, t with {n_groups - 1} df),"
        " logit interval",
        level,
        "proportion",
    )


def pooled_rate(
    df: pd.DataFrame,
    count: str,
    exposure: str,
    *,
    by: str = "participant",
    level: float = 0.95,
) -> Estimate:
    """Events per unit of exposure over all rows (``sum(count) / sum(exposure)``), with a
    cluster-robust interval by ``by`` (Poisson GLM, log exposure as offset, log-scale interval,
    t quantiles of G − 1 degrees of freedom). Fewer than :data:`MIN_PARTICIPANTS` groups:
    NotEnoughData (no population-level interval)."""
    from study.analysis import sm

    d = df[df[count].notna() & (df[exposure] > 0)]
    if d.empty or d[count].sum() == 0:
        raise NotEnoughData(f"a pooled rate of {count}", int(d[count].sum()) if len(d) else 0, 1)
    y = d[count].to_numpy(float)
    groups = _groups(d, by)
    n_groups = len(np.unique(groups))
    if n_groups < MIN_PARTICIPANTS:
        raise too_few_participants(n_groups, f"a rate of {count}")
    model = sm.GLM(
        y, np.ones((len(y), 1)), family=sm.families.Poisson(), offset=np.log(d[exposure])
    )
    fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
    b, se = float(fit.params[0]), float(fit.bse[0])
    low, high = _t_interval(b, se, n_groups - 1, level)
    how = f"Poisson GLM, cluster-robust by {by} ({n_groups} clusters, t with {n_groups - 1} df)"
    return Estimate(float(np.exp(b)), float(np.exp(low)), float(np.exp(high)), len(y), how, level)


def random_effects(
    log_ratios: Sequence[float], variances: Sequence[float], *, level: float = 0.95
) -> Estimate:
    """Per-participant log ratios pooled by a random-effects meta-analysis (statsmodels
    ``combine_effects``: Paule–Mandel between-participant variance, the Hartung–Knapp–
    Sidik–Jonkman interval with t of k − 1 degrees of freedom), as a ratio.

    A fixed-effect pooling assumes every participant has the same effect, and its interval is
    too narrow as soon as they differ; with few participants the usual random-effects interval
    (normal quantiles) is too narrow as well, which HKSJ corrects (in its modified form: never
    narrower than the unscaled random-effects interval). Fewer than
    :data:`MIN_PARTICIPANTS`: NotEnoughData (no population-level interval)."""
    from statsmodels.stats.meta_analysis import combine_effects

    b = np.asarray(log_ratios, dtype=float)
    v = np.asarray(variances, dtype=float)
    ok = np.isfinite(b) & np.isfinite(v) & (v > 0)
    b, v = b[ok], v[ok]
    k = len(b)
    if k < MIN_PARTICIPANTS:
        raise too_few_participants(k, "a pooled ratio")
    with warnings.catch_warnings():
        # the per-participant rows' own intervals use normal quantiles; the pooled one uses t
        warnings.simplefilter("ignore")
        res = combine_effects(b, v, method_re="iterated", use_t=True)
        frame = res.summary_frame(alpha=1 - level)
    # the modified HKSJ interval: the wider of the scaled (HKSJ) and unscaled intervals; HKSJ's
    # scale falls below 1 when the participants agree more than their own errors say, and its
    # interval is then narrower than any single participant's evidence allows
    rows = frame.loc[["random effect wls", "random effect"]]
    row = rows.loc[(rows["ci_upp"] - rows["ci_low"]).idxmax()]
    return Estimate(
        float(np.exp(row["eff"])),
        float(np.exp(row["ci_low"])),
        float(np.exp(row["ci_upp"])),
        k,
        f"random-effects meta-analysis of {k} participants (Paule–Mandel, modified"
        f" Hartung–Knapp interval, t with {k - 1} df)",
        level,
    )


SUMMARY_COLUMNS = (
    "participant",
    "ties",
    "ended",
    "median_days",
    "median_low",
    "median_high",
    "reliable_share",
    "reliable_low",
    "reliable_high",
    "leads",
)


def participant_summary(
    ties: pd.DataFrame,
    leads: pd.DataFrame | None = None,
    *,
    level: float = 0.95,
    min_n: int = 10,
) -> pd.DataFrame:
    """One row per participant (see the module docstring); NaN where the data are too few
    (a median needs ``min_n`` ties and is NaN while more than half survive)."""
    from study.analysis.sustainability import km_curve

    rows = []
    for pid, t in ties.groupby(ties["participant"].astype("string"), sort=True):
        row: dict[str, object] = {
            "participant": pid,
            "ties": len(t),
            "ended": int(t["ended"].sum()),
        }
        try:
            med = km_curve(t["duration_days"], t["ended"], group=str(pid), level=level).median
            row.update(median_days=med.estimate, median_low=med.low, median_high=med.high)
        except NotEnoughData:
            row.update(median_days=np.nan, median_low=np.nan, median_high=np.nan)
        rel = t["reliable_at_end"].dropna().astype(bool) if "reliable_at_end" in t else []
        if len(rel) >= min_n:
            w = wilson(int(rel.sum()), len(rel), level)
            row.update(reliable_share=w.estimate, reliable_low=w.low, reliable_high=w.high)
        else:
            row.update(reliable_share=np.nan, reliable_low=np.nan, reliable_high=np.nan)
        rows.append(row)
    out = pd.DataFrame(rows, columns=[c for c in SUMMARY_COLUMNS if c != "leads"])
    if leads is not None and len(leads):
        n_leads = leads.groupby(leads["participant"].astype("string")).size()
        out["leads"] = out["participant"].map(n_leads).fillna(0).astype(int)
    else:
        out["leads"] = 0
    out["participant"] = out["participant"].astype("string")
    return out[list(SUMMARY_COLUMNS)]
