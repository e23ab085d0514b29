"""Loading and validating subscription tables (definitions §1 "Inputs").

:func:`load_subscriptions` reads one row per interval ``[start, end)``, checks
and counts like :func:`retainkit.data.load_transactions`, and merges the
overlapping or touching intervals of a customer (:func:`merge_intervals`).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

from .drops import (
    Drops,
    as_tuple,
    check_flags,
    customer_ids,
    default_as_of,
    is_datetime,
    segment_values,
)
from .encoding import check_encoding
from .exceptions import DataError
from .inputs import (
    DataSummary,
    Subscriptions,
)
from .periods import check_tz, parse_as_of
from .readers import read_mapped
from .timestamps import Where, date_hint, parse_amounts, parse_timestamps, text_reading


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
    encoding: str | None = None,
) -> Subscriptions:
    """Load and validate subscription intervals (definitions §1 "Inputs").

    One row per interval ``[start, end)``; an empty ``end`` means still active.
    An ``end`` before its ``start`` raises DataError listing the rows (the
    columns are probably swapped or mis-mapped). Overlapping or touching
    intervals of one customer are merged for activity questions (kept as given
    in ``frame`` for MRR) and counted. Default ``as_of``: end of the day of the
    latest start or end that is not in the future. ``start`` and ``end`` share
    one date reading, decided from both columns' values; ``encoding`` applies
    to CSV files as in :func:`load_transactions`.
    """
    check_flags(strict=strict)
    tz = check_tz(tz)
    encoding = check_encoding(encoding)
    segments = as_tuple(segments)
    mapping = {"customer_id": customer_id, "start": start, "end": end, "mrr": mrr}
    mapping.update({f"segment '{s}'": s for s in segments})
    as_of_ts = parse_as_of(as_of, tz)
    raw, source_name, offset = read_mapped(source, mapping, as_text=[customer_id, start, end], encoding=encoding)
    where = Where(offset)
    n = len(raw)
    if n == 0:
        raise DataError(f"{source_name}: the data has no rows. Check the file or the filter that produced it.")
    ids, empty_id = customer_ids(raw[customer_id])
    end_raw = raw[end]
    # one reading for both columns: an end column alone may not tell day from month
    text_cols = [raw[c].astype("string") for c in (start, end) if not is_datetime(raw[c].dtype)]
    reading = (
        text_reading(pd.concat(text_cols, ignore_index=True), f"{start}' / '{end}", date_format) if text_cols else None
    )
    st = parse_timestamps(raw[start], tz, date_format, start, where, reading)
    if end_raw.isna().all():
        en = pd.Series(pd.NaT, index=raw.index, dtype=st.dtype)
    else:
        en = parse_timestamps(end_raw, tz, date_format, end, where, reading)
    drops = Drops(n, where)
    if empty_id is not None:
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
            f"subscriptions; otherwise fix the values or pass date_format=.{date_hint(end_raw[bad_end])}"
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
        latest = pd.concat([st[drops.keep], en[drops.keep].dropna()]).reset_index(drop=True)
        as_of_ts = default_as_of(latest, latest.array.asi8, latest.dt.unit, np.ones(len(latest), bool), tz, drops)
    drops.drop("start_after_as_of", (st > as_of_ts).fillna(False).to_numpy(), st)

    out = pd.DataFrame({"customer_id": ids, "start": st, "end": en})
    # what happens after as_of is unknown at as_of: intervals ending later are open then
    out.loc[(out["end"] > as_of_ts).fillna(False), "end"] = pd.NaT
    if mrr is not None:
        values, bad = parse_amounts(raw[mrr], mrr, where)
        drops.note("unparseable_amount", bad, raw[mrr])
        drops.note("missing_mrr", values.isna().to_numpy() & ~bad.to_numpy())
        out["mrr"] = values.fillna(0.0)
    for name, values in segment_values(raw, segments).items():
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
        last_timestamp=max(frame["start"].max(), frame["end"].max())
        if frame["end"].notna().any()
        else frame["start"].max(),
        tz=tz,
        as_of=as_of_ts,
        columns={k: v for k, v in mapping.items() if v is not None},
    )
    return Subscriptions(
        frame=frame,
        intervals=intervals,
        summary=summary,
        as_of=as_of_ts,
        tz=tz,
        segments=segments,
        has_mrr=mrr is not None,
    )


__all__ = [
    "load_subscriptions",
    "merge_intervals",
]
