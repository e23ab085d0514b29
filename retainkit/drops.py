"""What loading a pandas transaction log and a subscription table share (definitions §1).

Dropped rows counted by reason with example rows (:class:`Drops`), customer
ids and segment values as loaded, the default ``as_of`` and the checks of
the loaders' arguments. Used by :mod:`retainkit.data` and
:mod:`retainkit.subscription_data`.
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .exceptions import DataError, ParameterError
from .inputs import (
    REASONS,
    DataQualityWarning,
    check_unusable,
)
from .periods import end_of_day
from .timestamps import N_EXAMPLES, Where

NAT_INT64 = np.iinfo(np.int64).min  # NaT as int64


def is_datetime(dtype) -> bool:
    return isinstance(dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(dtype)


def customer_ids(raw: pd.Series) -> tuple[pd.Series, np.ndarray | None]:
    """Normalised ids (strings stripped) and a mask of empty ids (None: integers are never empty)."""
    ids = raw
    if ids.dtype.kind in "iu":  # numpy integers: no missing value is possible
        return ids, None
    if ids.dtype == object or isinstance(ids.dtype, pd.StringDtype) or pd.api.types.is_string_dtype(ids.dtype):
        ids = ids.astype("string").str.strip()
        empty = ids.isna() | (ids == "")
    else:
        empty = ids.isna()
    return ids, empty.to_numpy(dtype=bool)


def segment_values(raw: pd.DataFrame, segments: tuple[str, ...]) -> dict[str, pd.Series]:
    return {s: raw[s].astype("string").fillna("(missing)") for s in segments}


def example_values(values: pd.Series, pos: np.ndarray) -> list:
    """The first few example values; timestamps as text (formatted only for these rows)."""
    picked = values.iloc[pos[:N_EXAMPLES]]
    if isinstance(picked.dtype, pd.DatetimeTZDtype) or pd.api.types.is_datetime64_dtype(picked.dtype):
        picked = picked.astype("string")
    return picked.tolist()


class Drops:
    """Collects dropped rows by reason with example positions and values."""

    def __init__(self, n: int, where: Where):
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
            vals = None if values is None else example_values(values, pos)
            self.dropped[reason] = self.dropped.get(reason, 0) + count
            self.examples.setdefault(reason, self.where(pos, vals))
            self.keep &= ~mask

    def note(self, name: str, mask, values: pd.Series | None = None) -> None:
        mask = np.asarray(mask, dtype=bool) & self.keep
        count = int(mask.sum())
        if count:
            pos = np.flatnonzero(mask)
            vals = None if values is None else example_values(values, pos)
            self.notes[name] = count
            self.examples.setdefault(name, self.where(pos, vals))

    def raise_if_empty(self, source_name: str) -> None:
        if not self.keep.any():
            reasons = "; ".join(f"{v:,} {REASONS[k]} ({', '.join(self.examples[k])})" for k, v in self.dropped.items())
            raise DataError(f"{source_name}: no usable rows are left out of {len(self.keep):,}: {reasons}.")

    def check_unusable(self, rows_read: int, strict: bool, what: str, max_dropped: float | None = None) -> None:
        check_unusable(self.dropped, self.examples, rows_read, strict, what, stacklevel=4, max_dropped=max_dropped)


def floor_key(instant: pd.Timestamp, unit: str) -> int:
    """``instant`` as an int64 count of ``unit`` since the epoch, rounded down (``key > it`` iff later)."""
    value = instant.tz_convert("UTC").tz_localize(None).to_datetime64()
    return int(value.astype(f"datetime64[{unit}]").astype(np.int64))


def key_timestamp(key: int, unit: str, tz: str) -> pd.Timestamp:
    return pd.Timestamp(np.datetime64(key, unit)).tz_localize("UTC").tz_convert(tz)


def default_as_of(ts: pd.Series, key: np.ndarray, unit: str, keep: np.ndarray, tz: str, drops: Drops) -> pd.Timestamp:
    """End of the day of the latest timestamp that is not in the future (definitions §1).

    ``key`` holds the int64 instants of ``ts`` (in ``unit``); only rows in ``keep`` count.
    """
    if not keep.any():
        raise DataError("no rows with a usable timestamp are left; see the reasons above.")
    now = pd.Timestamp.now(tz=tz)
    future = keep & (key > floor_key(end_of_day(now, tz), unit))
    if future.any():
        past = keep & ~future
        if not past.any():
            raise DataError(
                f"every timestamp is in the future (after {now:%Y-%m-%d}), e.g. "
                f"{', '.join(drops.where(np.flatnonzero(future), ts[future].astype(str).tolist()))}. "
                "Pass as_of= explicitly if that is intended."
            )
        latest = key_timestamp(int(key.max(where=past, initial=NAT_INT64)), unit, tz)
        warnings.warn(
            f"{int(future.sum()):,} rows are dated after today ({now:%Y-%m-%d}), e.g. "
            f"{', '.join(drops.where(np.flatnonzero(future), ts[future].astype(str).tolist()))}; they are "
            f"ignored (counted as after as_of). as_of defaults to {latest:%Y-%m-%d}; pass as_of= to choose.",
            DataQualityWarning,
            stacklevel=4,
        )
        return end_of_day(latest, tz)
    return end_of_day(key_timestamp(int(key.max(where=keep, initial=NAT_INT64)), unit, tz), tz)


def check_flags(**flags: Any) -> None:
    for name, value in flags.items():
        if not isinstance(value, bool):
            raise ParameterError(f"{name}={value!r} must be True or False.")


def as_tuple(segments: str | Iterable[str] | None) -> tuple[str, ...]:
    if segments is None:
        return ()
    if isinstance(segments, str):
        return (segments,)
    return tuple(segments)


__all__ = [
    "NAT_INT64",
    "Drops",
    "as_tuple",
    "check_flags",
    "customer_ids",
    "default_as_of",
    "example_values",
    "floor_key",
    "is_datetime",
    "key_timestamp",
    "segment_values",
]
