"""Loading and validating transaction logs and subscription tables.

Implements definitions §1 ("Inputs"): column mapping, time-zone handling,
``as_of``, what counts as activity, unusable rows, duplicates. Nothing is
dropped silently: every dropped or suspicious row is counted by reason in a
:class:`DataSummary` with example rows, and what cannot be analysed raises
:class:`~retainkit.exceptions.DataError` saying which column, which rows, which
values, and how to fix it.

:func:`load_subscriptions` and :func:`merge_intervals` live in
:mod:`retainkit.subscription_data` (re-exported here), the helpers both
loaders share in :mod:`retainkit.drops`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd
import polars as pl

from . import postgres as pg
from ._codes import factorize
from ._rowkernels import duplicated_rows, float_keys
from .drops import (
    NAT_INT64,
    Drops,
    as_tuple,
    check_flags,
    customer_ids,
    default_as_of,
    floor_key,
    is_datetime,
    key_timestamp,
    segment_values,
)
from .encoding import check_encoding
from .exceptions import DataError
from .inputs import (
    COPY_ON_WRITE,
    FAR_GAP_YEARS,
    MAX_DROPPED,
    NOTES,
    REASONS,
    UNUSABLE,
    UNUSABLE_WARN_SHARE,
    DataQualityWarning,
    DataSummary,
    Subscriptions,
    Transactions,
    check_max_dropped,
    check_unusable,
    far_years,
    warn_far_dates,
)
from .native import load_native, native_source
from .native_rows import dense_codes
from .periods import check_tz, parse_as_of
from .readers import check_columns, read_mapped
from .rows import LocalRows, narrow_codes, refund_notes
from .subscription_data import load_subscriptions, merge_intervals
from .timestamps import Where, parse_amounts, parse_timestamps, show_value

_MAX = np.iinfo(np.int64).max


def load_transactions(
    source: Any,
    *,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = None,
    segments: str | Iterable[str] = (),
    tz: str = "UTC",
    as_of: Any = None,
    order_id: str | None = None,
    drop_duplicates: bool = False,
    date_format: str | None = None,
    strict: bool = False,
    backend: str | None = None,
    max_dropped: float | None = MAX_DROPPED,
    encoding: str | None = None,
    table: str | None = None,
    query: str | None = None,
) -> Transactions:
    """Load and validate a transaction log (definitions §1 "Inputs").

    Parameters
    ----------
    source : path, URL, pandas/polars DataFrame, polars LazyFrame, DuckDB relation, Spark DataFrame
        A CSV (.csv, .csv.gz, .tsv) or Parquet file, a directory or glob of
        Parquet files, a ``postgresql://user@host:5432/db`` URL (with
        ``table=`` or ``query=``), or a frame. The caller's object is never
        modified. polars, DuckDB, Spark and PostgreSQL data stay in their
        engine: validation and aggregation run there and only small tables
        are collected.
    customer_id, timestamp : str
        Source column names of the customer id and the order timestamp.
    amount : str, optional
        Revenue column; negative values are refunds (they reduce revenue but
        never make a customer active).
    segments : str or sequence of str
        Extra columns kept for splitting (channel, country, ...).
    tz : str
        Report time zone. Aware timestamps are converted to it; naive ones are
        taken to be in it.
    as_of : date-like, optional
        The instant described. A date without a time means the end of that day.
        Default: end of the day of the latest (non-future) timestamp. Rows after
        it are ignored and counted.
    order_id : str, optional
        With an order id, repeated ids are dropped (first kept) and counted.
    drop_duplicates : bool
        Without an order id, exact duplicate rows are kept (two identical rows
        may be two purchases) and counted; True drops them.
    date_format : str, optional
        strftime pattern of the timestamp column. Without it the whole column
        gets one reading, decided from its values (definitions §1): ISO 8601,
        or day/month/year when some first field is above 12, month/day/year
        when some second field is; a column where every value reads both ways
        (or where some values prove each order) raises DataError asking for
        ``date_format``.
    strict : bool
        Raise DataError instead of dropping unusable rows.
    max_dropped : float or None
        Largest share of unusable rows (empty id, empty or unparseable
        timestamp) that is dropped with a warning; above it loading fails with
        DataError counting the rows by reason with examples (default 5 %;
        None: no limit). Above 1 % a DataQualityWarning is issued.
    encoding : str, optional
        Text encoding of a CSV file (e.g. "latin-1", "cp1252"). Default:
        UTF-8, with or without a byte order mark; a file that does not decode
        raises DataError naming the line and byte.
    backend : {"pandas", "polars", "duckdb", "spark"}, optional
        Engine that holds the rows. Default: the engine of ``source`` (pandas
        for a pandas frame); Parquet files (a file, a directory or a glob) and
        CSV files over 100 MB are scanned lazily by polars (out of core), or
        by DuckDB (leaner in memory) for Parquet data over 20M rows; smaller
        CSV files are read by pandas (messages quote line numbers). A pandas frame
        can be handed to "polars" or "duckdb"; files to "polars" or "duckdb".
        Results are identical on every engine; only example rows in the data
        summary differ (the lazy engines quote values, not line numbers, and
        compute the summary on first access).
    table, query : str, optional
        For a PostgreSQL URL: the table (``"orders"`` or ``"sales.orders"``)
        or a SELECT statement to read. Credentials come from the URL, the
        ``PG*`` environment variables and ``~/.pgpass``; the password never
        appears in a message or the data summary (see :mod:`retainkit.postgres`).

    Returns
    -------
    Transactions

    Raises
    ------
    DataError
        Missing/misnamed column, unreadable file, empty data, no parseable
        timestamp or amount, nothing usable left.
    """
    check_flags(drop_duplicates=drop_duplicates, strict=strict)
    tz = check_tz(tz)
    max_dropped = check_max_dropped(max_dropped)
    encoding = check_encoding(encoding)
    segments = as_tuple(segments)
    mapping = {"customer_id": customer_id, "timestamp": timestamp, "amount": amount, "order_id": order_id}
    mapping.update({f"segment '{s}'": s for s in segments})
    as_of_ts = parse_as_of(as_of, tz)
    if date_format is not None and pg.is_postgres_url(source):
        raise pg.date_format_error(date_format, timestamp)
    native = native_source(source, mapping, backend, encoding, table=table, query=query)
    if native is not None:
        return load_native(
            *native,
            mapping=mapping,
            segments=segments,
            tz=tz,
            as_of_ts=as_of_ts,
            drop_duplicates=drop_duplicates,
            date_format=date_format,
            strict=strict,
            max_dropped=max_dropped,
        )
    raw, source_name, offset = read_mapped(
        source, mapping, as_text=[customer_id, timestamp, order_id], encoding=encoding
    )
    where = Where(offset)
    n = len(raw)
    if n == 0:
        raise DataError(f"{source_name}: the data has no rows. Check the file or the filter that produced it.")

    # Every check runs on numpy arrays that view the mapped columns (no copy of the frame); the
    # int64 instants of the parsed timestamps serve the as_of checks, the duplicates and the reductions.
    ids, empty_id = customer_ids(raw[customer_id])
    ts_raw = raw[timestamp]
    ts = parse_timestamps(ts_raw, tz, date_format, timestamp, where)
    key = ts.array.asi8
    unit = ts.dt.unit
    nat = key == NAT_INT64
    drops = Drops(n, where)
    if empty_id is not None:
        drops.drop("null_customer_id", empty_id, raw[customer_id])
    if is_datetime(ts_raw.dtype):  # typed: a missing value is NaT, nothing is unparseable
        drops.drop("missing_timestamp", nat)
    else:
        ts_empty = ts_raw.isna().to_numpy().copy()
        if ts_raw.dtype == object or pd.api.types.is_string_dtype(ts_raw.dtype):
            ts_empty |= (ts_raw.astype("string").str.strip() == "").fillna(True).to_numpy()
        drops.drop("missing_timestamp", ts_empty)
        drops.drop("unparseable_timestamp", nat, ts_raw)
    drops.raise_if_empty(source_name)
    if as_of_ts is None:
        as_of_ts = default_as_of(ts, key, unit, drops.keep, tz, drops)
    drops.drop("after_as_of", key > floor_key(as_of_ts, unit), ts)

    out = {"customer_id": ids, "timestamp": ts}
    amount_values = amount_nan = empty_oid = None
    if amount is not None:
        values, bad_amount = parse_amounts(raw[amount], amount, where)
        out["amount"] = values
        amount_values = values.to_numpy(dtype="float64", na_value=np.nan)
        amount_nan = np.isnan(amount_values)
        missing = amount_nan
        if not pd.api.types.is_numeric_dtype(raw[amount].dtype):  # numbers are never unparseable
            bad = bad_amount.to_numpy()
            drops.note("unparseable_amount", bad, raw[amount])
            missing = amount_nan & ~bad
        drops.note("missing_amount", missing)
    if order_id is not None:
        oid, empty_oid = customer_ids(raw[order_id])
        out["order_id"] = oid
        if empty_oid is None:  # integer order ids are never empty
            empty_oid = np.zeros(n, dtype=bool)
        repeated = np.zeros(n, dtype=bool)
        kept_idx = np.flatnonzero(drops.keep & ~empty_oid)
        repeated[kept_idx] = oid.iloc[kept_idx].duplicated(keep="first").to_numpy()
        drops.drop("repeated_order_id", repeated, oid)
    out.update(segment_values(raw, segments))

    # exact duplicates among the kept rows, on integer keys of every column (definitions §1); the
    # customer codes are the ones every reduction of this log reads
    kept = drops.keep.copy()
    kept_idx = None if kept.all() else np.flatnonzero(kept)
    codes, uniques = customer_codes(_take(ids, kept_idx))
    dup_keys = [codes, _take(key, kept_idx)]
    if amount is not None:
        dup_keys.append(float_keys(_take(amount_values, kept_idx), _take(amount_nan, kept_idx)))
    # order ids are unique among the kept rows but for missing ones; segments are compared only where
    # customer, instant and amount repeat
    no_order = None if order_id is None else np.flatnonzero(_take(empty_oid, kept_idx))
    exact = [_take(out[c], kept_idx) for c in out if c not in ("customer_id", "timestamp", "amount")]
    dup_kept = duplicated_rows(dup_keys, exact=exact, sorted_hint=1, rows=no_order)
    del dup_keys, exact
    dup = np.zeros(n, dtype=bool)
    dup[kept if kept_idx is None else kept_idx] = dup_kept
    if drop_duplicates:
        drops.drop("exact_duplicate", dup, out["customer_id"])
        codes = codes[~dup_kept] if dup_kept.any() else codes  # every customer keeps a row: codes stay dense
    else:
        drops.note("exact_duplicates_kept", dup, out["customer_id"])
    if amount is not None:
        drops.note("refund_rows", amount_values < 0, out["amount"])

    drops.raise_if_empty(source_name)
    drops.check_unusable(n, strict, "transaction", max_dropped)
    # rows far apart need FAR_GAP_YEARS empty years between them: a shorter span needs no year histogram
    lo, hi = (
        key_timestamp(int(f(key, where=drops.keep, initial=i)), unit, tz)
        for f, i in ((np.min, _MAX), (np.max, NAT_INT64))
    )
    if hi.year - lo.year > FAR_GAP_YEARS:
        year = ts.dt.year.to_numpy(dtype="float64", na_value=np.nan)
        kept_years = year[drops.keep].astype(np.int64)
        values, counts = np.unique(kept_years, return_counts=True)
        year_rows = dict(zip(values.tolist(), counts.tolist()))
        far, _, _ = far_years(year_rows)
        if far:
            drops.note("far_dates", drops.keep & np.isin(year, far), ts_raw)
            warn_far_dates(year_rows, drops.examples["far_dates"], n, stacklevel=3)

    frame = pd.DataFrame(out, copy=not COPY_ON_WRITE)
    keep = drops.keep
    kept_idx = None if keep.all() else np.flatnonzero(keep)
    if kept_idx is not None:
        frame = frame.take(kept_idx).reset_index(drop=True)
    codes = narrow_codes(codes)
    columns = {"key": _take(key, kept_idx)}
    if amount is not None:
        columns["amount"] = _take(amount_values, kept_idx)
        purchase = ~(columns["amount"] < 0)
        notes, examples = refund_notes(codes, uniques, columns["key"], purchase)
        drops.notes.update(notes)
        for name, values in examples.items():
            drops.examples.setdefault(name, [f"customer {show_value(v)}" for v in values])
    else:
        purchase = np.ones(len(frame), dtype=bool)
    rows = LocalRows(
        codes=codes, customer_ids=np.asarray(uniques), columns=columns, purchase=purchase, key_unit=unit, tz=tz
    )
    first, last = int(np.argmin(columns["key"])), int(np.argmax(columns["key"]))

    summary = DataSummary(
        kind="transactions",
        source=source_name,
        rows_read=n,
        rows_kept=len(frame),
        dropped=drops.dropped,
        notes=drops.notes,
        examples=drops.examples,
        customers=rows.n,
        first_timestamp=frame["timestamp"].iloc[first],
        last_timestamp=frame["timestamp"].iloc[last],
        tz=tz,
        as_of=as_of_ts,
        columns={k: v for k, v in mapping.items() if v is not None},
    )
    return Transactions(
        frame=frame,
        summary=summary,
        as_of=as_of_ts,
        tz=tz,
        segments=segments,
        has_amount=amount is not None,
        rows=rows,
    )


def customer_codes(ids: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Codes 0..n-1 and the distinct values of the kept customer ids (no missing ones among them).

    Text ids (stripped, pandas ``string`` dtype) are coded by the checked 64-bit polars hash of
    :func:`retainkit.native_rows.dense_codes`, the same coding as the polars path (10M text ids:
    about 1.2 s against 2.8 s for ``pandas.factorize``); other ids by :func:`retainkit._codes.factorize`.
    Like both of them, the order of the distinct values is unspecified.
    """
    if isinstance(ids.dtype, pd.StringDtype) and len(ids):
        return dense_codes(pl.from_pandas(ids))
    return factorize(ids)


def _take(values, positions: np.ndarray | None):
    """``values`` at ``positions`` (all of them when None): numpy arrays or pandas Series."""
    if positions is None:
        return values
    return values.iloc[positions] if isinstance(values, pd.Series) else values[positions]


__all__ = [
    "customer_codes",
    "NOTES",
    "REASONS",
    "UNUSABLE",
    "UNUSABLE_WARN_SHARE",
    "DataQualityWarning",
    "DataSummary",
    "Subscriptions",
    "Transactions",
    "check_columns",
    "check_unusable",
    "load_subscriptions",
    "load_transactions",
    "merge_intervals",
    "parse_amounts",
    "parse_timestamps",
]
