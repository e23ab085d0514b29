"""Charts of a view split by a segment, and cohort curves that highlight one cohort (definitions §3, §4).

Every colour that encodes a category has a legend, so a reader can tell the
series apart without hovering; a segment keeps its colour across charts when
the same ``order`` is passed. Money values are formatted with the currency.

* :func:`segment_curves`: one average curve per segment (any metric column
  of ``average_curve``), with 95 % bands where the metric is a proportion.
* :func:`crr_by_segment`: CRR per period, one line per segment, with Wilson bands.
* :func:`stacked_by_segment`: one chart block per segment (e.g. heatmaps),
  stacked with one shared colour scale.
* :func:`highlight_curves`: the average curve and one selected cohort in
  colour, the other cohorts as thin grey lines.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

import altair as alt
import numpy as np
import pandas as pd

from .._deprecation import renamed_kwargs
from ..exceptions import ParameterError
from ..i18n import translator
from . import _theme as th

#: Colour of the cohorts that are not highlighted.
MUTED = "#c5ccd3"
#: Colour of the highlighted cohort (the average is near-black).
HIGHLIGHT = "#e0803a"
AVERAGE_COLOR = "#1b2733"

_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CHF": "CHF "}


def money_prefix(currency: str) -> str:
    """The text written before an amount: "$" for USD, "€" for EUR, "SEK " for other codes, "" for none."""
    cur = (currency or "").strip()
    if not cur:
        return ""
    return _SYMBOLS.get(cur.upper(), cur if len(cur) == 1 else cur + " ")


def money_text(values: pd.Series, currency: str, decimals: int = 2) -> pd.Series:
    """Amounts as text with the currency ("€1,234.50"); empty where missing."""
    pre = money_prefix(currency)
    out = [
        ("" if pd.isna(v) else (f"-{pre}{abs(v):,.{decimals}f}" if v < 0 else f"{pre}{v:,.{decimals}f}"))
        for v in values
    ]
    return pd.Series(out, index=values.index, dtype=object)


def money_axis(currency: str) -> alt.Axis:
    """A value axis labelled with the currency ("€1,200")."""
    pre = money_prefix(currency).replace("\\", "\\\\").replace("'", "\\'")
    return alt.Axis(labelExpr=f"(datum.value < 0 ? '-' : '') + '{pre}' + format(abs(datum.value), ',.0f')")


def _records(df: pd.DataFrame) -> pd.DataFrame:
    out = df.reset_index(drop=True).copy()
    for c in out.columns:
        if out[c].dtype == object or isinstance(out[c].dtype, pd.CategoricalDtype):
            out[c] = out[c].map(lambda v: None if v is None or (isinstance(v, float) and math.isnan(v)) else str(v))
    if len(out) > th.MAX_ROWS:
        raise ParameterError(
            f"a chart would need {len(out):,} rows (Altair's limit is {th.MAX_ROWS:,}); "
            "select fewer cohorts or segments."
        )
    return out


def _title(text: str, *subtitle: str) -> alt.Title:
    sub = [s for s in subtitle if s]
    return alt.Title(text, subtitle=sub) if sub else alt.Title(text)


def _upper(x: float) -> float:
    if not np.isfinite(x) or x <= 0:
        return 1.0
    return min(1.0, math.ceil(x * 10 - 1e-9) / 10)


def _value_text(values: pd.Series, kind: str, currency: str) -> pd.Series:
    if kind == "money":
        return money_text(values, currency)
    if kind == "pct":
        return pd.Series(["" if pd.isna(v) else f"{v:.1%}" for v in values], index=values.index, dtype=object)
    return pd.Series(["" if pd.isna(v) else f"{v:,.2f}" for v in values], index=values.index, dtype=object)


def _y(value: str, y_title: str, kind: str, currency: str, top: float) -> alt.Y:
    if kind == "pct":
        return alt.Y(
            f"{value}:Q",
            title=y_title,
            axis=alt.Axis(format=th.PCT_AXIS),
            scale=alt.Scale(domain=[0, _upper(top)], nice=False),
        )
    axis = money_axis(currency) if kind == "money" else alt.Axis(format=",.2~f")
    return alt.Y(f"{value}:Q", title=y_title, axis=axis, scale=alt.Scale(zero=True))


def _legend() -> alt.Legend:
    """The segment legend. Bands get the same one: Vega-Lite merges a band's ``fill`` legend with the
    lines' ``color`` legend, and ``legend=None`` on the band would hide both."""
    return alt.Legend(orient="right", symbolType="stroke", symbolStrokeWidth=3, symbolOpacity=1)


