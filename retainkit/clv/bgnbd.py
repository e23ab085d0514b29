"""The BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005a; definitions §5 "BG/NBD and Gamma-Gamma").

References
----------
Fader, P. S., Hardie, B. G. S. & Lee, K. L. (2005a). "Counting your customers"
the easy way: an alternative to the Pareto/NBD model. *Marketing Science*,
24(2), 275-284.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from scipy import special

from .._deprecation import renamed_kwargs
from ..exceptions import ConvergenceError, DataError, ParameterError
from .base import Fitter, check_fitted, fit_log_mle, rfm_arrays, summary_frame

_BG_ADVICE = (
    "Check the time unit (too fine a unit, e.g. days over a short window, leaves few repeat purchases), "
    "that enough customers made repeat purchases, and that T spans several purchase cycles."
)


def _bgnbd_loglik_terms(r, alpha, a, b, x, tx, T) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005a, eq. 6)."""
    ln_a1 = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
    lbab = special.betaln(a, b)
    t1 = special.betaln(a, b + x) - lbab - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        t2 = np.where(
            x > 0, special.betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - lbab - (r + x) * np.log(alpha + tx), -np.inf
        )
    return ln_a1 + np.logaddexp(t1, t2)


def _bgnbd_grouped_nll(x: np.ndarray, tx: np.ndarray, T: np.ndarray, w: np.ndarray):
    """Negative log-likelihood over distinct (x, t_x, T) rows weighted by their counts ``w``.

    Returns ``nll(log_params)``, equal bit for bit to
    ``-np.sum(w * _bgnbd_loglik_terms(r, alpha, a, b, x, tx, T))``: the
    special functions and logarithms are evaluated once per distinct value of
    x, T and t_x (a few dozen each in a calendar time unit) and gathered per
    row, so only the row-level arithmetic and ``logaddexp`` run over every
    distinct row. The same elementwise operations in the same order give the
    same terms and the same sum.
    """
    ux, ix = np.unique(x, return_inverse=True)
    uT, iT = np.unique(T, return_inverse=True)
    utx, itx = np.unique(tx, return_inverse=True)
    pos = x > 0

    def nll(p) -> float:
        r, alpha, a, b = np.exp(p)
        rx = r + ux
        ln_a1 = special.gammaln(rx) - special.gammaln(r) + r * np.log(alpha)
        lbab = special.betaln(a, b)
        c1 = special.betaln(a, b + ux) - lbab
        with np.errstate(divide="ignore", invalid="ignore"):
            c2 = special.betaln(a + 1, np.maximum(b + ux - 1, 1e-300)) - lbab
            rxi = rx[ix]
            t1 = c1[ix] - rxi * np.log(alpha + uT)[iT]
            t2 = np.where(pos, c2[ix] - rxi * np.log(alpha + utx)[itx], -np.inf)
        return -float(np.sum(w * (ln_a1[ix] + np.logaddexp(t1, t2))))

    return nll


