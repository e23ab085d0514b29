"""Customer retention rate, churn and purchase behaviour (definitions §4).

``crr_from_counts`` is the textbook formula CRR = (E - N) / S.
``crr_table`` computes S, E, N, retained, lost and reactivated from customer
*identities* at period boundaries and reports both CRR figures side by side,
so the difference reactivation makes is visible. ``purchase_metrics`` gives
repeat-purchase rate, frequency, AOV and purchase gaps per period.
"""

from __future__ import annotations

import numbers
from collections.abc import Sequence

import numpy as np
import pandas as pd

from ._stats import safe_ratio, wilson_interval
from .backends import acquisition_values
from .engine import (
    Boundaries,
    as_data,
    first_row_values,
    is_native,
    membership_counts,
    native_crr_counts,
    parse_window,
    reduces_locally,
    subscription_boundaries,
    transaction_boundaries,
    transaction_rows,
)
from .exceptions import ParameterError
from .inputs import Subscriptions, Transactions
from .periods import NO_PERIOD, check_freq, days_to_period, last_complete_period, period_label, period_start

CRR_COLUMNS = [
    "period",
    "period_start",
    "start_customers",
    "end_customers",
    "new",
    "retained",
    "lost",
    "reactivated",
    "crr",
    "crr_lo",
    "crr_hi",
    "crr_counts",
    "churn_rate",
    "window_covered",
]


def crr_from_counts(start: int, end: int, new: int) -> float:
    """Textbook customer retention rate CRR = (E - N) / S (definitions §4 "From counts").

    Parameters
    ----------
    start : int
        S, customers at the start of the period.
    end : int
        E, customers at the end of the period.
    new : int
        N, new customers acquired during the period.

    Returns
    -------
    float
        The retention rate as a fraction (multiply by 100 for percent).
        Churn rate is ``1 - crr``.

    Raises
    ------
    ParameterError
        Negative counts; S = 0 (CRR is undefined); E - N outside [0, S].

    Examples
    --------
    S = 500 customers at the start, 50 new, 100 lost, so E = 450:

    >>> crr_from_counts(start=500, end=450, new=50)
    0.8
    """
    values = {"start": start, "end": end, "new": new}
    for name, v in values.items():
        if isinstance(v, bool) or not isinstance(v, numbers.Real) or not np.isfinite(v):
            raise ParameterError(f"{name}={v!r} must be a count (a non-negative number).")
        if v < 0:
            raise ParameterError(f"{name}={v!r} is negative; customer counts cannot be.")
    if start == 0:
        raise ParameterError(
            "start=0: CRR is undefined when no customers were there at the start of the period "
            "(it is neither 0 nor 100 %)."
        )
    kept = end - new
    if kept < 0:
        raise ParameterError(
            f"new={new} exceeds end={end}: the customers at the end include the new ones, so E >= N. "
            "Check that 'end' counts every customer at the end of the period, new ones included."
        )
    if kept > start:
        raise ParameterError(
            f"end - new = {kept} exceeds start={start}: more customers appear retained than were there "
            "at the start. Customers who came back after an absence (reactivated) make the count formula "
            "inconsistent; count them as new, or use crr_table(), which reports them separately."
        )
    return float(kept / start)


def crr_rates(counts: pd.DataFrame) -> pd.DataFrame:
    """Add the rates of :func:`crr_table` to a frame of CRR counts (definitions §4).

    From ``start_customers`` (S), ``end_customers`` (E), ``new`` (N) and
    ``retained``: ``crr`` = retained / S with its 95 % Wilson interval
    (``crr_lo``, ``crr_hi``), ``crr_counts`` = (E - N) / S and ``churn_rate``
    = 1 - CRR; NaN where S = 0. Returns ``counts`` with the columns added
    (modified in place), so the cohort explorer and :func:`crr_table` share
    one formula.
    """
    s = counts["start_customers"].to_numpy()
    counts["crr"] = safe_ratio(counts["retained"], s)
    lo, hi = wilson_interval(counts["retained"], s)
    counts["crr_lo"] = lo
    counts["crr_hi"] = hi
    counts["crr_counts"] = safe_ratio(counts["end_customers"] - counts["new"], s)
    counts["churn_rate"] = 1.0 - counts["crr"]
    return counts


