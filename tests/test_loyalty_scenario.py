"""Tests of planned loyalty ROI: retainkit.loyalty.scenario and .parameters (definitions §6), and their charts.

References: the hand-worked scenario of docs/loyalty.md (numbers typed in by
hand) and an independent per-period loop.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retainkit.charts.loyalty import cumulative_cash_chart, roi_sensitivity_chart
from retainkit.exceptions import ParameterError
from retainkit.loyalty import (
    PRESETS,
    TABLE_COLUMNS,
    break_even_retention_lift,
    preset_parameters,
    scenario_roi,
    sensitivity,
)

# ----------------------------------------------------------------- worked example
WORKED = dict(
    members=1000,
    baseline_retention=0.6,
    baseline_spend=200.0,
    retention_lift=0.1,
    spend_lift=0.1,
    margin=0.4,
    earn_rate=1.0,
    point_value=0.02,
    breakage=0.25,
    per_member_cost=2.0,
    fixed_cost=3000.0,
    setup_cost=10000.0,
    membership_fee=0.0,
    horizon=3,
    discount_rate=0.1,
)


def test_worked_example_matches_hand_numbers():
    """The table of docs/loyalty.md, computed by hand (see the doc for each step)."""
    res = scenario_roi(**WORKED)
    t = res.table
    hand = {
        "baseline_customers": [600, 360, 216],
        "program_customers": [700, 490, 343],
        "incremental_customers": [100, 130, 127],
        "baseline_revenue": [120000, 72000, 43200],
        "member_revenue": [154000, 107800, 75460],
        "incremental_revenue": [34000, 35800, 32260],
        "incremental_gross_profit": [13600, 14320, 12904],
        "reward_cost": [2310, 1617, 1131.9],
        "reward_cost_on_baseline_spend": [1800, 1080, 648],
        "other_costs": [4400, 3980, 3686],
        "membership_fees": [0, 0, 0],
        "net_program_cost": [6710, 5597, 4817.9],
        "cash_flow": [6890, 8723, 8086.1],
        "cumulative_cash": [-3110, 5613, 13699.1],
        "discounted_cash_flow": [6890 / 1.1, 8723 / 1.21, 8086.1 / 1.331],
    }
    for col, values in hand.items():
        np.testing.assert_allclose(t[col].to_numpy(), values, rtol=1e-12, atol=1e-9, err_msg=col)
    np.testing.assert_allclose(t["cumulative_discounted_cash"], [-3736.363636, 3472.727273, 9547.933884], atol=1e-6)
    s = res.metrics
    pv_igp = 13600 / 1.1 + 14320 / 1.21 + 12904 / 1.331
    cost = 10000 + 6710 / 1.1 + 5597 / 1.21 + 4817.9 / 1.331
    assert s["incremental_gross_profit"] == pytest.approx(pv_igp, rel=1e-12)
    assert s["total_program_cost"] == pytest.approx(cost, rel=1e-12)
    assert s["npv"] == pytest.approx(9547.933884, abs=1e-6)
    assert s["roi"] == pytest.approx((pv_igp - cost) / cost, rel=1e-12)
    assert s["roi"] == pytest.approx(0.3922, abs=5e-5)
    assert s["payback_period"] == 2
    assert list(t["period"]) == [1, 2, 3]
    assert list(t.columns) == list(TABLE_COLUMNS)
    # break-even lift: NPV there is zero (independent loop), positive above, negative below
    be = s["break_even_retention_lift"]
    assert be == pytest.approx(0.0625, abs=5e-4)
    assert abs(_loop_npv({**WORKED, "retention_lift": be})) < 1e-6
    assert _loop_npv({**WORKED, "retention_lift": be - 0.001}) < 0 < _loop_npv({**WORKED, "retention_lift": be + 0.001})


# ----------------------------------------------------------------- independent loop
def _loop(p: dict) -> dict:
    """Plain per-period loop of definitions §6, written independently of the library."""
    base_alive = float(p["members"])
    prog_alive = float(p["members"])
    cum = -p["setup_cost"]
    pv_igp, pv_cost = 0.0, p["setup_cost"]
    rows = []
    payback = None
    for t in range(1, p["horizon"] + 1):
        base_alive *= p["baseline_retention"]
        prog_alive *= p["baseline_retention"] + p["retention_lift"]
        base_rev = base_alive * p["baseline_spend"]
        mem_rev = prog_alive * p["baseline_spend"] * (1 + p["spend_lift"])
        igp = p["margin"] * (mem_rev - base_rev)
        rewards = mem_rev * p["earn_rate"] * p["point_value"] * (1 - p["breakage"])
        cost = rewards + p["per_member_cost"] * prog_alive + p["fixed_cost"] - p["membership_fee"] * prog_alive
        df = 1.0 / (1 + p["discount_rate"]) ** t
        pv_igp += igp * df
        pv_cost += cost * df
        cum += (igp - cost) * df
        if payback is None and cum >= 0:
            payback = t
        rows.append((igp, rewards, cost, igp - cost, cum))
    npv = pv_igp - pv_cost
    return dict(rows=rows, npv=npv, roi=npv / pv_cost if pv_cost > 0 else float("nan"), payback=payback)


def _loop_npv(p: dict) -> float:
    return _loop(p)["npv"]


scenario_params = st.fixed_dictionaries(
    dict(
        members=st.integers(1, 100_000),
        baseline_retention=st.floats(0.0, 0.95),
        baseline_spend=st.floats(0.0, 500.0),
        retention_lift=st.floats(0.0, 0.04),
        spend_lift=st.floats(-0.5, 1.0),
        margin=st.floats(0.0, 1.0),
        earn_rate=st.floats(0.0, 5.0),
        point_value=st.floats(0.0, 0.05),
        breakage=st.floats(0.0, 1.0),
        per_member_cost=st.floats(0.0, 10.0),
        fixed_cost=st.floats(0.0, 10_000.0),
        setup_cost=st.floats(0.0, 100_000.0),
        membership_fee=st.floats(0.0, 20.0),
        horizon=st.integers(1, 60),
        discount_rate=st.floats(0.0, 0.2),
    )
)


@settings(max_examples=150, deadline=None)
@given(scenario_params)
def test_scenario_matches_independent_loop(p):
    res = scenario_roi(**p)
    ref = _loop(p)
    rows = np.array(ref["rows"])
    scale = 1.0 + np.abs(rows).max()
    np.testing.assert_allclose(res.table["incremental_gross_profit"], rows[:, 0], atol=1e-9 * scale)
    np.testing.assert_allclose(res.table["reward_cost"], rows[:, 1], atol=1e-9 * scale)
    np.testing.assert_allclose(res.table["net_program_cost"], rows[:, 2], atol=1e-9 * scale)
    np.testing.assert_allclose(res.table["cash_flow"], rows[:, 3], atol=1e-9 * scale)
    np.testing.assert_allclose(res.table["cumulative_discounted_cash"], rows[:, 4], atol=1e-8 * scale)
    assert res.metrics["npv"] == pytest.approx(ref["npv"], abs=1e-8 * scale)
    if math.isnan(ref["roi"]):
        assert math.isnan(res.metrics["roi"])
    else:
        assert res.metrics["roi"] == pytest.approx(ref["roi"], rel=1e-7, abs=1e-9)
    # payback: same period except where cumulative cash is within rounding of zero
    if res.metrics["payback_period"] != ref["payback"]:
        assert np.min(np.abs(rows[:, 4])) < 1e-6 * scale
    # identities: NPV = ROI x cost; the subsidy never exceeds the rewards
    s = res.metrics
    if s["total_program_cost"] > 0:
        assert s["npv"] == pytest.approx(s["roi"] * s["total_program_cost"], rel=1e-9, abs=1e-6)
    assert np.all(res.table["reward_cost_on_baseline_spend"] <= res.table["reward_cost"] + 1e-9 * scale)


@settings(max_examples=60, deadline=None)
@given(scenario_params)
def test_break_even_lift_zeroes_npv(p):
    be = break_even_retention_lift(**{k: v for k, v in p.items() if k != "retention_lift"})
    if math.isnan(be):
        # then NPV has one sign over the whole feasible range of lifts
        r = p["baseline_retention"]
        signs = {np.sign(_loop_npv({**p, "retention_lift": x})) for x in np.linspace(-r, 0.999 - r, 25)}
        assert not ({1.0, -1.0} <= signs)
    else:
        scale = (
            1
            + p["members"] * (p["baseline_spend"] + p["per_member_cost"] + p["membership_fee"]) * p["horizon"]
            + p["fixed_cost"] * p["horizon"]
            + p["setup_cost"]
        )
        assert abs(_loop_npv({**p, "retention_lift": be})) < 1e-7 * scale


def test_rewards_are_paid_on_all_member_spend():
    """With no lift at all the programme still pays rewards on every member's spend."""
    res = scenario_roi(preset="points", retention_lift=0.0, spend_lift=0.0)
    t = res.table
    assert np.all(t["incremental_gross_profit"] == 0)
    rate = 1.0 * 0.01 * (1 - 0.25)
    np.testing.assert_allclose(t["reward_cost"], rate * t["member_revenue"])
    np.testing.assert_allclose(t["reward_cost_on_baseline_spend"], t["reward_cost"])
    assert res.metrics["npv"] < 0 and res.metrics["roi"] == pytest.approx(-1.0)
    assert res.metrics["payback_period"] is None


