"""Data utilities for the customer-level models: RFM summaries and per-customer CLV (definitions §5).

* :func:`rfm_summary`: frequency, recency, T and monetary value per customer
  from a transaction log, in a calendar time unit.
* :func:`customer_clv`: discounted CLV per customer from a fitted BG/NBD and
  Gamma-Gamma model (Fader, Hardie & Lee 2005b).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd

from .._deprecation import renamed_kwargs
from ..exceptions import DataError, ParameterError
from ..periods import FREQ_NAMES, PERIOD_DAYS, check_freq, parse_as_of, period_index
from .base import check_discount, check_fitted, finite_number, rfm_arrays
from .bgnbd import BetaGeoFitter
from .gamma_gamma import GammaGammaFitter

#: Mean length of a calendar unit in days, for converting between time units (the one table,
#: :data:`retainkit.periods.PERIOD_DAYS`).
UNIT_DAYS = PERIOD_DAYS


def _unit(time_unit: str) -> str:
    return check_freq(time_unit)


@renamed_kwargs(time_unit="freq")
def rfm_summary(
    transactions_or_frame,
    *,
    customer_id: str = "customer_id",
    timestamp: str = "timestamp",
    amount: str | None = "amount",
    freq: str = "D",
    calibration_end=None,
    observation_end=None,
    tz: str | None = None,
) -> pd.DataFrame:
    """Per-customer frequency, recency, T and monetary value (definitions §5 "BG/NBD").

    Purchases are rows with amount >= 0 or an unknown (NaN) amount; refunds
    (amount < 0) are not purchases (definitions §1) and are only summed in
    ``refunds``. Timestamps are converted to the report time zone and cut into
    time units (``freq``: D, W, M, Q, Y; definitions §2). Several
    purchases in one time unit count as one purchase occasion.

    Parameters
    ----------
    transactions_or_frame : Transactions or pandas.DataFrame
        A :class:`retainkit.Transactions` (its ``frame``, ``tz`` and ``as_of``
        are used) or a plain frame with the columns named below.
    customer_id, timestamp, amount : str
        Column names. ``amount=None`` (or a default ``"amount"`` column that
        does not exist) means no monetary columns.
    freq : {"D", "W", "M", "Q", "Y"}
        Unit of frequency / recency / T (formerly ``time_unit=``); printed in ``attrs["time_unit"]``.
    calibration_end : date-like, optional
        End of the calibration window (a date means the end of that day).
        Purchases after it, up to ``observation_end``, form the holdout; only
        customers with a purchase by ``calibration_end`` are kept.
    observation_end : date-like, optional
        End of the data used. Default: ``as_of`` of a Transactions, else the end
        of the day of the latest timestamp. Later rows are ignored.
    tz : str, optional
        Report time zone (default: the Transactions' tz, else "UTC"). Naive
        timestamps are taken to be in it.

    Returns
    -------
    pandas.DataFrame
        One row per customer: ``customer_id`` (the id column, under its
        name), ``frequency`` x (distinct purchase time units in the window
        minus one: the number of *repeat* purchase occasions), ``recency`` t_x
        (time units from the first to the last purchase unit; 0 when x = 0),
        ``T`` (time units from the first purchase unit to the unit containing
        the window end), ``monetary_value`` (mean revenue of the repeat
        purchase units, refunds excluded, NaN when x = 0 or amounts unknown),
        ``refunds`` (sum of refunds in the window, <= 0) and, with
        ``calibration_end``, ``frequency_holdout`` (distinct purchase units
        after calibration_end), ``monetary_value_holdout`` (their mean revenue)
        and ``duration_holdout`` (time units from the calibration end unit to
        the observation end unit). ``attrs``: time_unit, time_unit_name,
        calibration_end, observation_end, tz.
    """
    unit = _unit(freq)
    src = transactions_or_frame
    default_end = None
    if hasattr(src, "frame") and hasattr(src, "as_of") and isinstance(src.frame, pd.DataFrame):
        frame = src.frame
        tz = tz or getattr(src, "tz", None) or "UTC"
        default_end = src.as_of
        if amount == "amount" and not getattr(src, "has_amount", "amount" in frame.columns):
            amount = None
    elif isinstance(src, pd.DataFrame):
        frame = src
        tz = tz or "UTC"
    else:
        raise ParameterError(
            f"rfm_summary needs a retainkit Transactions or a pandas DataFrame, not {type(src).__name__}."
        )
    for name, col in (("customer_id", customer_id), ("timestamp", timestamp)):
        if col not in frame.columns:
            raise DataError(f"column '{col}' ({name}=) not found; available: {list(frame.columns)}.")
    if amount is not None and amount not in frame.columns:
        if amount == "amount":
            amount = None
        else:
            raise DataError(f"column '{amount}' (amount=) not found; available: {list(frame.columns)}.")
    df = pd.DataFrame({"cid": frame[customer_id].to_numpy()})
    ts = frame[timestamp]
    if not pd.api.types.is_datetime64_any_dtype(ts):
        try:
            ts = pd.to_datetime(ts)
        except (ValueError, TypeError):
            raise DataError(
                f"column '{timestamp}' could not be parsed as timestamps; load the data with "
                "load_transactions() or convert the column first."
            ) from None
    ts = pd.Series(ts.array, index=df.index)  # positional: the caller's index may be anything
    if ts.dt.tz is None:
        ts = ts.dt.tz_localize(tz, nonexistent="shift_forward", ambiguous="NaT")
    else:
        ts = ts.dt.tz_convert(tz)
    df["ts"] = ts
    if amount is not None:
        amt = pd.to_numeric(frame[amount], errors="coerce").to_numpy(dtype="float64")
        df["amt"] = amt
    else:
        df["amt"] = np.nan
    df = df[df["cid"].notna() & df["ts"].notna()]
    if df.empty:
        raise DataError("no usable transactions (every row lacks a customer id or a timestamp).")
    obs_end = parse_as_of(observation_end, tz) if observation_end is not None else None
    if obs_end is None:
        obs_end = (
            default_end.tz_convert(tz)
            if default_end is not None
            else parse_as_of(df["ts"].max().tz_convert(tz).strftime("%Y-%m-%d"), tz)
        )
    cal_end = parse_as_of(calibration_end, tz) if calibration_end is not None else None
    if cal_end is not None and cal_end >= obs_end:
        raise ParameterError(f"calibration_end={calibration_end!r} must be before observation_end ({obs_end}).")
    df = df[df["ts"] <= obs_end]
    df = df.assign(unit=period_index(df["ts"], unit, tz))
    refund = df["amt"] < 0
    purchases = df[~refund]
    obs_idx = int(period_index(pd.Series([obs_end]), unit, tz)[0])
    end = cal_end if cal_end is not None else obs_end
    end_idx = int(period_index(pd.Series([end]), unit, tz)[0])
    cal = purchases[purchases["ts"] <= end]
    if cal.empty:
        raise DataError(f"no purchase (amount >= 0) on or before {end}; nothing to summarise.")
    per_unit = cal.groupby(["cid", "unit"], sort=True)["amt"].sum(min_count=1).reset_index()
    g = per_unit.groupby("cid", sort=True)
    first = g["unit"].min()
    last = g["unit"].max()
    n_units = g["unit"].size()
    out = pd.DataFrame(
        {
            customer_id: first.index.to_numpy(),
            "frequency": (n_units - 1).to_numpy(dtype="int64"),
            "recency": (last - first).to_numpy(dtype="float64"),
            "T": (end_idx - first).to_numpy(dtype="float64"),
        }
    )
    per_unit["is_first"] = per_unit["unit"].to_numpy() == first.reindex(per_unit["cid"]).to_numpy()
    repeat = per_unit[~per_unit["is_first"]]
    mon = repeat.groupby("cid", sort=True)["amt"].mean()
    out["monetary_value"] = mon.reindex(first.index).to_numpy(dtype="float64") if amount is not None else np.nan
    if amount is None:
        out = out.drop(columns="monetary_value")
    else:
        ref = df[refund & (df["ts"] <= end)].groupby("cid")["amt"].sum()
        out["refunds"] = ref.reindex(first.index).fillna(0.0).to_numpy(dtype="float64")
    attrs: dict[str, Any] = {
        "time_unit": unit,
        "time_unit_name": FREQ_NAMES[unit],
        "tz": tz,
        "observation_end": str(obs_end),
        "calibration_end": None,
    }
    if cal_end is not None:
        hold = purchases[purchases["ts"] > cal_end]
        hold = hold[hold["cid"].isin(first.index)]
        hu = hold.groupby(["cid", "unit"], sort=True)["amt"].sum(min_count=1).reset_index()
        hg = hu.groupby("cid", sort=True)
        out["frequency_holdout"] = hg["unit"].size().reindex(first.index).fillna(0).to_numpy(dtype="int64")
        if amount is not None:
            out["monetary_value_holdout"] = hg["amt"].mean().reindex(first.index).to_numpy(dtype="float64")
        out["duration_holdout"] = float(obs_idx - end_idx)
        attrs["calibration_end"] = str(cal_end)
        newcomers = purchases.loc[purchases["ts"] > cal_end, "cid"]
        attrs["customers_first_seen_in_holdout"] = int(newcomers[~newcomers.isin(first.index)].nunique())
    out.attrs.update(attrs)
    return out


def _period_length(time_unit: Any, model_unit: str | None) -> float:
    if isinstance(time_unit, (int, float, np.integer, np.floating)) and not isinstance(time_unit, bool):
        length = float(time_unit)
        if not (math.isfinite(length) and length > 0):
            raise ParameterError(f"freq={time_unit!r} as a number must be a positive period length.")
        return length
    unit = check_freq(time_unit)
    if model_unit is None:
        raise ParameterError(
            "the BG/NBD model has no time unit (fit it on rfm_summary() output or pass freq= to fit); "
            "or give freq here as a number: the period length in the model's time unit."
        )
    return UNIT_DAYS[unit] / UNIT_DAYS[check_freq(model_unit)]


@renamed_kwargs(time_unit="freq")
def customer_clv(
    bgnbd: BetaGeoFitter,
    gg: GammaGammaFitter,
    rfm: pd.DataFrame,
    *,
    horizon: int = 12,
    discount_rate: float = 0.01,
    margin: float = 1.0,
    freq: Any = "M",
    customer_id: str = "customer_id",
) -> pd.DataFrame:
    """Per-customer discounted CLV from BG/NBD + Gamma-Gamma (FHL 2005b; definitions §5).

    Timing convention: the future is cut into ``horizon`` periods of length
    ``freq`` starting at each customer's T (the end of the window);
    purchases expected in period i (i = 1..H) are valued at the end of that
    period::

        CLV = margin * E[M | x, m_x] * sum_{i=1..H} (E[Y(i L)] - E[Y((i-1) L)]) / (1 + d)^i

    where E[Y(t)] = expected purchases in (T, T + t] given (x, t_x, T) and L
    the period length in the model's time unit (a month is 365.2425/12 days).

    Parameters
    ----------
    bgnbd : BetaGeoFitter
        Fitted.
    gg : GammaGammaFitter
        Fitted.
    rfm : pandas.DataFrame
        frequency, recency, T and monetary_value per customer (rfm_summary()).
    horizon : int
        Number of future periods H.
    discount_rate : float
        Discount rate d per period of ``freq`` (0.01 per month ~ 12.7 % a year).
    margin : float
        Profit margin fraction applied to spend.
    freq : {"D", "W", "M", "Q", "Y"} or float
        Period of discounting, or its length in the model's time unit.
    customer_id : str
        Id column copied to the result when present.

    Returns
    -------
    pandas.DataFrame
        Per customer (rfm order): the id (if present), ``expected_purchases``
        (over the horizon), ``expected_spend`` (per purchase), ``probability_alive``
        and ``clv``. ``attrs``: horizon, time_unit, discount_rate, margin,
        model_time_unit.
    """
    check_fitted(bgnbd, "r_")
    check_fitted(gg, "p_")
    if isinstance(horizon, bool) or not isinstance(horizon, (int, np.integer)) or horizon < 1:
        raise ParameterError(f"horizon={horizon!r} must be a whole number of periods >= 1.")
    d = check_discount(discount_rate)
    mg = finite_number("margin", margin)
    length = _period_length(freq, bgnbd.time_unit_)
    for col in ("frequency", "recency", "T", "monetary_value"):
        if col not in rfm.columns:
            raise DataError(f"rfm lacks column '{col}'; build it with rfm_summary(..., amount=...).")
    x, tx, tt = rfm_arrays(rfm["frequency"], rfm["recency"], rfm["T"])
    spend = np.asarray(gg.expected_spend(x, rfm["monetary_value"].to_numpy(dtype="float64")), dtype="float64")
    prev = np.zeros_like(x)
    disc_purchases = np.zeros_like(x)
    for i in range(1, int(horizon) + 1):
        cum = np.asarray(bgnbd.expected_purchases(i * length, x, tx, tt), dtype="float64")
        disc_purchases += (cum - prev) / (1.0 + d) ** i
        prev = cum
    out = pd.DataFrame(index=rfm.index)
    if customer_id in rfm.columns:
        out[customer_id] = rfm[customer_id].to_numpy()
    out["expected_purchases"] = prev
    out["expected_spend"] = spend
    out["probability_alive"] = np.asarray(bgnbd.probability_alive(x, tx, tt), dtype="float64")
    out["clv"] = mg * spend * disc_purchases
    out.attrs.update(
        {
            "horizon": int(horizon),
            "time_unit": freq,
            "discount_rate": d,
            "margin": mg,
            "model_time_unit": bgnbd.time_unit_,
            "period_length_in_model_units": length,
        }
    )
    return out


__all__ = ["UNIT_DAYS", "customer_clv", "rfm_summary"]
