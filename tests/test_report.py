"""retainkit.report: numbers, page HTML, export, and the papermill runner end to end."""

from __future__ import annotations

import json
import math
import os
import re
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import nbformat
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from nbclient.exceptions import CellTimeoutError, DeadKernelError

import retainkit.charts as rkc
from retainkit import report as rr
from retainkit.cohorts import average_curve, cohort_table
from retainkit.data import load_transactions
from retainkit.datasets import sample_path
from retainkit.exceptions import ParameterError, ReportError
from retainkit.i18n import translator
from retainkit.metrics import crr_table, purchase_metrics
from retainkit.params import validate_params

SAMPLE_PARAMS = {"data": "sample", "segment": "channel", "order_id": "order_id"}


# =========================================================================== numbers
def test_diff_interval_reproduces_newcombe_1998_example():
    # Newcombe (1998), Statistics in Medicine 17:873-890, Table II, example (a):
    # 56/70 - 48/80, method 10 (score, no continuity correction): 0.0524 to 0.3339.
    d, lo, hi = rr.diff_interval(56, 70, 48, 80)
    assert d == pytest.approx(0.2)
    assert lo == pytest.approx(0.0524, abs=5e-5)
    assert hi == pytest.approx(0.3339, abs=5e-5)
    # example (b): 9/10 - 3/10 -> 0.1705 to 0.8090
    d, lo, hi = rr.diff_interval(9, 10, 3, 10)
    assert (lo, hi) == (pytest.approx(0.1705, abs=5e-5), pytest.approx(0.8090, abs=5e-5))
    assert all(math.isnan(v) for v in rr.diff_interval(1, 0, 1, 2))


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 400), st.integers(1, 400), st.data())
def test_diff_interval_contains_the_difference_and_is_antisymmetric(n1, n2, data):
    k1 = data.draw(st.integers(0, n1))
    k2 = data.draw(st.integers(0, n2))
    d, lo, hi = rr.diff_interval(k1, n1, k2, n2)
    assert lo - 1e-12 <= d <= hi + 1e-12 and -1 <= lo and hi <= 1
    d2, lo2, hi2 = rr.diff_interval(k2, n2, k1, n1)
    assert (d2, lo2, hi2) == (pytest.approx(-d), pytest.approx(-hi), pytest.approx(-lo))


def test_pooled_revenue_retention_matches_a_loop():
    rows = []
    rev = {("a", 0): 100.0, ("a", 1): 40.0, ("a", 2): 10.0, ("b", 0): 50.0, ("b", 1): 30.0, ("c", 0): 20.0}
    for (c, k), v in rev.items():
        rows.append({"cohort": c, "age": k, "revenue": v, "partial": False})
    rows.append({"cohort": "c", "age": 1, "revenue": 999.0, "partial": True})  # partial: left out
    t = pd.DataFrame(rows)
    got = rr.pooled_revenue_retention(t).set_index("age")["revenue_retention"]
    for k in (0, 1, 2):
        cohorts = {c for (c, a) in rev if a == k}
        expect = sum(rev[(c, k)] for c in cohorts) / sum(rev[(c, 0)] for c in cohorts)
        assert got[k] == pytest.approx(expect)


@pytest.mark.parametrize("m, r, d", [(10.0, 0.8, 0.01), (3.0, 0.5, 0.0), (25.0, 0.95, 0.02)])
def test_clv_estimate_equals_a_discounted_sum(m, r, d):
    # margin m at the end of each period survived: sum_{t>=1} m r^t / (1+d)^t
    brute = sum(m * r**t / (1 + d) ** t for t in range(1, 5000))
    assert rr.clv_estimate(m, r, d) == pytest.approx(brute, rel=1e-9)
    assert math.isnan(rr.clv_estimate(m, float("nan"), d))


def test_discount_per_period_compounds_to_the_yearly_rate():
    assert (1 + rr.discount_per_period(0.1, "M")) ** 12 == pytest.approx(1.1)
    assert rr.discount_per_period(0.1, "Y") == pytest.approx(0.1)


def test_money_format():
    assert rr.money(1234.5, "USD") == "$1,234.50"
    assert rr.money(-3, "EUR", 0) == "-€3"
    assert rr.money(2, "SEK") == "SEK\u00a02.00"  # CLDR currency spacing
    assert rr.money(float("nan"), "USD") == "–"


# =========================================================================== HTML pieces
def test_script_json_cannot_close_the_script_element():
    text = rr.script_json({"v": "</script><script>alert(1)</script><!-- & \u2028"})
    assert "</" not in text and "<!--" not in text and "<" not in text and "&" not in text
    assert json.loads(text)["v"].startswith("</script>")


def test_table_html_escapes_cells_and_headers():
    df = pd.DataFrame({"<b>col</b>": ["<script>alert(1)</script>"], "n": [1234]})
    html = rr.table_html(df, formats={"n": "{:,}"}, numeric=("n",), caption="<i>cap</i>")
    assert "<script>" not in html and "<b>" not in html and "<i>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html and "1,234" in html


@pytest.fixture(scope="module")
def sample_data():
    p = validate_params({**SAMPLE_PARAMS, "as_of": "2024-12-31"})
    return rr.compute(p)


