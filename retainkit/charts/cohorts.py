"""Charts of cohort retention and revenue (definitions §3): curves per cohort and per segment.

Every function takes a retainkit table (the output of ``cohort_table`` or
``average_curve``) and returns an Altair chart; none does I/O or displays
anything. Data are trimmed to the columns a chart needs and to a readable
number of cohorts, so Altair's 5,000-row limit is never reached; what was left
out is said in the subtitle. The heatmap lives in :mod:`.heatmap`, the CRR
charts in :mod:`.crr` (both importable from here too).
"""

from __future__ import annotations

import altair as alt
import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ..i18n import N_, Translator, translator
from . import _theme as th
from ._common import (
    COHORT_VALUES,
    chart_title,
    cohort_labels,
    cohort_order,
    latest,
    nice_upper,
    one_segment,
    records,
    require,
    segments_before,
)
from .crr import crr_trend
from .heatmap import AVERAGE_ROW, COMPLETE, IN_PROGRESS, PARTIAL_NOTE, cohort_heatmap

_CURVE_TITLES = {
    "retention": N_("Retention curves by cohort"),
    "retention_on_or_after": N_("Retention (on or after) curves by cohort"),
    "revenue_retention": N_("Revenue retention curves by cohort"),
}
_AVERAGE_OF = {
    "retention": N_("Average retention"),
    "retention_on_or_after": N_("Average retention (on or after)"),
    "revenue_retention": N_("Average revenue retention"),
    "cum_revenue_per_customer": N_("Average revenue per customer"),
}

#: names of the three kinds of line in the cohort curves (legend entries)
EARLIER_COHORTS = N_("Earlier cohorts")
NEWEST_COHORT = N_("Newest cohort")
AVERAGE_SERIES = N_("Average of all cohorts")
AVERAGE_LABEL = N_("Average")


def _curve_layers(
    d: pd.DataFrame,
    order: list[str],
    value: str,
    avg: pd.DataFrame | None,
    avg_lo: str | None,
    avg_hi: str | None,
    y_axis: alt.Axis,
    y_title: str,
    age_title: str,
    fmt: str,
    y_scale: alt.Scale,
    tr: Translator,
    average_title: str,
) -> list[alt.Chart]:
    _ = tr.gettext
    x = alt.X("age:Q", title=age_title, axis=alt.Axis(tickMinStep=1, format="d"))
    # Colour encodes what a line is, not which cohort: the earlier cohorts in grey, the newest
    # cohort and the average highlighted, one legend for the three (hover a grey line for its cohort).
    newest = order[-1] if order else ""
    series = [_(EARLIER_COHORTS), f"{_(NEWEST_COHORT)} ({newest})", _(AVERAGE_SERIES)]
    colors = alt.Scale(domain=series, range=[th.COHORT_GREY, th.PALETTE[1], th.AVERAGE_COLOR])
    legend = alt.Legend(title=None, orient="top", direction="horizontal", symbolType="stroke", symbolStrokeWidth=3)
    color = alt.Color("series:N", title=None, scale=colors, sort=series, legend=legend)
    y = alt.Y(f"{value}:Q", title=y_title, axis=y_axis, scale=y_scale)
    tip = [
        alt.Tooltip("cohort:N", title=_("Cohort")),
        alt.Tooltip("age:Q", title=_("Age")),
        alt.Tooltip(f"{value}:Q", title=y_title, format=fmt),
    ]
    layers: list[alt.Chart] = []
    if len(d):
        d = d.assign(series=np.where(d["cohort"].astype(str) == newest, series[1], series[0]))
        older, new = d[d["series"] == series[0]], d[d["series"] == series[1]]
        if len(older):
            layers.append(
                alt.Chart(records(older))
                .mark_line(strokeWidth=1.2, opacity=0.8)
                .encode(x=x, y=y, color=color, detail="cohort:N", tooltip=tip)
            )
        layers.append(
            alt.Chart(records(new))
            .mark_line(strokeWidth=2.2, point=alt.OverlayMarkDef(size=18))
            .encode(x=x, y=y, color=color, tooltip=tip)
        )
        end = new.sort_values("age").tail(1).assign(label=newest)
        layers.append(
            alt.Chart(records(end))
            .mark_text(align="left", dx=6, fontSize=11, fontWeight=600)
            .encode(x=x, y=y, text="label:N", color=color)
        )
    if avg is not None and len(avg):
        avg = avg.assign(series=series[2])
        ab = alt.Chart(records(avg))
        if avg_lo and avg_hi and avg_lo in avg.columns:
            layers.append(
                ab.mark_area(opacity=th.BAND_OPACITY, color=th.ACCENT).encode(
                    x=x, y=alt.Y(f"{avg_lo}:Q", axis=y_axis, title=y_title, scale=y_scale), y2=alt.Y2(f"{avg_hi}:Q")
                )
            )
        atip = [alt.Tooltip("age:Q", title=_("Age")), alt.Tooltip(f"{value}:Q", title=average_title, format=fmt)]
        if "interval" in avg.columns:
            atip.append(alt.Tooltip("interval:N", title=_("95% interval")))
        if "cohorts" in avg.columns:
            atip.append(alt.Tooltip("cohorts:Q", title=_("Cohorts observed")))
        layers.append(
            ab.mark_line(strokeWidth=3, point=alt.OverlayMarkDef(color=th.AVERAGE_COLOR, size=30)).encode(
                x=x, y=y, color=color, tooltip=atip
            )
        )
        aend = avg.sort_values("age").tail(1).assign(label=_(AVERAGE_LABEL))
        layers.append(
            alt.Chart(records(aend))
            .mark_text(align="left", dx=6, dy=-8, fontSize=11, fontWeight=600)
            .encode(x=x, y=y, text="label:N", color=color)
        )
    if not layers:  # an empty but valid chart
        layers.append(
            alt.Chart(pd.DataFrame({"age": [], value: []}))
            .mark_line()
            .encode(x=x, y=alt.Y(f"{value}:Q", title=y_title))
        )
    return layers


