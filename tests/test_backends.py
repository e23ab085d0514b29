"""The aggregation step on polars (eager and lazy) and DuckDB gives the pandas/numpy numbers exactly.

References: the numpy path of retainkit.engine (itself tested against brute-force
loops in test_cohorts / test_metrics), on the bundled sample, on the real CDNOW log
and on hypothesis-generated small logs (definitions §1-§4).
"""

from __future__ import annotations

import warnings

import duckdb
import numpy as np
import pandas as pd
import polars as pl
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import retainkit as rk
from retainkit import backends, sources
from retainkit.datasets import SAMPLE_COLUMNS, sample_path

from .reference import brute_cohorts

ENGINES = ["polars", "polars-lazy", "duckdb"]


def to_engine(frame: pd.DataFrame, engine: str):
    if engine == "polars":
        return pl.from_pandas(frame)
    if engine == "polars-lazy":
        return pl.from_pandas(frame).lazy()
    if engine == "duckdb":
        return duckdb.connect().from_df(frame)
    raise ValueError(engine)


@pytest.fixture(params=["local", "in-engine"])
def reduction(request, monkeypatch):
    """Both reduction paths of polars / DuckDB: numpy after one scan, or every step in the engine."""
    if request.param == "in-engine":
        monkeypatch.setattr(backends, "LOCAL_REDUCE_MAX_ROWS", -1)
    return request.param


def _same(a: pd.DataFrame, b: pd.DataFrame) -> None:
    pd.testing.assert_frame_equal(a, b, check_exact=False, rtol=1e-9, atol=1e-9)
    assert a.attrs == b.attrs


@pytest.fixture(scope="module")
def sample() -> pd.DataFrame:
    return pd.read_csv(sample_path())


@pytest.mark.parametrize("engine", ENGINES)
def test_sample_cohorts_and_crr_identical_to_pandas(sample, engine, reduction):
    kw = dict(SAMPLE_COLUMNS)
    ref = rk.load_transactions(sample, **kw)
    tx = rk.load_transactions(to_engine(sample, engine), **kw)
    assert tx.backend == engine.split("-")[0]
    for args in [
        dict(),
        dict(freq="W"),
        dict(freq="Q", include_partial=True),
        dict(by="channel"),
        dict(by=["country", "is_member"]),
        dict(cohort_key="channel", by="country"),
    ]:
        _same(rk.cohort_table(ref, **args), rk.cohort_table(tx, **args))
    for args in [
        dict(),
        dict(window="30D"),
        dict(freq="W", window="13W"),
        dict(by="channel"),
        dict(freq="Q", window=120, by=["channel", "country"]),
    ]:
        _same(rk.crr_table(ref, **args), rk.crr_table(tx, **args))


def test_sample_summary_filled_the_same_way(sample):
    kw = dict(SAMPLE_COLUMNS)
    ref = rk.load_transactions(sample, **kw).summary
    got = rk.load_transactions(to_engine(sample, "duckdb"), **kw).summary
    for name in (
        "rows_read",
        "rows_kept",
        "dropped",
        "notes",
        "customers",
        "first_timestamp",
        "last_timestamp",
        "as_of",
        "tz",
        "columns",
    ):
        assert getattr(got, name) == getattr(ref, name), name
    assert got.examples.keys() == ref.examples.keys()


@pytest.fixture(scope="module")
def cdnow_frame(cdnow):
    return cdnow


@pytest.mark.parametrize("engine", ["polars", "duckdb"])
def test_cdnow_identical_across_engines(cdnow_frame, engine, reduction):
    """The real public log (CDNOW, 69,659 rows): same cohort table and CRR on every engine."""
    kw = dict(timestamp="date", amount="amount", date_format="%Y%m%d", as_of="1998-06-30")
    ref = rk.load_transactions(cdnow_frame, **kw)
    tx = rk.load_transactions(to_engine(cdnow_frame, engine), **kw)
    _same(rk.cohort_table(ref), rk.cohort_table(tx))
    _same(rk.cohort_table(ref, "Q"), rk.cohort_table(tx, "Q"))
    _same(rk.crr_table(ref), rk.crr_table(tx))
    assert tx.summary.customers == ref.summary.customers == 23_570
    assert tx.summary.rows_kept == ref.summary.rows_kept
    assert tx.summary.notes == ref.summary.notes


TZS = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]


