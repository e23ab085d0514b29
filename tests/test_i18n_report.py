"""Reports in Greek and Armenian next to the English one (issue: the reader's language).

One sample report per language, run end to end through papermill with static
SVG charts (so chart titles, axes, legends and labels are part of the page's
visible text). Checked: no English word left in the el/hy pages (data values,
column and parameter names and proper names excepted), the same numbers in all
three languages, byte-identical HTML on a rerun, ``<html lang>``, the index
page following the newest report's language.
"""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import pytest
from babel.numbers import parse_decimal

from retainkit import report as rr
from retainkit.params import SCHEMA

pytestmark = pytest.mark.slow

PARAMS = {
    "data": "sample",
    "order_id": "order_id",
    "segment": "channel",
    "as_of": "2024-12-31",
    "currency": "EUR",
    "generated_at": "2025-01-01 06:15",
    "charts": "svg",
}

#: words that stay as they are in every language: proper names, acronyms and codes of the trade and of formats
PROPER = {
    "retainkit",
    "Wilson",
    "Newcombe",
    "Vega",
    "JavaScript",
    "HTML",
    "CSV",
    "Parquet",
    "JSON",
    "ISO",
    "IANA",
    "UTC",
    "strftime",
    "svg",
    "interactive",
    "CRR",
    "CLV",
    "MRR",
    "AOV",
    "ROI",
    "NPV",
    "EUR",
    "AMD",
    "USD",
    "True",
    "False",
    "UTF",
    "BOM",
    "latin",
    "cp1252",
    "sample",
    "en",
    "el",
    "hy",
}  # codes, encodings, literals


class _Text(HTMLParser):
    """Visible text of a page: no <script>/<style>, nothing inside an element marked lang="en"."""

    VOID = {
        "br",
        "img",
        "meta",
        "link",
        "input",
        "hr",
        "col",
        "area",
        "base",
        "source",
        "wbr",
        "path",
        "rect",
        "line",
        "circle",
    }

    def __init__(self) -> None:
        super().__init__()
        self.stack: list[tuple[str, bool]] = []
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.VOID:
            return
        hidden = tag in ("script", "style") or dict(attrs).get("lang") == "en"
        self.stack.append((tag, hidden or any(h for _, h in self.stack)))

    def handle_startendtag(self, tag, attrs):
        pass

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, -1, -1):
            if self.stack[i][0] == tag:
                del self.stack[i:]
                break

    def handle_data(self, data):
        if not (self.stack and self.stack[-1][1]):
            self.parts.append(data)


def visible_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    return " ".join(p.parts)


def latin_words(text: str) -> set[str]:
    """Latin-letter words of two letters or more; code identifiers (with _ or =) are not words."""
    return {
        w
        for w in re.findall(r"[A-Za-z_][A-Za-z_0-9]*", text)
        if len(w) > 1 and "_" not in w and not re.fullmatch(r"\d+[A-Z]", w)
    }


@pytest.fixture(scope="module")
def reports(tmp_path_factory):
    out = {}
    for lang in ("en", "el", "hy"):
        folder = tmp_path_factory.mktemp(f"reports-{lang}")
        res = rr.run_report(PARAMS, folder, lang=lang)  # the run_report(lang=...)
        out[lang] = (folder, res, res.html.read_text(encoding="utf-8"))
    return out


def _allowed(html_en: str) -> set[str]:
    """Data values and names that a translated page legitimately shows in Latin letters."""
    allowed = set(PROPER)
    allowed |= {p.name for p in SCHEMA}
    for v in PARAMS.values():
        allowed |= latin_words(str(v))
    allowed |= {"channel", "customer", "timestamp", "amount", "order", "id"}  # column names of the sample data
    allowed |= {"sample_transactions", "csv", "transactions"}  # the source file name
    allowed |= {"at", "risk", "customers"}  # the output file name at-risk-customers.csv
    segment_values = set(re.findall(r"<td[^>]*>([^<]+)</td>", html_en))  # segment names are data
    for value in segment_values:
        if re.fullmatch(r"[a-z]+", value.strip()):
            allowed.add(value.strip())
        if re.fullmatch(r"C\d+", value.strip()):  # customer ids of the customers-at-risk table are data
            allowed.add(value.strip())
    allowed |= {"BG", "NBD"}  # model names (BG/NBD)
    allowed |= {"SELECT", "postgresql", "orders", "sales"}  # SQL keyword, URL scheme, example table names
    allowed |= {"UTF", "BOM", "cp1252", "latin"}  # encoding names (UTF-8, latin-1, cp1252)
    allowed |= {"True", "False"}  # Python literals in the parameter table
    allowed |= {"monthly", "weekly", "by"}  # example schedule names (folder names: monthly, weekly-by-channel)
    return allowed


