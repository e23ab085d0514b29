"""History check: per-period figures against a per-customer loop, and the comparison rules."""

from __future__ import annotations

import json
import math

import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retainkit import cohort_table, load_transactions, purchase_metrics
from retainkit.datasets import sample_path
from retainkit.report import history as hs


@pytest.fixture(scope="module")
def sample_tx():
    return load_transactions(sample_path(), amount="amount", order_id="order_id", as_of="2024-06-30")


def _brute_force(path, as_of: str) -> pd.DataFrame:
    """Customers, purchases, revenue and new customers per month by a plain loop over the rows."""
    frame = pd.read_csv(path).drop_duplicates("order_id")
    frame["ts"] = pd.to_datetime(frame["timestamp"])
    frame = frame[frame["ts"] <= pd.Timestamp(as_of) + pd.Timedelta(days=1) - pd.Timedelta(1)]
    last_complete = (
        pd.Period(as_of, "M") if (pd.Timestamp(as_of) + pd.Timedelta(days=1)).day == 1 else pd.Period(as_of, "M") - 1
    )
    first: dict[str, pd.Period] = {}
    rows: dict[str, dict[str, float]] = {}
    for r in frame.sort_values("ts").itertuples():
        p = r.ts.to_period("M")
        if p > last_complete:
            continue
        cell = rows.setdefault(str(p), {"customers": set(), "transactions": 0, "revenue": 0.0, "new": set()})
        cell["revenue"] += r.amount
        if r.amount >= 0:
            cell["customers"].add(r.customer_id)
            cell["transactions"] += 1
            if r.customer_id not in first:
                first[r.customer_id] = p
                cell["new"].add(r.customer_id)
    return pd.DataFrame(
        [
            {
                "period": k,
                "customers": len(v["customers"]),
                "transactions": v["transactions"],
                "revenue": v["revenue"],
                "new_customers": len(v["new"]),
            }
            for k, v in sorted(rows.items())
        ]
    )


def test_history_table_matches_a_per_row_loop(sample_tx):
    got = hs.history_table(purchase_metrics(sample_tx, "M"), cohort_table(sample_tx, "M"))
    want = _brute_force(sample_path(), "2024-06-30")
    assert list(got["period"]) == list(want["period"])
    for f in ("customers", "transactions", "new_customers"):
        assert got[f].tolist() == want[f].astype(float).tolist(), f
    assert got["revenue"].to_numpy() == pytest.approx(want["revenue"].to_numpy(), abs=1e-6)


def _table(**periods) -> pd.DataFrame:
    return pd.DataFrame([{"period": p[1:].replace("_", "-"), **dict(zip(hs.FIGURES, v))} for p, v in periods.items()])


def _previous(table: pd.DataFrame, label: str = "1998-04-30", freq: str = "M") -> dict:
    return {"as_of_label": label, "history": hs.history_json(table, freq)}


def test_unchanged_history_passes_and_a_fall_fails_with_named_figures():
    then = _table(p1998_02=(5000, 9000, 100000.0, 5000), p1998_03=(5544, 9800, 120000.0, 3012))
    ok = hs.compare_history(then, _previous(then), "M")
    assert ok.status == "ok" and ok.compared == 2 and not ok.changes
    now = _table(p1998_02=(5000, 9000, 100000.0, 5000), p1998_03=(3012, 5300, 65000.0, 1500))
    bad = hs.compare_history(now, _previous(then), "M", currency="USD")
    assert bad.failed and {c.figure for c in bad.changes} == set(hs.FIGURES)
    msg = bad.message()
    assert "1998-03: 3,012 customers now, 5,544 in the report of 1998-04-30" in msg
    assert "revenue $65,000.00 now, $120,000.00 in the report of 1998-04-30" in msg
    assert "--accept-history-change" in msg and "1998-02" not in msg
    accepted = hs.compare_history(now, _previous(then), "M", accept=True)
    assert accepted.status == "accepted" and not accepted.failed and "accepted" in accepted.summary()


def test_tolerance_is_relative_and_inclusive():
    then = _table(p2024_01=(1000, 2000, 5000.0, 100))
    within = _table(p2024_01=(980, 2040, 5100.0, 102))  # exactly 2 %
    assert hs.compare_history(within, _previous(then), "M").status == "ok"
    beyond = _table(p2024_01=(979, 2000, 5000.0, 100))
    assert hs.compare_history(beyond, _previous(then), "M").failed
    assert hs.compare_history(beyond, _previous(then), "M", tolerance=0.05).status == "ok"


def test_a_missing_period_counts_as_zero_and_a_zero_must_stay_zero():
    then = _table(p2024_01=(10, 12, 100.0, 10), p2024_02=(0, 0, 0.0, 0))
    now = _table(p2024_02=(1, 1, 5.0, 1))
    check = hs.compare_history(now, _previous(then), "M")
    changed = {(c.period, c.figure) for c in check.changes}
    assert ("2024-01", "customers") in changed and ("2024-02", "customers") in changed
    assert math.isinf(next(c for c in check.changes if c.period == "2024-02").relative)


def test_not_checked_cases_say_why():
    t = _table(p2024_01=(1, 1, 1.0, 1))
    assert "no earlier report" in hs.compare_history(t, None, "M").summary()
    assert "older retainkit" in hs.compare_history(t, {"as_of_label": "2024-01-31"}, "M").note
    assert "'Q' periods" in hs.compare_history(t, _previous(t, freq="Q"), "M").note


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 10_000), st.integers(0, 10_000), st.floats(-1e6, 1e6), st.integers(0, 10_000)),
        min_size=1,
        max_size=8,
    ),
    st.floats(0, 0.5),
)
def test_identical_history_always_passes_and_the_check_is_symmetric_in_failing(rows, tol):
    t = pd.DataFrame([{"period": f"2024-{i + 1:02d}", **dict(zip(hs.FIGURES, r))} for i, r in enumerate(rows)])
    assert hs.compare_history(t, _previous(t), "M", tolerance=tol).status == "ok"
    scaled = t.assign(customers=t["customers"] * 2 + 1)
    assert hs.compare_history(scaled, _previous(t), "M", tolerance=tol).failed


def test_check_history_raises_unless_accepted_and_the_page_shows_the_override(tmp_path):
    from types import SimpleNamespace

    from retainkit.exceptions import HistoryError
    from retainkit.params import validate_params
    from retainkit.report import Page, check_history

    then = _table(p2024_01=(100, 120, 1000.0, 100))
    (tmp_path / "report-summary.json").write_text(json.dumps(_previous(then, "2024-01-31")))
    now = _table(p2024_01=(50, 60, 500.0, 50))
    p = validate_params({"history_report": str(tmp_path)}, check_data=False)
    with pytest.raises(HistoryError, match="2024-01: 50 customers now, 100 in the report of 2024-01-31") as exc:
        check_history(now, p)
    assert len(exc.value.changes) == 4
    assert check_history(then, p).status == "ok"
    accepted = check_history(now, p.replace(accept_history_change=True))
    assert accepted.status == "accepted"
    page = Page(p.replace(accept_history_change=True))
    banner = page.history_banner_html(SimpleNamespace(history_check=accepted))
    assert 'data-history="accepted"' in banner and "accept-history-change" in banner
    assert "2024-01: 50 customers now, 100 in the report of 2024-01-31 (-50.0%)" in banner
    assert page.history_banner_html(SimpleNamespace(history_check=check_history(then, p))) == ""
