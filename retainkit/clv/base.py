"""The shared fitter base of the CLV models: maximum likelihood on the log scale, checks, summaries.

Every fitter (:class:`~retainkit.clv.ShiftedBetaGeoFitter`,
:class:`~retainkit.clv.BetaGeoFitter`, :class:`~retainkit.clv.GammaGammaFitter`)
follows one shape (definitions §5): ``fit`` returns ``self``; fitted values
end in an underscore (``alpha_``, ``log_likelihood_``); ``params_`` is a dict
of the estimates and ``summary_`` a DataFrame (parameter, estimate, se,
lower95, upper95); a fit without a finite maximum raises
:class:`~retainkit.exceptions.ConvergenceError` saying what to try.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from scipy import optimize

from .._stats import Z95
from ..exceptions import ConvergenceError, DataError, ParameterError


def finite_number(name: str, value: Any) -> float:
    try:
        out = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={value!r} must be a number.") from None
    if not math.isfinite(out):
        raise ParameterError(f"{name}={value!r} must be a finite number.")
    return out


def check_discount(discount_rate: Any) -> float:
    d = finite_number("discount_rate", discount_rate)
    if d <= -1.0:
        raise ParameterError(
            f"discount_rate={discount_rate!r} must be greater than -1 (it is a rate per period: "
            "0.1 means 10 %, 0 means no discounting)."
        )
    return d


def check_timing(timing: str) -> str:
    if timing not in ("end", "start"):
        raise ParameterError(f"timing={timing!r} must be 'end' or 'start' (see the docstring for the conventions).")
    return timing


def segment_columns(table: pd.DataFrame) -> list[str]:
    by = table.attrs.get("by")
    if by is not None:
        return [c for c in by if c in table.columns]
    return list(table.columns[: list(table.columns).index("cohort")])


def numerical_hessian(f: Callable[[np.ndarray], float], x: np.ndarray, step: float = 1e-4) -> np.ndarray:
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
class MLEResult:
    log_params: np.ndarray
    nll: float
    cov_log: np.ndarray


def fit_log_mle(
    nll: Callable[[np.ndarray], float],
    starts: Sequence[Sequence[float]],
    *,
    model: str,
    names: Sequence[str],
    advice: str,
    bound: float = 9.0,
) -> MLEResult:
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

        r1 = optimize.minimize(
            scaled, x0, method="Nelder-Mead", options={"xatol": 1e-6, "fatol": 1e-10, "maxiter": 20000, "maxfev": 40000}
        )
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
    hess = numerical_hessian(safe, x)
    cov = np.full_like(hess, np.nan)
    if np.all(np.isfinite(hess)):
        try:
            c = np.linalg.inv(hess)
            if np.all(np.diag(c) > 0):
                cov = c
        except np.linalg.LinAlgError:
            pass
    return MLEResult(log_params=x, nll=fx, cov_log=cov)


def summary_frame(names: Sequence[str], mle: MLEResult, time_unit: str | None = None) -> pd.DataFrame:
    est = np.exp(mle.log_params)
    se_log = np.sqrt(np.diag(mle.cov_log))
    out = pd.DataFrame(
        {
            "parameter": list(names),
            "estimate": est,
            "se": est * se_log,  # delta method
            "lower95": np.exp(mle.log_params - Z95 * se_log),
            "upper95": np.exp(mle.log_params + Z95 * se_log),
        }
    )
    if time_unit is not None:
        out["time_unit"] = time_unit
    return out


def check_fitted(obj: Any, attr: str) -> None:
    """Raise ParameterError when ``obj`` has no fitted ``attr`` yet."""
    if getattr(obj, attr, None) is None:
        raise ParameterError(f"this {type(obj).__name__} is not fitted yet; call .fit(...) first.")


def rfm_arrays(frequency, recency, T) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    try:
        x = np.asarray(frequency, dtype="float64")
        tx = np.asarray(recency, dtype="float64")
        tt = np.asarray(T, dtype="float64")
        x, tx, tt = np.broadcast_arrays(x, tx, tt)
    except (TypeError, ValueError):
        raise ParameterError("frequency, recency and T must be numbers or numeric arrays of one length.") from None
    bad = (
        ~np.isfinite(x)
        | ~np.isfinite(tx)
        | ~np.isfinite(tt)
        | (x < 0)
        | (x != np.floor(x))
        | (tx < 0)
        | (tx > tt + 1e-9)
        | ((x == 0) & (tx != 0))
        | ((x > 0) & (tx <= 0))
    )
    if np.any(bad):
        i = int(np.flatnonzero(np.atleast_1d(bad))[0])
        xi, ti, Ti = np.atleast_1d(x)[i], np.atleast_1d(tx)[i], np.atleast_1d(tt)[i]
        raise DataError(
            f"customer row {i}: frequency={xi:g}, recency={ti:g}, T={Ti:g} is impossible. Need a whole "
            "frequency >= 0, 0 <= recency <= T, recency = 0 exactly when frequency = 0 (use rfm_summary())."
        )
    return x, tx, tt


class Fitter:
    """Base class of the CLV fitters: ``params_`` from the fitted ``<name>_`` attributes.

    Subclasses list their parameter names in ``param_names``; ``fit`` sets
    ``<name>_`` for each, ``log_likelihood_`` and ``summary_``, and returns
    ``self``.
    """

    param_names: ClassVar[tuple[str, ...]] = ()

    @property
    def params_(self) -> dict[str, float]:
        """The fitted parameters, name -> estimate (ParameterError before ``fit``)."""
        check_fitted(self, f"{self.param_names[0]}_")
        return {name: getattr(self, f"{name}_") for name in self.param_names}


__all__ = [
    "Fitter",
    "MLEResult",
    "check_discount",
    "check_fitted",
    "check_timing",
    "finite_number",
    "fit_log_mle",
    "numerical_hessian",
    "rfm_arrays",
    "segment_columns",
    "summary_frame",
]