def _group_codes(bounds: Boundaries, by: list[str]) -> tuple[np.ndarray, pd.DataFrame]:
    n = len(bounds.first_period)
    if not by:
        return np.zeros(n, dtype=np.int64), pd.DataFrame(index=[0])
    has = bounds.first_row >= 0
    cols = {c: bounds.customer_attribute(c)[has] for c in by}
    keys = pd.DataFrame(cols)
    group = np.full(n, -1, dtype=np.int64)
    if keys.empty:
        return group, keys
    codes = keys.groupby(by, sort=True, dropna=False).ngroup().to_numpy()
    group[np.flatnonzero(has)] = codes
    groups = keys.assign(_g=codes).drop_duplicates("_g").sort_values("_g").drop(columns="_g").reset_index(drop=True)
    return group, groups


def crr_table(
    data: Transactions | Subscriptions,
    freq: str = "M",
    *,
    window: str | int = "90D",
    by: str | Sequence[str] | None = None,
) -> pd.DataFrame:
    """Customer retention rate per complete period, from identities (definitions §4).

    S is taken at the first instant of each period, E at the first instant of
    the next. For transaction logs a customer "is a customer" at boundary b
    when they purchased (amount >= 0) in the trailing window [b - W, b); for
    subscriptions when an interval covers the instant just before b.

    Parameters
    ----------
    data : Transactions or Subscriptions
        Data loaded from polars, DuckDB or Spark is counted in that engine (a
        Spark job for a Spark DataFrame); only per-period counts are collected.
    freq : {"M", "W", "D", "Q", "Y"}
    window : str or int
        Activity window W for transaction logs: '90D' (default), '13W' or an
        int number of days. Printed next to every CRR (``attrs['window']``).
        Ignored for subscriptions (``attrs['window']`` is then
        "active subscription").
    by : str or list of str, optional
        Segment column(s); a customer's segment is the value on their first
        purchase.

    Returns
    -------
    pandas.DataFrame
        One row per complete period [and segment]: ``period`` (label),
        ``period_start``, ``start_customers`` (S), ``end_customers`` (E),
        ``new`` (N: first activity in the period and in E), ``retained``
        (|S ∩ E|), ``lost`` (|S \\ E|), ``reactivated`` (E \\ S \\ new),
        ``crr`` (retained / S; NaN when S = 0), ``crr_lo``/``crr_hi`` (Wilson
        95 %), ``crr_counts`` ((E - N) / S; equals ``crr`` exactly when nothing
        was reactivated and exceeds it otherwise), ``churn_rate`` (1 - crr),
        ``window_covered`` (False when the window at the period start reaches
        back before the data begins, so S is undercounted).
    """
    by_cols = [by] if isinstance(by, str) else list(by or [])
    data = as_data(data, by_cols)
    if is_native(data):
        w = parse_window(window)
        freq = check_freq(freq)
        key = ("crr_counts", freq, w, tuple(by_cols))  # cached on the log under every parameter
        native = data.cache.get(key)
        if native is None:
            native = data.cache[key] = native_crr_counts(data, freq, w, by=by_cols)
        window_text = f"{w}D"
        groups, counts, periods = native.groups, native.counts, native.periods[:-1]
        n_groups = len(groups)
        boundary_days, data_start_day = native.boundary_days, native.data_start_day
    else:
        if isinstance(data, Transactions):
            w = parse_window(window)
            bounds = transaction_boundaries(data, freq, w)
            window_text = f"{w}D"
        elif isinstance(data, Subscriptions):
            bounds = subscription_boundaries(data, check_freq(freq))
            w = None
            window_text = "active subscription"
        else:
            raise ParameterError(
                f"crr_table needs loaded data (retainkit.load_transactions / load_subscriptions), not "
                f"{type(data).__name__}."
            )
        freq = check_freq(freq)
        group, groups = _group_codes(bounds, by_cols)
        n_groups = len(groups)
        periods = bounds.periods[:-1]
        has_first = bounds.first_period != NO_PERIOD
        first_index = np.where(has_first, np.where(has_first, bounds.first_period, 0) - bounds.periods[0], -1)
        # membership_counts wants (boundaries x customers): transaction_boundaries stores it that way
        counts = membership_counts(bounds.member.T, first_index, group, n_groups)
        boundary_days, data_start_day = bounds.boundary_days, bounds.data_start_day
    n_periods = len(periods)
    gi = np.repeat(np.arange(n_groups), n_periods)
    pi = np.tile(np.arange(n_periods), n_groups)
    out = groups.iloc[gi].reset_index(drop=True) if by_cols else pd.DataFrame(index=range(len(gi)))
    out["period"] = np.asarray(period_label(periods, freq), dtype=object)[pi] if n_periods else []
    out["period_start"] = period_start(periods, freq)[pi] if n_periods else pd.DatetimeIndex([])
    for name, arr in counts.items():
        out[name] = arr[gi, pi]
    out = crr_rates(out)
    start_days = boundary_days[:-1][pi]
    if w is None:
        out["window_covered"] = start_days > data_start_day
    else:
        out["window_covered"] = start_days - w >= data_start_day
    out = out[[*by_cols, *CRR_COLUMNS]]
    out.attrs.update(
        {
            "freq": freq,
            "window": window_text,
            "window_days": w,
            "as_of": str(data.as_of),
            "tz": data.tz,
            "by": by_cols,
            "kind": data.kind,
        }
    )
    return out


