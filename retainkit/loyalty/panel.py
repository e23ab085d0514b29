"""The customer x period activity panel a lift measurement works on (definitions §1, §2, §6).

From a transaction log with membership columns: which customers were active
(a purchase, definitions §1) and what they spent in each complete period up to
``as_of``, their first purchase period and their join period.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from ..exceptions import DataError
from ..periods import last_complete_period, parse_as_of, period_index

_TRUE = {"true", "t", "yes", "y", "1", "1.0", "member", "treated"}
_FALSE = {"false", "f", "no", "n", "0", "0.0", "", "(missing)", "nan", "none", "null", "non-member", "control"}


def to_bool(values: pd.Series, column: str) -> np.ndarray:
    if values.dtype == bool:
        return values.to_numpy()
    if pd.api.types.is_numeric_dtype(values.dtype):
        return values.fillna(0).to_numpy() != 0
    text = values.astype("string").str.strip().str.lower().fillna("")
    bad = ~text.isin(_TRUE | _FALSE)
    if bad.any():
        ex = ", ".join(repr(v) for v in text[bad].unique()[:3])
        raise DataError(f"column {column!r}: values {ex} are not yes/no flags. Use True/False, 1/0 or 'yes'/'no'.")
    return text.isin(_TRUE).to_numpy()


def to_local(values: pd.Series, column: str, tz: str) -> pd.Series:
    if not pd.api.types.is_datetime64_any_dtype(values.dtype):
        parsed = pd.to_datetime(values.replace("(missing)", None), errors="coerce", utc=False, format="mixed")
        bad = (
            parsed.isna()
            & values.notna()
            & (values.astype("string").str.strip().fillna("") != "")
            & (values.astype("string") != "(missing)")
        )
        if bad.any():
            i = bad.to_numpy().nonzero()[0][:3]
            ex = ", ".join(f"row {j}: {values.iloc[j]!r}" for j in i)
            raise DataError(
                f"column {column!r}: {int(bad.sum())} values are not dates ({ex}). Write them as YYYY-MM-DD."
            )
        values = parsed
    return values


def per_customer_flag(df: pd.DataFrame, column: str, codes: np.ndarray, n: int) -> np.ndarray:
    flag = to_bool(df[column], column)
    out = np.zeros(n, bool)
    np.logical_or.at(out, codes, flag)
    return out


@dataclass(frozen=True)
class ActivityPanel:
    """Customers x complete periods of a log, for :func:`retainkit.loyalty.measure_program_lift`.

    Attributes
    ----------
    rows : pandas.DataFrame
        The log rows used (customer id present, timestamp parsed, on or before ``as_of``).
    customer_codes : numpy.ndarray
        Per row, the customer's index into ``customer_ids``.
    customer_ids : pandas.Index
        Sorted distinct customer ids.
    active : numpy.ndarray
        (customers, periods) uint8: 1 when the customer bought in the period (a row with amount >= 0
        or unknown, definitions §1).
    spend : numpy.ndarray
        (customers, periods) float: sum of amounts, refunds included (0 without amounts).
    first_buy : numpy.ndarray
        Column of each customer's first purchase period (int64 max when none).
    join : numpy.ndarray
        Column of each customer's earliest join date (int64 max when none); ``has_join`` marks those with one.
    has_join : numpy.ndarray
    n_periods : int
        Complete periods from the first row's period to the last complete one before ``as_of``.
    """

    rows: pd.DataFrame
    customer_codes: np.ndarray
    customer_ids: pd.Index
    active: np.ndarray
    spend: np.ndarray
    first_buy: np.ndarray
    join: np.ndarray
    has_join: np.ndarray
    n_periods: int


def activity_panel(
    df: pd.DataFrame,
    *,
    customer_id: str,
    timestamp: str,
    amount: str | None,
    join_date: str,
    freq: str,
    tz: str,
    as_of: object,
    windows: tuple[int, int, int],
) -> ActivityPanel:
    """Build the :class:`ActivityPanel` of the log ``df`` (definitions §1, §2).

    ``windows`` = (baseline, matching, post) lengths: the data must cover at
    least their sum + 2 complete periods, else DataError.
    """
    pre_periods, match_periods, post_periods = windows
    has_amount = amount is not None
    df = df[df[customer_id].notna()]
    ts = to_local(df[timestamp], timestamp, tz)
    df = df[ts.notna()]
    ts = ts[ts.notna()]
    aware = getattr(ts.dt, "tz", None) is not None
    as_of_ts = parse_as_of(as_of, tz) if as_of is not None else None
    if as_of_ts is None:
        last = ts.max()
        last = last.tz_convert(tz) if aware else last.tz_localize(tz)
        as_of_ts = last.tz_localize(None).normalize().tz_localize(tz) + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")
    keep = (
        ts.dt.tz_convert(tz)
        if aware
        else ts.dt.tz_localize(tz, ambiguous=np.zeros(len(ts), bool), nonexistent="shift_forward")
    ) <= as_of_ts
    df, ts = df[keep.to_numpy()], ts[keep.to_numpy()]
    if df.empty:
        raise DataError("no usable rows on or before as_of: nothing to measure.")
    last_p = last_complete_period(as_of_ts, freq, tz)

    cust_codes, cust_ids = pd.factorize(df[customer_id], sort=True)
    per = period_index(ts, freq, tz)
    first_p = int(per.min())
    n_per = last_p - first_p + 1
    if n_per < pre_periods + match_periods + post_periods + 2:
        raise DataError(
            f"the data cover {max(n_per, 0)} complete {freq} periods; the windows need at least "
            f"{pre_periods + match_periods + post_periods + 2} (baseline {pre_periods} + matching "
            f"{match_periods} + join 1 + post {post_periods} + one before). Use a finer freq or shorter windows."
        )
    in_range = per <= last_p
    amt = df[amount].to_numpy(dtype="float64") if has_amount else np.zeros(len(df))
    purchase = ~(amt < 0)  # NaN amounts are purchases (definitions §1)
    n_c = len(cust_ids)
    col = per - first_p
    A = np.zeros((n_c, n_per), dtype="uint8")
    S = np.zeros((n_c, n_per), dtype="float64")
    sel = in_range & purchase
    A[cust_codes[sel], col[sel]] = 1
    np.add.at(S, (cust_codes[in_range], col[in_range]), np.nan_to_num(amt[in_range]))
    first_buy = np.full(n_c, np.iinfo(np.int64).max)
    np.minimum.at(first_buy, cust_codes[purchase], col[purchase])

    jd = to_local(df[join_date], join_date, tz)
    jd_ok = jd.notna().to_numpy()
    j_local = jd[jd_ok]
    jper = period_index(j_local, freq, tz) - first_p
    join = np.full(n_c, np.iinfo(np.int64).max)
    np.minimum.at(join, cust_codes[jd_ok], jper)
    has_join = join != np.iinfo(np.int64).max
    return ActivityPanel(df, cust_codes, cust_ids, A, S, first_buy, join, has_join, n_per)


__all__ = ["ActivityPanel", "activity_panel", "per_customer_flag", "to_bool", "to_local"]
