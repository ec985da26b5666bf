"""Research question 2, sustainability: the numbers the report's part prints.

Each function takes the analysis tables (:class:`~study.tables.bundle.Tables`) and returns the
result object the report's section of the same name puts into words; the validation harness
checks the same function (docs/validation.md). One result per section:

* ``sustainability.survival``: Kaplan-Meier by basis, the stratified log-rank test, what the
  survival estimates hold (prevalent ties, ties of unknown age) and the headline: the basis
  contrast fixed in advance (:data:`HEADLINE_TERMS`), from the Cox model;
* ``sustainability.platform``: Kaplan-Meier by platform;
* ``sustainability.cox``: the Cox model of a tie's end, any reason;
* ``sustainability.competing``: the endings as competing events (Aalen-Johansen cumulative
  incidence by basis, cause-specific Cox models);
* ``sustainability.reliable``: the share of live ties that are reliable;
* ``sustainability.at_risk``: the at-risk list and its piecewise-exponential model;
* ``sustainability.sensitivity``: the headline for W = 180, 365 and 730 days, and how often
  "quiet" was wrong.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from study.analysis.base import Estimate, NotEnoughData, wilson
from study.analysis.sustainability import HORIZONS, CoxResult, KMResult, LogRank
from study.estimands import result
from study.tables.bundle import Tables
from study.vocabulary import FIRST_HAND_BASES

#: Ties a group needs (smaller groups are left out of curves and models).
MIN_GROUP = 10
#: Covariate sets tried in turn for the Cox model: the first that can be fitted is reported.
#: The order is fixed in advance (fullest first); the headline term does not depend on it.
COX_MODELS: tuple[tuple[str, ...], ...] = (
    ("basis", "platform", "with_message"),
    ("basis", "platform"),
    ("basis",),
    # When a basis has no ended tie yet: first-hand (a or b) against all others.
    ("first_hand", "platform"),
    ("first_hand",),
)
#: The headline contrast, fixed in advance: the study's comparison group (basis none, accepted
#: without personal contact) against people known personally; a study without such ties
#: reports the next contrast it has. Never the term with the smallest p-value.
HEADLINE_TERMS = ("basis[none]", "basis[introduced]", "basis[met_in_person]", "first_hand[yes]")
#: The endings of a tie (competing events).
CAUSES = ("removed", "hidden", "went_quiet")
#: The windows W of the sensitivity analysis (days).
SENSITIVITY_WINDOWS = (180, 365, 730)
#: The at-risk list: its horizon (three months) and length.
AT_RISK_DAYS = 91
AT_RISK_TOP = 15


def _memo(tables: Tables, key: str, make: Callable[[], Any]) -> Any:
    """A value computed once per set of tables (a NotEnoughData is remembered and raised)."""
    if key not in tables.memo:
        try:
            tables.memo[key] = make()
        except NotEnoughData as exc:
            tables.memo[key] = exc
    if isinstance(tables.memo[key], NotEnoughData):
        raise tables.memo[key]
    return tables.memo[key]


def model_ties(tables: Tables) -> pd.DataFrame:
    """The ties table with the model's derived covariate ``first_hand`` (basis a or b)."""
    return _memo(
        tables,
        "_model_ties",
        lambda: tables.ties.assign(first_hand=tables.ties["basis"].isin(FIRST_HAND_BASES)),
    )


# what the survival estimates hold ---------------------------------------------------------------


@dataclass
class Coverage:
    """What the survival estimates hold, and when there will be (more) follow-up.

    ``followed``: first spells in the survival estimates; ``prevalent``: of them, ties begun
    before the log could see them, entering at their age then; ``prevalent_gone``: prevalent
    ties that had ended by the time the log saw them (quiet from its start, or removed before),
    left out; ``unknown_age``: imported ties without a connection date, left out;
    ``not_yet``: ties whose observation began after the horizon (no follow-up yet);
    ``later_spells``: a re-added contact's second and later spells, left out.
    """

    window: int
    cutoff: pd.Timestamp
    horizon: pd.Timestamp
    ties: int
    followed: int
    incident: int
    prevalent: int
    prevalent_gone: int
    unknown_age: int
    not_yet: int
    later_spells: int
    observed_from: pd.Timestamp | None
    first_followup: pd.Timestamp | None

    def followed_to(self, days: float, ties: pd.DataFrame | None) -> pd.Timestamp | None:
        """The first cut-off at which a tie of ``ties`` followed from its start can have been
        followed to ``days`` of age: the earliest start + days + W (None without ties)."""
        if ties is None or ties.empty:
            return None
        starts = ties.loc[ties["age_known"].astype(bool), "start"]
        if starts.empty:
            return None
        return pd.Timestamp(starts.min()) + pd.Timedelta(days=days + self.window)


