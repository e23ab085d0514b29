"""One date reading per column, on every engine (definitions §1 "Inputs").

The real CDNOW log (69,659 rows, 23,570 customers) is written ISO, %d/%m/%Y,
%m/%d/%Y and %d.%m.%Y: every spelling gives the ISO numbers on pandas, polars
and DuckDB, from files and from frames. Columns whose day/month order cannot be
told, or that mix both orders, fail loudly on every engine; the data-quality
gate (``max_dropped``) refuses a partial load.
"""

from __future__ import annotations

import warnings

import duckdb
import pandas as pd
import polars as pl
import pytest

import retainkit as rk
from retainkit.timestamps import date_reading, date_shapes

ENGINES = ("pandas", "polars", "duckdb")
FORMATS = {"iso": "%Y-%m-%d", "dmy": "%d/%m/%Y", "mdy": "%m/%d/%Y", "dot": "%d.%m.%Y"}
KW = dict(timestamp="date", amount="amount", as_of="1998-06-30")


def _to(frame: pd.DataFrame, engine: str):
    if engine == "polars":
        return pl.from_pandas(frame)
    if engine == "duckdb":
        return duckdb.connect().from_df(frame)
    return frame


@pytest.fixture(scope="module")
def spellings(cdnow, tmp_path_factory):
    """CDNOW written in each date spelling, as CSV files."""
    folder = tmp_path_factory.mktemp("spellings")
    day = pd.to_datetime(cdnow["date"], format="%Y%m%d")
    paths = {}
    for name, fmt in FORMATS.items():
        paths[name] = folder / f"cdnow_{name}.csv"
        cdnow.assign(date=day.dt.strftime(fmt)).to_csv(paths[name], index=False)
    return paths


@pytest.fixture(scope="module")
def reference(spellings):
    tx = rk.load_transactions(spellings["iso"], **KW)
    assert tx.summary.customers == 23_570 and tx.summary.rows_kept == 69_659
    return rk.cohort_table(tx), rk.crr_table(tx)


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("spelling", list(FORMATS))
def test_every_spelling_of_the_same_log_gives_identical_tables_from_files(spellings, reference, spelling, engine):
    tx = rk.load_transactions(spellings[spelling], backend=engine, **KW)
    assert tx.backend == engine
    assert tx.summary.rows_kept == 69_659 and not tx.summary.dropped
    pd.testing.assert_frame_equal(rk.cohort_table(tx), reference[0])
    pd.testing.assert_frame_equal(rk.crr_table(tx), reference[1])


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
@pytest.mark.parametrize("spelling", ["dmy", "mdy"])
def test_every_spelling_gives_identical_tables_from_frames(spellings, reference, spelling, engine):
    frame = pd.read_csv(spellings[spelling], dtype={"date": "string", "customer_id": "string"})
    tx = rk.load_transactions(_to(frame, engine), **KW)
    pd.testing.assert_frame_equal(rk.cohort_table(tx), reference[0])


def _log(dates: list[str]) -> pd.DataFrame:
    return pd.DataFrame({"customer_id": [f"c{i % 3}" for i in range(len(dates))], "timestamp": dates})


@pytest.mark.parametrize("engine", ENGINES)
def test_a_column_where_every_value_reads_both_ways_asks_for_date_format(engine):
    frame = _log(["01/02/2024", "03/04/2024", "05/06/2024", "12/11/2024"])
    with pytest.raises(rk.DataError) as err:
        rk.load_transactions(_to(frame, engine))
    msg = str(err.value)
    assert "column 'timestamp'" in msg and "'01/02/2024'" in msg
    assert 'date_format="%d/%m/%Y"' in msg and 'date_format="%m/%d/%Y"' in msg and "--date-format" in msg
    tx = rk.load_transactions(_to(frame, engine), date_format="%d/%m/%Y")
    assert tx.frame["timestamp"].dt.month.tolist() == [2, 4, 6, 11]


@pytest.mark.parametrize("engine", ENGINES)
def test_a_column_proving_both_orders_is_an_error_not_a_partial_load(engine):
    frame = _log(["30/06/2024", "01/07/2024", "06/30/2024", "07/01/2024"] * 10)
    with pytest.raises(rk.DataError, match="mixes two date orders") as err:
        rk.load_transactions(_to(frame, engine))
    assert "'30/06/2024'" in str(err.value) and "'06/30/2024'" in str(err.value)


