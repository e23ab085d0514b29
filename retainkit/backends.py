"""The aggregation step on polars, DuckDB and Spark: one narwhals implementation.

A pandas DataFrame is reduced by the numpy code in :mod:`retainkit.engine`
(the fastest in-memory path). Every other source (a polars DataFrame or
LazyFrame, a DuckDB relation, a PySpark DataFrame, and CSV / Parquet files
large enough to be scanned out of core) stays in its own engine, where
:mod:`retainkit.native_prepare`

1. normalises the mapped columns where the data lives (one small
   backend-specific step per engine: time zones, day numbers, parsing), to a
   narwhals LazyFrame with ``customer_id``, ``key`` (int64 microseconds: the
   instant for timezone-aware input, the local wall time for naive input),
   ``day`` (local day number since 1970-01-01), ``amount``, ``order_id`` and
   the segment columns; and this module
2. computes, once and for every engine, the small tables the rest of
   retainkit needs: per (segments, cohort, age) counts and revenue
   (:func:`cohort_counts`, the same frame as
   :func:`retainkit.cohorts.cohort_counts`), per (segments, boundary) CRR
   counts (:func:`crr_counts`), and the validation counts of the data summary.

Only those small tables are collected (to pandas); the rows never leave the
engine. Except below :data:`LOCAL_REDUCE_MAX_ROWS` rows on polars and DuckDB:
there the engine filters the kept rows and hands over only customer id, day
(and amount), and the numpy reduction of :mod:`retainkit.engine` counts them
(:func:`local_rows`, one scan cached on the log): marking cells in dense tables
instead of hashing them takes crr_table at 10M rows on polars from 1.6 s to
0.9 s, cohort_table from 1.0 s to 0.9 s, and purchase metrics need no pandas
frame.
Both paths give identical tables (tests/test_backends.py runs both).
Definitions used: §1 (activity, refunds, duplicates, as_of), §2
(periods, cohorts, ages, complete periods), §3 (cohort counts), §4 (who is a
customer at a boundary).
"""

from __future__ import annotations

from dataclasses import dataclass

import narwhals as nw
import numpy as np
import pandas as pd

from . import postgres as pg
from ._kernels import boundary_membership, membership_counts
from .exceptions import ParameterError
from .native_counts import purchase_expr
from .native_log import NativeLog, collect
from .native_periods import with_period
from .native_prepare import prepare
from .native_rows import local_rows, to_pandas
from .periods import check_freq, days_to_period, period_start_day
from .sources import BACKENDS, backend_of

#: polars and DuckDB hand customer id, day, key and amount of at most this many kept rows to the
#: numpy reduction of retainkit.engine (see the module docstring); larger logs stay in the engine
LOCAL_REDUCE_MAX_ROWS = 25_000_000


def _acquisition(log: NativeLog, columns: list[str]) -> nw.LazyFrame:
    """Per customer, the values of ``columns`` on their first purchase row (acquisition segment).

    The first purchase is the earliest by time; rows tied at that instant give
    the smallest value (a source without row order has no "first row").
    """
    k = nw.col("key")
    buys = log.kept.filter(purchase_expr(log)).select("customer_id", "key", *columns)
    first = buys.filter(k == k.min().over("customer_id"))
    return first.group_by("customer_id").agg(*[nw.col(c).min() for c in columns])


def day_range(log: NativeLog) -> tuple[int, int, int | None]:
    """(first day of the kept data, last day, first purchase day or None); from the local scan when cached."""
    rows = log.cache.get("local_rows")
    if "days" not in log.cache and rows is not None and len(rows.codes):
        days, bought = rows.columns["day"], rows.columns["day"][rows.purchase]
        log.cache["days"] = (int(days.min()), int(days.max()), int(bought.min()) if len(bought) else None)
    if "days" not in log.cache:
        buy = purchase_expr(log)
        d = nw.col("day")
        with log.context():
            r = collect(
                log.kept.select(
                    d.min().alias("lo"), d.max().alias("hi"), nw.when(buy).then(d).otherwise(None).min().alias("buy_lo")
                )
            ).iloc[0]
        log.cache["days"] = (int(r["lo"]), int(r["hi"]), None if pd.isna(r["buy_lo"]) else int(r["buy_lo"]))
    return log.cache["days"]