def test_membership_fees_reduce_net_cost():
    p = preset_parameters("paid_membership")
    with_fee = scenario_roi(**p)
    no_fee = scenario_roi(**{**p, "membership_fee": 0.0})
    t = with_fee.table
    np.testing.assert_allclose(t["membership_fees"], p["membership_fee"] * t["program_customers"])
    np.testing.assert_allclose(no_fee.table["net_program_cost"] - t["net_program_cost"], t["membership_fees"])
    assert with_fee.metrics["total_program_cost"] < no_fee.metrics["total_program_cost"]
    # fees covering every cost: the net cost is <= 0 and ROI is undefined, not infinite
    free = scenario_roi(**{**p, "membership_fee": 500.0, "setup_cost": 0.0})
    assert free.metrics["total_program_cost"] < 0 and math.isnan(free.metrics["roi"])


@pytest.mark.parametrize("name", sorted(PRESETS))
def test_presets_run_and_overrides_win(name):
    res = scenario_roi(name)
    assert len(res.table) == PRESETS[name]["horizon"]
    assert math.isfinite(res.metrics["roi"]) and math.isfinite(res.metrics["npv"])
    assert res.parameters["members"] == PRESETS[name]["members"]
    assert scenario_roi(name, horizon=6).table.shape[0] == 6
    assert res.metrics["npv"] == pytest.approx(_loop_npv(res.parameters))
    assert "<table" in res._repr_html_()
    p = preset_parameters(name)
    p["members"] = -1  # a copy: the preset itself is untouched
    assert PRESETS[name]["members"] > 0


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(baseline_retention=1.0), "baseline_retention"),
        (dict(baseline_retention=-0.1), "baseline_retention"),
        (dict(retention_lift=0.2), "retention_lift"),
        (dict(margin=35), "margin"),
        (dict(breakage=1.5), "breakage"),
        (dict(horizon=0), "horizon"),
        (dict(horizon=2.5), "horizon"),
        (dict(members=-5), "members"),
        (dict(fixed_cost="lots"), "fixed_cost"),
        (dict(discount_rate=float("nan")), "discount_rate"),
        (dict(spend_lift=-1.0), "spend_lift"),
    ],
)
def test_bad_parameters_name_the_parameter(kwargs, match):
    with pytest.raises(ParameterError, match=match):
        scenario_roi("points", **{"baseline_retention": 0.85, **kwargs})


