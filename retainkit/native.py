"""Loading a transaction log whose rows stay in polars, DuckDB or Spark (definitions §1).

:func:`retainkit.data.load_transactions` hands a lazy source here: validation
runs in that engine (a few aggregate queries, see :mod:`retainkit.backends`)
and the data summary is computed on first access.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

import pandas as pd

from . import native_counts, native_log
from . import postgres as pg
from . import sources as bk
from .encoding import DEFAULT_ENCODING
from .exceptions import DataError, ParameterError
from .inputs import (
    FAR_GAP_YEARS,
    REASONS,
    DataQualityWarning,
    DataSummary,
    Transactions,
    check_unusable,
    far_years,
    warn_far_dates,
)
from .native_prepare import prepare
from .periods import end_of_day
from .readers import check_columns, describe_source, file_columns, file_kind, is_file_source, source_columns
from .timestamps import date_hint, show_value


def native_source(
    source: Any,
    mapping: dict[str, str | None],
    backend: str | None,
    encoding: str = DEFAULT_ENCODING,
    *,
    table: str | None = None,
    query: str | None = None,
):
    """(native frame, engine, source description) when the rows should stay in polars/DuckDB/Spark/PostgreSQL,
    else None."""
    if pg.is_postgres_url(source):
        if backend not in (None, "postgres"):
            raise ParameterError(
                f"backend={backend!r}: a PostgreSQL source is aggregated on its server; leave backend unset."
            )
        native, name = pg.open_source(source, table=table, query=query)
        try:
            check_columns(mapping, bk.columns_of(native))
        except DataError as exc:
            raise DataError(f"{name}: {exc}") from None
        # small sources come over whole (as Arrow) and are handled by polars; large ones stay on the server
        pulled = pg.pull_if_small(native, list(dict.fromkeys(c for c in mapping.values() if c is not None)))
        return (pulled, "polars", name) if pulled is not None else (native, "postgres", name)
    if table is not None or query is not None:
        raise ParameterError(
            "table= and query= name what to read from a PostgreSQL source; pass a "
            "postgresql://user@host:5432/db URL as the source."
        )
    if backend is not None and backend not in bk.BACKENDS:
        raise ParameterError(f"backend={backend!r} is not one of {', '.join(map(repr, bk.BACKENDS))}.")
    columns = list(dict.fromkeys(c for c in mapping.values() if c is not None))
    if is_file_source(source):
        path = Path(source).expanduser()
        is_glob = any(ch in str(source) for ch in "*?[")
        if not path.exists() and not is_glob:
            raise DataError(f"{path}: no such file (working directory: {Path.cwd()}). Check the path.")
        kind = "parquet" if is_glob and ".parq" in path.name.lower() else file_kind(path) if not is_glob else "csv"
        engine = bk.file_engine(path, kind, backend) if not is_glob else (backend or bk.DEFAULT_FILE_ENGINE)
        if engine == "pandas":
            if is_glob:
                raise ParameterError(f"{source}: a glob of files needs backend='duckdb' or 'polars'.")
            return None
        if kind == "csv" and not is_glob:
            check_columns(mapping, file_columns(path, kind, encoding))
        text_columns = tuple(c for c in (mapping.get("timestamp"),) if c)
        native = bk.scan_file(path, kind, engine, text_columns=text_columns, encoding=encoding)
        check_columns(mapping, bk.columns_of(native))
        return native, engine, str(path)
    found = bk.backend_of(source)
    if found is None:
        raise DataError(
            f"source of type {type(source).__name__} is not supported. Pass a CSV/Parquet path, "
            "a pandas or polars DataFrame, a DuckDB relation or a Spark DataFrame."
        )
    check_columns(mapping, source_columns(source))
    engine = backend or found
    if engine == "pandas":
        return None
    if engine == found:
        return source, engine, describe_source(source)
    if found == "pandas" and engine in ("polars", "duckdb"):
        frame = source.loc[:, columns]
        if engine == "polars":
            import polars as pl

            return pl.from_pandas(frame).lazy(), engine, describe_source(source)
        import duckdb

        return duckdb.connect().from_df(frame), engine, describe_source(source)
    raise ParameterError(
        f"backend={engine!r} cannot hold a {found} source; use backend=None (its own engine) or 'pandas'."
    )


def load_native(
    native: Any,
    engine: str,
    source_name: str,
    *,
    mapping: dict[str, str | None],
    segments: tuple[str, ...],
    tz: str,
    as_of_ts: pd.Timestamp | None,
    drop_duplicates: bool,
    date_format: str | None,
    strict: bool,
    max_dropped: float | None = None,
) -> Transactions:
    """load_transactions for data held by polars / DuckDB / Spark (definitions §1)."""
    import narwhals as nw

    log = prepare(native, engine, mapping, segments, tz, date_format)
    now_key = native_log.as_of_key(end_of_day(pd.Timestamp.now(tz=tz), tz), log.aware, tz)
    explicit_key = None if as_of_ts is None else native_log.as_of_key(as_of_ts, log.aware, tz)
    st = native_counts.stats(log, now_key, explicit_key)
    n = st["rows"]
    if not n:
        raise DataError(f"{source_name}: the data has no rows. Check the file or the filter that produced it.")
    ts_col = mapping["timestamp"]
    dropped: dict[str, int] = {}
    examples: dict[str, list[str]] = {}
    no_id = nw.col("customer_id").is_null()
    conditions = {
        "null_customer_id": (no_id, None),
        "missing_timestamp": (~no_id & nw.col("ts_missing"), None),
        "unparseable_timestamp": (~no_id & ~nw.col("ts_missing") & nw.col("key").is_null(), "__ts_text"),
    }
    for reason, (cond, col) in conditions.items():
        if st[reason]:
            dropped[reason] = st[reason]
            if col == "__ts_text":
                vals = _native_examples(native, engine, mapping, reason, log, cond)
            else:
                vals = None
            examples[reason] = [f"e.g. {show_value(v)}" for v in vals] if vals else ["(no row numbers in lazy sources)"]
    parsed_candidates = n - st["null_customer_id"] - st["missing_timestamp"]
    if parsed_candidates and st["unparseable_timestamp"] == parsed_candidates:
        bad = pd.Series(
            _native_examples(
                native, engine, mapping, "unparseable_timestamp", log, conditions["unparseable_timestamp"][0]
            )
            or [],
            dtype="string",
        )
        raise DataError(
            f"column '{ts_col}': none of {parsed_candidates:,} values could be parsed as dates "
            f"(e.g. {', '.join(show_value(v) for v in bad.tolist())}).{date_hint(bad)}"
        )
    if mapping.get("amount") is not None and st.get("amount_present") and st["amount_bad"] == st["amount_present"]:
        col = mapping["amount"]
        raise DataError(
            f"column '{col}' (amount): none of {st['amount_present']:,} values is a number. "
            "Convert the column to numbers first (strip currency symbols, use a decimal point)."
        )
    usable = n - sum(dropped.values())
    if usable <= 0:
        reasons = "; ".join(f"{v:,} {REASONS[k]}" for k, v in dropped.items())
        raise DataError(f"{source_name}: no usable rows are left out of {n:,}: {reasons}.")
    log.cache["rows_usable"] = usable  # an upper bound of the kept rows (picks the reduction path)
    if as_of_ts is None:
        if st["future"]:
            if st["max_past"] is None:
                raise DataError(
                    f"every timestamp is in the future (after {pd.Timestamp.now(tz=tz):%Y-%m-%d}). "
                    "Pass as_of= explicitly if that is intended."
                )
            latest = native_log.key_to_timestamp(st["max_past"], log.aware, tz)
            warnings.warn(
                f"{st['future']:,} rows are dated after today ({pd.Timestamp.now(tz=tz):%Y-%m-%d}); they are "
                f"ignored (counted as after as_of). as_of defaults to {latest:%Y-%m-%d}; pass as_of= to choose.",
                DataQualityWarning,
                stacklevel=3,
            )
            after = st["future"]
        else:
            latest = native_log.key_to_timestamp(st["max_key"], log.aware, tz)
            after = 0
        as_of_ts = end_of_day(latest, tz)
    else:
        after = st["after_as_of"]
    if after:
        dropped["after_as_of"] = after
        examples["after_as_of"] = [
            str(v)
            for v in native_counts.examples(
                log, ~no_id & (nw.col("key") > native_log.as_of_key(as_of_ts, log.aware, tz)), "key"
            )
        ]
    if after >= usable:
        raise DataError(
            f"{source_name}: no usable rows are left out of {n:,}: all {usable:,} usable rows are "
            f"{REASONS['after_as_of']} ({as_of_ts})."
        )
    check_unusable(dropped, examples, n, strict, "transaction", stacklevel=4, max_dropped=max_dropped)
    log.as_of_key = native_log.as_of_key(as_of_ts, log.aware, tz)
    log.kept = native_counts.keep(
        log, log.as_of_key, order_id=mapping.get("order_id") is not None, drop_duplicates=drop_duplicates
    )
    columns = {k: v for k, v in mapping.items() if v is not None}
    first, last = (native_log.key_to_timestamp(st[k], log.aware, tz) for k in ("min_key", "max_key"))
    # rows far apart need FAR_GAP_YEARS empty years between them: a shorter span needs no year histogram
    spread = first is not None and last is not None and last.year - first.year > FAR_GAP_YEARS
    year_rows = native_counts.year_counts(log) if spread else {}
    far, _, _ = far_years(year_rows)
    if far:
        far_examples = [show_value(v) for v in native_counts.examples_in_years(log, far)]
        examples["far_dates"] = far_examples
        warn_far_dates(year_rows, far_examples, n, stacklevel=4)
    n_far = int(sum(year_rows[y] for y in far))

    def make_summary() -> DataSummary:
        c = native_counts.summary_counts(log, drop_duplicates=drop_duplicates, valid_rows=usable - after)
        drop = dict(dropped)
        notes: dict[str, int] = {}
        ex = dict(examples)
        if c["repeated_order_id"]:
            drop["repeated_order_id"] = c["repeated_order_id"]
        if drop_duplicates and c["exact_duplicate"]:
            drop["exact_duplicate"] = c["exact_duplicate"]
        if not drop_duplicates and c["exact_duplicates"]:
            notes["exact_duplicates_kept"] = c["exact_duplicates"]
        for name in (
            "unparseable_amount",
            "missing_amount",
            "refund_rows",
            "refund_only_customers",
            "refunds_before_first_purchase",
        ):
            if c.get(name):
                notes[name] = c[name]
        if c.get("refund_only_customers"):
            ex["refund_only_customers"] = [f"customer {show_value(v)}" for v in c["refund_only_examples"]]
        if c.get("refund_rows"):
            ex["refund_rows"] = [show_value(v) for v in c["refund_examples"]]
        if n_far:
            notes["far_dates"] = n_far
        return DataSummary(
            kind="transactions",
            source=source_name,
            rows_read=n,
            rows_kept=int(c["rows_kept"]),
            dropped=drop,
            notes=notes,
            examples=ex,
            customers=int(c["customers"]),
            first_timestamp=native_log.key_to_timestamp(c["min_key"], log.aware, tz),
            last_timestamp=native_log.key_to_timestamp(c["max_key"], log.aware, tz),
            tz=tz,
            as_of=as_of_ts,
            columns=columns,
        )

    return Transactions(
        None, None, as_of_ts, tz, segments, mapping.get("amount") is not None, native=log, summary_factory=make_summary
    )


def _native_examples(
    native: Any, engine: str, mapping: dict[str, str | None], reason: str, log: Any, condition: Any
) -> list[Any]:
    """Raw text of a few unparseable timestamps (read from the source columns)."""
    column = mapping["timestamp"]
    assert column is not None  # the timestamp column is always mapped
    return native_counts.raw_examples(log, condition, column)


__all__ = ["load_native", "native_source"]
