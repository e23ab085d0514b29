"""Charts for lifetime value and sBG retention projection (definitions §5).

Every function returns an ``alt.Chart`` built from a small tidy frame; no I/O,
no display, no global theme change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import altair as alt
import numpy as np
import pandas as pd

from ..exceptions import ParameterError
from . import _theme as theme

__all__ = ["clv_curve_chart", "sbg_backtest_chart", "sbg_survival_chart"]

_ACTUAL = "Actual"
_PROJECTED = "sBG projection"
_FITTED = "sBG fit"
_AVERAGE = "All cohorts (size-weighted)"


def _series_scale(domain: list[str]) -> alt.Scale:
    colors = {_ACTUAL: "#1b2733", _PROJECTED: theme.ACCENT, _FITTED: theme.ACCENT}
    others = iter(theme.PALETTE[1:])
    return alt.Scale(domain=domain, range=[colors[d] if d in colors else next(others) for d in domain])


def _ramp(n: int, light: str = "#c3cfdb", dark: str = "#56708a") -> list[str]:
    """n muted colours from light to dark (older cohorts lighter), for lines behind an average."""
    lo = np.array([int(light[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    hi = np.array([int(dark[i : i + 2], 16) for i in (1, 3, 5)], dtype=float)
    out = []
    for f in np.linspace(0.0, 1.0, n) if n > 1 else [1.0]:
        rgb = np.rint(lo + (hi - lo) * f).astype(int)
        out.append("#" + "".join(f"{v:02x}" for v in rgb))
    return out[:n]


def sbg_backtest_chart(
    backtest_frame, *, title: str | None = None, others: Mapping[str, Sequence[float]] | None = None
) -> alt.Chart | alt.LayerChart:
    """Actual vs sBG-projected survivors of a :func:`retainkit.clv.backtest` (definitions §5).

    Parameters
    ----------
    backtest_frame : pandas.DataFrame or SBGBacktest
        The ``table`` of a backtest (period, actual, predicted, error,
        pct_error, sample) or the backtest result itself.
    title : str, optional
        Chart title; the subtitle states the fit window and the holdout MAPE.
    others : mapping of str to sequence of float, optional
        Other projections to draw next to the sBG (e.g. ``{"naive (last
        rate)": [...], "linear trend": [...]}``), one value per period of the
        frame. With them the holdout periods are shaded and labelled.

    Returns
    -------
    altair.Chart or altair.LayerChart
        A line chart (points on) of survivors by period, one line per series
        ("Actual", "sBG projection" and the ``others``; projections dashed),
        tooltips with the sample (fit / holdout) and the percentage error.
    """
    frame = getattr(backtest_frame, "table", backtest_frame)
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError("sbg_backtest_chart needs the frame returned by backtest() (or the result itself).")
    need = {"period", "actual", "predicted", "pct_error", "sample"}
    if not need <= set(frame.columns):
        raise ParameterError(
            f"backtest_frame lacks columns {sorted(need - set(frame.columns))}; pass backtest(...).table."
        )
    base = frame[["period", "sample", "pct_error"]]
    long = pd.concat(
        [
            base.assign(series=_ACTUAL, survivors=frame["actual"].to_numpy(dtype="float64")),
            base.assign(series=_PROJECTED, survivors=frame["predicted"].to_numpy(dtype="float64")),
        ],
        ignore_index=True,
    )
    extra = dict(others or {})
    for name, values in extra.items():
        vals = np.asarray(values, dtype="float64")
        if vals.shape != (len(frame),):
            raise ParameterError(f"others[{name!r}] has {vals.size} values; give one per period ({len(frame)}).")
        if name in (_ACTUAL, _PROJECTED):
            raise ParameterError(f"others cannot be named {name!r}; that series is drawn already.")
        actual = frame["actual"].to_numpy(dtype="float64")
        with np.errstate(divide="ignore", invalid="ignore"):
            pct = np.where(actual != 0, 100 * (vals - actual) / actual, np.nan)
        long = pd.concat([long, base.assign(series=name, survivors=vals, pct_error=pct)], ignore_index=True)
    long["pct_error"] = long["pct_error"].where(long["series"] != _ACTUAL)
    long = long[["period", "series", "survivors", "sample", "pct_error"]]
    hold = frame[frame["sample"] == "holdout"]
    fit_k = int(frame.loc[frame["sample"] == "fit", "period"].max())
    mape = float(np.nanmean(np.abs(hold["pct_error"]))) if len(hold) else float("nan")
    subtitle = f"Fitted on periods 0-{fit_k}; projected periods {fit_k + 1}-{int(frame['period'].max())}"
    if np.isfinite(mape):
        subtitle += f"; holdout MAPE {mape:.1f}%"
    lines = _survivor_lines(
        long,
        title or "sBG backtest: actual vs projected survivors",
        subtitle,
        [_ACTUAL, _PROJECTED, *extra],
        extra_tooltips=[
            alt.Tooltip("sample:N", title="Sample"),
            alt.Tooltip("pct_error:Q", title="Error (%)", format="+.1f"),
        ],
    )
    if not extra or hold.empty:
        return lines
    band = pd.DataFrame(
        {"x": [fit_k + 0.5], "x2": [float(frame["period"].max()) + 0.5], "label": ["kept back: not used by the fit"]}
    )
    shade = alt.Chart(band).mark_rect(color="#6f7780", opacity=0.10).encode(x="x:Q", x2="x2:Q")
    text = (
        alt.Chart(band)
        .mark_text(align="left", baseline="top", dx=4, dy=4, color="#3b4652")
        .encode(x="x:Q", y=alt.value(0), text="label:N")
    )
    title_ = lines.title
    untitled = lines.copy()
    untitled.title = alt.Undefined
    return theme.layered(shade, text, untitled).properties(title=title_)


def _survivor_lines(
    data: pd.DataFrame, title: str, subtitle: str, domain: list[str], extra_tooltips: list | None = None
) -> alt.Chart:
    """Survivors by period, one line per series; projections dashed."""
    dash = {_ACTUAL: [1, 0], _FITTED: [1, 0], _PROJECTED: [6, 3]}
    dash.update({d: [2, 3] for d in domain if d not in dash})
    return (
        alt.Chart(data, title=alt.Title(title, subtitle=subtitle))
        .mark_line(point=True)
        .encode(
            x=alt.X("period:Q", title="Period", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("survivors:Q", title="Customers still active", axis=alt.Axis(format=theme.INT_FORMAT)),
            color=alt.Color("series:N", title=None, scale=_series_scale(domain)),
            strokeDash=alt.StrokeDash(
                "series:N", title=None, scale=alt.Scale(domain=domain, range=[dash[d] for d in domain])
            ),
            tooltip=[
                alt.Tooltip("period:Q", title="Period"),
                alt.Tooltip("series:N", title="Series"),
                alt.Tooltip("survivors:Q", title="Survivors", format=",.1f"),
                *(extra_tooltips or []),
            ],
        )
        .properties(width=theme.WIDTH, height=theme.HEIGHT)
    )


def sbg_survival_chart(model, *, periods: int | None = None, actual=None, title: str | None = None) -> alt.Chart:
    """Actual survivors vs the sBG fit and its projection (definitions §5).

    Parameters
    ----------
    model : ShiftedBetaGeoFitter
        A fitted model.
    periods : int, optional
        Last period to draw; default the longer of the actual series and
        twice the fitted periods.
    actual : array-like, optional
        Actual survivor counts for t = 0, 1, ... (may extend beyond the fit);
        default the counts the model was fitted on (single-series fits).
    title : str, optional

    Returns
    -------
    altair.Chart
        Line chart of survivors by period with series "Actual", "sBG fit"
        (t <= fitted periods) and "sBG projection" (from the last fitted
        period on, dashed).
    """
    if getattr(model, "alpha_", None) is None:
        raise ParameterError("sbg_survival_chart needs a fitted ShiftedBetaGeoFitter.")
    k = int(model.n_periods_)
    act = model.survivors_ if actual is None else np.asarray(actual, dtype="float64")
    n_act = 0 if act is None else len(act)
    last = periods if periods is not None else max(n_act - 1, 2 * k)
    if isinstance(last, bool) or not isinstance(last, (int, np.integer)) or last < 1:
        raise ParameterError(f"periods={periods!r} must be a whole number >= 1.")
    size = float(act[0]) if act is not None and n_act else None
    pred = model.predict(int(last), size=size)
    fit = pred[pred["period"] <= k]
    proj = pred[pred["period"] >= k]
    parts = [
        pd.DataFrame({"period": fit["period"], "series": _FITTED, "survivors": fit["expected_survivors"]}),
        pd.DataFrame({"period": proj["period"], "series": _PROJECTED, "survivors": proj["expected_survivors"]}),
    ]
    domain = [_FITTED, _PROJECTED]
    if act is not None and n_act:
        t = np.arange(min(n_act, last + 1))
        parts.insert(0, pd.DataFrame({"period": t, "series": _ACTUAL, "survivors": act[: len(t)]}))
        domain = [_ACTUAL, *domain]
    data = pd.concat(parts, ignore_index=True)
    data["period"] = data["period"].astype("int64")
    data["survivors"] = data["survivors"].astype("float64")
    subtitle = f"alpha = {model.alpha_:.3f}, beta = {model.beta_:.3f}; fitted on periods 0-{k}"
    return _survivor_lines(data, title or "Survivors: actual vs shifted-beta-geometric", subtitle, domain)


def clv_curve_chart(empirical, *, title: str | None = None, value_format: str = ",.2f") -> alt.Chart:
    """Empirical CLV curves by cohort age plus the size-weighted average (definitions §3 "Revenue", §5).

    Parameters
    ----------
    empirical : EmpiricalCLV or pandas.DataFrame
        The result of :func:`retainkit.clv.empirical_clv` (cohort lines and
        the average) or just its ``table`` (one row per cohort and age).
    title : str, optional
    value_format : str
        d3 format of the value in the tooltip.

    Returns
    -------
    altair.Chart
        Line chart: x = age, y = cumulative value per customer, one thin line
        per cohort (segment / cohort) and a thick line for the average.
    """
    by = getattr(empirical, "table", empirical)
    avg = getattr(empirical, "summary", None)
    if not isinstance(by, pd.DataFrame) or not {"cohort", "age", "clv"} <= set(by.columns):
        raise ParameterError("clv_curve_chart needs the result of empirical_clv() (or its table).")
    seg = list(by.attrs.get("by") or [])
    lines = by[by["clv"].notna()]

    def label(frame: pd.DataFrame, last: pd.Series) -> pd.Series:
        if not seg:
            return last.astype(str)
        out = frame[seg[0]].astype(str)
        for c in seg[1:]:
            out = out + " / " + frame[c].astype(str)
        return out + " / " + last.astype(str)

    parts = [
        pd.DataFrame(
            {
                "line": label(lines, lines["cohort"]).to_numpy(),
                "kind": "cohort",
                "age": lines["age"].to_numpy(),
                "clv": lines["clv"].to_numpy(dtype="float64"),
                "customers": lines["size"].to_numpy(dtype="float64"),
            }
        )
    ]
    if avg is not None and len(avg):
        a = avg[avg["clv"].notna()]
        name = label(a, pd.Series(_AVERAGE, index=a.index)) if seg else pd.Series(_AVERAGE, index=a.index)
        parts.append(
            pd.DataFrame(
                {
                    "line": name.to_numpy(),
                    "kind": "average",
                    "age": a["age"].to_numpy(),
                    "clv": a["clv"].to_numpy(dtype="float64"),
                    "customers": a["customers"].to_numpy(dtype="float64"),
                }
            )
        )
    data = pd.concat(parts, ignore_index=True)
    data["age"] = data["age"].astype("int64")
    if len(data) > theme.MAX_ROWS:
        raise ParameterError(f"{len(data)} points exceed the chart limit of {theme.MAX_ROWS}; pass fewer cohorts.")
    cohort_lines = list(dict.fromkeys(data.loc[data["kind"] == "cohort", "line"]))
    average_lines = list(dict.fromkeys(data.loc[data["kind"] == "average", "line"]))
    domain = cohort_lines + average_lines
    colors = _ramp(len(cohort_lines)) + [
        theme.ACCENT if i == 0 else theme.PALETTE[(i + 1) % len(theme.PALETTE)] for i in range(len(average_lines))
    ]
    freq = by.attrs.get("freq")
    unit = theme.FREQ_UNITS.get(str(freq).upper(), "periods") if freq else "periods"
    margin = by.attrs.get("margin", 1.0)
    d = by.attrs.get("discount_rate", 0.0)
    subtitle = f"margin {margin:.0%} of revenue, discount rate {d:.2%} per period; refunds included"
    return (
        alt.Chart(data, title=alt.Title(title or "Cumulative value per customer by age", subtitle=subtitle))
        .mark_line()
        .encode(
            x=alt.X("age:Q", title=f"Age ({unit} since acquisition)", axis=alt.Axis(tickMinStep=1, format="d")),
            y=alt.Y("clv:Q", title="Cumulative value per customer"),
            color=alt.Color(
                "line:N",
                title="Cohort",
                sort=domain,
                scale=alt.Scale(domain=domain, range=colors),
                legend=alt.Legend(symbolLimit=30),
            ),
            strokeWidth=alt.StrokeWidth(
                "kind:N", title=None, scale=alt.Scale(domain=["cohort", "average"], range=[1.2, 3.5]), legend=None
            ),
            opacity=alt.Opacity(
                "kind:N", scale=alt.Scale(domain=["cohort", "average"], range=[0.55, 1.0]), legend=None
            ),
            tooltip=[
                alt.Tooltip("line:N", title="Cohort"),
                alt.Tooltip("age:Q", title="Age"),
                alt.Tooltip("clv:Q", title="Value per customer", format=value_format),
                alt.Tooltip("customers:Q", title="Customers", format=theme.INT_FORMAT),
            ],
        )
        .properties(width=theme.WIDTH, height=theme.HEIGHT)
    )
