"""The reader's language: translated strings and local number, date and currency formats.

Every string a reader sees (report and index pages, chart titles, axes, legends
and tooltips, widget labels) is written in English in the code and passed
through a :class:`Translator`, so that a message catalogue can replace it::

    tr = translator(lang)
    _ = tr.gettext
    title = _("Average retention by cohort age")

Templates receive the same ``_`` in their context (``{{ _("Cohort") }}``).
Pass the language explicitly; there is no global current language.

Catalogues are gettext ``.po`` files managed with Babel (``make i18n``:
extract ``retainkit.pot``, update, check), shipped inside the package under
``retainkit/locale/<lang>/LC_MESSAGES/retainkit.po``. They are compiled in
memory when a language is first used (Babel's ``read_po`` then ``write_mo``
into a :class:`gettext.GNUTranslations`, a few milliseconds): the ``.po`` file
is the one source, so no compiled ``.mo`` can go stale or be left out of a
wheel. Fuzzy and empty entries are not used (they fall back to English), as
with ``msgfmt``.

Numbers, percentages, money, dates and period labels follow the language's
CLDR conventions through Babel (:meth:`Translator.format_number`,
:func:`format_percent`, ...); :func:`vega_locale` gives the same conventions to
Vega-Lite charts (``config.locale``), so axes and tooltips agree with the page.
A missing value is shown as an en dash in every language.
"""

from __future__ import annotations

import csv
import datetime as _dt
import decimal
import functools
import gettext
import io
import math
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from babel import Locale, dates, numbers
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

from .exceptions import ParameterError

#: languages a report can be written in; the first is the default
LANGUAGES: tuple[str, ...] = ("en", "el", "hy")
#: gettext domain of retainkit's catalogues
DOMAIN = "retainkit"
#: the package folder holding ``<lang>/LC_MESSAGES/retainkit.po``, the template and the glossary
LOCALE_DIR = Path(__file__).parent / "locale"
GLOSSARY = LOCALE_DIR / "glossary.csv"
#: shown for a missing or undefined number, in every language
MISSING = "–"


def check_lang(lang: Any) -> str:
    """Return ``lang`` (one of :data:`LANGUAGES`) or raise a ParameterError saying what to pass."""
    if isinstance(lang, str) and lang.strip().lower() in LANGUAGES:
        return lang.strip().lower()
    raise ParameterError(f"lang={lang!r} is not a report language: choose one of {', '.join(LANGUAGES)}")


def catalogue_path(lang: str) -> Path:
    """The ``.po`` file of ``lang`` inside the package."""
    return LOCALE_DIR / lang / "LC_MESSAGES" / f"{DOMAIN}.po"


@functools.cache
def _translations(lang: str) -> gettext.NullTranslations:
    """The compiled catalogue of ``lang`` (English: no catalogue, messages pass through)."""
    if lang == "en":
        return gettext.NullTranslations()
    path = catalogue_path(lang)
    with open(path, "rb") as fh:
        catalog = read_po(fh, locale=lang, domain=DOMAIN)
    buf = io.BytesIO()
    write_mo(buf, catalog, use_fuzzy=False)
    buf.seek(0)
    return gettext.GNUTranslations(buf)


@functools.cache
def _locale(lang: str) -> Locale:
    return Locale.parse(lang)


# ------------------------------------------------------------------ number formats
def _missing(x: Any) -> bool:
    if x is None:
        return True
    try:
        return not math.isfinite(float(x))
    except (TypeError, ValueError):
        return True


def _pattern(base: numbers.NumberPattern, digits: int | None) -> numbers.NumberPattern:
    """A copy of a CLDR pattern showing exactly ``digits`` decimals (None keeps the pattern's)."""
    if digits is None:
        return base
    pat = numbers.parse_pattern(base.pattern)
    pat.frac_prec = (digits, digits)
    return pat


def _apply(pattern: numbers.NumberPattern, x: Any, loc: Locale, **kw: Any) -> str:
    """Format with ties rounded away from zero on the exact binary value, as Vega (d3-format) does.

    Babel would round half to even on the decimal string; the same number
    would then read 0.2 in a table and 0.3 in a chart tooltip.
    """
    with decimal.localcontext() as ctx:
        ctx.rounding = decimal.ROUND_HALF_UP
        return pattern.apply(decimal.Decimal(float(x)), loc, **kw)