def purchase_metrics(
    data: Transactions,
    freq: str = "M",
    *,
    by: str | Sequence[str] | None = None,
    include_partial: bool = False,
) -> pd.DataFrame:
    """Repeat purchase rate, purchase frequency, AOV and purchase gaps (definitions §4).

    Purchases are rows with amount >= 0 or unknown (§1); refunds count only
    in ``revenue``.

    Returns
    -------
    pandas.DataFrame
        One row per complete period [and segment] plus one ``period ==
        "overall"`` row over all complete periods, with: ``customers``
        (distinct purchasers), ``orders`` (purchase rows), ``revenue`` (all
        amounts, refunds included), ``repeat_customers`` (customers with >= 2
        purchases in the window), ``repeat_purchase_rate`` (repeat_customers /
        customers), ``purchase_frequency`` (orders / customers), ``aov``
        (purchase revenue / purchases with a known amount),
        ``median_days_between_purchases`` (median gap in days between a
        customer's consecutive distinct purchase days, for gaps ending in the
        window), ``repeat_revenue_share`` (share of purchase revenue from
        orders after the customer's first-ever purchase). A customer's
        segment is the value on their first purchase; rows of customers who
        never purchased (refunds only) form a segment of missing values.

    Notes
    -----
    Vectorised: one sort of the purchases by (customer, day) gives the
    distinct purchase days, the gaps and the purchases per (customer,
    period); medians come from per-cell histograms of the integer gaps. Polars
    / DuckDB data of at most ``backends.LOCAL_REDUCE_MAX_ROWS`` rows is read
    from one scan of its columns, without a pandas frame.
    """
    if not isinstance(data, Transactions):
        raise ParameterError("purchase_metrics needs a transaction log (retainkit.load_transactions).")
    freq = check_freq(freq)
    by_cols = [by] if isinstance(by, str) else list(by or [])
    rows = _purchase_rows(data, by_cols)
    codes, n, days, amount = rows["codes"], rows["n"], rows["days"], rows["amount"]
    periods = days_to_period(days, freq)
    limit = last_complete_period(data.as_of, freq, data.tz) + (1 if include_partial else 0)
    buy = ~(amount < 0)
    first_row = rows["first_row"]
    # the customer's segment (values on their first purchase); never-purchasers get missing values
    if by_cols:
        seg = pd.DataFrame({c: rows["segment"](c, first_row) for c in by_cols})
        cust_group = seg.groupby(by_cols, sort=True, dropna=False).ngroup().to_numpy()
        labels = seg.assign(_g=cust_group).drop_duplicates("_g").sort_values("_g")[by_cols].reset_index(drop=True)
    else:
        cust_group = np.zeros(n, dtype=np.int64)
        labels = pd.DataFrame(index=[0])
    n_groups = max(len(labels), 1)
    pmin = int(periods.min()) if len(periods) else 0
    width = max(limit - pmin + 1, 1)
    n_cells = n_groups * width

    def cell_of(c: np.ndarray, p: np.ndarray) -> np.ndarray:
        return cust_group[c] * width + (p - pmin)

    def per_cell(cells: np.ndarray, weights=None) -> tuple[np.ndarray, np.ndarray]:
        """(groups x periods) sums and the per-group overall sums."""
        t = np.bincount(cells, weights=weights, minlength=n_cells).reshape(n_groups, width)
        return t, t.sum(axis=1)

    inr = periods <= limit
    known = ~np.isnan(amount)
    cells = cell_of(codes, np.minimum(periods, limit))  # rows after limit are masked out below
    present, present_all = per_cell(cells[inr])
    b_inr = inr & buy
    orders, orders_all = per_cell(cells[b_inr])
    has_amount = data.has_amount
    revenue, revenue_all = per_cell(cells[inr], np.where(known, amount, 0.0)[inr])
    bk = b_inr & known
    buy_rev, buy_rev_all = per_cell(cells[bk], amount[bk])
    n_known, n_known_all = per_cell(cells[bk])
    rep = bk & (np.arange(len(codes)) != first_row[codes])
    rep_rev, rep_rev_all = per_cell(cells[rep], amount[rep])

    # one sort of the purchases by (customer, day)
    dmin = int(days.min()) if len(days) else 0
    span = (int(days.max()) - dmin + 1) if len(days) else 1
    key = np.sort(codes[buy].astype(np.int64) * span + (days[buy] - dmin))
    c_s = key // span
    d_s = key % span + dmin
    p_s = days_to_period(d_s, freq)
    ok = p_s <= limit
    # purchases per (customer, period) and per customer (within the window)
    new_cp = _starts((c_s[1:] != c_s[:-1]) | (p_s[1:] != p_s[:-1]), len(key))
    starts = np.flatnonzero(new_cp & ok)
    run = np.diff(np.r_[np.flatnonzero(new_cp), len(key)])[np.cumsum(new_cp)[starts] - 1]
    cp_cells = cell_of(c_s[starts], p_s[starts])
    customers, _ = per_cell(cp_cells)
    repeat, _ = per_cell(cp_cells, (run >= 2).astype(np.float64))
    per_customer = np.bincount(c_s[ok], minlength=n)
    buyers = per_customer > 0
    customers_all = np.bincount(cust_group[buyers], minlength=n_groups)
    repeat_all = np.bincount(cust_group[per_customer >= 2], minlength=n_groups)
    # gaps between consecutive distinct purchase days of a customer, placed at the later day
    distinct = _starts(key[1:] != key[:-1], len(key))
    cd, dd, pd_ = c_s[distinct], d_s[distinct], p_s[distinct]
    follows = ~_starts(cd[1:] != cd[:-1], len(cd))
    gap_at = np.flatnonzero(follows & (pd_ <= limit))
    gaps = (dd[gap_at] - dd[gap_at - 1]).astype(np.int64)
    gap_cells = cell_of(cd[gap_at], pd_[gap_at])
    median = _grouped_median(gap_cells, gaps, n_cells).reshape(n_groups, width)
    median_all = _grouped_median(cust_group[cd[gap_at]], gaps, n_groups)

    def metrics(cust, ordr, rev, rep_c, kn, brev, rrev, med) -> dict[str, np.ndarray]:
        with np.errstate(divide="ignore", invalid="ignore"):
            return {
                "customers": cust.astype(np.int64),
                "orders": np.rint(ordr).astype(np.int64),
                "revenue": rev if has_amount else np.full(len(cust), np.nan),
                "repeat_customers": np.rint(rep_c).astype(np.int64),
                "repeat_purchase_rate": np.where(cust > 0, rep_c / cust, np.nan),
                "purchase_frequency": np.where(cust > 0, ordr / cust, np.nan),
                "aov": np.where(has_amount & (kn > 0), brev / kn, np.nan),
                "median_days_between_purchases": med,
                "repeat_revenue_share": np.where(has_amount & (brev != 0), rrev / brev, np.nan),
            }

    gi, pi = np.nonzero(present > 0)
    out = labels.iloc[gi].reset_index(drop=True) if by_cols else pd.DataFrame(index=range(len(gi)))
    p_abs = pi + pmin
    out["period"] = np.asarray(period_label(p_abs, freq), dtype=object) if len(p_abs) else []
    out["period_start"] = period_start(p_abs, freq) if len(p_abs) else pd.DatetimeIndex([])
    for name, values in metrics(
        customers[gi, pi],
        orders[gi, pi],
        revenue[gi, pi],
        repeat[gi, pi],
        n_known[gi, pi],
        buy_rev[gi, pi],
        rep_rev[gi, pi],
        median[gi, pi],
    ).items():
        out[name] = values
    g_all = np.flatnonzero(present_all > 0) if by_cols else np.zeros(1, dtype=np.int64)
    overall = labels.iloc[g_all].reset_index(drop=True) if by_cols else pd.DataFrame(index=range(len(g_all)))
    overall["period"] = "overall"
    overall["period_start"] = pd.NaT
    for name, values in metrics(
        customers_all[g_all],
        orders_all[g_all],
        revenue_all[g_all],
        repeat_all[g_all],
        n_known_all[g_all],
        buy_rev_all[g_all],
        rep_rev_all[g_all],
        median_all[g_all],
    ).items():
        overall[name] = values
    out = pd.concat([out, overall], ignore_index=True)
    out.attrs.update({"freq": freq, "as_of": str(data.as_of), "tz": data.tz, "by": by_cols})
    return out


