"""Recurring retention reports: analysis, page building, export, papermill run and publishing.

The modules, in the order the report notebook and the CLI use them:

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
  ``<out_dir>/<schedule>/<as_of>/retention-report.html`` atomically, under a
  lock shared by every run (:mod:`~retainkit.report.locking`); each attempt
  leaves a run record (:mod:`~retainkit.report.runlog`), and
  ``<out_dir>/index.html`` (:mod:`~retainkit.report.index`) lists every
  schedule (:mod:`~retainkit.report.schedule`), report and run.
* :mod:`~retainkit.report.history`: the history check of closed periods
  against the previous report of the schedule.
"""

from __future__ import annotations

from ..charts.embed import chart_spec, script_json, vega_bundle
from ..exceptions import ReportError, ReportExecutionError
from .analysis import (
    AT_RISK_FILE,
    FREQ_WORD,
    PERIODS_PER_YEAR,
    SUMMARY_SCHEMA,
    Change,
    Kpi,
    ReportData,
    check_history,
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
    write_at_risk_csv,
    write_summary,
)
from .export import WIDGET_MIME, WIDGET_NOTE, export_html, mathjax_script, prepare_for_export
from .format import esc, money
from .history import HistoryCheck, compare_history, history_table
from .index import INDEX_HTML, write_index
from .page import TEMPLATES, Page, table_html
from .run import (
    FAILED_HTML,
    FAILED_NOTEBOOK,
    NOTEBOOK,
    REPORT_HTML,
    REPORT_NOTEBOOK,
    STAGING,
    ReportResult,
    RunTerminated,
    exit_code_for,
    run_report,
)
from .runlog import EXIT_CODES, ExitCode, read_records
from .schedule import Schedule, find_reports

__all__ = [
    "EXIT_CODES",
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
    "ExitCode",
    "HistoryCheck",
    "Kpi",
    "Page",
    "ReportData",
    "ReportError",
    "ReportExecutionError",
    "ReportResult",
    "RunTerminated",
    "Schedule",
    "chart_spec",
    "check_history",
    "clv_basis_freq",
    "clv_estimate",
    "clv_kpi",
    "compare_history",
    "compute",
    "compute_kpis",
    "diff_interval",
    "discount_per_period",
    "esc",
    "exit_code_for",
    "export_html",
    "find_reports",
    "history_table",
    "mathjax_script",
    "money",
    "pooled_revenue_retention",
    "prepare_for_export",
    "read_records",
    "read_summary",
    "run_report",
    "script_json",
    "summary_dict",
    "table_html",
    "vega_bundle",
    "what_changed",
    "write_index",
    "write_summary",
    "write_at_risk_csv",
    "AT_RISK_FILE",
]
