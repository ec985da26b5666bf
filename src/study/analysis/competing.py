"""Research question 2, the endings as competing events: removed, hidden, went quiet.

A tie ends in one of three ways, and the first to happen ends it: the Kaplan-Meier complement
of one ending, the others treated as censoring, overstates how many ties end that way. The
Aalen-Johansen estimator gives the cumulative incidence of each ending (the share of ties that
have ended that way by an age), the endings adding up to 1 - S(t) of all endings together.

:func:`aalen_johansen` is statsmodels' ``CumIncidenceRight`` (the same estimate and the same
standard error, Dinse and Larson's delta method) with delayed entry: statsmodels' version takes
right-censored data only, and prevalent ties enter the risk set at their age when the log began
to see them (docs/definitions.md). Checked against statsmodels without entry times and against
lifelines' ``AalenJohansenFitter`` with them (``tests/test_competing.py``). Cause-specific hazard
ratios: :func:`study.analysis.sustainability.cox` with ``cause=``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from study.analysis.base import Estimate, NotEnoughData
from study.analysis.sustainability import HORIZONS, survival_rows

#: The endings of a tie, in the order their cause codes (1, 2, 3) are given.
CAUSES = ("removed", "hidden", "went_quiet")


def aalen_johansen(
    time: Any, cause: Any, *, entry: Any = None, level: float = 0.95
) -> dict[int, pd.DataFrame]:
    """Cumulative incidence of each cause (codes 1, 2, ...; 0 is censored) at the event times.

    Returns per cause code a table: time, n_risk (entry < time <= duration), events (of this
    cause), cif, se, low, high. The interval is pointwise on the log(-log) scale. ``entry``:
    delayed entry times (a row is at risk on (entry, time]); None for none.
    """
    time = np.asarray(time, float)
    code = np.asarray(cause, int)
    if len(time) != len(code):
        raise ValueError("time and cause must have the same length")
    ncause = int(code.max()) if len(code) else 0
    ut = np.unique(time[code > 0])
    ts = np.sort(time)
    n = len(time) - np.searchsorted(ts, ut, "left")  # time >= u
    if entry is not None:
        es = np.sort(np.asarray(entry, float))
        n = n - (len(es) - np.searchsorted(es, ut, "left"))  # less entry >= u
    pos = np.searchsorted(ut, time)
    d = [np.bincount(pos[code == k + 1], minlength=len(ut)).astype(float) for k in range(ncause)]
    da = sum(d) if d else np.zeros(len(ut))
    sp = np.cumprod(1 - da / n)
    sp0 = np.r_[1.0, sp[:-1]] / n  # S just before each time, over the risk set
    z = stats.norm.ppf(0.5 + level / 2)
    out: dict[int, pd.DataFrame] = {}
    for k in range(ncause):
        ip = np.cumsum(sp0 * d[k])
        # the standard error as statsmodels' _calc_incidence_right computes it
        with np.errstate(divide="ignore", invalid="ignore"):
            ra = da / (n * (n - da))
            ra = np.where(np.isfinite(ra), ra, 0.0)
            v = ip**2 * np.cumsum(ra) - 2 * ip * np.cumsum(ip * ra) + np.cumsum(ip**2 * ra)
            ra = (n - d[k]) * d[k] / n
            v += np.cumsum(sp0**2 * ra)
            ra = sp0 * d[k] / n
            v += -2 * ip * np.cumsum(ra) + 2 * np.cumsum(ip * ra)
            se = np.sqrt(np.clip(v, 0, None))
            low, high = _loglog_band(ip, se, z)
        out[k + 1] = pd.DataFrame(
            {"time": ut, "n_risk": n, "events": d[k], "cif": ip, "se": se, "low": low, "high": high}
        )
    return out


def _loglog_band(f: np.ndarray, se: np.ndarray, z: float) -> tuple[np.ndarray, np.ndarray]:
    """A pointwise interval of a cumulative incidence on the log(-log F) scale (inside 0..1)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        g = np.log(-np.log(f))
        sd = se / np.abs(f * np.log(f))
        low = np.exp(-np.exp(g + z * sd))
        high = np.exp(-np.exp(g - z * sd))
    low = np.where(f <= 0, 0.0, np.where(f >= 1, 1.0, low))
    high = np.where(f <= 0, 0.0, np.where(f >= 1, 1.0, high))
    return np.nan_to_num(low, nan=0.0), np.nan_to_num(high, nan=1.0)


