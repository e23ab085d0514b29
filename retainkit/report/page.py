"""The report page: escaped HTML pieces (KPI tiles, tables, charts) shown inside the notebook.

:class:`Page` turns the computed :class:`~retainkit.report.analysis.ReportData`
into escaped HTML. Charts work offline: the Vega libraries are embedded once
(``charts="interactive"``) or each chart is rendered to inline SVG
(``charts="svg"``); no script is ever loaded from the network.
"""

from __future__ import annotations

import math
import re
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .. import postgres as pg
from .._version import __version__
from ..charts.embed import chart_spec, script_json, vega_bundle, vl_version
from ..clv import most_valuable_at_risk
from ..definitions import citations, embed_html, link_citations
from ..i18n import MISSING, N_, Translator, translator
from ..inputs import NOTES, REASONS
from ..params import INTERNAL_PARAMS, SCHEMA, ReportParams
from .analysis import ReportData, warning_note
from .changes import Change
from .format import esc
from .kpis import AGE1_RETENTION, latest_crr, window_days

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
DEFAULT_TITLE = N_("Customer retention report")
PERIODS_WORD = {
    "D": N_("daily periods"),
    "W": N_("weekly periods"),
    "M": N_("monthly periods"),
    "Q": N_("quarterly periods"),
    "Y": N_("yearly periods"),
}
UNIT_WORD = {"D": N_("day"), "W": N_("week"), "M": N_("month"), "Q": N_("quarter"), "Y": N_("year")}
#: rows of the data summary that are not a drop reason or a note (retainkit.data)
SUMMARY_ITEMS = {"rows_read": N_("rows read"), "rows_kept": N_("rows kept")}
SUMMARY_MEANINGS = {"rows_read": N_("rows in the input"), "rows_kept": N_("rows analysed")}
COLUMN_ROLES = {
    "customer_id": N_("customer id"),
    "timestamp": N_("order date/time"),
    "amount": N_("amount"),
    "order_id": N_("order id"),
    "start": N_("start"),
    "end": N_("end"),
    "mrr": N_("MRR"),
}

#: section headings and introductions of the report notebook (``page.section(key)``)
SECTIONS = {
    "kpis": (N_("Headline figures"), ""),
    "changes": (
        N_("What changed"),
        N_(
            "Compared with the previous period and, when given, the previous report. A change is listed only "
            "when the 95% interval of the difference excludes zero; everything else is noise at this sample size."
        ),
    ),
    "cohorts": (
        N_("Cohort retention"),
        N_(
            "Each row is an acquisition cohort (customers by the period of their first purchase), each column an "
            "age in periods since then. A cell is the share of the cohort that bought at that age; cells not yet "
            "observed are blank, and the pale cells are the period in progress (not complete yet). The last "
            "row, all cohorts, is the size-weighted average. In the interactive report, hover a cell for the "
            "cohort size, active customers and the 95% interval."
        ),
    ),
    "crr": (
        N_("Customer retention rate"),
        N_(
            "The customer retention rate (CRR) is the share of the customers at the start of a period who are still "
            "customers at its end; a customer counts while they bought within the activity window. S, E, N and "
            "reactivated customers are shown so the textbook formula (E − N) / S can be checked against it."
        ),
    ),
    "revenue": (
        N_("Revenue"),
        N_(
            "Revenue retention compares a cohort's revenue at each age with its first-period revenue (refunds "
            "included); cumulative revenue per customer is the empirical lifetime value curve."
        ),
    ),
    "segments": (N_("Segments"), ""),
    "at_risk": (
        N_("Customers at risk"),
        N_(
            "The customers who spent the most and are the least likely to still be buying, with the purchases "
            "expected from them in the next period."
        ),
    ),
    "quality": (
        N_("Data quality"),
        N_("What was read, what was kept, what was dropped and why. Nothing is dropped silently."),
    ),
    "method": (
        N_("Methodology"),
        N_(
            "Every figure follows retainkit's retention definitions (the section numbers below refer to them). "
            "Rates carry 95% Wilson intervals; only complete periods are used."
        ),
    ),
}

DEFINITIONS_TITLE = N_("The definitions cited on this page")

#: notes the notebook shows by key (``page.note("no_amount")``)
NOTES_BY_KEY = {
    "no_amount": N_("No amount column was mapped (parameter amount), so there are no revenue views."),
    "no_segment": N_("No segment column was given (parameter segment)."),
}

