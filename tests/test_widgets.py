"""The widget apps driven without a browser (definitions §3, §4, §6).

Controls are set through ``.value`` exactly as a user would; the re-sliced
tables are compared with independent references: retainkit.cohort_table /
crr_table / bracket_retention recomputed from a log *filtered to the selected
customers* (never through the app's precomputed cubes), a brute-force
per-customer loop (tests/reference.py), and loyalty.scenario_roi. The
notebooks are executed headless with papermill (marked slow).
"""

from __future__ import annotations

import base64
import json
import re
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import retainkit as rk
from retainkit import loyalty
from retainkit import widgets as wd
from retainkit.charts import embed

from .conftest import execute_notebook, read_cdnow
from .reference import brute_cohorts

ROOT = Path(__file__).resolve().parents[1]
COHORT_COLS = [
    "cohort",
    "age",
    "size",
    "active",
    "retention",
    "retention_lo",
    "retention_hi",
    "active_on_or_after",
    "retention_on_or_after",
    "partial",
    "revenue",
    "revenue_retention",
    "cum_revenue_per_customer",
]


@pytest.fixture(autouse=True)
def _no_bundle(monkeypatch):
    """The 0.9 MB Vega bundle is irrelevant to the Python side; keep the tests light."""
    monkeypatch.setattr(embed, "vega_loader_html", lambda: "<script></script>")


@pytest.fixture(scope="module")
def tx():
    return rk.datasets.load_sample()


@pytest.fixture(scope="module")
def full(tx):
    return rk.cohort_table(tx, "M", by=["channel", "country", "is_member"])


@pytest.fixture()
def app(tx):
    return wd.cohort_explorer(tx)


def acquisition_subset(tx, column=None, keep=None):
    """The log restricted to customers whose first purchase has column in keep (independent of the app)."""
    f = tx.frame
    if column is None:
        return rk.load_transactions(f, amount="amount", segments=list(tx.segments), as_of=tx.as_of, tz=tx.tz)
    buys = f[~(f["amount"] < 0)].sort_values(["customer_id", "timestamp"], kind="stable")
    first = buys.drop_duplicates("customer_id").set_index("customer_id")[column].astype(str)
    chosen = first.index[first.isin(keep)]
    sub = f[f["customer_id"].isin(chosen)]
    return rk.load_transactions(sub, amount="amount", segments=list(tx.segments), as_of=tx.as_of, tz=tx.tz)


def compare_cohorts(got: pd.DataFrame, want: pd.DataFrame, keys=()):
    cols = [*keys, *[c for c in COHORT_COLS if c in want.columns]]
    g = got[cols].sort_values([*keys, "cohort", "age"]).reset_index(drop=True)
    e = want[cols].sort_values([*keys, "cohort", "age"]).reset_index(drop=True)
    for k in keys:
        g[k] = g[k].astype(str)
        e[k] = e[k].astype(str)
    pd.testing.assert_frame_equal(g, e, check_dtype=False, check_exact=False, rtol=1e-9, atol=1e-9)


# ----------------------------------------------------------------------------- explorer: tables
def test_default_view_is_the_cohort_table(app, tx):
    compare_cohorts(app.table, rk.cohort_table(tx, "M"))
    compare_cohorts(app.pooled, rk.cohort_table(tx, "M"))
    want = rk.average_curve(rk.cohort_table(tx, "M"))
    got = app.average
    pd.testing.assert_frame_equal(
        got[want.columns].reset_index(drop=True), want.reset_index(drop=True), check_dtype=False, rtol=1e-9
    )
    assert app.cohort_range.value == ("2023-01", "2024-12")
    assert app.status.value == ""


def test_against_brute_force_loop(app, tx):
    app.filter_by.value = "channel"
    app.filter_values.value = ("organic", "referral")
    sub = acquisition_subset(tx, "channel", ["organic", "referral"])
    brute = brute_cohorts(sub, "M")
    t = app.table.assign(p=lambda d: [int(pd.Period(c, "M").ordinal) for c in d["cohort"]])
    assert len(t) == len(brute)
    for row in t.itertuples():
        cell = brute[(row.p, row.age)]
        assert row.size == cell["size"] and row.active == cell["active"]
        assert row.active_on_or_after == cell["on_or_after"]
        assert row.revenue == pytest.approx(cell["revenue"], abs=1e-6)


