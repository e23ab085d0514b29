"""Interactive apps (ipywidgets): the cohort explorer and the loyalty-ROI calculator.

Both apps are plain Python objects that own their controls and outputs as
documented attributes, so they can be driven without a browser: set
``.value`` on a control and read the new tables (``app.table``,
``app.result``) and charts (``app.chart(name)``). Notebooks only build and
display them (``notebooks/explore_cohorts.ipynb``, ``notebooks/loyalty_roi.ipynb``);
``make explore`` serves the explorer with Voila.

Speed: the log is reduced once per granularity (:func:`retainkit.engine.reduce`)
and aggregated once into small tables split by *every* segment (cohort counts,
bracket counts, CRR counts). A control change only filters and sums those small
tables in pandas; summing counts over segments is exact because each customer
has exactly one acquisition segment (definitions §3, §4).

Charts are Altair specs drawn in the browser by vega-embed. The Vega bundle
(from vl-convert, so no network is needed) is sent once per app; each chart is
an HTML output whose script waits for it. Errors in a callback never hang the
app: they are shown as a readable message in the app's status line.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import html
import itertools
import json
import logging
import re
import uuid
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping, Sequence

import altair as alt
import ipywidgets as w
import numpy as np
import pandas as pd

from . import loyalty
from ._stats import safe_ratio, wilson_interval
from .charts import (
    cohort_heatmap,
    crr_trend,
    cumulative_cash_chart,
    cumulative_revenue_curves,
    retention_curves,
    roi_sensitivity_chart,
    segment_comparison,
    theme_config,
)
from .charts import _theme as th
from .cohorts import bracket_retention, cohort_counts
from .data import Subscriptions, Transactions, load_transactions
from .engine import Activity, reduce
from .exceptions import DataError, ParameterError, RetainkitError
from .metrics import CRR_COLUMNS, crr_table
from .periods import FREQ_NAMES, period_label, period_start

log = logging.getLogger(__name__)

MISSING = "(missing)"
#: granularities offered by the explorer, in menu order
FREQ_OPTIONS = (("Days", "D"), ("Weeks", "W"), ("Months", "M"), ("Quarters", "Q"), ("Years", "Y"))
#: daily cohorts are offered only for logs spanning at most this many days
MAX_DAILY_SPAN = 120
#: rows of the view table shown in the Table tab (the export has all of them)
TABLE_ROWS_SHOWN = 300

# --------------------------------------------------------------------------- chart output
_ids = itertools.count(1)

_CSS = """
<style>
.rk-app {font-family: Inter, 'Segoe UI', 'Helvetica Neue', Helvetica, Arial, sans-serif; color: #1b2733;}
.rk-app .rk-head {margin: 0 0 6px 0;}
.rk-app .rk-head h3 {margin: 0 0 2px 0; font-size: 17px; font-weight: 600;}
.rk-app .rk-howto {color: #5b6672; font-size: 13px; margin: 0;}
.rk-app .rk-side {background: #f6f8fa; border: 1px solid #e1e5ea; border-radius: 6px; padding: 8px 10px;}
.rk-app .rk-side .rk-group {font-size: 11px; font-weight: 600; letter-spacing: .04em; text-transform: uppercase;
  color: #5b6672; margin: 8px 0 0 0;}
.rk-app .rk-summary {font-size: 13px; color: #3b4652; margin: 2px 0 4px 0;}
.rk-app .rk-status {font-size: 13px; min-height: 1.4em;}
.rk-app .rk-msg {padding: 6px 10px; border-radius: 4px; margin: 2px 0;}
.rk-app .rk-info {background: #eef4fa; border-left: 4px solid #1f5f99;}
.rk-app .rk-warn {background: #fff6e5; border-left: 4px solid #e0803a;}
.rk-app .rk-error {background: #fdecec; border-left: 4px solid #c8444b; color: #7a1c22;}
.rk-app table.rk-table {border-collapse: collapse; font-size: 12px; font-variant-numeric: tabular-nums;}
.rk-app table.rk-table th {text-align: right; background: #f0f3f6; padding: 3px 8px; border-bottom: 1px solid #cfd6dd;
  position: sticky; top: 0;}
.rk-app table.rk-table td {text-align: right; padding: 2px 8px; border-bottom: 1px solid #eef0f3;}
.rk-app table.rk-table td.rk-txt, .rk-app table.rk-table th.rk-txt {text-align: left;}
.rk-app .rk-kpis {display: flex; gap: 10px; flex-wrap: wrap; margin: 2px 0 6px 0;}
.rk-app .rk-kpi {background: #f6f8fa; border: 1px solid #e1e5ea; border-radius: 6px; padding: 6px 10px; flex: 1 1 120px;}
.rk-app .rk-kpi .rk-kpi-label {font-size: 11px; color: #5b6672; text-transform: uppercase; letter-spacing: .04em;}
.rk-app .rk-kpi .rk-kpi-value {font-size: 18px; font-weight: 600;}
.rk-app .rk-kpi .rk-kpi-note {font-size: 11px; color: #5b6672;}
.rk-app .rk-good {color: #2d7a48;} .rk-app .rk-bad {color: #b8323a;}
.rk-app .rk-chart {min-height: 40px;}
.rk-app .rk-chart-error {color: #7a1c22;}
.rk-app .rk-download a {display: inline-block; padding: 4px 10px; background: #1f5f99; color: white; border-radius: 4px;
  text-decoration: none; font-size: 13px;}
</style>
"""


def _vl_version() -> str:
    m = re.match(r"v?(\d+)\.(\d+)", alt.SCHEMA_VERSION)
    return f"{m[1]}.{m[2]}" if m else ""


def _vega_bundle_js() -> str:
    """The offline Vega / Vega-Lite / vega-embed bundle, cached on disk (building it takes seconds)."""
    import os

    import vl_convert as vlc

    version = f"{_vl_version()}-{getattr(vlc, '__version__', 'x')}"
    folder = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "retainkit"
    path = folder / f"vega-bundle-{version}.js"
    try:
        if path.is_file():
            return path.read_text(encoding="utf-8")
    except OSError:  # pragma: no cover - unreadable cache: rebuild
        pass
    js = vlc.javascript_bundle(vl_version=_vl_version())
    try:
        folder.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(js, encoding="utf-8")
        tmp.replace(path)
    except OSError:  # pragma: no cover - read-only home: no cache
        pass
    return js


@functools.lru_cache(maxsize=1)
def _vega_loader_html() -> str:
    """A script defining ``window.vegaEmbed`` once per page (offline bundle from vl-convert).

    The bundle is evaluated only when ``vegaEmbed`` is not defined yet, so two
    apps on one page do not load it twice.
    """
    code = json.dumps(_vega_bundle_js()).replace("</", "<\\/").replace("<!--", "<\\!--")
    return ('<script type="text/javascript">'
            f"if(typeof window.vegaEmbed!=='function'){{(0,eval)({code});}}"
            "</script>")


def chart_spec(chart: Any) -> dict[str, Any]:
    """Vega-Lite dict of an Altair chart with the retainkit theme merged in (definitions: none; presentation)."""
    spec = chart.to_dict(validate=False) if hasattr(chart, "to_dict") else dict(chart)
    config = theme_config()
    for key, val in spec.get("config", {}).items():
        base = config.get(key)
        config[key] = {**base, **val} if isinstance(val, dict) and isinstance(base, dict) else val
    spec["config"] = config
    return spec


def _script_json(obj: Any) -> str:
    return json.dumps(obj, default=str).replace("</", "<\\/").replace("<!--", "<\\!--")


def chart_output_html(spec: Mapping[str, Any], *, name: str = "chart") -> str:
    """HTML that draws a Vega-Lite spec with vega-embed once the bundle is on the page.

    If vega-embed never arrives (or the spec fails) the element shows a short
    message instead of staying blank.
    """
    cid = f"rk-{name}-{uuid.uuid4().hex[:10]}-{next(_ids)}"
    return (
        f'<div class="rk-chart" id="{cid}" data-rk-chart="{html.escape(name)}"></div>'
        '<script type="text/javascript">(function(){'
        f'var el=document.getElementById("{cid}");var spec={_script_json(spec)};var tries=0;'
        "function draw(){"
        "if(typeof window.vegaEmbed!=='function'){"
        "if(++tries>200){el.className+=' rk-chart-error';el.textContent='The chart library did not load.';return;}"
        "setTimeout(draw,50);return;}"
        "window.vegaEmbed(el,spec,{renderer:'svg',actions:false,mode:'vega-lite'})"
        ".catch(function(e){el.className+=' rk-chart-error';el.textContent='Chart failed: '+e;});}"
        "draw();})();</script>"
    )


def _show_chart(out: w.Output, chart: Any, name: str) -> dict[str, Any]:
    spec = chart_spec(chart)
    out.outputs = ({
        "output_type": "display_data",
        "data": {"text/html": chart_output_html(spec, name=name), "text/plain": f"<{name} chart>"},
        "metadata": {},
    },)
    return spec


def _show_html(out: w.Output, markup: str) -> None:
    out.outputs = ({"output_type": "display_data", "data": {"text/html": markup, "text/plain": ""}, "metadata": {}},)


def _msg(text: str, kind: str = "info") -> str:
    return f'<div class="rk-msg rk-{kind}">{text}</div>'


def _error_text(err: BaseException) -> str:
    if isinstance(err, RetainkitError):
        return f"<b>{type(err).__name__}</b>: {html.escape(str(err))}"
    return (f"<b>Something went wrong</b> ({html.escape(type(err).__name__)}: {html.escape(str(err))}). "
            "The previous view is kept; change a control to try again.")


class _AppBase:
    """Shared plumbing: a status line, guarded callbacks, display."""

    widget: w.Box
    status: w.HTML

    def __init__(self) -> None:
        self._holding = 0
        self.last_error: BaseException | None = None

    @contextlib.contextmanager
    def _hold(self) -> Iterator[None]:
        self._holding += 1
        try:
            yield
        finally:
            self._holding -= 1

    def _guard(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """Wrap a callback: errors become a message in ``status`` (never a silent hang)."""

        @functools.wraps(fn)
        def run(*args: Any, **kwargs: Any) -> Any:
            if self._holding:
                return None
            try:
                result = fn(*args, **kwargs)
            except Exception as err:  # noqa: BLE001 - shown to the user, logged with traceback
                log.warning("retainkit widget callback failed: %s: %s", type(err).__name__, err)
                log.debug("traceback of the failed callback", exc_info=True)
                self.last_error = err
                self.status.value = _msg(_error_text(err), "error")
                return None
            self.last_error = None
            return result

        return run

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def _num_table_html(df: pd.DataFrame, *, limit: int = TABLE_ROWS_SHOWN, caption: str = "") -> str:
    """An escaped HTML table with light number formatting (rates as %, counts with separators)."""
    shown = df.head(limit)
    cols = list(shown.columns)

    def fmt(col: str, v: Any) -> tuple[str, bool]:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
            return "", True
        if isinstance(v, (bool, np.bool_)):
            return ("yes" if v else "no"), False
        if isinstance(v, (int, np.integer)):
            return f"{int(v):,}", True
        if isinstance(v, (float, np.floating)):
            if col in ("crr", "churn_rate", "crr_counts") or "retention" in col or col.endswith(("_lo", "_hi")):
                return f"{v:.1%}", True
            return f"{v:,.2f}", True
        if isinstance(v, pd.Timestamp):
            return v.strftime("%Y-%m-%d"), False
        return str(v), False

    out = ['<table class="rk-table">']
    if caption:
        out.append(f'<caption style="text-align:left;color:#5b6672;padding:2px 0 6px 0">{html.escape(caption)}</caption>')
    heads = []
    first_row = shown.iloc[0] if len(shown) else None
    text_cols = set()
    for c in cols:
        if first_row is not None and not fmt(c, first_row[c])[1]:
            text_cols.add(c)
        heads.append(f'<th class="{"rk-txt" if c in text_cols else ""}">{html.escape(str(c))}</th>')
    out.append("<thead><tr>" + "".join(heads) + "</tr></thead><tbody>")
    for row in shown.itertuples(index=False, name=None):
        cells = []
        for c, v in zip(cols, row):
            text, _ = fmt(c, v)
            cells.append(f'<td class="{"rk-txt" if c in text_cols else ""}">{html.escape(text)}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    if len(df) > limit:
        out.append(f'<p class="rk-howto">Showing the first {limit:,} of {len(df):,} rows; the CSV export has all of them.</p>')
    return "".join(out)


# --------------------------------------------------------------------------- extra charts
def _rate_or_value_heatmap(d: pd.DataFrame, *, x: str, x_title: str, x_sort: list[Any], value: str,
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


# --------------------------------------------------------------------------- cohort explorer
class _Cube:
    """Counts of one aggregate as dense arrays: (segment combination, cell, ...) -> value.

    ``combos`` holds the segment labels of each combination (row). Filtering
    keeps combinations; splitting sums them per value of one segment column;
    both are exact for counts because a customer has one acquisition segment.
    """

    def __init__(self, frame: pd.DataFrame, segments: list[str], axes: list[tuple[str, np.ndarray]],
                 values: list[str]) -> None:
        self.segments = segments
        if segments:
            codes = frame.groupby(segments, sort=True, observed=True).ngroup().to_numpy()
            self.combos = (frame[segments].assign(_g=codes).drop_duplicates("_g").sort_values("_g")
                           .drop(columns="_g").reset_index(drop=True))
        else:
            codes = np.zeros(len(frame), dtype=np.int64)
            self.combos = pd.DataFrame(index=[0])
        shape = [len(self.combos)] + [len(labels) for _, labels in axes]
        flat = codes.astype(np.int64)
        for col, labels in axes:
            pos = np.searchsorted(labels, frame[col].to_numpy())
            flat = flat * len(labels) + pos
        self.arrays: dict[str, np.ndarray] = {}
        for v in values:
            arr = np.zeros(int(np.prod(shape)), dtype=np.float64)
            np.add.at(arr, flat, frame[v].to_numpy(dtype=np.float64))
            self.arrays[v] = arr.reshape(shape)

    def mask(self, column: str | None, keep: Sequence[str]) -> np.ndarray:
        if column is None:
            return np.ones(len(self.combos), dtype=bool)
        return self.combos[column].isin(list(keep)).to_numpy()

    def groups(self, split: str | None, mask: np.ndarray) -> tuple[np.ndarray, list[str]]:
        """Split value code of each kept combination, and the split values."""
        if split is None:
            return np.zeros(int(mask.sum()), dtype=np.int64), []
        codes, uniques = pd.factorize(self.combos.loc[mask, split], sort=True)
        return codes.astype(np.int64), [str(u) for u in uniques]

    def summed(self, name: str, mask: np.ndarray, group: np.ndarray, n_groups: int,
               sl: tuple[slice, ...] = ()) -> np.ndarray:
        """Sum of array ``name`` over the kept combinations, per group: (groups, ...)."""
        arr = self.arrays[name][mask]
        if sl:
            arr = arr[(slice(None), *sl)]
        out = np.zeros((max(n_groups, 1), *arr.shape[1:]), dtype=np.float64)
        if len(arr):
            np.add.at(out, group, arr)
        return out


@dataclass
class _Prepared:
    """Everything aggregated once per (data, freq): dense counts split by every segment."""

    freq: str
    act: Activity
    cohorts: np.ndarray                       # period indices of the cohorts, sorted
    labels: np.ndarray                        # their labels
    cube: _Cube                               # (combo, cohort, age)
    brackets: _Cube | None = None             # (combo, cohort, bracket), lazily
    bracket_info: pd.DataFrame | None = None
    crr: _Cube | None = None                  # (combo, period), lazily
    crr_periods: pd.DataFrame | None = None
    crr_attrs: dict[str, Any] = field(default_factory=dict)


def _seg_labels(values: pd.Series) -> pd.Series:
    return values.astype(object).where(values.notna(), MISSING).map(str)


def _load(data: Any, **load_kwargs: Any) -> Transactions | Subscriptions:
    if isinstance(data, (Transactions, Subscriptions)):
        return data
    if isinstance(data, Activity):
        return data.source
    if isinstance(data, str) and data.strip().lower() == "sample":
        from .datasets import load_sample

        return load_sample(**load_kwargs)
    if isinstance(data, (str, Path)) and not str(data).strip():
        raise ParameterError("data is empty: pass a CSV/Parquet path, a DataFrame, or 'sample' for the bundled sample.")
    return load_transactions(data, **load_kwargs)


class CohortExplorer(_AppBase):
    """Cohort explorer app: controls on the left, synchronised views on the right.

    Build it with :func:`cohort_explorer`. Every number follows definitions
    §2-§4: cohorts by first-purchase period, classic / unbounded / bracket
    retention, revenue retention and cumulative revenue per customer, CRR from
    identities with its activity window.

    Controls (``ipywidgets``; set ``.value`` to drive the app)
    ----------------------------------------------------------
    freq : Dropdown
        Granularity ("D" only for logs spanning <= 120 days, "W", "M", "Q", "Y").
    kind : Dropdown
        "classic", "unbounded" or "brackets" (used with metric "customers").
    metric : Dropdown
        "customers" (retention), "revenue" (revenue retention),
        "cum_revenue" (cumulative revenue per customer); revenue options only
        when amounts were loaded.
    cohort_range : SelectionRangeSlider
        First and last cohort shown (labels such as "2023-01"); the CRR view
        starts at the first one (CRR is per period, not per cohort).
    filter_by : Dropdown
        Segment column to filter on (None = all customers).
    filter_values : SelectMultiple
        Kept values of ``filter_by`` (missing values appear as "(missing)").
    split_by : Dropdown
        Segment column to compare (None = pooled).
    min_size : BoundedIntText
        Cohorts (per split segment) with fewer customers are left out.
    intervals : Checkbox
        Show the 95 % Wilson intervals (bands, and columns in the table).
    export_button : Button
        Builds a CSV of the current view table; ``export_link`` then holds a
        download link and ``last_export`` the CSV text.

    Outputs
    -------
    table : DataFrame
        The view behind the charts: a :func:`retainkit.cohort_table`-style
        table (with the split column when split), or a bracket table.
    pooled : DataFrame
        The same table without the split (drawn as the heatmap).
    average : DataFrame
        :func:`retainkit.average_curve` of ``table``.
    crr : DataFrame
        :func:`retainkit.crr_table` columns for the filtered customers, periods
        from the first selected cohort on (pooled over segments).
    views : Tab
        "Heatmap", "Curves", "CRR", "Table"; ``outputs`` maps those names
        (lower case) to their Output / HTML widgets. Charts are drawn for the
        visible tab; ``chart(name)`` builds any of them for the current view.
    summary, status : HTML
        One line describing the view; messages and errors.
    widget : Box
        The whole app (what a notebook displays).
    """

    def __init__(
        self,
        data: Transactions | Subscriptions,
        *,
        segments: Sequence[str] | None = None,
        window: str | int = "90D",
        brackets: Sequence[tuple[int, int]] = ((1, 2), (3, 5), (6, 11)),
        freq: str = "M",
        currency: str = "",
        max_segment_values: int = 30,
        title: str = "Cohort explorer",
    ) -> None:
        super().__init__()
        if not isinstance(data, (Transactions, Subscriptions)):
            raise ParameterError(
                f"CohortExplorer needs loaded data (retainkit.load_transactions / load_subscriptions), "
                f"not {type(data).__name__}; or call cohort_explorer(path_or_frame, ...)."
            )
        self.data = data
        self.window = window
        self.brackets = [tuple(int(v) for v in b) for b in brackets]
        self.currency = currency
        self.title = title
        self._cache: dict[str, _Prepared] = {}
        self.table = pd.DataFrame()
        self.pooled = pd.DataFrame()
        self.average = pd.DataFrame()
        self.crr = pd.DataFrame()
        self.last_export: str | None = None
        self._stale: set[str] = set()
        self._specs: dict[str, dict[str, Any]] = {}
        self._has_revenue = bool(getattr(data, "has_amount", False) or getattr(data, "has_mrr", False))
        self.segments = self._usable_segments(segments, max_segment_values)
        self._seg_values: dict[str, list[str]] = {}
        for s in self.segments:
            self._seg_values[s] = sorted(set(_seg_labels(pd.Series(data.frame[s])).unique()))
        self._build_widgets(freq)
        self._wire()
        self.update()

    # ---------------------------------------------------------------- setup
    def _usable_segments(self, segments: Sequence[str] | None, max_values: int) -> list[str]:
        available = list(getattr(self.data, "segments", ()) or ())
        if segments is None:
            chosen = available
        else:
            chosen = [segments] if isinstance(segments, str) else list(segments)
            missing = [s for s in chosen if s not in available]
            if missing:
                raise ParameterError(
                    f"segments {missing} were not loaded; loaded segment columns: {available or 'none'}. "
                    f"Load them with load_transactions(..., segments=[...])."
                )
        self.skipped_segments = [s for s in chosen if self.data.frame[s].nunique(dropna=False) > max_values]
        return [s for s in chosen if s not in self.skipped_segments]

    def _freq_options(self) -> list[tuple[str, str]]:
        f = self.data.frame
        col = "timestamp" if "timestamp" in f.columns else "start"
        span = (f[col].max() - f[col].min()) / pd.Timedelta(days=1) if len(f) else 0
        return [(n, k) for n, k in FREQ_OPTIONS if k != "D" or span <= MAX_DAILY_SPAN]

    def _build_widgets(self, freq: str) -> None:
        desc = {"description_width": "92px"}
        full = w.Layout(width="100%")
        opts = self._freq_options()
        if freq not in [k for _, k in opts]:
            raise ParameterError(f"freq={freq!r} is not offered for this data; use one of {[k for _, k in opts]}.")
        self.freq = w.Dropdown(options=opts, value=freq, description="Cohorts by", style=desc, layout=full)
        self.metric = w.Dropdown(
            options=[("Customers (retention)", "customers")]
            + ([("Revenue (revenue retention)", "revenue"), ("Cumulative revenue / customer", "cum_revenue")]
               if self._has_revenue else []),
            value="customers", description="Metric", style=desc, layout=full)
        self.kind = w.Dropdown(
            options=[("Classic: active at age k", "classic"), ("Unbounded: active at k or later", "unbounded"),
                     ("Brackets of ages", "brackets")],
            value="classic", description="Retention", style=desc, layout=full)
        self.cohort_range = w.SelectionRangeSlider(options=["-"], index=(0, 0), description="Cohorts",
                                                   style=desc, layout=full, continuous_update=False, readout=False)
        self.range_label = w.HTML(layout=w.Layout(margin="-4px 0 2px 96px"))
        self.cohort_range.observe(lambda ch: self._range_text(), names="value")
        seg_opts = [("(all customers)", "")] + [(s, s) for s in self.segments]
        self.filter_by = w.Dropdown(options=seg_opts, value="", description="Filter on", style=desc, layout=full)
        self.filter_values = w.SelectMultiple(options=[], value=(), description="Keep", style=desc, rows=4,
                                              layout=w.Layout(width="100%"), disabled=True)
        self.split_by = w.Dropdown(options=[("(none)", "")] + [(s, s) for s in self.segments], value="",
                                   description="Split by", style=desc, layout=full)
        self.min_size = w.BoundedIntText(value=0, min=0, max=10**9, step=10, description="Min. cohort",
                                         style=desc, layout=full, tooltip="customers; smaller cohorts are left out")
        self.intervals = w.Checkbox(value=True, description="95% intervals (Wilson)", indent=False)
        self.export_button = w.Button(description="Export CSV", button_style="",
                                      tooltip="CSV of the table behind the current view")
        self.export_link = w.HTML("")
        self.controls: dict[str, w.Widget] = {
            "freq": self.freq, "metric": self.metric, "kind": self.kind, "cohort_range": self.cohort_range,
            "filter_by": self.filter_by, "filter_values": self.filter_values, "split_by": self.split_by,
            "min_size": self.min_size, "intervals": self.intervals, "export_button": self.export_button,
        }
        self._set_cohort_options()

        def group(text: str) -> w.HTML:
            return w.HTML(f'<div class="rk-group">{html.escape(text)}</div>')

        side = w.VBox([
            group("View"), self.freq, self.metric, self.kind,
            group("Cohorts"), self.cohort_range, self.range_label, self.min_size,
            group("Segments"), self.filter_by, self.filter_values, self.split_by,
            group("Display"), self.intervals, w.HBox([self.export_button]), self.export_link,
        ], layout=w.Layout(width="330px", min_width="300px", flex="0 0 330px", margin="0 14px 0 0"))
        side.add_class("rk-side")
        if not self.segments:
            for c in (self.filter_by, self.filter_values, self.split_by):
                c.disabled = True
        self.outputs: dict[str, w.Widget] = {
            "heatmap": w.Output(), "curves": w.Output(), "crr": w.Output(), "table": w.HTML(),
        }
        self.views = w.Tab(children=[self.outputs[k] for k in ("heatmap", "curves", "crr")]
                           + [w.Box([self.outputs["table"]], layout=w.Layout(max_height="560px", overflow="auto"))])
        for i, t in enumerate(("Heatmap", "Curves", "CRR", "Table")):
            self.views.set_title(i, t)
        self.summary = w.HTML()
        self.summary.add_class("rk-summary")
        self.status = w.HTML()
        self.status.add_class("rk-status")
        self._loader = w.Output(layout=w.Layout(height="0px", overflow="hidden"))
        _show_html(self._loader, _vega_loader_html())
        unit = FREQ_NAMES.get(freq, "period")
        skipped = (f" Segments with too many values to filter on: {', '.join(self.skipped_segments)}."
                   if self.skipped_segments else "")
        head = w.HTML(
            _CSS + '<div class="rk-head">' + (f'<h3>{html.escape(self.title)}</h3>' if self.title else '') +
            f'<p class="rk-howto">Pick a granularity, metric and cohorts on the left; every view updates together. '
            f'Hover a chart for exact values; ages count {unit}s since the first purchase. '
            f'<b>Export CSV</b> downloads the table behind the current view.{html.escape(skipped)}</p></div>')
        main = w.VBox([self.summary, self.status, self.views], layout=w.Layout(flex="1 1 auto", min_width="0"))
        self.widget = w.VBox([head, w.HBox([side, main], layout=w.Layout(align_items="flex-start")),
                              self._loader])
        self.widget.add_class("rk-app")
        self._head = head

    def _wire(self) -> None:
        for name in ("metric", "kind", "cohort_range", "filter_values", "split_by", "min_size", "intervals"):
            self.controls[name].observe(self._guard(lambda change: self.update()), names="value")
        self.freq.observe(self._guard(self._on_freq), names="value")
        self.filter_by.observe(self._guard(self._on_filter_by), names="value")
        self.views.observe(self._guard(lambda change: self._render_visible()), names="selected_index")
        self.export_button.on_click(self._guard(lambda button: self.export()))

    # ---------------------------------------------------------------- aggregation (once per freq)
    def prepared(self, freq: str | None = None) -> _Prepared:
        """The per-granularity aggregates (cached): Activity and cohort counts split by every segment."""
        freq = freq or self.freq.value
        if freq not in self._cache:
            act = reduce(self.data, freq)
            counts = cohort_counts(act, by=list(self.segments))
            if counts.empty:
                from .cohorts import _explain_empty

                _explain_empty(act)
            for s in self.segments:
                counts[s] = _seg_labels(counts[s])
            cohorts = np.sort(counts["_cohort"].unique().astype(np.int64))
            ages = np.arange(int(counts["age"].max()) + 1, dtype=np.int64)
            values = ["size", "size_complete", "active", "active_on_or_after"] + (
                ["revenue"] if "revenue" in counts.columns else [])
            cube = _Cube(counts, list(self.segments), [("_cohort", cohorts), ("age", ages)], values)
            self._cache[freq] = _Prepared(freq=freq, act=act, cohorts=cohorts,
                                          labels=np.asarray(period_label(cohorts, freq), dtype=object), cube=cube)
        return self._cache[freq]

    def _brackets(self, prep: _Prepared) -> _Cube:
        if prep.brackets is None:
            b = bracket_retention(prep.act, self.brackets, prep.freq, by=list(self.segments) or None)
            for s in self.segments:
                b[s] = _seg_labels(b[s])
            b["_cohort"] = b["cohort"].map(dict(zip(prep.labels, prep.cohorts))).astype("int64")
            info = pd.DataFrame({"bracket": [f"{lo}-{hi}" for lo, hi in self.brackets],
                                 "age_from": [lo for lo, _ in self.brackets], "age_to": [hi for _, hi in self.brackets]})
            b["_b"] = b["bracket"].map({k: i for i, k in enumerate(info["bracket"])}).astype("int64")
            prep.brackets = _Cube(b, list(self.segments), [("_cohort", prep.cohorts), ("_b", np.arange(len(info)))],
                                  ["size", "active"])
            prep.bracket_info = info
        return prep.brackets

    def _crr(self, prep: _Prepared) -> _Cube:
        if prep.crr is None:
            c = crr_table(self.data, prep.freq, window=self.window, by=list(self.segments) or None)
            for s in self.segments:
                c[s] = _seg_labels(c[s])
            periods = (c.groupby(["period_start", "period"], sort=True)["window_covered"].all().reset_index())
            c["_p"] = np.searchsorted(periods["period_start"].to_numpy(), c["period_start"].to_numpy())
            prep.crr = _Cube(c, list(self.segments), [("_p", np.arange(len(periods)))],
                             ["start_customers", "end_customers", "new", "retained", "lost", "reactivated"])
            prep.crr_periods = periods
            prep.crr_attrs = dict(c.attrs)
        return prep.crr

    # ---------------------------------------------------------------- callbacks
    def _set_cohort_options(self) -> None:
        prep = self.prepared()
        labels = list(prep.labels)
        with self._hold():
            self.cohort_range.options = labels
            self.cohort_range.index = (0, len(labels) - 1)
        self._range_text()

    def _range_text(self) -> None:
        a, b = self.cohort_range.value
        self.range_label.value = f'<span class="rk-howto">{html.escape(str(a))} to {html.escape(str(b))}</span>'

    def _on_freq(self, change: Any) -> None:
        self.status.value = ""
        self._set_cohort_options()
        unit = FREQ_NAMES.get(self.freq.value, "period")
        self._head.value = re.sub(r"ages count \w+s since", f"ages count {unit}s since", self._head.value)
        self.update()

    def _on_filter_by(self, change: Any) -> None:
        col = self._filter_col
        with self._hold():
            if col is None:
                self.filter_values.options = []
                self.filter_values.value = ()
                self.filter_values.disabled = True
            else:
                vals = self._seg_values[col]
                self.filter_values.options = vals
                self.filter_values.value = tuple(vals)
                self.filter_values.disabled = False
        self.update()

    # ---------------------------------------------------------------- the view (re-slicing)
    @property
    def _filter_col(self) -> str | None:
        return self.filter_by.value or None

    @property
    def _split_col(self) -> str | None:
        return self.split_by.value or None

    def _selected_range(self, prep: _Prepared) -> tuple[int, int]:
        i0, i1 = self.cohort_range.index
        return int(prep.cohorts[i0]), int(prep.cohorts[i1])

    def _segment_mask(self, frame: pd.DataFrame) -> np.ndarray:
        col = self._filter_col
        if col is None:
            return np.ones(len(frame), dtype=bool)
        return frame[col].isin(list(self.filter_values.value)).to_numpy()

    def compute_view(self) -> dict[str, pd.DataFrame]:
        """Re-slice the precomputed tables for the current control values (no chart, no display).

        Returns a dict with ``table``, ``pooled``, ``average``, ``crr`` (see the
        class docstring); also stored on the app.
        """
        prep = self.prepared()
        if self._filter_col is not None and not self.filter_values.value:
            raise ParameterError(f"no value of '{self._filter_col}' is selected under Keep; select at least one.")
        i0, i1 = self.cohort_range.index
        split = self._split_col
        cube = prep.cube
        mask = cube.mask(self._filter_col, self.filter_values.value)
        sl = (slice(i0, i1 + 1),)
        pooled_sums = {k: cube.summed(k, mask, np.zeros(int(mask.sum()), np.int64), 1, sl) for k in cube.arrays}
        keep_pooled = self._big_enough(pooled_sums["size"])
        pooled = self._cohort_frame(prep, pooled_sums, keep_pooled, None, [], i0)
        if pooled.empty:
            need = (f"no cohort with at least {self.min_size.value:,} customers. Lower the minimum cohort size or "
                    "widen the selection." if self.min_size.value > 1 else "no customer. Widen the selection.")
            raise DataError(f"no cohort is left: {self._describe_selection()} has {need}")
        if split:
            group, names = cube.groups(split, mask)
            sums = {k: cube.summed(k, mask, group, len(names), sl) for k in cube.arrays}
            keep = self._big_enough(sums["size"])
            table = self._cohort_frame(prep, sums, keep, split, names, i0)
        else:
            sums, keep, names, table = pooled_sums, keep_pooled, [], pooled
        average = self._average_frame(prep, sums, keep, split, names)
        kind = self.kind.value if self.metric.value == "customers" else "classic"
        view = self._bracket_frame(prep, split, i0, i1, keep) if kind == "brackets" else table
        crr = self._crr_view(prep, i0, i1)
        if not self.intervals.value:
            view = view.drop(columns=[x for x in view.columns if x.endswith(("_lo", "_hi"))])
        self.table, self.pooled, self.average, self.crr = view, pooled, average, crr
        return {"table": view, "pooled": pooled, "average": average, "crr": crr}

    def _big_enough(self, size: np.ndarray) -> np.ndarray:
        """(groups, cohorts) mask of cohorts with at least min_size customers (size at age 0)."""
        return (size[:, :, 0] >= max(self.min_size.value, 1))

    def _cohort_frame(self, prep: _Prepared, sums: dict[str, np.ndarray], keep: np.ndarray, split: str | None,
                      names: list[str], i0: int) -> pd.DataFrame:
        """A cohort_table-shaped frame (definitions §3) from summed dense counts."""
        size = sums["size"]
        observed = (size > 0) & keep[:, :, None]
        gi, ci, ki = np.nonzero(observed)
        n = size[gi, ci, ki]
        active = sums["active"][gi, ci, ki]
        aoa = sums["active_on_or_after"][gi, ci, ki]
        cohort_idx = ci + i0
        cols: dict[str, Any] = {}
        if split:
            cols[split] = np.asarray(names, dtype=object)[gi] if len(gi) else np.array([], dtype=object)
        cols["cohort"] = prep.labels[cohort_idx]
        cols["cohort_start"] = period_start(prep.cohorts[cohort_idx], prep.freq) if len(gi) else pd.DatetimeIndex([])
        cols["age"] = ki.astype(np.int64)
        cols["size"] = n.astype(np.int64)
        cols["active"] = active.astype(np.int64)
        cols["retention"] = safe_ratio(active, n)
        lo, hi = wilson_interval(active, n)
        cols["retention_lo"], cols["retention_hi"] = lo, hi
        cols["active_on_or_after"] = aoa.astype(np.int64)
        cols["retention_on_or_after"] = safe_ratio(aoa, n)
        cols["partial"] = sums["size_complete"][gi, ci, ki] < n
        if "revenue" in sums:
            with np.errstate(divide="ignore", invalid="ignore"):
                rpc = np.where(observed, sums["revenue"] / np.where(size > 0, size, 1), 0.0)
            cum = np.cumsum(rpc, axis=2)
            base = rpc[:, :, 0]
            cols["revenue"] = sums["revenue"][gi, ci, ki]
            cols["revenue_retention"] = safe_ratio(rpc[gi, ci, ki], base[gi, ci])
            cols["cum_revenue_per_customer"] = cum[gi, ci, ki]
        out = pd.DataFrame(cols)
        out.attrs.update({"freq": prep.freq, "as_of": str(prep.act.as_of), "tz": prep.act.tz,
                          "by": [split] if split else [], "cohort_key": None, "kind": self.data.kind})
        return out

    def _average_frame(self, prep: _Prepared, sums: dict[str, np.ndarray], keep: np.ndarray, split: str | None,
                       names: list[str]) -> pd.DataFrame:
        """average_curve of the view (definitions §3): size-weighted over observed, complete cells."""
        size = sums["size"]
        cells = (size > 0) & keep[:, :, None] & ~(sums["size_complete"] < size)
        w = cells.astype(np.float64)
        s = (size * w).sum(axis=1)
        gi, ki = np.nonzero(s > 0)
        a = (sums["active"] * w).sum(axis=1)[gi, ki]
        aoa = (sums["active_on_or_after"] * w).sum(axis=1)[gi, ki]
        n = s[gi, ki]
        cols: dict[str, Any] = {}
        if split:
            cols[split] = np.asarray(names, dtype=object)[gi] if len(gi) else np.array([], dtype=object)
        cols["age"] = ki.astype(np.int64)
        cols["cohorts"] = cells.sum(axis=1)[gi, ki].astype(np.int64)
        cols["size"] = n.astype(np.int64)
        cols["active"] = a.astype(np.int64)
        cols["active_on_or_after"] = aoa.astype(np.int64)
        if "revenue" in sums:
            rev = sums["revenue"]
            with np.errstate(divide="ignore", invalid="ignore"):
                rpc = np.where(size > 0, rev / np.where(size > 0, size, 1), 0.0)
            cum = np.cumsum(rpc * ((size > 0) & keep[:, :, None]), axis=2)
            cols["revenue"] = (rev * w).sum(axis=1)[gi, ki]
            w_cum = (cum * size * w).sum(axis=1)[gi, ki]
        cols["retention"] = safe_ratio(a, n)
        lo, hi = wilson_interval(a, n)
        cols["retention_lo"], cols["retention_hi"] = lo, hi
        cols["retention_on_or_after"] = safe_ratio(aoa, n)
        if "revenue" in sums:
            cols["revenue_per_customer"] = safe_ratio(cols["revenue"], n)
            cols["cum_revenue_per_customer"] = safe_ratio(w_cum, n)
        out = pd.DataFrame(cols)
        out.attrs.update({"freq": prep.freq, "as_of": str(prep.act.as_of), "tz": prep.act.tz,
                          "by": [split] if split else [], "cohort_key": None, "kind": self.data.kind})
        return out

    def _bracket_frame(self, prep: _Prepared, split: str | None, i0: int, i1: int, keep: np.ndarray) -> pd.DataFrame:
        """Bracket retention (definitions §3) for the selection, shaped like bracket_retention()."""
        cube = self._brackets(prep)
        mask = cube.mask(self._filter_col, self.filter_values.value)
        group, names = cube.groups(split, mask)
        if split:  # align split values with the cohort view's (same labels, maybe fewer)
            _, all_names = prep.cube.groups(split, prep.cube.mask(self._filter_col, self.filter_values.value))
            remap = np.array([all_names.index(nm) for nm in names], dtype=np.int64) if names else np.zeros(0, np.int64)
            group, names = remap[group] if len(group) else group, all_names
        n_groups = max(len(names), 1)
        sl = (slice(i0, i1 + 1),)
        size = cube.summed("size", mask, group, n_groups, sl)
        active = cube.summed("active", mask, group, n_groups, sl)
        size = size * keep[: size.shape[0], :, None]
        gi, ci, bi = np.nonzero(size > 0)
        n, a = size[gi, ci, bi], active[gi, ci, bi]
        info = prep.bracket_info
        cols: dict[str, Any] = {}
        if split:
            cols[split] = np.asarray(names, dtype=object)[gi]
        cohort_idx = ci + i0
        cols["cohort"] = prep.labels[cohort_idx]
        cols["cohort_start"] = period_start(prep.cohorts[cohort_idx], prep.freq) if len(gi) else pd.DatetimeIndex([])
        cols["bracket"] = info["bracket"].to_numpy()[bi]
        cols["age_from"] = info["age_from"].to_numpy()[bi]
        cols["age_to"] = info["age_to"].to_numpy()[bi]
        cols["size"] = n.astype(np.int64)
        cols["active"] = a.astype(np.int64)
        cols["retention"] = safe_ratio(a, n)
        lo, hi = wilson_interval(a, n)
        cols["retention_lo"], cols["retention_hi"] = lo, hi
        out = pd.DataFrame(cols)
        out.attrs.update({"freq": prep.freq, "as_of": str(prep.act.as_of), "tz": prep.act.tz,
                          "by": [split] if split else [], "kind": "brackets"})
        return out

    def _crr_view(self, prep: _Prepared, i0: int, i1: int) -> pd.DataFrame:
        """CRR (definitions §4) of the filtered customers, periods from the first selected cohort on."""
        cube = self._crr(prep)
        periods = prep.crr_periods
        mask = cube.mask(self._filter_col, self.filter_values.value)
        zero = np.zeros(int(mask.sum()), np.int64)
        counts = {k: cube.summed(k, mask, zero, 1)[0].astype(np.int64) for k in cube.arrays}
        g = periods[["period", "period_start"]].copy()
        for k, v in counts.items():
            g[k] = v
        s = g["start_customers"].to_numpy()
        g["crr"] = safe_ratio(g["retained"], s)
        l_, h_ = wilson_interval(g["retained"], s)
        g["crr_lo"], g["crr_hi"] = l_, h_
        g["crr_counts"] = safe_ratio(g["end_customers"] - g["new"], s)
        g["churn_rate"] = 1.0 - g["crr"]
        g["window_covered"] = periods["window_covered"].to_numpy()
        start = period_start(prep.cohorts[i0], prep.freq)
        g = g[g["period_start"] >= start].reset_index(drop=True)
        g = g[CRR_COLUMNS]
        g.attrs.update(prep.crr_attrs)
        g.attrs["by"] = []
        return g

    def _describe_selection(self) -> str:
        parts = [f"cohorts {self.cohort_range.value[0]} to {self.cohort_range.value[1]}"]
        if self._filter_col is not None:
            vals = ", ".join(self.filter_values.value) or "nothing"
            parts.append(f"{self._filter_col} in [{vals}]")
        return "the selection (" + "; ".join(parts) + ")"

    # ---------------------------------------------------------------- charts
    def chart(self, name: str) -> Any:
        """The Altair chart ``name`` ("heatmap", "curves" or "crr") for the current view."""
        metric, split = self.metric.value, self._split_col
        kind = self.kind.value if metric == "customers" else "classic"
        unit = th.FREQ_UNITS.get(self.freq.value, "periods")
        intervals = self.intervals.value
        cur = f" ({self.currency})" if self.currency else ""
        if name == "heatmap":
            if kind == "brackets":
                t = self.table
                if split:
                    t = t.groupby(["cohort", "bracket", "age_from"], sort=False)[["size", "active"]].sum().reset_index()
                    t["retention"] = safe_ratio(t["active"], t["size"])
                order = list(dict.fromkeys(t.sort_values("age_from")["bracket"]))
                return _rate_or_value_heatmap(t, x="bracket", x_title=f"Ages ({unit})", x_sort=order, value="retention",
                                              value_title="Bracket retention", fmt=".1%", axis_fmt=".0%",
                                              title="Bracket retention by cohort",
                                              subtitle="share of the cohort active at any age in the bracket (definitions §3)")
            if metric == "cum_revenue":
                t = self.pooled[~self.pooled["partial"]]
                ages = sorted(t["age"].unique().tolist())
                return _rate_or_value_heatmap(t, x="age", x_title=f"Age ({unit} since first purchase)", x_sort=ages,
                                              value="cum_revenue_per_customer", value_title=f"Revenue / customer{cur}",
                                              fmt=",.2f", axis_fmt=",.0f", title="Cumulative revenue per customer",
                                              subtitle="revenue to date / cohort size, refunds included (definitions §3)")
            value = {"classic": "retention", "unbounded": "retention_on_or_after"}[kind] if metric == "customers" \
                else "revenue_retention"
            return cohort_heatmap(self.pooled, value=value)
        if name == "curves":
            if kind == "brackets":
                return bracket_chart(self.table, split, intervals=intervals)
            avg = self.average
            if not intervals:
                avg = avg.drop(columns=[c for c in avg.columns if c.endswith(("_lo", "_hi"))])
            if split:
                if not intervals and "retention" in avg.columns:
                    # segment_comparison needs the band columns (charts bug): a zero-width band draws nothing
                    avg = avg.assign(retention_lo=avg["retention"], retention_hi=avg["retention"])
                value = {"customers": "retention" if kind == "classic" else "retention_on_or_after",
                         "revenue": "revenue_per_customer", "cum_revenue": "cum_revenue_per_customer"}[metric]
                return segment_comparison(avg, split, value=value, start_age=0 if metric == "cum_revenue" else 1)
            if metric == "cum_revenue":
                return cumulative_revenue_curves(self.table, avg, currency=self.currency)
            value = {"classic": "retention", "unbounded": "retention_on_or_after"}[kind] if metric == "customers" \
                else "revenue_retention"
            if value == "revenue_retention":
                avg = None  # the average curve has no revenue retention; per-cohort lines only
            return retention_curves(self.table, avg, value=value)
        if name == "crr":
            crr = self.crr
            if not intervals:
                crr = crr.assign(crr_lo=np.nan, crr_hi=np.nan)
            if crr.empty:
                raise DataError("no complete period in the selected range has a CRR; widen the cohort range.")
            return crr_trend(crr)
        raise ParameterError(f"chart name {name!r} must be 'heatmap', 'curves' or 'crr'.")

    def _render(self, name: str) -> None:
        out = self.outputs[name]
        try:
            self._specs[name] = _show_chart(out, self.chart(name), name)
        except RetainkitError as err:  # an empty selection for this view: say so in place
            self._specs.pop(name, None)
            _show_html(out, _msg(html.escape(str(err)), "warn"))
        self._stale.discard(name)

    def _render_visible(self) -> None:
        names = ("heatmap", "curves", "crr", "table")
        idx = self.views.selected_index or 0
        name = names[idx]
        if name == "table":
            self._render_table()
        elif name in self._stale:
            self._render(name)

    def _render_table(self) -> None:
        cap = ("Bracket retention per cohort" if "bracket" in self.table.columns else "Cohort table") + \
              f": {len(self.table):,} rows; columns as in retainkit.cohort_table (definitions §3)."
        self.outputs["table"].value = _num_table_html(self.table, caption=cap)
        self._stale.discard("table")

    def render_all(self) -> None:
        """Draw every view now (normally only the visible tab is drawn; others when opened)."""
        for name in ("heatmap", "curves", "crr"):
            self._render(name)
        self._render_table()

    def update(self) -> None:
        """Recompute the view from the controls and redraw the visible tab."""
        if self._holding:
            return
        self.kind.disabled = self.metric.value != "customers"
        self.compute_view()
        self.status.value = ""
        self._stale = {"heatmap", "curves", "crr", "table"}
        self.export_link.value = ""
        self._render_visible()
        self.summary.value = self._summary_text()

    def _summary_text(self) -> str:
        t0 = self.pooled[self.pooled["age"] == 0]
        n_cust = int(t0["size"].sum())
        n_coh = int(t0["cohort"].nunique())
        parts = [f"<b>{n_coh:,}</b> cohorts ({html.escape(self.cohort_range.value[0])} to "
                 f"{html.escape(self.cohort_range.value[1])}), <b>{n_cust:,}</b> customers"]
        if self._filter_col is not None:
            parts.append(f"{html.escape(self._filter_col)}: {html.escape(', '.join(self.filter_values.value))}")
        if self._split_col:
            parts.append(f"split by {html.escape(self._split_col)}")
        parts.append(f"as of {html.escape(str(self.prepared().act.as_of)[:19])}")
        parts.append(f"CRR activity window {html.escape(str(self.crr.attrs.get('window', '')))}")
        return " · ".join(parts)

    # ---------------------------------------------------------------- export
    def export(self, path: str | Path | None = None) -> str:
        """CSV of the current view table; also offered as a download link in the app.

        Parameters
        ----------
        path : str or Path, optional
            Also write the CSV there.

        Returns
        -------
        str
            The CSV text (``app.table.to_csv(index=False)``).
        """
        text = self.table.to_csv(index=False, lineterminator="\n")
        self.last_export = text
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        name = f"cohorts_{self.freq.value}_{self.metric.value}_{self.kind.value}.csv"
        b64 = base64.b64encode(text.encode("utf-8")).decode("ascii")
        self.export_link.value = (f'<div class="rk-download"><a download="{name}" href="data:text/csv;base64,{b64}">'
                                  f"Save {html.escape(name)} ({len(self.table):,} rows)</a></div>")
        return text


def cohort_explorer(
    data: Any = "sample",
    *,
    segments: Sequence[str] | None = None,
    window: str | int = "90D",
    brackets: Sequence[tuple[int, int]] = ((1, 2), (3, 5), (6, 11)),
    freq: str = "M",
    currency: str = "",
    title: str = "Cohort explorer",
    **load_kwargs: Any,
) -> CohortExplorer:
    """Build the cohort explorer app (definitions §2-§4).

    Parameters
    ----------
    data : "sample", path, DataFrame, Transactions or Subscriptions
        A loaded log, or anything :func:`retainkit.load_transactions` reads
        (then ``load_kwargs`` map the columns: ``customer_id=``,
        ``timestamp=``, ``amount=``, ``segments=``, ``date_format=``, ``tz=``,
        ``as_of=``...; ``load_segments=[...]`` for the segment columns to load).
        "sample" is the bundled sample.
    segments : list of str, optional
        Loaded segment columns offered for filtering / splitting (default: all
        loaded segments with at most 30 distinct values).
    window : str or int
        CRR activity window for transaction logs (definitions §4), e.g. "90D".
    brackets : sequence of (from, to)
        Age brackets for bracket retention.
    freq : str
        Initial granularity.
    currency : str
        Currency label of revenue views (e.g. "EUR").
    title : str

    Returns
    -------
    CohortExplorer
        Display it (last expression of a cell) to use it.
    """
    if isinstance(data, (Transactions, Subscriptions)) and load_kwargs:
        raise ParameterError(f"{sorted(load_kwargs)} apply only when data is a path or frame; data is already loaded.")
    load_segments = load_kwargs.pop("load_segments", None)
    if load_segments is not None:
        load_kwargs["segments"] = load_segments
    loaded = _load(data, **load_kwargs)
    return CohortExplorer(loaded, segments=segments, window=window, brackets=brackets, freq=freq,
                          currency=currency, title=title)


def error_panel(err: BaseException, *, title: str = "The app could not start") -> Any:
    """A readable message box for an error raised while building an app (for notebooks / Voila).

    Returns an ``IPython.display.HTML`` object (plain HTML output, so it also
    shows in saved notebooks); its ``.data`` holds the escaped markup.
    """
    from IPython.display import HTML

    return HTML(_CSS + '<div class="rk-app">' + _msg(f"<b>{html.escape(title)}.</b> {_error_text(err)}", "error")
                + "</div>")


# --------------------------------------------------------------------------- loyalty ROI calculator
#: (kind, min, max, step, format, group, label, unit)
_PARAM_SPECS: dict[str, tuple[str, float, float, float, str, str, str, str]] = {
    "members": ("int", 0, 10_000_000, 100, "", "Customers", "Members", "customers enrolled"),
    "baseline_retention": ("slider", 0.0, 0.99, 0.005, ".1%", "Customers", "Retention", "per period, without"),
    "retention_lift": ("slider", -0.10, 0.20, 0.001, "+.1%", "Customers", "Retention lift", "pts per period"),
    "baseline_spend": ("float", 0, 1_000_000, 1, "", "Spend", "Spend", "per customer per period"),
    "spend_lift": ("slider", -0.5, 1.0, 0.01, "+.0%", "Spend", "Spend lift", "members vs baseline"),
    "gross_margin": ("slider", 0.0, 1.0, 0.01, ".0%", "Spend", "Gross margin", "of spend"),
    "earn_rate": ("float", 0, 1000, 0.1, "", "Rewards", "Earn rate", "points per currency unit"),
    "point_value": ("float", 0, 1000, 0.001, "", "Rewards", "Point value", "cost per redeemed point"),
    "breakage": ("slider", 0.0, 1.0, 0.01, ".0%", "Rewards", "Breakage", "points never redeemed"),
    "per_member_cost": ("float", 0, 1_000_000, 0.05, "", "Costs", "Member cost", "per active member per period"),
    "fixed_cost": ("float", 0, 1e10, 100, "", "Costs", "Fixed cost", "per period"),
    "setup_cost": ("float", 0, 1e10, 1000, "", "Costs", "Setup cost", "one-off, period 0"),
    "membership_fee": ("float", 0, 1_000_000, 0.5, "", "Costs", "Member fee", "paid by members per period"),
    "horizon": ("islider", 1, 120, 1, "d", "Horizon", "Horizon", "periods"),
    "discount_rate": ("slider", 0.0, 0.05, 0.0005, ".2%", "Horizon", "Discount rate", "per period"),
}
PRESET_LABELS = {"points": "Points", "tiered": "Tiered / cumulative discounts",
                 "paid_membership": "Paid membership", "gamified": "Gamification"}


class LoyaltyROICalculator(_AppBase):
    """Loyalty-programme ROI calculator (definitions §6, "Scenario (planned) ROI").

    Build it with :func:`loyalty_roi_calculator`.

    Controls
    --------
    preset : ToggleButtons
        Programme type ("points", "tiered", "paid_membership", "gamified");
        choosing one loads its illustrative parameters into every control.
    params : dict of str -> widget
        One control per parameter of :func:`retainkit.loyalty.scenario_roi`
        (names as in :data:`retainkit.loyalty.PARAMETERS`); rates are shares
        (0.02 = 2 points), amounts are per period.

    Outputs
    -------
    result : ScenarioResult
        :func:`retainkit.loyalty.scenario_roi` for the current values.
    grid : DataFrame
        :func:`retainkit.loyalty.sensitivity` ROI grid (retention lift x breakage).
    summary : HTML
        ROI, NPV, payback period, break-even retention lift, programme cost.
    views : Tab
        "Cumulative cash", "Sensitivity", "Table"; ``outputs`` maps
        "cash", "sensitivity", "table" to their widgets.
    status : HTML
        Messages; a bad combination (e.g. retention + lift >= 100 %) is
        explained here and the previous results stay.
    """

    def __init__(self, preset: str = "points", *, currency: str = "", period: str = "month",
                 title: str = "Loyalty-programme ROI", **overrides: Any) -> None:
        super().__init__()
        if preset not in loyalty.PRESETS:
            raise ParameterError(f"preset={preset!r}: use one of {sorted(loyalty.PRESETS)}.")
        unknown = sorted(set(overrides) - set(loyalty.PARAMETERS))
        if unknown:
            raise ParameterError(f"unknown scenario parameter(s) {unknown}; the parameters are {list(loyalty.PARAMETERS)}.")
        self.currency = currency
        self.period = period
        self.title = title
        self.result: loyalty.ScenarioResult | None = None
        self.grid = pd.DataFrame()
        self._specs: dict[str, dict[str, Any]] = {}
        self._build(preset)
        values = loyalty.preset_parameters(preset)
        values.update(overrides)
        self._set_values(values)
        self._wire()
        self.update()

    def _build(self, preset: str) -> None:
        style = {"description_width": "104px"}
        self.preset = w.ToggleButtons(options=[(PRESET_LABELS.get(k, k), k) for k in loyalty.PRESETS], value=preset,
                                      style={"button_width": "auto"})
        self.params: dict[str, w.Widget] = {}
        groups: dict[str, list[w.Widget]] = {}
        cur = f" {self.currency}" if self.currency else ""
        for name, (kind, lo, hi, step, fmt, group, label, unit) in _PARAM_SPECS.items():
            tip = loyalty.PARAMETERS[name]
            common = dict(description=label, style=style, tooltip=tip, layout=w.Layout(width="96%"))
            if kind == "slider":
                ctl = w.FloatSlider(min=lo, max=hi, step=step, readout_format=fmt, continuous_update=False, **common)
            elif kind == "islider":
                ctl = w.IntSlider(min=int(lo), max=int(hi), step=int(step), continuous_update=False, **common)
            elif kind == "int":
                ctl = w.BoundedIntText(min=int(lo), max=int(hi), step=int(step), **common)
            else:
                ctl = w.BoundedFloatText(min=lo, max=hi, step=step, **common)
            u = unit.replace("currency unit", f"currency unit{cur}")
            if name in ("baseline_spend", "per_member_cost", "fixed_cost", "setup_cost", "membership_fee", "point_value") and cur:
                u = f"{self.currency}, {u}"
            unit_label = w.HTML(f'<span class="rk-howto" style="font-size:11px">{html.escape(u)}</span>',
                                layout=w.Layout(margin="-4px 0 4px 108px"))
            self.params[name] = ctl
            groups.setdefault(group, []).extend([ctl, unit_label])
        self.controls: dict[str, w.Widget] = {"preset": self.preset, **self.params}
        side_children: list[w.Widget] = []
        for g, items in groups.items():
            side_children.append(w.HTML(f'<div class="rk-group">{html.escape(g)}</div>'))
            side_children.extend(items)
        side = w.VBox(side_children, layout=w.Layout(width="360px", flex="0 0 360px", margin="0 14px 0 0"))
        side.add_class("rk-side")
        self.summary = w.HTML()
        self.status = w.HTML()
        self.status.add_class("rk-status")
        self.outputs: dict[str, w.Widget] = {"cash": w.Output(), "sensitivity": w.Output(), "table": w.HTML()}
        self.views = w.Tab(children=[self.outputs["cash"], self.outputs["sensitivity"],
                                     w.Box([self.outputs["table"]], layout=w.Layout(max_height="520px", overflow="auto"))])
        for i, t in enumerate(("Cumulative cash", "Sensitivity", "Table")):
            self.views.set_title(i, t)
        self._loader = w.Output(layout=w.Layout(height="0px", overflow="hidden"))
        _show_html(self._loader, _vega_loader_html())
        head = w.HTML(
            _CSS + '<div class="rk-head">' + (f'<h3>{html.escape(self.title)}</h3>' if self.title else '') +
            '<p class="rk-howto">Pick a programme type to load illustrative numbers (not benchmarks), then replace '
            f'them with yours. All rates and amounts are per {html.escape(self.period)}; lifts are for members versus the '
            'same customers without the programme (definitions §6).</p></div>')
        main = w.VBox([self.summary, self.status, self.views], layout=w.Layout(flex="1 1 auto", min_width="0"))
        self.widget = w.VBox([head, self.preset, w.HBox([side, main], layout=w.Layout(align_items="flex-start")),
                              self._loader])
        self.widget.add_class("rk-app")

    def _wire(self) -> None:
        self.preset.observe(self._guard(self._on_preset), names="value")
        for ctl in self.params.values():
            ctl.observe(self._guard(lambda change: self.update()), names="value")
        self.views.observe(self._guard(lambda change: self._render_visible()), names="selected_index")

    def _set_values(self, values: Mapping[str, Any]) -> None:
        with self._hold():
            for name, v in values.items():
                ctl = self.params[name]
                if isinstance(ctl, (w.FloatSlider, w.BoundedFloatText, w.BoundedIntText, w.IntSlider)):
                    if v < ctl.min or v > ctl.max:  # widen the range rather than silently clipping
                        if v < ctl.min:
                            ctl.min = v
                        else:
                            ctl.max = v
                ctl.value = int(v) if isinstance(ctl, (w.IntSlider, w.BoundedIntText)) else float(v)

    def _on_preset(self, change: Any) -> None:
        self._set_values(loyalty.preset_parameters(self.preset.value))
        self.update()

    def parameters(self) -> dict[str, float]:
        """Current parameter values (ready for ``scenario_roi(**params)``)."""
        return {name: ctl.value for name, ctl in self.params.items()}

    def update(self) -> None:
        """Recompute the scenario and sensitivity grid; redraw the visible tab."""
        if self._holding:
            return
        p = self.parameters()
        result = loyalty.scenario_roi(**p)
        top = max(2 * p["retention_lift"], 0.01) if p["retention_lift"] > 0 else 0.05
        top = min(top, 0.99 - p["baseline_retention"])
        lifts = np.round(np.linspace(0.0, max(top, 0.0), 9), 6)
        grid = loyalty.sensitivity(**p, retention_lifts=lifts)
        self.result, self.grid = result, grid
        self.status.value = ""
        self.summary.value = self._summary_html()
        self._stale = {"cash", "sensitivity", "table"}
        self._render_visible()

    def chart(self, name: str) -> Any:
        """The Altair chart "cash" or "sensitivity" for the current values."""
        if name == "cash":
            return cumulative_cash_chart(self.result)
        if name == "sensitivity":
            return roi_sensitivity_chart(self.grid)
        raise ParameterError(f"chart name {name!r} must be 'cash' or 'sensitivity'.")

    def _render_visible(self) -> None:
        names = ("cash", "sensitivity", "table")
        name = names[self.views.selected_index or 0]
        if name not in self._stale:
            return
        if name == "table":
            self._render_table()
            return
        self._specs[name] = _show_chart(self.outputs[name], self.chart(name), name)
        self._stale.discard(name)

    def render_all(self) -> None:
        """Draw every view now."""
        for name in ("cash", "sensitivity"):
            self._specs[name] = _show_chart(self.outputs[name], self.chart(name), name)
        self._stale = {"table"}
        self._render_table()

    def _render_table(self) -> None:
        cols = ["period", "baseline_customers", "program_customers", "incremental_customers",
                "incremental_gross_profit", "reward_cost", "other_costs", "membership_fees", "cash_flow",
                "cumulative_discounted_cash"]
        self.outputs["table"].value = _num_table_html(
            self.result.table[cols], caption=f"Per {self.period}; amounts{' in ' + self.currency if self.currency else ''}, "
            "received at the end of each period (definitions §6).")
        self._stale.discard("table")

    def _summary_html(self) -> str:
        s = self.result.summary
        cur = f" {html.escape(self.currency)}" if self.currency else ""

        def kpi(label: str, value: str, note: str = "", good: bool | None = None) -> str:
            cls = "" if good is None else (" rk-good" if good else " rk-bad")
            return (f'<div class="rk-kpi"><div class="rk-kpi-label">{label}</div>'
                    f'<div class="rk-kpi-value{cls}">{value}</div><div class="rk-kpi-note">{note}</div></div>')

        roi = s["roi"]
        roi_txt = "n/a" if roi is None or np.isnan(roi) else f"{roi:+.0%}"
        pb = s["payback_period"]
        be = s["break_even_retention_lift"]
        be_txt = "none in range" if be is None or np.isnan(be) else f"{be * 100:+.2f} pts"
        cards = [
            kpi("ROI", roi_txt, "(PV profit - cost) / cost", None if roi_txt == "n/a" else roi >= 0),
            kpi("NPV", f"{s['npv']:,.0f}{cur}", "present value, after setup", s["npv"] >= 0),
            kpi("Payback", "not reached" if pb is None else f"{self.period} {pb}", "discounted cumulative cash >= 0",
                pb is not None),
            kpi("Break-even lift", be_txt, "retention lift with NPV = 0"),
            kpi("Programme cost", f"{s['total_program_cost']:,.0f}{cur}", "PV, net of fees, incl. setup"),
            kpi("Subsidy", f"{s['reward_cost_on_baseline_spend']:,.0f}{cur}",
                "PV paid on spend that happens anyway"),
        ]
        return _CSS + '<div class="rk-kpis">' + "".join(cards) + "</div>"


def loyalty_roi_calculator(preset: str = "points", *, currency: str = "", period: str = "month",
                           title: str = "Loyalty-programme ROI", **overrides: Any) -> LoyaltyROICalculator:
    """Build the loyalty-ROI calculator app (definitions §6).

    Parameters
    ----------
    preset : {"points", "tiered", "paid_membership", "gamified"}
        Programme type whose illustrative parameters fill the controls.
    currency : str
        Currency label for amounts.
    period : str
        Name of one period ("month"); every rate and amount is per period.
    title : str
        Heading of the app ("" for none).
    **overrides
        Starting values for any parameter of :func:`retainkit.loyalty.scenario_roi`.

    Returns
    -------
    LoyaltyROICalculator
    """
    return LoyaltyROICalculator(preset, currency=currency, period=period, title=title, **overrides)


__all__ = [
    "CohortExplorer",
    "LoyaltyROICalculator",
    "bracket_chart",
    "chart_output_html",
    "chart_spec",
    "cohort_explorer",
    "error_panel",
    "loyalty_roi_calculator",
]
