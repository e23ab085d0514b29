"""The kept rows of a transaction log as numpy arrays: what every reduction reads (definitions §1).

:class:`LocalRows` holds, for the kept rows in their order, dense customer codes
(0..n-1), the customer id of each code, an int64 instant ``key`` (row order),
local ``day`` numbers, ``amount`` (float64, NaN where unknown) and the purchase
mask (amount >= 0 or unknown, definitions §1). A pandas log gets it at load
time (its customer codes come out of validation, its day numbers on first
use); a polars / DuckDB log from one scan of its engine
(:func:`retainkit.sources.local_rows`). Cohort tables, CRR and purchase
metrics of one loaded log then share it instead of coding the ids again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._codes import factorize
from ._rowkernels import local_day_numbers

_NONE = np.iinfo(np.int64).max


@dataclass
class LocalRows:
    """Kept rows as numpy arrays (see the module docstring).

    Attributes
    ----------
    codes : int array
        Customer code of each row (0 .. n-1).
    customer_ids : numpy array
        Customer id of each code.
    columns : dict
        ``key`` (int64 instants in ``key_unit``, UTC for aware timestamps),
        ``day`` (local day numbers; computed on first use for pandas rows),
        ``amount`` (float64, NaN = unknown) when an amount is mapped.
    purchase : bool array
        Rows that are purchases (amount >= 0 or unknown).
    key_unit : str
        Unit of ``key`` ("s", "ms", "us", "ns").
    tz : str
        Report time zone of the day numbers.
    segments : dict
        Segment name -> (code of each row, value of each code), for rows
        collected from polars / DuckDB (pandas logs read segments from their
        frame).
    cache : dict
        Small derived arrays shared by the reductions (day range, ...).
    """

    codes: np.ndarray
    customer_ids: np.ndarray
    columns: dict[str, np.ndarray]
    purchase: np.ndarray
    key_unit: str = "us"
    tz: str = "UTC"
    segments: dict = field(default_factory=dict, repr=False)
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return len(self.customer_ids)

    def days(self) -> np.ndarray:
        """Local day number of each row (computed once from ``key`` when not collected)."""
        if "day" not in self.columns:
            self.columns["day"] = local_day_numbers(self.columns["key"], self.key_unit, self.tz)
        return self.columns["day"]

    def first_purchase_key(self) -> np.ndarray:
        """Each customer's earliest purchase instant (``key``; int64 max without a purchase)."""
        if "first_purchase_key" not in self.cache:
            first = np.full(self.n, _NONE, dtype=np.int64)
            buys = self.purchase
            codes = self.codes if buys.all() else self.codes[buys]
            keys = self.columns["key"] if buys.all() else self.columns["key"][buys]
            np.minimum.at(first, codes, keys)
            self.cache["first_purchase_key"] = first
        return self.cache["first_purchase_key"]

    def _at_first_purchase(self) -> np.ndarray:
        """Purchase rows at their customer's earliest purchase instant (ascending positions)."""
        if "at_first_purchase" not in self.cache:
            first = self.first_purchase_key()
            keys = self.columns["key"]
            self.cache["at_first_purchase"] = np.flatnonzero(self.purchase & (keys == first[self.codes]))
        return self.cache["at_first_purchase"]

    def first_purchase_rows(self) -> np.ndarray:
        """Each customer's earliest purchase row (the first such row on ties; -1 without a purchase)."""
        if "first_purchase_row" not in self.cache:
            at = self._at_first_purchase()
            rows = np.full(self.n, _NONE, dtype=np.int64)
            np.minimum.at(rows, self.codes[at], at)
            self.cache["first_purchase_row"] = np.where(rows == _NONE, -1, rows)
        return self.cache["first_purchase_row"]

    def acquisition(self, column: str) -> np.ndarray:
        """Per customer code, the value of a collected segment on their first purchase (None without one).

        The first purchase is the earliest instant; among purchases at that
        instant the smallest value counts (a source without row order has no
        first row), as in the engines' own acquisition query.
        """
        key = ("acquisition", column)
        if key not in self.cache:
            seg, values = self.segments[column]
            order = np.argsort(np.asarray(values, dtype=object), kind="stable")
            rank = np.empty(len(values), dtype=np.int64)
            rank[order] = np.arange(len(values))
            at = self._at_first_purchase()
            best = np.full(self.n, len(values), dtype=np.int64)
            np.minimum.at(best, self.codes[at], rank[seg[at]])
            self.cache[key] = np.append(np.asarray(values, dtype=object)[order], [None])[best]
        return self.cache[key]

    def amount_or_zero(self) -> np.ndarray:
        """Amounts with unknown ones as 0.0 (revenue weights: an unknown amount adds nothing)."""
        if "amount0" not in self.cache:
            amount = self.columns["amount"]
            missing = np.isnan(amount)
            self.cache["amount0"] = np.where(missing, 0.0, amount) if missing.any() else amount
        return self.cache["amount0"]


def refund_notes(codes: np.ndarray, customer_ids, key: np.ndarray, purchase: np.ndarray) -> tuple[dict, dict]:
    """Customers with refunds but no purchase, and refunds dated before a customer's first purchase (§1).

    Returns ``(notes, examples)``: counts under ``refund_only_customers`` and
    ``refunds_before_first_purchase`` (only those above 0) and up to three
    refund-only customers in order of appearance.
    """
    notes: dict[str, int] = {}
    examples: dict[str, list] = {}
    refund_rows = np.flatnonzero(~purchase)
    if not len(refund_rows):
        return notes, examples
    n_c = len(customer_ids)
    rc = codes[refund_rows]
    refunds_per = np.bincount(rc, minlength=n_c)
    refund_only = refunds_per == np.bincount(codes, minlength=n_c)
    refund_only &= refunds_per > 0
    if refund_only.any():
        notes["refund_only_customers"] = int(refund_only.sum())
        examples["refund_only_customers"] = list(np.asarray(customer_ids)[pd.unique(rc[refund_only[rc]])[:3]])
    # the first purchase instant of the customers who also have refunds (a subset of the rows)
    with_refunds = refunds_per > 0
    with_refunds &= ~refund_only
    buys = np.flatnonzero(purchase & with_refunds[codes])
    first_buy = np.full(n_c, _NONE, dtype=np.int64)
    np.minimum.at(first_buy, codes[buys], key[buys])
    early = with_refunds[rc] & (key[refund_rows] < first_buy[rc])
    if early.any():
        notes["refunds_before_first_purchase"] = int(early.sum())
    return notes, examples


def narrow_codes(codes: np.ndarray) -> np.ndarray:
    """Customer codes as the index type (numpy gathers with int32 indices convert them first, every time)."""
    return codes.astype(np.intp, copy=False)


def rows_from_frame(frame: pd.DataFrame, has_amount: bool, tz: str) -> LocalRows:
    """:class:`LocalRows` of a normalised transactions frame (``customer_id``, aware ``timestamp``, ``amount``)."""
    codes, uniques = factorize(frame["customer_id"])
    ts = frame["timestamp"]
    key = ts.array.asi8
    columns = {"key": key}
    if has_amount:
        amount = frame["amount"].to_numpy(dtype="float64", na_value=np.nan)
        columns["amount"] = amount
        purchase = ~(amount < 0)
    else:
        purchase = np.ones(len(frame), dtype=bool)
    return LocalRows(
        codes=narrow_codes(codes),
        customer_ids=np.asarray(uniques),
        columns=columns,
        purchase=purchase,
        key_unit=ts.dt.unit,
        tz=tz,
    )


__all__ = ["LocalRows", "narrow_codes", "refund_notes", "rows_from_frame"]
