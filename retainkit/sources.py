"""Rows that stay in polars, DuckDB or Spark: detection, normalisation and validation (definitions §1).

A pandas DataFrame is read into memory (:mod:`retainkit.data`). Every other
source (a polars DataFrame or LazyFrame, a DuckDB relation, a PySpark
DataFrame, and CSV / Parquet files large enough to be scanned out of core)
stays in its own engine: this module detects the engine, scans files, and
normalises the mapped columns where the data lives (one small
backend-specific step per engine: time zones, day numbers, parsing) to a
narwhals LazyFrame with ``customer_id``, ``key`` (int64 microseconds: the
instant for timezone-aware input, the local wall time for naive input),
``day`` (local day number since 1970-01-01), ``amount``, ``order_id`` and the
segment columns (:class:`NativeLog`). It also computes, in the engine, the
validation counts of the data summary and materialises the kept rows on
request (:func:`to_pandas`). The aggregation on these logs is
:mod:`retainkit.backends`.
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd

from . import postgres as pg
from ._codes import codes_in_sorted, factorize
from ._rowkernels import duplicated_rows, float_keys
from .encoding import DEFAULT_ENCODING, check_decodes, decode_error, find_decode_problem, is_utf8
from .exceptions import DataError, ParameterError
from .rows import LocalRows, narrow_codes, refund_notes
from .timestamps import DateReading, date_reading, date_shapes

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

_US_PER_DAY = 86_400_000_000
_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})\s*$")
_PL_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
_PL_FORMATS_TZ = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%d %H:%M%z")


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


@contextlib.contextmanager
def spark_utc(native: Any) -> Iterator[None]:
    """Run Spark plans with ``spark.sql.session.timeZone=UTC`` and restore the previous value.

    Day numbers are computed from microsecond values so they do not depend on the
    session time zone; naive (TIMESTAMP_NTZ) values and strings without an offset
    are read in UTC here and then taken as wall times in the report time zone.
    """
    spark = getattr(native, "sparkSession", None)
    if spark is None:
        yield
        return
    old = spark.conf.get("spark.sql.session.timeZone")
    spark.conf.set("spark.sql.session.timeZone", "UTC")
    try:
        yield
    finally:
        spark.conf.set("spark.sql.session.timeZone", old)


@dataclass
class NativeLog:
    """A transaction log normalised inside its engine (definitions §1).

    ``raw`` has one row per input row with the columns ``customer_id``,
    ``key``, ``day``, ``ts_missing`` and, as mapped, ``amount`` /
    ``amount_bad`` / ``amount_missing``, ``order_id`` and the segment columns.
    ``kept`` is ``raw`` after dropping unusable rows, rows after ``as_of`` and
    (as asked) repeated order ids / exact duplicates.
    """

    backend: str
    native: Any
    raw: nw.LazyFrame
    aware: bool
    tz: str
    has_amount: bool
    has_order_id: bool
    segments: tuple[str, ...]
    kept: nw.LazyFrame | None = None
    as_of_key: int | None = None
    #: cached small results (day range, ...)
    cache: dict = field(default_factory=dict)

    def context(self):
        return engine_context(self.native, self.backend)


def engine_context(native: Any, backend: str):
    """What every engine query runs inside: UTC for Spark, database errors as DataError for PostgreSQL."""
    if backend == "spark":
        return spark_utc(native)
    if backend == "postgres":
        return pg.database_errors(f"PostgreSQL {pg.where_of(native)}: a query failed", pg.secrets_of(native))
    return contextlib.nullcontext()


def collect_polars(log: NativeLog, lf: nw.LazyFrame) -> Any:
    """Collect rows to a polars DataFrame (PostgreSQL: streamed as Arrow by the ADBC driver)."""
    if log.backend == "postgres":
        import polars as pl

        return pl.from_arrow(pg.fetch_arrow(nw.to_native(lf)))
    return lf.collect(backend="polars").to_native()


def _dtype_kind(dtype: Any) -> str:
    if isinstance(dtype, nw.Datetime) or dtype == nw.Datetime:
        return "datetime_tz" if getattr(dtype, "time_zone", None) else "datetime"
    if dtype == nw.Date:
        return "date"
    if dtype == nw.String or dtype == nw.Categorical:
        return "string"
    if dtype == nw.Boolean:
        return "bool"
    if dtype.is_numeric():
        return "numeric"
    return "other"


def _first_text(native: Any, backend: str, column: str) -> str | None:
    """First non-empty value of a text column (decides whether strings carry UTC offsets)."""
    lf = nw.from_native(native)
    lf = lf.lazy() if isinstance(lf, nw.DataFrame) else lf
    c = nw.col(column)
    head = lf.select(c).filter(~c.is_null() & (c.str.strip_chars() != "")).head(1).collect(backend="pandas").to_native()
    return None if head.empty else str(head.iloc[0, 0])


def prepare(
    native: Any,
    backend: str,
    mapping: dict[str, str | None],
    segments: tuple[str, ...],
    tz: str,
    date_format: str | None,
) -> NativeLog:
    """Normalise the mapped columns of ``native`` inside its engine (definitions §1).

    Text timestamps are read with one :class:`~retainkit.timestamps.DateReading`
    for the whole column (:func:`~retainkit.timestamps.date_reading` of the
    column's shapes, one group-by in the engine; ``date_format`` when given).
    Raises DataError for a timestamp column of numbers, an amount column of
    booleans, an ambiguous or mixed day/month order, and ParameterError for a
    Spark ``date_format`` with codes that have no Java equivalent.
    """
    cid, ts, amount, order_id = (
        mapping["customer_id"],
        mapping["timestamp"],
        mapping.get("amount"),
        mapping.get("order_id"),
    )
    lf0 = nw.from_native(native)
    lf0 = lf0.lazy() if isinstance(lf0, nw.DataFrame) else lf0
    with engine_context(native, backend):
        schema = lf0.collect_schema()
        ts_kind = _dtype_kind(schema[ts])
        if ts_kind in ("numeric", "bool"):
            raise DataError(
                f"column '{ts}' holds numbers ({schema[ts]}), not dates. If they are Unix epoch seconds, "
                "convert them first (e.g. polars: pl.from_epoch(col, 's'); DuckDB: to_timestamp(col); "
                "Spark: F.timestamp_seconds(col))."
            )
        aware = ts_kind == "datetime_tz"
        formats: tuple[str, ...] | None = None
        if ts_kind == "string" and backend == "postgres":
            # ISO 8601 text only, parsed in SQL (retainkit.postgres.normalise)
            sample = _first_text(native, backend, ts)
            aware = bool(sample and _TZ_SUFFIX.search(sample))
        elif ts_kind == "string":
            # one reading for the whole column, decided where the rows live (retainkit.timestamps)
            reading = (
                date_reading(date_shapes(lf0, ts), ts) if not date_format else DateReading(ts, "given", (date_format,))
            )
            formats = reading.formats or None
            if reading.order == "iso":
                sample = _first_text(native, backend, ts)
                aware = bool(sample and _TZ_SUFFIX.search(sample))
                if aware or backend != "polars":
                    formats = None  # DuckDB and Spark read ISO 8601 (offsets too) with their own parser
            else:
                aware = bool(date_format and "%z" in date_format)
        if amount is not None and _dtype_kind(schema[amount]) == "bool":
            raise DataError(f"column '{amount}' (amount) holds true/false values, not money amounts.")
        amount_text = amount is not None and _dtype_kind(schema[amount]) == "string"
        text_amount = amount if amount_text else None
        if backend == "polars":
            native2 = _prepare_polars(native, ts, ts_kind, aware, tz, formats, text_amount)
        elif backend == "duckdb":
            native2 = _prepare_duckdb(native, ts, ts_kind, aware, tz, formats, text_amount)
        elif backend == "spark":
            native2 = _prepare_spark(native, ts, ts_kind, aware, tz, formats, text_amount)
        elif backend == "postgres":
            native2 = pg.normalise(native, ts, ts_kind, aware, tz, date_format, text_amount)
        else:  # pragma: no cover - pandas goes through retainkit.engine
            raise ParameterError(f"backend {backend!r} is not a native engine.")
        lf = nw.from_native(native2)
        lf = lf.lazy() if isinstance(lf, nw.DataFrame) else lf
        exprs = [
            _id_expr(cid, schema[cid]).alias("customer_id"),
            nw.col("__key").alias("key"),
            nw.col("__day").alias("day"),
            nw.col("__ts_missing").alias("ts_missing"),
            nw.col(ts).cast(nw.String).alias("ts_text"),
        ]
        if amount is not None:
            a = nw.col(amount)
            if amount_text:
                text = a.cast(nw.String).str.strip_chars()
                value = nw.col("__amount")  # parsed natively: unparseable text -> null
                exprs += [
                    value.alias("amount"),
                    (~text.is_null() & (text != "") & value.is_null()).alias("amount_bad"),
                    (text.is_null() | (text == "")).alias("amount_missing"),
                ]
            else:
                value = a.cast(nw.Float64)
                # NaN counts as unknown, like a null
                value = nw.when(value.is_nan()).then(None).otherwise(value) if backend != "spark" else value
                exprs += [
                    value.alias("amount"),
                    nw.lit(False).alias("amount_bad"),
                    value.is_null().alias("amount_missing"),
                ]
        if order_id is not None:
            exprs.append(_id_expr(order_id, schema[order_id]).alias("order_id"))
        for s in segments:
            exprs.append(_segment_expr(s, schema[s]).alias(s))
        raw = lf.select(*exprs)
    log = NativeLog(
        backend=backend,
        native=native,
        raw=raw,
        aware=aware,
        tz=tz,
        has_amount=amount is not None,
        has_order_id=order_id is not None,
        segments=segments,
    )
    # numbers are never unparseable: their data-summary counts can come from the collected rows
    log.cache["amount_numeric"] = amount is None or _dtype_kind(schema[amount]) == "numeric"
    return log


def _id_expr(column: str, dtype: Any) -> nw.Expr:
    """Customer / order ids: strings stripped, empty strings as missing (definitions §1)."""
    c = nw.col(column)
    if _dtype_kind(dtype) == "string":
        text = c.cast(nw.String).str.strip_chars()
        return nw.when(text == "").then(None).otherwise(text)
    return c


def _segment_expr(column: str, dtype: Any) -> nw.Expr:
    """Segment values as text like pandas writes them ("True"/"False"), "(missing)" for empty."""
    c = nw.col(column)
    if _dtype_kind(dtype) == "bool":
        text = nw.when(c).then(nw.lit("True")).otherwise(nw.lit("False"))
        return nw.when(c.is_null()).then(nw.lit("(missing)")).otherwise(text)
    return c.cast(nw.String).fill_null("(missing)")


def _prepare_polars(
    native: Any, ts: str, kind: str, aware: bool, tz: str, formats: tuple[str, ...] | None, amount: str | None = None
):
    import polars as pl

    lf = native.lazy() if isinstance(native, pl.DataFrame) else native
    if amount is not None:
        lf = lf.with_columns(__amount=pl.col(amount).cast(pl.String).str.strip_chars().cast(pl.Float64, strict=False))
    c = pl.col(ts)
    missing = c.is_null()
    if kind == "string":
        text = c.cast(pl.String).str.strip_chars()
        missing = missing | (text == "")
        text = text.str.replace(r"Z$", "+00:00")
        if formats:
            dt = pl.Datetime("us", "UTC") if aware else pl.Datetime("us")
            # chrono writes fractional seconds after a dot as %.f
            parsed = pl.coalesce([text.str.strptime(dt, f.replace(".%f", "%.f"), strict=False) for f in formats])
        elif aware:
            parsed = pl.coalesce([text.str.strptime(pl.Datetime("us", "UTC"), f, strict=False) for f in _PL_FORMATS_TZ])
        else:
            parsed = pl.coalesce([text.str.strptime(pl.Datetime("us"), f, strict=False) for f in _PL_FORMATS])
    elif kind == "date":
        parsed = c.cast(pl.Datetime("us"))
    elif kind == "datetime_tz":
        parsed = c.dt.cast_time_unit("us")
    elif kind == "datetime":
        parsed = c.dt.cast_time_unit("us")
    else:
        raise DataError(f"column '{ts}' has type {lf.collect_schema()[ts]}, which is not a date or time.")
    local = parsed.dt.convert_time_zone(tz).dt.replace_time_zone(None) if aware and tz != "UTC" else parsed
    key = parsed.dt.epoch("us") if aware else local.dt.epoch("us")
    day = (local.dt.epoch("us") // _US_PER_DAY).cast(pl.Int64)
    return lf.with_columns(__key=key.cast(pl.Int64), __day=day, __ts_missing=missing)


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _prepare_duckdb(
    rel: Any, ts: str, kind: str, aware: bool, tz: str, formats: tuple[str, ...] | None, amount: str | None = None
):
    c = _q(ts)
    tzs = tz.replace("'", "''")
    missing = f"{c} IS NULL"
    if kind == "string":
        text = f"trim(CAST({c} AS VARCHAR))"
        missing = f"({c} IS NULL OR {text} = '')"
        if formats:
            listed = ", ".join("'" + f.replace("'", "''") + "'" for f in formats)
            parsed = f"try_strptime({text}, [{listed}])"  # the first format that reads a value wins
            parsed = f"CAST({parsed} AS TIMESTAMPTZ)" if aware else f"CAST({parsed} AS TIMESTAMP)"
        else:
            parsed = f"TRY_CAST({text} AS {'TIMESTAMPTZ' if aware else 'TIMESTAMP'})"
    elif kind == "datetime_tz":
        parsed = f"CAST({c} AS TIMESTAMPTZ)"
    elif kind in ("datetime", "date"):
        parsed = f"CAST({c} AS TIMESTAMP)"
    else:
        raise DataError(f"column '{ts}' has type {kind}, which is not a date or time.")
    key = f"epoch_us({parsed})"  # the instant (aware) or the wall time (naive)
    local_us = f"epoch_us(timezone('{tzs}', {parsed}))" if aware and tz != "UTC" else key
    day = f"CAST(floor({local_us} / {_US_PER_DAY}) AS BIGINT)"
    extra = f", TRY_CAST(trim(CAST({_q(amount)} AS VARCHAR)) AS DOUBLE) AS __amount" if amount is not None else ""
    return rel.project(f"*, CAST({key} AS BIGINT) AS __key, {day} AS __day, ({missing}) AS __ts_missing{extra}")


#: strftime codes -> Spark (Java) datetime pattern letters, for parsing; single letters read 1 or 2 digits
_JAVA_CODES = {"%d": "d", "%m": "M", "%Y": "yyyy", "%H": "H", "%I": "h", "%M": "mm", "%S": "ss", "%p": "a"}


def java_pattern(fmt: str, column: str) -> str:
    """The Spark datetime pattern of a strftime pattern made of ``%d %m %Y %H %I %M %S %p`` and punctuation.

    Raises
    ------
    ParameterError
        For any other code (``%y``: Spark reads two-digit years as 20xx,
        Python as 1969-2068; ``%f``, ``%z``, names of months ...).
    """
    out = []
    for token in re.findall(r"%.|[A-Za-z]+|[^%A-Za-z]+", fmt):
        if token.startswith("%"):
            if token not in _JAVA_CODES:
                raise ParameterError(
                    f"column '{column}': the date pattern {fmt!r} uses {token}, which retainkit cannot hand to "
                    f"Spark. Parse the column in Spark first, e.g. df.withColumn('{column}', "
                    f"F.to_timestamp('{column}', 'd/M/yyyy HH:mm')), or write four-digit years."
                )
            out.append(_JAVA_CODES[token])
        elif token.isalpha():
            out.append("'" + token + "'")
        else:
            out.append(token.replace("'", "''"))
    return "".join(out)


def _prepare_spark(
    df: Any, ts: str, kind: str, aware: bool, tz: str, formats: tuple[str, ...] | None, amount: str | None = None
):
    from pyspark.sql import functions as F

    c = F.col(f"`{ts}`")
    missing = c.isNull()
    if kind == "string":
        text = F.trim(c.cast("string"))
        missing = missing | (text == F.lit(""))
        if formats:
            patterns = [java_pattern(f, ts) for f in formats]
            parsed = F.coalesce(*[F.try_to_timestamp(text, F.lit(pat)) for pat in patterns])
        else:
            parsed = F.try_to_timestamp(text)
        local_us = F.unix_micros(F.from_utc_timestamp(parsed, tz)) if aware else F.unix_micros(parsed)
        key = F.unix_micros(parsed) if aware else local_us
    elif kind == "datetime_tz":
        local_us = F.unix_micros(F.from_utc_timestamp(c, tz))
        key = F.unix_micros(c)
    elif kind in ("datetime", "date"):
        local_us = F.unix_micros(c.cast("timestamp"))  # wall time read in UTC (see spark_utc)
        key = local_us
    else:
        raise DataError(f"column '{ts}' has type {kind}, which is not a date or time.")
    day = F.floor(local_us / F.lit(_US_PER_DAY)).cast("long")
    cols = {"__key": key.cast("long"), "__day": day, "__ts_missing": missing}
    if amount is not None:
        cols["__amount"] = F.expr(f"try_cast(trim(`{amount}`) AS DOUBLE)")
    return df.withColumns(cols)


def collect(lf: nw.LazyFrame) -> pd.DataFrame:
    """Collect a (small) narwhals LazyFrame to pandas."""
    return lf.collect(backend="pandas").to_native()


def key_to_timestamp(key: int | None, aware: bool, tz: str) -> pd.Timestamp | None:
    """Inverse of the ``key`` column: a timezone-aware Timestamp in ``tz``."""
    if key is None or pd.isna(key):
        return None
    ts = pd.Timestamp(int(key), unit="us")
    if aware:
        return ts.tz_localize("UTC").tz_convert(tz)
    return ts.tz_localize(tz, nonexistent="shift_forward", ambiguous=False)


def as_of_key(as_of: pd.Timestamp, aware: bool, tz: str) -> int:
    """``as_of`` in the units of the ``key`` column (instant or local wall microseconds)."""
    t = as_of.tz_convert("UTC") if aware else as_of.tz_convert(tz).tz_localize(None)
    t = t.tz_localize(None) if t.tzinfo is not None else t
    return int(t.as_unit("us").value // 1) if t.unit == "us" else int(t.value // 1000)


def _fdiv(a: nw.Expr, b: int, backend: str) -> nw.Expr:
    """Floor division by a positive constant (narwhals' generic ``//`` is slow SQL on DuckDB)."""
    if backend == "polars":
        return a // b
    return (a / b).floor().cast(nw.Int64)


def with_period(
    lf: nw.LazyFrame, day: str, freq: str, out: str, offset: int = 0, backend: str = "polars"
) -> nw.LazyFrame:
    """Add column ``out``: the period index (definitions §2) of day number ``day + offset``.

    Months come from the civil-from-days algorithm in integer arithmetic, in
    steps (engines without common-subexpression elimination would otherwise
    expand the nested expression).
    """
    d = nw.col(day) + offset if offset else nw.col(day)

    def fd(x: nw.Expr, k: int) -> nw.Expr:
        return _fdiv(x, k, backend)

    if freq == "D":
        return lf.with_columns(d.cast(nw.Int64).alias(out))
    if freq == "W":
        return lf.with_columns(fd(d + 3, 7).cast(nw.Int64).alias(out))
    z, era, doe, yoe, mp = (f"__{out}_{x}" for x in ("z", "era", "doe", "yoe", "mp"))
    lf = lf.with_columns((d + 719_468).alias(z))
    lf = lf.with_columns(fd(nw.col(z), 146_097).alias(era))
    lf = lf.with_columns((nw.col(z) - nw.col(era) * 146_097).alias(doe))
    e = nw.col(doe)
    lf = lf.with_columns(fd(e - fd(e, 1_460) + fd(e, 36_524) - fd(e, 146_096), 365).alias(yoe))
    y = nw.col(yoe)
    lf = lf.with_columns(fd(5 * (e - (365 * y + fd(y, 4) - fd(y, 100))) + 2, 153).alias(mp))
    # civil month m = mp + 3 (mp < 10) else mp - 9, civil year = yoe + 400 era + (m <= 2), so
    # months since 1970-01 = (yoe + 400 era - 1970) * 12 + mp + 2
    months = (y + nw.col(era) * 400 - 1_970) * 12 + nw.col(mp) + 2
    if freq == "Q":
        months = fd(months, 3)
    elif freq == "Y":
        months = fd(months, 12)
    return lf.with_columns(months.cast(nw.Int64).alias(out)).drop(z, era, doe, yoe, mp)


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
    "BACKENDS",
    "DEFAULT_FILE_ENGINE",
    "EAGER_MAX_CSV_BYTES",
    "FILE_ENGINES",
    "LARGE_PARQUET_ROWS",
    "NativeLog",
    "as_of_key",
    "backend_of",
    "collect",
    "columns_of",
    "examples",
    "examples_in_years",
    "file_engine",
    "java_pattern",
    "keep",
    "key_to_timestamp",
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
