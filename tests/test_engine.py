"""The numpy aggregation step (retainkit.engine) against brute-force loops (definitions §1, §2, §4)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import retainkit as rk
from retainkit import _kernels, engine
from retainkit.periods import NO_PERIOD

from .reference import last_complete, local_date, period_of_date


@st.composite
def logs(draw):
    n = draw(st.integers(1, 30))
    base = pd.Timestamp("2024-01-01", tz="UTC")
    rows = [
        (
            draw(st.sampled_from(["a", "b", "c", "d"])),
            base + pd.Timedelta(hours=draw(st.integers(0, 24 * 300))),
            draw(st.sampled_from([None, 1.0, 0.0, -2.0])),
        )
        for _ in range(n)
    ]
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"])
    return frame, draw(st.sampled_from(["D", "W", "M"])), draw(st.sampled_from(["UTC", "Asia/Kolkata"]))


def _brute_activity(tx, freq):
    lc = last_complete(tx.as_of, tx.tz, freq)
    pairs, first, last = set(), {}, {}
    for c, t, a in zip(tx.frame["customer_id"], tx.frame["timestamp"], tx.frame["amount"]):
        p = period_of_date(local_date(t, tx.tz), freq)
        if p <= lc and (pd.isna(a) or a >= 0):
            pairs.add((c, p))
            first[c] = min(first.get(c, p), p)
            last[c] = max(last.get(c, p), p)
    return pairs, first, last


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(logs(), st.booleans())
def test_activity_pairs_first_last_match_a_loop_dense_and_hashed(case, hashed):
    frame, freq, tz = case
    tx = rk.load_transactions(frame, amount="amount", tz=tz, as_of="2024-12-31")
    limit = _kernels.DENSE_LIMIT
    try:
        if hashed:
            _kernels.DENSE_LIMIT = 0  # force the hashing path for huge customer x period tables
        act = engine.reduce_transactions(tx, freq)
    finally:
        _kernels.DENSE_LIMIT = limit
    pairs, first, last = _brute_activity(tx, freq)
    ids = act.customer_ids
    got = {(ids[c], int(p)) for c, p in zip(act.pair_customer, act.pair_period)}
    assert got == pairs
    for i, c in enumerate(ids):
        assert act.first[i] == first.get(c, NO_PERIOD)
        assert act.last[i] == last.get(c, NO_PERIOD)


def test_boundaries_membership_matches_a_loop():
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "b", "c"],
            "timestamp": ["2024-01-10", "2024-03-31", "2024-02-01", "2024-02-29", "2024-04-01"],
            "amount": [1.0, 1.0, 1.0, -1.0, 1.0],
        }
    )
    tx = rk.load_transactions(frame, amount="amount", as_of="2024-05-31")
    b = engine.transaction_boundaries(tx, "M", 30)
    days = {c: [] for c in "abc"}
    for c, t, a in zip(tx.frame["customer_id"], tx.frame["timestamp"], tx.frame["amount"]):
        if a >= 0:
            days[c].append(t.date())
    for j, p in enumerate(b.periods):
        start = dt.date(1970 + int(p) // 12, int(p) % 12 + 1, 1)
        for i, c in enumerate(b.customer_ids):
            expected = any(start - dt.timedelta(days=30) <= d < start for d in days[c])
            assert b.member[i, j] == expected, (c, start)


@st.composite
def purchase_days(draw):
    n = draw(st.integers(1, 6))
    k = draw(st.integers(0, 40))
    codes = np.array(draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k)), dtype=np.int64)
    # boundaries: increasing day numbers with gaps of 1..40 days (days, weeks, months, uneven);
    # boundary 0 starts the period of the first purchase, so no purchase is before it
    gaps = draw(st.lists(st.integers(1, 40), min_size=1, max_size=25))
    bd = np.cumsum([draw(st.integers(-420, 0)), *gaps])
    days = np.array(draw(st.lists(st.integers(int(bd[0]), 400), min_size=k, max_size=k)), dtype=np.int64)
    window = draw(st.integers(1, 120))
    return codes, days, n, bd, window


@settings(max_examples=300, deadline=None)
@given(purchase_days())
def test_boundary_membership_both_methods_match_a_loop(case):
    """member[j, c]: c purchased in [bd[j] - W, bd[j]); first_index: period of the first purchase (definitions §4)."""
    codes, days, n, bd, window = case
    for method in ("latest", "rows"):
        member, first_index = engine.boundary_membership(codes, days, n, bd, window, method=method)
        for c in range(n):
            mine = days[codes == c]
            for j, b in enumerate(bd):
                assert member[j, c] == any(b - window <= d < b for d in mine), (method, c, j)
            before = [d for d in mine if bd[0] <= d < bd[-1]]
            expected = -1 if not before else int(np.searchsorted(bd, min(before), side="right")) - 1
            assert first_index[c] == expected, (method, c)


def test_membership_counts_match_a_loop():
    rng = np.random.default_rng(3)
    first_index = rng.integers(-1, 6, 50)
    # a customer is a customer only at boundaries after their first purchase
    after_first = (np.arange(7)[:, None] > first_index[None, :]) & (first_index[None, :] >= 0)
    member = (rng.random((7, 50)) < 0.6) & after_first
    group = rng.integers(-1, 3, 50)
    got = engine.membership_counts(member, first_index, group, 3)
    for g in range(3):
        for j in range(6):
            who = [c for c in range(50) if group[c] == g]
            s = {c for c in who if member[j, c]}
            e = {c for c in who if member[j + 1, c]}
            new = {c for c in e if first_index[c] == j}
            assert got["start_customers"][g, j] == len(s)
            assert got["end_customers"][g, j] == len(e)
            assert got["new"][g, j] == len(new)
            assert got["retained"][g, j] == len(s & e)
            assert got["lost"][g, j] == len(s - e)
            assert got["reactivated"][g, j] == len(e - s - new)


def test_parse_window_forms_and_errors():
    assert engine.parse_window("90D") == 90
    assert engine.parse_window("13W") == 91
    assert engine.parse_window(30) == 30
    assert engine.parse_window(pd.Timedelta(days=7)) == 7
    for bad in ("3M", 0, -5, pd.Timedelta(hours=5), 1.5, True):
        with pytest.raises(rk.ParameterError):
            engine.parse_window(bad)


def test_reduce_reuses_an_activity_and_rejects_raw_frames():
    frame = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["2024-01-02", "2024-02-03"]})
    tx = rk.load_transactions(frame, as_of="2024-03-31")
    act = engine.reduce(tx, "M")
    assert engine.reduce(act, "M") is act
    assert engine.reduce(act, "W").freq == "W"
    assert engine.reduce(frame, "M").n_customers == act.n_customers  # raw frames are loaded first
    with pytest.raises(rk.ParameterError, match="load_transactions"):
        engine.reduce([("a", "2024-01-01")])
    assert not engine.is_native(tx)


def test_native_counts_equal_numpy_counts_on_a_hand_log():
    pl = pytest.importorskip("polars")
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b", "c", "d", "d"],
            "timestamp": [
                "2024-01-03",
                "2024-02-10",
                "2024-04-01",
                "2024-01-20",
                "2024-03-05",
                "2024-02-14",
                "2024-01-07",
                "2024-02-02",
            ],
            "amount": [10.0, 5.0, 7.0, 20.0, -4.0, 3.0, -2.0, 8.0],
        }
    )
    ref = rk.load_transactions(frame, amount="amount", as_of="2024-04-30")
    tx = rk.load_transactions(pl.from_pandas(frame), amount="amount", as_of="2024-04-30")
    assert engine.is_native(tx)
    counts, ctx = engine.native_cohort_counts(tx, "M")
    expected = rk.cohorts.cohort_counts(engine.reduce(ref, "M"))
    pd.testing.assert_frame_equal(counts, expected)
    assert ctx.last_complete == ctx.max_period
    # January cohort: a and b (d's January row is a refund); revenue at age 2 includes b's refund
    jan = counts.loc[counts["_cohort"] == np.datetime64("2024-01", "M").astype(int)]
    assert jan["size"].tolist() == [2, 2, 2, 2]
    assert jan["active"].tolist() == [2, 1, 0, 1]
    assert jan["revenue"].tolist() == [30.0, 5.0, -4.0, 7.0]
