"""Notebook 04's model answers against brute-force sums and the economics module (definitions §5)."""

from __future__ import annotations

import numpy as np
import pytest

from retainkit import workshop


def test_clv_against_brute_force_sum():
    t = np.arange(1, 2001)
    brute = float((100 * 0.8**t / 1.1**t).sum())
    assert workshop.solution("04.1") == pytest.approx(brute)
    brute85 = float((100 * 0.85**t / 1.1**t).sum())
    assert workshop.solution("04.2") == pytest.approx(brute85 / brute - 1)


def _npv(r: float, margin: float, growth: float, acq: float, d: float = 0.10, h: int = 20) -> float:
    """NPV per acquired customer, by a loop over tenure years (definitions §5, economics conventions)."""
    total = -acq
    for year in range(1, h + 1):
        total += r ** (year - 1) * margin * (1 + growth) ** (year - 1) / (1 + d) ** year
    return total


def test_profit_percentages_against_a_loop():
    def pct(r, growth, acq):
        return 100 * (_npv(r + 0.05, 30, growth, acq) - _npv(r, 30, growth, acq)) / _npv(r, 30, growth, acq)

    assert workshop.solution("04.3") == pytest.approx(pct(0.8, 0.08, 50))
    assert workshop.solution("04.4") == pytest.approx(pct(0.6, 0.0, 50))
    assert workshop.solution("04.5") == pytest.approx(pct(0.6, 0.0, 0))
    # the lesson: the big percent of 04.4 comes from the small base net of acquisition cost
    assert workshop.solution("04.4") > 25 > 15 > workshop.solution("04.5") > 5
    assert workshop.solution("04.6") < workshop.solution("04.3")  # a costly lift gains less
