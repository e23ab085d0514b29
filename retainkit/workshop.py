"""Shared data and self-checking exercises for the workshop notebooks (``notebooks/workshop/``).

The workshop teaches retention math with the same functions analysts use.
Every exercise has an id ``"NN.k"`` (notebook NN, exercise k). A learner writes
an answer in code and calls :func:`check`, which says right / not right yet /
not answered yet, with a hint that teaches (it recognises the usual mistakes:
dividing by E instead of S, zeros in unobserved cells, a mean of rates, ...).
:func:`solution` returns the model answer; the notebooks' ``solutions``
parameter fills every answer with it.

Expected answers are never typed in: they are computed here from the same
small logs the notebooks use (:func:`crr_log`, :func:`cohort_log`), the Fader &
Hardie survivor data (:data:`FADER_HARDIE`), and retainkit's own functions
(:func:`retainkit.crr_table`, :func:`retainkit.cohort_table`,
:class:`retainkit.clv.ShiftedBetaGeometric`, :mod:`retainkit.economics`,
:mod:`retainkit.loyalty`). The only givens are textbook inputs such as the
classic CRR example (S = 500, N = 50, 100 lost; definitions §4), and even its
answer is computed with :func:`retainkit.crr_from_counts`.

Answers are compared tolerantly: a rate may be given as a fraction or in
percent (0.8 or 80), numbers as Python/numpy scalars, sequences as lists,
tuples, numpy arrays or pandas Series, tables as DataFrames or nested lists;
numbers are compared to the precision the question states.
"""

from __future__ import annotations

import html
import math
import numbers
import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Callable, Iterable, Mapping

import numpy as np
import pandas as pd

from .exceptions import ParameterError

__all__ = [
    "CRR_EXAMPLE",
    "CheckResult",
    "Exercise",
    "FADER_HARDIE",
    "check",
    "cohort_log",
    "crr_log",
    "customers_at",
    "exercise",
    "exercises",
    "fader_hardie",
    "load_cohort_log",
    "load_crr_log",
    "mixture_retention",
    "program_data",
    "solution",
]

# =============================================================================
# Data shared by the notebooks and the checker
# =============================================================================

#: The textbook CRR example (definitions §4 "From counts"): S = 500 at the start,
#: N = 50 new customers, 100 lost during the period.
CRR_EXAMPLE: dict[str, int] = {"start": 500, "new": 50, "lost": 100}

#: Fader & Hardie (2007), "How to project customer retention", Table 1: customers
#: still active at the start of years 0..12 of two cohorts of 1,000.
FADER_HARDIE: dict[str, list[int]] = {
    "regular": [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173],
    "high_end": [1000, 869, 743, 653, 593, 551, 517, 491, 468, 445, 427, 409, 394],
}

# (customer, date, amount): a shop's purchases, Q4 2022 - Q2 2023, for notebook 01.
_CRR_ROWS: tuple[tuple[str, str, float], ...] = (
    ("Ana", "2022-11-05", 34.0), ("Finn", "2022-10-12", 52.0), ("Kai", "2022-10-20", 18.0),
    ("Gus", "2022-12-03", 41.0), ("Lea", "2022-12-15", 27.0),
    ("Finn", "2023-01-05", 45.0), ("Ben", "2023-01-15", 60.0), ("Dan", "2023-01-25", 22.0),
    ("Cleo", "2023-02-02", 38.0), ("Ana", "2023-02-10", 30.0), ("Jo", "2023-02-21", 75.0),
    ("Eva", "2023-03-08", 19.0), ("Cleo", "2023-03-15", 44.0), ("Lea", "2023-03-30", 25.0),
    ("Hana", "2023-04-11", 58.0), ("Ben", "2023-04-20", 63.0), ("Ana", "2023-05-03", 36.0),
    ("Gus", "2023-05-19", 47.0), ("Ivo", "2023-05-27", 29.0), ("Hana", "2023-06-02", 51.0),
    ("Cleo", "2023-06-11", 40.0), ("Jo", "2023-06-25", 70.0),
)
#: as_of of the CRR log: the end of Q2 2023, so Q4 2022, Q1 and Q2 2023 are complete.
CRR_AS_OF = "2023-06-30"
#: the quarter the notebook-01 exercises ask about, and the activity window used
CRR_PERIOD = "2023-Q2"
CRR_WINDOW = "90D"

# (customer, date, amount): monthly purchases Jan - May 2023, for notebook 02.
_COHORT_ROWS: tuple[tuple[str, str, float], ...] = (
    ("Ana", "2023-01-04", 30.0), ("Ben", "2023-01-09", 45.0), ("Cleo", "2023-01-15", 25.0),
    ("Dan", "2023-01-21", 60.0), ("Eva", "2023-01-28", 35.0),
    ("Ana", "2023-02-03", 28.0), ("Cleo", "2023-02-11", 22.0), ("Finn", "2023-02-06", 50.0),
    ("Gus", "2023-02-14", 15.0), ("Hana", "2023-02-19", 40.0), ("Ivo", "2023-02-25", 33.0),
    ("Ana", "2023-03-02", 31.0), ("Ben", "2023-03-18", 47.0), ("Finn", "2023-03-09", 52.0),
    ("Ivo", "2023-03-22", 30.0), ("Jo", "2023-03-05", 65.0), ("Kai", "2023-03-12", 20.0),
    ("Lea", "2023-03-27", 38.0),
    ("Eva", "2023-04-07", 36.0), ("Finn", "2023-04-13", 49.0), ("Hana", "2023-04-16", 42.0),
    ("Jo", "2023-04-20", 61.0), ("Max", "2023-04-08", 27.0), ("Nia", "2023-04-24", 55.0),
    ("Ana", "2023-05-06", 29.0), ("Hana", "2023-05-10", 44.0), ("Jo", "2023-05-14", 66.0),
    ("Lea", "2023-05-17", 35.0), ("Max", "2023-05-21", 26.0), ("Olu", "2023-05-11", 48.0),
    ("Pia", "2023-05-03", 21.0), ("Pia", "2023-05-30", 24.0),
)
#: as_of of the cohort log: the end of May 2023 (the last purchase is on 30 May,
#: so without it May would be a partial month).
COHORT_AS_OF = "2023-05-31"


def _frame(rows: Iterable[tuple[str, str, float]]) -> pd.DataFrame:
    f = pd.DataFrame(list(rows), columns=["customer_id", "timestamp", "amount"])
    f["timestamp"] = pd.to_datetime(f["timestamp"])
    return f.sort_values(["timestamp", "customer_id"], kind="stable").reset_index(drop=True)


def crr_log() -> pd.DataFrame:
    """The notebook-01 purchase log (12 customers, Q4 2022 - Q2 2023; definitions §1, §4).

    Returns
    -------
    pandas.DataFrame
        A new frame with ``customer_id`` (first names), ``timestamp`` (naive
        dates, UTC) and ``amount``. Load it with :func:`load_crr_log`.
    """
    return _frame(_CRR_ROWS)


def cohort_log() -> pd.DataFrame:
    """The notebook-02 purchase log (16 customers, Jan - May 2023; definitions §2, §3).

    Returns
    -------
    pandas.DataFrame
        A new frame with ``customer_id``, ``timestamp`` and ``amount``. Load it
        with :func:`load_cohort_log` (``as_of`` = 31 May 2023).
    """
    return _frame(_COHORT_ROWS)


def load_crr_log():
    """:func:`crr_log` loaded with ``as_of`` = 30 June 2023 (definitions §1)."""
    from .data import load_transactions

    return load_transactions(crr_log(), customer_id="customer_id", timestamp="timestamp", amount="amount",
                             as_of=CRR_AS_OF)