@pytest.mark.parametrize("engine", ENGINES)
def test_iso_values_are_never_ambiguous(engine):
    tx = rk.load_transactions(_to(_log(["2024-01-02", "2024-03-04 10:00", "2024-05-06T07:08:09"]), engine))
    assert tx.frame["timestamp"].dt.month.tolist() == [1, 3, 5]


@pytest.mark.parametrize("engine", ENGINES)
def test_day_first_with_times_and_two_digit_years_on_every_engine(engine):
    dates = ["30/06/1998 14:05", "1/2/98", "02/03/1998 07:08:09", "15/01/1998 2:05 PM", "3.4.1998"]
    frame = _log(dates[:4])
    tx = rk.load_transactions(_to(frame, engine), as_of="1998-12-31")
    got = tx.frame["timestamp"].dt.strftime("%Y-%m-%d %H:%M:%S").tolist()
    assert got == ["1998-06-30 14:05:00", "1998-02-01 00:00:00", "1998-03-02 07:08:09", "1998-01-15 14:05:00"]


def test_the_reading_is_decided_from_every_value_not_the_first():
    # the first 1,000 values fit both orders; one late value proves day-first
    dates = ["05/06/1998"] * 1000 + ["25/06/1998"]
    shapes = date_shapes(pl.DataFrame({"d": dates}), "d")
    reading = date_reading(shapes, "d")
    assert reading.order == "day-first" and reading.formats == ("%d/%m/%Y",)
    tx = rk.load_transactions(_log(dates), as_of="1998-12-31")
    assert (tx.frame["timestamp"].dt.month == 6).all()


def test_values_of_another_shape_are_unparseable_rows_and_the_gate_counts_them():
    dates = ["30/06/1998"] * 90 + ["1998-06-01"] * 10
    with pytest.raises(rk.DataError, match=r"10 of 100 transaction rows \(10.0%\)") as err:
        rk.load_transactions(_log(dates), as_of="1998-12-31")
    assert "timestamp could not be parsed (row 90: '1998-06-01'" in str(err.value)
    with pytest.warns(rk.DataQualityWarning, match="10 of 100"):
        tx = rk.load_transactions(_log(dates), as_of="1998-12-31", max_dropped=0.2)
    assert tx.summary.dropped == {"unparseable_timestamp": 10}


@pytest.mark.parametrize("engine", ENGINES)
def test_the_gate_and_the_warning_band_on_every_engine(engine):
    frame = pd.DataFrame(
        {
            "customer_id": [f"c{i % 50}" for i in range(200)],
            "timestamp": [f"2024-{1 + i % 12:02d}-{1 + i % 28:02d}" for i in range(200)],
        }
    )
    bad = frame.copy()
    bad.loc[:19, "timestamp"] = "not a date"  # 10 %
    with pytest.raises(rk.DataError, match="more than max_dropped=5.0%"):
        rk.load_transactions(_to(bad, engine))
    some = frame.copy()
    some.loc[:5, "timestamp"] = "not a date"  # 3 %: kept, with a warning
    with pytest.warns(rk.DataQualityWarning, match=r"6 of 200 transaction rows \(3.0%\)"):
        tx = rk.load_transactions(_to(some, engine))
    assert tx.summary.rows_kept == 194
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert rk.load_transactions(_to(frame, engine)).summary.rows_kept == 200
    with pytest.raises(rk.ParameterError, match="max_dropped"):
        rk.load_transactions(frame, max_dropped=1.5)


def test_subscriptions_share_one_reading_for_start_and_end():
    frame = pd.DataFrame({"customer_id": ["a", "b"], "start": ["25/01/2024", "02/03/2024"], "end": ["01/02/2024", ""]})
    subs = rk.load_subscriptions(frame, as_of="2024-06-30")
    assert subs.frame["end"].iloc[0] == pd.Timestamp("2024-02-01", tz="UTC")  # the end alone is ambiguous
    assert subs.frame["start"].iloc[1] == pd.Timestamp("2024-03-02", tz="UTC")
