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
