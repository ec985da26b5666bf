"""Research question 4, second-degree contacts: the numbers the report's part prints.

* **rates**: by kind of introducer, the share of vouch checks confirming that the introducer
  knows the person (Wilson), the share of introduced contacts that responded *within*
  :data:`RESPONSE_DAYS` of the introduction (among the introductions that long before the
  cut-off: a share that does not grow with follow-up), and the tie's survival at 12 months;
* **model**: odds ratios of passing the vouch check by kind of introducer and the years from
  the introduction to the check (a panel: cluster-robust, t with G − 1 df);
* **survival**: the hazard ratio of a tie with an introduced contact against one with a
  contact known personally, and against one met in person (Cox, adjusted for platform and a
  message with the request; a panel stratified by participant), and the log-rank test of
  second against first degree (one degree of freedom: two groups);
* **network**: what the network figure counts, and how that differs from the other counts of
  the report (contacts recorded, ties ever, ties alive).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

from study.analysis.base import Estimate, NotEnoughData
from study.analysis.second_degree import RatesResult, VouchModel, degree_of, rates, vouch_model
from study.analysis.sustainability import CoxResult, LogRank, cox, logrank
from study.estimands import result
from study.tables.bundle import Tables
from study.tables.ties import alive_at_cutoff

#: "Responded" means an inbound interaction within this many days of the introduction.
RESPONSE_DAYS = 90
#: Ties each basis needs in the survival comparison.
MIN_TIES = 10


@dataclass
class IntroducerRates:
    """Pass, response (within :data:`RESPONSE_DAYS`) and 12-month survival by introducer."""

    rates: RatesResult
    response_days: int = RESPONSE_DAYS

    @property
    def summary(self) -> pd.DataFrame:
        return self.rates.summary

    def estimands(self) -> dict[str, Estimate]:
        out = {}
        for r in self.summary.itertuples(index=False):
            g = r.introducer_type
            for what, est, low, high, n in (
                ("pass rate", r.pass_rate, r.pass_low, r.pass_high, r.vouch_checks),
                ("response rate", r.response_rate, r.response_low, r.response_high, r.responders),
                ("survival 12 months", r.survival, r.survival_low, r.survival_high, r.ties),
            ):
                if pd.notna(est):
                    out[f"{what} {g}"] = Estimate(
                        float(est), float(low), float(high), int(n), what, 0.95, "proportion"
                    )
        return out


@result("second_degree.rates")
def second_degree_rates(tables: Tables) -> IntroducerRates:
    intro = tables.introductions
    if intro.empty:
        raise NotEnoughData("introduced contacts", 0, 1)
    return IntroducerRates(rates(intro, response_days=RESPONSE_DAYS, cutoff=tables.cutoff))


@dataclass
class VouchOdds:
    """Odds ratios of passing the vouch check."""

    model: VouchModel

    @property
    def terms(self) -> pd.DataFrame:
        return self.model.summary.drop(index="Intercept")

    def estimands(self) -> dict[str, Estimate]:
        return {
            f"or {term}": Estimate(
                float(r["or"]),
                float(r["or_low"]),
                float(r["or_high"]),
                self.model.n,
                f"logistic regression ({self.model.covariance})",
            )
            for term, r in self.terms.iterrows()
        }


@result("second_degree.model")
def second_degree_model(tables: Tables) -> VouchOdds:
    intro = tables.introductions
    checked = int(intro["vouch_outcome"].notna().sum()) if len(intro) else 0
    if checked == 0:
        raise NotEnoughData("vouch checks", 0, 20)
    return VouchOdds(vouch_model(intro, connections=None))


#: The bases the survival comparison holds, the reference first.
COMPARED = ("knows_personally", "met_in_person", "introduced")


@dataclass
class DegreeSurvival:
    """Introduced ties against first-hand ones: hazard ratios against each first-hand basis
    (adjusted for platform and message) and the log-rank test of second against first degree."""

    vs_known: Estimate
    vs_met: Estimate
    logrank: LogRank
    n: dict[str, int]
    cox: CoxResult = field(repr=False)

    def estimands(self) -> dict[str, Estimate]:
        return {
            "hr introduced vs knows_personally": self.vs_known,
            "hr introduced vs met_in_person": self.vs_met,
        }


def _basis_cox(ties: pd.DataFrame, reference: str) -> CoxResult:
    order = [reference, *(b for b in COMPARED if b != reference)]
    t = ties.assign(basis=pd.Categorical(ties["basis"].astype(str), categories=order))
    return cox(t, ["basis", "platform", "with_message"], min_n=MIN_TIES)


@result("second_degree.survival")
def second_degree_survival(tables: Tables) -> DegreeSurvival:
    t = tables.ties
    t = t[t["basis"].astype("string").isin(COMPARED).fillna(False) & t["duration_days"].notna()]
    n = {b: int((t["basis"].astype(str) == b).sum()) for b in COMPARED}
    for b, k in n.items():
        if k < MIN_TIES:
            raise NotEnoughData(f"ties of basis {b} with known follow-up", k, MIN_TIES)
    fits = {ref: _basis_cox(t, ref) for ref in ("knows_personally", "met_in_person")}
    term = "basis[introduced]"
    if any(term not in f.summary.index for f in fits.values()):
        raise NotEnoughData("a comparison of introduced ties", len(t), "ended ties of each basis")
    d = t.assign(degree=pd.Categorical(degree_of(t), categories=["first", "second"]))
    strata = "participant" if d["participant"].nunique() > 1 else None
    lr = logrank(d, "degree", strata=strata, min_n=MIN_TIES)
    return DegreeSurvival(
        fits["knows_personally"].hazard_ratio(term),
        fits["met_in_person"].hazard_ratio(term),
        lr,
        n,
        fits["knows_personally"],
    )


@dataclass
class NetworkCounts:
    """What the network figure shows and how its counts relate to the report's others: the
    contacts recorded, those that became ties (first and second degree), the ties alive."""

    contacts: int
    ties_first: int
    ties_second: int
    alive: int
    never: int

    def estimands(self) -> dict[str, Estimate]:
        """Counts of the log, not estimates: nothing to validate."""
        return {}


@result("second_degree.network")
def second_degree_network(tables: Tables) -> NetworkCounts:
    t = tables.ties
    if t.empty:
        raise NotEnoughData("ties", 0, 1)
    latest = t.sort_values("spell").groupby(["participant", "contact"], observed=True).tail(1)
    second = latest["basis"].astype("string") == "introduced"
    known = tables.contacts[tables.contacts["first_seen"] <= tables.cutoff]
    ties = len(latest)
    return NetworkCounts(
        len(known),
        int((~second.fillna(False)).sum()),
        int(second.fillna(False).sum()),
        int(alive_at_cutoff(latest).sum()),
        max(0, len(known) - ties),
    )