def format_number(x: Any, lang: str = "en", digits: int | None = 0) -> str:
    """``x`` with the language's decimal and grouping separators (el ``1.234,5``, hy ``1 234,5``).

    ``digits`` decimals are shown (None: as many as needed, up to three).
    """
    if _missing(x):
        return MISSING
    loc = _locale(lang)
    if digits is None:
        return numbers.format_decimal(float(x), locale=loc)  # up to three decimals, as written
    return _apply(_pattern(loc.decimal_formats[None], digits), x, loc)


def format_percent(x: Any, lang: str = "en", digits: int = 1) -> str:
    """A share as a percentage, ``0.841`` -> en ``84.1%``, el ``84,1%`` (CLDR percent pattern)."""
    if _missing(x):
        return MISSING
    loc = _locale(lang)
    return _apply(_pattern(loc.percent_formats[None], digits), x, loc)


def _currency_spacing(text: str) -> str:
    # CLDR currencySpacing: a letter symbol (AMD, CHF) next to a digit gets a no-break space
    text = re.sub(r"(?<=[A-Za-z])(?=[\d\-])", "\u00a0", text)
    return re.sub(r"(?<=\d)(?=[A-Za-z])", "\u00a0", text)


def format_currency(x: Any, currency: str = "", lang: str = "en", digits: int | None = None) -> str:
    """An amount with its currency the language's way (el ``1.234,50 €``, en ``€1,234.50``).

    ``currency`` is an ISO 4217 code (``''``: the number alone). ``digits``
    None uses the currency's usual number of decimals (CLDR).
    """
    if _missing(x):
        return MISSING
    loc = _locale(lang)
    if not currency:
        return format_number(x, lang, 2 if digits is None else digits)
    code = currency.upper()
    base = loc.currency_formats["standard"]
    if digits is None:
        text = _apply(base, x, loc, currency=code)
    else:
        text = _apply(_pattern(base, digits), x, loc, currency=code, currency_digits=False)
    return _currency_spacing(text)


def format_points(x: Any, lang: str = "en", digits: int = 1) -> str:
    """A difference of two shares in percentage points, signed: en ``+1.2 pp``, el ``+1,2 π.μ.``."""
    if _missing(x):
        return MISSING
    value = round(float(x) * 100, digits) + 0.0  # + 0.0 turns -0.0 into 0.0
    sign = "+" if value >= 0 else ""
    text = sign + format_number(value, lang, digits)
    return Translator(lang).gettext("{value} pp").format(value=text)


def check_currency(code: Any) -> str:
    """Upper-case ISO 4217 code known to CLDR ('' stays ''), else a ParameterError with a hint."""
    text = str(code or "").strip().upper()
    if not text or numbers.is_currency(text):
        return text
    raise ParameterError(
        f"currency={code!r} is not an ISO 4217 currency code known to CLDR. "
        "Pass a three-letter code such as EUR, AMD or USD, or '' for none."
    )


# ------------------------------------------------------------------ dates and periods
def _as_date(value: Any) -> _dt.date | _dt.datetime:
    if isinstance(value, (_dt.date, _dt.datetime)):
        return value
    if isinstance(value, np.datetime64):
        return _dt.datetime.fromisoformat(str(value.astype("datetime64[s]")))
    text = str(value).strip()
    return _dt.datetime.fromisoformat(text) if len(text) > 10 else _dt.date.fromisoformat(text)


def format_date(value: Any, lang: str = "en", format: str = "long") -> str:  # noqa: A002 (Babel's name)
    """A date the language's way: ``long`` en ``June 30, 1998``, el ``30 Ιουνίου 1998``, hy ``1998 թ. հունիսի 30``."""
    if value is None:
        return MISSING
    d = _as_date(value)
    if isinstance(d, _dt.datetime):
        d = d.date()
    return dates.format_date(d, format=format, locale=_locale(lang))


def format_datetime(value: Any, lang: str = "en", format: str = "long") -> str:  # noqa: A002
    """Date and time (hours and minutes) of a wall-clock datetime, in the language's order."""
    if value is None:
        return MISSING
    d = _as_date(value)
    if not isinstance(d, _dt.datetime):
        d = _dt.datetime.combine(d, _dt.time())
    loc = _locale(lang)
    day = dates.format_date(d.date(), format=format, locale=loc)
    time = dates.format_time(d.time().replace(second=0, microsecond=0), format="short", locale=loc)
    return Translator(lang).gettext("{date}, {time}").format(date=day, time=time)


#: the language-neutral period labels of :func:`retainkit.periods.period_label` (definitions §2), per frequency
_LABELS = {
    "D": re.compile(r"(\d{4})-(\d{2})-(\d{2})"),
    "W": re.compile(r"(\d{4})-W(\d{2})"),
    "M": re.compile(r"(\d{4})-(\d{2})"),
    "Q": re.compile(r"(\d{4})-Q([1-4])"),
    "Y": re.compile(r"(\d{4})"),
}