@st.composite
def logs(draw):
    n = draw(st.integers(1, 30))
    base = pd.Timestamp("2023-11-01", tz="UTC")
    rows = []
    for _ in range(n):
        cust = draw(st.sampled_from(["a", "b", "c", "d", "e"]))
        minutes = draw(st.integers(0, 60 * 24 * 400))
        amount = draw(st.one_of(st.none(), st.sampled_from([0.0, 5.5, 20.0, -5.5, -20.0])))
        seg = draw(st.sampled_from(["x", "y", None]))
        # distinct instants: with ties at a customer's first purchase the "first row" is engine-specific
        rows.append((cust, base + pd.Timedelta(minutes=minutes) + pd.Timedelta(len(rows), "us"), amount, seg))
    frame = pd.DataFrame(rows, columns=["customer_id", "timestamp", "amount", "seg"])
    if draw(st.booleans()):  # integer ids, sparse or compact
        step = draw(st.sampled_from([1, 1_000_003]))
        frame["customer_id"] = frame["customer_id"].map(lambda c: (ord(c) - 96) * step)
    naive = draw(st.booleans())
    if naive:
        frame["timestamp"] = frame["timestamp"].dt.tz_localize(None)
    tz = draw(st.sampled_from(TZS))
    freq = draw(st.sampled_from(["D", "W", "M", "Q", "Y"]))
    as_of = (base + pd.Timedelta(days=draw(st.integers(20, 420)))).tz_localize(None)
    window = draw(st.sampled_from([1, 30, 90]))
    engine = draw(st.sampled_from(["polars", "duckdb"]))
    local = draw(st.booleans())
    return frame, tz, freq, as_of, window, engine, local


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(logs())
def test_random_logs_identical_on_polars_and_duckdb(case):
    frame, tz, freq, as_of, window, engine, local = case
    limit = backends.LOCAL_REDUCE_MAX_ROWS
    backends.LOCAL_REDUCE_MAX_ROWS = limit if local else -1
    try:
        _check_random_log(frame, tz, freq, as_of, window, engine)
    finally:
        backends.LOCAL_REDUCE_MAX_ROWS = limit


def _check_random_log(frame, tz, freq, as_of, window, engine):
    kw = dict(amount="amount", tz=tz, as_of=as_of, segments="seg")
    try:
        ref = rk.load_transactions(frame, **kw)
    except rk.DataError:
        with pytest.raises(rk.DataError):
            rk.load_transactions(to_engine(frame, engine), **kw)
        return
    tx = rk.load_transactions(to_engine(frame, engine), **kw)
    try:
        expected = rk.cohort_table(ref, freq, by="seg")
    except rk.DataError as exc:
        with pytest.raises(rk.DataError, match=str(exc)[:20]):
            rk.cohort_table(tx, freq, by="seg")
    else:
        got = rk.cohort_table(tx, freq, by="seg")
        _same(expected, got)
        # and against the independent brute-force loop (no segments)
        cells = brute_cohorts(ref, freq)
        plain = rk.cohort_table(tx, freq)
        assert len(plain) == len(cells)
    _same(rk.crr_table(ref, freq, window=window), rk.crr_table(tx, freq, window=window))
    _same(rk.crr_table(ref, freq, window=window, by="seg"), rk.crr_table(tx, freq, window=window, by="seg"))
    _same(rk.purchase_metrics(ref, freq), rk.purchase_metrics(tx, freq))
    _same(rk.purchase_metrics(ref, freq, by="seg"), rk.purchase_metrics(tx, freq, by="seg"))
    assert tx.summary.rows_kept == ref.summary.rows_kept
    assert tx.summary.notes == ref.summary.notes


def test_tied_first_purchases_take_the_smallest_segment_on_lazy_engines():
    """Without row order there is no first row: ties at the first instant take the smallest value."""
    frame = pd.DataFrame({"customer_id": ["a", "a"], "timestamp": ["2024-01-05 10:00"] * 2, "seg": ["y", "x"]})
    for engine in ENGINES:
        tx = rk.load_transactions(to_engine(frame, engine), segments="seg", as_of="2024-02-29")
        assert rk.cohort_table(tx, by="seg")["seg"].unique().tolist() == ["x"]
    # pandas keeps the first row
    tx = rk.load_transactions(frame, segments="seg", as_of="2024-02-29")
    assert rk.cohort_table(tx, by="seg")["seg"].unique().tolist() == ["y"]


