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
    if m:
        group, level = m.groups()
        value = hr.get(group, {}).get(level) if isinstance(hr.get(group), dict) else None
        return None if value is None else Truth(float(value), "log")
    if name == "hr with_message":
        return Truth(float(hr["with_message"]), "log")
    return None


truth_for("sustainability.cox")(tie_hazard_ratio)
