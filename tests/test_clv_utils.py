"""Tests for retainkit.clv.utils: rfm_summary and customer_clv (definitions §5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retainkit.clv import BetaGeoFitter, GammaGammaFitter, customer_clv, rfm_summary
from retainkit.exceptions import ParameterError

from .test_clv_bgnbd import _fixed_bgnbd


# =========================================================================== rfm_summary
def _log():
    rows = [
        ("A", "2024-01-01 09:00", 10.0),
        ("A", "2024-01-01 18:00", 5.0),
        ("A", "2024-01-03 10:00", 20.0),
        ("A", "2024-01-04 10:00", -5.0),
        ("A", "2024-01-10 10:00", 30.0),
        ("A", "2024-01-20 10:00", 8.0),
        ("A", "2024-01-20 11:00", 2.0),
        ("B", "2024-01-15 12:00", np.nan),
        ("C", "2024-01-05 12:00", -7.0),
        ("D", "2024-02-02 12:00", 50.0),
        ("E", "2024-01-20 12:00", 0.0),
        ("E", "2024-01-21 12:00", np.nan),
        ("E", "2024-01-25 12:00", 12.0),
    ]
    df = pd.DataFrame(rows, columns=["cust", "when", "value"])
    df["when"] = pd.to_datetime(df["when"])
    return df


def test_rfm_summary_hand_worked():
    log = _log()
    before = log.copy()
    out = rfm_summary(log, customer_id="cust", timestamp="when", amount="value", observation_end="2024-01-31")
    pd.testing.assert_frame_equal(log, before)
    out = out.set_index("cust")
    assert set(out.index) == {"A", "B", "E"}  # C: refund only; D: after observation_end
    assert out.loc["A"].to_dict() == {
        "frequency": 3,
        "recency": 19.0,
        "T": 30.0,
        "monetary_value": 20.0,
        "refunds": -5.0,
    }
    assert out.loc["B", "frequency"] == 0 and out.loc["B", "T"] == 16 and np.isnan(out.loc["B", "monetary_value"])
    assert out.loc["E", ["frequency", "recency", "T", "monetary_value"]].tolist() == [2, 5.0, 11.0, 12.0]
    assert out.attrs["time_unit"] == "D" and out.attrs["time_unit_name"] == "day"


def test_rfm_summary_calibration_holdout():
    out = rfm_summary(
        _log(),
        customer_id="cust",
        timestamp="when",
        amount="value",
        calibration_end="2024-01-15",
        observation_end="2024-01-31",
    ).set_index("cust")
    assert set(out.index) == {"A", "B"}
    assert out.loc["A", ["frequency", "recency", "T", "monetary_value"]].tolist() == [2, 9.0, 14.0, 25.0]
    assert out.loc["A", "frequency_holdout"] == 1 and out.loc["A", "monetary_value_holdout"] == 10.0
    assert out.loc["B", "T"] == 0 and out.loc["B", "frequency_holdout"] == 0
    assert (out["duration_holdout"] == 16).all()
    assert out.attrs["customers_first_seen_in_holdout"] == 1
    with pytest.raises(ParameterError):
        rfm_summary(
            _log(),
            customer_id="cust",
            timestamp="when",
            amount="value",
            calibration_end="2024-02-15",
            observation_end="2024-01-31",
        )


def test_rfm_summary_weeks_and_transactions_input():
    from retainkit.data import load_transactions

    log = _log().rename(columns={"cust": "customer_id", "when": "timestamp", "value": "amount"})
    tx = load_transactions(log, amount="amount", as_of="2024-01-31")
    out = rfm_summary(tx, freq="W").set_index("customer_id")
    # ISO weeks: Jan 1 2024 is a Monday; A buys in weeks 0, 1 (Jan 10), 2 (Jan 20); Jan 3 is week 0
    assert out.loc["A", ["frequency", "recency", "T"]].tolist() == [2, 2.0, 4.0]
    assert out.attrs["time_unit"] == "W"
    assert "D" not in out.index  # after as_of
    # the previous spelling time_unit= still works, with a warning naming freq=
    with pytest.warns(DeprecationWarning, match=r"rfm_summary\(time_unit=\.\.\.\).*freq="):
        old = rfm_summary(tx, time_unit="W").set_index("customer_id")
    pd.testing.assert_frame_equal(old, out)
    with pytest.raises(ParameterError, match="pass freq= only"):
        rfm_summary(tx, freq="W", time_unit="W")


def test_rfm_summary_random_against_loop():
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame(
        {
            "customer_id": rng.integers(0, 60, n),
            "timestamp": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 200 * 24, n), unit="h"),
            "amount": np.round(rng.normal(20, 15, n), 2),
        }
    )
    end = pd.Timestamp("2023-07-19 23:59:59")
    out = rfm_summary(df, observation_end="2023-07-19").set_index("customer_id")
    for cid, g in df.groupby("customer_id"):
        g = g[(g.timestamp <= end) & (g.amount >= 0)]
        if g.empty:
            assert cid not in out.index
            continue
        days = sorted(set(g.timestamp.dt.floor("D")))
        per_day = g.groupby(g.timestamp.dt.floor("D"))["amount"].sum()
        row = out.loc[cid]
        assert row["frequency"] == len(days) - 1
        assert row["recency"] == (days[-1] - days[0]).days
        assert row["T"] == (end.floor("D") - days[0]).days
        if len(days) > 1:
            assert row["monetary_value"] == pytest.approx(per_day.iloc[1:].mean())


# =========================================================================== customer CLV
def test_customer_clv_against_loop_and_telescoping():
    m = _fixed_bgnbd(0.25, 4.0, 0.8, 2.5, unit="D")
    gg = GammaGammaFitter()
    gg.p_, gg.q_, gg.v_ = 6.0, 4.0, 15.0
    rfm = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "frequency": [0, 2, 7],
            "recency": [0.0, 30.0, 80.0],
            "T": [40.0, 90.0, 95.0],
            "monetary_value": [np.nan, 25.0, 40.0],
        }
    )
    out = customer_clv(m, gg, rfm, horizon=6, discount_rate=0.02, margin=0.3, freq="M")
    L = 365.2425 / 12
    for i, row in rfm.iterrows():
        spend = (
            6.0
            * (15.0 + row.frequency * (0 if row.frequency == 0 else row.monetary_value))
            / (6.0 * row.frequency + 4.0 - 1)
        )
        total = 0.0
        for k in range(1, 7):
            e1 = m.expected_purchases(k * L, row.frequency, row.recency, row["T"])
            e0 = m.expected_purchases((k - 1) * L, row.frequency, row.recency, row["T"])
            total += (e1 - e0) / 1.02**k
        assert out.loc[i, "clv"] == pytest.approx(0.3 * spend * total, rel=1e-10)
        assert out.loc[i, "expected_spend"] == pytest.approx(spend)
    assert list(out["customer_id"]) == ["a", "b", "c"]
    # undiscounted: the sum telescopes to E[Y(H L)]
    flat = customer_clv(m, gg, rfm, horizon=6, discount_rate=0.0, margin=1.0, freq="M")
    np.testing.assert_allclose(
        flat["clv"],
        flat["expected_spend"] * m.expected_purchases(6 * L, rfm.frequency, rfm.recency, rfm["T"]),
        rtol=1e-12,
    )
    # a numeric time unit is the period length in model units
    num = customer_clv(m, gg, rfm, horizon=6, discount_rate=0.02, margin=0.3, freq=L)
    np.testing.assert_allclose(num["clv"], out["clv"])
    with pytest.raises(ParameterError):
        customer_clv(m, gg, rfm, horizon=0)


def test_pipeline_daily_log_to_clv():
    """Simulated daily transaction log -> rfm_summary -> BG/NBD + Gamma-Gamma -> CLV."""
    rng = np.random.default_rng(8)
    rows = []
    start = pd.Timestamp("2023-01-01")
    for c in range(1500):
        lam, p = rng.gamma(0.6, 1 / 30.0), rng.beta(1.0, 4.0)
        nu = rng.gamma(4.0, 1 / 15.0)
        t = rng.uniform(0, 120)
        rows.append((c, start + pd.Timedelta(days=t), rng.gamma(6.0, 1 / nu)))
        while True:
            t += rng.exponential(1 / lam)
            if t > 365:
                break
            rows.append((c, start + pd.Timedelta(days=t), rng.gamma(6.0, 1 / nu)))
            if rng.random() < p:
                break
    log = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount"])
    rfm = rfm_summary(log, calibration_end="2023-09-30", observation_end="2023-12-31")
    bg = BetaGeoFitter().fit(rfm)
    assert bg.time_unit_ == "D"
    rep = rfm[rfm.frequency > 0]
    gg = GammaGammaFitter().fit(rep)
    pred = bg.expected_purchases(rfm.duration_holdout, rfm.frequency, rfm.recency, rfm["T"])
    assert pred.sum() == pytest.approx(rfm.frequency_holdout.sum(), rel=0.15)
    clv = customer_clv(bg, gg, rfm, horizon=12, discount_rate=0.01, margin=0.25)
    assert (clv["clv"] >= 0).all() and clv["clv"].sum() > 0
