"""Charts of loyalty-programme ROI (definitions §6). Altair specs only: no I/O, no display."""

from __future__ import annotations

from typing import Any

import altair as alt
import pandas as pd

from ..exceptions import ParameterError
from ..i18n import N_, translator
from ._theme import ACCENT, HEIGHT, PALETTE, WIDTH, layered

_DESIGN = {"did": N_("matched difference in differences"), "randomized": N_("treated vs randomised holdout")}


def _need(frame: pd.DataFrame, cols: list[str], what: str) -> None:
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError(f"{what} must be a pandas DataFrame, not {type(frame).__name__}.")
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ParameterError(f"{what} lacks column(s) {missing}; pass the table returned by retainkit.loyalty.")


def cumulative_cash_chart(
    table: Any, *, discounted: bool = True, title: str | None = None, lang: str = "en"
) -> alt.LayerChart:
    """Cumulative cash of a planned programme with the payback point marked (definitions §6).

    Parameters
    ----------
    table : pandas.DataFrame or ScenarioResult
        ``ScenarioResult.table`` from :func:`retainkit.loyalty.scenario_roi`
        (a ScenarioResult is accepted too).
    discounted : bool
        Plot ``cumulative_discounted_cash`` (default, the NPV path) or the
        undiscounted ``cumulative_cash``.
    title : str, optional
    lang : {"en", "el", "hy"}
        Language of titles, axes and tooltips.

    Returns
    -------
    altair.LayerChart
        Line from period 0 (``-setup_cost``) to H, a zero rule, and a marked
        point at the payback period (first period with cumulative cash >= 0)
        when there is one.
    """
    tr = translator(lang)
    _ = tr.gettext
    table = getattr(table, "table", table)
    col = "cumulative_discounted_cash" if discounted else "cumulative_cash"
    flow = "discounted_cash_flow" if discounted else "cash_flow"
    _need(table, ["period", col, flow], "table")
    start = float(table[col].iloc[0] - table[flow].iloc[0])
    data = pd.concat(
        [
            pd.DataFrame({"period": [0], "cumulative": [start]}),
            pd.DataFrame({"period": table["period"].astype("int64"), "cumulative": table[col].astype("float64")}),
        ],
        ignore_index=True,
    )
    data["label"] = ""
    hit = data.index[(data["period"] > 0) & (data["cumulative"] >= 0)]
    ytitle = _("cumulative cash, discounted") if discounted else _("cumulative cash")
    base = alt.Chart(data)
    line = base.mark_line(color=ACCENT, point=alt.OverlayMarkDef(color=ACCENT, size=30)).encode(
        x=alt.X("period:Q", title=_("period"), axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("cumulative:Q", title=ytitle, axis=alt.Axis(format=",.0f")),
        tooltip=[alt.Tooltip("period:Q", title=_("period")), alt.Tooltip("cumulative:Q", title=ytitle, format=",.0f")],
    )
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="#6f7780", strokeDash=[4, 3]).encode(y="y:Q")
    layers: list[Any] = [zero, line]
    if len(hit):
        pb = data.loc[[hit[0]]].copy()
        period = tr.format_number(int(pb["period"].iloc[0]))
        pb["label"] = _("payback: period {period}").format(period=period)
        layers.append(
            alt.Chart(pb)
            .mark_point(shape="diamond", size=160, filled=True, color="#3a9a5b")
            .encode(x="period:Q", y="cumulative:Q", tooltip=[alt.Tooltip("label:N", title=_("break-even"))])
        )
        layers.append(
            alt.Chart(pb)
            .mark_text(align="left", dx=8, dy=-10, color="#3a9a5b", fontWeight="bold")
            .encode(x="period:Q", y="cumulative:Q", text="label:N")
        )
        sub = _("Break-even (payback) in period {period}.").format(period=period)
    else:
        sub = _("No payback within the horizon.")
    return layered(*layers).properties(
        width=WIDTH,
        height=HEIGHT,
        title=alt.Title(title or _("Cumulative cash of the programme"), subtitle=sub),
    )


