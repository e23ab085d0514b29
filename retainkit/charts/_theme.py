"""Shared look of every retainkit chart: colours, formats, sizes, theme.

The chart functions set their own colours and formats explicitly (so a chart
looks the same whatever Altair theme is active); :func:`theme_config` adds the
typography and is what the report embeds in every spec. It is also registered
as the Altair theme ``"retainkit"`` (not enabled: no global state is changed on
import). Enable it in a notebook with ``alt.theme.enable("retainkit")``.
"""

from __future__ import annotations

import copy
from typing import Any, Final

import altair as alt
import pandas as pd

from ..i18n import N_, translator

#: Categorical palette (colour-blind aware, Tableau-10 order adjusted); series
#: keep the same colour across charts because domains are passed explicitly.
PALETTE: tuple[str, ...] = (
    "#1f5f99",
    "#e0803a",
    "#3a9a5b",
    "#c8444b",
    "#7a5fb0",
    "#8c6d4f",
    "#d46fae",
    "#6f7780",
    "#a8a832",
    "#2aa7b8",
)
#: The colour of "the" number of a chart (average curve, CRR line).
ACCENT = "#1f5f99"
#: Interval bands (95 % Wilson) use the accent colour at this opacity.
BAND_OPACITY = 0.18
#: Colour of individual cohort lines behind the average.
COHORT_SCHEME = "blues"
#: Earlier cohorts' lines (background) and the average curve (foreground) in the curve charts.
COHORT_GREY = "#c3cbd3"
AVERAGE_COLOR = "#1b2733"
#: Sequential scheme for retention heatmaps (domain 0..1).
HEATMAP_SCHEME: Final = "blues"
#: Count series of the CRR chart, always in this order and colour.
COUNT_SERIES: tuple[str, ...] = (N_("At the start"), N_("At the end"), N_("New"), N_("Reactivated"))
COUNT_COLORS: tuple[str, ...] = ("#1f5f99", "#6f7780", "#3a9a5b", "#e0803a")

PCT_AXIS = ".0%"
PCT_TOOLTIP = ".1%"
INT_FORMAT = ",d"
#: Latin, Greek and Armenian with common system fonts (Windows: Segoe UI, Sylfaen; macOS: Helvetica Neue,
#: Mshtakan; Linux: Noto Sans, Noto Sans Armenian, DejaVu Sans); the report's CSS uses the same stack
FONT = (
    "Inter, 'Segoe UI', 'Helvetica Neue', 'Noto Sans', 'Noto Sans Armenian', 'DejaVu Sans', Arial, "
    "Sylfaen, Mshtakan, sans-serif"
)

WIDTH = 740
HEIGHT = 260

#: Altair refuses inline data over this many rows (MaxRowsError); every
#: chart function keeps its data below it by design.
MAX_ROWS = 5000

FREQ_UNITS = {"D": "days", "W": "weeks", "M": "months", "Q": "quarters", "Y": "years"}
#: axis titles of cohort ages per frequency (one message each, for the languages' grammar)
FREQ_AGE_TITLES = {
    "D": N_("Age (days since first purchase)"),
    "W": N_("Age (weeks since first purchase)"),
    "M": N_("Age (months since first purchase)"),
    "Q": N_("Age (quarters since first purchase)"),
    "Y": N_("Age (years since first purchase)"),
}
FREQ_AGE_SHORT = {
    "D": N_("Age (days)"),
    "W": N_("Age (weeks)"),
    "M": N_("Age (months)"),
    "Q": N_("Age (quarters)"),
    "Y": N_("Age (years)"),
}


def theme_config() -> dict[str, Any]:
    """Vega-Lite ``config`` for retainkit charts (typography, axes, legends)."""
    return copy.deepcopy(_CONFIG)


_CONFIG: dict[str, Any] = {
    "font": FONT,
    "background": "white",
    "padding": 8,
    "view": {"stroke": None, "continuousWidth": WIDTH, "continuousHeight": HEIGHT},
    "title": {
        "fontSize": 15,
        "fontWeight": 600,
        "anchor": "start",
        "color": "#1b2733",
        "subtitleFontSize": 12,
        "subtitleColor": "#5b6672",
        "offset": 10,
    },
    "axis": {
        "labelFontSize": 11,
        "titleFontSize": 12,
        "titleFontWeight": 500,
        "titleColor": "#3b4652",
        "labelColor": "#3b4652",
        "gridColor": "#e6e9ed",
        "domainColor": "#9aa3ad",
        "tickColor": "#9aa3ad",
    },
    "legend": {"labelFontSize": 11, "titleFontSize": 12, "titleFontWeight": 500, "labelLimit": 220, "symbolLimit": 30},
    "header": {"labelFontSize": 12, "titleFontSize": 12},
    "range": {"category": list(PALETTE)},
    "line": {"strokeWidth": 2},
    "point": {"size": 40},
}


@alt.theme.register("retainkit", enable=False)
def _retainkit_theme() -> alt.theme.ThemeConfig:
    return alt.theme.ThemeConfig(config=theme_config())  # type: ignore[typeddict-item]


def layered(*charts: Any) -> alt.LayerChart:
    """``alt.layer(*charts)`` typed as the LayerChart it is: our layers carry no facet encodings to hoist."""
    result = alt.layer(*charts)
    assert isinstance(result, alt.LayerChart)  # altair returns a FacetChart only for shared facet encodings
    return result


def freq_unit(table: pd.DataFrame, default: str = "periods") -> str:
    """Plural period name from ``table.attrs['freq']`` ('months' for 'M')."""
    return FREQ_UNITS.get(str(table.attrs.get("freq", "")).upper(), default)


def age_title(table: pd.DataFrame, short: bool = False) -> str:
    """The English message of the age axis for ``table.attrs['freq']`` (translate it with ``_()``)."""
    freq = str(table.attrs.get("freq", "")).upper()
    titles = FREQ_AGE_SHORT if short else FREQ_AGE_TITLES
    return titles.get(freq, N_("Age (periods)") if short else N_("Age (periods since first purchase)"))


def interval_text(lo: pd.Series, hi: pd.Series, digits: int = 1, lang: str = "en") -> pd.Series:
    """'12.3% – 15.0%' strings for tooltips (in ``lang``'s number format); empty where undefined."""
    tr = translator(lang)
    out = []
    for a, b in zip(lo, hi):
        missing = pd.isna(a) or pd.isna(b)
        out.append("" if missing else f"{tr.format_percent(a, digits)} – {tr.format_percent(b, digits)}")
    return pd.Series(out, index=lo.index, dtype=object)


__all__ = [
    "ACCENT",
    "AVERAGE_COLOR",
    "BAND_OPACITY",
    "COHORT_GREY",
    "COUNT_COLORS",
    "COUNT_SERIES",
    "FONT",
    "HEATMAP_SCHEME",
    "MAX_ROWS",
    "PALETTE",
    "PCT_AXIS",
    "PCT_TOOLTIP",
    "age_title",
    "freq_unit",
    "interval_text",
    "theme_config",
]
