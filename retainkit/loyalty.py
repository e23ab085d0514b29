"""Loyalty-program ROI: planned scenarios and lift measured from data.

Implements definitions §6 ("Loyalty-program ROI"):

* :func:`scenario_roi` -- planned ROI of a programme from explicit assumptions
  (members, baseline retention and spend, expected lifts, margin, reward
  economics, costs, fee, horizon, discount rate), as a period-by-period table
  plus ROI, NPV, payback period and the break-even retention lift.
  :data:`PRESETS` holds illustrative starting points for four programme types.
* :func:`measure_program_lift` -- the lift a programme (or any retention
  initiative with a known start date per customer) actually produced, from a
  transaction log: difference in differences against comparison customers
  matched on pre-join activity, or the plain treated-vs-holdout difference for
  a randomised holdout, with bootstrap 95 % intervals. The naive
  members-vs-others gap is returned next to a warning that members
  self-select.
* :func:`simulate_program` -- seeded synthetic logs with a known true lift,
  with or without self-selection, to check the estimator (and for teaching).
"""

from __future__ import annotations

import html
import math
from dataclasses import dataclass, field
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd
from scipy import optimize, sparse

from .exceptions import DataError, ParameterError
from .periods import check_freq, last_complete_period, parse_as_of, period_index

# =============================================================================
# 1. Planned ROI
# =============================================================================

#: Every scenario parameter with its meaning (the order is the signature's).
PARAMETERS: dict[str, str] = {
    "members": "members enrolled at the start (period 0)",
    "baseline_retention": "share of customers still buying from one period to the next without the programme (0..1)",
    "baseline_spend": "spend (revenue) per retained customer per period without the programme",
    "retention_lift": "absolute increase of the per-period retention rate for members (0.03 = +3 points)",
    "spend_lift": "relative increase of spend per retained member per period (0.10 = +10 %)",
    "gross_margin": "gross margin on spend (0..1)",
    "earn_rate": "points earned per currency unit spent",
    "point_value": "cost to the business of one redeemed point (currency)",
    "breakage": "share of earned points never redeemed (0..1)",
    "per_member_cost": "service cost per active member per period (cards, mailings, perks)",
    "fixed_cost": "fixed running cost per period (platform, staff)",
    "setup_cost": "one-off cost at the start (period 0, not discounted)",
    "membership_fee": "fee paid by each active member per period (paid memberships)",
    "horizon": "number of periods H",
    "discount_rate": "discount rate per period d",
}
_REQUIRED = ("members", "baseline_retention", "baseline_spend", "retention_lift", "gross_margin", "horizon")
_OPTIONAL_DEFAULTS: dict[str, float] = {
    "spend_lift": 0.0, "earn_rate": 0.0, "point_value": 0.0, "breakage": 0.0,
    "per_member_cost": 0.0, "fixed_cost": 0.0, "setup_cost": 0.0, "membership_fee": 0.0,
    "discount_rate": 0.0,
}

#: Illustrative presets for four programme types (periods are months). The
#: values are plausible orders of magnitude, NOT benchmarks: replace every one
#: with your own numbers. See docs/loyalty.md for the reasoning behind each.
PRESETS: dict[str, dict[str, float]] = {
    # Points per currency unit, redeemable for rewards: 1 point per unit spent,
    # a point worth 1 cent (1 % back), a quarter of points never redeemed.
    "points": dict(
        members=10_000, baseline_retention=0.85, baseline_spend=50.0, retention_lift=0.02,
        spend_lift=0.05, gross_margin=0.35, earn_rate=1.0, point_value=0.01, breakage=0.25,
        per_member_cost=0.10, fixed_cost=2_000.0, setup_cost=20_000.0, membership_fee=0.0,
        horizon=24, discount_rate=0.008,
    ),
    # Tiered / cumulative discounts: the discount grows with cumulative spend;
    # modelled as an average effective discount of 3 % of member spend
    # (earn_rate 1 x point_value 0.03), applied at checkout, so no breakage.
    "tiered": dict(
        members=10_000, baseline_retention=0.85, baseline_spend=50.0, retention_lift=0.03,
        spend_lift=0.08, gross_margin=0.35, earn_rate=1.0, point_value=0.03, breakage=0.0,
        per_member_cost=0.05, fixed_cost=1_500.0, setup_cost=15_000.0, membership_fee=0.0,
        horizon=24, discount_rate=0.008,
    ),
    # Paid membership (free shipping / member prices for a monthly fee): the
    # fee is revenue, the perks are a per-member cost, a small cashback.
    "paid_membership": dict(
        members=5_000, baseline_retention=0.85, baseline_spend=60.0, retention_lift=0.04,
        spend_lift=0.15, gross_margin=0.30, earn_rate=1.0, point_value=0.01, breakage=0.10,
        per_member_cost=7.0, fixed_cost=3_000.0, setup_cost=30_000.0, membership_fee=5.0,
        horizon=24, discount_rate=0.008,
    ),
    # Gamified engagement (badges, streaks, challenges): small monetary
    # rewards, many never claimed, but an app to build and run.
    "gamified": dict(
        members=20_000, baseline_retention=0.85, baseline_spend=40.0, retention_lift=0.015,
        spend_lift=0.02, gross_margin=0.35, earn_rate=1.0, point_value=0.002, breakage=0.50,
        per_member_cost=0.05, fixed_cost=5_000.0, setup_cost=50_000.0, membership_fee=0.0,
        horizon=24, discount_rate=0.008,
    ),
}

