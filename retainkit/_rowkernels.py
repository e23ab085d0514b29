"""Pure numpy kernels over the rows of a transaction log: exact duplicates and local day numbers.

Both are exact; they are only faster than the obvious pandas calls on large logs
(measured in benchmarks/results.md):

- :func:`duplicated_rows` is ``DataFrame.duplicated(keep="first")`` over integer
  row keys: the keys are mixed into one 64-bit hash, the high 32 bits are sorted,
  and only the rows whose hash repeats are compared exactly (by pandas). On a log
  where one key column is already sorted (a time-ordered export), only rows next
  to an equal neighbour in that column can repeat, so just those are hashed.
- :func:`local_day_numbers` is the local calendar day of int64 instants in a time
  zone (definitions §1 "Time zone"), through a table of 15-minute UTC buckets; the
  few buckets that hold a local midnight or a change of UTC offset are converted
  by pandas row by row.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

import numpy as np
import pandas as pd

#: odd 64-bit multipliers (golden-ratio and murmur/xxhash constants), one per key column
_MULTIPLIERS = (
    0x9E3779B97F4A7C15,
    0xC2B2AE3D27D4EB4F,
    0x165667B19E3779F9,
    0xD6E8FEB86659FD93,
    0xFF51AFD7ED558CCD,
    0xC4CEB9FE1A85EC53,
    0x94D049BB133111EB,
    0xBF58476D1CE4E5B9,
)
#: bits of the bitmap that pre-selects rows whose 32-bit hash repeats (1 MB: it stays in cache)
_BITMAP_BITS = 20
_HIGH = 1 if sys.byteorder == "little" else 0
#: time units of datetime64 columns, per second
PER_SECOND = {"s": 1, "ms": 1_000, "us": 1_000_000, "ns": 1_000_000_000}
_BUCKET_SECONDS = 900


def _near_equal_neighbour(sorted_key: np.ndarray) -> np.ndarray:
    """Positions whose value equals the previous or the next one (in a sorted column)."""
    eq = sorted_key[1:] == sorted_key[:-1]
    near = np.zeros(len(sorted_key), dtype=bool)
    near[1:] = eq
    near[:-1] |= eq
    return np.flatnonzero(near)


def _is_sorted(values: np.ndarray) -> bool:
    return len(values) < 2 or bool(np.all(values[1:] >= values[:-1]))


def duplicated_rows(
    keys: Sequence[np.ndarray], *, exact: Sequence = (), sorted_hint: int | None = None, rows: np.ndarray | None = None
) -> np.ndarray:
    """Rows equal in every column to an earlier row, like ``DataFrame.duplicated(keep="first")``.

    Parameters
    ----------
    keys : sequence of 8-byte integer arrays of equal length
        One per hashed column, such that equal values have equal keys (integer
        codes of strings, int64 instants, the bits of canonical floats: NaN and
        -0.0 mapped to one value each).
    exact : sequence of arrays or pandas Series, optional
        Further columns of the same rows that are only compared (by pandas) on
        the rows whose hashed keys repeat: columns that rarely tell rows apart
        (a segment) need not be coded for every row.
    sorted_hint : int, optional
        Index of a key that may be sorted non-decreasingly (checked; e.g. the
        timestamps of a time-ordered log). Only rows next to an equal neighbour
        in it can be duplicates, so only those are hashed.
    rows : int array, optional
        Only these positions (ascending) can be duplicates (e.g. the rows
        without an order id); the others are never duplicates.

    Returns
    -------
    numpy.ndarray of bool
    """
    keys = [np.ascontiguousarray(k).view(np.uint64) for k in keys]
    n = len(keys[0])
    out = np.zeros(n, dtype=bool)
    if n < 2:
        return out
    sub = rows
    if sorted_hint is not None and _is_sorted(keys[sorted_hint].view(np.int64)):
        near = _near_equal_neighbour(keys[sorted_hint])
        sub = near if sub is None else np.intersect1d(sub, near, assume_unique=True)
    if sub is None:
        return _duplicated_hashed(keys, exact)
    if len(sub) > 1:
        out[sub] = _duplicated_hashed([k[sub] for k in keys], [_at(e, sub) for e in exact])
    return out


def _at(values, positions: np.ndarray):
    return values.iloc[positions] if isinstance(values, pd.Series) else np.asarray(values)[positions]


def _duplicated_hashed(keys: list[np.ndarray], exact: Sequence = ()) -> np.ndarray:
    n = len(keys[0])
    out = np.zeros(n, dtype=bool)
    if n < 2:
        return out
    h = keys[0] * np.uint64(_MULTIPLIERS[0])
    tmp = np.empty_like(h)
    for i, k in enumerate(keys[1:], start=1):
        np.multiply(k, np.uint64(_MULTIPLIERS[i % len(_MULTIPLIERS)]), out=tmp)
        h += tmp
    del tmp
    hi = h.view(np.uint32)[_HIGH::2]  # the high 32 bits: they depend on every bit of every key
    s = np.sort(hi)
    repeated = s[1:][s[1:] == s[:-1]]
    del s
    if len(repeated) == 0:
        return out
    repeated = np.unique(repeated)
    bitmap = np.zeros(1 << _BITMAP_BITS, dtype=bool)
    bitmap[repeated >> (32 - _BITMAP_BITS)] = True
    cand = np.flatnonzero(bitmap[hi >> (32 - _BITMAP_BITS)])
    cand = cand[np.isin(hi[cand], repeated)]
    # rows of one hash value are all candidates, so "first" among them is first in the log
    columns = {i: k[cand] for i, k in enumerate(keys)}
    columns.update({len(keys) + i: np.asarray(_at(e, cand)) for i, e in enumerate(exact)})
    same = pd.DataFrame(columns).duplicated(keep="first").to_numpy()
    out[cand[same]] = True
    return out


def float_keys(values: np.ndarray, missing: np.ndarray | None = None) -> np.ndarray:
    """int64 keys of float64 values for :func:`duplicated_rows`: -0.0 as 0.0, every NaN as one NaN."""
    bits = (np.asarray(values, dtype=np.float64) + 0.0).view(np.int64)  # -0.0 + 0.0 is 0.0
    if missing is None:
        missing = np.isnan(values)
    if missing.any():
        bits[missing] = np.array([np.nan]).view(np.int64)[0]
    return bits


def local_day_numbers(instants: np.ndarray, unit: str, tz: str) -> np.ndarray:
    """Local calendar day (days since 1970-01-01 in ``tz``) of int64 UTC instants counted in ``unit``.

    Exact for every time zone: instants are looked up in a table of 15-minute
    UTC buckets; a bucket whose UTC offset changes or that holds a local
    midnight is converted by pandas row by row. Returns int32 when the days fit.
    """
    per_day = 86_400 * PER_SECOND[unit]
    values = np.asarray(instants, dtype=np.int64)
    if len(values) == 0:
        return np.empty(0, dtype=np.int32)
    if tz == "UTC":
        return _narrow(values // per_day)
    per_bucket = _BUCKET_SECONDS * PER_SECOND[unit]
    bucket = values // per_bucket
    lo, hi = int(bucket.min()), int(bucket.max())
    if hi - lo + 2 > max(len(values) // 2, 1 << 16):  # a few rows over a long span: convert them directly
        return _narrow(_pandas_days(values, unit, tz))
    starts = np.arange(lo, hi + 2, dtype=np.int64) * per_bucket
    local = _to_local(starts, unit, tz)
    offset = local - starts
    day_at_start = local // per_day
    # one offset through the bucket and the same local day at its first and last instant
    simple = (offset[:-1] == offset[1:]) & (day_at_start[:-1] == (starts[1:] - 1 + offset[:-1]) // per_day)
    rel = bucket - lo
    days = day_at_start[:-1][rel]
    if not simple.all():
        odd = np.flatnonzero(~simple[rel])
        if len(odd):
            days[odd] = _pandas_days(values[odd], unit, tz)
    return _narrow(days)


def _to_local(values: np.ndarray, unit: str, tz: str) -> np.ndarray:
    idx = pd.DatetimeIndex(values.view(f"datetime64[{unit}]")).tz_localize("UTC").tz_convert(tz).tz_localize(None)
    return np.asarray(idx, dtype=f"datetime64[{unit}]").view(np.int64)


def _pandas_days(values: np.ndarray, unit: str, tz: str) -> np.ndarray:
    return _to_local(values, unit, tz) // (86_400 * PER_SECOND[unit])


def _narrow(days: np.ndarray) -> np.ndarray:
    if len(days) and -(2**31) < int(days.min()) and int(days.max()) < 2**31:
        return days.astype(np.int32)
    return days.astype(np.int64, copy=False)


__all__ = ["PER_SECOND", "duplicated_rows", "float_keys", "local_day_numbers"]
