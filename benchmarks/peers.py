"""Hand-written peers of ``retainkit.cohort_table`` / ``crr_table``: what analysts write themselves.

Each cohort peer computes, with retainkit's definitions (definitions §1-§3: a
row with amount >= 0 is a purchase, the cohort is the month of the first
purchase, refunds count in revenue at ages >= 0 but never make a customer
active), per (monthly cohort, age) the distinct active customers, and the
"same table" forms also the revenue. Two forms of each tool:

- *counts only*: the short query of a tutorial or a blog post (active
  customers per cell, nothing else);
- *same table*: what it takes to return what ``cohort_table`` returns in
  these columns (active customers and revenue per cell, refunds included).

Every function returns a pandas frame ``cohort`` (months since 1970-01),
``age``, ``active`` [, ``revenue``] sorted by (cohort, age), so the benchmark
can check that all contenders agree. The pandas recipes take an in-memory
frame (the benchmark times reading the Parquet file apart); polars and DuckDB
read the Parquet file themselves (lazily, as their users would).
"""

from __future__ import annotations

import pandas as pd

COLUMNS = ["customer_id", "timestamp", "amount"]


def _tidy(frame: pd.DataFrame) -> pd.DataFrame:
    cols = [c for c in ("cohort", "age", "active", "revenue") if c in frame.columns]
    out = frame[cols].astype({c: ("float64" if c == "revenue" else "int64") for c in cols})
    return out.sort_values(["cohort", "age"]).reset_index(drop=True)


def _months(period) -> pd.Series:
    return (period.dt.year - 1970) * 12 + period.dt.month - 1


# --------------------------------------------------------------------------- pandas
def tutorial_counts(df: pd.DataFrame) -> pd.DataFrame:
    """The usual cohort tutorial: ``to_period("M")``, ``transform("min")``, ``nunique``, pivot."""
    d = df.loc[df["amount"] >= 0, ["customer_id", "timestamp"]]  # refunds never make a customer active
    d["order_month"] = d["timestamp"].dt.tz_localize(None).dt.to_period("M")
    d["cohort_month"] = d.groupby("customer_id")["order_month"].transform("min")
    d["age"] = (d["order_month"].dt.year - d["cohort_month"].dt.year) * 12 + (
        d["order_month"].dt.month - d["cohort_month"].dt.month
    )
    matrix = d.groupby(["cohort_month", "age"])["customer_id"].nunique().unstack()  # the tutorial's triangle
    table = matrix.stack().dropna().rename("active").reset_index()
    table["cohort"] = _months(table["cohort_month"])
    return _tidy(table)


def tutorial_table(df: pd.DataFrame) -> pd.DataFrame:
    """The tutorial extended to the same table: the cohort from purchases, active buyers and revenue per cell."""
    d = df[COLUMNS].copy()
    d["order_month"] = d["timestamp"].dt.tz_localize(None).dt.to_period("M")
    d["cohort_month"] = d["order_month"].where(d["amount"] >= 0).groupby(d["customer_id"]).transform("min")
    d = d.dropna(subset=["cohort_month"])
    d["age"] = (d["order_month"].dt.year - d["cohort_month"].dt.year) * 12 + (
        d["order_month"].dt.month - d["cohort_month"].dt.month
    )
    d = d[d["age"] >= 0]
    active = d[d["amount"] >= 0].groupby(["cohort_month", "age"])["customer_id"].nunique().rename("active")
    revenue = d.groupby(["cohort_month", "age"])["amount"].sum().rename("revenue")
    table = pd.concat([active, revenue], axis=1).reset_index()
    table["active"] = table["active"].fillna(0)
    table["cohort"] = _months(table["cohort_month"])
    return _tidy(table)


