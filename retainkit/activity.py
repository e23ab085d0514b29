"""The reduced form of a log (:class:`Activity`) and the rows it is reduced from.

:class:`CohortContext` is the period frame of an aggregation; :class:`Activity`
adds per customer the first and last active period and the distinct active
(customer, period) pairs with their revenue (definitions §1, §2).
:class:`RowsActivity` keeps them as the customers x periods table they were
marked in and builds the arrays only when read; :class:`LocalActivity` is
that of polars / DuckDB rows. :func:`transaction_rows` gives the kept rows of a
log as numpy arrays, made once per log. The reductions themselves are
:mod:`retainkit.engine` (and :mod:`retainkit.boundaries` for CRR membership).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import backends
from .exceptions import ParameterError
from .inputs import Subscriptions, Transactions
from .periods import (
    NO_PERIOD,
)
from .rows import LocalRows, rows_from_frame


def first_row_values(source, first_row: np.ndarray, column: str) -> np.ndarray:
    """``column`` read on each customer's first row (``first_row`` positions, -1 = none -> None)."""
    frame = source.frame
    if column not in frame.columns:
        raise ParameterError(
            f"'{column}' is not a column of the loaded data. Load it as a segment: "
            f"load_transactions(..., segments=[..., '{column}'])."
        )
    out = np.full(len(first_row), None, dtype=object)
    ok = first_row >= 0
    out[ok] = frame[column].take(first_row[ok]).to_numpy(dtype=object)  # only the rows asked for
    return out


@dataclass
class CohortContext:
    """The period frame of an aggregation: what cohort tables need besides the counts.

    Attributes
    ----------
    freq, tz : str
    as_of : pandas.Timestamp
    last_complete : int
        Latest complete period (definitions §2).
    current : int
        Period containing ``as_of`` (partial unless it just ended).
    max_period : int
        ``current`` when partial periods are included, else ``last_complete``.
    source : Transactions or Subscriptions
    """

    freq: str
    tz: str
    as_of: pd.Timestamp
    last_complete: int
    current: int
    max_period: int
    source: Transactions | Subscriptions = field(repr=False)


@dataclass
class Activity(CohortContext):
    """A log reduced to customers and active (customer, period) pairs.

    Besides the :class:`CohortContext` fields:

    Attributes
    ----------
    customer_ids : numpy array
        Customer id of each code 0..n-1.
    first, last : int64 arrays
        First / last active period per customer code (:data:`~retainkit.periods.NO_PERIOD`
        = never active up to ``max_period``, e.g. refund-only customers; periods
        before 1970 are negative).
    pair_customer, pair_period : int64 arrays
        Distinct active (customer code, period) pairs, periods <= max_period.
    revenue_customer, revenue_period, revenue_amount : arrays or None
        Revenue contributions (refunds included, unknown amounts excluded):
        customer code, period and amount of each contribution, periods
        <= max_period and >= the customer's first period. Several
        contributions may share a (customer, period): sum them by any key
        (for transactions there is one per row; summing per cell first would
        cost a customers x periods table of floats).
    first_row : int64 array
        Row position (in the source frame) of each customer's first purchase,
        used to read acquisition segments; -1 where never active.
    """

    customer_ids: np.ndarray
    first: np.ndarray
    last: np.ndarray
    pair_customer: np.ndarray
    pair_period: np.ndarray
    revenue_customer: np.ndarray | None
    revenue_period: np.ndarray | None
    revenue_amount: np.ndarray | None
    first_row: np.ndarray

    @property
    def n_customers(self) -> int:
        return len(self.customer_ids)

    @property
    def has_revenue(self) -> bool:
        return self.revenue_amount is not None

    def customer_attribute(self, column: str) -> np.ndarray:
        """Value of ``column`` on each customer's first purchase row (acquisition segment).

        Customers that were never active get ``None``.
        """
        return first_row_values(self.source, self.first_row, column)

    def active_histogram(self, group: np.ndarray, n_groups: int, width: int) -> np.ndarray:
        """(groups x ages) counts of active (customer, period) pairs; ``group`` per customer, -1 = none.

        Ages run from 0 to ``width - 1``; every pair of a grouped customer must fall in that range.
        """
        pc = self.pair_customer
        g = group[pc]
        ok = g >= 0
        k = self.pair_period[ok] - self.first[pc[ok]]
        return np.bincount(g[ok] * width + k, minlength=n_groups * width).reshape(n_groups, width)

    def revenue_histogram(self, group: np.ndarray, n_groups: int, width: int) -> np.ndarray:
        """(groups x ages) revenue sums (definitions §3 Rev(c,k)), like :meth:`active_histogram`."""
        rc = self.revenue_customer
        g = group[rc]
        ok = g >= 0
        k = self.revenue_period[ok] - self.first[rc[ok]]
        flat = np.bincount(g[ok] * width + k, weights=self.revenue_amount[ok], minlength=n_groups * width)
        return flat.reshape(n_groups, width)


