"""cohort_table and crr_table as Spark jobs on a local session give the pandas numbers (definitions §1-§4).

Run separately with ``pytest -m spark`` (needs ``pip install retainkit[spark]`` and Java 17).
"""

from __future__ import annotations

import os
import shutil

import pandas as pd
import pytest

import retainkit as rk
from retainkit.datasets import SAMPLE_COLUMNS, sample_path

pyspark = pytest.importorskip("pyspark", reason="PySpark is an extra: make test-spark installs it")
if shutil.which("java") is None:  # pragma: no cover - depends on the machine
    pytest.skip("Spark needs Java 17 (java not found on PATH)", allow_module_level=True)
pytestmark = [
    pytest.mark.spark,
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::pandas.errors.Pandas4Warning"),
]


@pytest.fixture(scope="module")
def spark():
    os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
    from pyspark.sql import SparkSession

    session = (
        SparkSession.builder.master("local[2]")
        .appName("retainkit-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-9)
    assert a.attrs == b.attrs


def test_sample_cohorts_and_crr_as_spark_jobs(spark):
    frame = pd.read_csv(sample_path())
    kw = dict(SAMPLE_COLUMNS)
    ref = rk.load_transactions(frame, **kw)
    sdf = spark.createDataFrame(frame.astype({"member_since": "string"}))
    tx = rk.load_transactions(sdf, **kw)
    assert tx.backend == "spark"
    _same(rk.cohort_table(ref), rk.cohort_table(tx))
    _same(rk.cohort_table(ref, by="channel"), rk.cohort_table(tx, by="channel"))
    _same(rk.crr_table(ref), rk.crr_table(tx))
    _same(rk.crr_table(ref, by="is_member"), rk.crr_table(tx, by="is_member"))
    s, r = tx.summary, ref.summary
    assert (s.rows_kept, s.customers, s.notes, s.dropped) == (r.rows_kept, r.customers, r.notes, r.dropped)
    # the spelling: cohort_table(spark_df) runs as a Spark job on the default column names
    _same(rk.cohort_table(sdf, by="channel"), rk.cohort_table(ref, by="channel"))
    _same(rk.crr_table(sdf), rk.crr_table(ref))


def test_cdnow_on_spark_gives_the_pandas_numbers(spark, cdnow):
    kw = dict(timestamp="date", amount="amount", as_of="1998-06-30")
    parsed = cdnow.assign(date=pd.to_datetime(cdnow["date"], format="%Y%m%d"))
    ref = rk.load_transactions(parsed, **kw)
    sdf = spark.createDataFrame(parsed)  # naive timestamps: read in the UTC session, taken as report-tz wall time
    tx = rk.load_transactions(sdf, **kw)
    _same(rk.cohort_table(ref), rk.cohort_table(tx))
    _same(rk.crr_table(ref), rk.crr_table(tx))


def test_time_zones_do_not_move_purchases_across_months(spark):
    """An aware timestamp just before midnight UTC is in the next month in Berlin, whatever the session tz."""
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "timestamp": pd.to_datetime(["2024-01-31 23:30", "2024-03-01 00:30", "2024-02-15 12:00"]).tz_localize(
                "UTC"
            ),
        }
    )
    ref = rk.cohort_table(rk.load_transactions(frame, tz="Europe/Berlin", as_of="2024-04-30"))
    old = spark.conf.get("spark.sql.session.timeZone")
    try:
        spark.conf.set("spark.sql.session.timeZone", "America/Los_Angeles")
        sdf = spark.createDataFrame(frame)
        got = rk.cohort_table(rk.load_transactions(sdf, tz="Europe/Berlin", as_of="2024-04-30"))
        assert spark.conf.get("spark.sql.session.timeZone") == "America/Los_Angeles"  # restored
    finally:
        spark.conf.set("spark.sql.session.timeZone", old)
    _same(ref, got)
    assert list(got["cohort"].unique()) == ["2024-02"]