def crr_loop(df: pd.DataFrame, window_days: int = 90) -> pd.DataFrame:
    """CRR per month by a pandas loop over periods (S, E, retained per boundary), identities (definitions §4)."""
    d = df[df["amount"] >= 0]
    day = d["timestamp"].dt.tz_localize(None).dt.normalize()
    months = pd.period_range(day.min().to_period("M"), day.max().to_period("M"), freq="M")
    window = pd.Timedelta(days=window_days)
    rows = []
    for p in months:
        b0, b1 = p.start_time, (p + 1).start_time
        start = set(d.loc[(day >= b0 - window) & (day < b0), "customer_id"].unique())
        end = set(d.loc[(day >= b1 - window) & (day < b1), "customer_id"].unique())
        rows.append(
            {"period": str(p), "start_customers": len(start), "end_customers": len(end), "retained": len(start & end)}
        )
    return pd.DataFrame(rows)


# --------------------------------------------------------------------------- polars
def _pl_month():
    import polars as pl

    ts = pl.col("timestamp")
    return ((ts.dt.year().cast(pl.Int64) - 1970) * 12 + ts.dt.month().cast(pl.Int64) - 1).alias("month")


def polars_counts(path) -> pd.DataFrame:
    """polars, counts only: ``min().over(customer)``, ``n_unique`` per (cohort, age)."""
    import polars as pl

    q = (
        pl.scan_parquet(path)
        .filter(pl.col("amount") >= 0)
        .select("customer_id", _pl_month())
        .with_columns(cohort=pl.col("month").min().over("customer_id"))
        .group_by("cohort", (pl.col("month") - pl.col("cohort")).alias("age"))
        .agg(active=pl.col("customer_id").n_unique())
    )
    return _tidy(q.collect().to_pandas())


def polars_table(path) -> pd.DataFrame:
    """polars, same table: first purchase month by ``group_by`` + join; distinct buyers and revenue per cell."""
    import polars as pl

    lf = pl.scan_parquet(path).select("customer_id", "amount", _pl_month())
    buy = pl.col("amount") >= 0
    first = lf.filter(buy).group_by("customer_id").agg(cohort=pl.col("month").min())
    q = (
        lf.join(first, on="customer_id")
        .filter(pl.col("month") >= pl.col("cohort"))
        .group_by("cohort", (pl.col("month") - pl.col("cohort")).alias("age"))
        .agg(active=pl.col("customer_id").filter(buy).n_unique(), revenue=pl.col("amount").sum())
    )
    return _tidy(q.collect().to_pandas())


# --------------------------------------------------------------------------- DuckDB
def _duckdb(sql: str) -> pd.DataFrame:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return _tidy(con.execute(sql).df())


def _month_sql() -> str:
    return "(year(timestamp) - 1970) * 12 + month(timestamp) - 1"


def duckdb_counts(path) -> pd.DataFrame:
    """DuckDB SQL, counts only: GROUP BY (customer, month) of purchases, join the first month, count."""
    return _duckdb(f"""
    WITH cm AS (
        SELECT customer_id, {_month_sql()} AS month FROM read_parquet('{path}') WHERE amount >= 0 GROUP BY ALL
    ),
    f AS (SELECT customer_id, min(month) AS cohort FROM cm GROUP BY customer_id)
    SELECT f.cohort, cm.month - f.cohort AS age, count(*) AS active
    FROM cm JOIN f USING (customer_id) GROUP BY ALL
    """)


def duckdb_table(path) -> pd.DataFrame:
    """DuckDB SQL, same table: GROUP BY (customer, month) with a bought flag and revenue, join, count and sum."""
    return _duckdb(f"""
    WITH m AS (
        SELECT customer_id, {_month_sql()} AS month, amount FROM read_parquet('{path}')
    ),
    cm AS (
        SELECT customer_id, month, bool_or(amount >= 0) AS bought, sum(amount) AS revenue
        FROM m GROUP BY customer_id, month
    ),
    f AS (SELECT customer_id, min(month) AS cohort FROM cm WHERE bought GROUP BY customer_id)
    SELECT f.cohort, cm.month - f.cohort AS age,
           count(*) FILTER (WHERE cm.bought) AS active, sum(cm.revenue) AS revenue
    FROM cm JOIN f USING (customer_id)
    WHERE cm.month >= f.cohort
    GROUP BY ALL
    """)


__all__ = [
    "crr_loop",
    "duckdb_counts",
    "duckdb_table",
    "polars_counts",
    "polars_table",
    "tutorial_counts",
    "tutorial_table",
]
