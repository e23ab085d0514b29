"""Tests for retainkit.economics (retention -> profit lifecycle model, the "5 %" lesson)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from retainkit.clv import clv_margin_multiple
from retainkit.economics import (
    REICHHELD_SASSER_RANGE,
    five_percent_claim_grid,
    lifecycle_profit,
    retention_profit_impact,
)
from retainkit.exceptions import ParameterError

SMALL = dict(
    acquisition_cost=10.0,
    margin=20.0,
    margin_growth=0.1,
    cost_to_serve=4.0,
    cost_to_serve_decline=0.25,
    referral_rate=0.1,
    discount_rate=0.1,
    horizon=3,
    customers=100,
)


def test_small_case_by_hand():
    res = retention_profit_impact(retention=0.5, retention_lift=0.1, **SMALL)
    # profit if active: year 1: 20 - 4 + 0.1*10 = 17; year 2: 22 - 3 + 1 = 20; year 3: 24.2 - 2.25 + 1 = 22.95
    before = -10 + 17 / 1.1 + 0.5 * 20 / 1.1**2 + 0.25 * 22.95 / 1.1**3
    after = -10 + 17 / 1.1 + 0.6 * 20 / 1.1**2 + 0.36 * 22.95 / 1.1**3
    s = res.metrics
    assert s["npv_before"] == pytest.approx(before, rel=1e-12)
    assert s["npv_after"] == pytest.approx(after, rel=1e-12)
    assert s["profit_increase_pct"] == pytest.approx(100 * (after - before) / before, rel=1e-12)
    assert s["total_npv_before"] == pytest.approx(100 * before)
    assert s["expected_years_before"] == pytest.approx(1 + 0.5 + 0.25)
    t = res.table[res.table.scenario == "before"].set_index("year")
    np.testing.assert_allclose(t.loc[1:, "profit_if_active"], [17, 20, 22.95])
    np.testing.assert_allclose(t.loc[1:, "growth_profit"], [0, 2, 4.2])
    np.testing.assert_allclose(t.loc[1:, "cost_savings"], [0, 1, 1.75])
    np.testing.assert_allclose(t.loc[1:, "referral_profit"], [1, 1, 1])
    np.testing.assert_allclose(t.loc[1:, "base_profit"], [16, 16, 16])
    assert t.loc[0, "expected_profit"] == -10
    np.testing.assert_allclose(t.loc[1:, "active_customers"], [100, 50, 25])
    np.testing.assert_allclose(t["cumulative_npv"].iloc[-1], before)


def test_retention_cost_from_ratio_by_hand():
    res = retention_profit_impact(retention=0.5, retention_lift=0.1, acquisition_to_retention_cost_ratio=5.0, **SMALL)
    # each saved customer costs 10 / 5 = 2; saved in year 2: 0.1 * S(1) = 0.1, in year 3: 0.1 * 0.6
    after = -10 + 17 / 1.1 + (0.6 * 20 - 0.1 * 2) / 1.1**2 + (0.36 * 22.95 - 0.1 * 0.6 * 2) / 1.1**3
    assert res.metrics["npv_after"] == pytest.approx(after, rel=1e-12)
    assert res.metrics["retention_cost_per_saved_customer"] == 2.0
    free = retention_profit_impact(retention=0.5, retention_lift=0.1, **SMALL)
    assert res.metrics["npv_before"] == free.metrics["npv_before"]  # the base case pays nothing


def test_long_horizon_matches_margin_multiple():
    # constant profit m, no growth: NPV + acquisition -> m / (1 + d - r) = CLV(start) / (1 + d)
    m, r, d = 30.0, 0.8, 0.1
    t = lifecycle_profit(retention=r, acquisition_cost=0.0, margin=m, discount_rate=d, horizon=400)
    npv = t["discounted_profit"].sum()
    assert npv == pytest.approx(clv_margin_multiple(m, r, d, timing="start") / (1 + d), rel=1e-10)
    assert npv == pytest.approx(m / (1 + d - r), rel=1e-10)


def test_table_is_tidy_and_consistent():
    res = retention_profit_impact()
    tab = res.table
    assert set(tab["scenario"]) == {"before", "after"}
    assert len(tab) == 2 * 21
    for _, g in tab.groupby("scenario"):
        np.testing.assert_allclose(g["cumulative_npv"], g["discounted_profit"].cumsum())
        np.testing.assert_allclose(g["total_profit"], 1000 * g["expected_profit"])
    assert res.metrics["retention_after"] == pytest.approx(0.85)
    assert "Reichheld" in tab.attrs["source"]


def test_claim_depends_on_parameters_not_hard_coded():
    base = retention_profit_impact(retention=0.8).metrics["profit_increase_pct"]
    other = retention_profit_impact(retention=0.8, discount_rate=0.2).metrics["profit_increase_pct"]
    cheap = retention_profit_impact(retention=0.5, acquisition_cost=10.0).metrics["profit_increase_pct"]
    assert base != other
    assert cheap < 25  # cheap acquisition, low base retention: far below the quoted range
    s = retention_profit_impact(retention=0.5, margin_growth=0.04).metrics
    assert s["profit_increase_pct"] > 95 and not s["in_claimed_range"]  # thin NPV before: it explodes


def test_five_percent_grid():
    grid = five_percent_claim_grid(acquisition_cost=10.0)
    assert list(grid.columns) == [
        "retention",
        "margin_growth",
        "npv_before",
        "npv_after",
        "profit_increase_pct",
        "npv_before_positive",
        "in_claimed_range",
    ]
    assert grid["in_claimed_range"].any() and not grid["in_claimed_range"].all()
    row = grid[(grid.retention == 0.8) & (grid.margin_growth == 0.08)].iloc[0]
    direct = retention_profit_impact(retention=0.8, margin_growth=0.08, acquisition_cost=10.0).metrics
    assert row["profit_increase_pct"] == pytest.approx(direct["profit_increase_pct"])
    inside = grid["profit_increase_pct"].between(25, 95)
    assert (grid["in_claimed_range"] == inside).all()
    # NPV before <= 0: a percentage increase means nothing -> NaN, never in range
    neg = five_percent_claim_grid(retentions=[0.3], margin_growths=[0.0], acquisition_cost=100.0)
    assert not neg["npv_before_positive"].iloc[0] and math.isnan(neg["profit_increase_pct"].iloc[0])
    # retention + lift > 1 is skipped
    assert len(five_percent_claim_grid(retentions=[0.97], margin_growths=[0.0])) == 0
    with pytest.raises(ParameterError):
        five_percent_claim_grid(retention=0.5)


def test_grid_without_acquisition_cost_against_a_loop():
    """acquisition_cost=0: the percent is the rise in the customer's gross value (notebook 04's second grid)."""
    grid = five_percent_claim_grid(retentions=(0.5, 0.8), margin_growths=(0.0, 0.08), acquisition_cost=0.0)

    def value(r: float, g: float) -> float:
        return sum(r ** (t - 1) * 30 * (1 + g) ** (t - 1) / 1.1**t for t in range(1, 21))

    for _, row in grid.iterrows():
        r, g = row["retention"], row["margin_growth"]
        assert row["npv_before"] == pytest.approx(value(r, g))
        assert row["profit_increase_pct"] == pytest.approx(100 * (value(r + 0.05, g) / value(r, g) - 1))
    # with no profit growth the same 5 points raise a customer's value by 9-20 % for r = 0.5-0.8
    no_growth = grid[grid["margin_growth"] == 0.0]["profit_increase_pct"]
    assert no_growth.between(9, 20).all()
    assert grid.attrs["params"] == {"acquisition_cost": 0.0}
    assert REICHHELD_SASSER_RANGE == (25.0, 85.0)


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(retention=1.2),
        dict(retention=0.98, retention_lift=0.05),
        dict(horizon=0),
        dict(discount_rate=-1),
        dict(acquisition_cost=-1),
        dict(cost_to_serve_decline=1.5),
        dict(acquisition_to_retention_cost_ratio=0),
        dict(margin_growth=float("nan")),
    ],
)
def test_validation(kwargs):
    with pytest.raises(ParameterError):
        retention_profit_impact(**kwargs)


params = st.fixed_dictionaries(
    {
        "acquisition_cost": st.floats(0, 200),
        "margin": st.floats(5, 200),
        "margin_growth": st.floats(0, 0.3),
        "cost_to_serve": st.floats(0, 4),
        "cost_to_serve_decline": st.floats(0, 1),
        "referral_rate": st.floats(0, 0.5),
        "discount_rate": st.floats(0, 0.3),
        "horizon": st.integers(1, 30),
    }
)


@settings(max_examples=80, deadline=None)
@given(p=params, r1=st.floats(0, 1), r2=st.floats(0, 1))
def test_more_retention_never_lowers_npv(p, r1, r2):
    # margin above the cost to serve: every customer-year is profitable
    lo, hi = sorted((r1, r2))
    npv_lo = lifecycle_profit(retention=lo, **p)["discounted_profit"].sum()
    npv_hi = lifecycle_profit(retention=hi, **p)["discounted_profit"].sum()
    assert npv_hi >= npv_lo - 1e-9 * max(1.0, abs(npv_lo))


@settings(max_examples=60, deadline=None)
@given(p=params, r=st.floats(0, 0.9), lift=st.floats(0, 0.1))
def test_lift_never_hurts_without_cost_and_zero_lift_is_zero(p, r, lift):
    s = retention_profit_impact(retention=r, retention_lift=lift, **p).metrics
    assert s["npv_after"] >= s["npv_before"] - 1e-9 * max(1.0, abs(s["npv_before"]))
    s0 = retention_profit_impact(retention=r, retention_lift=0.0, **p).metrics
    if s0["npv_before"] > 0:
        assert s0["profit_increase_pct"] == pytest.approx(0.0, abs=1e-9)


@settings(max_examples=60, deadline=None)
@given(p=params, r=st.floats(0, 0.95), g2=st.floats(0, 0.3), ref2=st.floats(0, 0.5), ratio=st.floats(0.5, 20))
def test_monotone_in_growth_referrals_and_cost(p, r, g2, ref2, ratio):
    base = lifecycle_profit(retention=r, **p)["discounted_profit"].sum()
    assume(g2 >= p["margin_growth"])
    more_growth = lifecycle_profit(retention=r, **{**p, "margin_growth": g2})["discounted_profit"].sum()
    assert more_growth >= base - 1e-9 * max(1.0, abs(base))
    if ref2 >= p["referral_rate"]:
        more_ref = lifecycle_profit(retention=r, **{**p, "referral_rate": ref2})["discounted_profit"].sum()
        assert more_ref >= base - 1e-9 * max(1.0, abs(base))
    if r <= 0.9:
        free = retention_profit_impact(retention=r, **p).metrics["npv_after"]
        paid = retention_profit_impact(retention=r, acquisition_to_retention_cost_ratio=ratio, **p).metrics["npv_after"]
        assert paid <= free + 1e-12


def test_does_not_mutate_and_returns_frames():
    res = retention_profit_impact()
    assert isinstance(res.table, pd.DataFrame) and isinstance(res.summary, pd.DataFrame)
    assert isinstance(res.metrics, dict) and list(res.summary["metric"]) == list(res.metrics)


def test_base_margin_and_the_summary_series_are_deprecated_spellings():
    new = retention_profit_impact(margin=25.0)
    with pytest.warns(DeprecationWarning, match=r"retention_profit_impact\(base_margin=\.\.\.\).*margin="):
        old = retention_profit_impact(base_margin=25.0)
    assert old.metrics == new.metrics
    with pytest.warns(DeprecationWarning, match=r"lifecycle_profit\(base_margin=\.\.\.\)"):
        t = lifecycle_profit(retention=0.8, acquisition_cost=10.0, base_margin=25.0)
    pd.testing.assert_frame_equal(t, lifecycle_profit(retention=0.8, acquisition_cost=10.0, margin=25.0))
    with pytest.raises(ParameterError, match="pass margin= only"):
        retention_profit_impact(margin=25.0, base_margin=25.0)
    with pytest.warns(
        DeprecationWarning, match=r"ProfitImpact.summary\['npv_after'\].*ProfitImpact.metrics\['npv_after'\]"
    ):
        assert new.summary["npv_after"] == new.metrics["npv_after"]
    assert new.summary.set_index("metric").loc["npv_after", "value"] == new.metrics["npv_after"]