def test_missing_parameters_and_unknown_preset():
    with pytest.raises(ParameterError, match="members"):
        scenario_roi(baseline_retention=0.8, baseline_spend=10, retention_lift=0.01, margin=0.3, horizon=12)
    with pytest.raises(ParameterError, match="preset"):
        scenario_roi("cashback")
    with pytest.raises(ParameterError, match="unknown"):
        sensitivity("points", breakge=0.2)


def test_sensitivity_grid():
    grid = sensitivity("points", retention_lifts=[0.0, 0.01, 0.02], breakages=[0.0, 0.3])
    assert list(grid.columns) == ["retention_lift", "breakage", "roi", "npv", "total_program_cost"]
    assert len(grid) == 6
    for row in grid.itertuples():
        ref = scenario_roi("points", retention_lift=row.retention_lift, breakage=row.breakage).metrics
        assert row.roi == pytest.approx(ref["roi"]) and row.npv == pytest.approx(ref["npv"])
    # more breakage = fewer rewards paid = higher ROI; more lift = higher ROI here
    wide = grid.pivot(index="retention_lift", columns="breakage", values="roi")
    assert np.all(np.diff(wide.to_numpy(), axis=1) > 0)
    assert np.all(np.diff(wide.to_numpy(), axis=0) > 0)


