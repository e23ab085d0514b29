"""Synthetic data: deterministic, realistic, with truth that estimates can recover."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import retainkit as rk
from retainkit.datasets import (
    SyntheticData,
    SyntheticProgram,
    make_subscriptions,
    make_transactions,
    sample_path,
    simulate_program,
    write_samples,
)


def test_same_seed_same_data_and_different_seed_differs():
    a = make_transactions(300, periods=12, seed=3)
    b = make_transactions(300, periods=12, seed=3)
    pd.testing.assert_frame_equal(a.frame, b.frame)
    c = make_transactions(300, periods=12, seed=4)
    assert not a.frame.equals(c.frame)
    frame, truth = a  # unpacks
    assert truth["args"]["seed"] == 3


def test_realistic_features_present():
    frame, truth = make_transactions(2000, periods=18, seed=1)
    assert set(frame.columns) == {
        "order_id",
        "customer_id",
        "timestamp",
        "amount",
        "channel",
        "country",
        "is_member",
        "member_since",
    }
    assert 0.01 < (frame["amount"] < 0).mean() < 0.06  # refunds
    assert frame["is_member"].any() and (frame.loc[frame["is_member"], "member_since"] != "").all()
    assert frame["channel"].nunique() == 4 and frame["country"].nunique() == 5
    ts = pd.to_datetime(frame["timestamp"])
    by_month = ts.dt.month.value_counts()
    assert by_month[12] > by_month[2]  # seasonality: December busier than February
    # self-selection: members buy more often than non-members even before the programme effect
    cust = truth["customers"]
    assert cust.loc[cust["is_member"], "purchase_rate"].mean() > cust.loc[~cust["is_member"], "purchase_rate"].mean()


def test_first_month_retention_matches_the_simulated_churn():
    frame, truth = make_transactions(6000, periods=6, seed=2, member_share=0.0)
    tx = rk.load_transactions(frame, amount="amount")
    t = rk.cohort_table(tx)
    # surviving the first month happens with probability 1 - E[theta]; being active needs >= 1 purchase
    ch = truth["channels"]
    share = np.array([v["share"] for v in ch.values()])
    mean_theta = np.array([v["alpha"] / (v["alpha"] + v["beta"]) for v in ch.values()])
    survive = float((share * (1 - mean_theta)).sum() / share.sum())
    observed = rk.average_curve(t).set_index("age").loc[1, "retention"]
    assert observed < survive  # activity needs a purchase on top of survival
    assert observed > 0.2 * survive


def test_bundled_sample_is_small_and_reproducible(tmp_path):
    path = sample_path()
    assert path.stat().st_size < 2_000_000
    written = write_samples(tmp_path)
    assert written[0].read_bytes() == path.read_bytes()
    assert written[1].read_bytes() == sample_path("sample_subscriptions.csv").read_bytes()
    tx = rk.datasets.load_sample()
    assert tx.summary.customers == 3000 and tx.summary.dropped == {}


def test_subscriptions_generator_and_bad_args():
    frame, truth = make_subscriptions(200, periods=12, seed=1)
    subs = rk.load_subscriptions(frame, mrr="mrr", segments="plan")
    assert subs.summary.customers == 200 and truth["alpha"] == 1.0
    with pytest.raises(rk.ParameterError, match="n_customers"):
        make_transactions(0)


def test_simulate_program_returns_synthetic_data_with_its_truth():
    """simulate_program lives with the generators and returns the same kind of object (frame + truth)."""
    sim = simulate_program(300, 16, retention_lift=0.05, spend_lift=0.1, seed=4)
    assert isinstance(sim, SyntheticData) and isinstance(sim, SyntheticProgram)
    assert sim.truth["retention_lift"] == 0.05 and sim.truth["spend_lift"] == 0.1
    assert sim.truth["args"] == {
        "n_customers": 300,
        "n_periods": 16,
        "join_range": (7, 11),
        "start": "2022-01-01",
        "seed": 4,
    }
    log, customers = sim  # unpacks as before: the log and the truth per customer
    assert log is sim.frame and customers is sim.customers
    assert len(customers) == 300 and set(log["customer_id"]) <= set(customers["customer_id"])
    treated = customers["is_member"].to_numpy()
    assert (customers.loc[treated, "true_retention_effect"] == 0.05).all()
    assert (customers.loc[~treated, "true_retention_effect"] == 0.0).all()
    assert rk.loyalty.simulate_program is simulate_program
    again = simulate_program(300, 16, retention_lift=0.05, spend_lift=0.1, seed=4)
    pd.testing.assert_frame_equal(again.frame, sim.frame)
