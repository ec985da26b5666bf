"""Research question 2, sustainability: the numbers the report's part prints.

Each function takes the analysis tables (:class:`~study.tables.bundle.Tables`) and returns the
result object the report's section of the same name puts into words; the validation harness
checks the same function (docs/validation.md).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import pandas as pd

from study.analysis.base import Estimate, NotEnoughData
from study.analysis.sustainability import CoxResult
from study.estimands import result
from study.tables.bundle import Tables
from study.vocabulary import FIRST_HAND_BASES

#: Ties a group needs (smaller groups are left out of curves and models).
MIN_GROUP = 10
#: Covariate sets tried in turn for the Cox model: the first that can be fitted is reported.
COX_MODELS: tuple[tuple[str, ...], ...] = (
    ("basis", "platform", "with_message", "introducer_reliable"),
    ("basis", "platform", "with_message"),
    ("basis", "platform"),
    ("basis",),
    # When a basis has no ended tie yet: first-hand (a or b) against all others.
    ("first_hand", "platform"),
    ("first_hand",),
)


def model_ties(tables: Tables) -> pd.DataFrame:
    """The ties table with the model's derived covariate ``first_hand`` (basis a or b)."""
    t = tables.ties
    return t.assign(first_hand=t["basis"].isin(FIRST_HAND_BASES))


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

    def estimands(self) -> dict[str, Estimate]:
        """Every term's hazard ratio, as ``hr <term>`` (e.g. ``hr basis[none]``)."""
        return {f"hr {term}": self.fit.hazard_ratio(term) for term in self.fit.summary.index}


def cox_model(
    tables: Tables,
    covariates: Sequence[Sequence[str]] = COX_MODELS,
    *,
    min_n: int = MIN_GROUP,
) -> CoxModel:
    """Cox model of a tie's end (any reason): the first covariate set that can be fitted."""
    from study.analysis import sustainability as rq2

    ties = model_ties(tables)
    tried: list[tuple[tuple[str, ...], str]] = []
    last: NotEnoughData | None = None
    for cov in covariates:
        try:
            fit = rq2.cox(ties, list(cov), min_n=min_n)
        except NotEnoughData as exc:
            tried.append((tuple(cov), str(exc)))
            last = exc
            continue
        return CoxModel(fit, rq2.ph_test(fit), tried)
    if last is None:
        raise NotEnoughData("a Cox model", 0, "a covariate set")
    raise last


@result("sustainability.cox")
def sustainability_cox(tables: Tables) -> CoxModel:
    return cox_model(tables)
