"""Notebook 02's exercises: the cohort triangle, censoring and weighted averages (definitions §2, §3)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import numpy as np
import pandas as pd

from ..cohorts import average_curve, cohort_table, retention_matrix
from .data import cohort_log, load_cohort_log, load_cohort_mix
from .exercise import Exercise

__all__ = ["EXERCISES", "cohorts", "mix_cohorts"]


@lru_cache(maxsize=1)
def _cohorts() -> pd.DataFrame:
    return cohort_table(load_cohort_log(), freq="M")


@lru_cache(maxsize=1)
def _mix() -> pd.DataFrame:
    return cohort_table(load_cohort_mix(), freq="M")


def cohorts() -> pd.DataFrame:
    """The cohort table of notebook 02's log (a copy; definitions §3)."""
    return _cohorts().copy()


def mix_cohorts() -> pd.DataFrame:
    """The cohort table of the cohort mix (a copy; definitions §3)."""
    return _mix().copy()


def _matrix(kind: str = "classic") -> pd.DataFrame:
    return retention_matrix(_cohorts(), kind)


def _cell(kind: str, cohort: str, age: int) -> float:
    return float(_matrix(kind).loc[cohort, age])


def _size(table: pd.DataFrame, cohort: str) -> int:
    return int(table.loc[(table["cohort"] == cohort) & (table["age"] == 0), "size"].iloc[0])


def _feb_mistakes() -> list[tuple[Any, str]]:
    log = cohort_log()
    in_feb = log.loc[log["timestamp"].dt.month == 2, "customer_id"].nunique()
    return [
        (
            in_feb,
            "If you counted everyone who bought in February: the February cohort is only those whose FIRST "
            "purchase was in February.",
        ),
        (
            _size(_cohorts(), "2023-01"),
            "If you counted the customers who first bought in January: that is the January cohort.",
        ),
    ]


def _jan2_mistakes() -> list[tuple[Any, str]]:
    act = _matrix("active")
    a2, a1 = float(act.loc["2023-01", 2]), float(act.loc["2023-01", 1])
    return [
        (
            a2,
            "If you gave the number of January customers active in March: retention divides it by the cohort size n_c.",
        ),
        (
            _cell("unbounded", "2023-01", 2),
            "If you counted January customers who bought in March OR LATER: that is "
            "unbounded retention. Classic retention counts purchases AT age 2 only.",
        ),
        (
            a2 / a1 if a1 else np.nan,
            "If you divided by February's active customers: retention is measured "
            "against the whole cohort (its size at age 0), not last month's actives.",
        ),
    ]


def _month_over_month() -> pd.DataFrame:
    act = _matrix("active")
    prev = act.shift(1, axis=1)
    out = act / prev
    out[0] = 1.0
    return out


def _tri_mistakes() -> list[tuple[Any, str]]:
    classic = _matrix("classic")
    return [
        (
            _matrix("active"),
            "If you left the counts of active customers undivided: divide each row by its cohort "
            "size (the age-0 count).",
        ),
        (
            _matrix("unbounded"),
            "If you counted customers active at age k OR LATER: that is the unbounded matrix. "
            "Classic retention counts purchases AT age k only.",
        ),
        (
            _month_over_month(),
            "If you divided each month by the month before (month-over-month): retention "
            "divides every age by the cohort's size at age 0.",
        ),
        (
            classic.fillna(0),
            "If you filled the empty cells with 0 (fillna(0) or fill_value=0): cells whose month "
            "has not happened yet are unknown, not zero; leave them NaN, or every average drops.",
        ),
    ]


def _avg2() -> float:
    curve = average_curve(_cohorts())
    return float(curve.loc[curve["age"] == 2, "retention"].iloc[0])


def _avg2_mistakes() -> list[tuple[Any, str]]:
    m, act = _matrix("classic"), _matrix("active")
    size = _matrix("size")[0]
    observed = m[2].notna()
    return [
        (
            float(m.loc[observed, 2].mean()),
            "If you took the plain mean of the cohorts' rates: weight by cohort "
            "size (sum of actives / sum of cohort sizes).",
        ),
        (
            float(act.loc[observed, 2].sum() / size.sum()),
            "If you divided by the size of every cohort: the April and May cohorts have not reached age 2 yet. Leave "
            "them out; unobserved is not zero.",
        ),
        (
            float(act.loc[observed, 2].sum() / size.loc[m[1].notna()].sum()),
            "If you included the April cohort: its age 2 (June) is not observed yet. Leave it out.",
        ),
        (
            float(m[2].fillna(0).mean()),
            "If you averaged the column with the empty cells as 0: that mixes two "
            "problems, a plain mean of rates and unobserved cells counted as zero.",
        ),
    ]


def _mix1() -> float:
    curve = average_curve(_mix())
    return float(curve.loc[curve["age"] == 1, "retention"].iloc[0])