def _order_by_size(frame: pd.DataFrame, segment: str, size_col: str | None) -> list[str]:
    if size_col and size_col in frame.columns:
        sizes = frame.groupby(segment, sort=True)[size_col].max().sort_values(ascending=False, kind="stable")
        return [str(s) for s in sizes.index]
    return sorted(frame[segment].astype(str).unique().tolist())


@renamed_kwargs(segment="by")
def segment_curves(
    average: pd.DataFrame,
    by: str,
    *,
    value: str,
    y_title: str,
    kind: str = "pct",
    currency: str = "",
    unit: str = "periods",
    start_age: int = 1,
    min_cohorts: int = 3,
    max_segments: int = 10,
    order: Sequence[str] | None = None,
    lang: str = "en",
    title: str,
    subtitle: str = "",
) -> alt.LayerChart:
    """Average curve per segment, with a legend (definitions §3).

    Parameters
    ----------
    average : DataFrame
        ``average_curve(cohort_table(..., by=by))``.
    by : str
        The segment column (``segment=`` is its deprecated spelling).
    value : str
        The column drawn (``retention``, ``retention_on_or_after``,
        ``revenue_per_customer``, ``cum_revenue_per_customer``...). Bands are
        drawn when ``{value}_lo`` and ``{value}_hi`` exist.
    y_title : str
        Axis and tooltip title of the value (e.g. "Revenue per customer").
    kind : {"pct", "money", "number"}
        How the value is formatted; "money" uses ``currency``.
    unit : str
        Plural period name for the age axis ("months").
    start_age, min_cohorts, max_segments : int
        First age drawn; ages seen in fewer cohorts of a segment are left out;
        largest segments kept (the rest are named in the subtitle).
    order : sequence of str, optional
        Segment order (colours follow it); default: largest first.
    title, subtitle : str
    lang : str
        Language of the axis titles, tooltips and notes (:func:`retainkit.i18n.translator`).

    Returns
    -------
    altair.LayerChart
        Bands and lines (colour = segment, one legend).
    """
    segment = by  # the split column, named 'segment' in the chart's data
    _ = translator(lang).gettext
    missing = [c for c in (segment, "age", value) if c not in average.columns]
    if missing:
        raise ParameterError(f"segment_curves: the table has no column(s) {missing}; pass average_curve(...) output.")
    a = average.copy()
    a[segment] = a[segment].astype(str)
    size0 = a[a["age"] == 0] if "size" in a.columns else a
    names = [str(n) for n in order] if order is not None else _order_by_size(size0, segment, "size")
    note = ""
    if len(names) > max_segments:
        note = _("showing the {n} largest of {total} segments").format(n=max_segments, total=len(names))
        names = names[:max_segments]
    a = a[a[segment].isin(names) & (a["age"] >= start_age)].dropna(subset=[value])
    if "cohorts" in a.columns:
        a = a[a["cohorts"] >= min_cohorts]
    lo, hi = f"{value}_lo", f"{value}_hi"
    band = lo in a.columns and hi in a.columns and a[lo].notna().any()
    keep = [segment, "age", value] + [c for c in ((lo, hi) if band else ()) + ("size", "cohorts") if c in a.columns]
    d = a.loc[:, keep].rename(columns={segment: "segment"})
    d["value_text"] = _value_text(d[value], kind, currency)
    if band:
        d["interval"] = [
            f"{x} – {y}" if x and y else ""
            for x, y in zip(_value_text(d[lo], kind, currency), _value_text(d[hi], kind, currency))
        ]
    colors = alt.Scale(domain=names, range=[th.PALETTE[i % len(th.PALETTE)] for i in range(len(names))])
    top = float(d[hi].max()) if band and len(d) else (float(d[value].max()) if len(d) else 1.0)
    y = _y(value, y_title, kind, currency, top)
    x = alt.X(
        "age:Q",
        title=_("Age ({unit} since first purchase)").format(unit=unit),
        axis=alt.Axis(tickMinStep=1, format="d"),
    )
    base = alt.Chart(_records(d))
    layers: list[Any] = []
    if band:
        layers.append(
            base.mark_area(opacity=0.14).encode(
                x=x,
                y=alt.Y(f"{lo}:Q", title=y_title),
                y2=f"{hi}:Q",
                fill=alt.Fill("segment:N", title=segment, scale=colors, sort=names, legend=_legend()),
            )
        )
    tip = [
        alt.Tooltip("segment:N", title=segment),
        alt.Tooltip("age:Q", title=_("Age")),
        alt.Tooltip("value_text:N", title=y_title),
    ]
    if band:
        tip.append(alt.Tooltip("interval:N", title=_("95% interval")))
    if "size" in d.columns:
        tip.append(alt.Tooltip("size:Q", title=_("Customers observed"), format=th.INT_FORMAT))
    layers.append(
        base.mark_line(strokeWidth=2.5, point=alt.OverlayMarkDef(size=26)).encode(
            x=x,
            y=y,
            color=alt.Color("segment:N", title=segment, scale=colors, sort=names, legend=_legend()),
            tooltip=tip,
        )
    )
    return th.layered(*layers).properties(width=th.WIDTH - 80, height=th.HEIGHT, title=_title(title, subtitle, note))