def test_filter_split_range_and_min_size(app, tx):
    app.filter_by.value = "country"
    app.filter_values.value = ("DE", "FR")
    app.split_by.value = "channel"
    app.cohort_range.value = ("2023-04", "2024-03")
    app.min_size.value = 20
    ref = rk.cohort_table(acquisition_subset(tx, "country", ["DE", "FR"]), "M", by="channel")
    ref = ref[(ref["cohort"] >= "2023-04") & (ref["cohort"] <= "2024-03")]
    size0 = ref[ref["age"] == 0].set_index(["channel", "cohort"])["size"]
    big = size0[size0 >= 20].index
    ref = ref.set_index(["channel", "cohort"]).loc[lambda d: d.index.isin(big)].reset_index()
    compare_cohorts(app.table, ref, keys=["channel"])
    avg = rk.average_curve(ref.reset_index(drop=True))
    got = app.average.sort_values(["channel", "age"]).reset_index(drop=True)
    cols = [
        "age",
        "cohorts",
        "size",
        "active",
        "retention",
        "retention_lo",
        "retention_hi",
        "retention_on_or_after",
        "revenue",
        "revenue_per_customer",
        "cum_revenue_per_customer",
    ]
    pd.testing.assert_frame_equal(
        got[cols], avg.sort_values(["channel", "age"]).reset_index(drop=True)[cols], check_dtype=False, rtol=1e-9
    )
    # the heatmap shows the pooled (unsplit) view of the same selection
    pooled = rk.cohort_table(acquisition_subset(tx, "country", ["DE", "FR"]), "M")
    pooled = pooled[(pooled["cohort"] >= "2023-04") & (pooled["cohort"] <= "2024-03")]
    ok = pooled[(pooled["age"] == 0) & (pooled["size"] >= 20)]["cohort"]
    compare_cohorts(app.pooled, pooled[pooled["cohort"].isin(ok)])


def test_granularity_change_rebuilds_cohorts(app, tx):
    app.freq.value = "Q"
    assert app.cohort_range.options[0] == "2023-Q1" and app.cohort_range.value == ("2023-Q1", "2024-Q4")
    compare_cohorts(app.table, rk.cohort_table(tx, "Q"))
    app.freq.value = "W"
    compare_cohorts(app.table, rk.cohort_table(tx, "W"))
    assert "weeks since" in app._head.value


def test_brackets_match_bracket_retention(app, tx):
    app.kind.value = "brackets"
    app.filter_by.value = "is_member"
    app.filter_values.value = ("False",)
    sub = acquisition_subset(tx, "is_member", ["False"])
    want = rk.bracket_retention(sub, ((1, 2), (3, 5), (6, 11)), "M")
    cols = ["cohort", "bracket", "age_from", "age_to", "size", "active", "retention", "retention_lo", "retention_hi"]
    pd.testing.assert_frame_equal(
        app.table[cols].reset_index(drop=True), want[cols].reset_index(drop=True), check_dtype=False, rtol=1e-12
    )
    app.split_by.value = "channel"
    want = rk.bracket_retention(sub, ((1, 2), (3, 5), (6, 11)), "M", by="channel")
    got = app.table.sort_values(["channel", "cohort", "age_from"]).reset_index(drop=True)
    pd.testing.assert_frame_equal(
        got[["channel", *cols]], want[["channel", *cols]].astype({"channel": object}), check_dtype=False, rtol=1e-12
    )


