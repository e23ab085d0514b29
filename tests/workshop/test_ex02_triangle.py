"""Notebook 02's model answers against a per-purchase loop (definitions §2, §3)."""

from __future__ import annotations

from collections import defaultdict

import numpy as np
import pandas as pd
import pytest

from retainkit import workshop


def brute_triangle(log: pd.DataFrame, last_month: int):
    """Classic retention per (cohort, age) by looping over purchases; NaN where unobserved."""
    month = {i: ts.year * 12 + ts.month - 1 for i, ts in enumerate(log["timestamp"])}
    first: dict[str, int] = {}
    for i, cid in enumerate(log["customer_id"]):
        first[cid] = min(first.get(cid, month[i]), month[i])
    cohorts = sorted(set(first.values()))
    active = defaultdict(set)
    for i, cid in enumerate(log["customer_id"]):
        active[(first[cid], month[i] - first[cid])].add(cid)
    size = {c: sum(1 for v in first.values() if v == c) for c in cohorts}
    ages = range(last_month - cohorts[0] + 1)
    out = np.full((len(cohorts), len(ages)), np.nan)
    for r, c in enumerate(cohorts):
        for k in ages:
            if c + k <= last_month:
                out[r, k] = len(active[(c, k)]) / size[c]
    return out, active, size, cohorts


def test_triangle_against_a_loop():
    log = workshop.cohort_log()
    brute, active, size, cohorts = brute_triangle(log, 2023 * 12 + 4)
    np.testing.assert_allclose(workshop.solution("02.3").to_numpy(dtype=float), brute, equal_nan=True)
    assert workshop.solution("02.1") == size[2023 * 12 + 1]
    assert workshop.solution("02.2") == pytest.approx(brute[0, 2])
    jan = cohorts[0]
    later = {c for (co, k), ids in active.items() if co == jan and k >= 1 for c in ids}
    assert workshop.solution("02.4") == pytest.approx(len(later) / size[jan])
    observed = [c for c in cohorts if c + 2 <= 2023 * 12 + 4]
    assert workshop.solution("02.5") == pytest.approx(
        sum(len(active[(c, 2)]) for c in observed) / sum(size[c] for c in observed)
    )
    assert workshop.solution("02.6") == "unknown"


def test_cohort_mix_weighted_average_against_a_loop():
    brute, active, size, cohorts = brute_triangle(workshop.cohort_mix_log(), 2024 * 12 + 4)
    observed = [c for c in cohorts if c + 1 <= 2024 * 12 + 4]
    weighted = sum(len(active[(c, 1)]) for c in observed) / sum(size[c] for c in observed)
    plain = np.mean([len(active[(c, 1)]) / size[c] for c in observed])
    assert workshop.solution("02.7") == pytest.approx(weighted)
    assert plain - weighted > 0.10
    assert workshop.check("02.7", plain).hint.startswith("If you took the plain mean")
