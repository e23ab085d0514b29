"""The workshop's data (retainkit.workshop.data) against independent references."""

from __future__ import annotations

import gzip
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import retainkit as rk
from retainkit import workshop
from retainkit.exceptions import ParameterError

from ..conftest import read_cdnow

ROOT = Path(__file__).resolve().parents[2]


def brute_sen(log: pd.DataFrame, start: str, end: str, window: int = 90):
    """S, E, N, reactivated by looping over the rows (definitions §4)."""
    b0, b1 = pd.Timestamp(start), pd.Timestamp(end)
    S, E, first = set(), set(), {}
    for cid, ts in zip(log["customer_id"], log["timestamp"]):
        first[cid] = min(first.get(cid, ts), ts)
        if b0 - pd.Timedelta(days=window) <= ts < b0:
            S.add(cid)
        if b1 - pd.Timedelta(days=window) <= ts < b1:
            E.add(cid)
    N = {c for c in E if b0 <= first[c] < b1}
    return S, E, N, E - S - N


def test_customers_at_agrees_with_crr_table_every_quarter():
    log = workshop.crr_log()
    tab = rk.crr_table(workshop.load_crr_log(), freq="Q", window="90D")
    for _, row in tab.iterrows():
        start = row["period_start"]
        end = (pd.Period(row["period"].replace("-", ""), "Q") + 1).start_time
        S, E, N, R = brute_sen(log, str(start.date()), str(end.date()))
        assert len(workshop.customers_at(log, start)) == len(S) == row["start_customers"]
        assert len(workshop.customers_at(log, end)) == len(E) == row["end_customers"]
        assert (len(N), len(R)) == (row["new"], row["reactivated"])


def test_customers_at_accepts_days_as_int_or_text_and_rejects_nonsense():
    log = workshop.crr_log()
    assert workshop.customers_at(log, "2023-04-01", 90) == workshop.customers_at(log, "2023-04-01", "90D")
    for bad in ("0D", "1M", -3, True):
        with pytest.raises(ParameterError):
            workshop.customers_at(log, "2023-04-01", window=bad)


def test_cohort_mix_shows_a_big_gap_between_plain_and_weighted_means():
    """The lesson of notebook 02: a plain mean of rates is 10+ points off the size-weighted curve."""
    log = workshop.cohort_mix_log()
    first = log.groupby("customer_id")["timestamp"].min().dt.to_period("M")
    month = log["timestamp"].dt.to_period("M")
    age = (month - log["customer_id"].map(first)).map(lambda d: d.n)
    last = pd.Period(workshop.COHORT_MIX["as_of"], "M")
    rates, actives, sizes = [], 0, 0
    for cohort, members in first.groupby(first):
        if cohort + 1 > last:
            continue
        n = len(members)
        a = log.loc[(age == 1).to_numpy() & log["customer_id"].isin(members.index), "customer_id"].nunique()
        rates.append(a / n)
        actives, sizes = actives + a, sizes + n
    curve = rk.average_curve(rk.cohort_table(workshop.load_cohort_mix()))
    weighted = float(curve.set_index("age").loc[1, "retention"])
    assert weighted == pytest.approx(actives / sizes)
    assert np.mean(rates) - weighted >= 0.10


def test_fader_hardie_frame():
    fh = workshop.fader_hardie()
    assert list(fh.columns) == ["year", "regular", "high_end"]
    assert fh["regular"].iloc[[0, 7, 12]].tolist() == [1000, 241, 173]


@settings(max_examples=50, deadline=None)
@given(churn=st.lists(st.floats(0.0, 0.99), min_size=1, max_size=4), seed=st.integers(0, 10_000))
def test_mixture_retention_never_falls(churn, seed):
    shares = np.random.default_rng(seed).random(len(churn)) + 0.01
    m = workshop.mixture_retention(churn, shares, periods=15)
    r = m["retention_rate"].to_numpy()[1:]
    r = r[np.isfinite(r)]
    assert np.all(np.diff(r) >= -1e-12)  # sorting: the aggregate rate never falls
    assert m["survival"].iloc[0] == pytest.approx(1.0)


def test_mixture_by_hand():
    m = workshop.mixture_retention([0.5, 0.1], [0.5, 0.5], periods=3)
    for t in range(4):
        assert m.loc[t, "survival"] == pytest.approx(0.5 * 0.5**t + 0.5 * 0.9**t)


def test_mixture_rejects_bad_input():
    with pytest.raises(ParameterError):
        workshop.mixture_retention([50, 10], [0.5, 0.5])
    with pytest.raises(ParameterError):
        workshop.mixture_retention([0.5], [0.5, 0.5])
    with pytest.raises(ParameterError):
        workshop.mixture_retention([0.5], [1.0], periods=0)


def test_cdnow_ships_with_the_package_and_equals_the_test_copy():
    shipped = ROOT / "retainkit" / "data" / workshop.CDNOW_FILE
    assert gzip.decompress(shipped.read_bytes()) == gzip.decompress(
        (ROOT / "tests" / "data" / "cdnow_master.txt.gz").read_bytes()
    )
    assert "MIT" in (ROOT / "retainkit" / "data" / "CDNOW-README.md").read_text(encoding="utf-8")
    log = workshop.cdnow_log()
    ref = read_cdnow()
    assert len(log) == len(ref) == 69_659 and log["customer_id"].nunique() == 23_570
    assert (log["customer_id"].to_numpy() == ref["customer_id"].to_numpy()).all()
    assert (log["timestamp"].dt.strftime("%Y%m%d").to_numpy() == ref["date"].to_numpy()).all()
    assert np.allclose(log["amount"], ref["amount"])
    tx = workshop.load_cdnow()
    assert str(tx.as_of.date()) == workshop.CDNOW_AS_OF


def test_programme_data_know_their_truth():
    log, truth = workshop.program_data()
    assert truth["true_retention_effect"].max() == pytest.approx(workshop.PROGRAM_SIM["retention_lift"])
    hlog, htruth = workshop.holdout_data()
    assert "holdout" in hlog.columns
    lift = workshop.holdout_lift()
    assert lift.design == "randomized"
    lo, hi = lift.retention_lift_ci
    assert lo < workshop.HOLDOUT_SIM["retention_lift"] < hi  # the randomised estimate covers the truth


def test_tier_spend_is_deterministic_and_positive():
    a, b = workshop.tier_spend(), workshop.tier_spend()
    assert a.equals(b) and (a > 0).all() and len(a) == 2000
    with pytest.raises(ParameterError):
        workshop.tier_spend(0)
