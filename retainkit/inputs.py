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
from .i18n import N_
from .native_rows import to_pandas

#: Share of unusable rows above which loading warns (definitions §1).
UNUSABLE_WARN_SHARE = 0.01
#: Default largest share of unusable rows before loading fails (``max_dropped``, definitions §1).
MAX_DROPPED = 0.05
#: pandas >= 3 (or the option on 2.x): frames share data lazily and copy on the first write, so the
#: loaded data can hold the caller's columns without a copy
COPY_ON_WRITE: bool = int(pd.__version__.split(".")[0]) >= 3 or pd.get_option("mode.copy_on_write") is True

REASONS: dict[str, str] = {
    "null_customer_id": N_("customer id is empty"),
    "missing_timestamp": N_("timestamp is empty"),
    "unparseable_timestamp": N_("timestamp could not be parsed"),
    "after_as_of": N_("dated after as_of (ignored, not an error)"),
    "repeated_order_id": N_("order id seen before (first kept)"),
    "exact_duplicate": N_("exact duplicate row (drop_duplicates=True)"),
    "missing_start": N_("start is empty"),
    "unparseable_start": N_("start could not be parsed"),
    "start_after_as_of": N_("starts after as_of (ignored, not an error)"),
}
#: reasons that make a row unusable (as opposed to deliberately ignored)
UNUSABLE = ("null_customer_id", "missing_timestamp", "unparseable_timestamp", "missing_start", "unparseable_start")