def retention_curves(
    table: pd.DataFrame,
    average: pd.DataFrame | None = None,
    *,
    value: str = "retention",
    max_cohorts: int | None = 12,
    start_age: int = 1,
    min_cohorts: int = 3,
    max_age: int | None = None,
    title: str | None = None,
    lang: str = "en",
) -> alt.LayerChart:
    """Retention curves, one line per cohort, with the average curve and its band.

    Parameters
    ----------
    table : DataFrame
        ``cohort_table`` output (one segment).
    average : DataFrame, optional
        ``average_curve(table)`` output: the size-weighted average curve
        (definitions §3 "Average retention curve") drawn bold with its 95 %
        interval band (``retention_lo``/``retention_hi``). Omitted if None.
    value : {"retention", "retention_on_or_after", "revenue_retention"}
    max_cohorts : int or None
        Most recent cohorts drawn as thin lines (default 12).
    start_age : int
        First age drawn; default 1, because R(c, 0) = 100 % by definition and
        would squash the interesting part of the curve.
    min_cohorts : int
        The average is drawn only at ages observed in at least this many
        cohorts (needs a ``cohorts`` column; default 3): the tail of an
        average over one or two cohorts is noise.
    max_age : int, optional
        Last age drawn (e.g. the heatmap's span, so both charts cover the
        same ages); None draws every observed age.
    title : str, optional
    lang : {"en", "el", "hy"}
        Language of titles, axes, tooltips and cohort labels.

    Returns
    -------
    altair.LayerChart
        Layers: earlier cohorts (grey ``line``), newest cohort (``line`` + end ``text``), then ``area`` (band),
        ``line`` (average) and its end ``text`` when ``average`` is given; colour = kind of line (one legend).
    """
    if value not in COHORT_VALUES:
        raise ParameterError(f"value={value!r}: use one of {', '.join(map(repr, COHORT_VALUES))}.")
    require(table, ["cohort", "age", value], "retention_curves")
    one_segment(table, "cohort", "retention_curves")
    tr = translator(lang)
    _ = tr.gettext
    label, lo_col, hi_col, meaning = COHORT_VALUES[value]
    label, meaning = _(label), _(meaning)
    t = table[(table["age"] >= start_age) & ((table["age"] <= max_age) if max_age is not None else True)]
    if "partial" in t.columns:
        t = t[~t["partial"].astype(bool)]
    order, note = latest(cohort_order(t), max_cohorts, tr) if len(t) else ([], "")
    d = t.loc[t["cohort"].astype(str).isin(order), ["cohort", "age", value]].copy()
    names = cohort_labels(tr, table, order)
    d["cohort"] = d["cohort"].astype(str).map(names)
    order = [names[c] for c in order]
    avg = None
    if average is not None:
        require(average, ["age", value], "retention_curves(average=...)")
        one_segment(average, "age", "retention_curves(average=...)")
        keep = ["age", value] + [c for c in ("cohorts", lo_col, hi_col) if c and c in average.columns]
        avg = average.loc[
            (average["age"] >= start_age) & ((average["age"] <= max_age) if max_age is not None else True), keep
        ].copy()
        if "cohorts" in avg.columns:
            avg = avg[avg["cohorts"] >= min_cohorts]
        if lo_col and lo_col in avg.columns:
            avg["interval"] = th.interval_text(avg[lo_col], avg[hi_col], lang=lang)
        avg = avg.dropna(subset=[value])
    top = max(
        [float(d[value].max()) if len(d) else 0.0] + ([float(avg[value].max())] if avg is not None and len(avg) else [])
    )
    if avg is not None and hi_col and hi_col in avg.columns and len(avg):
        top = max(top, float(avg[hi_col].max()))
    scale = alt.Scale(domain=[0, nice_upper(top)], nice=False) if value != "revenue_retention" else alt.Scale(zero=True)
    layers = _curve_layers(
        d,
        order,
        value,
        avg,
        lo_col,
        hi_col,
        alt.Axis(format=th.PCT_AXIS),
        label,
        _(th.age_title(table)),
        th.PCT_TOOLTIP,
        scale,
        tr,
        _(_AVERAGE_OF[value]),
    )
    sub_avg = ""
    if average is not None:
        sub_avg = (
            _("bold: size-weighted average of all cohorts with its 95% interval")
            if lo_col
            else _("bold: all cohorts pooled (sum at that age / sum at age 0)")
        )
        if "cohorts" in average.columns:
            sub_avg += _(", at ages seen in {n}+ cohorts").format(n=tr.format_number(min_cohorts))
        if max_age is not None and len(average) and int(average["age"].max()) > max_age:
            sub_avg += _(" (ages up to {age})").format(age=tr.format_number(max_age))
    return alt.layer(*layers).properties(
        width=th.WIDTH,
        height=th.HEIGHT,
        title=chart_title(title or _(_CURVE_TITLES[value]), meaning, sub_avg, note),
    )


