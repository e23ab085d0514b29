"""CRR, churn and purchase metrics against brute force and the worked example (definitions §4)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import retainkit as rk
from retainkit.periods import period_label

from .reference import brute_crr


def test_worked_example_from_the_definitions():
    # S = 500, N = 50, 100 lost, so E = 450 and CRR = (450 - 50) / 500 = 80 %
    assert rk.crr_from_counts(start=500, end=450, new=50) == pytest.approx(0.80)
    assert 1 - rk.crr_from_counts(500, 450, 50) == pytest.approx(0.20)


@pytest.mark.parametrize(
    "args, message",
    [
        ((0, 10, 2), "start=0"),
        ((-1, 10, 2), "negative"),
        ((100, 10, 20), "new=20 exceeds end=10"),
        ((100, 150, 20), "exceeds start=100"),
        ((100, float("nan"), 2), "must be a count"),
        ((True, 1, 0), "must be a count"),
    ],
)
def test_crr_from_counts_explains_inconsistent_counts(args, message):
    with pytest.raises(rk.ParameterError, match=message):
        rk.crr_from_counts(*args)


@st.composite
def logs(draw):
    n = draw(st.integers(1, 35))
    base = pd.Timestamp("2023-10-01", tz="UTC")
    rows = []
    for _ in range(n):
        rows.append(
            (
                draw(st.sampled_from("abcdefg")),
                base + pd.Timedelta(hours=draw(st.integers(0, 24 * 400))),
                draw(st.sampled_from([0.0, 12.0, 30.0, -12.0])),
            )
        )
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"])
    return (
        frame,
        draw(st.sampled_from(["UTC", "Europe/Berlin", "America/Los_Angeles"])),
        draw(st.sampled_from(["M", "W", "Q"])),
        draw(st.sampled_from([7, 30, 45, 90, 200])),
        base + pd.Timedelta(days=draw(st.integers(40, 420))),
    )


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(logs())
def test_crr_table_matches_brute_force_and_invariants(case):
    frame, tz, freq, window, as_of = case
    try:
        tx = rk.load_transactions(frame, amount="amount", tz=tz, as_of=as_of)
    except rk.DataError:
        return  # every row after as_of: covered by the data tests
    if not (tx.frame["amount"] >= 0).any():
        return
    table = rk.crr_table(tx, freq, window=window)
    expected = brute_crr(tx, freq, window)
    assert len(table) == len(expected)
    for (p, e), row in zip(sorted(expected.items()), table.itertuples()):
        assert row.period == period_label(p, freq)
        assert (row.start_customers, row.end_customers, row.new, row.retained, row.lost, row.reactivated) == (
            e["S"],
            e["E"],
            e["N"],
            e["retained"],
            e["lost"],
            e["reactivated"],
        )
    # invariants (definitions §4)
    assert (table["start_customers"] == table["retained"] + table["lost"]).all()
    assert (table["end_customers"] == table["retained"] + table["new"] + table["reactivated"]).all()
    defined = table["start_customers"] > 0
    assert table.loc[~defined, "crr"].isna().all()  # S = 0: undefined, never 0 or 1
    d = table.loc[defined]
    assert ((d["crr"] >= 0) & (d["crr"] <= 1) & (d["churn_rate"] >= 0) & (d["churn_rate"] <= 1)).all()
    no_react = d["reactivated"] == 0
    assert (d.loc[no_react, "crr"] == d.loc[no_react, "crr_counts"]).all()
    assert (d.loc[~no_react, "crr_counts"] > d.loc[~no_react, "crr"]).all()
    assert ((d["crr_lo"] <= d["crr"]) & (d["crr"] <= d["crr_hi"])).all()
    assert table.attrs["window"] == f"{window}D"


def test_reactivation_makes_the_two_crr_figures_differ():
    # a buys in Jan and Mar: with a 30-day window a is not a customer at 1 Mar but is at 1 Apr -> reactivated
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "b", "b", "b", "a", "c"],
            "timestamp": ["2024-01-10", "2024-01-12", "2024-02-12", "2024-03-12", "2024-03-20", "2024-03-02"],
        }
    )
    tx = rk.load_transactions(frame, as_of="2024-03-31")
    t = rk.crr_table(tx, window="30D").set_index("period")
    mar = t.loc["2024-03"]
    assert (mar.start_customers, mar.end_customers, mar.new, mar.retained, mar.reactivated) == (1, 3, 1, 1, 1)
    assert mar.crr == 1.0 and mar.crr_counts == 2.0  # (E - N) / S counts the comeback as retained
    assert not t.loc["2024-01", "window_covered"] and t.loc["2024-03", "window_covered"]
    with pytest.raises(rk.ParameterError, match="start=1"):
        rk.crr_from_counts(int(mar.start_customers), int(mar.end_customers), int(mar.new))


def test_crr_segments_sum_to_total_and_window_parsing():
    tx = rk.datasets.load_sample()
    total = rk.crr_table(tx)
    split = rk.crr_table(tx, by="channel")
    summed = split.groupby("period")[
        ["start_customers", "end_customers", "new", "retained", "lost", "reactivated"]
    ].sum()
    assert summed.equals(total.set_index("period")[summed.columns])
    assert rk.crr_table(tx, window="13W").attrs["window_days"] == 91
    for bad in ["3M", "0D", "abc", 1.5]:
        with pytest.raises(rk.ParameterError, match="window"):
            rk.crr_table(tx, window=bad)


def test_subscription_crr_with_gaps_overlaps_and_open_ends():
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "c"],
            "start": ["2024-01-05", "2024-01-20", "2024-03-10", "2024-02-01", "2024-02-15"],
            "end": ["2024-02-01", "2024-02-10", None, "2024-03-01", "2024-02-20"],
        }
    )
    subs = rk.load_subscriptions(frame, as_of="2024-04-30")
    assert subs.summary.notes["merged_overlaps"] == 1
    t = rk.crr_table(subs).set_index("period")
    # boundaries: 1 Feb {a}; 1 Mar {a (until 10 Feb? no), b ends exactly at 1 Mar -> covers the instant before}
    assert t.loc["2024-02", ["start_customers", "end_customers", "new", "retained", "reactivated"]].tolist() == [
        1,
        1,
        1,
        0,
        0,
    ]
    assert t.loc["2024-03", ["start_customers", "end_customers", "retained", "reactivated"]].tolist() == [1, 1, 0, 1]
    assert t.loc["2024-04", "crr"] == 1.0
    assert t.attrs["window"] == "active subscription"


def test_purchase_metrics_against_hand_counts():
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c"],
            "timestamp": ["2024-01-01", "2024-01-11", "2024-02-01", "2024-01-05", "2024-01-20", "2024-02-03"],
            "amount": [10.0, 20.0, 30.0, 5.0, -5.0, 40.0],
        }
    )
    tx = rk.load_transactions(frame, amount="amount", as_of="2024-02-29")
    m = rk.purchase_metrics(tx).set_index("period")
    jan = m.loc["2024-01"]
    assert (jan.customers, jan.orders, jan.repeat_customers) == (2, 3, 1)
    assert jan.revenue == 30.0 and jan.aov == pytest.approx(35 / 3)
    assert jan.median_days_between_purchases == 10.0
    assert jan.repeat_revenue_share == pytest.approx(20 / 35)
    overall = m.loc["overall"]
    assert overall.repeat_purchase_rate == pytest.approx(1 / 3)  # only a has >= 2 purchases
    assert overall.purchase_frequency == pytest.approx(5 / 3)
    assert overall.median_days_between_purchases == pytest.approx(np.median([10, 21]))


@st.composite
def purchase_logs(draw):
    n = draw(st.integers(1, 40))
    base = pd.Timestamp("2023-10-01", tz="UTC")
    rows = []
    for _i in range(n):
        rows.append(
            (
                draw(st.sampled_from("abcdef")),
                base + pd.Timedelta(hours=draw(st.integers(0, 24 * 300))),
                draw(st.sampled_from([None, 0.0, 12.5, 30.0, -12.5])),
                draw(st.sampled_from(["x", "y", "z"])),
            )
        )
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount", "seg"])
    return (
        frame,
        draw(st.sampled_from(["UTC", "Asia/Kolkata"])),
        draw(st.sampled_from(["M", "W", "Q", "D"])),
        draw(st.booleans()),
        draw(st.booleans()),
        base + pd.Timedelta(days=draw(st.integers(30, 320))),
    )


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(purchase_logs())
def test_purchase_metrics_match_a_loop_over_customers(case):
    """Every cell of purchase_metrics, per period and overall, with and without a segment (definitions §4)."""
    from .reference import brute_purchase_metrics

    frame, tz, freq, segmented, partial, as_of = case
    try:
        tx = rk.load_transactions(frame, amount="amount", tz=tz, as_of=as_of, segments="seg")
    except rk.DataError:
        return
    by = "seg" if segmented else None
    got = rk.purchase_metrics(tx, freq, by=by, include_partial=partial)
    expected = brute_purchase_metrics(tx, freq, by=by, include_partial=partial)
    if not by:
        # the overall row is always there, even when no row falls in a complete period
        expected.setdefault(
            (None, "overall"),
            {
                "customers": 0,
                "orders": 0,
                "revenue": 0.0,
                "repeat_customers": 0,
                "aov": np.nan,
                "median_days_between_purchases": np.nan,
                "repeat_revenue_share": np.nan,
            },
        )
    assert len(got) == len(expected)
    for _, row in got.iterrows():
        seg = (None if pd.isna(row["seg"]) else row["seg"]) if by else None
        period = row["period"]
        if period != "overall":
            period = next(p for (s, p) in expected if p != "overall" and period_label(p, freq) == period)
        exp = expected[(seg, period)]
        for name, value in exp.items():
            assert row[name] == pytest.approx(value, nan_ok=True, abs=1e-9), (seg, period, name)
        c = row["customers"]
        assert row["repeat_purchase_rate"] == pytest.approx(exp["repeat_customers"] / c if c else np.nan, nan_ok=True)
        assert row["purchase_frequency"] == pytest.approx(exp["orders"] / c if c else np.nan, nan_ok=True)
