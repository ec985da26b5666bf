"""The simulated worlds the harness checks the report's estimands in.

``default`` is the study the report is made for (one participant, 24 months); ``panel`` a
research team's panel; ``null`` a world without effects (every hazard ratio, rate ratio and
level change 1), where an interval excluding 1 is a false finding. Scenarios that break an
estimator's assumption are added beside them, each with what it breaks in ``description``;
those of research question 2 are panels of 8 participants (a single participant's 24 months
hold too few removals for the cause-specific models).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from study.simulate.params import Params

#: The end of every simulated study (fixed, so a run does not depend on the day it runs).
END = dt.date(2026, 10, 31)


@dataclass(frozen=True)
class Scenario:
    """A simulated world: its settings, its size, and what it is for."""

    name: str
    description: str
    params: Callable[[], Params] = Params
    participants: int = 1
    months: int = 24
    end: dt.date = END
    #: estimands (``section: name`` patterns, fnmatch) this scenario does not hold a truth for
    skip: tuple[str, ...] = field(default=())
    #: the only results (section patterns, fnmatch) this scenario is for; empty: every result.
    #: A world that breaks one estimator's assumption need not run the others again.
    only: tuple[str, ...] = field(default=())


def null_params() -> Params:
    """Params with every effect the report estimates set to none."""
    p = Params()
    ties = dataclasses.replace(
        p.ties,
        hr_basis={k: 1.0 for k in p.ties.hr_basis},
        hr_linkedin=1.0,
        hr_with_message=1.0,
    )
    views = dataclasses.replace(p.views, level_rr=1.0, slope_change_per_year=0.0)
    return dataclasses.replace(p, ties=ties, views=views)


SCENARIOS: dict[str, Scenario] = {}


def scenario(s: Scenario) -> Scenario:
    """Register a scenario (its name must be new)."""
    if s.name in SCENARIOS:
        raise ValueError(f"scenario {s.name!r} is registered twice")
    SCENARIOS[s.name] = s
    return s


scenario(Scenario("default", "the report's study: one participant, 24 months, default settings"))
scenario(Scenario("panel", "a panel: 8 participants, 24 months each", participants=8))
scenario(Scenario("null", "no effects: every ratio 1, no level or slope change", null_params))


# research question 2 (issue 15): worlds that break the survival estimators' assumptions ----


#: what the survival scenarios are for: the other parts' estimands have scenarios of their own
SURVIVAL = ("sustainability.*", "second_degree.survival")


def _with(section: str, **changes: object) -> Callable[[], Params]:
    """Params with some settings of one section changed."""

    def make() -> Params:
        p = Params()
        return dataclasses.replace(
            p, **{section: dataclasses.replace(getattr(p, section), **changes)}
        )

    make.__doc__ = f"Params with [{section}] " + ", ".join(f"{k} = {v}" for k, v in changes.items())
    return make


scenario(
    Scenario(
        "archive",
        "(a) a study started from a platform archive: 300 connections made over the 6 years "
        "before it (a fifth XING vCards without a date), no interaction logged before the "
        "study; prevalent ties enter at their age when the log begins (delayed entry)",
        _with("archive", connections=300),
        participants=8,
        only=SURVIVAL,
    )
)
scenario(
    Scenario(
        "no_keepalive",
        "(b) no keep-alive: a living weak tie may go longer than W = 365 days without an "
        "interaction, so 'quiet' ends ties that are still alive; the truth is the simulated "
        "end, which the definition does not identify (the rows show the bias)",
        _with("interactions", keepalive_days=0.0),
        participants=8,
        only=SURVIVAL,
    )
)
scenario(
    Scenario(
        "quiet_lag",
        "(c) a quiet tie's interactions stop on average 90 days (exponential) before its true "
        "end: the definition dates a quiet end at the last interaction, before the truth",
        _with("ties", quiet_lag_days=90.0),
        participants=8,
        only=SURVIVAL,
    )
)
scenario(
    Scenario(
        "snapshots",
        "removals seen only through exports every 90 days and dated at the midpoint between "
        "two exports (as the importers do), instead of when they happened",
        _with("ties", removal_seen_every_days=90.0),
        participants=8,
        only=SURVIVAL,
    )
)


# research questions 1, 3 and 4 (issue 16): worlds that break the estimators' assumptions ----


scenario(
    Scenario(
        "views_monthly",
        "profile views entered once a month (a monthly export): the ITS must fit months, not "
        "weeks spread from them (pseudo-replication)",
        _with("views", entry="month"),
        only=("reputation.*",),
    )
)
scenario(
    Scenario(
        "views_gaps",
        "each platform's weekly views missing with probability 0.1 (exports missed): a week "
        "one platform lacks must be missing, not low",
        _with("views", p_missing=0.1),
        only=("reputation.*",),
    )
)
scenario(
    Scenario(
        "views_month2",
        "the profile completed in month 2, within 8 weeks of the set-up updates of day one: "
        "they must not swallow the intervention",
        _with("views", intervention_month=2),
        only=("reputation.*",),
    )
)
scenario(
    Scenario(
        "views_late",
        "the profile completed in month 9: enough weeks before it for a separate pre-trend and "
        "slope change",
        _with("views", intervention_month=9),
        only=("reputation.*",),
    )
)
