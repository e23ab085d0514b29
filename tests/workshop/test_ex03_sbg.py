"""Notebook 03's model answers against published estimates and hand formulas (definitions §5)."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import minimize
from scipy.special import betaln

from retainkit import workshop


def test_mixture_by_hand():
    s1 = 0.5 * 0.5 + 0.5 * 0.9
    s2 = 0.5 * 0.25 + 0.5 * 0.81
    assert workshop.solution("03.1") == pytest.approx(s2 / s1)


def _loglik(x, n):
    a, b = np.exp(x)
    n = np.asarray(n, float)
    t = np.arange(1, len(n))
    return ((n[:-1] - n[1:]) * (betaln(a + 1, b + t - 1) - betaln(a, b))).sum() + n[-1] * (
        betaln(a, b + t[-1]) - betaln(a, b)
    )


def test_sbg_against_fader_hardie_published_and_a_scipy_fit():
    a, b = workshop.solution("03.2")
    assert (round(a, 3), round(b, 3)) == (0.704, 1.182)  # Fader & Hardie (2007), Regular
    fit = minimize(
        lambda x: -_loglik(x, workshop.FADER_HARDIE["regular"][:8]),
        [0.0, 0.0],
        method="Nelder-Mead",
        options={"xatol": 1e-8, "fatol": 1e-10},
    )
    assert np.exp(fit.x) == pytest.approx([a, b], rel=1e-4)
    assert workshop.solution("03.3") == pytest.approx(1000 * math.exp(betaln(a, b + 12) - betaln(a, b)))


def test_naive_projection_by_hand():
    assert workshop.solution("03.4") == pytest.approx(241 * (241 / 262) ** 5)
    assert workshop.solution("03.5") == "b"