def _period_start(label: str, freq: str) -> _dt.date | None:
    """First day of the period a label names ('2024-W05' -> Monday 2024-01-29); None if it is not a label."""
    m = _LABELS[freq].fullmatch(label.strip())
    if not m:
        return None
    try:
        y, *rest = (int(g) for g in m.groups())
        if freq == "D":
            return _dt.date(y, rest[0], rest[1])
        if freq == "W":
            return _dt.date.fromisocalendar(y, rest[0], 1)
        if freq == "M":
            return _dt.date(y, rest[0], 1)
        if freq == "Q":
            return _dt.date(y, 3 * rest[0] - 2, 1)
        return _dt.date(y, 1, 1)
    except ValueError:
        return None


def period_label(label: Any, freq: str, lang: str = "en") -> str:
    """A period label (``'2024-01'``, ``'2024-Q1'``, ...) in the reader's language (definitions §2).

    Months: en ``Jan 2024``, el ``Ιαν 2024``, hy ``2024 թ. հնվ``; quarters:
    ``Q1 2024``, ``Τ1 2024``...; weeks by their Monday and ISO week number (``Dec 26, 2022 (W52)``);
    days as a medium date;
    years as the year. Anything that is not a label of ``freq`` (e.g.
    ``'overall'``) is returned unchanged.
    """
    f = str(freq).strip().upper()
    if f not in _LABELS:
        raise ParameterError(f"freq={freq!r} is not a period granularity: use D, W, M, Q or Y.")
    text = str(label)
    start = _period_start(text, f)
    if start is None:
        return text
    loc = _locale(lang)
    if f == "M":
        return dates.format_skeleton("yMMM", start, locale=loc)
    if f == "Q":
        return dates.format_skeleton("yQQQ", start, locale=loc)
    if f == "Y":
        return dates.format_skeleton("y", start, locale=loc)
    if f == "W":
        week = f"{start.isocalendar()[1]:02d}"
        return (
            Translator(lang)
            .gettext("{date} (W{week})")
            .format(date=dates.format_date(start, "medium", locale=loc), week=week)
        )
    return dates.format_date(start, "medium", locale=loc)


# ------------------------------------------------------------------ charts
def _strftime(cldr: str) -> str:
    """A CLDR date/time pattern as a d3 time format (the common fields only)."""
    table = [
        ("yyyy", "%Y"),
        ("yy", "%y"),
        ("y", "%Y"),
        ("MMMM", "%B"),
        ("MMM", "%b"),
        ("MM", "%m"),
        ("M", "%-m"),
        ("dd", "%d"),
        ("d", "%-d"),
        ("HH", "%H"),
        ("H", "%-H"),
        ("hh", "%I"),
        ("h", "%-I"),
        ("mm", "%M"),
        ("ss", "%S"),
        ("a", "%p"),
    ]
    out, i = [], 0
    while i < len(cldr):
        if cldr[i] == "'":
            j = cldr.find("'", i + 1)
            j = len(cldr) if j < 0 else j
            out.append(cldr[i + 1 : j] or "'")
            i = j + 1
            continue
        for token, d3 in table:
            if cldr.startswith(token, i):
                out.append(d3)
                i += len(token)
                break
        else:
            out.append(cldr[i])
            i += 1
    return "".join(out)


def vega_locale(lang: str = "en") -> dict[str, Any]:
    """Vega's ``locale`` definition (d3-format and d3-time-format) for ``lang``, from CLDR.

    Put it in a Vega-Lite spec as ``config.locale`` (or pass its parts to
    ``vegaEmbed`` as ``formatLocale``/``timeFormatLocale``): then the usual
    d3 formats (``",d"``, ``".1%"``) give the same separators as the page.
    """
    loc = _locale(lang)
    sym = loc.number_symbols["latn"]
    cur = loc.currency_formats["standard"].pattern.split(";")[0]
    prefix, _, suffix = cur.partition("#") if "#" in cur else cur.partition("0")
    suffix = suffix.lstrip("#,0.")
    number = {
        "decimal": sym["decimal"],
        "thousands": sym["group"],
        "grouping": [3],
        "currency": [prefix.replace("¤", "$"), suffix.replace("¤", "$")],
        "minus": sym.get("minusSign", "-"),
        "percent": sym.get("percentSign", "%"),
        "nan": MISSING,
    }

    def names(table: Any) -> list[str]:
        return [table[k] for k in sorted(table)]

    days = loc.days["format"]
    order = [6, 0, 1, 2, 3, 4, 5]  # d3 weeks start on Sunday; CLDR keys Monday = 0
    time = {
        "dateTime": _strftime(loc.date_formats["medium"].pattern) + " " + _strftime(loc.time_formats["medium"].pattern),
        "date": _strftime(loc.date_formats["short"].pattern),
        "time": _strftime(loc.time_formats["medium"].pattern),
        "periods": [loc.day_periods["format"]["abbreviated"][k] for k in ("am", "pm")],
        "days": [days["wide"][i] for i in order],
        "shortDays": [days["abbreviated"][i] for i in order],
        "months": names(loc.months["stand-alone"]["wide"]),
        "shortMonths": names(loc.months["stand-alone"]["abbreviated"]),
    }
    return {"number": number, "time": time}


