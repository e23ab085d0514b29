"""Tests for retainkit.clv.sbg: the shifted-beta-geometric model against Fader & Hardie (2007) (definitions §5)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import integrate, stats

from retainkit.clv import ShiftedBetaGeoFitter, backtest
from retainkit.exceptions import ConvergenceError, DataError, ParameterError

# Fader & Hardie (2007), "How to project customer retention", Table 1 / Figure 1.
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]


# =========================================================================== sBG
def direct_sbg_ll(a, b, survivors):
    """Per-customer loop: each churner contributes ln P(T=t), survivors ln S(k) (product formulas)."""
    s = list(survivors)
    k = len(s) - 1

    def p_churn(t):  # P(T=t) = a/(a+b) * prod_{j=2..t} (b+j-2)/(a+b+j-1)
        p = a / (a + b)
        for j in range(2, t + 1):
            p *= (b + j - 2) / (a + b + j - 1)
        return p

    def surv(t):  # S(t) = prod_{j=1..t} (b+j-1)/(a+b+j-1)
        out = 1.0
        for j in range(1, t + 1):
            out *= (b + j - 1) / (a + b + j - 1)
        return out

    ll = 0.0
    for t in range(1, k + 1):
        ll += (s[t - 1] - s[t]) * math.log(p_churn(t))
    return ll + s[k] * math.log(surv(k))


@pytest.mark.parametrize(
    "survivors,alpha,beta,ll",
    [
        (REGULAR, 0.704, 1.182, -1680.3),
        (HIGH_END, 0.668, 3.806, -1611.2),
    ],
)
def test_sbg_reproduces_fader_hardie_2007(survivors, alpha, beta, ll):
    m = ShiftedBetaGeoFitter().fit(survivors[:8])  # years 1-7
    assert round(m.alpha_, 3) == alpha
    assert round(m.beta_, 3) == beta
    assert round(m.log_likelihood_, 1) == ll
    # the fitted LL agrees with an independent per-customer loop at the estimates
    assert m.log_likelihood_ == pytest.approx(direct_sbg_ll(m.alpha_, m.beta_, survivors[:8]), rel=1e-10)
    assert m.n_periods_ == 7 and m.size_ == 1000
    lo, hi = m.alpha_ci_
    assert lo < m.alpha_ < hi and m.summary_.shape == (2, 5)


def test_sbg_projection_years_8_to_12():
    # Projected survivors (expected, per 1000) computed independently with a separate
    # Nelder-Mead fit on the same data: Regular and High End, years 8..12.
    want = {"regular": [220.1, 204.4, 191.2, 179.9, 170.0], "high_end": [460.4, 435.8, 414.2, 395.1, 378.0]}
    tol = {"regular": 2.0, "high_end": 4.5}  # max |% error| vs actual: F&H report close tracking
    for name, data in (("regular", REGULAR), ("high_end", HIGH_END)):
        m = ShiftedBetaGeoFitter().fit(data[:8])
        pred = m.predict(12)
        # S(t) as a product of the retention rates r_t (a route independent of betaln)
        a, b = m.alpha_, m.beta_
        prod = np.cumprod([1.0] + [(b + t - 1) / (a + b + t - 1) for t in range(1, 13)])
        np.testing.assert_allclose(pred["survival"], prod, rtol=1e-10)
        proj = pred["expected_survivors"].to_numpy()[8:]
        np.testing.assert_allclose(proj, want[name], atol=0.06)
        pct = 100 * np.abs(proj - np.array(data[8:])) / np.array(data[8:])
        assert pct.max() < tol[name]
        assert list(pred["in_sample"]) == [True] * 8 + [False] * 5


def test_sbg_functions_match_integration_over_theta():
    m = ShiftedBetaGeoFitter().fit(REGULAR[:8])
    a, b = m.alpha_, m.beta_
    dens = stats.beta(a, b).pdf
    for t in (0, 1, 2, 5, 11):
        s_ref = integrate.quad(lambda th: (1 - th) ** t * dens(th), 0, 1, limit=200)[0]
        assert m.survival(t) == pytest.approx(s_ref, rel=1e-6)
    for t in (1, 2, 7):
        p_ref = integrate.quad(lambda th: th * (1 - th) ** (t - 1) * dens(th), 0, 1, limit=200)[0]
        assert m.churn_probability(t) == pytest.approx(p_ref, rel=1e-6)
        assert m.retention_rate(t) == pytest.approx(m.survival(t) / m.survival(t - 1), rel=1e-12)
    t = np.arange(1, 30)
    np.testing.assert_allclose(m.survival(t - 1) - m.survival(t), m.churn_probability(t), rtol=1e-10)
    with pytest.raises(ParameterError):
        m.churn_probability(0)
    with pytest.raises(ParameterError):
        m.survival(1.5)


@pytest.mark.parametrize("d", [0.01, 0.1, 0.25])
def test_del_closed_form_sum_and_integral_agree(d):
    for data in (REGULAR, HIGH_END):
        m = ShiftedBetaGeoFitter().fit(data[:8])
        closed = m.expected_lifetime(d)
        assert closed == pytest.approx(m.expected_lifetime(d, method="sum"), rel=1e-9)
        # individual DEL with constant churn theta: sum_t (1-th)^t/(1+d)^t = (1+d)/(d+th)
        ref = integrate.quad(lambda th: (1 + d) / (d + th) * stats.beta(m.alpha_, m.beta_).pdf(th), 0, 1, limit=200)[0]
        assert closed == pytest.approx(ref, rel=1e-6)


def test_del_undiscounted():
    m = ShiftedBetaGeoFitter().fit(REGULAR[:8])
    assert m.expected_lifetime(0.0) == math.inf  # alpha < 1: mean lifetime is infinite
    sim = _sbg_survivors(200_000, 2.5, 3.0, 80, seed=3)
    m2 = ShiftedBetaGeoFitter().fit(sim[:10])
    assert m2.expected_lifetime(0.0) == pytest.approx((m2.alpha_ + m2.beta_ - 1) / (m2.alpha_ - 1))
    assert m2.expected_lifetime(0.0) == pytest.approx(m2.expected_lifetime(1e-9), rel=1e-5)


@pytest.mark.parametrize("d", [0.05, 0.1])
def test_derl_closed_form_sum_integral(d):
    m = ShiftedBetaGeoFitter().fit(HIGH_END[:8])
    a, b = m.alpha_, m.beta_
    n = np.array([0, 1, 4, 10])
    closed = m.residual_lifetime(d, n)
    np.testing.assert_allclose(closed, m.residual_lifetime(d, n, method="sum"), rtol=1e-9)
    for nn, val in zip(n, closed):
        # posterior of theta after n renewals is Beta(a, b+n); individual DERL = (1+d)(1-th)/(d+th)
        ref = integrate.quad(lambda th: (1 + d) * (1 - th) / (d + th) * stats.beta(a, b + nn).pdf(th), 0, 1, limit=200)[
            0
        ]
        assert val == pytest.approx(ref, rel=1e-6)
    # DEL(d) = 1 + DERL(d | 0) / (1 + d)
    assert m.expected_lifetime(d) == pytest.approx(1 + m.residual_lifetime(d, 0) / (1 + d), rel=1e-12)
    # DERL rises with renewals (survivors are the loyal ones)
    assert np.all(np.diff(closed) > 0)
    assert isinstance(m.residual_lifetime(d, 3), float)


def _sbg_survivors(n, a, b, k, seed):
    rng = np.random.default_rng(seed)
    theta = rng.beta(a, b, n)
    churn_period = rng.geometric(theta)  # T >= 1
    return np.array([(churn_period > t).sum() for t in range(k + 1)], dtype=float)


@pytest.mark.parametrize("a,b,seed", [(0.8, 2.5, 11), (3.0, 8.0, 12)])
def test_sbg_parameter_recovery(a, b, seed):
    s = _sbg_survivors(20_000, a, b, 10, seed)
    m = ShiftedBetaGeoFitter().fit(s)
    # within 3 standard errors of the truth (seeded; a single 95 % interval misses 1 time in 20)
    assert abs(m.alpha_ - a) < 3 * m.alpha_se_
    assert abs(m.beta_ - b) < 3 * m.beta_se_


def test_sbg_interval_coverage():
    """The 95 % intervals cover the true (a, b) in about 95 % of seeded replications."""
    a, b, reps = 1.1, 3.0, 60
    hits = np.zeros(2)
    for seed in range(reps):
        m = ShiftedBetaGeoFitter().fit(_sbg_survivors(3000, a, b, 8, seed=100 + seed))
        hits += [m.alpha_ci_[0] < a < m.alpha_ci_[1], m.beta_ci_[0] < b < m.beta_ci_[1]]
    coverage = hits / reps
    assert np.all(coverage >= 0.85), coverage  # binomial sd at 95 % with 60 reps is 2.8 points


def test_sbg_from_cohort_table_pooled_and_by_cohort():
    s1 = np.array(REGULAR[:8], float)
    s2 = np.array(HIGH_END[:6], float)
    rows = [
        {"cohort": c, "age": t, "size": s[0], "active": v, "partial": False}
        for c, s in (("A", s1), ("B", s2))
        for t, v in enumerate(s)
    ]
    rows.append({"cohort": "B", "age": 6, "size": 1000, "active": 1.0, "partial": True})  # ignored
    table = pd.DataFrame(rows)
    m = ShiftedBetaGeoFitter().fit(table, by_cohort=True)
    ma = ShiftedBetaGeoFitter().fit(s1)
    mb = ShiftedBetaGeoFitter().fit(s2)
    p = m.cohort_params_.set_index("cohort")
    assert p.loc["A", "alpha"] == pytest.approx(ma.alpha_, rel=1e-6)
    assert p.loc["B", "beta"] == pytest.approx(mb.beta_, rel=1e-6)
    assert p.loc["B", "n_periods"] == 5
    # pooled fit maximises the summed likelihood: at least as high as either cohort's params
    pooled = m.log_likelihood_
    for other in (ma, mb):
        assert pooled >= direct_sbg_ll(other.alpha_, other.beta_, s1) + direct_sbg_ll(other.alpha_, other.beta_, s2)
    assert pooled == pytest.approx(direct_sbg_ll(m.alpha_, m.beta_, s1) + direct_sbg_ll(m.alpha_, m.beta_, s2))
    assert m.size_ == 2000 and m.n_periods_ == 7


def test_sbg_errors():
    with pytest.raises(DataError, match="rises"):
        ShiftedBetaGeoFitter().fit([100, 80, 85, 60])
    with pytest.raises(DataError):
        ShiftedBetaGeoFitter().fit([100, 80])
    with pytest.raises(DataError):
        ShiftedBetaGeoFitter().fit([0, 0, 0])
    with pytest.raises(ConvergenceError, match="churn"):
        ShiftedBetaGeoFitter().fit([100, 100, 100])
    with pytest.raises(ConvergenceError, match="heterogeneity"):
        ShiftedBetaGeoFitter().fit(1000 * 0.8 ** np.arange(8))  # exactly geometric: alpha, beta -> infinity
    with pytest.raises(ParameterError, match="fit"):
        ShiftedBetaGeoFitter().survival(1)


def test_backtest_frame_and_mape():
    bt = backtest(REGULAR, 7)
    f = bt.table
    assert list(f.columns) == ["period", "actual", "predicted", "error", "pct_error", "sample"]
    assert (f["sample"] == "holdout").sum() == 5
    np.testing.assert_allclose(f["error"], f["predicted"] - f["actual"])
    hold = f[f["sample"] == "holdout"]
    manual = np.mean([abs(p - a) / a * 100 for p, a in zip(hold["predicted"], hold["actual"])])
    assert bt.mape == pytest.approx(manual)
    assert bt.mape < 2.0
    assert bt.model.alpha_ == pytest.approx(0.704, abs=5e-4)
    with pytest.raises(ParameterError):
        backtest(REGULAR, 12)
    with pytest.raises(ParameterError):
        backtest(REGULAR, 1)


def test_previous_fitter_names_still_work_with_a_deprecation_warning():
    import retainkit as rk
    from retainkit import clv

    for module in (rk, clv):
        with pytest.warns(DeprecationWarning, match="ShiftedBetaGeoFitter"):
            assert module.ShiftedBetaGeometric is ShiftedBetaGeoFitter
        with pytest.warns(DeprecationWarning, match="GammaGammaFitter"):
            assert module.GammaGamma is clv.GammaGammaFitter
    with pytest.raises(AttributeError, match="NoSuchFitter"):
        clv.NoSuchFitter  # noqa: B018


def test_backtest_table_summary_and_the_deprecated_frame():
    bt = backtest(REGULAR, 7)
    s = bt.summary.set_index("metric")["value"]
    assert s["fit_periods"] == 7 and s["mape"] == bt.mape
    assert (s["alpha"], s["beta"]) == (bt.model.alpha_, bt.model.beta_)
    with pytest.warns(DeprecationWarning, match=r"SBGBacktest.frame.*SBGBacktest.table"):
        assert bt.frame is bt.table