def coverage(tables: Tables) -> Coverage:
    """Counts of what the survival estimates hold (see :class:`Coverage`)."""
    t = tables.ties
    w = tables.window
    horizon = tables.cutoff - pd.Timedelta(days=w)
    first = t["spell"] == 1 if "spell" in t else pd.Series(True, index=t.index)
    has = t["duration_days"].notna() & first
    entry = t["entry_days"].fillna(0.0)
    inside = has & ((entry == 0) | (t["duration_days"] > entry))
    prevalent = t["prevalent"].astype(bool) if "prevalent" in t else pd.Series(False, index=t.index)
    age_known = t["age_known"].astype(bool) if "age_known" in t else pd.Series(True, index=t.index)
    anchor = t["start"].where(~prevalent, t.get("observed_from", t["start"]))
    gone = first & prevalent & age_known & t["duration_days"].isna() & (anchor <= horizon)
    not_yet = first & age_known & (anchor > horizon)
    obs = t["observed_from"].min() if "observed_from" in t and len(t) else None
    first_followup = (
        pd.Timestamp(anchor[first & age_known].min()) + pd.Timedelta(days=w)
        if (first & age_known).any()
        else None
    )
    return Coverage(
        window=w,
        cutoff=tables.cutoff,
        horizon=horizon,
        ties=len(t),
        followed=int(inside.sum()),
        incident=int((inside & ~prevalent).sum()),
        prevalent=int((inside & prevalent).sum()),
        prevalent_gone=int(gone.sum()),
        unknown_age=int((first & ~age_known).sum()),
        not_yet=int(not_yet.sum()),
        later_spells=int((~first).sum()),
        observed_from=None if obs is None or pd.isna(obs) else pd.Timestamp(obs),
        first_followup=first_followup,
    )


class NoFollowUp(NotEnoughData):
    """No tie has survival follow-up yet; ``ready`` is the first cut-off that will have some."""

    def __init__(self, what: str, ready: pd.Timestamp | None, window: int):
        self.ready, self.window = ready, window
        super().__init__(what, 0, f"follow-up longer than W = {window} days")


def _followed(tables: Tables, what: str) -> Coverage:
    cov = _memo(tables, "_coverage", lambda: coverage(tables))
    if cov.followed == 0:
        raise NoFollowUp(what, cov.first_followup, cov.window)
    return cov


# the Cox model -----------------------------------------------------------------------------------


@dataclass
class CoxModel:
    """The fullest Cox model of a list of covariate sets that the data allow, with its
    proportional-hazards test; ``not_fitted`` holds the sets tried first and why each failed."""

    fit: CoxResult
    ph: pd.DataFrame
    not_fitted: list[tuple[tuple[str, ...], str]] = field(default_factory=list)

    @property
    def summary(self) -> pd.DataFrame:
        return self.fit.summary

    def headline(self) -> str | None:
        """The headline term: the first of :data:`HEADLINE_TERMS` the model has."""
        return next((x for x in HEADLINE_TERMS if x in self.fit.summary.index), None)

    def estimands(self) -> dict[str, Estimate]:
        """Every term's hazard ratio, as ``hr <term>`` (e.g. ``hr basis[none]``)."""
        return {f"hr {term}": self.fit.hazard_ratio(term) for term in self.fit.summary.index}


