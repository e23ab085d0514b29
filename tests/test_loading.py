"""Loading a pandas frame (definitions §1) against a brute-force loop and the other engines; the caches
on loaded data never answer a question with another question's numbers.

load_transactions checks a pandas frame on numpy arrays (hashed duplicate check, int64 instants); these
tests hold it to tests/reference.py's row-by-row reading of §1 on random frames, and hold polars and
DuckDB to the same summary and tables.
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

from .reference import brute_cohorts, brute_crr, brute_load_summary

TZS = ["UTC", "Europe/Berlin", "America/New_York", "Asia/Kolkata"]
BASE = pd.Timestamp("2023-10-01", tz="UTC")


@st.composite
def frames(draw, *, awkward: bool = True):
    """Random logs: blank and missing ids, NaT, refunds, unknown amounts, exact and near duplicates."""
    n = draw(st.integers(1, 40))
    ids = ["a", "b", "c", " a ", "", None] if awkward else ["a", "b", "c", "d"]
    amounts = [0.0, 5.5, 20.0, -5.5, None] + ([-0.0] if awkward else [])
    rows = []
    for _ in range(n):
        if rows and draw(st.integers(0, 4)) == 0:
            rows.append(dict(draw(st.sampled_from(rows))))  # an exact copy of an earlier row
            continue
        rows.append(
            {
                "customer_id": draw(st.sampled_from(ids)),
                "timestamp": None
                if draw(st.integers(0, 15)) == 0
                else BASE + pd.Timedelta(hours=draw(st.integers(0, 24 * 200))),
                "amount": draw(st.sampled_from(amounts)),
                "order_id": draw(st.sampled_from([None, "o1", "o2", "o3", "o4", "o5", "o6"])),
                "seg": draw(st.sampled_from(["x", "y", None])),
            }
        )
    frame = pd.DataFrame(rows)
    frame["timestamp"] = pd.to_datetime(frame["timestamp"], utc=True)
    frame["amount"] = frame["amount"].astype("float64")
    if draw(st.booleans()):
        frame = frame.sort_values("timestamp", kind="stable").reset_index(drop=True)  # a time-ordered log
    if draw(st.booleans()):
        present = frame["customer_id"].map(lambda c: pd.notna(c) and str(c).strip() != "")
        if present.all():  # integer ids (only when none is missing: a missing int does not exist)
            frame["customer_id"] = frame["customer_id"].map(lambda c: 1_000_003 * (ord(c.strip()) - 96))
    if draw(st.booleans()):
        frame["timestamp"] = frame["timestamp"].dt.tz_localize(None)
    if draw(st.booleans()) and not pd.api.types.is_integer_dtype(frame["customer_id"].dtype):
        frame["customer_id"] = frame["customer_id"].astype("string")  # nullable strings, pd.NA for missing
    tz = draw(st.sampled_from(TZS))
    as_of = (BASE + pd.Timedelta(days=draw(st.integers(30, 220)))).strftime("%Y-%m-%d")
    return frame, tz, as_of


def _end_of_day(date: str, tz: str) -> pd.Timestamp:
    return (pd.Timestamp(date) + pd.Timedelta(days=1) - pd.Timedelta(1, "ns")).tz_localize(tz)


def _load(frame, **kw):
    kw.setdefault("max_dropped", None)  # random logs drop any share; the gate is tested in test_date_reading
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return rk.load_transactions(frame, **kw)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(), st.booleans(), st.booleans(), st.booleans())
def test_pandas_summary_matches_a_row_by_row_reading_of_the_definitions(case, with_order, drop_dups, segment):
    frame, tz, as_of = case
    kw = dict(
        amount="amount",
        tz=tz,
        as_of=as_of,
        order_id="order_id" if with_order else None,
        segments=("seg",) if segment else (),
        drop_duplicates=drop_dups,
    )
    expected = brute_load_summary(
        frame,
        amount="amount",
        tz=tz,
        as_of=_end_of_day(as_of, tz),
        order_id=kw["order_id"],
        segments=kw["segments"],
        drop_duplicates=drop_dups,
    )
    try:
        tx = _load(frame, **kw)
    except rk.DataError:
        assert expected["rows_kept"] == 0
        return
    s = tx.summary
    assert s.dropped == expected["dropped"]
    assert s.notes == expected["notes"]
    assert (s.rows_kept, s.customers) == (expected["rows_kept"], expected["customers"])
    assert len(tx.frame) == s.rows_kept
    if drop_dups:
        assert not tx.frame.duplicated().any()
    if s.rows_kept:
        assert s.first_timestamp == tx.frame["timestamp"].min() and s.last_timestamp == tx.frame["timestamp"].max()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frames(awkward=False), st.booleans(), st.sampled_from(["polars", "duckdb"]))
def test_summary_and_tables_identical_on_every_engine(case, drop_dups, engine):
    """pandas (numpy checks) and polars / DuckDB (checks in the engine) report the same §1 counts and tables."""
    frame, tz, as_of = case
    frame = frame.drop(columns=["order_id"])
    kw = dict(amount="amount", tz=tz, as_of=as_of, segments="seg", drop_duplicates=drop_dups)
    try:
        ref = _load(frame, **kw)
    except rk.DataError:
        return
    native = pl.from_pandas(frame) if engine == "polars" else duckdb.connect().from_df(frame)
    tx = _load(native, **kw)
    assert tx.summary.dropped == ref.summary.dropped  # read first: counted by engine queries
    assert tx.summary.notes == ref.summary.notes
    assert (tx.summary.rows_kept, tx.summary.customers) == (ref.summary.rows_kept, ref.summary.customers)
    after = _load(native, **kw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            rk.cohort_table(after, by="seg")  # collects the kept rows once ...
        except rk.DataError:
            pass
    s = after.summary  # ... and the summary counts them, without another scan
    assert (s.dropped, s.notes, s.rows_kept, s.customers) == (
        ref.summary.dropped,
        ref.summary.notes,
        ref.summary.rows_kept,
        ref.summary.customers,
    )
    assert (s.first_timestamp, s.last_timestamp) == (ref.summary.first_timestamp, ref.summary.last_timestamp)
    for freq in ("M", "W"):
        try:
            expected = rk.cohort_table(ref, freq)
        except rk.DataError:
            continue
        pd.testing.assert_frame_equal(expected, rk.cohort_table(tx, freq), check_exact=False, rtol=1e-9)
        cells = brute_cohorts(ref, freq)
        for row in expected.itertuples():
            cell = cells[(rk.periods.parse_period_label(row.cohort, freq), row.age)]
            assert (row.size, row.active, row.active_on_or_after) == (cell["size"], cell["active"], cell["on_or_after"])
            assert row.revenue == pytest.approx(cell["revenue"], abs=1e-9)
    crr = rk.crr_table(ref, "M", window="30D")
    pd.testing.assert_frame_equal(crr, rk.crr_table(tx, "M", window="30D"), check_exact=False, rtol=1e-9)
    if not (ref.frame["amount"].isna() | (ref.frame["amount"] >= 0)).any():
        return  # refunds only: no customer, nothing to compare with the loop
    brute = brute_crr(ref, "M", 30)
    for row in crr.itertuples():
        b = brute[rk.periods.parse_period_label(row.period, "M")]
        assert (row.start_customers, row.end_customers, row.new, row.retained) == (
            b["S"],
            b["E"],
            b["N"],
            b["retained"],
        )


def _log(n: int = 3000, seed: int = 5) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "customer_id": rng.integers(0, 300, n),
            "timestamp": pd.Timestamp("2023-01-01", tz="UTC") + pd.to_timedelta(rng.integers(0, 365 * 24, n), "h"),
            "amount": np.where(rng.random(n) < 0.05, -5.0, 10.0),
            "channel": rng.choice(["ads", "organic", "mail"], n),
        }
    )


@pytest.mark.parametrize("source", ["pandas", "polars"])
def test_a_second_question_never_gets_the_first_ones_cached_answer(source):
    """Every parameter that changes a table is part of the cache key: each answer equals a fresh load's."""
    frame = _log()
    kw = dict(amount="amount", segments="channel", as_of="2023-12-15")
    data = frame if source == "pandas" else pl.from_pandas(frame)
    tx = rk.load_transactions(data, **kw)
    questions = [
        ("cohort", dict(freq="M")),
        ("cohort", dict(freq="W")),
        ("cohort", dict(freq="M", by="channel")),
        ("cohort", dict(freq="M", include_partial=True)),
        ("cohort", dict(freq="Q", cohort_key="channel")),
        ("cohort", dict(freq="M")),
        ("crr", dict(freq="M")),
        ("crr", dict(freq="M", window="30D")),
        ("crr", dict(freq="W", window="30D")),
        ("crr", dict(freq="M", by="channel")),
        ("crr", dict(freq="M")),
        ("brackets", dict(freq="M")),
        ("metrics", dict(freq="M", by="channel")),
        ("metrics", dict(freq="Q")),
    ]
    run = {
        "cohort": rk.cohort_table,
        "crr": rk.crr_table,
        "brackets": rk.bracket_retention,
        "metrics": rk.purchase_metrics,
    }
    for what, args in questions:
        got = run[what](tx, **args)
        fresh = run[what](rk.load_transactions(data, **kw), **args)
        pd.testing.assert_frame_equal(got, fresh)
        got["edited"] = 1  # editing a returned table changes nothing cached
    assert rk.cohort_table(tx).equals(rk.cohort_table(rk.load_transactions(data, **kw)))


