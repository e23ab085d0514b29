"""Customers at risk of lapsing: per-customer P(alive) and expected purchases (definitions §5 "BG/NBD").

:func:`customers_at_risk` fits the BG/NBD model (Fader, Hardie & Lee 2005a)
to a transaction log and returns, per customer, the probability of still
being an active buyer and the expected purchases in the next period. When the
model cannot be fitted (:class:`~retainkit.exceptions.ConvergenceError`) it
falls back to a stated recency rule, and the ``method`` column says so.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from ..engine import parse_window
from ..exceptions import ConvergenceError, ParameterError
from ..periods import check_freq
from .bgnbd import BetaGeoFitter
from .utils import rfm_summary

#: value of the ``method`` column when the BG/NBD model was fitted
METHOD_BGNBD = "BG/NBD"
#: value of the ``method`` column for the fallback (``{days}`` is the window)
METHOD_RECENCY = "recency rule: alive if a purchase in the last {days} days"

RISK_COLUMNS = ("last_purchase", "purchases", "spend", "p_alive", "expected_purchases", "method")


def customers_at_risk(
    tx: Any,
    freq: str = "M",
    *,
    window: str = "90D",
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = "amount",
) -> pd.DataFrame:
    """Per-customer P(alive) and expected purchases in the next period (definitions §5 "BG/NBD").

    The BG/NBD model is fitted by maximum likelihood to :func:`rfm_summary`
    at ``freq`` (frequency, recency and T in periods of ``freq``), then
    P(alive | x, t_x, T) and E[Y(1) | x, t_x, T] (FHL 2005a, eq. 10) are
    computed per customer. If the fit raises
    :class:`~retainkit.exceptions.ConvergenceError`, a recency rule is used
    instead: P(alive) is 1 for a customer with a purchase in the last
    ``window`` before the data's end and 0 otherwise, expected purchases are
    NaN (not modelled), and ``method`` states the rule.

    Parameters
    ----------
    tx : Transactions or pandas.DataFrame
        Transaction log (refunds, amount < 0, are not purchases; definitions §1).
    freq : {"D", "W", "M", "Q", "Y"}
        Period of the model's time unit; "next period" is one such period.
    window : str
        Activity window of the fallback rule, e.g. "90D" (definitions §4).
    customer_id, timestamp, amount : str
        Column names (for a plain frame).

    Returns
    -------
    pandas.DataFrame
        One row per customer, sorted by the id: the id column (under its
        name), ``last_purchase`` (local date of the last purchase),
        ``purchases`` (purchase occasions, distinct periods of ``freq`` with
        a purchase), ``spend`` (sum of the purchase amounts, refunds
        excluded; NaN without amounts), ``p_alive``, ``expected_purchases``
        and ``method``. ``attrs``: freq, method, observation_end.
    """
    unit = check_freq(freq)
    days = parse_window(window)
    frame = tx.frame if hasattr(tx, "frame") else tx
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"customers_at_risk needs a Transactions or a DataFrame, not {type(tx).__name__}.")
    rfm = rfm_summary(tx, customer_id=customer_id, timestamp=timestamp, amount=amount, freq=unit)
    tz = rfm.attrs["tz"]
    obs_end = pd.Timestamp(rfm.attrs["observation_end"])
    cid = frame[customer_id]
    ts = pd.to_datetime(frame[timestamp])
    ts = ts.dt.tz_localize(tz) if ts.dt.tz is None else ts.dt.tz_convert(tz)
    amt = (
        pd.to_numeric(frame[amount], errors="coerce")
        if amount is not None and amount in frame.columns
        else pd.Series(np.nan, index=frame.index)
    )
    keep = cid.notna() & ts.notna() & (ts <= obs_end) & ~(amt < 0)
    purchases = pd.DataFrame({"cid": cid[keep].to_numpy(), "ts": ts[keep].array, "amt": amt[keep].to_numpy()})
    g = purchases.groupby("cid", sort=True)
    last = g["ts"].max()
    spend = g["amt"].sum(min_count=1)
    ids = rfm[customer_id]
    out = pd.DataFrame({customer_id: ids.to_numpy()})
    last_ts = pd.DatetimeIndex(last.reindex(ids).array).tz_convert(tz)
    out["last_purchase"] = last_ts.strftime("%Y-%m-%d")
    out["purchases"] = (rfm["frequency"] + 1).to_numpy(dtype="int64")
    out["spend"] = spend.reindex(ids).to_numpy(dtype="float64")
    try:
        model = BetaGeoFitter().fit(rfm)
        # P(alive) and E[Y(1)] depend on (x, t_x, T) only: compute them once per distinct
        # combination (a few thousand in a calendar unit) and map back to the customers.
        # Elementwise functions of the same inputs, so the values are the same bit for bit.
        cols = ["frequency", "recency", "T"]
        keys = rfm[cols]
        row = keys.groupby(cols, sort=False).ngroup().to_numpy()
        uniq = keys.drop_duplicates()  # first appearances, in ngroup(sort=False) order
        x, t_x, big_t = (uniq[c] for c in cols)
        out["p_alive"] = np.asarray(model.probability_alive(x, t_x, big_t), dtype="float64")[row]
        out["expected_purchases"] = np.asarray(model.expected_purchases(1.0, x, t_x, big_t), dtype="float64")[row]
        method = METHOD_BGNBD
    except ConvergenceError:
        cutoff = obs_end - pd.Timedelta(days=days)
        out["p_alive"] = (last_ts > cutoff).astype("float64")
        out["expected_purchases"] = np.nan
        method = METHOD_RECENCY.format(days=days)
    out["method"] = method
    out.attrs.update({"freq": unit, "method": method, "observation_end": str(obs_end)})
    return out


def most_valuable_at_risk(risk: pd.DataFrame, n: int = 10, top_share: float = 0.25) -> pd.DataFrame:
    """The ``n`` customers with the lowest P(alive) among the top ``top_share`` by spend (definitions §5).

    Ties in P(alive) are broken by higher spend, then by the id (deterministic).
    Without amounts (spend all NaN) every customer is a candidate.
    """
    if not 0 < top_share <= 1:
        raise ParameterError(f"top_share={top_share!r} must be in (0, 1].")
    cid = risk.columns[0]
    cand = risk
    if risk["spend"].notna().any():
        threshold = float(risk["spend"].quantile(1 - top_share))
        cand = risk[risk["spend"] >= threshold]
    return cand.sort_values(["p_alive", "spend", cid], ascending=[True, False, True], kind="stable").head(n)


__all__ = ["METHOD_BGNBD", "METHOD_RECENCY", "RISK_COLUMNS", "customers_at_risk", "most_valuable_at_risk"]
