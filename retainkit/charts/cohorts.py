"""Charts of cohort retention, CRR and revenue (definitions §3, §4).

Every function takes a retainkit table (the output of ``cohort_table``,
``average_curve`` or ``crr_table``) and returns an Altair chart; none does
I/O or displays anything. Data are trimmed to the columns a chart needs and to
a readable number of cohorts / periods, so Altair's 5,000-row limit is never
reached; what was left out is said in the subtitle.
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

_COHORT_VALUES = {
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
#: chart titles per value (the value's name is part of the sentence, so each is one message)
_HEATMAP_TITLES = {
    "retention": N_("Retention by cohort and age"),
    "retention_on_or_after": N_("Retention (on or after) by cohort and age"),
    "revenue_retention": N_("Revenue retention by cohort and age"),
}
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


def _cohort_labels(tr: Translator, table: pd.DataFrame, cohorts: Sequence[str]) -> dict[str, str]:
    """Cohort period labels in the reader's language ('2024-01' -> 'Ιαν 2024'); unchanged without a known freq."""
    freq = str(table.attrs.get("freq", "")).upper()
    return {c: tr.period_label(c, freq) if freq in th.FREQ_AGE_TITLES else c for c in cohorts}


#: names of the three kinds of line in the cohort curves (legend entries)
EARLIER_COHORTS = N_("Earlier cohorts")
NEWEST_COHORT = N_("Newest cohort")
AVERAGE_SERIES = N_("Average of all cohorts")
AVERAGE_LABEL = N_("Average")
#: the heatmap's average row and the period in progress
AVERAGE_ROW = N_("All cohorts (size-weighted)")
IN_PROGRESS = N_("in progress")
COMPLETE = N_("complete")
PARTIAL_NOTE = N_("pale cells: the period in progress, not complete yet")


# --------------------------------------------------------------------------- helpers
def _segments_before(table: pd.DataFrame, first: str) -> list[str]:
    cols = [str(c) for c in table.columns]
    return cols[: cols.index(first)] if first in cols else []