def cumulative_revenue_curves(
    table: pd.DataFrame,
    average: pd.DataFrame | None = None,
    *,
    currency: str = "",
    max_cohorts: int | None = 12,
    min_cohorts: int = 3,
    title: str | None = None,
    lang: str = "en",
) -> alt.LayerChart:
    """Cumulative revenue per customer by age, per cohort and on average (definitions §3).

    CRev(c, k) = sum of revenue at ages <= k divided by the cohort size: the
    empirical lifetime-value curve.

    Parameters
    ----------
    table : DataFrame
        ``cohort_table`` output with amounts (has ``cum_revenue_per_customer``).
    average : DataFrame, optional
        Average curve with ``age`` and ``cum_revenue_per_customer`` (from
        ``average_curve``), drawn bold.
    currency : str
        Shown in the axis title (e.g. "EUR").
    max_cohorts : int or None
    min_cohorts : int
        The average is drawn only at ages seen in at least this many cohorts.
    title : str, optional
    lang : {"en", "el", "hy"}
        Language of titles, axes, tooltips and cohort labels.

    Returns
    -------
    altair.LayerChart
    """
    tr = translator(lang)
    _ = tr.gettext
    value = "cum_revenue_per_customer"
    require(table, ["cohort", "age", value], "cumulative_revenue_curves")
    one_segment(table, "cohort", "cumulative_revenue_curves")
    t = table[~table["partial"].astype(bool)] if "partial" in table.columns else table
    order, note = latest(cohort_order(t), max_cohorts, tr) if len(t) else ([], "")
    d = t.loc[t["cohort"].astype(str).isin(order), ["cohort", "age", value]].copy()
    names = cohort_labels(tr, table, order)
    d["cohort"] = d["cohort"].astype(str).map(names)
    order = [names[c] for c in order]
    avg = None
    if average is not None and value in average.columns:
        avg = average.loc[:, [c for c in ("age", value, "cohorts") if c in average.columns]].dropna(subset=[value])
        if "cohorts" in avg.columns:
            avg = avg[avg["cohorts"] >= min_cohorts]
    y_title = _("Revenue per customer") + (f" ({currency})" if currency else "")
    layers = _curve_layers(
        d,
        order,
        value,
        avg,
        None,
        None,
        alt.Axis(format=",.0f"),
        y_title,
        _(th.age_title(table)),
        ",.2f",
        alt.Scale(zero=True),
        tr,
        _(_AVERAGE_OF[value]),
    )
    pooled = _("bold: all cohorts pooled, at ages seen in {n}+ cohorts").format(n=tr.format_number(min_cohorts))
    return alt.layer(*layers).properties(
        width=th.WIDTH,
        height=th.HEIGHT,
        title=chart_title(
            title or _("Cumulative revenue per customer"),
            _("revenue to date / cohort size, refunds included (definitions §3)"),
            pooled if avg is not None else "",
            note,
        ),
    )


