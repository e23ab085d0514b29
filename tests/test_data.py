"""Loading and validation (definitions §1): every bad input gets a clear error or is counted."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

import retainkit as rk


def _frame(**overrides):
    data = {
        "customer_id": ["a", "b", "c", "a"],
        "timestamp": ["2024-01-05 10:00", "2024-01-06 11:00", "2024-02-01 09:00", "2024-02-10 12:00"],
        "amount": [10.0, 20.0, 5.0, 7.5],
    }
    data.update(overrides)
    return pd.DataFrame(data)


def test_loads_and_never_mutates_the_callers_frame():
    df = _frame()
    before = df.copy()
    tx = rk.load_transactions(df, amount="amount")
    pd.testing.assert_frame_equal(df, before)
    assert tx.frame is not df
    assert list(tx.frame.columns) == ["customer_id", "timestamp", "amount"]
    assert str(tx.frame["timestamp"].dt.tz) == "UTC"
    s = tx.summary
    assert (s.rows_read, s.rows_kept, s.customers) == (4, 4, 3)
    assert tx.as_of == pd.Timestamp("2024-02-10 23:59:59.999999999", tz="UTC")  # end of the latest day
    assert "rows read 4" in str(s) and set(s.to_frame()["item"]) >= {"rows_read", "rows_kept"}


def test_missing_column_suggests_the_right_name():
    df = _frame().rename(columns={"customer_id": "Customer_ID"})
    with pytest.raises(rk.DataError) as err:
        rk.load_transactions(df)
    msg = str(err.value)
    assert (
        "column 'customer_id'" in msg and "Did you mean 'Customer_ID'" in msg and "customer_id='<column name>'" in msg
    )
    with pytest.raises(rk.DataError, match="Did you mean 'amount'"):
        rk.load_transactions(_frame(), amount="amont")


def test_day_first_dates_get_a_format_hint_and_date_format_fixes_them():
    df = _frame(timestamp=["13/01/2024", "14/01/2024", "15/01/2024", "16/01/2024"])
    with pytest.raises(rk.DataError) as err:
        rk.load_transactions(df, timestamp="timestamp", date_format="%m/%d/%Y")
    msg = str(err.value)
    assert "none of 4 values could be parsed" in msg and "row 0: '13/01/2024'" in msg
    assert 'date_format="%d/%m/%Y"' in msg
    tx = rk.load_transactions(df, date_format="%d/%m/%Y")
    assert tx.frame["timestamp"].dt.day.tolist() == [13, 14, 15, 16]


def test_unparseable_and_null_rows_are_dropped_counted_and_warned():
    df = _frame(customer_id=["a", None, "c", "  "], timestamp=["2024-01-05", "2024-01-06", "not a date", "2024-02-10"])
    with pytest.raises(rk.DataError, match=r"more than max_dropped=5.0%") as err:  # 75 % unusable: the gate
        rk.load_transactions(df)
    assert "2 customer id is empty (row 1: <empty>, row 3: '  ')" in str(err.value)
    assert "1 timestamp could not be parsed (row 2: 'not a date')" in str(err.value)
    with pytest.warns(rk.DataQualityWarning, match="unusable"):
        tx = rk.load_transactions(df, max_dropped=None)
    assert tx.summary.dropped == {"null_customer_id": 2, "unparseable_timestamp": 1}
    assert tx.summary.examples["unparseable_timestamp"] == ["row 2: 'not a date'"]
    with pytest.raises(rk.DataError, match="strict=True"):
        rk.load_transactions(df, strict=True)


def test_no_warning_at_or_below_one_percent():
    n = 200
    df = pd.DataFrame({"customer_id": [f"c{i}" for i in range(n)], "timestamp": ["2024-01-01"] * n})
    df.loc[5, "customer_id"] = None  # 0.5 %
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        tx = rk.load_transactions(df)
    assert tx.summary.dropped["null_customer_id"] == 1


def test_empty_and_nothing_usable():
    with pytest.raises(rk.DataError, match="no rows"):
        rk.load_transactions(_frame().iloc[0:0])
    with pytest.raises(rk.DataError, match="no usable rows"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            rk.load_transactions(_frame(customer_id=[None] * 4))


def test_amounts_text_currency_and_partial_failures():
    with pytest.raises(rk.DataError, match="currency symbols"):
        rk.load_transactions(_frame(amount=["$12.50", "$3.00", "$1", "$2"]), amount="amount")
    with pytest.raises(rk.DataError, match="decimal comma"):
        rk.load_transactions(_frame(amount=["12,50", "3,00", "1,5", "2,25"]), amount="amount")
    tx = rk.load_transactions(_frame(amount=["12.5", "oops", None, "-3"]), amount="amount")
    assert tx.summary.rows_kept == 4  # the purchase still happened
    assert tx.summary.notes["unparseable_amount"] == 1 and tx.summary.notes["missing_amount"] == 1
    assert tx.summary.notes["refund_rows"] == 1


def test_duplicates_kept_by_default_dropped_on_request_and_order_ids():
    df = pd.concat([_frame(), _frame().iloc[[0]]], ignore_index=True)
    tx = rk.load_transactions(df, amount="amount")
    assert tx.summary.rows_kept == 5 and tx.summary.notes["exact_duplicates_kept"] == 1
    tx = rk.load_transactions(df, amount="amount", drop_duplicates=True)
    assert tx.summary.rows_kept == 4 and tx.summary.dropped["exact_duplicate"] == 1
    df["order_id"] = ["o1", "o2", "o3", "o4", "o1"]
    tx = rk.load_transactions(df, amount="amount", order_id="order_id")
    assert tx.summary.dropped["repeated_order_id"] == 1 and tx.summary.examples["repeated_order_id"] == ["row 4: 'o1'"]


def test_as_of_date_means_end_of_day_and_later_rows_are_counted():
    df = _frame()
    tx = rk.load_transactions(df, as_of="2024-02-01")
    assert tx.summary.rows_kept == 3  # 1 Feb 09:00 is included
    assert tx.summary.dropped["after_as_of"] == 1
    tx = rk.load_transactions(df, as_of="2024-02-01T08:00")
    assert tx.summary.rows_kept == 2
    with pytest.raises(rk.ParameterError, match="as_of='yesterday'"):
        rk.load_transactions(df, as_of="yesterday")


def test_future_dates_are_ignored_with_a_warning():
    df = _frame(timestamp=["2024-01-05", "2024-01-06", "2099-01-01", "2024-02-10"])
    with pytest.warns(rk.DataQualityWarning, match="after today"):
        tx = rk.load_transactions(df)
    assert tx.as_of.year == 2024 and tx.summary.dropped["after_as_of"] == 1


def test_mixed_time_zones_are_converted_and_naive_taken_in_report_tz():
    df = _frame(
        timestamp=["2024-01-31T23:30:00+00:00", "2024-07-01T01:00:00+02:00", "2024-03-01 12:00", "2024-01-01T00:00:00Z"]
    )
    tx = rk.load_transactions(df, tz="Europe/Berlin")
    ts = tx.frame["timestamp"]
    assert str(ts.dt.tz) == "Europe/Berlin"
    assert ts.iloc[0] == pd.Timestamp("2024-02-01 00:30", tz="Europe/Berlin")
    assert ts.iloc[1] == pd.Timestamp("2024-07-01 01:00", tz="Europe/Berlin")
    assert ts.iloc[2] == pd.Timestamp("2024-03-01 12:00", tz="Europe/Berlin")  # naive: already local
    aware = pd.DataFrame({"customer_id": ["a"], "timestamp": [pd.Timestamp("2024-01-01 23:00", tz="America/New_York")]})
    assert rk.load_transactions(aware).frame["timestamp"].iloc[0] == pd.Timestamp("2024-01-02 04:00", tz="UTC")
    with pytest.raises(rk.ParameterError, match="time zone"):
        rk.load_transactions(df, tz="Mars/Olympus")


def test_numbers_in_timestamp_column_and_bad_flags():
    with pytest.raises(rk.DataError, match="unit='s'"):
        rk.load_transactions(_frame(timestamp=[1704067200, 1704153600, 1704240000, 1704326400]))
    with pytest.raises(rk.ParameterError, match="drop_duplicates"):
        rk.load_transactions(_frame(), drop_duplicates="yes")


def test_files_csv_parquet_and_bad_paths(tmp_path):
    df = _frame()
    csv = tmp_path / "tx.csv"
    df.to_csv(csv, index=False)
    tx = rk.load_transactions(csv, amount="amount")
    assert tx.summary.rows_kept == 4 and tx.summary.source == str(csv)
    pq = tmp_path / "tx.parquet"
    df.to_parquet(pq)
    assert rk.load_transactions(pq, amount="amount").summary.rows_kept == 4
    bad = _frame(timestamp=["2024-01-05", "garbage", "2024-02-01", "2024-02-10"])
    bad.to_csv(csv, index=False)
    with pytest.warns(rk.DataQualityWarning, match="line 3: 'garbage'"):  # header is line 1
        rk.load_transactions(csv, max_dropped=0.5)
    with pytest.raises(rk.DataError, match="no such file"):
        rk.load_transactions(tmp_path / "missing.csv")
    xlsx = tmp_path / "tx.xlsx"
    xlsx.write_bytes(b"PK\x03\x04")
    with pytest.raises(rk.DataError, match="unsupported file type"):
        rk.load_transactions(xlsx)
    broken = tmp_path / "broken.parquet"
    broken.write_bytes(b"not parquet at all")
    with pytest.raises(rk.DataError, match="could not be read as PARQUET"):
        rk.load_transactions(broken)


def test_polars_and_duckdb_sources():
    pl = pytest.importorskip("polars")
    duckdb = pytest.importorskip("duckdb")
    df = _frame()
    base = rk.cohort_table(rk.load_transactions(df, amount="amount"))
    for source in (pl.from_pandas(df), pl.from_pandas(df).lazy(), duckdb.from_df(df)):
        t = rk.cohort_table(rk.load_transactions(source, amount="amount"))
        pd.testing.assert_frame_equal(t, base)


def test_subscriptions_validation():
    frame = pd.DataFrame(
        {"customer_id": ["a", "b"], "start": ["2024-03-01", "2024-01-01"], "end": ["2024-02-01", None]}
    )
    with pytest.raises(rk.DataError) as err:
        rk.load_subscriptions(frame)
    assert "end before they start" in str(err.value) and "row 0" in str(err.value) and "swapped" in str(err.value)
    ok = pd.DataFrame(
        {
            "customer_id": ["a", "a", "b"],
            "start": ["2024-01-01", "2024-01-15", "2024-02-01"],
            "end": ["2024-02-01", "2024-03-01", "2024-02-01"],
            "mrr": [10, 5, 3],
        }
    )
    subs = rk.load_subscriptions(ok, mrr="mrr")
    assert subs.summary.notes["merged_overlaps"] == 1 and subs.summary.notes["zero_length_intervals"] == 1
    assert len(subs.intervals) == 1 and subs.intervals["end"].iloc[0] == pd.Timestamp("2024-03-01", tz="UTC")
    with pytest.raises(rk.DataError, match="column 'end'"):
        rk.load_subscriptions(ok.assign(end=["2024-02-01", "soon", None]))


def test_duplicate_check_agrees_with_pandas_on_awkward_columns():
    """The duplicate check keeps pandas' semantics: NaN equals NaN, -0.0 equals 0.0, first occurrence kept."""
    ts = pd.to_datetime(["2024-01-01 10:00", "2024-01-01 10:00", "2024-01-02 00:00", "2024-01-01 10:00"]).tz_localize(
        "UTC"
    )
    frames = [
        pd.DataFrame({"customer_id": ["a", "a", "b", "a"], "timestamp": ts, "amount": [np.nan, np.nan, 1.0, 2.0]}),
        pd.DataFrame(
            {
                "customer_id": pd.array(["a", None, "a", "a"], dtype="string"),
                "timestamp": ts,
                "amount": [1.0, 1.0, 1.0, 1.0],
            }
        ),
        pd.DataFrame({"customer_id": [1, "1", 1, 1.5], "timestamp": ts, "amount": [0.0, -0.0, 0.0, 0.0]}),  # mixed
        pd.DataFrame({"customer_id": [7, 7, 7, 7], "timestamp": ts, "amount": [0.0, -0.0, 0.0, np.nan]}),
    ]
    for frame in frames:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            kept = rk.load_transactions(frame, amount="amount", as_of="2024-01-31", max_dropped=None)
            dropped = rk.load_transactions(
                frame, amount="amount", as_of="2024-01-31", drop_duplicates=True, max_dropped=None
            )
        expected = kept.frame.duplicated(keep="first")
        assert kept.summary.notes.get("exact_duplicates_kept", 0) == expected.sum()
        assert dropped.summary.dropped.get("exact_duplicate", 0) == expected.sum()
        pd.testing.assert_frame_equal(dropped.frame, kept.frame.loc[~expected].reset_index(drop=True))