@dataclass
class IncidenceCurve:
    """The cumulative incidence of one ending in one group."""

    group: str
    cause: str
    n: int
    events: int
    table: pd.DataFrame  # time, n_risk, events, cif, se, low, high
    last_time: float
    level: float = 0.95

    def at(self, days: float) -> Estimate:
        """The cumulative incidence at ``days`` (NaN beyond the last follow-up time)."""
        tab = self.table
        i = int(np.searchsorted(tab["time"].to_numpy(), days, side="right")) - 1
        if days > self.last_time:
            est = low = high = float("nan")
        elif i < 0:
            est = low = high = 0.0
        else:
            est, low, high = (float(tab[c].iloc[i]) for c in ("cif", "low", "high"))
        return Estimate(
            est,
            low,
            high,
            self.n,
            "Aalen-Johansen cumulative incidence, log(-log) pointwise interval",
            self.level,
            "proportion",
        )


@dataclass
class CompetingResult:
    """Cumulative incidence of each ending by group; ``summary`` one row per group and ending."""

    by: str | None
    curves: dict[tuple[str, str], IncidenceCurve]
    horizons: dict[str, float]
    level: float

    @property
    def summary(self) -> pd.DataFrame:
        rows = []
        for (g, cause), c in self.curves.items():
            row: dict[str, Any] = {"group": g, "cause": cause, "n": c.n, "events": c.events}
            for h, days in self.horizons.items():
                e = c.at(days)
                row.update({f"cif_{h}": e.estimate, f"cif_{h}_low": e.low, f"cif_{h}_high": e.high})
            rows.append(row)
        return pd.DataFrame(rows)

    @property
    def curves_table(self) -> pd.DataFrame:
        """group, cause, time, cif, low, high, starting at (0, 0): for figures."""
        parts = []
        for (g, cause), c in self.curves.items():
            start = pd.DataFrame({"time": [0.0], "cif": [0.0], "low": [0.0], "high": [0.0]})
            tab = c.table[["time", "cif", "low", "high"]]
            parts.append(pd.concat([start, tab], ignore_index=True).assign(group=g, cause=cause))
        cols = ["group", "cause", "time", "cif", "low", "high"]
        return pd.concat(parts, ignore_index=True)[cols] if parts else pd.DataFrame(columns=cols)


def cumulative_incidence(
    ties: pd.DataFrame,
    by: str | None = None,
    *,
    causes: tuple[str, ...] = CAUSES,
    horizons: dict[str, float] | None = None,
    level: float = 0.95,
    min_n: int = 10,
) -> CompetingResult:
    """Aalen-Johansen cumulative incidence of each ending of a tie, overall or by ``by``.

    The rows are the ties table's survival rows (delayed entry, first spells; see
    :func:`study.analysis.sustainability.survival_rows`); a tie that ended is counted under its
    ``end_reason``. Groups with fewer than ``min_n`` ties are left out; none left: not enough
    data.
    """
    t = survival_rows(ties)
    if "end_reason" not in t:
        raise NotEnoughData("cumulative incidence (no end reasons)", len(t), "end_reason")
    reason = t["end_reason"].astype(str).to_numpy()
    code = np.zeros(len(t), dtype=int)
    ended = t["ended"].to_numpy(int) == 1
    for i, c in enumerate(causes, start=1):
        code[ended & (reason == c)] = i
    t = t.assign(_cause=code)
    groups = [("all", t)] if by is None else list(t.groupby(by, observed=True, sort=True))
    hz = horizons if horizons is not None else HORIZONS
    curves: dict[tuple[str, str], IncidenceCurve] = {}
    for g, sub in groups:
        if len(sub) < min_n:
            continue
        entry = sub["_entry"].to_numpy(float)
        tables = aalen_johansen(
            sub["duration_days"].to_numpy(float),
            sub["_cause"].to_numpy(int),
            entry=np.where(entry > 0, entry, -1.0) if np.any(entry > 0) else None,
            level=level,
        )
        last = float(sub["duration_days"].max())
        for i, c in enumerate(causes, start=1):
            tab = tables.get(
                i, pd.DataFrame(columns=["time", "n_risk", "events", "cif", "se", "low", "high"])
            )
            curves[(str(g), c)] = IncidenceCurve(
                str(g), c, len(sub), int((sub["_cause"] == i).sum()), tab, last, level
            )
    if not curves:
        largest = int(t.groupby(by, observed=True).size().max()) if by and len(t) else len(t)
        raise NotEnoughData(
            "cumulative incidence of the endings", largest, f"{min_n} ties in a group"
        )
    return CompetingResult(by, curves, hz, level)