def test_crr_view_matches_crr_table_on_the_subset(app, tx):
    app.filter_by.value = "channel"
    app.filter_values.value = ("social",)
    app.cohort_range.value = ("2023-06", "2024-06")
    want = rk.crr_table(acquisition_subset(tx, "channel", ["social"]), "M", window="90D")
    want = want[want["period"] >= "2023-06"].reset_index(drop=True)  # from the first selected cohort on
    cols = [
        "period",
        "start_customers",
        "end_customers",
        "new",
        "retained",
        "lost",
        "reactivated",
        "crr",
        "crr_lo",
        "crr_hi",
        "crr_counts",
        "churn_rate",
    ]
    pd.testing.assert_frame_equal(app.crr[cols], want[cols], check_dtype=False)
    assert app.crr.attrs["window"] == "90D"


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    column=st.sampled_from(["channel", "country", "is_member"]),
    split=st.sampled_from(["", "channel", "country", "is_member"]),
    pick=st.integers(1, 2**5 - 1),
    lo=st.integers(0, 23),
    span=st.integers(0, 23),
    min_size=st.sampled_from([0, 1, 30, 80]),
)
def test_slicing_property(app, full, column, split, pick, lo, span, min_size):
    """Any filter / split / range / minimum equals the same numbers summed from cohort_table(by=all segments)."""
    values = app._seg_values[column]
    keep = tuple(v for i, v in enumerate(values) if pick >> i & 1) or (values[0],)
    hi = min(lo + span, 23)
    app.filter_by.value = column
    app.filter_values.value = keep
    app.split_by.value = split
    app.cohort_range.index = (lo, hi)
    app.min_size.value = min_size
    labels = app.cohort_range.options
    f = full[full[column].astype(str).isin(keep) & full["cohort"].between(labels[lo], labels[hi])]
    keys = [split] if split else []
    ref = f.groupby([*keys, "cohort", "age"], as_index=False)[["size", "active", "active_on_or_after"]].sum()
    size0 = ref[ref["age"] == 0].set_index([*keys, "cohort"])["size"]
    big = size0[size0 >= max(min_size, 1)].index
    ref = ref.set_index([*keys, "cohort"]).loc[lambda d: d.index.isin(big)].reset_index()
    if app.last_error is not None:  # nothing left: the app says so instead of drawing
        pooled = f.groupby(["cohort", "age"], as_index=False)["size"].sum()
        assert not (pooled[pooled["age"] == 0]["size"] >= max(min_size, 1)).any()
        assert "no cohort is left" in app.status.value
        return
    got = app.table[[*keys, "cohort", "age", "size", "active", "active_on_or_after"]]
    sort = [*keys, "cohort", "age"]
    pd.testing.assert_frame_equal(
        got.sort_values(sort).reset_index(drop=True).astype({k: str for k in keys}),
        ref.sort_values(sort).reset_index(drop=True).astype({k: str for k in keys}),
        check_dtype=False,
    )


# ----------------------------------------------------------------------------- explorer: charts, errors, export
def test_every_combination_draws(app):
    app.split_by.value = "channel"
    for split in ("channel", ""):
        app.split_by.value = split
        for metric in ("customers", "revenue", "cum_revenue"):
            app.metric.value = metric
            kinds = ("classic", "unbounded", "brackets") if metric == "customers" else ("classic",)
            for kind in kinds:
                app.kind.value = kind
                for intervals in (True, False):
                    app.intervals.value = intervals
                    app.render_all()
                    assert app.last_error is None, (split, metric, kind, app.status.value)
                    for name in ("heatmap", "curves", "crr"):
                        spec = app._specs[name]
                        html = app.outputs[name].outputs[0]["data"]["text/html"]
                        assert "vegaEmbed" in html and spec["$schema"].startswith(
                            "https://vega.github.io/schema/vega-lite/"
                        )
                    assert "<table" in app.outputs["table"].value
    assert app.kind.disabled  # retention kind applies to the customers metric only


def test_charts_change_with_controls(app):
    app.render_all()
    before = {k: json.dumps(v, sort_keys=True, default=str) for k, v in app._specs.items()}
    html_before = app.outputs["heatmap"].outputs[0]["data"]["text/html"]
    app.kind.value = "unbounded"
    assert app.outputs["heatmap"].outputs[0]["data"]["text/html"] != html_before  # visible tab redrawn at once
    assert "Retention (on or after)" in json.dumps(app._specs["heatmap"])
    app.render_all()
    assert json.dumps(app._specs["curves"], sort_keys=True, default=str) != before["curves"]
    # other tabs are drawn when opened
    app.metric.value = "cum_revenue"
    assert "curves" in app._stale
    app.views.selected_index = 1
    assert "curves" not in app._stale and "Cumulative revenue" in json.dumps(app._specs["curves"])


def test_intervals_toggle(app):
    app.render_all()
    assert "retention_lo" in app.table.columns and "retention_lo" in json.dumps(app._specs["curves"])
    app.intervals.value = False
    app.render_all()
    assert "retention_lo" not in app.table.columns
    assert "retention_lo" not in json.dumps(app._specs["curves"])


def test_empty_selection_is_a_readable_message(app):
    table = app.table.copy()
    app.min_size.value = 10**6
    assert isinstance(app.last_error, rk.DataError)
    assert "no cohort is left" in app.status.value and "Lower the minimum cohort size" in app.status.value
    pd.testing.assert_frame_equal(app.table, table)  # the previous view stays
    app.min_size.value = 0
    assert app.status.value == "" and app.last_error is None
    app.filter_by.value = "country"
    app.filter_values.value = ()
    assert "select at least one" in app.status.value


def test_unexpected_callback_error_is_shown(app, monkeypatch):
    def boom(name):
        raise RuntimeError("kaput")

    monkeypatch.setattr(app, "chart", boom)
    app.kind.value = "unbounded"
    assert "Something went wrong" in app.status.value and "kaput" in app.status.value
    assert isinstance(app.last_error, RuntimeError)


