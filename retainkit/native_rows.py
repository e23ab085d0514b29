"""The kept rows of a :class:`~retainkit.native_log.NativeLog` collected out of their engine.

:func:`local_rows` gives numpy arrays (:class:`retainkit.rows.LocalRows`, ids
and segments coded by :func:`dense_codes`) for the numpy reduction of
:mod:`retainkit.engine`; :func:`to_pandas` gives the pandas frame of
:class:`retainkit.inputs.Transactions`.
"""

from __future__ import annotations

from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from ._codes import codes_in_sorted, factorize
from .native_log import NativeLog, collect, collect_polars
from .rows import LocalRows, narrow_codes

#: seeds of the two independent 64-bit hashes that code text ids (see dense_codes)
_HASH_SEEDS = (0x5EED_0001, 0x5EED_0002)


def dense_codes(ids: Any) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..n-1 (int64) for a polars Series without nulls, and the value of each code.

    Integer ids go through :func:`retainkit._codes.factorize` (a lookup table
    for compact ranges). Other values (text ids, segments) are coded by a
    64-bit hash (polars hashes 10M strings in a few hundredths of a second,
    where building a hash table of the strings takes seconds); a second,
    independent 64-bit hash must then agree within every code, else two
    different values shared the first hash and the values are coded exactly
    by Arrow's dictionary encoding instead. Two different values pass only
    when both hashes coincide (for 10**8 distinct values, a chance below
    10**-20).
    """
    if ids.dtype.is_integer():
        return factorize(ids.to_numpy())
    h = ids.hash(seed=_HASH_SEEDS[0]).to_numpy()
    first = ids.__class__(h).arg_unique().to_numpy()  # the first row of each distinct hash
    order = np.argsort(h[first])
    first = first[order]
    codes = codes_in_sorted(h[first], h)
    check = ids.hash(seed=_HASH_SEEDS[1]).to_numpy()
    if np.array_equal(np.take(check[first], codes), check):
        return codes, ids.gather(first).to_numpy()
    encoded = ids.to_arrow().dictionary_encode()  # a collision of the first hash: exact coding
    return encoded.indices.to_numpy().astype(np.int64), encoded.dictionary.to_numpy(zero_copy_only=False)


def local_rows(log: NativeLog) -> LocalRows:
    """The kept rows' customer id, day, key, amount and segments, collected in one scan (cached on the log).

    Several tables of one analysis (cohorts, CRR, purchase metrics, with and
    without segments, the data summary) then share a single scan and a single
    coding of the customer ids; the cache holds about 20 bytes per row (and
    4 per segment), and only logs of at most
    :data:`retainkit.backends.LOCAL_REDUCE_MAX_ROWS` rows come here.
    """
    if "local_rows" not in log.cache:
        columns = ["day", "key", *(["amount"] if log.has_amount else [])]
        exprs = [nw.col(c).cast(nw.Float64) if c == "amount" else nw.col(c) for c in columns]
        with log.context():
            frame = collect_polars(log, log.kept.select("customer_id", *exprs, *log.segments))
        codes, ids = dense_codes(frame["customer_id"])
        arrays = {
            c: frame[c].fill_null(float("nan")).to_numpy() if c == "amount" else frame[c].to_numpy() for c in columns
        }
        purchase = ~(arrays["amount"] < 0) if log.has_amount else np.ones(len(codes), dtype=bool)
        segments = {}
        for name in log.segments:
            seg_codes, values = dense_codes(frame[name])
            segments[name] = (narrow_codes(seg_codes), np.asarray(values, dtype=object))
        log.cache["local_rows"] = LocalRows(
            codes=narrow_codes(codes),
            customer_ids=ids,
            columns=arrays,
            purchase=purchase,
            key_unit="us",
            tz=log.tz,
            segments=segments,
        )
    return log.cache["local_rows"]


def to_pandas(log: NativeLog) -> pd.DataFrame:
    """The kept rows as the pandas frame of :class:`retainkit.data.Transactions` (materialises the data)."""
    with log.context():
        frame = collect_polars(log, log.kept).to_pandas() if log.backend == "postgres" else collect(log.kept)
    out = pd.DataFrame({"customer_id": frame["customer_id"]})
    keys = frame["key"].to_numpy(dtype="int64")
    ts = pd.Series(pd.to_datetime(keys, unit="us"))
    ts = (
        ts.dt.tz_localize("UTC").dt.tz_convert(log.tz)
        if log.aware
        else ts.dt.tz_localize(log.tz, nonexistent="shift_forward", ambiguous=np.zeros(len(ts), bool))
    )
    out["timestamp"] = ts
    if log.has_amount:
        out["amount"] = frame["amount"].astype("float64")
    if log.has_order_id:
        out["order_id"] = frame["order_id"]
    for s in log.segments:
        out[s] = frame[s].astype("string")
    return out


__all__ = [
    "dense_codes",
    "local_rows",
    "to_pandas",
]
