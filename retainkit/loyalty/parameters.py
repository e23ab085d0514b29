"""The scenario parameters of planned loyalty ROI: their meanings, presets and validation (definitions §6).

:data:`PARAMETERS` names every assumption of :func:`~retainkit.loyalty.scenario_roi`,
:data:`PRESETS` holds illustrative starting points for four programme types,
and :func:`resolve_parameters` merges a preset with the given values and checks
every one (the message names the parameter and its meaning).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from ..exceptions import ParameterError
from ..i18n import N_

#: Every scenario parameter with its meaning (the order is the signature's).
PARAMETERS: dict[str, str] = {
    "members": N_("members enrolled at the start (period 0)"),
    "baseline_retention": N_(
        "share of customers still buying from one period to the next without the programme (0..1)"
    ),
    "baseline_spend": N_("spend (revenue) per retained customer per period without the programme"),
    "retention_lift": N_("absolute increase of the per-period retention rate for members (0.03 = +3 points)"),
    "spend_lift": N_("relative increase of spend per retained member per period (0.10 = +10 %)"),
    "margin": N_("gross margin on spend (0..1)"),
    "earn_rate": N_("points earned per currency unit spent"),
    "point_value": N_("cost to the business of one redeemed point (currency)"),
    "breakage": N_("share of earned points never redeemed (0..1)"),
    "per_member_cost": N_("service cost per active member per period (cards, mailings, perks)"),
    "fixed_cost": N_("fixed running cost per period (platform, staff)"),
    "setup_cost": N_("one-off cost at the start (period 0, not discounted)"),
    "membership_fee": N_("fee paid by each active member per period (paid memberships)"),
    "horizon": N_("number of periods H"),
    "discount_rate": N_("discount rate per period d"),
}
REQUIRED = ("members", "baseline_retention", "baseline_spend", "retention_lift", "margin", "horizon")
OPTIONAL_DEFAULTS: dict[str, float] = {
    "spend_lift": 0.0,
    "earn_rate": 0.0,
    "point_value": 0.0,
    "breakage": 0.0,
    "per_member_cost": 0.0,
    "fixed_cost": 0.0,
    "setup_cost": 0.0,
    "membership_fee": 0.0,
    "discount_rate": 0.0,
}

#: Illustrative presets for four programme types (periods are months). The
#: values are plausible orders of magnitude, NOT benchmarks: replace every one
#: with your own numbers. See docs/loyalty.md for the reasoning behind each.
PRESETS: dict[str, dict[str, float]] = {
    # Points per currency unit, redeemable for rewards: 1 point per unit spent,
    # a point worth 1 cent (1 % back), a quarter of points never redeemed.
    "points": dict(
        members=10_000,
        baseline_retention=0.85,
        baseline_spend=50.0,
        retention_lift=0.02,
        spend_lift=0.05,
        margin=0.35,
        earn_rate=1.0,
        point_value=0.01,
        breakage=0.25,
        per_member_cost=0.10,
        fixed_cost=2_000.0,
        setup_cost=20_000.0,
        membership_fee=0.0,
        horizon=24,
        discount_rate=0.008,
    ),
    # Tiered / cumulative discounts: the discount grows with cumulative spend;
    # modelled as an average effective discount of 3 % of member spend
    # (earn_rate 1 x point_value 0.03), applied at checkout, so no breakage.
    "tiered": dict(
        members=10_000,
        baseline_retention=0.85,
        baseline_spend=50.0,
        retention_lift=0.03,
        spend_lift=0.08,
        margin=0.35,
        earn_rate=1.0,
        point_value=0.03,
        breakage=0.0,
        per_member_cost=0.05,
        fixed_cost=1_500.0,
        setup_cost=15_000.0,
        membership_fee=0.0,
        horizon=24,
        discount_rate=0.008,
    ),
    # Paid membership (free shipping / member prices for a monthly fee): the
    # fee is revenue, the perks are a per-member cost, a small cashback.
    "paid_membership": dict(
        members=5_000,
        baseline_retention=0.85,
        baseline_spend=60.0,
        retention_lift=0.04,
        spend_lift=0.15,
        margin=0.30,
        earn_rate=1.0,
        point_value=0.01,
        breakage=0.10,
        per_member_cost=7.0,
        fixed_cost=3_000.0,
        setup_cost=30_000.0,
        membership_fee=5.0,
        horizon=24,
        discount_rate=0.008,
    ),
    # Gamified engagement (badges, streaks, challenges): small monetary
    # rewards, many never claimed, but an app to build and run.
    "gamified": dict(
        members=20_000,
        baseline_retention=0.85,
        baseline_spend=40.0,
        retention_lift=0.015,
        spend_lift=0.02,
        margin=0.35,
        earn_rate=1.0,
        point_value=0.002,
        breakage=0.50,
        per_member_cost=0.05,
        fixed_cost=5_000.0,
        setup_cost=50_000.0,
        membership_fee=0.0,
        horizon=24,
        discount_rate=0.008,
    ),
}


def is_missing(x: Any) -> bool:
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


def resolve_parameters(preset: str | None, given: Mapping[str, Any]) -> dict[str, float]:
    params: dict[str, Any] = dict(OPTIONAL_DEFAULTS)
    if preset is not None:
        params.update(preset_parameters(preset))
    for k, v in given.items():
        if v is not None:
            params[k] = v
    missing = [k for k in REQUIRED if params.get(k) is None]
    if missing:
        raise ParameterError(
            f"scenario_roi needs {', '.join(missing)} (no preset given). Pass them, or start from "
            f"a preset: scenario_roi(preset='points', ...). Presets: {sorted(PRESETS)}."
        )
    validate_parameters(params)
    return params


def as_number(name: str, value: Any) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ParameterError(f"{name}={value!r} is not a number ({PARAMETERS[name]}).") from None
    if not math.isfinite(x):
        raise ParameterError(f"{name}={value!r} must be a finite number ({PARAMETERS[name]}).")
    return x


def validate_parameters(p: dict[str, Any]) -> None:
    for k in PARAMETERS:
        p[k] = as_number(k, p[k])
    h = p["horizon"]
    if h != int(h) or h < 1:
        raise ParameterError(f"horizon={h!r} must be a whole number of periods >= 1.")
    p["horizon"] = int(h)
    for k in (
        "members",
        "baseline_spend",
        "earn_rate",
        "point_value",
        "per_member_cost",
        "fixed_cost",
        "setup_cost",
        "membership_fee",
    ):
        if p[k] < 0:
            raise ParameterError(f"{k}={p[k]!r} must be >= 0 ({PARAMETERS[k]}).")
    for k in ("margin", "breakage"):
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


def check_parameter_names(params: Mapping[str, Any]) -> None:
    unknown = sorted(set(params) - set(PARAMETERS))
    if unknown:
        raise ParameterError(f"unknown scenario parameter(s) {unknown}; the parameters are {list(PARAMETERS)}.")


__all__ = [
    "OPTIONAL_DEFAULTS",
    "PARAMETERS",
    "PRESETS",
    "REQUIRED",
    "as_number",
    "check_parameter_names",
    "is_missing",
    "preset_parameters",
    "resolve_parameters",
    "validate_parameters",
]