def test_validation_counts_and_errors_match():
    df = pd.DataFrame(
        {
            "customer_id": ["a", " ", None, "b", "c", "c", "d"],
            "timestamp": ["2024-01-05 10:00", "2024-01-06", "2024-01-07", "garbage", "", "2024-02-01", "2024-03-01"],
            "amount": ["10", "5", "x", "7", "3", "-4", None],
        }
    )
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # 3 of 7 rows unusable: above the default max_dropped gate, which test_date_reading covers
        ref = rk.load_transactions(df, amount="amount", as_of="2024-02-15", max_dropped=None)
        tx = rk.load_transactions(duckdb.connect().from_df(df), amount="amount", as_of="2024-02-15", max_dropped=None)
    assert tx.summary.dropped == ref.summary.dropped
    assert tx.summary.notes == ref.summary.notes
    assert "garbage" in " ".join(tx.summary.examples["unparseable_timestamp"])
    with pytest.raises(rk.DataError, match="could be parsed"):
        rk.load_transactions(pl.DataFrame({"customer_id": ["a"], "timestamp": ["nope"]}))
    with pytest.raises(rk.DataError, match="not in the data"):
        rk.load_transactions(pl.DataFrame({"customer": ["a"], "timestamp": ["2024-01-01"]}))
    with pytest.raises(rk.DataError, match="is a number"):
        rk.load_transactions(
            pl.DataFrame({"customer_id": ["a"], "timestamp": ["2024-01-01"], "amount": ["$5"]}), amount="amount"
        )
    text_amounts = df.assign(amount=["x", "1.5", None, "2", "3", "-4", "5"])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        got = rk.load_transactions(
            pl.from_pandas(text_amounts), amount="amount", as_of="2024-02-15", max_dropped=None
        ).summary
        ref = rk.load_transactions(text_amounts, amount="amount", as_of="2024-02-15", max_dropped=None).summary
    assert got.notes == ref.notes and got.notes["unparseable_amount"] == 1
    with pytest.raises(rk.DataError, match="holds numbers"):
        rk.load_transactions(pl.DataFrame({"customer_id": ["a"], "timestamp": [1]}))
    with pytest.raises(rk.DataError, match="refunds"):
        rk.cohort_table(
            rk.load_transactions(
                pl.DataFrame({"customer_id": ["a"], "timestamp": ["2024-01-01"], "amount": [-3.0]}),
                amount="amount",
                as_of="2024-03-01",
            )
        )


def test_order_ids_and_duplicates_match():
    df = pd.DataFrame(
        {
            "customer_id": ["a", "a", "a", "b", "b"],
            "timestamp": pd.to_datetime(["2024-01-05", "2024-01-05", "2024-02-01", "2024-01-09", "2024-03-09"]),
            "amount": [1.0, 1.0, 2.0, 3.0, 4.0],
            "order_id": ["o1", "o2", "o1", "o3", "o4"],
        }
    )
    for kw in [dict(), dict(drop_duplicates=True), dict(order_id="order_id")]:
        ref = rk.load_transactions(df, amount="amount", as_of="2024-04-30", **kw)
        tx = rk.load_transactions(pl.from_pandas(df), amount="amount", as_of="2024-04-30", **kw)
        assert tx.summary.dropped == ref.summary.dropped, kw
        assert tx.summary.notes == ref.summary.notes, kw
        _same(rk.cohort_table(ref), rk.cohort_table(tx))


