"""Every workshop exercise by id, and the learner-facing functions: check, hint, solution, exercises."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import pandas as pd

from ..exceptions import ParameterError
from . import ex01_crr, ex02_triangle, ex03_sbg, ex04_clv, ex05_loyalty, ex06_reports, ex07_cdnow
from .checking import evaluate
from .exercise import CheckResult, Exercise, Hint, hint_for

__all__ = ["EXERCISES", "check", "exercise", "exercises", "hint", "solution"]

#: id -> Exercise, in notebook order (read-only).
EXERCISES: Mapping[str, Exercise] = MappingProxyType(
    {
        ex.id: ex
        for module in (ex01_crr, ex02_triangle, ex03_sbg, ex04_clv, ex05_loyalty, ex06_reports, ex07_cdnow)
        for ex in module.EXERCISES
    }
)


def exercise(exercise_id: str) -> Exercise:
    """The :class:`Exercise` with this id (e.g. "02.3").

    Raises
    ------
    ParameterError
        When there is no such exercise (the message lists them).
    """
    key = str(exercise_id).strip()
    if key not in EXERCISES:
        raise ParameterError(
            f"there is no exercise {exercise_id!r}. Exercises are named 'NN.k' (notebook, number): "
            + ", ".join(EXERCISES)
            + "."
        )
    return EXERCISES[key]


def exercises(notebook: str | None = None) -> pd.DataFrame:
    """All exercises (or one notebook's) with their questions, for the facilitator.

    Parameters
    ----------
    notebook : str, optional
        "01" .. "07".

    Returns
    -------
    pandas.DataFrame
        ``exercise``, ``notebook``, ``kind``, ``level`` ("everyone" or
        "pandas"), ``question``, ``model`` (the model solution in code).
    """
    cols = ["exercise", "notebook", "kind", "level", "question", "model"]
    rows = [
        {
            "exercise": e.id,
            "notebook": e.notebook,
            "kind": e.kind,
            "level": e.level,
            "question": e.question,
            "model": e.model,
        }
        for e in EXERCISES.values()
        if notebook is None or e.notebook == str(notebook).zfill(2)
    ]
    if notebook is not None and not rows:
        notebooks = sorted({e.notebook for e in EXERCISES.values()})
        raise ParameterError(f"notebook={notebook!r} has no exercises; use one of {notebooks}.")
    return pd.DataFrame(rows, columns=cols)


def solution(exercise_id: str) -> Any:
    """The model answer of an exercise, computed from the shared data (a fresh copy).

    Parameters
    ----------
    exercise_id : str
        e.g. "02.3".

    Returns
    -------
    Any
        A float (rates as fractions, percents as percent), a tuple, a sorted
        list of names, a DataFrame or a string, whatever the question asks for.
    """
    value = exercise(exercise_id).expected()
    if isinstance(value, (pd.DataFrame, pd.Series)):
        return value.copy()
    if isinstance(value, set):
        return sorted(value)
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d")
    return value


def check(exercise_id: str, answer: Any) -> CheckResult:
    """Check a learner's answer: right, not right yet (with feedback), or not answered yet.

    Never raises for a wrong or badly shaped answer; only an unknown exercise
    id raises :class:`~retainkit.exceptions.ParameterError`. Feedback on a
    known mistake is conditional ("If you divided by E, ..."); a near miss
    gets "Close: check the rounding"; otherwise the first tier of
    :func:`hint`.

    Parameters
    ----------
    exercise_id : str
        e.g. "02.3".
    answer : Any
        The learner's answer; ``None`` (or ``...``) means not answered yet.
        Rates may be fractions or percents; sequences may be lists, tuples,
        arrays or Series; tables DataFrames or nested lists.

    Returns
    -------
    CheckResult
        With ``.ok``, ``.status`` and a readable display.
    """
    return evaluate(exercise(exercise_id), answer)


def hint(exercise_id: str, level: int = 1) -> Hint:
    """A hint for a stuck learner, in tiers: level 1 is a nudge, higher levels say more (never the solution code).

    Parameters
    ----------
    exercise_id : str
        e.g. "02.3".
    level : int
        1, 2, ...; a level above the last gives the last.

    Returns
    -------
    Hint
        Displays as text that also says how to ask for the next tier.
    """
    try:
        return hint_for(exercise(exercise_id), level)
    except ValueError as exc:
        raise ParameterError(str(exc)) from None
