"""Loading and validating transaction logs and subscription tables.

Implements definitions §1 ("Inputs"): column mapping, time-zone handling,
``as_of``, what counts as activity, unusable rows, duplicates. Nothing is
dropped silently: every dropped or suspicious row is counted by reason in a
:class:`DataSummary` with example rows, and what cannot be analysed raises
:class:`~retainkit.exceptions.DataError` saying which column, which rows, which
values, and how to fix it.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from . import postgres as pg
from ._codes import factorize
from ._rowkernels import duplicated_rows, float_keys
from .encoding import check_encoding
from .exceptions import DataError, ParameterError
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
from .periods import check_tz, end_of_day, parse_as_of
from .readers import check_columns, read_mapped
from .rows import LocalRows, narrow_codes, refund_notes
from .timestamps import N_EXAMPLES, Where, date_hint, parse_amounts, parse_timestamps, show_value, text_reading

_NAT = np.iinfo(np.int64).min  # NaT as int64
_MAX = np.iinfo(np.int64).max


def _is_datetime(dtype) -> bool:
    return isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype)


def _customer_ids(raw: pd.Series) -> tuple[pd.Series, np.ndarray | None]:
    """Normalised ids (strings stripped) and a mask of empty ids (None: integers are never empty)."""
    ids = raw
    if ids.dtype.kind in "iu":  # numpy integers: no missing value is possible
        return ids, None
    if ids.dtype == object or isinstance(ids.dtype, pd.StringDtype) or pd.api.types.is_string_dtype(ids.dtype):
        ids = ids.astype("string").str.strip()
        empty = ids.isna() | (ids == "")
    else:
        empty = ids.isna()
    return ids, empty.to_numpy(dtype=bool)


def _segments(raw: pd.DataFrame, segments: tuple[str, ...]) -> dict[str, pd.Series]:
    return {s: raw[s].astype("string").fillna("(missing)") for s in segments}


def _example_values(values: pd.Series, pos: np.ndarray) -> list:
    """The first few example values; timestamps as text (formatted only for these rows)."""
    picked = values.iloc[pos[:N_EXAMPLES]]
    if isinstance(picked.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(picked.dtype):
        picked = picked.astype("string")
    return picked.tolist()


class _Drops:
    """Collects dropped rows by reason with example positions and values."""

    def __init__(self, n: int, where: Where):
        self.keep = np.ones(n, dtype=bool)
        self.dropped: dict[str, int] = {}
        self.notes: dict[str, int] = {}
        self.examples: dict[str, list[str]] = {}
        self.where = where

    def drop(self, reason: str, mask, values: pd.Series | None = None) -> None:
        mask = np.asarray(mask, dtype=bool) & self.keep
        count = int(mask.sum())
        if count:
            pos = np.flatnonzero(mask)
            vals = None if values is None else _example_values(values, pos)
            self.dropped[reason] = self.dropped.get(reason, 0) + count
            self.examples.setdefault(reason, self.where(pos, vals))
            self.keep &= ~mask

    def note(self, name: str, mask, values: pd.Series | None = None) -> None:
        mask = np.asarray(mask, dtype=bool) & self.keep
        count = int(mask.sum())
        if count:
            pos = np.flatnonzero(mask)
            vals = None if values is None else _example_values(values, pos)
            self.notes[name] = count
            self.examples.setdefault(name, self.where(pos, vals))

    def raise_if_empty(self, source_name: str) -> None:
        if not self.keep.any():
            reasons = "; ".join(f"{v:,} {REASONS[k]} ({', '.join(self.examples[k])})" for k, v in self.dropped.items())
            raise DataError(f"{source_name}: no usable rows are left out of {len(self.keep):,}: {reasons}.")

    def check_unusable(self, rows_read: int, strict: bool, what: str, max_dropped: float | None = None) -> None:
        check_unusable(self.dropped, self.examples, rows_read, strict, what, stacklevel=4, max_dropped=max_dropped)


def _floor_key(instant: pd.Timestamp, unit: str) -> int:
    """``instant`` as an int64 count of ``unit`` since the epoch, rounded down (``key > it`` iff later)."""
    value = instant.tz_convert("UTC").tz_localize(None).to_datetime64()
    return int(value.astype(f"datetime64[{unit}]").astype(np.int64))


def _key_timestamp(key: int, unit: str, tz: str) -> pd.Timestamp:
    return pd.Timestamp(np.datetime64(key, unit)).tz_localize("UTC").tz_convert(tz)


def _default_as_of(ts: pd.Series, key: np.ndarray, unit: str, keep: np.ndarray, tz: str, drops: _Drops) -> pd.Timestamp:
    """End of the day of the latest timestamp that is not in the future (definitions §1).

    ``key`` holds the int64 instants of ``ts`` (in ``unit``); only rows in ``keep`` count.
    """
    if not keep.any():
        raise DataError("no rows with a usable timestamp are left; see the reasons above.")
    now = pd.Timestamp.now(tz=tz)
    future = keep & (key > _floor_key(end_of_day(now, tz), unit))
    if future.any():
        past = keep & ~future
        if not past.any():
            raise DataError(
                f"every timestamp is in the future (after {now:%Y-%m-%d}), e.g. "
                f"{', '.join(drops.where(np.flatnonzero(future), ts[future].astype(str).tolist()))}. "
                "Pass as_of= explicitly if that is intended."
            )
        latest = _key_timestamp(int(key.max(where=past, initial=_NAT)), unit, tz)
        warnings.warn(
            f"{int(future.sum()):,} rows are dated after today ({now:%Y-%m-%d}), e.g. "
            f"{', '.join(drops.where(np.flatnonzero(future), ts[future].astype(str).tolist()))}; they are "
            f"ignored (counted as after as_of). as_of defaults to {latest:%Y-%m-%d}; pass as_of= to choose.",
            DataQualityWarning,
            stacklevel=4,
        )
        return end_of_day(latest, tz)
    return end_of_day(_key_timestamp(int(key.max(where=keep, initial=_NAT)), unit, tz), tz)


def _check_flags(**flags: Any) -> None:
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise ParameterError(f"{name}={value!r} must be True or False.")


def _as_tuple(segments: str | Iterable[str] | None) -> tuple[str, ...]:
    if segments is None:
        return ()
    if isinstance(segments, str):
        return (segments,)
    return tuple(segments)


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
    _check_flags(drop_duplicates=drop_duplicates, strict=strict)
    tz = check_tz(tz)
    max_dropped = check_max_dropped(max_dropped)
    encoding = check_encoding(encoding)
    segments = _as_tuple(segments)
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
    ids, empty_id = _customer_ids(raw[customer_id])
    ts_raw = raw[timestamp]
    ts = parse_timestamps(ts_raw, tz, date_format, timestamp, where)
    key = ts.array.asi8
    unit = ts.dt.unit
    nat = key == _NAT
    drops = _Drops(n, where)
    if empty_id is not None:
        drops.drop("null_customer_id", empty_id, raw[customer_id])
    if _is_datetime(ts_raw.dtype):  # typed: a missing value is NaT, nothing is unparseable
        drops.drop("missing_timestamp", nat)
    else:
        ts_empty = ts_raw.isna().to_numpy().copy()
        if ts_raw.dtype == object or pd.api.types.is_string_dtype(ts_raw.dtype):
            ts_empty |= (ts_raw.astype("string").str.strip() == "").fillna(True).to_numpy()
        drops.drop("missing_timestamp", ts_empty)
        drops.drop("unparseable_timestamp", nat, ts_raw)
    drops.raise_if_empty(source_name)
    if as_of_ts is None:
        as_of_ts = _default_as_of(ts, key, unit, drops.keep, tz, drops)
    drops.drop("after_as_of", key > _floor_key(as_of_ts, unit), ts)

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
        oid, empty_oid = _customer_ids(raw[order_id])
        out["order_id"] = oid
        if empty_oid is None:  # integer order ids are never empty
            empty_oid = np.zeros(n, dtype=bool)
        repeated = np.zeros(n, dtype=bool)
        kept_idx = np.flatnonzero(drops.keep & ~empty_oid)
        repeated[kept_idx] = oid.iloc[kept_idx].duplicated(keep="first").to_numpy()
        drops.drop("repeated_order_id", repeated, oid)
    out.update(_segments(raw, segments))

    # exact duplicates among the kept rows, on integer keys of every column (definitions §1); the
    # customer codes are the ones every reduction of this log reads
    kept = drops.keep.copy()
    kept_idx = None if kept.all() else np.flatnonzero(kept)
    codes, uniques = factorize(_take(ids, kept_idx))
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
        _key_timestamp(int(f(key, where=drops.keep, initial=i)), unit, tz) for f, i in ((np.min, _MAX), (np.max, _NAT))
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


def _take(values, positions: np.ndarray | None):
    """``values`` at ``positions`` (all of them when None): numpy arrays or pandas Series."""
    if positions is None:
        return values
    return values.iloc[positions] if isinstance(values, pd.Series) else values[positions]


def _ns(values: pd.Series) -> np.ndarray:
    """Aware timestamps -> int64 nanoseconds since the epoch (UTC); NaT -> int64 min."""
    return values.dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("ns").to_numpy().view("int64")


def _from_ns(values: np.ndarray, tz: Any) -> pd.Series:
    out = pd.Series(np.asarray(values, dtype="int64").view("datetime64[ns]"))
    return out.dt.tz_localize("UTC").dt.tz_convert(tz)


_OPEN = np.iinfo("int64").max


def merge_intervals(frame: pd.DataFrame) -> tuple[pd.DataFrame, int]:
    """Merge overlapping or touching intervals per customer.

    ``frame`` has ``customer_id``, ``start``, ``end`` (NaT = open). Returns the
    merged intervals and how many input intervals were folded into another.
    """
    cols = ["customer_id", "start", "end"]
    if frame.empty:
        return frame.loc[:, cols].copy(), 0
    f = frame.loc[:, cols].sort_values(["customer_id", "start"], kind="stable")
    tz = f["start"].dt.tz
    cust = f["customer_id"].to_numpy()
    s = _ns(f["start"])
    e = _ns(f["end"]).copy()
    e[f["end"].isna().to_numpy()] = _OPEN
    new_cust = np.r_[True, cust[1:] != cust[:-1]]
    run_end = pd.Series(e).groupby(np.cumsum(new_cust)).cummax().to_numpy()
    starts_block = new_cust | (s > np.r_[s[0], run_end[:-1]])
    g = pd.DataFrame({"block": np.cumsum(starts_block), "c": cust, "s": s, "e": e}).groupby("block", sort=True)
    ends = g["e"].max().to_numpy()
    out = pd.DataFrame({"customer_id": g["c"].first().to_numpy(), "start": _from_ns(g["s"].min().to_numpy(), tz)})
    end_ts = _from_ns(np.where(ends == _OPEN, np.iinfo("int64").min, ends), tz)
    out["end"] = end_ts.where(ends != _OPEN)
    return out, int(len(f) - len(out))


def load_subscriptions(
    source: Any,
    *,
    customer_id: str = "customer_id",
    start: str = "start",
    end: str = "end",
    mrr: str | None = None,
    segments: str | Iterable[str] = (),
    tz: str = "UTC",
    as_of: Any = None,
    date_format: str | None = None,
    strict: bool = False,
    encoding: str | None = None,
) -> Subscriptions:
    """Load and validate subscription intervals (definitions §1 "Inputs").

    One row per interval ``[start, end)``; an empty ``end`` means still active.
    An ``end`` before its ``start`` raises DataError listing the rows (the
    columns are probably swapped or mis-mapped). Overlapping or touching
    intervals of one customer are merged for activity questions (kept as given
    in ``frame`` for MRR) and counted. Default ``as_of``: end of the day of the
    latest start or end that is not in the future. ``start`` and ``end`` share
    one date reading, decided from both columns' values; ``encoding`` applies
    to CSV files as in :func:`load_transactions`.
    """
    _check_flags(strict=strict)
    tz = check_tz(tz)
    encoding = check_encoding(encoding)
    segments = _as_tuple(segments)
    mapping = {"customer_id": customer_id, "start": start, "end": end, "mrr": mrr}
    mapping.update({f"segment '{s}'": s for s in segments})
    as_of_ts = parse_as_of(as_of, tz)
    raw, source_name, offset = read_mapped(source, mapping, as_text=[customer_id, start, end], encoding=encoding)
    where = Where(offset)
    n = len(raw)
    if n == 0:
        raise DataError(f"{source_name}: the data has no rows. Check the file or the filter that produced it.")
    ids, empty_id = _customer_ids(raw[customer_id])
    end_raw = raw[end]
    # one reading for both columns: an end column alone may not tell day from month
    text_cols = [raw[c].astype("string") for c in (start, end) if not _is_datetime(raw[c].dtype)]
    reading = (
        text_reading(pd.concat(text_cols, ignore_index=True), f"{start}' / '{end}", date_format) if text_cols else None
    )
    st = parse_timestamps(raw[start], tz, date_format, start, where, reading)
    if end_raw.isna().all():
        en = pd.Series(pd.NaT, index=raw.index, dtype=st.dtype)
    else:
        en = parse_timestamps(end_raw, tz, date_format, end, where, reading)
    drops = _Drops(n, where)
    if empty_id is not None:
        drops.drop("null_customer_id", empty_id, raw[customer_id])
    drops.drop("missing_start", raw[start].isna().to_numpy())
    drops.drop("unparseable_start", st.isna().to_numpy(), raw[start])
    end_text_present = end_raw.notna().to_numpy().copy()
    if end_raw.dtype == object or pd.api.types.is_string_dtype(end_raw.dtype):
        end_text_present &= (end_raw.astype("string").str.strip() != "").fillna(False).to_numpy()
    bad_end = end_text_present & en.isna().to_numpy() & drops.keep
    if bad_end.any():
        pos = np.flatnonzero(bad_end)
        raise DataError(
            f"column '{end}': {int(bad_end.sum()):,} values could not be parsed as dates "
            f"({', '.join(where(pos, end_raw.iloc[pos[:3]].tolist()))}). Leave end empty for active "
            f"subscriptions; otherwise fix the values or pass date_format=.{date_hint(end_raw[bad_end])}"
        )
    backwards = drops.keep & (en < st).fillna(False).to_numpy()
    if backwards.any():
        pos = np.flatnonzero(backwards)
        shown = [f"{w} (start {st.iloc[p]:%Y-%m-%d}, end {en.iloc[p]:%Y-%m-%d})" for w, p in zip(where(pos), pos)]
        raise DataError(
            f"{int(backwards.sum()):,} subscriptions end before they start: {'; '.join(shown)}. "
            f"Check that start='{start}' and end='{end}' are not swapped, and fix those rows."
        )
    drops.raise_if_empty(source_name)
    if as_of_ts is None:
        latest = pd.concat([st[drops.keep], en[drops.keep].dropna()]).reset_index(drop=True)
        as_of_ts = _default_as_of(latest, latest.array.asi8, latest.dt.unit, np.ones(len(latest), bool), tz, drops)
    drops.drop("start_after_as_of", (st > as_of_ts).fillna(False).to_numpy(), st)

    out = pd.DataFrame({"customer_id": ids, "start": st, "end": en})
    # what happens after as_of is unknown at as_of: intervals ending later are open then
    out.loc[(out["end"] > as_of_ts).fillna(False), "end"] = pd.NaT
    if mrr is not None:
        values, bad = parse_amounts(raw[mrr], mrr, where)
        drops.note("unparseable_amount", bad, raw[mrr])
        drops.note("missing_mrr", values.isna().to_numpy() & ~bad.to_numpy())
        out["mrr"] = values.fillna(0.0)
    for name, values in _segments(raw, segments).items():
        out[name] = values
    drops.raise_if_empty(source_name)
    drops.check_unusable(n, strict, "subscription")
    frame = out.loc[drops.keep].reset_index(drop=True)
    n_open = int(frame["end"].isna().sum())
    if n_open:
        drops.notes["open_intervals"] = n_open
    zero = int((frame["end"] == frame["start"]).fillna(False).sum())
    if zero:
        drops.notes["zero_length_intervals"] = zero
    intervals, merged = merge_intervals(frame.loc[~(frame["end"] == frame["start"]).fillna(False)])
    if merged:
        drops.notes["merged_overlaps"] = merged
    summary = DataSummary(
        kind="subscriptions",
        source=source_name,
        rows_read=n,
        rows_kept=len(frame),
        dropped=drops.dropped,
        notes=drops.notes,
        examples=drops.examples,
        customers=int(frame["customer_id"].nunique()),
        first_timestamp=frame["start"].min(),
        last_timestamp=max(frame["start"].max(), frame["end"].max())
        if frame["end"].notna().any()
        else frame["start"].max(),
        tz=tz,
        as_of=as_of_ts,
        columns={k: v for k, v in mapping.items() if v is not None},
    )
    return Subscriptions(
        frame=frame,
        intervals=intervals,
        summary=summary,
        as_of=as_of_ts,
        tz=tz,
        segments=segments,
        has_mrr=mrr is not None,
    )


__all__ = [
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
