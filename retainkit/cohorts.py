"""Cohort retention tables, matrices, curves and brackets (definitions §2, §3).

All functions take a loaded :class:`~retainkit.data.Transactions` /
:class:`~retainkit.data.Subscriptions` (or an :class:`~retainkit.engine.Activity`
reduced from one, to re-slice without re-reading rows) and return tidy
DataFrames: one row per observed cell. Unobserved cells (c + k not complete)
are absent from long tables and NaN in wide views, never 0.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
import pandas as pd

from ._stats import safe_ratio, wilson_interval
from .engine import Activity, CohortContext, as_data, is_native, native_cohort_counts, reduce, reduces_locally
from .exceptions import DataError, ParameterError
from .inputs import Transactions
from .periods import NO_PERIOD, check_freq, period_label, period_start

#: retention_matrix kinds -> cohort_table column
MATRIX_KINDS = {
    "classic": "retention",
    "unbounded": "retention_on_or_after",
    "revenue": "revenue_retention",
    "cum_revenue": "cum_revenue_per_customer",
    "active": "active",
    "size": "size",
    "revenue_total": "revenue",
}


def _by_list(by: str | Iterable[str] | None) -> list[str]:
    if by is None:
        return []
    if isinstance(by, str):
        return [by]
    return list(by)


def _customer_groups(act: Activity, by: list[str], cohort_key: str | None):
    """Group code per customer (-1 = no cohort) and the group -> keys frame.

    A customer's segment (and a categorical ``cohort_key``) is the value on
    their first purchase row: the acquisition segment. Groups are numbered in
    the sorted order of their keys (missing values last), like
    ``groupby(sort=True, dropna=False).ngroup()``.
    """
    has = act.first != NO_PERIOD
    cols: dict[str, np.ndarray] = {}
    for col in by:
        cols[col] = act.customer_attribute(col)[has]
    if cohort_key is None:
        cols["_cohort"] = act.first[has]
    else:
        cols["_cohort"] = act.customer_attribute(cohort_key)[has].astype(str)
    group = np.full(act.n_customers, -1, dtype=np.int64)
    if not has.any():
        return group, pd.DataFrame({c: v for c, v in cols.items()})
    combined = np.zeros(int(has.sum()), dtype=np.int64)
    levels = []
    for values in cols.values():
        codes, uniques = pd.factorize(values, sort=True)
        uniques = np.asarray(uniques, dtype=values.dtype if values.dtype != object else object)
        if (codes < 0).any():  # missing values sort last
            codes = np.where(codes < 0, len(uniques), codes)
            uniques = np.append(uniques.astype(object), [None])
        combined = combined * len(uniques) + codes
        levels.append(uniques)
    combos, inverse = np.unique(combined, return_inverse=True)
    group[np.flatnonzero(has)] = inverse.reshape(-1)
    parts = {}
    for name, uniques in zip(reversed(list(cols)), reversed(levels)):
        parts[name] = uniques[combos % len(uniques)]
        combos = combos // len(uniques)
    groups = pd.DataFrame({c: parts[c] for c in cols})
    return group, groups


def _reverse_cumsum(hist: np.ndarray) -> np.ndarray:
    return np.cumsum(hist[:, ::-1], axis=1)[:, ::-1]


def cohort_counts(act: Activity, *, by: list[str] | None = None, cohort_key: str | None = None) -> pd.DataFrame:
    """Raw counts per (segments..., cohort, age): size, active, active_on_or_after, revenue.

    ``size`` is the number of the cohort's customers for whom age k is
    observed (for first-period cohorts: the cohort size n_c, definitions §3).
    """
    by = by or []
    group, groups = _customer_groups(act, by, cohort_key)
    n_groups = len(groups)
    ok = group >= 0
    if n_groups == 0:
        return pd.DataFrame(
            columns=[*by, "_cohort", "age", "size", "size_complete", "active", "active_on_or_after", "revenue"]
        )
    first = act.first
    max_age = int((act.max_period - first[ok]).max())
    width = max_age + 1

    def hist(g: np.ndarray, k: np.ndarray, weights=None) -> np.ndarray:
        return np.bincount(g * width + k, weights=weights, minlength=n_groups * width).reshape(n_groups, width)

    g_ok = group[ok]
    eligible = _reverse_cumsum(hist(g_ok, act.max_period - first[ok]))
    complete_age = act.last_complete - first[ok]
    in_complete = complete_age >= 0
    eligible_complete = _reverse_cumsum(hist(g_ok[in_complete], complete_age[in_complete]))
    on_or_after = _reverse_cumsum(hist(g_ok, act.last[ok] - first[ok]))
    active = act.active_histogram(group, n_groups, width)
    revenue = act.revenue_histogram(group, n_groups, width) if act.has_revenue else None
    gi, ki = np.nonzero(eligible > 0)
    out = groups.iloc[gi].reset_index(drop=True)
    out["age"] = ki.astype(np.int64)
    out["size"] = eligible[gi, ki].astype(np.int64)
    out["size_complete"] = eligible_complete[gi, ki].astype(np.int64)
    out["active"] = active[gi, ki].astype(np.int64)
    out["active_on_or_after"] = on_or_after[gi, ki].astype(np.int64)
    if revenue is not None:
        out["revenue"] = revenue[gi, ki].astype(np.float64)  # float even when no amount is known
    return out


def cohort_table(
    data,
    freq: str = "M",
    *,
    by: str | Sequence[str] | None = None,
    cohort_key: str | None = None,
    include_partial: bool = False,
) -> pd.DataFrame:
    """Cohort retention as a tidy table (definitions §2 and §3).

    Parameters
    ----------
    data : Transactions, Subscriptions, Activity, or a raw source
        From :func:`retainkit.load_transactions` / :func:`load_subscriptions`.
        Data loaded from polars, DuckDB or Spark is aggregated in that engine
        (a Spark job for a Spark DataFrame); only the small table is collected.
        Polars / DuckDB data of at most ``backends.LOCAL_REDUCE_MAX_ROWS`` rows
        is scanned once for its (customer, day, amount) columns and reduced
        in numpy (faster; the same numbers).
    freq : {"M", "W", "D", "Q", "Y"}
        Period granularity (definitions §2).
    by : str or list of str, optional
        Segment column(s) to split by. A customer's segment is the value on
        their first purchase (the acquisition segment; on an engine without row
        order, ties at the first instant take the smallest value).
    cohort_key : str, optional
        A column that defines the cohort instead of the first-purchase period
        (first product, acquisition channel, ...). Ages still count periods
        since the customer's first purchase; ``size`` is then the number of the
        cohort's customers for whom that age is observed.
    include_partial : bool
        Include the period containing ``as_of`` (marked ``partial=True``).

    Returns
    -------
    pandas.DataFrame
        One row per observed (segments..., cohort, age) cell, with columns
        ``cohort`` (label), ``cohort_start`` (naive local start of the cohort
        period; NaT for a ``cohort_key``), ``age``, ``size`` (n_c),
        ``active`` (A(c,k)), ``retention`` (R = A/n, classic),
        ``retention_lo`` / ``retention_hi`` (Wilson 95 %),
        ``active_on_or_after`` and ``retention_on_or_after`` (unbounded
        retention U(c,k), right-censored at the last observed age),
        ``partial`` and, when amounts exist, ``revenue`` (Rev(c,k), refunds
        included), ``revenue_retention`` (Rev(c,k)/Rev(c,0)) and
        ``cum_revenue_per_customer`` (CRev(c,k)). ``attrs`` hold freq, as_of,
        tz, by and cohort_key.
    """
    if not isinstance(include_partial, bool):
        raise ParameterError(f"include_partial={include_partial!r} must be True or False.")
    by_cols = _by_list(by)
    data = as_data(data, [*by_cols, cohort_key])
    for col in by_cols:
        if col == cohort_key:
            raise ParameterError(f"'{col}' is both the cohort_key and a by= column; use it once.")
    # the counts of one loaded log are cached on it under every parameter that shapes them
    key = ("cohort_counts", check_freq(freq), include_partial, tuple(by_cols), cohort_key)
    cached = data.cache.get(key) if isinstance(data, Transactions) else None
    if cached is not None:
        counts, act = cached
    elif is_native(data) and not reduces_locally(data):
        counts, act = native_cohort_counts(
            data, freq, include_partial=include_partial, by=by_cols, cohort_key=cohort_key
        )
    else:
        act = reduce(data, freq, include_partial=include_partial)
        counts = cohort_counts(act, by=by_cols, cohort_key=cohort_key)
    if isinstance(data, Transactions):
        data.cache[key] = (counts, act)
    if counts.empty:
        explain_empty(act)
    return cohort_table_from_counts(counts, act, by_cols, cohort_key)


def explain_empty(act: Activity) -> None:
    """Raise a DataError saying why no cohort cell is observed."""
    src = act.source
    if is_native(src):
        s = src.summary
        all_refunds = src.has_amount and s.notes.get("refund_rows", 0) == s.rows_kept
        n_rows = s.rows_kept
    else:
        all_refunds = (
            src.kind == "transactions"
            and src.has_amount
            and not (src.frame["amount"] >= 0).any()
            and src.frame["amount"].notna().all()
        )
        n_rows = len(src.frame)
    if all_refunds:
        raise DataError(
            f"all {n_rows:,} rows are refunds (amount < 0): a refund never makes a customer "
            "active, so no customer has a cohort (definitions §1). Check the sign of the amount column."
        )
    raise DataError(
        f"no complete {act.freq!s} period: the data ends in the period containing as_of={act.as_of} "
        "(partial periods are excluded by default). Pass include_partial=True, a later as_of, or a "
        "finer freq (e.g. 'W' or 'D')."
    )


def add_retention(table: pd.DataFrame) -> pd.DataFrame:
    """Add ``retention`` = active / size and its 95 % Wilson interval (definitions §3 "Uncertainty").

    ``retention_lo`` and ``retention_hi`` follow; NaN where size is 0. The one
    place cohort, average, bracket and explorer rates are computed. Returns
    ``table`` with the columns added (modified in place).
    """
    size = table["size"].to_numpy()
    table["retention"] = safe_ratio(table["active"], size)
    lo, hi = wilson_interval(table["active"], size)
    table["retention_lo"] = lo
    table["retention_hi"] = hi
    return table


def cohort_table_from_counts(
    counts: pd.DataFrame, act: CohortContext, by_cols: list[str], cohort_key: str | None = None
) -> pd.DataFrame:
    """The :func:`cohort_table` frame from per-cell counts (definitions §2, §3).

    ``counts`` has the columns of :func:`cohort_counts` (``_cohort``, ``age``,
    ``size``, ``size_complete``, ``active``, ``active_on_or_after`` and
    optionally ``revenue``, after the ``by_cols``); the rates, intervals,
    revenue retention and cumulative revenue are added here, so the cohort
    explorer's re-sliced counts get exactly the numbers of ``cohort_table``.
    """
    out = counts.copy()
    if cohort_key is None:
        first = out.pop("_cohort").to_numpy(dtype=np.int64)
        out.insert(len(by_cols), "cohort", period_label(first, act.freq) if len(first) else np.array([], object))
        starts = period_start(first, act.freq) if len(first) else pd.DatetimeIndex([])
        out.insert(len(by_cols) + 1, "cohort_start", starts)
    else:
        out.insert(len(by_cols), "cohort", out.pop("_cohort").astype(str))
        out.insert(len(by_cols) + 1, "cohort_start", pd.NaT)
    out["cohort"] = out["cohort"].astype(object)
    size = out["size"].to_numpy()
    add_retention(out)
    out["retention_on_or_after"] = safe_ratio(out["active_on_or_after"], size)
    out["partial"] = out.pop("size_complete").to_numpy() < size
    keys = [*by_cols, "cohort"]
    if "revenue" in out.columns:
        per_customer = safe_ratio(out["revenue"], size)
        out["_rpc"] = per_customer
        base = out.groupby(keys, sort=False, dropna=False)["_rpc"].transform("first")
        ages = out.groupby(keys, sort=False, dropna=False)["age"].transform("min")
        base = base.where(ages == 0)
        out["revenue_retention"] = safe_ratio(per_customer, base)
        out["cum_revenue_per_customer"] = out.groupby(keys, sort=False, dropna=False)["_rpc"].cumsum()
        out = out.drop(columns="_rpc")
        cols = [c for c in out.columns if c not in ("revenue", "revenue_retention", "cum_revenue_per_customer")]
        out = out[cols + ["revenue", "revenue_retention", "cum_revenue_per_customer"]]
    front = [
        *by_cols,
        "cohort",
        "cohort_start",
        "age",
        "size",
        "active",
        "retention",
        "retention_lo",
        "retention_hi",
        "active_on_or_after",
        "retention_on_or_after",
        "partial",
    ]
    out = out[front + [c for c in out.columns if c not in front]]
    out = out.sort_values([*by_cols, "cohort", "age"], kind="stable").reset_index(drop=True)
    out.attrs.update(
        {
            "freq": act.freq,
            "as_of": str(act.as_of),
            "tz": act.tz,
            "by": list(by_cols),
            "cohort_key": cohort_key,
            "kind": act.source.kind,
        }
    )
    return out


def _segments_of(table: pd.DataFrame) -> list[str]:
    by = table.attrs.get("by")
    if by is None:
        idx = list(table.columns).index("cohort") if "cohort" in table.columns else 0
        by = list(table.columns[:idx])
    return list(by)


def retention_matrix(table: pd.DataFrame, kind: str = "classic") -> pd.DataFrame:
    """Wide cohort x age view of one measure of a :func:`cohort_table` (definitions §3).

    ``kind``: "classic" (R), "unbounded" (U, right-censored), "revenue"
    (revenue retention), "cum_revenue" (cumulative revenue per customer),
    "active", "size", "revenue_total". Unobserved cells are NaN, never 0.
    Rows are (segments..., cohort); columns are ages.
    """
    if kind not in MATRIX_KINDS:
        raise ParameterError(f"kind={kind!r} is not one of {', '.join(map(repr, MATRIX_KINDS))}.")
    column = MATRIX_KINDS[kind]
    if column not in table.columns:
        raise ParameterError(
            f"kind={kind!r} needs the column '{column}', which this table lacks "
            "(revenue views need an amount column: load_transactions(..., amount='<column>'))."
        )
    rows = [*_segments_of(table), "cohort"]
    wide = table.pivot_table(index=rows, columns="age", values=column, aggfunc="first", dropna=False, sort=True)
    wide = wide.reindex(columns=range(int(table["age"].max()) + 1 if len(table) else 0))
    wide.columns.name = "age"
    return wide


def average_curve(table: pd.DataFrame, *, include_partial: bool = False) -> pd.DataFrame:
    """Size-weighted average retention curve (definitions §3 "Average retention curve").

    R(k) = sum_c A(c,k) / sum_c n_c over the cohorts whose cell (c,k) is
    observed: never a mean of rates. Partial cells are left out unless asked.

    Returns
    -------
    pandas.DataFrame
        [segments...] + ``age``, ``cohorts``, ``size``, ``active``,
        ``retention``, ``retention_lo``, ``retention_hi``,
        ``active_on_or_after``, ``retention_on_or_after`` and, with revenue,
        ``revenue``, ``revenue_per_customer`` and ``cum_revenue_per_customer``
        (size-weighted over the cohorts observed at that age).
    """
    segs = _segments_of(table)
    t = table if include_partial else table.loc[~table["partial"]]
    agg = {
        "cohorts": ("cohort", "nunique"),
        "size": ("size", "sum"),
        "active": ("active", "sum"),
        "active_on_or_after": ("active_on_or_after", "sum"),
    }
    t = t.copy()
    if "revenue" in t.columns:
        t["_w_cum"] = t["cum_revenue_per_customer"] * t["size"]
        agg["revenue"] = ("revenue", "sum")
        agg["_w_cum"] = ("_w_cum", "sum")
    out = t.groupby([*segs, "age"], sort=True, dropna=False).agg(**agg).reset_index()
    add_retention(out)
    out["retention_on_or_after"] = safe_ratio(out["active_on_or_after"], out["size"])
    if "revenue" in out.columns:
        out["revenue_per_customer"] = safe_ratio(out["revenue"], out["size"])
        out["cum_revenue_per_customer"] = safe_ratio(out.pop("_w_cum"), out["size"])
    out.attrs.update(table.attrs)
    return out


def bracket_retention(
    data,
    brackets: Sequence[tuple[int, int]] = ((1, 2), (3, 5), (6, 11)),
    freq: str = "M",
    *,
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Bracket retention (definitions §3): share of a cohort active at any age in a bracket.

    A bracket (lo, hi) counts ages lo..hi inclusive; a cohort's bracket is
    reported only when every age in it is observed (otherwise it is missing,
    not 0). Needs the loaded data, since a bracket counts distinct customers.

    Returns
    -------
    pandas.DataFrame
        [segments...] + ``cohort``, ``cohort_start``, ``bracket`` (label
        "1-2"), ``age_from``, ``age_to``, ``size``, ``active``, ``retention``,
        ``retention_lo``, ``retention_hi``.
    """
    parsed = []
    for b in brackets:
        try:
            lo, hi = (int(b[0]), int(b[1]))
        except (TypeError, ValueError, IndexError):
            raise ParameterError(f"bracket {b!r} must be a pair of ages like (1, 2).") from None
        if lo < 0 or hi < lo:
            raise ParameterError(f"bracket {b!r}: ages must satisfy 0 <= from <= to.")
        parsed.append((lo, hi))
    if not parsed:
        raise ParameterError("brackets is empty; pass e.g. [(1, 2), (3, 5), (6, 11)].")
    by_cols = _by_list(by)
    act = reduce(as_data(data, by_cols), freq)
    group, groups = _customer_groups(act, by_cols, None)
    n_groups = len(groups)
    ok = group >= 0
    pc = act.pair_customer
    age = act.pair_period - act.first[pc]
    max_age = np.where(ok, act.max_period - np.where(ok, act.first, 0), -1)
    frames = []
    for lo, hi in parsed:
        eligible = ok & (max_age >= hi)
        size = np.bincount(group[eligible], minlength=n_groups)
        in_bracket = (age >= lo) & (age <= hi) & eligible[pc]
        cust = np.unique(pc[in_bracket])
        active = np.bincount(group[cust], minlength=n_groups)
        f = groups.copy()
        f["bracket"] = f"{lo}-{hi}"
        f["age_from"] = lo
        f["age_to"] = hi
        f["size"] = size
        f["active"] = active
        frames.append(f.loc[size > 0])
    out = pd.concat(frames, ignore_index=True)
    first = out.pop("_cohort").to_numpy(dtype=np.int64)
    out.insert(len(by_cols), "cohort", period_label(first, act.freq) if len(first) else np.array([], object))
    out.insert(len(by_cols) + 1, "cohort_start", period_start(first, act.freq) if len(first) else pd.DatetimeIndex([]))
    out["cohort"] = out["cohort"].astype(object)
    add_retention(out)
    out = out.sort_values([*by_cols, "cohort", "age_from"], kind="stable").reset_index(drop=True)
    out.attrs.update({"freq": act.freq, "as_of": str(act.as_of), "tz": act.tz, "by": by_cols})
    return out


__all__ = [
    "MATRIX_KINDS",
    "add_retention",
    "average_curve",
    "bracket_retention",
    "cohort_counts",
    "cohort_table",
    "cohort_table_from_counts",
    "explain_empty",
    "retention_matrix",
]
