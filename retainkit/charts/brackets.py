"""Bracket-retention charts and a general cohorts-by-columns heatmap (presentation; definitions §3).

Used by the cohort explorer (:mod:`retainkit.widgets`) where
:func:`retainkit.charts.cohort_heatmap` has no option for the view.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from .._stats import safe_ratio, wilson_interval
from . import _theme as th


def value_heatmap(d: pd.DataFrame, *, x: str, x_title: str, x_sort: list[Any], value: str,
                           value_title: str, fmt: str, axis_fmt: str, title: str, subtitle: str,
                           max_cohorts: int = 36) -> alt.LayerChart:
    """Cohorts x (ages or brackets) heatmap of any value (used where cohort_heatmap has no option)."""
    cohorts = [str(c) for c in d.drop_duplicates("cohort").sort_values("cohort")["cohort"]]
    note = ""
    if len(cohorts) > max_cohorts:
        note = f"showing the latest {max_cohorts} of {len(cohorts)} cohorts"
        cohorts = cohorts[-max_cohorts:]
    d = d[d["cohort"].astype(str).isin(cohorts)].copy()
    d["cohort"] = d["cohort"].astype(str)
    sizes = d.groupby("cohort")["size"].max()
    labels = {c: f"{c}  (n={int(sizes.get(c, 0)):,})" for c in cohorts}
    d["cohort_label"] = d["cohort"].map(labels)
    d = d[["cohort", "cohort_label", x, "size", value]].rename(columns={value: "value"})
    d["value"] = d["value"].astype(float)
    n_x = len(x_sort) or 1
    step_x = max(14, min(60 if n_x < 8 else 36, 760 // n_x))
    tooltip = [alt.Tooltip("cohort:N", title="Cohort"), alt.Tooltip(f"{x}:O", title=x_title),
               alt.Tooltip("size:Q", title="Customers", format=th.INT_FORMAT),
               alt.Tooltip("value:Q", title=value_title, format=fmt)]
    xe = alt.X(f"{x}:O", title=x_title, sort=x_sort, axis=alt.Axis(labelAngle=0))
    ye = alt.Y("cohort_label:O", title="Cohort (size)", sort=[labels[c] for c in cohorts], axis=alt.Axis(labelLimit=200))
    base = alt.Chart(d)
    vmax = float(d["value"].max()) if len(d) else 1.0
    rect = base.mark_rect(stroke="white", strokeWidth=0.5).encode(
        x=xe, y=ye, tooltip=tooltip,
        color=alt.Color("value:Q", title=value_title, scale=alt.Scale(scheme=th.HEATMAP_SCHEME, zero=True),
                        legend=alt.Legend(format=axis_fmt, gradientLength=160)),
    )
    layers: list[Any] = [rect]
    if n_x <= 26 and step_x >= 26:
        layers.append(base.mark_text(fontSize=9, baseline="middle").encode(
            x=xe, y=ye, text=alt.Text("value:Q", format=axis_fmt), tooltip=tooltip,
            color=alt.condition(alt.datum.value > vmax * 0.55, alt.value("white"), alt.value("#1b2733"))))
    sub = [s for s in (subtitle, note) if s]
    return alt.layer(*layers).properties(
        width=alt.Step(step_x), height=alt.Step(20 if len(cohorts) <= 40 else 14),
        title=alt.Title(title, subtitle=sub if len(sub) > 1 else (sub[0] if sub else "")))


def bracket_chart(table: pd.DataFrame, split: str | None = None, *, intervals: bool = True) -> alt.LayerChart:
    """Bracket retention by cohort (one line per bracket), or per segment when split (definitions §3).

    ``table`` is a bracket table as returned by :func:`retainkit.bracket_retention`
    (optionally with a segment column ``split``).
    """
    order = list(dict.fromkeys(table.sort_values("age_from")["bracket"]))
    if split:
        g = table.groupby([split, "bracket"], sort=False, dropna=False)[["size", "active"]].sum().reset_index()
        g["retention"] = safe_ratio(g["active"], g["size"])
        lo, hi = wilson_interval(g["active"], g["size"])
        g["retention_lo"], g["retention_hi"] = lo, hi
        g[split] = g[split].astype(str)
        base = alt.Chart(g)
        x = alt.X("bracket:N", title="Age bracket (periods since first purchase)", sort=order, axis=alt.Axis(labelAngle=0))
        bars = base.mark_bar().encode(
            x=x, xOffset=alt.XOffset(f"{split}:N"), y=alt.Y("retention:Q", title="Bracket retention", axis=alt.Axis(format=".0%")),
            color=alt.Color(f"{split}:N", title=split),
            tooltip=[alt.Tooltip(f"{split}:N"), alt.Tooltip("bracket:N"), alt.Tooltip("size:Q", format=",d", title="Customers"),
                     alt.Tooltip("retention:Q", format=".1%", title="Retention")])
        layers: list[Any] = [bars]
        if intervals:
            layers.append(base.mark_rule(color="#1b2733").encode(x=x, xOffset=alt.XOffset(f"{split}:N"),
                                                                 y="retention_lo:Q", y2="retention_hi:Q"))
        return alt.layer(*layers).properties(width=th.WIDTH, height=th.HEIGHT, title=alt.Title(
            f"Bracket retention by {split}", subtitle="share of the cohorts' customers active at any age in the bracket, "
            "all selected cohorts pooled (definitions §3)"))
    d = table.copy()
    d["cohort"] = d["cohort"].astype(str)
    x = alt.X("cohort:O", title="Cohort", sort=sorted(d["cohort"].unique()), axis=alt.Axis(labelAngle=-45, labelOverlap=True))
    intervals = intervals and "retention_lo" in d.columns
    base = alt.Chart(d[["cohort", "bracket", "size", "active", "retention"]
                       + (["retention_lo", "retention_hi"] if intervals else [])])
    colors = alt.Scale(domain=order, range=[th.PALETTE[i % len(th.PALETTE)] for i in range(len(order))])
    layers = []
    if intervals:
        layers.append(base.mark_area(opacity=0.15).encode(x=x, y=alt.Y("retention_lo:Q", title="Bracket retention"),
                                                           y2="retention_hi:Q", fill=alt.Fill("bracket:N", scale=colors, legend=None)))
    layers.append(base.mark_line(point=True).encode(
        x=x, y=alt.Y("retention:Q", title="Bracket retention", axis=alt.Axis(format=".0%")),
        color=alt.Color("bracket:N", title="Ages", scale=colors, sort=order),
        tooltip=[alt.Tooltip("cohort:N"), alt.Tooltip("bracket:N", title="Ages"),
                 alt.Tooltip("size:Q", title="Customers", format=",d"), alt.Tooltip("retention:Q", format=".1%")]))
    return alt.layer(*layers).properties(width=th.WIDTH, height=th.HEIGHT, title=alt.Title(
        "Bracket retention by cohort", subtitle="share of the cohort active at any age in the bracket; a cohort "
        "appears once every age of the bracket is observed (definitions §3)"))


__all__ = ["bracket_chart", "value_heatmap"]