def load_cohort_log():
    """:func:`cohort_log` loaded with ``as_of`` = 31 May 2023 (definitions §1, §2)."""
    from .data import load_transactions

    return load_transactions(cohort_log(), customer_id="customer_id", timestamp="timestamp", amount="amount",
                             as_of=COHORT_AS_OF)


def customers_at(log: pd.DataFrame, boundary: Any, window: str | int = CRR_WINDOW, *,
                 customer_id: str = "customer_id", timestamp: str = "timestamp") -> set[str]:
    """Who "is a customer" at a period boundary, from a transaction log (definitions §4).

    A customer is anyone with a purchase in the trailing activity window
    [b - W, b): with daily data and W = 90 days, the 90 calendar days ending
    the day before ``boundary``. This is the by-hand version of what
    :func:`retainkit.crr_table` computes for S (at the period's first instant)
    and E (at the next period's first instant). Refund rows are not handled
    here (the workshop logs have none).

    Parameters
    ----------
    log : pandas.DataFrame
        Purchase log with naive (local) timestamps.
    boundary : date-like
        First instant of a period, e.g. ``"2023-04-01"``.
    window : str or int
        "90D" or a number of days.
    customer_id, timestamp : str
        Column names.

    Returns
    -------
    set of str
        Customer ids.
    """
    days = int(str(window).rstrip("Dd")) if not isinstance(window, numbers.Integral) else int(window)
    if days < 1:
        raise ParameterError(f"window={window!r} must be a positive number of days, e.g. '90D'.")
    b = pd.Timestamp(boundary).normalize()
    ts = pd.to_datetime(log[timestamp])
    inside = (ts >= b - pd.Timedelta(days=days)) & (ts < b)
    return set(log.loc[inside, customer_id].astype(str))


def fader_hardie() -> pd.DataFrame:
    """The Fader & Hardie (2007) survivor counts as a tidy frame (definitions §5).

    Returns
    -------
    pandas.DataFrame
        ``year`` (0..12), ``regular``, ``high_end`` (customers still active).
    """
    return pd.DataFrame({"year": np.arange(len(FADER_HARDIE["regular"])), **{k: np.array(v) for k, v in
                                                                            FADER_HARDIE.items()}})


def mixture_retention(churn: Iterable[float], shares: Iterable[float], periods: int = 10) -> pd.DataFrame:
    """Aggregate survival and retention of a mix of customer types with constant churn (definitions §5).

    Type i churns with the same probability ``churn[i]`` every period (nobody
    ever changes), so S_i(t) = (1 - churn_i)^t. The population's survival is
    S(t) = sum_i share_i S_i(t) and its retention rate r_t = S(t) / S(t-1)
    rises with t because the high-churn types leave first: heterogeneity
    (the discrete version of the sBG story).

    Parameters
    ----------
    churn : iterable of float
        Per-period churn probability of each type, each in [0, 1].
    shares : iterable of float
        Share of each type at t = 0 (normalised to sum to 1).
    periods : int
        Last period t.

    Returns
    -------
    pandas.DataFrame
        ``period`` (0..periods), ``survival_<i>`` per type, ``survival``
        (aggregate), ``retention_rate`` (aggregate r_t; NaN at t = 0) and
        ``share_<i>`` (type i's share of the customers still there).
    """
    c = np.asarray(list(churn), dtype="float64")
    w = np.asarray(list(shares), dtype="float64")
    if c.ndim != 1 or c.size == 0 or c.shape != w.shape:
        raise ParameterError("churn and shares must be two lists of the same, non-zero length.")
    if np.any((c < 0) | (c > 1)) or not np.all(np.isfinite(c)):
        raise ParameterError(f"churn={c.tolist()} must be probabilities in [0, 1] (write 10 % as 0.1).")
    if np.any(w < 0) or not w.sum() > 0:
        raise ParameterError(f"shares={w.tolist()} must be non-negative and not all zero.")
    if isinstance(periods, bool) or not isinstance(periods, numbers.Integral) or periods < 1:
        raise ParameterError(f"periods={periods!r} must be a whole number >= 1.")
    w = w / w.sum()
    t = np.arange(int(periods) + 1)
    each = (1.0 - c[None, :]) ** t[:, None]
    total = each @ w
    out = pd.DataFrame({"period": t})
    for i in range(c.size):
        out[f"survival_{i}"] = each[:, i]
    out["survival"] = total
    with np.errstate(divide="ignore", invalid="ignore"):
        out["retention_rate"] = np.r_[np.nan, total[1:] / total[:-1]]
        for i in range(c.size):
            out[f"share_{i}"] = w[i] * each[:, i] / total
    return out


#: The two customer types of notebook 03's heterogeneity exercise.
MIXTURE = {"churn": (0.5, 0.1), "shares": (0.5, 0.5)}
#: Notebook 05's simulated programme with a known truth.
PROGRAM_SIM = {"n_customers": 3000, "n_periods": 24, "retention_lift": 0.05, "self_selection": 1.5, "seed": 1}
PROGRAM_BOOT = 200


@lru_cache(maxsize=1)
def _program() -> tuple[pd.DataFrame, pd.DataFrame, Any]:
    from .loyalty import measure_program_lift, simulate_program

    p = dict(PROGRAM_SIM)
    log, customers = simulate_program(p.pop("n_customers"), p.pop("n_periods"), **p)
    lift = measure_program_lift(log, n_boot=PROGRAM_BOOT, seed=0)
    return log, customers, lift


