"""The Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005b; definitions §5).

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005b). RFM and CLV: using
iso-value curves for customer base analysis. *Journal of Marketing Research*,
42(4), 415-430.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from .._deprecation import warn_renamed
from ..exceptions import ConvergenceError, DataError, ParameterError
from .base import Fitter, check_fitted, fit_log_mle, summary_frame


def _gg_loglik_terms(p, q, v, x, m) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend m of x purchases (FHL 2005b)."""
    return (
        special.gammaln(p * x + q)
        - special.gammaln(p * x)
        - special.gammaln(q)
        + q * np.log(v)
        + (p * x - 1) * np.log(m)
        + p * x * np.log(x)
        - (p * x + q) * np.log(v + x * m)
    )


class GammaGammaFitter(Fitter):
    """Gamma-Gamma model of spend per transaction (Fader, Hardie & Lee 2005b; definitions §5).

    A customer's purchase amounts are Gamma(p, nu) (shape p, rate nu) around
    their own mean p/nu, and nu ~ Gamma(q, v) across customers. Fitted on
    customers with x >= 1 repeat purchases and their mean repeat spend m_x; the
    model assumes spend is independent of purchase frequency (check the
    correlation of frequency and monetary_value first).

    Attributes (after fit)
    ----------------------
    p_, q_, v_ : float
    log_likelihood_ : float
    summary_ : pandas.DataFrame
    n_customers_ : int
        Customers used (x >= 1 and m_x > 0).
    params_ : dict
        {"p": p_, "q": q_, "v": v_}.
    """

    param_names = ("p", "q", "v")

    def __init__(self) -> None:
        self.p_: float | None = None
        self.q_: float | None = None
        self.v_: float | None = None
        self.log_likelihood_: float | None = None
        self.summary_: pd.DataFrame | None = None
        self.n_customers_: int | None = None

    def __repr__(self) -> str:
        if self.p_ is None:
            return "GammaGammaFitter(unfitted)"
        return f"GammaGammaFitter(p={self.p_:.4g}, q={self.q_:.4g}, v={self.v_:.4g})"

    def fit(
        self, rfm: Any, monetary: Any = None, *, frequency: str = "frequency", monetary_value: str = "monetary_value"
    ) -> "GammaGammaFitter":
        """Fit p, q, v by maximum likelihood (FHL 2005b).

        Parameters
        ----------
        rfm : pandas.DataFrame
            From :func:`retainkit.clv.rfm_summary` (or any frame with the two
            columns named below), as for :meth:`BetaGeoFitter.fit`.
        monetary : array-like, optional
            Deprecated style: ``fit(frequency_array, monetary_array)``.
        frequency : str
            Column of repeat purchases x per customer; customers with x = 0 are skipped.
        monetary_value : str
            Column of the mean repeat spend m_x (> 0) per customer.

        Returns
        -------
        self
        """
        if monetary is not None or not isinstance(rfm, pd.DataFrame):
            warn_renamed(
                "GammaGammaFitter.fit(frequency, monetary)",
                "GammaGammaFitter.fit(rfm, frequency='frequency', monetary_value='monetary_value')",
            )
            x = np.asarray(rfm, dtype="float64")
            m = np.asarray(monetary, dtype="float64")
        else:
            missing = [c for c in (frequency, monetary_value) if c not in rfm.columns]
            if missing:
                raise ParameterError(
                    f"GammaGammaFitter.fit: column(s) {missing} not in the frame "
                    f"(columns: {list(rfm.columns)}); name them with frequency= / monetary_value=."
                )
            x = rfm[frequency].to_numpy(dtype="float64")
            m = rfm[monetary_value].to_numpy(dtype="float64")
        if x.shape != m.shape or x.ndim != 1:
            raise ParameterError("frequency and monetary must be one-dimensional and of the same length.")
        use = (x > 0) & np.isfinite(m)
        if np.any(use & (m <= 0)):
            i = int(np.flatnonzero(use & (m <= 0))[0])
            raise DataError(
                f"customer row {i}: monetary value {m[i]:g} <= 0 with {x[i]:g} repeat purchases; the "
                "Gamma-Gamma model needs positive spend (drop or fix zero/negative mean amounts)."
            )
        x, m = x[use], m[use]
        if x.size < 3:
            raise ConvergenceError(
                f"GammaGammaFitter: only {x.size} customer(s) with repeat purchases and known spend; need many more."
            )

        def nll(pp):
            p, q, v = np.exp(pp)
            return -float(np.sum(_gg_loglik_terms(p, q, v, x, m)))

        mean_m = float(np.mean(m))
        starts = [(0.0, math.log(2.0), math.log(mean_m)), (math.log(5.0), math.log(4.0), math.log(2 * mean_m))]
        mle = fit_log_mle(
            nll,
            starts,
            model="GammaGammaFitter",
            names=("p", "q", "v"),
            bound=18.0,
            advice="Check that monetary values are per-transaction means of positive amounts and "
            "that enough customers have repeat purchases.",
        )
        self.p_, self.q_, self.v_ = (float(z) for z in np.exp(mle.log_params))
        self.log_likelihood_ = -float(mle.nll)
        self.summary_ = summary_frame(("p", "q", "v"), mle)
        self.n_customers_ = int(x.size)
        if self.q_ <= 1:
            raise ConvergenceError(
                f"GammaGammaFitter: q = {self.q_:.3g} <= 1, so the population mean spend p v / (q - 1) is undefined. "
                "Spend is too heavy-tailed for this model; cap outliers or use a simpler mean-spend estimate."
            )
        return self

    def expected_spend(self, frequency, monetary):
        """E[M | x, m_x] = (p (v + x m_x)) / (p x + q - 1) (FHL 2005b; definitions §5).

        A weighted mean of the population mean p v / (q - 1) and the customer's
        own m_x, weight on m_x growing with x. For x = 0 (or unknown m_x) it is
        the population mean.
        """
        check_fitted(self, "p_")
        x = np.asarray(frequency, dtype="float64")
        m = np.asarray(monetary, dtype="float64")
        m = np.where((x > 0) & np.isfinite(m), m, 0.0)
        x = np.where(np.isfinite(np.asarray(monetary, dtype="float64")), x, 0.0)
        out = self.p_ * (self.v_ + x * m) / (self.p_ * x + self.q_ - 1)
        return float(out) if np.ndim(out) == 0 else out

    def log_likelihood(self, frequency, monetary) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters."""
        check_fitted(self, "p_")
        return _gg_loglik_terms(self.p_, self.q_, self.v_, np.asarray(frequency, float), np.asarray(monetary, float))


__all__ = ["GammaGammaFitter"]
