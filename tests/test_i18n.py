"""The reader's language: catalogues complete, glossary used, CLDR formats, chart locale.

References: the formats measured with Babel/CLDR on this machine for el, hy and
en (1234567.891, 0.841 as a percent, 1234.5 EUR, month labels, long dates), and
Vega's own d3-format (rendered by vl-convert) for the chart locale: the page
and the charts must write the same number the same way.
"""

from __future__ import annotations

import csv
import re
import unicodedata
from pathlib import Path

import pytest
from babel.messages.extract import DEFAULT_KEYWORDS, extract_from_dir
from babel.messages.frontend import parse_mapping_cfg
from babel.messages.pofile import read_po
from hypothesis import given, settings
from hypothesis import strategies as st

from retainkit import i18n
from retainkit.exceptions import ParameterError
from retainkit.i18n import (
    LANGUAGES,
    catalogue_path,
    format_currency,
    format_date,
    format_number,
    format_percent,
    format_points,
    glossary,
    period_label,
    translator,
    vega_locale,
)

ROOT = Path(__file__).resolve().parents[1]
TRANSLATED = [lang for lang in LANGUAGES if lang != "en"]
NBSP = "\u00a0"


# ------------------------------------------------------------------ formats
@pytest.mark.parametrize(
    "lang, number, percent, euro, month, long_date",
    [
        ("el", "1.234.567,891", "84,1%", f"1.234,50{NBSP}€", "Ιουν 1997", "30 Ιουνίου 1998"),
        ("hy", f"1{NBSP}234{NBSP}567,891", "84,1%", f"1{NBSP}234,50{NBSP}€", "1997 թ. հնս", "1998 թ. հունիսի 30"),
        ("en", "1,234,567.891", "84.1%", "€1,234.50", "Jun 1997", "June 30, 1998"),
    ],
)
def test_cldr_formats_match_the_measured_table(lang, number, percent, euro, month, long_date):
    assert format_number(1234567.891, lang, None) == number
    assert format_percent(0.841, lang) == percent
    assert format_currency(1234.5, "EUR", lang) == euro
    assert period_label("1997-06", "M", lang) == month
    assert format_date("1998-06-30", lang) == long_date


def test_currencies_and_digits():
    assert format_currency(1234.5, "AMD", "hy") == f"1{NBSP}234,50{NBSP}֏"
    assert format_currency(-1234.5, "AMD", "en") == f"-AMD{NBSP}1,234.50"  # a letter code is spaced (CLDR)
    assert format_currency(41, "USD", "el", 0) == f"41{NBSP}$"
    assert format_currency(12, "", "el") == "12,00"
    assert format_number(1234, "el") == "1.234"
    assert format_number(-1234.5, "hy", 1) == f"-1{NBSP}234,5"
    assert format_percent(0.0123, "el", 2) == "1,23%"


def test_percentage_points_are_signed_and_translated():
    assert format_points(0.0123, "en") == "+1.2 pp"
    assert format_points(-0.004, "el") == "-0,4 π.μ."
    assert format_points(-0.0001, "hy") == "+0,0 տ.կ."  # rounds to zero: no minus sign
    assert format_points(0.25, "hy") == "+25,0 տ.կ."


@pytest.mark.parametrize("lang", LANGUAGES)
def test_missing_values_are_a_dash(lang):
    for f in (format_number, format_percent, format_points):
        assert f(float("nan"), lang) == "–"
        assert f(None, lang) == "–"
    assert format_currency(float("inf"), "EUR", lang) == "–"


def test_period_labels_per_frequency():
    assert period_label("2024-Q3", "Q", "el") == "Τ3 2024"
    assert period_label("2024-Q3", "Q", "en") == "Q3 2024"
    assert period_label("2024", "Y", "en") == "2024"
    assert period_label("2024-01-31", "D", "el") == "31 Ιαν 2024"
    assert period_label("2024-W05", "W", "en") == "Jan 29, 2024 (W05)"  # ISO week 5 starts on Monday 29 Jan
    assert period_label("2022-W52", "W", "en") == "Dec 26, 2022 (W52)"
    assert period_label("2024-W05", "W", "hy").startswith("2024 թ. հնվ 29")
    assert period_label("overall", "M", "el") == "overall"  # not a period: left alone (a data value)


def test_datetime_in_the_language():
    assert (
        i18n.format_datetime("2024-12-31T23:59", "en") == "December 31, 2024, 11:59\u202fPM"
    )  # CLDR: narrow no-break space
    assert i18n.format_datetime("2024-12-31T23:59", "hy") == "2024 թ. դեկտեմբերի 31, 23:59"