def _starts(changes: np.ndarray, n: int) -> np.ndarray:
    """Boolean run starts of a sorted array of length n from its n-1 neighbour changes."""
    return np.concatenate(([True], changes))[:n]


def _grouped_median(cells: np.ndarray, values: np.ndarray, n_cells: int) -> np.ndarray:
    """Median of the non-negative integer ``values`` in each of ``n_cells`` cells (NaN where empty).

    From per-cell histograms: exact (the mean of the two middle values for an
    even count), and linear in the number of values.
    """
    out = np.full(n_cells, np.nan)
    if len(values) == 0:
        return out
    top = int(values.max()) + 1
    if n_cells * top > 50_000_000:  # very many cells x long gaps: sort instead
        s = pd.Series(values.astype(np.float64)).groupby(cells).median()
        out[s.index.to_numpy()] = s.to_numpy()
        return out
    hist = np.bincount(cells * top + values, minlength=n_cells * top).reshape(n_cells, top)
    count = hist.sum(axis=1)
    cum = np.cumsum(hist, axis=1)
    has = count > 0
    lo_rank = (count - 1) // 2  # 0-based ranks of the two middle values
    hi_rank = count // 2
    lo = (cum <= lo_rank[:, None]).sum(axis=1)
    hi = (cum <= hi_rank[:, None]).sum(axis=1)
    out[has] = (lo[has] + hi[has]) / 2.0
    return out