def test_materialised_frame_matches_and_other_functions_work(sample):
    kw = dict(SAMPLE_COLUMNS)
    ref = rk.load_transactions(sample, **kw)
    tx = rk.load_transactions(to_engine(sample, "duckdb"), **kw)
    frame = tx.frame.sort_values(["customer_id", "timestamp", "order_id"]).reset_index(drop=True)
    expected = ref.frame.sort_values(["customer_id", "timestamp", "order_id"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(frame, expected, check_dtype=False)
    # purchase_metrics reads one scan of the engine; bracket_retention the materialised frame
    pd.testing.assert_frame_equal(rk.purchase_metrics(tx), rk.purchase_metrics(ref), check_exact=False)
    _same(rk.bracket_retention(tx), rk.bracket_retention(ref))


def test_files_scan_lazily_with_each_engine(tmp_path, sample):
    path = tmp_path / "tx.parquet"
    frame = sample.assign(timestamp=pd.to_datetime(sample["timestamp"], format="ISO8601"))
    frame.to_parquet(path, index=False)
    kw = dict(SAMPLE_COLUMNS)
    ref = rk.cohort_table(rk.load_transactions(sample, **kw), by="channel")
    for engine in ("polars", "duckdb"):
        tx = rk.load_transactions(path, backend=engine, **kw)
        assert tx.backend == engine
        _same(ref.assign(), rk.cohort_table(tx, by="channel"))
    # a directory and a glob of Parquet parts
    parts = tmp_path / "parts"
    parts.mkdir()
    frame.iloc[:5000].to_parquet(parts / "a.parquet", index=False)
    frame.iloc[5000:].to_parquet(parts / "b.parquet", index=False)
    for src in (parts, str(parts / "*.parquet")):
        tx = rk.load_transactions(src, backend="duckdb", **kw)
        _same(ref, rk.cohort_table(tx, by="channel"))
    # CSV through DuckDB
    csv = tmp_path / "tx.csv"
    sample.to_csv(csv, index=False)
    _same(ref, rk.cohort_table(rk.load_transactions(csv, backend="duckdb", **kw), by="channel"))
    # Parquet is scanned lazily by default; small CSV files are read by pandas (exact line numbers)
    assert rk.load_transactions(path, **kw).backend == sources.DEFAULT_FILE_ENGINE
    assert rk.load_transactions(csv, **kw).backend == "pandas"
    # very large Parquet data goes to the leanest engine
    limit = sources.LARGE_PARQUET_ROWS
    try:
        sources.LARGE_PARQUET_ROWS = 1000
        assert rk.load_transactions(path, **kw).backend == "duckdb"
    finally:
        sources.LARGE_PARQUET_ROWS = limit


def test_raw_sources_are_loaded_in_their_own_engine(sample):
    frame = sample[["customer_id", "timestamp", "amount"]]
    for raw in (pl.from_pandas(frame), duckdb.connect().from_df(frame)):
        loaded = rk.load_transactions(raw, amount="amount")
        assert loaded.backend in ("polars", "duckdb")
        pd.testing.assert_frame_equal(rk.cohort_table(raw), rk.cohort_table(loaded))
        pd.testing.assert_frame_equal(rk.crr_table(raw), rk.crr_table(loaded))
    with pytest.raises(rk.ParameterError, match="load_transactions"):
        rk.cohort_table({"customer_id": [1]})


def test_pandas_frame_can_be_handed_to_an_engine(sample):
    kw = dict(SAMPLE_COLUMNS)
    ref = rk.load_transactions(sample, **kw)
    for engine in ("polars", "duckdb"):
        tx = rk.load_transactions(sample, backend=engine, **kw)
        assert tx.backend == engine
        _same(rk.cohort_table(ref), rk.cohort_table(tx))
    with pytest.raises(rk.ParameterError, match="backend"):
        rk.load_transactions(sample, backend="excel", **kw)


def test_period_arithmetic_matches_numpy_over_four_centuries():
    days = np.arange(-800_000, 800_000, 37, dtype=np.int64)
    lf = pl.DataFrame({"day": days}).lazy()
    import narwhals as nw

    for freq in ("D", "W", "M", "Q", "Y"):
        for backend, native in (("polars", lf), ("duckdb", duckdb.connect().from_df(pd.DataFrame({"day": days})))):
            got = sources.with_period(nw.from_native(native), "day", freq, "p", backend=backend).select("day", "p")
            got = got.collect(backend="pandas").to_native().sort_values("day")
            np.testing.assert_array_equal(got["p"].to_numpy(), rk.periods.days_to_period(days, freq))


@pytest.mark.bench
def test_benchmark_contenders_agree_on_a_small_log(tmp_path):
    """Smoke run of benchmarks/run.py's contenders on 20,000 rows: every engine returns the same numbers."""
    import sys
    from pathlib import Path

    bench = Path(__file__).resolve().parents[1] / "benchmarks"
    sys.path.insert(0, str(bench))
    try:
        import datagen
        import run
    finally:
        sys.path.remove(str(bench))
    path = tmp_path / "log.parquet"
    datagen.make_log(20_000, seed=3).to_parquet(path, index=False)
    for task in ("cohort", "crr", "again"):
        results = [
            {"name": name, "result": run.run_contender(name, str(path), {})[1]}
            for name, (t, _, _) in run.CONTENDERS.items()
            if t == task
        ]
        agree, how = run._agree(results)
        assert agree, how
