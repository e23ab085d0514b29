"""The published report in headless Chromium with the network disabled.

Uses Debian's ``chromium`` (scripts/install-chromium.sh), driven by playwright
with ``executable_path`` (playwright never downloads a browser here). Without
Chromium the tests skip with the reason, except with ``CI=true``: then they fail.
Screenshots are kept under ``build/screenshots/`` for people to look at.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pytest

from retainkit import report as rr
from retainkit.datasets import sample_path

CHROMIUM = os.environ.get("RETAINKIT_CHROMIUM", "/usr/bin/chromium")
SHOTS = Path(__file__).resolve().parents[1] / "build" / "screenshots"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _need_browser():
    missing = None
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        missing = f"Chromium not found at {CHROMIUM}: run scripts/install-chromium.sh (apt package 'chromium')"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "playwright (python) is not installed: pip install playwright (no browser download needed)"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and the browser test cannot run: {missing}")
        pytest.skip(missing)


#: every visible piece of text (HTML text nodes and SVG <text>) drawn smaller than 11 CSS px: its rendered size is
#: the computed font size times the scale of its SVG (a chart shrunk to fit the page shrinks its text too)
SMALL_TEXT_JS = """() => {
  const small = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  const seen = new Set();
  while (walker.nextNode()) {
    const node = walker.currentNode;
    const el = node.parentElement;
    if (!el || !node.textContent.trim() || seen.has(el)) continue;
    seen.add(el);
    if (el.closest('script, style, title, details:not([open]) > :not(summary)')) continue;
    const box = el.getBoundingClientRect();
    const style = getComputedStyle(el);
    if (box.width === 0 || box.height === 0 || style.visibility === 'hidden' || style.display === 'none') continue;
    let size = parseFloat(style.fontSize);
    const svg = el.closest('svg');
    if (svg && el instanceof SVGElement) {
      const m = el.getScreenCTM();
      if (m) size *= Math.hypot(m.a, m.b);
    }
    if (size < 10.95) small.push([el.tagName, Math.round(size * 10) / 10, node.textContent.trim().slice(0, 40)]);
  }
  return small;
}"""


def open_offline(html_path: Path, screenshot: Path | None = None):
    """Load a file in Chromium with every non-file request blocked; return what happened."""
    from playwright.sync_api import sync_playwright

    result = {"console": [], "errors": [], "requests": [], "dialogs": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9"]
        )
        try:
            ctx = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)

            def route(r):
                if r.request.url.startswith(("file:", "data:", "blob:", "about:")):
                    r.continue_()
                else:
                    result["requests"].append(r.request.url)
                    r.abort()

            ctx.route("**/*", route)
            page = ctx.new_page()
            page.on("console", lambda m: result["console"].append((m.type, m.text)))
            page.on("pageerror", lambda e: result["errors"].append(str(e)))
            page.on("dialog", lambda d: (result["dialogs"].append(d.message), d.dismiss()))
            page.goto(html_path.resolve().as_uri(), wait_until="load")
            charts = page.locator(".rk-chart")
            n = charts.count()
            # vegaEmbed renders asynchronously: wait until every chart has its marks
            page.wait_for_function(
                "n => document.querySelectorAll('.rk-chart svg.marks, .rk-chart canvas.marks').length >= n",
                arg=n,
                timeout=30000,
            )
            result["charts"] = n
            result["drawn"] = [charts.nth(i).locator("svg.marks, canvas.marks").count() for i in range(n)]
            result["marks_per_chart"] = page.evaluate(
                "() => Array.from(document.querySelectorAll('.rk-chart')).map("
                "el => el.querySelectorAll('svg.marks path, svg.marks rect, svg.marks text, svg.marks line, svg.marks .mark-symbol path').length)"
            )
            # legend entries and direct (line-end) labels per chart, as drawn by Vega
            result["legend_labels"] = page.evaluate(
                "() => Array.from(document.querySelectorAll('.rk-chart')).map("
                "el => Array.from(el.querySelectorAll('.role-legend-label text')).map(t => t.textContent))"
            )
            result["kpis"] = page.locator(".rk-kpi").count()
            result["sparklines"] = page.locator(".rk-kpi .rk-spark polyline").count()
            result["kpi_sentences"] = page.locator(".rk-kpi .rk-kpi-help").count()
            result["chart_sentences"] = page.locator("p.rk-about").count()
            result["small_text"] = page.evaluate(SMALL_TEXT_JS)
            result["text"] = page.inner_text("body")
            if screenshot is not None:
                screenshot.parent.mkdir(parents=True, exist_ok=True)
                page.screenshot(path=str(screenshot), full_page=True)
        finally:
            browser.close()
    return result


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    _need_browser()
    out = tmp_path_factory.mktemp("browser-reports")
    return rr.run_report({"data": "sample", "segment": "channel", "order_id": "order_id", "as_of": "2024-12-31"}, out)


def test_report_draws_every_chart_offline(report, tmp_path):
    shot = tmp_path / "retention-report.png"
    res = open_offline(report.html, shot)
    assert res["charts"] == 7
    assert all(d == 1 for d in res["drawn"]), res["drawn"]
    assert all(m > 10 for m in res["marks_per_chart"]), res["marks_per_chart"]
    assert res["kpis"] == 13
    legends = res["legend_labels"]
    # cohort curves (retention, revenue retention, cumulative revenue): earlier / newest / average named in a legend
    curves = [labels for labels in legends if "Average of all cohorts" in labels]
    assert len(curves) == 3 and all(len(labels) == 3 for labels in curves), legends
    # the segment comparison names every channel of the sample in its legend
    channels = set(pd.read_csv(sample_path())["channel"].astype(str))
    assert any(set(labels) == channels for labels in legends), legends
    assert res["requests"] == []  # nothing tried to reach the network
    assert res["errors"] == []
    assert [c for c in res["console"] if c[0] == "error"] == []
    assert "Cohort retention" in res["text"] and "Customer retention rate" in res["text"]
    assert shot.stat().st_size > 50_000
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shot, SHOTS / "retention-report.png")


def test_index_page_opens_offline(report, tmp_path):
    res_requests = []
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu"])
        try:
            page = browser.new_page(viewport={"width": 1200, "height": 600})
            page.route(
                "**/*",
                lambda r: (
                    r.continue_()
                    if r.request.url.startswith("file:")
                    else (res_requests.append(r.request.url), r.abort())
                ),
            )
            page.goto(report.index.resolve().as_uri())
            link = "a[href='monthly-by-channel/2024-12-31/retention-report.html']"
            # one row in the schedule's table (the date opens the report), one in the run log (its files)
            assert page.locator(f"table[data-schedule='monthly-by-channel'] {link}").count() == 1
            assert page.locator(f"table[data-schedule='monthly-by-channel'] {link}").inner_text() == "December 31, 2024"
            assert page.locator(f"table.rk-runs {link}").count() == 1
            assert page.locator(link).count() == 2
            page.screenshot(path=str(tmp_path / "index.png"))
        finally:
            browser.close()
    assert res_requests == []
    SHOTS.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(tmp_path / "index.png", SHOTS / "index.png")


def test_hostile_segment_values_render_as_text(tmp_path):
    _need_browser()
    frame = pd.read_csv(sample_path())
    frame["channel"] = frame["channel"].replace(
        {"organic": "<script>alert(1)</script>", "referral": "</script><img src=x onerror=alert(2)>"}
    )
    data = tmp_path / "xss.csv"
    frame.to_csv(data, index=False)
    res_report = rr.run_report(
        {"data": str(data), "segment": "channel", "as_of": "2024-12-31", "title": "<img src=x onerror=alert(3)>"},
        tmp_path / "out",
    )
    res = open_offline(res_report.html, tmp_path / "xss.png")
    assert res["dialogs"] == []  # no injected script ran
    assert all(d == 1 for d in res["drawn"])
    assert "<script>alert(1)</script>" in res["text"]  # shown as text in the segment table
    assert "<img src=x onerror=alert(3)>" in res["text"]
    assert res["errors"] == [] and res["requests"] == []


def test_report_kpis_have_sparklines_sentences_and_no_small_text(report, tmp_path):
    """Issue #16 items 4 and 7: eight trend cards with sparklines, a sentence per card and chart, text >= 11 px."""
    res = open_offline(report.html)
    assert res["sparklines"] == 8, res["sparklines"]  # active, new, revenue, per customer, AOV, frequency, CRR, churn
    assert res["kpi_sentences"] == res["kpis"] == 13
    assert res["chart_sentences"] == res["charts"] == 7  # every chart, incl. CRR over time per segment
    assert res["small_text"] == [], res["small_text"][:20]
    assert res["errors"] == [] and res["requests"] == []
    assert [c for c in res["console"] if c[0] == "error"] == []
    assert "Glossary" in res["text"] and "Customer retention rate over time by channel" in res["text"]
    for symbol in ("(E−N)/S", " pp", "S: start"):  # symbols live in the methodology only
        before_method = res["text"].split("Methodology")[0]
        assert symbol not in before_method, symbol