def _purchase_rows(data: Transactions, by_cols: list[str]) -> dict:
    """The row arrays purchase_metrics needs (:func:`retainkit.engine.transaction_rows`: from loading for
    pandas, from one scan of polars / DuckDB data)."""
    for col in by_cols:
        if col not in data.segments:
            raise ParameterError(f"'{col}' is not a loaded segment; pass segments=[..., '{col}'] when loading.")
    local = transaction_rows(data)
    amount = local.columns["amount"] if data.has_amount else np.full(len(local.codes), np.nan)
    native = reduces_locally(data)

    def segment(col: str, first_row: np.ndarray) -> np.ndarray:
        if native and col in local.segments:  # collected with the rows
            values = local.acquisition(col).copy()
        elif native:
            values = acquisition_values(data.native, col, local.customer_ids)
        else:
            values = first_row_values(data, first_row, col)
        values[first_row < 0] = np.nan
        return values

    return {
        "codes": local.codes,
        "n": local.n,
        "keys": local.columns["key"],
        "days": local.days(),
        "amount": amount.astype(np.float64, copy=False),
        "segment": segment,
        "first_row": local.first_purchase_rows(),
    }


#: the figures of :func:`kpi_trends`, in the order the report shows them; rates are the last two
KPI_TREND_METRICS = (
    "active_customers",
    "new_customers",
    "revenue",
    "revenue_per_customer",
    "aov",
    "purchase_frequency",
    "crr",
    "churn",
)
#: the figures of :func:`kpi_trends` that are shares of customers (with a Wilson interval)
KPI_TREND_RATES = ("crr", "churn")
KPI_TREND_COLUMNS = ["metric", "period", "period_start", "value", "numerator", "denominator", "lo", "hi"]


