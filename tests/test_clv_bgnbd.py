"""Tests for retainkit.clv.bgnbd and retainkit.clv.gamma_gamma (definitions §5 "BG/NBD and Gamma-Gamma")."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, special, stats

from retainkit.clv import BGNBD, BetaGeoFitter, GammaGammaFitter
from retainkit.exceptions import ConvergenceError, DataError, ParameterError


# =========================================================================== BG/NBD
def simulate_bgnbd(n, r, alpha, a, b, T, t_hold, seed):
    """Continuous-time BG/NBD: Poisson(lambda) purchases, drop out w.p. p after each repeat purchase."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(r, 1 / alpha, n)
    p = rng.beta(a, b, n)
    T = np.broadcast_to(np.asarray(T, float), (n,)).copy()
    x = np.zeros(n)
    tx = np.zeros(n)
    xh = np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i] + t_hold:
                break
            if t <= T[i]:
                x[i] += 1
                tx[i] = t
            else:
                xh[i] += 1
            if rng.random() < p[i]:
                break
    return pd.DataFrame({"frequency": x, "recency": tx, "T": T, "frequency_holdout": xh})


PARAMS = dict(r=1.6, alpha=3.0, a=1.4, b=2.6)  # > 1 so the mixing densities are smooth for quadrature


def _fixed_bgnbd(r, alpha, a, b, unit="W"):
    m = BetaGeoFitter()
    m.r_, m.alpha_, m.a_, m.b_, m.time_unit_ = r, alpha, a, b, unit
    return m


def _mix(func, r, alpha, a, b):
    """E over lambda ~ Gamma(r, rate alpha), p ~ Beta(a, b) of func(lam, p), by dblquad."""
    const = r * math.log(alpha) - math.lgamma(r) - special.betaln(a, b)

    def integrand(lam, p):
        if lam <= 0 or p <= 0 or p >= 1:
            return 0.0
        dens = math.exp(
            const + (r - 1) * math.log(lam) - alpha * lam + (a - 1) * math.log(p) + (b - 1) * math.log1p(-p)
        )
        return func(lam, p) * dens

    val, _ = integrate.dblquad(integrand, 0, 1, 0, np.inf, epsabs=0, epsrel=1e-9)
    return val


CUSTOMERS = [(0, 0.0, 10.0), (1, 3.5, 8.0), (4, 6.2, 12.0)]


@pytest.mark.parametrize("x,tx,T", CUSTOMERS)
def test_bgnbd_likelihood_against_numerical_integration(x, tx, T):
    def lik(lam, p):
        out = (1 - p) ** x * lam**x * math.exp(-lam * T)
        if x > 0:
            out += p * (1 - p) ** (x - 1) * lam**x * math.exp(-lam * tx)
        return out

    ref = _mix(lik, **PARAMS)
    got = _fixed_bgnbd(**PARAMS).log_likelihood(x, tx, T)
    assert float(got) == pytest.approx(math.log(ref), abs=1e-6)


@pytest.mark.parametrize("x,tx,T", CUSTOMERS)
def test_bgnbd_conditional_expectations_against_integration(x, tx, T):
    m = _fixed_bgnbd(**PARAMS)
    t = 6.0

    def lik(lam, p):
        out = (1 - p) ** x * lam**x * math.exp(-lam * T)
        if x > 0:
            out += p * (1 - p) ** (x - 1) * lam**x * math.exp(-lam * tx)
        return out

    def alive(lam, p):
        return (1 - p) ** x * lam**x * math.exp(-lam * T)

    def future(lam, p):  # E[purchases in (T, T+t] | alive, lam, p] = (1 - exp(-lam p t)) / p
        return alive(lam, p) * (-math.expm1(-lam * p * t)) / p

    den = _mix(lik, **PARAMS)
    assert m.probability_alive(x, tx, T) == pytest.approx(_mix(alive, **PARAMS) / den, rel=1e-6)
    assert m.expected_purchases(t, x, tx, T) == pytest.approx(_mix(future, **PARAMS) / den, rel=1e-6)


def test_bgnbd_expected_purchases_new_against_integration():
    m = _fixed_bgnbd(**PARAMS)
    for t in (1.0, 10.0, 52.0):
        ref = _mix(lambda lam, p: -math.expm1(-lam * p * t) / p, **PARAMS)
        assert m.expected_purchases_new(t) == pytest.approx(ref, rel=1e-6)


@pytest.fixture(scope="module")
def bg_sim():
    rng = np.random.default_rng(5)
    truth = dict(r=0.25, alpha=4.0, a=0.8, b=2.5)
    df = simulate_bgnbd(4000, T=rng.uniform(30, 39, 4000), t_hold=39.0, seed=7, **truth)
    return truth, df, BetaGeoFitter().fit(df, freq="W")


