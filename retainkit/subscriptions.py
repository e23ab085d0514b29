"""Subscription (contractual) retention: MRR movements, revenue retention, MRR cohorts.

ChartMogul-style views of a subscription table loaded with
:func:`retainkit.load_subscriptions` (definitions §1 "Inputs"). Everything is
measured at period *boundaries*, the way definitions §4 ("Who is a customer at
a boundary") defines a subscription customer:

* a boundary ``b`` is the first instant of a period (definitions §2); the
  state "at the end of period p" is the state at the first instant of p + 1;
* an interval ``[start, end)`` counts at ``b`` when it covers the instant just
  before ``b``, i.e. ``start < b <= end`` (``end`` missing = still active);
* a customer's MRR at ``b`` is the **sum** of the ``mrr`` of every interval of
  theirs that counts at ``b`` (two concurrent subscriptions add up);
* a customer *is a customer* at ``b`` when at least one interval counts
  (whatever its MRR: a free plan counts as a customer with 0 MRR).

Only complete periods are reported (definitions §2 "Complete period"): the
last row is the last period whose last instant is <= ``as_of``.

What happens *inside* a period between two boundaries is not seen: a
subscription that starts and ends within one period moves no boundary MRR (it
still makes the customer "not new" later, see :func:`mrr_movements`).

MRR is summed in exact integer micro-units (``round(mrr * 1e6)``), so the
movement identity holds exactly and no rounding noise is classified as
expansion or contraction; results are returned as floats in the data's
currency.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from ._stats import safe_ratio, wilson_interval
from .exceptions import DataError, ParameterError
from .inputs import Subscriptions
from .periods import check_freq, last_complete_period, period_index, period_label, period_start

#: MRR is summed as integers in units of 1 / _SCALE of the currency unit
_SCALE = 1_000_000

MOVEMENT_COLUMNS: tuple[str, ...] = (
    "period",
    "period_start",
    "mrr_start",
    "new",
    "expansion",
    "contraction",
    "churned",
    "reactivation",
    "mrr_end",
    "customers_start",
    "customers_end",
    "customers_retained",
    "customers_new",
    "customers_reactivated",
    "customers_lost",
    "n_new",
    "n_expansion",
    "n_contraction",
    "n_churned",
    "n_reactivation",
)
_MRR_COLS = ("mrr_start", "new", "expansion", "contraction", "churned", "reactivation", "mrr_end")
_COUNT_COLS = tuple(c for c in MOVEMENT_COLUMNS[9:])


# --------------------------------------------------------------------------- helpers
def _check_subs(subs: object, *, need_mrr: bool, what: str) -> Subscriptions:
    if not isinstance(subs, Subscriptions):
        raise ParameterError(
            f"{what}() needs a retainkit Subscriptions object, not {type(subs).__name__}. Load the table "
            "first: subs = retainkit.load_subscriptions(df, customer_id=..., start=..., end=..., mrr=...)."
        )
    if need_mrr and not subs.has_mrr:
        raise ParameterError(
            f"{what}() needs MRR, but these subscriptions were loaded without an mrr column. Reload with "
            "retainkit.load_subscriptions(..., mrr='<column with monthly recurring revenue>')."
        )
    if need_mrr:
        neg = subs.frame["mrr"].to_numpy() < 0
        if neg.any():
            rows = subs.frame.loc[neg].head(3)
            shown = "; ".join(
                f"customer {r.customer_id!r} from {r.start:%Y-%m-%d}: mrr {r.mrr:g}" for r in rows.itertuples()
            )
            raise DataError(
                f"column 'mrr': {int(neg.sum()):,} subscriptions have negative MRR ({shown}). MRR "
                "movements need MRR >= 0 per subscription: net discounts and credits into the "
                "subscription's MRR before loading."
            )
    return subs


def _check_by(subs: Subscriptions, by: str | Iterable[str] | None) -> list[str]:
    if by is None:
        return []
    cols = [by] if isinstance(by, str) else list(by)
    for c in cols:
        if c not in subs.segments:
            avail = ", ".join(f"'{s}'" for s in subs.segments) or "none"
            raise ParameterError(
                f"by={c!r} is not a segment of these subscriptions (segments: {avail}). Pass "
                f"segments=[..., {c!r}] to load_subscriptions to split by it."
            )
    if len(set(cols)) != len(cols):
        raise ParameterError(f"by={cols!r} names a column twice.")
    return cols


def _utc_ns(values) -> np.ndarray:
    """Aware timestamps (Series or DatetimeIndex) -> int64 ns since the epoch; NaT -> int64 max."""
    s = pd.Series(values)
    out = s.dt.tz_convert("UTC").dt.tz_localize(None).dt.as_unit("ns")
    arr = out.to_numpy().view("int64").copy()
    arr[s.isna().to_numpy()] = np.iinfo("int64").max
    return arr


class _Grid:
    """Boundary events of a subscription table (the one pass over all intervals).

    Boundaries ``b_0 .. b_n`` are the first instants of periods ``p0 .. p0 + n``;
    ``b_j`` ends period ``p0 + j - 1``. For each key (customer, or customer x
    segment values) and each boundary index ``j`` at which the key's state can
    change, the frame ``events`` holds the exact state at ``b_j`` (``units``:
    MRR in micro-units, ``count``: number of covering intervals) and the state
    at the previous event (which is the state at ``b_{j-1}``, states being
    constant between events).
    """

    def __init__(self, subs: Subscriptions, freq: str, keys: list[str], with_mrr: bool):
        frame = subs.frame
        self.freq = freq
        self.tz = subs.tz
        self.p_last = last_complete_period(subs.as_of, freq, subs.tz)
        length = frame["end"].isna().to_numpy() | (frame["end"] != frame["start"]).fillna(True).to_numpy()
        self.p0 = int(period_index(frame["start"], freq, subs.tz).min()) if len(frame) else 0
        self.n = max(self.p_last - self.p0 + 1, 0)
        self.periods = np.arange(self.p0, self.p0 + self.n, dtype="int64")
        bounds = period_start(np.arange(self.p0, self.p0 + self.n + 1), freq, subs.tz)
        self.bounds_ns = _utc_ns(bounds)

        grouped = frame.groupby(keys, sort=True, dropna=False)
        key_codes = grouped.ngroup().to_numpy()
        self.key_table = grouped.size().index.to_frame(index=False).loc[:, keys]
        s = _utc_ns(frame["start"])
        e = _utc_ns(frame["end"])
        if with_mrr:
            mrr = frame["mrr"].to_numpy(dtype="float64")
            units = np.round(mrr * _SCALE)
            if np.abs(units).sum() >= 2.0**62:
                raise DataError("column 'mrr': the MRR values are too large to sum exactly (total above 4e12).")
            units = units.astype("int64")
        else:
            mrr = np.zeros(len(frame))
            units = np.zeros(len(frame), dtype="int64")
        nkeys = len(self.key_table)
        big = np.iinfo("int64").max
        # first instant of activity / of paid activity per key (intervals of length 0 are no activity)
        first = np.full(nkeys, big, dtype="int64")
        np.minimum.at(first, key_codes[length], s[length])
        paid = length & (mrr > 0)
        first_paid = np.full(nkeys, big, dtype="int64")
        np.minimum.at(first_paid, key_codes[paid], s[paid])
        self.first_ns = first
        self.first_paid_ns = first_paid

        b = self.bounds_ns
        lo = np.searchsorted(b, s, side="right")  # first boundary strictly after start
        hi = np.searchsorted(b, e, side="right") - 1  # last boundary <= end (open: the last one)
        hi = np.minimum(hi, self.n)
        ok = lo <= hi
        lo, hi, k, u = lo[ok], hi[ok], key_codes[ok], units[ok]
        closes = hi + 1 <= self.n
        ev = pd.DataFrame(
            {
                "key": np.concatenate([k, k[closes]]),
                "j": np.concatenate([lo, hi[closes] + 1]).astype("int64"),
                "units": np.concatenate([u, -u[closes]]),
                "count": np.concatenate([np.ones(len(k), "int64"), -np.ones(int(closes.sum()), "int64")]),
            }
        )
        ev = ev.groupby(["key", "j"], sort=True).sum().reset_index()
        g = ev.groupby("key", sort=False)
        ev["units"] = g["units"].cumsum()
        ev["count"] = g["count"].cumsum()
        g = ev.groupby("key", sort=False)
        ev["units0"] = g["units"].shift(1, fill_value=0)
        ev["count0"] = g["count"].shift(1, fill_value=0)
        self.events = ev


def _period_columns(periods: np.ndarray, freq: str, tz: str) -> dict[str, object]:
    return {"period": period_label(periods, freq), "period_start": period_start(periods, freq, tz)}


# --------------------------------------------------------------------------- movements
def mrr_movements(subs: Subscriptions, freq: str = "M", *, by: str | Iterable[str] | None = None) -> pd.DataFrame:
    """MRR at each period end and the movements that explain its change (definitions §4).

    Boundary snapshots follow definitions §4 "Who is a customer at a
    boundary" (see the module docstring): ``mrr_start`` of period p is the MRR
    at p's first instant, ``mrr_end`` the MRR at the first instant of p + 1,
    each customer's MRR being the sum over their intervals that cover the
    instant just before the boundary. Each customer's change between the two
    snapshots (``m0`` -> ``m1``) is classified once:

    ===============  ==================================================  =====================
    movement         when                                                amount
    ===============  ==================================================  =====================
    ``new``          m0 = 0 < m1 and no paid (mrr > 0) interval of the   m1
                     customer started before the period (a free trial
                     converting to paid is new)
    ``reactivation`` m0 = 0 < m1 and a paid interval started before the  m1
                     period (the customer paid earlier, then stopped)
    ``expansion``    0 < m0 < m1                                         m1 - m0
    ``contraction``  0 < m1 < m0                                         m0 - m1
    ``churned``      m0 > 0 = m1                                         m0
    ===============  ==================================================  =====================

    so that, exactly, ``mrr_end = mrr_start + new + expansion + reactivation
    - contraction - churned``. Customer counts follow definitions §4 "From
    identities" (any covering interval makes a customer, whatever its MRR):
    S = customers at the start boundary, E at the end boundary.

    Parameters
    ----------
    subs : Subscriptions
        From ``load_subscriptions(..., mrr=...)``; MRR must be >= 0 per row.
    freq : {"D", "W", "M", "Q", "Y"}
        Period granularity (definitions §2).
    by : str or list of str, optional
        Segment columns (loaded with ``segments=``). The segment is taken from
        each *interval*, so a customer's MRR is attributed to the segment of
        the subscription that carries it: moving from plan A to plan B shows
        as churn (or contraction) in A and new / reactivation / expansion in
        B. Sums of ``mrr_start`` / ``mrr_end`` over segments equal the totals.

    Returns
    -------
    pandas.DataFrame
        One row per complete period (per segment), periods from the one of the
        earliest start to the last complete one; periods without change are
        included. Columns: the ``by`` columns, ``period`` (label),
        ``period_start`` (aware Timestamp in the report time zone),
        ``mrr_start``, ``new``, ``expansion``, ``contraction``, ``churned``,
        ``reactivation``, ``mrr_end`` (currency, all >= 0),
        ``customers_start`` (|S|), ``customers_end`` (|E|),
        ``customers_retained`` (|S ∩ E|), ``customers_new`` (first activity in
        the period, in E), ``customers_reactivated`` (E \\ S \\ new),
        ``customers_lost`` (|S \\ E|), and ``n_new`` .. ``n_reactivation``: the
        number of customers behind each MRR movement.

    Raises
    ------
    ParameterError
        Not a Subscriptions object, loaded without MRR, unknown ``freq`` / ``by``.
    DataError
        Negative MRR on a subscription.
    """
    subs = _check_subs(subs, need_mrr=True, what="mrr_movements")
    freq = check_freq(freq)
    by_cols = _check_by(subs, by)
    grid = _Grid(subs, freq, ["customer_id", *by_cols], with_mrr=True)
    ev = grid.events
    n = grid.n
    if by_cols:
        seg_table = (
            grid.key_table.loc[:, by_cols].drop_duplicates().sort_values(by_cols, kind="stable").reset_index(drop=True)
        )
        seg_of_key = grid.key_table.merge(seg_table.reset_index(), on=by_cols, how="left")["index"].to_numpy()
    else:
        seg_table = pd.DataFrame(index=[0])
        seg_of_key = np.zeros(len(grid.key_table), dtype="int64")
    nseg = len(seg_table)

    key = ev["key"].to_numpy()
    j = ev["j"].to_numpy()
    m0 = ev["units0"].to_numpy()
    m1 = ev["units"].to_numpy()
    c0 = ev["count0"].to_numpy() > 0
    c1 = ev["count"].to_numpy() > 0
    t0 = grid.bounds_ns[j - 1]  # first instant of the period the event closes
    up = (m0 == 0) & (m1 > 0)
    is_new = up & (grid.first_paid_ns[key] >= t0)
    is_react = up & ~is_new
    is_exp = (m0 > 0) & (m1 > m0)
    is_con = (m0 > 0) & (m1 > 0) & (m1 < m0)
    is_churn = (m0 > 0) & (m1 == 0)
    gained = ~c0 & c1
    cust_new = gained & (grid.first_ns[key] >= t0)
    flows = {
        "new": np.where(is_new, m1, 0),
        "expansion": np.where(is_exp, m1 - m0, 0),
        "contraction": np.where(is_con, m0 - m1, 0),
        "churned": np.where(is_churn, m0, 0),
        "reactivation": np.where(is_react, m1, 0),
        "d_units": m1 - m0,
        "d_customers": c1.astype("int64") - c0.astype("int64"),
        "customers_new": cust_new.astype("int64"),
        "customers_reactivated": (gained & ~cust_new).astype("int64"),
        "customers_lost": (c0 & ~c1).astype("int64"),
        "n_new": is_new.astype("int64"),
        "n_expansion": is_exp.astype("int64"),
        "n_contraction": is_con.astype("int64"),
        "n_churned": is_churn.astype("int64"),
        "n_reactivation": is_react.astype("int64"),
    }
    cell = seg_of_key[key] * n + (j - 1)
    dense = {}
    for name, values in flows.items():
        arr = np.zeros(nseg * n, dtype="int64")
        np.add.at(arr, cell, values.astype("int64"))
        dense[name] = arr.reshape(nseg, n)
    d_units = dense.pop("d_units")
    mrr_end = np.cumsum(d_units, axis=1)
    mrr_start = mrr_end - d_units
    d_customers = dense.pop("d_customers")
    cust_end = np.cumsum(d_customers, axis=1)
    cust_start = cust_end - d_customers

    out = pd.DataFrame({c: seg_table[c].repeat(n).to_numpy() for c in by_cols})
    for name, values in _period_columns(np.tile(grid.periods, nseg), freq, grid.tz).items():
        out[name] = values
    money = {"mrr_start": mrr_start, "mrr_end": mrr_end, **{k: dense[k] for k in _MRR_COLS if k in dense}}
    for name in _MRR_COLS:
        out[name] = money[name].ravel() / _SCALE
    out["customers_start"] = cust_start.ravel()
    out["customers_end"] = cust_end.ravel()
    out["customers_retained"] = (cust_start - dense["customers_lost"]).ravel()
    for name in _COUNT_COLS[3:]:
        out[name] = dense[name].ravel()
    return out.loc[:, [*by_cols, *MOVEMENT_COLUMNS]].reset_index(drop=True)


def revenue_retention(subs: Subscriptions, freq: str = "M", *, by: str | Iterable[str] | None = None) -> pd.DataFrame:
    """Gross and net revenue retention and customer retention per period (definitions §4).

    Per complete period p, from the boundary snapshots of :func:`mrr_movements`:

    * ``grr`` (gross revenue retention) = (mrr_start - contraction - churned) / mrr_start
    * ``nrr`` (net revenue retention) = (mrr_start + expansion - contraction - churned) / mrr_start,
      i.e. the MRR the start-of-period customers still pay at the end; new and
      reactivated MRR are excluded.
    * ``customer_retention`` = |S ∩ E| / |S| (definitions §4 "From identities"),
      with a 95 % Wilson interval (definitions §3 "Uncertainty").

    Every rate is NaN where its denominator is 0 (definitions §4: never 0 or 1).

    Parameters
    ----------
    subs, freq, by
        As in :func:`mrr_movements`.

    Returns
    -------
    pandas.DataFrame
        One row per complete period (per segment): the ``by`` columns,
        ``period``, ``period_start``, ``mrr_start``, ``mrr_end``,
        ``customers_start``, ``customers_end``, ``customers_retained``,
        ``grr``, ``nrr``, ``customer_retention``, ``customer_retention_lo``,
        ``customer_retention_hi``, ``churn_rate`` (1 - customer_retention).
        Rates are fractions (1.0 = 100 %).
    """
    mv = mrr_movements(subs, freq, by=by)
    by_cols = [c for c in mv.columns if c not in MOVEMENT_COLUMNS]
    out = mv.loc[
        :,
        [
            *by_cols,
            "period",
            "period_start",
            "mrr_start",
            "mrr_end",
            "customers_start",
            "customers_end",
            "customers_retained",
        ],
    ].copy()
    start = mv["mrr_start"].to_numpy()
    out["grr"] = safe_ratio(start - mv["contraction"] - mv["churned"], start)
    out["nrr"] = safe_ratio(start + mv["expansion"] - mv["contraction"] - mv["churned"], start)
    out["customer_retention"] = safe_ratio(mv["customers_retained"], mv["customers_start"])
    lo, hi = wilson_interval(mv["customers_retained"], mv["customers_start"])
    out["customer_retention_lo"] = lo
    out["customer_retention_hi"] = hi
    out["churn_rate"] = 1.0 - out["customer_retention"]
    return out


# --------------------------------------------------------------------------- cohorts
def mrr_cohort_table(subs: Subscriptions, freq: str = "M") -> pd.DataFrame:
    """Acquisition cohorts of subscribers: customers and MRR by age (definitions §2, §3, §4).

    The cohort of a customer is the period of their first subscription start
    (definitions §2 "Acquisition cohort"; intervals of length 0 are not
    activity; a free or trial subscription counts). "At the end of age k"
    means at the boundary that ends period c + k, with the boundary rule of
    definitions §4 (see the module docstring). Only observed cells are
    returned: age k of cohort c appears when period c + k is complete
    (definitions §2 "Observed cell"); cohorts that started in the partial
    period are absent.

    With ``m_i(k)`` customer i's MRR at the end of age k:

    * ``customer_retention`` = customers active at the end of age k /
      cohort_size (the cohort size counts everyone who started in c, also those
      gone before c ended, so age 0 can be < 1), with a Wilson interval;
    * ``nrr`` = sum_i m_i(k) / sum_i m_i(0) (cohort MRR relative to its MRR at
      the end of age 0; expansion can lift it above 1);
    * ``grr`` = sum_i min(m_i(k), m_i(0)) / sum_i m_i(0) (the gross, capped
      version: expansion is ignored, so it never exceeds 1 and never rises
      when no one returns).

    NRR / GRR are NaN where the cohort's MRR at the end of age 0 is 0.

    Parameters
    ----------
    subs : Subscriptions
        Subscriptions; without an ``mrr`` column only the customer columns
        are filled (the MRR columns are NaN).
    freq : {"D", "W", "M", "Q", "Y"}

    Returns
    -------
    pandas.DataFrame
        One row per observed (cohort, age): ``cohort`` (label),
        ``cohort_start``, ``age``, ``period`` (label of period c + k),
        ``cohort_size``, ``customers``, ``customer_retention``,
        ``customer_retention_lo``, ``customer_retention_hi``, ``mrr``,
        ``mrr_age0``, ``nrr``, ``grr``.
    """
    subs = _check_subs(subs, need_mrr=False, what="mrr_cohort_table")
    freq = check_freq(freq)
    with_mrr = subs.has_mrr
    if with_mrr:
        _check_subs(subs, need_mrr=True, what="mrr_cohort_table")
    grid = _Grid(subs, freq, ["customer_id"], with_mrr=with_mrr)
    n = grid.n
    cols = [
        "cohort",
        "cohort_start",
        "age",
        "period",
        "cohort_size",
        "customers",
        "customer_retention",
        "customer_retention_lo",
        "customer_retention_hi",
        "mrr",
        "mrr_age0",
        "nrr",
        "grr",
    ]
    has_first = grid.first_ns < np.iinfo("int64").max
    # cohort index (0 = p0) of each key, from the first start
    cohort_ix = np.full(len(grid.first_ns), -1, dtype="int64")
    if has_first.any():
        first_ts = pd.Series(grid.first_ns[has_first].view("datetime64[ns]")).dt.tz_localize("UTC")
        cohort_ix[has_first] = period_index(first_ts, freq, grid.tz) - grid.p0
    in_table = has_first & (cohort_ix < n)
    if n == 0 or not in_table.any():
        return pd.DataFrame({c: pd.Series(dtype="float64") for c in cols})
    ev = grid.events
    key = ev["key"].to_numpy()
    j = ev["j"].to_numpy()
    units = ev["units"].to_numpy()
    units0 = ev["units0"].to_numpy()
    # each key's MRR at the end of its age 0 (boundary index cohort_ix + 1): the last event at or before
    j0 = cohort_ix + 1
    combo = key * (n + 2) + j
    query = np.arange(len(j0)) * (n + 2) + j0
    pos = np.searchsorted(combo, query, side="right") - 1
    if len(key):
        safe = np.clip(pos, 0, None)
        m_age0 = np.where((pos >= 0) & (key[safe] == np.arange(len(j0))), units[safe], 0)
    else:
        m_age0 = np.zeros(len(j0), dtype="int64")
    cap = m_age0[key]
    d_active = (ev["count"].to_numpy() > 0).astype("int64") - (ev["count0"].to_numpy() > 0).astype("int64")
    d_mrr = units - units0
    d_cap = np.minimum(units, cap) - np.minimum(units0, cap)

    ncoh = n
    keep = in_table[key]
    cell = cohort_ix[key][keep] * n + (j[keep] - 1)
    dense = {}
    for name, values in {"active": d_active, "mrr": d_mrr, "cap": d_cap}.items():
        arr = np.zeros(ncoh * n, dtype="int64")
        np.add.at(arr, cell, values[keep])
        dense[name] = np.cumsum(arr.reshape(ncoh, n), axis=1)
    size = np.bincount(cohort_ix[in_table], minlength=ncoh)

    rows_c, rows_k = [], []
    for c in range(ncoh):
        if size[c] == 0:
            continue
        ages = np.arange(0, n - c)
        rows_c.append(np.full(len(ages), c))
        rows_k.append(ages)
    rc = np.concatenate(rows_c)
    rk = np.concatenate(rows_k)
    col = rc + rk  # boundary index - 1 of the end of age k
    out = pd.DataFrame(
        {
            "cohort": period_label(grid.p0 + rc, freq),
            "cohort_start": period_start(grid.p0 + rc, freq, grid.tz),
            "age": rk,
            "period": period_label(grid.p0 + col, freq),
            "cohort_size": size[rc],
            "customers": dense["active"][rc, col],
        }
    )
    out["customer_retention"] = safe_ratio(out["customers"], out["cohort_size"])
    lo, hi = wilson_interval(out["customers"], out["cohort_size"])
    out["customer_retention_lo"] = lo
    out["customer_retention_hi"] = hi
    if with_mrr:
        mrr_k = dense["mrr"][rc, col]
        mrr0 = dense["mrr"][rc, rc]
        out["mrr"] = mrr_k / _SCALE
        out["mrr_age0"] = mrr0 / _SCALE
        out["nrr"] = safe_ratio(mrr_k, mrr0)
        out["grr"] = safe_ratio(dense["cap"][rc, col], mrr0)
    else:
        for name in ("mrr", "mrr_age0", "nrr", "grr"):
            out[name] = np.nan
    return out.loc[:, cols]


__all__ = ["mrr_cohort_table", "mrr_movements", "revenue_retention"]
