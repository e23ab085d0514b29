"""retainkit.clv.customers_at_risk: per-customer P(alive) / expected purchases vs direct computations."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retainkit.clv import BetaGeoFitter, customers_at_risk, most_valuable_at_risk, rfm_summary
from retainkit.clv.risk import METHOD_BGNBD
from retainkit.data import load_transactions
from retainkit.datasets import sample_path


@pytest.fixture(scope="module")
def sample_tx():
    return load_transactions(sample_path(), amount="amount", order_id="order_id", as_of="2024-12-31")


def test_customers_at_risk_matches_a_direct_computation_on_the_sample(sample_tx):
    risk = customers_at_risk(sample_tx, "M")
    assert list(risk.columns) == [
        "customer_id",
        "last_purchase",
        "purchases",
        "spend",
        "p_alive",
        "expected_purchases",
        "method",
    ]
    assert (risk["method"] == METHOD_BGNBD).all()
    # the model part: the fitter's own per-customer formulas on rfm_summary
    rfm = rfm_summary(sample_tx, freq="M")
    m = BetaGeoFitter().fit(rfm)
    np.testing.assert_allclose(risk["p_alive"], m.probability_alive(rfm.frequency, rfm.recency, rfm["T"]))
    np.testing.assert_allclose(
        risk["expected_purchases"], m.expected_purchases(1.0, rfm.frequency, rfm.recency, rfm["T"])
    )
    # the descriptive part: a brute-force loop over each customer's rows
    f = sample_tx.frame
    by_id = risk.set_index("customer_id")
    for cid in list(by_id.index[:40]) + list(by_id.index[-40:]):
        rows = f[(f["customer_id"] == cid) & (f["amount"] >= 0)]
        row = by_id.loc[cid]
        assert row["last_purchase"] == rows["timestamp"].max().strftime("%Y-%m-%d")
        assert row["spend"] == pytest.approx(rows["amount"].sum())
        assert row["purchases"] == rows["timestamp"].dt.strftime("%Y-%m").nunique()
    assert risk["p_alive"].between(0, 1).all() and (risk["expected_purchases"] >= 0).all()


def test_falls_back_to_a_stated_recency_rule_when_the_model_cannot_be_fitted():
    # nobody makes a repeat purchase: the BG/NBD has no finite maximum (ConvergenceError)
    f = pd.DataFrame(
        {
            "customer_id": ["a", "b", "c"],
            "timestamp": pd.to_datetime(["2024-01-05", "2024-10-20", "2024-12-30"]),
            "amount": [10.0, 20.0, 5.0],
        }
    )
    risk = customers_at_risk(f, "M", window="90D")
    assert risk["method"].iloc[0].startswith("recency rule") and "90 days" in risk["method"].iloc[0]
    # end of data 2024-12-30 23:59:59; 90 days earlier is 2024-10-01 23:59:59
    assert risk.set_index("customer_id")["p_alive"].to_dict() == {"a": 0.0, "b": 1.0, "c": 1.0}
    assert risk["expected_purchases"].isna().all()


def test_most_valuable_at_risk_picks_the_top_spenders_with_the_lowest_p_alive():
    risk = pd.DataFrame(
        {
            "id": list("abcdefgh"),
            "spend": [100, 90, 80, 70, 10, 5, 1, 1.0],
            "p_alive": [0.9, 0.2, 0.2, 0.5, 0.01, 0.0, 0.0, 0.0],
        }
    )
    top = most_valuable_at_risk(risk, n=3, top_share=0.5)  # spend >= the median (40): a, b, c, d
    assert list(top["id"]) == ["b", "c", "d"]
