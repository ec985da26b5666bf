"""What every analysis shares: the error for too little data, estimates with intervals, Wilson.

Every estimate the toolkit reports carries its uncertainty; :class:`Estimate` is the smallest
such thing, and result objects of the analyses are built from it.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

from study.errors import StudyError


class NotEnoughData(StudyError):
    """The data are too few for the method; reports show it as 'not enough data yet'."""

    def __init__(self, what: str, n: int, needs: int | str):
        self.what, self.n, self.needs = what, n, needs
        super().__init__(f"not enough data for {what} (n = {n}, needs {needs})")


#: An interval of a positive quantity (ratio, rate, duration) whose upper bound is more than this
#: many times its lower bound says too little to be read as a finding (on the log scale: wider
#: than ±1.15, a standard error above 0.59).
MAX_RATIO_SPAN = 10.0
#: A proportion's interval wider than this (in points of probability) says too little.
MAX_PROPORTION_WIDTH = 0.5
#: Scales of an estimate: ``ratio`` (positive, judged on the log scale: hazard, rate and odds
#: ratios, rates, durations), ``proportion`` (0..1), ``difference`` (any sign: a trend).
SCALES = ("ratio", "proportion", "difference")


@dataclass(frozen=True)
class Estimate:
    """A point estimate with its confidence interval, the n behind it, and how it was made."""

    estimate: float
    low: float
    high: float
    n: int
    method: str
    level: float = 0.95
    scale: str = "ratio"

    @property
    def too_imprecise(self) -> bool:
        """True where the interval is too wide to be read as a finding: a ratio's upper bound
        more than :data:`MAX_RATIO_SPAN` times its lower, a proportion's interval wider than
        :data:`MAX_PROPORTION_WIDTH`, or an interval that is not finite. The report then says
        "too imprecise to interpret yet" instead of a sentence of effect."""
        if not all(map(math.isfinite, (self.estimate, self.low, self.high))):
            return True
        if self.scale == "proportion":
            return self.high - self.low > MAX_PROPORTION_WIDTH
        if self.scale == "ratio":
            return self.low <= 0 or self.high / self.low > MAX_RATIO_SPAN
        return False

    def __str__(self) -> str:
        return f"{fmt(self.estimate)} ({int(self.level * 100)}% CI {fmt(self.low)}–{fmt(self.high)}, n = {self.n})"

    def as_dict(self) -> dict[str, float | int | str]:
        return asdict(self)


def fmt(x: float, digits: int = 2) -> str:
    """A number for text: fixed digits, 'n/a' for a missing value."""
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "n/a"
    if isinstance(x, float) and math.isinf(x):
        return "∞" if x > 0 else "-∞"
    return f"{x:.{digits}f}"


def wilson(successes: int, n: int, level: float = 0.95, *, modified: bool = False) -> Estimate:
    """A proportion with its Wilson score interval (statsmodels ``proportion_confint``).

    ``modified``: Brown, Cai & DasGupta's (2001) modified Wilson interval: with 1 or 2
    successes (3 above n = 50) the lower bound is the Poisson one, ½ χ²(2x, α/2) / n, and so
    for failures and the upper bound. Near 0 and 1 the plain Wilson lower bound lies too high:
    a share of leads with a true value of 1 % was covered 81 % of the time (issue 16)."""
    from scipy.stats import chi2
    from statsmodels.stats.proportion import proportion_confint

    if n <= 0:
        raise NotEnoughData("a proportion", n, 1)
    low, high = proportion_confint(successes, n, alpha=1 - level, method="wilson")
    how = "Wilson score interval"
    if modified:
        edge = 2 if n <= 50 else 3
        alpha = 1 - level
        if 1 <= successes <= edge:
            low = 0.5 * chi2.ppf(alpha / 2, 2 * successes) / n
        if 1 <= n - successes <= edge:
            high = 1 - 0.5 * chi2.ppf(alpha / 2, 2 * (n - successes)) / n
        how = "modified Wilson score interval"
    return Estimate(successes / n, float(low), float(high), int(n), how, level, "proportion")


def data_factor(est: Estimate) -> float | None:
    """Roughly how many times the data behind ``est`` would make its interval narrow enough to
    be read (:attr:`Estimate.too_imprecise` False): standard errors shrink with the square root
    of the data, so the factor is the square of (width now / widest readable width), on the
    log scale for ratios. None when the interval is not finite (no such guess is possible)."""
    if not all(map(math.isfinite, (est.estimate, est.low, est.high))):
        return None
    if est.scale == "proportion":
        width, limit = est.high - est.low, MAX_PROPORTION_WIDTH
    elif est.scale == "ratio":
        if est.low <= 0:
            return None
        width, limit = math.log(est.high / est.low), math.log(MAX_RATIO_SPAN)
    else:
        return None
    return max(1.0, (width / limit) ** 2)
