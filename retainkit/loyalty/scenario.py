"""Planned loyalty-programme ROI from explicit assumptions (definitions §6 "Scenario (planned) ROI").

:func:`scenario_roi` gives the period-by-period table plus ROI, NPV, payback
period and the break-even retention lift; :data:`PRESETS` holds illustrative
starting points for four programme types; :func:`sensitivity` varies the
retention lift and breakage; :func:`break_even_retention_lift` solves NPV = 0.
The parameters, presets and their checks are in :mod:`~retainkit.loyalty.parameters`.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import optimize

from .._deprecation import metrics_summary, renamed_kwargs, warn_renamed
from .parameters import (
    PARAMETERS,
    PRESETS,
    check_parameter_names,
    is_missing,
    preset_parameters,
    resolve_parameters,
    validate_parameters,
)

#: Columns of :attr:`ScenarioResult.table` with their meaning.
TABLE_COLUMNS: dict[str, str] = {
    "period": "period t = 1..H; every amount is received/paid at the end of period t",
    "baseline_customers": "members * r^t: customers still buying without the programme",
    "program_customers": "members * (r + lift)^t: members still buying with the programme",
    "incremental_customers": "program_customers - baseline_customers",
    "baseline_revenue": "baseline_customers * baseline_spend",
    "member_revenue": "program_customers * baseline_spend * (1 + spend_lift)",
    "incremental_revenue": "member_revenue - baseline_revenue",
    "incremental_gross_profit": "margin * incremental_revenue",
    "reward_cost": "earn_rate * point_value * (1 - breakage) * member_revenue (rewards on ALL member spend)",
    "reward_cost_on_baseline_spend": "earn_rate * point_value * (1 - breakage) * min(member_revenue, baseline_revenue): rewards on spend that would have happened anyway (the subsidy)",
    "other_costs": "per_member_cost * program_customers + fixed_cost",
    "membership_fees": "membership_fee * program_customers (revenue, reduces the net programme cost)",
    "net_program_cost": "reward_cost + other_costs - membership_fees",
    "cash_flow": "incremental_gross_profit - net_program_cost",
    "discount_factor": "1 / (1 + d)^t",
    "discounted_cash_flow": "cash_flow * discount_factor",
    "cumulative_cash": "-setup_cost + running sum of cash_flow (undiscounted)",
    "cumulative_discounted_cash": "-setup_cost + running sum of discounted_cash_flow",
}


@dataclass(frozen=True)
class ScenarioResult:
    """Result of :func:`scenario_roi` (definitions §6, "Scenario (planned) ROI").

    Attributes
    ----------
    table : pandas.DataFrame
        One row per period 1..H with the columns of :data:`TABLE_COLUMNS`.
    metrics : dict
        The headline figures by name: ``roi``, ``npv``, ``payback_period``
        (first period whose cumulative discounted cash is >= 0; ``None`` if
        not within the horizon), ``break_even_retention_lift`` (NaN when no
        lift in the feasible range breaks even), ``incremental_gross_profit``
        and ``total_program_cost`` (both present values; the cost is net of
        membership fees and includes the setup cost), ``reward_cost``,
        ``reward_cost_on_baseline_spend``, ``membership_fees`` (present
        values), ``undiscounted_payback_period``.
    summary : pandas.DataFrame
        The same figures as a tidy frame: ``metric``, ``value`` (a missing
        payback period is NaN). For one release ``summary["roi"]`` still works
        with a DeprecationWarning (``summary`` was the dict now in ``metrics``).
    parameters : dict
        Every parameter used (preset values merged with overrides).
    preset : str or None
    """

    table: pd.DataFrame
    metrics: dict[str, Any]
    parameters: dict[str, float]
    preset: str | None = None

    @property
    def summary(self) -> pd.DataFrame:
        """The headline figures as a tidy frame (``metric``, ``value``); see :attr:`metrics`."""
        return metrics_summary(self.metrics, "ScenarioResult")

    def summary_frame(self) -> pd.DataFrame:
        """Deprecated: use :attr:`summary`."""
        warn_renamed("ScenarioResult.summary_frame()", "ScenarioResult.summary")
        return pd.DataFrame(self.summary)

    def _repr_html_(self) -> str:
        s = self.metrics
        roi = "n/a" if is_missing(s["roi"]) else f"{s['roi']:.1%}"
        pb = "not within the horizon" if s["payback_period"] is None else f"period {s['payback_period']}"
        be = (
            "none in range"
            if is_missing(s["break_even_retention_lift"])
            else f"{100 * s['break_even_retention_lift']:+.2f} percentage points"
        )
        head = (
            f"<p><b>Loyalty scenario{' (' + html.escape(self.preset) + ')' if self.preset else ''}</b>: "
            f"ROI {roi}, NPV {s['npv']:,.0f}, payback {pb}, break-even retention lift {be}. "
            f"Rewards paid on spend that would have happened anyway: "
            f"{s['reward_cost_on_baseline_spend']:,.0f} (present value).</p>"
        )
        cols = [
            "period",
            "incremental_customers",
            "incremental_gross_profit",
            "reward_cost",
            "other_costs",
            "membership_fees",
            "cash_flow",
            "cumulative_discounted_cash",
        ]
        return head + self.table[cols].to_html(index=False, float_format=lambda v: f"{v:,.1f}")

    def __repr__(self) -> str:
        s = self.metrics
        return (
            f"<ScenarioResult H={len(self.table)} roi={s['roi']:.4g} npv={s['npv']:,.2f} payback={s['payback_period']}>"
        )


def _flows(
    p: Mapping[str, float], retention_lift: float | None = None, breakage: float | None = None
) -> dict[str, np.ndarray]:
    """Vectorised period flows (the single implementation of the §6 formula)."""
    lift = p["retention_lift"] if retention_lift is None else retention_lift
    brk = p["breakage"] if breakage is None else breakage
    t = np.arange(1, p["horizon"] + 1, dtype="float64")
    r = p["baseline_retention"]
    base = p["members"] * r**t
    prog = p["members"] * (r + lift) ** t
    base_rev = base * p["baseline_spend"]
    mem_rev = prog * p["baseline_spend"] * (1.0 + p["spend_lift"])
    igp = p["margin"] * (mem_rev - base_rev)
    reward_rate = p["earn_rate"] * p["point_value"] * (1.0 - brk)
    reward = reward_rate * mem_rev
    reward_base = reward_rate * np.minimum(mem_rev, base_rev)
    other = p["per_member_cost"] * prog + p["fixed_cost"]
    fees = p["membership_fee"] * prog
    net_cost = reward + other - fees
    cash = igp - net_cost
    disc = (1.0 + p["discount_rate"]) ** -t
    return dict(
        t=t,
        base=base,
        prog=prog,
        base_rev=base_rev,
        mem_rev=mem_rev,
        igp=igp,
        reward=reward,
        reward_base=reward_base,
        other=other,
        fees=fees,
        net_cost=net_cost,
        cash=cash,
        disc=disc,
    )


def _npv(p: Mapping[str, float], retention_lift: float | None = None, breakage: float | None = None) -> float:
    f = _flows(p, retention_lift, breakage)
    return float(np.sum(f["cash"] * f["disc"]) - p["setup_cost"])


def _summary_numbers(p: Mapping[str, float], f: Mapping[str, np.ndarray]) -> dict[str, Any]:
    pv = lambda x: float(np.sum(x * f["disc"]))  # noqa: E731
    igp = pv(f["igp"])
    cost = pv(f["net_cost"]) + p["setup_cost"]
    npv = igp - cost
    roi = npv / cost if cost > 0 else float("nan")
    cum = -p["setup_cost"] + np.cumsum(f["cash"] * f["disc"])
    cum_u = -p["setup_cost"] + np.cumsum(f["cash"])
    hit = np.flatnonzero(cum >= 0)
    hit_u = np.flatnonzero(cum_u >= 0)
    return dict(
        roi=roi,
        npv=npv,
        payback_period=int(hit[0]) + 1 if hit.size else None,
        undiscounted_payback_period=int(hit_u[0]) + 1 if hit_u.size else None,
        incremental_gross_profit=igp,
        total_program_cost=cost,
        reward_cost=pv(f["reward"]),
        reward_cost_on_baseline_spend=pv(f["reward_base"]),
        other_costs=pv(f["other"]),
        membership_fees=pv(f["fees"]),
        setup_cost=float(p["setup_cost"]),
    )


@renamed_kwargs(gross_margin="margin")
def scenario_roi(
    preset: str | None = None,
    *,
    members: float | None = None,
    baseline_retention: float | None = None,
    baseline_spend: float | None = None,
    retention_lift: float | None = None,
    spend_lift: float | None = None,
    margin: float | None = None,
    earn_rate: float | None = None,
    point_value: float | None = None,
    breakage: float | None = None,
    per_member_cost: float | None = None,
    fixed_cost: float | None = None,
    setup_cost: float | None = None,
    membership_fee: float | None = None,
    horizon: int | None = None,
    discount_rate: float | None = None,
) -> ScenarioResult:
    """Planned ROI of a loyalty programme, period by period (definitions §6).

    Model and timing
    ----------------
    ``members`` customers enrol at the start (period 0). Without the programme
    ``members * r^t`` of them are still buying in period t (r =
    ``baseline_retention``); with it ``members * (r + retention_lift)^t``. A
    customer still there spends ``baseline_spend`` per period, a member
    ``baseline_spend * (1 + spend_lift)``. Every flow of period t is received
    or paid at the END of period t and discounted by ``(1 + d)^t``, the same
    convention as the margin multiple of definitions §5; ``setup_cost`` is paid
    at period 0 (not discounted).

    * incremental gross profit_t = margin * (member revenue_t - baseline revenue_t)
    * reward cost_t = earn_rate * point_value * (1 - breakage) * member revenue_t.
      Rewards are paid on ALL member spend, not only the incremental part:
      ``reward_cost_on_baseline_spend`` shows the subsidy on spend that would
      have happened anyway.
    * other costs_t = per_member_cost * members still there_t + fixed_cost
    * membership fees_t = membership_fee * members still there_t. Fees are
      counted as revenue that REDUCES the net programme cost (at 100 % margin).
    * net programme cost = setup_cost + PV(reward + other costs - fees)
    * ROI = (PV incremental gross profit - net programme cost) / net programme cost
      (NaN when the net cost is <= 0, e.g. fees cover every cost); NPV =
      PV incremental gross profit - net programme cost.
    * payback period: first t whose cumulative discounted cash (starting at
      ``-setup_cost``) is >= 0, ``None`` if none within the horizon.
    * break-even retention lift: the lift with NPV = 0, solved with
      :func:`scipy.optimize.brentq` (see :func:`break_even_retention_lift`).

    Parameters
    ----------
    preset : {"points", "tiered", "paid_membership", "gamified"}, optional
        Start from the illustrative values in :data:`PRESETS`; every keyword
        given overrides the preset.
    members, baseline_retention, baseline_spend, retention_lift, spend_lift,
    margin, earn_rate, point_value, breakage, per_member_cost, fixed_cost,
    setup_cost, membership_fee, horizon, discount_rate
        See :data:`PARAMETERS`. Without a preset, ``members``,
        ``baseline_retention``, ``baseline_spend``, ``retention_lift``,
        ``margin`` and ``horizon`` are required; the others default to 0.
        All rates are per period (use monthly rates with monthly periods).

    Returns
    -------
    ScenarioResult
        ``.table`` (columns in :data:`TABLE_COLUMNS`), ``.metrics`` (the
        headline figures by name), ``.summary`` (the same as a frame),
        ``.parameters``.

    Raises
    ------
    ParameterError
        A parameter is missing, not a number or out of range (the message names it).
    """
    given = dict(
        members=members,
        baseline_retention=baseline_retention,
        baseline_spend=baseline_spend,
        retention_lift=retention_lift,
        spend_lift=spend_lift,
        margin=margin,
        earn_rate=earn_rate,
        point_value=point_value,
        breakage=breakage,
        per_member_cost=per_member_cost,
        fixed_cost=fixed_cost,
        setup_cost=setup_cost,
        membership_fee=membership_fee,
        horizon=horizon,
        discount_rate=discount_rate,
    )
    p = resolve_parameters(preset, given)
    f = _flows(p)
    cum_disc = -p["setup_cost"] + np.cumsum(f["cash"] * f["disc"])
    table = pd.DataFrame(
        {
            "period": f["t"].astype("int64"),
            "baseline_customers": f["base"],
            "program_customers": f["prog"],
            "incremental_customers": f["prog"] - f["base"],
            "baseline_revenue": f["base_rev"],
            "member_revenue": f["mem_rev"],
            "incremental_revenue": f["mem_rev"] - f["base_rev"],
            "incremental_gross_profit": f["igp"],
            "reward_cost": f["reward"],
            "reward_cost_on_baseline_spend": f["reward_base"],
            "other_costs": f["other"],
            "membership_fees": f["fees"],
            "net_program_cost": f["net_cost"],
            "cash_flow": f["cash"],
            "discount_factor": f["disc"],
            "discounted_cash_flow": f["cash"] * f["disc"],
            "cumulative_cash": -p["setup_cost"] + np.cumsum(f["cash"]),
            "cumulative_discounted_cash": cum_disc,
        }
    )
    table.attrs["setup_cost"] = p["setup_cost"]
    metrics = _summary_numbers(p, f)
    metrics["break_even_retention_lift"] = _break_even(p)
    return ScenarioResult(table=table, metrics=metrics, parameters=dict(p), preset=preset)


def _break_even(p: Mapping[str, float]) -> float:
    r = p["baseline_retention"]
    lo, hi = -r, (1.0 - 1e-9) - r
    f_lo, f_hi = _npv(p, lo), _npv(p, hi)
    if f_lo == 0:
        return lo
    if np.sign(f_lo) == np.sign(f_hi):
        return float("nan")
    return float(optimize.brentq(lambda x: _npv(p, x), lo, hi, xtol=1e-12, rtol=1e-12, maxiter=200))


@renamed_kwargs(gross_margin="margin")
def break_even_retention_lift(preset: str | None = None, **params: Any) -> float:
    """Retention lift at which the programme's NPV is zero (definitions §6).

    Solves NPV(lift) = 0 with :func:`scipy.optimize.brentq` over the feasible
    range ``-baseline_retention <= lift < 1 - baseline_retention``, all other
    parameters held fixed (the given ``retention_lift`` is ignored). A negative
    value means the programme pays even if retention falls by that much (e.g.
    thanks to the spend lift or fees).

    Parameters
    ----------
    preset, **params
        As for :func:`scenario_roi`.

    Returns
    -------
    float
        The break-even absolute lift, or NaN when NPV does not change sign in
        the feasible range (e.g. when each retained member costs more in
        rewards and service than their margin brings, more retention never
        pays).
    """
    params = dict(params)
    params.setdefault("retention_lift", 0.0)
    check_parameter_names(params)
    p = resolve_parameters(preset, params)
    return _break_even(p)


@renamed_kwargs(gross_margin="margin")
def sensitivity(
    preset: str | None = None,
    *,
    retention_lifts: Sequence[float] | np.ndarray | None = None,
    breakages: Sequence[float] | np.ndarray | None = None,
    **params: Any,
) -> pd.DataFrame:
    """ROI over a grid of retention lift x breakage (definitions §6).

    Parameters
    ----------
    preset, **params
        The scenario, as for :func:`scenario_roi`.
    retention_lifts : sequence of float, optional
        Absolute lifts to try; default 0 to 2x the scenario's lift (or 0..0.05)
        in 9 steps.
    breakages : sequence of float, optional
        Breakage shares to try; default 0, 0.1, ..., 0.5.

    Returns
    -------
    pandas.DataFrame
        Tidy grid, one row per (retention_lift, breakage): ``retention_lift``,
        ``breakage``, ``roi``, ``npv``, ``total_program_cost``. ``attrs``
        carry the scenario parameters.
    """
    check_parameter_names(params)
    p = resolve_parameters(preset, params)
    top = 2 * p["retention_lift"] if p["retention_lift"] > 0 else 0.05
    lifts: Sequence[float] | np.ndarray = np.linspace(0.0, top, 9) if retention_lifts is None else retention_lifts
    shares: Sequence[float] | np.ndarray = np.round(np.arange(0, 0.51, 0.1), 10) if breakages is None else breakages
    rows = []
    for lift in lifts:
        for brk in shares:
            q = dict(p, retention_lift=float(lift), breakage=float(brk))
            validate_parameters(q)
            s = _summary_numbers(q, _flows(q))
            rows.append((float(lift), float(brk), s["roi"], s["npv"], s["total_program_cost"]))
    grid = pd.DataFrame(rows, columns=["retention_lift", "breakage", "roi", "npv", "total_program_cost"])
    grid.attrs["parameters"] = dict(p)
    return grid


__all__ = [
    "PARAMETERS",
    "PRESETS",
    "TABLE_COLUMNS",
    "ScenarioResult",
    "break_even_retention_lift",
    "is_missing",
    "preset_parameters",
    "scenario_roi",
    "sensitivity",
]