def test_chart_html_interactive_is_numbered_and_safe(sample_data):
    page = rr.Page(sample_data.params)
    t = cohort_table(sample_data.tx, "M")
    a = sample_data.segment_average.copy()
    a["channel"] = a["channel"].replace({"organic": "</script><script>alert(1)</script>"})
    h1 = page.chart_html(rkc.cohort_heatmap(t))
    h2 = page.chart_html(rkc.segment_comparison(a, "channel"))
    assert 'id="rk-chart-1"' in h1 and 'id="rk-chart-2"' in h2
    assert h2.count("</script>") == 1 and "alert(1)" in h2  # the value is there, escaped inside JSON
    assert "<script>alert" not in h2
    again = rr.Page(sample_data.params)
    assert again.chart_html(rkc.cohort_heatmap(t)) == h1  # deterministic


def test_chart_html_svg_escapes_text(sample_data):
    page = rr.Page(sample_data.params.replace(charts="svg"))
    a = sample_data.segment_average.copy()
    a["channel"] = a["channel"].replace({"organic": "<script>alert(1)</script>"})
    html = page.chart_html(rkc.segment_comparison(a, "channel"))
    assert "<svg" in html and "<script" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html


def test_page_escapes_title_and_segment_values(sample_data):
    p = sample_data.params.replace(title="<img src=x onerror=alert(1)>", charts="svg")
    page = rr.Page(p)
    data = rr.ReportData(**{**sample_data.__dict__, "params": p})
    html = page.header_html(data) + page.methodology_html(data) + page.segment_table_html(data)
    assert "<img src=x" not in html and "&lt;img src=x onerror=alert(1)&gt;" in html


def test_methodology_embeds_the_definitions_it_cites(sample_data):
    """A reader of the HTML can read every section the page cites (docs/definitions.md, shipped)."""
    page = rr.Page(sample_data.params.replace(charts="svg"))
    html = page.data_quality_html(sample_data) + page.methodology_html(sample_data)
    links = set(re.findall(r'href="#(def-[0-9-]+)"', html))
    targets = set(re.findall(r'<section class="rk-definition" id="(def-[0-9-]+)"', html))
    assert {"def-1", "def-2", "def-3", "def-4", "def-5"} <= links, links
    assert links <= targets, f"links without an embedded section: {links - targets}"
    assert "Who is a customer at a boundary" in html and "Average retention curve" in html
    assert "Loyalty-program ROI" not in html  # §6 is not cited by the report, so not embedded
    assert html.count('<details class="rk-details rk-definitions">') == 1  # one block, opened by the links
    assert html == page.data_quality_html(sample_data) + page.methodology_html(sample_data)  # deterministic


def test_bundle_defines_vega_embed_once():
    js = rr.vega_bundle()
    assert "window.vegaEmbed" in js and "</script" not in js.lower()
    page = rr.Page(validate_params(check_data=False))
    assert page.bundle_html().startswith("<script") and page.bundle_html() == ""


# =========================================================================== analysis vs the library
def test_kpis_equal_the_library_functions(sample_data):
    k = sample_data.kpis
    tx = load_transactions(
        sample_path(), amount="amount", order_id="order_id", segments=["channel"], as_of="2024-12-31"
    )
    crr = crr_table(tx, "M", window="90D")
    last = crr[crr["window_covered"]].iloc[-1]
    assert k["crr"].value == pytest.approx(last["crr"]) and k["crr"].period == last["period"]
    assert k["churn"].value == pytest.approx(1 - last["crr"])
    pm = purchase_metrics(tx, "M")
    overall = pm[pm["period"] == "overall"].iloc[0]
    assert k["customers"].value == overall["customers"]
    assert k["repeat_rate"].value == pytest.approx(overall["repeat_purchase_rate"])
    t = cohort_table(tx, "M")
    assert k["retention_1"].value == pytest.approx(average_curve(t).set_index("age").loc[1, "retention"])
    # revenue retention at age 1 by a loop over cohorts
    num = den = 0.0
    for _c, g in t.groupby("cohort"):
        g = g.set_index("age")
        if 1 in g.index:
            num += g.loc[1, "revenue"]
            den += g.loc[0, "revenue"]
    assert k["revenue_retention_1"].value == pytest.approx(num / den)
    # CLV (definitions §5.6): quarters (the 90-day window), the last 4 covered ones, a brute-force sum over 3 years
    cq, pq = crr_table(tx, "Q", window="90D"), purchase_metrics(tx, "Q")
    last = cq[cq["window_covered"] & (cq["start_customers"] > 0)].tail(4)
    rev = pq.set_index("period").loc[list(last["period"]), "revenue"].to_numpy()
    m = 0.3 * rev.sum() / ((last["start_customers"] + last["end_customers"]) / 2).sum()
    r = last["retained"].sum() / last["start_customers"].sum()
    d = 1.1 ** (1 / 4) - 1
    assert k["clv"].value == pytest.approx(sum(m * (r / (1 + d)) ** (i - 0.5) for i in range(1, 13)))


def test_what_changed_flags_only_changes_beyond_noise(sample_data):
    for c in sample_data.changes:
        assert c.significant == (c.lo > 0 or c.hi < 0)
    crr_change = next(c for c in sample_data.changes if c.metric == "CRR")
    assert crr_change.now_label == "Dec 2024" and crr_change.then_label == "Nov 2024"  # period labels in the language
    prev = {
        "as_of_label": "2023-12-31",
        "kpis": {
            "crr": {"value": 0.5, "num": 50, "den": 100, "period": "2023-12"},
            "retention_1": {"value": 0.34, "num": 340, "den": 1000, "period": "age 1"},
        },
    }
    changes = rr.what_changed(sample_data.kpis, sample_data.crr, sample_data.purchases, sample_data.cohorts, prev, "M")
    vs_prev = [c for c in changes if "report of December 31, 2023" in c.then_label]
    assert {c.metric for c in vs_prev} == {"CRR"}
    # CRR: the previous report's latest period, recomputed from this run's data (the same counts as this report)
    crr_vs = vs_prev[0]
    then = sample_data.crr.set_index("period").loc["2023-12"]
    assert crr_vs.then == pytest.approx(then["crr"]) and crr_vs.then_label == "Dec 2023 (report of December 31, 2023)"