def test_bgnbd_parameter_recovery(bg_sim):
    truth, _, m = bg_sim
    s = m.summary_.set_index("parameter")
    for name, val in truth.items():
        assert s.loc[name, "lower95"] < val < s.loc[name, "upper95"], (name, s.loc[name].to_dict())
    assert (s["time_unit"] == "W").all()
    assert m.r_ == s.loc["r", "estimate"] and BGNBD is BetaGeoFitter
    # the MLE beats the true parameters on the data (it is the maximum)
    _, df, _ = bg_sim
    ll_true = _fixed_bgnbd(**truth).log_likelihood(df.frequency, df.recency, df["T"]).sum()
    assert m.log_likelihood_ >= ll_true
    assert m.log_likelihood_ == pytest.approx(m.log_likelihood(df.frequency, df.recency, df["T"]).sum())


def test_bgnbd_calibration_holdout(bg_sim):
    _, df, m = bg_sim
    pred = m.expected_purchases(39.0, df.frequency, df.recency, df["T"])
    actual = df["frequency_holdout"].to_numpy()
    assert pred.sum() == pytest.approx(actual.sum(), rel=0.10)
    # conditional expectations track actual holdout purchases by calibration frequency
    groups = pd.DataFrame({"x": np.minimum(df.frequency, 5), "pred": pred, "act": actual}).groupby("x").mean()
    assert np.corrcoef(groups["pred"], groups["act"])[0, 1] > 0.95
    assert (m.probability_alive(df.frequency, df.recency, df["T"]) <= 1).all()


def test_bgnbd_errors():
    bad = pd.DataFrame({"frequency": [1, 0], "recency": [5.0, 2.0], "T": [10.0, 10.0]})
    with pytest.raises(DataError, match="impossible"):
        BetaGeoFitter().fit(bad)
    none = pd.DataFrame({"frequency": [0, 0], "recency": [0.0, 0.0], "T": [10.0, 10.0]})
    with pytest.raises(ConvergenceError, match="repeat"):
        BetaGeoFitter().fit(none)
    with pytest.raises(ParameterError, match="fit"):
        BetaGeoFitter().expected_purchases_new(1.0)


# =========================================================================== Gamma-Gamma
def test_gamma_gamma_likelihood_and_spend_against_integration():
    p, q, v = 6.0, 4.0, 15.0
    gg = GammaGammaFitter()
    gg.p_, gg.q_, gg.v_ = p, q, v
    for x, mx in ((1, 30.0), (3, 12.5), (8, 40.0)):
        prior = stats.gamma(q, scale=1 / v).pdf

        def f_m(nu):  # mean of x Gamma(p, rate nu) amounts is Gamma(p x, rate nu x)
            return stats.gamma(p * x, scale=1 / (nu * x)).pdf(mx)

        lik = integrate.quad(lambda nu: f_m(nu) * prior(nu), 0, np.inf, epsrel=1e-11, limit=200)[0]
        assert float(gg.log_likelihood(x, mx)) == pytest.approx(math.log(lik), abs=1e-7)
        post_mean = (
            integrate.quad(lambda nu: (p / nu) * f_m(nu) * prior(nu), 0, np.inf, epsrel=1e-11, limit=200)[0] / lik
        )
        assert gg.expected_spend(x, mx) == pytest.approx(post_mean, rel=1e-7)
    # no repeat purchases: the population mean p v / (q - 1)
    assert gg.expected_spend(0, np.nan) == pytest.approx(p * v / (q - 1))


def test_gamma_gamma_recovery():
    rng = np.random.default_rng(21)
    p, q, v, n = 6.0, 4.0, 15.0, 3000
    x = 1 + rng.poisson(3, n)
    nu = rng.gamma(q, 1 / v, n)
    m = np.array([rng.gamma(p, 1 / nu[i], x[i]).mean() for i in range(n)])
    frame = pd.DataFrame({"frequency": np.r_[x, 0], "monetary_value": np.r_[m, np.nan]})
    gg = GammaGammaFitter().fit(frame)  # x = 0 customers are skipped
    s = gg.summary_.set_index("parameter")
    for name, val in (("p", p), ("q", q), ("v", v)):
        assert s.loc[name, "lower95"] < val < s.loc[name, "upper95"], (name, s.loc[name].to_dict())
    assert gg.n_customers_ == n
    with pytest.raises(DataError, match="positive"):
        GammaGammaFitter().fit(pd.DataFrame({"frequency": [1, 2, 3], "monetary_value": [5.0, -1.0, 3.0]}))
    # the deprecated array style still fits the same model, with a warning naming the new style
    with pytest.warns(DeprecationWarning, match=r"GammaGammaFitter.fit\(rfm"):
        old = GammaGammaFitter().fit(np.r_[x, 0], np.r_[m, np.nan])
    assert old.params_ == gg.params_
    with pytest.raises(ParameterError, match="monetary_value="):
        GammaGammaFitter().fit(frame.rename(columns={"monetary_value": "spend"}))
