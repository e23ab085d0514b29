"""Parsing timestamps and money amounts, with row-level error messages (definitions §1).

Aware timestamps are converted to the report time zone, naive ones taken to
be in it; a column where nothing parses raises
:class:`~retainkit.exceptions.DataError` naming the rows, the values and the
``date_format`` that would read them.
"""

from __future__ import annotations

import re
import warnings
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import DataError

N_EXAMPLES = 3
_TZ_SUFFIX = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})\s*$")
_ISO_START = re.compile(r"^\s*\d{4}-\d{1,2}-\d{1,2}")


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


def parse_timestamps(raw: pd.Series, tz: str, date_format: str | None, column: str, where: Where) -> pd.Series:
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
            hint = (" They use a decimal comma: read the CSV with decimal=',' or convert, e.g. "
                    "df[col].str.replace('.', '').str.replace(',', '.').astype(float).")
        raise DataError(
            f"column '{column}' (amount): none of {int(nonnull.sum()):,} values is a number "
            f"({', '.join(where(pos, sample))}).{hint or ' Convert the column to numbers first.'}"
        )
    return values, bad


__all__ = ["N_EXAMPLES", "Where", "date_hint", "parse_amounts", "parse_timestamps", "show_value"]