def test_what_changed_lists_each_metric_once(sample_data):
    """The previous report of a monthly schedule has last month as its latest CRR period: one CRR entry."""
    prev = {
        "as_of_label": "2024-11-30",
        "kpis": {
            "crr": {"value": 0.83, "num": 830, "den": 1000, "period": "2024-11"},
            "repeat_rate": {"value": 0.6, "num": 600, "den": 1000, "period": "overall"},
            "retention_1": {"value": 0.34, "num": 340, "den": 1000, "period": "age 1"},
        },
    }
    for previous in (None, prev):
        changes = rr.what_changed(
            sample_data.kpis, sample_data.crr, sample_data.purchases, sample_data.cohorts, previous, "M"
        )
        metrics = [c.metric for c in changes]
        assert len(metrics) == len(set(metrics)), metrics
        assert metrics.count("CRR") == 1
    crr = next(c for c in changes if c.metric == "CRR")
    assert (crr.now_label, crr.then_label) == ("Dec 2024", "Nov 2024 (report of November 30, 2024)")
    assert "Repeat purchase rate" in metrics  # the overall rate against the previous report's


def test_changes_html_lists_significant_and_hides_noise(sample_data):
    html = rr.Page(sample_data.params).changes_html(sample_data)
    sig = [c for c in sample_data.changes if c.significant]
    assert html.count('class="rk-good"') + html.count('class="rk-bad"') == len(sig)
    assert "within noise" in html


# =========================================================================== export + index
def _executed_notebook():
    nb = nbformat.v4.new_notebook()
    c0 = nbformat.v4.new_markdown_cell("# hidden")
    c0.metadata["tags"] = ["remove-cell"]
    c1 = nbformat.v4.new_markdown_cell("## Visible heading")
    c2 = nbformat.v4.new_code_cell("x = 1")  # no output: removed
    c3 = nbformat.v4.new_code_cell("show()")
    c3.outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<p class='x'>hello</p>"})]
    nb.cells = [c0, c1, c2, c3]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {"state": {}}}
    return nb


def test_export_html_is_offline_deterministic_and_has_no_code():
    a = rr.export_html(_executed_notebook(), title="T <x>")
    b = rr.export_html(_executed_notebook(), title="T <x>")
    assert a == b  # fresh random cell ids each time, same bytes
    assert not re.search(r"<script[^>]*\bsrc=", a)
    assert "cdn" not in a.lower() and "require.js" not in a
    assert "x = 1" not in a and "show()" not in a and "In&nbsp;[" not in a
    assert "hidden" not in a and "Visible heading" in a and "hello" in a
    assert "<title>T &lt;x&gt;</title>" in a
    assert 'id="cell-id=cell-000"' in a


def test_export_html_with_input_for_failed_runs():
    html = rr.export_html(_executed_notebook(), include_input=True)
    assert "show" in html


EXTERNAL = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I)


@pytest.mark.parametrize("template", ["report", "notebook", "slides"])
def test_export_html_with_math_inlines_mathjax_and_loads_nothing(template):
    nb = _executed_notebook()
    nb.cells.append(nbformat.v4.new_markdown_cell("$$\\text{CRR} = \\frac{E - N}{S}$$ and $r_t$"))
    a = rr.export_html(nb, include_input=template != "report", title="maths", math=True, template=template)
    assert a == rr.export_html(nb, include_input=template != "report", title="maths", math=True, template=template)
    assert not EXTERNAL.search(a), EXTERNAL.search(a)
    assert a.count('<script id="rk-mathjax">') == 1 and "window.MathJax = " in a
    assert '"enableMenu":false' in a  # the menu would load accessibility code from a CDN
    assert "\\frac{E - N}{S}" in a  # the TeX stays in the page for MathJax to typeset
    assert "require.js" not in a and "mermaid" not in a.lower() and "widget-state" not in a
    plain = rr.export_html(nb, template=template, include_input=template != "report")
    assert "rk-mathjax" not in plain and "window.MathJax" not in plain and not EXTERNAL.search(plain)


def test_export_html_replaces_widgets_with_a_note_and_rejects_unknown_templates():
    nb = _executed_notebook()
    widget = nbformat.v4.new_code_cell("interact(f)")
    widget.outputs = [
        nbformat.v4.new_output(
            "display_data",
            data={
                "text/plain": "interactive(children=(FloatSlider(...",
                rr.WIDGET_MIME: {"model_id": "abc", "version_major": 2, "version_minor": 0},
            },
        )
    ]
    nb.cells.append(widget)
    html = rr.export_html(nb, include_input=True, template="notebook")
    assert rr.WIDGET_NOTE.replace("[", "") in html.replace("[", "") and "FloatSlider" not in html
    with pytest.raises(ParameterError, match="template"):
        rr.export_html(nb, template="pdf")