def cox_model(
    tables: Tables,
    covariates: Sequence[Sequence[str]] = COX_MODELS,
    *,
    min_n: int = MIN_GROUP,
    cause: str | None = None,
    ties: pd.DataFrame | None = None,
) -> CoxModel:
    """Cox model of a tie's end (any reason, or one ``cause``): the first covariate set that
    can be fitted."""
    from study.analysis import sustainability as rq2

    _followed(tables, "a Cox model")
    ties = model_ties(tables) if ties is None else ties
    tried: list[tuple[tuple[str, ...], str]] = []
    last: NotEnoughData | None = None
    for cov in covariates:
        try:
            fit = rq2.cox(ties, list(cov), min_n=min_n, cause=cause)
        except NotEnoughData as exc:
            tried.append((tuple(cov), str(exc)))
            last = exc
            continue
        return CoxModel(fit, rq2.ph_test(fit), tried)
    if last is None:
        raise NotEnoughData("a Cox model", 0, "a covariate set")
    raise last


def _cox(tables: Tables) -> CoxModel:
    return _memo(tables, "_cox", lambda: cox_model(tables))


@result("sustainability.cox")
def sustainability_cox(tables: Tables) -> CoxModel:
    return _cox(tables)


# survival by basis and by platform ----------------------------------------------------------------


@dataclass
class Survival:
    """Kaplan-Meier curves by a column with the (stratified) log-rank test; for ``basis`` also
    the headline hazard ratio from the Cox model (None where it cannot be fitted yet)."""

    by: str
    km: KMResult
    coverage: Coverage
    headline_term: str | None = None
    headline: Estimate | None = None
    cox_n: int = 0
    cox_events: int = 0
    headline_missing: NotEnoughData | None = None
    #: groups with followed ties but fewer than MIN_GROUP: not in the curves (group: ties)
    small_groups: dict[str, int] = field(default_factory=dict)

    @property
    def logrank(self) -> LogRank | None:
        return self.km.logrank

    #: the ties table the curves were made from (for the report's "from when" of a "–")
    table: pd.DataFrame | None = field(default=None, repr=False)

    def ready(self, days: float) -> pd.Timestamp | None:
        """The first cut-off at which a tie followed from its start can reach ``days``."""
        return self.coverage.followed_to(days, self.table)

    def estimands(self) -> dict[str, Estimate]:
        out: dict[str, Estimate] = {}
        if self.headline is not None and self.headline_term is not None:
            out[f"hr {self.headline_term}"] = self.headline
        for g, c in self.km.curves.items():
            out[f"median {self.by}[{g}]"] = c.median
            for _, h in c.at.iterrows():
                if not pd.isna(h["surv"]):
                    out[f"surv {h['horizon']} {self.by}[{g}]"] = Estimate(
                        float(h["surv"]),
                        float(h["low"]),
                        float(h["high"]),
                        c.n,
                        "Kaplan-Meier survival (log-transformed pointwise interval)",
                        self.km.level,
                        "proportion",
                    )
        return out


def km_by(tables: Tables, by: str) -> KMResult:
    """Kaplan-Meier curves of the groups with at least :data:`MIN_GROUP` followed ties."""
    from study.analysis import sustainability as rq2

    t = rq2.survival_rows(tables.ties)
    largest = int(t.groupby(by, observed=True).size().max()) if len(t) else 0
    if largest < MIN_GROUP:
        raise NotEnoughData(f"survival curves by {by}", largest, f"{MIN_GROUP} ties in a group")
    return rq2.kaplan_meier(tables.ties, by, small="skip", min_n=MIN_GROUP)


def small_groups(tables: Tables, by: str) -> dict[str, int]:
    """Groups of followed ties too small for a curve, with their sizes."""
    from study.analysis import sustainability as rq2

    sizes = rq2.survival_rows(tables.ties).groupby(by, observed=True).size()
    return {str(g): int(n) for g, n in sizes.items() if 0 < n < MIN_GROUP}


@result("sustainability.survival")
def sustainability_survival(tables: Tables) -> Survival:
    cov = _followed(tables, "survival curves")
    km = km_by(tables, "basis")
    out = Survival("basis", km, cov, small_groups=small_groups(tables, "basis"), table=tables.ties)
    try:
        model = _cox(tables)
    except NotEnoughData as exc:
        out.headline_missing = exc
        return out
    term = model.headline()
    if term is not None:
        out.headline_term = term
        out.headline = model.fit.hazard_ratio(term)
        out.cox_n, out.cox_events = model.fit.n, model.fit.events
    return out


