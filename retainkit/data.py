"""Loading and validating transaction logs and subscription tables.

Implements definitions §1 ("Inputs"): column mapping, time-zone handling,
``as_of``, what counts as activity, unusable rows, duplicates. Nothing is
dropped silently: every dropped or suspicious row is counted by reason in a
:class:`DataSummary` with example rows, and what cannot be analysed raises
:class:`~retainkit.exceptions.DataError` saying which column, which rows, which
values, and how to fix it.
"""

from __future__ import annotations

import difflib
import os
import re
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable

import numpy as np
import pandas as pd

from . import postgres as pg
from ._codes import factorize
from .exceptions import DataError, ParameterError
from .periods import check_tz, end_of_day, parse_as_of

#: Share of unusable rows above which loading warns (definitions §1).
UNUSABLE_WARN_SHARE = 0.01
_N_EXAMPLES = 3

REASONS: dict[str, str] = {
    "null_customer_id": "customer id is empty",
    "missing_timestamp": "timestamp is empty",
    "unparseable_timestamp": "timestamp could not be parsed",
    "after_as_of": "dated after as_of (ignored, not an error)",
    "repeated_order_id": "order id seen before (first kept)",
    "exact_duplicate": "exact duplicate row (drop_duplicates=True)",
    "missing_start": "start is empty",
    "unparseable_start": "start could not be parsed",
    "start_after_as_of": "starts after as_of (ignored, not an error)",
}
#: reasons that make a row unusable (as opposed to deliberately ignored)
UNUSABLE = ("null_customer_id", "missing_timestamp", "unparseable_timestamp", "missing_start", "unparseable_start")

NOTES: dict[str, str] = {
    "exact_duplicates_kept": "exact duplicate rows kept (may be real repeat purchases; drop_duplicates=True drops them)",
    "refund_rows": "refund rows (amount < 0): reduce revenue, never make a customer active",
    "refund_only_customers": "customers with refunds but no purchase (no cohort; refunds not in any cohort)",
    "refunds_before_first_purchase": "refund rows dated before the customer's first purchase (not in any cohort)",
    "unparseable_amount": "amount could not be parsed (row kept as a purchase, excluded from revenue)",
    "missing_amount": "amount is empty (row kept as a purchase, excluded from revenue)",
    "open_intervals": "subscriptions still active (no end)",
    "merged_overlaps": "overlapping or touching intervals of one customer merged",
    "zero_length_intervals": "intervals with end == start (cover no time)",
    "missing_mrr": "mrr is empty (counted as 0 MRR)",
}


# --------------------------------------------------------------------------- summary
@dataclass(frozen=True)
class DataSummary:
    """What loading read, kept, dropped and noticed (definitions §1).

    Attributes
    ----------
    kind : "transactions" or "subscriptions"
    source : str
        Where the data came from (a path or the type of the object).
    rows_read, rows_kept : int
    dropped : dict
        reason -> number of rows dropped for it (see ``REASONS``).
    notes : dict
        counts of kept-but-noteworthy rows (refunds, duplicates kept, ...).
    examples : dict
        reason or note -> up to three "line 12: 'value'" strings.
    customers : int
        Distinct customer ids in the kept rows.
    first_timestamp, last_timestamp : pandas.Timestamp or None
    tz : str
        The report time zone every timestamp was converted to.
    as_of : pandas.Timestamp
        The instant the analysis describes.
    columns : dict
        role -> source column name (the mapping used).
    """

    kind: str
    source: str
    rows_read: int
    rows_kept: int
    dropped: dict[str, int]
    notes: dict[str, int]
    examples: dict[str, list[str]]
    customers: int
    first_timestamp: pd.Timestamp | None
    last_timestamp: pd.Timestamp | None
    tz: str
    as_of: pd.Timestamp
    columns: dict[str, str] = field(default_factory=dict)

    @property
    def rows_dropped(self) -> int:
        return int(sum(self.dropped.values()))

    @property
    def rows_unusable(self) -> int:
        return int(sum(v for k, v in self.dropped.items() if k in UNUSABLE))

    def to_frame(self) -> pd.DataFrame:
        """One row per count: ``item``, ``rows``, ``share`` (of rows read), ``what``, ``examples``."""
        records = [("rows_read", self.rows_read, "rows in the input", ""),
                   ("rows_kept", self.rows_kept, "rows analysed", "")]
        for k, v in self.dropped.items():
            records.append((f"dropped: {k}", v, REASONS.get(k, k), "; ".join(self.examples.get(k, []))))
        for k, v in self.notes.items():
            records.append((k, v, NOTES.get(k, k), "; ".join(self.examples.get(k, []))))
        out = pd.DataFrame(records, columns=["item", "rows", "what", "examples"])
        out.insert(2, "share", out["rows"] / max(self.rows_read, 1))
        return out

    def lines(self) -> list[str]:
        span = ""
        if self.first_timestamp is not None:
            span = f"{self.first_timestamp:%Y-%m-%d %H:%M} to {self.last_timestamp:%Y-%m-%d %H:%M} ({self.tz})"
        out = [
            f"{self.kind} from {self.source}",
            f"  rows read {self.rows_read:,}, kept {self.rows_kept:,}, dropped {self.rows_dropped:,}",
            f"  customers {self.customers:,}; time span {span}; as_of {self.as_of:%Y-%m-%d %H:%M:%S %Z}",
        ]
        for k, v in self.dropped.items():
            ex = self.examples.get(k)
            out.append(f"  dropped {v:,}: {REASONS.get(k, k)}" + (f" (e.g. {'; '.join(ex)})" if ex else ""))
        for k, v in self.notes.items():
            ex = self.examples.get(k)
            out.append(f"  note {v:,}: {NOTES.get(k, k)}" + (f" (e.g. {'; '.join(ex)})" if ex else ""))
        return out

    def __str__(self) -> str:
        return "\n".join(self.lines())

    def _repr_html_(self) -> str:  # pragma: no cover - display only
        return self.to_frame().to_html(index=False, escape=True)


