"""Helpers shared by the cohort, heatmap and CRR charts: checks, trimming, titles, plain records.

Public names of a private module (``retainkit.charts._common``), imported by
the chart modules of this package only.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ..i18n import N_, Translator, translator
from . import _theme as th

#: the cohort values a chart can show: (name, interval low column, interval high column, meaning)
COHORT_VALUES = {
    "retention": (
        N_("Retention"),
        "retention_lo",
        "retention_hi",
        N_("classic retention: share of the cohort active at that age (definitions §3)"),
    ),
    "retention_on_or_after": (
        N_("Retention (on or after)"),
        None,
        None,
        N_("unbounded retention: share active at that age or later; right-censored (definitions §3)"),
    ),
    "revenue_retention": (
        N_("Revenue retention"),
        None,
        None,
        N_("revenue at that age / revenue at age 0 (definitions §3)"),
    ),
}


def cohort_labels(tr: Translator, table: pd.DataFrame, cohorts: Sequence[str]) -> dict[str, str]:
    """Cohort period labels in the reader's language ('2024-01' -> 'Ιαν 2024'); unchanged without a known freq."""
    freq = str(table.attrs.get("freq", "")).upper()
    return {c: tr.period_label(c, freq) if freq in th.FREQ_AGE_TITLES else c for c in cohorts}


def segments_before(table: pd.DataFrame, first: str) -> list[str]:
    cols = [str(c) for c in table.columns]
    return cols[: cols.index(first)] if first in cols else []


def require(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"{what}: expected a pandas DataFrame from retainkit, got {type(table).__name__}.")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ParameterError(
            f"{what}: the table has no column(s) {', '.join(map(repr, missing))}. "
            f"Pass the output of the matching retainkit function (columns present: {', '.join(map(str, table.columns))})."
        )


def one_segment(table: pd.DataFrame, first: str, what: str) -> pd.DataFrame:
    segs = segments_before(table, first)
    if segs and len(table[segs].drop_duplicates()) > 1:
        raise ParameterError(
            f"{what}: the table has segment column(s) {segs} with several values. Filter it to one "
            f"segment first (e.g. table[table[{segs[0]!r}] == value]) or use segment_comparison()."
        )
    return table


def cohort_order(table: pd.DataFrame) -> list[str]:
    key = "cohort_start" if "cohort_start" in table.columns else "cohort"
    firsts = table.drop_duplicates("cohort").sort_values(key)
    return [str(c) for c in firsts["cohort"]]


def latest(cohorts: list[str], limit: int | None, tr: Translator | None = None) -> tuple[list[str], str]:
    tr = tr or translator("en")
    if limit is None or len(cohorts) <= limit:
        return cohorts, ""
    if limit < 1:
        raise ParameterError(f"max_cohorts={limit} must be at least 1.")
    note = tr.gettext("showing the latest {n} of {total} cohorts").format(
        n=tr.format_number(limit), total=tr.format_number(len(cohorts))
    )
    return cohorts[-limit:], note


def subtitle(*parts: str) -> list[str] | str:
    parts = tuple(p for p in parts if p)
    return list(parts) if len(parts) > 1 else (parts[0] if parts else "")


def chart_title(text: str, *lines: str) -> alt.Title:
    sub = subtitle(*lines)
    return alt.Title(text, subtitle=sub) if sub else alt.Title(text)


def nice_upper(x: float) -> float:
    if not np.isfinite(x) or x <= 0:
        return 1.0
    return min(1.0, math.ceil(x * 10 - 1e-9) / 10) if x <= 1 else math.ceil(x * 5) / 5


def records(df: pd.DataFrame) -> pd.DataFrame:
    """Plain column types so the spec is small and stable (no categoricals, no tz)."""
    out = df.reset_index(drop=True).copy()
    for c in out.columns:
        if (
            isinstance(out[c].dtype, pd.CategoricalDtype)
            or out[c].dtype == object
            or str(out[c].dtype).startswith("string")
        ):
            out[c] = out[c].astype(object).where(out[c].notna(), None)
            out[c] = out[c].map(lambda v: v if v is None else str(v))
    if len(out) > th.MAX_ROWS:  # pragma: no cover - callers trim first; this is the guard
        raise ParameterError(
            f"a chart would need {len(out):,} rows (Altair's limit is {th.MAX_ROWS:,}); trim the table first."
        )
    return out


__all__ = [
    "COHORT_VALUES",
    "chart_title",
    "cohort_labels",
    "cohort_order",
    "latest",
    "nice_upper",
    "one_segment",
    "records",
    "require",
    "segments_before",
    "subtitle",
]