def test_mathjax_script_is_the_packaged_bundle():
    script = rr.mathjax_script()
    assert script.startswith("<script>window.MathJax = ") and script.endswith("</script>")
    bundle = script.split('<script id="rk-mathjax">', 1)[1][: -len("</script>")]
    assert "</script" not in bundle.lower()
    assert "MathJax" in script and len(script) > 1_000_000  # tex-svg-full: glyphs inside, nothing fetched


def test_write_index_lists_reports_escaped(tmp_path):
    for label, title in (("2024-01-31", "<script>alert(1)</script>"), ("2024-02-29", "Feb")):
        d = tmp_path / "monthly" / label
        d.mkdir(parents=True)
        (d / rr.REPORT_HTML).write_text("x")
        (d / "report-summary.json").write_text(
            json.dumps(
                {
                    "title": title,
                    "as_of_label": label,
                    "kpis": {"crr": {"display": "81.0%", "period": label[:7]}},
                    "changes": [{"significant": True}],
                }
            )
        )
    (tmp_path / ".staging").mkdir()
    path = rr.write_index(tmp_path)
    html = path.read_text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert html.index("2024-02-29") < html.index("2024-01-31")
    assert 'href="monthly/2024-02-29/retention-report.html"' in html
    assert ".staging" not in html
    assert rr.write_index(tmp_path).read_text() == html


# =========================================================================== runner, end to end
def _kpi_values(html: str) -> dict[str, float]:
    return {k: float(v) for k, v in re.findall(r'data-kpi="(\w+)" data-value="([^"]+)"', html)}


