"""The aggregation step: the only code that touches every row.

A log is reduced once to an :class:`Activity`: per customer the first and last
purchase period, and the distinct active (customer, period) pairs with their
revenue. Everything after that (cohort tables, CRR, charts, widgets) is cheap
arithmetic on these arrays, so interactive re-slicing never re-reads the log.

Definitions used: §1 (what counts as activity: amount >= 0 or unknown; refunds
reduce revenue but never activate), §2 (periods, cohorts, ages, complete
periods), §4 (who is a customer at a boundary).

The reduction is numpy: customer ids are coded densely (a lookup table for
compact integer ids), active pairs are marked in a customers x periods boolean
table (or hashed when that table would be too large) and CRR membership comes
from each customer's latest purchase day per period. It serves pandas frames
and, after one scan of three columns, polars and DuckDB logs of up to
``backends.LOCAL_REDUCE_MAX_ROWS`` rows; at 10M rows it is 6x faster than the
``groupby(...).nunique()`` tutorial recipe and 1.5x faster than hand-written
DuckDB (benchmarks/results.md). Larger native logs and Spark aggregate in their
engine (:mod:`retainkit.backends`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from . import backends
from ._codes import earliest, factorize
from ._kernels import boundary_membership, mark_cells, membership_counts, min_by_code
from .data import load_transactions
from .exceptions import ParameterError
from .inputs import Subscriptions, Transactions
from .periods import (
    NO_PERIOD,
    check_freq,
    current_period,
    days_to_period,
    last_complete_period,
    local_days,
    period_start,
    period_start_day,
)
from .readers import source_columns
from .rows import LocalRows, rows_from_frame
from .sources import backend_of


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


def reduce_transactions(tx: Transactions, freq: str = "M", *, include_partial: bool = False) -> Activity:
    """Reduce a transaction log to an :class:`Activity` (definitions §1, §2).

    Reads :func:`transaction_rows` (for polars or DuckDB data of at most
    :data:`retainkit.backends.LOCAL_REDUCE_MAX_ROWS` rows, one scan of its
    customer, day and amount columns; larger native data is materialised
    first: use cohort_table / crr_table on it directly to aggregate in its
    engine). The result is cached on ``tx`` per (freq, include_partial): a
    second table of another kind or split reuses it.
    """
    freq = check_freq(freq)
    key = ("activity", freq, bool(include_partial))
    act = tx.cache.get(key)
    if act is None:
        act = _reduce_rows(tx, transaction_rows(tx), freq, include_partial)
        tx.cache[key] = act
    return act


def _day_offsets(rows: LocalRows) -> tuple[int, int, np.ndarray]:
    """(first day, last day, day - first day per row as int16/int32): freq-independent, cached on the rows."""
    if "day_offsets" not in rows.cache:
        days = rows.days()
        lo, hi = (int(days.min()), int(days.max())) if len(days) else (0, 0)
        dt = np.int16 if hi - lo < 2**15 else np.int32 if hi - lo < 2**31 else np.int64
        rows.cache["day_offsets"] = (lo, hi, (days - lo).astype(dt))
    return rows.cache["day_offsets"]


def _reduce_rows(tx: Transactions, rows: LocalRows, freq: str, include_partial: bool) -> Activity:
    lo_day, hi_day, day_rel = _day_offsets(rows)
    period_of_day = days_to_period(np.arange(lo_day, hi_day + 1, dtype=np.int64), freq)
    last_complete = last_complete_period(tx.as_of, freq, tx.tz)
    current = current_period(tx.as_of, freq, tx.tz)
    max_period = current if include_partial else last_complete
    n = rows.n
    pmin = int(period_of_day[0]) if len(day_rel) else 0
    pmax = max(max_period, pmin)
    width = pmax - pmin + 1
    span = int(period_of_day[-1]) - pmin + 1  # periods of the rows, relative to pmin: 0 .. span-1
    rel_of_day = (period_of_day - pmin).astype(np.int16 if span < 2**15 else np.int32)
    prel = rel_of_day[day_rel]  # per row; the day -> period table is small, so this is one gather
    mp_rel = max_period - pmin
    after = int(period_of_day[-1]) > max_period  # some rows lie after max_period
    buy = rows.purchase & (prel <= mp_rel) if after else rows.purchase
    cell = rows.codes * width  # index-typed: numpy scatters with int32 indices convert them first
    cell += prel
    if not bool(rows.cache.setdefault("all_purchase", bool(rows.purchase.all()))) or after:
        cell = cell[buy]
    table, pairs, first, last = mark_cells(cell, n, width, pmin)
    del cell
    cls = LocalActivity if is_native(tx) and reduces_locally(tx) else RowsActivity
    return cls(
        freq=freq,
        tz=tx.tz,
        as_of=tx.as_of,
        last_complete=last_complete,
        current=current,
        max_period=max_period,
        source=tx,
        rows=rows,
        first=first,
        last=last,
        table=table,
        pairs=pairs,
        prel=prel,
        pmin=pmin,
        width=width,
        span=span,
    )


class _Lazy:
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

    pair_customer = _Lazy("_pairs_customer")
    pair_period = _Lazy("_pairs_period")
    revenue_customer = _Lazy("_revenue_customer")
    revenue_period = _Lazy("_revenue_period")
    revenue_amount = _Lazy("_revenue_amount")
    first_row = _Lazy("_first_row")

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


def reduce_subscriptions(subs: Subscriptions, freq: str = "M", *, include_partial: bool = False) -> Activity:
    """Reduce subscriptions to an :class:`Activity`.

    A customer is active in period p when one of their (merged) intervals
    overlaps it: ``start < end of p`` and ``end > start of p`` (definitions §3
    with §4's notion of being a customer). Revenue of (customer, p) is the MRR
    snapshot at the end of p: the summed ``mrr`` of intervals covering the
    instant just before the next period starts (definitions §4).
    """
    freq = check_freq(freq)
    tz = subs.tz
    last_complete = last_complete_period(subs.as_of, freq, tz)
    current = current_period(subs.as_of, freq, tz)
    max_period = current if include_partial else last_complete
    iv = subs.intervals
    codes_all, uniques = factorize(subs.frame["customer_id"])
    index = pd.Index(uniques)
    codes = index.get_indexer(iv["customer_id"]).astype(np.int64)
    n = len(uniques)
    p_start = days_to_period(local_days(iv["start"], tz), freq)
    pmin = int(p_start.min()) if len(p_start) else 0
    pmax = max(max_period, pmin)
    width = pmax - pmin + 1
    boundaries = period_start(np.arange(pmin, pmax + 2), freq, tz)  # starts of pmin .. pmax+1
    b_ns = boundaries.as_unit("ns").asi8
    s_ns = iv["start"].dt.as_unit("ns").array.asi8
    e_ns = iv["end"].dt.as_unit("ns").array.asi8.copy()
    e_ns[iv["end"].isna().to_numpy()] = np.iinfo(np.int64).max
    # periods overlapped: p with start(p) < end and start(p+1) > start
    lo = np.searchsorted(b_ns, s_ns, side="right") - 1  # period containing start
    hi = np.searchsorted(b_ns, e_ns, side="left")  # first period starting at/after end
    lo = np.clip(lo, 0, width)
    hi = np.clip(hi, 0, width)
    diff = np.zeros((n, width + 1), dtype=np.int32)
    ok = hi > lo
    np.add.at(diff, (codes[ok], lo[ok]), 1)
    np.add.at(diff, (codes[ok], hi[ok]), -1)
    active = np.cumsum(diff[:, :width], axis=1) > 0
    flat = np.flatnonzero(active.ravel())
    pc, pp = flat // width, flat % width + pmin
    has = active.any(axis=1)
    first = np.full(n, NO_PERIOD, np.int64)
    last = np.full(n, NO_PERIOD, np.int64)
    first[has] = active[has].argmax(axis=1) + pmin
    last[has] = width - 1 - active[has, ::-1].argmax(axis=1) + pmin
    # first row: the earliest-starting raw interval of each customer
    first_row = earliest(codes_all.astype(np.int64), subs.frame["start"].array.asi8, np.arange(len(subs.frame)), n)
    first_row[~has] = -1
    rc = rp = ra = None
    if subs.has_mrr:
        fr = subs.frame
        raw_codes = codes_all.astype(np.int64)
        rs = fr["start"].dt.as_unit("ns").array.asi8
        re_ = fr["end"].dt.as_unit("ns").array.asi8.copy()
        re_[fr["end"].isna().to_numpy()] = np.iinfo(np.int64).max
        # period p is covered at its end when start < start(p+1) <= end
        ends = b_ns[1:]
        lo2 = np.searchsorted(ends, rs, side="right")
        hi2 = np.searchsorted(ends, re_, side="right")
        mrr = np.zeros((n, width + 1), dtype=np.float64)
        ok2 = hi2 > lo2
        np.add.at(mrr, (raw_codes[ok2], lo2[ok2]), fr["mrr"].to_numpy(dtype=float)[ok2])
        np.add.at(mrr, (raw_codes[ok2], hi2[ok2]), -fr["mrr"].to_numpy(dtype=float)[ok2])
        snap = np.cumsum(mrr[:, :width], axis=1)
        snap[np.abs(snap) < 1e-9] = 0.0
        cells = active & (snap != 0)
        f2 = np.flatnonzero(cells.ravel())
        rc, rp, ra = f2 // width, f2 % width + pmin, snap.ravel()[f2]
    return Activity(
        freq=freq,
        tz=tz,
        as_of=subs.as_of,
        last_complete=last_complete,
        current=current,
        max_period=max_period,
        customer_ids=np.asarray(uniques),
        first=first,
        last=last,
        pair_customer=pc,
        pair_period=pp,
        revenue_customer=rc,
        revenue_period=rp,
        revenue_amount=ra,
        first_row=first_row,
        source=subs,
    )


def reduce(data, freq: str = "M", *, include_partial: bool = False) -> Activity:
    """Reduce Transactions or Subscriptions to an :class:`Activity` (definitions §1, §2).

    An Activity passes through unchanged when it already has the asked-for
    ``freq`` and partial-period setting, so widgets can re-slice it cheaply.
    Polars / DuckDB data of at most ``backends.LOCAL_REDUCE_MAX_ROWS`` rows is
    reduced from one scan of its columns; larger native data and Spark data
    are materialised in pandas first (use cohort_table / crr_table on them
    directly to aggregate in their engine).
    """
    data = as_data(data)
    if isinstance(data, Activity):
        wanted = data.current if include_partial else data.last_complete
        if data.freq != check_freq(freq) or data.max_period != wanted:
            return reduce(data.source, freq, include_partial=include_partial)
        return data
    if isinstance(data, Transactions):
        return reduce_transactions(data, freq, include_partial=include_partial)
    if isinstance(data, Subscriptions):
        return reduce_subscriptions(data, freq, include_partial=include_partial)
    raise ParameterError(
        f"expected the result of retainkit.load_transactions or load_subscriptions, got "
        f"{type(data).__name__}. Load the data first: tx = retainkit.load_transactions(df, ...)."
    )


# --------------------------------------------------------------------------- boundaries (CRR)
def parse_window(window) -> int:
    """Activity window W in whole days: '90D', '13W', 90, or a Timedelta of whole days (definitions §4)."""
    if isinstance(window, (int, np.integer)) and not isinstance(window, bool):
        days = int(window)
    elif isinstance(window, pd.Timedelta):
        if window % pd.Timedelta(days=1) != pd.Timedelta(0):
            raise ParameterError(f"window={window!r} must be a whole number of days, e.g. '90D'.")
        days = int(window / pd.Timedelta(days=1))
    elif isinstance(window, str):
        text = window.strip().upper()
        try:
            if text.endswith("W"):
                days = int(text[:-1]) * 7
            elif text.endswith("D"):
                days = int(text[:-1])
            else:
                days = int(text)
        except ValueError:
            raise ParameterError(
                f"window={window!r} is not a number of days or weeks. Write e.g. '90D' or '13W' "
                "(calendar months vary in length: use days)."
            ) from None
    else:
        raise ParameterError(f"window={window!r} must be like '90D', '13W' or an int number of days.")
    if days <= 0:
        raise ParameterError(f"window={window!r} must be at least one day.")
    return days


@dataclass
class Boundaries:
    """Who is a customer at each period boundary (definitions §4).

    ``member[c, j]`` is True when customer c is a customer at boundary j, the
    first instant of period ``periods[j]``; boundary j+1 ends period j.
    """

    periods: np.ndarray  # period index of each boundary's period
    member: np.ndarray  # bool (customers x boundaries)
    first_period: np.ndarray  # period of each customer's first activity (NO_PERIOD = none)
    first_row: np.ndarray
    data_start_day: int
    boundary_days: np.ndarray
    window_days: int | None
    source: Transactions | Subscriptions = field(repr=False)
    customer_ids: np.ndarray = field(repr=False, default=None)

    def customer_attribute(self, column: str) -> np.ndarray:
        """Value of ``column`` on each customer's first activity row (None where never active)."""
        return first_row_values(self.source, self.first_row, column)


def transaction_boundaries(tx: Transactions, freq: str, window_days: int) -> Boundaries:
    """Membership at every boundary from the first data period to the last complete one.

    For transaction logs a customer is a customer at boundary b when they
    purchased in the trailing window [b - W, b) (W in days, definitions §4).
    Reads :func:`transaction_rows`; cached on ``tx`` per (freq, W).
    """
    freq = check_freq(freq)
    key = ("boundaries", freq, int(window_days))
    if key in tx.cache:
        return tx.cache[key]
    rows = transaction_rows(tx)
    codes, days, buy = rows.codes, rows.days(), rows.purchase
    last_complete = last_complete_period(tx.as_of, freq, tx.tz)
    all_buy = bool(rows.cache.setdefault("all_purchase", bool(buy.all())))
    bcodes, bdays = (codes, days) if all_buy else (codes[buy], days[buy])
    data_start = _day_offsets(rows)[0]
    p0 = int(days_to_period(np.array([bdays.min() if len(bdays) else data_start]), freq)[0])
    periods = np.arange(p0, last_complete + 2)  # boundaries: starts of p0 .. last_complete + 1
    bd = period_start_day(periods, freq)
    n = rows.n
    member, first_index = boundary_membership(bcodes, bdays, n, bd, window_days)
    # the first purchase lies in boundary period first_index; customers whose purchases all lie after
    # the last boundary (first_index -1, first_period NO_PERIOD) get the period of their first purchase day
    first_period = np.where(first_index >= 0, first_index + p0, NO_PERIOD)
    if len(bdays) and int(bdays.max()) >= int(bd[-1]):
        bought = np.zeros(n, dtype=bool)
        bought[bcodes] = True
        late = bought & (first_index < 0)
        if late.any():
            sel = np.flatnonzero(late[bcodes])
            first_day = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
            min_by_code(first_day, bcodes[sel], bdays[sel])
            first_period[late] = days_to_period(first_day[late], freq)
    bounds = RowsBoundaries(
        periods=periods,
        member=member.T,
        first_period=first_period,
        first_row=None,
        data_start_day=data_start,
        boundary_days=bd,
        window_days=window_days,
        source=tx,
        customer_ids=np.asarray(rows.customer_ids),
    )
    bounds.rows = rows
    tx.cache[key] = bounds
    return bounds


class RowsBoundaries(Boundaries):
    """:class:`Boundaries` of a transaction log; ``first_row`` (each customer's first purchase row, for
    acquisition segments) is found only when read."""

    first_row = _Lazy("_first_row")

    def _first_row(self) -> np.ndarray:
        out = self.rows.first_purchase_rows().copy()
        out[self.first_period == NO_PERIOD] = -1
        return out


def subscription_boundaries(subs: Subscriptions, freq: str) -> Boundaries:
    """Membership at boundaries for subscriptions: an interval covers the instant just before b.

    That is ``start < b <= end`` (an empty end never ends), definitions §4.
    """
    freq = check_freq(freq)
    tz = subs.tz
    iv = subs.intervals
    codes_all, uniques = factorize(subs.frame["customer_id"])
    index = pd.Index(uniques)
    codes = index.get_indexer(iv["customer_id"]).astype(np.int64)
    n = len(uniques)
    last_complete = last_complete_period(subs.as_of, freq, tz)
    start_days = local_days(iv["start"], tz)
    p0 = int(days_to_period(np.array([start_days.min()]), freq)[0])
    periods = np.arange(p0, last_complete + 2)
    b_ns = period_start(periods, freq, tz).as_unit("ns").asi8
    s_ns = iv["start"].dt.as_unit("ns").array.asi8
    e_ns = iv["end"].dt.as_unit("ns").array.asi8.copy()
    e_ns[iv["end"].isna().to_numpy()] = np.iinfo(np.int64).max
    lo = np.searchsorted(b_ns, s_ns, side="right")  # first boundary strictly after start
    hi = np.searchsorted(b_ns, e_ns, side="right")  # boundaries <= end
    width = len(b_ns)
    diff = np.zeros((n, width + 1), dtype=np.int32)
    ok = hi > lo
    np.add.at(diff, (codes[ok], lo[ok]), 1)
    np.add.at(diff, (codes[ok], hi[ok]), -1)
    member = np.cumsum(diff[:, :width], axis=1) > 0
    first_day = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    min_by_code(first_day, codes, start_days)
    first_period = days_to_period(first_day, freq)
    first_row = earliest(codes_all.astype(np.int64), subs.frame["start"].array.asi8, np.arange(len(subs.frame)), n)
    return Boundaries(
        periods=periods,
        member=member,
        first_period=first_period,
        first_row=first_row,
        data_start_day=int(start_days.min()),
        boundary_days=period_start_day(periods, freq),
        window_days=None,
        source=subs,
        customer_ids=np.asarray(uniques),
    )


# --------------------------------------------------------------------------- other engines
def as_data(data, segments=()):
    """Return loaded data; load a raw frame with the standard column names first.

    Transactions, Subscriptions and Activity pass through. A pandas / polars /
    DuckDB / Spark frame is loaded with :func:`retainkit.load_transactions`
    using the default names (``customer_id``, ``timestamp``, ``amount`` when
    present) and ``segments`` as segment columns, in its own engine (a Spark
    DataFrame stays a Spark job). Anything else raises ParameterError.
    Validation and counting of dropped rows (definitions §1) stay
    load_transactions' job; load explicitly to map other column names.
    """
    if isinstance(data, (Transactions, Subscriptions, Activity)):
        return data
    if backend_of(data) is None:
        raise ParameterError(
            f"expected the result of retainkit.load_transactions or load_subscriptions, or a "
            f"pandas / polars / DuckDB / Spark frame, got {type(data).__name__}. Load the data first: "
            "tx = retainkit.load_transactions(source, customer_id=..., timestamp=...)."
        )
    columns = source_columns(data)
    wanted = [c for c in dict.fromkeys(segments) if c]
    return load_transactions(data, amount="amount" if "amount" in columns else None, segments=wanted)


def is_native(data) -> bool:
    """True for Transactions whose rows live in polars, DuckDB or Spark."""
    return isinstance(data, Transactions) and data.native is not None


def native_cohort_counts(
    tx: Transactions,
    freq: str = "M",
    *,
    include_partial: bool = False,
    by: list[str] | None = None,
    cohort_key: str | None = None,
):
    """Cohort counts computed in the engine holding ``tx`` (definitions §2, §3).

    Returns ``(counts, context)``: the frame of
    :func:`retainkit.cohorts.cohort_counts` and a :class:`CohortContext`.
    """
    freq = check_freq(freq)
    last_complete = last_complete_period(tx.as_of, freq, tx.tz)
    current = current_period(tx.as_of, freq, tx.tz)
    max_period = current if include_partial else last_complete
    counts = backends.cohort_counts(tx.native, freq, max_period, last_complete, by=by, cohort_key=cohort_key)
    ctx = CohortContext(
        freq=freq,
        tz=tx.tz,
        as_of=tx.as_of,
        last_complete=last_complete,
        current=current,
        max_period=max_period,
        source=tx,
    )
    return counts, ctx


def native_crr_counts(tx: Transactions, freq: str, window_days: int, *, by: list[str] | None = None):
    """CRR counts per (segments, complete period) in the engine holding ``tx`` (definitions §4)."""
    freq = check_freq(freq)
    last_complete = last_complete_period(tx.as_of, freq, tx.tz)
    return backends.crr_counts(tx.native, freq, window_days, last_complete, by=by)


__all__ = [
    "Activity",
    "Boundaries",
    "CohortContext",
    "LocalActivity",
    "as_data",
    "boundary_membership",
    "is_native",
    "membership_counts",
    "native_cohort_counts",
    "native_crr_counts",
    "parse_window",
    "reduce",
    "reduces_locally",
    "reduce_subscriptions",
    "reduce_transactions",
    "subscription_boundaries",
    "transaction_boundaries",
]
