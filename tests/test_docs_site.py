"""The documentation site builds with no warning, is complete, and works offline in Chromium.

The site is built once per test run (``mkdocs build --strict`` into
``build/docs-site``; the xdist workers of one run share it through a lock).
The browser test opens it from the file system with every non-file request
blocked, searches for ``cohort_table``, follows the hit to its API page and
finds the signature. Screenshots are kept under ``build/screenshots/`` for
people to look at.
"""

from __future__ import annotations

import fcntl
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import retainkit
import retainkit.charts

ROOT = Path(__file__).resolve().parents[1]
SITE = ROOT / "build" / "docs-site"
SHOTS = ROOT / "build" / "screenshots"
CHROMIUM = os.environ.get("RETAINKIT_CHROMIUM", "/usr/bin/chromium")

pytestmark = pytest.mark.slow


@pytest.fixture(scope="session")
def site() -> Path:
    """The built site (strict build; the output is checked for warnings too)."""
    run_id = os.environ.get("PYTEST_XDIST_TESTRUNUID", f"pid-{os.getpid()}")
    SITE.parent.mkdir(parents=True, exist_ok=True)
    with open(SITE.parent / "docs-site.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        stamp = SITE.parent / "docs-site.run"
        if not (stamp.exists() and stamp.read_text() == run_id and (SITE / "index.html").exists()):
            env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
            proc = subprocess.run(
                [sys.executable, "-m", "mkdocs", "build", "--strict", "--site-dir", str(SITE)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                env=env,
                check=False,
            )
            log = proc.stdout + proc.stderr
            (SITE.parent / "docs-site.log").write_text(log)
            assert proc.returncode == 0, f"mkdocs build --strict failed:\n{log[-4000:]}"
            assert not re.search(r"^(WARNING|ERROR)", log, re.MULTILINE), f"the site build warned:\n{log[-4000:]}"
            stamp.write_text(run_id)
    return SITE


def test_site_is_complete_and_offline(site):
    pages = list(site.rglob("*.html"))
    assert len(pages) > 30
    # nothing is fetched from the network: no external script, stylesheet, font or image
    external = re.compile(r"<(?:script|link|img|iframe)\b[^>]*\b(?:src|href)=\"(?:https?:)?//", re.IGNORECASE)
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert not external.search(html), f"{page.relative_to(site)} loads something from the network"
        assert "fonts.googleapis" not in html and "unpkg.com" not in html
    assert (site / "search" / "search_index.js").exists(), "offline search index missing"
    assert (site / "assets" / "javascripts" / "iframe-worker-shim.js").exists()
    # every public name of the package has an entry on an API page
    anchors = set()
    for page in (site / "reference").glob("*.html"):
        anchors |= set(re.findall(r'id="(retainkit\.[\w.]+)"', page.read_text(encoding="utf-8")))
    missing = [
        n
        for n in retainkit.__all__
        if n != "__version__" and f"retainkit.{n}" not in anchors and not any(a.endswith(f".{n}") for a in anchors)
    ]
    assert not missing, f"public names without an API entry: {missing}"
    # API pages link their citations of the definitions to the definitions page
    cohorts = (site / "reference" / "cohorts.html").read_text(encoding="utf-8")
    assert re.search(r'<a class="rk-cite" href="\.\./definitions\.html#3-cohort-retention"', cohorts)
    assert 'href="../definitions.html#35-average-retention-curve"' in cohorts
    definitions = (site / "definitions.html").read_text(encoding="utf-8")
    assert 'id="35-average-retention-curve"' in definitions
    assert 'id="4-customer-retention-rate-crr-and-churn"' in definitions
    # the gallery images are rendered by the build
    for name in (n for n in retainkit.charts.__all__ if n != "theme_config"):
        svg = site / "gallery" / f"{name}.svg"
        assert svg.exists() and svg.read_text(encoding="utf-8").lstrip().startswith("<svg"), name


def _need_browser():
    missing = None
    if not (Path(CHROMIUM).is_file() and os.access(CHROMIUM, os.X_OK)):
        missing = f"Chromium not found at {CHROMIUM}: run scripts/install-chromium.sh (apt package 'chromium')"
    if missing:
        if os.environ.get("CI", "").lower() == "true":
            pytest.fail(f"CI=true and the browser test cannot run: {missing}")
        pytest.skip(missing)


@pytest.mark.browser
def test_search_finds_cohort_table_and_its_signature_offline(site):
    _need_browser()
    from playwright.sync_api import sync_playwright

    SHOTS.mkdir(parents=True, exist_ok=True)
    blocked: list[str] = []
    errors: list[str] = []
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9"]
        )
        try:
            ctx = browser.new_context(viewport={"width": 1280, "height": 900}, offline=True)

            def route(r):
                if r.request.url.startswith(("file:", "data:", "blob:", "about:")):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            ctx.route("**/*", route)
            page = ctx.new_page()
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto((site / "index.html").as_uri(), wait_until="load")
            page.screenshot(path=str(SHOTS / "docs-home.png"))
            # the search box of Material: type, wait for the offline index to answer
            search = page.locator("input.md-search__input")
            search.click()
            search.press_sequentially("cohort_table", delay=30)  # Material searches on key events
            results = page.locator(".md-search-result__item")
            results.first.wait_for(timeout=30000)
            page.screenshot(path=str(SHOTS / "docs-search.png"))
            links = page.locator(".md-search-result__link")
            hrefs = [links.nth(i).get_attribute("href") or "" for i in range(links.count())]
            target = next((i for i, h in enumerate(hrefs) if "reference/cohorts.html" in h), None)
            assert target is not None, f"no search hit on the API page of cohort_table: {hrefs}"
            links.nth(target).click()
            page.wait_for_url(re.compile(r"reference/cohorts\.html"), timeout=30000)
            page.goto((site / "reference" / "cohorts.html").as_uri() + "#retainkit.cohorts.cohort_table")
            signature = page.locator("#retainkit\\.cohorts\\.cohort_table").locator(
                "xpath=following-sibling::*[contains(@class, 'doc-signature') or .//code][1]"
            )
            text = signature.first.inner_text()
            page.screenshot(path=str(SHOTS / "docs-cohort-table.png"))
        finally:
            browser.close()
    assert "cohort_table(" in text and "freq" in text and "by" in text and "include_partial" in text, text
    assert not blocked, f"the site asked the network for: {blocked}"
    assert not errors, f"JavaScript errors: {errors}"