@renamed_kwargs(segment="by")
def crr_by_segment(
    crr: pd.DataFrame,
    by: str,
    *,
    intervals: bool = True,
    max_periods: int | None = 36,
    max_segments: int = 10,
    order: Sequence[str] | None = None,
    lang: str = "en",
    title: str,
    subtitle: str = "",
) -> alt.LayerChart:
    """CRR per period, one line per segment with its 95 % Wilson band (definitions §4).

    Parameters
    ----------
    crr : DataFrame
        ``crr_table(..., by=by)`` columns (the ``by`` column, ``period``,
        ``period_start``, ``start_customers``, ``retained``, ``crr``,
        ``crr_lo``, ``crr_hi``, ``window_covered``).
    by : str
        The segment column (``segment=`` is its deprecated spelling).
    intervals : bool
        Draw the bands.
    max_periods : int or None
        Most recent periods drawn.
    max_segments : int
        Segments with the most customers at the start of the periods kept.
    order : sequence of str, optional
        Segment order (colours follow it); default: most customers first.
    title, subtitle : str
    lang : str
        Language of the axis titles, tooltips and notes.

    Returns
    -------
    altair.LayerChart
    """
    segment = by  # the split column, named 'segment' in the chart's data
    _ = translator(lang).gettext
    missing = [c for c in (segment, "period", "period_start", "crr", "start_customers") if c not in crr.columns]
    if missing:
        raise ParameterError(f"crr_by_segment: the table has no column(s) {missing}; pass crr_table(by=...) output.")
    t = crr
    notes = []
    if "window_covered" in t.columns:
        n_unc = int((~t.drop_duplicates("period")["window_covered"].astype(bool)).sum())
        t = t[t["window_covered"].astype(bool)]
        if n_unc:
            notes.append(_("{n} early period(s) hidden: their activity window starts before the data").format(n=n_unc))
    periods = t.drop_duplicates("period").sort_values("period_start")["period"].astype(str).tolist()
    if max_periods is not None and len(periods) > max_periods:
        notes.append(_("showing the latest {n} of {total} periods").format(n=max_periods, total=len(periods)))
        periods = periods[-max_periods:]
    t = t[t["period"].astype(str).isin(periods)].dropna(subset=["crr"])
    t = t.assign(**{segment: t[segment].astype(str)})
    totals = t.groupby(segment)["start_customers"].sum().sort_values(ascending=False, kind="stable")
    names = [str(n) for n in order] if order is not None else [str(s) for s in totals.index]
    if len(names) > max_segments:
        notes.append(_("showing the {n} largest of {total} segments").format(n=max_segments, total=len(names)))
        names = names[:max_segments]
    t = t[t[segment].isin(names)]
    d = pd.DataFrame(
        {
            "segment": t[segment].to_numpy(),
            "period": t["period"].astype(str).to_numpy(),
            "crr": t["crr"].astype(float).to_numpy(),
            "start_customers": t["start_customers"].astype(int).to_numpy(),
            "retained": t["retained"].astype(int).to_numpy() if "retained" in t.columns else 0,
            "crr_lo": t["crr_lo"].astype(float).to_numpy() if "crr_lo" in t.columns else np.nan,
            "crr_hi": t["crr_hi"].astype(float).to_numpy() if "crr_hi" in t.columns else np.nan,
        }
    )
    d["interval"] = th.interval_text(d["crr_lo"], d["crr_hi"])
    band = intervals and bool(d["crr_lo"].notna().any())
    low = np.nanmin(d[["crr", "crr_lo"]].to_numpy()) if band and len(d) else (d["crr"].min() if len(d) else 0.0)
    lower = max(0.0, math.floor((low if np.isfinite(low) else 0.0) * 10) / 10 - 0.1)
    yscale = alt.Scale(domain=[lower, 1.0], nice=False, clamp=True)
    colors = alt.Scale(domain=names, range=[th.PALETTE[i % len(th.PALETTE)] for i in range(len(names))])
    x = alt.X(
        "period:O",
        title=_("Period"),
        sort=periods,
        axis=alt.Axis(labelAngle=-45 if len(periods) > 12 else 0, labelOverlap=True),
    )
    y = alt.Y("crr:Q", title="CRR", axis=alt.Axis(format=th.PCT_AXIS), scale=yscale)
    base = alt.Chart(_records(d))
    layers: list[Any] = []
    if band:
        layers.append(
            base.mark_area(opacity=0.12).encode(
                x=x,
                y=alt.Y("crr_lo:Q", title="CRR", scale=yscale),
                y2="crr_hi:Q",
                fill=alt.Fill("segment:N", title=segment, scale=colors, sort=names, legend=_legend()),
            )
        )
    tip = [
        alt.Tooltip("segment:N", title=segment),
        alt.Tooltip("period:N", title=_("Period")),
        alt.Tooltip("crr:Q", title="CRR", format=th.PCT_TOOLTIP),
        alt.Tooltip("interval:N", title=_("95% interval")),
        alt.Tooltip("start_customers:Q", title=_("Customers at the start"), format=th.INT_FORMAT),
        alt.Tooltip("retained:Q", title=_("Retained"), format=th.INT_FORMAT),
    ]
    layers.append(
        base.mark_line(strokeWidth=2.2, point=alt.OverlayMarkDef(size=22)).encode(
            x=x,
            y=y,
            color=alt.Color("segment:N", title=segment, scale=colors, sort=names, legend=_legend()),
            tooltip=tip,
        )
    )
    return th.layered(*layers).properties(width=th.WIDTH - 80, height=th.HEIGHT, title=_title(title, subtitle, *notes))