NOTES: dict[str, str] = {
    "exact_duplicates_kept": N_(
        "exact duplicate rows kept (may be real repeat purchases; drop_duplicates=True drops them)"
    ),
    "refund_rows": N_("refund rows (amount < 0): reduce revenue, never make a customer active"),
    "refund_only_customers": N_("customers with refunds but no purchase (no cohort; refunds not in any cohort)"),
    "refunds_before_first_purchase": N_("refund rows dated before the customer's first purchase (not in any cohort)"),
    "unparseable_amount": N_("amount could not be parsed (row kept as a purchase, excluded from revenue)"),
    "missing_amount": N_("amount is empty (row kept as a purchase, excluded from revenue)"),
    "open_intervals": N_("subscriptions still active (no end)"),
    "merged_overlaps": N_("overlapping or touching intervals of one customer merged"),
    "zero_length_intervals": N_("intervals with end == start (cover no time)"),
    "missing_mrr": N_("mrr is empty (counted as 0 MRR)"),
    "far_dates": N_("rows dated far from the rest (2+ empty years apart): kept, check the year"),
}
#: empty calendar years that set a stretch of rows apart from the rest (a mistyped year, a test row)
FAR_GAP_YEARS = 2


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
        records = [
            ("rows_read", self.rows_read, "rows in the input", ""),
            ("rows_kept", self.rows_kept, "rows analysed", ""),
        ]
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
    cache : dict
        What the reductions derived from these rows once (customer codes, day
        numbers, one reduction per ``freq``), keyed by every parameter that
        changes them, so a second table of the same data skips the row scan.
        The rows never change: ``frame`` hands out a copy-on-write view (with
        pandas >= 3), so editing it cannot make these stale.
    """

    kind = "transactions"
    __slots__ = ("_frame", "_summary", "_summary_factory", "as_of", "tz", "segments", "has_amount", "native", "cache")

    def __init__(
        self,
        frame: pd.DataFrame | None = None,
        summary: DataSummary | None = None,
        as_of: pd.Timestamp | None = None,
        tz: str = "UTC",
        segments: tuple[str, ...] = (),
        has_amount: bool = False,
        *,
        native: Any = None,
        summary_factory: Any = None,
        rows: Any = None,
    ):
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
        self.cache: dict = {} if rows is None else {"rows": rows}

    @property
    def backend(self) -> str:
        return "pandas" if self.native is None else self.native.backend

    @property
    def frame(self) -> pd.DataFrame:
        if self._frame is None:
            self._frame = to_pandas(self.native)
        # a shallow copy shares the data; with copy-on-write an edit of it copies instead of changing ours
        return self._frame.copy(deep=False) if COPY_ON_WRITE else self._frame

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
        return (
            f"<Subscriptions {len(self.frame):,} intervals, {self.summary.customers:,} customers, as_of {self.as_of}>"
        )


class DataQualityWarning(UserWarning):
    """More than 1 % of rows were unusable and dropped (definitions §1)."""


def check_max_dropped(max_dropped: float | None) -> float | None:
    """Validate a ``max_dropped`` share (None: no gate)."""
    if max_dropped is None:
        return None
    if isinstance(max_dropped, bool) or not isinstance(max_dropped, (int, float)) or not 0 <= max_dropped <= 1:
        raise ParameterError(
            f"max_dropped={max_dropped!r} must be a share of rows in [0, 1] (e.g. 0.05 for 5 %) or None for no limit."
        )
    return float(max_dropped)


def check_unusable(
    dropped: dict[str, int],
    examples: dict[str, list[str]],
    rows_read: int,
    strict: bool,
    what: str,
    *,
    stacklevel: int,
    max_dropped: float | None = None,
) -> None:
    """Gate, warn about or (``strict``) refuse unusable dropped rows (definitions §1).

    More than ``max_dropped`` of the rows unusable raises DataError (the data
    is too broken to describe: a misread column, a truncated export); more
    than 1 % (:data:`UNUSABLE_WARN_SHARE`) warns with
    :class:`DataQualityWarning`; ``strict=True`` raises on any. Every message
    counts the rows by reason with example lines.
    """
    unusable = {k: v for k, v in dropped.items() if k in UNUSABLE}
    total = sum(unusable.values())
    if not total:
        return
    detail = "; ".join(f"{v:,} {REASONS[k]} ({', '.join(examples.get(k, []))})" for k, v in unusable.items())
    message = (
        f"{total:,} of {rows_read:,} {what} rows ({total / rows_read:.1%}) are unusable and were dropped: {detail}."
    )
    if strict:
        raise DataError(message + " Fix them at the source, or map the right columns. (strict=True)")
    if max_dropped is not None and total > max_dropped * rows_read:
        raise DataError(
            f"{message} That is more than max_dropped={max_dropped:.1%} of the rows, so nothing was analysed: "
            "the column mapping, the date format (date_format=, CLI --date-format) or the export is probably "
            "wrong. Fix the rows or the mapping; if they really are unusable, raise max_dropped= "
            "(CLI --max-dropped)."
        )
    if total > UNUSABLE_WARN_SHARE * rows_read:
        warnings.warn(
            message + " Fix them at the source, or map the right columns.", DataQualityWarning, stacklevel=stacklevel
        )


def far_years(year_rows: dict[int, int]) -> tuple[list[int], int, int]:
    """Years whose rows lie far from the bulk of the data (definitions §1, §2).

    The years holding rows are split wherever :data:`FAR_GAP_YEARS` or more
    consecutive calendar years hold none; the stretch with the most rows is
    the bulk. Returns (the other stretches' years, first and last year of the
    bulk); no far years when the data is one stretch.
    """
    years = sorted(y for y, n in year_rows.items() if n)
    if not years:
        return [], 0, 0
    stretches: list[list[int]] = [[years[0]]]
    for y in years[1:]:
        if y - stretches[-1][-1] > FAR_GAP_YEARS:
            stretches.append([y])
        else:
            stretches[-1].append(y)
    bulk = max(stretches, key=lambda st: (sum(year_rows[y] for y in st), -st[0]))
    return [y for st in stretches if st is not bulk for y in st], bulk[0], bulk[-1]


def warn_far_dates(year_rows: dict[int, int], examples: list[str], rows: int, *, stacklevel: int) -> int:
    """Warn about rows dated far from the rest (:func:`far_years`); returns how many there are.

    They are kept: an old customer's first order is real data; a mistyped
    year (1900 for 2024) is for the user to fix, and the warning says where.
    """
    far, lo, hi = far_years(year_rows)
    if not far:
        return 0
    n_far = int(sum(year_rows[y] for y in far))
    listed = ", ".join(f"{year_rows[y]:,} in {y}" for y in far[:5]) + (" ..." if len(far) > 5 else "")
    bulk = f"{lo}" if lo == hi else f"{lo}-{hi}"
    warnings.warn(
        f"{n_far:,} of {rows:,} rows are dated far from the rest of the data ({listed}; e.g. "
        f"{'; '.join(examples)}), while the rest lie in {bulk}, at least {FAR_GAP_YEARS} empty years apart. "
        f"They are kept, so the data spans {min(min(far), lo)} to {max(max(far), hi)} and cohorts, "
        "periods and charts stretch over it. If a year is mistyped, fix it at the source.",
        DataQualityWarning,
        stacklevel=stacklevel,
    )
    return n_far


__all__ = [
    "COPY_ON_WRITE",
    "FAR_GAP_YEARS",
    "MAX_DROPPED",
    "NOTES",
    "REASONS",
    "UNUSABLE",
    "UNUSABLE_WARN_SHARE",
    "DataQualityWarning",
    "DataSummary",
    "Subscriptions",
    "Transactions",
    "check_max_dropped",
    "check_unusable",
    "far_years",
    "warn_far_dates",
]
