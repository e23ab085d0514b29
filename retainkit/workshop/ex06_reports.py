"""Notebook 06's exercises: parameters, papermill, scheduling and as_of (definitions §2)."""

from __future__ import annotations

import pandas as pd

from ..metrics import crr_from_counts
from ..periods import last_complete_period, period_start
from .data import PAPERMILL_DEMO
from .exercise import Exercise

__all__ = ["EXERCISES", "last_complete_month_end"]


def last_complete_month_end(day: str) -> pd.Timestamp:
    """Last day of the last complete month when a report runs at 06:00 on ``day`` (definitions §2)."""
    run_at = pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=6)
    last = last_complete_period(run_at, "M", "UTC")
    return pd.Timestamp(period_start(last + 1, "M")).tz_localize(None).normalize() - pd.Timedelta(days=1)


EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "06.1",
        "Which cell tag tells papermill where the default parameters are?",
        "choice",
        lambda: "parameters",
        (
            "Open the cell's tags (the gear icon in JupyterLab's right sidebar) of this notebook's first code cell.",
            "papermill adds a cell of its own after the tagged one; your answer is the tag of the original.",
        ),
        "'parameters'",
        options={"parameters": "parameters", "parameter": "parameters", "injected-parameters": "injected-parameters"},
        mistakes=lambda: [
            (
                "injected-parameters",
                "If you named the tag of the cell papermill ADDS with the values you pass: the defaults "
                "live in the cell you tag yourself.",
            )
        ],
    ),
    Exercise(
        "06.2",
        "Run the demo notebook with papermill with start=120, end=110, new=20. What CRR did it write?",
        "rate",
        lambda: crr_from_counts(**PAPERMILL_DEMO),
        (
            "pm.execute_notebook takes a parameters= dictionary.",
            "After the run, read result.json again: the demo overwrites it.",
        ),
        "pm.execute_notebook(demo, out, parameters=dict(start=120, end=110, new=20)); "
        "json.load(open('result.json'))['crr']",
        lambda: [
            (
                crr_from_counts(start=200, end=190, new=30),
                "If you read the result of the default run: pass the parameters so papermill injects them, then "
                "read result.json again.",
            )
        ],
        tol=5e-4,
    ),
    Exercise(
        "06.3",
        "A cron schedule (5 fields) for 'every Monday at 06:00'.",
        "cron",
        lambda: "0 6 * * 1",
        (
            "The five fields are: minute, hour, day of the month, month, day of the week.",
            "'*' means every value; day of the week 0 (or 7) is Sunday.",
        ),
        "'0 6 * * 1'",
        mistakes=lambda: [
            ("6 0 * * 1", "If you wrote the hour first: the minute comes first, then the hour."),
            ("0 6 * * 0", "If you used 0 for Monday: day-of-week 0 is Sunday; Monday is 1."),
            (
                "0 6 1 * *",
                "If you put the weekday in the third field: that is the day of the MONTH; the weekday is the fifth.",
            ),
            ("* 6 * * 1", "If you left the minute as '*': that runs every minute from 06:00 to 06:59."),
        ],
    ),
    Exercise(
        "06.4",
        "A monthly report runs in the early morning of 1 July 2024. Which as_of date should it use so only "
        "complete months are reported?",
        "date",
        lambda: last_complete_month_end("2024-07-01"),
        (
            "Which month is the last one that has fully happened at 06:00 on 1 July?",
            "as_of is the END of the period the report describes.",
        ),
        "'2024-06-30'",
        mistakes=lambda: [
            (
                pd.Timestamp("2024-07-01"),
                "If you used the run date: 1 July is in July, a month that has just begun, so its data "
                "are partial. Report up to the end of June.",
            ),
            (
                pd.Timestamp("2024-06-01"),
                "If you gave the first day of June: as_of is the END of the period described (the whole of 30 June).",
            ),
        ],
    ),
)
