"""statsmodels' Cox model with its partial likelihood summed over all failure times at once.

``statsmodels.duration.hazard_regression.PHReg`` computes the Efron and Breslow log partial
likelihood, score and Hessian with a Python loop over the unique failure times of each
stratum: on 100,000 ties (tens of thousands of distinct end times) one fit takes minutes.
:class:`PHReg` here is that class with those six methods computed by cumulative sums over the
time-sorted rows: the same sums in the same order of terms (risk set = rows with time at or
after the failure time; Efron's j/d fractions of the tied failures), so the fit, standard
errors, residuals and every other result are statsmodels' own. With entry times (left
truncation, delayed entry of prevalent ties) the risk set at a failure time u is statsmodels'
too: the rows with entry <= u <= time, i.e. the sums over time >= u less those over entry > u.
Checked against statsmodels' loops in ``tests/test_phreg.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from statsmodels.duration.hazard_regression import PHReg as _PHReg


@dataclass
class _Stratum:
    order: np.ndarray  # rows of the stratum sorted by time
    fail: np.ndarray  # positions (in the sorted order) of the failures
    group: np.ndarray  # per failure: its unique failure time's number
    start: np.ndarray  # per unique failure time: first sorted position of its risk set
    pair_group: np.ndarray  # per (failure time, j): the failure time's number
    frac: np.ndarray  # per (failure time, j): j / d (Efron) or 0 (Breslow)
    entry_order: np.ndarray | None = None  # rows (sorted-by-time positions) by entry time
    entry_start: np.ndarray | None = None  # per unique failure time: first entry > it


def _suffix(values: np.ndarray, at: np.ndarray) -> np.ndarray:
    """Sums of ``values[i:]`` for each i in ``at`` (``at`` may be ``len(values)``: 0)."""
    sums = np.cumsum(values[::-1], axis=0)[::-1]
    pad = np.zeros((1, *values.shape[1:]))
    return np.concatenate([sums, pad])[at]


class PHReg(_PHReg):
    """``statsmodels`` ``PHReg`` with vectorized Efron and Breslow likelihood, score, Hessian."""

    def _strata(self) -> list[_Stratum] | None:
        cached = getattr(self, "_vec_strata", None)
        if cached is not None:
            return cached or None
        surv = self.surv
        out: list[_Stratum] = []
        for stx in range(surv.nstrat):
            time = np.asarray(surv.time_s[stx], float)
            status = np.asarray(surv.status_s[stx])
            order = np.argsort(time, kind="stable")
            ts, ss = time[order], status[order]
            fail = np.flatnonzero(ss == 1)
            uft, group, d = np.unique(ts[fail], return_inverse=True, return_counts=True)
            start = np.searchsorted(ts, uft, "left")
            pair_group = np.repeat(np.arange(len(uft)), d)
            j = np.arange(len(pair_group)) - np.repeat(np.cumsum(d) - d, d)
            frac = j / np.repeat(d, d) if self.ties == "efron" else np.zeros(len(j))
            st = _Stratum(order, fail, group, start, pair_group, frac)
            entry = np.asarray(surv.entry_s[stx], float)[order]
            if np.any(entry != 0):
                st.entry_order = np.argsort(entry, kind="stable")
                st.entry_start = np.searchsorted(entry[st.entry_order], uft, "right")
            out.append(st)
        self._vec_strata = out
        return out

    def _sums(self, params: np.ndarray, hessian: bool):
        """Per stratum: linpred, exog, the failure and pair terms (see the module docstring)."""
        surv = self.surv
        for stx, st in enumerate(self._vec_strata):
            x = np.asarray(surv.exog_s[stx], float)[st.order]
            lp = x @ params
            if surv.offset_s is not None:
                lp = lp + np.asarray(surv.offset_s[stx])[st.order]
            lp = lp - lp.max() if len(lp) else lp
            r = np.exp(lp)
            k = len(st.start)
            s0 = _suffix(r, st.start)
            rx = r[:, None] * x
            s1 = _suffix(rx, st.start)
            if st.entry_order is not None:  # not yet entered: entry after the failure time
                s0 = s0 - _suffix(r[st.entry_order], st.entry_start)
                s1 = s1 - _suffix(rx[st.entry_order], st.entry_start)
            a0 = np.bincount(st.group, weights=r[st.fail], minlength=k)
            a1 = np.zeros((k, x.shape[1]))
            np.add.at(a1, st.group, rx[st.fail])
            s2 = a2 = None
            if hessian:
                rxx = rx[:, :, None] * x[:, None, :]
                s2 = _suffix(rxx, st.start)
                if st.entry_order is not None:
                    s2 = s2 - _suffix(rxx[st.entry_order], st.entry_start)
                a2 = np.zeros((k, x.shape[1], x.shape[1]))
                np.add.at(a2, st.group, rxx[st.fail])
            yield st, x, lp, s0, s1, s2, a0, a1, a2

    def _loglike(self, params):
        like = 0.0
        for st, _x, lp, s0, _s1, _s2, a0, _a1, _a2 in self._sums(params, False):
            g, c = st.pair_group, st.frac
            like += lp[st.fail].sum() - np.log(s0[g] - c * a0[g]).sum()
        return like

    def _score(self, params):
        grad = 0.0
        for st, x, _lp, s0, s1, _s2, a0, a1, _a2 in self._sums(params, False):
            g, c = st.pair_group, st.frac
            phi0 = s0[g] - c * a0[g]
            phi1 = s1[g] - c[:, None] * a1[g]
            grad = grad + x[st.fail].sum(0) - (phi1 / phi0[:, None]).sum(0)
        return grad

    def _hessian(self, params):
        hess = 0.0
        for st, _x, _lp, s0, s1, s2, a0, a1, a2 in self._sums(params, True):
            g, c = st.pair_group, st.frac
            phi0 = s0[g] - c * a0[g]
            phi1 = (s1[g] - c[:, None] * a1[g]) / phi0[:, None]
            phi2 = (s2[g] - c[:, None, None] * a2[g]) / phi0[:, None, None]
            hess = hess - phi2.sum(0) + np.einsum("ni,nj->ij", phi1, phi1)
        return hess

    def efron_loglike(self, params):
        return self._loglike(params) if self._strata() else super().efron_loglike(params)

    def efron_gradient(self, params):
        return self._score(params) if self._strata() else super().efron_gradient(params)

    def efron_hessian(self, params):
        return self._hessian(params) if self._strata() else super().efron_hessian(params)

    def breslow_loglike(self, params):
        return self._loglike(params) if self._strata() else super().breslow_loglike(params)

    def breslow_gradient(self, params):
        return self._score(params) if self._strata() else super().breslow_gradient(params)

    def breslow_hessian(self, params):
        return self._hessian(params) if self._strata() else super().breslow_hessian(params)
