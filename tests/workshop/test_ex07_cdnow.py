"""Notebook 07's model answers against independent counts on the raw CDNOW rows (definitions §3, §4)."""

from __future__ import annotations

import pandas as pd
import pytest

from retainkit import workshop

from ..conftest import read_cdnow


def test_january_cohort_age_1_against_the_raw_rows():
    raw = read_cdnow()
    raw["month"] = pd.to_datetime(raw["date"], format="%Y%m%d").dt.to_period("M")
    first = raw.groupby("customer_id")["month"].min()
    jan = set(first[first == pd.Period("1997-01", "M")].index)
    feb_buyers = set(raw.loc[raw["month"] == pd.Period("1997-02", "M"), "customer_id"])
    assert workshop.solution("07.1") == pytest.approx(len(jan & feb_buyers) / len(jan))


def test_q3_1997_crr_against_the_raw_rows():
    raw = read_cdnow()
    ts = pd.to_datetime(raw["date"], format="%Y%m%d")

    def at(boundary: str) -> set:
        b = pd.Timestamp(boundary)
        return set(raw.loc[(ts >= b - pd.Timedelta(days=90)) & (ts < b), "customer_id"])

    S, E = at("1997-07-01"), at("1997-10-01")
    assert workshop.solution("07.2") == pytest.approx(len(S & E) / len(S))
    assert workshop.solution("07.3") == "a" and workshop.solution("07.4") == "no"
