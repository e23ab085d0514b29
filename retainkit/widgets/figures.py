"""The explorer's charts: which Altair chart each view draws for the current controls (definitions §3, §4).

A mixin of :class:`~retainkit.widgets.CohortExplorer`. The numbers are the
explorer's tables (``table``, ``pooled``, ``average``, ``crr``), themselves
from the library's public functions; this module only chooses the chart, its
titles, axis labels and units (money with the currency).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from ..charts import cohort_heatmap, crr_trend
from ..charts.brackets import bracket_chart, value_heatmap
from ..charts.split import (
    crr_by_segment,
    highlight_curves,
    segment_curves,
    stacked_by_segment,
)
from ..exceptions import DataError, ParameterError
from ..i18n import N_, translator

#: the period unit in axis titles ("Ages (months)"), per frequency
UNITS = {"D": N_("days"), "W": N_("weeks"), "M": N_("months"), "Q": N_("quarters"), "Y": N_("years")}
#: segments drawn as separate heatmap blocks (the largest ones)
MAX_HEATMAP_SEGMENTS = 6
#: most recent cohorts per heatmap block when split
SPLIT_HEATMAP_COHORTS = 12


class ExplorerCharts:
    """Chart choice of the explorer (a mixin; needs the controls and tables of the app)."""

    lang: str = "en"

    if TYPE_CHECKING:  # provided by CohortExplorer, its controls and ExplorerViews
        table: pd.DataFrame
        pooled: pd.DataFrame
        average: pd.DataFrame
        crr: pd.DataFrame
        currency: str
        freq: Any
        metric: Any
        kind: Any
        intervals: Any
        highlight: Any

        @property
        def _split_col(self) -> str | None: ...

    def metric_info(self) -> dict[str, Any]:
        """What the curves of the current metric show: column, label, format kind, first age, subtitle."""
        _ = translator(self.lang).gettext
        metric = self.metric.value
        kind = self.kind.value if metric == "customers" else "classic"
        if metric == "cum_revenue":
            return {
                "value": "cum_revenue_per_customer",
                "label": _("Cumulative revenue per customer"),
                "kind": "money",
                "start_age": 0,
                "meaning": _("revenue to date / cohort size, refunds included (definitions §3)"),
            }
        if metric == "revenue":
            if self._split_col:
                return {
                    "value": "revenue_per_customer",
                    "label": _("Revenue per customer"),
                    "kind": "money",
                    "start_age": 0,
                    "meaning": _("revenue at that age / customers in the cohorts, size-weighted (definitions §3)"),
                }
            return {
                "value": "revenue_retention",
                "label": _("Revenue retention"),
                "kind": "pct",
                "start_age": 1,
                "meaning": _("revenue at that age / revenue at age 0 (definitions §3)"),
            }
        if kind == "unbounded":
            return {
                "value": "retention_on_or_after",
                "label": _("Retention (on or after)"),
                "kind": "pct",
                "start_age": 1,
                "meaning": _("share active at that age or later (definitions §3)"),
            }
        return {
            "value": "retention",
            "label": _("Retention"),
            "kind": "pct",
            "start_age": 1,
            "meaning": _("share of the cohort active at that age (definitions §3)"),
        }

    def _axis_title(self, info: dict[str, Any]) -> str:
        return f"{info['label']} ({self.currency})" if info["kind"] == "money" and self.currency else info["label"]

    def _segment_order(self, table: pd.DataFrame, split: str) -> list[str]:
        first = table[table["age"] == 0] if "age" in table.columns else table
        sizes = first.groupby(split, sort=True)["size"].sum().sort_values(ascending=False, kind="stable")
        return [str(s) for s in sizes.index]

    def _heatmap(self) -> Any:
        _ = translator(self.lang).gettext
        metric, split = self.metric.value, self._split_col
        kind = self.kind.value if metric == "customers" else "classic"
        unit = _(UNITS.get(self.freq.value, N_("periods")))
        source = self.table if (split or kind == "brackets") else self.pooled
        if split and kind != "brackets" and "retention_lo" not in source.columns:  # intervals off: blank tooltips
            source = source.assign(retention_lo=np.nan, retention_hi=np.nan)

        def one(t: pd.DataFrame, title: str | None, max_cohorts: int | None) -> Any:
            if kind == "brackets":
                if split in t.columns:
                    t = t.drop(columns=split)
                order = list(dict.fromkeys(t.sort_values("age_from")["bracket"]))
                return value_heatmap(
                    t,
                    x="bracket",
                    x_title=_("Ages ({unit})").format(unit=unit),
                    x_sort=order,
                    value="retention",
                    value_title=_("Bracket retention"),
                    fmt=".1%",
                    axis_fmt=".0%",
                    title=title or _("Bracket retention by cohort"),
                    lang=self.lang,
                    subtitle=_("share of the cohort active at any age in the bracket (definitions §3)"),
                )
            if metric == "cum_revenue":
                t = t[~t["partial"]]
                cur = f" ({self.currency})" if self.currency else ""
                return value_heatmap(
                    t,
                    x="age",
                    x_title=_("Age ({unit} since first purchase)").format(unit=unit),
                    x_sort=sorted(t["age"].unique().tolist()),
                    value="cum_revenue_per_customer",
                    value_title=_("Revenue per customer") + cur,
                    fmt=",.2f",
                    axis_fmt=",.0f",
                    title=title or _("Cumulative revenue per customer"),
                    lang=self.lang,
                    subtitle=_("revenue to date / cohort size, refunds included (definitions §3)"),
                )
            value = (
                {"classic": "retention", "unbounded": "retention_on_or_after"}[kind]
                if metric == "customers"
                else "revenue_retention"
            )
            return cohort_heatmap(t, value=value, title=title, max_cohorts=max_cohorts, lang=self.lang)

        if not split:
            return one(source, None, 36)
        names = self._segment_order(self.table, split)
        shown = names[:MAX_HEATMAP_SEGMENTS]
        blocks = {}
        for name in shown:
            sub = source[source[split].astype(str) == name].drop(columns=split).reset_index(drop=True)
            sub.attrs = dict(source.attrs)
            blocks[name] = one(sub, f"{split}: {name}", SPLIT_HEATMAP_COHORTS)
        note = (
            _("showing the {n} largest of {total} segments").format(n=len(shown), total=len(names))
            if len(names) > len(shown)
            else ""
        )
        label = {"brackets": _("Bracket retention"), "unbounded": _("Retention (on or after)")}.get(kind) or {
            "customers": _("Retention"),
            "revenue": _("Revenue retention"),
            "cum_revenue": _("Cumulative revenue per customer"),
        }[metric]
        return stacked_by_segment(
            blocks,
            title=_("{label} by cohort, one block per {split}").format(label=label, split=split),
            subtitle=_("latest {n} cohorts of each segment; one colour scale for all blocks").format(
                n=SPLIT_HEATMAP_COHORTS
            ),
            note=note,
        )

    def _curves(self) -> Any:
        _ = translator(self.lang).gettext
        metric, split = self.metric.value, self._split_col
        kind = self.kind.value if metric == "customers" else "classic"
        intervals = self.intervals.value
        if kind == "brackets":
            return bracket_chart(self.table, split, intervals=intervals, lang=self.lang)
        info = self.metric_info()
        unit = _(UNITS.get(self.freq.value, N_("periods")))
        avg = self.average
        if not intervals:
            avg = avg.drop(columns=[c for c in avg.columns if c.endswith(("_lo", "_hi"))])
        y_title = self._axis_title(info)
        if split:
            band = _(", 95% bands") if intervals and f"{info['value']}_lo" in avg.columns else ""
            return segment_curves(
                avg,
                split,
                value=info["value"],
                y_title=y_title,
                kind=info["kind"],
                currency=self.currency,
                unit=unit,
                start_age=info["start_age"],
                order=self._segment_order(self.table, split),
                lang=self.lang,
                title=_("Average {label} by {split}").format(label=info["label"].lower(), split=split),
                subtitle=_("size-weighted average curve per segment{band}, ages seen in 3+ cohorts; {meaning}").format(
                    band=band, meaning=info["meaning"]
                ),
            )
        selected = self.highlight.value or None
        with_avg = info["value"] in avg.columns
        sub = (
            _("bold: size-weighted average of all cohorts, at ages seen in 3+ cohorts")
            if with_avg
            else _("one line per cohort (revenue retention has no average across cohorts)")
        )
        return highlight_curves(
            self.table,
            avg if with_avg else None,
            value=info["value"],
            y_title=y_title,
            selected=selected,
            kind=info["kind"],
            currency=self.currency,
            unit=unit,
            start_age=info["start_age"],
            lang=self.lang,
            title=_("{label} curves by cohort").format(label=info["label"]),
            subtitle=f"{info['meaning']}; {sub}; " + _("grey: the other cohorts (hover for names)"),
        )

    def _crr_chart(self) -> Any:
        _ = translator(self.lang).gettext
        crr = self.crr
        if not self.intervals.value:
            crr = crr.assign(crr_lo=np.nan, crr_hi=np.nan)
        if crr.empty or crr["crr"].notna().sum() == 0:
            raise DataError(_("no complete period in the selected range has a CRR; widen the cohort range."))
        split = self._split_col
        if split:
            window = str(crr.attrs.get("window", "") or "")
            return crr_by_segment(
                crr,
                split,
                intervals=self.intervals.value,
                order=self._segment_order(self.table, split),
                lang=self.lang,
                title=_("Customer retention rate per period by {split}").format(split=split)
                + (_(" (activity window {window})").format(window=window) if window else ""),
                subtitle=_(
                    "CRR = retained / customers at the start, per segment, with 95% Wilson bands (definitions §4)"
                ),
            )
        return crr_trend(crr, lang=self.lang)

    def chart(self, name: str) -> Any:
        """The Altair chart ``name`` ("heatmap", "curves" or "crr") for the current view."""
        if name == "heatmap":
            return self._heatmap()
        if name == "curves":
            return self._curves()
        if name == "crr":
            return self._crr_chart()
        raise ParameterError(f"chart name {name!r} must be 'heatmap', 'curves' or 'crr'.")


__all__ = ["MAX_HEATMAP_SEGMENTS", "SPLIT_HEATMAP_COHORTS", "ExplorerCharts"]
