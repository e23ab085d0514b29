"""Any date range works on every engine: dates before 1970 and far outliers (definitions §2).

Period indices count periods since 1970, so they are negative before it; the
reductions must not take a negative period for "no period". References: the
brute-force loops of tests/reference.py, and pandas vs polars vs DuckDB.
"""

from __future__ import annotations

import math
import warnings

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import retainkit as rk
from retainkit import backends
from retainkit.periods import period_label

from .reference import brute_cohorts, brute_crr

ENGINES = ("pandas", "polars", "duckdb")


def _to(frame: pd.DataFrame, engine: str):
    if engine == "polars":
        return pl.from_pandas(frame)
    if engine == "duckdb":
        return duckdb.connect().from_df(frame)
    return frame


def _load(frame: pd.DataFrame, engine: str, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rk.DataQualityWarning)
        return rk.load_transactions(_to(frame, engine), amount="amount", **kw)


def _check_cohorts(tx, freq: str) -> None:
    expected = brute_cohorts(tx, freq)
    table = rk.cohort_table(tx, freq)
    got = {(r.cohort, r.age): r for r in table.itertuples()}
    assert len(got) == len(expected)
    for (c, k), cell in expected.items():
        row = got[(period_label(c, freq), k)]
        assert (row.size, row.active, row.active_on_or_after) == (cell["size"], cell["active"], cell["on_or_after"])
        assert math.isclose(row.revenue, cell["revenue"], abs_tol=1e-6)


def _check_crr(tx, freq: str, window: int) -> None:
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


@pytest.fixture(params=["local", "in-engine"])
def reduction(request, monkeypatch):
    if request.param == "in-engine":
        monkeypatch.setattr(backends, "LOCAL_REDUCE_MAX_ROWS", -1)
    return request.param


def _outlier_log() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 600
    ts = pd.Timestamp("2024-01-01") + pd.to_timedelta(rng.integers(0, 360 * 24, n), unit="h")
    frame = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 80, n),
            "timestamp": ts.astype(str),
            "amount": rng.choice([5.0, 12.5, -3.0, 40.0], n),
        }
    )
    frame.loc[3, "timestamp"] = "1900-03-04 10:00:00"  # one mistyped year among 2024 rows
    return frame


@pytest.mark.parametrize("engine", ENGINES)
def test_one_row_from_1900_among_2024_rows_is_kept_on_every_engine(engine, reduction):
    frame = _outlier_log()
    tx = _load(frame, engine, as_of="2024-12-31")
    table = rk.cohort_table(tx, "M")
    assert table["cohort"].iloc[0] == "1900-03"
    assert tx.summary.rows_kept == len(frame)
    ref = _load(frame, "pandas", as_of="2024-12-31")
    pd.testing.assert_frame_equal(table, rk.cohort_table(ref, "M"))
    pd.testing.assert_frame_equal(rk.crr_table(tx, "M"), rk.crr_table(ref, "M"))
    pd.testing.assert_frame_equal(rk.purchase_metrics(tx, "M"), rk.purchase_metrics(ref, "M"))
    if engine == "pandas":
        _check_cohorts(tx, "Y")
        _check_crr(tx, "Y", 400)


@st.composite
def old_logs(draw):
    """Small logs around 1 January 1970 (negative and positive period indices)."""
    n = draw(st.integers(1, 25))
    base = pd.Timestamp("1968-10-01")
    rows = []
    for i in range(n):
        cust = draw(st.sampled_from(["a", "b", "c", "d"]))
        hours = draw(st.integers(0, 24 * 700))
        amount = draw(st.sampled_from([0.0, 5.5, 20.0, -5.5]))
        rows.append((cust, base + pd.Timedelta(hours=hours) + pd.Timedelta(i, "us"), amount))
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"])
    freq = draw(st.sampled_from(["D", "W", "M", "Q", "Y"]))
    as_of = base + pd.Timedelta(days=draw(st.integers(30, 720)))
    window = draw(st.sampled_from([7, 30, 90]))
    engine = draw(st.sampled_from(ENGINES))
    return frame, freq, as_of, window, engine


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(old_logs())
def test_logs_before_1970_match_the_brute_force_loops_on_every_engine(case):
    frame, freq, as_of, window, engine = case
    try:
        tx = _load(frame, engine, as_of=as_of)
    except rk.DataError:
        assert (frame["timestamp"] > as_of).all()
        return
    if not (tx.frame["amount"] >= 0).any():
        return
    try:
        _check_cohorts(tx, freq)
    except rk.DataError:
        assert not brute_cohorts(tx, freq)
    _check_crr(tx, freq, window)
