"""History check: closed periods must read the same as in the previous report of the schedule.

A complete period (definitions §2) is closed: new data should not change how
many customers bought in it, how many transactions and how much revenue it
had, or how many customers it acquired. Each report stores these figures per
period in its ``report-summary.json`` (:func:`history_json`); the next report
of the same schedule compares the periods both cover (:func:`compare_history`).
A truncated or partial export shows up as a fall in every period; a
restatement (refunds booked late, a migrated shop) as a change in some. A
change beyond the tolerance fails the run (:class:`~retainkit.exceptions.HistoryError`,
exit code 4) unless the run accepts it, which the page and the index record.

The figures per period (definitions §3, §4): ``customers`` (distinct
purchasers), ``transactions`` (purchase rows, refunds excluded), ``revenue``
(all amounts, refunds included) from :func:`retainkit.metrics.purchase_metrics`;
``new_customers`` (the cohort size n_c) from :func:`retainkit.cohorts.cohort_table`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .format import money

#: the compared figures, in the order they are listed
FIGURES = ("customers", "transactions", "revenue", "new_customers")
FIGURE_LABELS = {
    "customers": "customers",
    "transactions": "transactions",
    "revenue": "revenue",
    "new_customers": "new customers",
}
HISTORY_SCHEMA = 1
#: changes listed in the error message (the page lists them all)
SHOWN_CHANGES = 6


def history_table(purchases: pd.DataFrame, cohorts: pd.DataFrame) -> pd.DataFrame:
    """The history figures of every complete period (definitions §2-§4).

    Parameters
    ----------
    purchases : DataFrame
        :func:`~retainkit.metrics.purchase_metrics` of the report (complete
        periods plus an ``overall`` row, which is left out).
    cohorts : DataFrame
        :func:`~retainkit.cohorts.cohort_table` of the report.

    Returns
    -------
    DataFrame
        ``period`` (label), ``customers``, ``transactions``, ``revenue``,
        ``new_customers``, one row per period in either table, sorted;
        missing counts are 0.
    """
    per = purchases.loc[purchases["period"].astype(str) != "overall"]
    left = pd.DataFrame(
        {
            "period": per["period"].astype(str).to_numpy(),
            "customers": per["customers"].to_numpy(dtype=float),
            "transactions": per["orders"].to_numpy(dtype=float),
            "revenue": (per["revenue"] if "revenue" in per.columns else pd.Series(0.0, index=per.index)).to_numpy(
                dtype=float
            ),
        }
    )
    c0 = cohorts.loc[cohorts["age"] == 0] if len(cohorts) else cohorts
    right = pd.DataFrame(
        {
            "period": c0["cohort"].astype(str).to_numpy() if len(c0) else [],
            "new_customers": c0["size"].to_numpy(dtype=float) if len(c0) else [],
        }
    )
    out = left.merge(right, on="period", how="outer").fillna(0.0)
    return out.sort_values("period", kind="stable").reset_index(drop=True)[["period", *FIGURES]]


def history_json(table: pd.DataFrame, freq: str) -> dict[str, Any]:
    """The history figures as stored in ``report-summary.json``: ``{"freq", "periods": {label: {figure: value}}}``."""
    periods = {}
    for row in table.itertuples(index=False):
        periods[str(row.period)] = {
            f: (float(getattr(row, f)) if f == "revenue" else int(getattr(row, f))) for f in FIGURES
        }
    return {"schema": HISTORY_SCHEMA, "freq": freq, "periods": periods}


@dataclass(frozen=True)
class HistoryChange:
    """One figure of one closed period that moved beyond the tolerance."""

    period: str
    figure: str
    now: float
    then: float

    @property
    def relative(self) -> float:
        """(now - then) / |then|; infinite when then is 0 and now is not."""
        if self.then == 0:
            return 0.0 if self.now == 0 else math.copysign(math.inf, self.now)
        return (self.now - self.then) / abs(self.then)

    def describe(self, previous_label: str, currency: str = "") -> str:
        """'1998-03: 3,012 customers now, 5,544 in the report of 1998-04-30 (-45.7 %)'."""
        label = FIGURE_LABELS[self.figure]
        if self.figure == "revenue":
            now, then = money(self.now, currency), money(self.then, currency)
            text = f"{self.period}: revenue {now} now, {then} in the report of {previous_label}"
        else:
            text = f"{self.period}: {self.now:,.0f} {label} now, {self.then:,.0f} in the report of {previous_label}"
        rel = self.relative
        return text + (f" ({rel:+.1%})" if math.isfinite(rel) else "")

    def to_json(self) -> dict[str, Any]:
        return {"period": self.period, "figure": self.figure, "now": self.now, "then": self.then}


@dataclass(frozen=True)
class HistoryCheck:
    """The result of comparing this report's closed periods with the previous report's.

    ``status``: ``"ok"`` (every shared period within the tolerance),
    ``"changed"`` (some moved beyond it; the run fails), ``"accepted"`` (they
    moved and the run was told to accept it) or ``"not checked"`` (no previous
    report, or one without per-period figures; ``note`` says which).
    """

    status: str
    previous: str = ""
    tolerance: float = 0.02
    compared: int = 0
    changes: tuple[HistoryChange, ...] = field(default_factory=tuple)
    note: str = ""
    currency: str = ""

    @property
    def failed(self) -> bool:
        return self.status == "changed"

    def lines(self, limit: int | None = None) -> list[str]:
        shown = self.changes if limit is None else self.changes[:limit]
        return [c.describe(self.previous, self.currency) for c in shown]

    def message(self) -> str:
        """The error message of a failed check.

        The first line names the first changes (it is what the run record and a
        cron mail show); the second says what to do; then every change, one per
        line (the failed run's page and the log show them all).
        """
        n, periods = len(self.changes), len({c.period for c in self.changes})
        more = n - min(n, SHOWN_CHANGES)
        first = (
            f"history check: {n} figure(s) of {periods} closed period(s) differ by more than {self.tolerance:.1%} "
            f"from the report of {self.previous}: "
            + "; ".join(self.lines(SHOWN_CHANGES))
            + (f"; and {more} more (listed below)." if more else ".")
        )
        advice = (
            "Closed periods should not change: check that the export is complete (a truncated or partial file "
            "shows as a fall in every period). If this is a real restatement, rerun with "
            "--accept-history-change (recorded on the page and the index), or set --history-tolerance."
        )
        return "\n".join([first, advice, *(f"  {line}" for line in self.lines())]) if more else f"{first}\n{advice}"

    def summary(self) -> str:
        """One line for the page and the index."""
        if self.status == "not checked":
            return f"History not checked: {self.note}"
        if self.status == "ok":
            return (
                f"History check passed: {self.compared} closed period(s) read as in the report of {self.previous} "
                f"(customers, transactions, revenue, new customers within {self.tolerance:.1%})."
            )
        verb = "accepted with --accept-history-change" if self.status == "accepted" else "beyond the tolerance"
        return (
            f"History changed, {verb}: {len(self.changes)} figure(s) of "
            f"{len({c.period for c in self.changes})} closed period(s) differ by more than {self.tolerance:.1%} "
            f"from the report of {self.previous}."
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "previous": self.previous,
            "tolerance": self.tolerance,
            "compared": self.compared,
            "changes": [c.to_json() for c in self.changes],
            "note": self.note,
            "summary": self.summary(),
        }


def not_checked(note: str, tolerance: float = 0.02) -> HistoryCheck:
    """A check that could not be made, with the reason."""
    return HistoryCheck("not checked", tolerance=tolerance, note=note)


def compare_history(
    table: pd.DataFrame,
    previous: Mapping[str, Any] | None,
    freq: str,
    *,
    tolerance: float = 0.02,
    accept: bool = False,
    currency: str = "",
) -> HistoryCheck:
    """Compare this report's per-period figures with those stored in the previous report.

    Parameters
    ----------
    table : DataFrame
        :func:`history_table` of this report.
    previous : mapping or None
        The previous report's ``report-summary.json`` (None: nothing to compare).
    freq : str
        This report's period granularity; a previous report of another one is
        not compared.
    tolerance : float
        Largest relative difference |now - then| / |then| allowed per figure
        (0.02 = 2 %); a figure that was 0 must still be 0.
    accept : bool
        Accept changes beyond the tolerance (a real restatement): the result's
        status is ``"accepted"`` instead of ``"changed"``.
    currency : str
        For the revenue figures in messages.

    Returns
    -------
    HistoryCheck
        Every period of the previous report's history is compared; a period
        that is missing now counts as 0 (a truncated export drops periods).
    """
    if previous is None:
        return not_checked("no earlier report of this schedule to compare with.", tolerance)
    label = str(previous.get("as_of_label", "?"))
    hist = previous.get("history")
    if not isinstance(hist, Mapping) or not isinstance(hist.get("periods"), Mapping):
        return not_checked(f"the report of {label} has no per-period figures (made by an older retainkit).", tolerance)
    if hist.get("freq") != freq:
        return not_checked(f"the report of {label} has {hist.get('freq')!r} periods, this one {freq!r}.", tolerance)
    now = {str(r["period"]): r for r in table.to_dict("records")}
    changes = []
    for period in sorted(hist["periods"]):
        then_row = hist["periods"][period]
        if not isinstance(then_row, Mapping):
            continue
        now_row = now.get(period, {})
        for f in FIGURES:
            if f not in then_row:
                continue
            ch = HistoryChange(period, f, float(now_row.get(f, 0.0)), float(then_row[f]))
            # slack for float sums taken in another order: 1e-9 relative, and a millionth of a currency unit
            slack = 1e-9 * abs(ch.then) + (1e-6 if f == "revenue" else 0.0)
            if abs(ch.now - ch.then) > tolerance * abs(ch.then) + slack:
                changes.append(ch)
    status = "ok" if not changes else ("accepted" if accept else "changed")
    return HistoryCheck(status, label, tolerance, len(hist["periods"]), tuple(changes), currency=currency)


__all__ = [
    "FIGURES",
    "FIGURE_LABELS",
    "HISTORY_SCHEMA",
    "HistoryChange",
    "HistoryCheck",
    "compare_history",
    "history_json",
    "history_table",
    "not_checked",
]
