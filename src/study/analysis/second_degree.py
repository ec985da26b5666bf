"""Research question 4: how reliable are second-degree contacts, and how does it depend on the
introducer?

Takes the introductions table (:func:`study.tables.introductions.introductions`) and the ties
table (:func:`study.tables.ties.ties`):

* :func:`rates` - by introducer type: vouch-check pass rate, response rate (any inbound
  interaction), both with Wilson intervals, and tie survival at 12 months (Kaplan-Meier);
* :func:`vouch_model` - a logistic regression (statsmodels binomial GLM) of passing the vouch
  check on introducer type, the introducer's connection count and the time since the
  introduction: odds ratios with CIs, cluster-robust by participant for panels;
* :func:`second_vs_first` - survival of second-degree (introduced) against first-degree
  (knows personally / met in person) ties: log-rank test and Cox hazard ratio;
* :func:`ego_network` - the participant, first- and second-degree contacts as a networkx graph.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from scipy import stats

from study.analysis.base import NotEnoughData, wilson
from study.analysis.sustainability import CoxResult, LogRank, cox, km_curve, logrank
from study.tables.ties import alive_at_cutoff
from study.vocabulary import FIRST_HAND_BASES

if TYPE_CHECKING:
    import networkx as nx

YEAR = 365.25


# rates by introducer type -----------------------------------------------------------------------


@dataclass
class RatesResult:
    """Pass, response and 12-month survival rates per group; ``summary`` is the table."""

    by: str
    summary: pd.DataFrame
    level: float


def rates(
    introductions: pd.DataFrame,
    by: str = "introducer_type",
    *,
    level: float = 0.95,
    horizon_days: float = 365.25,
    min_n_survival: int = 10,
    response_days: float | None = None,
    cutoff: Any = None,
) -> RatesResult:
    """By introducer type (or any column): n; vouch checks and the share ``known`` (Wilson);
    the share that responded (Wilson); Kaplan-Meier survival at ``horizon_days`` with its
    log-transformed pointwise CI.

    ``response_days`` (with ``cutoff``): "responded" means an inbound interaction within that
    many days of the introduction, among the introductions at least that long before the
    cut-off (``responders`` counts them): a share that does not grow with follow-up. Without
    it, any response up to the cut-off counts.

    A group with fewer than ``min_n_survival`` ties gets no survival estimate (NaN) and a note
    saying so; the proportions need at least one contact (a group with no vouch checks gets NaN
    and a note). The whole table needs at least one introduced contact.
    """
    d = introductions
    if len(d) == 0:
        raise NotEnoughData("second-degree rates", 0, 1)
    rows = []
    for g, sub in d.groupby(by, observed=True, sort=True):
        notes = []
        checked = sub["vouch_outcome"].notna()
        row: dict[str, Any] = {by: g, "n": len(sub), "vouch_checks": int(checked.sum())}
        if checked.any():
            w = wilson(
                int((sub.loc[checked, "vouch_outcome"] == "known").sum()),
                int(checked.sum()),
                level,
                modified=True,
            )
            row.update(pass_rate=w.estimate, pass_low=w.low, pass_high=w.high)
        else:
            row.update(pass_rate=np.nan, pass_low=np.nan, pass_high=np.nan)
            notes.append("no vouch checks")
        responded, eligible = _responses(sub, response_days, cutoff)
        row["responders"] = int(eligible.sum())
        if eligible.any():
            w = wilson(int(responded[eligible].sum()), int(eligible.sum()), level, modified=True)
            row.update(response_rate=w.estimate, response_low=w.low, response_high=w.high)
        else:
            row.update(response_rate=np.nan, response_low=np.nan, response_high=np.nan)
            notes.append(f"no introduction {response_days:.0f} days before the cut-off")
        tie = sub[sub["duration_days"].notna()]
        row["ties"] = len(tie)
        if len(tie) >= min_n_survival:
            c = km_curve(
                tie["duration_days"],
                tie["ended"],
                group=str(g),
                level=level,
                horizons={"h": horizon_days},
                min_n=min_n_survival,
            )
            h = c.at.iloc[0]
            row.update(survival=h["surv"], survival_low=h["low"], survival_high=h["high"])
        else:
            row.update(survival=np.nan, survival_low=np.nan, survival_high=np.nan)
            notes.append(f"not enough ties for survival (n = {len(tie)}, needs {min_n_survival})")
        row["note"] = "; ".join(notes)
        rows.append(row)
    return RatesResult(by, pd.DataFrame(rows), level)


def _responses(
    d: pd.DataFrame, response_days: float | None, cutoff: Any
) -> tuple[pd.Series, pd.Series]:
    """Whether each contact responded (within the window), and whether it counts."""
    if response_days is None:
        return d["responded"].astype(bool), pd.Series(True, index=d.index)
    window = pd.Timedelta(days=response_days)
    at = pd.to_datetime(d["introduced_at"], utc=True)
    first = pd.to_datetime(d["first_response_at"], utc=True)
    eligible = at <= pd.Timestamp(cutoff) - window
    return ((first - at) <= window).fillna(False).astype(bool), eligible.fillna(False)


# the logistic model of passing the vouch check ----------------------------------------------------


@dataclass
class VouchModel:
    """Odds ratios of passing the vouch check; ``summary``: coef, se, or, or_low, or_high, p."""

    summary: pd.DataFrame
    n: int
    passed: int
    covariance: str
    level: float
    fit: Any = field(repr=False)
    #: kinds of introducer left out: fewer than ``min_per_level`` checks, or all alike
    left_out: list[str] = field(default_factory=list)


def vouch_model(
    introductions: pd.DataFrame,
    *,
    type_column: str = "introducer_type",
    connections: str | None = "log1p",
    time_since: bool = True,
    cluster: str | None = "auto",
    level: float = 0.95,
    min_n: int = 20,
    min_per_level: int = 5,
) -> VouchModel:
    """Logistic regression (binomial GLM, logit link) of ``vouch_outcome == "known"``.

    Terms: the introducer type (treatment dummies against its first level present, normally
    ``first_hand``; a type with fewer than ``min_per_level`` checks or only one outcome is left
    out and listed in ``left_out``); the introducer's connections as ``log1p`` (per unit of log(1 + n)) or
    ``per100`` (per 100 connections), or None to leave them out (rows without a connection
    count are dropped when included); and the years from the introduction to the vouch check.
    Only introductions with a vouch check enter. ``cluster="auto"``: cluster-robust standard
    errors by participant (t with G − 1 df) from
    :data:`~study.analysis.panel.MIN_PARTICIPANTS` participants on.
    """
    from study.analysis import sm

    d = introductions[introductions["vouch_outcome"].notna()].copy()
    cols: dict[str, pd.Series] = {}
    left_out: list[str] = []
    if type_column:
        t = d[type_column].astype(str)
        order = (
            [str(c) for c in d[type_column].cat.categories]
            if isinstance(d[type_column].dtype, pd.CategoricalDtype)
            else sorted(t.unique())
        )
        levels = [lv for lv in order if lv in set(t)]
        # a kind with too few checks, or whose checks all came out alike, has no finite odds
        # ratio: it is left out (and named) rather than breaking the whole model
        known = (d["vouch_outcome"] == "known").to_numpy()
        usable = [
            lv
            for lv in levels
            if (t == lv).sum() >= min_per_level
            and 0 < known[(t == lv).to_numpy()].sum() < (t == lv).sum()
        ]
        left_out = [lv for lv in levels if lv not in usable]
        if not usable or (levels and usable[0] != levels[0]):
            raise NotEnoughData(
                f"a vouch-check model (checks of the reference kind {levels[0] if levels else ''!r})",
                int((t == levels[0]).sum()) if levels else 0,
                f"{min_per_level} with both outcomes",
            )
        d = d[t.isin(usable).to_numpy()]
        t = t[t.isin(usable)]
        levels = usable
        for lv in levels[1:]:
            cols[f"{type_column}[{lv}]"] = (t == lv).astype(float)
    if connections is not None:
        conn = pd.to_numeric(d["introducer_connections"], errors="coerce")
        d = d[conn.notna()]
        cols = {k: v.loc[d.index] for k, v in cols.items()}
        conn = conn.loc[d.index]
        if connections == "log1p":
            cols["log1p_connections"] = np.log1p(conn)
        elif connections == "per100":
            cols["connections_per100"] = conn / 100
        else:
            raise ValueError("connections must be log1p, per100 or None")
    if time_since:
        cols["years_since_introduction"] = (
            (d["vouched_at"] - d["introduced_at"]) / pd.Timedelta(days=1) / YEAR
        ).astype(float)
    X = pd.DataFrame(cols, index=d.index).dropna()
    y = (d.loc[X.index, "vouch_outcome"] == "known").astype(float)
    n, passed = len(y), int(y.sum())
    if n < min_n:
        raise NotEnoughData("a vouch-check model", n, min_n)
    if passed in (0, n):
        raise NotEnoughData(
            "a vouch-check model (both outcomes needed)", min(passed, n - passed), 1
        )
    X = X.loc[:, X.nunique() > 1]
    X.insert(0, "Intercept", 1.0)
    if n < 5 * X.shape[1]:
        raise NotEnoughData("a vouch-check model (per term)", n, 5 * X.shape[1])
    model = sm.GLM(y, X, family=sm.families.Binomial())
    from study.analysis.panel import MIN_PARTICIPANTS

    groups_n = d.loc[X.index, "participant"].nunique() if "participant" in d else 1
    if cluster == "auto":
        cluster = "participant" if groups_n >= MIN_PARTICIPANTS else None
    df = None
    if cluster:
        groups = pd.factorize(d.loc[X.index, cluster])[0]
        fit = model.fit(cov_type="cluster", cov_kwds={"groups": groups})
        df = len(np.unique(groups)) - 1
        covariance = f"cluster-robust by {cluster} (t with {df} df)"
    else:
        fit = model.fit()
        covariance = "model-based"
    params, bse = np.asarray(fit.params), np.asarray(fit.bse)
    # separation shows in the intercept and the 0/1 terms as log odds beyond ±15; a continuous
    # term's coefficient depends on its unit (checks days after the introduction, in years)
    binary = np.array([c == "Intercept" or X[c].isin([0.0, 1.0]).all() for c in X.columns])
    if not np.all(np.isfinite(bse)) or np.any(np.abs(params[binary]) > 15):
        raise NotEnoughData(
            "a vouch-check model (separation: a group always passes or fails)", n, "more"
        )
    z = stats.norm.ppf(0.5 + level / 2) if df is None else stats.t.ppf(0.5 + level / 2, df)
    summary = pd.DataFrame(
        {
            "coef": params,
            "se": bse,
            "or": np.exp(params),
            "or_low": np.exp(params - z * bse),
            "or_high": np.exp(params + z * bse),
            "p": 2
            * (
                stats.norm.sf(np.abs(params / bse))
                if df is None
                else stats.t.sf(np.abs(params / bse), df)
            ),
        },
        index=pd.Index(list(X.columns), name="term"),
    )
    return VouchModel(summary, n, passed, covariance, level, fit, left_out)


# second against first degree ----------------------------------------------------------------------


@dataclass
class DegreeComparison:
    """Second- against first-degree tie survival: the log-rank test and the Cox hazard ratio
    (``hr`` > 1: second-degree ties end sooner)."""

    logrank: LogRank
    cox: CoxResult
    n_first: int
    n_second: int

    @property
    def summary(self) -> pd.DataFrame:
        r = self.cox.summary.loc["degree[second]"]
        return pd.DataFrame(
            [
                {
                    "n_first": self.n_first,
                    "n_second": self.n_second,
                    "logrank_chisq": self.logrank.chisq,
                    "logrank_p": self.logrank.pvalue,
                    "hr": r["hr"],
                    "hr_low": r["hr_low"],
                    "hr_high": r["hr_high"],
                    "hr_p": r["p"],
                }
            ]
        )


def degree_of(ties: pd.DataFrame) -> pd.Series:
    """first (basis knows_personally / met_in_person), second (introduced), else NA."""
    b = ties["basis"].astype("string")
    out = pd.Series(pd.NA, index=ties.index, dtype="string")
    out[b.isin(FIRST_HAND_BASES).fillna(False)] = "first"
    out[(b == "introduced").fillna(False)] = "second"
    return out


def second_vs_first(
    ties: pd.DataFrame, *, covariates: Sequence[str] = (), min_n: int = 10
) -> DegreeComparison:
    """Compare tie survival of introduced contacts with first-hand ones (log-rank + Cox HR).

    ``covariates`` (e.g. ``("platform",)``) adjust the Cox model; panels are stratified by
    participant (log-rank and Cox).
    """
    t = ties.assign(degree=degree_of(ties))
    t = t[t["degree"].notna()].copy()
    t["degree"] = pd.Categorical(t["degree"], categories=["first", "second"])
    counts = t["degree"].value_counts()
    for g in ("first", "second"):
        if counts.get(g, 0) < min_n:
            raise NotEnoughData(f"{g}-degree ties", int(counts.get(g, 0)), min_n)
    strata = "participant" if "participant" in t and t["participant"].nunique() > 1 else None
    lr = logrank(t, "degree", strata=strata, min_n=min_n)
    c = cox(t, ["degree", *covariates], min_n=min_n)
    if "degree[second]" not in c.summary.index:
        raise NotEnoughData("a second- against first-degree comparison", len(t), "both degrees")
    return DegreeComparison(lr, c, int(counts["first"]), int(counts["second"]))


# the ego network -----------------------------------------------------------------------------------


def ego_network(
    ties: pd.DataFrame,
    introductions: pd.DataFrame | None = None,
    *,
    participant: str | None = None,
) -> nx.Graph:
    """The participant's network as a ``networkx.Graph`` for a figure.

    Nodes: the participant (``degree`` 0), first-degree contacts (1: edge to the participant),
    second-degree contacts (2: introduced contacts, edge to their introducer; to the
    participant when the introducer is unknown). Node attributes: ``degree``, ``kind``
    (participant/contact), ``basis``, ``alive`` (the contact's latest spell not ended), and for
    second-degree contacts ``introducer_type`` and ``vouch_outcome``. Several participants give
    one component each unless ``participant`` picks one. Node ids are pseudonymous keys.
    """
    import networkx as nx

    t = ties if participant is None else ties[ties["participant"] == participant]
    intro = introductions
    if intro is not None and participant is not None:
        intro = intro[intro["participant"] == participant]
    latest = t.sort_values("spell").groupby(["participant", "contact"], observed=True).tail(1)
    alive = pd.Series(
        alive_at_cutoff(latest).to_numpy(),
        index=pd.MultiIndex.from_frame(latest[["participant", "contact", "spell"]]),
    )
    g = nx.Graph()
    for p in latest["participant"].unique() if participant is None else [participant]:
        g.add_node(str(p), degree=0, kind="participant", basis=None, alive=True)
    intro_by = (
        {}
        if intro is None
        else {(r.participant, r.contact): r for r in intro.itertuples(index=False)}
    )
    second = set(intro_by) | {
        (r.participant, r.contact)
        for r in latest.itertuples(index=False)
        if str(r.basis) == "introduced"
    }
    for r in latest.itertuples(index=False):
        key = (r.participant, r.contact)
        attrs = {
            "degree": 2 if key in second else 1,
            "kind": "contact",
            "basis": None if pd.isna(r.basis) else str(r.basis),
            "alive": bool(alive[(r.participant, r.contact, r.spell)]),
        }
        g.add_node(str(r.contact), **attrs)
    for key in second:
        p, c = key
        if not g.has_node(str(c)):
            g.add_node(str(c), degree=2, kind="contact", basis="introduced", alive=False)
        g.nodes[str(c)]["degree"] = 2
        info = intro_by.get(key)
        if info is not None:
            g.nodes[str(c)]["introducer_type"] = str(info.introducer_type)
            vo = info.vouch_outcome
            g.nodes[str(c)]["vouch_outcome"] = None if pd.isna(vo) else str(vo)
        introducer = info.introducer if info is not None else None
        if introducer is None or pd.isna(introducer):
            row = latest[(latest["participant"] == p) & (latest["contact"] == c)]
            introducer = row["introducer"].iloc[0] if len(row) and "introducer" in row else None
        if introducer is not None and not pd.isna(introducer):
            if not g.has_node(str(introducer)):
                g.add_node(str(introducer), degree=1, kind="contact", basis=None, alive=False)
                g.add_edge(str(p), str(introducer))
            g.add_edge(str(introducer), str(c))
        else:
            g.add_edge(str(p), str(c))
    for r in latest.itertuples(index=False):
        if (r.participant, r.contact) not in second:
            g.add_edge(str(r.participant), str(r.contact))
    return g
