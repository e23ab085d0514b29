"""Notebook 01's exercises: customer retention rate by hand (definitions §4)."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import pandas as pd

from ..data import load_transactions
from ..metrics import crr_from_counts, crr_table
from .data import CRR_AS_OF, CRR_EXAMPLE, CRR_PERIOD, CRR_WINDOW, crr_log, customers_at, load_crr_log
from .exercise import Exercise

__all__ = ["EXERCISES", "MOVED_PURCHASE", "q2_counts"]

#: The transfer question 01.7: one purchase moved to another day.
MOVED_PURCHASE: dict[str, str] = {"customer": "Eva", "from": "2023-03-08", "to": "2023-04-02"}


def _example() -> tuple[int, int, int, int]:
    s, n, lost = CRR_EXAMPLE["start"], CRR_EXAMPLE["new"], CRR_EXAMPLE["lost"]
    return s, s - lost + n, n, lost


@lru_cache(maxsize=2)
def q2_counts(moved: bool = False) -> dict[str, Any]:
    """S, E, N (as sets), the crr_table rows of Q1 and Q2 2023, and who was reactivated (definitions §4).

    With ``moved=True`` the log has :data:`MOVED_PURCHASE` applied (exercise 01.7).
    """
    log = crr_log()
    if moved:
        row = (log["customer_id"] == MOVED_PURCHASE["customer"]) & (log["timestamp"] == MOVED_PURCHASE["from"])
        log.loc[row, "timestamp"] = pd.Timestamp(MOVED_PURCHASE["to"])
        tx = load_transactions(log, customer_id="customer_id", timestamp="timestamp", amount="amount", as_of=CRR_AS_OF)
    else:
        tx = load_crr_log()
    tab = crr_table(tx, freq="Q", window=CRR_WINDOW)
    s_ids = customers_at(log, "2023-04-01")
    e_ids = customers_at(log, "2023-07-01")
    first = log.groupby("customer_id")["timestamp"].min()
    new_ids = {c for c in e_ids if pd.Timestamp("2023-04-01") <= first[c] < pd.Timestamp("2023-07-01")}
    ever_before = set(log.loc[log["timestamp"] < pd.Timestamp("2023-04-01"), "customer_id"])
    return {
        "row": tab.loc[tab["period"] == CRR_PERIOD].iloc[0].to_dict(),
        "prev": tab.loc[tab["period"] == "2023-Q1"].iloc[0].to_dict(),
        "S": s_ids,
        "E": e_ids,
        "N": new_ids,
        "reactivated": e_ids - s_ids - new_ids,
        "ever_before": ever_before,
    }


def _sen() -> tuple[int, int, int]:
    r = q2_counts()["row"]
    return int(r["start_customers"]), int(r["end_customers"]), int(r["new"])


def _crr_example() -> float:
    s, e, n, _ = _example()
    return crr_from_counts(start=s, end=e, new=n)


def _example_mistakes() -> list[tuple[Any, str]]:
    s, e, n, lost = _example()
    return [
        (
            (e - n) / e,
            "If you divided by E (the customers at the end): CRR divides by S, the customers you started "
            "with. The question is what share of THEM you kept.",
        ),
        (
            e / s,
            "If you divided E by S without subtracting N: the new customers were not there at the start, so "
            "they cannot have been retained.",
        ),
        (lost / s, "If you divided the lost customers by S: that is the churn rate. Retention is the other part."),
        (
            (s - lost - n) / s,
            "If you took E as S - lost, then subtracted N again: E already includes the new "
            "customers (E = S - lost + N).",
        ),
        (e - n, "If you stopped at E - N: that is the number of retained customers, not yet a rate."),
    ]


def _churn_mistakes() -> list[tuple[Any, str]]:
    s, e, n, lost = _example()
    return [
        (_crr_example(), "If you computed (E - N) / S again: that is the retention rate; churn is the share lost."),
        (lost / e, "If you divided the lost customers by E: churn, like retention, is measured against S."),
        (lost, "If you gave the number lost: the churn RATE divides it by the customers at the start."),
    ]


def _sen_mistakes() -> list[tuple[Any, str]]:
    q = q2_counts()
    p = q["prev"]
    s, e, n = _sen()
    return [
        (
            (int(p["start_customers"]), int(p["end_customers"]), int(p["new"])),
            "If you counted for Q1 2023 (January - March): the question asks about Q2 2023 (April - June), S at "
            "1 April and E at 1 July.",
        ),
        ((e, s, n), "If you listed E first: the order asked for is (S, E, N)."),
        (
            (s, e, n + len(q["reactivated"])),
            "If you counted everyone in E who was not in S as new: a customer who bought before (in 2022) and comes "
            "back after a break is reactivated, not new. New = first-ever purchase in Q2.",
        ),
        (
            (len(q["ever_before"]), e, n),
            "If you counted everyone who ever bought before 1 April as S: S holds only those active in the 90-day "
            "window before 1 April.",
        ),
    ]


def _crr_counts() -> float:
    return float(q2_counts()["row"]["crr_counts"])


def _crr_ident() -> float:
    return float(q2_counts()["row"]["crr"])


def _counts_mistakes() -> list[tuple[Any, str]]:
    q = q2_counts()
    s, e, n = _sen()
    return [
        (
            _crr_ident(),
            "If you counted the retained customers one by one (in S and in E) and divided by S: that "
            "is the identity CRR of exercise 01.5. Here plug the three counts into (E - N) / S.",
        ),
        (
            (e - n) / len(q["ever_before"]),
            "If you used everyone who ever bought before 1 April as S: S is only who was active in the 90 days "
            "before 1 April.",
        ),
        ((e - n) / e, "If you divided by E: the count formula divides by S."),
        (e / s, "If you did not subtract the new customers N before dividing: they were not there to be kept."),
    ]


def _ident_mistakes() -> list[tuple[Any, str]]:
    q = q2_counts()
    s, e, n = _sen()
    retained = len(q["S"] & q["E"])
    return [
        (
            _crr_counts(),
            "If you used (E - N) / S: that is the count formula. It treats everybody in E who is not "
            "new as retained, including a customer who came back after a break (not in S).",
        ),
        (retained / e, "If you divided the retained customers by E: divide by S, the customers at the start."),
        (retained, "If you gave the number retained: divide it by S for the rate."),
    ]


def _react_mistakes() -> list[tuple[Any, str]]:
    q = q2_counts()
    return [
        (
            set(q["N"]),
            "If you listed the new customers: the count formula already subtracts them (N), so they do "
            "not make the two figures differ.",
        ),
        (
            set(q["S"] - q["E"]),
            "If you listed who is in S but not in E: those are the lost customers. Look at who is in E instead.",
        ),
        (
            set(q["N"]) | set(q["reactivated"]),
            "If you listed everyone in E who is not in S: the new customers are "
            "already subtracted as N; keep only who is in E, not in S and not new.",
        ),
    ]


def _moved_crr() -> float:
    return float(q2_counts(True)["row"]["crr"])


def _moved_mistakes() -> list[tuple[Any, str]]:
    before, after = q2_counts(), q2_counts(True)
    s1, e1 = len(after["S"]), len(after["E"])
    kept = len(after["S"] & after["E"])
    return [
        (
            _crr_ident(),
            "If you got the same CRR as before: Eva's move changes who is in S (she no longer bought in "
            "the 90 days before 1 April). Recount S.",
        ),
        (
            float(after["row"]["crr_counts"]),
            "If you used (E - N) / S: the question asks for the identity CRR (retained / S).",
        ),
        ((kept + 1) / s1, "If you counted Eva as retained: she was not a customer on 1 April, so she is new in Q2."),
        (kept / len(before["S"]), "If you kept S at its old size: Eva is no longer in S."),
        (kept / e1, "If you divided by E: divide by S."),
    ]


EXERCISES: tuple[Exercise, ...] = (
    Exercise(
        "01.1",
        "CRR of the classic example: S = 500 at the start, N = 50 new, 100 lost.",
        "rate",
        _crr_example,
        (
            "Write down E first: who is there at the end of the period?",
            "E = S - lost + N. Which of the customers at the end were there at the start?",
            "The kept customers are E - N; the rate compares them with the customers you started with.",
        ),
        "E = 500 - 100 + 50; crr_from_counts(start=500, end=E, new=50)",
        _example_mistakes,
        tol=5e-4,
    ),
    Exercise(
        "01.2",
        "Churn rate of the same example.",
        "rate",
        lambda: 1.0 - _crr_example(),
        (
            "Churn is the share of the starting customers you lost.",
            "Retention and churn of the same customers add up to 100 %.",
        ),
        "1 - crr_from_counts(start=500, end=450, new=50)",
        _churn_mistakes,
        tol=5e-4,
    ),
    Exercise(
        "01.3",
        "S, E and N of Q2 2023 from the log (90-day window), as a tuple (S, E, N).",
        "numbers",
        _sen,
        (
            "S is counted at 1 April, E at 1 July, each with the 90-day window before that day.",
            "With quarters, 'a customer on 1 April' means 'bought in Q1'. Who bought in Q2?",
            "N is only for first-ever purchases in Q2: check each Q2 buyer's earliest date in the log.",
        ),
        "S = len(workshop.customers_at(log, '2023-04-01')); E = len(workshop.customers_at(log, '2023-07-01')); "
        "N = first purchase in [1 April, 1 July)",
        _sen_mistakes,
        tol=0.0,
        fields=("S", "E", "N"),
        field_hints=(
            "S is off. If you counted more than the Q1 buyers: S = everyone who bought in the 90 days before "
            "1 April 2023, whether or not they bought again.",
            "E is off. If you left out some Q2 buyers: E = everyone who bought in the 90 days before 1 July 2023 "
            "(returning, reactivated and new alike).",
            "N is off. If you counted a returning customer as new: N = customers whose FIRST-ever purchase falls in "
            "Q2; someone who bought in 2022 and comes back in Q2 is not new.",
        ),
        level="pandas",
    ),
    Exercise(
        "01.4",
        "CRR of Q2 2023 with the count formula (E - N) / S.",
        "rate",
        _crr_counts,
        (
            "Use the three counts from 01.3, nothing else.",
            "The formula is the same as in 01.1; only the counts changed.",
        ),
        "crr_from_counts(start=S, end=E, new=N)",
        _counts_mistakes,
        tol=5e-4,
    ),
    Exercise(
        "01.5",
        "CRR of Q2 2023 from identities: retained / S, retained = in S and in E.",
        "rate",
        _crr_ident,
        (
            "Look at names, not counts: who was a customer on 1 April AND on 1 July?",
            "In Python, the customers in both sets are S_ids & E_ids (set intersection).",
            "Divide the number of those customers by the size of S.",
        ),
        "len(S_ids & E_ids) / len(S_ids)",
        _ident_mistakes,
        tol=5e-4,
    ),
    Exercise(
        "01.6",
        "Which customer(s) make the two CRR figures differ? (a list of names)",
        "ids",
        lambda: set(q2_counts()["reactivated"]),
        (
            "The count formula calls everyone in E who is not new 'retained'. Is everyone it calls retained in S?",
            "Look for someone in E who is neither in S nor new.",
            "Check the customers who bought in 2022, skipped Q1 and came back in Q2.",
        ),
        "E_ids - S_ids - N_ids",
        _react_mistakes,
    ),
    Exercise(
        "01.7",
        "Suppose Eva had made her purchase on 2 April 2023 instead of 8 March. What would the identity CRR "
        "of Q2 2023 be?",
        "rate",
        _moved_crr,
        (
            "Who moves in or out of S, E and N when one purchase moves across 1 April?",
            "Eva would no longer have bought in the 90 days before 1 April. Is she retained, new or reactivated in Q2?",
            "Recount S, then count who is in both S and E.",
        ),
        "workshop.customers_at(moved_log, '2023-04-01') ... as in 01.5",
        _moved_mistakes,
        tol=5e-4,
    ),
)
