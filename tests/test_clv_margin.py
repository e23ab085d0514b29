"""Tests for retainkit.clv.margin: the margin multiple and empirical CLV (definitions §5 "Lifetime value")."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retainkit.clv import clv_margin_multiple, empirical_clv
from retainkit.exceptions import DataError, ParameterError


# =========================================================================== margin multiple
def brute_clv(m, r, d, timing, n_terms=20000):
    start = 1 if timing == "end" else 0
    t = np.arange(start, n_terms)
    return float(np.sum(m * (r / (1 + d)) ** t))


@pytest.mark.parametrize("timing", ["end", "start"])
@pytest.mark.parametrize("m,r,d", [(100, 0.8, 0.1), (12.5, 0.0, 0.05), (1, 0.95, 0.0), (-3, 0.5, 0.2), (40, 0.6, -0.1)])
def test_margin_multiple_matches_brute_force(m, r, d, timing):
    assert clv_margin_multiple(m, r, d, timing=timing) == pytest.approx(brute_clv(m, r, d, timing), rel=1e-10)


def test_margin_multiple_textbook_formula_and_timing_relation():
    # m r / (1 + d - r) with m=100, r=0.8, d=0.1: 80 / 0.3
    assert clv_margin_multiple(100, 0.8, 0.1) == pytest.approx(80 / 0.3)
    assert clv_margin_multiple(100, 0.8, 0.1, timing="start") == pytest.approx(100 * 1.1 / 0.3)
    assert clv_margin_multiple(100, 0.8, 0.1, timing="start") == pytest.approx(100 + clv_margin_multiple(100, 0.8, 0.1))


def test_margin_multiple_vectorised():
    out = clv_margin_multiple([10, 20], [0.5, 0.9], 0.1)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, [brute_clv(10, 0.5, 0.1, "end"), brute_clv(20, 0.9, 0.1, "end")], rtol=1e-9)


def test_margin_multiple_accepts_r_1_when_discounting_keeps_it_finite():
    # r = 1: nobody leaves; with d = 0.1 the discounted sum m / d is finite: 100 / 0.1 = 1,000
    assert clv_margin_multiple(100, 1.0, 0.1) == pytest.approx(1000.0)
    assert clv_margin_multiple(100, 1.0, 0.1) == pytest.approx(brute_clv(100, 1.0, 0.1, "end"), rel=1e-10)
    assert clv_margin_multiple(100, 1.0, 0.1, timing="start") == pytest.approx(1100.0)
    with pytest.raises(ParameterError, match="infinite"):
        clv_margin_multiple(100, 1.0, 0.0)  # 1 + d - r = 0


@pytest.mark.parametrize(
    "kwargs",
    [
        dict(margin=10, retention=1.1, discount_rate=0.1),
        dict(margin=10, retention=1.0, discount_rate=0.0),  # 1 + d - r = 0: infinite
        dict(margin=10, retention=-0.1, discount_rate=0.1),
        dict(margin=10, retention=0.5, discount_rate=-1.0),
        dict(margin=10, retention=0.9, discount_rate=-0.2),  # 1 + d - r <= 0
        dict(margin=float("nan"), retention=0.5, discount_rate=0.1),
        dict(margin="x", retention=0.5, discount_rate=0.1),
    ],
)
def test_margin_multiple_validation(kwargs):
    with pytest.raises(ParameterError):
        clv_margin_multiple(**kwargs)
    with pytest.raises(ParameterError, match="timing"):
        clv_margin_multiple(1, 0.5, 0.1, timing="middle")


@settings(max_examples=60, deadline=None)
@given(m=st.floats(-1e3, 1e3), r=st.floats(0, 0.97), d=st.floats(0, 0.5))
def test_margin_multiple_property_brute_force(m, r, d):
    for timing in ("end", "start"):
        assert clv_margin_multiple(m, r, d, timing=timing) == pytest.approx(
            brute_clv(m, r, d, timing), rel=1e-8, abs=1e-8
        )


# =========================================================================== empirical CLV
def _cohort_table():
    rows = []
    data = {
        "2024-01": (10, [100.0, 40.0, 30.0, -5.0]),
        "2024-02": (20, [150.0, 60.0, 50.0]),
        "2024-03": (5, [20.0, 10.0]),
    }
    for cohort, (size, revs) in data.items():
        cum = 0.0
        for age, rev in enumerate(revs):
            cum += rev / size
            rows.append({"cohort": cohort, "age": age, "size": size, "revenue": rev, "cum_revenue_per_customer": cum})
    return pd.DataFrame(rows)


def test_empirical_clv_against_hand_loop():
    table = _cohort_table()
    margin, d = 0.3, 0.02
    res = empirical_clv(table, margin=margin, discount_rate=d)
    expected = {}
    for cohort, g in table.groupby("cohort"):
        total = 0.0
        for _, row in g.sort_values("age").iterrows():
            total += margin * row["revenue"] / row["size"] / (1 + d) ** row["age"]
            expected[(cohort, row["age"])] = total
    got = {(c, a): v for c, a, v in res.table[["cohort", "age", "clv"]].itertuples(index=False)}
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, rel=1e-12)
    # size-weighted average over cohorts observed at each age, by hand
    for age in range(4):
        obs = [
            (table.loc[(table.cohort == c) & (table.age == age), "size"].iloc[0], expected[(c, age)])
            for c in table.cohort.unique()
            if (c, age) in expected
        ]
        want = sum(n * v for n, v in obs) / sum(n for n, _ in obs)
        row = res.summary[res.summary["age"] == age].iloc[0]
        assert row["clv"] == pytest.approx(want, rel=1e-12)
        assert row["cohorts"] == len(obs)
        assert row["customers"] == sum(n for n, _ in obs)


def test_empirical_clv_undiscounted_equals_cumulative_revenue_and_ignores_partial():
    table = _cohort_table()
    res = empirical_clv(table)
    np.testing.assert_allclose(res.table["clv"], table["cum_revenue_per_customer"], rtol=1e-12)
    table["partial"] = False
    table.loc[table.index[-1], "partial"] = True
    before = table.copy()
    res2 = empirical_clv(table)
    pd.testing.assert_frame_equal(table, before)  # caller's frame untouched
    assert len(res2.table) == len(table) - 1
    assert len(empirical_clv(table, include_partial=True).table) == len(table)


def test_empirical_clv_segments_and_gaps():
    table = _cohort_table()
    seg = pd.concat([table.assign(channel="web"), table.assign(channel="shop", revenue=table["revenue"] * 2)])
    seg = seg[["channel", *table.columns]]
    res = empirical_clv(seg)
    web = res.table[res.table.channel == "web"]["clv"].to_numpy()
    shop = res.table[res.table.channel == "shop"]["clv"].to_numpy()
    np.testing.assert_allclose(shop, 2 * web)
    assert set(res.summary["channel"]) == {"web", "shop"}
    # a missing age inside a cohort makes later cumulative values unknown (never silently 0)
    gap = table.drop(index=table[(table.cohort == "2024-01") & (table.age == 1)].index)
    out = empirical_clv(gap).table
    jan = out[out.cohort == "2024-01"].set_index("age")["clv"]
    assert not np.isnan(jan[0]) and jan[[2, 3]].isna().all()


def test_empirical_clv_errors():
    with pytest.raises(DataError, match="amount"):
        empirical_clv(_cohort_table().drop(columns="revenue"))
    with pytest.raises(ParameterError):
        empirical_clv(_cohort_table(), margin=-1)
    with pytest.raises(ParameterError):
        empirical_clv(_cohort_table(), discount_rate=-2)


def test_empirical_clv_on_real_cohort_table():
    from retainkit.cohorts import cohort_table
    from retainkit.data import load_transactions

    log = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c", "a"],
            "timestamp": ["2024-01-05", "2024-02-10", "2024-01-20", "2024-03-02", "2024-02-14", "2024-03-30"],
            "amount": [10.0, 20.0, 30.0, -5.0, 8.0, 4.0],
        }
    )
    tx = load_transactions(log, amount="amount", as_of="2024-03-31")
    table = cohort_table(tx, "M")
    res = empirical_clv(table, margin=0.5, discount_rate=0.1)
    jan = res.table[res.table.cohort == table.cohort.iloc[0]].set_index("age")["clv"]
    # January cohort: a, b (n=2): age 0 revenue 40, age 1 revenue 20, age 2 revenue -5 + 4
    assert jan[0] == pytest.approx(0.5 * 40 / 2)
    assert jan[1] == pytest.approx(0.5 * 40 / 2 + 0.5 * 20 / 2 / 1.1)
    assert jan[2] == pytest.approx(0.5 * 40 / 2 + 0.5 * 20 / 2 / 1.1 + 0.5 * (-1) / 2 / 1.1**2)


# --------------------------------------------------------------------------- clv_horizon (definitions §5.6)
@given(
    m=st.floats(-50, 500),
    r=st.floats(0, 1),
    d=st.floats(0, 0.5),
    ppy=st.sampled_from([1, 4, 12, 52, 365]),
    years=st.sampled_from([0.5, 1, 3, 5]),
)
@settings(max_examples=60, deadline=None)
def test_clv_horizon_equals_a_brute_force_discounted_sum(m, r, d, ppy, years):
    from retainkit.clv import clv_horizon

    dp = (1 + d) ** (1 / ppy) - 1
    n = max(1, round(years * ppy))
    total = 0.0
    for i in range(1, n + 1):  # margin of period i at its middle, by the customers still there then
        total += m * r ** (i - 0.5) / (1 + dp) ** (i - 0.5)
    assert clv_horizon(m, r, d, periods_per_year=ppy, horizon_years=years) == pytest.approx(total, rel=1e-9, abs=1e-9)


def test_clv_horizon_is_nearly_the_same_for_months_and_quarters_with_consistent_inputs():
    from retainkit.clv import clv_horizon

    # a 2 %-a-month hazard and $10 a month per active customer: a quarter is r^3 and $30 per active customer
    monthly = clv_horizon(10.0, 0.98, 0.1, periods_per_year=12, horizon_years=3)
    quarterly = clv_horizon(30.0, 0.98**3, 0.1, periods_per_year=4, horizon_years=3)
    assert quarterly == pytest.approx(monthly, rel=0.02)


def test_clv_horizon_rejects_bad_inputs():
    from retainkit.clv import clv_horizon

    assert math.isnan(clv_horizon(float("nan"), 0.5, 0.1, periods_per_year=12))
    with pytest.raises(ParameterError):
        clv_horizon(10.0, 1.5, 0.1, periods_per_year=12)
    with pytest.raises(ParameterError):
        clv_horizon(10.0, 0.5, 0.1, periods_per_year=0)


def test_by_cohort_and_average_are_deprecated_spellings_of_table_and_summary():
    res = empirical_clv(_cohort_table(), margin=0.5)
    with pytest.warns(DeprecationWarning, match=r"EmpiricalCLV.by_cohort.*EmpiricalCLV.table"):
        assert res.by_cohort is res.table
    with pytest.warns(DeprecationWarning, match=r"EmpiricalCLV.average.*EmpiricalCLV.summary"):
        assert res.average is res.summary