# --------------------------------------------------------------------------- containers
class Transactions:
    """A validated transaction log (definitions §1).

    Attributes
    ----------
    frame : pandas.DataFrame
        Normalised copy: ``customer_id``, ``timestamp`` (timezone-aware, in
        ``tz``), optional ``amount`` (float, NaN = unknown), optional
        ``order_id``, and the segment columns under their own names (string,
        "(missing)" for empty). Never the caller's object. For data held by
        another engine (``backend`` is not "pandas") it is materialised on
        first access; cohort tables and CRR never need it.
    summary : DataSummary
        For another engine, computed on first access (a few aggregate queries).
    as_of : pandas.Timestamp
    tz : str
    segments : tuple of str
    has_amount : bool
    backend : str
        Where the rows live: "pandas" (in memory, numpy aggregation), or
        "polars", "duckdb", "spark" (aggregated in that engine, see
        :mod:`retainkit.backends`).
    native : retainkit.backends.NativeLog or None
        The normalised lazy log for the non-pandas engines.
    """

    kind = "transactions"
    __slots__ = ("_frame", "_summary", "_summary_factory", "as_of", "tz", "segments", "has_amount", "native")

    def __init__(self, frame: pd.DataFrame | None = None, summary: DataSummary | None = None,
                 as_of: pd.Timestamp | None = None, tz: str = "UTC", segments: tuple[str, ...] = (),
                 has_amount: bool = False, *, native: Any = None, summary_factory: Any = None):
        if frame is None and native is None:
            raise ParameterError("Transactions needs a frame or a native log; use retainkit.load_transactions().")
        self._frame = frame
        self._summary = summary
        self._summary_factory = summary_factory
        self.as_of = as_of
        self.tz = tz
        self.segments = tuple(segments)
        self.has_amount = has_amount
        self.native = native

    @property
    def backend(self) -> str:
        return "pandas" if self.native is None else self.native.backend

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            from .backends import to_pandas

            self._frame = to_pandas(self.native)
        return self._frame

    @property
    def summary(self) -> DataSummary:
        if self._summary is None:
            self._summary = self._summary_factory()
        return self._summary

    def __len__(self) -> int:
        if self._frame is None:
            return self.summary.rows_kept
        return len(self._frame)

    def __repr__(self) -> str:
        if self._frame is None:
            return f"<Transactions in {self.backend} (not materialised), as_of {self.as_of}>"
        return f"<Transactions {len(self.frame):,} rows, {self.summary.customers:,} customers, as_of {self.as_of}>"


@dataclass(frozen=True)
class Subscriptions:
    """A validated subscription table (definitions §1).

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per subscription interval: ``customer_id``, ``start``, ``end``
        (NaT = still active), optional ``mrr``, segment columns.
    intervals : pandas.DataFrame
        Activity intervals per customer after merging overlaps
        (``customer_id``, ``start``, ``end``); used for who-is-active questions.
    """

    frame: pd.DataFrame
    intervals: pd.DataFrame
    summary: DataSummary
    as_of: pd.Timestamp
    tz: str
    segments: tuple[str, ...] = ()
    has_mrr: bool = False

    kind = "subscriptions"

    @property
    def has_amount(self) -> bool:
        return self.has_mrr

    def __len__(self) -> int:
        return len(self.frame)

    def __repr__(self) -> str:
        return f"<Subscriptions {len(self.frame):,} intervals, {self.summary.customers:,} customers, as_of {self.as_of}>"


# --------------------------------------------------------------------------- reading
def _describe_source(source: Any) -> str:
    if isinstance(source, (str, os.PathLike)):
        return str(source)
    return type(source).__module__.split(".")[0] + "." + type(source).__name__


def _is_file_source(source: Any) -> bool:
    return isinstance(source, (str, os.PathLike))


def _file_kind(path: Path) -> str:
    name = path.name.lower()
    if path.is_dir():
        return "parquet"
    for suffix in (".parquet", ".pq", ".parq"):
        if name.endswith(suffix):
            return "parquet"
    for suffix in (".csv", ".csv.gz", ".csv.bz2", ".csv.zip", ".csv.xz", ".txt", ".tsv", ".tsv.gz"):
        if name.endswith(suffix):
            return "csv"
    raise DataError(
        f"{path}: unsupported file type. retainkit reads CSV (.csv, .csv.gz, .tsv) and Parquet "
        "(.parquet or a directory of Parquet files). Export the data to one of these (e.g. "
        "`pd.read_excel(path).to_csv('data.csv', index=False)`) or pass a pandas DataFrame."
    )