def test_editing_the_loaded_frame_cannot_make_cached_tables_stale():
    frame = _log()
    tx = rk.load_transactions(frame, amount="amount", as_of="2023-12-15")
    before = rk.cohort_table(tx)
    view = tx.frame
    view.loc[:, "amount"] = 1e6  # copy-on-write: the loaded rows are not touched
    view.loc[0, "customer_id"] = -1
    assert tx.frame["amount"].max() == 10.0
    pd.testing.assert_frame_equal(rk.cohort_table(tx), before)
    pd.testing.assert_frame_equal(
        rk.cohort_table(tx, "W"), rk.cohort_table(rk.load_transactions(frame, amount="amount", as_of="2023-12-15"), "W")
    )
    # nor does editing the caller's frame after loading
    frame.loc[:, "amount"] = -1.0
    pd.testing.assert_frame_equal(rk.cohort_table(tx), before)
    assert tx.frame["amount"].max() == 10.0


def test_loading_shares_the_callers_columns_without_copying_them():
    frame = _log()
    tx = rk.load_transactions(frame, amount="amount", as_of="2023-12-31")  # every row kept
    assert np.shares_memory(tx.frame["amount"].to_numpy(), frame["amount"].to_numpy()) == rk.inputs.COPY_ON_WRITE
    frame.loc[0, "amount"] = 123.0  # the caller's edit copies their column, ours stays
    assert tx.frame["amount"].iloc[0] != 123.0


