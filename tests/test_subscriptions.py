"""Tests for retainkit.subscriptions against a brute-force per-customer loop.

The reference recomputes every boundary snapshot from the raw interval list:
for each period and each customer, MRR = sum of the mrr of the intervals with
start < b <= end (end missing = open), boundaries from pandas.Period (an
implementation independent of retainkit.periods).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import retainkit as rk
from retainkit.exceptions import DataError, ParameterError
from retainkit.subscriptions import MOVEMENT_COLUMNS, mrr_cohort_table, mrr_movements, revenue_retention

PANDAS_FREQ = {"D": "D", "W": "W-SUN", "M": "M", "Q": "Q", "Y": "Y"}


# --------------------------------------------------------------------------- reference
def _period(ts: pd.Timestamp, freq: str, tz: str) -> pd.Period:
    return ts.tz_convert(tz).tz_localize(None).to_period(PANDAS_FREQ[freq])


def _bound(period: pd.Period, tz: str) -> pd.Timestamp:
    return period.start_time.tz_localize(tz)


def brute_force(rows, as_of: pd.Timestamp, freq: str = "M", tz: str = "UTC", segment: str | None = None):
    """rows: list of dicts customer_id, start, end (NaT = open), mrr[, segment] with aware timestamps.

    Returns (movements: list of dict per (segment, period), cohorts: list of dict per (cohort, age)).
    """
    rows = [r for r in rows if r["start"] <= as_of]
    last = (as_of + pd.Timedelta(1, "ns")).tz_convert(tz).tz_localize(None).to_period(PANDAS_FREQ[freq]) - 1
    first = min(_period(r["start"], freq, tz) for r in rows)
    periods = []
    p = first
    while p <= last:
        periods.append(p)
        p = p + 1

    def key_of(r):
        return (r["customer_id"], r[segment] if segment else None)

    def covers(r, b):
        return r["start"] < b and (pd.isna(r["end"]) or r["end"] >= b)

    keys = sorted({key_of(r) for r in rows}, key=str)
    segs = sorted({k[1] for k in keys}, key=str)
    movements = []
    for seg in segs:
        for p in periods:
            b0, b1 = _bound(p, tz), _bound(p + 1, tz)
            rec = dict.fromkeys(
                ["mrr_start", "new", "expansion", "contraction", "churned", "reactivation", "mrr_end"], 0.0
            )
            rec.update(
                dict.fromkeys(
                    [
                        "customers_start",
                        "customers_end",
                        "customers_retained",
                        "customers_new",
                        "customers_reactivated",
                        "customers_lost",
                        "n_new",
                        "n_expansion",
                        "n_contraction",
                        "n_churned",
                        "n_reactivation",
                    ],
                    0,
                )
            )
            rec["segment"], rec["period_start"] = seg, b0
            for key in keys:
                if key[1] != seg:
                    continue
                mine = [r for r in rows if key_of(r) == key]
                m0 = sum(r["mrr"] for r in mine if covers(r, b0))
                m1 = sum(r["mrr"] for r in mine if covers(r, b1))
                in0 = any(covers(r, b0) for r in mine)
                in1 = any(covers(r, b1) for r in mine)
                active = [r for r in mine if pd.isna(r["end"]) or r["end"] != r["start"]]
                paid_before = any(r["start"] < b0 for r in active if r["mrr"] > 0)
                first_start = min(r["start"] for r in active) if active else None
                rec["mrr_start"] += m0
                rec["mrr_end"] += m1
                if m0 == 0 and m1 > 0:
                    name = "reactivation" if paid_before else "new"
                    rec[name] += m1
                    rec["n_" + name] += 1
                elif m0 > 0 and m1 > m0:
                    rec["expansion"] += m1 - m0
                    rec["n_expansion"] += 1
                elif m0 > 0 and 0 < m1 < m0:
                    rec["contraction"] += m0 - m1
                    rec["n_contraction"] += 1
                elif m0 > 0 and m1 == 0:
                    rec["churned"] += m0
                    rec["n_churned"] += 1
                rec["customers_start"] += in0
                rec["customers_end"] += in1
                rec["customers_retained"] += in0 and in1
                rec["customers_lost"] += in0 and not in1
                if in1 and not in0:
                    if first_start >= b0:
                        rec["customers_new"] += 1
                    else:
                        rec["customers_reactivated"] += 1
            movements.append(rec)

    cohorts = []
    by_customer: dict = {}
    for r in rows:
        by_customer.setdefault(r["customer_id"], []).append(r)
    members: dict = {}
    for _cust, mine in by_customer.items():
        active = [r for r in mine if pd.isna(r["end"]) or r["end"] != r["start"]]
        if active:
            members.setdefault(_period(min(r["start"] for r in active), freq, tz), []).append(mine)
    for c in sorted(members):
        if c > last:
            continue
        b_end0 = _bound(c + 1, tz)
        m0 = [sum(r["mrr"] for r in mine if covers(r, b_end0)) for mine in members[c]]
        k = 0
        while c + k <= last:
            b = _bound(c + k + 1, tz)
            mk = [sum(r["mrr"] for r in mine if covers(r, b)) for mine in members[c]]
            active = sum(any(covers(r, b) for r in mine) for mine in members[c])
            cohorts.append(
                {
                    "cohort_start": _bound(c, tz),
                    "age": k,
                    "cohort_size": len(members[c]),
                    "customers": active,
                    "mrr": sum(mk),
                    "mrr_age0": sum(m0),
                    "nrr": sum(mk) / sum(m0) if sum(m0) else np.nan,
                    "grr": sum(min(a, b0) for a, b0 in zip(mk, m0)) / sum(m0) if sum(m0) else np.nan,
                }
            )
            k += 1
    return movements, cohorts


def _load(rows, as_of, tz="UTC", segment=None):
    df = pd.DataFrame(rows)
    if df["end"].isna().all():
        df["end"] = pd.Series([None] * len(df), dtype="object")
    return rk.load_subscriptions(df, mrr="mrr", segments=(segment,) if segment else (), tz=tz, as_of=as_of)


def _check_against_brute(rows, as_of, freq="M", tz="UTC", segment=None):
    subs = _load(rows, as_of, tz, segment)
    ref_mv, ref_co = brute_force(rows, subs.as_of, freq, tz, segment)
    mv = mrr_movements(subs, freq, by=segment)
    assert len(mv) == len(ref_mv)
    for (_, got), ref in zip(mv.iterrows(), ref_mv):
        assert got["period_start"] == ref["period_start"]
        if segment:
            assert got[segment] == ref["segment"]
        for col in MOVEMENT_COLUMNS[2:]:
            assert got[col] == pytest.approx(ref[col], abs=1e-9), (col, ref["period_start"])
    # the movement identity
    lhs = mv["mrr_start"] + mv["new"] + mv["expansion"] + mv["reactivation"] - mv["contraction"] - mv["churned"]
    np.testing.assert_allclose(lhs, mv["mrr_end"], rtol=0, atol=1e-9)
    assert (mv[["new", "expansion", "contraction", "churned", "reactivation"]] >= 0).all(axis=None)
    # continuity: each period starts where the previous ended
    for _, g in mv.groupby(segment) if segment else [(None, mv)]:
        np.testing.assert_allclose(g["mrr_start"].to_numpy()[1:], g["mrr_end"].to_numpy()[:-1])
        np.testing.assert_array_equal(g["customers_start"].to_numpy()[1:], g["customers_end"].to_numpy()[:-1])
    assert (mv["customers_end"] == mv["customers_retained"] + mv["customers_new"] + mv["customers_reactivated"]).all()

    rr = revenue_retention(subs, freq, by=segment)
    for (_, got), ref in zip(rr.iterrows(), ref_mv):
        s = ref["mrr_start"]
        grr = (s - ref["contraction"] - ref["churned"]) / s if s else np.nan
        nrr = (s + ref["expansion"] - ref["contraction"] - ref["churned"]) / s if s else np.nan
        crr = ref["customers_retained"] / ref["customers_start"] if ref["customers_start"] else np.nan
        assert got["grr"] == pytest.approx(grr, nan_ok=True)
        assert got["nrr"] == pytest.approx(nrr, nan_ok=True)
        assert got["customer_retention"] == pytest.approx(crr, nan_ok=True)

    if segment is None:
        co = mrr_cohort_table(subs, freq)
        assert len(co) == len(ref_co)
        for (_, got), ref in zip(co.iterrows(), ref_co):
            for col in ("cohort_start", "age", "cohort_size", "customers"):
                assert got[col] == ref[col], col
            for col in ("mrr", "mrr_age0", "nrr", "grr"):
                assert got[col] == pytest.approx(ref[col], nan_ok=True, abs=1e-12), col
        assert (co["grr"].dropna() <= 1 + 1e-12).all()
    return mv


T0 = pd.Timestamp("2024-01-01", tz="UTC")


def _row(cust, start_days, length_days, mrr, seg="a"):
    start = T0 + pd.Timedelta(days=start_days)
    end = pd.NaT if length_days is None else start + pd.Timedelta(days=length_days)
    return {"customer_id": cust, "start": start, "end": end, "mrr": float(mrr), "plan": seg}


# --------------------------------------------------------------------------- hand-worked
def test_hand_worked_example():
    # a: 10 from 10 Jan (open) + 5 from 15 Feb (open): new in Jan, expansion in Feb
    # b: 20 from 5 Jan to 10 Mar: new in Jan, churned in Mar
    # c: 30 from 1 Feb to 20 Feb (invisible at boundaries), 40 from 1 Apr: reactivation in Apr
    df = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c"],
            "start": ["2024-01-10", "2024-02-15", "2024-01-05", "2024-02-01", "2024-04-01"],
            "end": [None, None, "2024-03-10", "2024-02-20", None],
            "mrr": [10, 5, 20, 30, 40],
        }
    )
    subs = rk.load_subscriptions(df, mrr="mrr", as_of="2024-05-31")
    mv = mrr_movements(subs)
    assert mv["period"].tolist() == ["2024-01", "2024-02", "2024-03", "2024-04", "2024-05"]
    assert mv["mrr_start"].tolist() == [0, 30, 35, 15, 55]
    assert mv["mrr_end"].tolist() == [30, 35, 15, 55, 55]
    assert mv["new"].tolist() == [30, 0, 0, 0, 0]
    assert mv["expansion"].tolist() == [0, 5, 0, 0, 0]
    assert mv["churned"].tolist() == [0, 0, 20, 0, 0]
    assert mv["reactivation"].tolist() == [0, 0, 0, 40, 0]
    assert mv["customers_end"].tolist() == [2, 2, 1, 2, 2]
    assert mv["customers_reactivated"].tolist() == [0, 0, 0, 1, 0]
    rr = revenue_retention(subs)
    assert np.isnan(rr["grr"].iloc[0]) and np.isnan(rr["customer_retention"].iloc[0])  # start = 0
    assert rr["nrr"].iloc[1] == pytest.approx(35 / 30)
    assert rr["grr"].iloc[1] == 1.0
    assert rr["grr"].iloc[2] == pytest.approx(15 / 35)
    assert rr["customer_retention"].iloc[2] == 0.5
    co = mrr_cohort_table(subs)
    jan = co[co["cohort"] == "2024-01"]
    assert jan["customers"].tolist() == [2, 2, 1, 1, 1]
    assert jan["nrr"].tolist() == pytest.approx([1, 35 / 30, 0.5, 0.5, 0.5])
    assert jan["grr"].tolist() == pytest.approx([1, 1, 10 / 30, 10 / 30, 10 / 30])
    feb = co[co["cohort"] == "2024-02"]  # c: gone at the end of Feb, back in Apr, no MRR at age 0
    assert feb["customers"].tolist() == [0, 0, 1, 1]
    assert feb["nrr"].isna().all()
    # observed triangle only: Jan has ages 0..4, Feb 0..3
    assert jan["age"].tolist() == [0, 1, 2, 3, 4] and feb["age"].max() == 3


def test_concurrent_subscriptions_sum_and_contraction():
    rows = [_row("x", 0, None, 10), _row("x", 5, 40, 15), _row("y", 3, 100, 7.5)]
    mv = _check_against_brute(rows, "2024-04-30")
    assert mv["mrr_end"].iloc[0] == 32.5  # 10 + 15 + 7.5 at the end of January
    assert mv["contraction"].iloc[1] == 15.0  # x's second subscription ends 15 Feb: 25 -> 10


def test_gaps_and_empty_period():
    # one customer, active in Jan, nothing in Feb and Mar, back in Apr
    rows = [_row("solo", 2, 30, 9), _row("solo", 95, None, 12)]
    mv = _check_against_brute(rows, "2024-05-31")
    feb = mv[mv["period"] == "2024-03"].iloc[0]
    assert feb[list(MOVEMENT_COLUMNS[2:])].sum() == 0  # empty period: a row of zeros, not a missing row
    apr = mv[mv["period"] == "2024-04"].iloc[0]
    assert apr["reactivation"] == 12 and apr["new"] == 0 and apr["customers_reactivated"] == 1


def test_single_customer_open_end_and_free_trial_conversion():
    # free trial (mrr 0) in Jan, converts to paid in Feb: counts as new MRR, but not as a new customer
    rows = [_row("t", 10, 25, 0), _row("t", 35, None, 50)]
    mv = _check_against_brute(rows, "2024-03-31")
    assert mv["customers_new"].tolist() == [1, 0, 0]
    assert mv["new"].tolist() == [0, 50, 0]
    assert mv["customers_end"].tolist() == [1, 1, 1]


def test_subscription_ending_exactly_at_boundary_counts_there():
    # [start, end) with end == 1 Feb 00:00: covers the instant just before the boundary
    rows = [{"customer_id": "e", "start": T0, "end": pd.Timestamp("2024-02-01", tz="UTC"), "mrr": 3.0, "plan": "a"}]
    mv = _check_against_brute(rows, "2024-03-31")
    assert mv["mrr_end"].tolist() == [3, 0, 0]


def test_time_zone_boundaries():
    # ends 00:30 on 1 Feb Berlin time = 23:30 UTC on 31 Jan
    rows = [
        {
            "customer_id": "z",
            "start": pd.Timestamp("2024-01-10", tz="UTC"),
            "end": pd.Timestamp("2024-01-31 23:30", tz="UTC"),
            "mrr": 5.0,
            "plan": "a",
        }
    ]
    berlin = _check_against_brute(rows, "2024-03-31", tz="Europe/Berlin")
    utc = _check_against_brute(rows, "2024-03-31", tz="UTC")
    assert berlin["mrr_end"].iloc[0] == 5 and utc["mrr_end"].iloc[0] == 0


@pytest.mark.parametrize("freq", ["D", "W", "Q"])
def test_other_granularities(freq):
    rows = [_row("a", 0, 50, 10), _row("b", 20, None, 5), _row("a", 70, 30, 8), _row("c", 40, 0, 99)]
    _check_against_brute(rows, "2024-06-30", freq=freq)


def test_segments_sum_to_total():
    rows = [
        _row("a", 0, 40, 10, "basic"),
        _row("a", 40, None, 25, "pro"),
        _row("b", 10, None, 10, "basic"),
        _row("c", 50, 20, 30, "pro"),
    ]
    by = _check_against_brute(rows, "2024-05-31", segment="plan")
    total = _check_against_brute(rows, "2024-05-31")
    summed = by.groupby("period", sort=True)[["mrr_start", "mrr_end"]].sum()
    np.testing.assert_allclose(summed.to_numpy(), total.set_index("period")[["mrr_start", "mrr_end"]].to_numpy())
    assert set(by["plan"]) == {"basic", "pro"}
    assert len(by) == 2 * len(total)


# --------------------------------------------------------------------------- properties
_interval = st.tuples(
    st.sampled_from(["a", "b", "c", "d"]),
    st.integers(0, 150),  # start day
    st.one_of(st.none(), st.integers(0, 120)),  # length in days (None = open, 0 = zero length)
    st.sampled_from([0.0, 5.0, 10.0, 12.5, 20.0]),
    st.sampled_from(["basic", "pro"]),
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_interval, min_size=1, max_size=9), st.sampled_from(["M", "W"]))
def test_property_matches_brute_force(intervals, freq):
    rows = [_row(c, s, length, m, seg) for c, s, length, m, seg in intervals]
    _check_against_brute(rows, "2024-06-30", freq=freq)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_interval, min_size=1, max_size=9))
def test_property_segments_match_brute_force(intervals):
    rows = [_row(c, s, length, m, seg) for c, s, length, m, seg in intervals]
    _check_against_brute(rows, "2024-06-30", segment="plan")


@settings(max_examples=40, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(0, 30),
            st.integers(0, 400),
            st.one_of(st.none(), st.integers(1, 300)),
            st.floats(0, 1000, allow_nan=False).map(lambda x: round(x, 2)),
        ),
        min_size=1,
        max_size=40,
    )
)
def test_property_identity_with_arbitrary_cents(intervals):
    """The identity holds exactly (integer micro-units) also for amounts that are not exact in binary."""
    rows = [_row(str(c), s, length, m) for c, s, length, m in intervals]
    mv = mrr_movements(_load(rows, "2025-03-31"))
    lhs = mv["mrr_start"] + mv["new"] + mv["expansion"] + mv["reactivation"] - mv["contraction"] - mv["churned"]
    np.testing.assert_allclose(lhs, mv["mrr_end"], rtol=1e-12, atol=1e-9)
    # no rounding noise: every movement is 0 or at least one cent
    moves = mv[["new", "expansion", "contraction", "churned", "reactivation"]].to_numpy()
    assert ((moves == 0) | (moves >= 0.01 - 1e-9)).all()


# --------------------------------------------------------------------------- edges and errors
def test_no_complete_period_gives_empty_frames():
    subs = _load([_row("a", 3, None, 10)], "2024-01-20")
    assert mrr_movements(subs).empty and list(mrr_movements(subs).columns) == list(MOVEMENT_COLUMNS)
    assert revenue_retention(subs).empty
    assert mrr_cohort_table(subs).empty


def test_cohort_table_without_mrr():
    df = pd.DataFrame({"customer_id": ["a", "b"], "start": ["2024-01-05", "2024-01-07"], "end": [None, "2024-02-10"]})
    subs = rk.load_subscriptions(df, as_of="2024-03-31")
    co = mrr_cohort_table(subs)
    assert co["customers"].tolist() == [2, 1, 1]
    assert co["customer_retention"].tolist() == [1.0, 0.5, 0.5]
    assert co["nrr"].isna().all()
    with pytest.raises(ParameterError, match="mrr="):
        mrr_movements(subs)


def test_errors():
    with pytest.raises(ParameterError, match="load_subscriptions"):
        mrr_movements(pd.DataFrame({"customer_id": [1]}))
    subs = _load([_row("a", 0, None, 10), _row("b", 0, None, -3)], "2024-03-31")
    with pytest.raises(DataError, match="negative MRR.*'b'"):
        mrr_movements(subs)
    ok = _load([_row("a", 0, None, 10)], "2024-03-31")
    with pytest.raises(ParameterError, match="segment"):
        mrr_movements(ok, by="plan")
    with pytest.raises(ParameterError, match="freq"):
        revenue_retention(ok, "fortnight")


def test_caller_frame_not_mutated():
    subs = _load([_row("a", 0, None, 10), _row("b", 5, 30, 4)], "2024-03-31")
    before = subs.frame.copy()
    mrr_movements(subs)
    mrr_cohort_table(subs)
    pd.testing.assert_frame_equal(subs.frame, before)
