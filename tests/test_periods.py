"""Period arithmetic (definitions §2) against Python's calendar."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from retainkit import ParameterError
from retainkit import periods as P

from .reference import period_of_date, start_date_of

FREQS = ["D", "W", "M", "Q", "Y"]


@settings(max_examples=200, deadline=None)
@given(st.dates(dt.date(1960, 1, 1), dt.date(2100, 12, 31)), st.sampled_from(FREQS))
def test_period_index_start_and_label_agree_with_calendar(d, freq):
    idx = P.period_index(pd.Series([pd.Timestamp(d)]), freq)[0]
    assert idx == period_of_date(d, freq)
    start = P.period_start(idx, freq)
    assert start.date() == start_date_of(idx, freq) <= d
    label = P.period_label(idx, freq)
    assert P.parse_period_label(label, freq) == idx
    if freq == "W":
        iso = d.isocalendar()
        assert label == f"{iso[0]}-W{iso[1]:02d}"


def test_labels():
    assert P.period_label(P.parse_period_label("2024-02", "M"), "M") == "2024-02"
    assert P.period_label(P.parse_period_label("2024-Q3", "Q"), "Q") == "2024-Q3"
    assert P.period_label(P.parse_period_label("2020-W53", "W"), "W") == "2020-W53"
    assert list(P.period_label(np.array([648, 649]), "M")) == ["2024-01", "2024-02"]


def test_completeness_and_as_of():
    as_of = P.parse_as_of("2024-06-30", "UTC")
    assert as_of == pd.Timestamp("2024-06-30 23:59:59.999999999", tz="UTC")
    assert P.period_label(P.last_complete_period(as_of, "M"), "M") == "2024-06"
    assert P.period_label(P.last_complete_period(P.parse_as_of("2024-06-29", "UTC"), "M"), "M") == "2024-05"
    assert P.period_label(P.last_complete_period(as_of, "Q"), "Q") == "2024-Q2"
    assert P.period_label(P.last_complete_period(as_of, "Y"), "Y") == "2023"
    berlin = P.parse_as_of("2024-03-31", "Europe/Berlin")  # DST day: still the end of that local day
    assert berlin.tz_convert("Europe/Berlin").date() == dt.date(2024, 3, 31)
    assert P.parse_as_of(dt.date(2024, 1, 1), "UTC").hour == 23
    assert P.parse_as_of("2024-01-01T06:00", "UTC").hour == 6


def test_bad_freq_and_tz():
    with pytest.raises(ParameterError, match="'M' \\(month\\)"):
        P.check_freq("fortnight")
    assert P.check_freq("monthly") == "M" and P.check_freq("w") == "W"
    with pytest.raises(ParameterError, match="IANA"):
        P.check_tz("Nowhere/Land")
