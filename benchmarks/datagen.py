"""Seeded synthetic transaction logs for the benchmarks (vectorised numpy, cached as Parquet).

A log of ``n_rows`` rows over 36 calendar months (2021-01 .. 2023-12, UTC) with
``n_rows // 10`` customers. Each customer is acquired on a uniformly random day
and buys again after exponentially distributed gaps until they churn; about 2 %
of rows are refunds (negative amounts). Columns: ``customer_id`` (int64),
``timestamp`` (UTC, microseconds), ``amount`` (float64), ``channel`` (string).
The same seed always gives the same file, so every engine reads identical data.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
import pandas as pd

DATA_DIR = Path(__file__).parent / "data"
START = np.datetime64("2021-01-01", "us")
DAYS = int((np.datetime64("2024-01-01") - np.datetime64("2021-01-01")).astype(int))  # 1095 days = 36 months
AS_OF = "2023-12-31"
CHANNELS = np.array(["organic", "paid", "referral", "email"])


def make_log(n_rows: int, seed: int = 42) -> pd.DataFrame:
    """Build the synthetic log in memory (about 1 s per 10M rows)."""
    rng = np.random.default_rng(seed)
    n_cust = max(n_rows // 10, 1)
    # customer of each row: the first n_cust rows are acquisitions, the rest repeat purchases
    # of customers drawn with skewed weights (some customers buy much more often)
    weights = rng.pareto(2.0, n_cust) + 0.2
    weights /= weights.sum()
    repeat = rng.choice(n_cust, size=n_rows - n_cust, p=weights)
    cust = np.concatenate([np.arange(n_cust), repeat])
    acq = rng.integers(0, DAYS, n_cust)  # acquisition day
    gap = rng.exponential(120.0, n_rows - n_cust).astype(np.int64) + 1  # days after acquisition
    room = DAYS - acq[repeat]  # days left after acquisition
    day = np.concatenate([acq, acq[repeat] + gap % room])
    second = rng.integers(0, 86_400, len(day))
    ts = START + (day * 86_400 + second).astype("timedelta64[s]").astype("timedelta64[us]")
    amount = np.round(rng.lognormal(3.5, 0.8, len(day)), 2)
    refund = rng.random(len(day)) < 0.02
    amount[refund] = -amount[refund]
    ids = rng.permutation(n_cust * 7)[:n_cust].astype(np.int64) + 1_000_000  # sparse, non-dense ids
    order = rng.permutation(len(day))
    frame = pd.DataFrame(
        {
            "customer_id": ids[cust[order]],
            "timestamp": pd.DatetimeIndex(ts[order]).tz_localize("UTC"),
            "amount": amount[order],
            "channel": pd.array(CHANNELS[cust[order] % len(CHANNELS)], dtype="string"),
        }
    )
    return frame


def parquet_path(n_rows: int, seed: int = 42) -> Path:
    """Path of the cached Parquet log of ``n_rows`` (generated on first use)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    path = DATA_DIR / f"log_{n_rows}_{seed}.parquet"
    if not path.exists():
        frame = make_log(n_rows, seed)
        tmp = path.with_suffix(".tmp")
        frame.to_parquet(tmp, index=False, row_group_size=1_000_000)
        tmp.replace(path)
    return path


if __name__ == "__main__":  # pragma: no cover - manual use
    for arg in sys.argv[1:]:
        print(parquet_path(int(float(arg))))
