"""The workshop's checker: compares a learner's answer with the model answer and says what to think about.

An :class:`Exercise` carries the model answer (a callable computing it from
:mod:`retainkit.workshop.data` with retainkit's functions), a catalogue of
known mistakes (the wrong value each produces and what to reconsider), and
tiered hints (nudges, never the solution code). :func:`evaluate` returns a
:class:`CheckResult`:

* a known mistake is named only conditionally ("If you divided by E, ..."):
  the same wrong number can come from two different mistakes, so the checker
  never asserts which one the learner made; when several catalogued mistakes
  give the number, every one is listed;
* messages quote the learner's value as given, never rescaled;
* a near miss (a rate, percent, number or table within rounding of the
  answer) gets "Close: check the rounding";
* otherwise the first tier of the exercise's hints, and a pointer to the next
  tier (:func:`hint_for`).

Answers are compared tolerantly: a rate may be a fraction or a percent (0.8,
80 or "80 %"), numbers Python/numpy/pandas scalars, sequences lists, tuples,
arrays or Series, tables DataFrames or nested lists. The exercise, hint and
result types are in :mod:`retainkit.workshop.exercise`.
"""

from __future__ import annotations

import math
import numbers
import re
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
import pandas as pd

from .exercise import CheckResult, Exercise, Hint, hint_for

__all__ = ["CheckResult", "Exercise", "Hint", "evaluate", "hint_for"]


class _Bad(Exception):
    """The answer has the wrong shape or type; the message says what was expected."""


def _first_hint(ex: Exercise) -> str:
    nxt = f' For the next hint: workshop.hint("{ex.id}", 2).' if len(ex.hints) > 1 else ""
    return ex.hints[0] + nxt


# ============================================================================= normalising answers
def _describe(x: Any) -> str:
    """The learner's answer as they gave it (numbers shortened, never rescaled)."""
    if isinstance(x, (bool, np.bool_)):
        return repr(bool(x))
    if isinstance(x, numbers.Real):
        return _fmt(float(x))
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isfinite(v) and abs(v) >= 1000:
            return f"{v:.2f}".rstrip("0").rstrip(".")
        return f"{v:.6g}"
    return str(v)


def _to_float(x: Any) -> float:
    """A number from a scalar, 0-d array, one-element container or text like '80 %'."""
    if isinstance(x, (bool, np.bool_)):
        raise _Bad(f"expected a number, got {x!r}")
    if isinstance(x, numbers.Real):
        return float(x)
    if isinstance(x, str):
        s = x.strip().replace(",", "")
        pct = s.endswith("%")
        try:
            v = float(s.rstrip("%").strip())
        except ValueError:
            raise _Bad(f"expected a number, got the text {x!r}") from None
        return v / 100.0 if pct else v
    if isinstance(x, (pd.Series, pd.Index, np.ndarray, list, tuple, pd.DataFrame)):
        arr = x.to_numpy().ravel() if isinstance(x, pd.DataFrame) else np.asarray(x, dtype=object).ravel()
        if arr.size == 1:
            return _to_float(arr[0].item() if hasattr(arr[0], "item") else arr[0])
        raise _Bad(f"expected one number, got {arr.size} values")
    if hasattr(x, "item"):
        try:
            return _to_float(x.item())
        except (ValueError, TypeError):
            pass
    raise _Bad(f"expected a number, got {type(x).__name__} {_describe(x)}")


def _to_vector(x: Any) -> np.ndarray:
    if isinstance(x, (str, numbers.Number)):
        raise _Bad(f"expected several numbers (a list, tuple, array or Series), got {_describe(x)}")
    if isinstance(x, Mapping):
        x = list(x.values())
    if isinstance(x, pd.DataFrame):
        if x.shape[1] != 1 and x.shape[0] != 1:
            raise _Bad(f"expected a list of numbers, got a table with shape {x.shape}")
        x = x.to_numpy().ravel()
    try:
        return np.asarray(x, dtype="float64").ravel()
    except (TypeError, ValueError):
        raise _Bad(f"expected numbers, got {_describe(x)}") from None


def _to_matrix(x: Any) -> np.ndarray:
    if isinstance(x, pd.DataFrame):
        numeric = x.select_dtypes(include=["number", "bool"])
        if 0 < numeric.shape[1] < x.shape[1]:
            x = numeric  # a 'cohort' column left in after reset_index()
        try:
            return x.to_numpy(dtype="float64", na_value=np.nan)
        except (TypeError, ValueError):
            raise _Bad("expected a table of numbers; some cells are not numbers") from None
    try:
        arr = np.asarray(x, dtype="float64")
    except (TypeError, ValueError):
        raise _Bad(f"expected a table of numbers (cohorts x ages), got {type(x).__name__}") from None
    if arr.ndim != 2:
        raise _Bad(f"expected a two-dimensional table (cohorts x ages), got {arr.ndim} dimension(s)")
    return arr


