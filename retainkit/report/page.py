"""The report page: escaped HTML pieces (KPI tiles, tables, charts) shown inside the notebook.

:class:`Page` turns the computed :class:`~retainkit.report.analysis.ReportData`
into escaped HTML. Charts work offline: the Vega libraries are embedded once
(``charts="interactive"``) or each chart is rendered to inline SVG
(``charts="svg"``); no script is ever loaded from the network.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from .. import postgres as pg
from .._version import __version__
from ..charts.embed import chart_spec, script_json, vega_bundle, vl_version
from ..params import INTERNAL_PARAMS, SCHEMA, ReportParams
from .analysis import FREQ_WORD, Change, ReportData, latest_crr
from .format import esc, money, pct, pp

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def table_html(df: pd.DataFrame, *, formats: Mapping[str, Any] | None = None, caption: str = "",
               numeric: Sequence[str] = (), small: Sequence[str] = (), headers: Mapping[str, str] | None = None) -> str:
    """An escaped HTML table (every cell and header is escaped)."""
    formats = dict(formats or {})
    headers = dict(headers or {})
    cols = list(df.columns)
    out = ['<table class="rk-table">']
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append("<thead><tr>" + "".join(
        f'<th class="{"rk-num" if c in numeric else ""}">{esc(headers.get(c, c))}</th>' for c in cols) + "</tr></thead><tbody>")
    for row in df.itertuples(index=False, name=None):
        cells = []
        for c, v in zip(cols, row):
            f = formats.get(c)
            if v is None or (isinstance(v, float) and not np.isfinite(v)):
                text = "–"
            elif callable(f):
                text = f(v)
            elif f:
                text = f.format(v)
            else:
                text = str(v)
            cls = "rk-num" if c in numeric else ("rk-small" if c in small else "")
            cells.append(f'<td class="{cls}">{esc(text)}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


class Page:
    """Builds the report's HTML pieces and displays them in the notebook.

    All user-supplied text (title, column names, segment values, file names)
    is escaped. Chart ids are numbered, never random, so reruns give identical
    HTML. ``charts="interactive"`` embeds the Vega bundle once (in
    :meth:`header`) and draws each chart with ``vegaEmbed`` (tooltips);
    ``charts="svg"`` renders each chart to inline SVG in the kernel.
    """

    def __init__(self, params: ReportParams):
        self.params = params
        self.mode = params.charts
        self._n = 0
        self._bundle_done = False

    # -- output
    @staticmethod
    def show(html: str) -> None:
        """Display an HTML string in the notebook."""
        from IPython.display import HTML, display

        display(HTML(html))

    # -- pieces
    def bundle_html(self) -> str:
        if self.mode != "interactive" or self._bundle_done:
            return ""
        self._bundle_done = True
        return f'<script type="text/javascript">{vega_bundle()}</script>'

    def header_html(self, data: ReportData) -> str:
        p, s = self.params, data.summary
        css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
        meta = [f"Data as of {data.as_of.tz_convert(p.tz):%Y-%m-%d %H:%M} ({p.tz})",
                f"{FREQ_WORD[p.freq]}ly periods",
                f"{s.rows_kept:,} transactions of {s.customers:,} customers",
                f"source: {s.source if pg.is_postgres_url(str(s.source)) else Path(str(s.source)).name}"]
        if p.generated_at:
            meta.append(f"generated at {p.generated_at}")
        return (f"<style>{css}</style>" + self.bundle_html()
                + f'<div class="rk-header"><h1>{esc(p.title)}</h1><div class="rk-meta">'
                + "".join(f"<span>{esc(m)}</span>" for m in meta) + "</div></div>")

    def kpis_html(self, data: ReportData) -> str:
        tiles = []
        for k in data.kpis.values():
            delta = f'<div class="rk-delta {k.delta_class}">{esc(k.delta)}</div>' if k.delta else ""
            value = "" if not np.isfinite(k.value) else repr(float(k.value))
            tiles.append(
                f'<div class="rk-kpi" data-kpi="{esc(k.key)}" data-value="{value}">'
                f'<div class="rk-kpi-label">{esc(k.label)}</div><div class="rk-kpi-value">{esc(k.display)}</div>'
                f'<div class="rk-kpi-sub">{esc(k.sub)}</div>{delta}</div>')
        return '<div class="rk-kpis">' + "".join(tiles) + "</div>"

    def changes_html(self, data: ReportData) -> str:
        sig = [c for c in data.changes if c.significant]
        quiet = [c for c in data.changes if not c.significant]

        def item(c: Change) -> str:
            word = "rose" if c.diff > 0 else "fell"
            cls = "rk-good" if c.good else "rk-bad"
            return (f'<li class="{cls if c.significant else ""}"><b>{esc(c.metric)}</b> {word if c.significant else "moved"} from '
                    f"{esc(pct(c.then))} ({esc(c.then_label)}) to {esc(pct(c.now))} ({esc(c.now_label)})"
                    f'<span class="rk-detail">difference {esc(pp(c.diff))}, 95% interval {esc(pp(c.lo))} to {esc(pp(c.hi))}</span></li>')

        parts = []
        if sig:
            parts.append('<ul class="rk-changes">' + "".join(item(c) for c in sig) + "</ul>")
        elif data.changes:
            parts.append('<p class="rk-note">No change is larger than noise: every 95% interval of a difference below includes 0.</p>')
        else:
            parts.append('<p class="rk-note">Not enough periods yet to compare anything.</p>')
        if quiet:
            parts.append(f'<details class="rk-details"><summary>Compared and within noise ({len(quiet)})</summary>'
                         '<ul class="rk-changes">' + "".join(item(c) for c in quiet) + "</ul></details>")
        if data.params.previous_report and not data.previous:
            parts.append('<p class="rk-note">No previous report was found to compare with.</p>')
        return "".join(parts)

    def chart_html(self, chart: Any) -> str:
        """HTML of one chart: a vegaEmbed call (interactive) or inline SVG."""
        self._n += 1
        spec = chart_spec(chart)
        cid = f"rk-chart-{self._n}"
        if self.mode == "svg":
            import vl_convert as vlc

            svg = vlc.vegalite_to_svg(spec, vl_version=vl_version())
            return f'<div class="rk-chart" id="{cid}">{svg}</div>'
        return (f'<div class="rk-chart" id="{cid}"></div>'
                '<script type="text/javascript">(function(){'
                f'var el=document.getElementById("{cid}");var spec={script_json(spec)};'
                'if(typeof window.vegaEmbed!=="function"){el.textContent="This chart needs JavaScript.";return;}'
                'window.vegaEmbed(el,spec,{renderer:"svg",actions:false,mode:"vega-lite"})'
                '.catch(function(e){el.className+=" rk-chart-error";el.textContent="Chart failed: "+e;console.error(e);});'
                "})();</script>")

    def data_quality_html(self, data: ReportData) -> str:
        s = data.summary
        frame = s.to_frame()
        parts = [f'<p class="rk-note">Read {s.rows_read:,} rows, analysed {s.rows_kept:,}, dropped {s.rows_dropped:,} '
                 f"(definitions §1: nothing is dropped silently).</p>"]
        for w in data.warnings:
            parts.append(f'<div class="rk-warning">{esc(w)}</div>')
        parts.append(table_html(
            frame, formats={"rows": "{:,}", "share": lambda v: f"{v:.2%}"}, numeric=("rows", "share"), small=("examples",),
            headers={"item": "Item", "rows": "Rows", "share": "Share", "what": "Meaning", "examples": "Examples"}))
        cols = s.columns if isinstance(getattr(s, "columns", None), dict) else {}
        if cols:
            parts.append(table_html(pd.DataFrame({"role": list(cols), "column": list(cols.values())}),
                                    caption="Column mapping", headers={"role": "Role", "column": "Column in the data"}))
        return "".join(parts)

    def crr_table_html(self, data: ReportData, last: int = 6) -> str:
        t = latest_crr(data.crr).tail(last)
        cols = ["period", "start_customers", "retained", "lost", "new", "reactivated", "end_customers", "crr", "crr_lo", "crr_hi", "crr_counts"]
        t = t.loc[:, [c for c in cols if c in t.columns]].iloc[::-1]
        return table_html(t, caption=f"Latest periods (activity window {data.params.window})",
                          formats={c: "{:,}" for c in cols[1:7]} | {c: pct for c in ("crr", "crr_lo", "crr_hi", "crr_counts")},
                          numeric=cols[1:],
                          headers={"period": "Period", "start_customers": "S", "retained": "Retained", "lost": "Lost",
                                   "new": "N (new)", "reactivated": "Reactivated", "end_customers": "E",
                                   "crr": "CRR", "crr_lo": "95% low", "crr_hi": "95% high", "crr_counts": "(E−N)/S"})

    def segment_table_html(self, data: ReportData) -> str:
        if data.segment_average is None:
            return ""
        seg = data.params.segment
        a = data.segment_average
        rows = []
        crr = data.segment_crr
        for name, g in a.groupby(seg, sort=False):
            r0 = g[g["age"] == 0]
            r1 = g[g["age"] == 1]
            row = {"segment": str(name), "customers": float(r0["size"].iloc[0]) if len(r0) else math.nan,
                   "ret1": float(r1["retention"].iloc[0]) if len(r1) else math.nan,
                   "ret1_ci": f"{pct(float(r1['retention_lo'].iloc[0]))} – {pct(float(r1['retention_hi'].iloc[0]))}" if len(r1) else "–"}
            if crr is not None:
                c = latest_crr(crr[crr[seg].astype(str) == str(name)])
                row["crr"] = float(c["crr"].iloc[-1]) if len(c) else math.nan
                row["crr_period"] = str(c["period"].iloc[-1]) if len(c) else ""
            if "cum_revenue_per_customer" in g.columns and len(g):
                row["cum_rev"] = float(g.sort_values("age")["cum_revenue_per_customer"].iloc[min(len(g), 12) - 1])
            rows.append(row)
        df = pd.DataFrame(rows).sort_values("customers", ascending=False, kind="stable")
        unit = FREQ_WORD[data.params.freq]
        return table_html(df, caption=f"Segments by {seg}",
                          formats={"customers": "{:,.0f}", "ret1": pct, "crr": pct,
                                   "cum_rev": lambda v: money(v, data.params.currency)},
                          numeric=("customers", "ret1", "ret1_ci", "crr", "cum_rev"),
                          headers={"segment": seg, "customers": "Customers", "ret1": f"{unit.capitalize()}-1 retention",
                                   "ret1_ci": "95% interval", "crr": "Latest CRR", "crr_period": "Period",
                                   "cum_rev": f"Revenue per customer by age {min(11, int(a['age'].max()))}"})

    def methodology_html(self, data: ReportData) -> str:
        p = data.params
        defs = [
            ("Cohort", "the period of a customer's first purchase (refunds never start a cohort) — definitions §2."),
            ("Classic retention R(c,k)", "share of cohort c with a purchase at age k; only complete periods are shown, unobserved cells are blank, never 0 — definitions §2, §3."),
            ("Average curve", "R(k) = Σ active / Σ cohort size over the cohorts observed at age k (size-weighted, never a mean of rates) — definitions §3."),
            ("Intervals", "95% Wilson score intervals for every rate; differences use Newcombe's interval built from them, and a change is listed only when that interval excludes 0 — definitions §3."),
            ("CRR", f"retained / S, where a customer is 'a customer' at a boundary when they bought in the trailing {p.window} window; S, E, N and reactivated are shown so (E−N)/S can be compared — definitions §4."),
            ("Churn", "1 − CRR — definitions §4."),
            ("Repeat purchase rate", "share of customers with 2 or more orders — definitions §4."),
            ("Revenue retention", "revenue of a cohort at age k / its revenue at age 0, refunds included; pooled = Σ revenue at k / Σ revenue at 0 — definitions §3."),
            ("CLV estimate", f"margin multiple m·r/(1+d−r) with margin received at the end of each {FREQ_WORD[p.freq]}: m = margin share × revenue per active customer per {FREQ_WORD[p.freq]}, r = mean CRR, both over the last 12 {FREQ_WORD[p.freq]}s; d = the yearly discount rate per {FREQ_WORD[p.freq]} — definitions §5. A rough guide, not a forecast."),
        ]
        parts = ['<table class="rk-table"><tbody>' + "".join(
            f"<tr><td><b>{esc(a)}</b></td><td>{esc(b)}</td></tr>" for a, b in defs) + "</tbody></table>"]
        rows = [{"name": x.name, "value": repr(getattr(p, x.name)), "help": x.help} for x in SCHEMA if x.name not in INTERNAL_PARAMS]
        parts.append(table_html(pd.DataFrame(rows), caption="Parameters of this run", small=("help",),
                                headers={"name": "Parameter", "value": "Value", "help": "Meaning"}))
        parts.append(f'<div class="rk-footer">retainkit {esc(__version__)} · as of {esc(data.as_of_label)}'
                     + (f" · generated at {esc(p.generated_at)}" if p.generated_at else "") + "</div>")
        return "".join(parts)

    # -- display shortcuts used by the notebook
    def header(self, data: ReportData) -> None:
        self.show(self.header_html(data))

    def kpis(self, data: ReportData) -> None:
        self.show(self.kpis_html(data))

    def changes(self, data: ReportData) -> None:
        self.show(self.changes_html(data))

    def chart(self, chart: Any) -> None:
        self.show(self.chart_html(chart))

    def note(self, text: str) -> None:
        self.show(f'<p class="rk-note">{esc(text)}</p>')

    def html(self, html: str) -> None:
        self.show(html)



__all__ = ["TEMPLATES", "Page", "table_html"]