#: the methodology table: term, definition ({days}: activity window, {unit}: the period)
METHOD = (
    (N_("Cohort"), N_("the period of a customer's first purchase (refunds never start a cohort) — definitions §2.")),
    (
        N_("Classic retention R(c,k)"),
        N_(
            "share of cohort c with a purchase at age k; only complete periods are shown, unobserved cells are blank, "
            "never 0 — definitions §2, §3."
        ),
    ),
    (
        N_("Average curve"),
        N_(
            "R(k) = Σ active / Σ cohort size over the cohorts observed at age k (size-weighted, never a mean of rates) "
            "— definitions §3."
        ),
    ),
    (
        N_("Intervals"),
        N_(
            "95% Wilson score intervals for every rate; differences use Newcombe's interval built from them, and a change "
            "is listed only when that interval excludes 0 — definitions §3."
        ),
    ),
    (
        N_("Customer retention rate (CRR)"),
        N_(
            "CRR = retained / S. S: customers at the start of the period; E: customers at its end; N: new customers "
            "during it. A customer counts at a boundary when they bought in the trailing {days}-day activity window. "
            "S, E, N and reactivated customers are shown so the textbook (E − N) / S can be compared — definitions §4."
        ),
    ),
    (N_("Churn"), N_("1 − CRR — definitions §4.")),
    (N_("Repeat purchase rate"), N_("share of customers with 2 or more orders — definitions §4.")),
    (
        N_("Revenue retention"),
        N_(
            "revenue of a cohort at age k / its revenue at age 0, refunds included; pooled = Σ revenue at k / Σ revenue "
            "at 0 — definitions §3."
        ),
    ),
    (
        N_("Value of a customer (customer lifetime value, CLV)"),
        N_(
            "what a customer active now brings in margin over the stated horizon, discounted: m = gross margin share × "
            "revenue per active customer per period, r = share of the active customers still active a period later "
            "(pooled over the last year), each period's margin counted at mid-period, Σ m·r^(i−½)/(1+d)^(i−½). Periods "
            "are as long as the activity window, whatever the report's period, so monthly and quarterly reports agree "
            "— definitions §5 (5.6, “Value of a customer over a horizon”). A rough guide, not a forecast."
        ),
    ),
)


def table_html(
    df: pd.DataFrame,
    *,
    formats: Mapping[str, Any] | None = None,
    caption: str = "",
    numeric: Sequence[str] = (),
    small: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
) -> str:
    """An escaped HTML table (every cell and header is escaped)."""
    formats = dict(formats or {})
    headers = dict(headers or {})
    cols = list(df.columns)
    out = ['<table class="rk-table">']
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append(
        "<thead><tr>"
        + "".join(f'<th class="{"rk-num" if c in numeric else ""}">{esc(headers.get(c, c))}</th>' for c in cols)
        + "</tr></thead><tbody>"
    )
    for row in df.itertuples(index=False, name=None):
        cells = []
        for c, v in zip(cols, row):
            f = formats.get(c)
            if v is None or (isinstance(v, float) and not np.isfinite(v)):
                text = MISSING
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


#: parameters holding a path of the machine that ran the report: the page shows only the last part
PATH_PARAMS = ("data", "previous_report")


