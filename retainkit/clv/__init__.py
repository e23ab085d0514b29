"""Customer lifetime value and retention projection (definitions §5 "Lifetime value").

Five tools, from the simplest to the richest:

* :func:`clv_margin_multiple`: closed-form CLV under constant retention
  (definitions §5 "Simple margin multiple").
* :func:`clv_horizon`: the value of a customer active now over a stated horizon
  in years, the same whatever the period length (definitions §5.6).
* :func:`empirical_clv`: the observed, margin-adjusted and discounted
  cumulative value per customer by cohort age, from a cohort table
  (definitions §3 "Revenue" and §5).
* :class:`ShiftedBetaGeoFitter`: the shifted-beta-geometric (sBG) model of
  Fader & Hardie (2007) for contractual cohorts, with DEL / DERL (Fader &
  Hardie 2010) and :func:`backtest` (definitions §5 "Shifted-beta-geometric").
* :func:`rfm_summary`, :class:`BetaGeoFitter` (BG/NBD), :class:`GammaGammaFitter`
  and :func:`customer_clv` for non-contractual transaction logs (Fader, Hardie
  & Lee 2005; definitions §5 "BG/NBD and Gamma-Gamma").
* :func:`customers_at_risk`: per-customer P(alive) and expected purchases next
  period from the BG/NBD, with a stated recency rule when it does not converge.

References
----------
Fader, P. S. & Hardie, B. G. S. (2007). How to project customer retention.
*Journal of Interactive Marketing*, 21(1), 76-90.

Fader, P. S. & Hardie, B. G. S. (2010). Customer-base valuation in a
contractual setting: the perils of ignoring heterogeneity. *Marketing
Science*, 29(1), 85-93.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005a). "Counting your customers"
the easy way: an alternative to the Pareto/NBD model. *Marketing Science*,
24(2), 275-284.

Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005b). RFM and CLV: using
iso-value curves for customer base analysis. *Journal of Marketing Research*,
42(4), 415-430.
"""

from __future__ import annotations

from .._deprecation import module_getattr
from .base import Fitter
from .bgnbd import BGNBD, BetaGeoFitter
from .gamma_gamma import GammaGammaFitter
from .margin import EmpiricalCLV, clv_horizon, clv_margin_multiple, empirical_clv
from .risk import customers_at_risk, most_valuable_at_risk
from .sbg import SBGBacktest, ShiftedBetaGeoFitter, backtest
from .utils import UNIT_DAYS, customer_clv, rfm_summary

#: names of the previous release, served with a DeprecationWarning (CHANGELOG.md)
DEPRECATED_NAMES = {
    "ShiftedBetaGeometric": ("ShiftedBetaGeoFitter", ShiftedBetaGeoFitter),
    "GammaGamma": ("GammaGammaFitter", GammaGammaFitter),
}
__getattr__ = module_getattr(__name__, DEPRECATED_NAMES)

__all__ = [
    "BGNBD",
    "BetaGeoFitter",
    "EmpiricalCLV",
    "Fitter",
    "GammaGammaFitter",
    "SBGBacktest",
    "ShiftedBetaGeoFitter",
    "UNIT_DAYS",
    "backtest",
    "clv_horizon",
    "clv_margin_multiple",
    "customer_clv",
    "customers_at_risk",
    "empirical_clv",
    "most_valuable_at_risk",
    "rfm_summary",
]
