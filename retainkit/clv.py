"""Customer lifetime value and retention projection (definitions §5 "Lifetime value").

Four tools, from the simplest to the richest:

* :func:`clv_margin_multiple`: closed-form CLV under constant retention
  (definitions §5 "Simple margin multiple").
* :func:`empirical_clv`: the observed, margin-adjusted and discounted
  cumulative value per customer by cohort age, from a cohort table
  (definitions §3 "Revenue" and §5).
* :class:`ShiftedBetaGeometric`: the shifted-beta-geometric (sBG) model of
  Fader & Hardie (2007) for contractual cohorts, with DEL / DERL (Fader &
  Hardie 2010) and :func:`backtest` (definitions §5 "Shifted-beta-geometric").
* :func:`rfm_summary`, :class:`BetaGeoFitter` (BG/NBD), :class:`GammaGamma`
  and :func:`customer_clv` for non-contractual transaction logs (Fader, Hardie
  & Lee 2005; definitions §5 "BG/NBD and Gamma-Gamma").

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

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, special

from ._stats import Z95
from .exceptions import ConvergenceError, DataError, ParameterError
from .periods import FREQ_NAMES, check_freq, parse_as_of, period_index

__all__ = [
    "BGNBD",
    "BetaGeoFitter",
    "EmpiricalCLV",
    "GammaGamma",
    "SBGBacktest",
    "ShiftedBetaGeometric",
    "backtest",
    "clv_margin_multiple",
    "customer_clv",
    "empirical_clv",
    "rfm_summary",
]

#: Mean length of a calendar unit in days, for converting between time units.
UNIT_DAYS = {"D": 1.0, "W": 7.0, "M": 365.2425 / 12.0, "Q": 365.2425 / 4.0, "Y": 365.2425}


# --------------------------------------------------------------------------- validation
def _finite_number(name: str, value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={value!r} must be a number.") from None
    if not math.isfinite(out):
        raise ParameterError(f"{name}={value!r} must be a finite number.")
    return out


def _check_discount(discount_rate: Any) -> float:
    d = _finite_number("discount_rate", discount_rate)
    if d <= -1.0:
        raise ParameterError(
            f"discount_rate={discount_rate!r} must be greater than -1 (it is a rate per period: "
            "0.1 means 10 %, 0 means no discounting)."
        )
    return d


def _check_timing(timing: str) -> str:
    if timing not in ("end", "start"):
        raise ParameterError(f"timing={timing!r} must be 'end' or 'start' (see the docstring for the conventions).")
    return timing


# --------------------------------------------------------------------------- margin multiple
def clv_margin_multiple(margin, retention, discount_rate, *, timing: str = "end"):
    """Lifetime value under constant retention (definitions §5 "Simple margin multiple").

    A customer who is a customer now stays for each further period with
    probability ``retention`` (r), independently of tenure, and yields a
    margin ``margin`` (m) for every period they are present; money one period
    ahead is worth 1 / (1 + d) today.

    Timing conventions
    ------------------
    ``timing="end"`` (the default, the formula of definitions §5): standing
    at t = 0 just after acquisition, the margin of period t (t = 1, 2, ...) is
    received at the *end* of period t, and only if the customer is still there
    then (probability r^t)::

        CLV = sum_{t>=1} m r^t / (1+d)^t = m r / (1 + d - r)

    ``timing="start"``: the first margin is received immediately at t = 0
    (the acquisition period is paid up front), then one margin at the start of
    every further period the customer survives into::

        CLV = sum_{t>=0} m r^t / (1+d)^t = m (1 + d) / (1 + d - r)

    The two differ by exactly the first margin: start = m + end.

    Parameters
    ----------
    margin : float or array-like
        Margin per period (any currency; negative margins are allowed).
    retention : float or array-like
        Constant per-period retention probability, 0 <= r < 1.
    discount_rate : float or array-like
        Discount rate per period, d > -1 (d >= 0 in practice). With r < 1 the
        series converges whenever 1 + d - r > 0.
    timing : {"end", "start"}
        Payment timing, see above.

    Returns
    -------
    float or numpy.ndarray
        The CLV in the currency of ``margin`` (a float for scalar inputs).

    Raises
    ------
    ParameterError
        For r outside [0, 1), d <= -1, non-finite inputs or 1 + d - r <= 0.
    """
    timing = _check_timing(timing)
    try:
        m = np.asarray(margin, dtype="float64")
        r = np.asarray(retention, dtype="float64")
        d = np.asarray(discount_rate, dtype="float64")
    except (TypeError, ValueError):
        raise ParameterError("margin, retention and discount_rate must be numbers or numeric arrays.") from None
    for name, arr in (("margin", m), ("retention", r), ("discount_rate", d)):
        if not np.all(np.isfinite(arr)):
            raise ParameterError(f"{name} must be finite; got {arr.tolist()!r}.")
    if np.any((r < 0) | (r >= 1)):
        raise ParameterError(
            f"retention={retention!r} must satisfy 0 <= r < 1 (a per-period probability; with r = 1 "
            "customers never leave and the value is infinite)."
        )
    if np.any(d <= -1):
        raise ParameterError(f"discount_rate={discount_rate!r} must be greater than -1.")
    denom = 1.0 + d - r
    if np.any(denom <= 0):
        raise ParameterError(
            f"1 + discount_rate - retention must be positive for the discounted sum to converge "
            f"(discount_rate={discount_rate!r}, retention={retention!r})."
        )
    out = m * r / denom if timing == "end" else m * (1.0 + d) / denom
    return float(out) if out.ndim == 0 else out


# --------------------------------------------------------------------------- empirical CLV
@dataclass(frozen=True)
class EmpiricalCLV:
    """Result of :func:`empirical_clv`.

    Attributes
    ----------
    by_cohort : pandas.DataFrame
        One row per observed (segments..., cohort, age): ``size``,
        ``revenue``, ``value`` (margin x revenue at that age, discounted to
        age 0, per customer of the cohort) and ``clv`` (cumulative ``value``
        up to and including that age).
    average : pandas.DataFrame
        One row per (segments..., age): ``cohorts`` (how many cohorts are
        observed at that age), ``customers`` (their total size) and ``clv``
        (the size-weighted average of the cohorts' ``clv``).
    margin, discount_rate : float
    """

    by_cohort: pd.DataFrame
    average: pd.DataFrame
    margin: float
    discount_rate: float


def _segment_columns(table: pd.DataFrame) -> list[str]:
    by = table.attrs.get("by")
    if by is not None:
        return [c for c in by if c in table.columns]
    return list(table.columns[: list(table.columns).index("cohort")])


def empirical_clv(
    table: pd.DataFrame,
    *,
    margin: float = 1.0,
    discount_rate: float = 0.0,
    include_partial: bool = False,
) -> EmpiricalCLV:
    """Observed cumulative value per customer by cohort age (definitions §3 "Revenue", §5).

    For cohort c with n_c customers, the value at age k is::

        CLV(c, k) = sum_{j<=k} margin * Rev(c, j) / n_c / (1 + d)^j

    i.e. the revenue of age j (refunds included, definitions §3) is taken as
    received at age j and discounted back to the acquisition period (age 0 is
    not discounted). With ``margin=1`` and ``discount_rate=0`` this equals the
    cohort table's ``cum_revenue_per_customer``. When the table's ``size``
    varies by age (a ``cohort_key`` table), the per-customer revenue of each
    age uses that age's size, as in the cohort table.

    The average curve at age k is the size-weighted mean over the cohorts
    whose cell (c, k) is observed: sum_c n_c CLV(c, k) / sum_c n_c (definitions
    §3 "Average retention curve": never a plain mean of rates). Younger
    cohorts drop out of the average at older ages, so the curve can bend.

    Parameters
    ----------
    table : pandas.DataFrame
        Tidy cohort table (e.g. from ``cohort_table``) with columns
        ``cohort``, ``age``, ``size`` and ``revenue``; optional segment columns
        before ``cohort`` (or listed in ``table.attrs["by"]``) are kept and
        averaged separately. An optional boolean ``partial`` column marks the
        incomplete current period.
    margin : float
        Gross-margin fraction applied to revenue (0.3 = 30 %); 1 = revenue.
    discount_rate : float
        Discount rate per period of the table (per month for a monthly table).
    include_partial : bool
        Keep rows marked ``partial`` (their revenue is incomplete). Default False.

    Returns
    -------
    EmpiricalCLV
        ``by_cohort`` and ``average`` frames (see :class:`EmpiricalCLV`).
        Both carry ``attrs`` with margin, discount_rate and the table's freq.
    """
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"table must be a pandas DataFrame (a cohort table), not {type(table).__name__}.")
    missing = [c for c in ("cohort", "age", "size", "revenue") if c not in table.columns]
    if missing:
        hint = (
            " The cohort table has no revenue: load the data with an amount column, "
            "load_transactions(..., amount='<column>')."
            if missing == ["revenue"] else ""
        )
        raise DataError(f"table lacks column(s) {missing}; it needs cohort, age, size and revenue.{hint}")
    m = _finite_number("margin", margin)
    if m < 0:
        raise ParameterError(f"margin={margin!r} must be >= 0 (a fraction of revenue, e.g. 0.3 for 30 %).")
    d = _check_discount(discount_rate)
    seg = _segment_columns(table)
    keys = [*seg, "cohort"]
    cols = [*keys, "age", "size", "revenue"]
    df = table[cols + (["partial"] if "partial" in table.columns else [])].copy()
    if "partial" in df.columns:
        if not include_partial:
            df = df[~df["partial"].astype(bool)]
        df = df.drop(columns="partial")
    df = df[df["revenue"].notna() & df["size"].notna()]
    if df.empty:
        raise DataError("table has no observed cell with revenue; nothing to compute a lifetime value from.")
    if (df["age"] < 0).any() or (df["size"] <= 0).any():
        raise DataError("table has negative ages or non-positive cohort sizes; pass a cohort table from cohort_table().")
    df = df.sort_values([*keys, "age"], kind="stable").reset_index(drop=True)
    age = df["age"].to_numpy(dtype="float64")
    df["value"] = m * df["revenue"].to_numpy(dtype="float64") / df["size"].to_numpy(dtype="float64") / (1.0 + d) ** age
    df["clv"] = df.groupby(keys, sort=False, dropna=False)["value"].cumsum()
    # a gap in the ages (unobserved cell inside the run) makes later cumulative values unknown
    first_age = df.groupby(keys, sort=False, dropna=False)["age"].transform("min")
    position = df.groupby(keys, sort=False, dropna=False).cumcount()
    broken = (first_age != 0) | (df["age"] != position)
    broken = broken.groupby([df[k] for k in keys], sort=False, dropna=False).cummax()
    df.loc[broken.to_numpy(), "clv"] = np.nan
    w = df.assign(_w=df["size"] * df["clv"], _n=df["size"].where(df["clv"].notna()))
    w = w[w["clv"].notna()]
    avg = (
        w.groupby([*seg, "age"], sort=True, dropna=False)
        .agg(cohorts=("cohort", "size"), customers=("_n", "sum"), _w=("_w", "sum"))
        .reset_index()
    )
    avg["clv"] = avg.pop("_w") / avg["customers"]
    attrs = {"margin": m, "discount_rate": d, "freq": table.attrs.get("freq"), "by": seg}
    df.attrs.update(attrs)
    avg.attrs.update(attrs)
    return EmpiricalCLV(by_cohort=df, average=avg, margin=m, discount_rate=d)


# --------------------------------------------------------------------------- MLE helpers
def _numerical_hessian(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-4) -> np.ndarray:
    """Central-difference Hessian of ``f`` at ``x``."""
    x = np.asarray(x, dtype="float64")
    n = x.size
    h = step * np.maximum(1.0, np.abs(x))
    hess = np.empty((n, n))
    f0 = f(x)
    for i in range(n):
        ei = np.zeros(n)
        ei[i] = h[i]
        hess[i, i] = (f(x + ei) - 2 * f0 + f(x - ei)) / h[i] ** 2
        for j in range(i + 1, n):
            ej = np.zeros(n)
            ej[j] = h[j]
            val = (f(x + ei + ej) - f(x + ei - ej) - f(x - ei + ej) + f(x - ei - ej)) / (4 * h[i] * h[j])
            hess[i, j] = hess[j, i] = val
    return hess


@dataclass
class _MLEResult:
    log_params: np.ndarray
    nll: float
    cov_log: np.ndarray


def _fit_log_mle(nll: Callable[[np.ndarray], float], starts: Sequence[Sequence[float]], *, model: str,
                 names: Sequence[str], advice: str, bound: float = 9.0) -> _MLEResult:
    """Minimise ``nll`` over log-parameters; raise ConvergenceError with advice."""

    def safe(x):
        if np.any(np.abs(x) > 30):
            return np.inf
        with np.errstate(all="ignore"):
            v = float(nll(x))
        return v if np.isfinite(v) else np.inf

    best = None
    for start in starts:
        x0 = np.asarray(start, dtype="float64")
        f0 = safe(x0)
        if not np.isfinite(f0):
            continue
        scale = max(1.0, abs(f0))  # optimise a per-unit objective so tolerances are relative

        def scaled(x, scale=scale):
            return safe(x) / scale

        r1 = optimize.minimize(scaled, x0, method="Nelder-Mead",
                               options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 20000, "maxfev": 40000})
        x, fx = r1.x, r1.fun
        try:
            with np.errstate(all="ignore"):
                r2 = optimize.minimize(scaled, x, method="BFGS", options={"gtol": 1e-9, "maxiter": 2000})
            if np.isfinite(r2.fun) and r2.fun <= fx:
                x, fx = r2.x, r2.fun
        except (ValueError, FloatingPointError):  # pragma: no cover - defensive
            pass
        fx = safe(x)
        if best is None or fx < best[1]:
            best = (x, fx)
    if best is None or not np.isfinite(best[1]):
        raise ConvergenceError(f"{model}: the log-likelihood could not be evaluated at any starting point. {advice}")
    x, fx = best
    if np.any(np.abs(x) > bound):
        shown = ", ".join(f"{n}={math.exp(v):.4g}" for n, v in zip(names, x))
        raise ConvergenceError(
            f"{model}: the fit did not converge to finite parameters ({shown}: at least one drifted "
            f"towards 0 or infinity). {advice}"
        )
    hess = _numerical_hessian(safe, x)
    cov = np.full_like(hess, np.nan)
    if np.all(np.isfinite(hess)):
        try:
            c = np.linalg.inv(hess)
            if np.all(np.diag(c) > 0):
                cov = c
        except np.linalg.LinAlgError:
            pass
    return _MLEResult(log_params=x, nll=fx, cov_log=cov)


def _summary_frame(names: Sequence[str], mle: _MLEResult, time_unit: str | None = None) -> pd.DataFrame:
    est = np.exp(mle.log_params)
    se_log = np.sqrt(np.diag(mle.cov_log))
    out = pd.DataFrame({
        "parameter": list(names),
        "estimate": est,
        "se": est * se_log,  # delta method
        "lower95": np.exp(mle.log_params - Z95 * se_log),
        "upper95": np.exp(mle.log_params + Z95 * se_log),
    })
    if time_unit is not None:
        out["time_unit"] = time_unit
    return out


def _not_fitted(obj: Any, attr: str) -> None:
    if getattr(obj, attr, None) is None:
        raise ParameterError(f"this {type(obj).__name__} is not fitted yet; call .fit(...) first.")


# --------------------------------------------------------------------------- sBG
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


class ShiftedBetaGeometric:
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

    Examples
    --------
    >>> m = ShiftedBetaGeometric().fit([1000, 631, 468, 382, 326, 289, 262, 241])
    >>> round(m.alpha_, 3), round(m.beta_, 3)
    (0.704, 1.182)
    """

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
            return "ShiftedBetaGeometric(unfitted)"
        return (f"ShiftedBetaGeometric(alpha={self.alpha_:.4g}, beta={self.beta_:.4g}, "
                f"n_periods={self.n_periods_}, LL={self.log_likelihood_:.2f})")

    # ---------------------------------------------------------------- fitting
    @staticmethod
    def _table_series(table: pd.DataFrame, count: str | None) -> tuple[list[str], dict[Any, np.ndarray]]:
        if "age" not in table.columns or "cohort" not in table.columns:
            raise DataError("a cohort table for sBG needs the columns 'cohort', 'age' and 'active' (or 'size').")
        if count is None:
            count = "active" if "active" in table.columns else "size"
        if count not in table.columns:
            raise DataError(f"column '{count}' not in the table; pass count='<survivor count column>'.")
        seg = _segment_columns(table)
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
                raise DataError(f"cohort {key!r}: ages must be consecutive; {ages[gaps[0]]} is followed by "
                                f"{ages[gaps[0] + 1]}.")
            out[key if len(keys) > 1 else (key[0] if isinstance(key, tuple) else key)] = vals
        if not out:
            raise DataError("the cohort table has no observed (complete) cells to fit.")
        return keys, out

    def fit(self, survivors, *, by_cohort: bool = False, count: str | None = None) -> "ShiftedBetaGeometric":
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
                    sub = ShiftedBetaGeometric()._fit_many([v])
                    models[k] = sub
                    kt = k if isinstance(k, tuple) else (k,)
                    rows.append({**dict(zip(keys, kt)), "alpha": sub.alpha_, "beta": sub.beta_,
                                 "alpha_lower95": sub.alpha_ci_[0], "alpha_upper95": sub.alpha_ci_[1],
                                 "beta_lower95": sub.beta_ci_[0], "beta_upper95": sub.beta_ci_[1],
                                 "log_likelihood": sub.log_likelihood_, "n_periods": sub.n_periods_,
                                 "size": sub.size_})
                self.cohort_params_ = pd.DataFrame(rows)
                self.cohort_models_ = models
            return self
        if isinstance(survivors, pd.Series):
            survivors = survivors.to_numpy()
        if by_cohort:
            raise ParameterError("by_cohort=True needs a cohort table (DataFrame with cohort, age, active).")
        return self._fit_many([_check_survivors(survivors)])

    def _fit_many(self, series: list[np.ndarray]) -> "ShiftedBetaGeometric":
        if all(s[-1] == s[0] for s in series):
            raise ConvergenceError(
                "ShiftedBetaGeometric: no customer churned in the data, so churn cannot be estimated. "
                "Wait for more periods or pool cohorts."
            )

        def nll(x):
            a, b = math.exp(x[0]), math.exp(x[1])
            return -sum(_sbg_loglik(a, b, s) for s in series)

        mle = _fit_log_mle(nll, [(0.0, 0.0), (-1.0, 1.0), (1.0, 2.0)], model="ShiftedBetaGeometric",
                           names=("alpha", "beta"), advice=_SBG_ADVICE)
        self.alpha_, self.beta_ = (float(v) for v in np.exp(mle.log_params))
        self.log_likelihood_ = -float(mle.nll)
        self.n_periods_ = int(max(s.size for s in series) - 1)
        self.size_ = float(sum(s[0] for s in series))
        self.summary_ = _summary_frame(("alpha", "beta"), mle)
        self.alpha_se_, self.beta_se_ = (float(v) for v in self.summary_["se"])
        self.alpha_ci_ = (float(self.summary_.at[0, "lower95"]), float(self.summary_.at[0, "upper95"]))
        self.beta_ci_ = (float(self.summary_.at[1, "lower95"]), float(self.summary_.at[1, "upper95"]))
        self.survivors_ = series[0] if len(series) == 1 else None
        return self

    # ---------------------------------------------------------------- model functions
    def _params(self) -> tuple[float, float]:
        _not_fitted(self, "alpha_")
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
        if isinstance(periods, bool) or not isinstance(periods, (int, np.integer)) or periods < 0:
            raise ParameterError(f"periods={periods!r} must be a whole number >= 0.")
        n0 = self.size_ if size is None else _finite_number("size", size)
        t = np.arange(int(periods) + 1)
        surv = np.asarray(self.survival(t))
        rr = np.r_[np.nan, (b + t[1:] - 1) / (a + b + t[1:] - 1)]
        return pd.DataFrame({"period": t, "survival": surv, "retention_rate": rr,
                             "expected_survivors": n0 * surv, "in_sample": t <= self.n_periods_})

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
        d = _check_discount(discount_rate)
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
        d = _check_discount(discount_rate)
        if d < 0:
            raise ParameterError(f"discount_rate={discount_rate!r}: DERL needs d >= 0.")
        n = self._t(renewals, 0)
        if method == "closed_form":
            if d == 0:
                out = (b + n) / (a - 1) if a > 1 else np.full_like(n, np.inf)
            else:
                out = (b + n) / (a + b + n) * special.hyp2f1(1.0, b + n + 1, a + b + n + 1, 1.0 / (1.0 + d))
        elif method == "sum":
            vals = [
                (1.0 + d) * _discounted_sum(
                    lambda t, nn=nn: special.betaln(a, b + nn + t) - special.betaln(a, b + nn), d, start=1)
                for nn in np.atleast_1d(n)
            ]
            out = np.asarray(vals).reshape(n.shape)
        else:
            raise ParameterError(f"method={method!r} must be 'closed_form' or 'sum'.")
        return self._out(np.asarray(out, dtype="float64"), renewals)


def _discounted_sum(log_term: Callable[[np.ndarray], np.ndarray], d: float, *, start: int = 0,
                    tol: float = 1e-12, chunk: int = 4096, max_terms: int = 50_000_000) -> float:
    """sum_{t>=start} exp(log_term(t)) / (1+d)^t for a non-increasing term; needs d > 0."""
    if d <= 0:
        raise ParameterError("method='sum' needs discount_rate > 0 (the plain sum converges too slowly or "
                             "not at all); use method='closed_form'.")
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
    frame : pandas.DataFrame
        ``period``, ``actual``, ``predicted`` (expected survivors), ``error``
        (predicted - actual), ``pct_error`` (100 x error / actual; NaN where
        actual = 0) and ``sample`` ("fit" for t <= fit_periods, "holdout" after).
    mape : float
        Mean absolute percentage error over the holdout periods, in percent.
    model : ShiftedBetaGeometric
        The model fitted on t = 0..fit_periods.
    fit_periods : int
    """

    frame: pd.DataFrame
    mape: float
    model: ShiftedBetaGeometric
    fit_periods: int


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
        Tidy ``frame`` (period, actual, predicted, error, pct_error, sample)
        and ``mape`` over the holdout periods.
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
    model = ShiftedBetaGeometric().fit(s[: fit_periods + 1])
    pred = model.predict(k_max, size=s[0])["expected_survivors"].to_numpy()
    err = pred - s
    with np.errstate(divide="ignore", invalid="ignore"):
        pct = np.where(s > 0, 100.0 * err / np.where(s > 0, s, 1.0), np.nan)
    t = np.arange(k_max + 1)
    frame = pd.DataFrame({"period": t, "actual": s, "predicted": pred, "error": err, "pct_error": pct,
                          "sample": np.where(t <= fit_periods, "fit", "holdout")})
    hold = frame[frame["sample"] == "holdout"]
    mape = float(np.nanmean(np.abs(hold["pct_error"]))) if hold["pct_error"].notna().any() else math.nan
    frame.attrs.update({"fit_periods": int(fit_periods), "mape": mape, "alpha": model.alpha_, "beta": model.beta_})
    return SBGBacktest(frame=frame, mape=mape, model=model, fit_periods=int(fit_periods))


# --------------------------------------------------------------------------- RFM summary
def _unit(time_unit: str) -> str:
    return check_freq(time_unit)


def rfm_summary(
    transactions_or_frame,
    *,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = "amount",
    time_unit: str = "D",
    calibration_end=None,
    observation_end=None,
    tz: str | None = None,
) -> pd.DataFrame:
    """Per-customer frequency, recency, T and monetary value (definitions §5 "BG/NBD").

    Purchases are rows with amount >= 0 or an unknown (NaN) amount; refunds
    (amount < 0) are not purchases (definitions §1) and are only summed in
    ``refunds``. Timestamps are converted to the report time zone and cut into
    time units (``time_unit``: D, W, M, Q, Y; definitions §2). Several
    purchases in one time unit count as one purchase occasion.

    Parameters
    ----------
    transactions_or_frame : Transactions or pandas.DataFrame
        A :class:`retainkit.Transactions` (its ``frame``, ``tz`` and ``as_of``
        are used) or a plain frame with the columns named below.
    customer_id, timestamp, amount : str
        Column names. ``amount=None`` (or a default ``"amount"`` column that
        does not exist) means no monetary columns.
    time_unit : {"D", "W", "M", "Q", "Y"}
        Unit of frequency / recency / T; printed in ``attrs["time_unit"]``.
    calibration_end : date-like, optional
        End of the calibration window (a date means the end of that day).
        Purchases after it, up to ``observation_end``, form the holdout; only
        customers with a purchase by ``calibration_end`` are kept.
    observation_end : date-like, optional
        End of the data used. Default: ``as_of`` of a Transactions, else the end
        of the day of the latest timestamp. Later rows are ignored.
    tz : str, optional
        Report time zone (default: the Transactions' tz, else "UTC"). Naive
        timestamps are taken to be in it.

    Returns
    -------
    pandas.DataFrame
        One row per customer: ``customer_id`` (the id column, under its
        name), ``frequency`` x (distinct purchase time units in the window
        minus one: the number of *repeat* purchase occasions), ``recency`` t_x
        (time units from the first to the last purchase unit; 0 when x = 0),
        ``T`` (time units from the first purchase unit to the unit containing
        the window end), ``monetary_value`` (mean revenue of the repeat
        purchase units, refunds excluded, NaN when x = 0 or amounts unknown),
        ``refunds`` (sum of refunds in the window, <= 0) and, with
        ``calibration_end``, ``frequency_holdout`` (distinct purchase units
        after calibration_end), ``monetary_value_holdout`` (their mean revenue)
        and ``duration_holdout`` (time units from the calibration end unit to
        the observation end unit). ``attrs``: time_unit, time_unit_name,
        calibration_end, observation_end, tz.
    """
    unit = _unit(time_unit)
    src = transactions_or_frame
    default_end = None
    if hasattr(src, "frame") and hasattr(src, "as_of") and isinstance(getattr(src, "frame"), pd.DataFrame):
        frame = src.frame
        tz = tz or getattr(src, "tz", None) or "UTC"
        default_end = src.as_of
        if amount == "amount" and not getattr(src, "has_amount", "amount" in frame.columns):
            amount = None
    elif isinstance(src, pd.DataFrame):
        frame = src
        tz = tz or "UTC"
    else:
        raise ParameterError(
            f"rfm_summary needs a retainkit Transactions or a pandas DataFrame, not {type(src).__name__}."
        )
    for name, col in (("customer_id", customer_id), ("timestamp", timestamp)):
        if col not in frame.columns:
            raise DataError(f"column '{col}' ({name}=) not found; available: {list(frame.columns)}.")
    if amount is not None and amount not in frame.columns:
        if amount == "amount":
            amount = None
        else:
            raise DataError(f"column '{amount}' (amount=) not found; available: {list(frame.columns)}.")
    df = pd.DataFrame({"cid": frame[customer_id].to_numpy()})
    ts = frame[timestamp]
    if not pd.api.types.is_datetime64_any_dtype(ts):
        try:
            ts = pd.to_datetime(ts)
        except (ValueError, TypeError):
            raise DataError(f"column '{timestamp}' could not be parsed as timestamps; load the data with "
                            "load_transactions() or convert the column first.") from None
    ts = pd.Series(ts.array, index=df.index)  # positional: the caller's index may be anything
    if ts.dt.tz is None:
        ts = ts.dt.tz_localize(tz, nonexistent="shift_forward", ambiguous="NaT")
    else:
        ts = ts.dt.tz_convert(tz)
    df["ts"] = ts
    if amount is not None:
        amt = pd.to_numeric(frame[amount], errors="coerce").to_numpy(dtype="float64")
        df["amt"] = amt
    else:
        df["amt"] = np.nan
    df = df[df["cid"].notna() & df["ts"].notna()]
    if df.empty:
        raise DataError("no usable transactions (every row lacks a customer id or a timestamp).")
    obs_end = parse_as_of(observation_end, tz) if observation_end is not None else None
    if obs_end is None:
        obs_end = default_end.tz_convert(tz) if default_end is not None else parse_as_of(
            df["ts"].max().tz_convert(tz).strftime("%Y-%m-%d"), tz)
    cal_end = parse_as_of(calibration_end, tz) if calibration_end is not None else None
    if cal_end is not None and cal_end >= obs_end:
        raise ParameterError(f"calibration_end={calibration_end!r} must be before observation_end ({obs_end}).")
    df = df[df["ts"] <= obs_end]
    df = df.assign(unit=period_index(df["ts"], unit, tz))
    refund = df["amt"] < 0
    purchases = df[~refund]
    obs_idx = int(period_index(pd.Series([obs_end]), unit, tz)[0])
    end = cal_end if cal_end is not None else obs_end
    end_idx = int(period_index(pd.Series([end]), unit, tz)[0])
    cal = purchases[purchases["ts"] <= end]
    if cal.empty:
        raise DataError(f"no purchase (amount >= 0) on or before {end}; nothing to summarise.")
    per_unit = cal.groupby(["cid", "unit"], sort=True)["amt"].sum(min_count=1).reset_index()
    g = per_unit.groupby("cid", sort=True)
    first = g["unit"].min()
    last = g["unit"].max()
    n_units = g["unit"].size()
    out = pd.DataFrame({
        customer_id: first.index.to_numpy(),
        "frequency": (n_units - 1).to_numpy(dtype="int64"),
        "recency": (last - first).to_numpy(dtype="float64"),
        "T": (end_idx - first).to_numpy(dtype="float64"),
    })
    per_unit["is_first"] = per_unit["unit"].to_numpy() == first.reindex(per_unit["cid"]).to_numpy()
    repeat = per_unit[~per_unit["is_first"]]
    mon = repeat.groupby("cid", sort=True)["amt"].mean()
    out["monetary_value"] = mon.reindex(first.index).to_numpy(dtype="float64") if amount is not None else np.nan
    if amount is None:
        out = out.drop(columns="monetary_value")
    else:
        ref = df[refund & (df["ts"] <= end)].groupby("cid")["amt"].sum()
        out["refunds"] = ref.reindex(first.index).fillna(0.0).to_numpy(dtype="float64")
    attrs: dict[str, Any] = {"time_unit": unit, "time_unit_name": FREQ_NAMES[unit], "tz": tz,
                             "observation_end": str(obs_end), "calibration_end": None}
    if cal_end is not None:
        hold = purchases[purchases["ts"] > cal_end]
        hold = hold[hold["cid"].isin(first.index)]
        hu = hold.groupby(["cid", "unit"], sort=True)["amt"].sum(min_count=1).reset_index()
        hg = hu.groupby("cid", sort=True)
        out["frequency_holdout"] = hg["unit"].size().reindex(first.index).fillna(0).to_numpy(dtype="int64")
        if amount is not None:
            out["monetary_value_holdout"] = hg["amt"].mean().reindex(first.index).to_numpy(dtype="float64")
        out["duration_holdout"] = float(obs_idx - end_idx)
        attrs["calibration_end"] = str(cal_end)
        newcomers = purchases.loc[purchases["ts"] > cal_end, "cid"]
        attrs["customers_first_seen_in_holdout"] = int(newcomers[~newcomers.isin(first.index)].nunique())
    out.attrs.update(attrs)
    return out


def _rfm_arrays(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        x = np.asarray(frequency, dtype="float64")
        tx = np.asarray(recency, dtype="float64")
        tt = np.asarray(T, dtype="float64")
        x, tx, tt = np.broadcast_arrays(x, tx, tt)
    except (TypeError, ValueError):
        raise ParameterError("frequency, recency and T must be numbers or numeric arrays of one length.") from None
    bad = (~np.isfinite(x) | ~np.isfinite(tx) | ~np.isfinite(tt) | (x < 0) | (x != np.floor(x)) | (tx < 0)
           | (tx > tt + 1e-9) | ((x == 0) & (tx != 0)) | ((x > 0) & (tx <= 0)))
    if np.any(bad):
        i = int(np.flatnonzero(np.atleast_1d(bad))[0])
        xi, ti, Ti = np.atleast_1d(x)[i], np.atleast_1d(tx)[i], np.atleast_1d(tt)[i]
        raise DataError(
            f"customer row {i}: frequency={xi:g}, recency={ti:g}, T={Ti:g} is impossible. Need a whole "
            "frequency >= 0, 0 <= recency <= T, recency = 0 exactly when frequency = 0 (use rfm_summary())."
        )
    return x, tx, tt


# --------------------------------------------------------------------------- BG/NBD
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
        t2 = np.where(x > 0, special.betaln(a + 1, np.maximum(b + x - 1, 1e-300)) - lbab
                      - (r + x) * np.log(alpha + tx), -np.inf)
    return ln_a1 + np.logaddexp(t1, t2)


class BetaGeoFitter:
    """BG/NBD model of repeat purchasing (Fader, Hardie & Lee 2005a; definitions §5).

    While alive, a customer purchases as a Poisson process with rate lambda;
    after every repeat purchase they become inactive for good with probability
    p. Across customers lambda ~ Gamma(r, alpha) (shape r, rate alpha) and
    p ~ Beta(a, b). Each customer contributes x (repeat purchases), t_x
    (recency) and T (time observed since the first purchase), all in one time
    unit (``time_unit_``), which is also the unit of lambda: r/alpha is the
    mean purchase rate *per time unit*.

    Fitted by maximum likelihood over (ln r, ln alpha, ln a, ln b); intervals
    from the observed information as for :class:`ShiftedBetaGeometric`.

    Attributes (after fit)
    ----------------------
    r_, alpha_, a_, b_ : float
    log_likelihood_ : float
    time_unit_ : str or None
    summary_ : pandas.DataFrame
        parameter, estimate, se, lower95, upper95, time_unit.
    n_customers_ : int
    """

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
        return (f"BetaGeoFitter(r={self.r_:.4g}, alpha={self.alpha_:.4g}, a={self.a_:.4g}, b={self.b_:.4g}, "
                f"time_unit={self.time_unit_!r})")

    @property
    def params_(self) -> dict[str, float]:
        _not_fitted(self, "r_")
        return {"r": self.r_, "alpha": self.alpha_, "a": self.a_, "b": self.b_}

    def fit(self, rfm: pd.DataFrame, *, frequency: str = "frequency", recency: str = "recency", T: str = "T",
            time_unit: str | None = None) -> "BetaGeoFitter":
        """Fit r, alpha, a, b by maximum likelihood (definitions §5; FHL 2005a).

        Parameters
        ----------
        rfm : pandas.DataFrame
            From :func:`rfm_summary` (or any frame with the three columns).
        frequency, recency, T : str
            Column names.
        time_unit : str, optional
            Time unit of the columns; default ``rfm.attrs["time_unit"]``.

        Returns
        -------
        self
        """
        if not isinstance(rfm, pd.DataFrame):
            raise ParameterError(f"rfm must be a DataFrame from rfm_summary(), not {type(rfm).__name__}.")
        for col in (frequency, recency, T):
            if col not in rfm.columns:
                raise DataError(f"column '{col}' not in rfm (columns: {list(rfm.columns)}); use rfm_summary().")
        x, tx, tt = _rfm_arrays(rfm[frequency], rfm[recency], rfm[T])
        if x.size == 0:
            raise DataError("rfm has no customers.")
        if not np.any(x > 0):
            raise ConvergenceError("BetaGeoFitter: no customer made a repeat purchase; the model cannot be fitted. "
                                   + _BG_ADVICE)
        # compress identical (x, t_x, T) rows
        keys = pd.DataFrame({"x": x, "tx": tx, "T": tt}).value_counts().reset_index(name="w")
        xx, txx, TT, w = (keys[c].to_numpy(dtype="float64") for c in ("x", "tx", "T", "w"))

        def nll(p):
            r, al, a, b = np.exp(p)
            return -float(np.sum(w * _bgnbd_loglik_terms(r, al, a, b, xx, txx, TT)))

        scale = float(np.mean(tt)) if np.mean(tt) > 0 else 1.0
        starts = [(0.0, math.log(scale), 0.0, 0.0), (math.log(0.5), math.log(scale / 4 + 1e-9), math.log(0.5),
                                                     math.log(2.0))]
        mle = _fit_log_mle(nll, starts, model="BetaGeoFitter", names=("r", "alpha", "a", "b"), advice=_BG_ADVICE,
                           bound=14.0)
        self.r_, self.alpha_, self.a_, self.b_ = (float(v) for v in np.exp(mle.log_params))
        self.log_likelihood_ = -float(mle.nll)
        self.time_unit_ = time_unit if time_unit is not None else rfm.attrs.get("time_unit")
        self.summary_ = _summary_frame(("r", "alpha", "a", "b"), mle, self.time_unit_ or "unspecified")
        self.n_customers_ = int(x.size)
        return self

    def log_likelihood(self, frequency, recency, T) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters (FHL 2005a, eq. 6)."""
        _not_fitted(self, "r_")
        x, tx, tt = _rfm_arrays(frequency, recency, T)
        return _bgnbd_loglik_terms(self.r_, self.alpha_, self.a_, self.b_, x, tx, tt)

    def expected_purchases_new(self, t):
        """E[X(t)]: expected purchases in (0, t] of a new, randomly chosen customer (FHL 2005a, eq. 7).

        E[X(t)] = (a+b-1)/(a-1) [1 - (alpha/(alpha+t))^r 2F1(r, b; a+b-1; t/(alpha+t))]
        ``t`` is in ``time_unit_``.
        """
        _not_fitted(self, "r_")
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
        _not_fitted(self, "r_")
        x, tx, tt = _rfm_arrays(frequency, recency, T)
        r, al, a, b = self.r_, self.alpha_, self.a_, self.b_
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_ratio = np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + (r + x) * (
                np.log(al + tt) - np.log(al + tx))
            out = np.where(x > 0, 1.0 / (1.0 + np.exp(log_ratio)), 1.0)
        return float(out) if out.ndim == 0 else out

    def expected_purchases(self, t, frequency, recency, T):
        """E[Y(t) | x, t_x, T]: expected purchases in (T, T + t] (FHL 2005a, eq. 10).

        ``t`` is in ``time_unit_``; arrays broadcast.
        """
        _not_fitted(self, "r_")
        x, tx, tt = _rfm_arrays(frequency, recency, T)
        t = np.asarray(t, dtype="float64")
        if np.any(t < 0) or not np.all(np.isfinite(t)):
            raise ParameterError(f"t={t!r} must be >= 0.")
        r, al, a, b = self.r_, self.alpha_, self.a_, self.b_
        z = t / (al + tt + t)
        hyp = special.hyp2f1(r + x, b + x, a + b + x - 1, z)
        num = (a + b + x - 1) / (a - 1) * (1 - ((al + tt) / (al + tt + t)) ** (r + x) * hyp)
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_ratio = np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + (r + x) * (
                np.log(al + tt) - np.log(al + tx))
            den = np.where(x > 0, 1.0 + np.exp(log_ratio), 1.0)
        out = num / den
        return float(out) if np.ndim(out) == 0 else out


#: Short alias.
BGNBD = BetaGeoFitter


# --------------------------------------------------------------------------- Gamma-Gamma
def _gg_loglik_terms(p, q, v, x, m) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean spend m of x purchases (FHL 2005b)."""
    return (special.gammaln(p * x + q) - special.gammaln(p * x) - special.gammaln(q) + q * np.log(v)
            + (p * x - 1) * np.log(m) + p * x * np.log(x) - (p * x + q) * np.log(v + x * m))


class GammaGamma:
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
    """

    def __init__(self) -> None:
        self.p_: float | None = None
        self.q_: float | None = None
        self.v_: float | None = None
        self.log_likelihood_: float | None = None
        self.summary_: pd.DataFrame | None = None
        self.n_customers_: int | None = None

    def __repr__(self) -> str:
        if self.p_ is None:
            return "GammaGamma(unfitted)"
        return f"GammaGamma(p={self.p_:.4g}, q={self.q_:.4g}, v={self.v_:.4g})"

    def fit(self, frequency, monetary) -> "GammaGamma":
        """Fit p, q, v by maximum likelihood (FHL 2005b).

        Parameters
        ----------
        frequency : array-like
            Repeat purchases x per customer; customers with x = 0 are skipped.
        monetary : array-like
            Mean repeat spend m_x (> 0) per customer.

        Returns
        -------
        self
        """
        x = np.asarray(frequency, dtype="float64")
        m = np.asarray(monetary, dtype="float64")
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
                f"GammaGamma: only {x.size} customer(s) with repeat purchases and known spend; need many more.")

        def nll(pp):
            p, q, v = np.exp(pp)
            return -float(np.sum(_gg_loglik_terms(p, q, v, x, m)))

        mean_m = float(np.mean(m))
        starts = [(0.0, math.log(2.0), math.log(mean_m)), (math.log(5.0), math.log(4.0), math.log(2 * mean_m))]
        mle = _fit_log_mle(nll, starts, model="GammaGamma", names=("p", "q", "v"), bound=18.0,
                           advice="Check that monetary values are per-transaction means of positive amounts and "
                                  "that enough customers have repeat purchases.")
        self.p_, self.q_, self.v_ = (float(z) for z in np.exp(mle.log_params))
        self.log_likelihood_ = -float(mle.nll)
        self.summary_ = _summary_frame(("p", "q", "v"), mle)
        self.n_customers_ = int(x.size)
        if self.q_ <= 1:
            raise ConvergenceError(
                f"GammaGamma: q = {self.q_:.3g} <= 1, so the population mean spend p v / (q - 1) is undefined. "
                "Spend is too heavy-tailed for this model; cap outliers or use a simpler mean-spend estimate.")
        return self

    def expected_spend(self, frequency, monetary):
        """E[M | x, m_x] = (p (v + x m_x)) / (p x + q - 1) (FHL 2005b; definitions §5).

        A weighted mean of the population mean p v / (q - 1) and the customer's
        own m_x, weight on m_x growing with x. For x = 0 (or unknown m_x) it is
        the population mean.
        """
        _not_fitted(self, "p_")
        x = np.asarray(frequency, dtype="float64")
        m = np.asarray(monetary, dtype="float64")
        m = np.where((x > 0) & np.isfinite(m), m, 0.0)
        x = np.where(np.isfinite(np.asarray(monetary, dtype="float64")), x, 0.0)
        out = self.p_ * (self.v_ + x * m) / (self.p_ * x + self.q_ - 1)
        return float(out) if np.ndim(out) == 0 else out

    def log_likelihood(self, frequency, monetary) -> np.ndarray:
        """Per-customer log-likelihood at the fitted parameters."""
        _not_fitted(self, "p_")
        return _gg_loglik_terms(self.p_, self.q_, self.v_, np.asarray(frequency, float), np.asarray(monetary, float))


# --------------------------------------------------------------------------- customer CLV
def _period_length(time_unit: Any, model_unit: str | None) -> float:
    if isinstance(time_unit, (int, float, np.integer, np.floating)) and not isinstance(time_unit, bool):
        length = float(time_unit)
        if not (math.isfinite(length) and length > 0):
            raise ParameterError(f"time_unit={time_unit!r} as a number must be a positive period length.")
        return length
    unit = check_freq(time_unit)
    if model_unit is None:
        raise ParameterError(
            "the BG/NBD model has no time unit (fit it on rfm_summary() output or pass time_unit= to fit); "
            "or give time_unit here as a number: the period length in the model's time unit."
        )
    return UNIT_DAYS[unit] / UNIT_DAYS[check_freq(model_unit)]


def customer_clv(
    bgnbd: BetaGeoFitter,
    gg: GammaGamma,
    rfm: pd.DataFrame,
    *,
    horizon: int = 12,
    discount_rate: float = 0.01,
    margin: float = 1.0,
    time_unit: Any = "M",
    customer_id: str = "customer_id",
) -> pd.DataFrame:
    """Per-customer discounted CLV from BG/NBD + Gamma-Gamma (FHL 2005b; definitions §5).

    Timing convention: the future is cut into ``horizon`` periods of length
    ``time_unit`` starting at each customer's T (the end of the window);
    purchases expected in period i (i = 1..H) are valued at the end of that
    period::

        CLV = margin * E[M | x, m_x] * sum_{i=1..H} (E[Y(i L)] - E[Y((i-1) L)]) / (1 + d)^i

    where E[Y(t)] = expected purchases in (T, T + t] given (x, t_x, T) and L
    the period length in the model's time unit (a month is 365.2425/12 days).

    Parameters
    ----------
    bgnbd : BetaGeoFitter
        Fitted.
    gg : GammaGamma
        Fitted.
    rfm : pandas.DataFrame
        frequency, recency, T and monetary_value per customer (rfm_summary()).
    horizon : int
        Number of future periods H.
    discount_rate : float
        Discount rate d per period of ``time_unit`` (0.01 per month ~ 12.7 % a year).
    margin : float
        Profit margin fraction applied to spend.
    time_unit : {"D", "W", "M", "Q", "Y"} or float
        Period of discounting, or its length in the model's time unit.
    customer_id : str
        Id column copied to the result when present.

    Returns
    -------
    pandas.DataFrame
        Per customer (rfm order): the id (if present), ``expected_purchases``
        (over the horizon), ``expected_spend`` (per purchase), ``probability_alive``
        and ``clv``. ``attrs``: horizon, time_unit, discount_rate, margin,
        model_time_unit.
    """
    _not_fitted(bgnbd, "r_")
    _not_fitted(gg, "p_")
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ParameterError(f"horizon={horizon!r} must be a whole number of periods >= 1.")
    d = _check_discount(discount_rate)
    mg = _finite_number("margin", margin)
    length = _period_length(time_unit, bgnbd.time_unit_)
    for col in ("frequency", "recency", "T", "monetary_value"):
        if col not in rfm.columns:
            raise DataError(f"rfm lacks column '{col}'; build it with rfm_summary(..., amount=...).")
    x, tx, tt = _rfm_arrays(rfm["frequency"], rfm["recency"], rfm["T"])
    spend = np.asarray(gg.expected_spend(x, rfm["monetary_value"].to_numpy(dtype="float64")), dtype="float64")
    prev = np.zeros_like(x)
    disc_purchases = np.zeros_like(x)
    for i in range(1, int(horizon) + 1):
        cum = np.asarray(bgnbd.expected_purchases(i * length, x, tx, tt), dtype="float64")
        disc_purchases += (cum - prev) / (1.0 + d) ** i
        prev = cum
    out = pd.DataFrame(index=rfm.index)
    if customer_id in rfm.columns:
        out[customer_id] = rfm[customer_id].to_numpy()
    out["expected_purchases"] = prev
    out["expected_spend"] = spend
    out["probability_alive"] = np.asarray(bgnbd.probability_alive(x, tx, tt), dtype="float64")
    out["clv"] = mg * spend * disc_purchases
    out.attrs.update({"horizon": int(horizon), "time_unit": time_unit, "discount_rate": d, "margin": mg,
                      "model_time_unit": bgnbd.time_unit_, "period_length_in_model_units": length})
    return out