def _require(table: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    if not isinstance(table, pd.DataFrame):
        raise ParameterError(f"{what}: expected a pandas DataFrame from retainkit, got {type(table).__name__}.")
    missing = [c for c in columns if c not in table.columns]
    if missing:
        raise ParameterError(
            f"{what}: the table has no column(s) {', '.join(map(repr, missing))}. "
            f"Pass the output of the matching retainkit function (columns present: {', '.join(map(str, table.columns))})."
        )


def _one_segment(table: pd.DataFrame, first: str, what: str) -> pd.DataFrame:
    segs = _segments_before(table, first)
    if segs and len(table[segs].drop_duplicates()) > 1:
        raise ParameterError(
            f"{what}: the table has segment column(s) {segs} with several values. Filter it to one "
            f"segment first (e.g. table[table[{segs[0]!r}] == value]) or use segment_comparison()."
        )
    return table


def _cohort_order(table: pd.DataFrame) -> list[str]:
    key = "cohort_start" if "cohort_start" in table.columns else "cohort"
    firsts = table.drop_duplicates("cohort").sort_values(key)
    return [str(c) for c in firsts["cohort"]]


def _latest(cohorts: list[str], limit: int | None, tr: Translator | None = None) -> tuple[list[str], str]:
    tr = tr or translator("en")
    if limit is None or len(cohorts) <= limit:
        return cohorts, ""
    if limit < 1:
        raise ParameterError(f"max_cohorts={limit} must be at least 1.")
    note = tr.gettext("showing the latest {n} of {total} cohorts").format(
        n=tr.format_number(limit), total=tr.format_number(len(cohorts))
    )
    return cohorts[-limit:], note


def _subtitle(*parts: str) -> list[str] | str:
    parts = tuple(p for p in parts if p)
    return list(parts) if len(parts) > 1 else (parts[0] if parts else "")


def _title(text: str, *subtitle: str) -> alt.Title:
    sub = _subtitle(*subtitle)
    return alt.Title(text, subtitle=sub) if sub else alt.Title(text)


def _nice_upper(x: float) -> float:
    if not np.isfinite(x) or x <= 0:
        return 1.0
    return min(1.0, math.ceil(x * 10 - 1e-9) / 10) if x <= 1 else math.ceil(x * 5) / 5


def _records(df: pd.DataFrame) -> pd.DataFrame:
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


# --------------------------------------------------------------------------- heatmap
def cohort_heatmap(
    table: pd.DataFrame,
    *,
    value: str = "retention",
    max_cohorts: int | None = 36,
    labels: bool | None = None,
    title: str | None = None,
    lang: str = "en",
    average: pd.DataFrame | None = None,
    include_partial: bool = False,
) -> alt.LayerChart:
    """Cohort triangle as a heatmap: cohorts down, ages across (definitions §3).

    Parameters
    ----------
    table : DataFrame
        Output of ``cohort_table`` for one segment (or without ``by``).
    value : {"retention", "retention_on_or_after", "revenue_retention"}
        The rate to colour by. Classic retention R(c,k) by default.
    max_cohorts : int or None
        Keep the most recent cohorts only (default 36), so the chart stays
        readable and under Altair's row limit. None keeps all.
    labels : bool, optional
        Print the rate in each cell; default: when there are at most 26 ages.
    title : str, optional
    lang : {"en", "el", "hy"}
        Language of titles, axes, tooltips and cohort labels (numbers follow
        it when the spec carries :func:`retainkit.i18n.vega_locale`).
    average : DataFrame, optional
        ``average_curve`` of the same table: drawn as a last row, "All cohorts
        (size-weighted)", taken as computed (never recomputed here).
    include_partial : bool
        Draw the cells of the period in progress (``partial``, from
        ``cohort_table(include_partial=True)``) pale and labelled "in progress"
        in the tooltip, instead of leaving them out.

    Returns
    -------
    altair.LayerChart
        ``rect`` layer (plus a ``text`` layer when labelled). Tooltips show the
        cohort, age, size, active customers, the rate and its 95 % interval.
        Unobserved cells are absent (never drawn as 0). Age 0 is 100 % by
        definition; the colour scale spans 0 to the largest rate at ages >= 1
        (clamped) so later ages stay distinguishable.
    """
    if value not in _COHORT_VALUES:
        raise ParameterError(f"value={value!r}: use one of {', '.join(map(repr, _COHORT_VALUES))}.")
    _require(table, ["cohort", "age", "size", "active", value], "cohort_heatmap")
    _one_segment(table, "cohort", "cohort_heatmap")
    tr = translator(lang)
    _ = tr.gettext
    label, lo_col, hi_col, meaning = _COHORT_VALUES[value]
    label, meaning = _(label), _(meaning)
    t = (
        table.assign(partial=table["partial"].astype(bool))
        if "partial" in table.columns
        else table.assign(partial=False)
    )
    if not include_partial:
        t = t[~t["partial"]]
    order, note = _latest(_cohort_order(t), max_cohorts, tr)
    t = t[t["cohort"].astype(str).isin(order)]
    cols = ["cohort", "age", "size", "active", value] + [c for c in (lo_col, hi_col) if c]
    if average is not None and value in average.columns:
        avg = average.loc[:, [c for c in cols if c != "cohort"]].assign(cohort=AVERAGE_ROW, partial=False)
        t = pd.concat([t, avg], ignore_index=True)
        order = [*order, AVERAGE_ROW]
    d = t.loc[:, [*cols, "partial"]].rename(columns={value: "rate"}).copy()
    d["status"] = np.where(d["partial"], _(IN_PROGRESS), _(COMPLETE))
    d = d.drop(columns="partial")
    d["cohort"] = d["cohort"].astype(str)
    d["age"] = d["age"].astype(int)
    d["size"] = d["size"].astype(int)
    d["active"] = d["active"].astype(int)
    d["rate"] = d["rate"].astype(float)
    if lo_col:
        d["interval"] = th.interval_text(d[lo_col], d[hi_col], lang=lang)
        d = d.drop(columns=[lo_col, hi_col])
    sizes = d.drop_duplicates("cohort").set_index("cohort")["size"]
    names = _cohort_labels(tr, table, [c for c in order if c != AVERAGE_ROW])
    names[AVERAGE_ROW] = _(AVERAGE_ROW)
    ylabels = [
        f"{names[c]}  (n={tr.format_number(int(sizes.get(c, 0)))})" if c != AVERAGE_ROW else names[c] for c in order
    ]
    d["cohort_label"] = d["cohort"].map(dict(zip(order, ylabels)))
    d["cohort"] = d["cohort"].map(names)
    d = d.sort_values(["age", "cohort"], kind="stable")
    n_ages = int(d["age"].max()) + 1 if len(d) else 1
    step_x = max(14, min(36, 760 // max(n_ages, 1)))
    step_y = 20 if len(order) <= 40 else 14
    later = d.loc[d["age"] >= 1, "rate"]
    upper = _nice_upper(float(later.max())) if len(later) else 1.0
    fmt = th.PCT_TOOLTIP if value != "revenue_retention" else ".1%"
    tooltip = [
        alt.Tooltip("cohort:N", title=_("Cohort")),
        alt.Tooltip("age:O", title=_(th.age_title(table, short=True))),
        alt.Tooltip("size:Q", title=_("Cohort size"), format=th.INT_FORMAT),
        alt.Tooltip("active:Q", title=_("Active"), format=th.INT_FORMAT),
        alt.Tooltip("rate:Q", title=label, format=fmt),
    ]
    if lo_col:
        tooltip.append(alt.Tooltip("interval:N", title=_("95% interval")))
    if include_partial:
        tooltip.append(alt.Tooltip("status:N", title=_("Period")))
    x = alt.X("age:O", title=_(th.age_title(table)), axis=alt.Axis(labelAngle=0))
    y = alt.Y("cohort_label:O", title=_("Cohort (size)"), sort=ylabels, axis=alt.Axis(labelLimit=200))
    base = alt.Chart(_records(d))
    rect = base.mark_rect(stroke="white", strokeWidth=0.5).encode(
        x=x,
        y=y,
        color=alt.Color(
            "rate:Q",
            title=label,
            scale=alt.Scale(scheme=th.HEATMAP_SCHEME, domain=[0, upper], clamp=True),
            legend=alt.Legend(format=th.PCT_AXIS, orient="right", gradientLength=160),
        ),
        opacity=alt.condition(alt.datum.status == _(IN_PROGRESS), alt.value(0.4), alt.value(1.0)),
        tooltip=tooltip,
    )
    layers: list[alt.Chart] = [rect]
    if labels is None:
        labels = n_ages <= 26 and step_x >= 26
    if labels:
        text = base.mark_text(fontSize=9 if step_x < 32 else 10, baseline="middle").encode(
            x=x,
            y=y,
            text=alt.Text("rate:Q", format=".0%"),
            color=alt.condition(alt.datum.rate > upper * 0.55, alt.value("white"), alt.value("#1b2733")),
            tooltip=tooltip,
        )
        layers.append(text)
    chart = alt.layer(*layers).properties(
        width=alt.Step(step_x),
        height=alt.Step(step_y),
        title=_title(
            title or _(_HEATMAP_TITLES[value]),
            meaning,
            note,
            _(PARTIAL_NOTE) if include_partial and (d["status"] == _(IN_PROGRESS)).any() else "",
        ),
    )
    return chart


# --------------------------------------------------------------------------- curves
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
                alt.Chart(_records(older))
                .mark_line(strokeWidth=1.2, opacity=0.8)
                .encode(x=x, y=y, color=color, detail="cohort:N", tooltip=tip)
            )
        layers.append(
            alt.Chart(_records(new))
            .mark_line(strokeWidth=2.2, point=alt.OverlayMarkDef(size=18))
            .encode(x=x, y=y, color=color, tooltip=tip)
        )
        end = new.sort_values("age").tail(1).assign(label=newest)
        layers.append(
            alt.Chart(_records(end))
            .mark_text(align="left", dx=6, fontSize=11, fontWeight=600)
            .encode(x=x, y=y, text="label:N", color=color)
        )
    if avg is not None and len(avg):
        avg = avg.assign(series=series[2])
        ab = alt.Chart(_records(avg))
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
            alt.Chart(_records(aend))
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
    if value not in _COHORT_VALUES:
        raise ParameterError(f"value={value!r}: use one of {', '.join(map(repr, _COHORT_VALUES))}.")
    _require(table, ["cohort", "age", value], "retention_curves")
    _one_segment(table, "cohort", "retention_curves")
    tr = translator(lang)
    _ = tr.gettext
    label, lo_col, hi_col, meaning = _COHORT_VALUES[value]
    label, meaning = _(label), _(meaning)
    t = table[(table["age"] >= start_age) & ((table["age"] <= max_age) if max_age is not None else True)]
    if "partial" in t.columns:
        t = t[~t["partial"].astype(bool)]
    order, note = _latest(_cohort_order(t), max_cohorts, tr) if len(t) else ([], "")
    d = t.loc[t["cohort"].astype(str).isin(order), ["cohort", "age", value]].copy()
    names = _cohort_labels(tr, table, order)
    d["cohort"] = d["cohort"].astype(str).map(names)
    order = [names[c] for c in order]
    avg = None
    if average is not None:
        _require(average, ["age", value], "retention_curves(average=...)")
        _one_segment(average, "age", "retention_curves(average=...)")
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
    scale = (
        alt.Scale(domain=[0, _nice_upper(top)], nice=False) if value != "revenue_retention" else alt.Scale(zero=True)
    )
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
        title=_title(title or _(_CURVE_TITLES[value]), meaning, sub_avg, note),
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
    _require(table, ["cohort", "age", value], "cumulative_revenue_curves")
    _one_segment(table, "cohort", "cumulative_revenue_curves")
    t = table[~table["partial"].astype(bool)] if "partial" in table.columns else table
    order, note = _latest(_cohort_order(t), max_cohorts, tr) if len(t) else ([], "")
    d = t.loc[t["cohort"].astype(str).isin(order), ["cohort", "age", value]].copy()
    names = _cohort_labels(tr, table, order)
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
        title=_title(
            title or _("Cumulative revenue per customer"),
            _("revenue to date / cohort size, refunds included (definitions §3)"),
            pooled if avg is not None else "",
            note,
        ),
    )


# --------------------------------------------------------------------------- CRR
def crr_trend(
    crr: pd.DataFrame, *, max_periods: int | None = 60, title: str | None = None, lang: str = "en"
) -> alt.VConcatChart:
    """CRR per period with its interval, above the counts S, E, N and reactivated.

    Parameters
    ----------
    crr : DataFrame
        ``crr_table`` output without segments (definitions §4: CRR =
        retained / S from identities; S, E, N and reactivated are shown so the
        count formula (E - N) / S can be checked by eye).
    max_periods : int or None
        Most recent periods shown (default 60).
    title : str, optional
    lang : {"en", "el", "hy"}
        Language of titles, axes, tooltips, legends and period labels.

    Returns
    -------
    altair.VConcatChart
        Top: ``area`` (95 % Wilson band) + ``line`` of ``crr``; bottom: ``line``
        of the four counts (long form: ``measure``, ``customers``). Periods whose
        trailing activity window is not inside the data (``window_covered`` is
        False) are left out: their S is undercounted.
    """
    _require(crr, ["period", "start_customers", "end_customers", "new", "reactivated", "crr"], "crr_trend")
    _one_segment(crr, "period", "crr_trend")
    tr = translator(lang)
    _ = tr.gettext
    window = str(crr.attrs.get("window", "") or "")
    freq = str(crr.attrs.get("freq", "")).upper()
    t = crr
    notes = []
    if "window_covered" in t.columns:
        n_unc = int((~t["window_covered"].astype(bool)).sum())
        t = t[t["window_covered"].astype(bool)]
        if n_unc:
            notes.append(
                tr.ngettext(
                    "{n} early period hidden: its activity window starts before the data",
                    "{n} early periods hidden: their activity window starts before the data",
                    n_unc,
                ).format(n=tr.format_number(n_unc))
            )
    if "period_start" in t.columns:
        t = t.sort_values("period_start")
    if max_periods is not None and len(t) > max_periods:
        notes.append(
            _("showing the latest {n} of {total} periods").format(
                n=tr.format_number(max_periods), total=tr.format_number(len(t))
            )
        )
        t = t.iloc[-max_periods:]
    order = [tr.period_label(p, freq) if freq in th.FREQ_AGE_TITLES else str(p) for p in t["period"]]
    d = pd.DataFrame(
        {
            "period": order,
            "crr": t["crr"].astype(float).to_numpy(),
            "crr_lo": t["crr_lo"].astype(float).to_numpy() if "crr_lo" in t.columns else np.nan,
            "crr_hi": t["crr_hi"].astype(float).to_numpy() if "crr_hi" in t.columns else np.nan,
            "start_customers": t["start_customers"].astype(int).to_numpy(),
            "end_customers": t["end_customers"].astype(int).to_numpy(),
            "new": t["new"].astype(int).to_numpy(),
            "reactivated": t["reactivated"].astype(int).to_numpy(),
            "retained": t["retained"].astype(int).to_numpy() if "retained" in t.columns else 0,
        }
    )
    d["interval"] = th.interval_text(d["crr_lo"], d["crr_hi"], lang=lang)
    x = alt.X(
        "period:O", title=None, sort=order, axis=alt.Axis(labelAngle=-45 if len(order) > 12 else 0, labelOverlap=True)
    )
    lo = np.nanmin(d[["crr", "crr_lo"]].to_numpy()) if len(d) else 0.0
    lower = max(0.0, math.floor((lo if np.isfinite(lo) else 0.0) * 10) / 10 - 0.1)
    yscale = alt.Scale(domain=[lower, 1.0], nice=False)
    base = alt.Chart(_records(d))
    tip = [
        alt.Tooltip("period:N", title=_("Period")),
        alt.Tooltip("crr:Q", title="CRR", format=th.PCT_TOOLTIP),
        alt.Tooltip("interval:N", title=_("95% interval")),
        alt.Tooltip("start_customers:Q", title=_("S (start)"), format=th.INT_FORMAT),
        alt.Tooltip("retained:Q", title=_("Retained"), format=th.INT_FORMAT),
        alt.Tooltip("end_customers:Q", title=_("E (end)"), format=th.INT_FORMAT),
        alt.Tooltip("new:Q", title=_("N (new)"), format=th.INT_FORMAT),
        alt.Tooltip("reactivated:Q", title=_("Reactivated"), format=th.INT_FORMAT),
    ]
    band = base.mark_area(opacity=th.BAND_OPACITY, color=th.ACCENT).encode(
        x=x, y=alt.Y("crr_lo:Q", title="CRR", axis=alt.Axis(format=th.PCT_AXIS), scale=yscale), y2="crr_hi:Q"
    )
    line = base.mark_line(color=th.ACCENT, strokeWidth=2.5, point=alt.OverlayMarkDef(color=th.ACCENT, size=36)).encode(
        x=x, y=alt.Y("crr:Q", title="CRR", axis=alt.Axis(format=th.PCT_AXIS), scale=yscale), tooltip=tip
    )
    days = window[:-1] if window.upper().endswith("D") and window[:-1].isdigit() else ""
    default_title = (
        _("Customer retention rate per period ({days}-day activity window)").format(days=tr.format_number(int(days)))
        if days
        else _("Customer retention rate per period")
    )
    top = alt.layer(band, line).properties(
        width=th.WIDTH,
        height=200,
        title=_title(
            title or default_title, _("CRR = retained / S, with 95% interval; churn = 1 − CRR (definitions §4)"), *notes
        ),
    )
    series = [_(n) for n in th.COUNT_SERIES]
    names = dict(zip(("start_customers", "end_customers", "new", "reactivated"), series))
    long = d.melt(id_vars=["period"], value_vars=list(names), var_name="measure", value_name="customers")
    long["measure"] = long["measure"].map(names)
    counts = (
        alt.Chart(_records(long))
        .mark_line(strokeWidth=2, point=alt.OverlayMarkDef(size=22))
        .encode(
            x=alt.X(
                "period:O",
                title=_("Period"),
                sort=order,
                axis=alt.Axis(labelAngle=-45 if len(order) > 12 else 0, labelOverlap=True),
            ),
            y=alt.Y("customers:Q", title=_("Customers"), axis=alt.Axis(format=th.INT_FORMAT)),
            color=alt.Color(
                "measure:N",
                title=None,
                sort=series,
                scale=alt.Scale(domain=series, range=list(th.COUNT_COLORS)),
                legend=alt.Legend(orient="top", direction="horizontal"),
            ),
            tooltip=[
                alt.Tooltip("period:N", title=_("Period")),
                alt.Tooltip("measure:N", title=_("Measure")),
                alt.Tooltip("customers:Q", title=_("Customers"), format=th.INT_FORMAT),
            ],
        )
        .properties(
            width=th.WIDTH,
            height=170,
            title=_title(
                _("Customers at the period boundaries"),
                _("S: start, E: end, N: new in the period, reactivated: back after a gap"),
            ),
        )
    )
    return alt.vconcat(top, counts, spacing=18).resolve_legend(color="independent")


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
    segs = _segments_before(average, "age")
    if segment is None:
        if len(segs) != 1:
            raise ParameterError(f"segment_comparison: pass segment=<column>; the table has segment columns {segs}.")
        segment = segs[0]
    _require(average, [segment, "age", value], "segment_comparison")
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
        alt.Scale(domain=[0, _nice_upper(top)], nice=False) if value.startswith("retention") else alt.Scale(zero=True)
    )
    yaxis = alt.Axis(format=th.PCT_AXIS) if value.startswith("retention") else alt.Axis()
    base = alt.Chart(_records(a))
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
            alt.Chart(_records(ends.loc[:, ["segment", "age", value]]))
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
        title=_title(
            title or _("Average retention by {segment}").format(segment=segment),
            _("size-weighted average curve per segment, 95% bands, ages seen in {n}+ cohorts (definitions §3)").format(
                n=tr.format_number(min_cohorts)
            ),
            note,
        ),
    )


__all__ = ["cohort_heatmap", "crr_trend", "cumulative_revenue_curves", "retention_curves", "segment_comparison"]
