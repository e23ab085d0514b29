"""Number and text formatting of the report: percentages, money, HTML escaping."""

from __future__ import annotations

import html as _html
from typing import Any

import numpy as np

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CHF": "CHF "}


def pct(x: float, digits: int = 1) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.{digits}%}"


def pp(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{x * 100:+.1f} pp"


def money(x: float, currency: str, digits: int = 2) -> str:
    """'$41.20', '€1,234.00', 'SEK 12.00' (unknown codes are written before the number)."""
    if x is None or not np.isfinite(x):
        return "–"
    sym = _SYMBOLS.get(currency.upper(), f"{currency} " if currency else "")
    sign = "-" if x < 0 else ""
    return f"{sign}{sym}{abs(x):,.{digits}f}"


def esc(value: Any) -> str:
    """HTML-escape any value (quotes too)."""
    return _html.escape("" if value is None else str(value), quote=True)



__all__ = ["esc", "money", "pct", "pp"]
