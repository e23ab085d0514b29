"""Which rows of a :class:`~retainkit.native_log.NativeLog` are kept, and the counts of the data summary (definitions §1).

Computed in the engine holding the rows: the load-time counts of unusable
rows (:func:`stats`), example values, rows per calendar year, the kept rows
(:func:`keep`: usable, not after ``as_of``, repeated order ids / exact
duplicates dropped as asked) and the data-summary counts over them
(:func:`summary_counts`, from the collected rows when they are at hand).
"""

from __future__ import annotations

from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from ._rowkernels import duplicated_rows, float_keys
from .native_log import NativeLog, collect, key_to_timestamp
from .native_periods import with_period
from .rows import LocalRows, refund_notes


def purchase_expr(log: NativeLog) -> nw.Expr:
    """A purchase is a row with amount >= 0 or unknown (definitions §1)."""
    if not log.has_amount:
        return ~nw.col("customer_id").is_null()  # every kept row (a length-preserving "True")
    a = nw.col("amount")
    return a.is_null() | (a >= 0)


def stats(log: NativeLog, now_key: int, as_of_key_value: int | None = None) -> dict[str, Any]:
    """Counts needed at load time, in one pass: rows, unusable rows by reason, time span."""
    valid = ~nw.col("customer_id").is_null() & ~nw.col("key").is_null()
    k = nw.col("key")
    aggs = [
        nw.len().alias("rows"),
        nw.col("customer_id").is_null().cast(nw.Int64).sum().alias("null_customer_id"),
        (~nw.col("customer_id").is_null() & nw.col("ts_missing")).cast(nw.Int64).sum().alias("missing_timestamp"),
        (~nw.col("customer_id").is_null() & ~nw.col("ts_missing") & k.is_null())
        .cast(nw.Int64)
        .sum()
        .alias("unparseable_timestamp"),
        nw.when(valid & (k <= now_key)).then(k).otherwise(None).max().alias("max_past"),
        (valid & (k > now_key)).cast(nw.Int64).sum().alias("future"),
        nw.when(valid).then(k).otherwise(None).max().alias("max_key"),
        nw.when(valid).then(k).otherwise(None).min().alias("min_key"),
    ]
    if as_of_key_value is not None:
        aggs.append((valid & (k > as_of_key_value)).cast(nw.Int64).sum().alias("after_as_of"))
    if log.has_amount:
        aggs += [
            nw.col("amount_bad").cast(nw.Int64).sum().alias("amount_bad"),
            (~nw.col("amount_missing")).cast(nw.Int64).sum().alias("amount_present"),
        ]
    with log.context():
        out = collect(log.raw.select(*aggs)).iloc[0]
    return {
        name: (0 if name not in ("max_past", "max_key", "min_key") and pd.isna(v) else None if pd.isna(v) else int(v))
        for name, v in out.items()
    }


def examples(log: NativeLog, condition: nw.Expr, column: str | None, n: int = 3) -> list[Any]:
    """Up to ``n`` example values of ``column`` among rows matching ``condition`` (a small limit query)."""
    with log.context():
        lf = log.raw.filter(condition)
        col = column or "customer_id"
        if col == "key":
            vals = collect(lf.select("key").head(n))["key"].tolist()
            return [str(key_to_timestamp(v, log.aware, log.tz)) for v in vals]
        return collect(lf.select(nw.col(col)).head(n))[col].tolist()


def year_counts(log: NativeLog) -> dict[int, int]:
    """Kept rows per local calendar year (a small group-by; for :func:`retainkit.inputs.far_years`)."""
    with log.context():
        years = with_period(log.kept.select("day"), "day", "Y", "y", backend=log.backend)
        table = collect(years.group_by("y").agg(nw.len().alias("n")))
    return {1970 + int(y): int(c) for y, c in zip(table["y"], table["n"])}


def examples_in_years(log: NativeLog, years: list[int], n: int = 3) -> list[str]:
    """A few kept timestamps dated in ``years`` (local calendar years)."""
    with log.context():
        dated = with_period(log.kept.select("key", "day"), "day", "Y", "y", backend=log.backend)
        picked = dated.filter(nw.col("y").is_in([y - 1970 for y in years])).select("key").head(n)
        keys = collect(picked)["key"].tolist()
    return [str(key_to_timestamp(k, log.aware, log.tz)) for k in keys]


def raw_examples(log: NativeLog, condition: nw.Expr, column: str, n: int = 3) -> list[Any]:
    """The source text of the timestamp column on a few rows matching ``condition``."""
    return examples(log, condition, "ts_text", n)


def keep(log: NativeLog, as_of_key_value: int, *, order_id: bool, drop_duplicates: bool) -> nw.LazyFrame:
    """Rows kept for analysis: usable, not after as_of, repeated order ids / duplicates dropped as asked."""
    k = nw.col("key")
    lf = log.raw.filter(~nw.col("customer_id").is_null() & ~k.is_null() & (k <= as_of_key_value))
    cols = [
        "customer_id",
        "key",
        "day",
        *(["amount"] if log.has_amount else []),
        *(["order_id"] if order_id else []),
        *log.segments,
    ]
    lf = lf.select(*cols)
    log.cache["valid"] = lf
    if order_id:
        # first kept: the earliest row of each order id (rows without an id are all kept)
        has = lf.filter(~nw.col("order_id").is_null())
        first = has.unique(subset=["order_id"], keep="first", order_by=["key", "customer_id"])
        lf = nw.concat([first, lf.filter(nw.col("order_id").is_null())], how="vertical")
    log.cache["after_order"] = lf
    if drop_duplicates:
        lf = lf.unique()
    return lf