def stacked_by_segment(
    charts: Mapping[str, Any], *, title: str, subtitle: str = "", note: str = ""
) -> alt.VConcatChart:
    """One block per segment (e.g. a heatmap each), stacked, sharing one colour scale and legend.

    Parameters
    ----------
    charts : mapping of segment label -> Altair chart
        In display order; each chart's own title names its segment.
    title, subtitle, note : str

    Returns
    -------
    altair.VConcatChart
    """
    if not charts:
        raise ParameterError("stacked_by_segment: no segment to draw.")
    return (
        alt.vconcat(*charts.values(), spacing=24)
        .resolve_scale(color="shared")
        .properties(title=_title(title, subtitle, note))
    )


def highlight_curves(
    table: pd.DataFrame,
    average: pd.DataFrame | None,
    *,
    value: str,
    y_title: str,
    selected: str | None = None,
    kind: str = "pct",
    currency: str = "",
    unit: str = "periods",
    start_age: int = 1,
    min_cohorts: int = 3,
    lang: str = "en",
    title: str,
    subtitle: str = "",
) -> alt.LayerChart:
    """Cohort curves with the average and one selected cohort highlighted (definitions §3).

    Every cohort is a thin grey line (hover for its name); the average curve
    (``average_curve``, at ages seen in ``min_cohorts``+ cohorts, with its 95 %
    band when ``{value}_lo``/``{value}_hi`` exist) and the ``selected``
    cohort are drawn in colour, with a two-entry legend.

    Parameters
    ----------
    table : DataFrame
        ``cohort_table`` output for one segment.
    average : DataFrame or None
        ``average_curve(table)``; None draws no average (e.g. revenue retention).
    value, y_title, kind, currency, unit, start_age, min_cohorts, title, subtitle, lang
        As in :func:`segment_curves`.
    selected : str, optional
        Cohort label to highlight (default: none).

    Returns
    -------
    altair.LayerChart
    """
    _ = translator(lang).gettext
    missing = [c for c in ("cohort", "age", value) if c not in table.columns]
    if missing:
        raise ParameterError(f"highlight_curves: the table has no column(s) {missing}; pass cohort_table(...) output.")
    t = table[table["age"] >= start_age]
    if "partial" in t.columns:
        t = t[~t["partial"].astype(bool)]
    d = t.loc[:, ["cohort", "age", value]].dropna(subset=[value]).copy()
    d["cohort"] = d["cohort"].astype(str)
    d["value_text"] = _value_text(d[value], kind, currency)
    avg = None
    lo, hi = f"{value}_lo", f"{value}_hi"
    if average is not None and value in average.columns:
        cols = ["age", value] + [c for c in (lo, hi, "cohorts") if c in average.columns]
        avg = average.loc[average["age"] >= start_age, cols].dropna(subset=[value])
        if "cohorts" in avg.columns:
            avg = avg[avg["cohorts"] >= min_cohorts]
        avg = avg.assign(series=_("Average of all cohorts"), value_text=_value_text(avg[value], kind, currency))
    sel_label = _("Cohort {cohort}").format(cohort=selected) if selected else ""
    series = [_("Average of all cohorts")] if avg is not None else []
    sel = d[d["cohort"] == str(selected)].assign(series=sel_label) if selected else d.iloc[:0].assign(series="")
    if selected:
        series.append(sel_label)
    colors = alt.Scale(
        domain=series, range=[AVERAGE_COLOR if s == series[0] and avg is not None else HIGHLIGHT for s in series]
    )
    top = max(
        [float(d[value].max()) if len(d) else 0.0]
        + ([float(avg[hi].max() if hi in avg.columns else avg[value].max())] if avg is not None and len(avg) else [])
    )
    y = _y(value, y_title, kind, currency, top)
    x = alt.X(
        "age:Q",
        title=_("Age ({unit} since first purchase)").format(unit=unit),
        axis=alt.Axis(tickMinStep=1, format="d"),
    )
    layers: list[Any] = []
    if len(d):
        layers.append(
            alt.Chart(_records(d))
            .mark_line(strokeWidth=1, color=MUTED, opacity=0.8)
            .encode(
                x=x,
                y=y,
                detail="cohort:N",
                tooltip=[
                    alt.Tooltip("cohort:N", title=_("Cohort")),
                    alt.Tooltip("age:Q", title=_("Age")),
                    alt.Tooltip("value_text:N", title=y_title),
                ],
            )
        )
    if avg is not None and len(avg) and lo in avg.columns:
        layers.append(
            alt.Chart(_records(avg))
            .mark_area(opacity=th.BAND_OPACITY, color=AVERAGE_COLOR)
            .encode(x=x, y=alt.Y(f"{lo}:Q", title=y_title), y2=f"{hi}:Q")
        )
    lines = (
        pd.concat([f for f in (avg, sel) if f is not None and len(f)], ignore_index=True)
        if (avg is not None and len(avg)) or len(sel)
        else None
    )
    if lines is not None:
        lines = lines.loc[:, ["series", "age", value, "value_text"]]
        layers.append(
            alt.Chart(_records(lines))
            .mark_line(strokeWidth=3, point=alt.OverlayMarkDef(size=30))
            .encode(
                x=x,
                y=y,
                color=alt.Color(
                    "series:N",
                    title=None,
                    scale=colors,
                    sort=series,
                    legend=alt.Legend(orient="top", direction="horizontal", symbolType="stroke", symbolStrokeWidth=3),
                ),
                tooltip=[
                    alt.Tooltip("series:N", title=_("Line")),
                    alt.Tooltip("age:Q", title=_("Age")),
                    alt.Tooltip("value_text:N", title=y_title),
                ],
            )
        )
    if not layers:
        layers.append(alt.Chart(pd.DataFrame({"age": [], value: []})).mark_line().encode(x=x, y=y))
    return th.layered(*layers).properties(width=th.WIDTH, height=th.HEIGHT, title=_title(title, subtitle))


__all__ = [
    "HIGHLIGHT",
    "MUTED",
    "crr_by_segment",
    "highlight_curves",
    "money_axis",
    "money_prefix",
    "money_text",
    "segment_curves",
    "stacked_by_segment",
]
