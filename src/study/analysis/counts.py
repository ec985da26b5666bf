"""Count regression shared by the analyses: Poisson, quasi-Poisson and negative-binomial fits.

Job leads per month (RQ1) and profile views per week (RQ3) are counts; both are modelled on the
log scale, and their effects are reported as rate ratios with confidence intervals. This module
fits the model once (statsmodels) and turns any linear combination of coefficients into an
:class:`~study.analysis.base.Estimate` on the rate-ratio scale, with the covariance chosen:

* ``poisson``: maximum likelihood, model-based errors;
* ``quasipoisson``: the Poisson fit with the Pearson X² dispersion (R's ``family=quasipoisson``);
* ``negbin``: negative binomial (NB2), dispersion ``alpha`` estimated by maximum likelihood;
  when alpha's maximum lies at its boundary 0 (no overdispersion) the model is the Poisson
  model, and the Poisson fit is reported (the method text says so). The boundary is decided
  from the score of the NB2 likelihood at alpha = 0, ½ Σ[(y − μ)² − y] at the Poisson fit
  (Cameron & Trivedi 1990): a closed form, so the decision does not hang on where an
  optimizer stops (one machine's optimizer left alpha at 4e-6, another's at 1e-9);
* ``hac_lags=L``: Newey–West (HAC) errors with L lags, for autocorrelated time series;
* ``groups=...``: cluster-robust errors by group (several participants in one panel), with t
  quantiles of G − 1 degrees of freedom (with few participants normal quantiles make the
  interval too narrow: :mod:`study.analysis.panel`).

Intervals are Wald intervals on the log scale (normal quantiles, or t for cluster-robust
errors), as ``confint.default`` and ``Epi::ci.exp`` in R give them.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from study.analysis.base import Estimate, NotEnoughData
from study.errors import StudyError

FAMILIES = ("poisson", "quasipoisson", "negbin")
#: A fitted negative-binomial alpha below this is no overdispersion: the Poisson fit is reported.
NO_OVERDISPERSION = 1e-6


def overdispersion_score(y: np.ndarray, mu: np.ndarray) -> float:
    """∂ℓ/∂α of the NB2 log-likelihood at α = 0 and the Poisson means ``mu``.

    ½ Σ[(y − μ)² − y]: positive when the counts vary more than a Poisson model allows, so the
    likelihood rises away from α = 0; zero or negative when its maximum is the boundary α = 0.
    """
    y = np.asarray(y, dtype=float)
    mu = np.asarray(mu, dtype=float)
    return float(0.5 * np.nansum((y - mu) ** 2 - y))


@dataclass
class CountFit:
    """A fitted count model: coefficients, their covariance, and how they were made."""

    result: Any
    params: pd.Series
    cov: pd.DataFrame
    family: str
    method: str
    dispersion: float
    n: int
    #: degrees of freedom of the t quantiles (cluster-robust errors: G − 1); None: normal
    df: float | None = None

    def _quantile(self, level: float) -> float:
        from scipy.stats import norm, t

        return float(
            norm.ppf(0.5 + level / 2) if self.df is None else t.ppf(0.5 + level / 2, self.df)
        )

    def rate_ratio(self, term: str, *, scale: float = 1.0, level: float = 0.95) -> Estimate:
        """exp(scale × coefficient) with its interval (scale: e.g. 100 for 'per 100 ties')."""
        return self.contrast({term: scale}, level=level)

    def contrast(self, weights: dict[str, float], *, level: float = 0.95) -> Estimate:
        """exp(Σ wᵢ βᵢ) with its Wald interval from the chosen covariance."""
        w = pd.Series(0.0, index=self.params.index)
        for term, weight in weights.items():
            w[term] = weight
        est = float(w @ self.params)
        se = float(np.sqrt(w @ self.cov.loc[w.index, w.index] @ w))
        z = self._quantile(level)
        return Estimate(
            float(np.exp(est)),
            float(np.exp(est - z * se)),
            float(np.exp(est + z * se)),
            self.n,
            self.method,
            level,
        )

    def p_value(self, term: str) -> float:
        from scipy.stats import norm, t

        se = float(np.sqrt(self.cov.loc[term, term]))
        if not se > 0:
            return float("nan")
        z = abs(self.params[term] / se)
        return float(2 * (norm.sf(z) if self.df is None else t.sf(z, self.df)))

    def mean(self, exog: pd.DataFrame, offset: np.ndarray | None = None) -> np.ndarray:
        """The expected count for rows of ``exog`` (same columns as the fit) and an offset."""
        eta = exog[self.params.index].to_numpy(dtype=float) @ self.params.to_numpy()
        if offset is not None:
            eta = eta + offset
        return np.exp(eta)


def fit_counts(
    y: np.ndarray | pd.Series,
    exog: pd.DataFrame,
    *,
    family: str = "poisson",
    offset: np.ndarray | None = None,
    hac_lags: int | None = None,
    groups: np.ndarray | pd.Series | None = None,
) -> CountFit:
    """Fit a count model of ``y`` on ``exog`` (which carries its own constant column)."""
    from statsmodels.tools.sm_exceptions import (
        ConvergenceWarning,
        HessianInversionWarning,
        PerfectSeparationWarning,
    )

    from study.analysis import sm

    if family not in FAMILIES:
        raise StudyError(f"family: {family!r} is not one of {', '.join(FAMILIES)}")
    y = np.asarray(y, dtype=float)
    n, k = exog.shape
    if n < k + 2:
        raise NotEnoughData("a count regression", n, f"at least {k + 2} observations")
    if np.nansum(y) == 0:
        raise NotEnoughData("a count regression (all counts are zero)", n, "a non-zero count")
    cov_type, cov_kwds, how = "nonrobust", None, "model-based errors"
    df = None
    if groups is not None and pd.Series(groups).nunique() > 1:
        cov_type, cov_kwds = "cluster", {"groups": pd.factorize(pd.Series(groups))[0]}
        df = float(pd.Series(groups).nunique() - 1)
        how = f"cluster-robust errors by participant (t with {df:.0f} df)"
    elif hac_lags is not None:
        cov_type, cov_kwds = "HAC", {"maxlags": int(hac_lags)}
        how = f"Newey–West HAC errors ({int(hac_lags)} lags)"
    fit_kw: dict[str, Any] = {"cov_type": cov_type}
    if cov_kwds:
        fit_kw["cov_kwds"] = cov_kwds
    with warnings.catch_warnings(), np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        warnings.simplefilter("error", PerfectSeparationWarning)
        warnings.simplefilter("ignore", ConvergenceWarning)
        try:
            glm = sm.GLM(y, exog, family=sm.families.Poisson(), offset=offset)
            if family == "negbin":
                start = glm.fit()
                if overdispersion_score(y, start.fittedvalues) <= 0:
                    return _poisson_at_boundary(glm, fit_kw, how, n, k, exog, df)
                model = sm.NegativeBinomial(y, exog, offset=offset, loglike_method="nb2")
                with warnings.catch_warnings(record=True) as caught:
                    warnings.simplefilter("always", HessianInversionWarning)
                    result = model.fit(
                        start_params=np.append(start.params.to_numpy(), 0.1),
                        disp=0,
                        maxiter=500,
                        **fit_kw,
                    )
                dispersion = float(result.params["alpha"])
                method = f"negative-binomial regression (NB2), {how}"
                singular = any(issubclass(w.category, HessianInversionWarning) for w in caught)
                if singular or dispersion < NO_OVERDISPERSION:
                    return _poisson_at_boundary(glm, fit_kw, how, n, k, exog, df)
            elif family == "quasipoisson":
                result = glm.fit(scale="X2", **fit_kw)
                dispersion = float(result.pearson_chi2 / result.df_resid)
                method = f"quasi-Poisson regression (Pearson X² dispersion), {how}"
            else:
                result = glm.fit(**fit_kw)
                dispersion = float(result.pearson_chi2 / result.df_resid)
                method = f"Poisson regression, {how}"
        except (np.linalg.LinAlgError, PerfectSeparationWarning, ValueError) as exc:
            raise NotEnoughData(f"a count regression ({exc})", n, "varying data") from None
    return _count_fit(result, family, method, dispersion, n, k, exog, df)


def _poisson_at_boundary(
    glm: Any,
    fit_kw: dict[str, Any],
    how: str,
    n: int,
    k: int,
    exog: pd.DataFrame,
    df: float | None = None,
) -> CountFit:
    """alpha at its boundary 0: the negative binomial is the Poisson model, reported as such."""
    result = glm.fit(**fit_kw)
    method = f"negative-binomial regression found no overdispersion (alpha ≈ 0): Poisson regression, {how}"
    return _count_fit(result, "negbin", method, 0.0, n, k, exog, df)


def _count_fit(
    result: Any,
    family: str,
    method: str,
    dispersion: float,
    n: int,
    k: int,
    exog: pd.DataFrame,
    df: float | None = None,
) -> CountFit:
    names = list(exog.columns)
    params = pd.Series(np.asarray(result.params)[:k], index=names)
    cov = pd.DataFrame(np.asarray(result.cov_params())[:k, :k], index=names, columns=names)
    if not np.all(np.isfinite(params)) or not np.all(np.isfinite(np.diag(cov))):
        raise NotEnoughData("a count regression (the fit did not converge)", n, "more data")
    return CountFit(result, params, cov, family, method, dispersion, n, df)