def test_export_is_the_current_view(app, tmp_path):
    app.split_by.value = "country"
    app.export_button.click()
    assert app.last_export == app.table.to_csv(index=False, lineterminator="\n")
    link = re.search(r'href="data:text/csv;base64,([^"]+)"', app.export_link.value)
    assert base64.b64decode(link.group(1)).decode() == app.last_export
    back = pd.read_csv(tmp_path / "x.csv") if app.export(tmp_path / "x.csv") else None
    assert list(back.columns) == list(app.table.columns) and len(back) == len(app.table)
    app.kind.value = "unbounded"
    assert app.export_link.value == ""  # a stale link is never offered


def test_real_log_cdnow_without_segments(tmp_path):
    frame = read_cdnow()
    tx = rk.load_transactions(frame, timestamp="date", amount="amount", date_format="%Y%m%d")
    app = wd.cohort_explorer(tx)
    assert app.filter_by.disabled and app.split_by.disabled
    compare_cohorts(app.table, rk.cohort_table(tx, "M"))
    app.freq.value = "W"
    compare_cohorts(app.table, rk.cohort_table(tx, "W"))
    app.metric.value = "cum_revenue"
    app.render_all()
    assert app.last_error is None
    want = rk.crr_table(tx, "W")
    pd.testing.assert_frame_equal(
        app.crr[["period", "retained", "crr"]],
        want[["period", "retained", "crr"]].reset_index(drop=True),
        check_dtype=False,
    )


def test_builder_errors():
    with pytest.raises(rk.ParameterError, match="already loaded"):
        wd.cohort_explorer(rk.datasets.load_sample(), amount="amount")
    with pytest.raises(rk.ParameterError, match="were not loaded"):
        wd.cohort_explorer("sample", segments=["nope"])
    with pytest.raises(rk.DataError):
        wd.cohort_explorer("/nonexistent/file.csv")
    panel = wd.error_panel(rk.DataError("column 'x' is missing"))
    assert "column &#x27;x&#x27; is missing" in panel.data and "rk-error" in panel.data


def test_loading_from_a_path_with_mapping():
    app = wd.cohort_explorer(str(rk.datasets.sample_path()), amount="amount", load_segments=["channel"])
    assert app.segments == ["channel"]
    assert app.metric.options[-1][1] == "cum_revenue"


# ----------------------------------------------------------------------------- loyalty ROI calculator
def test_roi_defaults_match_scenario_roi():
    calc = wd.loyalty_roi_calculator()
    want = loyalty.scenario_roi(preset="points")
    pd.testing.assert_frame_equal(calc.result.table, want.table)
    assert calc.result.metrics["npv"] == pytest.approx(want.metrics["npv"])
    assert calc.parameters() == pytest.approx(loyalty.preset_parameters("points"))
    assert f"{want.metrics['roi']:+.0%}" in calc.summary.value


def test_roi_controls_recompute():
    calc = wd.loyalty_roi_calculator()
    calc.params["retention_lift"].value = 0.04
    calc.params["breakage"].value = 0.4
    calc.params["horizon"].value = 36
    p = calc.parameters()
    assert p["horizon"] == 36
    want = loyalty.scenario_roi(**p)
    pd.testing.assert_frame_equal(calc.result.table, want.table)
    lifts = sorted(calc.grid["retention_lift"].unique())
    assert lifts[0] == 0 and lifts[-1] == pytest.approx(0.08)
    grid = loyalty.sensitivity(**p, retention_lifts=lifts)
    pd.testing.assert_frame_equal(calc.grid.reset_index(drop=True), grid, check_dtype=False)
    calc.render_all()
    assert "vegaEmbed" in calc.outputs["cash"].outputs[0]["data"]["text/html"]
    assert "ROI by retention lift and breakage" in json.dumps(calc._specs["sensitivity"])
    assert "<table" in calc.outputs["table"].value


@pytest.mark.parametrize("preset", sorted(loyalty.PRESETS))
def test_roi_presets_fill_every_control(preset):
    calc = wd.loyalty_roi_calculator("points" if preset != "points" else "tiered")
    calc.preset.value = preset
    assert calc.parameters() == pytest.approx(loyalty.preset_parameters(preset))
    want = loyalty.scenario_roi(preset=preset)
    assert calc.result.metrics["npv"] == pytest.approx(want.metrics["npv"])
    assert calc.result.metrics["break_even_retention_lift"] == pytest.approx(
        want.metrics["break_even_retention_lift"], nan_ok=True
    )


