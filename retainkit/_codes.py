"""Dense integer codes for customer ids (the first step of every reduction)."""

from __future__ import annotations

import numpy as np
import pandas as pd

#: integer ids spanning at most this many values per row are coded through a lookup table
_SPAN_PER_ROW = 4


def factorize(values) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..n-1 (int64) and the distinct values, like ``pandas.factorize``.

    Integer ids without missing values whose range is at most a few times the
    number of rows (the usual database keys) are coded through a lookup table
    indexed by ``id - min``: two vector passes instead of a hash table, about
    6x faster at 10M rows; their distinct values come out sorted. Any other ids
    go through ``pandas.factorize`` (order of first appearance). Callers must
    not rely on the order of the distinct values.
    """
    arr = values.to_numpy() if isinstance(values, (pd.Series, pd.Index)) else np.asarray(values)
    if arr.dtype.kind in "iu" and len(arr):
        lo, hi = int(arr.min()), int(arr.max())
        span = hi - lo + 1
        if span <= max(_SPAN_PER_ROW * len(arr), 1 << 20):
            offset = (arr - lo) if arr.dtype.kind == "i" else (arr - np.uint64(lo)).astype(np.int64)
            offset = offset.astype(np.intp, copy=False)
            used = np.zeros(span, dtype=bool)
            used[offset] = True
            # an int32 table halves the memory the gather touches (ids of up to 2**31 customers)
            lookup = np.cumsum(used, dtype=np.int32 if span < 2**31 else np.int64)
            np.subtract(lookup, 1, out=lookup)
            uniques = (np.flatnonzero(used) + lo).astype(arr.dtype)
            return np.take(lookup, offset).astype(np.int64), uniques
    codes, uniques = pd.factorize(values, sort=False)
    return codes.astype(np.int64, copy=False), np.asarray(uniques)


def codes_in_sorted(sorted_values: np.ndarray, values: np.ndarray) -> np.ndarray:
    """Position of each of ``values`` (uint64, every one present) in the sorted distinct ``sorted_values``.

    For uniformly spread values such as hashes: a directory on the top bits
    points into ``sorted_values``, and the few values sharing a directory
    slot are stepped through in a handful of vector passes (cheaper than a
    binary search per value).
    """
    k = max(int(np.ceil(np.log2(max(len(sorted_values), 2)))), 1) + 2
    shift = np.uint64(64 - k)
    starts = np.searchsorted(sorted_values >> shift, np.arange((1 << k) + 1, dtype=np.uint64)).astype(np.int64)
    code = np.take(starts, (values >> shift).astype(np.intp))
    pending = np.flatnonzero(np.take(sorted_values, code) != values)
    while len(pending):
        code[pending] += 1
        pending = pending[np.take(sorted_values, code[pending]) != values[pending]]
    return code


def earliest(codes: np.ndarray, keys: np.ndarray, candidates: np.ndarray, n: int) -> np.ndarray:
    """Per code, the candidate position with the smallest key, the first such position on ties (-1 where none)."""
    out = np.full(n, -1, dtype=np.int64)
    if len(candidates) == 0:
        return out
    cc, kc = codes[candidates], keys[candidates]
    best = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(best, cc, kc)
    at_best = kc == best[cc]
    first = np.full(n, np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first, cc[at_best], candidates[at_best])
    has = first != np.iinfo(np.int64).max
    out[has] = first[has]
    return out