@result("sustainability.platform")
def sustainability_platform(tables: Tables) -> Survival:
    cov = _followed(tables, "survival curves")
    km = km_by(tables, "platform")
    groups = small_groups(tables, "platform")
    return Survival("platform", km, cov, small_groups=groups, table=tables.ties)


# the endings as competing events --------------------------------------------------------------------


@dataclass
class Competing:
    """Cumulative incidence of each ending by basis (Aalen-Johansen) and the cause-specific
    Cox model of each ending (None where it cannot be fitted yet, with the reason)."""

    incidence: Any  # study.analysis.competing.CompetingResult
    models: dict[str, CoxModel | None]
    missing: dict[str, NotEnoughData]
    coverage: Coverage

    def estimands(self) -> dict[str, Estimate]:
        out: dict[str, Estimate] = {}
        for cause, m in self.models.items():
            if m is not None:
                for term in m.fit.summary.index:
                    out[f"{cause} hr {term}"] = m.fit.hazard_ratio(term)
        for (g, cause), c in self.incidence.curves.items():
            e = c.at(HORIZONS["12 months"])
            if not pd.isna(e.estimate):
                out[f"cif 12 months {cause} basis[{g}]"] = e
        return out


@result("sustainability.competing")
def sustainability_competing(tables: Tables) -> Competing:
    from study.analysis.competing import cumulative_incidence

    cov = _followed(tables, "cumulative incidence")
    inc = cumulative_incidence(tables.ties, "basis", causes=CAUSES, min_n=MIN_GROUP)
    models: dict[str, CoxModel | None] = {}
    missing: dict[str, NotEnoughData] = {}
    for cause in CAUSES:
        try:
            models[cause] = cox_model(tables, COX_MODELS[:3], cause=cause)
        except NotEnoughData as exc:
            models[cause] = None
            missing[cause] = exc
    return Competing(inc, models, missing, cov)


# the share that is reliable ----------------------------------------------------------------------------


@dataclass
class ReliableShare:
    """The share of live ties that are reliable at the cut-off and twelve months before."""

    share: pd.DataFrame  # period_end, alive, reliable, share, low, high
    now: Estimate
    year_ago: Estimate | None

    def estimands(self) -> dict[str, Estimate]:
        out = {"share reliable now": self.now}
        if self.year_ago is not None:
            out["share reliable 12 months before"] = self.year_ago
        return out


@result("sustainability.reliable")
def sustainability_reliable(tables: Tables) -> ReliableShare:
    from study.analysis import sustainability as rq2

    tl = tables.timeline
    points = int((tl["alive"] > 0).sum()) if len(tl) else 0
    if points < 2:
        raise NotEnoughData("the reliable share", points, "2 month ends with live ties")
    share = rq2.reliable_share(tl[tl["alive"] > 0])
    now = share.iloc[-1]
    year_ago = pd.Timestamp(now["period_end"]) - pd.DateOffset(months=12)
    before = share[pd.to_datetime(share["period_end"]) <= year_ago]
    ago = (
        wilson(int(before.iloc[-1]["reliable"]), int(before.iloc[-1]["alive"]))
        if len(before)
        else None
    )
    return ReliableShare(share, wilson(int(now["reliable"]), int(now["alive"])), ago)


# the at-risk list --------------------------------------------------------------------------------------


@dataclass
class AtRisk:
    """The live ties most at risk of ending within :data:`AT_RISK_DAYS`, from the definition
    (quiet within the horizon unless someone acts) and the piecewise-exponential model."""

    fit: Any  # study.analysis.at_risk.PiecewiseFit, or None before there is follow-up
    ranked: pd.DataFrame  # every live tie, most at risk first
    horizon_days: int
    top: int
    #: why there is no model yet (then only the ties the definition makes certain are listed)
    missing: NotEnoughData | None = None

    @property
    def shown(self) -> pd.DataFrame:
        if self.fit is None:
            return self.ranked[self.ranked["why"] == "quiet"].head(self.top)
        return self.ranked.head(self.top)

    @property
    def certain(self) -> int:
        """Live ties that go quiet within the horizon unless someone gets in touch."""
        return int((self.ranked["why"] == "quiet").sum())

    def estimands(self) -> dict[str, Estimate]:
        """The model's hazard ratios, on which every listed chance rests."""
        if self.fit is None:
            return {}
        return {f"hr {term}": self.fit.hazard_ratio(term) for term in self.fit.summary.index}


