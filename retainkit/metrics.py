"""Customer retention rate, churn and purchase behaviour (definitions §4).

``crr_from_counts`` is the textbook formula CRR = (E - N) / S.
``crr_table`` computes S, E, N, retained, lost and reactivated from customer
*identities* at period boundaries and reports both CRR figures side by side,
so the difference reactivation makes is visible. ``purchase_metrics`` gives
repeat-purchase rate, frequency, AOV and purchase gaps per period.
"""

from __future__ import annotations

import numbers
from typing import Sequence

import numpy as np
import pandas as pd

from ._codes import factorize
from ._stats import safe_ratio, wilson_interval
from .data import Subscriptions, Transactions
from .engine import (Boundaries, as_data, is_native, membership_counts, native_crr_counts, parse_window,
                     subscription_boundaries, transaction_boundaries)
from .exceptions import ParameterError
from .periods import check_freq, days_to_period, last_complete_period, local_days, period_label, period_start

CRR_COLUMNS = [
    "period", "period_start", "start_customers", "end_customers", "new", "retained", "lost",
    "reactivated", "crr", "crr_lo", "crr_hi", "crr_counts", "churn_rate", "window_covered",
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
        native = native_crr_counts(data, freq, w, by=by_cols)
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
        first_index = np.where(bounds.first_period >= 0, bounds.first_period - bounds.periods[0], -1)
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
    s = out["start_customers"].to_numpy()
    out["crr"] = safe_ratio(out["retained"], s)
    lo, hi = wilson_interval(out["retained"], s)
    out["crr_lo"] = lo
    out["crr_hi"] = hi
    out["crr_counts"] = safe_ratio(out["end_customers"] - out["new"], s)
    out["churn_rate"] = 1.0 - out["crr"]
    start_days = boundary_days[:-1][pi]
    if w is None:
        out["window_covered"] = start_days > data_start_day
    else:
        out["window_covered"] = start_days - w >= data_start_day
    out = out[[*by_cols, *CRR_COLUMNS]]
    out.attrs.update({"freq": freq, "window": window_text, "window_days": w, "as_of": str(data.as_of),
                      "tz": data.tz, "by": by_cols, "kind": data.kind})
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
        orders after the customer's first-ever purchase).
    """
    if not isinstance(data, Transactions):
        raise ParameterError("purchase_metrics needs a transaction log (retainkit.load_transactions).")
    freq = check_freq(freq)
    by_cols = [by] if isinstance(by, str) else list(by or [])
    f = data.frame
    codes, _ = factorize(f["customer_id"])
    days = local_days(f["timestamp"], data.tz)
    periods = days_to_period(days, freq)
    limit = last_complete_period(data.as_of, freq, data.tz) + (1 if include_partial else 0)
    amount = f["amount"].to_numpy(dtype="float64", na_value=np.nan) if data.has_amount else np.full(len(f), np.nan)
    buy = ~(amount < 0)
    frame = pd.DataFrame({"c": codes, "ts": f["timestamp"].array.asi8, "day": days, "p": periods,
                          "amount": amount, "buy": buy})
    for col in by_cols:
        if col not in f.columns:
            raise ParameterError(f"'{col}' is not a loaded segment; pass segments=[..., '{col}'] when loading.")
    # acquisition segment: value on the customer's first purchase row
    order = frame.loc[frame["buy"]].sort_values(["c", "ts"], kind="stable")
    firsts = order.drop_duplicates("c")
    for col in by_cols:
        seg = pd.Series(f[col].to_numpy(dtype=object)[firsts.index.to_numpy()], index=firsts["c"].to_numpy())
        frame[col] = frame["c"].map(seg)
    order = frame.loc[frame["buy"]].sort_values(["c", "ts"], kind="stable")
    is_first = ~order["c"].duplicated()
    frame["repeat_order"] = False
    frame.loc[order.index, "repeat_order"] = ~is_first.to_numpy()
    # gaps between consecutive distinct purchase days of a customer
    days_u = order.drop_duplicates(["c", "day"])
    gap = days_u["day"].diff()
    gap[days_u["c"].ne(days_u["c"].shift())] = np.nan
    frame["gap"] = np.nan
    frame.loc[days_u.index, "gap"] = gap.to_numpy()
    frame = frame.loc[frame["p"] <= limit]

    def summarise(g: pd.DataFrame) -> dict:
        b = g.loc[g["buy"]]
        per_customer = b.groupby("c").size()
        customers = len(per_customer)
        orders = len(b)
        known = b["amount"].notna()
        buy_rev = b.loc[known, "amount"].sum()
        return {
            "customers": customers,
            "orders": orders,
            "revenue": float(g["amount"].sum()) if data.has_amount else np.nan,
            "repeat_customers": int((per_customer >= 2).sum()),
            "repeat_purchase_rate": (per_customer >= 2).sum() / customers if customers else np.nan,
            "purchase_frequency": orders / customers if customers else np.nan,
            "aov": buy_rev / known.sum() if data.has_amount and known.sum() else np.nan,
            "median_days_between_purchases": float(b["gap"].median()) if b["gap"].notna().any() else np.nan,
            "repeat_revenue_share": (b.loc[known & b["repeat_order"], "amount"].sum() / buy_rev
                                     if data.has_amount and buy_rev else np.nan),
        }

    rows = []
    keys = [*by_cols, "p"]
    for key, g in frame.groupby(keys, sort=True, dropna=False):
        key = key if isinstance(key, tuple) else (key,)
        rec = dict(zip(by_cols, key[:-1]))
        rec["period"] = period_label(int(key[-1]), freq)
        rec["period_start"] = period_start(int(key[-1]), freq)
        rec.update(summarise(g))
        rows.append(rec)
    overall_groups = frame.groupby(by_cols, sort=True, dropna=False) if by_cols else [((), frame)]
    for key, g in overall_groups:
        key = key if isinstance(key, tuple) else (key,)
        rec = dict(zip(by_cols, key))
        rec["period"] = "overall"
        rec["period_start"] = pd.NaT
        rec.update(summarise(g))
        rows.append(rec)
    out = pd.DataFrame(rows)
    out.attrs.update({"freq": freq, "as_of": str(data.as_of), "tz": data.tz, "by": by_cols})
    return out


__all__ = ["CRR_COLUMNS", "crr_from_counts", "crr_table", "purchase_metrics"]