def test_text_ids_are_coded_exactly_even_when_the_first_hash_collides(monkeypatch):
    """dense_codes codes text by a 64-bit hash checked by a second one; a collision falls back to exact coding."""
    from retainkit.sources import dense_codes

    ids = pl.Series(["b", "a", "b", "c", "a", "b"])
    codes, values = dense_codes(ids)
    assert values[codes].tolist() == ids.to_list() and len(values) == 3
    original_hash, original_arrow = pl.Series.hash, pl.Series.to_arrow
    calls = {"hash": 0, "exact": 0}

    def colliding(self, *args, **kwargs):  # the first hash maps every value to one number
        calls["hash"] += 1
        out = original_hash(self, *args, **kwargs)
        return out * 0 if calls["hash"] == 1 else out

    def to_arrow(self, *args, **kwargs):
        calls["exact"] += 1
        return original_arrow(self, *args, **kwargs)

    monkeypatch.setattr(pl.Series, "hash", colliding)
    monkeypatch.setattr(pl.Series, "to_arrow", to_arrow)
    codes, values = dense_codes(ids)
    assert calls["exact"] == 1  # the second hash caught the collision
    assert values[codes].tolist() == ids.to_list() and len(values) == 3


@settings(max_examples=80, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=6), min_size=1, max_size=60))
def test_text_ids_of_a_pandas_frame_are_coded_like_pandas_factorize(values):
    """data.customer_codes (the polars hash for text ids) partitions the ids exactly as pandas.factorize does."""
    from retainkit.data import customer_codes

    ids = pd.Series(values, dtype="string")
    codes, uniques = customer_codes(ids)
    ref_codes, ref_uniques = pd.factorize(ids)
    assert len(uniques) == len(ref_uniques) and codes.dtype == np.int64
    assert list(uniques[codes]) == values  # every id maps back to itself
    assert np.array_equal(codes[:, None] == codes[None, :], ref_codes[:, None] == ref_codes[None, :])
