"""Spark reads dates the way every other engine does (definitions §1, §2).

One date reading per column (decided by a group-by in Spark, applied as Java
patterns), ambiguous and mixed orders fail, dates before 1970 and far
outliers work. Run with ``pytest -m spark`` (``make test-spark``).
"""

from __future__ import annotations

import os
import shutil
import warnings

import pandas as pd
import pytest

import retainkit as rk

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
        .appName("retainkit-date-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.shuffle.partitions", "4")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    session.sparkContext.setLogLevel("ERROR")
    yield session
    session.stop()


@pytest.fixture(scope="module")
def cdnow_part(cdnow):
    part = cdnow[cdnow["customer_id"].astype(int) <= 3000].reset_index(drop=True)
    return part.assign(day=pd.to_datetime(part["date"], format="%Y%m%d"))


@pytest.mark.parametrize("fmt", ["%d/%m/%Y", "%m/%d/%Y", "%d.%m.%Y %H:%M"])
def test_day_and_month_first_logs_give_the_iso_numbers_on_spark(spark, cdnow_part, fmt):
    kw = dict(timestamp="date", amount="amount", as_of="1998-06-30")
    ref = rk.load_transactions(cdnow_part.assign(date=cdnow_part["day"].dt.strftime("%Y-%m-%d")), **kw)
    frame = cdnow_part.assign(date=cdnow_part["day"].dt.strftime(fmt))[["customer_id", "date", "amount"]]
    tx = rk.load_transactions(spark.createDataFrame(frame), **kw)
    assert tx.backend == "spark"
    pd.testing.assert_frame_equal(rk.cohort_table(tx), rk.cohort_table(ref))
    pd.testing.assert_frame_equal(rk.crr_table(tx), rk.crr_table(ref))


def test_ambiguous_and_mixed_orders_fail_on_spark(spark):
    ambiguous = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["01/02/2024", "03/04/2024"]})
    with pytest.raises(rk.DataError, match="date_format="):
        rk.load_transactions(spark.createDataFrame(ambiguous))
    mixed = pd.DataFrame({"customer_id": ["a", "b"], "timestamp": ["30/06/2024", "06/30/2024"]})
    with pytest.raises(rk.DataError, match="mixes two date orders"):
        rk.load_transactions(spark.createDataFrame(mixed))
    tx = rk.load_transactions(spark.createDataFrame(ambiguous), date_format="%d/%m/%Y", as_of="2024-12-31")
    assert tx.summary.last_timestamp == pd.Timestamp("2024-04-03", tz="UTC")
    with pytest.raises(rk.ParameterError, match="%y"):
        rk.load_transactions(spark.createDataFrame(ambiguous), date_format="%d/%m/%y")


def test_dates_before_1970_and_a_far_outlier_on_spark(spark):
    frame = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b", "c", "c", "d"],
            "timestamp": ["1900-03-04", "1968-05-02", "1968-06-30", "1969-12-31 23:00", "1970-01-02", "1969-02-01"],
            "amount": [1.0, 2.0, 3.0, 4.0, -1.0, 5.0],
        }
    )
    kw = dict(amount="amount", as_of="1970-03-31")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", rk.DataQualityWarning)
        ref = rk.load_transactions(frame, **kw)
    with pytest.warns(rk.DataQualityWarning, match="far from the rest"):
        tx = rk.load_transactions(spark.createDataFrame(frame), **kw)
    pd.testing.assert_frame_equal(rk.cohort_table(tx), rk.cohort_table(ref))
    pd.testing.assert_frame_equal(rk.crr_table(tx), rk.crr_table(ref))
    assert tx.summary.notes["far_dates"] == 1
