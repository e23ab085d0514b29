"""The input types: transaction logs, subscription tables and what loading noticed (definitions §1).

:class:`Transactions` and :class:`Subscriptions` are what
:func:`~retainkit.data.load_transactions` and
:func:`~retainkit.data.load_subscriptions` return; :class:`DataSummary`
counts every dropped or noteworthy row by reason (nothing is dropped
silently), and :class:`DataQualityWarning` is raised as a warning when more
than 1 % of rows are unusable.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from .exceptions import DataError, ParameterError
from .sources import to_pandas

#: Share of unusable rows above which loading warns (definitions §1).
UNUSABLE_WARN_SHARE = 0.01

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


class DataQualityWarning(UserWarning):
    """More than 1 % of rows were unusable and dropped (definitions §1)."""


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


__all__ = [
    "NOTES", "REASONS", "UNUSABLE", "UNUSABLE_WARN_SHARE", "DataQualityWarning", "DataSummary", "Subscriptions",
    "Transactions", "check_unusable",
]
