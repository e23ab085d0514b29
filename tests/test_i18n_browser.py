"""Greek and Armenian reports in headless Chromium with Debian's Noto fonts: drawn, translated, no missing glyph.

Uses Debian's ``chromium`` and ``fonts-noto-core`` (scripts/install-chromium.sh).
Missing glyphs are looked for in two independent ways:

* coverage: every character of the rendered text (page and chart SVG, after
  Vega has drawn) is in the character set of at least one font family of the
  page's own font stack installed on this machine (fontconfig's ``charset``);
* what Chromium used: the platform fonts Chromium reports (DevTools
  ``CSS.getPlatformFontsForNode``) for the title, KPI labels, a paragraph and
  chart text are all families of that stack, never a last-resort font.

Screenshots go to ``build/screenshots/retention-report-{el,hy}.png``.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from functools import cache

import pytest

from retainkit import report as rr

from .test_browser import CHROMIUM, SHOTS, _need_browser
from .test_i18n_report import PARAMS, _allowed, latin_words

pytestmark = [pytest.mark.browser, pytest.mark.slow]

TEXT_JS = """() => {
  const out = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  while (walker.nextNode()) {
    const p = walker.currentNode.parentElement;
    if (!p || p.closest('script, style, [lang="en"]')) continue;
    out.push(walker.currentNode.data);
  }
  return out.join(' ');
}"""

PROBES = ("h1", ".rk-kpi-label", ".rk-kpi-sub", "p.rk-intro", "h2.rk-section", ".rk-chart svg text")


@cache
def _charsets() -> dict[str, list[tuple[int, int]]]:
    """Installed font families (lower case) and the code point ranges they cover (fontconfig)."""
    fc = shutil.which("fc-list")
    if fc is None:
        pytest.fail("fc-list (fontconfig) is needed to check glyph coverage")
    text = subprocess.run([fc, "--format=%{family}|%{charset}\\n"], capture_output=True, text=True, check=True).stdout
    out: dict[str, list[tuple[int, int]]] = {}
    for line in text.splitlines():
        families, _, charset = line.partition("|")
        ranges = []
        for part in charset.split():
            lo, _, hi = part.partition("-")
            ranges.append((int(lo, 16), int(hi or lo, 16)))
        for fam in families.split(","):
            out.setdefault(fam.strip().lower(), []).extend(ranges)
    return out


def _stack(css_font_family: str) -> list[str]:
    return [f.strip().strip("'\"").lower() for f in css_font_family.split(",")]


def _covered(ch: str, families: list[str]) -> bool:
    cs = _charsets()
    cp = ord(ch)
    return any(lo <= cp <= hi for fam in families for lo, hi in cs.get(fam, ()))


def _render(html_path, shot):
    from playwright.sync_api import sync_playwright

    res = {"requests": [], "errors": []}
    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path=CHROMIUM, args=["--no-sandbox", "--disable-gpu", "--proxy-server=127.0.0.1:9"]
        )
        try:
            ctx = browser.new_context(viewport={"width": 1200, "height": 900}, offline=True)
            ctx.route(
                "**/*",
                lambda r: (
                    r.continue_()
                    if r.request.url.startswith(("file:", "data:", "about:"))
                    else (res["requests"].append(r.request.url), r.abort())
                ),
            )
            page = ctx.new_page()
            page.on("pageerror", lambda e: res["errors"].append(str(e)))
            page.goto(html_path.resolve().as_uri(), wait_until="load")
            n = page.locator(".rk-chart").count()
            page.wait_for_function(
                "n => document.querySelectorAll('.rk-chart svg.marks').length >= n", arg=n, timeout=30000
            )
            res["charts"] = n
            res["text"] = page.evaluate(TEXT_JS)
            res["lang"] = page.evaluate("() => document.documentElement.lang")
            res["axis_labels"] = page.evaluate(
                "() => Array.from(document.querySelectorAll('.rk-chart svg .role-axis-label text')).map(t => t.textContent)"
            )
            res["body_font"] = page.evaluate("() => getComputedStyle(document.body).fontFamily")
            res["chart_font"] = page.evaluate(
                "() => { const t = document.querySelector('.rk-chart svg text'); return t ? getComputedStyle(t).fontFamily : ''; }"
            )
            cdp = ctx.new_cdp_session(page)
            cdp.send("DOM.enable")
            cdp.send("CSS.enable")
            root = cdp.send("DOM.getDocument", {"depth": -1})["root"]["nodeId"]
            used: dict[str, set[str]] = {}
            for sel in PROBES:
                ids = cdp.send("DOM.querySelectorAll", {"nodeId": root, "selector": sel})["nodeIds"][:6]
                for node in ids:
                    fonts = cdp.send("CSS.getPlatformFontsForNode", {"nodeId": node})["fonts"]
                    used.setdefault(sel, set()).update(f["familyName"] for f in fonts if f.get("glyphCount", 0) > 0)
            res["platform_fonts"] = used
            SHOTS.mkdir(parents=True, exist_ok=True)
            page.screenshot(path=str(shot), full_page=True)
        finally:
            browser.close()
    return res


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    _need_browser()
    out = {}
    for lang in ("en", "el", "hy"):
        folder = tmp_path_factory.mktemp(f"browser-{lang}")
        res = rr.run_report({**PARAMS, "charts": "interactive", "lang": lang}, folder)
        out[lang] = (res, _render(res.html, SHOTS / f"retention-report-{lang}.png"))
    return out


@pytest.mark.parametrize("lang", ["el", "hy"])
def test_translated_report_draws_offline_in_its_language(rendered, lang):
    res = rendered[lang][1]
    assert res["lang"] == lang
    assert res["charts"] == rendered["en"][1]["charts"] == 7  # with CRR over time per segment
    assert res["requests"] == [] and res["errors"] == []
    html_en = rendered["en"][0].html.read_text(encoding="utf-8")
    left = sorted(latin_words(res["text"]) - _allowed(html_en))
    assert not left, f"English words in the rendered {lang} report (charts included): {left}"
    script = {"el": r"[\u0370-\u03ff]", "hy": r"[\u0531-\u058f]"}[lang]
    assert len(re.findall(script, res["text"])) > 2000
    axis_labels = rendered[lang][1]["axis_labels"]  # drawn by Vega in the browser with config.locale
    assert {"el": "1.000", "hy": "1\u00a0000"}[lang] in axis_labels, axis_labels
    assert "1,000" in rendered["en"][1]["axis_labels"]


@pytest.mark.parametrize("lang", ["el", "hy"])
def test_every_character_has_a_glyph_in_the_font_stack(rendered, lang):
    res = rendered[lang][1]
    for css in (res["body_font"], res["chart_font"]):
        stack = _stack(css)
        installed = [f for f in stack if f in _charsets()]
        assert installed, f"none of {stack} is installed (apt-get install fonts-noto-core)"
        missing = sorted({ch for ch in res["text"] if not ch.isspace() and not _covered(ch, installed)})
        assert not missing, f"no font of {installed} has {[f'U+{ord(c):04X} {c}' for c in missing]}"


@pytest.mark.parametrize("lang", ["el", "hy"])
def test_chromium_draws_with_fonts_of_the_stack(rendered, lang):
    res = rendered[lang][1]
    stack = set(_stack(res["body_font"])) | set(_stack(res["chart_font"]))
    used = res["platform_fonts"]
    assert set(used) == set(PROBES), used
    for sel, fonts in used.items():
        assert fonts, sel
        assert {f.lower() for f in fonts} <= stack, f"{sel}: Chromium fell back to {fonts - stack} outside {stack}"
    if lang == "hy":  # Armenian letters come from an Armenian-capable family of the stack
        assert used["h1"] & {"Noto Sans Armenian", "DejaVu Sans"}, used["h1"]


def test_the_coverage_check_can_fail():
    """A character no font has (a private-use code point) is reported as missing."""
    assert not _covered("\ue000", list(_charsets()))
    assert _covered("Ա", ["noto sans armenian"]) and not _covered("Ա", ["noto sans"])
