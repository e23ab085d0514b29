"""Normalising the mapped columns of a polars / DuckDB / Spark / PostgreSQL source where it lives (definitions §1).

:func:`prepare` reads the column types, decides one date reading for a text
timestamp column (:mod:`retainkit.timestamps`) and runs one small
backend-specific step per engine (time zones, day numbers, parsing) to give a
:class:`~retainkit.native_log.NativeLog` whose ``raw`` frame has
``customer_id``, ``key``, ``day``, ``amount``, ``order_id`` and the segment
columns. Spark gets strftime patterns translated to Java ones
(:func:`java_pattern`).
"""

from __future__ import annotations

import re
from typing import Any

import narwhals as nw

from . import postgres as pg
from .exceptions import DataError, ParameterError
from .native_log import NativeLog, engine_context
from .timestamps import DateReading, date_reading, date_shapes

_US_PER_DAY = 86_400_000_000


_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})\s*$")


_PL_FORMATS = ("%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d")


_PL_FORMATS_TZ = ("%Y-%m-%dT%H:%M:%S%.f%z", "%Y-%m-%d %H:%M:%S%.f%z", "%Y-%m-%dT%H:%M%z", "%Y-%m-%d %H:%M%z")


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


__all__ = [
    "java_pattern",
    "prepare",
]