def transaction_rows(tx: Transactions) -> LocalRows:
    """The kept rows of ``tx`` as numpy arrays (:class:`retainkit.rows.LocalRows`), made once per log.

    A pandas log has them from loading; polars / DuckDB logs of at most
    :data:`retainkit.backends.LOCAL_REDUCE_MAX_ROWS` rows from one scan of
    their engine; larger native logs from their materialised pandas frame.
    """
    if reduces_locally(tx):
        return backends.local_rows(tx.native)
    rows = tx.cache.get("rows")
    if rows is None:
        rows = rows_from_frame(tx.frame, tx.has_amount, tx.tz)
        tx.cache["rows"] = rows
    return rows


def day_offsets(rows: LocalRows) -> tuple[int, int, np.ndarray]:
    """(first day, last day, day - first day per row as int16/int32): freq-independent, cached on the rows."""
    if "day_offsets" not in rows.cache:
        days = rows.days()
        lo, hi = (int(days.min()), int(days.max())) if len(days) else (0, 0)
        dt = np.int16 if hi - lo < 2**15 else np.int32 if hi - lo < 2**31 else np.int64
        rows.cache["day_offsets"] = (lo, hi, (days - lo).astype(dt))
    return rows.cache["day_offsets"]


class Lazy:
    """An Activity array computed on first read by the method ``compute`` (unless it was set)."""

    def __init__(self, compute: str):
        self.compute = compute

    def __set_name__(self, owner, name: str) -> None:
        self.slot = "_lazy_" + name

    def __get__(self, obj, objtype=None):
        if obj is None:
            return self
        value = obj.__dict__.get(self.slot)
        if value is None:
            value = getattr(obj, self.compute)()
            obj.__dict__[self.slot] = value
        return value

    def __set__(self, obj, value) -> None:
        obj.__dict__[self.slot] = value


