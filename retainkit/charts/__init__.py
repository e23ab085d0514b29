"""Altair charts of retainkit tables (presentation layer; no I/O, no display).

Every function takes a retainkit result table and returns an Altair chart
object. Colours, formats and sizes come from :mod:`retainkit.charts._theme`,
so charts look alike; :func:`theme_config` is the Vega-Lite config the
report embeds (also registered, not enabled, as the Altair theme
``"retainkit"``).

* cohorts and CRR (definitions §3, §4): :func:`cohort_heatmap`,
  :func:`retention_curves`, :func:`cumulative_revenue_curves`,
  :func:`crr_trend`, :func:`crr_by_segment`, :func:`segment_comparison`
* lifetime value (§5): :func:`clv_curve_chart`, :func:`sbg_survival_chart`,
  :func:`sbg_backtest_chart`
* retention economics (§5): :func:`claim_grid_chart`
* loyalty ROI (§6): :func:`cumulative_cash_chart`, :func:`lift_chart`,
  :func:`roi_sensitivity_chart`
"""

from __future__ import annotations

from ._theme import theme_config
from .clv import clv_curve_chart, sbg_backtest_chart, sbg_survival_chart
from .cohorts import cumulative_revenue_curves, retention_curves, segment_comparison
from .crr import crr_by_segment, crr_trend
from .economics import claim_grid_chart
from .heatmap import cohort_heatmap
from .loyalty import cumulative_cash_chart, lift_chart, roi_sensitivity_chart

__all__ = [
    "claim_grid_chart",
    "clv_curve_chart",
    "cohort_heatmap",
    "crr_by_segment",
    "crr_trend",
    "cumulative_cash_chart",
    "cumulative_revenue_curves",
    "lift_chart",
    "retention_curves",
    "roi_sensitivity_chart",
    "sbg_backtest_chart",
    "sbg_survival_chart",
    "segment_comparison",
    "theme_config",
]
