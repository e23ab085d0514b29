"""The shifted-beta-geometric (sBG) model of contract duration (definitions §5 "Shifted-beta-geometric").

Fader & Hardie (2007), with DEL / DERL (Fader & Hardie 2010) and :func:`backtest`.

References
----------
Fader, P. S. & Hardie, B. G. S. (2007). How to project customer retention.
*Journal of Interactive Marketing*, 21(1), 76-90.

Fader, P. S. & Hardie, B. G. S. (2010). Customer-base valuation in a
contractual setting: the perils of ignoring heterogeneity. *Marketing
Science*, 29(1), 85-93.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import special

from .._deprecation import renamed_attribute
from ..exceptions import ConvergenceError, DataError, ParameterError
from .base import Fitter, check_discount, check_fitted, finite_number, fit_log_mle, segment_columns, summary_frame


def _check_survivors(survivors: Any, name: str = "survivors") -> np.ndarray:
    try:
        s = np.asarray(survivors, dtype="float64")
    except (TypeError, ValueError):
        raise DataError(f"{name} must be numbers (survivor counts), got {survivors!r}.") from None
    if s.ndim != 1:
        raise DataError(f"{name} must be one-dimensional (counts for t = 0, 1, 2, ...), got shape {s.shape}.")
    if s.size < 3:
        raise DataError(
            f"{name} has {s.size} value(s); the sBG model has two parameters and needs the initial size "
            "plus at least two periods (e.g. [1000, 631, 468])."
        )
    if not np.all(np.isfinite(s)) or np.any(s < 0):
        bad = int(np.flatnonzero(~np.isfinite(s) | (s < 0))[0])
        raise DataError(f"{name}[{bad}] = {s[bad]!r}: survivor counts must be finite and >= 0.")
    if s[0] <= 0:
        raise DataError(f"{name}[0] = {s[0]!r}: the first value is the initial cohort size and must be > 0.")
    rises = np.flatnonzero(np.diff(s) > 0)
    if rises.size:
        i = int(rises[0]) + 1
        raise DataError(
            f"{name} rises at t = {i} ({s[i - 1]:g} -> {s[i]:g}). sBG needs survivor counts of a contractual "
            "cohort (a customer who left never comes back). For a transaction log use the unbounded "
            "retention ('active_on_or_after') or a BG/NBD model."
        )
    return s


def _sbg_loglik(a: float, b: float, s: np.ndarray) -> float:
    """Right-censored sBG log-likelihood of survivor counts s[0..k] (F&H 2007, eq. 6)."""
    k = s.size - 1
    t = np.arange(1, k + 1, dtype="float64")
    lbab = special.betaln(a, b)
    log_p = special.betaln(a + 1.0, b + t - 1.0) - lbab
    log_s = special.betaln(a, b + k) - lbab
    lost = s[:-1] - s[1:]
    ll = float(np.sum(np.where(lost > 0, lost * log_p, 0.0)))
    if s[-1] > 0:
        ll += float(s[-1] * log_s)
    return ll


_SBG_ADVICE = (
    "The cohort may show no heterogeneity (a constant churn rate: use clv_margin_multiple with the "
    "observed retention) or too few periods / too few departures; fit more periods or pool cohorts."
)


class ShiftedBetaGeoFitter(Fitter):
    """Shifted-beta-geometric model of contract duration (definitions §5; Fader & Hardie 2007).

    Each customer churns at the end of every period with their own probability
    theta, and theta varies across customers as Beta(alpha, beta). For the
    cohort, with T the period in which a customer churns (t = 1, 2, ...)::

        P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta)
        S(t)     = P(T > t) = B(alpha, beta + t) / B(alpha, beta),   S(0) = 1
        r_t      = S(t) / S(t-1) = (beta + t - 1) / (alpha + beta + t - 1)

    so retention rates rise with tenure because the customers with a high theta
    leave first (sorting, not a change in any one customer).

    Fitted by maximum likelihood on survivor counts n_0 >= n_1 >= ... >= n_k,
    the n_k customers still active right-censored::

        LL = sum_{t=1..k} (n_{t-1} - n_t) ln P(T = t) + n_k ln S(k)

    The optimisation is on (ln alpha, ln beta); standard errors come from the
    inverse of the observed information (numerical Hessian of -LL) on that log
    scale, and the 95 % intervals are exp(ln estimate +/- 1.96 se) (so they
    stay positive). ``se`` is the delta-method standard error on the natural
    scale.

    Attributes (after fit)
    ----------------------
    alpha_, beta_ : float
    log_likelihood_ : float
    n_periods_ : int
        Number of periods k the fit used (longest cohort when pooled).
    size_ : float
        Initial cohort size (the sum of the cohorts' when pooled); used by
        :meth:`predict`.
    summary_ : pandas.DataFrame
        parameter, estimate, se, lower95, upper95.
    alpha_ci_, beta_ci_ : tuple of float
        95 % intervals.
    cohort_params_ : pandas.DataFrame or None
        With ``by_cohort=True``: one row per cohort (keys, alpha, beta,
        log_likelihood, n_periods, size).
    cohort_models_ : dict or None
        With ``by_cohort=True``: cohort key -> fitted model.
    params_ : dict
        {"alpha": alpha_, "beta": beta_}.

    Examples
    --------
    >>> m = ShiftedBetaGeoFitter().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> round(m.alpha_, 3), round(m.beta_, 3)
    (0.704, 1.182)
    """

    param_names = ("alpha", "beta")

    def __init__(self) -> None:
        self.alpha_: float | None = None
        self.beta_: float | None = None
        self.log_likelihood_: float | None = None
        self.n_periods_: int | None = None
        self.size_: float | None = None
        self.summary_: pd.DataFrame | None = None
        self.alpha_ci_: tuple[float, float] | None = None
        self.beta_ci_: tuple[float, float] | None = None
        self.alpha_se_: float | None = None
        self.beta_se_: float | None = None
        self.cohort_params_: pd.DataFrame | None = None
        self.cohort_models_: dict | None = None
        self.survivors_: np.ndarray | None = None

    def __repr__(self) -> str:
        if self.alpha_ is None:
            return "ShiftedBetaGeoFitter(unfitted)"
        return (
            f"ShiftedBetaGeoFitter(alpha={self.alpha_:.4g}, beta={self.beta_:.4g}, "
            f"n_periods={self.n_periods_}, LL={self.log_likelihood_:.2f})"
        )

    # ---------------------------------------------------------------- fitting
    @staticmethod
    def _table_series(table: pd.DataFrame, count: str | None) -> tuple[list[str], dict[Any, np.ndarray]]:
        if "age" not in table.columns or "cohort" not in table.columns:
            raise DataError("a cohort table for sBG needs the columns 'cohort', 'age' and 'active' (or 'size').")
        if count is None:
            count = "active" if "active" in table.columns else "size"
        if count not in table.columns:
            raise DataError(f"column '{count}' not in the table; pass count='<survivor count column>'.")
        seg = segment_columns(table)
        keys = [*seg, "cohort"]
        df = table
        if "partial" in df.columns:
            df = df[~df["partial"].astype(bool)]
        df = df[df[count].notna()].sort_values([*keys, "age"], kind="stable")
        out: dict[Any, np.ndarray] = {}
        for key, g in df.groupby(keys, sort=True, dropna=False):
            ages = g["age"].to_numpy(dtype="int64")
            vals = g[count].to_numpy(dtype="float64")
            if ages.size == 0:
                continue
            if ages[0] != 0:
                if "size" in g.columns and ages[0] == 1:
                    ages = np.r_[0, ages]
                    vals = np.r_[float(g["size"].iloc[0]), vals]
                else:
                    raise DataError(f"cohort {key!r}: ages must start at 0 (found {ages[0]}).")
            gaps = np.flatnonzero(np.diff(ages) != 1)
            if gaps.size:
                raise DataError(
                    f"cohort {key!r}: ages must be consecutive; {ages[gaps[0]]} is followed by {ages[gaps[0] + 1]}."
                )
            out[key if len(keys) > 1 else (key[0] if isinstance(key, tuple) else key)] = vals
        if not out:
            raise DataError("the cohort table has no observed (complete) cells to fit.")
        return keys, out

    def fit(self, survivors, *, by_cohort: bool = False, count: str | None = None) -> "ShiftedBetaGeoFitter":
        """Fit alpha and beta by maximum likelihood (definitions §5; F&H 2007).

        Parameters
        ----------
        survivors : array-like or pandas.DataFrame
            Survivor counts for t = 0, 1, ..., k starting with the initial
            cohort size (e.g. ``[1000, 631, 468, 382]``), or a tidy cohort
            table with columns ``cohort``, ``age`` and ``active`` (survivors;
            for subscription cohorts) and optionally ``size``. Rows marked
            ``partial`` are ignored. With a table, the pooled fit maximises the
            sum of the cohorts' log-likelihoods (each cohort right-censored at
            its own last observed age).
        by_cohort : bool
            With a table: also fit each (segment, cohort) separately into
            ``cohort_params_`` / ``cohort_models_``. ``alpha_``/``beta_`` hold
            the pooled fit either way.
        count : str, optional
            Survivor column of the table (default ``active``, else ``size``).

        Returns
        -------
        self

        Raises
        ------
        DataError
            Survivors that rise, are negative or too short.
        ConvergenceError
            When the likelihood has no finite maximum (e.g. no heterogeneity:
            alpha and beta run to infinity).
        """
        if isinstance(survivors, pd.DataFrame):
            keys, series = self._table_series(survivors, count)
            checked = {k: _check_survivors(v, f"cohort {k!r}") for k, v in series.items()}
            self._fit_many(list(checked.values()))
            if by_cohort:
                rows, models = [], {}
                for k, v in checked.items():
                    sub = ShiftedBetaGeoFitter()._fit_many([v])
                    models[k] = sub
                    assert sub.alpha_ci_ is not None and sub.beta_ci_ is not None  # set by the fit
                    kt = k if isinstance(k, tuple) else (k,)
                    rows.append(
                        {
                            **dict(zip(keys, kt)),
                            "alpha": sub.alpha_,
                            "beta": sub.beta_,
                            "alpha_lower95": sub.alpha_ci_[0],
                            "alpha_upper95": sub.alpha_ci_[1],
                            "beta_lower95": sub.beta_ci_[0],
                            "beta_upper95": sub.beta_ci_[1],
                            "log_likelihood": sub.log_likelihood_,
                            "n_periods": sub.n_periods_,
                            "size": sub.size_,
                        }
                    )
                self.cohort_params_ = pd.DataFrame(rows)
                self.cohort_models_ = models
            return self
        if isinstance(survivors, pd.Series):
            survivors = survivors.to_numpy()
        if by_cohort:
            raise ParameterError("by_cohort=True needs a cohort table (DataFrame with cohort, age, active).")
        return self._fit_many([_check_survivors(survivors)])

    def _fit_many(self, series: list[np.ndarray]) -> "ShiftedBetaGeoFitter":
        if all(s[-1] == s[0] for s in series):
            raise ConvergenceError(
                "ShiftedBetaGeoFitter: no customer churned in the data, so churn cannot be estimated. "
                "Wait for more periods or pool cohorts."
            )

        def nll(x):
            a, b = math.exp(x[0]), math.exp(x[1])
            return -sum(_sbg_loglik(a, b, s) for s in series)

        mle = fit_log_mle(
            nll,
            [(0.0, 0.0), (-1.0, 1.0), (1.0, 2.0)],
            model="ShiftedBetaGeoFitter",
            names=("alpha", "beta"),
            advice=_SBG_ADVICE,
        )
        self.alpha_, self.beta_ = (float(v) for v in np.exp(mle.log_params))
        self.log_likelihood_ = -float(mle.nll)
        self.n_periods_ = int(max(s.size for s in series) - 1)
        self.size_ = float(sum(s[0] for s in series))
        self.summary_ = summary_frame(("alpha", "beta"), mle)
        self.alpha_se_, self.beta_se_ = (float(v) for v in self.summary_["se"])
        self.alpha_ci_ = (float(self.summary_.at[0, "lower95"]), float(self.summary_.at[0, "upper95"]))
        self.beta_ci_ = (float(self.summary_.at[1, "lower95"]), float(self.summary_.at[1, "upper95"]))
        self.survivors_ = series[0] if len(series) == 1 else None
        return self

    # ---------------------------------------------------------------- model functions
    def _params(self) -> tuple[float, float]:
        check_fitted(self, "alpha_")
        assert self.alpha_ is not None and self.beta_ is not None  # check_fitted raised otherwise
        return float(self.alpha_), float(self.beta_)

    @staticmethod
    def _t(t, lowest: int) -> np.ndarray:
        arr = np.asarray(t, dtype="float64")
        if np.any(~np.isfinite(arr)) or np.any(arr != np.floor(arr)) or np.any(arr < lowest):
            raise ParameterError(f"t={t!r} must be whole periods >= {lowest}.")
        return arr

    @staticmethod
    def _out(val: np.ndarray, t) -> Any:
        return float(val) if np.ndim(t) == 0 else val

    def survival(self, t):
        """S(t) = B(alpha, beta + t) / B(alpha, beta): share still active after t periods (definitions §5)."""
        a, b = self._params()
        tt = self._t(t, 0)
        return self._out(np.exp(special.betaln(a, b + tt) - special.betaln(a, b)), t)

    def churn_probability(self, t):
        """P(T = t) = B(alpha + 1, beta + t - 1) / B(alpha, beta), t >= 1: churn in period t (definitions §5)."""
        a, b = self._params()
        tt = self._t(t, 1)
        return self._out(np.exp(special.betaln(a + 1, b + tt - 1) - special.betaln(a, b)), t)

    def retention_rate(self, t):
        """r_t = (beta + t - 1) / (alpha + beta + t - 1), t >= 1: S(t)/S(t-1) (definitions §5)."""
        a, b = self._params()
        tt = self._t(t, 1)
        return self._out((b + tt - 1) / (a + b + tt - 1), t)

    def predict(self, periods: int, *, size: float | None = None) -> pd.DataFrame:
        """Expected survivors for t = 0..periods (definitions §5).

        Parameters
        ----------
        periods : int
            Last period to project (>= 0).
        size : float, optional
            Initial cohort size to scale to; default the fitted one (``size_``).

        Returns
        -------
        pandas.DataFrame
            ``period``, ``survival`` (S(t)), ``retention_rate`` (r_t; NaN at
            t = 0), ``expected_survivors`` (size x S(t)) and ``in_sample``
            (t <= n_periods_).
        """
        a, b = self._params()
        assert self.n_periods_ is not None  # fitted
        if isinstance(periods, bool) or not isinstance(periods, (int, np.integer)) or periods < 0:
            raise ParameterError(f"periods={periods!r} must be a whole number >= 0.")
        n0 = self.size_ if size is None else finite_number("size", size)
        t = np.arange(int(periods) + 1)
        surv = np.asarray(self.survival(t))
        rr = np.r_[np.nan, (b + t[1:] - 1) / (a + b + t[1:] - 1)]
        return pd.DataFrame(
            {
                "period": t,
                "survival": surv,
                "retention_rate": rr,
                "expected_survivors": n0 * surv,
                "in_sample": t <= self.n_periods_,
            }
        )

    def expected_lifetime(self, discount_rate: float = 0.0, *, method: str = "closed_form") -> float:
        """Discounted expected lifetime DEL(d) = sum_{t>=0} S(t) / (1+d)^t (definitions §5).

        The expected number of discounted periods a newly acquired customer
        pays for, counting the acquisition period (t = 0, undiscounted) and
        every later period t they survive into, discounted by (1+d)^t.
        Multiplying by a margin per period (paid at the start of each period)
        gives the expected CLV of a new customer. Closed form (Fader & Hardie
        2010)::

            DEL(d) = 2F1(1, beta; alpha + beta; 1 / (1 + d))

        With d = 0 this is the expected lifetime (alpha + beta - 1) / (alpha - 1)
        when alpha > 1 and infinite otherwise (a fat tail of near-immortal
        customers).

        Parameters
        ----------
        discount_rate : float
            d > -1 per period; d must be >= 0 for the sum to converge.
        method : {"closed_form", "sum"}
            "sum" adds S(t)/(1+d)^t term by term until the remaining tail is
            below 1e-12 (needs d > 0); it exists to check the closed form.

        Returns
        -------
        float
        """
        a, b = self._params()
        d = check_discount(discount_rate)
        if d < 0:
            raise ParameterError(f"discount_rate={discount_rate!r}: DEL needs d >= 0 (the sum diverges otherwise).")
        if method == "closed_form":
            if d == 0:
                return (a + b - 1) / (a - 1) if a > 1 else math.inf
            return float(special.hyp2f1(1.0, b, a + b, 1.0 / (1.0 + d)))
        if method == "sum":
            return _discounted_sum(lambda t: special.betaln(a, b + t) - special.betaln(a, b), d)
        raise ParameterError(f"method={method!r} must be 'closed_form' or 'sum'.")

    def residual_lifetime(self, discount_rate: float = 0.0, renewals=0, *, method: str = "closed_form"):
        """Discounted expected residual lifetime DERL (Fader & Hardie 2010; definitions §5).

        Timing convention (F&H 2010): the customer was acquired at t = 0 and
        has made ``renewals`` = n renewals, so they are alive at t = n; we
        stand at the end of their current period, at the moment of the next
        renewal decision. Each renewal pays at the start of the period it
        buys, i.e. at once: the first future payment (renewal n + 1) is not
        discounted, the j-th is discounted by (1 + d)^(j - 1). DERL is the
        expected discounted number of these future payments::

            DERL(d | n) = sum_{j>=1} [S(n + j) / S(n)] / (1 + d)^(j - 1)
                        = (beta + n) / (alpha + beta + n)
                          * 2F1(1, beta + n + 1; alpha + beta + n + 1; 1 / (1 + d))

        (the posterior of theta after n renewals is Beta(alpha, beta + n)).
        With d = 0 it is (beta + n) / (alpha - 1) for alpha > 1, else infinite.
        Relation to DEL: DEL(d) = 1 + DERL(d | 0) / (1 + d). Multiply by the
        payment per period for the expected residual value of an existing
        customer.

        Parameters
        ----------
        discount_rate : float
            d >= 0 per period.
        renewals : int or array-like of int
            n >= 0 renewals made so far (a customer in their (n+1)-th period).
        method : {"closed_form", "sum"}
            "sum" adds terms until the tail is below 1e-12 (needs d > 0).

        Returns
        -------
        float or numpy.ndarray
        """
        a, b = self._params()
        d = check_discount(discount_rate)
        if d < 0:
            raise ParameterError(f"discount_rate={discount_rate!r}: DERL needs d >= 0.")
        n = self._t(renewals, 0)
        if method == "closed_form":
            if d == 0:
                out = (b + n) / (a - 1) if a > 1 else np.full_like(n, np.inf)
            else:
                out = (b + n) / (a + b + n) * special.hyp2f1(1.0, b + n + 1, a + b + n + 1, 1.0 / (1.0 + d))
        elif method == "sum":

            def log_term(t: np.ndarray, nn: float) -> np.ndarray:
                return special.betaln(a, b + nn + t) - special.betaln(a, b + nn)

            vals = [
                (1.0 + d) * _discounted_sum(functools.partial(log_term, nn=nn), d, start=1) for nn in np.atleast_1d(n)
            ]
            out = np.asarray(vals).reshape(n.shape)
        else:
            raise ParameterError(f"method={method!r} must be 'closed_form' or 'sum'.")
        return self._out(np.asarray(out, dtype="float64"), renewals)


def _discounted_sum(
    log_term: Callable[[np.ndarray], np.ndarray],
    d: float,
    *,
    start: int = 0,
    tol: float = 1e-12,
    chunk: int = 4096,
    max_terms: int = 50_000_000,
) -> float:
    """sum_{t>=start} exp(log_term(t)) / (1+d)^t for a non-increasing term; needs d > 0."""
    if d <= 0:
        raise ParameterError(
            "method='sum' needs discount_rate > 0 (the plain sum converges too slowly or "
            "not at all); use method='closed_form'."
        )
    ld = math.log1p(d)
    total, t0 = 0.0, start
    while t0 < max_terms:
        t = np.arange(t0, t0 + chunk, dtype="float64")
        terms = np.exp(log_term(t) - t * ld)
        total += float(terms.sum())
        # terms are S(t)-like (non-increasing) times a geometric factor: bound the tail
        tail = float(terms[-1]) / (1.0 - 1.0 / (1.0 + d))
        if tail < tol * max(total, 1.0):
            return total
        t0 += chunk
    raise ConvergenceError("the discounted sum did not converge; use method='closed_form'.")  # pragma: no cover


@dataclass(frozen=True)
class SBGBacktest:
    """Result of :func:`backtest`.

    Attributes
    ----------
    table : pandas.DataFrame
        ``period``, ``actual``, ``predicted`` (expected survivors), ``error``
        (predicted - actual), ``pct_error`` (100 x error / actual; NaN where
        actual = 0) and ``sample`` ("fit" for t <= fit_periods, "holdout" after).
    mape : float
        Mean absolute percentage error over the holdout periods, in percent.
    model : ShiftedBetaGeoFitter
        The model fitted on t = 0..fit_periods.
    fit_periods : int
    summary : pandas.DataFrame
        ``metric``, ``value``: ``fit_periods``, ``mape``, ``alpha``, ``beta``.
    frame : pandas.DataFrame
        Deprecated spelling of ``table`` (a DeprecationWarning; removed in the
        next release).
    """

    table: pd.DataFrame
    mape: float
    model: ShiftedBetaGeoFitter
    fit_periods: int

    frame = renamed_attribute("SBGBacktest", "frame", "table")

    @property
    def summary(self) -> pd.DataFrame:
        """The backtest in four figures (``metric``, ``value``): fit_periods, mape, alpha, beta."""
        figures = {
            "fit_periods": self.fit_periods,
            "mape": self.mape,
            "alpha": self.model.alpha_,
            "beta": self.model.beta_,
        }
        return pd.DataFrame({"metric": list(figures), "value": list(figures.values())})


def backtest(survivors, fit_periods: int) -> SBGBacktest:
    """Fit the sBG on the first periods and compare its projection with the rest (definitions §5).

    Parameters
    ----------
    survivors : array-like
        Survivor counts for t = 0..K (initial size first).
    fit_periods : int
        k: fit on ``survivors[0 : k + 1]`` (periods 1..k), project k+1..K.

    Returns
    -------
    SBGBacktest
        Tidy ``table`` (period, actual, predicted, error, pct_error, sample),
        ``mape`` over the holdout periods and a ``summary`` frame.
    """
    s = _check_survivors(survivors)
    if isinstance(fit_periods, bool) or not isinstance(fit_periods, (int, np.integer)):
        raise ParameterError(f"fit_periods={fit_periods!r} must be a whole number of periods.")
    k_max = s.size - 1
    if not 2 <= fit_periods < k_max:
        raise ParameterError(
            f"fit_periods={fit_periods} must be between 2 and {k_max - 1} for {s.size} survivor counts "
            "(at least two periods to fit and one period left to compare)."
        )
    model = ShiftedBetaGeoFitter().fit(s[: fit_periods + 1])
    pred = model.predict(k_max, size=s[0])["expected_survivors"].to_numpy()
    err = pred - s
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(s > 0, 100.0 * err / np.where(s > 0, s, 1.0), np.nan)
    t = np.arange(k_max + 1)
    frame = pd.DataFrame(
        {
            "period": t,
            "actual": s,
            "predicted": pred,
            "error": err,
            "pct_error": pct,
            "sample": np.where(t <= fit_periods, "fit", "holdout"),
        }
    )
    hold = frame[frame["sample"] == "holdout"]
    mape = float(np.nanmean(np.abs(hold["pct_error"]))) if hold["pct_error"].notna().any() else math.nan
    frame.attrs.update({"fit_periods": int(fit_periods), "mape": mape, "alpha": model.alpha_, "beta": model.beta_})
    return SBGBacktest(table=frame, mape=mape, model=model, fit_periods=int(fit_periods))


__all__ = ["SBGBacktest", "ShiftedBetaGeoFitter", "backtest"]
