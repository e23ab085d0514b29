"""Interactive apps (ipywidgets): the cohort explorer and the loyalty-ROI calculator.

Both apps are plain Python objects that own their controls and outputs as
documented attributes, so they can be driven without a browser: set
``.value`` on a control and read the new tables (``app.table``,
``app.result``) and charts (``app.chart(name)``). Notebooks only build and
display them (``notebooks/explore_cohorts.ipynb``, ``notebooks/loyalty_roi.ipynb``);
``make explore`` serves the explorer with Voila.

* :mod:`~retainkit.widgets.explorer`: :class:`CohortExplorer`,
  :func:`cohort_explorer`; its numbers come from
  :mod:`~retainkit.widgets.views` (the log is reduced once per granularity
  and aggregated once into small tables split by every segment; a control
  change only filters and sums those, definitions §3, §4).
  Its charts are chosen in :mod:`~retainkit.widgets.figures` (titles, axes
  and units follow the metric; split views have legends), its controls are
  built and wired in :mod:`~retainkit.widgets.controls`, and
  :mod:`~retainkit.widgets.picker` is its "Your data" panel (CSV/Parquet path,
  column mapping from the header, the loader's errors in the page).
* :mod:`~retainkit.widgets.calculator`: :class:`LoyaltyROICalculator`,
  :func:`loyalty_roi_calculator` (definitions §6).

Charts are Altair specs drawn in the browser by vega-embed
(:mod:`retainkit.charts.embed`: the Vega bundle from vl-convert, so no network
is needed, is sent once per app; each chart is an HTML output whose script
waits for it). Errors in a callback never hang the app: they are shown as a
readable message in the app's status line.
"""

from __future__ import annotations

from ..charts.brackets import bracket_chart
from ..charts.embed import chart_output_html, chart_spec
from ._common import MISSING, TABLE_ROWS_SHOWN, error_panel
from .calculator import PRESET_LABELS, LoyaltyROICalculator, loyalty_roi_calculator
from .explorer import FREQ_OPTIONS, MAX_DAILY_SPAN, CohortExplorer, cohort_explorer

__all__ = [
    "FREQ_OPTIONS",
    "MAX_DAILY_SPAN",
    "MISSING",
    "PRESET_LABELS",
    "TABLE_ROWS_SHOWN",
    "CohortExplorer",
    "LoyaltyROICalculator",
    "bracket_chart",
    "chart_output_html",
    "chart_spec",
    "cohort_explorer",
    "error_panel",
    "loyalty_roi_calculator",
]