def _close(a: float, e: float, tol: float, rel: float = 0.0) -> bool:
    if math.isnan(a) or math.isnan(e):
        return math.isnan(a) and math.isnan(e)
    return abs(a - e) <= tol + rel * abs(e) + 1e-12


def _rate_matches(a: float, e: float, tol: float) -> bool:
    """``a`` equals ``e`` as a fraction or as a percent."""
    return _close(a, e, tol) or _close(a / 100.0, e, tol)


# ============================================================================= feedback
def _mistake_feedback(ex: Exercise, matches: Callable[[Any], bool]) -> str:
    """Every catalogued mistake whose wrong value matches, conditionally worded."""
    try:
        catalogue = ex.mistakes()
    except Exception:  # noqa: BLE001 - feedback must never break a check
        return ""
    found: list[str] = []
    for value, text in catalogue:
        try:
            if matches(value) and text not in found:
                found.append(text)
        except Exception:  # noqa: BLE001 - a catalogue value of another shape simply does not match
            continue
    if len(found) > 1:
        return "More than one known mistake gives this answer. " + " ".join(found)
    return found[0] if found else ""


CLOSE_RATE = "Close: check the rounding (give at least the decimals the question asks for, or the unrounded number)."
CLOSE_TABLE = (
    "Close: every cell is within 0.01 of the right value and the missing cells are right. Check the "
    "rounding (3 decimals, or leave the numbers unrounded)."
)


def _near(a: float, e: float, abs_tol: float, rel_tol: float) -> bool:
    return math.isfinite(a) and math.isfinite(e) and abs(a - e) <= max(abs_tol, rel_tol * abs(e))


#: A wrong answer within this relative distance of a catalogued mistake's value is taken for it (rounded input).
MISTAKE_REL = 2e-3

Verdict = tuple[bool, str, str]  # ok, message, hint (empty: use the exercise's first hint)


def _cmp_rate(ex: Exercise, answer: Any) -> Verdict:
    a = _to_float(answer)
    e = float(ex.expected())
    if _rate_matches(a, e, ex.tol):
        return True, f"{_describe(answer)} matches {e:.4g} ({e:.2%}).", ""
    hint = _mistake_feedback(
        ex, lambda v: _close(a, float(v), ex.tol, MISTAKE_REL) or _close(a / 100.0, float(v), ex.tol, MISTAKE_REL)
    )
    if not hint and any(_near(c, e, 5e-3, 1e-2) for c in (a, a / 100.0)):
        hint = CLOSE_RATE
    return False, f"{_describe(answer)} is not it.", hint


def _cmp_percent(ex: Exercise, answer: Any) -> Verdict:
    a = _to_float(answer)
    e = float(ex.expected())
    if _close(a, e, ex.tol, ex.rel) or _close(a * 100.0, e, ex.tol, ex.rel):
        return True, f"{_describe(answer)} matches {e:.1f} %.", ""
    hint = _mistake_feedback(ex, lambda v: _close(a, float(v), ex.tol, max(ex.rel, MISTAKE_REL)))
    if not hint and any(_near(c, e, 0.5, 1e-2) for c in (a, a * 100.0)):
        hint = CLOSE_RATE
    return False, f"{_describe(answer)} is not it.", hint


def _cmp_number(ex: Exercise, answer: Any) -> Verdict:
    a = _to_float(answer)
    e = float(ex.expected())
    if _close(a, e, ex.tol, ex.rel):
        return True, f"{_describe(answer)} matches {_fmt(e)}.", ""
    hint = _mistake_feedback(ex, lambda v: _close(a, float(v), ex.tol, max(ex.rel, MISTAKE_REL)))
    if not hint and ex.tol + ex.rel > 0 and _near(a, e, 0.0, 2e-2):
        hint = CLOSE_RATE
    return False, f"{_describe(answer)} is not it.", hint


def _numbers_of(ex: Exercise, answer: Any) -> np.ndarray:
    if ex.fields and isinstance(answer, Mapping):
        low = {str(k).strip().lower(): v for k, v in answer.items()}
        try:
            return np.array([_to_float(low[f.lower()]) for f in ex.fields])
        except KeyError:
            raise _Bad(f"a dict answer needs the keys {list(ex.fields)}") from None
    if ex.fields and all(hasattr(answer, f"{f}_") for f in ex.fields):  # a fitted model
        return np.array([float(getattr(answer, f"{f}_")) for f in ex.fields])
    return _to_vector(answer)


