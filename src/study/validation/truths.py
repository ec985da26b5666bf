"""The truth each printed estimand is compared with, read from a simulation's truth document.

One function per result (the report section's name) maps an estimand's name to its true value
and scale, or to None where the simulated world holds no single true value for it (then the
harness lists the estimand as "no truth to compare with", it never guesses one).
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any, NamedTuple


class Truth(NamedTuple):
    """A true value and the scale its bias is measured on (``log`` for ratios)."""

    value: float
    scale: str = "identity"


TruthFn = Callable[[str, dict[str, Any]], Truth | None]
TRUTHS: dict[str, TruthFn] = {}


def truth_for(section: str) -> Callable[[TruthFn], TruthFn]:
    """Register the truth function of a result (a report section's name)."""

    def register(fn: TruthFn) -> TruthFn:
        TRUTHS[section] = fn
        return fn

    return register


_TERM = re.compile(r"^hr (\w+)\[(\w+)\]$")


def tie_hazard_ratio(name: str, truth: dict[str, Any]) -> Truth | None:
    """``hr basis[none]``, ``hr platform[linkedin]``, ``hr with_message``: the set hazard ratios
    against the reference levels (knows_personally, xing, no message)."""
    hr = truth["ties"]["hr"]
    m = _TERM.match(name)
    if m and m.group(1) != "with_message":
        group, level = m.groups()
        value = hr.get(group, {}).get(level) if isinstance(hr.get(group), dict) else None
        return None if value is None else Truth(float(value), "log")
    if name in ("hr with_message", "hr with_message[yes]"):
        return Truth(float(hr["with_message"]), "log")
    return None


truth_for("sustainability.cox")(tie_hazard_ratio)


# research question 2 (issue 15): survival, competing endings, the at-risk model, sensitivity ---

_CAUSE = re.compile(r"^(removed|hidden|went_quiet) (hr .+)$")
_WINDOW = re.compile(r"^W=(\d+) (hr .+)$")


def cause_specific_hazard_ratio(name: str, truth: dict[str, Any]) -> Truth | None:
    """``removed hr basis[none]``: the cause-specific hazard ratio of one ending. The simulator
    draws a tie's lifetime T (proportional hazards) and then, independently of T, how it ends:
    removed with p_removed(basis), else hidden with p_hidden, else quiet. So the hazard of
    ending by removal is p_removed(basis) x the hazard of T, and its ratio against the reference
    basis is HR(basis) x p_removed(basis) / p_removed(reference); platform and message change
    only T (their ratios are those of any ending)."""
    m = _CAUSE.match(name)
    if not m:
        return None
    cause, term = m.groups()
    base = tie_hazard_ratio(term, truth)
    if base is None:
        return None
    ends = truth["ties"].get("end_reason", {})
    p_rem = ends.get("p_removed_by_basis")
    p_hid = ends.get("p_hidden_if_not_removed")
    if p_rem is None or p_hid is None:
        return None

    def share(basis: str) -> float:
        r = float(p_rem[basis])
        return {"removed": r, "hidden": (1 - r) * p_hid, "went_quiet": (1 - r) * (1 - p_hid)}[cause]

    t = _TERM.match(term)
    if t and t.group(1) == "basis":
        ref = truth.get("reference", {}).get("basis", "knows_personally")
        if share(ref) <= 0:
            return None
        return Truth(base.value * share(t.group(2)) / share(ref), "log")
    return base


def window_hazard_ratio(name: str, truth: dict[str, Any]) -> Truth | None:
    """``W=180 hr basis[none]``: the set hazard ratio, whatever the window; where the window
    makes the definition of going quiet miss the simulated ends, the harness shows the bias."""
    m = _WINDOW.match(name)
    return tie_hazard_ratio(m.group(2), truth) if m else None


truth_for("sustainability.survival")(tie_hazard_ratio)
truth_for("sustainability.competing")(cause_specific_hazard_ratio)
truth_for("sustainability.at_risk")(tie_hazard_ratio)
truth_for("sustainability.sensitivity")(window_hazard_ratio)


# --- research questions 1, 3 and 4, the overview and the panel (issue 16) ---------------------

import datetime as _dt  # noqa: E402
import math  # noqa: E402

import numpy as np  # noqa: E402

_MONTH_DAYS = 365.25 / 12


def _month_fractions(truth: dict[str, Any]) -> np.ndarray:
    """Each simulated month's length in average months (the generator's ``frac``)."""
    start = _dt.date.fromisoformat(truth["start"])
    y, m, out = start.year, start.month, []
    for _ in range(int(truth["months"])):
        ny, nm = (y + 1, 1) if m == 12 else (y, m + 1)
        out.append((_dt.date(ny, nm, 1) - _dt.date(y, m, 1)).days / _MONTH_DAYS)
        y, m = ny, nm
    return np.asarray(out)


def _before(counts: list[int]) -> np.ndarray:
    """Reliable ties at each month's start: the count at the end of the month before (none in
    the first month)."""
    return np.concatenate([[0.0], np.asarray(counts, dtype=float)[:-1]])


def lead_intensities(truth: dict[str, Any], pid: str) -> dict[str, Any]:
    """Expected leads of a participant by month: through a contact (in total, by the basis and
    platform of the reliable tie it comes through) and not through one, as the generator draws
    them (a Poisson count per month: rate × live reliable ties at the month's start × the
    participant's multiplier × the month's length)."""
    eff = truth["participant_effects"][pid]
    lp = truth["params"]["leads"]
    frac = _month_fractions(truth)
    mult = math.exp(eff["lead_log_rate"])
    tie = lp["rate_per_reliable_tie"] * mult * frac
    return {
        "other": lp["rate_other"] * mult * frac,
        "through": tie * _before(eff["live_reliable_ties"]),
        "basis": {
            b: tie * _before(v) for b, v in eff.get("live_reliable_ties_by_basis", {}).items()
        },
        "platform": {
            q: tie * _before(v) for q, v in eff.get("live_reliable_ties_by_platform", {}).items()
        },
    }


def _weights(mix: dict[str, float]) -> dict[str, float]:
    total = sum(mix.values())
    return {k: v / total for k, v in mix.items()}


@truth_for("job_search.rates")
def lead_rate_truth(name: str, truth: dict[str, Any]) -> Truth | None:
    """``leads per month``: one participant's expected leads per month over the simulated
    months, given the network it built (a panel: None, the population mean has no closed
    form). ``leads per 100 reliable ties and month``: 100 × the rate per reliable tie times
    the participant's lead multiplier (a panel: times its mean, exp(sd² / 2))."""
    pids = truth["participants"]
    lp = truth["params"]["leads"]
    if name == "leads per month":
        if len(pids) > 1:
            return None
        lam = lead_intensities(truth, pids[0])
        return Truth(float((lam["other"] + lam["through"]).sum() / truth["months"]), "log")
    if name == "leads per 100 reliable ties and month":
        if len(pids) > 1:
            mult = math.exp(lp["participant_sd"] ** 2 / 2)
        else:
            mult = math.exp(truth["participant_effects"][pids[0]]["lead_log_rate"])
        return Truth(100 * lp["rate_per_reliable_tie"] * mult, "log")
    return None


_SHARE = re.compile(r"^share (\w+)\[(.+)\]$")


@truth_for("job_search.sources")
def lead_share_truth(name: str, truth: dict[str, Any]) -> Truth | None:
    """Shares of all leads by channel, basis and platform: the expected leads of the group over
    the expected leads, summed over the study's months and participants (given the leads,
    their groups are multinomial with these shares)."""
    m = _SHARE.match(name)
    if not m:
        return None
    by, group = m.groups()
    lp = truth["params"]["leads"]
    w_tie, w_other = _weights(lp["channels_contact"]), _weights(lp["channels_other"])
    part, total = 0.0, 0.0
    for pid in truth["participants"]:
        lam = lead_intensities(truth, pid)
        through, other = float(lam["through"].sum()), float(lam["other"].sum())
        total += through + other
        if by == "channel":
            part += through * w_tie.get(group, 0.0) + other * w_other.get(group, 0.0)
        elif by == "basis":
            part += other if group == "no contact" else float(lam["basis"].get(group, 0).sum())
        elif by == "platform":
            part += float(np.sum(lam["platform"].get(group, 0))) + other / 2
        else:
            return None
    return Truth(part / total) if total > 0 else None


@truth_for("job_search.funnel")
def funnel_truth(name: str, truth: dict[str, Any]) -> Truth | None:
    """``conversion to <stage>``: the probability of moving on from the stage before."""
    from study.vocabulary import LEAD_PROGRESS

    if not name.startswith("conversion to "):
        return None
    stage = name.removeprefix("conversion to ")
    if stage not in LEAD_PROGRESS[1:]:
        return None
    prev = LEAD_PROGRESS[LEAD_PROGRESS.index(stage) - 1]
    return Truth(float(truth["params"]["leads"]["p_advance"][prev]))


@truth_for("job_search.model")
def lead_model_truth(name: str, truth: dict[str, Any]) -> Truth | None:
    """``rr per activity``: 1 (the simulated leads do not depend on activity). The rate ratio
    per reliable ties has no single truth: the simulated leads grow linearly with the ties, the
    model is log-linear."""
    return Truth(1.0, "log") if name == "rr per activity" else None


@truth_for("reputation.views")
def views_truth(name: str, truth: dict[str, Any]) -> Truth | None:
    """The set level change (a rate ratio), the trend before the update and the change of the
    slope after it (both as rate ratios per year). One trend for both sides has a truth only
    where the slope does not change."""
    v = truth["views"]
    if name == "rr level change":
        return Truth(float(v["level_change_rr"]), "log")
    if name == "rr pre-trend per year":
        return Truth(math.exp(v["trend_per_year"]), "log")
    if name == "rr slope change per year":
        return Truth(math.exp(v["slope_change_per_year"]), "log")
    if name == "rr trend per year" and v["slope_change_per_year"] == 0:
        return Truth(math.exp(v["trend_per_year"]), "log")
    return None


def _activities_per_month(truth: dict[str, Any]) -> float:
    return float(sum(truth["params"]["activity"]["rate_per_month"].values()))


@truth_for("reputation.trends")
def trends_truth(name: str, truth: dict[str, Any]) -> Truth | None:
    """Followers gained per month on both platforms: each platform gains followers_per_month
    plus followers_per_activity for every activity on it. The rank number's factor per month:
    exp(−decay per activity × activities per month)."""
    rp = truth["params"]["reputation"]
    if name == "followers per month":
        platforms = 2  # the generator's XING and LinkedIn
        return Truth(
            platforms * rp["followers_per_month"]
            + rp["followers_per_activity"] * _activities_per_month(truth),
            "log",
        )
    if name == "rank factor per month":
        return Truth(math.exp(-rp["rank_decay_per_activity"] * _activities_per_month(truth)), "log")
    return None


@truth_for("reputation.activity")
def activity_truth(name: str, truth: dict[str, Any]) -> Truth | None:
    """``rr <activity>``: 1, the simulated views do not respond to activity (posts move the
    impressions, followers and the rank, not the profile views)."""
    return Truth(1.0, "log") if name.startswith("rr ") else None


@truth_for("second_degree.rates")
def introducer_rates_truth(name: str, truth: dict[str, Any]) -> Truth | None:
    """``pass rate <type>``: the set probability that a vouch check comes back "known". The
    response and survival shares depend on the whole tie process (acceptance, lifetimes,
    interaction rates), with no closed form: no truth."""
    if name.startswith("pass rate "):
        p = truth["vouch"]["p_known"].get(name.removeprefix("pass rate "))
        return None if p is None else Truth(float(p))
    return None


def _odds(p: float) -> float:
    return p / (1 - p)


@truth_for("second_degree.model")
def vouch_odds_truth(name: str, truth: dict[str, Any]) -> Truth | None:
    """``or introducer_type[<type>]``: the odds of "known" for the type over those of a
    first-hand introducer; ``or years_since_introduction``: 1 (time does not matter)."""
    p = truth["vouch"]["p_known"]
    m = re.match(r"^or introducer_type\[(\w+)\]$", name)
    if m and m.group(1) in p:
        return Truth(_odds(p[m.group(1)]) / _odds(p["first_hand"]), "log")
    if name == "or years_since_introduction":
        return Truth(1.0, "log")
    return None


@truth_for("second_degree.survival")
def degree_hr_truth(name: str, truth: dict[str, Any]) -> Truth | None:
    """The set hazard ratio of an introduced tie against one of the other basis."""
    hr = truth["ties"]["hr"]["basis"]
    m = re.match(r"^hr introduced vs (\w+)$", name)
    if m and m.group(1) in hr:
        return Truth(hr["introduced"] / hr[m.group(1)], "log")
    return None


@truth_for("overview.panel")
def panel_truth(name: str, truth: dict[str, Any]) -> Truth | None:
    """The panel's pooled figures: the same truths as in their own parts."""
    if name == "leads per 100 reliable ties and month":
        return lead_rate_truth(name, truth)
    if name == "rr level change":
        return views_truth(name, truth)
    return None