def _mix_mistakes() -> list[tuple[Any, str]]:
    m = retention_matrix(_mix(), "classic")
    act, size = retention_matrix(_mix(), "active"), retention_matrix(_mix(), "size")[0]
    observed = m[1].notna()
    return [
        (
            float(m.loc[observed, 1].mean()),
            "If you took the plain mean of the four cohorts' rates: each cohort "
            "counts once however big it is. Weight by size.",
        ),
        (
            float(act.loc[observed, 1].sum() / size.sum()),
            "If you included the May cohort: its age 1 (June) is not observed yet.",
        ),
        (
            float(m.loc["2024-03", 1]),
            "If you gave the March cohort's rate: the question asks for all observed cohorts together.",
        ),
    ]


_UNKNOWN = {
    "unknown": "unknown",
    "nan": "unknown",
    "na": "unknown",
    "missing": "unknown",
    "unobserved": "unknown",
    "not observed": "unknown",
    "censored": "unknown",
    "right-censored": "unknown",
    "zero": "zero",
    "0": "zero",
    "0.0": "zero",
    "none": "zero",
}

EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "02.1",
        "Size of the February 2023 cohort (n_c).",
        "number",
        lambda: _size(_cohorts(), "2023-02"),
        (
            "A customer belongs to one cohort only. Which month decides it?",
            "Take each customer's first purchase month; count those whose first month is February.",
        ),
        "log.groupby('customer_id')['timestamp'].min().dt.to_period('M').value_counts()['2023-02']",
        _feb_mistakes,
        tol=0.0,
    ),
    Exercise(
        "02.2",
        "Classic retention of the January cohort at age 2 (March).",
        "rate",
        lambda: _cell("classic", "2023-01", 2),
        (
            "Two numbers: how many January customers bought in March, and how many January customers there are.",
            "The denominator is the same for every age of a cohort.",
        ),
        "triangle.loc['2023-01', 2]",
        _jan2_mistakes,
        tol=5e-4,
    ),
    Exercise(
        "02.3",
        "The classic retention triangle (cohorts x ages 0-4) built by hand with pandas.",
        "matrix",
        lambda: _matrix("classic"),
        (
            "You already have `active` (counts). What does each row need to be divided by?",
            "The cohort size is the count at age 0: the first column of `active`.",
            "pandas divides a table row by row with .div(series, axis=0); leave the empty cells empty.",
        ),
        "active.div(active[0], axis=0)  # or rk.retention_matrix(rk.cohort_table(tx), 'classic')",
        _tri_mistakes,
        tol=5e-4,
        level="pandas",
    ),
    Exercise(
        "02.4",
        "Unbounded retention of the January cohort at age 1.",
        "rate",
        lambda: _cell("unbounded", "2023-01", 1),
        (
            "Unbounded: active at age 1 or at any later observed age.",
            "Count January customers with at least one purchase from February to May, then divide by the cohort size.",
        ),
        "retention_matrix(cohort_table(tx), 'unbounded').loc['2023-01', 1]",
        lambda: [
            (
                _cell("classic", "2023-01", 1),
                "If you counted only purchases in February: that is classic "
                "retention. Unbounded also counts customers who came back later.",
            )
        ],
        tol=5e-4,
    ),
    Exercise(
        "02.5",
        "Average retention at age 2 over the cohorts observed at age 2 (3 decimals).",
        "rate",
        _avg2,
        (
            "Which cohorts have reached age 2 by 31 May?",
            "Add up the actives at age 2 of those cohorts, and their sizes; divide the two sums.",
        ),
        "average_curve(cohort_table(tx)).set_index('age').loc[2, 'retention']",
        _avg2_mistakes,
        tol=5e-4,
    ),
    Exercise(
        "02.6",
        "The April cohort at age 2 (June 2023): is it 0 or unknown? Answer 'zero' or 'unknown'.",
        "choice",
        lambda: "unknown",
        (
            "Could anyone have bought in June 2023 in this data?",
            "as_of is 31 May 2023: a cell whose month has not happened yet is right-censored.",
        ),
        "'unknown'  # retention_matrix shows NaN there",
        options=_UNKNOWN,
        mistakes=lambda: [
            (
                "zero",
                "If you read the empty cell as 0: June has not happened yet in this data, so "
                "nobody could have bought then. Unobserved is unknown (NaN), not zero.",
            )
        ],
    ),
    Exercise(
        "02.7",
        "Cohort mix: average retention at age 1 over the cohorts observed at age 1, size-weighted (3 decimals).",
        "rate",
        _mix1,
        (
            "Predict first: will it be closer to the small cohorts' rates or to March's?",
            "Sum the customers active at age 1 over the observed cohorts, and sum their sizes.",
            "May has no age 1 yet; January to April do.",
        ),
        "rk.average_curve(mix).set_index('age').loc[1, 'retention']",
        _mix_mistakes,
        tol=5e-4,
    ),
)