class BetaGeoFitter(Fitter):
    """BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005a; definitions §5).

    While alive, a customer purchases as a Poisson process with rate lambda;
    after every repeat purchase they become inactive for good with probability
    p. Across customers lambda ~ Gamma(r, alpha) (shape r, rate alpha) and
    p ~ Beta(a, b). Each customer contributes x (repeat purchases), t_x
    (recency) and T (time observed since the first purchase), all in one time
    unit (``time_unit_``), which is also the unit of lambda: r/alpha is the
    mean purchase rate *per time unit*.

    Fitted by maximum likelihood over (ln r, ln alpha, ln a, ln b); intervals
    from the observed information as for :class:`ShiftedBetaGeoFitter`.

    Attributes (after fit)
    ----------------------
    r_, alpha_, a_, b_ : float
    log_likelihood_ : float
    time_unit_ : str or None
    summary_ : pandas.DataFrame
        parameter, estimate, se, lower95, upper95, time_unit.
    n_customers_ : int
    params_ : dict
        {"r": r_, "alpha": alpha_, "a": a_, "b": b_}.
    """

    param_names = ("r", "alpha", "a", "b")

    def __init__(self) -> None:
        self.r_: float | None = None
        self.alpha_: float | None = None
        self.a_: float | None = None
        self.b_: float | None = None
        self.log_likelihood_: float | None = None
        self.time_unit_: str | None = None
        self.summary_: pd.DataFrame | None = None
        self.n_customers_: int | None = None

    def __repr__(self) -> str:
        if self.r_ is None:
            return "BetaGeoFitter(unfitted)"
        return (
            f"BetaGeoFitter(r={self.r_:.4g}, alpha={self.alpha_:.4g}, a={self.a_:.4g}, b={self.b_:.4g}, "
            f"time_unit={self.time_unit_!r})"
        )

    @renamed_kwargs(time_unit="freq")
    def fit(
        self,
        rfm: pd.DataFrame,
        *,
        frequency: str = "frequency",
        recency: str = "recency",
        T: str = "T",
        freq: str | None = None,
    ) -> "BetaGeoFitter":
        """Fit r, alpha, a, b by maximum likelihood (definitions §5; FHL 2005a).

        Parameters
        ----------
        rfm : pandas.DataFrame
            From :func:`rfm_summary` (or any frame with the three columns).
        frequency, recency, T : str
            Column names.
        freq : str, optional
            Time unit of the columns (formerly ``time_unit=``); default ``rfm.attrs["time_unit"]``.

        Returns
        -------
        self
        """
        if not isinstance(rfm, pd.DataFrame):
            raise ParameterError(f"rfm must be a DataFrame from rfm_summary(), not {type(rfm).__name__}.")
        for col in (frequency, recency, T):
            if col not in rfm.columns:
                raise DataError(f"column '{col}' not in rfm (columns: {list(rfm.columns)}); use rfm_summary().")
        x, tx, tt = rfm_arrays(rfm[frequency], rfm[recency], rfm[T])
        if x.size == 0:
            raise DataError("rfm has no customers.")
        if not np.any(x > 0):
            raise ConvergenceError(
                "BetaGeoFitter: no customer made a repeat purchase; the model cannot be fitted. " + _BG_ADVICE
            )
        # compress identical (x, t_x, T) rows
        keys = pd.DataFrame({"x": x, "tx": tx, "T": tt}).value_counts().reset_index(name="w")
        xx, txx, TT, w = (keys[c].to_numpy(dtype="float64") for c in ("x", "tx", "T", "w"))

        nll = _bgnbd_grouped_nll(xx, txx, TT, w)

        scale = float(np.mean(tt)) if np.mean(tt) > 0 else 1.0
        starts = [
            (0.0, math.log(scale), 0.0, 0.0),
            (math.log(0.5), math.log(scale / 4 + 1e-9), math.log(0.5), math.log(2.0)),
        ]
        mle = fit_log_mle(
            nll, starts, model="BetaGeoFitter", names=("r", "alpha", "a", "b"), advice=_BG_ADVICE, bound=14.0
        )
        self.r_, self.alpha_, self.a_, self.b_ = (float(v) for v in np.exp(mle.log_params))
        self.log_likelihood_ = -float(mle.nll)
        self.time_unit_ = freq if freq is not None else rfm.attrs.get("time_unit")
        self.summary_ = summary_frame(("r", "alpha", "a", "b"), mle, self.time_unit_ or "unspecified")
        self.n_customers_ = int(x.size)
        return self

    def log_likelihood(self, frequency, recency, T) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters (FHL 2005a, eq. 6)."""
        check_fitted(self, "r_")
        x, tx, tt = rfm_arrays(frequency, recency, T)
        return _bgnbd_loglik_terms(self.r_, self.alpha_, self.a_, self.b_, x, tx, tt)

    def expected_purchases_new(self, t):
        """E[X(t)]: expected purchases in (0, t] of a new, randomly chosen customer (FHL 2005a, eq. 7).

        E[X(t)] = (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]
        ``t`` is in ``time_unit_``.
        """
        check_fitted(self, "r_")
        r, al, a, b = self.r_, self.alpha_, self.a_, self.b_
        t = np.asarray(t, dtype="float64")
        if np.any(t < 0) or not np.all(np.isfinite(t)):
            raise ParameterError(f"t={t!r} must be >= 0 (in {self.time_unit_ or 'the fitted time unit'}).")
        z = t / (al + t)
        out = (a + b - 1) / (a - 1) * (1 - (al / (al + t)) ** r * special.hyp2f1(r, b, a + b - 1, z))
        return float(out) if out.ndim == 0 else out

    def probability_alive(self, frequency, recency, T):
        """P(alive at T | x, t_x, T) (FHL 2005a; definitions §5).

        1 / (1 + [x > 0] a/(b+x-1) ((alpha+T)/(alpha+t_x))^(r+x)); 1 for x = 0
        (in the BG/NBD a customer can only drop out right after a repeat purchase).
        """
        check_fitted(self, "r_")
        x, tx, tt = rfm_arrays(frequency, recency, T)
        r, al, a, b = self.r_, self.alpha_, self.a_, self.b_
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_ratio = (
                np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + (r + x) * (np.log(al + tt) - np.log(al + tx))
            )
            out = np.where(x > 0, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)
        return float(out) if out.ndim == 0 else out

    def expected_purchases(self, t, frequency, recency, T):
        """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] (FHL 2005a, eq. 10).

        ``t`` is in ``time_unit_``; arrays broadcast.
        """
        check_fitted(self, "r_")
        x, tx, tt = rfm_arrays(frequency, recency, T)
        t = np.asarray(t, dtype="float64")
        if np.any(t < 0) or not np.all(np.isfinite(t)):
            raise ParameterError(f"t={t!r} must be >= 0.")
        r, al, a, b = self.r_, self.alpha_, self.a_, self.b_
        z = t / (al + tt + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        num = (a + b + x - 1) / (a - 1) * (1 - ((al + tt) / (al + tt + t)) ** (r + x) * hyp)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_ratio = (
                np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + (r + x) * (np.log(al + tt) - np.log(al + tx))
            )
            den = np.where(x > 0, 1.0 + np.exp(log_ratio), 1.0)
        out = num / den
        return float(out) if np.ndim(out) == 0 else out


#: Short alias.
BGNBD = BetaGeoFitter


__all__ = ["BGNBD", "BetaGeoFitter"]
