"""Tests of measured programme lift: retainkit.loyalty.measured, .did, .randomized (definitions §6), and its chart.

References: a brute-force pandas re-implementation of the matched difference
in differences, and simulated data with a known lift.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from retainkit.charts.loyalty import lift_chart
from retainkit.exceptions import DataError, ParameterError
from retainkit.loyalty import (
    NAIVE_WARNING,
    measure_program_lift,
    simulate_program,
)


# ----------------------------------------------------------------- measured lift
def _truth(cust: pd.DataFrame, ids: np.ndarray) -> tuple[float, float]:
    c = cust.set_index("customer_id").loc[ids]
    return float(c["true_retention_effect"].mean()), float(c["true_spend_effect"].mean())


def _covers(ci: tuple[float, float], x: float) -> bool:
    return ci[0] <= x <= ci[1]


SEEDS = range(31, 36)


def _replicate(**sim):
    """Fit five independent seeded simulations; 95 % intervals should cover the truth in >= 4."""
    out = []
    for seed in SEEDS:
        log, cust = simulate_program(3000, 24, retention_lift=0.08, spend_lift=0.10, seed=seed, **sim)
        holdout = "holdout" if sim.get("randomized") else None
        res = measure_program_lift(log, holdout=holdout, n_boot=400, seed=seed)
        true_a, true_s = _truth(cust, res.used_members)
        out.append((res, true_a, true_s))
    cover_a = sum(_covers(r.retention_lift_ci, ta) for r, ta, _ in out)
    cover_s = sum(_covers(r.spend_lift_ci, ts) for r, _, ts in out)
    assert cover_a >= 4 and cover_s >= 4, (cover_a, cover_s)
    # unbiased: the mean of five estimates is within ~3 standard errors of the truth (SE ~ 0.006)
    assert abs(np.mean([r.retention_lift - ta for r, ta, _ in out])) < 0.018
    for r, ta, _ in out:
        assert ta == pytest.approx(0.08)
        assert r.retention_lift_ci[1] - r.retention_lift_ci[0] < 0.08  # informative, not just wide
    return out


def test_recovers_known_lift_without_self_selection():
    out = _replicate(self_selection=0.0)
    for res, _true_a, _ in out:
        assert res.design == "did"
        assert res.counts["members_used"] > 0.9 * res.counts["members"]
    # members joined at random: the naive gap is unbiased too
    assert abs(np.mean([r.naive_retention_gap - ta for r, ta, _ in out])) < 0.02


def test_recovers_known_lift_with_self_selection_and_naive_gap_is_biased():
    out = _replicate(self_selection=1.5)
    for res, true_a, _ in out:
        # heavy buyers joined: the naive gap overstates the lift by far, outside the interval
        assert res.naive_retention_gap - true_a > 0.08
        assert res.naive_retention_gap > res.retention_lift_ci[1]
        assert res.naive_spend_gap > res.spend_lift_ci[1]
        assert res.naive_warning == NAIVE_WARNING
        assert "self-select" in res.summary.set_index("metric").loc["naive_retention_gap", "note"]


def test_randomized_design_recovers_known_lift():
    out = _replicate(randomized=True)
    assert all(r.design == "randomized" and math.isnan(r.naive_retention_gap) for r, _, _ in out)


def test_randomized_design_is_plain_difference():
    log, cust = simulate_program(3000, 24, retention_lift=0.08, spend_lift=0.10, randomized=True, seed=5)
    res = measure_program_lift(log, holdout="holdout", n_boot=400, seed=5)
    assert res.design == "randomized" and "holdout" in res.design_description
    # the plain difference of post-window means, recomputed by hand
    t = log.assign(period=log["timestamp"].dt.to_period("M"), start=log["member_since"].dt.to_period("M"))
    per_cust = t.groupby("customer_id").agg(start=("start", "first"), hold=("holdout", "first"))
    active = t.groupby(["customer_id", "period"]).size().gt(0)
    means = {}
    for hold, grp in per_cust.groupby("hold"):
        vals = []
        for cid, row in grp.iterrows():
            if cid not in res.used_members and not hold:
                continue
            vals.append(np.mean([active.get((cid, row["start"] + k), False) for k in (1, 2, 3)]))
        means[hold] = np.mean(vals)
    assert res.retention_lift == pytest.approx(means[False] - means[True], abs=1e-12)
    same = measure_program_lift(log, holdout="holdout", design="auto", n_boot=400, seed=5)
    assert same.retention_lift_ci == res.retention_lift_ci  # seeded: reproducible


def test_did_point_estimate_matches_brute_force():
    """Matched DiD recomputed with plain pandas loops over members and strata."""
    log, _ = simulate_program(500, 20, retention_lift=0.1, spend_lift=0.2, self_selection=1.0, seed=3)
    res = measure_program_lift(log, n_boot=0, spend_bins=2)
    assert math.isnan(res.retention_lift_ci[0])
    t = log.assign(period=log["timestamp"].dt.to_period("M").map(lambda p: p.ordinal))
    first = t["period"].min()
    last = t["period"].max() - 1  # last month is partial (purchases on days 1-28 only)
    act = t.groupby(["customer_id", "period"]).size()
    spend = t.groupby(["customer_id", "period"])["amount"].sum()
    join = t.dropna(subset=["member_since"]).groupby("customer_id")["member_since"].min().dt.to_period("M")
    join = join.map(lambda p: p.ordinal)
    first_buy = t.groupby("customer_id")["period"].min()
    members = set(t.loc[t["is_member"], "customer_id"])
    others = sorted(set(t["customer_id"]) - members)

    def unit(cid, J):
        a = [1.0 if (cid, J + k) in act.index else 0.0 for k in range(-6, 4)]
        s = [float(spend.get((cid, J + k), 0.0)) for k in range(-6, 4)]
        m_a, m_s = a[3:6], s[3:6]
        fr = int(sum(m_a))
        rec = 4 if fr == 0 else 3 - max(i for i in range(3) if m_a[i])
        return dict(
            freq=fr,
            rec=rec,
            mspend=sum(m_s),
            d_a=np.mean(a[7:10]) - np.mean(a[0:3]),
            d_s=np.mean(s[7:10]) - np.mean(s[0:3]),
        )

    mem_rows = []
    for cid in sorted(members):
        J = join[cid]
        if J - 6 < first or J + 3 > last or first_buy[cid] >= J - 6:
            continue
        mem_rows.append(dict(cid=cid, J=J, **unit(cid, J)))
    M = pd.DataFrame(mem_rows)
    med = np.quantile(M.loc[M["freq"] > 0, "mspend"], 0.5)
    band = lambda r: 0 if r["freq"] == 0 else (1 if r["mspend"] < med else 2)  # noqa: E731
    M["band"] = M.apply(band, axis=1)
    comp_rows = []
    for J in sorted(M["J"].unique()):
        for cid in others:
            if first_buy[cid] < J - 6:
                comp_rows.append(dict(cid=cid, J=J, **unit(cid, J)))
    C = pd.DataFrame(comp_rows)
    C["band"] = C.apply(band, axis=1)
    keys = ["J", "freq", "rec", "band"]
    cm = C.groupby(keys)[["d_a", "d_s"]].mean()
    M = M.join(cm.add_suffix("_c"), on=keys).dropna(subset=["d_a_c"])
    assert set(M["cid"]) == set(res.used_members)
    assert res.retention_lift == pytest.approx((M["d_a"] - M["d_a_c"]).mean(), abs=1e-12)
    assert res.spend_lift == pytest.approx((M["d_s"] - M["d_s_c"]).mean(), rel=1e-9)
    assert res.counts["comparison_customers"] == C.merge(M[keys].drop_duplicates(), on=keys)["cid"].nunique()


def test_implied_roi_and_transactions_input():
    from retainkit.data import load_transactions

    log, _ = simulate_program(1500, 24, retention_lift=0.08, spend_lift=0.1, seed=8)
    res = measure_program_lift(log, n_boot=200, seed=1, costs=2.0, margin=0.4)
    assert res.implied_roi == pytest.approx((0.4 * res.spend_lift - 2.0) / 2.0)
    lo, hi = res.implied_roi_ci
    assert lo == pytest.approx((0.4 * res.spend_lift_ci[0] - 2.0) / 2.0)
    assert lo <= res.implied_roi <= hi
    tx = load_transactions(log, amount="amount", segments=["is_member", "member_since"])
    via_tx = measure_program_lift(tx, n_boot=200, seed=1, costs=2.0, margin=0.4)
    assert via_tx.retention_lift == pytest.approx(res.retention_lift, abs=1e-12)
    assert via_tx.spend_lift == pytest.approx(res.spend_lift, rel=1e-9)
    assert log.columns.tolist() == ["customer_id", "timestamp", "amount", "is_member", "member_since"]
    html = res._repr_html_()
    assert "retention_lift" in html and "self-select" in html


def test_measure_errors():
    log, _ = simulate_program(300, 20, seed=1)
    with pytest.raises(DataError, match="member_since"):
        measure_program_lift(log.drop(columns="member_since"))
    with pytest.raises(ParameterError, match="holdout"):
        measure_program_lift(log, design="randomized")
    with pytest.raises(ParameterError, match="post_periods"):
        measure_program_lift(log, post_periods=0)
    with pytest.raises(ParameterError, match="margin"):
        measure_program_lift(log, costs=1.0)
    with pytest.raises(DataError, match="comparison"):
        measure_program_lift(log.assign(is_member=True))
    with pytest.raises(DataError, match="is_member"):
        measure_program_lift(log.assign(is_member="maybe"))
    with pytest.raises(DataError, match="periods"):
        measure_program_lift(log, pre_periods=8, match_periods=8, post_periods=8)


def test_lift_chart_spec():
    log, _ = simulate_program(800, 20, seed=2)
    res = measure_program_lift(log, n_boot=100, seed=0)
    spec = lift_chart(res).to_dict()
    line = spec["layer"][1]
    assert line["encoding"]["y"]["field"] == "active_share"
    assert line["encoding"]["color"]["scale"]["domain"] == ["members", "matched comparison"]
    assert "difference in differences" in spec["title"]["subtitle"]
    values = [v for v in spec["datasets"].values() if len(v) > 2 and "group" in v[0]][0]
    assert {r["relative_period"] for r in values} == set(range(-6, 4))
    assert (
        lift_chart(res, metric="spend_per_customer").to_dict()["layer"][1]["encoding"]["y"]["field"]
        == "spend_per_customer"
    )
    with pytest.raises(ParameterError):
        lift_chart(res, metric="revenue")


def test_trajectory_is_a_deprecated_spelling_of_table():
    log, _ = simulate_program(500, 20, retention_lift=0.1, spend_lift=0.2, self_selection=1.0, seed=3)
    lift = measure_program_lift(log, n_boot=0, spend_bins=2)
    with pytest.warns(DeprecationWarning, match=r"ProgramLift.trajectory.*ProgramLift.table"):
        assert lift.trajectory is lift.table
