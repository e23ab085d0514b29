"""Charts of the customer retention rate (definitions §4): the trend with its counts, and per segment."""

from __future__ import annotations

import math

import altair as alt
import numpy as np
import pandas as pd

from ..i18n import translator
from . import _theme as th
from ._common import chart_title, one_segment, records, require


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
    require(crr, ["period", "start_customers", "end_customers", "new", "reactivated", "crr"], "crr_trend")
    one_segment(crr, "period", "crr_trend")
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
    base = alt.Chart(records(d))
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
        title=chart_title(
            title or default_title, _("CRR = retained / S, with 95% interval; churn = 1 − CRR (definitions §4)"), *notes
        ),
    )
    series = [_(n) for n in th.COUNT_SERIES]
    names = dict(zip(("start_customers", "end_customers", "new", "reactivated"), series))
    long = d.melt(id_vars=["period"], value_vars=list(names), var_name="measure", value_name="customers")
    long["measure"] = long["measure"].map(names)
    counts = (
        alt.Chart(records(long))
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
            title=chart_title(
                _("Customers at the period boundaries"),
                _("S: start, E: end, N: new in the period, reactivated: back after a gap"),
            ),
        )
    )
    return alt.vconcat(top, counts, spacing=18).resolve_legend(color="independent")


__all__ = ["crr_trend"]