def _file_columns(path: Path, kind: str) -> list[str]:
    try:
        if kind == "parquet":
            import pyarrow.dataset as ds

            return list(ds.dataset(str(path), format="parquet").schema.names)
        sep = "\t" if ".tsv" in path.name.lower() else ","
        return [str(c) for c in pd.read_csv(path, nrows=0, sep=sep).columns]
    except DataError:
        raise
    except Exception as exc:  # noqa: BLE001 - report any reader failure as a data error
        raise DataError(
            f"{path}: could not be read as {kind.upper()} ({type(exc).__name__}: {exc}). "
            f"Check that it is a {kind.upper()} file with a header row."
        ) from exc


def _read_file(path: Path, kind: str, columns: list[str], as_text: Iterable[str]) -> pd.DataFrame:
    as_text = [c for c in as_text if c in columns]
    try:
        if kind == "parquet":
            return pd.read_parquet(path, columns=columns)
        sep = "\t" if ".tsv" in path.name.lower() else ","
        dtype = {c: "string" for c in as_text}
        try:
            return pd.read_csv(path, usecols=columns, dtype=dtype, sep=sep, engine="pyarrow")
        except Exception:  # noqa: BLE001 - pyarrow is strict; the C parser tells us more
            return pd.read_csv(path, usecols=columns, dtype=dtype, sep=sep, low_memory=False)
    except Exception as exc:  # noqa: BLE001
        raise DataError(
            f"{path}: could not be read as {kind.upper()} ({type(exc).__name__}: {exc})."
        ) from exc


def _to_pandas(source: Any, columns: list[str]) -> pd.DataFrame:
    """Convert an in-memory frame of a supported library to pandas (selected columns)."""
    if isinstance(source, pd.DataFrame):
        return source.loc[:, columns].copy()
    mod = type(source).__module__.split(".")[0]
    if mod == "polars":
        import polars as pl

        if isinstance(source, pl.LazyFrame):
            source = source.select(columns).collect()
        return source.select(columns).to_pandas()
    if mod == "duckdb":
        return source.project(", ".join(f'"{c}"' for c in columns)).df()
    if mod == "pyspark":
        return source.select(*columns).toPandas()
    raise DataError(
        f"source of type {type(source).__name__} is not supported. Pass a CSV/Parquet path, "
        "a pandas or polars DataFrame, a DuckDB relation or a Spark DataFrame."
    )


def _source_columns(source: Any) -> list[str]:
    if isinstance(source, pd.DataFrame):
        return [str(c) for c in source.columns]
    mod = type(source).__module__.split(".")[0]
    if mod == "polars":
        return list(source.collect_schema().names()) if hasattr(source, "collect_schema") else list(source.columns)
    if mod in ("duckdb", "pyspark"):
        return list(source.columns)
    raise DataError(
        f"source of type {type(source).__name__} is not supported. Pass a CSV/Parquet path, "
        "a pandas or polars DataFrame, a DuckDB relation or a Spark DataFrame."
    )


def _suggest(name: str, available: list[str]) -> str:
    lower = {c.lower().strip(): c for c in available}
    if name.lower().strip() in lower:
        return f" Did you mean '{lower[name.lower().strip()]}'? (names are case-sensitive)"
    close = difflib.get_close_matches(name, available, n=3, cutoff=0.5)
    if not close:
        close = difflib.get_close_matches(name.lower(), list(lower), n=3, cutoff=0.5)
        close = [lower[c] for c in close]
    if close:
        return " Did you mean " + " or ".join(f"'{c}'" for c in close) + "?"
    return ""


def check_columns(mapping: dict[str, str | None], available: list[str]) -> None:
    """Raise DataError for every mapped column that is not in ``available``."""
    problems = []
    for role, col in mapping.items():
        if col is None:
            continue
        if col not in available:
            shown = ", ".join(f"'{c}'" for c in available[:20]) + (" ..." if len(available) > 20 else "")
            problems.append(
                f"column '{col}' (the {role}) is not in the data.{_suggest(col, available)} "
                f"Available columns: {shown}. Map it with {role}='<column name>'."
            )
    if problems:
        raise DataError("\n".join(problems))


def _read(source: Any, mapping: dict[str, str | None], as_text: Iterable[str]) -> tuple[pd.DataFrame, str, int]:
    """Read the mapped columns; returns (frame, source description, line offset for messages)."""
    columns = list(dict.fromkeys(c for c in mapping.values() if c is not None))
    if _is_file_source(source):
        path = Path(source).expanduser()
        if not path.exists():
            raise DataError(f"{path}: no such file (working directory: {Path.cwd()}). Check the path.")
        kind = _file_kind(path)
        check_columns(mapping, _file_columns(path, kind))
        frame = _read_file(path, kind, columns, as_text)
        # CSV line numbers count the header as line 1; Parquet rows count from 0.
        return frame, str(path), (2 if kind == "csv" else 0)
    check_columns(mapping, _source_columns(source))
    return _to_pandas(source, columns).reset_index(drop=True), _describe_source(source), 0


# --------------------------------------------------------------------------- parsing
_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})\s*$")
_ISO_START = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}")


