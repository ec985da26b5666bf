"""The statsmodels names the analyses use, imported from their own modules.

``import statsmodels.api`` also imports statsmodels' graphics and time-series packages and,
through them, ``scipy.signal``: about 0.7 s of every report kernel's start for nothing the
analyses call. Use ``from study.analysis import sm`` and then ``sm.GLM``, ``sm.OLS`` ... as
with ``statsmodels.api``.
"""

from statsmodels.discrete.discrete_model import NegativeBinomial
from statsmodels.genmod import families
from statsmodels.genmod.generalized_linear_model import GLM
from statsmodels.regression.linear_model import OLS
from statsmodels.tools.tools import add_constant

__all__ = ["GLM", "OLS", "NegativeBinomial", "add_constant", "families"]