def cohort_counts(
    log: NativeLog,
    freq: str,
    max_period: int,
    last_complete: int,
    *,
    by: list[str] | None = None,
    cohort_key: str | None = None,
) -> pd.DataFrame:
    """Raw cohort counts computed in the log's engine (definitions §2, §3).

    Returns the same frame as :func:`retainkit.cohorts.cohort_counts`:
    ``[by..., _cohort, age, size, size_complete, active, active_on_or_after,
    revenue]``, one row per (segments, cohort, age) with ``size > 0``.
    """
    freq = check_freq(freq)
    by = list(by or [])
    for col in [*by, *([cohort_key] if cohort_key else [])]:
        if col not in log.segments:
            raise ParameterError(
                f"'{col}' is not a column of the loaded data. Load it as a segment: "
                f"load_transactions(..., segments=[..., '{col}'])."
            )
    buy = purchase_expr(log)
    with log.context():
        rows = (
            with_period(log.kept, "day", freq, "p", backend=log.backend)
            .with_columns(buy=buy)
            .filter(nw.col("p") <= max_period)
        )
        aggs = [nw.col("buy").max().alias("bought")]
        if log.has_amount:
            aggs.append(nw.col("amount").sum().alias("revenue"))
        # the one pass over every row: (customer, period) cells
        cells = rows.group_by("customer_id", "p").agg(*aggs)
        cells = _with_first_last(cells, log.backend)
        cells = cells.filter(~nw.col("first").is_null() & (nw.col("p") >= nw.col("first")))
        seg_cols = list(dict.fromkeys([*by, *([cohort_key] if cohort_key else [])]))
        if seg_cols:
            cells = cells.join(_acquisition(log, seg_cols), on="customer_id", how="left")
        cohort = nw.col(cohort_key).cast(nw.String) if cohort_key else nw.col("first")
        cells = cells.with_columns(_cohort=cohort, age=nw.col("p") - nw.col("first"))
        keys = [*by, "_cohort"]
        hist_aggs = [
            nw.col("bought").cast(nw.Int64).sum().alias("active"),
            (nw.col("bought") & (nw.col("p") == nw.col("last"))).cast(nw.Int64).sum().alias("lasts"),
        ]
        if log.has_amount:
            hist_aggs.append(nw.col("revenue").sum().alias("revenue"))
        # first == _cohort for period cohorts, so grouping by it adds rows only for a cohort_key
        hist = collect(cells.group_by(*keys, "first", "age").agg(*hist_aggs))
    return _counts_from_histogram(hist, by, cohort_key, max_period, last_complete, log.has_amount)


def materialize(lf: nw.LazyFrame, backend: str) -> nw.LazyFrame:
    """Compute an intermediate table once when the plan uses it more than once.

    polars eliminates common sub-plans itself; the DuckDB relations narwhals
    builds are inlined (``NOT MATERIALIZED``), so they are materialised here;
    Spark gets a local checkpoint.
    """
    if backend == "duckdb":
        return nw.from_native(nw.to_native(lf).materialize())
    if backend == "spark":
        return nw.from_native(nw.to_native(lf).localCheckpoint())
    return lf


def _with_first_last(cells: nw.LazyFrame, backend: str) -> nw.LazyFrame:
    """Add each customer's first and last active period (a window on polars/Spark, a join on DuckDB)."""
    pb = nw.when(nw.col("bought")).then(nw.col("p")).otherwise(None)
    if backend == "duckdb":
        cells = materialize(cells, backend)
        per = (
            cells.filter(nw.col("bought"))
            .group_by("customer_id")
            .agg(nw.col("p").min().alias("first"), nw.col("p").max().alias("last"))
        )
        return cells.join(per, on="customer_id", how="inner")
    return cells.with_columns(first=pb.min().over("customer_id"), last=pb.max().over("customer_id"))