#: Columns of :attr:`ScenarioResult.table` with their meaning.
TABLE_COLUMNS: dict[str, str] = {
    "period": "period t = 1..H; every amount is received/paid at the end of period t",
    "baseline_customers": "members * r^t: customers still buying without the programme",
    "program_customers": "members * (r + lift)^t: members still buying with the programme",
    "incremental_customers": "program_customers - baseline_customers",
    "baseline_revenue": "baseline_customers * baseline_spend",
    "member_revenue": "program_customers * baseline_spend * (1 + spend_lift)",
    "incremental_revenue": "member_revenue - baseline_revenue",
    "incremental_gross_profit": "gross_margin * incremental_revenue",
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
    summary : dict
        ``roi``, ``npv``, ``payback_period`` (first period whose cumulative
        discounted cash is >= 0; ``None`` if not within the horizon),
        ``break_even_retention_lift`` (NaN when no lift in the feasible range
        breaks even), ``incremental_gross_profit`` and ``total_program_cost``
        (both present values; the cost is net of membership fees and includes
        the setup cost), ``reward_cost``, ``reward_cost_on_baseline_spend``,
        ``membership_fees`` (present values), ``undiscounted_payback_period``.
    parameters : dict
        Every parameter used (preset values merged with overrides).
    preset : str or None
    """

    table: pd.DataFrame
    summary: dict[str, Any]
    parameters: dict[str, float]
    preset: str | None = None

    def summary_frame(self) -> pd.DataFrame:
        """The summary as a tidy two-column frame (``metric``, ``value``)."""
        return pd.DataFrame({"metric": list(self.summary), "value": list(self.summary.values())})

    def _repr_html_(self) -> str:
        s = self.summary
        roi = "n/a" if _isnan(s["roi"]) else f"{s['roi']:.1%}"
        pb = "not within the horizon" if s["payback_period"] is None else f"period {s['payback_period']}"
        be = "none in range" if _isnan(s["break_even_retention_lift"]) else f"{100 * s['break_even_retention_lift']:+.2f} percentage points"
        head = (
            f"<p><b>Loyalty scenario{' (' + html.escape(self.preset) + ')' if self.preset else ''}</b>: "
            f"ROI {roi}, NPV {s['npv']:,.0f}, payback {pb}, break-even retention lift {be}. "
            f"Rewards paid on spend that would have happened anyway: "
            f"{s['reward_cost_on_baseline_spend']:,.0f} (present value).</p>"
        )
        cols = ["period", "incremental_customers", "incremental_gross_profit", "reward_cost",
                "other_costs", "membership_fees", "cash_flow", "cumulative_discounted_cash"]
        return head + self.table[cols].to_html(index=False, float_format=lambda v: f"{v:,.1f}")

    def __repr__(self) -> str:
        s = self.summary
        return (f"<ScenarioResult H={len(self.table)} roi={s['roi']:.4g} npv={s['npv']:,.2f} "
                f"payback={s['payback_period']}>")


def _isnan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x))


def preset_parameters(name: str) -> dict[str, float]:
    """A copy of the illustrative parameters of a programme type (definitions §6).

    Parameters
    ----------
    name : {"points", "tiered", "paid_membership", "gamified"}

    Returns
    -------
    dict
        Parameter name -> value, ready to pass to :func:`scenario_roi` as
        ``scenario_roi(**params)``.
    """
    if name not in PRESETS:
        raise ParameterError(
            f"preset={name!r} is not a programme type. Use one of {sorted(PRESETS)} "
            "or pass every parameter yourself (preset=None)."
        )
    return dict(PRESETS[name])


def _resolve(preset: str | None, given: Mapping[str, Any]) -> dict[str, float]:
    params: dict[str, Any] = dict(_OPTIONAL_DEFAULTS)
    if preset is not None:
        params.update(preset_parameters(preset))
    for k, v in given.items():
        if v is not None:
            params[k] = v
    missing = [k for k in _REQUIRED if params.get(k) is None]
    if missing:
        raise ParameterError(
            f"scenario_roi needs {', '.join(missing)} (no preset given). Pass them, or start from "
            f"a preset: scenario_roi(preset='points', ...). Presets: {sorted(PRESETS)}."
        )
    _validate(params)
    return params


def _num(name: str, value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={value!r} is not a number ({PARAMETERS[name]}).") from None
    if not math.isfinite(x):
        raise ParameterError(f"{name}={value!r} must be a finite number ({PARAMETERS[name]}).")
    return x


def _validate(p: dict[str, Any]) -> None:
    for k in PARAMETERS:
        p[k] = _num(k, p[k])
    h = p["horizon"]
    if h != int(h) or h < 1:
        raise ParameterError(f"horizon={h!r} must be a whole number of periods >= 1.")
    p["horizon"] = int(h)
    for k in ("members", "baseline_spend", "earn_rate", "point_value", "per_member_cost",
              "fixed_cost", "setup_cost", "membership_fee"):
        if p[k] < 0:
            raise ParameterError(f"{k}={p[k]!r} must be >= 0 ({PARAMETERS[k]}).")
    for k in ("gross_margin", "breakage"):
        if not 0 <= p[k] <= 1:
            raise ParameterError(f"{k}={p[k]!r} must lie in [0, 1] ({PARAMETERS[k]}); write 35 % as 0.35.")
    r = p["baseline_retention"]
    if not 0 <= r < 1:
        raise ParameterError(
            f"baseline_retention={r!r} must lie in [0, 1) (a share per period; write 85 % as 0.85). "
            "Retention of 1 would mean nobody ever leaves and an unbounded customer count."
        )
    lift = p["retention_lift"]
    if not 0 <= r + lift < 1:
        raise ParameterError(
            f"retention_lift={lift!r} gives a programme retention of {r + lift:.4g} with "
            f"baseline_retention={r!r}; baseline_retention + retention_lift must lie in [0, 1). "
            "The lift is absolute (0.03 = +3 percentage points)."
        )
    if p["spend_lift"] <= -1:
        raise ParameterError(f"spend_lift={p['spend_lift']!r} must be > -1 (a relative change; 0.10 = +10 %).")
    if p["discount_rate"] <= -1:
        raise ParameterError(f"discount_rate={p['discount_rate']!r} must be > -1 (per period; 0.01 = 1 %).")


def _flows(p: Mapping[str, float], retention_lift: float | None = None,
           breakage: float | None = None) -> dict[str, np.ndarray]:
    """Vectorised period flows (the single implementation of the §6 formula)."""
    lift = p["retention_lift"] if retention_lift is None else retention_lift
    brk = p["breakage"] if breakage is None else breakage
    t = np.arange(1, p["horizon"] + 1, dtype="float64")
    r = p["baseline_retention"]
    base = p["members"] * r ** t
    prog = p["members"] * (r + lift) ** t
    base_rev = base * p["baseline_spend"]
    mem_rev = prog * p["baseline_spend"] * (1.0 + p["spend_lift"])
    igp = p["gross_margin"] * (mem_rev - base_rev)
    reward_rate = p["earn_rate"] * p["point_value"] * (1.0 - brk)
    reward = reward_rate * mem_rev
    reward_base = reward_rate * np.minimum(mem_rev, base_rev)
    other = p["per_member_cost"] * prog + p["fixed_cost"]
    fees = p["membership_fee"] * prog
    net_cost = reward + other - fees
    cash = igp - net_cost
    disc = (1.0 + p["discount_rate"]) ** -t
    return dict(t=t, base=base, prog=prog, base_rev=base_rev, mem_rev=mem_rev, igp=igp, reward=reward,
                reward_base=reward_base, other=other, fees=fees, net_cost=net_cost, cash=cash, disc=disc)


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
        roi=roi, npv=npv,
        payback_period=int(hit[0]) + 1 if hit.size else None,
        undiscounted_payback_period=int(hit_u[0]) + 1 if hit_u.size else None,
        incremental_gross_profit=igp, total_program_cost=cost,
        reward_cost=pv(f["reward"]), reward_cost_on_baseline_spend=pv(f["reward_base"]),
        other_costs=pv(f["other"]), membership_fees=pv(f["fees"]),
        setup_cost=float(p["setup_cost"]),
    )


def scenario_roi(
    preset: str | None = None,
    *,
    members: float | None = None,
    baseline_retention: float | None = None,
    baseline_spend: float | None = None,
    retention_lift: float | None = None,
    spend_lift: float | None = None,
    gross_margin: float | None = None,
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

    * incremental gross profit_t = gross_margin * (member revenue_t - baseline revenue_t)
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
    gross_margin, earn_rate, point_value, breakage, per_member_cost, fixed_cost,
    setup_cost, membership_fee, horizon, discount_rate
        See :data:`PARAMETERS`. Without a preset, ``members``,
        ``baseline_retention``, ``baseline_spend``, ``retention_lift``,
        ``gross_margin`` and ``horizon`` are required; the others default to 0.
        All rates are per period (use monthly rates with monthly periods).

    Returns
    -------
    ScenarioResult
        ``.table`` (columns in :data:`TABLE_COLUMNS`), ``.summary``,
        ``.parameters``.

    Raises
    ------
    ParameterError
        A parameter is missing, not a number or out of range (the message names it).
    """
    given = dict(members=members, baseline_retention=baseline_retention, baseline_spend=baseline_spend,
                 retention_lift=retention_lift, spend_lift=spend_lift, gross_margin=gross_margin,
                 earn_rate=earn_rate, point_value=point_value, breakage=breakage,
                 per_member_cost=per_member_cost, fixed_cost=fixed_cost, setup_cost=setup_cost,
                 membership_fee=membership_fee, horizon=horizon, discount_rate=discount_rate)
    p = _resolve(preset, given)
    f = _flows(p)
    cum_disc = -p["setup_cost"] + np.cumsum(f["cash"] * f["disc"])
    table = pd.DataFrame({
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
    })
    table.attrs["setup_cost"] = p["setup_cost"]
    summary = _summary_numbers(p, f)
    summary["break_even_retention_lift"] = _break_even(p)
    return ScenarioResult(table=table, summary=summary, parameters=dict(p), preset=preset)


def _break_even(p: Mapping[str, float]) -> float:
    r = p["baseline_retention"]
    lo, hi = -r, (1.0 - 1e-9) - r
    f_lo, f_hi = _npv(p, lo), _npv(p, hi)
    if f_lo == 0:
        return lo
    if np.sign(f_lo) == np.sign(f_hi):
        return float("nan")
    return float(optimize.brentq(lambda x: _npv(p, x), lo, hi, xtol=1e-12, rtol=1e-12, maxiter=200))


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
    _check_keys(params)
    p = _resolve(preset, params)
    return _break_even(p)


def _check_keys(params: Mapping[str, Any]) -> None:
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise ParameterError(f"unknown scenario parameter(s) {unknown}; the parameters are {list(PARAMETERS)}.")


def sensitivity(
    preset: str | None = None,
    *,
    retention_lifts: Sequence[float] | None = None,
    breakages: Sequence[float] | None = None,
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
    _check_keys(params)
    p = _resolve(preset, params)
    if retention_lifts is None:
        top = 2 * p["retention_lift"] if p["retention_lift"] > 0 else 0.05
        retention_lifts = np.linspace(0.0, top, 9)
    if breakages is None:
        breakages = np.round(np.arange(0, 0.51, 0.1), 10)
    rows = []
    for lift in retention_lifts:
        for brk in breakages:
            q = dict(p, retention_lift=float(lift), breakage=float(brk))
            _validate(q)
            s = _summary_numbers(q, _flows(q))
            rows.append((float(lift), float(brk), s["roi"], s["npv"], s["total_program_cost"]))
    grid = pd.DataFrame(rows, columns=["retention_lift", "breakage", "roi", "npv", "total_program_cost"])
    grid.attrs["parameters"] = dict(p)
    return grid


# =============================================================================
# 2. Measured lift
# =============================================================================

#: Shown with every naive members-vs-others gap (definitions §6).
NAIVE_WARNING = (
    "Naive gap = members after joining vs all non-members in the same periods. Members "
    "self-select: frequent, big-spending customers join more often, so this gap mixes the "
    "programme's effect with who joins. Do not read it as the programme's effect; use the "
    "matched difference-in-differences (or randomised) estimate."
)

_UNITS = {"D": "days", "W": "weeks", "M": "months", "Q": "quarters", "Y": "years"}
_TRUE = {"true", "t", "yes", "y", "1", "1.0", "member", "treated"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", "", "(missing)", "nan", "none", "null", "non-member", "control"}


@dataclass(frozen=True)
class ProgramLift:
    """Result of :func:`measure_program_lift` (definitions §6, "Measured ROI").

    Attributes
    ----------
    design : {"did", "randomized"}
        ``"did"``: matched difference in differences; ``"randomized"``:
        treated minus randomised holdout.
    design_description : str
        One sentence saying what was compared with what.
    summary : pandas.DataFrame
        Tidy: ``metric`` (``retention_lift``, ``spend_lift``, ``implied_roi``,
        ``naive_retention_gap``, ``naive_spend_gap``), ``estimate``,
        ``ci_low``, ``ci_high`` (bootstrap 95 % percentile interval; NaN for
        the naive gaps), ``unit``, ``note``.
    retention_lift, spend_lift : float
        Lift in the share of customers active per period (absolute) and in
        spend per customer per period (currency).
    retention_lift_ci, spend_lift_ci, implied_roi_ci : tuple of float
    implied_roi : float
        (gross_margin * spend_lift - costs) / costs, NaN without ``costs``.
    naive_retention_gap, naive_spend_gap : float
        Members vs everyone else; see ``naive_warning``.
    naive_warning : str
    trajectory : pandas.DataFrame
        Means by period relative to the join period: ``group`` ("members" /
        "matched comparison", or "treated" / "holdout"), ``relative_period``,
        ``window`` ("baseline", "matching", "join", "post"), ``active_share``,
        ``spend_per_customer``, ``customers``. Comparison means are weighted
        to the members' strata.
    counts : dict
        ``members`` (with a join date), ``members_used``, ``comparison_customers``,
        ``comparison_rows`` and the exclusion counts by reason.
    used_members : numpy.ndarray
        Customer ids of the members (treated) the estimate is about.
    freq : str
    windows : dict
        Lengths: ``baseline_periods``, ``match_periods``, ``post_periods``.
    n_boot, seed : int
    """

    design: str
    design_description: str
    summary: pd.DataFrame
    retention_lift: float
    retention_lift_ci: tuple[float, float]
    spend_lift: float
    spend_lift_ci: tuple[float, float]
    implied_roi: float
    implied_roi_ci: tuple[float, float]
    naive_retention_gap: float
    naive_spend_gap: float
    naive_warning: str
    trajectory: pd.DataFrame
    counts: dict[str, int]
    used_members: np.ndarray
    freq: str
    windows: dict[str, int]
    n_boot: int
    seed: int | None
    replicates: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)

    def _repr_html_(self) -> str:
        def fmt(v: float, pct: bool) -> str:
            return "n/a" if _isnan(v) else (f"{v:+.1%}" if pct else f"{v:+,.2f}")

        rows = []
        for _, r in self.summary.iterrows():
            pct = r["unit"] in ("share of customers", "ratio")
            ci = "" if _isnan(r["ci_low"]) else f"{fmt(r['ci_low'], pct)} to {fmt(r['ci_high'], pct)}"
            rows.append(
                f"<tr><td>{html.escape(r['metric'])}</td><td>{fmt(r['estimate'], pct)}</td>"
                f"<td>{ci}</td><td>{html.escape(str(r['note']))}</td></tr>"
            )
        return (
            f"<p><b>Measured lift</b> ({html.escape(self.design_description)}; "
            f"{self.counts.get('members_used', 0):,} members, "
            f"{self.counts.get('comparison_customers', 0):,} comparison customers)</p>"
            "<table><tr><th>metric</th><th>estimate</th><th>95 % interval</th><th>note</th></tr>"
            + "".join(rows) + "</table>"
        )

    def __repr__(self) -> str:
        lo, hi = self.retention_lift_ci
        return (f"<ProgramLift design={self.design} retention_lift={self.retention_lift:+.4f} "
                f"[{lo:+.4f}, {hi:+.4f}] spend_lift={self.spend_lift:+.4g}>")


def _to_bool(values: pd.Series, column: str) -> np.ndarray:
    if values.dtype == bool:
        return values.to_numpy()
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.fillna(0).to_numpy() != 0
    text = values.astype("string").str.strip().str.lower().fillna("")
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        ex = ", ".join(repr(v) for v in text[bad].unique()[:3])
        raise DataError(
            f"column {column!r}: values {ex} are not yes/no flags. Use True/False, 1/0 or 'yes'/'no'."
        )
    return text.isin(_TRUE).to_numpy()


def _to_local(values: pd.Series, column: str, tz: str) -> pd.Series:
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = pd.to_datetime(values.replace("(missing)", None), errors="coerce", utc=False, format="mixed")
        bad = parsed.isna() & values.notna() & (values.astype("string").str.strip().fillna("") != "") \
            & (values.astype("string") != "(missing)")
        if bad.any():
            i = bad.to_numpy().nonzero()[0][:3]
            ex = ", ".join(f"row {j}: {values.iloc[j]!r}" for j in i)
            raise DataError(f"column {column!r}: {int(bad.sum())} values are not dates ({ex}). Write them as YYYY-MM-DD.")
        values = parsed
    return values


def _boot_weights(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    return rng.multinomial(n, np.full(n, 1.0 / n), size=size).astype("float64")


def measure_program_lift(
    frame: Any,
    *,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = "amount",
    member: str = "is_member",
    join_date: str = "member_since",
    freq: str = "M",
    pre_periods: int = 3,
    match_periods: int = 3,
    post_periods: int = 3,
    design: str = "auto",
    holdout: str | None = None,
    spend_bins: int = 3,
    skip_join_period: bool = True,
    n_boot: int = 500,
    seed: int | None = 0,
    costs: float | None = None,
    gross_margin: float | None = None,
    as_of: Any = None,
    tz: str | None = None,
) -> ProgramLift:
    """Lift a programme (or any dated retention initiative) produced (definitions §6).

    Outcomes, per customer and period (``freq``): *active* (>= 1 purchase, a
    row with amount >= 0 or unknown, definitions §1) and *spend* (sum of
    amounts, refunds included). "Retention" here is the share of customers
    active per period; spend is per customer per period (inactive = 0).

    Windows around each member's join period J (lengths in periods):

    ``baseline`` = J-m-b .. J-m-1 | ``matching`` = J-m .. J-1 | ``join`` = J | ``post`` = J+1 .. J+a

    with b = ``pre_periods``, m = ``match_periods``, a = ``post_periods``. The
    join period is left out (``skip_join_period``) because people often join
    at checkout, so it holds a purchase by construction.

    Designs
    -------
    ``"did"`` (matched difference in differences; the default without a
    holdout): each member is compared with never-members who, in the same
    calendar periods, had the same activity in the matching window:
    frequency (active periods), recency (periods since the last active one)
    and spend band (``spend_bins`` quantile bands of the members' matching-
    window spend). Non-members are thus given the member's join date as a
    pseudo join date and matched exactly within these bins (coarsened exact
    matching; one comparison customer may serve several join dates). The lift
    is the members' change from baseline to post minus the matched
    comparisons' change, averaged over strata weighted by their member counts
    (the effect on the matched members). The change is measured from the
    baseline window, NOT from the matching window: differencing the very
    window one matched on biases the estimate by regression to the mean when
    members self-select on their usual activity level (Daw & Hatfield 2018).
    Identifying assumption: without the programme, matched members and
    comparisons would have changed by the same amount between the baseline
    and post windows. Members without a complete baseline/post window, who
    were not customers before the baseline window, or whose stratum has no
    comparison customer are left out and counted.

    ``"randomized"`` (with ``holdout``): every customer with a start date in
    ``join_date`` took part; those with ``holdout`` true were held out at
    random. The lift is the plain difference of post-window means, treated
    minus holdout (``member`` is not used).

    Intervals: bootstrap (``n_boot`` resamples of customers, members and
    comparisons resampled separately; the whole matching is kept, the strata
    means are recomputed), 95 % percentile interval.

    Parameters
    ----------
    frame : pandas.DataFrame or retainkit.Transactions
        Transaction log; a Transactions object is read from ``.frame``
        (its ``as_of`` and ``tz`` are used unless given).
    customer_id, timestamp, amount, member, join_date : str
        Column names. ``member``: yes/no flag (any true row makes the
        customer a member). ``join_date``: the member's join (start) date,
        missing for others; the earliest per customer is used. ``amount``
        may be None (then only the retention lift is measured).
    freq : {"D", "W", "M", "Q", "Y"}
    pre_periods, match_periods, post_periods : int
        Window lengths (see above), >= 1.
    design : {"auto", "did", "randomized"}
        ``"auto"``: "randomized" when ``holdout`` is given, else "did".
    holdout : str, optional
        Yes/no column marking the randomised holdout.
    spend_bins : int
        Number of spend bands for matching (1 = do not match on spend).
    skip_join_period : bool
    n_boot : int
        Bootstrap resamples (>= 50 for an interval; 0 = no interval).
    seed : int or None
    costs : float, optional
        Programme cost per member per period (rewards + service, currency).
        With ``gross_margin`` it gives the implied ROI
        ``(gross_margin * spend_lift - costs) / costs``.
    gross_margin : float, optional
    as_of, tz
        Only complete periods up to ``as_of`` are used (definitions §1, §2);
        default: the end of the day of the latest timestamp, report zone UTC.

    Returns
    -------
    ProgramLift

    Raises
    ------
    DataError
        A column is missing, flags/dates do not parse, no member can be measured.
    ParameterError
        Bad window lengths, design, costs.
    """
    # ---------------------------------------------------------------- inputs
    if hasattr(frame, "frame") and hasattr(frame, "as_of"):
        as_of = frame.as_of if as_of is None else as_of
        tz = getattr(frame, "tz", None) if tz is None else tz
        frame = frame.frame
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"frame must be a pandas DataFrame or retainkit Transactions, not {type(frame).__name__}.")
    tz = tz or "UTC"
    freq = check_freq(freq)
    for name, v in (("pre_periods", pre_periods), ("match_periods", match_periods), ("post_periods", post_periods)):
        if not isinstance(v, (int, np.integer)) or v < 1:
            raise ParameterError(f"{name}={v!r} must be a whole number of periods >= 1.")
    if not isinstance(spend_bins, (int, np.integer)) or spend_bins < 1:
        raise ParameterError(f"spend_bins={spend_bins!r} must be an integer >= 1 (1 = do not match on spend).")
    if not isinstance(n_boot, (int, np.integer)) or (n_boot != 0 and n_boot < 50):
        raise ParameterError(f"n_boot={n_boot!r}: use 0 (no interval) or at least 50 resamples (500+ recommended).")
    if design not in ("auto", "did", "randomized"):
        raise ParameterError(f"design={design!r} must be 'auto', 'did' or 'randomized'.")
    if design == "auto":
        design = "randomized" if holdout is not None else "did"
    if design == "randomized" and holdout is None:
        raise ParameterError("design='randomized' needs holdout='<column>' naming the randomised holdout flag.")
    if costs is not None:
        if gross_margin is None:
            raise ParameterError("costs given without gross_margin: the implied ROI needs both.")
        if not costs > 0:
            raise ParameterError(f"costs={costs!r} must be > 0 (programme cost per member per period).")
        if not 0 <= gross_margin <= 1:
            raise ParameterError(f"gross_margin={gross_margin!r} must lie in [0, 1]; write 35 % as 0.35.")
    needed = [customer_id, timestamp, join_date] + ([member] if design == "did" else [holdout])
    has_amount = amount is not None and amount in frame.columns
    if amount is not None and not has_amount:
        raise DataError(f"column {amount!r} (amount) is not in the data (columns: {list(frame.columns)}). "
                        "Pass amount=None to measure the retention lift only.")
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise DataError(f"column(s) {missing} not in the data (columns: {list(frame.columns)}). "
                        "Map them with customer_id=..., timestamp=..., member=..., join_date=..., holdout=...")

    df = frame[[c for c in dict.fromkeys(needed + ([amount] if has_amount else []))]].copy()
    df = df[df[customer_id].notna()]
    ts = _to_local(df[timestamp], timestamp, tz)
    df = df[ts.notna()]
    ts = ts[ts.notna()]
    aware = getattr(ts.dt, "tz", None) is not None
    as_of_ts = parse_as_of(as_of, tz) if as_of is not None else None
    if as_of_ts is None:
        last = ts.max()
        last = last.tz_convert(tz) if aware else last.tz_localize(tz)
        as_of_ts = last.tz_localize(None).normalize().tz_localize(tz) + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    keep = (ts.dt.tz_convert(tz) if aware else ts.dt.tz_localize(tz, ambiguous=np.zeros(len(ts), bool), nonexistent="shift_forward")) <= as_of_ts
    df, ts = df[keep.to_numpy()], ts[keep.to_numpy()]
    if df.empty:
        raise DataError("no usable rows on or before as_of: nothing to measure.")
    last_p = last_complete_period(as_of_ts, freq, tz)

    cust_codes, cust_ids = pd.factorize(df[customer_id], sort=True)
    per = period_index(ts, freq, tz)
    first_p = int(per.min())
    n_per = last_p - first_p + 1
    if n_per < pre_periods + match_periods + post_periods + 2:
        raise DataError(
            f"the data cover {max(n_per, 0)} complete {freq} periods; the windows need at least "
            f"{pre_periods + match_periods + post_periods + 2} (baseline {pre_periods} + matching "
            f"{match_periods} + join 1 + post {post_periods} + one before). Use a finer freq or shorter windows."
        )
    in_range = per <= last_p
    amt = df[amount].to_numpy(dtype="float64") if has_amount else np.zeros(len(df))
    purchase = ~(amt < 0)  # NaN amounts are purchases (definitions §1)
    n_c = len(cust_ids)
    col = per - first_p
    A = np.zeros((n_c, n_per), dtype="uint8")
    S = np.zeros((n_c, n_per), dtype="float64")
    sel = in_range & purchase
    A[cust_codes[sel], col[sel]] = 1
    np.add.at(S, (cust_codes[in_range], col[in_range]), np.nan_to_num(amt[in_range]))
    first_buy = np.full(n_c, np.iinfo(np.int64).max)
    np.minimum.at(first_buy, cust_codes[purchase], col[purchase])

    jd = _to_local(df[join_date], join_date, tz)
    jd_ok = jd.notna().to_numpy()
    j_local = jd[jd_ok]
    jper = period_index(j_local, freq, tz) - first_p
    join = np.full(n_c, np.iinfo(np.int64).max)
    np.minimum.at(join, cust_codes[jd_ok], jper)
    has_join = join != np.iinfo(np.int64).max

    b, m, a = int(pre_periods), int(match_periods), int(post_periods)
    jp = 1 if skip_join_period else 0
    windows = {"baseline_periods": b, "match_periods": m, "post_periods": a}
    rng = np.random.default_rng(seed)
    if design == "randomized":
        return _randomized(A, S, join, has_join, _per_customer_flag(df, holdout, cust_codes, n_c),
                           first_buy, b, m, a, jp, n_per, has_amount, cust_ids, freq, windows,
                           n_boot, seed, rng, costs, gross_margin)

    is_mem = _per_customer_flag(df, member, cust_codes, n_c)
    counts: dict[str, int] = {"members": int(is_mem.sum())}
    counts["excluded_member_without_join_date"] = int((is_mem & ~has_join).sum())
    nonmem = np.flatnonzero(~is_mem)
    if nonmem.size == 0:
        raise DataError(f"column {member!r}: every customer is a member, so there is no comparison group.")
    mem = np.flatnonzero(is_mem & has_join)
    J = join[mem]
    too_early = J - m - b < 0
    too_late = J + jp + a - 1 >= n_per
    new_cust = ~too_early & (first_buy[mem] >= J - m - b)
    counts["excluded_member_window_before_data"] = int(too_early.sum())
    counts["excluded_member_post_window_incomplete"] = int((too_late & ~too_early).sum())
    counts["excluded_member_not_yet_customer_at_baseline"] = int((new_cust & ~too_late).sum())
    ok = ~(too_early | too_late | new_cust)
    mem, J = mem[ok], J[ok]
    if mem.size == 0:
        raise DataError(
            "no member can be measured: each needs a complete baseline + matching window "
            f"({b}+{m} periods) after their first purchase and {a} complete periods after joining. "
            f"Exclusions: { {k: v for k, v in counts.items() if k.startswith('excluded')} }."
        )

    def profile(rows: np.ndarray, Jr: np.ndarray) -> dict[str, np.ndarray]:
        off_m = np.arange(-m, 0)
        off_b = np.arange(-m - b, -m)
        off_a = np.arange(jp, jp + a)
        am = A[rows[:, None], Jr[:, None] + off_m]
        sm = S[rows[:, None], Jr[:, None] + off_m]
        freq_ = am.sum(1)
        last_active = np.where(am.any(1), m - 1 - np.argmax(am[:, ::-1], axis=1), -1)
        recency = np.where(freq_ > 0, m - last_active, m + 1)
        d_a = A[rows[:, None], Jr[:, None] + off_a].mean(1) - A[rows[:, None], Jr[:, None] + off_b].mean(1)
        d_s = S[rows[:, None], Jr[:, None] + off_a].mean(1) - S[rows[:, None], Jr[:, None] + off_b].mean(1)
        return dict(freq=freq_.astype("int64"), recency=recency.astype("int64"), spend=sm.sum(1), d_a=d_a, d_s=d_s)

    pm = profile(mem, J)
    if has_amount and spend_bins > 1 and (pm["freq"] > 0).any():
        qs = np.quantile(pm["spend"][pm["freq"] > 0], np.linspace(0, 1, spend_bins + 1)[1:-1])
        edges = np.unique(qs)
    else:
        edges = np.array([])

    def band(p: dict[str, np.ndarray]) -> np.ndarray:
        return np.where(p["freq"] > 0, 1 + np.searchsorted(edges, p["spend"], side="right"), 0)

    pm["band"] = band(pm)
    # comparison rows: every never-member x every distinct member join period
    Js = np.unique(J)
    c_rows, c_J = [], []
    for j in Js:
        elig = nonmem[(first_buy[nonmem] < j - m - b)]
        c_rows.append(elig)
        c_J.append(np.full(elig.size, j))
    c_rows_a, c_J_a = np.concatenate(c_rows), np.concatenate(c_J)
    pc = profile(c_rows_a, c_J_a)
    pc["band"] = band(pc)

    def code(Jr: np.ndarray, p: dict[str, np.ndarray]) -> np.ndarray:
        # one integer per stratum (join period, frequency, recency, spend band)
        return ((Jr * (m + 1) + p["freq"]) * (m + 2) + p["recency"]) * (spend_bins + 1) + p["band"]

    strata, m_stratum = np.unique(code(J, pm), return_inverse=True)
    key_c = code(c_J_a, pc)
    pos = np.clip(np.searchsorted(strata, key_c), 0, strata.size - 1)
    c_stratum = np.where(strata[pos] == key_c, pos, -1)
    has_comp = np.zeros(len(strata), bool)
    has_comp[c_stratum[c_stratum >= 0]] = True
    matched = has_comp[m_stratum]
    counts["excluded_member_no_comparison_in_stratum"] = int((~matched).sum())
    if not matched.any():
        raise DataError("no member has a comparison customer with the same pre-join activity; "
                        "try spend_bins=1 or a shorter match_periods.")
    mem, J, m_stratum = mem[matched], J[matched], m_stratum[matched]
    for k in list(pm):
        pm[k] = pm[k][matched]
    keep_c = c_stratum >= 0
    keep_c &= np.isin(c_stratum, np.unique(m_stratum))
    c_rows_a, c_J_a, c_stratum = c_rows_a[keep_c], c_J_a[keep_c], c_stratum[keep_c]
    for k in list(pc):
        pc[k] = pc[k][keep_c]
    # re-index strata densely
    used, m_s = np.unique(m_stratum, return_inverse=True)
    c_s = np.searchsorted(used, c_stratum)
    n_s = used.size
    c_units, c_u = np.unique(c_rows_a, return_inverse=True)
    counts["members_used"] = int(mem.size)
    counts["comparison_customers"] = int(c_units.size)
    counts["comparison_rows"] = int(c_rows_a.size)

    Mi = sparse.csr_matrix((np.ones(mem.size), (np.arange(mem.size), m_s)), shape=(mem.size, n_s))
    Ci = sparse.csr_matrix((np.ones(c_s.size), (c_u, c_s)), shape=(c_units.size, n_s))
    Md = {k: sparse.csr_matrix((pm[k], (np.arange(mem.size), m_s)), shape=(mem.size, n_s)) for k in ("d_a", "d_s")}
    Cd = {k: sparse.csr_matrix((pc[k], (c_u, c_s)), shape=(c_units.size, n_s)) for k in ("d_a", "d_s")}

    def att(wm: np.ndarray, wc: np.ndarray, key: str) -> np.ndarray:
        # wm: (B, n_members), wc: (B, n_comparison units) -> ATT per resample
        mc = np.asarray((Mi.T @ wm.T).T)
        ms = np.asarray((Md[key].T @ wm.T).T)
        cc = np.asarray((Ci.T @ wc.T).T)
        cs = np.asarray((Cd[key].T @ wc.T).T)
        valid = (mc > 0) & (cc > 0)
        with np.errstate(divide="ignore", invalid="ignore"):
            diff = np.where(valid, ms / np.where(mc > 0, mc, 1) - cs / np.where(cc > 0, cc, 1), 0.0)
        w = np.where(valid, mc, 0.0)
        return (w * diff).sum(1) / w.sum(1)

    ones_m, ones_c = np.ones((1, mem.size)), np.ones((1, c_units.size))
    est_a = float(att(ones_m, ones_c, "d_a")[0])
    est_s = float(att(ones_m, ones_c, "d_s")[0]) if has_amount else float("nan")
    reps = _bootstrap(lambda wm, wc: (att(wm, wc, "d_a"), att(wm, wc, "d_s") if has_amount else None),
                      mem.size, c_units.size, n_boot, rng)

    # trajectory: member means and stratum-weighted comparison means by relative period
    rel = np.arange(-m - b, jp + a)
    traj_rows = []
    wm_s = np.bincount(m_s, minlength=n_s).astype("float64")
    nc_s = np.bincount(c_s, minlength=n_s).astype("float64")
    c_w = wm_s[c_s] / nc_s[c_s]  # each comparison row stands for (members / comparisons) of its stratum
    for k in rel:
        for grp, rows, Jr, w in (("members", mem, J, np.ones(mem.size)), ("matched comparison", c_rows_a, c_J_a, c_w)):
            act = A[rows, Jr + k]
            sp = S[rows, Jr + k]
            traj_rows.append((grp, int(k), _window(k, b, m, jp), float(np.average(act, weights=w)),
                              float(np.average(sp, weights=w)) if has_amount else float("nan"), int(rows.size)))
    trajectory = pd.DataFrame(traj_rows, columns=["group", "relative_period", "window", "active_share",
                                                  "spend_per_customer", "customers"])

    naive_a, naive_s = _naive_gap(A, S, is_mem, first_buy, mem, J, jp, a)
    desc = (f"matched difference in differences: {mem.size:,} members vs {c_units.size:,} never-members "
            f"matched on frequency, recency{' and spend' if edges.size or not has_amount else ''} in the "
            f"{m} {_UNITS[freq]} before joining; change from the {b} {_UNITS[freq]} before those to the {a} after joining")
    return _finish("did", desc, est_a, est_s, reps, naive_a, naive_s, NAIVE_WARNING, trajectory, counts,
                   np.asarray(cust_ids[mem]), freq, windows, n_boot, seed, costs, gross_margin, has_amount)


def _window(k: int, b: int, m: int, jp: int) -> str:
    if k < -m:
        return "baseline"
    if k < 0:
        return "matching"
    if k < jp:
        return "join"
    return "post"


def _per_customer_flag(df: pd.DataFrame, column: str, codes: np.ndarray, n: int) -> np.ndarray:
    flag = _to_bool(df[column], column)
    out = np.zeros(n, bool)
    np.logical_or.at(out, codes, flag)
    return out


def _bootstrap(stat, n_m: int, n_c: int, n_boot: int, rng: np.random.Generator) -> pd.DataFrame:
    """Resample members and comparison units separately; returns replicate estimates."""
    out_a: list[np.ndarray] = []
    out_s: list[np.ndarray] = []
    chunk = max(1, min(n_boot, int(5e6 // max(n_m + n_c, 1))))
    done = 0
    while done < n_boot:
        size = min(chunk, n_boot - done)
        ra, rs = stat(_boot_weights(rng, n_m, size), _boot_weights(rng, n_c, size))
        out_a.append(ra)
        out_s.append(rs if rs is not None else np.full(size, np.nan))
        done += size
    if not out_a:
        return pd.DataFrame({"retention_lift": [], "spend_lift": []})
    return pd.DataFrame({"retention_lift": np.concatenate(out_a), "spend_lift": np.concatenate(out_s)})


def _ci(x: np.ndarray) -> tuple[float, float]:
    x = np.asarray(x, dtype="float64")
    x = x[np.isfinite(x)]
    if x.size < 50:
        return (float("nan"), float("nan"))
    lo, hi = np.quantile(x, [0.025, 0.975])
    return (float(lo), float(hi))


def _naive_gap(A, S, is_mem, first_buy, mem, J, jp, a) -> tuple[float, float]:
    """Members' post-join means minus all non-members' means in the same calendar periods."""
    nonmem = ~is_mem
    n_per = A.shape[1]
    t = np.arange(n_per)
    acquired = nonmem[:, None] & (first_buy[:, None] < t[None, :])
    n_t = acquired.sum(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        share_t = (A * acquired).sum(0) / n_t
        spend_t = (S * acquired).sum(0) / n_t
    cols = J[:, None] + np.arange(jp, jp + a)[None, :]
    rows = mem[:, None]
    gap_a = float(np.nanmean(A[rows, cols] - share_t[cols]))
    gap_s = float(np.nanmean(S[rows, cols] - spend_t[cols]))
    return gap_a, gap_s


def _finish(design, desc, est_a, est_s, reps, naive_a, naive_s, warning, trajectory, counts, used,
            freq, windows, n_boot, seed, costs, gross_margin, has_amount) -> ProgramLift:
    ci_a = _ci(reps["retention_lift"]) if n_boot else (float("nan"),) * 2
    ci_s = _ci(reps["spend_lift"]) if n_boot and has_amount else (float("nan"),) * 2
    if costs is not None and has_amount:
        roi = (gross_margin * est_s - costs) / costs
        roi_reps = (gross_margin * reps["spend_lift"] - costs) / costs
        ci_r = _ci(roi_reps) if n_boot else (float("nan"),) * 2
        roi_note = f"(gross_margin {gross_margin:g} x spend lift - costs {costs:g}) / costs, per member per period"
    else:
        roi, ci_r = float("nan"), (float("nan"),) * 2
        roi_note = "pass costs= and gross_margin= for the implied ROI" + ("" if has_amount else " (needs amounts)")
    naive_note = warning if design == "did" else "randomised: the treated-vs-holdout difference above is the estimate"
    summary = pd.DataFrame([
        ("retention_lift", est_a, *ci_a, "share of customers", "active share per period, " + design),
        ("spend_lift", est_s, *ci_s, "currency", "spend per customer per period, " + design),
        ("implied_roi", roi, *ci_r, "ratio", roi_note),
        ("naive_retention_gap", naive_a, float("nan"), float("nan"), "share of customers", naive_note),
        ("naive_spend_gap", naive_s, float("nan"), float("nan"), "currency", naive_note),
    ], columns=["metric", "estimate", "ci_low", "ci_high", "unit", "note"])
    return ProgramLift(
        design=design, design_description=desc, summary=summary,
        retention_lift=est_a, retention_lift_ci=ci_a, spend_lift=est_s, spend_lift_ci=ci_s,
        implied_roi=float(roi), implied_roi_ci=ci_r,
        naive_retention_gap=naive_a, naive_spend_gap=naive_s, naive_warning=warning if design == "did" else "",
        trajectory=trajectory, counts=counts, used_members=used, freq=freq, windows=windows,
        n_boot=int(n_boot), seed=seed, replicates=reps,
    )


def _randomized(A, S, join, has_join, hold, first_buy, b, m, a, jp, n_per, has_amount, cust_ids, freq,
                windows, n_boot, seed, rng, costs, gross_margin) -> ProgramLift:
    part = np.flatnonzero(has_join)
    counts: dict[str, int] = {"participants": int(part.size)}
    Jp = join[part]
    late = Jp + jp + a - 1 >= n_per
    counts["excluded_post_window_incomplete"] = int(late.sum())
    part, Jp = part[~late], Jp[~late]
    treated = ~hold[part]
    if treated.sum() == 0 or (~treated).sum() == 0:
        raise DataError("a randomised design needs both treated and holdout customers with a complete post window "
                        f"(treated {int(treated.sum())}, holdout {int((~treated).sum())}).")
    off = np.arange(jp, jp + a)
    ya = A[part[:, None], Jp[:, None] + off].mean(1)
    ys = S[part[:, None], Jp[:, None] + off].mean(1)
    t_idx, h_idx = np.flatnonzero(treated), np.flatnonzero(~treated)
    counts.update(members=int(t_idx.size), members_used=int(t_idx.size), comparison_customers=int(h_idx.size),
                  comparison_rows=int(h_idx.size))

    def stat(wt: np.ndarray, wh: np.ndarray):
        da = wt @ ya[t_idx] / wt.sum(1) - wh @ ya[h_idx] / wh.sum(1)
        ds = wt @ ys[t_idx] / wt.sum(1) - wh @ ys[h_idx] / wh.sum(1)
        return da, (ds if has_amount else None)

    est_a = float(ya[t_idx].mean() - ya[h_idx].mean())
    est_s = float(ys[t_idx].mean() - ys[h_idx].mean()) if has_amount else float("nan")
    reps = _bootstrap(stat, t_idx.size, h_idx.size, n_boot, rng)
    rel = np.arange(-min(m + b, int(Jp.min())), jp + a)
    rows = []
    for k in rel:
        for grp, idx in (("treated", t_idx), ("holdout", h_idx)):
            r, c = part[idx], Jp[idx] + k
            okc = c >= 0
            rows.append((grp, int(k), _window(k, b, m, jp), float(A[r[okc], c[okc]].mean()),
                         float(S[r[okc], c[okc]].mean()) if has_amount else float("nan"), int(okc.sum())))
    trajectory = pd.DataFrame(rows, columns=["group", "relative_period", "window", "active_share",
                                             "spend_per_customer", "customers"])
    desc = (f"randomised holdout: {t_idx.size:,} treated vs {h_idx.size:,} held out; difference of means over the "
            f"{a} {_UNITS[freq]} after the start")
    return _finish("randomized", desc, est_a, est_s, reps, float("nan"), float("nan"), "", trajectory, counts,
                   np.asarray(cust_ids[part[t_idx]]), freq, windows, n_boot, seed, costs, gross_margin, has_amount)


# =============================================================================
# 3. Synthetic data with a known lift
# =============================================================================


def simulate_program(
    n_customers: int = 4000,
    n_periods: int = 24,
    *,
    retention_lift: float = 0.10,
    spend_lift: float = 0.0,
    member_share: float = 0.3,
    self_selection: float = 0.0,
    randomized: bool = False,
    join_range: tuple[int, int] | None = None,
    start: str = "2022-01-01",
    seed: int | None = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Monthly transaction log with a loyalty programme of known effect (definitions §6).

    Each customer has a usual activity level p (probability of buying in a
    month, 0.05..0.75) and a usual spend per active month mu (log-normal,
    median 40). Everyone buys in month 0, then independently each month with
    probability p, spending mu times a Gamma(4) / 4 noise.

    * Observational programme (``randomized=False``): a customer becomes a
      member with probability ``member_share`` when ``self_selection=0``;
      with ``self_selection > 0`` the log-odds rise by ``self_selection``
      per standard deviation of a heavy-buyer score (logit p + 0.5 log mu),
      i.e. frequent, big spenders join more often. A member joins at checkout
      in a month J drawn uniformly from ``join_range`` (default
      7 .. n_periods-5, which leaves room for 3+3 pre-join months and 3 full
      months after), so J holds a purchase.
    * Randomised initiative (``randomized=True``): every customer gets a start
      month J; half, at random, are held out (``holdout`` true).

    From month J+1 on, treated customers buy with probability p +
    ``retention_lift`` and spend mu * (1 + ``spend_lift``) per active month.

    Returns
    -------
    log : pandas.DataFrame
        ``customer_id``, ``timestamp`` (naive), ``amount``, ``is_member``,
        ``member_since`` (NaT for non-members; the start date for every
        participant when randomised), and ``holdout`` when randomised.
    customers : pandas.DataFrame
        One row per customer: ``customer_id``, ``activity`` (p),
        ``spend_level`` (mu), ``is_member`` (treated), ``join_period`` (J or
        -1), ``true_retention_effect`` and ``true_spend_effect`` (expected
        change per post month for the treated: p+lift-p and
        (p+lift) mu (1+spend_lift) - p mu; 0 otherwise).
    """
    if not 0 <= retention_lift <= 0.25:
        raise ParameterError(f"retention_lift={retention_lift!r} must lie in [0, 0.25] (activity stays <= 1).")
    if n_periods < 12:
        raise ParameterError(f"n_periods={n_periods!r} must be >= 12 to leave room for the windows.")
    if not 0 < member_share < 1:
        raise ParameterError(f"member_share={member_share!r} must lie in (0, 1).")
    rng = np.random.default_rng(seed)
    n, T = int(n_customers), int(n_periods)
    lo, hi = join_range if join_range is not None else (7, T - 5)
    if not 1 <= lo <= hi <= T - 2:
        raise ParameterError(f"join_range=({lo}, {hi}) must satisfy 1 <= first <= last <= n_periods - 2.")
    p = 0.05 + 0.70 * rng.beta(2.0, 3.0, n)
    mu = np.exp(np.log(40.0) + 0.5 * rng.standard_normal(n))
    score = np.log(p / (1 - p))
    score = (score - score.mean()) / score.std() + 0.5 * (np.log(mu) - np.log(mu).mean()) / np.log(mu).std()
    J = rng.integers(lo, hi + 1, n)
    if randomized:
        hold = rng.random(n) < 0.5
        treated = ~hold
    else:
        logit = np.log(member_share / (1 - member_share)) + self_selection * score
        treated = rng.random(n) < 1 / (1 + np.exp(-logit))
    t = np.arange(T)
    post = treated[:, None] & (t[None, :] > J[:, None])
    prob = p[:, None] + np.where(post, retention_lift, 0.0)
    active = rng.random((n, T)) < prob
    active[:, 0] = True
    if not randomized:
        active[treated, J[treated]] = True  # joins at checkout
    spend = mu[:, None] * rng.gamma(4.0, 0.25, (n, T)) * np.where(post, 1.0 + spend_lift, 1.0)
    ci, pi = np.nonzero(active)
    starts = pd.date_range(pd.Timestamp(start), periods=T, freq="MS")
    day = rng.integers(0, 28, ci.size)
    secs = rng.integers(0, 86_400, ci.size)
    ts = starts[pi] + pd.to_timedelta(day, "D") + pd.to_timedelta(secs, "s")
    join_ts = starts[J] + pd.to_timedelta(rng.integers(0, 28, n), "D")
    ids = np.arange(1, n + 1)
    if not randomized:
        # the join date is the day of the checkout purchase in month J
        jrow = treated[ci] & (pi == J[ci])
        first_idx = pd.Series(np.flatnonzero(jrow)).groupby(ci[jrow]).first()
        join_ts = pd.DatetimeIndex(join_ts).to_numpy().copy()
        join_ts[first_idx.index.to_numpy()] = np.asarray(ts)[first_idx.to_numpy()]
        join_ts = pd.DatetimeIndex(join_ts)
    since = pd.Series(pd.DatetimeIndex(join_ts)).where(pd.Series(treated | randomized), pd.NaT)
    log = pd.DataFrame({
        "customer_id": ids[ci],
        "timestamp": ts,
        "amount": np.round(spend[ci, pi], 2),
        "is_member": treated[ci],
        "member_since": since.to_numpy()[ci],
    })
    if randomized:
        log["holdout"] = hold[ci]
    log = log.sort_values(["timestamp", "customer_id"], kind="stable").reset_index(drop=True)
    customers = pd.DataFrame({
        "customer_id": ids,
        "activity": p,
        "spend_level": mu,
        "is_member": treated,
        "join_period": np.where(treated | randomized, J, -1),
        "true_retention_effect": np.where(treated, retention_lift, 0.0),
        "true_spend_effect": np.where(treated, (p + retention_lift) * mu * (1 + spend_lift) - p * mu, 0.0),
    })
    return log, customers


__all__ = [
    "NAIVE_WARNING",
    "PARAMETERS",
    "PRESETS",
    "TABLE_COLUMNS",
    "ProgramLift",
    "ScenarioResult",
    "break_even_retention_lift",
    "measure_program_lift",
    "preset_parameters",
    "scenario_roi",
    "sensitivity",
    "simulate_program",
]