class _Where:
    """Formats row positions the way the user will find them ("line 5" in a CSV)."""

    def __init__(self, offset: int):
        self.offset = offset
        self.word = "line" if offset else "row"

    def __call__(self, positions, values=None, n: int = _N_EXAMPLES) -> list[str]:
        positions = list(positions[:n])
        out = []
        for i, pos in enumerate(positions):
            text = f"{self.word} {int(pos) + self.offset}"
            if values is not None:
                text += f": {_show(values[i])}"
            out.append(text)
        return out


def _show(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return "<empty>"
    text = repr(value) if isinstance(value, str) else repr(str(value))
    return text if len(text) <= 40 else text[:37] + "...'"


def _localize(values: pd.Series, tz: str) -> pd.Series:
    """Naive wall times in ``tz`` -> aware. DST gaps shift forward; repeated hours take standard time."""
    return values.dt.tz_localize(tz, nonexistent="shift_forward", ambiguous=np.zeros(len(values), dtype=bool))


def _date_hint(bad: pd.Series) -> str:
    sample = bad.dropna().astype(str).head(200)
    if sample.empty:
        return ""
    parts = sample.str.extract(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})")
    if parts.notna().all(axis=None) and len(parts):
        first = parts[0].astype(int)
        second = parts[1].astype(int)
        sep = re.search(r"[/.-]", sample.iloc[0]).group(0)
        year = "%Y" if parts[2].str.len().max() == 4 else "%y"
        if (first > 12).any():
            return f' They look like day/month/year: pass date_format="%d{sep}%m{sep}{year}".'
        if (second > 12).any():
            return f' They look like month/day/year: pass date_format="%m{sep}%d{sep}{year}".'
        return (f" Day and month order is ambiguous: pass date_format=\"%d{sep}%m{sep}{year}\" "
                f"or \"%m{sep}%d{sep}{year}\".")
    if sample.str.fullmatch(r"\s*\d{9,13}(\.\d+)?\s*").all():
        return (" They look like Unix epoch numbers: convert them first, e.g. "
                "df[col] = pd.to_datetime(df[col], unit='s').")
    return " Pass date_format= with the strftime pattern the column uses (e.g. \"%Y-%m-%d %H:%M\")."


def parse_timestamps(raw: pd.Series, tz: str, date_format: str | None, column: str, where: _Where) -> pd.Series:
    """Parse a column of timestamps into timezone-aware values in ``tz`` (definitions §1).

    Aware values (including strings with mixed UTC offsets) are converted;
    naive values are taken as already in ``tz``. Unparseable values become NaT.
    Raises DataError when no non-empty value parses.
    """
    if isinstance(raw.dtype, pd.DatetimeTZDtype):
        return raw.dt.tz_convert(tz)
    if pd.api.types.is_datetime64_dtype(raw.dtype):
        return _localize(raw, tz)
    if pd.api.types.is_numeric_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype):
        raise DataError(
            f"column '{column}' holds numbers ({raw.dtype}), not dates (e.g. {where([0], [raw.iloc[0]])[0]}). "
            "If they are Unix epoch seconds, convert them first: df[col] = pd.to_datetime(df[col], unit='s')."
        )
    text = raw.astype("string")
    nonnull = text.notna() & (text.str.strip() != "")
    fmt = date_format
    if fmt is None:
        first = text[nonnull].head(1)
        fmt = "ISO8601" if len(first) and _ISO_START.match(first.iloc[0]) else None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        try:
            parsed = pd.to_datetime(text, errors="coerce", format=fmt)
            parsed = parsed.dt.tz_convert(tz) if parsed.dt.tz is not None else _localize(parsed, tz)
        except (ValueError, TypeError):
            # mixed time zones / offsets: aware strings are converted, naive ones localized
            aware = text.str.contains(_TZ_SUFFIX, regex=True).fillna(False).astype(bool)
            parsed = pd.Series(pd.NaT, index=text.index, dtype=f"datetime64[us, {tz}]")
            if aware.any():
                parsed[aware] = pd.to_datetime(text[aware], errors="coerce", format=fmt, utc=True).dt.tz_convert(tz)
            if (~aware).any():
                naive = pd.to_datetime(text[~aware], errors="coerce", format=fmt)
                parsed[~aware] = _localize(naive, tz)
    bad = nonnull & parsed.isna()
    if nonnull.any() and bad.sum() == nonnull.sum():
        pos = np.flatnonzero(bad.to_numpy())
        raise DataError(
            f"column '{column}': none of {int(nonnull.sum()):,} values could be parsed as dates "
            f"({', '.join(where(pos, text.iloc[pos[:_N_EXAMPLES]].tolist()))}).{_date_hint(text[bad])}"
        )
    return parsed


