"""Number and text formatting of the report: percentages, money, HTML escaping.

The numbers follow the report language's CLDR conventions through
:mod:`retainkit.i18n` (``lang``: en, el, hy); a missing value is an en dash.
"""

from __future__ import annotations

import html as _html
from typing import Any

from ..i18n import format_currency, format_percent, format_points


def pct(x: float, digits: int = 1, lang: str = "en") -> str:
    """A share as a percentage in ``lang`` (en ``84.1%``, el ``84,1%``)."""
    return format_percent(x, lang, digits)


def pp(x: float, lang: str = "en") -> str:
    """A difference of shares in signed percentage points (en ``+1.2 pp``, el ``+1,2 π.μ.``)."""
    return format_points(x, lang)


def money(x: float, currency: str, digits: int | None = 2, lang: str = "en") -> str:
    """An amount in ``currency`` the language's way: en '$41.20', el '1.234,00 €', en 'SEK 12.00'."""
    return format_currency(x, currency, lang, digits)


def esc(value: Any) -> str:
    """HTML-escape any value (quotes too)."""
    return _html.escape("" if value is None else str(value), quote=True)


__all__ = ["esc", "money", "pct", "pp"]