@pytest.mark.parametrize("lang", ["el", "hy"])
def test_no_english_word_is_left_in_a_translated_report(reports, lang):
    html = reports[lang][2]
    allowed = _allowed(reports["en"][2])
    left = sorted(latin_words(visible_text(html)) - allowed)
    assert not left, f"English words in the {lang} report: {left}"


def test_the_check_finds_english_words():
    """The check above can fail: an English page is full of words it reports."""
    html = "<html><body><h1>Customer retention report</h1><script>var x='hidden';</script></body></html>"
    assert latin_words(visible_text(html)) == {"Customer", "retention", "report"}
    assert latin_words(visible_text('<p>Ok <span lang="en">kept English</span></p>')) == {"Ok"}


@pytest.mark.parametrize("lang", ["en", "el", "hy"])
def test_page_language_and_local_formats(reports, lang):
    html = reports[lang][2]
    assert f'<html lang="{lang}">' in html
    kpis = dict(re.findall(r'data-kpi="(\w+)"[^>]*>.*?<div class="rk-kpi-value">([^<]*)</div>', html))
    expected = {"en": ("3,000", "€"), "el": ("3.000", "\u00a0€"), "hy": ("3\u00a0000", "\u00a0€")}[lang]
    assert kpis["customers"] == expected[0]
    assert kpis["clv"].endswith("€") if lang != "en" else kpis["clv"].startswith("€")
    months = {"en": "Dec 2024", "el": "Δεκ 2024", "hy": "2024 թ. դեկ"}[lang]
    assert months in html  # month names in period labels


def _numbers(html: str, lang: str) -> list[float | None]:
    """Every KPI value and every numeric table cell, parsed back with the language's rules."""
    cells = re.findall(r'<div class="rk-kpi-value">([^<]*)</div>', html)
    cells += re.findall(r'<td class="rk-num">([^<]*)</td>', html)
    out: list[float | None] = []
    for text in cells:
        plain = re.sub(r"[%€$\s\u00a0]", "", text.replace("–", " – ")).strip()
        if plain in ("", "–"):
            out.append(None)
            continue
        if " – " in text:  # an interval: both ends
            out.extend(float(parse_decimal(re.sub(r"[%\s\u00a0]", "", t), locale=lang)) for t in text.split(" – "))
            continue
        out.append(float(parse_decimal(plain, locale=lang)))
    return out


@pytest.mark.parametrize("lang", ["el", "hy"])
def test_same_numbers_in_every_language(reports, lang):
    en = _numbers(reports["en"][2], "en")
    other = _numbers(reports[lang][2], lang)
    assert len(en) > 40 and other == en
    kpi_values = {la: re.findall(r'data-kpi="\w+" data-value="([^"]*)"', reports[la][2]) for la in ("en", lang)}
    assert kpi_values["en"] == kpi_values[lang]
    s_en = json.loads((reports["en"][1].folder / "report-summary.json").read_text(encoding="utf-8"))
    s_other = json.loads((reports[lang][1].folder / "report-summary.json").read_text(encoding="utf-8"))
    assert s_other["lang"] == lang
    assert {k: v["value"] for k, v in s_en["kpis"].items()} == {k: v["value"] for k, v in s_other["kpis"].items()}


def test_rerun_gives_byte_identical_html_in_armenian(reports, tmp_path):
    again = rr.run_report({**PARAMS, "lang": "hy"}, tmp_path)
    assert again.html.read_bytes() == reports["hy"][1].html.read_bytes()


def test_index_follows_the_newest_report_language(reports):
    folder, _res, _html = reports["el"]
    index = (folder / "index.html").read_text(encoding="utf-8")
    assert '<html lang="el">' in index and "Αναφορές διατήρησης" in index
    assert "31 Δεκεμβρίου 2024" in index and "84,1%" in index
    # the scheduling texts too: schedule heading, statuses and the run log (no English island left)
    assert "Χρονοπρογραμματισμός monthly" in index and "Ημερολόγιο εκτελέσεων" in index
    assert 'lang="en"' not in index
    host = {w for r in rr.read_records(folder) for w in latin_words(r.owner.host)}  # the run log names the host
    assert (
        not latin_words(visible_text(index)) - _allowed(reports["en"][2]) - host - {"data", "PATH", "YYYY", "MM", "DD"}
    )
    english = rr.write_index(folder, lang="en").read_text(encoding="utf-8")
    assert '<html lang="en">' in english and "Retention reports" in english and "84.1%" in english


def test_greek_svg_report_in_chromium_has_its_trend_cards_and_no_small_text(reports):
    """The --charts svg variant in a translated page: sparklines, no text under 11 px, nothing fetched."""
    from .test_browser import _need_browser, open_offline

    _need_browser()
    res = open_offline(reports["el"][1].html)
    assert res["sparklines"] == 8 and res["kpi_sentences"] == res["kpis"] == 13
    assert res["small_text"] == [], res["small_text"][:20]
    assert res["errors"] == [] and res["requests"] == []