def _counts_from_histogram(
    hist: pd.DataFrame, by: list[str], cohort_key: str | None, max_period: int, last_complete: int, has_amount: bool
) -> pd.DataFrame:
    """Turn the collected (segments, cohort, first, age) histogram into cohort_counts' frame (pandas, small).

    ``active`` at age 0 is the number of customers of (segments, cohort, first);
    ``lasts`` at age k counts customers whose last active age is k.
    """
    columns = [*by, "_cohort", "age", "size", "size_complete", "active", "active_on_or_after"]
    if has_amount:
        columns.append("revenue")
    if hist.empty:
        return pd.DataFrame(columns=columns)
    keys = [*by, "_cohort"]
    h = hist.copy()
    for col in keys:
        h[col] = h[col].astype("int64") if col == "_cohort" and cohort_key is None else h[col].astype(object)
    groups = h[keys].drop_duplicates().sort_values(keys, kind="stable").reset_index(drop=True)
    # the same dtypes as the numpy path (a frame built from object arrays)
    groups = pd.DataFrame(
        {
            c: (
                groups[c].to_numpy(dtype=object) if c != "_cohort" or cohort_key else groups[c].to_numpy(dtype=np.int64)
            )
            for c in keys
        }
    )
    n_groups = len(groups)
    gi = pd.MultiIndex.from_frame(groups).get_indexer(pd.MultiIndex.from_frame(h[keys]))
    age = h["age"].to_numpy(dtype=np.int64)
    first = h["first"].to_numpy(dtype=np.int64)
    active_cell = h["active"].to_numpy(dtype=np.int64)
    starts = age == 0
    width = int((max_period - first[starts]).max()) + 1

    def rev_cumsum(g: np.ndarray, k: np.ndarray, weights: np.ndarray) -> np.ndarray:
        ok = (k >= 0) & (k < width)
        flat = np.bincount(g[ok] * width + k[ok], weights=weights[ok], minlength=n_groups * width)
        table = np.rint(flat.reshape(n_groups, width)).astype(np.int64)
        return np.cumsum(table[:, ::-1], axis=1)[:, ::-1]

    g0, f0, n0 = gi[starts], first[starts], active_cell[starts]
    eligible = rev_cumsum(g0, max_period - f0, n0)
    eligible_complete = rev_cumsum(g0, last_complete - f0, n0)
    on_or_after = rev_cumsum(gi, age, h["lasts"].to_numpy(dtype=np.int64))
    flat = gi * width + age
    active = np.bincount(flat, weights=active_cell, minlength=n_groups * width).reshape(n_groups, width)
    g_idx, k_idx = np.nonzero(eligible > 0)
    out = groups.iloc[g_idx].reset_index(drop=True)
    out["age"] = k_idx.astype(np.int64)
    out["size"] = eligible[g_idx, k_idx]
    out["size_complete"] = eligible_complete[g_idx, k_idx]
    out["active"] = np.rint(active[g_idx, k_idx]).astype(np.int64)
    out["active_on_or_after"] = on_or_after[g_idx, k_idx]
    if has_amount:
        revenue = np.bincount(
            flat, weights=h["revenue"].fillna(0.0).to_numpy(dtype=np.float64), minlength=n_groups * width
        ).reshape(n_groups, width)
        out["revenue"] = revenue[g_idx, k_idx]
    return out


@dataclass
class CRRCounts:
    """Per (segments, period) counts of :func:`retainkit.crr_table` (definitions §4)."""

    periods: np.ndarray
    boundary_days: np.ndarray
    data_start_day: int
    groups: pd.DataFrame
    counts: dict[str, np.ndarray]


def uses_local_reduce(log: NativeLog) -> bool:
    """True when the log's rows are few enough to reduce in numpy after one scan (polars, DuckDB, PostgreSQL)."""
    limit = pg.LOCAL_REDUCE_MAX_ROWS if log.backend == "postgres" else LOCAL_REDUCE_MAX_ROWS
    return log.backend in ("polars", "duckdb", "postgres") and log.cache.get("rows_usable", limit + 1) <= limit


def acquisition_table(log: NativeLog, by: list[str]) -> pd.DataFrame:
    """Per customer (``customer_id``), the segment values on their first purchase, as pandas objects (cached)."""
    key = ("acquisition", tuple(by))
    if key not in log.cache:
        with log.context():
            acq = collect(_acquisition(log, by))
        for col in by:
            acq[col] = acq[col].astype(object)
        log.cache[key] = acq
    return log.cache[key]


def acquisition_values(log: NativeLog, column: str, customer_ids: np.ndarray) -> np.ndarray:
    """Acquisition value of ``column`` for each of ``customer_ids`` (None where the customer never bought)."""
    if column not in log.segments:
        raise ParameterError(
            f"'{column}' is not a column of the loaded data. Load it as a segment: "
            f"load_transactions(..., segments=[..., '{column}'])."
        )
    acq = acquisition_table(log, [column])
    out = np.full(len(customer_ids), None, dtype=object)
    pos = pd.Index(customer_ids).get_indexer(acq["customer_id"])
    ok = pos >= 0
    out[pos[ok]] = acq[column].to_numpy(dtype=object)[ok]
    return out