# ------------------------------------------------------------------ the translator
@dataclass(frozen=True)
class Translator:
    """Translations and local formats for one language (English passes strings through).

    Build it with :func:`translator`. ``gettext``/``ngettext``/``pgettext``
    look messages up in the language's catalogue; the ``format_*`` methods
    and :meth:`period_label` format values with the language's CLDR rules.
    """

    lang: str = "en"
    _catalogue: gettext.NullTranslations = field(default=None, repr=False, compare=False)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        lang = check_lang(self.lang)
        object.__setattr__(self, "lang", lang)
        object.__setattr__(self, "_catalogue", _translations(lang))

    def gettext(self, message: str) -> str:
        """The translation of ``message`` (the message itself where none exists)."""
        return self._catalogue.gettext(message)

    def ngettext(self, singular: str, plural: str, n: int) -> str:
        """The singular or plural form of a message, by the count ``n`` (the language's plural rule)."""
        return self._catalogue.ngettext(singular, plural, n)

    def pgettext(self, context: str, message: str) -> str:
        """The translation of ``message`` in ``context`` (same English, different meaning)."""
        return self._catalogue.pgettext(context, message)

    def format_number(self, x: Any, digits: int | None = 0) -> str:
        """See :func:`format_number`."""
        return format_number(x, self.lang, digits)

    def format_percent(self, x: Any, digits: int = 1) -> str:
        """See :func:`format_percent`."""
        return format_percent(x, self.lang, digits)

    def format_points(self, x: Any, digits: int = 1) -> str:
        """See :func:`format_points`."""
        return format_points(x, self.lang, digits)

    def format_currency(self, x: Any, currency: str = "", digits: int | None = None) -> str:
        """See :func:`format_currency`."""
        return format_currency(x, currency, self.lang, digits)

    def format_date(self, value: Any, format: str = "long") -> str:  # noqa: A002
        """See :func:`format_date`."""
        return format_date(value, self.lang, format)

    def format_datetime(self, value: Any, format: str = "long") -> str:  # noqa: A002
        """See :func:`format_datetime`."""
        return format_datetime(value, self.lang, format)

    def period_label(self, label: Any, freq: str) -> str:
        """See :func:`period_label`."""
        return period_label(label, freq, self.lang)

    def vega_locale(self) -> dict[str, Any]:
        """See :func:`vega_locale`."""
        return vega_locale(self.lang)


def translator(lang: str = "en") -> Translator:
    """The :class:`Translator` for ``lang`` (one of :data:`LANGUAGES`)."""
    return Translator(check_lang(lang))


def N_(message: str) -> str:  # noqa: N802 (the gettext convention)
    """Mark a module-level constant for extraction; translate it later with ``_()``."""
    return message


# ------------------------------------------------------------------ glossary
def glossary(lang: str = "en") -> list[dict[str, str]]:
    """The trade's key terms in ``lang``, from ``locale/glossary.csv``.

    Each record has ``key``, ``en`` (the English term), ``term`` (in
    ``lang``) and ``note``. Reports, the index and the widgets use these
    words; a test checks the catalogues do.
    """
    lang = check_lang(lang)
    with open(GLOSSARY, encoding="utf-8", newline="") as fh:
        rows = list(csv.DictReader(fh))
    return [{"key": r["key"], "en": r["en"], "term": r[lang], "note": r.get("note", "")} for r in rows]


__all__ = [
    "DOMAIN",
    "LANGUAGES",
    "LOCALE_DIR",
    "MISSING",
    "N_",
    "Translator",
    "catalogue_path",
    "check_currency",
    "check_lang",
    "format_currency",
    "format_date",
    "format_datetime",
    "format_number",
    "format_percent",
    "format_points",
    "glossary",
    "period_label",
    "translator",
    "vega_locale",
]