def _cmp_numbers(ex: Exercise, answer: Any) -> Verdict:
    a = _numbers_of(ex, answer)
    e = np.asarray(ex.expected(), dtype="float64")
    shown = "[" + ", ".join(_fmt(float(x)) for x in a) + "]"
    if a.shape != e.shape:
        what = f" ({', '.join(ex.fields)})" if ex.fields else ""
        return False, f"Expected {e.size} numbers{what}, got {a.size}.", ""
    close = np.array([_close(x, y, ex.tol, ex.rel) for x, y in zip(a, e)])
    if close.all():
        return True, f"{shown} matches.", ""
    hint = _mistake_feedback(
        ex, lambda v: np.allclose(a, np.asarray(v, dtype="float64"), rtol=max(ex.rel, 1e-6), atol=ex.tol + 1e-9)
    )
    if not hint and ex.rel > 0 and all(_near(x, y, 0.0, 2e-2) for x, y in zip(a, e)):
        hint = CLOSE_RATE
    if not hint and ex.field_hints and (~close).sum() == 1:
        hint = ex.field_hints[int(np.flatnonzero(~close)[0])]
    if not hint and ex.fields and (~close).sum() > 1:
        hint = "Off: " + ", ".join(f for f, c in zip(ex.fields, close) if not c) + ". " + _first_hint(ex)
    return False, f"{shown} is not it.", hint


def _same_table(a: np.ndarray, e: np.ndarray, atol: float) -> bool:
    if a.shape != e.shape or not (np.isnan(a) == np.isnan(e)).all():
        return False
    ok = ~np.isnan(e)
    return bool(np.allclose(a[ok], e[ok], atol=atol, rtol=0))


def _cmp_matrix(ex: Exercise, answer: Any) -> Verdict:
    if isinstance(answer, pd.DataFrame) and {"cohort", "age"} <= set(answer.columns) and len(answer) > 6:
        raise _Bad("that is a long (tidy) table; pivot it to cohorts x ages (rows = cohorts, columns = ages)")
    raw = _to_matrix(answer)
    e_frame = ex.expected()
    e = e_frame.to_numpy(dtype="float64")
    if raw.shape != e.shape:
        hint = f"The table needs {e.shape[0]} cohorts (rows) x {e.shape[1]} ages 0-{e.shape[1] - 1} (columns)."
        if raw.shape == (e.shape[0] - 1, e.shape[1] - 1):
            hint += (
                " If you loaded the log without as_of, the last month (May) counts as partial and is "
                "left out: the last purchase is on 30 May; pass as_of='2023-05-31'."
            )
        elif raw.shape == e.shape[::-1]:
            hint += " If cohorts run across the columns, transpose: cohorts go down the rows, ages across."
        return False, f"Your table has shape {raw.shape}, expected {e.shape}.", hint
    atol = ex.tol + 1e-9
    scales = [1.0] + ([100.0] if np.nanmax(np.abs(np.where(np.isfinite(raw), raw, np.nan)), initial=0) > 1.5 else [])
    for s in scales:
        if _same_table(raw / s, e, atol):
            return True, "Every observed cell matches, and the unobserved cells are missing (NaN).", ""

    def matches(v: Any) -> bool:
        m = np.asarray(v, dtype="float64")
        return any(
            _same_table(np.where(np.isinf(raw), np.nan, raw) / s, np.where(np.isinf(m), np.nan, m), 1e-6)
            for s in scales
        )

    hint = _mistake_feedback(ex, matches)
    if hint:
        return False, "Not the classic retention triangle.", hint
    if raw.shape[0] == raw.shape[1] and any(_same_table(raw.T / s, e, atol) for s in scales):
        return (
            False,
            "Right numbers, wrong layout.",
            ("If you put the cohorts across the columns: transpose; cohorts go down the rows, ages across."),
        )
    best = min(scales, key=lambda s: np.nansum(np.abs(raw / s - e)))
    a = raw / best
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    if (nan_a & ~nan_e).any() and not (nan_e & ~nan_a).any():
        i, j = (int(v) for v in np.argwhere(nan_a & ~nan_e)[0])
        return (
            False,
            (f"Some observed cells are empty in your table, e.g. cohort {e_frame.index[i]}, age {e_frame.columns[j]}."),
            (
                "Every cell whose month is on or before the last complete month has a value; if nobody of a cohort "
                "was active at an observed age, its retention there is 0, not NaN."
            ),
        )
    both = ~nan_a & ~nan_e
    if (nan_a == nan_e).all() and np.all(np.abs(a[both] - e[both]) <= 0.01 + 1e-12):
        return False, "Nearly: the numbers differ in the last digits.", CLOSE_TABLE
    wrong = np.argwhere((both & ~np.isclose(a, e, atol=atol, rtol=0)) | (nan_a != nan_e))
    i, j = (int(v) for v in wrong[0])
    return (
        False,
        (
            f"{len(wrong)} cell(s) differ, e.g. cohort {e_frame.index[i]}, age {e_frame.columns[j]}: "
            f"yours {_fmt(float(raw[i, j]))}."
        ),
        "",
    )


