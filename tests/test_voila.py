"""The apps served by Voila, driven in a real browser (Debian's Chromium via Playwright).

Voila runs on a free port on 127.0.0.1 with retainkit's template
(share/jupyter/voila/templates/retainkit, as `make explore` does) and is always
shut down (bounded waits). Every request that leaves 127.0.0.1 is blocked and
counted: a page must make none. Without /usr/bin/chromium the tests skip with the reason, except under
CI=true, where they fail (`make browser` installs it).
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from .conftest import read_cdnow

ROOT = Path(__file__).resolve().parents[1]
CHROMIUM = Path("/usr/bin/chromium")
VOILA = Path(sys.executable).with_name("voila")
TEMPLATES = ROOT / "share" / "jupyter"

pytestmark = [pytest.mark.browser, pytest.mark.slow]


def _need_browser() -> None:
    if CHROMIUM.exists():
        return
    msg = f"{CHROMIUM} is missing: install Debian's chromium (make browser / scripts/install-chromium.sh)"
    if os.environ.get("CI", "").lower() == "true":
        pytest.fail(msg + " -- required when CI=true")
    pytest.skip(msg)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def voila(notebook: Path, log: Path):
    """Serve ``notebook`` with Voila on 127.0.0.1; yield its URL; always stop it."""
    port = _free_port()
    with open(log, "w") as err:
        env = {
            **os.environ,
            "JUPYTER_PATH": os.pathsep.join(filter(None, [str(TEMPLATES), os.environ.get("JUPYTER_PATH")])),
        }
        proc = subprocess.Popen(
            [
                str(VOILA),
                str(notebook),
                "--template=retainkit",
                "--no-browser",
                "--Voila.ip=127.0.0.1",
                f"--port={port}",
            ],
            cwd=str(notebook.parent),
            stdout=subprocess.DEVNULL,
            stderr=err,
            start_new_session=True,
            env=env,
        )
    url = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise AssertionError(f"voila exited with {proc.returncode}: {log.read_text()[-2000:]}")
            try:
                urllib.request.urlopen(url + "api", timeout=2)
                break
            except urllib.error.HTTPError:  # any HTTP answer means the server is up
                break
            except Exception:  # noqa: BLE001 - not up yet
                if time.monotonic() > deadline:
                    raise AssertionError(f"voila did not start within 60 s: {log.read_text()[-2000:]}") from None
                time.sleep(0.25)
        yield url
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)


@contextlib.contextmanager
def browser_page(url: str):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"])
        try:
            page = b.new_page(viewport={"width": 1360, "height": 1000})
            page.set_default_timeout(90_000)
            blocked: list[str] = []
            local = url.rstrip("/")

            def route(r):
                if r.request.url.startswith(local) or r.request.url.startswith(local.replace("http", "ws")):
                    r.continue_()
                else:
                    blocked.append(r.request.url)
                    r.abort()

            page.route("**/*", route)
            page.blocked = blocked  # type: ignore[attr-defined]
            page.goto(url, timeout=120_000)
            page.wait_for_selector(".rk-app", timeout=120_000)
            yield page
        finally:
            b.close()


def _chart_html(page, name: str) -> str:
    sel = f'[data-rk-chart="{name}"] svg.marks'
    page.wait_for_selector(sel, timeout=90_000)
    return page.inner_html(f'[data-rk-chart="{name}"]')


def _prepared(tmp_path: Path, **params) -> Path:
    import papermill as pm

    out = tmp_path / "explore_cohorts.ipynb"
    pm.execute_notebook(
        str(ROOT / "notebooks" / "explore_cohorts.ipynb"),
        str(out),
        parameters=params,
        prepare_only=True,
        progress_bar=False,
    )
    return out


@pytest.mark.parametrize("source", ["sample", "cdnow"])
def test_explorer_in_chromium(tmp_path, source):
    _need_browser()
    if source == "sample":
        nb = ROOT / "notebooks" / "explore_cohorts.ipynb"
    else:
        csv = tmp_path / "cdnow.csv"
        read_cdnow().to_csv(csv, index=False)
        nb = _prepared(tmp_path, data=str(csv), timestamp="date", date_format="%Y%m%d", currency="USD")
    with voila(nb, tmp_path / "voila.log") as url, browser_page(url) as page:
        before = _chart_html(page, "heatmap")
        assert "Retention by cohort and age" in before
        body = page.inner_text("body")
        assert "cohort_explorer(" not in body and "import" not in body  # no code shown
        # change a control: the heatmap is redrawn with the unbounded measure
        page.get_by_label("Retention", exact=True).select_option(label="Unbounded: active at k or later")
        page.wait_for_function(
            "() => { const e = document.querySelector('[data-rk-chart=\"heatmap\"]');"
            " return e && e.textContent.includes('Retention (on or after)') && e.querySelector('svg.marks'); }",
            timeout=60_000,
        )
        after = page.inner_html('[data-rk-chart="heatmap"]')
        assert after != before
        # another tab draws when opened
        page.get_by_text("CRR", exact=True).first.click()
        assert "Customer retention rate per period" in _chart_html(page, "crr")
        # an impossible selection shows a readable message, not a hang
        box = page.get_by_label("Min. cohort", exact=True)
        box.fill("100000000")
        box.press("Enter")
        page.wait_for_selector(".rk-error", timeout=60_000)
        assert "no cohort is left" in page.inner_text(".rk-error")
        assert page.blocked == [], page.blocked  # zero attempted requests outside 127.0.0.1
        if os.environ.get("RETAINKIT_SCREENSHOTS"):
            page.screenshot(
                path=str(Path(os.environ["RETAINKIT_SCREENSHOTS"]) / f"explorer-{source}.png"), full_page=True
            )


def test_roi_calculator_in_chromium(tmp_path):
    _need_browser()
    with voila(ROOT / "notebooks" / "loyalty_roi.ipynb", tmp_path / "voila.log") as url, browser_page(url) as page:
        before = _chart_html(page, "cash")
        kpis_before = page.inner_text(".rk-kpis")
        page.get_by_role("button", name="Paid membership").click()
        page.wait_for_function(
            "(old) => { const e = document.querySelector('[data-rk-chart=\"cash\"]');"
            " return e && e.querySelector('svg.marks') && e.innerHTML !== old; }",
            arg=before,
            timeout=60_000,
        )
        assert page.inner_text(".rk-kpis") != kpis_before
        page.get_by_text("Sensitivity", exact=True).first.click()
        assert "ROI by retention lift and breakage" in _chart_html(page, "sensitivity")
        if os.environ.get("RETAINKIT_SCREENSHOTS"):
            page.screenshot(path=str(Path(os.environ["RETAINKIT_SCREENSHOTS"]) / "roi.png"), full_page=True)


def _legend_labels(page, name: str) -> list[str]:
    """The legend entries Vega drew in chart ``name`` (SVG text of its legend labels)."""
    return page.eval_on_selector_all(
        f'[data-rk-chart="{name}"] g.role-legend-label text', "els => els.map(e => e.textContent)"
    )


def _wait_chart_change(page, name: str, old: str, needle: str = "") -> str:
    page.wait_for_function(
        '([name, old, needle]) => { const e = document.querySelector(`[data-rk-chart="${name}"]`);'
        " return e && e.querySelector('svg.marks') && e.innerHTML !== old && e.textContent.includes(needle); }",
        arg=[name, old, needle],
        timeout=90_000,
    )
    return page.inner_html(f'[data-rk-chart="{name}"]')


def test_explorer_split_legends_and_own_data_in_chromium(tmp_path):
    """Split by channel: every view has a legend with one entry per channel; then a CSV is loaded in the page."""
    _need_browser()
    import retainkit as rk

    f = rk.datasets.load_sample().frame
    organic = f[f["channel"] == "organic"]
    csv = tmp_path / "shop.csv"
    pd_frame = organic.rename(columns={"customer_id": "client", "timestamp": "ordered_at", "amount": "total"})
    pd_frame[["client", "ordered_at", "total", "country"]].to_csv(csv, index=False)
    channels = sorted(f["channel"].astype(str).unique())
    with voila(ROOT / "notebooks" / "explore_cohorts.ipynb", tmp_path / "voila.log") as url, browser_page(url) as page:
        heat = _chart_html(page, "heatmap")
        page.get_by_label("Split by", exact=True).select_option(label="channel")
        heat = _wait_chart_change(page, "heatmap", heat, "one block per channel")
        for ch in channels:
            assert f"channel: {ch}" in page.inner_text('[data-rk-chart="heatmap"]')
        page.get_by_text("Curves", exact=True).first.click()
        _chart_html(page, "curves")
        assert sorted(_legend_labels(page, "curves")) == channels
        page.get_by_text("CRR", exact=True).first.click()
        crr = _chart_html(page, "crr")
        assert sorted(_legend_labels(page, "crr")) == channels
        assert "by channel" in page.inner_text('[data-rk-chart="crr"]')
        # your own data: a wrong path is explained in the page, then a CSV with other column names is loaded
        page.get_by_text("Your data (CSV / Parquet)", exact=True).click()
        box = page.get_by_label("File", exact=True)
        box.fill(str(tmp_path / "nope.csv"))
        box.press("Enter")
        page.wait_for_selector(".rk-error", timeout=60_000)
        assert "no such file" in page.inner_text(".rk-error")
        box.fill(str(csv))
        box.press("Enter")
        page.wait_for_function("() => document.body.innerText.includes('4 columns found')", timeout=60_000)
        page.get_by_label("Customer id", exact=True).select_option("client")
        page.get_by_label("Order date", exact=True).select_option("ordered_at")
        page.get_by_role("button", name="Load", exact=True).click()
        page.wait_for_function("() => document.body.innerText.includes('Loaded shop.csv')", timeout=90_000)
        n = int(organic["customer_id"].nunique())
        page.wait_for_function(
            f"() => document.querySelector('.rk-summary').innerText.includes('{n:,} customers')", timeout=90_000
        )
        _wait_chart_change(page, "crr", crr, "Customer retention rate per period")  # redrawn, now unsplit
        assert page.blocked == [], page.blocked
        if os.environ.get("RETAINKIT_SCREENSHOTS"):
            page.screenshot(
                path=str(Path(os.environ["RETAINKIT_SCREENSHOTS"]) / "explorer-own-data.png"), full_page=True
            )
