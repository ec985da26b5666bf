"""Panel studies: one summary row per participant, and pooled estimates that count participants.

Ties of one participant are not independent draws from the panel: a participant who keeps
ties keeps most of them. Pooling all ties as if they were independent makes intervals too
narrow. So the pooled figures here treat the participant as the unit of clustering:

* :func:`pooled_share` - a share over all rows (e.g. ties reliable at their end) from an
  intercept-only binomial GLM with cluster-robust errors by participant (statsmodels), the
  interval on the logit scale; with one participant, the Wilson interval;
* :func:`pooled_rate` - events per unit of exposure (e.g. job leads per participant-month) from
  an intercept-only Poisson GLM with the exposure as offset and cluster-robust errors;
* :func:`participant_summary` - per participant: ties, ended ties, the Kaplan-Meier median
  lifetime with its interval (when there are enough ties), the share reliable at the end
  (Wilson), and job leads;
* :func:`panel_summary` - both together, for the report's panel section.

The Cox model (:func:`study.analysis.sustainability.cox`) already stratifies by participant in a
panel, and the count models (:mod:`study.analysis.counts`, :mod:`study.analysis.jobs`,
:mod:`study.analysis.second_degree`) take cluster-robust errors by participant.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from study.analysis.base import Estimate, NotEnoughData, wilson
from study.errors import StudyError

#: Fewer participants than this: no cluster-robust interval (it would be unreliable).
MIN_CLUSTERS = 5


def _groups(df: pd.DataFrame, by: str) -> np.ndarray:
    if by not in df:
        raise StudyError(f"the table lacks the column {by!r}")
    return pd.factorize(df[by].astype("string"))[0]


def pooled_share(
    df: pd.DataFrame, column: str, *, by: str = "participant", level: float = 0.95
) -> Estimate:
    """The share of true values of ``column`` over all rows, cluster-robust by ``by``.

    Missing values are left out. With fewer than :data:`MIN_CLUSTERS` participants the Wilson
    interval (rows taken as independent) is returned and its method says so.
    """
    from study.analysis import sm

    d = df[df[column].notna()]
    y = d[column].astype(bool).to_numpy().astype(float)
    n = len(y)
    if n == 0:
        raise NotEnoughData(f"a pooled share of {column}", 0, 1)
    groups = _groups(d, by)
    n_groups = len(np.unique(groups))
    k = int(y.sum())
    if n_groups < MIN_CLUSTERS or k in (0, n):
        est = wilson(k, n, level)
        why = f"{n_groups} {by}s" if n_groups < MIN_CLUSTERS else "all rows alike"
        return Estimate(est.estimate, est.low, est.high, n, f"Wilson ({why})", level, "proportion")
    fit = sm.GLM(y, np.ones((n, 1)), family=sm.families.Binomial()).fit(
        cov_type="cluster", cov_kwds={"groups": groups}
    )
    z = stats.norm.ppf(0.5 + level / 2)
    b, se = float(fit.params[0]), float(fit.bse[0])
    expit = lambda x: 1 / (1 + np.exp(-x))  # noqa: E731
    return Estimate(
        float(expit(b)),
        float(expit(b - z * se)),
        float(expit(b + z * se)),
        n,
        f"binomial GLM, cluster-robust by {by} ({n_groups} clusters), logit interval",
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
    cluster-robust interval by ``by`` (Poisson GLM, log exposure as offset, log-scale interval).
    With fewer than :data:`MIN_CLUSTERS` participants the interval is the model's own."""
    from study.analysis import sm

    d = df[df[count].notna() & (df[exposure] > 0)]
    if d.empty or d[count].sum() == 0:
        raise NotEnoughData(f"a pooled rate of {count}", int(d[count].sum()) if len(d) else 0, 1)
    y = d[count].to_numpy(float)
    groups = _groups(d, by)
    n_groups = len(np.unique(groups))
    model = sm.GLM(
        y, np.ones((len(y), 1)), family=sm.families.Poisson(), offset=np.log(d[exposure])
    )
    if n_groups >= MIN_CLUSTERS:
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
        how = f"Poisson GLM, cluster-robust by {by} ({n_groups} clusters)"
    else:
        fit = model.fit()
        how = f"Poisson GLM ({n_groups} {by}s: not cluster-robust)"
    z = stats.norm.ppf(0.5 + level / 2)
    b, se = float(fit.params[0]), float(fit.bse[0])
    return Estimate(
        float(np.exp(b)), float(np.exp(b - z * se)), float(np.exp(b + z * se)), len(y), how, level
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


@dataclass
class PanelSummary:
    """Per-participant rows and the pooled figures of a panel."""

    participants: pd.DataFrame
    reliable_share: Estimate | None
    leads_per_participant: Estimate | None

    @property
    def summary(self) -> pd.DataFrame:
        rows = []
        for name, est in (
            ("share of ties reliable at their end", self.reliable_share),
            ("job leads per participant", self.leads_per_participant),
        ):
            if est is not None:
                rows.append({"figure": name, **est.as_dict()})
        return pd.DataFrame(rows)


def panel_summary(
    ties: pd.DataFrame, leads: pd.DataFrame | None = None, *, level: float = 0.95
) -> PanelSummary:
    """The panel section's figures: :func:`participant_summary` and the pooled estimates."""
    per = participant_summary(ties, leads, level=level)
    if per["participant"].nunique() < 2:
        raise NotEnoughData("a panel summary (participants)", len(per), 2)
    try:
        share = pooled_share(ties, "reliable_at_end", level=level)
    except (NotEnoughData, KeyError):
        share = None
    try:
        counts = per.assign(exposure=1.0)
        per_person = pooled_rate(counts, "leads", "exposure", level=level)
    except NotEnoughData:
        per_person = None
    return PanelSummary(per, share, per_person)


def study_panel_summary(study, cutoff, *, window_days: float = 365, level: float = 0.95):
    """:func:`panel_summary` of every participant of a study up to ``cutoff`` (the report's
    panel section: ties and job leads of all participants, read with the columns they need)."""
    from study.tables.leads import leads as leads_table
    from study.tables.ties import ties as ties_table

    columns = [
        "participant",
        "platform",
        "occurred_at",
        "kind",
        "contact",
        "direction",
        "with_message",
        "outcome",
        "introducer",
        "introducer_connections",
        "lead",
        "channel",
        "stage",
    ]
    ev = study.events(until=cutoff, columns=columns)
    contacts = study.contacts()
    t = ties_table(ev, contacts, cutoff=cutoff, window_days=window_days)
    return panel_summary(t, leads_table(ev, contacts), level=level)
