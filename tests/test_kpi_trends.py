"""kpi_trends (definitions §4.7) against a plain loop over the rows, and its report cards."""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from retainkit import load_transactions
from retainkit.cohorts import cohort_table
from retainkit.datasets import sample_path
from retainkit.exceptions import ParameterError
from retainkit.metrics import KPI_TREND_METRICS, crr_table, kpi_trends, purchase_metrics
from tests.reference import brute_crr, last_complete, local_date, period_of_date, rows_of


@pytest.fixture(scope="module")
def tx():
    return load_transactions(
        sample_path(), amount="amount", order_id="order_id", segments=["channel"], as_of="2024-12-31"
    )


@pytest.fixture(scope="module")
def trends(tx):
    return kpi_trends(purchase_metrics(tx, "M"), crr_table(tx, "M", window="90D"), cohort_table(tx, "M"))


def _wilson(k: float, n: float, z: float = 1.959963984540054) -> tuple[float, float]:
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return centre - half, centre + half


def _brute(tx, freq: str = "M") -> dict[str, dict[int, float]]:
    """Every figure of §4.7 per period index, by a loop over the loaded rows."""
    lc = last_complete(tx.as_of, tx.tz, freq)
    rows = [(c, period_of_date(local_date(t, tx.tz), freq), a) for c, t, a in rows_of(tx)]
    rows = [r for r in rows if r[1] <= lc]
    first: dict = {}
    for c, p, a in rows:
        if a is None or a >= 0:
            first[c] = min(first.get(c, p), p)
    buyers, orders, revenue, buy_rev, buy_known = (
        defaultdict(set),
        defaultdict(int),
        defaultdict(float),
        defaultdict(float),
        defaultdict(int),
    )
    for c, p, a in rows:
        if a is not None:
            revenue[p] += a
        if a is None or a >= 0:
            buyers[p].add(c)
            orders[p] += 1
            if a is not None:
                buy_rev[p] += a
                buy_known[p] += 1
    new = defaultdict(int)
    for f in first.values():
        new[f] += 1
    out: dict[str, dict[int, float]] = {m: {} for m in KPI_TREND_METRICS}
    for p in sorted(buyers):
        n = len(buyers[p])
        out["active_customers"][p] = n
        out["revenue"][p] = revenue[p]
        out["revenue_per_customer"][p] = revenue[p] / n
        out["aov"][p] = buy_rev[p] / buy_known[p]
        out["purchase_frequency"][p] = orders[p] / n
    for p, k in new.items():
        out["new_customers"][p] = k
    return out


def test_every_figure_equals_a_loop_over_the_rows(tx, trends):
    want = _brute(tx)
    for metric in KPI_TREND_METRICS[:6]:
        got = trends[trends["metric"] == metric]
        got_by_p = {period_of_date(pd.Timestamp(s).date(), "M"): v for s, v in zip(got["period_start"], got["value"])}
        assert set(got_by_p) == set(want[metric]), metric
        for p, v in want[metric].items():
            assert got_by_p[p] == pytest.approx(v, rel=1e-9), (metric, p)


def test_crr_and_churn_with_wilson_intervals_from_the_identities(tx, trends):
    ref = brute_crr(tx, "M", 90)
    crr, churn = trends[trends["metric"] == "crr"], trends[trends["metric"] == "churn"]
    assert len(crr) == len(churn) > 12
    for row, crow in zip(crr.itertuples(), churn.itertuples()):
        p = period_of_date(pd.Timestamp(row.period_start).date(), "M")
        s, kept = ref[p]["S"], ref[p]["retained"]
        assert (row.numerator, row.denominator) == (kept, s)
        assert row.value == pytest.approx(kept / s)
        lo, hi = _wilson(kept, s)
        assert (row.lo, row.hi) == (pytest.approx(lo), pytest.approx(hi))
        assert crow.value == pytest.approx(1 - kept / s) and crow.numerator == ref[p]["lost"]
        clo, chi = _wilson(ref[p]["lost"], s)  # the Wilson interval of the complement is the complement
        assert (crow.lo, crow.hi) == (pytest.approx(clo), pytest.approx(chi))


def test_order_columns_and_no_amount(tx):
    no_amount = load_transactions(sample_path(), amount=None, as_of="2024-12-31")
    t = kpi_trends(purchase_metrics(no_amount, "M"), crr_table(no_amount, "M"), cohort_table(no_amount, "M"))
    assert list(t["metric"].drop_duplicates()) == [
        "active_customers",
        "new_customers",
        "purchase_frequency",
        "crr",
        "churn",
    ]
    assert list(t.columns) == ["metric", "period", "period_start", "value", "numerator", "denominator", "lo", "hi"]
    assert np.isnan(t.loc[t["metric"] == "active_customers", "lo"]).all()


def test_segmented_tables_are_refused(tx):
    with pytest.raises(ParameterError, match="segment"):
        kpi_trends(purchase_metrics(tx, "M", by="channel"), crr_table(tx, "M"), cohort_table(tx, "M"))


def test_crr_by_segment_has_a_line_band_and_legend_entry_per_segment(tx):
    import retainkit.charts as rkc

    seg = crr_table(tx, "M", window="90D", by="channel")
    spec = rkc.crr_by_segment(seg, "channel").to_dict()
    band, line, ends = spec["layer"]
    assert band["mark"]["type"] == "area" and line["mark"]["type"] == "line" and ends["mark"]["type"] == "text"
    channels = sorted(seg["channel"].astype(str).unique())
    assert sorted(line["encoding"]["color"]["scale"]["domain"]) == channels
    assert line["encoding"]["color"]["legend"]["title"] == "channel"
    rows = spec["datasets"][line["data"]["name"]]
    assert len({r["period"] for r in rows}) == 12  # the latest 12 periods by default
    dec = seg[(seg["period"] == "2024-12") & (seg["channel"] == "organic")].iloc[0]
    got = next(r for r in rows if r["segment"] == "organic" and r["period"] == "Dec 2024")
    assert got["crr"] == pytest.approx(dec["crr"]) and got["crr_lo"] == pytest.approx(dec["crr_lo"])


def test_sparkline_is_deterministic_with_gaps_and_a_band():
    from retainkit.report.sparkline import sparkline_svg

    svg = sparkline_svg([0.5, float("nan"), 0.6, 0.7], [0.4, 0.5, 0.5, 0.6], [0.6, 0.7, 0.7, 0.8], label="CRR <x>")
    assert svg == sparkline_svg(
        [0.5, float("nan"), 0.6, 0.7], [0.4, 0.5, 0.5, 0.6], [0.6, 0.7, 0.7, 0.8], label="CRR <x>"
    )
    assert svg.count("<polyline") == 1  # the gap splits the line: a lone first point draws no segment
    assert "<polygon" in svg and "<title>CRR &lt;x&gt;</title>" in svg and 'role="img"' in svg
    assert sparkline_svg([float("nan")]) == ""
    flat = sparkline_svg([3.0, 3.0])
    assert 'cy="20.0"' in flat  # a flat series sits in the middle
