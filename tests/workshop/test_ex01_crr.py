"""Notebook 01's model answers against a per-row loop and the textbook example (definitions §4)."""

from __future__ import annotations

import pandas as pd
import pytest

from retainkit import workshop

from .test_data import brute_sen


def test_crr_example_by_hand():
    s, n, lost = 500, 50, 100
    e = s - lost + n
    assert workshop.solution("01.1") == pytest.approx((e - n) / s) == pytest.approx(0.8)
    assert workshop.solution("01.2") == pytest.approx(lost / s)


def test_s_e_n_against_a_loop():
    S, E, N, R = brute_sen(workshop.crr_log(), "2023-04-01", "2023-07-01")
    assert workshop.solution("01.3") == (len(S), len(E), len(N))
    assert workshop.solution("01.4") == pytest.approx((len(E) - len(N)) / len(S))
    assert workshop.solution("01.5") == pytest.approx(len(S & E) / len(S))
    assert set(workshop.solution("01.6")) == R and R  # the log is built so that someone comes back
    assert workshop.solution("01.4") != pytest.approx(workshop.solution("01.5"))


def test_the_identity_crr_collides_with_everyone_before_april_as_s():
    """Issue 21: (7 - 2) / 10 is two different mistakes; the feedback must name both, conditionally."""
    log = workshop.crr_log()
    ever = log.loc[log["timestamp"] < "2023-04-01", "customer_id"].nunique()
    s, e, n = workshop.solution("01.3")
    assert (e - n) / ever == pytest.approx(workshop.solution("01.5"))
    hint = workshop.check("01.4", (e - n) / ever).hint
    assert "identity CRR" in hint and "ever bought before 1 April" in hint
    assert hint.count("If you") == 2


def test_moved_purchase_against_a_loop():
    log = workshop.crr_log()
    m = workshop.MOVED_PURCHASE
    row = (log["customer_id"] == m["customer"]) & (log["timestamp"] == m["from"])
    log.loc[row, "timestamp"] = pd.Timestamp(m["to"])
    S, E, N, _ = brute_sen(log, "2023-04-01", "2023-07-01")
    assert m["customer"] in N and m["customer"] not in S
    assert workshop.solution("01.7") == pytest.approx(len(S & E) / len(S))
    assert workshop.solution("01.7") != pytest.approx(workshop.solution("01.5"))