def _sorted_groups(keys: pd.DataFrame, by: list[str]) -> pd.DataFrame:
    """Distinct segment combinations, sorted, as object columns (the groups of every CRR table)."""
    groups = keys[by].astype(object).drop_duplicates().sort_values(by, kind="stable").reset_index(drop=True)
    return pd.DataFrame({c: groups[c].to_numpy(dtype=object) for c in by})


def _crr_counts_local(
    log: NativeLog, bd: np.ndarray, window_days: int, by: list[str]
) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """CRR counts from the purchase (customer, day) pairs, collected once and reduced in numpy."""
    rows = local_rows(log)
    key = ("membership", tuple(int(b) for b in bd), int(window_days))  # any split reuses it
    if key not in rows.cache:
        buy = rows.purchase
        codes, days = (rows.codes, rows.columns["day"]) if buy.all() else (rows.codes[buy], rows.columns["day"][buy])
        rows.cache[key] = boundary_membership(codes, days, rows.n, bd, window_days)
    member, first_index = rows.cache[key]
    group = np.zeros(rows.n, dtype=np.int64)
    groups = pd.DataFrame(index=[0])
    if by:
        if all(c in rows.segments for c in by):  # acquisition segments from the same scan
            values = {c: rows.acquisition(c) for c in by}
            pos = np.flatnonzero(rows.first_purchase_key() != np.iinfo(np.int64).max)
            acq = pd.DataFrame({c: values[c][pos] for c in by})
        else:
            acq = acquisition_table(log, by)
            pos = pd.Index(rows.customer_ids).get_indexer(acq["customer_id"])
        groups = _sorted_groups(acq, by)
        group[:] = -1
        gi = pd.MultiIndex.from_frame(groups).get_indexer(pd.MultiIndex.from_frame(acq[by]))
        group[pos[pos >= 0]] = gi[pos >= 0]
    return groups, membership_counts(member, first_index, group, len(groups))


