"""Seeded synthetic transaction logs for the benchmarks (vectorised numpy, cached as Parquet).

Two independent generators, both over 36 calendar months (2021-01 .. 2023-12,
UTC) with about 2 % refunds (negative amounts):

``shuffled`` (:func:`make_log`)
    ``n_rows // 10`` customers, each acquired on a uniformly random day and
    buying again after exponentially distributed gaps (skewed: some buy much
    more often); sparse integer ids; rows in random order.
``ordered`` (:func:`make_ordered_log`)
    ``n_rows // 8`` customers arriving uniformly over the 36 months, each with
    a gamma-distributed purchase rate and an exponentially distributed
    lifetime; repeat purchases spread uniformly over the customer's active
    span; ids numbered in order of arrival; rows sorted by time (how an
    export of an orders table usually comes out).

Either log can carry string ids (``"CU000123456"``) instead of integers.
Columns: ``customer_id``, ``timestamp`` (UTC, microseconds), ``amount``
(float64), ``channel`` (string). The same arguments always give the same file,
so every engine reads identical data.
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
SHAPES = ("shuffled", "ordered")
ID_KINDS = ("int", "str")


def make_log(n_rows: int, seed: int = 42) -> pd.DataFrame:
    """The shuffled log in memory (about 1 s per 10M rows)."""
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


def make_ordered_log(n_rows: int, seed: int = 7) -> pd.DataFrame:
    """The time-ordered log in memory (an independent generator, see the module docstring)."""
    rng = np.random.default_rng(seed)
    seconds = DAYS * 86_400
    n_cust = max(n_rows // 8, 1)
    arrival = np.sort(rng.integers(0, seconds, n_cust))  # ids follow arrival order
    lifetime = rng.exponential(400 * 86_400.0, n_cust)
    span = np.minimum(lifetime, seconds - arrival).astype(np.int64)  # seconds of activity in the window
    rate = rng.gamma(0.7, 1.0, n_cust)  # relative purchase rate
    weights = rate * (span + 86_400)
    repeats = rng.multinomial(n_rows - n_cust, weights / weights.sum())  # exact total number of rows
    cust = np.concatenate([np.arange(n_cust), np.repeat(np.arange(n_cust), repeats)])
    offset = np.concatenate(
        [np.zeros(n_cust, np.int64), (rng.random(n_rows - n_cust) * np.repeat(span, repeats)).astype(np.int64)]
    )
    second = arrival[cust] + offset
    amount = np.round(rng.gamma(2.0, 24.0, n_rows) + 0.5, 2)
    refund = rng.random(n_rows) < 0.02
    amount[refund] = -amount[refund]
    order = np.argsort(second, kind="stable")
    channel = rng.integers(0, len(CHANNELS), n_cust)
    frame = pd.DataFrame(
        {
            "customer_id": cust[order].astype(np.int64) + 500_001,
            "timestamp": pd.DatetimeIndex(
                START + second[order].astype("timedelta64[s]").astype("timedelta64[us]")
            ).tz_localize("UTC"),
            "amount": amount[order],
            "channel": pd.array(CHANNELS[channel[cust[order]]], dtype="string"),
        }
    )
    return frame


def with_string_ids(frame: pd.DataFrame) -> pd.DataFrame:
    """The same log with ids as text ("CU000123456")."""
    import pyarrow as pa
    import pyarrow.compute as pc

    codes, uniques = pd.factorize(frame["customer_id"].to_numpy())
    text = pc.binary_join_element_wise("CU", pc.utf8_lpad(pa.array(uniques).cast(pa.string()), 9, "0"), "")
    ids = pc.take(text, pa.array(codes))
    return frame.assign(customer_id=pd.Series(pd.arrays.ArrowStringArray(ids), index=frame.index))


def build(n_rows: int, shape: str = "shuffled", ids: str = "int", seed: int | None = None) -> pd.DataFrame:
    """A log of the given shape and id kind (see the module docstring)."""
    if shape not in SHAPES or ids not in ID_KINDS:
        raise ValueError(f"shape must be one of {SHAPES}, ids one of {ID_KINDS}")
    frame = (
        make_log(n_rows, 42 if seed is None else seed)
        if shape == "shuffled"
        else make_ordered_log(n_rows, 7 if seed is None else seed)
    )
    return with_string_ids(frame) if ids == "str" else frame


def parquet_path(n_rows: int, seed: int = 42, shape: str = "shuffled", ids: str = "int") -> Path:
    """Path of the cached Parquet log (generated on first use; row groups of 1M rows)."""
    DATA_DIR.mkdir(parents=True, exist_ok=True)
    name = (
        f"log_{n_rows}_{seed}.parquet" if (shape, ids) == ("shuffled", "int") else f"log_{shape}_{ids}_{n_rows}.parquet"
    )
    path = DATA_DIR / name
    if not path.exists():
        frame = build(n_rows, shape, ids, seed if shape == "shuffled" else None)
        tmp = path.with_suffix(".tmp")
        frame.to_parquet(tmp, index=False, row_group_size=1_000_000)
        tmp.replace(path)
    return path


def describe(path: Path) -> dict:
    """Shape of a log file: rows, customers, share of refunds, whether rows are in time order."""
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    table = pq.read_table(path, columns=["customer_id", "timestamp", "amount"])
    ts = table.column("timestamp").combine_chunks()
    ordered = bool(pc.all(pc.greater_equal(ts[1:], ts[:-1])).as_py()) if len(ts) > 1 else True
    return {
        "rows": table.num_rows,
        "customers": pc.count_distinct(table.column("customer_id")).as_py(),
        "refund_share": pc.mean(pc.less(table.column("amount"), 0).cast("float64")).as_py(),
        "ordered": ordered,
        "id_type": str(table.schema.field("customer_id").type),
    }


if __name__ == "__main__":  # pragma: no cover - manual use: datagen.py ROWS [SHAPE [IDS]]
    args = sys.argv[1:]
    print(
        parquet_path(
            int(float(args[0])), shape=args[1] if len(args) > 1 else "shuffled", ids=args[2] if len(args) > 2 else "int"
        )
    )
