"""Hand-written peers of ``retainkit.cohort_table`` / ``crr_table`` (what analysts write themselves).

Each function computes, from a log with ``customer_id``, ``timestamp`` (UTC) and
``amount``, the monthly acquisition cohort of every customer and per
(cohort, age): distinct active customers and revenue, with retainkit's
definitions (definitions §1-§3): a row with amount >= 0 is a purchase, the
cohort is the month of the first purchase, refunds (amount < 0) count in revenue
at ages >= 0 but never make a customer active. Every function returns a pandas
frame ``cohort`` (months since 1970-01), ``age``, ``active``, ``revenue`` sorted
by (cohort, age) so the benchmark can check that all of them agree.
"""

from __future__ import annotations

import pandas as pd

COLUMNS = ["customer_id", "timestamp", "amount"]


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    out = frame[["cohort", "age", "active", "revenue"]].copy()
    out = out.astype({"cohort": "int64", "age": "int64", "active": "int64", "revenue": "float64"})
    return out.sort_values(["cohort", "age"]).reset_index(drop=True)


def tutorial_pandas(path) -> pd.DataFrame:
    """The recipe of the usual cohort tutorial: to_period('M'), transform('min'), nunique, pivot.

    Refunds are excluded from the cohort month and from the active counts, as
    retainkit's definitions require; everything else is the tutorial as written.
    """
    df = pd.read_parquet(path, columns=COLUMNS)
    df["order_month"] = df["timestamp"].dt.tz_localize(None).dt.to_period("M")
    df["cohort_month"] = df["order_month"].where(df["amount"] >= 0).groupby(df["customer_id"]).transform("min")
    df = df.dropna(subset=["cohort_month"])
    df["age"] = (df["order_month"].dt.year - df["cohort_month"].dt.year) * 12 + (
        df["order_month"].dt.month - df["cohort_month"].dt.month
    )
    df = df[df["age"] >= 0]
    active = df[df["amount"] >= 0].groupby(["cohort_month", "age"])["customer_id"].nunique().rename("active")
    revenue = df.groupby(["cohort_month", "age"])["amount"].sum().rename("revenue")
    table = pd.concat([active, revenue], axis=1).reset_index()
    table["active"] = table["active"].fillna(0)
    matrix = table.pivot(index="cohort_month", columns="age", values="active")  # the tutorial's triangle
    del matrix
    table["cohort"] = (table["cohort_month"].dt.year - 1970) * 12 + table["cohort_month"].dt.month - 1
    return _tidy(table)


def tutorial_crr_loop(path, window_days: int = 90) -> pd.DataFrame:
    """CRR per month by a pandas loop over periods (S, E, retained per boundary), identities (definitions §4)."""
    df = pd.read_parquet(path, columns=COLUMNS)
    df = df[df["amount"] >= 0]
    day = df["timestamp"].dt.tz_localize(None).dt.normalize()
    months = pd.period_range(day.min().to_period("M"), day.max().to_period("M"), freq="M")
    window = pd.Timedelta(days=window_days)
    rows = []
    for p in months:
        b0, b1 = p.start_time, (p + 1).start_time
        start = set(df.loc[(day >= b0 - window) & (day < b0), "customer_id"].unique())
        end = set(df.loc[(day >= b1 - window) & (day < b1), "customer_id"].unique())
        rows.append(
            {"period": str(p), "start_customers": len(start), "end_customers": len(end), "retained": len(start & end)}
        )
    return pd.DataFrame(rows)


def duckdb_sql(path) -> pd.DataFrame:
    """Hand-written DuckDB SQL on the Parquet file: GROUP BY (customer, month) first, then join."""
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    sql = f"""
    WITH m AS (
        SELECT customer_id, (year(timestamp) - 1970) * 12 + month(timestamp) - 1 AS month, amount
        FROM read_parquet('{path}')
    ),
    cm AS (
        SELECT customer_id, month, bool_or(amount >= 0) AS bought, sum(amount) AS revenue
        FROM m GROUP BY customer_id, month
    ),
    first AS (SELECT customer_id, min(month) AS cohort FROM cm WHERE bought GROUP BY customer_id)
    SELECT f.cohort, cm.month - f.cohort AS age,
           count(*) FILTER (WHERE cm.bought) AS active, sum(cm.revenue) AS revenue
    FROM cm JOIN first f USING (customer_id)
    WHERE cm.month >= f.cohort
    GROUP BY ALL
    """
    return _tidy(con.execute(sql).df())


def polars_lazy(path) -> pd.DataFrame:
    """Hand-written polars lazy query on the Parquet file (min().over(customer), n_unique per cell)."""
    import polars as pl

    month = (
        (pl.col("timestamp").dt.year().cast(pl.Int64) - 1970) * 12 + pl.col("timestamp").dt.month().cast(pl.Int64) - 1
    )
    buy = pl.col("amount") >= 0
    q = (
        pl.scan_parquet(path)
        .select("customer_id", "amount", month.alias("month"))
        .with_columns(cohort=pl.col("month").filter(buy).min().over("customer_id"))
        .filter(pl.col("month") >= pl.col("cohort"))
        .group_by("cohort", (pl.col("month") - pl.col("cohort")).alias("age"))
        .agg(active=pl.col("customer_id").filter(buy).n_unique(), revenue=pl.col("amount").sum())
    )
    return _tidy(q.collect().to_pandas())


__all__ = ["duckdb_sql", "polars_lazy", "tutorial_crr_loop", "tutorial_pandas"]
