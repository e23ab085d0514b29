"""The cohort explorer split by a segment, its metric-aware charts, the "Your data" panel (definitions §1, §3, §4).

Driven through the widgets' ``.value`` as a user would; numbers are compared
with retainkit.crr_table / cohort_table run on an independently filtered log
(tests/test_widgets.py has the helpers), charts through their Vega-Lite specs.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

import retainkit as rk
from retainkit import widgets as wd
from retainkit.charts import embed, split

from .test_widgets import acquisition_subset, compare_cohorts


@pytest.fixture(autouse=True)
def _no_bundle(monkeypatch):
    monkeypatch.setattr(embed, "vega_loader_html", lambda: "<script></script>")


@pytest.fixture(scope="module")
def tx():
    return rk.datasets.load_sample()


@pytest.fixture()
def app(tx):
    return wd.cohort_explorer(tx, currency="EUR")


def spec_of(app, name):
    return embed.chart_spec(app.chart(name), validate=True)


def legend_domains(spec) -> list[list[str]]:
    """Domains of every categorical colour scale with a legend in a (layered / concatenated) spec."""
    found = []

    def walk(node):
        if isinstance(node, dict):
            enc = node.get("encoding", {})
            for ch in ("color", "fill"):
                c = enc.get(ch)
                if isinstance(c, dict) and c.get("type") == "nominal" and c.get("legend", {}) is not None:
                    dom = c.get("scale", {}).get("domain")
                    if dom:
                        found.append(list(dom))
            for v in node.values():
                walk(v)
        elif isinstance(node, list):
            for v in node:
                walk(v)

    walk(spec)
    return found


def test_crr_split_is_crr_table_by_segment(app, tx):
    app.filter_by.value = "country"
    app.filter_values.value = ("DE", "FR")
    app.split_by.value = "channel"
    app.cohort_range.value = ("2023-06", "2024-06")
    want = rk.crr_table(acquisition_subset(tx, "country", ["DE", "FR"]), "M", window="90D", by="channel")
    want = want[want["period"] >= "2023-06"]
    cols = [
        "channel",
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
        "window_covered",
    ]
    got = app.crr
    assert list(got.columns[:2]) == ["channel", "period"]
    # crr_table lists a segment's periods from its first customer on; the view lists every period (zero counts)
    got = got[got["start_customers"] + got["end_customers"] > 0]
    want = want[want["start_customers"] + want["end_customers"] > 0]
    key = ["channel", "period"]
    pd.testing.assert_frame_equal(
        got[cols].sort_values(key).reset_index(drop=True),
        want[cols].astype({"channel": object}).sort_values(key).reset_index(drop=True),
        check_dtype=False,
    )
    spec = spec_of(app, "crr")
    assert sorted(legend_domains(spec)[0]) == sorted(want["channel"].astype(str).unique())
    assert "by channel" in json.dumps(spec) and "Wilson" in json.dumps(spec)


def test_split_heatmap_has_one_block_per_segment(app, tx):
    app.split_by.value = "channel"
    spec = spec_of(app, "heatmap")
    blocks = spec["vconcat"]
    names = sorted(app.table["channel"].unique())
    assert len(blocks) == len(names)
    titles = sorted(b["title"]["text"] for b in blocks)
    assert titles == sorted(f"channel: {n}" for n in names)
    assert spec["resolve"]["scale"]["color"] == "shared"
    compare_cohorts(app.table, rk.cohort_table(tx, "M", by="channel"), keys=["channel"])
    app.kind.value = "brackets"
    assert len(spec_of(app, "heatmap")["vconcat"]) == len(names)
    for metric, label in (("revenue", "Revenue retention"), ("cum_revenue", "Cumulative revenue per customer")):
        app.metric.value = metric
        spec = spec_of(app, "heatmap")
        assert spec["title"]["text"] == f"{label} by cohort, one block per channel"
        assert len(spec["vconcat"]) == len(names)


def test_money_formats():
    s = pd.Series([1234.5, -3.0, float("nan")])
    assert list(split.money_text(s, "EUR")) == ["€1,234.50", "-€3.00", ""]
    assert list(split.money_text(s, "SEK")) == ["SEK 1,234.50", "-SEK 3.00", ""]
    assert list(split.money_text(s, "")) == ["1,234.50", "-3.00", ""]
    assert "'$'" in split.money_axis("USD").to_dict()["labelExpr"]


def test_split_curves_follow_the_metric(app):
    app.split_by.value = "channel"
    spec = spec_of(app, "curves")
    text = json.dumps(spec, ensure_ascii=False)
    assert "Average retention by channel" in text
    assert sorted(legend_domains(spec)[0]) == sorted(app.table["channel"].unique())
    app.metric.value = "revenue"
    text = json.dumps(spec_of(app, "curves"), ensure_ascii=False)
    assert "Average revenue per customer by channel" in text
    assert "Revenue per customer (EUR)" in text and "'€'" in text  # axis title and currency-labelled axis
    assert '"title": "revenue_per_customer"' not in text
    # tooltips show money with the currency, from average_curve's revenue_per_customer
    values = next(v for v in spec_of(app, "curves")["datasets"].values() if v and "value_text" in v[0])
    row = values[0]
    assert row["value_text"] == f"€{row['revenue_per_customer']:,.2f}"
    app.metric.value = "cum_revenue"
    assert "Average cumulative revenue per customer by channel" in json.dumps(spec_of(app, "curves"))


def test_export_has_the_segment_column(app, tmp_path):
    app.split_by.value = "country"
    text = app.export(tmp_path / "v.csv")
    back = pd.read_csv(tmp_path / "v.csv")
    assert list(back.columns[:2]) == ["country", "cohort"]
    assert len(back) == len(app.table) and text.startswith("country,cohort")
    app.render_all()
    assert "<th" in app.outputs["table"].value and ">country</th>" in app.outputs["table"].value


def test_pooled_curves_highlight_the_average_and_one_cohort(app):
    assert app.highlight.value  # default: the latest cohort with 3+ complete ages
    picked = app.highlight.options[3][1]
    app.highlight.value = picked
    spec = spec_of(app, "curves")
    assert legend_domains(spec) == [["Average of all cohorts", f"Cohort {picked}"]]
    app.highlight.value = ""
    assert legend_domains(spec_of(app, "curves")) == [["Average of all cohorts"]]
    app.cohort_range.value = ("2023-01", "2023-12")  # the reader's "(none)" is kept
    assert app.highlight.value == ""


# ----------------------------------------------------------------------------- "Your data" panel
@pytest.fixture()
def shop_csv(tx, tmp_path):
    f = tx.frame
    out = pd.DataFrame(
        {
            "client": f["customer_id"],
            "order_date": f["timestamp"].dt.strftime("%Y%m%d"),
            "total": f["amount"],
            "channel": f["channel"],
            "note": "x",
        }
    )
    path = tmp_path / "shop.csv"
    out.to_csv(path, index=False)
    return path


def test_picker_fills_the_mapping_from_the_header_and_loads(app, shop_csv):
    p = app.picker
    p.path.value = str(shop_csv)
    assert [v for _, v in p.customer_id.options] == ["client", "order_date", "total", "channel", "note"]
    assert p.timestamp.value == "order_date" and p.amount.value == "total"
    p.customer_id.value = "client"
    p.segments.value = ("channel",)
    p.date_format.value = "%Y%m%d"
    p.currency.value = "USD"
    p.load_button.click()
    assert "Loaded shop.csv" in p.message.value, p.message.value
    want = rk.load_transactions(
        shop_csv,
        customer_id="client",
        timestamp="order_date",
        amount="total",
        segments=["channel"],
        date_format="%Y%m%d",
    )
    compare_cohorts(app.table, rk.cohort_table(want, "M"))
    assert app.segments == ["channel"] and app.currency == "USD"
    assert [v for _, v in app.split_by.options] == ["", "channel"]
    app.split_by.value = "channel"
    assert app.last_error is None and set(app.table["channel"]) == set(want.frame["channel"].astype(str))


def test_picker_shows_the_loaders_errors(app, shop_csv, tmp_path):
    p = app.picker
    before = app.table.copy()
    p.path.value = str(tmp_path / "missing.csv")
    assert "rk-error" in p.message.value and "no such file" in p.message.value
    p.path.value = str(shop_csv)
    p.customer_id.value = "client"
    p.amount.value = "note"  # text, not amounts: the loader names the column
    p.load_button.click()
    assert "rk-error" in p.message.value and "DataError" in p.message.value and "note" in p.message.value
    pd.testing.assert_frame_equal(app.table, before)  # the previous data stays
    bad = tmp_path / "data.xlsx"
    bad.write_text("x")
    p.path.value = str(bad)
    assert "unsupported file type" in p.message.value and p.load_button.disabled
