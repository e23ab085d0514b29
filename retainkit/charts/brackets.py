"""Bracket-retention charts and a general cohorts-by-columns heatmap (presentation; definitions §3).

Used by the cohort explorer (:mod:`retainkit.widgets`) where
:func:`retainkit.charts.cohort_heatmap` has no option for the view.
"""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from ..cohorts import add_retention
from ..i18n import translator
from . import _theme as th


def value_heatmap(
    d: pd.DataFrame,
    *,
    x: str,
    x_title: str,
    x_sort: list[Any],
    value: str,
    value_title: str,
    fmt: str,
    axis_fmt: str,
    title: str,
    subtitle: str,
    max_cohorts: int = 36,
    lang: str = "en",
) -> alt.LayerChart:
    """Cohorts x (ages or brackets) heatmap of any value (used where cohort_heatmap has no option).

    Titles are given by the caller (already in the reader's language); ``lang``
    translates the fixed labels and writes the cohort periods the language's way.
    """
    tr = translator(lang)
    _ = tr.gettext
    freq = str(d.attrs.get("freq", "")).upper()
    cohorts = [str(c) for c in d.drop_duplicates("cohort").sort_values("cohort")["cohort"]]
    note = ""
    if len(cohorts) > max_cohorts:
        note = _("showing the latest {n} of {total} cohorts").format(
            n=tr.format_number(max_cohorts), total=tr.format_number(len(cohorts))
        )
        cohorts = cohorts[-max_cohorts:]
    d = d[d["cohort"].astype(str).isin(cohorts)].copy()
    d["cohort"] = d["cohort"].astype(str)
    sizes = d.groupby("cohort")["size"].max()
    names = {c: tr.period_label(c, freq) if freq in th.FREQ_AGE_TITLES else c for c in cohorts}
    labels = {c: f"{names[c]}  (n={tr.format_number(int(sizes.get(c, 0)))})" for c in cohorts}
    d["cohort_label"] = d["cohort"].map(labels)
    d["cohort"] = d["cohort"].map(names)
    d = d[["cohort", "cohort_label", x, "size", value]].rename(columns={value: "value"})
    d["value"] = d["value"].astype(float)
    n_x = len(x_sort) or 1
    step_x = max(14, min(60 if n_x < 8 else 36, 760 // n_x))
    tooltip = [
        alt.Tooltip("cohort:N", title=_("Cohort")),
        alt.Tooltip(f"{x}:O", title=x_title),
        alt.Tooltip("size:Q", title=_("Customers"), format=th.INT_FORMAT),
        alt.Tooltip("value:Q", title=value_title, format=fmt),
    ]
    xe = alt.X(f"{x}:O", title=x_title, sort=x_sort, axis=alt.Axis(labelAngle=0))
    ye = alt.Y(
        "cohort_label:O", title=_("Cohort (size)"), sort=[labels[c] for c in cohorts], axis=alt.Axis(labelLimit=200)
    )
    base = alt.Chart(d)
    vmax = float(d["value"].max()) if len(d) else 1.0
    rect = base.mark_rect(stroke="white", strokeWidth=0.5).encode(
        x=xe,
        y=ye,
        tooltip=tooltip,
        color=alt.Color(
            "value:Q",
            title=value_title,
            scale=alt.Scale(scheme=th.HEATMAP_SCHEME, zero=True),
            legend=alt.Legend(format=axis_fmt, gradientLength=160),
        ),
    )
    layers: list[Any] = [rect]
    if n_x <= 26 and step_x >= 26:
        layers.append(
            base.mark_text(fontSize=11, baseline="middle").encode(
                x=xe,
                y=ye,
                text=alt.Text("value:Q", format=axis_fmt),
                tooltip=tooltip,
                color=alt.condition(alt.datum.value > vmax * 0.55, alt.value("white"), alt.value("#1b2733")),
            )
        )
    sub = [s for s in (subtitle, note) if s]
    return th.layered(*layers).properties(
        width=alt.Step(step_x),
        height=alt.Step(20 if len(cohorts) <= 40 else 14),
        title=alt.Title(title, subtitle=sub if len(sub) > 1 else (sub[0] if sub else "")),
    )


def bracket_chart(
    table: pd.DataFrame, split: str | None = None, *, intervals: bool = True, lang: str = "en"
) -> alt.LayerChart:
    """Bracket retention by cohort (one line per bracket), or per segment when split (definitions §3).

    ``table`` is a bracket table as returned by :func:`retainkit.bracket_retention`
    (optionally with a segment column ``split``); ``lang`` is the language of
    titles, axes, tooltips and cohort labels.
    """
    tr = translator(lang)
    _ = tr.gettext
    freq = str(table.attrs.get("freq", "")).upper()
    order = list(dict.fromkeys(table.sort_values("age_from")["bracket"]))
    if split:
        g = table.groupby([split, "bracket"], sort=False, dropna=False)[["size", "active"]].sum().reset_index()
        g = add_retention(g)
        g[split] = g[split].astype(str)
        base = alt.Chart(g)
        x = alt.X(
            "bracket:N", title=_("Age bracket (periods since first purchase)"), sort=order, axis=alt.Axis(labelAngle=0)
        )
        bars = base.mark_bar().encode(
            x=x,
            xOffset=alt.XOffset(f"{split}:N"),
            y=alt.Y("retention:Q", title=_("Bracket retention"), axis=alt.Axis(format=".0%")),
            color=alt.Color(f"{split}:N", title=split),
            tooltip=[
                alt.Tooltip(f"{split}:N"),
                alt.Tooltip("bracket:N", title=_("Ages")),
                alt.Tooltip("size:Q", format=",d", title=_("Customers")),
                alt.Tooltip("retention:Q", format=".1%", title=_("Retention")),
            ],
        )
        layers: list[Any] = [bars]
        if intervals:
            layers.append(
                base.mark_rule(color="#1b2733").encode(
                    x=x, xOffset=alt.XOffset(f"{split}:N"), y="retention_lo:Q", y2="retention_hi:Q"
                )
            )
        return th.layered(*layers).properties(
            width=th.WIDTH,
            height=th.HEIGHT,
            title=alt.Title(
                _("Bracket retention by {segment}").format(segment=split),
                subtitle=_(
                    "share of the cohorts' customers active at any age in the bracket, all selected cohorts pooled "
                    "(definitions §3)"
                ),
            ),
        )
    d = table.copy()
    raw = sorted(d["cohort"].astype(str).unique())
    names = {c: tr.period_label(c, freq) if freq in th.FREQ_AGE_TITLES else c for c in raw}
    d["cohort"] = d["cohort"].astype(str).map(names)
    x = alt.X(
        "cohort:O", title=_("Cohort"), sort=[names[c] for c in raw], axis=alt.Axis(labelAngle=-45, labelOverlap=True)
    )
    intervals = intervals and "retention_lo" in d.columns
    base = alt.Chart(
        d[
            ["cohort", "bracket", "size", "active", "retention"]
            + (["retention_lo", "retention_hi"] if intervals else [])
        ]
    )
    colors = alt.Scale(domain=order, range=[th.PALETTE[i % len(th.PALETTE)] for i in range(len(order))])
    layers = []
    if intervals:
        layers.append(
            base.mark_area(opacity=0.15).encode(
                x=x,
                y=alt.Y("retention_lo:Q", title=_("Bracket retention")),
                y2="retention_hi:Q",
                fill=alt.Fill("bracket:N", scale=colors, legend=None),
            )
        )
    layers.append(
        base.mark_line(point=True).encode(
            x=x,
            y=alt.Y("retention:Q", title=_("Bracket retention"), axis=alt.Axis(format=".0%")),
            color=alt.Color("bracket:N", title=_("Ages"), scale=colors, sort=order),
            tooltip=[
                alt.Tooltip("cohort:N", title=_("Cohort")),
                alt.Tooltip("bracket:N", title=_("Ages")),
                alt.Tooltip("size:Q", title=_("Customers"), format=",d"),
                alt.Tooltip("retention:Q", title=_("Bracket retention"), format=".1%"),
            ],
        )
    )
    return th.layered(*layers).properties(
        width=th.WIDTH,
        height=th.HEIGHT,
        title=alt.Title(
            _("Bracket retention by cohort"),
            subtitle=_(
                "share of the cohort active at any age in the bracket; a cohort appears once every age of the "
                "bracket is observed (definitions §3)"
            ),
        ),
    )


__all__ = ["bracket_chart", "value_heatmap"]
