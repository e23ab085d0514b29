"""Altair charts of retainkit tables (presentation layer; no I/O, no display).

Every function takes a retainkit result table and returns an Altair chart
object. Colours, formats and sizes come from :mod:`retainkit.charts._theme`,
so charts look alike; :func:`theme_config` is the Vega-Lite config the
report embeds (also registered, not enabled, as the Altair theme
``"retainkit"``).
"""

from __future__ import annotations

from ._theme import theme_config
from .cohorts import cohort_heatmap, crr_trend, cumulative_revenue_curves, retention_curves, segment_comparison

__all__ = [
    "cohort_heatmap",
    "crr_trend",
    "cumulative_revenue_curves",
    "retention_curves",
    "segment_comparison",
    "theme_config",
]

# Charts of CLV and loyalty results live in their own modules (written
# separately); they are re-exported here when present.
try:  # pragma: no cover - depends on which modules are installed
    from . import clv as _clv_charts
except ImportError:  # pragma: no cover
    _clv_charts = None
try:  # pragma: no cover
    from . import loyalty as _loyalty_charts
except ImportError:  # pragma: no cover
    _loyalty_charts = None

for _mod in (_clv_charts, _loyalty_charts):
    if _mod is not None:
        for _name in getattr(_mod, "__all__", ()):
            globals()[_name] = getattr(_mod, _name)
            __all__.append(_name)
__all__ = sorted(set(__all__))
del _mod