def kpi_trends(purchases: pd.DataFrame, crr: pd.DataFrame, cohorts: pd.DataFrame) -> pd.DataFrame:
    """The headline figures per complete period, in one tidy table (definitions §4.7).

    Parameters
    ----------
    purchases : DataFrame
        ``purchase_metrics(tx, freq)`` without segments.
    crr : DataFrame
        ``crr_table(tx, freq, window=...)`` without segments.
    cohorts : DataFrame
        ``cohort_table(tx, freq)`` without segments (the sizes of the cohorts
        are the new customers of their periods).

    Returns
    -------
    pandas.DataFrame
        One row per figure and period, sorted by figure (the order of
        :data:`KPI_TREND_METRICS`) then period: ``metric``, ``period``,
        ``period_start``, ``value``, ``numerator`` and ``denominator`` (the
        counts or sums the value is the ratio of; the value itself and NaN for
        a count or a sum), ``lo`` and ``hi`` (the 95 % Wilson interval of a
        rate, NaN otherwise). Revenue figures are left out without amounts;
        CRR and churn only cover periods whose activity window is inside the
        data (``window_covered``).
    """
    for name, t, first in (("purchases", purchases, "period"), ("crr", crr, "period"), ("cohorts", cohorts, "cohort")):
        if not isinstance(t, pd.DataFrame) or first not in t.columns:
            raise ParameterError(f"kpi_trends: {name} must be the retainkit table of that name (no column {first!r}).")
        if list(t.columns).index(first) != 0:
            raise ParameterError(f"kpi_trends: {name} has segment columns; pass the tables computed without by=.")
    per = purchases[purchases["period"].astype(str) != "overall"]
    frames: list[pd.DataFrame] = []

    def add(metric: str, t: pd.DataFrame, value, num=None, den=None, lo=None, hi=None) -> None:  # noqa: ANN001
        nan = np.full(len(t), np.nan)
        frames.append(
            pd.DataFrame(
                {
                    "metric": metric,
                    "period": t["period"].astype(str).to_numpy(),
                    "period_start": t["period_start"].to_numpy(),
                    "value": np.asarray(value, dtype=float),
                    "numerator": np.asarray(value if num is None else num, dtype=float),
                    "denominator": nan if den is None else np.asarray(den, dtype=float),
                    "lo": nan if lo is None else np.asarray(lo, dtype=float),
                    "hi": nan if hi is None else np.asarray(hi, dtype=float),
                }
            )
        )

    customers = per["customers"].to_numpy(dtype=float)
    add("active_customers", per, customers)
    c0 = cohorts[(cohorts["age"] == 0) & ~cohorts.get("partial", pd.Series(False, index=cohorts.index)).astype(bool)]
    c0 = c0.rename(columns={"cohort": "period", "cohort_start": "period_start"})
    add("new_customers", c0, c0["size"].to_numpy(dtype=float))
    revenue = per["revenue"].to_numpy(dtype=float) if "revenue" in per.columns else np.full(len(per), np.nan)
    if len(per) and not np.isnan(revenue).all():
        add("revenue", per, revenue)
        add("revenue_per_customer", per, safe_ratio(revenue, customers), revenue, customers)
        add("aov", per, per["aov"].to_numpy(dtype=float))
    add("purchase_frequency", per, per["purchase_frequency"], per["orders"], customers)
    t = crr[crr["window_covered"].astype(bool)] if "window_covered" in crr.columns else crr
    start = t["start_customers"].to_numpy(dtype=float)
    add("crr", t, t["crr"], t["retained"], start, t["crr_lo"], t["crr_hi"])
    add("churn", t, 1.0 - t["crr"].to_numpy(dtype=float), t["lost"], start, 1.0 - t["crr_hi"], 1.0 - t["crr_lo"])
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=KPI_TREND_COLUMNS)
    order = {m: i for i, m in enumerate(KPI_TREND_METRICS)}
    out = out.assign(_o=out["metric"].map(order)).sort_values(["_o", "period_start"], kind="stable")
    return out.drop(columns="_o").reset_index(drop=True).loc[:, KPI_TREND_COLUMNS]


__all__ = [
    "CRR_COLUMNS",
    "KPI_TREND_COLUMNS",
    "KPI_TREND_METRICS",
    "KPI_TREND_RATES",
    "crr_from_counts",
    "crr_rates",
    "crr_table",
    "kpi_trends",
    "purchase_metrics",
]
