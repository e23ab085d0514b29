"""Pure numpy kernels of the aggregation step (no pandas objects, no I/O).

Used by :mod:`retainkit.engine` (the in-memory reduction) and
:mod:`retainkit.backends` (the local path of polars and DuckDB logs):
distinct active (customer, period) cells, membership at period boundaries and
the CRR counts from it (definitions §2, §4).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from .exceptions import ParameterError
from .periods import NO_PERIOD

#: largest customers x periods boolean table built densely (bytes)
DENSE_LIMIT = 400_000_000


def mark_cells(keys: np.ndarray, n_customers: int, width: int, pmin: int):
    """Distinct (code, period) cells from ``keys = code * width + period - pmin``.

    Returns ``(table, pairs, first, last)``: the customers x periods boolean table
    when it fits in :data:`DENSE_LIMIT` bytes (``pairs`` None, read from it
    when asked), else ``table`` None and ``pairs`` (customer, period) from
    hashing; plus the first / last marked period per code
    (:data:`~retainkit.periods.NO_PERIOD` = none).
    """
    first = np.full(n_customers, NO_PERIOD, dtype=np.int64)
    last = np.full(n_customers, NO_PERIOD, dtype=np.int64)
    if len(keys) == 0 or width <= 0:
        return None, (np.empty(0, np.int64), np.empty(0, np.int64)), first, last
    if n_customers * width <= DENSE_LIMIT:
        table = np.zeros(n_customers * width, dtype=bool)
        table[keys] = True
        table = table.reshape(n_customers, width)
        at = table.argmax(axis=1)
        has = table[np.arange(n_customers), at]  # argmax of a row without True is 0, where it is False
        first = np.where(has, at + pmin, NO_PERIOD)
        last = np.where(has, width - 1 - table[:, ::-1].argmax(axis=1) + pmin, NO_PERIOD)
        return table, None, first, last
    flat = pd.unique(keys).astype(np.int64)
    flat.sort()
    cust, per = flat // width, flat % width + pmin
    starts = np.r_[True, cust[1:] != cust[:-1]]
    ends = np.r_[cust[1:] != cust[:-1], True]
    first[cust[starts]] = per[starts]
    last[cust[ends]] = per[ends]
    return None, (cust, per), first, last


#: largest (periods x customers) table of latest purchase days built by boundary_membership (bytes)
LATEST_TABLE_LIMIT = 600_000_000


def boundary_membership(
    codes: np.ndarray, days: np.ndarray, n: int, boundary_days: np.ndarray, window_days: int, *, method: str = "auto"
) -> tuple[np.ndarray, np.ndarray]:
    """Who is a customer at each boundary, from purchase days (definitions §4).

    Customer c is a customer at boundary j when one of their purchase days d
    lies in the trailing window: ``boundary_days[j] - W <= d < boundary_days[j]``.

    Parameters
    ----------
    codes : int array
        Customer code (0 .. n-1) of each purchase.
    days : int array
        Local day number of each purchase, none before ``boundary_days[0]``
        (boundary 0 is the start of the first purchase period).
    n : int
        Number of customer codes.
    boundary_days : int array
        Day number of each boundary (the first day of consecutive periods).
    window_days : int
        W.
    method : {"auto", "latest", "rows"}
        ``"latest"`` first keeps each customer's latest purchase day per period
        (one scatter over the rows, then a few vector comparisons per boundary;
        the latest day reaches furthest, so nothing else matters);
        ``"rows"`` marks the boundaries of every purchase directly (less memory
        for many periods). ``"auto"`` picks "latest" while its table fits in
        :data:`LATEST_TABLE_LIMIT`. Both give the same result.

    Returns
    -------
    member : bool array (boundaries x customers)
        ``member[j, c]`` is True when c is a customer at boundary j.
    first_index : int64 array
        Per customer, the index q of the period [boundary q, boundary q+1)
        holding their first purchase before the last boundary (-1 when none).
    """
    bd = np.asarray(boundary_days, dtype=np.int64)
    nb = len(bd)
    n_periods = max(nb - 1, 0)
    member = np.zeros((nb, n), dtype=bool)
    first_index = np.full(n, -1, dtype=np.int64)
    days = np.asarray(days)
    if len(days) == 0 or n_periods == 0:
        return member, first_index
    # period of each purchase through a day -> period lookup table (cheaper than a search per row)
    dmin = int(days.min())
    span_days = int(days.max()) - dmin + 1
    rel = np.subtract(days, dmin, dtype=np.intp)  # index-typed: gathers with other integers convert first
    q_of_day = np.searchsorted(bd, np.arange(dmin, dmin + span_days), side="right") - 1
    q = np.take(q_of_day, rel)
    # days on or after the last boundary mark none of these boundaries (nor do days before the first)
    every = int(q_of_day.min()) >= 0 and int(q_of_day.max()) < n_periods
    ok = slice(None) if every else (q >= 0) & (q < n_periods)
    small = span_days < 2**15 - 1
    if method == "auto":
        method = "latest" if n_periods * n * (2 if small else 4) <= LATEST_TABLE_LIMIT else "rows"
    if method == "latest":
        dtype = np.int16 if small else np.int32
        latest = np.full(n_periods * n, -1, dtype=dtype)
        cells = q[ok] * n
        cells += codes[ok]
        np.maximum.at(latest, cells, rel[ok].astype(dtype))
        del cells
        latest = latest.reshape(n_periods, n)
        for j in range(1, nb):
            floor = max(int(bd[j]) - window_days - dmin, 0)  # latest >= floor <=> a day in the window
            for p in range(j - 1, -1, -1):
                if bd[p + 1] <= bd[j] - window_days:
                    break  # period p ends before the window starts
                member[j] |= latest[p] >= floor
        unset = np.ones(n, dtype=bool)
        for p in range(n_periods):  # the first period with a purchase
            hit = unset & (latest[p] >= 0)
            first_index[hit] = p
            unset &= ~hit
    elif method == "rows":
        qo, co, ro = q[ok].astype(np.int64), codes[ok].astype(np.int64), rel[ok].astype(np.int64) + dmin
        # boundary j contains day d in its window when d < bd[j] <= d + W: j in [q + 1, hi)
        hi = np.searchsorted(bd, ro + window_days, side="right")
        span = hi - (qo + 1)
        flat = member.ravel()
        base = (qo + 1) * n + co
        for offset in range(int(span.max()) if len(span) else 0):
            sel = span > offset
            np.put(flat, base[sel] + offset * n, True)
        first = np.full(n, n_periods, dtype=np.int64)
        np.minimum.at(first, co, qo)
        first_index = np.where(first == n_periods, -1, first)
    else:
        raise ParameterError(f"method={method!r}: use 'auto', 'latest' or 'rows'.")
    return member, first_index


def membership_counts(
    member: np.ndarray, first_index: np.ndarray, group: np.ndarray, n_groups: int
) -> dict[str, np.ndarray]:
    """CRR counts per group and period from boundary membership (definitions §4).

    ``member`` is (boundaries x customers); period j runs from boundary j to
    j+1. ``first_index`` is the period index of each customer's first
    purchase (-1 = none) and ``group`` their segment code (-1 = in no group).
    Returns (groups x periods) int64 arrays: start_customers, end_customers,
    new, retained, lost, reactivated.
    """
    n_b = member.shape[0]
    n_p = max(n_b - 1, 0)
    group = np.asarray(group, dtype=np.int64)
    g = np.where(group < 0, n_groups, group)  # customers in no group go to a dropped extra row
    one = n_groups == 1 and not (group != 0).any()  # everyone in group 0: plain counts
    size = (n_groups + 1, n_p)
    start, end, new, retained = (np.zeros(size, dtype=np.int64) for _ in range(4))
    # the customers whose first purchase lies in period j are order[bounds[j]:bounds[j + 1]]
    # values outside 0 .. n_p - 1 never match a period: clipped, they fit an int16 without wrapping
    first_index = np.clip(first_index, -1, n_p).astype(np.int16 if n_p < 2**15 - 1 else np.int64)
    order = np.argsort(first_index, kind="stable")  # a radix sort on int16
    bounds = np.searchsorted(first_index[order], np.arange(n_p + 1))

    def count(mask: np.ndarray, j: int, out: np.ndarray) -> None:
        if one:
            out[0, j] = np.count_nonzero(mask)
        else:
            out[:, j] = np.bincount(g[mask], minlength=n_groups + 1)

    for j in range(n_p):
        s, e = member[j], member[j + 1]
        count(s, j, start)
        count(e, j, end)
        count(s & e, j, retained)
        firsts = order[bounds[j] : bounds[j + 1]]
        firsts = firsts[e[firsts]]  # new: first purchase in period j and a customer at its end
        new[:, j] = np.bincount(g[firsts], minlength=n_groups + 1)
    start, end, new, retained = (a[:n_groups] for a in (start, end, new, retained))
    return {
        "start_customers": start,
        "end_customers": end,
        "new": new,
        "retained": retained,
        "lost": start - retained,
        "reactivated": end - retained - new,
    }


def min_by_code(out: np.ndarray, codes: np.ndarray, values: np.ndarray) -> None:
    if len(codes):
        np.minimum.at(out, codes, np.asarray(values, dtype=out.dtype))


__all__ = ["DENSE_LIMIT", "LATEST_TABLE_LIMIT", "boundary_membership", "mark_cells", "membership_counts", "min_by_code"]
