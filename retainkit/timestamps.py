"""Reading timestamps and money amounts, with row-level error messages (definitions §1).

One date reading per column, on every engine. :func:`date_reading` decides
how a whole timestamp column is read from the shapes of its values
(:func:`date_shapes`, one small aggregate query wherever the rows live):
ISO 8601, or day/month/year, month/day/year or year/month/day with the
patterns the column uses. A first field above 12 proves day-first, a second
field above 12 proves month-first; a column where every value fits both is a
:class:`~retainkit.exceptions.DataError` asking for ``date_format=``, and a
column with values proving both is an error too, never a partial load. The
pandas path (:func:`parse_timestamps`) and the polars, DuckDB and Spark paths
(:mod:`retainkit.backends`) apply the same decision.

Aware timestamps are converted to the report time zone, naive ones taken to
be in it; a column where nothing parses raises DataError naming the rows, the
values and the ``date_format`` that would read them.
"""

from __future__ import annotations

import re
import warnings
from dataclasses import dataclass
from typing import Any

import narwhals as nw
import numpy as np
import pandas as pd
import polars as pl

from .exceptions import DataError

N_EXAMPLES = 3
_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})\s*$")


class Where:
    """Formats row positions the way the user will find them ("line 5" in a CSV)."""

    def __init__(self, offset: int):
        self.offset = offset
        self.word = "line" if offset else "row"

    def __call__(self, positions, values=None, n: int = N_EXAMPLES) -> list[str]:
        positions = list(positions[:n])
        out = []
        for i, pos in enumerate(positions):
            text = f"{self.word} {int(pos) + self.offset}"
            if values is not None:
                text += f": {show_value(values[i])}"
            out.append(text)
        return out


def show_value(value: Any) -> str:
    if value is None or (isinstance(value, float) and np.isnan(value)) or value is pd.NA or value is pd.NaT:
        return "<empty>"
    text = repr(value) if isinstance(value, str) else repr(str(value))
    return text if len(text) <= 40 else text[:37] + "...'"


def _localize(values: pd.Series, tz: str) -> pd.Series:
    """Naive wall times in ``tz`` -> aware. DST gaps shift forward; repeated hours take standard time."""
    return values.dt.tz_localize(tz, nonexistent="shift_forward", ambiguous=np.zeros(len(values), dtype=bool))


def date_hint(bad: pd.Series) -> str:
    sample = bad.dropna().astype(str).head(200)
    if sample.empty:
        return ""
    parts = sample.str.extract(r"^\s*(\d{1,2})[/.-](\d{1,2})[/.-](\d{2,4})")
    if parts.notna().all(axis=None) and len(parts):
        first = parts[0].astype(int)
        second = parts[1].astype(int)
        found = re.search(r"[/.-]", sample.iloc[0])
        assert found is not None  # every sampled value matched the d/m/y pattern above
        sep = found.group(0)
        year = "%Y" if parts[2].str.len().max() == 4 else "%y"
        if (first > 12).any():
            return f' They look like day/month/year: pass date_format="%d{sep}%m{sep}{year}".'
        if (second > 12).any():
            return f' They look like month/day/year: pass date_format="%m{sep}%d{sep}{year}".'
        return f' Day and month order is ambiguous: pass date_format="%d{sep}%m{sep}{year}" or "%m{sep}%d{sep}{year}".'
    if sample.str.fullmatch(r"\s*\d{9,13}(\.\d+)?\s*").all():
        return (
            " They look like Unix epoch numbers: convert them first, e.g. df[col] = pd.to_datetime(df[col], unit='s')."
        )
    return ' Pass date_format= with the strftime pattern the column uses (e.g. "%Y-%m-%d %H:%M").'


# --------------------------------------------------------------------------- one reading per column
#: characters of a value's start that hold its whole date part (``dd/mm/yyyy`` is 10)
_PREFIX = 10
_NUMERIC_DATE = re.compile(r"^(\d{1,2})([/.-])(\d{1,2})\2(\d{4}|\d{2})(?=$|[ T])")
_YEAR_FIRST = re.compile(r"^(\d{4})([/.])(\d{1,2})\2(\d{1,2})(?=$|[ T])")
_ISO_DATE = re.compile(r"^\d{4}-\d{1,2}-\d{1,2}(?=$|[ T])")
_TIME = re.compile(r"^(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(\.\d{1,9})?)?(\s?[AaPp][Mm])?)?$")
ORDERS = ("iso", "day-first", "month-first", "year-first", "given", "other")