@settings(max_examples=60, deadline=None)
@given(
    x=st.floats(min_value=-1e9, max_value=1e9, allow_nan=False),
    lang=st.sampled_from(LANGUAGES),
    digits=st.integers(0, 3),
)
def test_formatted_numbers_parse_back(x, lang, digits):
    from babel.numbers import parse_decimal

    text = format_number(x, lang, digits)
    assert float(parse_decimal(text, locale=lang)) == pytest.approx(round(x, digits), abs=10**-digits)


def test_currency_and_lang_are_checked():
    assert i18n.check_currency("eur") == "EUR"
    assert i18n.check_currency("") == ""
    with pytest.raises(ParameterError, match="ISO 4217"):
        i18n.check_currency("EURO")
    with pytest.raises(ParameterError, match="choose one of en, el, hy"):
        translator("fr")


# ------------------------------------------------------------------ chart locale
@pytest.mark.parametrize("lang", LANGUAGES)
def test_chart_locale_writes_numbers_like_the_page(lang):
    """Vega's d3-format with :func:`vega_locale` gives the same strings as Babel."""
    import altair as alt
    import pandas as pd
    import vl_convert as vlc

    values = [1234567.4, 0.841, 0.25, 12345.0, -2500.0]
    df = pd.DataFrame({"i": range(len(values)), "v": values})
    base = alt.Chart(df).encode(y=alt.Y("i:O", axis=None))
    chart = alt.layer(
        base.mark_text().encode(text=alt.Text("v:Q", format=",.1f")),
        base.mark_text(dx=200).encode(text=alt.Text("v:Q", format=",.1%")),
        base.mark_text(dx=400).encode(text=alt.Text("v:Q", format=",d")),
    )
    spec = chart.to_dict()
    spec["config"] = {"locale": vega_locale(lang)}
    svg = vlc.vegalite_to_svg(spec)
    texts = set(re.findall(r"<text[^>]*>([^<]*)</text>", svg))
    texts = {t.replace("&#160;", NBSP) for t in texts}
    for v in values:
        assert format_number(v, lang, 1) in texts
        assert format_percent(v, lang, 1) in texts
        assert format_number(round(v), lang, 0) in texts


def test_vega_time_locale_has_month_names():
    loc = vega_locale("el")["time"]
    assert loc["shortMonths"][0] == "Ιαν" and loc["months"][5] == "Ιούνιος"
    assert len(loc["days"]) == 7 and loc["days"][0] == "Κυριακή"  # d3 weeks start on Sunday


# ------------------------------------------------------------------ catalogues
def _code_messages() -> set:
    with open(ROOT / "babel.cfg", encoding="utf-8") as fh:
        method_map, options_map = parse_mapping_cfg(fh)
    out = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        str(ROOT), method_map, options_map, keywords=DEFAULT_KEYWORDS
    ):
        out.add(message)
    return out


@pytest.fixture(scope="module")
def code_messages():
    return _code_messages()


def _catalogue(lang):
    with open(catalogue_path(lang), "rb") as fh:
        return read_po(fh, locale=lang)


def _fields(text: str) -> set[str]:
    return set(re.findall(r"\{[^{}]*\}", text))


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_is_complete_and_not_fuzzy(lang, code_messages):
    cat = _catalogue(lang)
    problems = []
    ids = set()
    for m in cat:
        if not m.id:
            continue
        ids.add(m.id if isinstance(m.id, str) else tuple(m.id))
        strings = [m.string] if isinstance(m.string, str) else list(m.string)
        if m.fuzzy:
            problems.append(f"fuzzy: {m.id!r}")
        elif not all(s.strip() for s in strings):
            problems.append(f"untranslated: {m.id!r}")
        else:
            english = m.id if isinstance(m.id, str) else m.id[1]
            for s in strings:
                if "python-brace-format" in m.flags and _fields(s) != _fields(english):
                    problems.append(f"placeholders differ: {m.id!r} -> {s!r}")
    missing = [m for m in code_messages if (m if isinstance(m, str) else tuple(m)) not in ids]
    problems += [
        f"in the code but not in the {lang} catalogue (run make i18n): {m!r}" for m in sorted(map(str, missing))
    ]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_is_used_at_run_time(lang):
    tr = translator(lang)
    assert tr.gettext("{value} pp") != "{value} pp"
    assert tr.gettext("not a message in any catalogue") == "not a message in any catalogue"
    assert translator("en").gettext("{value} pp") == "{value} pp"


def test_template_is_in_step_with_the_code(code_messages):
    with open(ROOT / "retainkit" / "locale" / "retainkit.pot", "rb") as fh:
        pot = {m.id if isinstance(m.id, str) else tuple(m.id) for m in read_po(fh) if m.id}
    code = {m if isinstance(m, str) else tuple(m) for m in code_messages}
    assert code == pot, (
        f"run make i18n: new {sorted(map(str, code - pot))[:10]}, gone {sorted(map(str, pot - code))[:10]}"
    )


