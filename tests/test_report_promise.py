"""The promise of a report run, as a property (issue: never publish a wrong picture).

Over generated logs written in several date spellings, with a share of broken
rows and assorted ``as_of`` values, a run either stops with a ParameterError
(exit 2) or DataError (exit 3), or it has exactly the numbers of the correctly
read data: the clean rows written ISO. Tested at the level the report runs in
its kernel (``validate_params`` then ``compute``); real CLI runs of the same
cases, with the published report byte-identical after a failure, are in
tests/test_report_gates.py.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from retainkit.exceptions import DataError, ParameterError
from retainkit.params import validate_params
from retainkit.report import compute

SPELLINGS = {
    "iso": "%Y-%m-%d",
    "iso-time": "%Y-%m-%d %H:%M",
    "dmy": "%d/%m/%Y",
    "mdy": "%m/%d/%Y",
    "dot": "%d.%m.%Y",
    "dmy-time": "%d/%m/%Y %H:%M",
    "dmy-short": "%d/%m/%y",
}
BROKEN = ["not a date", "31/13/1998", "1998-13-45", ""]


@st.composite
def runs(draw):
    n = draw(st.integers(30, 150))
    customers = draw(st.integers(3, 25))
    seed = draw(st.integers(0, 2**16))
    rng = np.random.default_rng(seed)
    start = pd.Timestamp("1998-01-01")
    ts = start + pd.to_timedelta(rng.integers(0, 365 * 24 * 60, n), unit="min")
    if draw(st.booleans()):  # only days 1-12: day/month spellings cannot tell the order
        ts = ts - pd.to_timedelta(np.maximum(ts.day - 12, 0), unit="D")
    log = pd.DataFrame(
        {"customer_id": rng.integers(1, customers + 1, n), "ts": ts, "amount": rng.choice([5.0, 12.5, 40.0, -5.0], n)}
    )
    spelling = draw(st.sampled_from(sorted(SPELLINGS)))
    share = draw(st.sampled_from([0.0, 0.02, 0.04, 0.08, 0.3]))
    broken = rng.choice(n, int(round(share * n)), replace=False)
    last_day = log["ts"].max().normalize()
    valid = draw(st.booleans()) or draw(st.booleans())  # three in four runs get an ISO as_of
    as_of = draw(
        st.sampled_from(
            [
                "",  # the latest transaction
                f"{last_day:%Y-%m-%d}",
                f"{last_day - pd.Timedelta(days=40):%Y-%m-%d}",
                f"{last_day - pd.Timedelta(days=100):%Y-%m-%dT12:00}",
                f"{last_day + pd.Timedelta(days=20):%Y-%m-%d}",  # within one month of the last transaction
                f"{last_day + pd.Timedelta(days=75):%Y-%m-%d}",  # stale
            ]
            if valid
            else [
                f"{last_day:%d/%m/%Y}",
                f"{last_day:%m/%d/%Y}",  # not ISO
                "2999-01-01",
                "2030-06-30",  # the future
            ]
        )
    )
    allow_stale = draw(st.booleans())
    freq = draw(st.sampled_from(["M", "W", "Q"]))
    return log, spelling, broken, as_of, allow_stale, freq


def _write(log: pd.DataFrame, path, fmt: str, broken=()) -> None:
    text = log.assign(ts=log["ts"].dt.strftime(fmt))
    for i, row in enumerate(broken):
        text.loc[row, "ts"] = BROKEN[i % len(BROKEN)]
    text.to_csv(path, index=False)


def _same_kpis(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for key in want:
        for attr in ("value", "num", "den"):
            a, b = getattr(got[key], attr), getattr(want[key], attr)
            assert (math.isnan(a) and math.isnan(b)) or a == pytest.approx(b, rel=1e-12, abs=1e-12), (key, attr)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(runs())
def test_a_run_stops_or_has_the_numbers_of_the_correctly_read_data(tmp_path_factory, case):
    log, spelling, broken, as_of, allow_stale, freq = case
    folder = tmp_path_factory.mktemp("promise")
    data = folder / "log.csv"
    _write(log, data, SPELLINGS[spelling], broken)
    params = {"data": str(data), "timestamp": "ts", "as_of": as_of, "allow_stale": allow_stale, "freq": freq}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            got = compute(validate_params(params))
    except (ParameterError, DataError) as exc:
        event(f"stopped: {type(exc).__name__}")
        return  # a non-zero exit: nothing is published (the runner keeps the previous report)
    event(f"published ({spelling})")
    # it ran: then the input was readable and within the gates ...
    assert len(broken) <= 0.05 * len(log)
    assert as_of == "" or as_of[4] == "-"
    # ... and it shows exactly the numbers of the clean rows written ISO
    clean = folder / "clean.csv"
    _write(log.drop(index=broken), clean, "%Y-%m-%d %H:%M")
    # date-only spellings are compared with the clean log at day resolution
    _write(log.drop(index=broken), clean, "%Y-%m-%d %H:%M" if "time" in spelling else "%Y-%m-%d")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = compute(validate_params({**params, "data": str(clean)}))
    assert got.as_of == want.as_of
    pd.testing.assert_frame_equal(got.cohorts, want.cohorts)
    pd.testing.assert_frame_equal(got.crr, want.crr)
    _same_kpis(got.kpis, want.kpis)
    assert got.summary.rows_kept == want.summary.rows_kept
    stale = any("allowed by allow_stale" in w for w in got.warnings)
    assert not stale or allow_stale
