"""Cohort tables against brute-force loops, hand-worked triangles and edge cases (definitions §2, §3)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import retainkit as rk
from retainkit.periods import period_label

from .reference import brute_cohorts, period_of_date

TZS = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]


@st.composite
def logs(draw):
    n = draw(st.integers(1, 40))
    base = pd.Timestamp("2023-11-01", tz="UTC")
    rows = []
    for _ in range(n):
        cust = draw(st.sampled_from(["a", "b", "c", "d", "e", "f"]))
        minutes = draw(st.integers(0, 60 * 24 * 500))
        amount = draw(st.one_of(st.none(), st.sampled_from([0.0, 5.5, 20.0, 99.99, -5.5, -20.0])))
        rows.append((cust, base + pd.Timedelta(minutes=minutes), amount))
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"])
    tz = draw(st.sampled_from(TZS))
    freq = draw(st.sampled_from(["D", "W", "M", "Q", "Y"]))
    as_of = base + pd.Timedelta(days=draw(st.integers(30, 520)))
    return frame, tz, freq, as_of


def _load(frame, tz, as_of):
    return rk.load_transactions(frame, amount="amount", tz=tz, as_of=as_of)


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(logs())
def test_cohort_table_matches_brute_force(case):
    frame, tz, freq, as_of = case
    if (frame["timestamp"] > as_of).all():
        with pytest.raises(rk.DataError, match="after as_of"):
            _load(frame, tz, as_of)
        return
    tx = _load(frame, tz, as_of)
    expected = brute_cohorts(tx, freq)
    try:
        table = rk.cohort_table(tx, freq)
    except rk.DataError:
        assert not expected
        return
    got = {}
    for row in table.itertuples():
        got[(row.cohort, row.age)] = row
    assert len(got) == len(expected)
    for (c, k), cell in expected.items():
        row = got[(period_label(c, freq), k)]
        assert row.size == cell["size"]
        assert row.active == cell["active"]
        assert row.active_on_or_after == cell["on_or_after"]
        assert math.isclose(row.revenue, cell["revenue"], abs_tol=1e-6)
        assert row.retention == pytest.approx(cell["active"] / cell["size"])
        assert row.retention_lo <= row.retention <= row.retention_hi
    # invariants: R(c,0) = 1, U >= R, U non-increasing in age
    assert (table.loc[table["age"] == 0, "retention"] == 1).all()
    assert (table["retention_on_or_after"] >= table["retention"] - 1e-12).all()
    for _, g in table.groupby("cohort"):
        assert (np.diff(g["retention_on_or_after"].to_numpy()) <= 1e-12).all()


def _hand_log():
    # a: Jan, Feb, Apr  b: Jan, refund in Mar  c: Feb  d: refund in Jan, buys in Feb
    return pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c", "d", "d"],
            "timestamp": [
                "2024-01-03",
                "2024-02-10",
                "2024-04-01",
                "2024-01-20",
                "2024-03-05",
                "2024-02-02",
                "2024-02-10",
                "2024-01-15",
            ],
            "amount": [10, 20, 5, 7, -3, 4, 6, -2],
            "channel": ["web", "app", "web", "app", "app", "web", "web", "web"],
        }
    )


def test_hand_worked_triangle():
    tx = rk.load_transactions(_hand_log(), amount="amount", segments="channel", as_of="2024-04-15")
    t = rk.cohort_table(tx)
    m = rk.retention_matrix(t)
    assert m.loc["2024-01"].tolist() == [1.0, 0.5, 0.0]
    assert m.loc["2024-02", 0] == 1.0 and m.loc["2024-02", 1] == 0.0
    assert np.isnan(m.loc["2024-02", 2])  # unobserved: NaN, never 0
    jan = t[t["cohort"] == "2024-01"].set_index("age")
    assert jan["revenue"].tolist() == [17.0, 20.0, -3.0]  # the refund lowers revenue at age 2
    assert jan["cum_revenue_per_customer"].tolist() == [8.5, 18.5, 17.0]
    assert jan.loc[1, "revenue_retention"] == pytest.approx(20 / 17)
    feb = t[t["cohort"] == "2024-02"].set_index("age")
    assert feb.loc[0, "revenue"] == 10.0  # d's earlier refund is in no cohort
    assert tx.summary.notes["refunds_before_first_purchase"] == 1
    # partial April shown only on request, marked
    tp = rk.cohort_table(tx, include_partial=True)
    april = tp[(tp["cohort"] == "2024-01") & (tp["age"] == 3)]
    assert april["partial"].item() and april["active"].item() == 1
    assert not t["partial"].any()


def test_segments_are_acquisition_values_and_cohort_key():
    tx = rk.load_transactions(_hand_log(), amount="amount", segments="channel", as_of="2024-04-15")
    t = rk.cohort_table(tx, by="channel")
    # a's first purchase was on web, so a is a web customer even though later orders were app
    web_jan = t[(t["channel"] == "web") & (t["cohort"] == "2024-01")]
    assert web_jan["size"].iloc[0] == 1 and web_jan["active"].tolist() == [1, 1, 0]
    # sizes add up to the unsplit table
    total = rk.cohort_table(tx)
    merged = t.groupby(["cohort", "age"])[["size", "active"]].sum()
    assert merged.equals(total.set_index(["cohort", "age"])[["size", "active"]])
    k = rk.cohort_table(tx, cohort_key="channel").set_index(["cohort", "age"])
    assert k.loc[("web", 0), "size"] == 3 and k.loc[("web", 2), "size"] == 1  # only a is observed at age 2
    assert k.loc[("web", 1), "active"] == 1


def test_average_curve_is_size_weighted_not_mean_of_rates():
    frame = pd.DataFrame(
        {
            "customer_id": [f"x{i}" for i in range(10)] + ["y0", "y1", "x0", "y0"],
            "timestamp": ["2024-01-05"] * 10 + ["2024-02-05", "2024-02-06", "2024-02-20", "2024-03-01"],
        }
    )
    tx = rk.load_transactions(frame, as_of="2024-03-31")
    t = rk.cohort_table(tx)
    curve = rk.average_curve(t).set_index("age")
    # age 1: Jan cohort 1/10 active, Feb cohort 1/2 active -> (1 + 1) / (10 + 2), not (0.1 + 0.5) / 2
    assert curve.loc[1, "retention"] == pytest.approx(2 / 12)
    assert curve.loc[1, "cohorts"] == 2
    assert curve.loc[2, "size"] == 10  # only the January cohort is observed at age 2


def test_bracket_retention_counts_distinct_customers_and_full_brackets_only():
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c"],
            "timestamp": ["2024-01-02", "2024-02-02", "2024-03-02", "2024-01-03", "2024-03-09", "2024-01-09"],
        }
    )
    tx = rk.load_transactions(frame, as_of="2024-04-30")
    b = rk.bracket_retention(tx, [(1, 2), (3, 3), (2, 4)])
    row = b[b["bracket"] == "1-2"].iloc[0]
    assert (row["size"], row["active"]) == (3, 2)  # a counted once despite two months in the bracket
    assert b[b["bracket"] == "3-3"]["active"].item() == 0
    assert "2-4" not in set(b["bracket"])  # age 4 (May) is not observed: bracket missing, not 0
    with pytest.raises(rk.ParameterError, match="0 <= from <= to"):
        rk.bracket_retention(tx, [(3, 1)])


def test_single_customer_one_cohort_and_all_refunds():
    one = pd.DataFrame({"customer_id": ["z"], "timestamp": ["2024-05-31 23:59"]})
    t = rk.cohort_table(rk.load_transactions(one, as_of="2024-06-30"))
    assert t[["cohort", "age", "size", "active"]].values.tolist() == [["2024-05", 0, 1, 1], ["2024-05", 1, 1, 0]]
    refunds = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["2024-01-01", "2024-01-02"], "amount": [-1, -2]})
    tx = rk.load_transactions(refunds, amount="amount", as_of="2024-03-31")
    assert tx.summary.notes["refund_only_customers"] == 2
    with pytest.raises(rk.DataError, match="all 2 rows are refunds"):
        rk.cohort_table(tx)


def test_no_complete_period_explains_itself():
    frame = pd.DataFrame({"customer_id": ["a"], "timestamp": ["2024-05-03"]})
    tx = rk.load_transactions(frame)
    with pytest.raises(rk.DataError, match="include_partial=True"):
        rk.cohort_table(tx)
    assert len(rk.cohort_table(tx, include_partial=True)) == 1


def test_time_zone_moves_a_purchase_across_a_month_boundary():
    frame = pd.DataFrame({"customer_id": ["a", "a"], "timestamp": ["2024-01-31T23:30:00Z", "2024-02-15T12:00:00Z"]})
    utc = rk.cohort_table(rk.load_transactions(frame, as_of="2024-03-31"))
    berlin = rk.cohort_table(rk.load_transactions(frame, tz="Europe/Berlin", as_of="2024-03-31"))
    assert utc["cohort"].iloc[0] == "2024-01" and utc.set_index("age").loc[1, "active"] == 1
    assert berlin["cohort"].iloc[0] == "2024-02"  # 00:30 on 1 February in Berlin


def test_dst_days_and_iso_week_53_and_leap_day():
    # 2020 has ISO week 53 (Mon 28 Dec 2020 - Sun 3 Jan 2021); 29 Feb 2024; DST change 31 Mar 2024 in Berlin
    frame = pd.DataFrame(
        {
            "customer_id": ["w", "w", "l", "l", "d", "d"],
            "timestamp": [
                "2020-12-28 10:00",
                "2021-01-03 22:00",
                "2024-02-29 12:00",
                "2024-03-01 00:30",
                "2024-03-31 01:30",
                "2024-03-31 03:30",
            ],
        }
    )
    tx = rk.load_transactions(frame, tz="Europe/Berlin", as_of="2024-04-30")
    t = rk.cohort_table(tx, "W")
    assert "2020-W53" in set(t["cohort"])
    w53 = t[t["cohort"] == "2020-W53"].set_index("age")
    assert w53.loc[0, "active"] == 1 and w53.loc[1, "active"] == 0  # both purchases in week 53
    d = rk.cohort_table(tx, "D").set_index(["cohort", "age"])
    assert d.loc[("2024-02-29", 1), "active"] == 1  # the leap day and 1 March are consecutive days
    assert d.loc[("2024-03-31", 0), "size"] == 1  # both DST-day purchases fall on 31 March
    assert period_of_date(pd.Timestamp("2024-02-29").date(), "M") == rk.periods.parse_period_label("2024-02", "M")


def test_year_boundary_and_quarter_labels():
    frame = pd.DataFrame({"customer_id": ["a", "a", "a"], "timestamp": ["2023-12-31", "2024-01-01", "2024-04-01"]})
    tx = rk.load_transactions(frame, as_of="2024-06-30")
    q = rk.cohort_table(tx, "Q").set_index("age")
    assert q["cohort"].iloc[0] == "2023-Q4" and q["active"].tolist() == [1, 1, 1]
    y = rk.cohort_table(tx, "Y")
    assert y["cohort"].tolist() == ["2023"]  # 2024 is not complete on 30 June


def test_retention_matrix_kinds_and_errors():
    tx = rk.load_transactions(_hand_log(), amount="amount", as_of="2024-04-15")
    t = rk.cohort_table(tx)
    assert rk.retention_matrix(t, "unbounded").loc["2024-01", 1] == 0.5
    assert rk.retention_matrix(t, "cum_revenue").loc["2024-01", 2] == 17.0
    with pytest.raises(rk.ParameterError, match="kind="):
        rk.retention_matrix(t, "bogus")
    no_amount = rk.cohort_table(rk.load_transactions(_hand_log(), as_of="2024-04-15"))
    with pytest.raises(rk.ParameterError, match="amount column"):
        rk.retention_matrix(no_amount, "revenue")


def test_bad_freq_and_unknown_segment():
    tx = rk.load_transactions(_hand_log(), as_of="2024-04-15")
    with pytest.raises(rk.ParameterError, match="freq='fortnight'"):
        rk.cohort_table(tx, "fortnight")
    with pytest.raises(rk.ParameterError, match="segments="):
        rk.cohort_table(tx, by="channel")
    with pytest.raises(rk.ParameterError, match="load_transactions"):
        rk.cohort_table([("a", "2024-01-01")])


def test_raw_frames_with_standard_columns_are_loaded_on_the_fly():
    raw = _hand_log()
    loaded = rk.load_transactions(raw, amount="amount", segments="channel", as_of="2024-04-15")
    # the raw frame's default as_of is the end of its last day (1 April), so compare on that
    direct = rk.cohort_table(raw.assign(timestamp=raw["timestamp"]), by="channel")
    expected = rk.cohort_table(rk.load_transactions(raw, amount="amount", segments="channel"), by="channel")
    pd.testing.assert_frame_equal(direct, expected)
    assert loaded.as_of > rk.load_transactions(raw).as_of
    crr = rk.crr_table(raw, window="30D", by="channel")
    assert set(crr["channel"]) == {"web", "app"}
    with pytest.raises(rk.DataError, match="column 'customer_id'"):
        rk.cohort_table(raw.rename(columns={"customer_id": "cid"}))


def test_subscription_cohorts_against_loop():
    subs_frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "d"],
            "start": ["2024-01-10", "2024-03-05", "2024-01-20", "2024-02-01", "2024-02-15"],
            "end": ["2024-02-10", None, "2024-01-25", "2024-04-01", "2024-02-20"],
            "mrr": [10, 20, 5, 7, 9],
        }
    )
    subs = rk.load_subscriptions(subs_frame, mrr="mrr", as_of="2024-05-31")
    t = rk.cohort_table(subs).set_index(["cohort", "age"])
    # a: active Jan, Feb (until 10 Feb), gap, Mar.. ; b: Jan only; c: Feb, Mar (ends at 1 Apr 00:00); d: Feb
    assert [t.loc[("2024-01", k), "active"] for k in range(5)] == [2, 1, 1, 1, 1]
    assert [t.loc[("2024-02", k), "active"] for k in range(4)] == [2, 1, 0, 0]
    # revenue = MRR snapshot at period end: a has 20 at the end of March..May, 0 at end of Jan? (10, active)
    assert t.loc[("2024-01", 0), "revenue"] == 10.0  # a: 10 at end of Jan; b ended
    assert t.loc[("2024-01", 1), "revenue"] == 0.0  # a's first interval ended 10 Feb
    assert t.loc[("2024-01", 2), "revenue"] == 20.0