def parse_amounts(raw: pd.Series, column: str, where: _Where) -> tuple[pd.Series, pd.Series]:
    """Numeric amounts (float64) and a mask of non-empty values that did not parse."""
    if pd.api.types.is_bool_dtype(raw.dtype):
        raise DataError(f"column '{column}' (amount) holds true/false values, not money amounts.")
    if pd.api.types.is_numeric_dtype(raw.dtype):
        values = raw.astype("float64")
        return values, pd.Series(False, index=raw.index)
    text = raw.astype("string")
    nonnull = text.notna() & (text.str.strip() != "")
    values = pd.to_numeric(text.str.strip(), errors="coerce").astype("float64")
    bad = nonnull & values.isna()
    if nonnull.any() and bad.sum() == nonnull.sum():
        pos = np.flatnonzero(bad.to_numpy())
        sample = text.iloc[pos[:_N_EXAMPLES]].tolist()
        hint = ""
        joined = "".join(sample)
        if re.search(r"[$€£¥]|[A-Z]{3}", joined):
            hint = " They carry currency symbols: strip them, e.g. df[col].str.replace(r'[^0-9.,-]', '', regex=True)."
        elif "," in joined:
            hint = (" They use a decimal comma: read the CSV with decimal=',' or convert, e.g. "
                    "df[col].str.replace('.', '').str.replace(',', '.').astype(float).")
        raise DataError(
            f"column '{column}' (amount): none of {int(nonnull.sum()):,} values is a number "
            f"({', '.join(where(pos, sample))}).{hint or ' Convert the column to numbers first.'}"
        )
    return values, bad


def _duplicated(frame: pd.DataFrame) -> np.ndarray:
    """Rows equal in every column to an earlier row (``DataFrame.duplicated(keep="first")``).

    Computed by polars when the columns convert (3-5x faster at 10M rows;
    nulls and NaN equal themselves, as in pandas); pandas otherwise (e.g. object
    columns of mixed types).
    """
    try:
        import polars as pl

        pf = pl.from_pandas(frame, include_index=False)
        return (~pf.select(pl.struct(pl.all()).is_first_distinct()).to_series()).to_numpy()
    except Exception:  # noqa: BLE001 - anything polars cannot convert is checked by pandas
        return frame.duplicated(keep="first").to_numpy()


