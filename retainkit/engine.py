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
from ._kernels import boundary_membership, mark_pairs, membership_counts, min_by_code
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
from .sources import backend_of


def first_row_values(source, first_row: np.ndarray, column: str) -> np.ndarray:
    """``column`` read on each customer's first row (``first_row`` positions, -1 = none -> None)."""
    frame = source.frame
    if column not in frame.columns:
        raise ParameterError(
            f"'{column}' is not a column of the loaded data. Load it as a segment: "
            f"load_transactions(..., segments=[..., '{column}'])."
        )
    values = frame[column].to_numpy(dtype=object)
    out = np.full(len(first_row), None, dtype=object)
    ok = first_row >= 0
    out[ok] = values[first_row[ok]]
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


def reduce_transactions(tx: Transactions, freq: str = "M", *, include_partial: bool = False) -> Activity:
    """Reduce a transaction log to an :class:`Activity` (definitions §1, §2).

    Data held by polars or DuckDB of at most
    :data:`retainkit.backends.LOCAL_REDUCE_MAX_ROWS` rows is scanned once for
    its (customer, day, amount) columns and reduced here, without a pandas
    frame; larger native data is materialised first (use cohort_table /
    crr_table on it directly to aggregate in its engine).
    """
    freq = check_freq(freq)
    if reduces_locally(tx):
        local = backends.local_rows(tx.native)
        codes, n, uniques = local.codes, local.n, local.customer_ids
        days = local.columns["day"]
        amount = local.columns.get("amount")
        keys = None
    else:
        f = tx.frame
        codes, uniques = factorize(f["customer_id"])
        n = len(uniques)
        days = local_days(f["timestamp"], tx.tz)
        amount = f["amount"].to_numpy(dtype="float64", na_value=np.nan) if tx.has_amount else None
        keys = f["timestamp"].array.asi8
    # lean dtypes: at 10M rows every temporary array costs page faults as much as arithmetic
    periods = days_to_period(days, freq).astype(np.int32)
    last_complete = last_complete_period(tx.as_of, freq, tx.tz)
    current = current_period(tx.as_of, freq, tx.tz)
    max_period = current if include_partial else last_complete
    pmin = int(periods.min()) if len(periods) else 0
    pmax = max(max_period, pmin)
    width = pmax - pmin + 1
    buy = periods <= max_period
    if amount is not None:
        buy &= ~(amount < 0)
    kdt = np.int32 if n * width < 2**31 else np.int64
    cell = codes.astype(kdt) * kdt(width)
    cell += (periods - pmin).astype(kdt)
    pc, pp, first, last = mark_pairs(cell[buy], n, width, pmin)
    if keys is not None:
        # first purchase row of each customer: earliest timestamp among rows of its first period
        cand = np.flatnonzero(buy & (periods == first[codes]))
        first_row = earliest(codes, keys, cand, n)
    else:  # acquisition segments are read in the engine (LocalActivity)
        first_row = np.full(n, -1, dtype=np.int64)
    rc = rp = ra = None
    if amount is not None:
        # revenue rows: known amounts in periods first <= p <= max_period (never-active customers: NO_PERIOD)
        start = np.where(first != NO_PERIOD, first, np.iinfo(np.int32).max).astype(np.int32)
        rev = np.flatnonzero((periods >= start[codes]) & (periods <= max_period) & ~np.isnan(amount))
        rc, rp, ra = codes[rev], periods[rev], amount[rev]
    cls = LocalActivity if keys is None else Activity
    return cls(
        freq=freq,
        tz=tx.tz,
        as_of=tx.as_of,
        last_complete=last_complete,
        current=current,
        max_period=max_period,
        customer_ids=uniques,
        first=first,
        last=last,
        pair_customer=pc,
        pair_period=pp,
        revenue_customer=rc,
        revenue_period=rp,
        revenue_amount=ra,
        first_row=first_row,
        source=tx,
    )


class LocalActivity(Activity):
    """An :class:`Activity` reduced from polars / DuckDB rows without a pandas frame.

    ``first_row`` is -1 throughout: acquisition segments are read in the
    engine instead (the values on each customer's first purchase; ties at the
    first instant take the smallest value, as in
    :func:`retainkit.backends.cohort_counts`).
    """

    def customer_attribute(self, column: str) -> np.ndarray:
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
    """
    freq = check_freq(freq)
    f = tx.frame
    codes, uniques = factorize(f["customer_id"])
    days = local_days(f["timestamp"], tx.tz)
    if tx.has_amount:
        buy = ~(f["amount"].to_numpy(dtype="float64", na_value=np.nan) < 0)
    else:
        buy = np.ones(len(f), dtype=bool)
    last_complete = last_complete_period(tx.as_of, freq, tx.tz)
    bcodes, bdays = codes[buy].astype(np.int64), days[buy]
    data_start = int(days.min())
    p0 = int(days_to_period(np.array([bdays.min() if len(bdays) else data_start]), freq)[0])
    periods = np.arange(p0, last_complete + 2)  # boundaries: starts of p0 .. last_complete + 1
    bd = period_start_day(periods, freq)
    n = len(uniques)
    member, first_index = boundary_membership(bcodes, bdays, n, bd, window_days)
    none = np.iinfo(np.int64).max
    first_day = np.full(n, none, dtype=np.int64)
    min_by_code(first_day, bcodes, bdays)
    first_period = np.where(
        first_day == none, NO_PERIOD, days_to_period(np.where(first_day == none, data_start, first_day), freq)
    )
    buy_rows = np.flatnonzero(buy)
    cand = buy_rows[days[buy_rows] == first_day[codes[buy_rows]]]
    first_row = earliest(codes.astype(np.int64), f["timestamp"].array.asi8, cand, n)
    return Boundaries(
        periods=periods,
        member=member.T,
        first_period=first_period,
        first_row=first_row,
        data_start_day=data_start,
        boundary_days=bd,
        window_days=window_days,
        source=tx,
        customer_ids=np.asarray(uniques),
    )


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
