"""Notebook 05's exercises: loyalty programmes, planned and measured (definitions §6)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import pandas as pd

from ..loyalty import ProgramLift, preset_parameters, scenario_roi
from .data import PROGRAM_SIM, TIERS, program_lift, tier_spend
from .exercise import Exercise

__all__ = ["EXERCISES", "did_by_hand", "tier_discount", "tier_table"]


def tier_discount(spend: Any, tiers: Sequence[tuple[float, float]] = TIERS) -> np.ndarray:
    """Discount each member earns under a cumulative-discount scheme (definitions §6 "Scenario (planned) ROI").

    ``tiers`` are (yearly spend threshold, discount rate) pairs, thresholds
    ascending from 0: the rate of a tier applies to the part of a member's
    yearly spend between its threshold and the next one (spend past 1,000
    earns the top rate, spend below 200 nothing, with :data:`TIERS`).

    Parameters
    ----------
    spend : array-like
        Yearly spend per member (>= 0).
    tiers : sequence of (float, float)

    Returns
    -------
    numpy.ndarray
        Discount per member, in currency.
    """
    x = np.asarray(spend, dtype="float64")
    thresholds = np.array([t for t, _ in tiers], dtype="float64")
    rates = np.array([r for _, r in tiers], dtype="float64")
    upper = np.r_[thresholds[1:], np.inf]
    band = np.clip(x[:, None] - thresholds[None, :], 0.0, upper - thresholds)
    return band @ rates


def did_by_hand(lift: ProgramLift) -> dict[str, float]:
    """The 2 x 2 difference in differences from a lift's trajectory (definitions §6 "Measured ROI").

    Mean active share per (group, window) over the baseline and post windows;
    lift = (members post - members baseline) - (comparison post - comparison
    baseline). Equals ``lift.retention_lift`` for the matched design, because
    the comparison rows of the trajectory are weighted to the members' strata.

    Returns
    -------
    dict
        ``members_baseline``, ``members_post``, ``comparison_baseline``,
        ``comparison_post``, ``did``.
    """
    t = lift.table
    means = t[t["window"].isin(["baseline", "post"])].groupby(["group", "window"])["active_share"].mean()
    treated, control = list(dict.fromkeys(t["group"]))
    out = {
        "members_baseline": float(means[(treated, "baseline")]),
        "members_post": float(means[(treated, "post")]),
        "comparison_baseline": float(means[(control, "baseline")]),
        "comparison_post": float(means[(control, "post")]),
    }
    out["did"] = (out["members_post"] - out["members_baseline"]) - (out["comparison_post"] - out["comparison_baseline"])
    return out


def _reward_rate() -> float:
    p = preset_parameters("points")
    return p["earn_rate"] * p["point_value"] * (1 - p["breakage"])


def _reward_mistakes() -> list[tuple[Any, str]]:
    p = preset_parameters("points")
    return [
        (
            p["earn_rate"] * p["point_value"],
            "If you left out breakage: a quarter of the points are never redeemed, so they cost nothing.",
        ),
        (
            p["earn_rate"] * p["point_value"] * p["breakage"],
            "If you multiplied by breakage: breakage is the share NOT redeemed; the cost comes from the rest.",
        ),
    ]


def _effective() -> float:
    spend = tier_spend()
    return float(tier_discount(spend).sum() / spend.sum())


def _effective_mistakes() -> list[tuple[Any, str]]:
    spend = tier_spend().to_numpy()
    disc = tier_discount(spend)
    rates = np.array([r for _, r in TIERS])
    thresholds = np.array([t for t, _ in TIERS])
    reached = rates[np.searchsorted(thresholds, spend, side="right") - 1]
    return [
        (
            max(rates),
            "If you gave the top rate: only spend past the top threshold earns it, and few members get there.",
        ),
        (
            float(np.mean(disc / spend)),
            "If you averaged each member's own discount rate: the programme's cost "
            "is total discount / total spend (a big spender weighs more).",
        ),
        (
            float((reached * spend).sum() / spend.sum()),
            "If you gave each member their tier's rate on ALL their "
            "spend: here a rate applies only to the spend above its "
            "threshold.",
        ),
    ]


def _roi() -> float:
    return float(scenario_roi("points").metrics["roi"])


def _roi_mistakes() -> list[tuple[Any, str]]:
    s = scenario_roi("points").metrics
    return [
        (float(s["npv"]), "If you gave profit minus cost in money: ROI divides it by the programme cost."),
        (
            float(s["incremental_gross_profit"] / s["total_program_cost"]),
            "If you divided profit by cost: ROI is (profit - cost) / cost.",
        ),
    ]


def _break_even_40() -> float:
    return float(scenario_roi("points", breakage=0.4).metrics["break_even_retention_lift"])


def _overstate() -> float:
    return float(program_lift().naive_retention_gap - PROGRAM_SIM["retention_lift"])


def _overstate_mistakes() -> list[tuple[Any, str]]:
    lift = program_lift()
    truth = PROGRAM_SIM["retention_lift"]
    return [
        (float(lift.naive_retention_gap), "If you gave the naive gap itself: subtract the true lift (5 points)."),
        (
            float(lift.retention_lift - truth),
            "If you compared the matched difference-in-differences estimate with "
            "the truth: the question is about the naive gap.",
        ),
        (
            float(truth - lift.naive_retention_gap),
            "If you subtracted the gap from the truth: the sign is gap minus truth.",
        ),
    ]


def _did_mistakes() -> list[tuple[Any, str]]:
    h = did_by_hand(program_lift())
    t = program_lift().table
    match = t[t["window"] == "matching"].groupby("group")["active_share"].mean()
    treated, control = list(dict.fromkeys(t["group"]))
    return [
        (
            h["members_post"] - h["members_baseline"],
            "If you took only the members' change: the comparison group "
            "changed too (without any programme); subtract its change.",
        ),
        (
            h["members_post"] - h["comparison_post"],
            "If you compared the two groups after joining only: that keeps "
            "any difference they had before. Difference the changes.",
        ),
        (
            (h["members_post"] - match[treated]) - (h["comparison_post"] - match[control]),
            "If you measured the change from the matching window: the groups were made equal there, so their later "
            "drift back to their usual level (regression to the mean) biases it. Start from the baseline window.",
        ),
    ]


EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "05.1",
        "Reward cost as a share of member spend in the 'points' preset.",
        "rate",
        _reward_rate,
        (
            "Per unit spent, how many points are earned, and what is one redeemed point worth?",
            "Only the redeemed points cost anything: breakage is the share never redeemed.",
        ),
        "p = preset_parameters('points'); p['earn_rate'] * p['point_value'] * (1 - p['breakage'])",
        _reward_mistakes,
        tol=5e-5,
    ),
    Exercise(
        "05.2",
        "Tiered discount (0 % up to 200 a year, 2 % from 200, 5 % from 500, 10 % from 1,000, each on the "
        "spend above its threshold): the effective discount over all members' spend (3 decimals).",
        "rate",
        _effective,
        (
            "The programme's cost is the discount it pays; compare it with the spend it is paid on.",
            "Work out each member's discount band by band, then total discount / total spend.",
            "A member spending 600 gets 2 % of 300 plus 5 % of 100.",
        ),
        "workshop.tier_discount(spend).sum() / spend.sum()",
        _effective_mistakes,
        tol=5e-4,
        level="pandas",
    ),
    Exercise(
        "05.3",
        "ROI of the 'points' preset, from its incremental gross profit and programme cost (shown above; 3 decimals).",
        "rate",
        _roi,
        (
            "ROI compares what the programme returns with what it costs.",
            "ROI = (PV incremental gross profit - programme cost) / programme cost.",
        ),
        "(s['incremental_gross_profit'] - s['total_program_cost']) / s['total_program_cost']",
        _roi_mistakes,
        tol=5e-4,
    ),
    Exercise(
        "05.4",
        "Predict, then compute: if breakage rose from 25 % to 40 %, what would the break-even retention lift "
        "of the 'points' preset be (percentage points, 3 decimals)?",
        "rate",
        _break_even_40,
        (
            "More breakage: are rewards cheaper or dearer? Does the programme then need more or less lift to pay?",
            "scenario_roi takes any preset parameter as a keyword; its metrics have the break-even lift.",
        ),
        "scenario_roi('points', breakage=0.4).metrics['break_even_retention_lift']",
        lambda: [
            (
                float(scenario_roi("points").metrics["break_even_retention_lift"]),
                "If you got the preset's break-even lift: change breakage to 0.4.",
            ),
            (
                float(preset_parameters("points")["retention_lift"]),
                "If you gave the preset's assumed lift: the break-even lift is where the NPV crosses 0.",
            ),
        ],
        tol=5e-5,
    ),
    Exercise(
        "05.5",
        "On the simulated programme (true lift: +5 points), by how many points does the naive "
        "members-vs-others gap overstate the true lift?",
        "rate",
        _overstate,
        ("Find the naive gap in the result above.", "Overstatement = naive gap - true lift."),
        "lift.naive_retention_gap - 0.05",
        _overstate_mistakes,
        tol=5e-4,
    ),
    Exercise(
        "05.6",
        "Why is the naive gap so much bigger than the true lift? (a) the programme works better than "
        "designed, (b) heavy buyers join more often (self-selection), (c) the bootstrap is too small.",
        "choice",
        lambda: "b",
        ("Look at who joins.", "Compare members' and others' activity BEFORE anyone joined (the table above)."),
        "'b'",
        options={
            "a": "a",
            "(a)": "a",
            "b": "b",
            "(b)": "b",
            "self-selection": "b",
            "self selection": "b",
            "c": "c",
            "(c)": "c",
        },
        mistakes=lambda: [
            (
                "a",
                "If you think the programme works better: the true lift is known, 5 points by "
                "construction. The gap is bigger for another reason.",
            ),
            ("c", "If you suspect the bootstrap: more resamples narrow the interval; they do not move the naive gap."),
        ],
    ),
    Exercise(
        "05.7",
        "Compute the 2 x 2 difference in differences from lift.table (the trajectory): the members' change from the "
        "baseline to the post window minus the comparison group's change (4 decimals).",
        "rate",
        lambda: did_by_hand(program_lift())["did"],
        (
            "Four numbers: each group's mean active share in the baseline window and in the post window.",
            "Group the trajectory by group and window and average active_share.",
            "(members post - members baseline) - (comparison post - comparison baseline).",
        ),
        "h = lift.table.groupby(['group', 'window'])['active_share'].mean(); "
        "(h['members', 'post'] - h['members', 'baseline']) - (h['matched comparison', 'post'] - "
        "h['matched comparison', 'baseline'])",
        _did_mistakes,
        tol=5e-5,
        level="pandas",
    ),
)


def tier_table(spend: pd.Series | None = None) -> pd.DataFrame:
    """Members, spend and discount per tier reached, for notebook 05's tier example (definitions §6)."""
    spend = tier_spend() if spend is None else spend
    thresholds = [t for t, _ in TIERS]
    tier = pd.cut(spend, bins=[*thresholds, np.inf], right=False, labels=[f"from {t:,.0f}" for t in thresholds])
    frame = pd.DataFrame({"tier reached": tier, "spend": spend, "discount": tier_discount(spend)})
    out = frame.groupby("tier reached", observed=False).agg(
        members=("spend", "size"), spend=("spend", "sum"), discount=("discount", "sum")
    )
    out["effective_discount"] = out["discount"] / out["spend"]
    return out