def crr_counts(
    log: NativeLog, freq: str, window_days: int, last_complete: int, *, by: list[str] | None = None
) -> CRRCounts:
    """S, E, new, retained, lost, reactivated per segment and complete period, in the log's engine.

    A customer is a customer at boundary b when they purchased in [b - W, b)
    (definitions §4). Each distinct (customer, purchase day) marks the few
    boundaries whose window contains it: boundaries p0 + j with
    period(d) < p0 + j <= period(d + W).

    When :func:`uses_local_reduce`, the purchase (customer, day) pairs of the
    cached scan are counted with :func:`retainkit.engine.boundary_membership`;
    otherwise every step runs in the engine. Both give the same counts.
    """
    freq = check_freq(freq)
    by = list(by or [])
    for col in by:
        if col not in log.segments:
            raise ParameterError(f"'{col}' is not a loaded segment; pass segments=[..., '{col}'] when loading.")
    local = uses_local_reduce(log)
    if local:
        local_rows(log)  # one scan; day_range then reads it
    lo_day, hi_day, buy_lo = day_range(log)
    p0 = int(days_to_period(np.array([buy_lo if buy_lo is not None else lo_day]), freq)[0])
    periods = np.arange(p0, last_complete + 2)
    bd = period_start_day(periods, freq)
    n_b = len(periods)
    if local:
        groups, counts = _crr_counts_local(log, bd, window_days, by)
        return CRRCounts(periods=periods, boundary_days=bd, data_start_day=lo_day, groups=groups, counts=counts)
    with log.context():
        buys = log.kept.filter(purchase_expr(log)).select("customer_id", "day")
        buys = with_period(buys, "day", freq, "pd", backend=log.backend)
        # a purchase day d marks the boundaries p0 + j with period(d) < p0 + j <= period(d + W): the
        # interval [lo, hi) of boundary indices; per purchase period the latest day reaches furthest
        marks = buys.group_by("customer_id", "pd").agg(nw.col("day").max())
        marks = with_period(marks, "day", freq, "pw", window_days, backend=log.backend)
        if log.backend == "duckdb":
            marks = materialize(marks, log.backend)
            fp = marks.group_by("customer_id").agg(nw.col("pd").min().alias("fp"))
            marks = marks.join(fp, on="customer_id", how="inner")
        else:
            marks = marks.with_columns(fp=nw.col("pd").min().over("customer_id"))
        hi = nw.col("pw") - p0 + 1
        marks = marks.with_columns(lo=nw.col("pd") - p0 + 1, hi=nw.when(hi > n_b).then(nw.lit(n_b)).otherwise(hi))
        marks = marks.filter(nw.col("hi") > nw.col("lo"))
        # Per customer, hi never decreases with lo (the latest day of a later period reaches further),
        # so the boundaries a mark adds to the union of the earlier ones are [max(lo, prev_hi), hi),
        # where prev_hi is the previous mark's hi; they join the earlier ones when prev_hi >= lo.
        prev = nw.col("hi").shift(1).over("customer_id", order_by="lo")
        marks = marks.with_columns(prev=prev)
        has_prev = ~nw.col("prev").is_null()
        marks = marks.with_columns(
            s=nw.when(has_prev & (nw.col("prev") > nw.col("lo"))).then(nw.col("prev")).otherwise(nw.col("lo")),
            joins=(has_prev & (nw.col("prev") >= nw.col("lo"))),
            new=(~has_prev & (nw.col("lo") == nw.col("fp") - p0 + 1)),
        ).filter(nw.col("s") < nw.col("hi"))
        if by:
            marks = marks.join(_acquisition(log, by), on="customer_id", how="left")
        agg = marks.group_by(*by, "s", "hi", "joins", "new").agg(nw.len().alias("n"))
        table = collect(agg)
        groups = (
            _sorted_groups(collect(_acquisition(log, by).select(*by).unique()), by) if by else pd.DataFrame(index=[0])
        )
    if by:
        for col in by:
            table[col] = table[col].astype(object)
        gi = (
            pd.MultiIndex.from_frame(groups).get_indexer(pd.MultiIndex.from_frame(table[by]))
            if len(table)
            else np.zeros(0, np.int64)
        )
    else:
        gi = np.zeros(len(table), dtype=np.int64)
    n_groups = len(groups)

    def col(name: str) -> np.ndarray:
        return table[name].to_numpy(dtype=np.int64) if len(table) else np.zeros(0, np.int64)

    s_, h_, cnt = col("s"), col("hi"), col("n")
    joins = table["joins"].to_numpy(dtype=bool) if len(table) else np.zeros(0, bool)
    is_new = table["new"].to_numpy(dtype=bool) if len(table) else np.zeros(0, bool)

    def covered(g: np.ndarray, lo: np.ndarray, hi: np.ndarray, weight: np.ndarray) -> np.ndarray:
        """Per group and boundary, the summed weight of intervals [lo, hi) covering it."""
        diff = np.zeros((n_groups, n_b + 1), dtype=np.int64)
        np.add.at(diff, (g, lo), weight)
        np.add.at(diff, (g, hi), -weight)
        return np.cumsum(diff, axis=1)

    # customers at boundary j: the pieces [s, hi) are disjoint per customer
    n = covered(gi, s_, h_, cnt)
    # retained at j (customer at j and j + 1): j + 1 in the same piece, or j the last boundary
    # before a piece that joins the earlier coverage
    ret = covered(gi, s_, h_ - 1, cnt)
    np.add.at(ret, (gi[joins], s_[joins] - 1), cnt[joins])
    new = np.zeros((n_groups, n_b + 1), dtype=np.int64)
    np.add.at(new, (gi[is_new], s_[is_new]), cnt[is_new])
    start = n[:, : n_b - 1]
    end = n[:, 1:n_b]
    retained = ret[:, : n_b - 1]
    new_p = new[:, 1:n_b]
    counts = {
        "start_customers": start,
        "end_customers": end,
        "new": new_p,
        "retained": retained,
        "lost": start - retained,
        "reactivated": end - retained - new_p,
    }
    return CRRCounts(periods=periods, boundary_days=bd, data_start_day=lo_day, groups=groups, counts=counts)


__all__ = [
    "BACKENDS",
    "CRRCounts",
    "LOCAL_REDUCE_MAX_ROWS",
    "NativeLog",
    "backend_of",
    "cohort_counts",
    "crr_counts",
    "prepare",
    "to_pandas",
]
