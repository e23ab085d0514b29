"""Offline hand-outs (retainkit.workshop.handouts): notebooks 03, 04, 05 and the slides in Chromium, network blocked.

The pages are rendered as ``make handouts`` renders them, opened in Debian's
Chromium (driven by playwright, every non-file request blocked) and must show
their maths typeset by the inlined MathJax (``mjx-container`` with SVG), no
page error, no request. Screenshots are kept in ``build/screenshots/`` for
people to look at.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from retainkit.report import WIDGET_NOTE
from retainkit.workshop.handouts import export_handouts, render_slides

from ..test_browser import CHROMIUM, SHOTS, _need_browser

NOTEBOOKS = Path(__file__).resolve().parents[2] / "notebooks" / "workshop"
EXTERNAL = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)\s*=\s*[\"']?(?:https?:)?//", re.I)

pytestmark = [pytest.mark.slow]


@pytest.fixture(scope="module")
def pages(tmp_path_factory) -> dict[str, Path]:
    out = tmp_path_factory.mktemp("handouts")
    written = export_handouts(
        NOTEBOOKS, out, names=["03_averages_mislead", "04_clv_and_five_percent", "05_loyalty_programs"]
    )
    written.append(render_slides(NOTEBOOKS / "slides.md", out / "slides.html"))
    return {p.stem: p for p in written}


def _display_maths(name: str) -> int:
    """How many $$...$$ blocks the page's source has."""
    if name == "slides":
        return (NOTEBOOKS / "slides.md").read_text(encoding="utf-8").count("$$") // 2
    nb = json.loads((NOTEBOOKS / f"{name}.ipynb").read_text(encoding="utf-8"))
    return sum("".join(c["source"]).count("$$") // 2 for c in nb["cells"] if c["cell_type"] == "markdown")


def test_handouts_reference_nothing_outside_the_page(pages):
    for name, page in pages.items():
        html = page.read_text(encoding="utf-8")
        assert not EXTERNAL.search(html), (name, EXTERNAL.search(html))
        assert html.count('<script id="rk-mathjax">') == 1
        assert "/work/" not in html and "/tmp/" not in html, name  # no absolute paths of this machine
    h04 = pages["04_clv_and_five_percent"].read_text(encoding="utf-8")
    assert "Default scenario:" in h04 and "NPV per customer 76.1 -&gt; 110.4: +45.1 %" in h04
    assert "interactive controls: open the notebook in JupyterLab" in h04 and WIDGET_NOTE
    assert "FloatSlider" not in h04


@pytest.mark.browser
def test_handouts_render_their_maths_offline_in_chromium(pages):
    _need_browser()
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9"]
        )
        try:
            for name, page_path in pages.items():
                ctx = browser.new_context(viewport={"width": 1100, "height": 900}, offline=True)
                requests, errors = [], []

                def route(r, requests=requests):
                    if r.request.url.startswith(("file:", "data:", "blob:", "about:")):
                        r.continue_()
                    else:
                        requests.append(r.request.url)
                        r.abort()

                ctx.route("**/*", route)
                page = ctx.new_page()
                page.on("pageerror", lambda e, errors=errors: errors.append(str(e)))
                page.goto(page_path.resolve().as_uri(), wait_until="load")
                n = _display_maths(name)
                assert n >= 2, name
                page.wait_for_function(
                    "n => document.querySelectorAll('mjx-container[display=\"true\"] svg').length >= n",
                    arg=n,
                    timeout=60000,
                )
                typeset = page.locator("mjx-container svg").count()
                raw = page.evaluate("() => document.body.innerText.includes('$$')")
                page.screenshot(path=str(SHOTS / f"workshop-{name}.png"), full_page=name != "slides")
                ctx.close()
                assert requests == [] and errors == [], (name, requests, errors)
                assert typeset >= n and not raw, (name, typeset)
        finally:
            browser.close()
