"""Retention economics: how a retention lift moves customer profit (the "5 %" lesson).

A lifecycle profit model in the spirit of Reichheld & Sasser (1990), "Zero
Defections: Quality Comes to Services", *Harvard Business Review* 68(5),
105-111. Their argument: a customer's yearly profit grows with tenure (base
profit, increased purchases, lower cost to serve, referrals, price premium),
while the acquisition cost is paid once, so keeping customers longer raises
the net present value (NPV) of a customer more than proportionally. Their
exhibit reported that reducing defections by 5 percentage points raised the
NPV of the average customer's profit stream by roughly 25 % to 85 % in the
industries they studied; the later, widely repeated version "+5 % retention
-> +25 % to +95 % profit" comes from subsequent Bain & Company writing (e.g.
Reichheld & Schefter 2000, "E-Loyalty", HBR). Those are case figures, not a
law: the increase depends on the base retention rate, how steeply profit
grows with tenure, the acquisition cost, the discount rate and the horizon,
and whether keeping the extra customers costs anything. This module computes
the increase from explicit parameters and never assumes the answer;
:func:`five_percent_claim_grid` shows where the quoted range holds and where
it does not. Likewise "acquiring a customer costs about five times as much as
retaining one" is an often-quoted rule of thumb; here it is only the optional
parameter ``acquisition_to_retention_cost_ratio``.

Conventions (used by every function here; definitions §5 "Simple margin
multiple" for the constant-retention logic):

* A cohort is acquired at the start of year 1 for ``acquisition_cost`` each,
  booked at t = 0 (not discounted).
* A customer is present in tenure year t (t = 1..H) with probability
  S(t) = r^(t-1) (they are there in year 1 by definition; retention r is the
  share of the customers of one year still there the next year).
* The profit of year t is booked at the end of year t and discounted by
  (1 + d)^t.
* ``retention_lift`` is in percentage points: retention 0.80 with lift 0.05
  becomes 0.85 (defections fall from 20 % to 15 %, as in Reichheld & Sasser).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ._deprecation import metrics_summary, renamed_kwargs
from .exceptions import ParameterError

__all__ = [
    "CLAIMED_RANGE",
    "REICHHELD_SASSER_RANGE",
    "ProfitImpact",
    "five_percent_claim_grid",
    "lifecycle_profit",
    "retention_profit_impact",
]

#: The range usually quoted for "+5 points of retention" (percent profit increase): the "25 % to 95 %"
#: wording of later Bain & Company material (e.g. Reichheld & Schefter 2000).
CLAIMED_RANGE = (25.0, 95.0)
#: What Reichheld & Sasser (1990) reported: reducing defections by 5 percentage points raised the
#: NPV of a customer's profit stream by 25 % to 85 % across the service businesses they studied.
REICHHELD_SASSER_RANGE = (25.0, 85.0)


def _num(
    name: str, value, *, lo: float | None = None, hi: float | None = None, lo_open: bool = False, hi_open: bool = False
) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={value!r} must be a number.") from None
    if not math.isfinite(v):
        raise ParameterError(f"{name}={value!r} must be finite.")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise ParameterError(f"{name}={value!r} must be {'>' if lo_open else '>='} {lo}.")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise ParameterError(f"{name}={value!r} must be {'<' if hi_open else '<='} {hi}.")
    return v


@renamed_kwargs(base_margin="margin")
def lifecycle_profit(
    *,
    retention: float,
    acquisition_cost: float,
    margin: float,
    margin_growth: float = 0.0,
    cost_to_serve: float = 0.0,
    cost_to_serve_decline: float = 0.0,
    referral_rate: float = 0.0,
    referral_value: float | None = None,
    discount_rate: float = 0.10,
    horizon: int = 20,
    customers: float = 1.0,
    retention_cost_per_saved_customer: float = 0.0,
    retention_lift: float = 0.0,
    scenario: str = "",
) -> pd.DataFrame:
    """Year-by-year expected profit of one acquired cohort (Reichheld & Sasser 1990 lifecycle; definitions §5).

    Profit of a customer who is present in tenure year t (t = 1..H)::

        profit(t) = margin (1 + margin_growth)^(t-1)                # base + increased purchases
                    - cost_to_serve (1 - cost_to_serve_decline)^(t-1)  # cheaper to serve over time
                    + referral_rate * referral_value                 # referrals

    decomposed as ``base_profit`` = margin - cost_to_serve (year-1
    profit), ``growth_profit``, ``cost_savings`` (versus the year-1 cost) and
    ``referral_profit``. Expected profit per acquired customer in year t is
    S(t) profit(t) - retention_cost(t) with S(t) = r^(t-1), where
    ``retention_cost(t)`` = retention_lift x S(t-1) x
    ``retention_cost_per_saved_customer`` for t >= 2 (the customers of year
    t-1 who stay only thanks to the lift, each costing that much to keep).
    Year 0 carries the acquisition cost. Discounting: year t by (1+d)^t.

    Parameters
    ----------
    retention : float
        Yearly retention r in [0, 1].
    acquisition_cost : float
        Cost of acquiring one customer (>= 0), paid at t = 0.
    margin : float
        Gross margin of a customer in year 1 (before the cost to serve);
        ``base_margin=`` is its deprecated spelling.
    margin_growth : float
        Yearly growth of the margin with tenure (0.1 = +10 % a year; > -1).
    cost_to_serve : float
        Yearly cost of serving a customer in year 1 (>= 0).
    cost_to_serve_decline : float
        Yearly fractional decline of the cost to serve, in [0, 1].
    referral_rate : float
        Expected new customers referred per customer-year (>= 0).
    referral_value : float, optional
        Profit of one referral; default ``acquisition_cost`` (the acquisition
        spend the referral saves).
    discount_rate : float
        Yearly discount rate d > -1.
    horizon : int
        H >= 1 years of tenure counted.
    customers : float
        Size of the acquired cohort; scales the ``total_*`` columns.
    retention_cost_per_saved_customer : float
        Cost of keeping one customer who would otherwise have left (>= 0).
    retention_lift : float
        Only used for the retention cost (see above).
    scenario : str
        Label copied into the ``scenario`` column.

    Returns
    -------
    pandas.DataFrame
        Rows year = 0..H with columns ``scenario``, ``year``, ``retention``,
        ``survival`` (S(t); 1 at year 0), ``base_profit``, ``growth_profit``,
        ``cost_savings``, ``referral_profit``, ``profit_if_active``,
        ``retention_cost``, ``expected_profit`` (per acquired customer;
        -acquisition_cost at year 0), ``discount_factor``,
        ``discounted_profit``, ``cumulative_npv`` (per acquired customer),
        ``active_customers`` (customers x S(t)) and ``total_profit``
        (customers x expected_profit).
    """
    r = _num("retention", retention, lo=0.0, hi=1.0)
    acq = _num("acquisition_cost", acquisition_cost, lo=0.0)
    m0 = _num("margin", margin)
    g = _num("margin_growth", margin_growth, lo=-1.0, lo_open=True)
    c0 = _num("cost_to_serve", cost_to_serve, lo=0.0)
    cd = _num("cost_to_serve_decline", cost_to_serve_decline, lo=0.0, hi=1.0)
    ref = _num("referral_rate", referral_rate, lo=0.0)
    rv = acq if referral_value is None else _num("referral_value", referral_value)
    d = _num("discount_rate", discount_rate, lo=-1.0, lo_open=True)
    n = _num("customers", customers, lo=0.0)
    rc = _num("retention_cost_per_saved_customer", retention_cost_per_saved_customer, lo=0.0)
    lift = _num("retention_lift", retention_lift, lo=0.0, hi=1.0)
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ParameterError(f"horizon={horizon!r} must be a whole number of years >= 1.")
    t = np.arange(1, int(horizon) + 1, dtype="float64")
    survival = r ** (t - 1)
    base = np.full_like(t, m0 - c0)
    growth = m0 * ((1 + g) ** (t - 1) - 1)
    savings = c0 * (1 - (1 - cd) ** (t - 1))
    referral = np.full_like(t, ref * rv)
    profit = base + growth + savings + referral
    prev_survival = np.r_[0.0, survival[:-1]]  # S(t-1); no saved customers in year 1
    ret_cost = lift * prev_survival * rc
    expected = survival * profit - ret_cost
    disc = (1 + d) ** -t
    years = np.r_[0, t].astype("int64")
    frame = pd.DataFrame(
        {
            "scenario": scenario,
            "year": years,
            "retention": r,
            "survival": np.r_[1.0, survival],
            "base_profit": np.r_[0.0, base],
            "growth_profit": np.r_[0.0, growth],
            "cost_savings": np.r_[0.0, savings],
            "referral_profit": np.r_[0.0, referral],
            "profit_if_active": np.r_[0.0, profit],
            "retention_cost": np.r_[0.0, ret_cost],
            "expected_profit": np.r_[-acq, expected],
            "discount_factor": np.r_[1.0, disc],
        }
    )
    frame["discounted_profit"] = frame["expected_profit"] * frame["discount_factor"]
    frame["cumulative_npv"] = frame["discounted_profit"].cumsum()
    frame["active_customers"] = n * frame["survival"]
    frame.loc[0, "active_customers"] = n
    frame["total_profit"] = n * frame["expected_profit"]
    return frame


@dataclass(frozen=True)
class ProfitImpact:
    """Result of :func:`retention_profit_impact`.

    Attributes
    ----------
    table : pandas.DataFrame
        Year-by-year rows of both scenarios ("before", "after"), columns as in
        :func:`lifecycle_profit`.
    metrics : dict
        The headline figures by name: retention_before, retention_after,
        npv_before, npv_after (per acquired customer), npv_increase,
        profit_increase_pct (100 x increase / NPV before; NaN when the NPV
        before is <= 0, where a percentage means nothing), total_npv_before,
        total_npv_after (x customers), expected_years_before / _after
        (expected tenure within the horizon),
        retention_cost_per_saved_customer, in_claimed_range (25 <= pct <= 95).
    summary : pandas.DataFrame
        The same figures as a tidy frame: ``metric``, ``value``. For one
        release ``summary["npv_after"]`` still works with a DeprecationWarning
        (``summary`` was a Series; its values are now in ``metrics``).
    """

    table: pd.DataFrame
    metrics: dict[str, Any]

    @property
    def summary(self) -> pd.DataFrame:
        """The headline figures as a tidy frame (``metric``, ``value``); see :attr:`metrics`."""
        return metrics_summary(self.metrics, "ProfitImpact")

    def _repr_html_(self) -> str:  # pragma: no cover - display only
        return pd.DataFrame(self.summary).to_html(index=False, escape=True)


@renamed_kwargs(base_margin="margin")
def retention_profit_impact(
    *,
    retention: float = 0.80,
    retention_lift: float = 0.05,
    acquisition_cost: float = 50.0,
    margin: float = 30.0,
    margin_growth: float = 0.08,
    cost_to_serve: float = 0.0,
    cost_to_serve_decline: float = 0.0,
    referral_rate: float = 0.0,
    referral_value: float | None = None,
    discount_rate: float = 0.10,
    horizon: int = 20,
    customers: float = 1000.0,
    acquisition_to_retention_cost_ratio: float | None = None,
) -> ProfitImpact:
    """Customer NPV and cohort profit before and after a retention lift (Reichheld & Sasser 1990; definitions §5).

    Reproduces the *kind* of calculation behind "reduce defections by 5 points
    and profit rises 25 % to 85 %" (Reichheld & Sasser 1990, who compared the
    NPV of the average customer's profit stream at the current and at a 5
    points lower defection rate; the "25 % to 95 %" variant is later Bain
    writing). The result depends entirely on the parameters: the defaults are
    illustrative, not estimates. Assumptions, as in the original argument:
    retention is constant across tenure years (no sorting), profit per
    customer grows with tenure as specified, and the lift is free unless
    ``acquisition_to_retention_cost_ratio`` is given. Conventions: see the
    module docstring (year-1 profit certain, year t with probability
    r^(t-1), booked at year end, acquisition at t = 0).

    Parameters
    ----------
    retention : float
        Yearly retention before the lift, in [0, 1].
    retention_lift : float
        Increase in percentage points (0.05: 0.80 -> 0.85). retention +
        retention_lift must stay <= 1.
    acquisition_cost, margin, margin_growth, cost_to_serve, cost_to_serve_decline,
    referral_rate, referral_value, discount_rate, horizon, customers
        See :func:`lifecycle_profit`.
    acquisition_to_retention_cost_ratio : float, optional
        If given (e.g. the folklore 5.0), keeping a customer who would
        otherwise have left costs ``acquisition_cost / ratio``, charged in the
        "after" scenario on every saved customer (retention_lift x S(t-1) per
        year). Default None: the lift is free, the assumption behind the
        quoted figures.

    Returns
    -------
    ProfitImpact
        ``table`` (tidy, both scenarios, year 0..H), ``metrics`` (the headline
        figures by name) and ``summary`` (the same as a frame).

    Examples
    --------
    >>> res = retention_profit_impact(retention=0.8, retention_lift=0.05)
    >>> bool(res.metrics["npv_after"] > res.metrics["npv_before"])
    True
    """
    r0 = _num("retention", retention, lo=0.0, hi=1.0)
    lift = _num("retention_lift", retention_lift, lo=0.0)
    r1 = r0 + lift
    if r1 > 1.0 + 1e-12:
        raise ParameterError(
            f"retention + retention_lift = {r0} + {lift} = {r1:g} exceeds 1; retention_lift is in percentage "
            "points (0.05 = +5 points)."
        )
    r1 = min(r1, 1.0)
    acq = _num("acquisition_cost", acquisition_cost, lo=0.0)
    if acquisition_to_retention_cost_ratio is None:
        unit_cost = 0.0
    else:
        ratio = _num("acquisition_to_retention_cost_ratio", acquisition_to_retention_cost_ratio, lo=0.0, lo_open=True)
        unit_cost = acq / ratio
    common: dict[str, Any] = dict(
        acquisition_cost=acq,
        margin=margin,
        margin_growth=margin_growth,
        cost_to_serve=cost_to_serve,
        cost_to_serve_decline=cost_to_serve_decline,
        referral_rate=referral_rate,
        referral_value=referral_value,
        discount_rate=discount_rate,
        horizon=horizon,
        customers=customers,
    )
    before = lifecycle_profit(retention=r0, scenario="before", **common)
    after = lifecycle_profit(
        retention=r1, scenario="after", retention_cost_per_saved_customer=unit_cost, retention_lift=lift, **common
    )
    table = pd.concat([before, after], ignore_index=True)
    npv0 = float(before["discounted_profit"].sum())
    npv1 = float(after["discounted_profit"].sum())
    pct = 100.0 * (npv1 - npv0) / npv0 if npv0 > 0 else math.nan
    n = float(customers)
    metrics: dict[str, Any] = {
        "retention_before": r0,
        "retention_after": r1,
        "npv_before": npv0,
        "npv_after": npv1,
        "npv_increase": npv1 - npv0,
        "profit_increase_pct": pct,
        "total_npv_before": n * npv0,
        "total_npv_after": n * npv1,
        "expected_years_before": float(before["survival"].iloc[1:].sum()),
        "expected_years_after": float(after["survival"].iloc[1:].sum()),
        "retention_cost_per_saved_customer": unit_cost,
        "in_claimed_range": bool(CLAIMED_RANGE[0] <= pct <= CLAIMED_RANGE[1]) if not math.isnan(pct) else False,
    }
    table.attrs.update({"source": "Reichheld & Sasser (1990), lifecycle profit model; retainkit definitions §5"})
    return ProfitImpact(table=table, metrics=metrics)


def five_percent_claim_grid(
    retentions: Iterable[float] = (0.5, 0.6, 0.7, 0.8, 0.9, 0.94),
    margin_growths: Iterable[float] = (0.0, 0.04, 0.08, 0.15),
    *,
    retention_lift: float = 0.05,
    claimed_range: tuple[float, float] = CLAIMED_RANGE,
    **params,
) -> pd.DataFrame:
    """Percent profit increase from a retention lift over a grid (the "5 %" claim, Reichheld & Sasser 1990).

    For every (base retention, margin growth) pair, runs
    :func:`retention_profit_impact` with the other ``params`` fixed and
    reports whether the increase falls inside ``claimed_range`` (default the
    popular 25 %-95 %). The lesson it shows: the claim holds only for some
    combinations; the increase is small when base retention is low (a few
    more points barely lengthen short lives) or profit does not grow with
    tenure, and it explodes when base retention is already high or the
    customer barely pays back the acquisition cost (NPV before near zero).

    Parameters
    ----------
    retentions, margin_growths : iterables of float
        Grid axes. Retentions with retention + lift > 1 are skipped.
    retention_lift : float
        Percentage points (default 0.05).
    claimed_range : (float, float)
        Percent range to test against (:data:`CLAIMED_RANGE`, the popular
        25-95 %; pass :data:`REICHHELD_SASSER_RANGE` for the 25-85 % of the
        original article).
    **params
        Other keyword arguments of :func:`retention_profit_impact`, e.g.
        ``acquisition_cost=0.0``: then the percent is the rise in the
        customer's gross value instead of the rise in NPV net of the
        acquisition cost, which is small when the customer barely pays that
        cost back.

    Returns
    -------
    pandas.DataFrame
        ``retention``, ``margin_growth``, ``npv_before``, ``npv_after``,
        ``profit_increase_pct`` (NaN when NPV before <= 0), ``npv_before_positive``,
        ``in_claimed_range``. ``attrs`` record the lift, range and parameters.
    """
    lo, hi = (float(v) for v in claimed_range)
    if "retention" in params or "margin_growth" in params:
        raise ParameterError("pass retention and margin_growth as the grid axes retentions= / margin_growths=.")
    rows = []
    for r in retentions:
        for g in margin_growths:
            if float(r) + float(retention_lift) > 1.0 + 1e-12:
                continue
            s = retention_profit_impact(
                retention=float(r), margin_growth=float(g), retention_lift=retention_lift, **params
            ).metrics
            pct = float(s["profit_increase_pct"])
            rows.append(
                {
                    "retention": float(r),
                    "margin_growth": float(g),
                    "npv_before": float(s["npv_before"]),
                    "npv_after": float(s["npv_after"]),
                    "profit_increase_pct": pct,
                    "npv_before_positive": bool(s["npv_before"] > 0),
                    "in_claimed_range": bool(lo <= pct <= hi) if not math.isnan(pct) else False,
                }
            )
    out = pd.DataFrame(
        rows,
        columns=[
            "retention",
            "margin_growth",
            "npv_before",
            "npv_after",
            "profit_increase_pct",
            "npv_before_positive",
            "in_claimed_range",
        ],
    )
    out.attrs.update({"retention_lift": float(retention_lift), "claimed_range": (lo, hi), "params": dict(params)})
    return out