def _choice_text(answer: Any) -> str:
    if isinstance(answer, float) and math.isnan(answer):
        return "nan"
    return str(answer).strip().lower().strip("'\". ")


def _cmp_choice(ex: Exercise, answer: Any) -> Verdict:
    text = _choice_text(answer)
    canon = ex.options.get(text, ex.options.get(text.strip("()"), text))
    if canon == ex.expected():
        return True, f"{answer!r}: yes.", ""
    hint = _mistake_feedback(ex, lambda v: ex.options.get(str(v), str(v)) == canon)
    return False, f"{answer!r} is not it.", hint


def _ids_of(answer: Any) -> set[str]:
    if isinstance(answer, str):
        items = re.split(r"[,;\s]+", answer.strip())
    elif isinstance(answer, (set, frozenset, list, tuple, pd.Series, pd.Index, np.ndarray)):
        items = [str(x) for x in (answer.tolist() if hasattr(answer, "tolist") else answer)]
    else:
        raise _Bad(f"expected customer names (a list like ['Ana']), got {type(answer).__name__}")
    return {s.strip().lower() for s in items if s and s.strip()}


def _cmp_ids(ex: Exercise, answer: Any) -> Verdict:
    a = _ids_of(answer)
    e = {s.lower() for s in ex.expected()}
    if a == e:
        return True, f"{sorted(answer) if not isinstance(answer, str) else answer}: yes.", ""
    hint = _mistake_feedback(ex, lambda v: {s.lower() for s in v} == a)
    if not hint and e < a:
        hint = "Some of those are right, but not all. " + _first_hint(ex)
    return False, f"{sorted(a)} is not it.", hint


_DOW = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


def _cron_fields(text: str) -> tuple[str, ...]:
    parts = str(text).split()
    if len(parts) != 5:
        raise _Bad(f"a cron schedule has 5 fields (minute hour day-of-month month day-of-week); got {len(parts)}")
    out = []
    for i, p in enumerate(parts):
        p = p.lower()
        if i == 4:
            p = str(_DOW.get(p[:3], p))
            p = "0" if p == "7" else p
        out.append(str(int(p)) if p.isdigit() else p)
    return tuple(out)


def _cmp_cron(ex: Exercise, answer: Any) -> Verdict:
    if not isinstance(answer, str):
        raise _Bad("expected a cron line as text, like '30 7 * * *'")
    a = _cron_fields(answer)
    if a == _cron_fields(ex.expected()):
        return True, f"{answer!r} runs every Monday at 06:00.", ""
    return False, f"{answer!r} is not it.", _mistake_feedback(ex, lambda v: _cron_fields(v) == a)


def _cmp_date(ex: Exercise, answer: Any) -> Verdict:
    try:
        a = pd.Timestamp(answer)
    except (TypeError, ValueError):
        raise _Bad(f"expected a date like '2024-01-31', got {_describe(answer)}") from None
    if a is pd.NaT or pd.isna(a):
        raise _Bad("expected a date like '2024-01-31'")
    if a.tzinfo is not None:
        a = a.tz_localize(None)
    if a.normalize() == pd.Timestamp(ex.expected()):
        return True, f"{a.date()}: the end of the last complete month.", ""
    return (
        False,
        f"{a.date()} is not it.",
        _mistake_feedback(ex, lambda v: pd.Timestamp(v).normalize() == a.normalize()),
    )


_COMPARE: dict[str, Callable[[Exercise, Any], Verdict]] = {
    "rate": _cmp_rate,
    "percent": _cmp_percent,
    "number": _cmp_number,
    "numbers": _cmp_numbers,
    "matrix": _cmp_matrix,
    "choice": _cmp_choice,
    "ids": _cmp_ids,
    "cron": _cmp_cron,
    "date": _cmp_date,
}


def evaluate(ex: Exercise, answer: Any) -> CheckResult:
    """Compare ``answer`` with the exercise's model answer (never raises for a learner's answer).

    Parameters
    ----------
    ex : Exercise
    answer : Any
        ``None`` (or ``...``) means not answered yet.

    Returns
    -------
    CheckResult
    """
    if answer is None or answer is Ellipsis:
        return CheckResult(ex.id, "unanswered", f"Replace None with your answer. Question: {ex.question}")
    try:
        ok, message, hint = _COMPARE[ex.kind](ex, answer)
    except _Bad as bad:
        ok, message, hint = False, f"Your answer has the wrong form: {bad}.", ""
    except Exception as exc:  # noqa: BLE001 - a learner's odd object must never crash the notebook
        ok, message, hint = False, f"Could not read your answer ({type(exc).__name__}: {exc}).", ""
    if ok:
        return CheckResult(ex.id, "correct", message, "", ex.model)
    return CheckResult(ex.id, "wrong", message, hint or _first_hint(ex))