# ------------------------------------------------------------------ glossary
def _norm(text: str) -> str:
    """Lower case without accents (Greek tonos), final sigma as sigma: inflected forms share a stem."""
    text = unicodedata.normalize("NFD", text.casefold())
    return "".join(c for c in text if not unicodedata.combining(c)).replace("ς", "σ")


def test_glossary_has_every_language():
    rows = list(csv.DictReader(open(i18n.GLOSSARY, encoding="utf-8")))
    keys = [r["key"] for r in rows]
    assert len(keys) == len(set(keys))
    for key in ("customer_retention_rate", "churn", "cohort", "lifetime_value", "loyalty_programme", "breakage"):
        assert key in keys
    for r in rows:
        for lang in LANGUAGES:
            assert r[lang].strip(), (r["key"], lang)
        for lang in TRANSLATED:  # the term matches its own pattern
            assert re.search(_norm(r[f"{lang}_match"]), _norm(r[lang])), (r["key"], lang)
        assert re.search(r["en_match"], r["en"], re.IGNORECASE), r["key"]
    assert [g["term"] for g in glossary("el") if g["key"] == "cohort"] == ["κοόρτη"]


@pytest.mark.parametrize("lang", TRANSLATED)
def test_catalogue_uses_the_glossary_terms(lang):
    rows = list(csv.DictReader(open(i18n.GLOSSARY, encoding="utf-8")))
    problems = []
    for m in _catalogue(lang):
        if not m.id:
            continue
        pairs = [(m.id, m.string)] if isinstance(m.id, str) else list(zip(m.id, m.string))
        for english, translated in pairs:
            if not translated:
                continue
            english = re.sub(r"\{[^{}]*\}|%\(\w+\)s", "", english)  # placeholders are not words
            for r in rows:
                if re.search(r["en_match"], english, re.IGNORECASE) and not re.search(
                    _norm(r[f"{lang}_match"]), _norm(translated)
                ):
                    problems.append(f"{r['key']}: {english!r} -> {translated!r} lacks {r[lang]!r}")
    assert not problems, "\n".join(problems)


@settings(max_examples=40, deadline=None)
@given(index=st.integers(0, 60_000), freq=st.sampled_from(["D", "W", "M", "Q", "Y"]))
def test_every_period_label_of_the_library_is_read(index, freq):
    """Each label :func:`retainkit.periods.period_label` writes is recognised, and starts where periods says."""
    import datetime as dt

    import numpy as np
    from babel.dates import format_date as babel_date

    from retainkit import periods

    if freq in ("Q", "Y"):
        index = index % 2000
    if freq == "M":
        index = index % 20_000
    raw = periods.period_label(index, freq)
    start = dt.date(1970, 1, 1) + dt.timedelta(days=int(periods.period_start_day(np.array([index]), freq)[0]))
    got = period_label(raw, freq, "el")
    assert got != raw or freq == "Y"  # a year is written as the year
    if freq in ("D", "W"):
        assert babel_date(start, "medium", locale="el") in got
    else:
        assert str(start.year) in got


def test_cli_lang_options(tmp_path, capsys):
    from retainkit import cli

    args = cli._parser().parse_args(["report", "--data", "sample", "--lang", "el", "--currency", "AMD"])
    assert cli.collect_params(args)["lang"] == "el"
    yaml_file = tmp_path / "monthly.yaml"
    yaml_file.write_text("data: sample\nlang: hy\n", encoding="utf-8")
    args = cli._parser().parse_args(["report", "-f", str(yaml_file)])
    assert cli.collect_params(args)["lang"] == "hy"
    assert cli.main(["index", "--out", str(tmp_path / "reports"), "--lang", "hy"]) == cli.EXIT_OK
    index = (tmp_path / "reports" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="hy">' in index and "Պահպանման հաշվետվություններ" in index
    out = str(tmp_path / "reports")
    assert cli.main(["report", "--data", "sample", "--lang", "fr", "--out", out]) == cli.EXIT_PARAMETER
    assert "choose one of en, el, hy" in capsys.readouterr().err


@pytest.mark.parametrize("lang", TRANSLATED)
def test_every_run_status_of_the_index_is_translated(lang):
    """The index shows every status a run can end with (runlog.EXIT_CODES) in the page's language."""
    from retainkit.i18n import translator
    from retainkit.report.index import STATUS_TEXTS, status_text
    from retainkit.report.runlog import EXIT_CODES, PUBLISHED_STATUSES

    statuses = {e.status for e in EXIT_CODES} | set(PUBLISHED_STATUSES) | {"running"}
    assert statuses <= set(STATUS_TEXTS)
    tr = translator(lang)
    for status in statuses:
        shown = status_text(tr, status)
        assert shown and not re.search("[A-Za-z]", shown), (status, shown)
        assert status_text(tr, f"last run: {status}") == tr.gettext("last run: {status}").format(status=shown)
