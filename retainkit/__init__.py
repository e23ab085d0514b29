"""retainkit: customer-retention analysis for Jupyter.

Cohorts, customer retention rate (CRR), lifetime value and loyalty-program ROI,
following the definitions in ``docs/definitions.md`` (cited as §N in
every docstring), with parameterized notebooks and offline HTML reports.
"""

from __future__ import annotations

from . import clv, datasets, definitions, economics, loyalty, periods, subscriptions, survey
from ._deprecation import module_getattr
from ._version import __version__
from .clv import (
    BetaGeoFitter,
    GammaGammaFitter,
    ShiftedBetaGeoFitter,
    clv_margin_multiple,
    customer_clv,
    empirical_clv,
    rfm_summary,
)
from .cohorts import average_curve, bracket_retention, cohort_table, retention_matrix
from .data import load_subscriptions, load_transactions
from .economics import retention_profit_impact
from .engine import Activity, reduce
from .exceptions import ConvergenceError, DataError, ParameterError, ReportError, RetainkitError
from .inputs import DataQualityWarning, DataSummary, Subscriptions, Transactions
from .loyalty import measure_program_lift, scenario_roi
from .metrics import crr_from_counts, crr_table, kpi_trends, purchase_metrics
from .subscriptions import mrr_cohort_table, mrr_movements, revenue_retention
from .survey import ces, csat, nps, retention_by_survey_group, survey_summary

__all__ = [
    "Activity",
    "BetaGeoFitter",
    "ConvergenceError",
    "DataError",
    "DataQualityWarning",
    "DataSummary",
    "GammaGammaFitter",
    "ParameterError",
    "ReportError",
    "RetainkitError",
    "ShiftedBetaGeoFitter",
    "Subscriptions",
    "Transactions",
    "__version__",
    "average_curve",
    "bracket_retention",
    "ces",
    "clv",
    "clv_margin_multiple",
    "cohort_table",
    "crr_from_counts",
    "crr_table",
    "csat",
    "customer_clv",
    "datasets",
    "definitions",
    "economics",
    "empirical_clv",
    "kpi_trends",
    "load_subscriptions",
    "load_transactions",
    "loyalty",
    "measure_program_lift",
    "mrr_cohort_table",
    "mrr_movements",
    "nps",
    "periods",
    "purchase_metrics",
    "reduce",
    "retention_by_survey_group",
    "retention_matrix",
    "retention_profit_impact",
    "revenue_retention",
    "rfm_summary",
    "scenario_roi",
    "subscriptions",
    "survey",
    "survey_summary",
]

__getattr__ = module_getattr(__name__, clv.DEPRECATED_NAMES)
