"""Closed-form and observed lifetime value (definitions §5 "Simple margin multiple", §3 "Revenue").

* :func:`clv_margin_multiple`: CLV under constant retention.
* :func:`clv_horizon`: the value of a customer active now over a stated
  horizon in years, independent of the period length.
* :func:`empirical_clv`: the observed, margin-adjusted and discounted
  cumulative value per customer by cohort age, from a cohort table.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from .._deprecation import renamed_attribute
from ..exceptions import DataError, ParameterError
from .base import check_discount, check_timing, finite_number, segment_columns


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
        Constant per-period retention probability, 0 <= r <= 1 (r = 1: nobody
        ever leaves, still finite when discounting, d > 0).
    discount_rate : float or array-like
        Discount rate per period, d > -1 (d >= 0 in practice). The series
        converges exactly when 1 + d - r > 0.
    timing : {"end", "start"}
        Payment timing, see above.

    Returns
    -------
    float or numpy.ndarray
        The CLV in the currency of ``margin`` (a float for scalar inputs).

    Raises
    ------
    ParameterError
        For r outside [0, 1], d <= -1, non-finite inputs or 1 + d - r <= 0
        (the value is infinite).
    """
    timing = check_timing(timing)
    try:
        m = np.asarray(margin, dtype="float64")
        r = np.asarray(retention, dtype="float64")
        d = np.asarray(discount_rate, dtype="float64")
    except (TypeError, ValueError):
        raise ParameterError("margin, retention and discount_rate must be numbers or numeric arrays.") from None
    for name, arr in (("margin", m), ("retention", r), ("discount_rate", d)):
        if not np.all(np.isfinite(arr)):
            raise ParameterError(f"{name} must be finite; got {arr.tolist()!r}.")
    if np.any((r < 0) | (r > 1)):
        raise ParameterError(f"retention={retention!r} must satisfy 0 <= r <= 1 (a per-period probability).")
    if np.any(d <= -1):
        raise ParameterError(f"discount_rate={discount_rate!r} must be greater than -1.")
    denom = 1.0 + d - r
    if np.any(denom <= 0):
        raise ParameterError(
            f"1 + discount_rate - retention must be positive for the discounted sum to converge "
            f"(discount_rate={discount_rate!r}, retention={retention!r}); otherwise the value is infinite."
        )
    out = m * r / denom if timing == "end" else m * (1.0 + d) / denom
    return float(out) if out.ndim == 0 else out


@dataclass(frozen=True)
class EmpiricalCLV:
    """Result of :func:`empirical_clv`.

    Attributes
    ----------
    table : pandas.DataFrame
        One row per observed (segments..., cohort, age): ``size``,
        ``revenue``, ``value`` (margin x revenue at that age, discounted to
        age 0, per customer of the cohort) and ``clv`` (cumulative ``value``
        up to and including that age).
    summary : pandas.DataFrame
        The average curve, one row per (segments..., age): ``cohorts`` (how
        many cohorts are observed at that age), ``customers`` (their total
        size) and ``clv`` (the size-weighted average of the cohorts' ``clv``).
    margin, discount_rate : float
    by_cohort, average : pandas.DataFrame
        Deprecated spellings of ``table`` and ``summary`` (a
        DeprecationWarning; removed in the next release).
    """

    table: pd.DataFrame
    summary: pd.DataFrame
    margin: float
    discount_rate: float

    by_cohort = renamed_attribute("EmpiricalCLV", "by_cohort", "table")
    average = renamed_attribute("EmpiricalCLV", "average", "summary")


def clv_horizon(
    margin_per_period,
    retention_per_period,
    yearly_discount_rate,
    *,
    periods_per_year: float,
    horizon_years: float = 3.0,
) -> float:
    """Value of a customer active now over a stated horizon, whatever the period length (definitions §5.6).

    The year is cut into ``periods_per_year`` periods of length L. A customer
    active now is still active after t periods with probability r^t; while
    active they bring the margin m per period, earned evenly through the
    period, so each period's margin is valued at its middle (survival and
    discounting at t = i - 1/2)::

        CLV_H = sum_{i=1..n} m r^(i-1/2) / (1+d)^(i-1/2),   n = round(H x periods per year)
        d     = (1 + D)^(1 / periods per year) - 1            (D: the yearly discount rate)

    Measured per period, m grows with L and r shrinks with L (r_L ~ r_year^L);
    valuing at mid-period makes the sum the midpoint rule of the continuous
    integral, so monthly and quarterly inputs from the same data give the same
    value up to discretisation (unlike ``clv_margin_multiple``, whose
    end-of-period timing loses the first period's margin of every leaver).

    Parameters
    ----------
    margin_per_period : float
        m: margin per active customer per period (currency).
    retention_per_period : float
        r: share of the active customers still active one period later, 0 <= r <= 1.
    yearly_discount_rate : float
        D > -1, a yearly rate.
    periods_per_year : float
        12 for months, 4 for quarters, 52 for weeks, 365 for days, 1 for years.
    horizon_years : float
        H, the horizon in years (default 3); n = round(H x periods_per_year) periods.

    Returns
    -------
    float
        CLV over the horizon in the currency of ``m`` (NaN when an input is NaN).
    """
    if any(
        isinstance(v, (int, float, np.floating)) and math.isnan(v) for v in (margin_per_period, retention_per_period)
    ):
        return float("nan")
    m = finite_number("margin_per_period", margin_per_period)
    r = finite_number("retention_per_period", retention_per_period)
    if not 0.0 <= r <= 1.0:
        raise ParameterError(f"retention_per_period={r!r} must be between 0 and 1.")
    ppy = finite_number("periods_per_year", periods_per_year)
    hy = finite_number("horizon_years", horizon_years)
    if ppy <= 0 or hy <= 0:
        raise ParameterError(f"periods_per_year={ppy!r} and horizon_years={hy!r} must be > 0.")
    d = (1.0 + check_discount(yearly_discount_rate)) ** (1.0 / ppy) - 1.0
    n = max(1, int(round(hy * ppy)))
    q = r / (1.0 + d)
    if q == 0.0:
        return 0.0
    # closed form of the sum: m q^(1/2) (1 - q^n) / (1 - q)
    total = n if q == 1.0 else (1.0 - q**n) / (1.0 - q)
    return float(m * math.sqrt(q) * total)


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
        ``table`` (one row per cohort and age) and ``summary`` (the average
        curve) frames (see :class:`EmpiricalCLV`).
        Both carry ``attrs`` with margin, discount_rate and the table's freq.
    """
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"table must be a pandas DataFrame (a cohort table), not {type(table).__name__}.")
    missing = [c for c in ("cohort", "age", "size", "revenue") if c not in table.columns]
    if missing:
        hint = (
            " The cohort table has no revenue: load the data with an amount column, "
            "load_transactions(..., amount='<column>')."
            if missing == ["revenue"]
            else ""
        )
        raise DataError(f"table lacks column(s) {missing}; it needs cohort, age, size and revenue.{hint}")
    m = finite_number("margin", margin)
    if m < 0:
        raise ParameterError(f"margin={margin!r} must be >= 0 (a fraction of revenue, e.g. 0.3 for 30 %).")
    d = check_discount(discount_rate)
    seg = segment_columns(table)
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
        raise DataError(
            "table has negative ages or non-positive cohort sizes; pass a cohort table from cohort_table()."
        )
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
    return EmpiricalCLV(table=df, summary=avg, margin=m, discount_rate=d)


__all__ = ["EmpiricalCLV", "clv_margin_multiple", "empirical_clv"]
