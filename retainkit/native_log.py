"""A transaction log normalised inside its engine (:class:`NativeLog`), and how its queries run.

What every query on a :class:`NativeLog` shares: the engine context (UTC
sessions for Spark, database errors as DataError for PostgreSQL), collecting
small results to pandas or polars, and the ``key`` column (int64
microseconds: the instant for timezone-aware input, the local wall time for
naive input) to and from timestamps (definitions §1).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import narwhals as nw
import pandas as pd

from . import postgres as pg


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


__all__ = [
    "NativeLog",
    "as_of_key",
    "collect",
    "collect_polars",
    "engine_context",
    "key_to_timestamp",
    "spark_utc",
]
