"""Who is a customer at each period boundary, for CRR (definitions §4).

:func:`transaction_boundaries` (a purchase in the trailing window W before
the boundary) and :func:`subscription_boundaries` (an interval covering the
instant just before it) give :class:`Boundaries`; :func:`parse_window` reads
W in whole days.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ._codes import earliest, factorize
from ._kernels import boundary_membership, min_by_code
from .activity import Lazy, day_offsets, first_row_values, transaction_rows
from .exceptions import ParameterError
from .inputs import Subscriptions, Transactions
from .periods import (
    NO_PERIOD,
    check_freq,
    days_to_period,
    last_complete_period,
    local_days,
    period_start,
    period_start_day,
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
    data_start = day_offsets(rows)[0]
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

    first_row = Lazy("_first_row")

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


__all__ = [
    "Boundaries",
    "RowsBoundaries",
    "parse_window",
    "subscription_boundaries",
    "transaction_boundaries",
]
