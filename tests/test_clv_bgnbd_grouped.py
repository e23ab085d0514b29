"""BG/NBD on distinct (x, t_x, T) rows with count weights vs a brute-force per-customer computation.

The fit compresses identical (x, t_x, T) rows and evaluates the special
functions once per distinct x, T and t_x; ``customers_at_risk`` computes
P(alive) and E[Y(1)] once per distinct combination. The references here are
independent: the closed forms of Fader, Hardie & Lee (2005a) (eq. 6, P(alive),
eq. 10) written with ``math.lgamma`` and a plain 2F1 series, one customer at a
time in a loop.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retainkit.clv import BetaGeoFitter, customers_at_risk, rfm_summary
from retainkit.clv.base import fit_log_mle
from retainkit.clv.bgnbd import _bgnbd_grouped_nll, _bgnbd_loglik_terms
from retainkit.data import load_transactions
from retainkit.datasets import sample_path


def _lbeta(p: float, q: float) -> float:
    return math.lgamma(p) + math.lgamma(q) - math.lgamma(p + q)


def _loglik_one(r, alpha, a, b, x, tx, T) -> float:
    """ln L(r, alpha, a, b | x, t_x, T), FHL 2005a eq. 6, for one customer."""
    common = math.lgamma(r + x) - math.lgamma(r) + r * math.log(alpha)
    l1 = _lbeta(a, b + x) - _lbeta(a, b) + common - (r + x) * math.log(alpha + T)
    if x == 0:
        return l1
    l2 = _lbeta(a + 1, b + x - 1) - _lbeta(a, b) + common - (r + x) * math.log(alpha + tx)
    hi, lo = max(l1, l2), min(l1, l2)
    return hi + math.log1p(math.exp(lo - hi))


def _hyp2f1_series(p: float, q: float, c: float, z: float) -> float:
    term, total, k = 1.0, 1.0, 0
    while abs(term) > 1e-17 * abs(total):
        term *= (p + k) * (q + k) / ((c + k) * (k + 1)) * z
        total += term
        k += 1
    return total


def _p_alive_one(r, alpha, a, b, x, tx, T) -> float:
    if x == 0:
        return 1.0
    return 1.0 / (1.0 + a / (b + x - 1) * ((alpha + T) / (alpha + tx)) ** (r + x))


def _expected_one(t, r, alpha, a, b, x, tx, T) -> float:
    """E[Y(t) | x, t_x, T], FHL 2005a eq. 10, for one customer."""
    z = t / (alpha + T + t)
    hyp = _hyp2f1_series(r + x, b + x, a + b + x - 1, z)
    num = (a + b + x - 1) / (a - 1) * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp)
    return num * _p_alive_one(r, alpha, a, b, x, tx, T)


def _simulated_rfm(n: int = 1500, seed: int = 3) -> pd.DataFrame:
    """BG/NBD customers (r=0.5, alpha=4, a=0.8, b=2.5) over 20-52 weeks, times in whole weeks."""
    rng = np.random.default_rng(seed)
    rows = []
    for _ in range(n):
        lam, p, T = rng.gamma(0.5, 1 / 4.0), rng.beta(0.8, 2.5), int(rng.integers(20, 53))
        t, x, last = 0.0, 0, 0.0
        while True:
            t += rng.exponential(1 / lam)
            if t > T:
                break
            x, last = x + 1, t
            if rng.random() < p:
                break
        rows.append((x, float(min(T, max(1, math.ceil(last)))) if x else 0.0, float(T)))
    return pd.DataFrame(rows, columns=["frequency", "recency", "T"])


@pytest.fixture(scope="module")
def sim_rfm() -> pd.DataFrame:
    return _simulated_rfm()


def test_grouped_likelihood_equals_the_per_customer_loop(sim_rfm):
    keys = sim_rfm.value_counts().reset_index(name="w")
    assert len(keys) < 0.7 * len(sim_rfm)  # the weights do compress (935 distinct rows of 1500)
    nll = _bgnbd_grouped_nll(*(keys[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T", "w")))
    rows = list(sim_rfm.itertuples(index=False))
    for params in [(0.5, 4.0, 0.8, 2.5), (0.243, 4.414, 0.793, 2.426), (2.0, 0.5, 3.0, 0.7)]:
        brute = -sum(_loglik_one(*params, x, tx, T) for x, tx, T in rows)
        assert nll(np.log(params)) == pytest.approx(brute, rel=1e-11)


def test_grouped_fit_equals_a_per_customer_fit(sim_rfm):
    model = BetaGeoFitter().fit(sim_rfm)
    assert model.n_customers_ == len(sim_rfm)
    # reference: the same optimiser over the ungrouped per-customer terms (one term per customer)
    x, tx, T = (sim_rfm[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T"))
    scale = float(np.mean(T))
    starts = [
        (0.0, math.log(scale), 0.0, 0.0),
        (math.log(0.5), math.log(scale / 4 + 1e-9), math.log(0.5), math.log(2.0)),
    ]
    ref = fit_log_mle(
        lambda p: -float(np.sum(_bgnbd_loglik_terms(*np.exp(p), x, tx, T))),
        starts,
        model="reference",
        names=("r", "alpha", "a", "b"),
        advice="",
        bound=14.0,
    )
    # the two objectives differ only in summation order, so the optimiser's paths differ at its
    # resolution (xatol 1e-6 on the log parameters): agreement to 1e-5 relative
    assert list(model.params_.values()) == pytest.approx(list(np.exp(ref.log_params)), rel=1e-5)
    assert model.log_likelihood_ == pytest.approx(-ref.nll, rel=1e-10)
    # the reported log-likelihood is the per-customer loop's sum at the fitted parameters
    brute = sum(_loglik_one(*model.params_.values(), *row) for row in sim_rfm.itertuples(index=False))
    assert model.log_likelihood_ == pytest.approx(brute, rel=1e-11)


def test_customers_at_risk_per_customer_values_equal_the_loop():
    tx = load_transactions(sample_path(), amount="amount", order_id="order_id", as_of="2024-12-31")
    risk = customers_at_risk(tx, "M")
    rfm = rfm_summary(tx, freq="M")
    assert len(rfm[["frequency", "recency", "T"]].drop_duplicates()) < len(rfm)  # shared combinations
    model = BetaGeoFitter().fit(rfm)
    params = tuple(model.params_.values())
    rows = list(rfm[["frequency", "recency", "T"]].itertuples(index=False))
    assert risk["customer_id"].tolist() == rfm["customer_id"].tolist()
    p_alive = [_p_alive_one(*params, *row) for row in rows]
    expected = [_expected_one(1.0, *params, *row) for row in rows]
    np.testing.assert_allclose(risk["p_alive"].to_numpy(), p_alive, rtol=1e-10)
    np.testing.assert_allclose(risk["expected_purchases"].to_numpy(), expected, rtol=1e-9)


_customer = st.integers(0, 12).flatmap(
    lambda x: st.tuples(st.just(x), st.integers(1 if x else 0, 30 if x else 0), st.integers(0, 10))
)


@settings(max_examples=60, deadline=None)
@given(
    customers=st.lists(_customer, min_size=1, max_size=40),
    log_params=st.tuples(*[st.floats(-2.5, 2.5) for _ in range(4)]),
)
def test_grouped_likelihood_property(customers, log_params):
    """Any log with repeated rows: the weighted distinct-row likelihood is the per-customer sum."""
    rfm = pd.DataFrame(
        [(x, float(tx), float(tx + extra)) for x, tx, extra in customers], columns=["frequency", "recency", "T"]
    )
    keys = rfm.value_counts().reset_index(name="w")
    nll = _bgnbd_grouped_nll(*(keys[c].to_numpy(dtype="float64") for c in ("frequency", "recency", "T", "w")))
    params = tuple(math.exp(v) for v in log_params)
    brute = -sum(_loglik_one(*params, *row) for row in rfm.itertuples(index=False))
    assert nll(np.array(log_params)) == pytest.approx(brute, rel=1e-9, abs=1e-9)
