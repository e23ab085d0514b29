"""retainkit.charts: assert the Vega-Lite spec (marks, encodings, data), not pixels.

Tables are hand-made following the documented contract of cohort_table /
average_curve / crr_table, so these tests do not depend on the engine.
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd
import pytest

import retainkit.charts as rkc
from retainkit.exceptions import ParameterError
from retainkit.i18n import period_label


def cohort_frame(n_cohorts: int = 4, freq: str = "M", segments: dict | None = None) -> pd.DataFrame:
    """A triangle: cohort i observed at ages 0 .. n_cohorts - 1 - i."""
    rows = []
    starts = pd.period_range("2024-01", periods=n_cohorts, freq="M" if freq == "M" else "W")
    for i, start in enumerate(starts):
        size = 100 + 10 * i
        for age in range(n_cohorts - i):
            active = size if age == 0 else int(size * 0.5 / age)
            rows.append(
                {
                    **(segments or {}),
                    "cohort": str(start),
                    "cohort_start": start.start_time,
                    "age": age,
                    "size": size,
                    "active": active,
                    "retention": active / size,
                    "retention_lo": active / size - 0.05,
                    "retention_hi": min(1, active / size + 0.05),
                    "active_on_or_after": active,
                    "retention_on_or_after": active / size,
                    "partial": False,
                    "revenue": 10.0 * active,
                    "revenue_retention": active / size,
                    "cum_revenue_per_customer": 10.0 * (age + 1),
                }
            )
    t = pd.DataFrame(rows)
    t.attrs.update(freq=freq)
    return t


def average_frame(table: pd.DataFrame) -> pd.DataFrame:
    g = (
        table.groupby("age")
        .agg(cohorts=("cohort", "nunique"), size=("size", "sum"), active=("active", "sum"))
        .reset_index()
    )
    g["retention"] = g["active"] / g["size"]
    g["retention_lo"] = g["retention"] - 0.02
    g["retention_hi"] = g["retention"] + 0.02
    g["cum_revenue_per_customer"] = 10.0 * (g["age"] + 1)
    g.attrs.update(table.attrs)
    return g


def crr_frame(n: int = 8) -> pd.DataFrame:
    periods = pd.period_range("2024-01", periods=n, freq="M")
    start = np.arange(100, 100 + 10 * n, 10)
    retained = (start * 0.8).astype(int)
    t = pd.DataFrame(
        {
            "period": [str(p) for p in periods],
            "period_start": [p.start_time for p in periods],
            "start_customers": start,
            "end_customers": start + 10,
            "new": np.full(n, 25),
            "retained": retained,
            "lost": start - retained,
            "reactivated": np.full(n, 3),
            "crr": retained / start,
            "crr_lo": retained / start - 0.05,
            "crr_hi": retained / start + 0.05,
            "crr_counts": (start + 10 - 25) / start,
            "churn_rate": 1 - retained / start,
            "window_covered": [False] * 2 + [True] * (n - 2),
        }
    )
    t.attrs.update(freq="M", window="90D")
    return t


def layer_marks(spec: dict) -> list[str]:
    out = []
    for layer in spec["layer"]:
        mark = layer["mark"]
        out.append(mark if isinstance(mark, str) else mark["type"])
    return out


def data_of(spec: dict, layer: dict | None = None) -> list[dict]:
    node = layer if layer is not None else spec
    name = node.get("data", spec.get("data", {})).get("name")
    return spec["datasets"][name]


# ---------------------------------------------------------------- heatmap
def test_heatmap_marks_encodings_and_data():
    t = cohort_frame(4)
    spec = rkc.cohort_heatmap(t).to_dict()
    assert layer_marks(spec) == ["rect", "text"]
    rect = spec["layer"][0]["encoding"]
    assert rect["x"]["field"] == "age" and rect["x"]["type"] == "ordinal"
    assert rect["y"]["field"] == "cohort_label"
    assert rect["color"]["field"] == "rate" and rect["color"]["legend"]["format"] == ".0%"
    assert rect["color"]["scale"]["clamp"] is True
    assert [tt["field"] for tt in rect["tooltip"]] == ["cohort", "age", "size", "active", "rate", "interval"]
    rows = data_of(spec)
    assert len(rows) == len(t) == 10  # only observed cells: 4 + 3 + 2 + 1
    assert {r["cohort"] for r in rows} == {period_label(c, "M") for c in t["cohort"]}  # month names (i18n)
    # y order: oldest cohort first, labels carry the size
    assert rect["y"]["sort"][0] == "Jan 2024  (100)"
    first = next(r for r in rows if r["cohort"] == "Feb 2024" and r["age"] == 1)
    assert first["rate"] == pytest.approx(t.query("cohort == '2024-02' and age == 1")["retention"].iloc[0])
    assert first["interval"].count("%") == 2


def test_heatmap_colour_scale_spans_ages_after_zero():
    t = cohort_frame(4)
    spec = rkc.cohort_heatmap(t).to_dict()
    upper = spec["layer"][0]["encoding"]["color"]["scale"]["domain"][1]
    assert upper == pytest.approx(0.5)  # max retention at ages >= 1 is 0.5; age 0 (100 %) is clamped


def test_heatmap_other_values_and_bad_value():
    t = cohort_frame(3)
    spec = rkc.cohort_heatmap(t, value="retention_on_or_after", labels=False).to_dict()
    assert layer_marks(spec) == ["rect"]
    assert "interval" not in [tt["field"] for tt in spec["layer"][0]["encoding"]["tooltip"]]
    with pytest.raises(ParameterError, match="value='revenue'"):
        rkc.cohort_heatmap(t, value="revenue")


def test_heatmap_many_cohorts_stays_under_the_row_limit():
    t = cohort_frame(160, freq="W")  # 12,880 observed cells: over Altair's 5,000
    assert len(t) > 5000
    chart = rkc.cohort_heatmap(t, max_cohorts=36)
    spec = chart.to_dict()  # would raise MaxRowsError if the limit were hit
    rows = data_of(spec)
    assert len({r["cohort"] for r in rows}) == 36
    assert len(rows) == 36 * 37 // 2
    assert "showing the latest 36 of 160 cohorts" in spec["title"]["subtitle"]
    assert layer_marks(spec) == ["rect"]  # too many ages for cell labels
    assert t.attrs["freq"] == "W" and "weeks" in spec["layer"][0]["encoding"]["x"]["title"]


def test_heatmap_drops_partial_cells_and_refuses_several_segments():
    t = cohort_frame(3)
    t.loc[t.index[-1], "partial"] = True
    assert len(data_of(rkc.cohort_heatmap(t).to_dict())) == len(t) - 1
    both = pd.concat([cohort_frame(3, segments={"channel": "web"}), cohort_frame(3, segments={"channel": "shop"})])
    with pytest.raises(ParameterError, match="segment"):
        rkc.cohort_heatmap(both)
    one = cohort_frame(3, segments={"channel": "web"})
    assert len(data_of(rkc.cohort_heatmap(one).to_dict())) == len(one)


def test_heatmap_rejects_tables_without_the_columns():
    with pytest.raises(ParameterError, match="no column"):
        rkc.cohort_heatmap(pd.DataFrame({"cohort": ["a"], "age": [0]}))


# ---------------------------------------------------------------- curves
def test_retention_curves_layers_and_average():
    t = cohort_frame(6)
    avg = average_frame(t)
    spec = rkc.retention_curves(t, avg).to_dict()
    assert layer_marks(spec) == ["line", "line", "text", "area", "line", "text"]
    cohort_layer, newest, newest_label, band, mean, mean_label = spec["layer"]
    # colour says what a line is (one legend for the three kinds), the cohort is in detail and tooltip
    assert cohort_layer["encoding"]["color"]["field"] == "series"
    assert cohort_layer["encoding"]["detail"]["field"] == "cohort"
    domain = cohort_layer["encoding"]["color"]["scale"]["domain"]
    assert domain == ["Earlier cohorts", "Newest cohort (May 2024)", "Average of all cohorts"]  # month names (i18n)
    assert all(layer["encoding"]["color"].get("legend") is not None for layer in (cohort_layer, newest, mean))
    assert {r["cohort"] for r in data_of(spec, newest)} == {"May 2024"}
    assert [r["label"] for r in data_of(spec, mean_label)] == ["Average"]
    assert cohort_layer["encoding"]["y"]["axis"]["format"] == ".0%"
    assert band["encoding"]["y"]["field"] == "retention_lo" and band["encoding"]["y2"]["field"] == "retention_hi"
    assert mean["encoding"]["y"]["field"] == "retention"
    rows = data_of(spec, cohort_layer)
    assert min(r["age"] for r in rows) == 1  # age 0 (100 %) left out by default
    # the average is drawn only where at least 3 cohorts are observed (ages 1..3 of 6 cohorts)
    assert sorted(r["age"] for r in data_of(spec, mean)) == [1, 2, 3]
    assert spec["layer"][0]["encoding"]["y"]["scale"]["domain"][0] == 0


def test_retention_curves_limit_cohorts_and_without_average():
    t = cohort_frame(20)
    spec = rkc.retention_curves(t, max_cohorts=5, start_age=0).to_dict()
    assert layer_marks(spec) == ["line", "line", "text"]
    rows = data_of(spec, spec["layer"][0]) + data_of(spec, spec["layer"][1])
    assert {r["cohort"] for r in rows} == {period_label(c, "M") for c in sorted(t["cohort"].unique())[-5:]}
    assert min(r["age"] for r in rows) == 0


def test_revenue_retention_curves_use_pooled_average_without_band():
    t = cohort_frame(5)
    pooled = pd.DataFrame({"age": [0, 1, 2], "cohorts": [5, 4, 3], "revenue_retention": [1.0, 0.5, 0.25]})
    spec = rkc.retention_curves(t, pooled, value="revenue_retention").to_dict()
    assert layer_marks(spec) == ["line", "line", "text", "line", "text"]  # no band: no interval
    assert "pooled" in " ".join(spec["title"]["subtitle"])


def test_cumulative_revenue_curves():
    t = cohort_frame(5)
    spec = rkc.cumulative_revenue_curves(t, average_frame(t), currency="EUR").to_dict()
    assert layer_marks(spec) == ["line", "line", "text", "line", "text"]
    assert spec["layer"][0]["encoding"]["y"]["title"] == "Revenue per customer (EUR)"
    assert spec["layer"][0]["encoding"]["y"]["field"] == "cum_revenue_per_customer"


# ---------------------------------------------------------------- CRR
def test_crr_trend_spec():
    c = crr_frame(8)
    spec = rkc.crr_trend(c).to_dict()
    top, bottom = spec["vconcat"]
    assert layer_marks(top) == ["area", "line"]
    band, line = top["layer"]
    assert line["encoding"]["y"]["field"] == "crr" and line["encoding"]["y"]["axis"]["format"] == ".0%"
    assert band["encoding"]["y2"]["field"] == "crr_hi"
    assert "90-day activity window" in top["title"]["text"]
    rows = spec["datasets"][top["data"]["name"]] if "data" in top else data_of(spec, band)
    assert [r["period"] for r in rows] == [period_label(x, "M") for x in c["period"][2:]]  # uncovered windows hidden
    counts = spec["datasets"][bottom["data"]["name"]]
    assert sorted({r["measure"] for r in counts}) == sorted(["At the start", "At the end", "New", "Reactivated"])
    assert bottom["encoding"]["color"]["scale"]["domain"] == ["At the start", "At the end", "New", "Reactivated"]
    s_row = next(
        r for r in counts if r["measure"] == "At the start" and r["period"] == period_label(c["period"].iloc[-1], "M")
    )
    assert s_row["customers"] == c["start_customers"].iloc[-1]


def test_crr_trend_limits_periods():
    spec = rkc.crr_trend(crr_frame(30), max_periods=12).to_dict()
    top = spec["vconcat"][0]
    rows = (
        spec["datasets"][top["layer"][0]["data"]["name"]]
        if "data" in top["layer"][0]
        else spec["datasets"][top["data"]["name"]]
    )
    assert len(rows) == 12


# ---------------------------------------------------------------- segments
def test_segment_comparison_orders_by_size_and_limits():
    parts = []
    for i, name in enumerate(["small", "big", "<b>mid</b>"]):
        a = average_frame(cohort_frame(5))
        a["size"] = a["size"] * (1, 10, 5)[i]
        a.insert(0, "channel", name)
        parts.append(a)
    avg = pd.concat(parts, ignore_index=True)
    avg.attrs["freq"] = "M"
    spec = rkc.segment_comparison(avg).to_dict()
    assert layer_marks(spec) == ["area", "line", "text"]
    line = spec["layer"][1]["encoding"]
    assert line["color"]["scale"]["domain"] == ["big", "<b>mid</b>", "small"]
    assert line["color"]["title"] == "channel"
    # no layer switches the shared colour legend off (that removed the legend of every layer)
    assert all(layer["encoding"]["color"]["legend"] is not None for layer in spec["layer"])
    # direct labels at the line ends: one per segment
    assert sorted(r["segment"] for r in data_of(spec, spec["layer"][2])) == ["<b>mid</b>", "big", "small"]
    spec2 = rkc.segment_comparison(avg, "channel", max_segments=2).to_dict()
    assert spec2["layer"][1]["encoding"]["color"]["scale"]["domain"] == ["big", "<b>mid</b>"]
    assert "2 largest of 3" in " ".join(spec2["title"]["subtitle"])
    with pytest.raises(ParameterError):
        rkc.segment_comparison(average_frame(cohort_frame(3)))


def test_theme_is_registered_not_enabled():
    assert "retainkit" in alt.theme.names()
    assert alt.theme.active != "retainkit"
    cfg = rkc.theme_config()
    assert cfg["axis"]["labelFontSize"] > 0
    cfg["axis"]["labelFontSize"] = 99
    assert rkc.theme_config()["axis"]["labelFontSize"] != 99  # a copy each time


def test_charts_do_not_mutate_inputs():
    t = cohort_frame(5)
    before = t.copy()
    rkc.cohort_heatmap(t)
    rkc.retention_curves(t, average_frame(t))
    pd.testing.assert_frame_equal(t, before)


def test_retention_curves_max_age_cuts_cohorts_and_average():
    t = cohort_frame(10)
    spec = rkc.retention_curves(t, average_frame(t), max_age=4, min_cohorts=1).to_dict()
    ages = [r["age"] for layer in spec["layer"] for r in data_of(spec, layer)]
    assert max(ages) == 4 and min(ages) == 1
    assert "ages up to 4" in " ".join(spec["title"]["subtitle"])


def test_segment_comparison_without_interval_columns_draws_no_band():
    import pandas as pd

    from retainkit.charts import segment_comparison

    avg = pd.DataFrame(
        {
            "channel": ["a", "a", "b", "b"],
            "age": [0, 1, 0, 1],
            "retention": [1.0, 0.4, 1.0, 0.3],
            "size": [10, 10, 5, 5],
        }
    )
    spec = segment_comparison(avg).to_dict()
    marks = [layer["mark"]["type"] if isinstance(layer["mark"], dict) else layer["mark"] for layer in spec["layer"]]
    assert marks == ["line", "text"]  # no band; the text layer labels the line ends


# ---------------------------------------------------------------- workshop charts: economics grid, windows, projections
def test_claim_grid_chart_bands_and_labels():
    from retainkit.economics import REICHHELD_SASSER_RANGE, five_percent_claim_grid

    grid = five_percent_claim_grid(retentions=(0.5, 0.6, 0.8), margin_growths=(0.0, 0.15))
    spec = rkc.claim_grid_chart(grid, claimed_range=REICHHELD_SASSER_RANGE).to_dict()
    assert layer_marks(spec) == ["rect", "text"]
    rows = {(r["retention"], r["margin_growth"]): r for r in data_of(spec)}
    assert rows[(0.5, 0.0)]["band"].startswith("no payback") and rows[(0.5, 0.0)]["label"] == "n/a"
    assert rows[(0.5, 0.15)]["band"] == "above 85 %"  # 98 %: explodes on a small base
    assert rows[(0.8, 0.0)]["band"] == "25-85 %" and rows[(0.8, 0.0)]["label"] == "39 %"
    assert spec["layer"][0]["encoding"]["color"]["scale"]["domain"][:3] == ["below 25 %", "25-85 %", "above 85 %"]
    with pytest.raises(ParameterError):
        rkc.claim_grid_chart(pd.DataFrame({"retention": [0.5]}))


def test_lift_chart_labels_its_windows():
    from retainkit.loyalty import measure_program_lift, simulate_program

    log, _ = simulate_program(800, 20, seed=2)
    spec = rkc.lift_chart(measure_program_lift(log, n_boot=0, seed=0)).to_dict()
    assert layer_marks(spec) == ["rect", "line", "text"]
    spans = {r["window"]: (r["x"], r["x2"]) for r in data_of(spec, spec["layer"][0])}
    assert spans == {"baseline": (-6.5, -3.5), "matching": (-3.5, -0.5), "join": (-0.5, 0.5), "post": (0.5, 3.5)}
    assert spec["layer"][2]["encoding"]["text"]["field"] == "window"


def test_backtest_chart_with_other_projections_shades_the_holdout():
    from retainkit.clv import backtest

    survivors = [1000, 631, 468, 382, 326, 289, 262, 241, 223, 207, 194, 183, 173]
    bt = backtest(survivors, 7)
    naive = [np.nan] * 7 + [241 * (241 / 262) ** k for k in range(6)]
    spec = rkc.sbg_backtest_chart(bt, others={"naive (last rate)": naive}).to_dict()
    assert layer_marks(spec) == ["rect", "text", "line"]
    band = data_of(spec, spec["layer"][0])[0]
    assert (band["x"], band["x2"]) == (7.5, 12.5)
    lines = pd.DataFrame(data_of(spec, spec["layer"][2]))
    assert set(lines["series"]) == {"Actual", "sBG projection", "naive (last rate)"}
    err = lines[(lines.series == "naive (last rate)") & (lines.period == 12)]["pct_error"].iloc[0]
    assert err == pytest.approx(100 * (241 * (241 / 262) ** 5 - 173) / 173)
    assert "MAPE" in spec["title"]["subtitle"]
    with pytest.raises(ParameterError, match="one per period"):
        rkc.sbg_backtest_chart(bt, others={"x": [1.0, 2.0]})
