"""Tests for retainkit.charts.clv on fitted CLV models (definitions §5)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from retainkit.charts.clv import clv_curve_chart, sbg_backtest_chart, sbg_survival_chart
from retainkit.clv import ShiftedBetaGeoFitter, backtest, empirical_clv, rfm_summary
from retainkit.exceptions import ParameterError

from .test_clv_margin import _cohort_table
from .test_clv_sbg import HIGH_END, REGULAR


# =========================================================================== charts
def _data(chart):
    spec = chart.to_dict()
    name = spec["data"]["name"]
    return spec, pd.DataFrame(spec["datasets"][name])


def test_sbg_backtest_chart_spec():
    bt = backtest(REGULAR, 7)
    chart = sbg_backtest_chart(bt.table)
    assert isinstance(chart, __import__("altair").Chart)
    spec, data = _data(chart)
    assert spec["mark"]["type"] == "line" and spec["mark"]["point"] is True
    enc = spec["encoding"]
    assert enc["x"]["field"] == "period" and enc["y"]["field"] == "survivors"
    assert enc["color"]["field"] == "series" and enc["strokeDash"]["field"] == "series"
    assert len(data) == 2 * 13 and set(data["series"]) == {"Actual", "sBG projection"}
    proj = data[data.series == "sBG projection"].sort_values("period")
    np.testing.assert_allclose(proj["survivors"], bt.table["predicted"])
    assert "MAPE 1.5%" in spec["title"]["subtitle"]
    # the result object works too
    assert sbg_backtest_chart(bt).to_dict()["encoding"]["x"]["field"] == "period"


def test_sbg_survival_chart_spec():
    m = ShiftedBetaGeoFitter().fit(HIGH_END[:8])
    spec, data = _data(sbg_survival_chart(m, actual=HIGH_END))
    assert spec["mark"]["type"] == "line"
    assert set(data["series"]) == {"Actual", "sBG fit", "sBG projection"}
    assert data[data.series == "Actual"]["survivors"].tolist() == HIGH_END
    proj = data[data.series == "sBG projection"]
    assert proj["period"].min() == 7 and proj["period"].max() == 14
    assert "0.668" in spec["title"]["subtitle"]
    with pytest.raises(ParameterError):
        sbg_survival_chart(ShiftedBetaGeoFitter())


def test_clv_curve_chart_spec():
    res = empirical_clv(_cohort_table(), margin=0.5)
    spec, data = _data(clv_curve_chart(res))
    assert spec["mark"]["type"] == "line"
    assert spec["encoding"]["x"]["field"] == "age" and spec["encoding"]["y"]["field"] == "clv"
    assert spec["encoding"]["strokeWidth"]["field"] == "kind"
    assert set(data["kind"]) == {"cohort", "average"}
    avg = data[data.kind == "average"].sort_values("age")
    np.testing.assert_allclose(avg["clv"], res.summary["clv"])
    assert len(data) == len(res.table) + len(res.summary)
    assert "50%" in spec["title"]["subtitle"]


def test_rfm_summary_aware_timestamps_any_index_and_time_zone():
    ts = pd.to_datetime(["2024-01-01 20:00", "2024-01-02 10:00", "2024-01-05 23:30"]).tz_localize("America/New_York")
    df = pd.DataFrame({"customer_id": [1, 1, 1], "timestamp": ts, "amount": [5.0, 6.0, 7.0]}, index=[10, 20, 30])
    # in UTC: Jan 2 01:00, Jan 2 15:00, Jan 6 04:30 -> two distinct days after the first
    utc = rfm_summary(df, observation_end="2024-01-10", tz="UTC").iloc[0]
    assert (utc["frequency"], utc["recency"], utc["T"], utc["monetary_value"]) == (1, 4.0, 8.0, 7.0)
    # in New York: Jan 1, Jan 2, Jan 5 -> three distinct days
    ny = rfm_summary(df, observation_end="2024-01-10", tz="America/New_York").iloc[0]
    assert (ny["frequency"], ny["recency"], ny["T"], ny["monetary_value"]) == (2, 4.0, 9.0, 6.5)
    assert rfm_summary(df).iloc[0]["T"] == 4.0  # default end: the day of the latest timestamp