# --------------------------------------------------------------------------- segments
def segment_comparison(
    average: pd.DataFrame,
    segment: str | None = None,
    *,
    value: str = "retention",
    max_segments: int = 10,
    start_age: int = 1,
    min_cohorts: int = 3,
    title: str | None = None,
    lang: str = "en",
) -> alt.LayerChart:
    """Average retention curve per segment with 95 % bands (definitions §3).

    Parameters
    ----------
    average : DataFrame
        ``average_curve(cohort_table(tx, by=segment))``: segment column(s),
        ``age``, ``retention``, ``retention_lo``, ``retention_hi``, ``size``.
    segment : str, optional
        The segment column; default: the single column before ``age``.
    value : str
        ``"retention"`` (with bands) or another average column.
    max_segments : int
        Largest segments kept (by customers at age 0); the rest are named in
        the subtitle. Keeps legends and colours readable.
    start_age : int
        First age drawn (default 1; age 0 is 100 %).
    min_cohorts : int
        Ages seen in fewer cohorts of a segment are not drawn (default 3).
    title : str, optional
    lang : {"en", "el", "hy"}
        Language of titles, axes and tooltips (segment values are data, shown as they are).

    Returns
    -------
    altair.LayerChart
        ``area`` bands and ``line`` curves coloured by segment (palette in
        size order, so the largest segment is always the first colour).
    """
    tr = translator(lang)
    _ = tr.gettext
    segs = segments_before(average, "age")
    if segment is None:
        if len(segs) != 1:
            raise ParameterError(f"segment_comparison: pass segment=<column>; the table has segment columns {segs}.")
        segment = segs[0]
    require(average, [segment, "age", value], "segment_comparison")
    a = average.copy()
    a[segment] = a[segment].astype(str)
    if "size" in a.columns and (a["age"] == 0).any():
        sizes = a[a["age"] == 0].groupby(segment)["size"].sum().sort_values(ascending=False, kind="stable")
    else:
        sizes = a.groupby(segment)[value].size().sort_values(ascending=False, kind="stable")
    names = [str(s) for s in sizes.index]
    note = ""
    if len(names) > max_segments:
        note = _("showing the {n} largest of {total} segments").format(
            n=tr.format_number(max_segments), total=tr.format_number(len(names))
        )
        names = names[:max_segments]
    a = a[a[segment].isin(names) & (a["age"] >= start_age)].dropna(subset=[value])
    if "cohorts" in a.columns:
        a = a[a["cohorts"] >= min_cohorts]
    has_band = value == "retention" and {"retention_lo", "retention_hi"} <= set(a.columns)
    lo, hi = ("retention_lo", "retention_hi") if has_band else (None, None)
    keep = [segment, "age", value] + [c for c in (lo, hi, "size", "cohorts") if c and c in a.columns]
    a = a.loc[:, keep].rename(columns={segment: "segment"})
    if lo and lo in a.columns:
        a["interval"] = th.interval_text(a[lo], a[hi], lang=lang)
    colors = alt.Scale(domain=names, range=[th.PALETTE[i % len(th.PALETTE)] for i in range(len(names))])
    x = alt.X("age:Q", title=_(th.age_title(average)), axis=alt.Axis(tickMinStep=1, format="d"))
    value_title = _("Retention") if value == "retention" else value
    top = float(a[hi].max()) if lo and len(a) else (float(a[value].max()) if len(a) else 1.0)
    yscale = (
        alt.Scale(domain=[0, nice_upper(top)], nice=False) if value.startswith("retention") else alt.Scale(zero=True)
    )
    yaxis = alt.Axis(format=th.PCT_AXIS) if value.startswith("retention") else alt.Axis()
    base = alt.Chart(records(a))
    legend = alt.Legend(title=segment, orient="right", symbolType="stroke", symbolStrokeWidth=3, symbolOpacity=1)
    layers = []
    if lo and lo in a.columns:
        layers.append(
            base.mark_area(opacity=0.14).encode(
                x=x,
                y=alt.Y(f"{lo}:Q", title=value_title, axis=yaxis, scale=yscale),
                y2=f"{hi}:Q",
                # the same colour encoding as the lines: a layer with ``legend=None`` would remove the
                # merged legend of every layer (Vega-Lite), which left the segments unnamed
                color=alt.Color("segment:N", title=segment, scale=colors, sort=names, legend=legend),
            )
        )
    tip = [
        alt.Tooltip("segment:N", title=segment),
        alt.Tooltip("age:Q", title=_("Age")),
        alt.Tooltip(f"{value}:Q", title=value_title, format=th.PCT_TOOLTIP),
    ]
    if "interval" in a.columns:
        tip.append(alt.Tooltip("interval:N", title=_("95% interval")))
    if "size" in a.columns:
        tip.append(alt.Tooltip("size:Q", title=_("Customers observed"), format=th.INT_FORMAT))
    layers.append(
        base.mark_line(strokeWidth=2.5, point=alt.OverlayMarkDef(size=26)).encode(
            x=x,
            y=alt.Y(f"{value}:Q", title=value_title, axis=yaxis, scale=yscale),
            color=alt.Color("segment:N", title=segment, scale=colors, sort=names, legend=legend),
            tooltip=tip,
        )
    )
    if len(a):  # direct labels at the line ends, so the chart reads without the legend (and in print)
        ends = a.sort_values("age", kind="stable").groupby("segment", sort=False).tail(1)
        layers.append(
            alt.Chart(records(ends.loc[:, ["segment", "age", value]]))
            .mark_text(align="left", dx=6, fontSize=11, fontWeight=600)
            .encode(
                x=x,
                y=alt.Y(f"{value}:Q", scale=yscale),
                text="segment:N",
                color=alt.Color("segment:N", title=segment, scale=colors, sort=names, legend=legend),
            )
        )
    return alt.layer(*layers).properties(
        width=th.WIDTH,
        height=th.HEIGHT,
        title=chart_title(
            title or _("Average retention by {segment}").format(segment=segment),
            _("size-weighted average curve per segment, 95% bands, ages seen in {n}+ cohorts (definitions §3)").format(
                n=tr.format_number(min_cohorts)
            ),
            note,
        ),
    )


__all__ = [
    "AVERAGE_ROW",
    "COMPLETE",
    "IN_PROGRESS",
    "PARTIAL_NOTE",
    "cohort_heatmap",
    "crr_trend",
    "cumulative_revenue_curves",
    "retention_curves",
    "segment_comparison",
]