@pytest.fixture(scope="module")
def published(tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    first = rr.run_report({**SAMPLE_PARAMS, "as_of": "2024-11-30"}, out, keep_notebook=True)
    second = rr.run_report({**SAMPLE_PARAMS, "as_of": "2024-12-31", "previous_report": "auto"}, out)
    return out, first, second


@pytest.mark.slow
def test_report_end_to_end_on_the_sample(published):
    out, first, second = published
    folder = out / "monthly-by-channel" / "2024-12-31"
    assert second.html == folder / "retention-report.html" and second.schedule == "monthly-by-channel"
    for f in ("retention-report.html", "report-summary.json"):
        assert (folder / f).is_file() and (out / "monthly-by-channel" / "2024-11-30" / f).is_file()
    assert second.notebook is None and not (folder / "retention-report.ipynb").exists()  # kept only for failures
    assert first.notebook == out / "monthly-by-channel" / "2024-11-30" / "retention-report.ipynb"  # --keep-notebook
    assert first.notebook.is_file()
    assert not (out / ".staging").exists() and not (out / ".lock").exists()
    html = second.html.read_text(encoding="utf-8")
    assert not re.search(r"<script[^>]*\bsrc=", html)
    assert "from_namespace" not in html and "page.chart" not in html and "In&nbsp;[" not in html
    for heading in (
        "Headline figures",
        "What changed",
        "Cohort retention",
        "Customer retention rate",
        "Revenue",
        "Segments",
        "Data quality",
        "Glossary",
        "Methodology",
    ):
        assert f">{heading}<" in html
    assert html.count('class="rk-chart"') == 7  # with CRR over time per segment
    # the previous report was found and compared with, and the history check passed against it
    assert "report of November 30, 2024" in html  # dates in the report language (en)
    assert 'data-history="ok"' in html and "read as in the report of 2024-11-30" in html
    # no path of this machine in the page: the page does not change when the folder moves
    assert str(out) not in html and "/tmp/" not in html
    assert not re.search(r'(href|src)="(/|file:|[a-z]+://)', html)  # links, if any, are relative
    summary = json.loads((folder / "report-summary.json").read_text())
    assert summary["history_check"]["status"] == "ok" and summary["history_check"]["compared"] == 23
    assert summary["schedule"] == "monthly-by-channel"
    metrics = [c["metric"] for c in summary["changes"]]
    assert len(metrics) == len(set(metrics))
    index = (out / "index.html").read_text(encoding="utf-8")
    assert 'href="monthly-by-channel/2024-12-31/retention-report.html"' in index
    assert 'href="monthly-by-channel/2024-11-30/retention-report.html"' in index
    # the index counts exactly the changes the page lists as beyond noise
    row = index[index.index('data-as-of="2024-12-31"') :]
    counted = int(re.findall(r'<td class="rk-num">(\d+)</td>', row)[0])
    listed = html[html.index(">What changed<") : html.index(">Cohort retention<")]
    assert counted == sum(1 for c in summary["changes"] if c["significant"])
    assert counted == listed.count('<li class="rk-good">') + listed.count('<li class="rk-bad">')
    runs = rr.read_records(out)
    assert [(r.as_of, r.status, r.exit_code, r.previous) for r in runs] == [
        ("2024-12-31", "ok", 0, "2024-11-30"),
        ("2024-11-30", "ok", 0, ""),
    ]


@pytest.mark.slow
def test_report_kpis_equal_direct_computation(published):
    out, first, second = published
    got = _kpi_values(second.html.read_text(encoding="utf-8"))
    tx = load_transactions(
        sample_path(), amount="amount", order_id="order_id", segments=["channel"], as_of="2024-12-31"
    )
    crr = crr_table(tx, "M", window="90D")
    last = crr[crr["window_covered"]].iloc[-1]
    pm = purchase_metrics(tx, "M")
    overall = pm[pm["period"] == "overall"].iloc[0]
    avg = average_curve(cohort_table(tx, "M")).set_index("age")
    assert got["crr"] == pytest.approx(last["crr"], rel=1e-12)
    assert got["churn"] == pytest.approx(1 - last["crr"], rel=1e-12)
    assert got["customers"] == overall["customers"]
    assert got["repeat_rate"] == pytest.approx(overall["repeat_purchase_rate"], rel=1e-12)
    assert got["retention_1"] == pytest.approx(avg.loc[1, "retention"], rel=1e-12)
    trends = {"active_customers", "new_customers", "revenue", "revenue_per_customer", "aov", "purchase_frequency"}
    assert (
        set(got) == {"customers", "crr", "churn", "repeat_rate", "retention_1", "revenue_retention_1", "clv"} | trends
    )
    dec = pm[pm["period"] == "2024-12"].iloc[0]  # the trend cards show the latest complete period (definitions §4.7)
    assert got["active_customers"] == dec["customers"] and got["aov"] == pytest.approx(dec["aov"], rel=1e-12)
    assert got["revenue_per_customer"] == pytest.approx(dec["revenue"] / dec["customers"], rel=1e-12)
    assert got["new_customers"] == last["new"]  # every new customer of a month is active at its end (90-day window)
    assert (
        len(summary_spark := json.loads((second.folder / "report-summary.json").read_text())["kpis"]["crr"]["spark"])
        == 12
    )
    assert summary_spark[-1] == pytest.approx(last["crr"])
    summary = json.loads((second.folder / "report-summary.json").read_text())
    assert summary["kpis"]["crr"]["value"] == pytest.approx(got["crr"])
    assert summary["params"]["previous_report"].endswith("2024-11-30")
    # the per-period history equals the library's tables
    hist = summary["history"]["periods"]
    per = pm[pm["period"] != "overall"].set_index("period")
    assert hist["2024-12"]["customers"] == per.loc["2024-12", "customers"]
    assert hist["2024-12"]["transactions"] == per.loc["2024-12", "orders"]
    assert hist["2024-12"]["revenue"] == pytest.approx(per.loc["2024-12", "revenue"])


@pytest.mark.slow
def test_rerun_gives_byte_identical_html(published):
    out, first, second = published
    before = second.html.read_bytes()
    again = rr.run_report({**SAMPLE_PARAMS, "as_of": "2024-12-31", "previous_report": "auto"}, out)
    assert again.html.read_bytes() == before
    assert b"rk-chart-1" in before and not re.search(rb"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}", before)  # no uuids


def _failing_notebook(tmp_path: Path, code: str) -> Path:
    nb = nbformat.read(str(rr.NOTEBOOK), as_version=4)
    pos = next(i for i, c in enumerate(nb.cells) if c.get("id") == "heatmap")
    cell = nbformat.v4.new_code_cell(code)
    cell["id"] = "boom"
    nb.cells.insert(pos, cell)
    path = tmp_path / "failing.ipynb"
    nbformat.write(nb, str(path))
    return path


@pytest.mark.slow
def test_failed_run_keeps_previous_report_and_a_failed_artifact(published, tmp_path):
    out, first, second = published
    before = {p.name: p.read_bytes() for p in second.folder.iterdir()}
    nb = _failing_notebook(tmp_path, "raise RuntimeError('simulated failure in the middle of the report')")
    with pytest.raises(ReportError) as exc:
        rr.run_report({**SAMPLE_PARAMS, "as_of": "2024-12-31"}, out, notebook=nb)
    err = exc.value
    assert err.ename == "RuntimeError" and "simulated failure" in str(err) and "[boom]" not in str(err)
    assert "cell" in str(err) and "boom" in str(err)
    for name, content in before.items():
        assert (second.folder / name).read_bytes() == content  # the good report is untouched
    rec = rr.read_records(out)[0]
    assert (rec.as_of, rec.status, rec.exit_code) == ("2024-12-31", "failed", 1)
    assert err.notebook == out / "runs" / rec.run / rr.FAILED_NOTEBOOK and err.notebook.is_file()
    failed_html = err.html.read_text(encoding="utf-8")
    assert "simulated failure" in failed_html and "RuntimeError" in failed_html
    index = (out / "index.html").read_text()
    assert 'data-status="last run: failed"' in index and f"runs/{rec.run}/{rr.FAILED_HTML}" in index
    assert not (out / ".staging").exists()
    # a later good run of the date clears the failure marker on the index
    rr.run_report({**SAMPLE_PARAMS, "as_of": "2024-12-31", "previous_report": "auto"}, out)
    assert 'data-status="last run: failed"' not in (out / "index.html").read_text()
    assert (second.folder / rr.REPORT_HTML).read_bytes() == before[rr.REPORT_HTML]


@pytest.mark.slow
def test_killed_run_never_touches_the_published_report(published, tmp_path):
    out, first, second = published
    before = {p.name: p.read_bytes() for p in second.folder.iterdir()}
    nb = _failing_notebook(tmp_path, "import time\ntime.sleep(120)")
    cmd = [
        sys.executable,
        "-m",
        "retainkit.cli",
        "report",
        "--data",
        "sample",
        "--segment",
        "channel",
        "--order-id",
        "order_id",
        "--as-of",
        "2024-12-31",
        "--out",
        str(out),
        "--notebook",
        str(nb),
        "-q",
    ]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    try:
        deadline = time.time() + 120
        staged = None
        while time.time() < deadline and staged is None:
            time.sleep(0.5)
            for nbfile in (out / ".staging").glob("*/retention-report.ipynb"):
                if "time.sleep(120)" in nbfile.read_text(errors="ignore") and '"boom"' in nbfile.read_text(
                    errors="ignore"
                ):
                    try:
                        text = nbformat.read(str(nbfile), as_version=4)
                    except (ValueError, OSError):  # papermill is rewriting the file right now: poll again
                        continue
                    boom = next(c for c in text.cells if c.get("id") == "boom")
                    if boom.metadata.get("papermill", {}).get("status") == "running":
                        staged = nbfile
        assert staged is not None, "the run never reached the sleeping cell"
    finally:
        os.killpg(proc.pid, signal.SIGKILL)  # our own process group: the CLI and its kernel
        proc.wait(timeout=30)
    assert sorted(p.name for p in second.folder.iterdir()) == sorted(before)
    for name, content in before.items():
        assert (second.folder / name).read_bytes() == content
    assert [r["folder"] for r in rr.find_reports(out)] == ["2024-12-31", "2024-11-30"]
    # the killed run's record stays "running" until its owner is provably gone, then reads "killed"
    killed = next(r for r in rr.read_records(out) if r.owner.pid == proc.pid)
    assert killed.status == "running" and killed.effective_status() == "killed"
    rr.write_index(out)
    assert 'data-status="last run: killed"' in (out / "index.html").read_text()


@pytest.mark.slow
def test_user_strings_are_escaped_in_the_report(tmp_path):
    frame = pd.read_csv(sample_path())
    frame["channel"] = frame["channel"].replace(
        {"organic": "<script>alert(1)</script>", "referral": "</script><img src=x onerror=alert(2)>"}
    )
    frame = frame.rename(columns={"channel": "<b>chan</b>"})
    data = tmp_path / "xss.csv"
    frame.to_csv(data, index=False)
    res = rr.run_report(
        {
            "data": str(data),
            "segment": "<b>chan</b>",
            "as_of": "2024-12-31",
            "charts": "svg",
            "title": "<img src=x onerror=alert(3)>",
            "generated_at": "<i>now</i>",
        },
        tmp_path / "out",
    )
    html = res.html.read_text(encoding="utf-8")
    assert "<script" not in html.lower()  # svg mode: no scripts at all
    for raw in (
        "<script>alert(1)</script>",
        "<img src=x onerror=alert(2)>",
        "<img src=x onerror=alert(3)>",
        "<b>chan</b>",
        "<i>now</i>",
    ):
        assert raw not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "<title>&lt;img src=x onerror=alert(3)&gt;</title>" in html
    index = (tmp_path / "out" / "index.html").read_text()
    assert "<img src=x" not in index
    assert res.schedule == "monthly-by-b-chan-b"


def test_run_report_rejects_bad_parameters_before_any_kernel(tmp_path, monkeypatch):
    import papermill

    def boom(*a, **k):  # pragma: no cover - must not be reached
        raise AssertionError("a kernel was started")

    monkeypatch.setattr(papermill, "execute_notebook", boom)
    for bad, name in (
        ({"freq": "fortnight"}, "freq"),
        ({"data": str(tmp_path / "no.csv")}, "data"),
        ({"segment": "chanel"}, "segment"),
        ({"previous_report": "auto"}, "previous_report"),
        ({"schedule": "../up"}, "schedule"),
    ):
        with pytest.raises(ParameterError, match=f"parameter '{name}'"):
            rr.run_report(bad, tmp_path / "out")
    out = tmp_path / "out"
    # no report, no staging: at most the run records of the attempts that got as far as a schedule
    assert not out.exists() or {p.name for p in out.iterdir()} <= {"runs", "index.html"}


def _raising_papermill(monkeypatch, exc):
    import papermill

    def fake(source, output, **kw):  # the notebook starts, writes its output, then the run fails
        nb = nbformat.read(str(source), as_version=4)
        nbformat.write(nb, str(output))
        raise exc

    monkeypatch.setattr(papermill, "execute_notebook", fake)


@pytest.mark.parametrize(
    "make_exc, status, code",
    [
        (lambda: CellTimeoutError("timed out"), "timed out", 1),
        (lambda: DeadKernelError("dead"), "failed", 1),
        (lambda: rr.RunTerminated(), "killed", 143),
        (lambda: KeyboardInterrupt(), "interrupted", 130),
    ],
)
def test_runs_that_fail_around_the_cells_are_recorded_with_one_line(monkeypatch, tmp_path, make_exc, status, code):
    _raising_papermill(monkeypatch, make_exc())
    out = tmp_path / "out"
    with pytest.raises(BaseException) as exc:
        rr.run_report({**SAMPLE_PARAMS, "as_of": "2024-12-31"}, out, timeout=5)
    assert rr.exit_code_for(exc.value) == code
    (rec,) = rr.read_records(out)
    assert (rec.status, rec.exit_code, rec.as_of, rec.schedule) == (status, code, "2024-12-31", "monthly-by-channel")
    assert "\n" not in rec.reason and rec.reason
    if status == "timed out":
        assert "longer than the timeout (5 s)" in str(exc.value) and (out / rec.failed_html).is_file()
    assert not (out / ".staging").exists() and not (out / "monthly-by-channel").exists()
    assert f'<tr data-status="{status}">' in (out / "index.html").read_text()


def _fake_papermill_run(source, output, parameters=None, cwd=None, **kw):
    """Stands in for a kernel: an executed notebook with one HTML output, and the summary the notebook writes."""
    import time as _time

    nb = nbformat.v4.new_notebook()
    cell = nbformat.v4.new_code_cell("page.kpis(R)")
    cell.outputs = [nbformat.v4.new_output("display_data", data={"text/html": "<p>same figures</p>"})]
    nb.cells = [cell]
    nbformat.write(nb, str(output))
    _time.sleep(0.5)  # long enough for the runs to overlap
    label = parameters["as_of"]
    summary = {"as_of_label": label, "title": "T", "kpis": {}, "changes": [], "schedule": parameters["schedule"]}
    Path(cwd, parameters["summary_path"]).write_text(json.dumps(summary))
    return nb


def _publish_in_child(out: str, as_of: str) -> None:
    import papermill

    papermill.execute_notebook = _fake_papermill_run
    rr.run_report({**SAMPLE_PARAMS, "as_of": as_of, "previous_report": "auto"}, out, wait_previous=60)


def test_parallel_runs_of_the_same_and_of_other_months_all_publish(tmp_path):
    import multiprocessing as mp

    ctx = mp.get_context("fork")
    months = ["2024-10-31", "2024-11-30", "2024-12-31", "2024-12-31", "2024-12-31"]
    procs = [ctx.Process(target=_publish_in_child, args=(str(tmp_path), m)) for m in months]
    for p, m in zip(procs, months):
        p.start()
        if m != "2024-12-31":  # each month is registered before the next one starts (the three Decembers at once)
            deadline = time.monotonic() + 60
            while not any(r.as_of == m for r in rr.read_records(tmp_path)) and time.monotonic() < deadline:
                time.sleep(0.02)
    for p in procs:
        p.join(300)
    assert [p.exitcode for p in procs] == [0] * len(months)
    runs = rr.read_records(tmp_path)
    assert sorted(r.as_of for r in runs) == sorted(months) and {r.status for r in runs} == {"ok"}
    assert {r.previous for r in runs if r.as_of == "2024-12-31"} == {"2024-11-30"}  # waited for November
    assert {r.previous for r in runs if r.as_of == "2024-11-30"} == {"2024-10-31"}
    for m in set(months):
        assert (tmp_path / "monthly-by-channel" / m / rr.REPORT_HTML).is_file()
    index = (tmp_path / "index.html").read_text()
    assert index.count('<tr data-status="ok">') == len(months)  # no row lost
    assert not (tmp_path / ".staging").exists() and not (tmp_path / ".lock").exists()


def test_clv_of_monthly_and_quarterly_reports_agree_on_the_sample():
    # definitions §5.6: one value of a customer over 3 years, whatever the report's period
    got = {
        f: rr.compute(validate_params({"data": "sample", "freq": f}, check_data=False)).kpis["clv"] for f in ("M", "Q")
    }
    assert np.isfinite(got["M"].value) and got["M"].value > 0
    assert got["Q"].value == pytest.approx(got["M"].value, rel=0.05)
    assert "3 years" in got["M"].label


def test_clv_basis_is_the_period_closest_to_the_window():
    assert rr.clv_basis_freq("90D") == "Q"
    assert rr.clv_basis_freq("28D") == "M"
    assert rr.clv_basis_freq("7D") == "W"
    assert rr.clv_basis_freq("400D") == "Y"


# =========================================================================== customers at risk


def test_at_risk_list_comes_from_customers_at_risk_and_is_escaped(sample_data):
    from retainkit.clv import customers_at_risk, most_valuable_at_risk

    risk = customers_at_risk(sample_data.tx, "M", window="90D")
    pd.testing.assert_frame_equal(sample_data.at_risk, risk)
    html = rr.Page(sample_data.params).at_risk_html(sample_data)
    for cid in most_valuable_at_risk(risk)["customer_id"]:
        assert f">{cid}<" in html
    hostile = sample_data.at_risk.assign(customer_id="<script>x</script>")
    html = rr.Page(sample_data.params).at_risk_html(rr.ReportData(**{**sample_data.__dict__, "at_risk": hostile}))
    assert "<script>x" not in html and "&lt;script&gt;x" in html


def test_at_risk_csv_has_only_the_stated_columns(sample_data, tmp_path):
    path = rr.write_at_risk_csv(sample_data, tmp_path / rr.AT_RISK_FILE)
    got = pd.read_csv(path, dtype={"customer_id": str})
    assert list(got.columns) == [
        "customer_id",
        "last_purchase",
        "purchases",
        "spend",
        "p_alive",
        "expected_purchases",
        "method",
    ]
    assert sorted(got["customer_id"]) == sorted(sample_data.at_risk["customer_id"])
    assert got["p_alive"].is_monotonic_increasing
    off = rr.ReportData(**{**sample_data.__dict__, "params": sample_data.params.replace(customer_list=False)})
    assert rr.write_at_risk_csv(off, tmp_path / "off.csv") is None and not (tmp_path / "off.csv").exists()


@pytest.mark.slow
def test_report_writes_the_at_risk_csv_unless_turned_off(published, tmp_path):
    out, _, second = published
    csv = out / "monthly-by-channel" / "2024-12-31" / rr.AT_RISK_FILE
    assert csv.is_file()
    assert csv.read_text(encoding="utf-8").splitlines()[0] == (
        "customer_id,last_purchase,purchases,spend,p_alive,expected_purchases,method"
    )
    assert ">Customers at risk<" in second.html.read_text(encoding="utf-8")
    # the same date again without the list: neither the table nor the (stale) file remains
    shutil.copytree(out / "monthly-by-channel" / "2024-12-31", tmp_path / "r" / "monthly-by-channel" / "2024-12-31")
    shutil.copy2(out / "monthly-by-channel" / "schedule.json", tmp_path / "r" / "monthly-by-channel")
    assert (tmp_path / "r" / "monthly-by-channel" / "2024-12-31" / rr.AT_RISK_FILE).is_file()
    res = rr.run_report({**SAMPLE_PARAMS, "as_of": "2024-12-31", "customer_list": False}, tmp_path / "r")
    assert res.folder == tmp_path / "r" / "monthly-by-channel" / "2024-12-31"
    assert not (res.folder / rr.AT_RISK_FILE).exists()
    assert "Valuable customers at risk" not in res.html.read_text(encoding="utf-8")


# =========================================================================== the triangle


def test_heatmap_average_row_is_average_curve_and_in_progress_cells_are_labelled():
    from retainkit.charts.cohorts import AVERAGE_ROW, IN_PROGRESS

    tx = load_transactions(sample_path(), as_of="2024-12-15")
    t = cohort_table(tx, "M", include_partial=True)
    avg = average_curve(t)
    spec = rkc.cohort_heatmap(t, average=avg, include_partial=True, max_cohorts=6).to_dict()
    rows = next(iter(spec["datasets"].values()))
    mine = {r["age"]: r["rate"] for r in rows if r["cohort"] == AVERAGE_ROW}
    shown_ages = avg["age"] <= t[t["cohort"].isin(sorted(t["cohort"].unique())[-6:])]["age"].max()
    # the average curve, at the ages the shown cohorts reach (older cohorts' tail would widen the chart)
    assert mine == pytest.approx(dict(zip(avg.loc[shown_ages, "age"].astype(int), avg.loc[shown_ages, "retention"])))
    partial = t[t["partial"] & t["cohort"].isin(sorted(t["cohort"].unique())[-6:])]
    got = {(r["cohort"], r["age"]) for r in rows if r["status"] == IN_PROGRESS}
    shown = translator("en").period_label  # the chart names cohorts by their period label ('Dec 2024')
    assert got == {(shown(c, "M"), int(a)) for c, a in zip(partial["cohort"], partial["age"])} and got
    dropped = next(iter(rkc.cohort_heatmap(t, max_cohorts=6).to_dict()["datasets"].values()))
    assert all(r["status"] == "complete" for r in dropped) and AVERAGE_ROW not in {r["cohort"] for r in dropped}


def test_counts_table_is_collapsible_and_has_the_average_row(sample_data):
    html = rr.Page(sample_data.params).counts_html(sample_data)
    assert html.startswith('<details class="rk-details"><summary>') and html.endswith("</details>")
    assert "All cohorts (size-weighted)" in html
    a = sample_data.average
    assert f'<td class="rk-num">{int(a.loc[a["age"] == 1, "active"].iloc[0]):,}</td>' in html
    c = sample_data.cohorts
    last = c.sort_values("cohort_start")["cohort"].iloc[-1]
    assert f"<td>{translator('en').period_label(last, 'M')}</td>" in html  # cohorts by their period label


def test_drop_duplicates_parameter_reaches_the_loader(tmp_path):
    data = tmp_path / "dups.csv"
    rows = ["customer_id,timestamp,amount"] + [f"c{i % 7},2024-0{1 + i % 6}-0{1 + i % 9},{10 + i}" for i in range(60)]
    data.write_text("\n".join(rows + rows[1:11]) + "\n", encoding="utf-8")  # 10 exact duplicate rows
    kept = rr.compute(validate_params({"data": str(data), "as_of": "2024-06-30"})).summary.rows_kept
    dropped = rr.compute(validate_params({"data": str(data), "as_of": "2024-06-30", "drop_duplicates": True}))
    assert kept == 70 and dropped.summary.rows_kept == 60


def test_schedules_never_overwrite_each_other(monkeypatch, tmp_path):
    import papermill

    monkeypatch.setattr(papermill, "execute_notebook", _fake_papermill_run)
    out = tmp_path / "out"
    results = [rr.run_report({**SAMPLE_PARAMS, "as_of": "2024-12-31", "freq": f}, out) for f in ("M", "Q")]
    results.append(rr.run_report({"data": "sample", "as_of": "2024-12-31"}, out))  # no segment
    assert [r.folder.relative_to(out).as_posix() for r in results] == [
        "monthly-by-channel/2024-12-31",
        "quarterly-by-channel/2024-12-31",
        "monthly/2024-12-31",
    ]
    assert all(r.html.is_file() for r in results)
    # another data source in a derived schedule: refused before anything runs, and recorded
    other = tmp_path / "orders_us.csv"
    other.write_bytes(Path(sample_path()).read_bytes())
    with pytest.raises(
        ParameterError,
        match=r"source 'sample' there, 'orders_us.csv' in this run.*--schedule "
        r"monthly-orders-us",
    ):
        rr.run_report({"data": str(other), "as_of": "2024-12-31"}, out)
    assert rr.read_records(out)[0].status == "parameter error"
    # ... and accepted under its own name
    res = rr.run_report({"data": str(other), "as_of": "2024-12-31", "schedule": "monthly-us"}, out)
    assert res.folder == out / "monthly-us" / "2024-12-31"
    index = (out / "index.html").read_text()
    for name in ("monthly-by-channel", "quarterly-by-channel", "monthly", "monthly-us"):
        assert f'id="schedule-{name}"' in index