# ----------------------------------------------------------------- charts
def test_cumulative_cash_chart_spec():
    res = scenario_roi(**WORKED)
    spec = cumulative_cash_chart(res.table).to_dict()
    assert len(spec["layer"]) == 4  # zero rule, line, payback point, label
    data = spec["datasets"]
    line_values = next(v for v in data.values() if len(v) == 4)
    assert [round(r["cumulative"], 6) for r in line_values] == [-10000.0, -3736.363636, 3472.727273, 9547.933884]
    labels = [r["label"] for v in data.values() for r in v if r.get("label")]
    assert "payback: period 2" in labels
    assert "period 2" in spec["title"]["subtitle"]
    never = scenario_roi("points", retention_lift=0.0, spend_lift=0.0)
    spec2 = cumulative_cash_chart(never).to_dict()
    assert len(spec2["layer"]) == 2 and "No payback" in spec2["title"]["subtitle"]


def test_roi_sensitivity_chart_spec():
    grid = sensitivity("points", retention_lifts=[0.0, 0.02], breakages=[0.0, 0.5])
    spec = roi_sensitivity_chart(grid).to_dict()
    rect = spec["layer"][0]
    assert rect["mark"]["type"] == "rect"
    assert rect["encoding"]["color"]["field"] == "roi"
    assert rect["encoding"]["color"]["scale"]["domainMid"] == 0
    values = next(iter(spec["datasets"].values()))
    assert len(values) == 4
    assert {r["breakage_label"] for r in values} == {"0%", "50%"}


def test_gross_margin_is_a_deprecated_spelling_of_margin():
    new = scenario_roi("points", members=1000, margin=0.3)
    with pytest.warns(DeprecationWarning, match=r"scenario_roi\(gross_margin=\.\.\.\).*margin="):
        old = scenario_roi("points", members=1000, gross_margin=0.3)
    assert old.metrics == new.metrics


def test_summary_dict_and_summary_frame_are_deprecated_spellings():
    res = scenario_roi("points")
    assert isinstance(res.summary, pd.DataFrame) and list(res.summary.columns) == ["metric", "value"]
    assert list(res.summary["metric"]) == list(res.metrics)
    with pytest.warns(DeprecationWarning, match=r"ScenarioResult.summary\['roi'\].*ScenarioResult.metrics\['roi'\]"):
        assert res.summary["roi"] == res.metrics["roi"]
    with pytest.warns(DeprecationWarning, match=r"ScenarioResult.summary_frame\(\).*ScenarioResult.summary"):
        frame = res.summary_frame()
    pd.testing.assert_frame_equal(frame, pd.DataFrame(res.summary))
