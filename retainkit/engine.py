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

The reduced form and the rows it is read from are :mod:`retainkit.activity`,
membership at period boundaries (CRR) is :mod:`retainkit.boundaries`; their
names are re-exported here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from . import backends
from ._codes import earliest, factorize
from ._kernels import boundary_membership, mark_cells, membership_counts
from .activity import (
    Activity,
    CohortContext,
    LocalActivity,
    RowsActivity,
    day_offsets,
    first_row_values,
    is_native,
    reduces_locally,
    transaction_rows,
)
from .boundaries import (
    Boundaries,
    RowsBoundaries,
    parse_window,
    subscription_boundaries,
    transaction_boundaries,
)
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
)
from .readers import source_columns
from .rows import LocalRows
from .sources import backend_of


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


def _reduce_rows(tx: Transactions, rows: LocalRows, freq: str, include_partial: bool) -> Activity:
    lo_day, hi_day, day_rel = day_offsets(rows)
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
    "RowsActivity",
    "RowsBoundaries",
    "as_data",
    "boundary_membership",
    "first_row_values",
    "is_native",
    "membership_counts",
    "native_cohort_counts",
    "native_crr_counts",
    "parse_window",
    "reduce",
    "reduce_subscriptions",
    "reduce_transactions",
    "reduces_locally",
    "subscription_boundaries",
    "transaction_boundaries",
    "transaction_rows",
]