def _count(lf: nw.LazyFrame) -> int:
    return int(collect(lf.select(nw.len().alias("n")))["n"].iloc[0])


def summary_counts(log: NativeLog, *, drop_duplicates: bool, valid_rows: int | None = None) -> dict[str, Any]:
    """Counts of the data summary over the kept rows (definitions §1).

    When the kept rows were collected (:func:`local_rows`) and nothing else
    needs the engine (no order id, numeric amounts, duplicates kept or no
    amount), the counts come from those arrays: no further scan. ``valid_rows``
    is the number of rows left after unusable rows and rows after as_of.
    """
    rows = log.cache.get("local_rows")
    if (
        rows is not None
        and valid_rows is not None
        and not log.has_order_id
        and log.cache.get("amount_numeric")
        and not (drop_duplicates and log.has_amount)
    ):
        return _summary_from_rows(rows, log.has_amount, drop_duplicates, valid_rows)
    kept = log.kept
    k = nw.col("key")
    aggs = [
        nw.len().alias("rows_kept"),
        nw.col("customer_id").n_unique().alias("customers"),
        k.min().alias("min_key"),
        k.max().alias("max_key"),
    ]
    if log.has_amount:
        a = nw.col("amount")
        aggs += [(a < 0).cast(nw.Int64).sum().alias("refund_rows")]
    with log.context():
        out = {name: (None if pd.isna(v) else v) for name, v in collect(kept.select(*aggs)).iloc[0].items()}
        out["refund_rows"] = int(out.get("refund_rows") or 0)
        rows_kept = int(out["rows_kept"])
        n_valid = _count(log.cache["valid"])
        n_order = _count(log.cache["after_order"]) if log.has_order_id else n_valid
        out["repeated_order_id"] = n_valid - n_order
        out["exact_duplicate"] = n_order - rows_kept
        out["exact_duplicates"] = 0 if drop_duplicates else rows_kept - _count(kept.unique())
        if log.has_amount:
            buy = purchase_expr(log)
            out["refund_examples"] = collect(kept.filter(~buy).select("amount").head(3))["amount"].tolist()
            per = (
                kept.with_columns(buy=buy)
                .group_by("customer_id")
                .agg(
                    nw.col("buy").max().alias("buyer"),
                    nw.when(nw.col("buy")).then(k).otherwise(None).min().alias("first_buy"),
                )
            )
            refunds = kept.filter(~buy).join(per, on="customer_id", how="left")
            r = collect(
                refunds.select((nw.col("buyer") & (k < nw.col("first_buy"))).cast(nw.Int64).sum().alias("early"))
            )
            out["refunds_before_first_purchase"] = int(r["early"].fillna(0).iloc[0])
            ro = per.filter(~nw.col("buyer"))
            out["refund_only_customers"] = _count(ro)
            out["refund_only_examples"] = collect(ro.select("customer_id").head(3))["customer_id"].tolist()
            bad = collect(
                log.raw.filter(_kept_mask(log)).select(
                    nw.col("amount_bad").cast(nw.Int64).sum().alias("bad"),
                    nw.col("amount_missing").cast(nw.Int64).sum().alias("missing"),
                )
            )
            out["unparseable_amount"] = int(bad["bad"].fillna(0).iloc[0])
            out["missing_amount"] = int(bad["missing"].fillna(0).iloc[0])
    return out


def _summary_from_rows(rows: LocalRows, has_amount: bool, drop_duplicates: bool, valid_rows: int) -> dict[str, Any]:
    """:func:`summary_counts` from the collected kept rows (the same numbers, no scan)."""
    key = rows.columns["key"]
    out: dict[str, Any] = {
        "rows_kept": len(key),
        "customers": rows.n,
        "repeated_order_id": 0,
        "min_key": int(key.min()) if len(key) else None,
        "max_key": int(key.max()) if len(key) else None,
    }
    out["exact_duplicate"] = valid_rows - len(key) if drop_duplicates else 0
    if drop_duplicates:
        out["exact_duplicates"] = 0
    else:
        keys = [rows.codes.astype(np.int64), key]
        if has_amount:
            keys.append(float_keys(rows.columns["amount"]))
        out["exact_duplicates"] = int(
            duplicated_rows(keys, exact=[c for c, _ in rows.segments.values()], sorted_hint=1).sum()
        )
    if has_amount:
        amount = rows.columns["amount"]
        refunds = np.flatnonzero(~rows.purchase)
        out["refund_rows"] = len(refunds)
        out["refund_examples"] = amount[refunds[:3]].tolist()
        notes, examples = refund_notes(rows.codes, rows.customer_ids, key, rows.purchase)
        out["refund_only_customers"] = notes.get("refund_only_customers", 0)
        out["refund_only_examples"] = examples.get("refund_only_customers", [])
        out["refunds_before_first_purchase"] = notes.get("refunds_before_first_purchase", 0)
        out["unparseable_amount"] = 0
        out["missing_amount"] = int(np.isnan(amount).sum())  # the kept rows are the valid ones here
    else:
        out["refund_rows"] = 0
    return out


def _kept_mask(log: NativeLog) -> nw.Expr:
    k = nw.col("key")
    return ~nw.col("customer_id").is_null() & ~k.is_null() & (k <= log.as_of_key)


__all__ = [
    "examples",
    "examples_in_years",
    "keep",
    "purchase_expr",
    "raw_examples",
    "stats",
    "summary_counts",
    "year_counts",
]
