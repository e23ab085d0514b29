"""Notebook 04's exercises: lifetime value and the "5 %" claim (definitions §5)."""

from __future__ import annotations

from typing import Any

from ..clv import clv_margin_multiple
from ..economics import retention_profit_impact
from .data import CLV_EXAMPLE
from .exercise import Exercise

__all__ = ["EXERCISES", "profit_pct"]


def profit_pct(**params: Any) -> float:
    """``retention_profit_impact(**params)``'s percent change in NPV per acquired customer (definitions §5)."""
    return float(retention_profit_impact(**params).metrics["profit_increase_pct"])


def _clv() -> float:
    return clv_margin_multiple(**CLV_EXAMPLE)


def _clv_mistakes() -> list[tuple[Any, str]]:
    m, r, d = CLV_EXAMPLE["margin"], CLV_EXAMPLE["retention"], CLV_EXAMPLE["discount_rate"]
    return [
        (
            m / (1 - r),
            "If you multiplied the margin by the expected lifetime 1 / (1 - r): that leaves out "
            "discounting and pays a first margin for sure. Here each margin arrives at the END of a year "
            "the customer is still there, discounted.",
        ),
        (
            m * (1 + d) / (1 + d - r),
            "If you paid the first margin at once (the 'start' timing): the question pays at the end of each year.",
        ),
        (m * r / (1 - r), "If you left out the discounting: money one year ahead is worth 1 / (1 + d) today."),
        (
            m / (1 + d - r),
            "If you counted the first year's margin for sure: it comes only if the customer is still "
            "there after one year (probability r).",
        ),
    ]


def _rise() -> float:
    after = clv_margin_multiple(CLV_EXAMPLE["margin"], CLV_EXAMPLE["retention"] + 0.05, CLV_EXAMPLE["discount_rate"])
    return after / _clv() - 1.0


def _rise_mistakes() -> list[tuple[Any, str]]:
    r = CLV_EXAMPLE["retention"]
    after = clv_margin_multiple(CLV_EXAMPLE["margin"], r + 0.05, CLV_EXAMPLE["discount_rate"])
    return [
        (
            (r + 0.05) / r - 1,
            "If you computed 0.85 / 0.80 - 1: that is how much retention rose. Compare the two CLVs instead.",
        ),
        (
            after - _clv(),
            "If you gave the difference in money: the question asks for the rise as a share of the CLV at 0.80.",
        ),
        (after / _clv(), "If you gave the ratio of the two CLVs: subtract 1 for the rise."),
    ]


def _table_mistakes(**params: Any) -> list[tuple[Any, str]]:
    res = retention_profit_impact(**params)
    t, s = res.table, res.metrics
    before, after = t[t["scenario"] == "before"], t[t["scenario"] == "after"]
    gross0 = float(before.loc[before["year"] > 0, "discounted_profit"].sum())
    gross1 = float(after.loc[after["year"] > 0, "discounted_profit"].sum())
    raw0, raw1 = float(before["expected_profit"].sum()), float(after["expected_profit"].sum())
    pct = float(s["profit_increase_pct"])
    return [
        (v, text)
        for v, text in [
            (
                float(s["npv_increase"]),
                "If you gave the rise in money per customer: the question asks for it as a percent of the NPV before.",
            ),
            (
                100 * (gross1 - gross0) / gross0,
                "If you left out year 0: the claim's percent is measured on the NPV "
                "after paying the acquisition cost (year 0 in the table).",
            ),
            (100 * (raw1 - raw0) / raw0, "If you summed expected_profit: use the discounted profits."),
            (
                100 * float(s["npv_after"]) / float(s["npv_before"]),
                "If you gave NPV after / NPV before x 100: subtract 100 for the rise.",
            ),
        ]
        if abs(v - pct) > 0.05
    ]


def _no_acquisition() -> float:
    return profit_pct(retention=0.6, margin_growth=0.0, acquisition_cost=0.0)


EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "04.1",
        "CLV with margin 100 per year, retention 0.8, discount rate 10 %, margin at the end of each year the "
        "customer is still there.",
        "number",
        _clv,
        (
            "Write the first three terms: what does the customer bring at the end of year 1, 2, 3, and what is each "
            "worth today?",
            "Year t pays m with probability r^t, worth 1 / (1 + d)^t today. The sum is a geometric series.",
            "The closed form is in the text above the exercise.",
        ),
        "clv_margin_multiple(margin=100, retention=0.8, discount_rate=0.1)",
        _clv_mistakes,
        tol=0.01,
    ),
    Exercise(
        "04.2",
        "By what share does that CLV rise when retention goes from 0.80 to 0.85?",
        "rate",
        _rise,
        ("Compute the CLV again with r = 0.85.", "A rise 'by what share' is new / old - 1."),
        "clv_margin_multiple(100, 0.85, 0.1) / clv_margin_multiple(100, 0.8, 0.1) - 1",
        _rise_mistakes,
        tol=5e-4,
    ),
    Exercise(
        "04.3",
        "From the two year-by-year tables, by how many percent does the NPV per acquired customer rise (1 decimal)?",
        "percent",
        lambda: profit_pct(),
        (
            "The NPV of a scenario is the sum of its discounted_profit column, year 0 included.",
            "Percent rise = 100 x (NPV after - NPV before) / NPV before.",
        ),
        "retention_profit_impact().metrics['profit_increase_pct']",
        lambda: _table_mistakes(),
        tol=0.05,
    ),
    Exercise(
        "04.4",
        "The same with base retention 0.6 and no profit growth (margin_growth=0): percent increase?",
        "percent",
        lambda: profit_pct(retention=0.6, margin_growth=0.0),
        (
            "Change two arguments of retention_profit_impact and read the same figure as in 04.3.",
            "Base retention 0.6 -> 0.65; profit per active year stays at 30.",
        ),
        "retention_profit_impact(retention=0.6, margin_growth=0.0).metrics['profit_increase_pct']",
        lambda: (
            _table_mistakes(retention=0.6, margin_growth=0.0)
            + [
                (profit_pct(), "If you got 04.3's figure again: change retention and margin_growth."),
                (
                    _no_acquisition(),
                    "If you set acquisition_cost=0: keep the default acquisition cost of 50 here; the "
                    "next exercises come back to it.",
                ),
            ]
        ),
        tol=0.05,
    ),
    Exercise(
        "04.5",
        "04.4's customer (retention 0.6, no profit growth) without any acquisition cost: by how many "
        "percent does the 5-point lift raise the customer's value?",
        "percent",
        _no_acquisition,
        (
            "Same call as in 04.4 with one more argument.",
            "acquisition_cost=0: year 0 of the table becomes 0, so the NPV is the customer's gross value.",
        ),
        "retention_profit_impact(retention=0.6, margin_growth=0.0, acquisition_cost=0).metrics['profit_increase_pct']",
        lambda: (
            _table_mistakes(retention=0.6, margin_growth=0.0, acquisition_cost=0.0)
            + [(profit_pct(retention=0.6, margin_growth=0.0), "If you got 04.4's figure: set acquisition_cost=0.")]
        ),
        tol=0.05,
    ),
    Exercise(
        "04.6",
        "Default parameters again, but keeping a saved customer costs acquisition_cost / 5 "
        "(acquisition_to_retention_cost_ratio=5): percent increase?",
        "percent",
        lambda: profit_pct(acquisition_to_retention_cost_ratio=5.0),
        (
            "Only one argument changes compared with 04.3.",
            "The 'after' scenario now pays 50 / 5 = 10 for every customer who stays thanks to the lift.",
        ),
        "retention_profit_impact(acquisition_to_retention_cost_ratio=5).metrics['profit_increase_pct']",
        lambda: (
            _table_mistakes(acquisition_to_retention_cost_ratio=5.0)
            + [(profit_pct(), "If you got 04.3's figure: that is the free lift; here keeping a customer costs 10.")]
        ),
        tol=0.05,
    ),
)