def roi_sensitivity_chart(grid: pd.DataFrame, *, title: str | None = None, lang: str = "en") -> alt.LayerChart:
    """Heatmap of ROI over retention lift x breakage (definitions §6).

    Parameters
    ----------
    grid : pandas.DataFrame
        From :func:`retainkit.loyalty.sensitivity` (``retention_lift``,
        ``breakage``, ``roi``).
    title : str, optional
    lang : {"en", "el", "hy"}
        Language of titles, axes, tooltips and cell labels.

    Returns
    -------
    altair.LayerChart
        Rects coloured on a diverging scale centred at ROI = 0 (red = loses
        money), with the ROI printed in each cell.
    """
    tr = translator(lang)
    _ = tr.gettext
    _need(grid, ["retention_lift", "breakage", "roi"], "grid")
    data = grid[["retention_lift", "breakage", "roi"]].copy()

    def lift(v: float) -> str:
        return tr.format_points(v, 2 if abs(v * 100) < 1 and v != 0 else 1)

    data["lift_label"] = [lift(v) for v in data["retention_lift"]]
    data["breakage_label"] = [tr.format_percent(v, 0) for v in data["breakage"]]
    data["roi_text"] = [_("n/a") if pd.isna(v) else tr.format_percent(v, 0) for v in data["roi"]]
    lifts = [lift(v) for v in sorted(data["retention_lift"].unique(), reverse=True)]
    brks = [tr.format_percent(v, 0) for v in sorted(data["breakage"].unique())]
    base = alt.Chart(data).encode(
        x=alt.X(
            "breakage_label:O",
            title=_("breakage (share of points never redeemed)"),
            sort=brks,
            axis=alt.Axis(labelAngle=0),
        ),
        y=alt.Y("lift_label:O", title=_("retention lift (percentage points)"), sort=lifts),
    )
    rect = base.mark_rect().encode(
        color=alt.Color(
            "roi:Q", title="ROI", scale=alt.Scale(scheme="redblue", domainMid=0), legend=alt.Legend(format=".0%")
        ),
        tooltip=[
            alt.Tooltip("lift_label:N", title=_("retention lift")),
            alt.Tooltip("breakage_label:N", title=_("breakage")),
            alt.Tooltip("roi:Q", title="ROI", format=".1%"),
        ],
    )
    text = base.mark_text(fontSize=10, color="#1b2733").encode(text="roi_text:N")
    return layered(rect, text).properties(
        width=min(WIDTH, 70 * len(brks)),
        height=min(2 * HEIGHT, 26 * len(lifts)),
        title=alt.Title(
            title or _("ROI by retention lift and breakage"), subtitle=_("Red: the programme loses money (ROI < 0).")
        ),
    )


def lift_chart(result: Any, *, metric: str = "active_share", title: str | None = None) -> alt.LayerChart:
    """Members vs matched comparison (or treated vs holdout) around the join period (definitions §6).

    Parameters
    ----------
    result : ProgramLift
        From :func:`retainkit.loyalty.measure_program_lift`.
    metric : {"active_share", "spend_per_customer"}
    title : str, optional

    Returns
    -------
    altair.LayerChart
        One line per group over the period relative to joining (0 = join
        period); the windows (baseline, matching, join, post) are shaded and
        labelled; the subtitle states the estimate and its interval.
    """
    if metric not in ("active_share", "spend_per_customer"):
        raise ParameterError(f"metric={metric!r} must be 'active_share' or 'spend_per_customer'.")
    traj = getattr(result, "table", None)
    _need(traj, ["group", "relative_period", "window", metric], "result.table")
    assert traj is not None  # _need raised otherwise
    data = traj[["group", "relative_period", "window", metric, "customers"]].copy()
    groups = list(dict.fromkeys(data["group"]))
    pct = metric == "active_share"
    ytitle = "share active per period" if pct else "spend per customer per period"
    line = (
        alt.Chart(data)
        .mark_line(point=True)
        .encode(
            x=alt.X(
                "relative_period:Q",
                title="periods since joining (0 = join period)",
                axis=alt.Axis(tickMinStep=1, format="d"),
            ),
            y=alt.Y(f"{metric}:Q", title=ytitle, axis=alt.Axis(format=".0%" if pct else ",.0f")),
            color=alt.Color("group:N", title=None, scale=alt.Scale(domain=groups, range=list(PALETTE[: len(groups)]))),
            tooltip=[
                alt.Tooltip("group:N"),
                alt.Tooltip("relative_period:Q", title="period"),
                alt.Tooltip("window:N"),
                alt.Tooltip(f"{metric}:Q", format=".1%" if pct else ",.2f"),
            ],
        )
    )
    spans = data.groupby("window", sort=False)["relative_period"].agg(["min", "max"]).reset_index()
    spans = spans.assign(
        x=spans["min"] - 0.5,
        x2=spans["max"] + 0.5,
        mid=(spans["min"] + spans["max"]) / 2,
        shade=[0.05 if w in ("baseline", "post") else (0.14 if w == "join" else 0.0) for w in spans["window"]],
    )
    bands = (
        alt.Chart(spans)
        .mark_rect(color="#6f7780")
        .encode(x="x:Q", x2="x2:Q", opacity=alt.Opacity("shade:Q", scale=None, legend=None))
    )
    labels = (
        alt.Chart(spans)
        .mark_text(baseline="bottom", dy=-4, color="#3b4652", fontSize=11)
        .encode(x="mid:Q", y=alt.value(HEIGHT), text="window:N")
    )
    est, (lo, hi) = (
        (result.retention_lift, result.retention_lift_ci) if pct else (result.spend_lift, result.spend_lift_ci)
    )
    f = (lambda v: f"{v * 100:+.1f} pts") if pct else (lambda v: f"{v:+,.2f}")
    sub = (
        f"Lift {f(est)}"
        + ("" if pd.isna(lo) else f" (95 % interval {f(lo)} to {f(hi)})")
        + f"; {_DESIGN.get(result.design, result.design)}."
    )
    return layered(bands, line, labels).properties(
        width=WIDTH,
        height=HEIGHT,
        title=alt.Title(title or ("Activity around joining" if pct else "Spend around joining"), subtitle=sub),
    )


__all__ = ["cumulative_cash_chart", "lift_chart", "roi_sensitivity_chart"]
