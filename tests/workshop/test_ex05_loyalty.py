"""Notebook 05's model answers: tiers by a loop, ROI from its parts, DiD by hand (definitions §6)."""

from __future__ import annotations

import pytest

from retainkit import workshop
from retainkit.loyalty import PRESETS, scenario_roi


def _discount_loop(spend: float) -> float:
    total = 0.0
    tiers = list(workshop.TIERS) + [(float("inf"), 0.0)]
    for (lo, rate), (hi, _) in zip(tiers, tiers[1:]):
        if spend > lo:
            total += rate * (min(spend, hi) - lo)
    return total


def test_tier_discount_against_a_loop():
    spend = workshop.tier_spend()
    disc = [_discount_loop(s) for s in spend]
    assert workshop.tier_discount(spend) == pytest.approx(disc)
    assert workshop.tier_discount([600.0])[0] == pytest.approx(0.02 * 300 + 0.05 * 100)
    assert workshop.solution("05.2") == pytest.approx(sum(disc) / spend.sum())
    table = workshop.tier_table()
    assert table["members"].sum() == len(spend) and table["discount"].sum() == pytest.approx(sum(disc))


def test_reward_rate_roi_and_break_even():
    p = PRESETS["points"]
    assert workshop.solution("05.1") == pytest.approx(p["earn_rate"] * p["point_value"] * (1 - p["breakage"]))
    s = scenario_roi("points").metrics
    assert workshop.solution("05.3") == pytest.approx(
        (s["incremental_gross_profit"] - s["total_program_cost"]) / s["total_program_cost"]
    )
    # more breakage = cheaper rewards = a smaller lift pays for the programme
    assert workshop.solution("05.4") < s["break_even_retention_lift"]


def test_naive_gap_and_did_by_hand():
    lift = workshop.program_lift()
    assert workshop.solution("05.5") == pytest.approx(lift.naive_retention_gap - 0.05)
    assert lift.naive_retention_gap > 2 * workshop.PROGRAM_SIM["retention_lift"]  # self-selection inflates it
    t = lift.table
    m = t.groupby(["group", "window"])["active_share"].mean()
    by_hand = (m["members", "post"] - m["members", "baseline"]) - (
        m["matched comparison", "post"] - m["matched comparison", "baseline"]
    )
    assert by_hand == pytest.approx(lift.retention_lift, abs=1e-12)  # the 2 x 2 equals the library's estimate
    assert workshop.solution("05.7") == pytest.approx(by_hand)
    assert workshop.solution("05.6") == "b"