def test_roi_bad_combination_is_explained():
    calc = wd.loyalty_roi_calculator()
    before = calc.result
    calc.params["retention_lift"].value = 0.2  # 85 % + 20 points > 100 %
    assert "retention_lift" in calc.status.value and "rk-error" in calc.status.value
    assert calc.result is before
    calc.params["retention_lift"].value = 0.03
    assert calc.status.value == "" and calc.result is not before


def test_roi_overrides_and_errors():
    calc = wd.loyalty_roi_calculator("gamified", members=123_456, currency="EUR")
    assert calc.params["members"].value == 123_456 and "€" in calc.summary.value  # CLDR currency format
    with pytest.raises(rk.ParameterError, match="unknown scenario parameter"):
        wd.loyalty_roi_calculator(bogus=1)
    with pytest.raises(rk.ParameterError, match="preset"):
        wd.loyalty_roi_calculator("nope")


def test_chart_html_is_self_contained():
    html = wd.chart_output_html({"mark": "point", "data": {"values": [{"a": "</script><b>"}]}})
    # one escaping rule with the report (retainkit.charts.embed.script_json): every "<" of the spec is escaped
    assert "</script><b>" not in html and "\\u003c/script\\u003e\\u003cb\\u003e" in html
    assert "did not load" in html  # a chart never stays blank silently


# ----------------------------------------------------------------------------- notebooks (papermill)
def _run(nb: str, tmp_path: Path, **params) -> dict:
    import nbformat

    out = tmp_path / Path(nb).name
    execute_notebook(
        ROOT / "notebooks" / nb, out, parameters=params, kernel_name="python3", cwd=str(ROOT), progress_bar=False
    )
    return nbformat.read(out, as_version=4)


def _outputs_text(nb) -> str:
    parts = []
    for cell in nb.cells:
        for o in cell.get("outputs", []):
            parts.append(json.dumps(o.get("data", {})))
            parts.append(o.get("text", ""))
    return "\n".join(parts)


@pytest.mark.slow
@pytest.mark.parametrize("nb", ["explore_cohorts.ipynb", "loyalty_roi.ipynb"])
def test_notebooks_committed_without_outputs(nb):
    import nbformat

    book = nbformat.read(ROOT / "notebooks" / nb, as_version=4)
    assert all(not c.get("outputs") for c in book.cells if c.cell_type == "code")
    assert any("parameters" in c.metadata.get("tags", []) for c in book.cells)


@pytest.mark.slow
def test_explorer_notebook_on_sample(tmp_path):
    nb = _run("explore_cohorts.ipynb", tmp_path)
    assert "application/vnd.jupyter.widget-view+json" in _outputs_text(nb)


@pytest.mark.slow
def test_explorer_notebook_on_cdnow(tmp_path):
    csv = tmp_path / "cdnow.csv"
    read_cdnow().to_csv(csv, index=False)
    nb = _run(
        "explore_cohorts.ipynb",
        tmp_path,
        data=str(csv),
        timestamp="date",
        date_format="%Y%m%d",
        customer_id="customer_id",
        amount="amount",
        currency="USD",
    )
    text = _outputs_text(nb)
    assert "application/vnd.jupyter.widget-view+json" in text and "could not load" not in text


@pytest.mark.slow
def test_explorer_notebook_bad_parameter_shows_message(tmp_path):
    nb = _run("explore_cohorts.ipynb", tmp_path, data=str(tmp_path / "missing.csv"))
    text = _outputs_text(nb)
    assert "could not load the data" in text and "missing.csv" in text


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["points", "paid_membership"])
def test_roi_notebook(tmp_path, preset):
    nb = _run("loyalty_roi.ipynb", tmp_path, preset=preset, currency="EUR")
    assert "application/vnd.jupyter.widget-view+json" in _outputs_text(nb)


@pytest.mark.slow
def test_roi_notebook_bad_preset_shows_message(tmp_path):
    nb = _run("loyalty_roi.ipynb", tmp_path, preset="cashback")
    text = _outputs_text(nb)
    assert "could not start" in text and "cashback" in text


def test_calculator_period_is_a_deprecated_spelling_of_freq():
    with pytest.warns(DeprecationWarning, match=r"period=.*freq="):
        old = wd.loyalty_roi_calculator(period="quarter")
    new = wd.loyalty_roi_calculator(freq="Q")
    assert (old.freq, old.period) == (new.freq, new.period) == ("Q", "quarter")
    assert wd.loyalty_roi_calculator().period_name == "month"
    with pytest.warns(DeprecationWarning):
        assert wd.loyalty_roi_calculator(period="sprint").period_name == "sprint"
    with pytest.raises(rk.ParameterError, match="pass freq= only"):
        wd.loyalty_roi_calculator(freq="M", period="month")
