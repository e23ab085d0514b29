"""Charts of the customer retention rate (definitions §4): the trend with its counts, and per segment."""

from __future__ import annotations

import math
from typing import cast

import altair as alt
import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from ..i18n import translator
from . import _theme as th
from ._common import chart_title, one_segment, records, require, segments_before


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
        alt.Tooltip("start_customers:Q", title=_("Customers at the start"), format=th.INT_FORMAT),
        alt.Tooltip("retained:Q", title=_("Retained"), format=th.INT_FORMAT),
        alt.Tooltip("end_customers:Q", title=_("Customers at the end"), format=th.INT_FORMAT),
        alt.Tooltip("new:Q", title=_("New customers"), format=th.INT_FORMAT),
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
            title or default_title,
            _(
                "share of the customers at the start of a period still customers at its end, with its 95% interval (definitions §4)"
            ),
            *notes,
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
                _("new: first purchase in the period; reactivated: back after a gap"),
            ),
        )
    )
    return alt.vconcat(top, counts, spacing=18).resolve_legend(color="independent")


def crr_by_segment(
    crr: pd.DataFrame,
    segment: str | None = None,
    *,
    max_segments: int = 8,
    max_periods: int | None = 12,
    title: str | None = None,
    lang: str = "en",
) -> alt.LayerChart:
    """CRR over time, one line per segment with its 95 % band, a legend and labels at the line ends (§4).

    Parameters
    ----------
    crr : DataFrame
        ``crr_table(tx, freq, window=..., by=segment)``.
    segment : str, optional
        The segment column; default: the single column before ``period``.
    max_segments : int
        Segments with the most customers at the period starts are kept (the
        rest are named in the subtitle).
    max_periods : int or None
        Most recent periods shown (default 12).
    title : str, optional
    lang : {"en", "el", "hy"}

    Returns
    -------
    altair.LayerChart
        ``area`` bands, ``line`` per segment (colour = segment, one legend) and
        end ``text`` labels. Periods whose activity window is not inside the
        data, and periods with no customer at the start, are left out.
    """
    tr = translator(lang)
    _ = tr.gettext
    segs = segments_before(crr, "period")
    if segment is None:
        if len(segs) != 1:
            raise ParameterError(f"crr_by_segment: pass segment=<column>; the table has segment columns {segs}.")
        segment = segs[0]
    require(crr, [segment, "period", "period_start", "start_customers", "crr", "crr_lo", "crr_hi"], "crr_by_segment")
    freq = str(crr.attrs.get("freq", "")).upper()
    t = crr[crr["window_covered"].astype(bool)] if "window_covered" in crr.columns else crr
    t = t[t["start_customers"] > 0].assign(segment=lambda f: f[segment].astype(str))
    starts = sorted(t["period_start"].unique())
    notes = []
    if max_periods is not None and len(starts) > max_periods:
        notes.append(
            _("showing the latest {n} of {total} periods").format(
                n=tr.format_number(max_periods), total=tr.format_number(len(starts))
            )
        )
        t = t[t["period_start"].isin(starts[-max_periods:])]
    sizes = t.groupby("segment")["start_customers"].sum().sort_values(ascending=False, kind="stable")
    names = [str(x) for x in sizes.index]
    if len(names) > max_segments:
        notes.append(
            _("showing the {n} largest of {total} segments").format(
                n=tr.format_number(max_segments), total=tr.format_number(len(names))
            )
        )
        names = names[:max_segments]
    t = t[t["segment"].isin(names)].sort_values(["period_start", "segment"], kind="stable")
    periods = t.drop_duplicates("period_start")["period"].tolist()
    order = [tr.period_label(x, freq) if freq in th.FREQ_AGE_TITLES else str(x) for x in periods]
    d = pd.DataFrame(
        {
            "segment": t["segment"].to_numpy(),
            "period": [tr.period_label(x, freq) if freq in th.FREQ_AGE_TITLES else str(x) for x in t["period"]],
            "crr": t["crr"].astype(float).to_numpy(),
            "crr_lo": t["crr_lo"].astype(float).to_numpy(),
            "crr_hi": t["crr_hi"].astype(float).to_numpy(),
            "start_customers": t["start_customers"].astype(int).to_numpy(),
        }
    )
    d["interval"] = th.interval_text(d["crr_lo"], d["crr_hi"], lang=lang)
    colors = alt.Scale(domain=names, range=[th.PALETTE[i % len(th.PALETTE)] for i in range(len(names))])
    legend = alt.Legend(title=segment, orient="right", symbolType="stroke", symbolStrokeWidth=3, symbolOpacity=1)
    color = alt.Color("segment:N", title=segment, scale=colors, sort=names, legend=legend)
    x = alt.X(
        "period:O", title=None, sort=order, axis=alt.Axis(labelAngle=-45 if len(order) > 12 else 0, labelOverlap=True)
    )
    low = float(np.nanmin(d["crr_lo"])) if len(d) else 0.0
    yscale = alt.Scale(domain=[max(0.0, math.floor((low if np.isfinite(low) else 0.0) * 10) / 10), 1.0], nice=False)
    y_title = _("Customer retention rate")
    base = alt.Chart(records(d))
    tip = [
        alt.Tooltip("segment:N", title=segment),
        alt.Tooltip("period:N", title=_("Period")),
        alt.Tooltip("crr:Q", title=y_title, format=th.PCT_TOOLTIP),
        alt.Tooltip("interval:N", title=_("95% interval")),
        alt.Tooltip("start_customers:Q", title=_("Customers at the start"), format=th.INT_FORMAT),
    ]
    layers = [
        base.mark_area(opacity=0.08).encode(
            x=x,
            y=alt.Y("crr_lo:Q", title=y_title, axis=alt.Axis(format=th.PCT_AXIS), scale=yscale),
            y2="crr_hi:Q",
            color=color,
        ),
        base.mark_line(strokeWidth=2.5, point=alt.OverlayMarkDef(size=26)).encode(
            x=x,
            y=alt.Y("crr:Q", title=y_title, axis=alt.Axis(format=th.PCT_AXIS), scale=yscale),
            color=color,
            tooltip=tip,
        ),
    ]
    if len(d):
        ends = d[d["period"] == order[-1]]
        layers.append(
            alt.Chart(records(ends.loc[:, ["segment", "period", "crr"]]))
            .mark_text(align="left", dx=8, fontSize=11, fontWeight=600)
            .encode(x=x, y=alt.Y("crr:Q", scale=yscale), text="segment:N", color=color)
        )
    return cast(
        alt.LayerChart,
        alt.layer(*layers).properties(
            width=th.WIDTH,
            height=th.HEIGHT,
            title=chart_title(
                title or _("Customer retention rate over time by {segment}").format(segment=segment),
                _("shaded: 95% interval of each segment's rate"),
                *notes,
            ),
        ),
    )


__all__ = ["crr_by_segment", "crr_trend"]
