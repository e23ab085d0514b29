"""Notebook 03's exercises: heterogeneity, the sBG model and projections (definitions §5)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from ..clv import ShiftedBetaGeoFitter
from .data import FADER_HARDIE, MIXTURE, mixture_retention
from .exercise import Exercise

__all__ = ["EXERCISES", "FIT_YEARS", "regular_fit"]

#: The sBG is fitted on years 0..FIT_YEARS; the later years are kept back to test it.
FIT_YEARS = 7


@lru_cache(maxsize=1)
def regular_fit() -> ShiftedBetaGeoFitter:
    """The sBG fitted on the Regular cohort's years 0-7 (Fader & Hardie 2007; definitions §5)."""
    return ShiftedBetaGeoFitter().fit(FADER_HARDIE["regular"][: FIT_YEARS + 1])


def _mix_r2() -> float:
    return float(mixture_retention(MIXTURE["churn"], MIXTURE["shares"], periods=2).loc[2, "retention_rate"])


def _mix_mistakes() -> list[tuple[Any, str]]:
    m = mixture_retention(MIXTURE["churn"], MIXTURE["shares"], periods=2)
    return [
        (
            float(m.loc[1, "retention_rate"]),
            "If you computed S(1) / S(0): that is the rate of period 1. By period 2 "
            "the high-churn half has shrunk; compute S(2) / S(1).",
        ),
        (
            float(m.loc[2, "survival"]),
            "If you computed S(2): that is the share left after two periods. The retention "
            "RATE of period 2 is S(2) / S(1).",
        ),
    ]


def _ab() -> tuple[float, float]:
    m = regular_fit()
    assert m.alpha_ is not None and m.beta_ is not None  # fitted
    return float(m.alpha_), float(m.beta_)


def _ab_mistakes() -> list[tuple[Any, str]]:
    full = ShiftedBetaGeoFitter().fit(FADER_HARDIE["regular"])
    high = ShiftedBetaGeoFitter().fit(FADER_HARDIE["high_end"][: FIT_YEARS + 1])
    a, b = _ab()
    return [
        ((b, a), "If you wrote (beta, alpha): the order asked for is (alpha, beta)."),
        (
            (full.alpha_, full.beta_),
            "If you fitted all 13 years: fit on years 0-7 only (the first 8 counts); the "
            "later years are kept back to test the projection.",
        ),
        ((high.alpha_, high.beta_), "If you reused the High End fit from above: refit on the Regular cohort."),
    ]


def _proj12() -> float:
    return float(regular_fit().predict(12)["expected_survivors"].iloc[12])


def _naive12() -> float:
    s = FADER_HARDIE["regular"]
    return s[FIT_YEARS] * (s[FIT_YEARS] / s[FIT_YEARS - 1]) ** (12 - FIT_YEARS)


def _proj_mistakes() -> list[tuple[Any, str]]:
    m = regular_fit()
    return [
        (
            FADER_HARDIE["regular"][12],
            "If you gave the actual year-12 count: it was kept back. The question asks "
            "what the model projects from years 0-7.",
        ),
        (_naive12(), "If you kept the last observed rate constant: that is the naive projection of 03.4."),
        (
            float(m.predict(12)["survival"].iloc[12]),
            "If you gave S(12): that is a share; multiply by the cohort size for customers.",
        ),
        (
            float(m.predict(11)["expected_survivors"].iloc[11]),
            "If you read period 11: year 12 is row 12 (row 0 is year 0).",
        ),
    ]


def _naive_mistakes() -> list[tuple[Any, str]]:
    s = FADER_HARDIE["regular"]
    mean_r = (s[FIT_YEARS] / s[0]) ** (1 / FIT_YEARS)
    last = s[FIT_YEARS] / s[FIT_YEARS - 1]
    return [
        (
            s[FIT_YEARS] * mean_r ** (12 - FIT_YEARS),
            "If you used the average retention of years 1-7: the question "
            "keeps the LAST observed rate, 241 / 262, constant.",
        ),
        (_proj12(), "If you gave the sBG projection: here keep the last rate constant instead."),
        (
            s[FIT_YEARS] * last ** (12 - FIT_YEARS + 1),
            "If you applied the rate 6 times: from year 7 to year 12 are 5 steps.",
        ),
    ]


EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "03.1",
        "Half the customers churn 50 % per period, half 10 %. Aggregate retention rate in period 2, "
        "S(2) / S(1) (3 decimals).",
        "rate",
        _mix_r2,
        (
            "Who is left after one period? Work out each type's share of the survivors.",
            "S(t) = 0.5 x 0.5^t + 0.5 x 0.9^t. Compute S(1) and S(2).",
        ),
        "workshop.mixture_retention([0.5, 0.1], [0.5, 0.5]).loc[2, 'retention_rate']",
        _mix_mistakes,
        tol=5e-4,
    ),
    Exercise(
        "03.2",
        "Fit the sBG to the Regular cohort, years 0-7 only: (alpha, beta), 3 significant digits.",
        "numbers",
        _ab,
        (
            "Do exactly what was done for the High End cohort above, with the Regular counts.",
            "Years 0-7 are the first 8 counts (year 0 = 1000).",
            "The fitted model keeps its estimates in alpha_ and beta_.",
        ),
        "m = ShiftedBetaGeoFitter().fit(FADER_HARDIE['regular'][:8]); (m.alpha_, m.beta_)",
        _ab_mistakes,
        rel=5e-3,
        fields=("alpha", "beta"),
    ),
    Exercise(
        "03.3",
        "sBG projection (fit on years 0-7) of the Regular customers left at year 12.",
        "number",
        _proj12,
        (
            "The fitted model can project any year: look at what predict returns.",
            "Survivors = cohort size x S(12); predict's table has one row per year from 0.",
        ),
        "m.predict(12)['expected_survivors'].iloc[12]",
        _proj_mistakes,
        rel=5e-3,
    ),
    Exercise(
        "03.4",
        "Naive projection: keep the last observed retention rate (year 7 / year 6) constant; Regular "
        "customers left at year 12?",
        "number",
        _naive12,
        (
            "The last observed rate is survivors of year 7 / survivors of year 6.",
            "Apply that rate once per year from year 7 to year 12.",
        ),
        "241 * (241 / 262) ** 5",
        _naive_mistakes,
        rel=5e-3,
    ),
    Exercise(
        "03.5",
        "Why does the aggregate retention rate rise with tenure in the sBG? (a) customers grow more loyal "
        "over time, (b) the customers most likely to churn leave first, (c) the data has a bug.",
        "choice",
        lambda: "b",
        ("In the sBG (and in 03.1) nobody's churn probability ever changes.", "Ask who is left after a few periods."),
        "'b'",
        options={
            "b": "b",
            "(b)": "b",
            "sorting": "b",
            "heterogeneity": "b",
            "a": "a",
            "(a)": "a",
            "c": "c",
            "(c)": "c",
        },
        mistakes=lambda: [
            (
                "a",
                "If you read it as growing loyalty: in the sBG every customer keeps the same churn "
                "probability forever. What changes is the mix of who is left.",
            ),
            ("c", "If you suspect a bug: 03.1 gives the same rise with two types that never change."),
        ],
    ),
)