@result("sustainability.at_risk")
def sustainability_at_risk(tables: Tables) -> AtRisk:
    from study.analysis.at_risk import at_risk, piecewise_exponential

    ties = model_ties(tables)
    fit = None
    last: NotEnoughData | None = None
    try:
        _followed(tables, "the at-risk list")
    except NoFollowUp as exc:
        last = exc
    else:
        for cov in COX_MODELS:
            try:
                fit = piecewise_exponential(ties, list(cov), min_n=MIN_GROUP)
                break
            except NotEnoughData as exc:
                last = exc
    ranked = at_risk(ties, fit, AT_RISK_DAYS, cutoff=tables.cutoff, window_days=tables.window)
    if ranked.empty:
        raise NotEnoughData("the at-risk list", 0, "live ties")
    if fit is None and not (ranked["why"] == "quiet").any():
        raise last or NotEnoughData("a piecewise-exponential model", 0, "a covariate set")
    return AtRisk(fit, ranked, AT_RISK_DAYS, AT_RISK_TOP, None if fit is not None else last)


# sensitivity to W ---------------------------------------------------------------------------------------


@dataclass
class WindowResult:
    """The headline and its basis for one window W (``headline`` None with ``missing`` the
    reason where it cannot be fitted), and the share of quiet endings that were wrong."""

    window: int
    followed: int
    prevalent: int
    ended: int
    headline_term: str | None
    headline: Estimate | None
    missing: NotEnoughData | None
    quiet: int
    quiet_wrong: Estimate | None
    ready: pd.Timestamp | None = None


@dataclass
class Sensitivity:
    """The key survival results for several windows W (docs/definitions.md)."""

    windows: list[WindowResult]
    report_window: int

    def estimands(self) -> dict[str, Estimate]:
        out: dict[str, Estimate] = {}
        for w in self.windows:
            if w.headline is not None:
                out[f"W={w.window} hr {w.headline_term}"] = w.headline
            if w.quiet_wrong is not None:
                out[f"W={w.window} quiet then interacted"] = w.quiet_wrong
        return out


def _window_result(tables: Tables, window: int) -> WindowResult:
    t = tables if window == tables.window else _with_window(tables, window)
    ties = t.ties
    cov = coverage(t)
    term, est, missing = None, None, None
    ended = 0
    try:
        model = _cox(t)
        term = model.headline()
        est = model.fit.hazard_ratio(term) if term else None
        ended = model.fit.events
    except NotEnoughData as exc:
        missing = exc
    horizon = t.cutoff - pd.Timedelta(days=window)
    quiet = ties[(ties["end_reason"] == "went_quiet") & (ties["end"] <= horizon)]
    wrong = wilson(int(quiet["interacted_after_quiet"].sum()), len(quiet)) if len(quiet) else None
    return WindowResult(
        window,
        cov.followed,
        cov.prevalent,
        ended,
        term,
        est,
        missing,
        len(quiet),
        wrong,
        cov.first_followup,
    )


def _with_window(tables: Tables, window: int) -> Tables:
    return Tables(
        tables.history,
        tables.contacts,
        tables.cutoff,
        window,
        tables.participant,
        tables.start,
    )


@result("sustainability.sensitivity")
def sustainability_sensitivity(tables: Tables) -> Sensitivity:
    rows = [_window_result(tables, w) for w in sorted({*SENSITIVITY_WINDOWS, tables.window})]
    if all(r.followed == 0 for r in rows):
        cov = coverage(tables)
        raise NoFollowUp("sensitivity to W", cov.first_followup, min(SENSITIVITY_WINDOWS))
    return Sensitivity(rows, tables.window)


__all__ = [
    "AtRisk",
    "Competing",
    "CoxModel",
    "Coverage",
    "NoFollowUp",
    "ReliableShare",
    "Sensitivity",
    "Survival",
    "cox_model",
    "coverage",
    "model_ties",
]
