"""The kept rows of a transaction log as numpy arrays: what every reduction reads (definitions §1).

:class:`LocalRows` holds, for the kept rows in their order, dense customer codes
(0..n-1), the customer id of each code, an int64 instant ``key`` (row order),
local ``day`` numbers, ``amount`` (float64, NaN where unknown) and the purchase
mask (amount >= 0 or unknown, definitions §1). A pandas log gets it at load
time (its customer codes come out of validation, its day numbers on first
use); a polars / DuckDB log from one scan of its engine
(:func:`retainkit.backends.local_rows`). Cohort tables, CRR and purchase
metrics of one loaded log then share it instead of coding the ids again.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._codes import earliest, factorize
from ._rowkernels import local_day_numbers


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
    cache : dict
        Small derived arrays shared by the reductions (day range, ...).
    """

    codes: np.ndarray
    customer_ids: np.ndarray
    columns: dict[str, np.ndarray]
    purchase: np.ndarray
    key_unit: str = "us"
    tz: str = "UTC"
    cache: dict = field(default_factory=dict, repr=False)

    @property
    def n(self) -> int:
        return len(self.customer_ids)

    def days(self) -> np.ndarray:
        """Local day number of each row (computed once from ``key`` when not collected)."""
        if "day" not in self.columns:
            self.columns["day"] = local_day_numbers(self.columns["key"], self.key_unit, self.tz)
        return self.columns["day"]

    def first_purchase_rows(self) -> np.ndarray:
        """Each customer's earliest purchase row (the first such row on ties; -1 without a purchase)."""
        if "first_purchase_row" not in self.cache:
            self.cache["first_purchase_row"] = earliest(self.codes, self.columns["key"],
                                                        np.flatnonzero(self.purchase), self.n)
        return self.cache["first_purchase_row"]

    def amount_or_zero(self) -> np.ndarray:
        """Amounts with unknown ones as 0.0 (revenue weights: an unknown amount adds nothing)."""
        if "amount0" not in self.cache:
            amount = self.columns["amount"]
            missing = np.isnan(amount)
            self.cache["amount0"] = np.where(missing, 0.0, amount) if missing.any() else amount
        return self.cache["amount0"]


def narrow_codes(codes: np.ndarray) -> np.ndarray:
    """Customer codes as int32 when they fit (half the memory traffic of int64 in every pass)."""
    if codes.dtype != np.int32 and (len(codes) == 0 or int(codes.max()) < 2**31 - 1):
        return codes.astype(np.int32)
    return codes


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
    return LocalRows(codes=narrow_codes(codes), customer_ids=np.asarray(uniques), columns=columns,
                     purchase=purchase, key_unit=ts.dt.unit, tz=tz)


__all__ = ["LocalRows", "narrow_codes", "rows_from_frame"]