@dataclass(frozen=True)
class DateReading:
    """How every value of one timestamp column is read (definitions §1).

    Attributes
    ----------
    column : str
    order : str
        "iso" (ISO 8601, offsets allowed), "day-first", "month-first",
        "year-first" (``1998/06/30``), "given" (the caller's ``date_format``)
        or "other" (none of these shapes: each engine's own parser).
    formats : tuple of str
        strftime patterns tried in this order, the first that reads a value
        wins (empty for "other"). Two-digit-year patterns come before
        four-digit ones (a four-digit ``%Y`` would read ``98`` as the year 98).
        For "iso" they list the naive ISO shapes present (empty when a value
        carries an offset): polars reads with them, the other engines with
        their own ISO 8601 parser.
    """

    column: str
    order: str
    formats: tuple[str, ...] = ()

    def describe(self) -> str:
        words = {
            "iso": "ISO 8601",
            "day-first": "day/month/year",
            "month-first": "month/day/year",
            "year-first": "year/month/day",
            "given": "date_format",
            "other": "the engine's own parser",
        }
        return words[self.order] + (f" ({', '.join(self.formats)})" if self.formats else "")


def date_shapes(frame: Any, column: str) -> pd.DataFrame:
    """Distinct shapes of a text column's values: ``prefix``, ``length``, ``rows``, ``example``.

    ``prefix`` is the first 10 characters after stripping (they hold the
    whole date part of any numeric date), ``length`` the stripped length, and
    ``example`` the smallest value of the group. One group-by over the column
    in the engine holding it (any narwhals-supported frame, eager or lazy);
    the result is small (distinct dates x time shapes).
    """
    lf = nw.from_native(frame)
    lf = lf.lazy() if isinstance(lf, nw.DataFrame) else lf
    text = nw.col(column).cast(nw.String).str.strip_chars()
    values = lf.select(text.alias("v")).filter(~nw.col("v").is_null() & (nw.col("v") != ""))
    shapes = values.with_columns(prefix=nw.col("v").str.slice(0, _PREFIX), length=nw.col("v").str.len_chars())
    out = shapes.group_by("prefix", "length").agg(nw.len().alias("rows"), nw.col("v").min().alias("example"))
    table = out.collect(backend="pandas").to_native()
    return table.sort_values(["rows", "prefix", "length"], ascending=[False, True, True], kind="stable").reset_index(
        drop=True
    )


def _time_pattern(rest: str) -> str | None:
    """strftime pattern of the time part after a date ('' for none), None when it is not a time."""
    m = _TIME.match(rest)
    if m is None:
        return None
    if m.group(1) is None:
        return ""
    sep = rest[0]
    hour = "%I" if m.group(5) else "%H"
    out = f"{sep}{hour}:%M"
    if m.group(3) is not None:
        out += ":%S"
    if m.group(4) is not None:
        out += ".%f"
    if m.group(5):
        out += (" " if m.group(5)[0].isspace() else "") + "%p"
    return out


def _classify(example: str) -> tuple[str, dict[str, Any]]:
    """Shape class of one value: ("iso" | "numeric" | "year-first" | "other", details)."""
    m = _ISO_DATE.match(example)
    if m:  # the time part's pattern, None when it has an offset or another shape (the engine's ISO parser reads it)
        return "iso", {"sep": "-", "year": "%Y", "time": _time_pattern(example[m.end() :])}
    m = _NUMERIC_DATE.match(example)
    if m:
        time = _time_pattern(example[m.end() :])
        if time is not None:
            return "numeric", {
                "first": int(m.group(1)),
                "second": int(m.group(3)),
                "sep": m.group(2),
                "year": "%Y" if len(m.group(4)) == 4 else "%y",
                "time": time,
            }
    m = _YEAR_FIRST.match(example)
    if m:
        time = _time_pattern(example[m.end() :])
        if time is not None:
            return "year-first", {"sep": m.group(2), "year": "%Y", "time": time}
    return "other", {}


