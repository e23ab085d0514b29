"""Rows that stay in polars, DuckDB or Spark: which engine holds a source, and reading files (definitions §1).

A pandas DataFrame is read into memory (:mod:`retainkit.data`). Every other
source (a polars DataFrame or LazyFrame, a DuckDB relation, a PySpark
DataFrame, and CSV / Parquet files large enough to be scanned out of core)
stays in its own engine: this module detects the engine and scans files. The
rest of the way lives in one module per step, and their names are
re-exported here:

* :mod:`retainkit.native_prepare`: normalises the mapped columns where the
  data lives (one small backend-specific step per engine: time zones, day
  numbers, parsing) to a narwhals LazyFrame with ``customer_id``, ``key``
  (int64 microseconds: the instant for timezone-aware input, the local wall
  time for naive input), ``day`` (local day number since 1970-01-01),
  ``amount``, ``order_id`` and the segment columns;
* :mod:`retainkit.native_log`: that log (:class:`NativeLog`), the context its
  queries run in, and ``key`` to and from timestamps;
* :mod:`retainkit.native_periods`: period indexes of day numbers in the engine;
* :mod:`retainkit.native_counts`: the kept rows and, in the engine, the
  validation counts of the data summary;
* :mod:`retainkit.native_rows`: the kept rows materialised on request
  (:func:`local_rows` for the numpy reduction, :func:`to_pandas`).

The aggregation on these logs is :mod:`retainkit.backends`.
"""

from __future__ import annotations

import glob
import os
from pathlib import Path
from typing import Any

import pandas as pd

from . import postgres as pg
from .encoding import DEFAULT_ENCODING, check_decodes, decode_error, find_decode_problem, is_utf8
from .exceptions import DataError, ParameterError
from .native_counts import (
    examples,
    examples_in_years,
    keep,
    purchase_expr,
    raw_examples,
    stats,
    summary_counts,
    year_counts,
)
from .native_log import NativeLog, as_of_key, collect, collect_polars, engine_context, key_to_timestamp, spark_utc
from .native_periods import with_period
from .native_prepare import java_pattern, prepare
from .native_rows import dense_codes, local_rows, to_pandas

#: engines that can hold the rows (``"pandas"`` is the numpy path of retainkit.engine)
BACKENDS: tuple[str, ...] = ("pandas", "polars", "duckdb", "spark")
#: file engines (``load_transactions(path, backend=...)``)
FILE_ENGINES: tuple[str, ...] = ("pandas", "polars", "duckdb")
#: CSV files larger than this are scanned lazily by default (smaller ones are read by pandas,
#: whose messages quote line numbers); Parquet is always scanned lazily
EAGER_MAX_CSV_BYTES = 100_000_000
#: engine that scans files when ``backend`` is not given (the fastest on this kind of query) ...
DEFAULT_FILE_ENGINE = "polars"
#: ... and for Parquet data of more rows than this, DuckDB (the leanest in memory; benchmarks/results.md)
LARGE_PARQUET_ROWS = 20_000_000


def backend_of(source: Any) -> str | None:
    """Name of the engine holding ``source``: "pandas", "polars", "duckdb", "spark" or None."""
    if isinstance(source, pd.DataFrame):
        return "pandas"
    mod = type(source).__module__.split(".")[0]
    if mod == "polars" and type(source).__name__ in ("DataFrame", "LazyFrame"):
        return "polars"
    if mod == "duckdb" and type(source).__name__ == "DuckDBPyRelation":
        return "duckdb"
    if mod == "pyspark" and type(source).__name__ == "DataFrame":
        return "spark"
    if pg.is_ibis_table(source):
        return "postgres"
    return None


def file_engine(path: Path, kind: str, backend: str | None) -> str:
    """Engine for a file: ``backend`` if given, else the lazy engine for Parquet and large CSV, pandas otherwise."""
    if backend is not None:
        if backend not in FILE_ENGINES:
            raise ParameterError(
                f"backend={backend!r} cannot read files; use one of {', '.join(map(repr, FILE_ENGINES))} "
                "(or read the file with Spark yourself and pass the Spark DataFrame)."
            )
        return backend
    if kind == "parquet":
        try:
            import pyarrow.dataset as ds

            rows = ds.dataset(str(path), format="parquet").count_rows()  # from the footers: cheap
        except Exception:  # noqa: BLE001 - unreadable files are reported by the eager reader
            return "pandas"
        return "duckdb" if rows > LARGE_PARQUET_ROWS else DEFAULT_FILE_ENGINE
    size = path.stat().st_size if path.is_file() else 0
    return DEFAULT_FILE_ENGINE if size > EAGER_MAX_CSV_BYTES else "pandas"


