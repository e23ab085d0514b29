"""Notebook 07's exercises: a real log, the CDNOW CD shop (definitions §3, §4)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd

from ..cohorts import cohort_table, retention_matrix
from ..metrics import crr_table
from .data import load_cdnow
from .exercise import Exercise

__all__ = ["EXERCISES", "cdnow_crr"]


@lru_cache(maxsize=1)
def _cohorts() -> pd.DataFrame:
    return cohort_table(load_cdnow(), freq="M")


@lru_cache(maxsize=2)
def _crr(window: str) -> pd.DataFrame:
    return crr_table(load_cdnow(), freq="Q", window=window)


def cdnow_crr(window: str = "90D") -> pd.DataFrame:
    """Quarterly CRR of the CDNOW log with an activity window (a copy; definitions §4)."""
    return _crr(window).copy()


def _row(window: str, period: str) -> pd.Series:
    t = _crr(window)
    return t.loc[t["period"] == period].iloc[0]


def _jan1() -> float:
    return float(retention_matrix(_cohorts(), "classic").loc["1997-01", 1])


def _jan1_mistakes() -> list[tuple[Any, str]]:
    m = _cohorts()
    return [
        (
            float(retention_matrix(m, "unbounded").loc["1997-01", 1]),
            "If you counted January customers who bought in February OR LATER: that is unbounded retention.",
        ),
        (
            float(retention_matrix(m, "active").loc["1997-01", 1]),
            "If you gave the number of January customers who bought in February: divide by the cohort size.",
        ),
        (
            float(retention_matrix(m, "classic").loc["1997-02", 1]),
            "If you read the February cohort's row: the question is about the January 1997 cohort.",
        ),
    ]


def _q3() -> float:
    return float(_row("90D", "1997-Q3")["crr"])


def _q3_mistakes() -> list[tuple[Any, str]]:
    return [
        (
            float(_row("90D", "1997-Q3")["crr_counts"]),
            "If you used (E - N) / S: it counts the customers who came "
            "back after a break as retained. The question asks for the "
            "identity CRR.",
        ),
        (float(_row("180D", "1997-Q3")["crr"]), "If you used a 180-day window: the question fixes 90 days."),
        (
            float(_row("90D", "1997-Q2")["crr"]),
            "If you read 1997-Q2: the question is about 1997-Q3 (July - September).",
        ),
    ]


EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "07.1",
        "Predict, then compute: what share of the January 1997 cohort bought again in February 1997 "
        "(classic retention at age 1, 3 decimals)?",
        "rate",
        _jan1,
        (
            "Build the monthly cohort table of the CDNOW log, as in notebook 02.",
            "The triangle's row 1997-01, column 1.",
        ),
        "rk.retention_matrix(rk.cohort_table(cd, freq='M')).loc['1997-01', 1]",
        _jan1_mistakes,
        tol=5e-4,
    ),
    Exercise(
        "07.2",
        "Identity CRR of 1997-Q3 with a 90-day activity window (3 decimals).",
        "rate",
        _q3,
        (
            "rk.crr_table with freq='Q' and window='90D', as in notebook 01.",
            "The identity CRR is the column crr (retained / S).",
        ),
        "rk.crr_table(cd, freq='Q', window='90D').set_index('period').loc['1997-Q3', 'crr']",
        _q3_mistakes,
        tol=5e-4,
    ),
    Exercise(
        "07.3",
        "The count formula says 99.5 % for 1997-Q4, the identity CRR 48.5 %. Why? (a) many customers come "
        "back after a break, (b) CDNOW won many new customers, (c) the 90-day window does not reach back "
        "far enough into the data.",
        "choice",
        lambda: "a",
        (
            "Look at the columns new and reactivated of 1997-Q4.",
            "Everyone in this log first bought in Q1 1997: who can be in E without being in S?",
        ),
        "'a'",
        options={"a": "a", "(a)": "a", "reactivated": "a", "b": "b", "(b)": "b", "c": "c", "(c)": "c"},
        mistakes=lambda: [
            (
                "b",
                "If you thought of new customers: the log holds only customers who first bought in "
                "Q1 1997, so N = 0 afterwards (see the column new).",
            ),
            (
                "c",
                "If you suspected the window: window_covered is True from 1997-Q2 on. The gap comes "
                "from customers in E who were not in S.",
            ),
        ],
    ),
    Exercise(
        "07.4",
        "With a 180-day window, 1997-Q2 shows a CRR of 99.5 %. Report it? Answer 'yes' or 'no'.",
        "choice",
        lambda: "no",
        (
            "Look at window_covered for 1997-Q2 with 180 days.",
            "The 180 days before 1 July 1997 reach back into January: whom does E then contain?",
        ),
        "'no'",
        options={"no": "no", "n": "no", "false": "no", "yes": "yes", "y": "yes", "true": "yes"},
        mistakes=lambda: [
            (
                "yes",
                "If you would report it: window_covered is False (the window at 1 April reaches "
                "back before the log begins) and E at 1 July still contains most first purchases "
                "of February and March. The figure measures the window, not loyalty.",
            )
        ],
    ),
)