def _patterns(groups: list[dict[str, Any]], date: str) -> tuple[str, ...]:
    """strftime patterns for ``date`` ("{d}", "{m}", "{y}" placeholders) over the groups' separators,
    year widths and time shapes, most rows first, two-digit years first."""
    rows: dict[str, int] = {}
    for g in groups:
        sep, year, time = g["sep"], g["year"], g["time"]
        pat = date.format(s=sep, y=year) + time
        rows[pat] = rows.get(pat, 0) + g["rows"]
    return tuple(sorted(rows, key=lambda p: ("%y" not in p, -rows[p], p)))


def _examples(groups: list[dict[str, Any]], n: int = N_EXAMPLES) -> str:
    return ", ".join(repr(g["example"]) for g in groups[:n])


def date_reading(shapes: pd.DataFrame, column: str, date_format: str | None = None) -> DateReading:
    """Decide how the whole column is read from its :func:`date_shapes` (definitions §1).

    The reading of the shape class holding most rows wins: ISO 8601; numeric
    dates ``a/b/yyyy`` (any of ``/ . -``), read day-first when some ``a`` is
    above 12 and month-first when some ``b`` is; ``yyyy/mm/dd``; anything else
    is left to each engine's parser. Values of another class do not parse and
    are counted as unparseable rows. A given ``date_format`` is used as it is.

    Raises
    ------
    DataError
        Numeric dates where every value fits both day-first and month-first
        (asks for ``date_format=``), or where some values prove day-first and
        others month-first (the column mixes two orders).
    """
    if date_format:
        return DateReading(column, "given", (date_format,))
    classes: dict[str, list[dict[str, Any]]] = {}
    for row in shapes.itertuples(index=False):
        kind, details = _classify(str(row.example))
        classes.setdefault(kind, []).append({"rows": int(row.rows), "example": str(row.example), **details})
    if not classes:
        return DateReading(column, "other")
    main = max(classes, key=lambda k: (sum(g["rows"] for g in classes[k]), k))
    groups = classes[main]
    if main == "iso":
        # the exact ISO patterns present (naive values only): polars then tries one or two instead of all
        exact = all(g["time"] is not None and "%p" not in g["time"] for g in groups)
        return DateReading(column, "iso", _patterns(groups, "%Y-%m-%d") if exact else ())
    if main == "year-first":
        return DateReading(column, "year-first", _patterns(groups, "%Y{s}%m{s}%d"))
    if main == "other":
        return DateReading(column, "other")
    # a value proves an order when it reads only that way (13/13/2024 reads neither way: just unparseable)
    day_first = [g for g in groups if 12 < g["first"] <= 31 and 1 <= g["second"] <= 12]
    month_first = [g for g in groups if 12 < g["second"] <= 31 and 1 <= g["first"] <= 12]
    sep, year = groups[0]["sep"], groups[0]["year"]
    fmt_d, fmt_m = f"%d{sep}%m{sep}{year}", f"%m{sep}%d{sep}{year}"
    if day_first and month_first:
        raise DataError(
            f"column '{column}' mixes two date orders: some values only read as day/month/year "
            f"({_examples(day_first)}), others only as month/day/year ({_examples(month_first)}). "
            f"Nothing was loaded. Fix the source so the column uses one order, or pass date_format="
            f'"{fmt_d}" or "{fmt_m}" to read it one way (the other values are then dropped as unparseable).'
        )
    if day_first:
        return DateReading(column, "day-first", _patterns(groups, "%d{s}%m{s}{y}"))
    if month_first:
        return DateReading(column, "month-first", _patterns(groups, "%m{s}%d{s}{y}"))
    raise DataError(
        f"column '{column}': every date fits both day/month/year and month/day/year (e.g. {_examples(groups)}: "
        f'no day above 12 tells them apart). Pass date_format="{fmt_d}" (day first) or '
        f'date_format="{fmt_m}" (month first); on the command line --date-format.'
    )


def _parse_with(text: pd.Series, formats: tuple[str, ...]) -> pd.Series:
    """Parse stripped text with the first of ``formats`` that reads each value (NaT where none does)."""
    stripped = text.str.strip()
    parsed = pd.to_datetime(stripped, errors="coerce", format=formats[0])
    for fmt in formats[1:]:
        missing = parsed.isna() & stripped.notna()
        if not missing.any():
            break
        parsed = parsed.where(~missing, pd.to_datetime(stripped.where(missing), errors="coerce", format=fmt))
    return parsed