def scan_file(
    path: Path, kind: str, engine: str, *, text_columns: tuple[str, ...] = (), encoding: str = DEFAULT_ENCODING
) -> Any:
    """Open a CSV / Parquet file, directory or glob lazily with polars or DuckDB.

    ``text_columns`` of a CSV are read as text (the timestamp column: its date
    reading is decided by :mod:`retainkit.timestamps`, not by the reader's
    guess). ``encoding`` (a Python codec name) applies to CSV: UTF-8 files are
    checked to decode first (a DataError names the line and byte otherwise);
    polars and DuckDB read only UTF-8 themselves (DuckDB 2 refuses other
    encodings without an extension), so a file in another encoding is decoded
    by pandas and the frame handed to the engine (read in memory, not out of
    core).
    """
    text = str(path)
    if kind == "parquet" and path.is_dir():
        text = os.path.join(text, "**", "*.parquet")
    sep = "\t" if ".tsv" in path.name.lower() else ","
    if kind == "csv":
        if is_utf8(encoding):
            for name in sorted(glob.glob(text)) or [text]:
                if Path(name).is_file() and not name.lower().endswith((".gz", ".bz2", ".zip", ".xz")):
                    check_decodes(name, encoding)
        else:
            return _decoded_by_pandas(path, engine, sep, text_columns, encoding)
    try:
        if engine == "polars":
            import polars as pl

            if kind == "parquet":
                return pl.scan_parquet(text)
            return pl.scan_csv(
                text, separator=sep, infer_schema_length=10_000, schema_overrides={c: pl.String for c in text_columns}
            )
        import duckdb

        con = duckdb.connect()
        if kind == "parquet":
            return con.read_parquet(text)
        options: dict[str, Any] = {"sep": sep}
        if text_columns:
            options["dtype"] = {c: "VARCHAR" for c in text_columns}
        return con.read_csv(text, **options)
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data error
        raise DataError(f"{path}: could not be read as {kind.upper()} ({type(exc).__name__}: {exc}).") from exc


def _decoded_by_pandas(path: Path, engine: str, sep: str, text_columns: tuple[str, ...], encoding: str) -> Any:
    """A CSV file in an encoding the engine cannot read itself: decoded by pandas, handed to the engine."""
    if any(ch in str(path) for ch in "*?["):
        raise ParameterError(
            f"{path}: a glob of CSV files in {encoding} cannot be scanned lazily. Convert the files to UTF-8 "
            "or Parquet, or read them with pandas and pass the frame."
        )
    try:
        frame = pd.read_csv(
            path, sep=sep, encoding=encoding, dtype={c: "string" for c in text_columns}, low_memory=False
        )
    except UnicodeDecodeError:
        raise decode_error(path, encoding, find_decode_problem(path, encoding)) from None
    except Exception as exc:  # noqa: BLE001 - any reader failure is a data error
        raise DataError(f"{path}: could not be read as CSV ({type(exc).__name__}: {exc}).") from exc
    if engine == "polars":
        import polars as pl

        return pl.from_pandas(frame).lazy()
    import duckdb

    return duckdb.connect().from_df(frame)


def columns_of(native: Any) -> list[str]:
    """Column names of a native frame."""
    if backend_of(native) == "polars":
        return list(native.collect_schema().names()) if hasattr(native, "collect_schema") else list(native.columns)
    return [str(c) for c in native.columns]


__all__ = [
    "BACKENDS",
    "DEFAULT_FILE_ENGINE",
    "EAGER_MAX_CSV_BYTES",
    "FILE_ENGINES",
    "LARGE_PARQUET_ROWS",
    "NativeLog",
    "as_of_key",
    "backend_of",
    "collect",
    "collect_polars",
    "columns_of",
    "dense_codes",
    "engine_context",
    "examples",
    "examples_in_years",
    "file_engine",
    "java_pattern",
    "keep",
    "key_to_timestamp",
    "local_rows",
    "prepare",
    "purchase_expr",
    "raw_examples",
    "scan_file",
    "spark_utc",
    "stats",
    "summary_counts",
    "to_pandas",
    "with_period",
    "year_counts",
]