def _customer_ids(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Normalised ids (strings stripped) and a mask of empty ids."""
    ids = raw
    if ids.dtype == object or isinstance(ids.dtype, pd.StringDtype) or pd.api.types.is_string_dtype(ids.dtype):
        ids = ids.astype("string").str.strip()
        empty = ids.isna() | (ids == "")
    else:
        empty = ids.isna()
    return ids, empty


def _segments(raw: pd.DataFrame, segments: tuple[str, ...]) -> dict[str, pd.Series]:
    return {s: raw[s].astype("string").fillna("(missing)") for s in segments}


def _example_values(values: pd.Series, pos: np.ndarray) -> list:
    """The first few example values; timestamps as text (formatted only for these rows)."""
    picked = values.iloc[pos[:_N_EXAMPLES]]
    if isinstance(picked.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(picked.dtype):
        picked = picked.astype("string")
    return picked.tolist()


class _Drops:
    """Collects dropped rows by reason with example positions and values."""

    def __init__(self, n: int, where: _Where):
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

    def check_unusable(self, rows_read: int, strict: bool, what: str) -> None:
        check_unusable(self.dropped, self.examples, rows_read, strict, what, stacklevel=4)


def check_unusable(dropped: dict[str, int], examples: dict[str, list[str]], rows_read: int, strict: bool,
                   what: str, *, stacklevel: int) -> None:
    """Warn (above 1 %) or, with ``strict``, raise about unusable dropped rows (definitions §1)."""
    unusable = {k: v for k, v in dropped.items() if k in UNUSABLE}
    total = sum(unusable.values())
    if not total:
        return
    detail = "; ".join(f"{v:,} {REASONS[k]} ({', '.join(examples.get(k, []))})" for k, v in unusable.items())
    message = (f"{total:,} of {rows_read:,} {what} rows ({total / rows_read:.1%}) are unusable and were "
               f"dropped: {detail}. Fix them at the source, or map the right columns.")
    if strict:
        raise DataError(message + " (strict=True)")
    if total > UNUSABLE_WARN_SHARE * rows_read:
        warnings.warn(message, DataQualityWarning, stacklevel=stacklevel)


class DataQualityWarning(UserWarning):
    """More than 1 % of rows were unusable and dropped (definitions §1)."""


def _default_as_of(ts: pd.Series, keep: np.ndarray, tz: str, drops: _Drops) -> pd.Timestamp:
    """End of the day of the latest timestamp that is not in the future (definitions §1)."""
    valid = ts[keep]
    if valid.empty:
        raise DataError("no rows with a usable timestamp are left; see the reasons above.")
    now = pd.Timestamp.now(tz=tz)
    future = keep & (ts > end_of_day(now, tz)).to_numpy()
    if future.any():
        past = ts[keep & ~future]
        if past.empty:
            raise DataError(
                f"every timestamp is in the future (after {now:%Y-%m-%d}), e.g. "
                f"{', '.join(drops.where(np.flatnonzero(future), ts[future].astype(str).tolist()))}. "
                "Pass as_of= explicitly if that is intended."
            )
        latest = past.max()
        warnings.warn(
            f"{int(future.sum()):,} rows are dated after today ({now:%Y-%m-%d}), e.g. "
            f"{', '.join(drops.where(np.flatnonzero(future), ts[future].astype(str).tolist()))}; they are "
            f"ignored (counted as after as_of). as_of defaults to {latest:%Y-%m-%d}; pass as_of= to choose.",
            DataQualityWarning,
            stacklevel=4,
        )
        return end_of_day(latest, tz)
    return end_of_day(valid.max(), tz)


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


# --------------------------------------------------------------------------- transactions
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
        strftime pattern of the timestamp column when it is not ISO 8601.
    strict : bool
        Raise DataError instead of dropping unusable rows.
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
    segments = _as_tuple(segments)
    mapping = {"customer_id": customer_id, "timestamp": timestamp, "amount": amount, "order_id": order_id}
    mapping.update({f"segment '{s}'": s for s in segments})
    as_of_ts = parse_as_of(as_of, tz)
    native = _native_source(source, mapping, backend, table=table, query=query)
    if native is not None:
        return _load_native(*native, mapping=mapping, segments=segments, tz=tz, as_of_ts=as_of_ts,
                            drop_duplicates=drop_duplicates, date_format=date_format, strict=strict)
    raw, source_name, offset = _read(source, mapping, as_text=[customer_id, timestamp, order_id])
    where = _Where(offset)
    n = len(raw)
    if n == 0:
        raise DataError(f"{source_name}: the data has no rows. Check the file or the filter that produced it.")

    ids, empty_id = _customer_ids(raw[customer_id])
    ts_raw = raw[timestamp]
    ts = parse_timestamps(ts_raw, tz, date_format, timestamp, where)
    drops = _Drops(n, where)
    drops.drop("null_customer_id", empty_id, raw[customer_id])
    ts_empty = ts_raw.isna().to_numpy().copy()
    if ts_raw.dtype == object or pd.api.types.is_string_dtype(ts_raw.dtype):
        ts_empty |= (ts_raw.astype("string").str.strip() == "").fillna(True).to_numpy()
    drops.drop("missing_timestamp", ts_empty)
    drops.drop("unparseable_timestamp", ts.isna().to_numpy(), ts_raw)
    drops.raise_if_empty(source_name)
    if as_of_ts is None:
        as_of_ts = _default_as_of(ts, drops.keep, tz, drops)
    drops.drop("after_as_of", (ts > as_of_ts).fillna(False).to_numpy(), ts)

    out = pd.DataFrame({"customer_id": ids, "timestamp": ts})
    if amount is not None:
        values, bad_amount = parse_amounts(raw[amount], amount, where)
        out["amount"] = values
        drops.note("unparseable_amount", bad_amount, raw[amount])
        drops.note("missing_amount", raw[amount].isna().to_numpy() | (values.isna().to_numpy() & ~bad_amount.to_numpy()))
    if order_id is not None:
        oid, empty_oid = _customer_ids(raw[order_id])
        out["order_id"] = oid
        repeated = np.zeros(n, dtype=bool)
        kept_idx = np.flatnonzero(drops.keep & ~empty_oid.to_numpy())
        repeated[kept_idx] = oid.iloc[kept_idx].duplicated(keep="first").to_numpy()
        drops.drop("repeated_order_id", repeated, oid)
    for name, values in _segments(raw, segments).items():
        out[name] = values

    dup = np.zeros(n, dtype=bool)
    kept_idx = np.flatnonzero(drops.keep)
    dup[kept_idx] = _duplicated(out if len(kept_idx) == n else out.iloc[kept_idx])
    if drop_duplicates:
        drops.drop("exact_duplicate", dup, out["customer_id"])
    else:
        drops.note("exact_duplicates_kept", dup, out["customer_id"])

    if amount is not None:
        drops.note("refund_rows", (out["amount"] < 0).fillna(False).to_numpy(), out["amount"])

    drops.raise_if_empty(source_name)
    drops.check_unusable(n, strict, "transaction")

    frame = out.loc[drops.keep].reset_index(drop=True)
    if amount is not None:
        purchase = ~(frame["amount"] < 0).fillna(False).to_numpy()
        # factorised codes: Series.isin / map on Arrow strings are ~20x slower at 1M rows
        codes, _ = factorize(frame["customer_id"])
        none = np.iinfo(np.int64).max
        first_buy = np.full(int(codes.max()) + 1, none, dtype=np.int64)
        np.minimum.at(first_buy, codes[purchase], frame["timestamp"].array.asi8[purchase])
        is_buyer = first_buy[codes] != none
        refund_only = frame.loc[~purchase & ~is_buyer, "customer_id"]
        if len(refund_only):
            drops.notes["refund_only_customers"] = int(refund_only.nunique())
            drops.examples.setdefault("refund_only_customers", [f"customer {_show(v)}" for v in refund_only.unique()[:3]])
        early = ~purchase & is_buyer & (frame["timestamp"].array.asi8 < first_buy[codes])
        if early.any():
            drops.notes["refunds_before_first_purchase"] = int(early.sum())

    summary = DataSummary(
        kind="transactions",
        source=source_name,
        rows_read=n,
        rows_kept=len(frame),
        dropped=drops.dropped,
        notes=drops.notes,
        examples=drops.examples,
        customers=int(frame["customer_id"].nunique()),
        first_timestamp=frame["timestamp"].min(),
        last_timestamp=frame["timestamp"].max(),
        tz=tz,
        as_of=as_of_ts,
        columns={k: v for k, v in mapping.items() if v is not None},
    )
    return Transactions(frame=frame, summary=summary, as_of=as_of_ts, tz=tz, segments=segments,
                        has_amount=amount is not None)


# --------------------------------------------------------------------------- native engines
def _native_source(source: Any, mapping: dict[str, str | None], backend: str | None, *,
                   table: str | None = None, query: str | None = None):
    """(native frame, engine, source description) when the rows should stay in polars/DuckDB/Spark/PostgreSQL,
    else None."""
    from . import backends as bk

    if pg.is_postgres_url(source):
        if backend not in (None, "postgres"):
            raise ParameterError(f"backend={backend!r}: a PostgreSQL source is aggregated on its server; "
                                 "leave backend unset.")
        native, name = pg.open_source(source, table=table, query=query)
        try:
            check_columns(mapping, bk.columns_of(native))
        except DataError as exc:
            raise DataError(f"{name}: {exc}") from None
        return native, "postgres", name
    if table is not None or query is not None:
        raise ParameterError("table= and query= name what to read from a PostgreSQL source; pass a "
                             "postgresql://user@host:5432/db URL as the source.")

    if backend is not None and backend not in bk.BACKENDS:
        raise ParameterError(f"backend={backend!r} is not one of {', '.join(map(repr, bk.BACKENDS))}.")
    columns = list(dict.fromkeys(c for c in mapping.values() if c is not None))
    if _is_file_source(source):
        path = Path(source).expanduser()
        is_glob = any(ch in str(source) for ch in "*?[")
        if not path.exists() and not is_glob:
            raise DataError(f"{path}: no such file (working directory: {Path.cwd()}). Check the path.")
        kind = "parquet" if is_glob and ".parq" in path.name.lower() else _file_kind(path) if not is_glob else "csv"
        engine = bk.file_engine(path, kind, backend) if not is_glob else (backend or bk.DEFAULT_FILE_ENGINE)
        if engine == "pandas":
            if is_glob:
                raise ParameterError(f"{source}: a glob of files needs backend='duckdb' or 'polars'.")
            return None
        native = bk.scan_file(path, kind, engine)
        check_columns(mapping, bk.columns_of(native))
        return native, engine, str(path)
    found = bk.backend_of(source)
    if found is None:
        raise DataError(
            f"source of type {type(source).__name__} is not supported. Pass a CSV/Parquet path, "
            "a pandas or polars DataFrame, a DuckDB relation or a Spark DataFrame."
        )
    check_columns(mapping, _source_columns(source))
    engine = backend or found
    if engine == "pandas":
        return None
    if engine == found:
        return source, engine, _describe_source(source)
    if found == "pandas" and engine in ("polars", "duckdb"):
        frame = source.loc[:, columns]
        if engine == "polars":
            import polars as pl

            return pl.from_pandas(frame).lazy(), engine, _describe_source(source)
        import duckdb

        return duckdb.connect().from_df(frame), engine, _describe_source(source)
    raise ParameterError(
        f"backend={engine!r} cannot hold a {found} source; use backend=None (its own engine) or 'pandas'."
    )


def _load_native(native: Any, engine: str, source_name: str, *, mapping: dict[str, str | None],
                 segments: tuple[str, ...], tz: str, as_of_ts: pd.Timestamp | None, drop_duplicates: bool,
                 date_format: str | None, strict: bool) -> Transactions:
    """load_transactions for data held by polars / DuckDB / Spark (definitions §1)."""
    from . import backends as bk
    import narwhals as nw

    log = bk.prepare(native, engine, mapping, segments, tz, date_format)
    now_key = bk.as_of_key(end_of_day(pd.Timestamp.now(tz=tz), tz), log.aware, tz)
    explicit_key = None if as_of_ts is None else bk.as_of_key(as_of_ts, log.aware, tz)
    st = bk.stats(log, now_key, explicit_key)
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
            examples[reason] = [f"e.g. {_show(v)}" for v in vals] if vals else ["(no row numbers in lazy sources)"]
    parsed_candidates = n - st["null_customer_id"] - st["missing_timestamp"]
    if parsed_candidates and st["unparseable_timestamp"] == parsed_candidates:
        bad = pd.Series(_native_examples(native, engine, mapping, "unparseable_timestamp", log,
                                         conditions["unparseable_timestamp"][0]) or [], dtype="string")
        raise DataError(
            f"column '{ts_col}': none of {parsed_candidates:,} values could be parsed as dates "
            f"(e.g. {', '.join(_show(v) for v in bad.tolist())}).{_date_hint(bad)}"
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
            latest = bk.key_to_timestamp(st["max_past"], log.aware, tz)
            warnings.warn(
                f"{st['future']:,} rows are dated after today ({pd.Timestamp.now(tz=tz):%Y-%m-%d}); they are "
                f"ignored (counted as after as_of). as_of defaults to {latest:%Y-%m-%d}; pass as_of= to choose.",
                DataQualityWarning,
                stacklevel=3,
            )
            after = st["future"]
        else:
            latest = bk.key_to_timestamp(st["max_key"], log.aware, tz)
            after = 0
        as_of_ts = end_of_day(latest, tz)
    else:
        after = st["after_as_of"]
    if after:
        dropped["after_as_of"] = after
        examples["after_as_of"] = [str(v) for v in bk.examples(
            log, ~no_id & (nw.col("key") > bk.as_of_key(as_of_ts, log.aware, tz)), "key")]
    if after >= usable:
        raise DataError(f"{source_name}: no usable rows are left out of {n:,}: all {usable:,} usable rows are "
                        f"{REASONS['after_as_of']} ({as_of_ts}).")
    check_unusable(dropped, examples, n, strict, "transaction", stacklevel=4)
    log.as_of_key = bk.as_of_key(as_of_ts, log.aware, tz)
    log.kept = bk.keep(log, log.as_of_key, order_id=mapping.get("order_id") is not None,
                       drop_duplicates=drop_duplicates)
    columns = {k: v for k, v in mapping.items() if v is not None}

    def make_summary() -> DataSummary:
        c = bk.summary_counts(log, drop_duplicates=drop_duplicates)
        drop = dict(dropped)
        notes: dict[str, int] = {}
        ex = dict(examples)
        if c["repeated_order_id"]:
            drop["repeated_order_id"] = c["repeated_order_id"]
        if drop_duplicates and c["exact_duplicate"]:
            drop["exact_duplicate"] = c["exact_duplicate"]
        if not drop_duplicates and c["exact_duplicates"]:
            notes["exact_duplicates_kept"] = c["exact_duplicates"]
        for name in ("unparseable_amount", "missing_amount", "refund_rows", "refund_only_customers",
                     "refunds_before_first_purchase"):
            if c.get(name):
                notes[name] = c[name]
        if c.get("refund_only_customers"):
            ex["refund_only_customers"] = [f"customer {_show(v)}" for v in c["refund_only_examples"]]
        if c.get("refund_rows"):
            ex["refund_rows"] = [_show(v) for v in c["refund_examples"]]
        return DataSummary(
            kind="transactions", source=source_name, rows_read=n, rows_kept=int(c["rows_kept"]),
            dropped=drop, notes=notes, examples=ex, customers=int(c["customers"]),
            first_timestamp=bk.key_to_timestamp(c["min_key"], log.aware, tz),
            last_timestamp=bk.key_to_timestamp(c["max_key"], log.aware, tz),
            tz=tz, as_of=as_of_ts, columns=columns,
        )

    return Transactions(None, None, as_of_ts, tz, segments, mapping.get("amount") is not None, native=log,
                        summary_factory=make_summary)


def _native_examples(native: Any, engine: str, mapping: dict[str, str | None], reason: str, log: Any,
                     condition: Any) -> list[Any]:
    """Raw text of a few unparseable timestamps (read from the source columns)."""
    from . import backends as bk

    return bk.raw_examples(log, condition, mapping["timestamp"])


# --------------------------------------------------------------------------- subscriptions
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
) -> Subscriptions:
    """Load and validate subscription intervals (definitions §1 "Inputs").

    One row per interval ``[start, end)``; an empty ``end`` means still active.
    An ``end`` before its ``start`` raises DataError listing the rows (the
    columns are probably swapped or mis-mapped). Overlapping or touching
    intervals of one customer are merged for activity questions (kept as given
    in ``frame`` for MRR) and counted. Default ``as_of``: end of the day of the
    latest start or end that is not in the future.
    """
    _check_flags(strict=strict)
    tz = check_tz(tz)
    segments = _as_tuple(segments)
    mapping = {"customer_id": customer_id, "start": start, "end": end, "mrr": mrr}
    mapping.update({f"segment '{s}'": s for s in segments})
    as_of_ts = parse_as_of(as_of, tz)
    raw, source_name, offset = _read(source, mapping, as_text=[customer_id, start, end])
    where = _Where(offset)
    n = len(raw)
    if n == 0:
        raise DataError(f"{source_name}: the data has no rows. Check the file or the filter that produced it.")
    ids, empty_id = _customer_ids(raw[customer_id])
    st = parse_timestamps(raw[start], tz, date_format, start, where)
    end_raw = raw[end]
    if end_raw.isna().all():
        en = pd.Series(pd.NaT, index=raw.index, dtype=st.dtype)
    else:
        en = parse_timestamps(end_raw, tz, date_format, end, where)
    drops = _Drops(n, where)
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
            f"subscriptions; otherwise fix the values or pass date_format=.{_date_hint(end_raw[bad_end])}"
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
        latest = pd.concat([st[drops.keep], en[drops.keep].dropna()])
        as_of_ts = _default_as_of(latest.reset_index(drop=True), np.ones(len(latest), bool), tz, drops)
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
        last_timestamp=max(frame["start"].max(), frame["end"].max()) if frame["end"].notna().any() else frame["start"].max(),
        tz=tz,
        as_of=as_of_ts,
        columns={k: v for k, v in mapping.items() if v is not None},
    )
    return Subscriptions(frame=frame, intervals=intervals, summary=summary, as_of=as_of_ts, tz=tz,
                         segments=segments, has_mrr=mrr is not None)


__all__ = [
    "DataQualityWarning",
    "DataSummary",
    "Subscriptions",
    "Transactions",
    "check_columns",
    "load_subscriptions",
    "load_transactions",
    "merge_intervals",
]
