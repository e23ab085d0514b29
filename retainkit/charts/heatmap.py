"""The cohort triangle as a heatmap (definitions §3): cohorts down, ages across."""

from __future__ import annotations

from typing import cast

import altair as alt
import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ..i18n import N_, translator
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
)

#: chart titles per value (the value's name is part of the sentence, so each is one message)
_HEATMAP_TITLES = {
    "retention": N_("Retention by cohort and age"),
    "retention_on_or_after": N_("Retention (on or after) by cohort and age"),
    "revenue_retention": N_("Revenue retention by cohort and age"),
}
#: the heatmap's average row and the period in progress
AVERAGE_ROW = N_("All cohorts (size-weighted)")
IN_PROGRESS = N_("in progress")
COMPLETE = N_("complete")
PARTIAL_NOTE = N_("pale cells: the period in progress, not complete yet")


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
    if value not in COHORT_VALUES:
        raise ParameterError(f"value={value!r}: use one of {', '.join(map(repr, COHORT_VALUES))}.")
    require(table, ["cohort", "age", "size", "active", value], "cohort_heatmap")
    one_segment(table, "cohort", "cohort_heatmap")
    tr = translator(lang)
    _ = tr.gettext
    label, lo_col, hi_col, meaning = COHORT_VALUES[value]
    label, meaning = _(label), _(meaning)
    t = (
        table.assign(partial=table["partial"].astype(bool))
        if "partial" in table.columns
        else table.assign(partial=False)
    )
    if not include_partial:
        t = t[~t["partial"]]
    order, note = latest(cohort_order(t), max_cohorts, tr)
    t = t[t["cohort"].astype(str).isin(order)]
    cols = ["cohort", "age", "size", "active", value] + [c for c in (lo_col, hi_col) if c]
    if average is not None and value in average.columns:
        avg = average.loc[:, [c for c in cols if c != "cohort"]].assign(cohort=AVERAGE_ROW, partial=False)
        if len(t):  # the ages of the cohorts shown: older cohorts' long tail would widen the chart past the page
            avg = avg[avg["age"] <= int(t["age"].max())]
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
    names = cohort_labels(tr, table, [c for c in order if c != AVERAGE_ROW])
    names[AVERAGE_ROW] = _(AVERAGE_ROW)
    ylabels = [
        f"{names[c]}  ({tr.format_number(int(sizes.get(c, 0)))})" if c != AVERAGE_ROW else names[c] for c in order
    ]
    d["cohort_label"] = d["cohort"].map(dict(zip(order, ylabels)))
    d["cohort"] = d["cohort"].map(names)
    d = d.sort_values(["age", "cohort"], kind="stable")
    n_ages = int(d["age"].max()) + 1 if len(d) else 1
    step_x = max(14, min(36, 680 // max(n_ages, 1)))
    step_y = 20 if len(order) <= 40 else 14
    later = d.loc[d["age"] >= 1, "rate"]
    upper = nice_upper(float(later.max())) if len(later) else 1.0
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
    y = alt.Y("cohort_label:O", title=_("Cohort (number of customers)"), sort=ylabels, axis=alt.Axis(labelLimit=200))
    base = alt.Chart(records(d))
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
        text = base.mark_text(fontSize=11, baseline="middle").encode(
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
        title=chart_title(
            title or _(_HEATMAP_TITLES[value]),
            meaning,
            note,
            _(PARTIAL_NOTE) if include_partial and (d["status"] == _(IN_PROGRESS)).any() else "",
        ),
    )
    return cast(alt.LayerChart, chart)


__all__ = ["AVERAGE_ROW", "COMPLETE", "IN_PROGRESS", "PARTIAL_NOTE", "cohort_heatmap"]