def text_reading(text: pd.Series, column: str, date_format: str | None) -> DateReading:
    """:func:`date_reading` of an in-memory text column (its shapes counted by polars)."""
    if date_format:
        return DateReading(column, "given", (date_format,))
    frame = pl.from_pandas(text.rename("v").to_frame(), include_index=False)
    return date_reading(date_shapes(frame, "v"), column)


def _parse_engine_default(text: pd.Series, tz: str, fmt: str | None) -> pd.Series:
    """pandas' own parsing (ISO 8601, a given format, or inference); mixed UTC offsets are converted."""
    try:
        parsed = pd.to_datetime(text, errors="coerce", format=fmt)
        return parsed.dt.tz_convert(tz) if parsed.dt.tz is not None else _localize(parsed, tz)
    except (ValueError, TypeError):
        # mixed time zones / offsets: aware strings are converted, naive ones localized
        aware = text.str.contains(_TZ_SUFFIX, regex=True).fillna(False).astype(bool)
        parsed = pd.Series(pd.NaT, index=text.index, dtype=f"datetime64[us, {tz}]")
        if aware.any():
            parsed[aware] = pd.to_datetime(text[aware], errors="coerce", format=fmt, utc=True).dt.tz_convert(tz)
        if (~aware).any():
            naive = pd.to_datetime(text[~aware], errors="coerce", format=fmt)
            parsed[~aware] = _localize(naive, tz)
        return parsed


def parse_timestamps(
    raw: pd.Series, tz: str, date_format: str | None, column: str, where: Where, reading: DateReading | None = None
) -> pd.Series:
    """Parse a column of timestamps into timezone-aware values in ``tz`` (definitions §1).

    Text is read with one :class:`DateReading` for the whole column
    (``reading``, or :func:`date_reading` of the column's values). Aware
    values (including strings with mixed UTC offsets) are converted; naive
    values are taken as already in ``tz``. Unparseable values become NaT.

    Raises
    ------
    DataError
        Numbers instead of dates, an ambiguous or mixed day/month order (see
        :func:`date_reading`), or no non-empty value that parses.
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
    if reading is None:
        reading = text_reading(text, column, date_format)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)
        if reading.order in ("iso", "given", "other"):
            fmt = {"iso": "ISO8601", "given": date_format}.get(reading.order)
            parsed = _parse_engine_default(text, tz, fmt)
        else:
            parsed = _localize(_parse_with(text, reading.formats), tz)
    bad = nonnull & parsed.isna()
    if nonnull.any() and bad.sum() == nonnull.sum():
        pos = np.flatnonzero(bad.to_numpy())
        raise DataError(
            f"column '{column}': none of {int(nonnull.sum()):,} values could be parsed as dates "
            f"({', '.join(where(pos, text.iloc[pos[:N_EXAMPLES]].tolist()))}).{date_hint(text[bad])}"
        )
    return parsed


def parse_amounts(raw: pd.Series, column: str, where: Where) -> tuple[pd.Series, pd.Series]:
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
        sample = text.iloc[pos[:N_EXAMPLES]].tolist()
        hint = ""
        joined = "".join(sample)
        if re.search(r"[$€£¥]|[A-Z]{3}", joined):
            hint = " They carry currency symbols: strip them, e.g. df[col].str.replace(r'[^0-9.,-]', '', regex=True)."
        elif "," in joined:
            hint = (
                " They use a decimal comma: read the CSV with decimal=',' or convert, e.g. "
                "df[col].str.replace('.', '').str.replace(',', '.').astype(float)."
            )
        raise DataError(
            f"column '{column}' (amount): none of {int(nonnull.sum()):,} values is a number "
            f"({', '.join(where(pos, sample))}).{hint or ' Convert the column to numbers first.'}"
        )
    return values, bad


__all__ = [
    "N_EXAMPLES",
    "ORDERS",
    "DateReading",
    "Where",
    "date_hint",
    "date_reading",
    "date_shapes",
    "parse_amounts",
    "parse_timestamps",
    "show_value",
    "text_reading",
]
