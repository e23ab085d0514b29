"""Recurring retention reports: analysis, page building, export, papermill run and publishing.

Four modules, used in this order by the report notebook and the CLI:

* :mod:`~retainkit.report.analysis`: :func:`compute` loads the data and
  computes every table and headline figure of the report from the library
  functions (definitions §1-§5); :func:`what_changed` decides which changes
  are larger than noise.
* :mod:`~retainkit.report.page`: :class:`Page` turns them into escaped HTML
  inside the notebook (KPI tiles, tables, charts); charts are drawn offline
  by :mod:`retainkit.charts.embed`.
* :mod:`~retainkit.report.export`: :func:`export_html` writes one
  self-contained, deterministic HTML page with nbconvert.
* :mod:`~retainkit.report.run`: :func:`run_report` validates the parameters
  (before any kernel starts), executes ``retention_report.ipynb`` with
  papermill in a staging folder and publishes
  ``<out_dir>/<as_of>/retention-report.html`` plus the executed notebook
  atomically; ``<out_dir>/index.html`` lists every report.
"""

from __future__ import annotations

from ..charts.embed import chart_spec, script_json, vega_bundle
from ..exceptions import ReportError, ReportExecutionError
from .analysis import (
    FREQ_WORD,
    PERIODS_PER_YEAR,
    SUMMARY_SCHEMA,
    Change,
    Kpi,
    ReportData,
    clv_basis_freq,
    clv_estimate,
    clv_kpi,
    compute,
    compute_kpis,
    diff_interval,
    discount_per_period,
    pooled_revenue_retention,
    read_summary,
    summary_dict,
    what_changed,
    write_summary,
)
from .export import WIDGET_MIME, WIDGET_NOTE, export_html, mathjax_script, prepare_for_export
from .format import esc, money
from .page import TEMPLATES, Page, table_html
from .run import (
    FAILED_HTML,
    FAILED_NOTEBOOK,
    INDEX_HTML,
    NOTEBOOK,
    REPORT_HTML,
    REPORT_NOTEBOOK,
    STAGING,
    ReportResult,
    find_reports,
    run_report,
    write_index,
)

__all__ = [
    "FAILED_HTML",
    "FAILED_NOTEBOOK",
    "FREQ_WORD",
    "INDEX_HTML",
    "NOTEBOOK",
    "PERIODS_PER_YEAR",
    "REPORT_HTML",
    "REPORT_NOTEBOOK",
    "STAGING",
    "SUMMARY_SCHEMA",
    "TEMPLATES",
    "WIDGET_MIME",
    "WIDGET_NOTE",
    "Change",
    "Kpi",
    "Page",
    "ReportData",
    "ReportError",
    "ReportExecutionError",
    "ReportResult",
    "chart_spec",
    "clv_basis_freq",
    "clv_estimate",
    "clv_kpi",
    "compute",
    "compute_kpis",
    "diff_interval",
    "discount_per_period",
    "esc",
    "export_html",
    "find_reports",
    "mathjax_script",
    "money",
    "pooled_revenue_retention",
    "prepare_for_export",
    "read_summary",
    "run_report",
    "script_json",
    "summary_dict",
    "table_html",
    "vega_bundle",
    "what_changed",
    "write_index",
    "write_summary",
]
