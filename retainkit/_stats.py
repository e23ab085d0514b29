"""Small statistical helpers shared by the metric modules."""

from __future__ import annotations

import numpy as np

#: two-sided 95 % normal quantile
Z95 = 1.959963984540054


def wilson_interval(successes, trials, z: float = Z95):
    """Wilson score interval for a proportion (definitions §3 "Uncertainty").

    Vectorised over numpy arrays / pandas Series. Where ``trials == 0`` both
    bounds are NaN (the rate is undefined, never 0 or 1).

    Returns
    -------
    (lo, hi) : tuple of float arrays
    """
    k = np.asarray(successes, dtype="float64")
    n = np.asarray(trials, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        p = k / n
        z2 = z * z
        denom = 1.0 + z2 / n
        centre = (p + z2 / (2 * n)) / denom
        half = z * np.sqrt(p * (1 - p) / n + z2 / (4 * n * n)) / denom
        lo = np.where(n > 0, np.where(k <= 0, 0.0, np.clip(centre - half, 0.0, 1.0)), np.nan)
        hi = np.where(n > 0, np.where(k >= n, 1.0, np.clip(centre + half, 0.0, 1.0)), np.nan)
    return lo, hi


def safe_ratio(num, den):
    """num / den with NaN (not inf, not 0) where den == 0."""
    num = np.asarray(num, dtype="float64")
    den = np.asarray(den, dtype="float64")
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den != 0, num / np.where(den != 0, den, 1.0), np.nan)