class RowsActivity(Activity):
    """An :class:`Activity` reduced from :class:`retainkit.rows.LocalRows` (pandas logs and small native ones).

    The active pairs are kept as the customers x periods table they were marked
    in, and revenue is summed straight from the rows: ``pair_customer``,
    ``pair_period``, the ``revenue_*`` arrays and ``first_row`` are built only
    when read, and :meth:`active_histogram` / :meth:`revenue_histogram` (what
    cohort tables need) never build them.
    """

    pair_customer = Lazy("_pairs_customer")
    pair_period = Lazy("_pairs_period")
    revenue_customer = Lazy("_revenue_customer")
    revenue_period = Lazy("_revenue_period")
    revenue_amount = Lazy("_revenue_amount")
    first_row = Lazy("_first_row")

    def __init__(
        self,
        *,
        rows: LocalRows,
        table,
        pairs,
        prel: np.ndarray,
        pmin: int,
        width: int,
        span: int,
        first: np.ndarray,
        last: np.ndarray,
        **context,
    ):
        self.rows, self.table, self.prel, self.pmin, self.width, self.span = rows, table, prel, pmin, width, span
        self._pairs = pairs
        super().__init__(
            customer_ids=rows.customer_ids,
            first=first,
            last=last,
            pair_customer=None,
            pair_period=None,
            revenue_customer=None,
            revenue_period=None,
            revenue_amount=None,
            first_row=None,
            **context,
        )

    @property
    def has_revenue(self) -> bool:
        return "amount" in self.rows.columns

    def _pairs_customer(self) -> np.ndarray:
        return self._pair_arrays()[0]

    def _pairs_period(self) -> np.ndarray:
        return self._pair_arrays()[1]

    def _pair_arrays(self) -> tuple[np.ndarray, np.ndarray]:
        if self._pairs is None:
            flat = np.flatnonzero(self.table)
            self._pairs = (flat // self.width, flat % self.width + self.pmin)
        return self._pairs

    def _revenue_rows(self) -> np.ndarray:
        """Rows that count in revenue: known amount, first period <= period <= max_period."""
        if "revenue_rows" not in self.__dict__:
            start = np.where(self.first != NO_PERIOD, self.first - self.pmin, np.iinfo(np.int32).max).astype(np.int32)
            codes = self.rows.codes
            ok = (self.prel >= start[codes]) & (self.prel <= self.max_period - self.pmin)
            ok &= ~np.isnan(self.rows.columns["amount"])
            self.__dict__["revenue_rows"] = np.flatnonzero(ok)
        return self.__dict__["revenue_rows"]

    def _revenue_customer(self):
        return self.rows.codes[self._revenue_rows()] if self.has_revenue else None

    def _revenue_period(self):
        return self.prel[self._revenue_rows()].astype(np.int64) + self.pmin if self.has_revenue else None

    def _revenue_amount(self):
        return self.rows.columns["amount"][self._revenue_rows()] if self.has_revenue else None

    def _first_row(self) -> np.ndarray:
        """Each customer's earliest purchase row (the first such row on ties); -1 where never active."""
        out = self.rows.first_purchase_rows().copy()
        out[self.first == NO_PERIOD] = -1
        return out

    def active_histogram(self, group: np.ndarray, n_groups: int, width: int) -> np.ndarray:
        if self.table is None:
            return super().active_histogram(group, n_groups, width)
        flat = np.flatnonzero(self.table)
        cust = flat // self.width
        # one gather per cell: key = group * width + (period - first); a customer's cells lie at or after
        # their first period; ungrouped customers (never active) have no cells, else an extra row takes them
        base = _index_table(
            np.where(group >= 0, group, n_groups) * width
            - np.where(self.first != NO_PERIOD, self.first - self.pmin, 0),
            (n_groups + 1) * width,
        )
        key = np.take(base, cust)
        key += (flat - cust * self.width).astype(key.dtype)
        counts = np.bincount(key, minlength=(n_groups + 1) * width)
        return counts.reshape(n_groups + 1, width)[:n_groups]

    def revenue_histogram(self, group: np.ndarray, n_groups: int, width: int) -> np.ndarray:
        rows = self.rows
        # one gather per row: key = group * 2W + W + (period - first); negative ages land in the
        # lower half of a group's 2W bins, ungrouped customers in an extra group, both dropped
        w = max(width, self.span)
        base = _index_table(
            np.where(group >= 0, group, n_groups) * (2 * w)
            + w
            - np.where(self.first != NO_PERIOD, self.first - self.pmin, 0),
            (n_groups + 1) * 2 * w,
        )
        key = np.take(base, rows.codes)
        key += self.prel
        if self.span > self.max_period - self.pmin + 1:  # rows after max_period: to the extra group
            key[self.prel > self.max_period - self.pmin] = n_groups * 2 * w
        flat = np.bincount(key, weights=rows.amount_or_zero(), minlength=(n_groups + 1) * 2 * w)
        return flat.reshape(n_groups + 1, 2 * w)[:n_groups, w : w + width]


def _index_table(values: np.ndarray, bound: int) -> np.ndarray:
    """Per-customer keys as int32 when every key stays below ``bound`` < 2**31 (a smaller table to gather from)."""
    return values.astype(np.int32 if bound < 2**31 else np.int64)


class LocalActivity(RowsActivity):
    """A :class:`RowsActivity` of polars / DuckDB rows (no pandas frame).

    ``first_row`` is -1 throughout: acquisition segments are read in the
    engine instead (the values on each customer's first purchase; ties at the
    first instant take the smallest value, as in
    :func:`retainkit.backends.cohort_counts`).
    """

    def _first_row(self) -> np.ndarray:
        return np.full(self.n_customers, -1, dtype=np.int64)

    def customer_attribute(self, column: str) -> np.ndarray:
        if column in self.rows.segments:  # collected with the rows
            values = self.rows.acquisition(column).copy()
        else:
            values = backends.acquisition_values(self.source.native, column, self.customer_ids)
        values[self.first == NO_PERIOD] = None
        return values


def reduces_locally(data) -> bool:
    """True for polars / DuckDB data small enough to reduce in numpy after one scan."""
    return is_native(data) and backends.uses_local_reduce(data.native)


def is_native(data) -> bool:
    """True for Transactions whose rows live in polars, DuckDB or Spark."""
    return isinstance(data, Transactions) and data.native is not None


__all__ = [
    "Activity",
    "CohortContext",
    "Lazy",
    "LocalActivity",
    "RowsActivity",
    "day_offsets",
    "first_row_values",
    "is_native",
    "reduces_locally",
    "transaction_rows",
]
