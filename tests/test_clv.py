"""Tests for retainkit.clv and retainkit.charts.clv (definitions §5 "Lifetime value").

References used: brute-force discounted sums, hand loops, Fader & Hardie (2007)
published sBG estimates, direct numerical integration over the mixing
distributions (scipy.integrate) and parameter recovery on seeded simulations.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate, special, stats

from retainkit.charts.clv import clv_curve_chart, sbg_backtest_chart, sbg_survival_chart
from retainkit.clv import (
    BGNBD,
    BetaGeoFitter,
    GammaGamma,
    ShiftedBetaGeometric,
    backtest,
    clv_margin_multiple,
    customer_clv,
    empirical_clv,
    rfm_summary,
)
from retainkit.exceptions import ConvergenceError, DataError, ParameterError

# Fader & Hardie (2007), "How to project customer retention", Table 1 / Figure 1.
REGULAR = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
HIGH_END = [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394]


# =========================================================================== margin multiple
def brute_clv(m, r, d, timing, n_terms=20000):
    start = 1 if timing == "end" else 0
    t = np.arange(start, n_terms)
    return float(np.sum(m * (r / (1 + d)) ** t))


@pytest.mark.parametrize("timing", ["end", "start"])
@pytest.mark.parametrize("m,r,d", [(100, 0.8, 0.1), (12.5, 0.0, 0.05), (1, 0.95, 0.0), (-3, 0.5, 0.2), (40, 0.6, -0.1)])
def test_margin_multiple_matches_brute_force(m, r, d, timing):
    assert clv_margin_multiple(m, r, d, timing=timing) == pytest.approx(brute_clv(m, r, d, timing), rel=1e-10)


def test_margin_multiple_textbook_formula_and_timing_relation():
    # m r / (1 + d - r) with m=100, r=0.8, d=0.1: 80 / 0.3
    assert clv_margin_multiple(100, 0.8, 0.1) == pytest.approx(80 / 0.3)
    assert clv_margin_multiple(100, 0.8, 0.1, timing="start") == pytest.approx(100 * 1.1 / 0.3)
    assert clv_margin_multiple(100, 0.8, 0.1, timing="start") == pytest.approx(100 + clv_margin_multiple(100, 0.8, 0.1))


def test_margin_multiple_vectorised():
    out = clv_margin_multiple([10, 20], [0.5, 0.9], 0.1)
    assert isinstance(out, np.ndarray)
    np.testing.assert_allclose(out, [brute_clv(10, 0.5, 0.1, "end"), brute_clv(20, 0.9, 0.1, "end")], rtol=1e-9)


@pytest.mark.parametrize("kwargs", [
    dict(margin=10, retention=1.0, discount_rate=0.1),
    dict(margin=10, retention=-0.1, discount_rate=0.1),
    dict(margin=10, retention=0.5, discount_rate=-1.0),
    dict(margin=10, retention=0.9, discount_rate=-0.2),  # 1 + d - r <= 0
    dict(margin=float("nan"), retention=0.5, discount_rate=0.1),
    dict(margin="x", retention=0.5, discount_rate=0.1),
])
def test_margin_multiple_validation(kwargs):
    with pytest.raises(ParameterError):
        clv_margin_multiple(**kwargs)
    with pytest.raises(ParameterError, match="timing"):
        clv_margin_multiple(1, 0.5, 0.1, timing="middle")


@settings(max_examples=60, deadline=None)
@given(m=st.floats(-1e3, 1e3), r=st.floats(0, 0.97), d=st.floats(0, 0.5))
def test_margin_multiple_property_brute_force(m, r, d):
    for timing in ("end", "start"):
        assert clv_margin_multiple(m, r, d, timing=timing) == pytest.approx(brute_clv(m, r, d, timing), rel=1e-8,
                                                                            abs=1e-8)


# =========================================================================== empirical CLV
def _cohort_table():
    rows = []
    data = {"2024-01": (10, [100.0, 40.0, 30.0, -5.0]), "2024-02": (20, [150.0, 60.0, 50.0]),
            "2024-03": (5, [20.0, 10.0])}
    for cohort, (size, revs) in data.items():
        cum = 0.0
        for age, rev in enumerate(revs):
            cum += rev / size
            rows.append({"cohort": cohort, "age": age, "size": size, "revenue": rev, "cum_revenue_per_customer": cum})
    return pd.DataFrame(rows)


def test_empirical_clv_against_hand_loop():
    table = _cohort_table()
    margin, d = 0.3, 0.02
    res = empirical_clv(table, margin=margin, discount_rate=d)
    expected = {}
    for cohort, g in table.groupby("cohort"):
        total = 0.0
        for _, row in g.sort_values("age").iterrows():
            total += margin * row["revenue"] / row["size"] / (1 + d) ** row["age"]
            expected[(cohort, row["age"])] = total
    got = {(c, a): v for c, a, v in res.by_cohort[["cohort", "age", "clv"]].itertuples(index=False)}
    assert got.keys() == expected.keys()
    for k, v in expected.items():
        assert got[k] == pytest.approx(v, rel=1e-12)
    # size-weighted average over cohorts observed at each age, by hand
    for age in range(4):
        obs = [(table.loc[(table.cohort == c) & (table.age == age), "size"].iloc[0], expected[(c, age)])
               for c in table.cohort.unique() if (c, age) in expected]
        want = sum(n * v for n, v in obs) / sum(n for n, _ in obs)
        row = res.average[res.average["age"] == age].iloc[0]
        assert row["clv"] == pytest.approx(want, rel=1e-12)
        assert row["cohorts"] == len(obs)
        assert row["customers"] == sum(n for n, _ in obs)


def test_empirical_clv_undiscounted_equals_cumulative_revenue_and_ignores_partial():
    table = _cohort_table()
    res = empirical_clv(table)
    np.testing.assert_allclose(res.by_cohort["clv"], table["cum_revenue_per_customer"], rtol=1e-12)
    table["partial"] = False
    table.loc[table.index[-1], "partial"] = True
    before = table.copy()
    res2 = empirical_clv(table)
    pd.testing.assert_frame_equal(table, before)  # caller's frame untouched
    assert len(res2.by_cohort) == len(table) - 1
    assert len(empirical_clv(table, include_partial=True).by_cohort) == len(table)


def test_empirical_clv_segments_and_gaps():
    table = _cohort_table()
    seg = pd.concat([table.assign(channel="web"), table.assign(channel="shop", revenue=table["revenue"] * 2)])
    seg = seg[["channel", *table.columns]]
    res = empirical_clv(seg)
    web = res.by_cohort[res.by_cohort.channel == "web"]["clv"].to_numpy()
    shop = res.by_cohort[res.by_cohort.channel == "shop"]["clv"].to_numpy()
    np.testing.assert_allclose(shop, 2 * web)
    assert set(res.average["channel"]) == {"web", "shop"}
    # a missing age inside a cohort makes later cumulative values unknown (never silently 0)
    gap = table.drop(index=table[(table.cohort == "2024-01") & (table.age == 1)].index)
    out = empirical_clv(gap).by_cohort
    jan = out[out.cohort == "2024-01"].set_index("age")["clv"]
    assert not np.isnan(jan[0]) and jan[[2, 3]].isna().all()


def test_empirical_clv_errors():
    with pytest.raises(DataError, match="amount"):
        empirical_clv(_cohort_table().drop(columns="revenue"))
    with pytest.raises(ParameterError):
        empirical_clv(_cohort_table(), margin=-1)
    with pytest.raises(ParameterError):
        empirical_clv(_cohort_table(), discount_rate=-2)


def test_empirical_clv_on_real_cohort_table():
    from retainkit.cohorts import cohort_table
    from retainkit.data import load_transactions

    log = pd.DataFrame({
        "customer_id": ["a", "a", "b", "b", "c", "a"],
        "timestamp": ["2024-01-05", "2024-02-10", "2024-01-20", "2024-03-02", "2024-02-14", "2024-03-30"],
        "amount": [10.0, 20.0, 30.0, -5.0, 8.0, 4.0],
    })
    tx = load_transactions(log, amount="amount", as_of="2024-03-31")
    table = cohort_table(tx, "M")
    res = empirical_clv(table, margin=0.5, discount_rate=0.1)
    jan = res.by_cohort[res.by_cohort.cohort == table.cohort.iloc[0]].set_index("age")["clv"]
    # January cohort: a, b (n=2): age 0 revenue 40, age 1 revenue 20, age 2 revenue -5 + 4
    assert jan[0] == pytest.approx(0.5 * 40 / 2)
    assert jan[1] == pytest.approx(0.5 * 40 / 2 + 0.5 * 20 / 2 / 1.1)
    assert jan[2] == pytest.approx(0.5 * 40 / 2 + 0.5 * 20 / 2 / 1.1 + 0.5 * (-1) / 2 / 1.1**2)


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


@pytest.mark.parametrize("survivors,alpha,beta,ll", [
    (REGULAR, 0.704, 1.182, -1680.3),
    (HIGH_END, 0.668, 3.806, -1611.2),
])
def test_sbg_reproduces_fader_hardie_2007(survivors, alpha, beta, ll):
    m = ShiftedBetaGeometric().fit(survivors[:8])  # years 1-7
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
        m = ShiftedBetaGeometric().fit(data[:8])
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
    m = ShiftedBetaGeometric().fit(REGULAR[:8])
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
        m = ShiftedBetaGeometric().fit(data[:8])
        closed = m.expected_lifetime(d)
        assert closed == pytest.approx(m.expected_lifetime(d, method="sum"), rel=1e-9)
        # individual DEL with constant churn theta: sum_t (1-th)^t/(1+d)^t = (1+d)/(d+th)
        ref = integrate.quad(lambda th: (1 + d) / (d + th) * stats.beta(m.alpha_, m.beta_).pdf(th), 0, 1,
                             limit=200)[0]
        assert closed == pytest.approx(ref, rel=1e-6)


def test_del_undiscounted():
    m = ShiftedBetaGeometric().fit(REGULAR[:8])
    assert m.expected_lifetime(0.0) == math.inf  # alpha < 1: mean lifetime is infinite
    sim = _sbg_survivors(200_000, 2.5, 3.0, 80, seed=3)
    m2 = ShiftedBetaGeometric().fit(sim[:10])
    assert m2.expected_lifetime(0.0) == pytest.approx((m2.alpha_ + m2.beta_ - 1) / (m2.alpha_ - 1))
    assert m2.expected_lifetime(0.0) == pytest.approx(m2.expected_lifetime(1e-9), rel=1e-5)


@pytest.mark.parametrize("d", [0.05, 0.1])
def test_derl_closed_form_sum_integral(d):
    m = ShiftedBetaGeometric().fit(HIGH_END[:8])
    a, b = m.alpha_, m.beta_
    n = np.array([0, 1, 4, 10])
    closed = m.residual_lifetime(d, n)
    np.testing.assert_allclose(closed, m.residual_lifetime(d, n, method="sum"), rtol=1e-9)
    for nn, val in zip(n, closed):
        # posterior of theta after n renewals is Beta(a, b+n); individual DERL = (1+d)(1-th)/(d+th)
        ref = integrate.quad(lambda th: (1 + d) * (1 - th) / (d + th) * stats.beta(a, b + nn).pdf(th), 0, 1,
                             limit=200)[0]
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
    m = ShiftedBetaGeometric().fit(s)
    # within 3 standard errors of the truth (seeded; a single 95 % interval misses 1 time in 20)
    assert abs(m.alpha_ - a) < 3 * m.alpha_se_
    assert abs(m.beta_ - b) < 3 * m.beta_se_


def test_sbg_interval_coverage():
    """The 95 % intervals cover the true (a, b) in about 95 % of seeded replications."""
    a, b, reps = 1.1, 3.0, 60
    hits = np.zeros(2)
    for seed in range(reps):
        m = ShiftedBetaGeometric().fit(_sbg_survivors(3000, a, b, 8, seed=100 + seed))
        hits += [m.alpha_ci_[0] < a < m.alpha_ci_[1], m.beta_ci_[0] < b < m.beta_ci_[1]]
    coverage = hits / reps
    assert np.all(coverage >= 0.85), coverage  # binomial sd at 95 % with 60 reps is 2.8 points


def test_sbg_from_cohort_table_pooled_and_by_cohort():
    s1 = np.array(REGULAR[:8], float)
    s2 = np.array(HIGH_END[:6], float)
    rows = [{"cohort": c, "age": t, "size": s[0], "active": v, "partial": False}
            for c, s in (("A", s1), ("B", s2)) for t, v in enumerate(s)]
    rows.append({"cohort": "B", "age": 6, "size": 1000, "active": 1.0, "partial": True})  # ignored
    table = pd.DataFrame(rows)
    m = ShiftedBetaGeometric().fit(table, by_cohort=True)
    ma = ShiftedBetaGeometric().fit(s1)
    mb = ShiftedBetaGeometric().fit(s2)
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
        ShiftedBetaGeometric().fit([100, 80, 85, 60])
    with pytest.raises(DataError):
        ShiftedBetaGeometric().fit([100, 80])
    with pytest.raises(DataError):
        ShiftedBetaGeometric().fit([0, 0, 0])
    with pytest.raises(ConvergenceError, match="churn"):
        ShiftedBetaGeometric().fit([100, 100, 100])
    with pytest.raises(ConvergenceError, match="heterogeneity"):
        ShiftedBetaGeometric().fit(1000 * 0.8 ** np.arange(8))  # exactly geometric: alpha, beta -> infinity
    with pytest.raises(ParameterError, match="fit"):
        ShiftedBetaGeometric().survival(1)


def test_backtest_frame_and_mape():
    bt = backtest(REGULAR, 7)
    f = bt.frame
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
        dens = math.exp(const + (r - 1) * math.log(lam) - alpha * lam + (a - 1) * math.log(p)
                        + (b - 1) * math.log1p(-p))
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
    return truth, df, BetaGeoFitter().fit(df, time_unit="W")


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
    gg = GammaGamma()
    gg.p_, gg.q_, gg.v_ = p, q, v
    for x, mx in ((1, 30.0), (3, 12.5), (8, 40.0)):
        prior = stats.gamma(q, scale=1 / v).pdf

        def f_m(nu):  # mean of x Gamma(p, rate nu) amounts is Gamma(p x, rate nu x)
            return stats.gamma(p * x, scale=1 / (nu * x)).pdf(mx)

        lik = integrate.quad(lambda nu: f_m(nu) * prior(nu), 0, np.inf, epsrel=1e-11, limit=200)[0]
        assert float(gg.log_likelihood(x, mx)) == pytest.approx(math.log(lik), abs=1e-7)
        post_mean = integrate.quad(lambda nu: (p / nu) * f_m(nu) * prior(nu), 0, np.inf, epsrel=1e-11,
                                   limit=200)[0] / lik
        assert gg.expected_spend(x, mx) == pytest.approx(post_mean, rel=1e-7)
    # no repeat purchases: the population mean p v / (q - 1)
    assert gg.expected_spend(0, np.nan) == pytest.approx(p * v / (q - 1))


def test_gamma_gamma_recovery():
    rng = np.random.default_rng(21)
    p, q, v, n = 6.0, 4.0, 15.0, 3000
    x = 1 + rng.poisson(3, n)
    nu = rng.gamma(q, 1 / v, n)
    m = np.array([rng.gamma(p, 1 / nu[i], x[i]).mean() for i in range(n)])
    gg = GammaGamma().fit(np.r_[x, 0], np.r_[m, np.nan])  # x = 0 customers are skipped
    s = gg.summary_.set_index("parameter")
    for name, val in (("p", p), ("q", q), ("v", v)):
        assert s.loc[name, "lower95"] < val < s.loc[name, "upper95"], (name, s.loc[name].to_dict())
    assert gg.n_customers_ == n
    with pytest.raises(DataError, match="positive"):
        GammaGamma().fit([1, 2, 3], [5.0, -1.0, 3.0])


# =========================================================================== rfm_summary
def _log():
    rows = [
        ("A", "2024-01-01 09:00", 10.0), ("A", "2024-01-01 18:00", 5.0), ("A", "2024-01-03 10:00", 20.0),
        ("A", "2024-01-04 10:00", -5.0), ("A", "2024-01-10 10:00", 30.0), ("A", "2024-01-20 10:00", 8.0),
        ("A", "2024-01-20 11:00", 2.0),
        ("B", "2024-01-15 12:00", np.nan),
        ("C", "2024-01-05 12:00", -7.0),
        ("D", "2024-02-02 12:00", 50.0),
        ("E", "2024-01-20 12:00", 0.0), ("E", "2024-01-21 12:00", np.nan), ("E", "2024-01-25 12:00", 12.0),
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
    assert out.loc["A"].to_dict() == {"frequency": 3, "recency": 19.0, "T": 30.0, "monetary_value": 20.0,
                                      "refunds": -5.0}
    assert out.loc["B", "frequency"] == 0 and out.loc["B", "T"] == 16 and np.isnan(out.loc["B", "monetary_value"])
    assert out.loc["E", ["frequency", "recency", "T", "monetary_value"]].tolist() == [2, 5.0, 11.0, 12.0]
    assert out.attrs["time_unit"] == "D" and out.attrs["time_unit_name"] == "day"


def test_rfm_summary_calibration_holdout():
    out = rfm_summary(_log(), customer_id="cust", timestamp="when", amount="value",
                      calibration_end="2024-01-15", observation_end="2024-01-31").set_index("cust")
    assert set(out.index) == {"A", "B"}
    assert out.loc["A", ["frequency", "recency", "T", "monetary_value"]].tolist() == [2, 9.0, 14.0, 25.0]
    assert out.loc["A", "frequency_holdout"] == 1 and out.loc["A", "monetary_value_holdout"] == 10.0
    assert out.loc["B", "T"] == 0 and out.loc["B", "frequency_holdout"] == 0
    assert (out["duration_holdout"] == 16).all()
    assert out.attrs["customers_first_seen_in_holdout"] == 1
    with pytest.raises(ParameterError):
        rfm_summary(_log(), customer_id="cust", timestamp="when", amount="value",
                    calibration_end="2024-02-15", observation_end="2024-01-31")


def test_rfm_summary_weeks_and_transactions_input():
    from retainkit.data import load_transactions

    log = _log().rename(columns={"cust": "customer_id", "when": "timestamp", "value": "amount"})
    tx = load_transactions(log, amount="amount", as_of="2024-01-31")
    out = rfm_summary(tx, time_unit="W").set_index("customer_id")
    # ISO weeks: Jan 1 2024 is a Monday; A buys in weeks 0, 1 (Jan 10), 2 (Jan 20); Jan 3 is week 0
    assert out.loc["A", ["frequency", "recency", "T"]].tolist() == [2, 2.0, 4.0]
    assert out.attrs["time_unit"] == "W"
    assert "D" not in out.index  # after as_of


def test_rfm_summary_random_against_loop():
    rng = np.random.default_rng(0)
    n = 400
    df = pd.DataFrame({
        "customer_id": rng.integers(0, 60, n),
        "timestamp": pd.Timestamp("2023-01-01") + pd.to_timedelta(rng.integers(0, 200 * 24, n), unit="h"),
        "amount": np.round(rng.normal(20, 15, n), 2),
    })
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
    gg = GammaGamma()
    gg.p_, gg.q_, gg.v_ = 6.0, 4.0, 15.0
    rfm = pd.DataFrame({"customer_id": ["a", "b", "c"], "frequency": [0, 2, 7], "recency": [0.0, 30.0, 80.0],
                        "T": [40.0, 90.0, 95.0], "monetary_value": [np.nan, 25.0, 40.0]})
    out = customer_clv(m, gg, rfm, horizon=6, discount_rate=0.02, margin=0.3, time_unit="M")
    L = 365.2425 / 12
    for i, row in rfm.iterrows():
        spend = 6.0 * (15.0 + row.frequency * (0 if row.frequency == 0 else row.monetary_value)) / (
            6.0 * row.frequency + 4.0 - 1)
        total = 0.0
        for k in range(1, 7):
            e1 = m.expected_purchases(k * L, row.frequency, row.recency, row["T"])
            e0 = m.expected_purchases((k - 1) * L, row.frequency, row.recency, row["T"])
            total += (e1 - e0) / 1.02**k
        assert out.loc[i, "clv"] == pytest.approx(0.3 * spend * total, rel=1e-10)
        assert out.loc[i, "expected_spend"] == pytest.approx(spend)
    assert list(out["customer_id"]) == ["a", "b", "c"]
    # undiscounted: the sum telescopes to E[Y(H L)]
    flat = customer_clv(m, gg, rfm, horizon=6, discount_rate=0.0, margin=1.0, time_unit="M")
    np.testing.assert_allclose(flat["clv"], flat["expected_spend"] * m.expected_purchases(
        6 * L, rfm.frequency, rfm.recency, rfm["T"]), rtol=1e-12)
    # a numeric time unit is the period length in model units
    num = customer_clv(m, gg, rfm, horizon=6, discount_rate=0.02, margin=0.3, time_unit=L)
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
    gg = GammaGamma().fit(rep.frequency, rep.monetary_value)
    pred = bg.expected_purchases(rfm.duration_holdout, rfm.frequency, rfm.recency, rfm["T"])
    assert pred.sum() == pytest.approx(rfm.frequency_holdout.sum(), rel=0.15)
    clv = customer_clv(bg, gg, rfm, horizon=12, discount_rate=0.01, margin=0.25)
    assert (clv["clv"] >= 0).all() and clv["clv"].sum() > 0


# =========================================================================== charts
def _data(chart):
    spec = chart.to_dict()
    name = spec["data"]["name"]
    return spec, pd.DataFrame(spec["datasets"][name])


def test_sbg_backtest_chart_spec():
    bt = backtest(REGULAR, 7)
    chart = sbg_backtest_chart(bt.frame)
    assert isinstance(chart, __import__("altair").Chart)
    spec, data = _data(chart)
    assert spec["mark"]["type"] == "line" and spec["mark"]["point"] is True
    enc = spec["encoding"]
    assert enc["x"]["field"] == "period" and enc["y"]["field"] == "survivors"
    assert enc["color"]["field"] == "series" and enc["strokeDash"]["field"] == "series"
    assert len(data) == 2 * 13 and set(data["series"]) == {"Actual", "sBG projection"}
    proj = data[data.series == "sBG projection"].sort_values("period")
    np.testing.assert_allclose(proj["survivors"], bt.frame["predicted"])
    assert "MAPE 1.5%" in spec["title"]["subtitle"]
    # the result object works too
    assert sbg_backtest_chart(bt).to_dict()["encoding"]["x"]["field"] == "period"


def test_sbg_survival_chart_spec():
    m = ShiftedBetaGeometric().fit(HIGH_END[:8])
    spec, data = _data(sbg_survival_chart(m, actual=HIGH_END))
    assert spec["mark"]["type"] == "line"
    assert set(data["series"]) == {"Actual", "sBG fit", "sBG projection"}
    assert data[data.series == "Actual"]["survivors"].tolist() == HIGH_END
    proj = data[data.series == "sBG projection"]
    assert proj["period"].min() == 7 and proj["period"].max() == 14
    assert "0.668" in spec["title"]["subtitle"]
    with pytest.raises(ParameterError):
        sbg_survival_chart(ShiftedBetaGeometric())


def test_clv_curve_chart_spec():
    res = empirical_clv(_cohort_table(), margin=0.5)
    spec, data = _data(clv_curve_chart(res))
    assert spec["mark"]["type"] == "line"
    assert spec["encoding"]["x"]["field"] == "age" and spec["encoding"]["y"]["field"] == "clv"
    assert spec["encoding"]["strokeWidth"]["field"] == "kind"
    assert set(data["kind"]) == {"cohort", "average"}
    avg = data[data.kind == "average"].sort_values("age")
    np.testing.assert_allclose(avg["clv"], res.average["clv"])
    assert len(data) == len(res.by_cohort) + len(res.average)
    assert "50%" in spec["title"]["subtitle"]


def test_rfm_summary_aware_timestamps_any_index_and_time_zone():
    ts = pd.to_datetime(["2024-01-01 20:00", "2024-01-02 10:00", "2024-01-05 23:30"]).tz_localize("America/New_York")
    df = pd.DataFrame({"customer_id": [1, 1, 1], "timestamp": ts, "amount": [5.0, 6.0, 7.0]}, index=[10, 20, 30])
    # in UTC: Jan 2 01:00, Jan 2 15:00, Jan 6 04:30 -> two distinct days after the first
    utc = rfm_summary(df, observation_end="2024-01-10", tz="UTC").iloc[0]
    assert (utc["frequency"], utc["recency"], utc["T"], utc["monetary_value"]) == (1, 4.0, 8.0, 7.0)
    # in New York: Jan 1, Jan 2, Jan 5 -> three distinct days
    ny = rfm_summary(df, observation_end="2024-01-10", tz="America/New_York").iloc[0]
    assert (ny["frequency"], ny["recency"], ny["T"], ny["monetary_value"]) == (2, 4.0, 9.0, 6.5)
    assert rfm_summary(df).iloc[0]["T"] == 4.0  # default end: the day of the latest timestamp


# --------------------------------------------------------------------------- clv_horizon (definitions §5.6)
@given(m=st.floats(-50, 500), r=st.floats(0, 1), d=st.floats(0, 0.5),
       ppy=st.sampled_from([1, 4, 12, 52, 365]), years=st.sampled_from([0.5, 1, 3, 5]))
@settings(max_examples=60, deadline=None)
def test_clv_horizon_equals_a_brute_force_discounted_sum(m, r, d, ppy, years):
    from retainkit.clv import clv_horizon

    dp = (1 + d) ** (1 / ppy) - 1
    n = max(1, round(years * ppy))
    total = 0.0
    for i in range(1, n + 1):  # margin of period i at its middle, by the customers still there then
        total += m * r ** (i - 0.5) / (1 + dp) ** (i - 0.5)
    assert clv_horizon(m, r, d, periods_per_year=ppy, horizon_years=years) == pytest.approx(total, rel=1e-9, abs=1e-9)


def test_clv_horizon_is_nearly_the_same_for_months_and_quarters_with_consistent_inputs():
    from retainkit.clv import clv_horizon

    # a 2 %-a-month hazard and $10 a month per active customer: a quarter is r^3 and $30 per active customer
    monthly = clv_horizon(10.0, 0.98, 0.1, periods_per_year=12, horizon_years=3)
    quarterly = clv_horizon(30.0, 0.98**3, 0.1, periods_per_year=4, horizon_years=3)
    assert quarterly == pytest.approx(monthly, rel=0.02)


def test_clv_horizon_rejects_bad_inputs():
    from retainkit.clv import clv_horizon

    assert math.isnan(clv_horizon(float("nan"), 0.5, 0.1, periods_per_year=12))
    with pytest.raises(ParameterError):
        clv_horizon(10.0, 1.5, 0.1, periods_per_year=12)
    with pytest.raises(ParameterError):
        clv_horizon(10.0, 0.5, 0.1, periods_per_year=0)