def _shown_value(name: str, value: Any) -> Any:
    """A parameter value as the page shows it: file and folder names without the machine's directories."""
    if name in PATH_PARAMS and isinstance(value, str) and value and value not in ("sample", "auto"):
        return Path(value).name
    return value


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
        self.tr: Translator = translator(params.lang)
        self._n = 0
        self._bundle_done = False

    # -- language
    def _(self, message: str) -> str:
        """``message`` in the report language."""
        return self.tr.gettext(message)

    def pct(self, x: float, digits: int = 1) -> str:
        return self.tr.format_percent(x, digits)

    def num(self, x: float, digits: int = 0) -> str:
        return self.tr.format_number(x, digits)

    def period(self, label: Any) -> str:
        """A period label (``'2024-11'``) in the report language (``'Νοε 2024'``)."""
        return self.tr.period_label(label, self.params.freq)

    @property
    def title(self) -> str:
        """The report title; the default title is translated, a title the user chose is shown as given."""
        p = self.params
        return self._(DEFAULT_TITLE) if p.title == DEFAULT_TITLE else p.title

    # -- warnings of the notebook's cells
    def collect_warnings(self, data: ReportData) -> None:
        """Turn Python warnings shown by later cells into notes of ``data.warnings`` instead of output.

        Called once by the report notebook's setup cell: a warning that would
        print into the page (with a file path of the machine) becomes a
        readable note under Data quality and in ``report-summary.json``
        (status "warning"). It replaces :func:`warnings.showwarning` in the
        report's own kernel, which exists only for this run.
        """

        def record(message, category, filename, lineno, file=None, line=None) -> None:  # noqa: ANN001
            note = warning_note(message, category)
            if note not in data.warnings:
                data.warnings.append(note)

        warnings.showwarning = record

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
        p, s, _ = self.params, data.summary, self._
        css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
        as_of = data.as_of.tz_convert(p.tz).tz_localize(None).floor("min").to_pydatetime()
        meta = [
            _("Data as of {datetime} ({tz})").format(datetime=self.tr.format_datetime(as_of), tz=p.tz),
            _(PERIODS_WORD[p.freq]),
            _("{rows} transactions of {customers} customers").format(
                rows=self.num(s.rows_kept), customers=self.num(s.customers)
            ),
        ]
        if s.first_timestamp is not None:
            meta.append(
                _("first transaction {first}, last {last}").format(
                    first=self.tr.format_date(s.first_timestamp.tz_convert(p.tz).date(), "medium"),
                    last=self.tr.format_date(s.last_timestamp.tz_convert(p.tz).date(), "medium"),
                )
            )
        shown = s.source if pg.is_postgres_url(str(s.source)) else Path(str(s.source)).name
        meta.append(_("source: {file}").format(file=shown))
        if p.generated_at:
            meta.append(_("generated at {stamp}").format(stamp=p.generated_at))
        return (
            f'<style>{css}</style><div class="rk-lang" data-lang="{esc(p.lang)}"></div>'
            + self.bundle_html()
            + f'<div class="rk-header"><h1>{esc(self.title)}</h1><div class="rk-meta">'
            + "".join(f"<span>{esc(m)}</span>" for m in meta)
            + "</div></div>"
            + self.banner_html(data)
            + self.history_banner_html(data)
        )

    def history_banner_html(self, data: ReportData) -> str:
        """A banner when closed periods changed and the run accepted it (``accept_history_change``).

        In English in every report language (the history check's texts are not in the catalogues yet).
        """
        check = data.history_check
        if check is None or check.status != "accepted":
            return ""
        items = "".join(f"<li>{esc(line)}</li>" for line in check.lines())
        return (
            f'<div class="rk-warning rk-history-accepted" data-history="accepted" lang="en">'
            f"<b>{esc(check.summary())}</b> Figures of periods this report shares with the previous one were "
            f"restated; the run was told to publish anyway.<ul>{items}</ul></div>"
        )

    def _warning_item(self, note: str) -> str:
        """A warning note: the library's diagnostic text, in English (marked ``lang="en"`` in other languages)."""
        return esc(note) if self.tr.lang == "en" else f'<span lang="en">{esc(note)}</span>'

    def banner_html(self, data: ReportData) -> str:
        """The warning banner at the top of the page ('' when the run raised no warning)."""
        if not data.warnings:
            return ""
        _ = self._
        items = "".join(f"<li>{self._warning_item(w)}</li>" for w in data.warnings)
        n = len(data.warnings)
        raised = self.tr.ngettext(
            "This run raised {n} warning (details under Data quality):",
            "This run raised {n} warnings (details under Data quality):",
            n,
        ).format(n=self.num(n))
        return (
            f'<div class="rk-warning rk-banner" role="alert"><b>{esc(_("Check before you rely on these figures."))}</b> '
            f"{esc(raised)}<ul>{items}</ul></div>"
        )

    def section_html(self, key: str) -> str:
        """A section heading and its introduction in the report language (:data:`SECTIONS`)."""
        heading, intro = SECTIONS[key]
        out = f'<h2 class="rk-section" id="{esc(key)}">{esc(self._(heading))}</h2>'
        if intro:
            out += f'<p class="rk-intro">{esc(self._(intro))}</p>'
        return out

    def kpis_html(self, data: ReportData) -> str:
        tiles = []
        for k in data.kpis.values():
            delta = f'<div class="rk-delta {k.delta_class}">{esc(k.delta)}</div>' if k.delta else ""
            value = "" if not np.isfinite(k.value) else repr(float(k.value))
            tiles.append(
                f'<div class="rk-kpi" data-kpi="{esc(k.key)}" data-value="{value}">'
                f'<div class="rk-kpi-label">{esc(k.label)}</div><div class="rk-kpi-value">{esc(k.display)}</div>'
                f'<div class="rk-kpi-sub">{esc(k.sub)}</div>{delta}</div>'
            )
        return '<div class="rk-kpis">' + "".join(tiles) + "</div>"

    def changes_html(self, data: ReportData) -> str:
        sig = [c for c in data.changes if c.significant]
        quiet = [c for c in data.changes if not c.significant]

        _, points = self._, self.tr.format_points

        def item(c: Change) -> str:
            cls = "rk-good" if c.good else "rk-bad"
            if not c.significant:
                sentence = _("{metric} moved from {then} ({then_label}) to {now} ({now_label})")
            elif c.diff > 0:
                sentence = _("{metric} rose from {then} ({then_label}) to {now} ({now_label})")
            else:
                sentence = _("{metric} fell from {then} ({then_label}) to {now} ({now_label})")
            text = esc(sentence).format(
                metric=f"<b>{esc(c.metric)}</b>",
                then=esc(self.pct(c.then)),
                then_label=esc(c.then_label),
                now=esc(self.pct(c.now)),
                now_label=esc(c.now_label),
            )
            detail = _("difference {diff}, 95% interval {low} to {high}").format(
                diff=points(c.diff), low=points(c.lo), high=points(c.hi)
            )
            return (
                f'<li class="{cls if c.significant else ""}">'
                + text
                + f'<span class="rk-detail">{esc(detail)}</span></li>'
            )

        parts = []
        if sig:
            parts.append('<ul class="rk-changes">' + "".join(item(c) for c in sig) + "</ul>")
        elif data.changes:
            parts.append(
                '<p class="rk-note">'
                + esc(_("No change is larger than noise: every 95% interval of a difference below includes 0."))
                + "</p>"
            )
        else:
            parts.append(f'<p class="rk-note">{esc(_("Not enough periods yet to compare anything."))}</p>')
        if quiet:
            summary = _("Compared and within noise ({n})").format(n=self.num(len(quiet)))
            parts.append(
                f'<details class="rk-details"><summary>{esc(summary)}</summary>'
                '<ul class="rk-changes">' + "".join(item(c) for c in quiet) + "</ul></details>"
            )
        if data.params.previous_report and not data.previous:
            parts.append(f'<p class="rk-note">{esc(_("No previous report was found to compare with."))}</p>')
        for note in data.notes:  # from the runner, in English
            parts.append(f'<p class="rk-note rk-previous-note" lang="en">{esc(note)}</p>')
        return "".join(parts)

    def chart_html(self, chart: Any) -> str:
        """HTML of one chart: a vegaEmbed call (interactive) or inline SVG."""
        self._n += 1
        spec = chart_spec(chart)
        spec["config"]["locale"] = self.tr.vega_locale()  # axes and tooltips write numbers like the page
        cid = f"rk-chart-{self._n}"
        needs_js = script_json(self._("This chart needs JavaScript."))
        failed = script_json(self._("Chart failed:") + " ")
        if self.mode == "svg":
            import vl_convert as vlc

            svg = vlc.vegalite_to_svg(spec, vl_version=vl_version())
            return f'<div class="rk-chart" id="{cid}">{svg}</div>'
        return (
            f'<div class="rk-chart" id="{cid}"></div>'
            '<script type="text/javascript">(function(){'
            f'var el=document.getElementById("{cid}");var spec={script_json(spec)};'
            f'if(typeof window.vegaEmbed!=="function"){{el.textContent={needs_js};return;}}'
            'window.vegaEmbed(el,spec,{renderer:"svg",actions:false,mode:"vega-lite"})'
            f'.catch(function(e){{el.className+=" rk-chart-error";el.textContent={failed}+e;console.error(e);}});'
            "})();</script>"
        )

    def _definitions_html(self, refs: Sequence[str]) -> str:
        """The cited sections of the definitions document (English only), under a heading in the report language.

        The document is the project's contract and has no translation: in a Greek or
        Armenian page its body is marked ``lang="en"``.
        """
        block = embed_html(refs, title=self._(DEFINITIONS_TITLE))
        if self.tr.lang == "en":
            return block
        return (
            block.replace("</summary>", '</summary><div lang="en">', 1).removesuffix("</details>") + "</div></details>"
        )

    def _examples(self, text: str) -> str:
        """'line 51: ...' examples of the data summary with 'line' in the report language."""
        return re.sub(r"\bline (\d+)", lambda m: self._("line {n}").format(n=m[1]), str(text))

    def data_quality_html(self, data: ReportData) -> str:
        s, _ = data.summary, self._
        frame = s.to_frame()
        items, meanings = [], []
        for item, what in zip(frame["item"], frame["what"]):
            key = str(item).removeprefix("dropped: ")
            if key in SUMMARY_ITEMS:
                items.append(_(SUMMARY_ITEMS[key]))
            elif str(item).startswith("dropped: "):
                items.append(_("dropped: {reason}").format(reason=_(REASONS[key]) if key in REASONS else key))
            else:
                items.append(_(NOTES[key]) if key in NOTES else key)
            meanings.append(
                _(REASONS[key])
                if key in REASONS
                else _(NOTES[key])
                if key in NOTES
                else _(SUMMARY_MEANINGS[key])
                if key in SUMMARY_MEANINGS
                else what
            )
        frame = frame.assign(item=items, what=meanings, examples=frame["examples"].map(self._examples))
        note = _("Read {read} rows, analysed {kept}, dropped {dropped} (definitions §1: nothing is dropped silently).")
        note = note.format(read=self.num(s.rows_read), kept=self.num(s.rows_kept), dropped=self.num(s.rows_dropped))
        parts = [f'<p class="rk-note">{link_citations(esc(note))}</p>']
        for w in data.warnings:  # the library's own diagnostic, kept in English (lang="en")
            parts.append(f'<div class="rk-warning">{esc(_("Warning:"))} {self._warning_item(w)}</div>')
        if data.history_check is not None:  # in English (not in the catalogues yet)
            parts.append(
                f'<p class="rk-note" data-history="{esc(data.history_check.status)}" lang="en">'
                f"{esc(data.history_check.summary())}</p>"
            )
        parts.append(
            table_html(
                frame,
                formats={"rows": self.num, "share": lambda v: self.pct(v, 2)},
                numeric=("rows", "share"),
                small=("examples",),
                headers={
                    "item": _("Item"),
                    "rows": _("Rows"),
                    "share": _("Share"),
                    "what": _("Meaning"),
                    "examples": _("Examples"),
                },
            )
        )
        cols = s.columns if isinstance(getattr(s, "columns", None), dict) else {}
        if cols:
            roles = [_(COLUMN_ROLES[r]) if r in COLUMN_ROLES else r for r in cols]
            parts.append(
                table_html(
                    pd.DataFrame({"role": roles, "column": list(cols.values())}),
                    caption=_("Column mapping"),
                    headers={"role": _("Role"), "column": _("Column in the data")},
                )
            )
        return "".join(parts)

    def crr_table_html(self, data: ReportData, last: int = 6) -> str:
        _ = self._
        t = latest_crr(data.crr).tail(last)
        cols = [
            "period",
            "start_customers",
            "retained",
            "lost",
            "new",
            "reactivated",
            "end_customers",
            "crr",
            "crr_lo",
            "crr_hi",
            "crr_counts",
        ]
        t = t.loc[:, [c for c in cols if c in t.columns]].iloc[::-1]
        caption = _("Latest periods ({days}-day activity window)").format(
            days=self.num(window_days(data.params.window))
        )
        return table_html(
            t,
            caption=caption,
            formats={"period": self.period}
            | {c: self.num for c in cols[1:7]}
            | {c: self.pct for c in ("crr", "crr_lo", "crr_hi", "crr_counts")},
            numeric=cols[1:],
            headers={
                "period": _("Period"),
                "start_customers": "S",
                "retained": _("Retained"),
                "lost": _("Lost"),
                "new": _("N (new)"),
                "reactivated": _("Reactivated"),
                "end_customers": "E",
                "crr": "CRR",
                "crr_lo": _("95% low"),
                "crr_hi": _("95% high"),
                "crr_counts": "(E−N)/S",
            },
        )

    def segment_table_html(self, data: ReportData) -> str:
        if data.segment_average is None:
            return ""
        _ = self._
        seg = data.params.segment
        a = data.segment_average
        rows = []
        crr = data.segment_crr
        for name, g in a.groupby(seg, sort=False):
            r0 = g[g["age"] == 0]
            r1 = g[g["age"] == 1]
            row = {
                "segment": str(name),
                "customers": float(r0["size"].iloc[0]) if len(r0) else math.nan,
                "ret1": float(r1["retention"].iloc[0]) if len(r1) else math.nan,
                "ret1_ci": f"{self.pct(float(r1['retention_lo'].iloc[0]))} – {self.pct(float(r1['retention_hi'].iloc[0]))}"
                if len(r1)
                else MISSING,
            }
            if crr is not None:
                c = latest_crr(crr[crr[seg].astype(str) == str(name)])
                row["crr"] = float(c["crr"].iloc[-1]) if len(c) else math.nan
                row["crr_period"] = self.period(c["period"].iloc[-1]) if len(c) else ""
            if "cum_revenue_per_customer" in g.columns and len(g):
                row["cum_rev"] = float(g.sort_values("age")["cum_revenue_per_customer"].iloc[min(len(g), 12) - 1])
            rows.append(row)
        df = pd.DataFrame(rows).sort_values("customers", ascending=False, kind="stable")
        return table_html(
            df,
            caption=_("Segments by {column}").format(column=seg),
            formats={
                "customers": self.num,
                "ret1": self.pct,
                "crr": self.pct,
                "cum_rev": lambda v: self.tr.format_currency(v, data.params.currency, 2),
            },
            numeric=("customers", "ret1", "ret1_ci", "crr", "cum_rev"),
            headers={
                "segment": seg,
                "customers": _("Customers"),
                "ret1": _(AGE1_RETENTION[data.params.freq]),
                "ret1_ci": _("95% interval"),
                "crr": _("Latest CRR"),
                "crr_period": _("Period"),
                "cum_rev": _("Revenue per customer by age {age}").format(age=self.num(min(11, int(a["age"].max())))),
            },
        )

    def counts_html(self, data: ReportData) -> str:
        """The triangle's counts (active customers by cohort and age) in a collapsible table (definitions §3).

        The latest ``max_cohorts`` cohorts, the period in progress marked with
        an asterisk, and the all-cohorts row from ``average_curve`` (Σ active
        over the cohorts observed at that age).
        """
        _ = self._
        t = data.cohorts_in_progress if data.cohorts_in_progress is not None else data.cohorts
        t = t.assign(partial=t["partial"].astype(bool))
        order = t.drop_duplicates("cohort").sort_values("cohort_start")["cohort"].astype(str).tolist()
        order = order[-self.params.max_cohorts :]
        t = t[t["cohort"].astype(str).isin(order)]
        ages = sorted(set(t["age"].astype(int)) | set(data.average["age"].astype(int)))
        cell = {
            (str(c), int(a)): self.num(int(n)) + (" *" if part else "")
            for c, a, n, part in zip(t["cohort"], t["age"], t["active"], t["partial"])
        }
        sizes = t.drop_duplicates("cohort").set_index(t.drop_duplicates("cohort")["cohort"].astype(str))["size"]
        head = "".join(f'<th class="rk-num">{a}</th>' for a in ages)
        rows = []
        for c in order:
            cells = "".join(f'<td class="rk-num">{esc(cell.get((c, a), ""))}</td>' for a in ages)
            rows.append(
                f'<tr><td>{esc(self.period(c))}</td><td class="rk-num">{self.num(int(sizes[c]))}</td>{cells}</tr>'
            )
        avg = {int(a): self.num(int(n)) for a, n in zip(data.average["age"], data.average["active"])}
        cells = "".join(f'<td class="rk-num">{esc(avg.get(a, ""))}</td>' for a in ages)
        rows.append(
            f'<tr class="rk-total"><td><b>{esc(_("All cohorts (size-weighted)"))}</b></td>'
            f'<td class="rk-num"></td>{cells}</tr>'
        )
        summary = _("Counts: customers with a purchase, by cohort and age")
        note = _(
            "Cohort size n, then the customers who bought at each age. * the period in progress (not "
            "complete yet). The last row adds up every cohort observed at that age, complete periods only."
        )
        return (
            f'<details class="rk-details"><summary>{esc(summary)}</summary><p class="rk-note">{esc(note)}</p>'
            f'<table class="rk-table"><thead><tr><th>{esc(_("Cohort"))}</th><th class="rk-num">n</th>{head}'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></details>"
        )

    def at_risk_html(self, data: ReportData, n: int = 10) -> str:
        """The most valuable customers with the lowest P(alive) (definitions §5), or a note when turned off."""
        _ = self._
        if data.at_risk is None:
            return f'<p class="rk-note">{esc(_("The customer list is turned off (parameter customer_list)."))}</p>'
        risk = data.at_risk
        cid = risk.columns[0]
        top = most_valuable_at_risk(risk, n=n)
        method = str(risk.attrs.get("method", ""))
        if method == "BG/NBD":
            how = _(
                "P(alive) is the chance that the customer still buys, from the BG/NBD model of repeat "
                "purchases (definitions §5); expected purchases are for the next {unit}."
            )
        else:
            how = _(
                "The BG/NBD model could not be fitted to these data, so a simple rule is used instead "
                "({rule}); expected purchases are not estimated."
            )
        sentence = _(
            "The customers who spent the most (top quarter) and are the least likely to still be "
            "buying: the first ones to contact."
        )
        note = how.format(unit=_(UNIT_WORD[data.params.freq]), rule=method)
        cur = data.params.currency
        table = table_html(
            top,
            caption=_("Valuable customers at risk of lapsing"),
            formats={
                "purchases": self.num,
                "spend": lambda v: self.tr.format_currency(v, cur),
                "p_alive": self.pct,
                "expected_purchases": lambda v: self.num(v, 3),
            },
            numeric=("purchases", "spend", "p_alive", "expected_purchases"),
            small=("method",),
            headers={
                cid: _("Customer"),
                "last_purchase": _("Last purchase"),
                "purchases": _("Purchases"),
                "spend": _("Spend"),
                "p_alive": _("P(alive)"),
                "expected_purchases": _("Expected purchases next {unit}").format(unit=_(UNIT_WORD[data.params.freq])),
                "method": _("Method"),
            },
        )
        csv_note = _("The full list of {n} customers is in at-risk-customers.csv next to this report.")
        return (
            f'<p class="rk-note">{esc(sentence)} {link_citations(esc(note))}</p>'
            + table
            + f'<p class="rk-note">{esc(csv_note.format(n=self.num(len(risk))))}</p>'
        )

    def methodology_html(self, data: ReportData) -> str:
        p, _ = self.params, self._
        unit = _(UNIT_WORD[p.freq])
        days = self.num(window_days(p.window))
        defs = [(_(term), _(text).format(days=days, unit=unit)) for term, text in METHOD]
        parts = [
            '<table class="rk-table"><tbody>'
            + "".join(f"<tr><td><b>{esc(a)}</b></td><td>{link_citations(esc(b))}</td></tr>" for a, b in defs)
            + "</tbody></table>"
        ]
        rows = []
        for x in SCHEMA:
            if x.name in INTERNAL_PARAMS:
                continue
            value = self.title if x.name == "title" else _shown_value(x.name, getattr(p, x.name))
            rows.append({"name": x.name, "value": repr(value), "help": _(x.help)})
        parts.append(
            table_html(
                pd.DataFrame(rows),
                caption=_("Parameters of this run"),
                small=("help",),
                headers={"name": _("Parameter"), "value": _("Value"), "help": _("Meaning")},
            )
        )
        # the sections cited above and by the data-quality section (§1), readable without the repository
        parts.append(self._definitions_html(sorted({c.section for _t, b in defs for c in citations(b)} | {"1"})))
        footer = _("as of {date}").format(date=self.tr.format_date(data.as_of_label[:10]))
        if p.generated_at:
            footer += " · " + _("generated at {stamp}").format(stamp=p.generated_at)
        parts.append(f'<div class="rk-footer">retainkit {esc(__version__)} · {esc(footer)}</div>')
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
        """A note in the report language: a key of :data:`NOTES_BY_KEY` or an English message of the catalogue."""
        self.show(f'<p class="rk-note">{esc(self._(NOTES_BY_KEY.get(text, text)))}</p>')

    def section(self, key: str) -> None:
        """Show a section heading and its introduction (:meth:`section_html`)."""
        self.show(self.section_html(key))

    def html(self, html: str) -> None:
        self.show(html)


__all__ = ["DEFAULT_TITLE", "METHOD", "NOTES_BY_KEY", "SECTIONS", "TEMPLATES", "Page", "table_html"]