def program_data() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Notebook 05's simulated loyalty programme (known truth; definitions §6).

    Generated by :func:`retainkit.loyalty.simulate_program` with
    :data:`PROGRAM_SIM`: the programme truly raises members' monthly
    activity by 5 points, and heavy buyers join far more often.

    Returns
    -------
    (log, customers) : tuple of pandas.DataFrame
        Copies of the transaction log and the per-customer truth.
    """
    log, customers, _ = _program()
    return log.copy(), customers.copy()


# =============================================================================
# Answer normalisation and comparison
# =============================================================================

class _Bad(Exception):
    """The answer has the wrong shape or type; the message says what was expected."""


def _is_unanswered(x: Any) -> bool:
    return x is None or x is Ellipsis


def _describe(x: Any) -> str:
    text = repr(x)
    return text if len(text) <= 60 else text[:57] + "..."


def _to_float(x: Any) -> float:
    """A number from a scalar, 0-d array, one-element container or text like '80 %'."""
    if isinstance(x, bool) or isinstance(x, np.bool_):
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
    if isinstance(x, (pd.Series, pd.Index, np.ndarray, list, tuple)) or isinstance(x, pd.DataFrame):
        arr = np.asarray(x, dtype=object).ravel() if not isinstance(x, pd.DataFrame) else x.to_numpy().ravel()
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
    if isinstance(x, str) or isinstance(x, numbers.Number):
        raise _Bad(f"expected several numbers (a list, tuple, array or Series), got {_describe(x)}")
    if isinstance(x, Mapping):
        x = list(x.values())
    if isinstance(x, pd.DataFrame):
        if x.shape[1] != 1 and x.shape[0] != 1:
            raise _Bad(f"expected a list of numbers, got a table with shape {x.shape}")
        x = x.to_numpy().ravel()
    try:
        arr = np.asarray(x, dtype="float64").ravel()
    except (TypeError, ValueError):
        raise _Bad(f"expected numbers, got {_describe(x)}") from None
    return arr


def _to_matrix(x: Any) -> np.ndarray:
    if isinstance(x, pd.DataFrame):
        numeric = x.select_dtypes(include=["number", "bool"])
        if numeric.shape[1] < x.shape[1] and numeric.shape[1] > 0:
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


def _as_rate(a: float, e: float, tol: float) -> float | None:
    """``a`` read as a fraction when it matches ``e`` as a fraction or in percent; else None."""
    if _close(a, e, tol):
        return a
    if _close(a / 100.0, e, tol):
        return a / 100.0
    return None


# =============================================================================
# Exercises
# =============================================================================

@dataclass(frozen=True)
class CheckResult:
    """The verdict of :func:`check` (displays as a coloured box in Jupyter).

    Attributes
    ----------
    exercise : str
        Exercise id, e.g. "02.3".
    status : {"correct", "wrong", "unanswered"}
    message : str
        What was found.
    hint : str
        What to think about next (empty when correct).
    model : str
        The model solution in code, shown once the answer is right.
    """

    exercise: str
    status: str
    message: str
    hint: str = ""
    model: str = ""

    @property
    def ok(self) -> bool:
        """True when the answer is right."""
        return self.status == "correct"

    @property
    def answered(self) -> bool:
        return self.status != "unanswered"

    def __bool__(self) -> bool:
        return self.ok

    def __str__(self) -> str:
        if self.status == "correct":
            head = f"✔ Exercise {self.exercise}: correct. {self.message}".rstrip()
            return head + (f"\n  Model solution: {self.model}" if self.model else "")
        if self.status == "unanswered":
            return f"… Exercise {self.exercise}: not answered yet. {self.message}".rstrip()
        return f"✘ Exercise {self.exercise}: not right yet. {self.message}".rstrip() + \
            (f"\n  Hint: {self.hint}" if self.hint else "")

    __repr__ = __str__

    def _repr_html_(self) -> str:
        colour, bg, icon, title = {
            "correct": ("#2e7d32", "#eef7ee", "✔", "correct"),
            "wrong": ("#c62828", "#fdeeee", "✘", "not right yet"),
            "unanswered": ("#6d6d6d", "#f4f4f4", "…", "not answered yet"),
        }[self.status]
        parts = [f"<b>{icon} Exercise {html.escape(self.exercise)}: {title}.</b> {html.escape(self.message)}"]
        if self.hint:
            parts.append(f"<br><b>Hint:</b> {html.escape(self.hint)}")
        if self.model and self.ok:
            parts.append(f"<br><b>Model solution:</b> <code>{html.escape(self.model)}</code>")
        return (f'<div class="retainkit-check" data-exercise="{html.escape(self.exercise)}" '
                f'data-status="{self.status}" style="border-left:4px solid {colour};background:{bg};'
                f'padding:6px 10px;margin:4px 0;color:#222">' + "".join(parts) + "</div>")


Verdict = tuple[bool, str, str]  # ok, message, hint


@dataclass(frozen=True)
class Exercise:
    """One workshop exercise.

    Attributes
    ----------
    id : str
        "NN.k".
    question : str
        The question, as in the notebook.
    kind : str
        How answers are compared: "rate" (fraction or percent), "number",
        "numbers" (a sequence), "matrix" (cohorts x ages), "choice", "ids"
        (a set of customer ids), "cron", "date".
    expected : callable
        Computes the model answer (from the shared data and retainkit).
    mistakes : callable
        Returns ``[(wrong_value, hint), ...]``: answers learners typically
        give, each with the hint that explains it.
    hint : str
        The hint when no known mistake matches.
    model : str
        Model solution in code.
    tol : float
        Absolute tolerance (for rates: on the fraction).
    rel : float
        Relative tolerance.
    options : dict
        For "choice": accepted spelling -> canonical option.
    fields : tuple of str
        For "numbers" answers given as a dict: the keys in order.
    field_hints : tuple of str
        For "numbers": a hint per position, used when exactly that value is off.
    """

    id: str
    question: str
    kind: str
    expected: Callable[[], Any]
    hint: str
    model: str = ""
    mistakes: Callable[[], list[tuple[Any, str]]] = field(default=lambda: [])
    tol: float = 1e-9
    rel: float = 0.0
    options: Mapping[str, str] = field(default_factory=dict)
    fields: tuple[str, ...] = ()
    field_hints: tuple[str, ...] = ()

    @property
    def notebook(self) -> str:
        return self.id.split(".")[0]


_REGISTRY: dict[str, Exercise] = {}


def _add(ex: Exercise) -> None:
    if ex.id in _REGISTRY:  # pragma: no cover - programming error
        raise ValueError(f"duplicate exercise {ex.id}")
    _REGISTRY[ex.id] = ex


# ---------------------------------------------------------------- notebook 01
def _crr_example() -> tuple[int, int, int, int]:
    s, n, lost = CRR_EXAMPLE["start"], CRR_EXAMPLE["new"], CRR_EXAMPLE["lost"]
    return s, s - lost + n, n, lost


@lru_cache(maxsize=1)
def _crr_q2() -> dict[str, Any]:
    from .metrics import crr_table

    tab = crr_table(load_crr_log(), freq="Q", window=CRR_WINDOW)
    row = tab.loc[tab["period"] == CRR_PERIOD].iloc[0]
    log = crr_log()
    s_ids = customers_at(log, "2023-04-01")
    e_ids = customers_at(log, "2023-07-01")
    first = log.groupby("customer_id")["timestamp"].min()
    new_ids = {c for c in e_ids if pd.Timestamp("2023-04-01") <= first[c] < pd.Timestamp("2023-07-01")}
    prev = tab.loc[tab["period"] == "2023-Q1"].iloc[0]
    return {"row": row.to_dict(), "prev": prev.to_dict(), "S": s_ids, "E": e_ids, "N": new_ids,
            "reactivated": e_ids - s_ids - new_ids}


def _ex01() -> None:
    from .metrics import crr_from_counts

    def crr_example() -> float:
        s, e, n, _ = _crr_example()
        return crr_from_counts(start=s, end=e, new=n)

    def crr_example_mistakes():
        s, e, n, lost = _crr_example()
        return [
            ((e - n) / e, "You divided by E, the customers at the end. CRR divides by S, the customers you "
                          "started with: the question is what share of THEM you kept."),
            (e / s, "You forgot to subtract the new customers N: they were not there at the start, so they "
                    "cannot have been retained."),
            (lost / s, "That is the churn rate (lost / S). The retention rate is the other part: 1 - churn."),
            ((s - lost - n) / s, "E is the count at the end INCLUDING the new customers: E = S - lost + N = "
                                 f"{e}, so E - N = {e - n}."),
            (e - n, "That is the number of retained customers, E - N. Divide it by S to get the rate."),
        ]

    _add(Exercise(
        "01.1", "CRR of the classic example: S = 500 at the start, N = 50 new, 100 lost.", "rate",
        crr_example, "CRR = (E - N) / S, and E = S - lost + N.",
        "E = 500 - 100 + 50; crr_from_counts(start=500, end=E, new=50)", crr_example_mistakes, tol=5e-4))

    def churn_example() -> float:
        return 1.0 - crr_example()

    def churn_mistakes():
        s, e, n, lost = _crr_example()
        return [
            (crr_example(), "That is the retention rate. Churn is the share LOST: 1 - CRR."),
            (lost / e, "Divide the lost customers by S (the customers at the start), not by E."),
            (lost, "That is the number lost; the churn RATE divides it by S."),
        ]

    _add(Exercise("01.2", "Churn rate of the same example.", "rate", churn_example,
                  "Churn rate = lost / S = 1 - CRR.", "1 - crr_from_counts(start=500, end=450, new=50)",
                  churn_mistakes, tol=5e-4))

    def sen() -> tuple[int, int, int]:
        r = _crr_q2()["row"]
        return int(r["start_customers"]), int(r["end_customers"]), int(r["new"])

    def sen_mistakes():
        q = _crr_q2()
        p = q["prev"]
        s, e, n = sen()
        return [
            ((int(p["start_customers"]), int(p["end_customers"]), int(p["new"])),
             "Those are the numbers of Q1 2023. The question asks about Q2 2023 (April - June): S at 1 April, "
             "E at 1 July."),
            ((e, s, n), "Check the order: (S, E, N), start first."),
            ((s, e, n + len(q["reactivated"])),
             "Somebody you counted as new had bought before (in 2022): a customer who comes back after a break "
             "is reactivated, not new. New = first-ever purchase in Q2."),
        ]

    _add(Exercise(
        "01.3", "S, E and N of Q2 2023 from the log (90-day window), as a tuple (S, E, N).", "numbers", sen,
        "S = bought in the 90 days before 1 April; E = bought in the 90 days before 1 July; N = first-ever "
        "purchase in Q2 (and so in E).",
        "S = len(workshop.customers_at(log, '2023-04-01')); E = len(workshop.customers_at(log, '2023-07-01')); "
        "N = first purchase in [1 April, 1 July)", sen_mistakes, tol=0.0, fields=("S", "E", "N"),
        field_hints=(
            "S is off: S = everyone who bought in the 90 days before 1 April 2023 (Q1), whether or not they "
            "bought again.",
            "E is off: E = everyone who bought in the 90 days before 1 July 2023 (Q2): returning, reactivated "
            "and new customers alike.",
            "N is off: N = customers whose FIRST-ever purchase falls in Q2. A customer who bought in 2022 and "
            "comes back in Q2 is not new.",
        )))

    def crr_counts() -> float:
        return float(_crr_q2()["row"]["crr_counts"])

    def crr_ident() -> float:
        return float(_crr_q2()["row"]["crr"])

    def counts_mistakes():
        s, e, n = sen()
        return [
            (crr_ident(), "That is the identity CRR (retained / S). Here use the count formula (E - N) / S."),
            ((e - n) / e, "You divided by E; the count formula divides by S."),
            (e / s, "Subtract the new customers N before dividing."),
        ]

    _add(Exercise("01.4", "CRR of Q2 2023 with the count formula (E - N) / S.", "rate", crr_counts,
                  "Plug your S, E and N into (E - N) / S.", "crr_from_counts(start=S, end=E, new=N)",
                  counts_mistakes, tol=5e-4))

    def ident_mistakes():
        q = _crr_q2()
        s, e, n = sen()
        retained = len(q["S"] & q["E"])
        return [
            (crr_counts(), "That is the count formula. It treats everybody in E who is not new as retained, "
                           "including a customer who came back after a break (not in S)."),
            (retained / e, "Divide the retained customers by S, the customers at the start."),
            (retained, "That is the number retained; divide by S for the rate."),
        ]

    _add(Exercise("01.5", "CRR of Q2 2023 from identities: retained / S, retained = in S and in E.", "rate",
                  crr_ident, "Retained = customers in both S and E (set intersection, S & E).",
                  "len(S_ids & E_ids) / len(S_ids)", ident_mistakes, tol=5e-4))

    def reactivated() -> set[str]:
        return set(_crr_q2()["reactivated"])

    def react_mistakes():
        q = _crr_q2()
        return [
            (set(q["N"]), "Those are the new customers: the count formula already subtracts them (N)."),
            (set(q["S"] - q["E"]), "Those are the lost customers (in S, not in E). Look at E instead."),
            (set(q["N"]) | reactivated(), "Only part of that is right: the new customers are subtracted as N; "
                                          "keep only who is in E, not in S and not new."),
        ]

    _add(Exercise("01.6", "Which customer(s) make the two CRR figures differ? (a list of names)", "ids",
                  reactivated, "Look for someone in E who is neither in S nor new: they bought long ago and "
                  "came back (reactivated).", "E_ids - S_ids - N_ids", react_mistakes))


# ---------------------------------------------------------------- notebook 02
@lru_cache(maxsize=1)
def _cohorts() -> pd.DataFrame:
    from .cohorts import cohort_table

    return cohort_table(load_cohort_log(), freq="M")


def _matrix(kind: str = "classic") -> pd.DataFrame:
    from .cohorts import retention_matrix

    return retention_matrix(_cohorts(), kind)


def _cell(kind: str, cohort: str, age: int) -> float:
    return float(_matrix(kind).loc[cohort, age])


def _ex02() -> None:
    from .cohorts import average_curve

    def feb_size() -> int:
        t = _cohorts()
        return int(t.loc[(t["cohort"] == "2023-02") & (t["age"] == 0), "size"].iloc[0])

    def feb_mistakes():
        log = cohort_log()
        in_feb = log.loc[log["timestamp"].dt.month == 2, "customer_id"].nunique()
        jan = _cohorts()
        jan = int(jan.loc[(jan["cohort"] == "2023-01") & (jan["age"] == 0), "size"].iloc[0])
        return [
            (in_feb, "That counts everyone who bought in February. The February cohort is only those whose "
                     "FIRST purchase was in February."),
            (jan, "That is the January cohort."),
        ]

    _add(Exercise("02.1", "Size of the February 2023 cohort (n_c).", "number", feb_size,
                  "A customer's cohort is the month of their first purchase.",
                  "log.groupby('customer_id')['timestamp'].min().dt.to_period('M').value_counts()['2023-02']",
                  feb_mistakes, tol=0.0))

    def jan2() -> float:
        return _cell("classic", "2023-01", 2)

    def jan2_mistakes():
        act = float(_matrix("active").loc["2023-01", 2])
        prev = float(_matrix("active").loc["2023-01", 1])
        return [
            (act, "That is the count A(c,k). Retention divides it by the cohort size n_c."),
            (_cell("unbounded", "2023-01", 2), "That is unbounded retention (active at age 2 OR LATER). "
                                                "Classic retention counts only purchases AT age 2 (March)."),
            (act / prev if prev else math.nan, "Divide by the cohort size at age 0, not by last month's active "
                                               "customers: retention is measured against the whole cohort."),
        ]

    _add(Exercise("02.2", "Classic retention of the January cohort at age 2 (March).", "rate", jan2,
                  "R(c,k) = A(c,k) / n_c: January customers who bought in March, over all January customers.",
                  "triangle.loc['2023-01', 2]", jan2_mistakes, tol=5e-4))

    def tri() -> pd.DataFrame:
        return _matrix("classic")

    _add(Exercise("02.3", "The classic retention triangle (cohorts x ages 0-4) built by hand with pandas.",
                  "matrix", tri,
                  "Per customer: cohort = first month; per purchase: age = month - cohort month; count distinct "
                  "customers per (cohort, age), divide by the cohort size, pivot cohorts x ages.",
                  "retention_matrix(cohort_table(tx), 'classic')", tol=5e-4))

    def jan1u() -> float:
        return _cell("unbounded", "2023-01", 1)

    def jan1u_mistakes():
        return [(_cell("classic", "2023-01", 1), "That is classic retention (active AT age 1). Unbounded counts "
                                                  "everyone active at age 1 or any later observed age.")]

    _add(Exercise("02.4", "Unbounded retention of the January cohort at age 1.", "rate", jan1u,
                  "U(c,k) = share of the cohort with a purchase at some age >= k (still observed).",
                  "retention_matrix(cohort_table(tx), 'unbounded').loc['2023-01', 1]", jan1u_mistakes,
                  tol=5e-4))

    def avg2() -> float:
        curve = average_curve(_cohorts())
        return float(curve.loc[curve["age"] == 2, "retention"].iloc[0])

    def avg2_mistakes():
        m = _matrix("classic")
        act = _matrix("active")
        size = _matrix("size")[0]
        observed = m[2].notna()
        return [
            (float(m.loc[observed, 2].mean()), "That is the plain mean of the cohorts' rates. Weight by cohort "
                                               "size: sum of active / sum of cohort sizes."),
            (float(act.loc[observed, 2].sum() / size.sum()),
             "You counted the cohorts whose age 2 is not observed yet (April, May) as zeros. Leave them out: "
             "unobserved is not zero."),
            (float(act.loc[observed, 2].sum() / size.loc[m[1].notna()].sum()),
             "You counted the April cohort, whose age 2 is not observed yet, as zero. Leave it out: "
             "unobserved is not zero."),
            (float(m[2].fillna(0).mean()), "Two problems: a plain mean of rates, and unobserved cells counted "
                                            "as zero."),
        ]

    _add(Exercise("02.5", "Average retention at age 2 over the cohorts observed at age 2 (3 decimals).",
                  "rate", avg2, "R(k) = sum_c A(c,k) / sum_c n_c over the cohorts whose cell (c,k) is observed.",
                  "average_curve(cohort_table(tx)).set_index('age').loc[2, 'retention']", avg2_mistakes,
                  tol=5e-4))

    _add(Exercise(
        "02.6", "The April cohort at age 2 (June 2023): is it 0 or unknown? Answer 'zero' or 'unknown'.",
        "choice", lambda: "unknown",
        "as_of is 31 May 2023: June has not happened yet in this data, so nobody could have bought then. "
        "An unobserved cell is unknown (NaN), not a zero: this is right-censoring.",
        "'unknown'  # retention_matrix shows NaN there",
        options={"unknown": "unknown", "nan": "unknown", "na": "unknown", "missing": "unknown",
                 "unobserved": "unknown", "not observed": "unknown", "censored": "unknown",
                 "right-censored": "unknown", "zero": "zero", "0": "zero", "0.0": "zero", "none": "zero"}))


# ---------------------------------------------------------------- notebook 03
@lru_cache(maxsize=1)
def _sbg_regular():
    from .clv import ShiftedBetaGeometric

    return ShiftedBetaGeometric().fit(FADER_HARDIE["regular"][:8])


def _ex03() -> None:
    def mix_r2() -> float:
        m = mixture_retention(MIXTURE["churn"], MIXTURE["shares"], periods=2)
        return float(m.loc[2, "retention_rate"])

    def mix_mistakes():
        m = mixture_retention(MIXTURE["churn"], MIXTURE["shares"], periods=2)
        return [(float(m.loc[1, "retention_rate"]),
                 "That is the retention rate of period 1. By period 2 the high-churn half has shrunk, so the "
                 "survivors are mostly the loyal type: compute S(2) / S(1)."),
                (float(m.loc[2, "survival"]), "That is S(2), the share left after two periods. The retention "
                                              "RATE of period 2 is S(2) / S(1).")]

    _add(Exercise("03.1", "Half the customers churn 50 % per period, half 10 %. Aggregate retention rate in "
                          "period 2, S(2) / S(1) (3 decimals).", "rate", mix_r2,
                  "S(t) = 0.5 x 0.5^t + 0.5 x 0.9^t; the rate of period 2 is S(2) / S(1).",
                  "workshop.mixture_retention([0.5, 0.1], [0.5, 0.5]).loc[2, 'retention_rate']", mix_mistakes,
                  tol=5e-4))

    def ab() -> tuple[float, float]:
        m = _sbg_regular()
        return float(m.alpha_), float(m.beta_)

    def ab_mistakes():
        from .clv import ShiftedBetaGeometric

        full = ShiftedBetaGeometric().fit(FADER_HARDIE["regular"])
        a, b = ab()
        return [((b, a), "Check the order: (alpha, beta)."),
                ((full.alpha_, full.beta_), "Fit on years 0-7 only (the first 8 counts): the later years are "
                                            "kept back to test the projection.")]

    _add(Exercise("03.2", "Fit the sBG to the Regular cohort, years 0-7 only: (alpha, beta), 3 significant "
                          "digits.", "numbers", ab,
                  "ShiftedBetaGeometric().fit(survivors) with survivors = the first 8 counts (year 0 = 1000).",
                  "m = ShiftedBetaGeometric().fit(FADER_HARDIE['regular'][:8]); (m.alpha_, m.beta_)",
                  ab_mistakes, rel=5e-3, fields=("alpha", "beta")))

    def proj12() -> float:
        return float(_sbg_regular().predict(12)["expected_survivors"].iloc[12])

    def naive12() -> float:
        s = FADER_HARDIE["regular"]
        return s[7] * (s[7] / s[6]) ** 5

    _add(Exercise("03.3", "sBG projection (fit on years 0-7) of the Regular customers left at year 12.",
                  "number", proj12, "Use the fitted model's predict(12): expected_survivors at period 12.",
                  "m.predict(12)['expected_survivors'].iloc[12]",
                  lambda: [(FADER_HARDIE["regular"][12], "That is the actual count, kept back. The question asks "
                                                         "what the model projects from years 0-7."),
                           (naive12(), "That is the naive constant-retention projection; use the sBG model.")],
                  rel=5e-3))

    def naive_mistakes():
        s = FADER_HARDIE["regular"]
        mean_r = (s[7] / s[0]) ** (1 / 7)
        return [(s[7] * mean_r ** 5, "You used the average retention of years 1-7. The question keeps the LAST "
                                     "observed rate, 241 / 262, constant."),
                (proj12(), "That is the sBG projection; here keep the last rate constant.")]

    _add(Exercise("03.4", "Naive projection: keep the last observed retention rate (year 7 / year 6) constant; "
                          "Regular customers left at year 12?", "number", naive12,
                  "survivors_7 x r^5 with r = survivors_7 / survivors_6.", "241 * (241 / 262) ** 5",
                  naive_mistakes, rel=5e-3))

    _add(Exercise(
        "03.5", "Why does the aggregate retention rate rise with tenure in the sBG? (a) customers grow more loyal "
                "over time, (b) the customers most likely to churn leave first, (c) the data has a bug.",
        "choice", lambda: "b",
        "In the sBG (and in 03.1) nobody's churn probability ever changes. Ask instead who is left after a few "
        "periods.", "'b'",
        options={"b": "b", "(b)": "b", "sorting": "b", "heterogeneity": "b", "a": "a", "(a)": "a", "c": "c",
                 "(c)": "c"},
        mistakes=lambda: [("a", "In the sBG every customer keeps the same churn probability forever: nobody grows "
                                "more loyal. The mix of who is left changes.")]))


# ---------------------------------------------------------------- notebook 04
CLV_EXAMPLE = {"margin": 100.0, "retention": 0.8, "discount_rate": 0.1}


def _ex04() -> None:
    from .clv import clv_margin_multiple
    from .economics import retention_profit_impact

    def clv() -> float:
        return clv_margin_multiple(**CLV_EXAMPLE)

    def clv_mistakes():
        m, r, d = CLV_EXAMPLE["margin"], CLV_EXAMPLE["retention"], CLV_EXAMPLE["discount_rate"]
        return [(m / (1 - r), "That is margin x expected lifetime without discounting, and it counts a margin "
                              "for the first period for sure. Here each margin arrives at the END of a period the "
                              "customer survives into, discounted."),
                (m * (1 + d) / (1 + d - r), "That is the 'start' timing (first margin at once). The question "
                                            "pays at the end of each period: m r / (1 + d - r)."),
                (m * r / (1 - r), "You forgot the discounting: m r / (1 + d - r)."),
                (m / (1 + d - r), "Close: the first margin comes only if the customer is still there after one "
                                  "period, so multiply by r.")]

    _add(Exercise("04.1", "CLV with margin 100 per year, retention 0.8, discount rate 10 %, margin at the end of "
                          "each year the customer is still there.", "number", clv,
                  "CLV = sum_{t>=1} m r^t / (1 + d)^t = m r / (1 + d - r).",
                  "clv_margin_multiple(margin=100, retention=0.8, discount_rate=0.1)", clv_mistakes, tol=0.01))

    def clv_rise() -> float:
        after = clv_margin_multiple(CLV_EXAMPLE["margin"], CLV_EXAMPLE["retention"] + 0.05,
                                    CLV_EXAMPLE["discount_rate"])
        return after / clv() - 1.0

    def rise_mistakes():
        r = CLV_EXAMPLE["retention"]
        after = clv_margin_multiple(CLV_EXAMPLE["margin"], r + 0.05, CLV_EXAMPLE["discount_rate"])
        return [((r + 0.05) / r - 1, "That is how much retention rose. The CLV rises MORE, because a longer "
                                     "expected life compounds: compute CLV(0.85) / CLV(0.80) - 1."),
                (after - clv(), "That is the rise in money; as a share of the CLV at 0.80 it is a rate.")]

    _add(Exercise("04.2", "By what share does that CLV rise when retention goes from 0.80 to 0.85?", "rate",
                  clv_rise, "CLV(0.85) / CLV(0.80) - 1.",
                  "clv_margin_multiple(100, 0.85, 0.1) / clv_margin_multiple(100, 0.8, 0.1) - 1", rise_mistakes,
                  tol=5e-4))

    def pct(**kw) -> float:
        return float(retention_profit_impact(**kw).summary["profit_increase_pct"])

    def pct_mistakes(**kw):
        s = retention_profit_impact(**kw).summary
        return [(float(s["npv_increase"]), "That is the rise in NPV per customer (money). The claim is about "
                                           "the percent rise: 100 x increase / NPV before.")]

    _add(Exercise("04.3", "Profit increase in percent from +5 points of retention with retention_profit_impact's "
                          "default parameters (1 decimal).", "percent", lambda: pct(),
                  "retention_profit_impact().summary['profit_increase_pct']",
                  "retention_profit_impact().summary['profit_increase_pct']", lambda: pct_mistakes(), tol=0.05))

    _add(Exercise("04.4", "The same with base retention 0.6 and no margin growth (margin_growth=0): percent "
                          "increase?", "percent", lambda: pct(retention=0.6, margin_growth=0.0),
                  "retention_profit_impact(retention=0.6, margin_growth=0.0).",
                  "retention_profit_impact(retention=0.6, margin_growth=0.0).summary['profit_increase_pct']",
                  lambda: pct_mistakes(retention=0.6, margin_growth=0.0) + [
                      (pct(), "That is the default scenario of 04.3; change retention and margin_growth.")],
                  tol=0.05))

    _add(Exercise("04.5", "Default parameters again, but keeping a saved customer costs acquisition_cost / 5 "
                          "(acquisition_to_retention_cost_ratio=5): percent increase?", "percent",
                  lambda: pct(acquisition_to_retention_cost_ratio=5.0),
                  "retention_profit_impact(acquisition_to_retention_cost_ratio=5).",
                  "retention_profit_impact(acquisition_to_retention_cost_ratio=5).summary['profit_increase_pct']",
                  lambda: pct_mistakes(acquisition_to_retention_cost_ratio=5.0) + [
                      (pct(), "That is the free-lift result of 04.3: the retention effort is not free here.")],
                  tol=0.05))


# ---------------------------------------------------------------- notebook 05
def _ex05() -> None:
    from .loyalty import preset_parameters, scenario_roi

    def reward_rate() -> float:
        p = preset_parameters("points")
        return p["earn_rate"] * p["point_value"] * (1 - p["breakage"])

    def reward_mistakes():
        p = preset_parameters("points")
        return [(p["earn_rate"] * p["point_value"], "You forgot breakage: a quarter of the points are never "
                                                    "redeemed, so they cost nothing."),
                (p["earn_rate"] * p["point_value"] * p["breakage"], "Breakage is the share NOT redeemed: multiply "
                                                                    "by (1 - breakage).")]

    _add(Exercise("05.1", "Reward cost as a share of member spend in the 'points' preset.", "rate", reward_rate,
                  "earn_rate x point_value x (1 - breakage).",
                  "p = preset_parameters('points'); p['earn_rate'] * p['point_value'] * (1 - p['breakage'])",
                  reward_mistakes, tol=5e-5))

    def roi() -> float:
        return float(scenario_roi("points").summary["roi"])

    def roi_mistakes():
        s = scenario_roi("points").summary
        return [(float(s["npv"]), "That is the NPV (money). ROI divides it by the programme cost."),
                (float(s["incremental_gross_profit"] / s["total_program_cost"]),
                 "That is profit / cost; ROI is (profit - cost) / cost.")]

    _add(Exercise("05.2", "ROI of the 'points' preset (1 decimal in percent).", "rate", roi,
                  "ROI = (PV incremental gross profit - programme cost) / programme cost.",
                  "scenario_roi('points').summary['roi']", roi_mistakes, tol=5e-4))

    def be() -> float:
        return float(scenario_roi("points").summary["break_even_retention_lift"])

    _add(Exercise("05.3", "Break-even retention lift of the 'points' preset (percentage points, 2 decimals).",
                  "rate", be, "The lift at which NPV = 0: summary['break_even_retention_lift'].",
                  "scenario_roi('points').summary['break_even_retention_lift']",
                  lambda: [(float(preset_parameters("points")["retention_lift"]),
                            "That is the preset's assumed lift; the break-even lift is where NPV crosses 0.")],
                  tol=5e-5))

    def overstate() -> float:
        _, _, lift = _program()
        return float(lift.naive_retention_gap - PROGRAM_SIM["retention_lift"])

    def overstate_mistakes():
        _, _, lift = _program()
        return [(float(lift.naive_retention_gap), "That is the naive gap itself; subtract the true lift (5 points)."),
                (float(lift.retention_lift - PROGRAM_SIM["retention_lift"]),
                 "That is how far the matched difference-in-differences estimate is off; the question is about "
                 "the naive gap."),
                (float(PROGRAM_SIM["retention_lift"] - lift.naive_retention_gap), "Sign: naive gap minus truth.")]

    _add(Exercise("05.4", "On the simulated programme (true lift: +5 points), by how many points does the naive "
                          "members-vs-others gap overstate the true lift?", "rate", overstate,
                  "naive_retention_gap - 0.05.", "lift.naive_retention_gap - 0.05", overstate_mistakes, tol=5e-4))

    _add(Exercise(
        "05.5", "Why is the naive gap so much bigger than the true lift? (a) the programme works better than "
                "designed, (b) heavy buyers join more often (self-selection), (c) the bootstrap is too small.",
        "choice", lambda: "b",
        "Look at who joins: simulate_program(self_selection=1.5) makes frequent buyers far more likely to join.",
        "'b'", options={"a": "a", "(a)": "a", "b": "b", "(b)": "b", "self-selection": "b",
                        "self selection": "b", "c": "c", "(c)": "c"},
        mistakes=lambda: [("a", "The true lift is known: 5 points, by construction. The gap is bigger for another "
                                "reason."),
                          ("c", "More resamples would narrow the interval, not move the naive gap.")]))


# ---------------------------------------------------------------- notebook 06
PAPERMILL_DEMO = {"start": 120, "end": 110, "new": 20}
_DOW = {"sun": 0, "mon": 1, "tue": 2, "wed": 3, "thu": 4, "fri": 5, "sat": 6}


def _cron_fields(text: str) -> tuple[str, ...]:
    parts = text.split()
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


def _last_complete_month_end(day: str) -> pd.Timestamp:
    """Last day of the last complete month when a report runs early on ``day`` (definitions §2)."""
    from .periods import last_complete_period, period_start

    run_at = pd.Timestamp(day, tz="UTC") + pd.Timedelta(hours=6)  # the report runs at 06:00
    last = last_complete_period(run_at, "M", "UTC")
    return pd.Timestamp(period_start(last + 1, "M")).tz_localize(None).normalize() - pd.Timedelta(days=1)


def _ex06() -> None:
    from .metrics import crr_from_counts

    _add(Exercise("06.1", "Which cell tag tells papermill where the default parameters are?", "choice",
                  lambda: "parameters", "Open the cell's tags (the gear icon in JupyterLab's right sidebar).",
                  "'parameters'", options={"parameters": "parameters", "parameter": "parameters",
                                           "injected-parameters": "injected-parameters"},
                  mistakes=lambda: [("injected-parameters",
                                     "That is the cell papermill ADDS with the values you pass; the defaults "
                                     "live in the cell tagged 'parameters'.")]))

    _add(Exercise("06.2", "Run the demo notebook with papermill with start=120, end=110, new=20. What CRR did it "
                          "write?", "rate", lambda: crr_from_counts(**PAPERMILL_DEMO),
                  "Pass parameters=dict(start=120, end=110, new=20) to pm.execute_notebook and read result.json.",
                  "pm.execute_notebook(demo, out, parameters=dict(start=120, end=110, new=20)); "
                  "json.load(open('result.json'))['crr']",
                  lambda: [(crr_from_counts(start=200, end=190, new=30),
                            "That is the demo's default result: pass the parameters so papermill injects them.")],
                  tol=5e-4))

    _add(Exercise("06.3", "A cron schedule (5 fields) for 'every Monday at 06:00'.", "cron", lambda: "0 6 * * 1",
                  "Fields: minute hour day-of-month month day-of-week (0 or 7 = Sunday, 1 = Monday).",
                  "'0 6 * * 1'",
                  mistakes=lambda: [("6 0 * * 1", "The minute comes first, then the hour."),
                                    ("0 6 * * 0", "Day-of-week 0 is Sunday; Monday is 1."),
                                    ("0 6 1 * *", "The third field is the day of the MONTH; the weekday is the "
                                                  "fifth."),
                                    ("* 6 * * 1", "'*' in the minute field runs it every minute from 06:00 to "
                                                  "06:59.")]))

    _add(Exercise("06.4", "A monthly report runs in the early morning of 1 July 2024. Which as_of date should it "
                          "use so only complete months are reported?", "date",
                  lambda: _last_complete_month_end("2024-07-01"),
                  "The report should describe the last COMPLETE month: June 2024 ends on its last day.",
                  "'2024-06-30'",
                  mistakes=lambda: [(pd.Timestamp("2024-07-01"),
                                     "1 July is in July, a month that has just begun: its data are partial. "
                                     "Report up to the end of June."),
                                    (pd.Timestamp("2024-06-01"), "That is the START of June; as_of is the END of the "
                                                                 "period described (the whole of 30 June).")]))


for _builder in (_ex01, _ex02, _ex03, _ex04, _ex05, _ex06):
    _builder()
del _builder


# =============================================================================
# Public API
# =============================================================================

def exercise(exercise_id: str) -> Exercise:
    """The :class:`Exercise` with this id (e.g. "02.3")."""
    key = str(exercise_id).strip()
    if key not in _REGISTRY:
        raise ParameterError(
            f"there is no exercise {exercise_id!r}. Exercises are named 'NN.k' (notebook, number): "
            + ", ".join(_REGISTRY) + "."
        )
    return _REGISTRY[key]


def exercises(notebook: str | None = None) -> pd.DataFrame:
    """All exercises (or one notebook's) with their questions, for the facilitator.

    Parameters
    ----------
    notebook : str, optional
        "01" .. "06".

    Returns
    -------
    pandas.DataFrame
        ``exercise``, ``notebook``, ``kind``, ``question``, ``model`` (the
        model solution in code).
    """
    rows = [{"exercise": e.id, "notebook": e.notebook, "kind": e.kind, "question": e.question, "model": e.model}
            for e in _REGISTRY.values() if notebook is None or e.notebook == str(notebook).zfill(2)]
    if notebook is not None and not rows:
        raise ParameterError(f"notebook={notebook!r} has no exercises; use '01' .. '06'.")
    return pd.DataFrame(rows, columns=["exercise", "notebook", "kind", "question", "model"])


def solution(exercise_id: str) -> Any:
    """The model answer of an exercise, computed from the shared data (a fresh copy).

    Parameters
    ----------
    exercise_id : str
        e.g. "02.3".

    Returns
    -------
    Any
        A float (rates as fractions, percents as percent), a tuple, a set, a
        DataFrame or a string, whatever the question asks for.
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
    """Check a learner's answer: right, not right yet (with a teaching hint), or not answered yet.

    Never raises for a wrong or badly shaped answer; only an unknown
    exercise id raises :class:`~retainkit.exceptions.ParameterError`.

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
    ex = exercise(exercise_id)
    if _is_unanswered(answer):
        return CheckResult(ex.id, "unanswered", f"Replace None with your answer. Question: {ex.question}")
    try:
        ok, message, hint = _COMPARE[ex.kind](ex, answer)
    except _Bad as bad:
        ok, message, hint = False, f"Your answer has the wrong form: {bad}.", ex.hint
    except Exception as exc:  # noqa: BLE001 - a learner's odd object must never crash the notebook
        ok, message, hint = False, f"Could not read your answer ({type(exc).__name__}: {exc}).", ex.hint
    if ok:
        return CheckResult(ex.id, "correct", message, "", ex.model)
    return CheckResult(ex.id, "wrong", message, hint or ex.hint)


# ---------------------------------------------------------------- comparers
def _fmt(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:.6g}"
    return str(v)


def _mistake_hint(ex: Exercise, matches: Callable[[Any], bool]) -> str:
    try:
        catalogue = ex.mistakes()
    except Exception:  # noqa: BLE001 - a hint must never break a check
        return ""
    for value, hint in catalogue:
        try:
            if matches(value):
                return hint
        except Exception:  # noqa: BLE001
            continue
    return ""


def _cmp_rate(ex: Exercise, answer: Any) -> Verdict:
    a = _to_float(answer)
    e = float(ex.expected())
    if _as_rate(a, e, ex.tol) is not None:
        return True, f"{_fmt(a)} matches {e:.4g} ({e:.2%}).", ""
    hint = _mistake_hint(ex, lambda v: _as_rate(a, float(v), ex.tol) is not None)
    if not hint:
        for cand in (a, a / 100.0):
            if e != 0 and abs(cand - e) <= 0.02 * abs(e) + 5e-3:
                hint = ("Close. Check the rounding: give at least the precision the question asks for "
                        "(or simply the unrounded number).")
                break
    return False, f"{_fmt(a)} is not it.", hint


def _cmp_percent(ex: Exercise, answer: Any) -> Verdict:
    a = _to_float(answer)
    e = float(ex.expected())
    for cand, form in ((a, ""), (a * 100.0, " (read as a fraction)")):
        if _close(cand, e, ex.tol, ex.rel):
            return True, f"{_fmt(a)}{form} matches {e:.1f} %.", ""
    hint = _mistake_hint(ex, lambda v: _close(a, float(v), ex.tol, max(ex.rel, 1e-3)))
    return False, f"{_fmt(a)} is not it.", hint


def _cmp_number(ex: Exercise, answer: Any) -> Verdict:
    a = _to_float(answer)
    e = float(ex.expected())
    if _close(a, e, ex.tol, ex.rel):
        return True, f"{_fmt(a)} matches {_fmt(e)}.", ""
    hint = _mistake_hint(ex, lambda v: _close(a, float(v), ex.tol, max(ex.rel, 1e-6)))
    return False, f"{_fmt(a)} is not it.", hint


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
    if a.shape != e.shape:
        what = f" ({', '.join(ex.fields)})" if ex.fields else ""
        return False, f"Expected {e.size} numbers{what}, got {a.size}.", ex.hint
    close = np.array([_close(x, y, ex.tol, ex.rel) for x, y in zip(a, e)])
    if close.all():
        return True, f"{[_fmt(float(x)) for x in a]} matches.", ""
    hint = _mistake_hint(ex, lambda v: np.allclose(a, np.asarray(v, dtype="float64"), rtol=max(ex.rel, 1e-6),
                                                   atol=ex.tol + 1e-9))
    if not hint and ex.field_hints and (~close).sum() == 1:
        hint = ex.field_hints[int(np.flatnonzero(~close)[0])]
    if not hint and ex.fields and (~close).sum() > 1:
        hint = "Off: " + ", ".join(f for f, c in zip(ex.fields, close) if not c) + ". " + ex.hint
    return False, f"{[_fmt(float(x)) for x in a]} is not it.", hint


def _cmp_matrix(ex: Exercise, answer: Any) -> Verdict:
    if isinstance(answer, pd.DataFrame) and {"cohort", "age"} <= set(answer.columns) and len(answer) > 6:
        raise _Bad("that is a long (tidy) table; pivot it to cohorts x ages (rows = cohorts, columns = ages 0-4)")
    a = _to_matrix(answer)
    e_frame = ex.expected()
    e = e_frame.to_numpy(dtype="float64")
    if a.shape != e.shape:
        hint = (f"Expected {e.shape[0]} cohorts (rows) x {e.shape[1]} ages 0-{e.shape[1] - 1} (columns). ")
        if a.shape == (e.shape[0] - 1, e.shape[1] - 1):
            hint += ("One month is missing: load the log with as_of='2023-05-31' (or include May): the last "
                     "purchase is on 30 May, so by default May looks partial.")
        elif a.shape == e.shape[::-1]:
            hint += "Yours looks transposed: cohorts go down the rows, ages across the columns."
        return False, f"Your table has shape {a.shape}, expected {e.shape}.", hint
    from .cohorts import retention_matrix

    act = retention_matrix(_cohorts(), "active").to_numpy(dtype="float64")
    if (np.isnan(act) == np.isnan(a)).all() and np.allclose(a[~np.isnan(a)], act[~np.isnan(a)], atol=1e-6):
        return False, "Not the classic retention triangle.", (
            "Those are counts of active customers. Divide each row by its cohort size (the age-0 count).")
    if np.nanmax(np.abs(a)) > 1.5 and np.nanmax(e) <= 1.0:
        a = a / 100.0  # percent
    nan_a, nan_e = np.isnan(a), np.isnan(e)
    both = ~nan_a & ~nan_e
    values_ok = np.allclose(a[both], e[both], atol=ex.tol + 1e-9, rtol=0)
    if (nan_a == nan_e).all() and values_ok:
        return True, "Every observed cell matches, and the unobserved cells are missing (NaN).", ""
    if values_ok and (nan_e & ~nan_a).any() and np.allclose(a[nan_e & ~nan_a], 0):
        return False, "The observed cells are right, but the unobserved cells hold 0.", (
            "Cells whose month has not happened yet (after as_of) are unknown, not zero: leave them NaN "
            "(do not use fillna(0) / fill_value=0 when pivoting). Zeros there would drag every average down.")
    if (nan_a & ~nan_e).any():
        return False, "Some observed cells are missing in your table.", (
            "A cohort with nobody active at an observed age has retention 0 there, not NaN: reindex the ages "
            "and fill 0 only where the cell is observed (cohort month + age <= May 2023).")
    unb = retention_matrix(_cohorts(), "unbounded").to_numpy(dtype="float64")
    if (np.isnan(unb) == nan_a).all() and np.allclose(a[~nan_a], unb[~nan_a], atol=ex.tol + 1e-9):
        return False, "Not the classic retention triangle.", (
            "That is the unbounded matrix (active at age k or later). Classic retention counts purchases AT "
            "age k only.")
    wrong = np.argwhere(both & ~np.isclose(a, e, atol=ex.tol + 1e-9, rtol=0))
    i, j = (int(v) for v in wrong[0]) if len(wrong) else (0, 0)
    label = e_frame.index[i]
    return False, f"{len(wrong)} cell(s) differ, e.g. cohort {label}, age {e_frame.columns[j]}: " \
                  f"yours {_fmt(float(a[i, j]))}.", ex.hint


def _cmp_choice(ex: Exercise, answer: Any) -> Verdict:
    if isinstance(answer, float) and math.isnan(answer):
        text = "nan"
    else:
        text = str(answer).strip().lower().strip("'\". ")
    canon = ex.options.get(text, ex.options.get(text.strip("()"), text))
    e = ex.expected()
    if canon == e:
        return True, f"{answer!r}: yes.", ""
    hint = _mistake_hint(ex, lambda v: ex.options.get(str(v), str(v)) == canon)
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
    hint = _mistake_hint(ex, lambda v: {s.lower() for s in v} == a)
    if not hint and e < a:
        hint = "Some of those are right, but not all. " + ex.hint
    return False, f"{sorted(a)} is not it.", hint


def _cmp_cron(ex: Exercise, answer: Any) -> Verdict:
    if not isinstance(answer, str):
        raise _Bad("expected a cron line as text, like '30 7 * * *'")
    a = _cron_fields(answer)
    if a == _cron_fields(ex.expected()):
        return True, f"{answer!r} runs every Monday at 06:00.", ""

    def same(v: Any) -> bool:
        return _cron_fields(v) == a

    return False, f"{answer!r} is not it.", _mistake_hint(ex, same)


def _cmp_date(ex: Exercise, answer: Any) -> Verdict:
    try:
        a = pd.Timestamp(answer)
    except (TypeError, ValueError):
        raise _Bad(f"expected a date like '2024-01-31', got {_describe(answer)}") from None
    if a is pd.NaT or pd.isna(a):
        raise _Bad("expected a date like '2024-01-31'")
    if a.tzinfo is not None:
        a = a.tz_localize(None)
    e = pd.Timestamp(ex.expected())
    if a.normalize() == e:
        return True, f"{a.date()}: the end of the last complete month.", ""
    return False, f"{a.date()} is not it.", _mistake_hint(ex, lambda v: pd.Timestamp(v).normalize() == a.normalize())


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
