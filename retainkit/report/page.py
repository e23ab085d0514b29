"""The report page: escaped HTML pieces (KPI tiles, tables, charts) shown inside the notebook.

:class:`Page` turns the computed :class:`~retainkit.report.analysis.ReportData`
into escaped HTML. Charts work offline: the Vega libraries are embedded once
(``charts="interactive"``) or each chart is rendered to inline SVG
(``charts="svg"``); no script is ever loaded from the network. The words are in
:mod:`.sections`, the tables in :mod:`.tables`.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Any

from .. import postgres as pg
from ..charts.embed import chart_spec, script_json, vega_bundle, vl_version
from .analysis import ReportData, warning_note
from .cards import KpiCards
from .changes import Change
from .format import esc
from .sections import CHART_SENTENCES, DEFAULT_TITLE, METHOD, NOTES_BY_KEY, PERIODS_WORD, SECTIONS, TEMPLATES
from .tables import Tables, table_html


class Page(KpiCards, Tables):
    """Builds the report's HTML pieces and displays them in the notebook.

    All user-supplied text (title, column names, segment values, file names)
    is escaped. Chart ids are numbered, never random, so reruns give identical
    HTML. ``charts="interactive"`` embeds the Vega bundle once (in
    :meth:`header`) and draws each chart with ``vegaEmbed`` (tooltips);
    ``charts="svg"`` renders each chart to inline SVG in the kernel.
    """

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

    def changes_html(self, data: ReportData) -> str:
        sig = [c for c in data.changes if c.significant]
        quiet = [c for c in data.changes if not c.significant]

        _ = self._

        def points(x: float) -> str:  # signed, in percentage points (the unit is spelled out in the sentence)
            value = round(float(x) * 100, 1) + 0.0
            return ("+" if value > 0 else "") + self.num(value, 1)

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
            detail = _("difference {diff} percentage points, 95% interval {low} to {high}").format(
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

    # -- display shortcuts used by the notebook
    def header(self, data: ReportData) -> None:
        self.show(self.header_html(data))

    def kpis(self, data: ReportData) -> None:
        self.show(self.kpis_html(data))

    def changes(self, data: ReportData) -> None:
        self.show(self.changes_html(data))

    def chart(self, chart: Any, about: str = "") -> None:
        """Show a chart, after its plain sentence (``about``: a key of :data:`CHART_SENTENCES`)."""
        self.show(self.about_html(about) + self.chart_html(chart))

    def about_html(self, key: str) -> str:
        """The one plain sentence that says what a chart shows ('' for no key)."""
        if not key:
            return ""
        return f'<p class="rk-about" data-about="{esc(key)}">{esc(self._(CHART_SENTENCES[key]))}</p>'

    def note(self, text: str) -> None:
        """A note in the report language: a key of :data:`NOTES_BY_KEY` or an English message of the catalogue."""
        self.show(f'<p class="rk-note">{esc(self._(NOTES_BY_KEY.get(text, text)))}</p>')

    def section(self, key: str) -> None:
        """Show a section heading and its introduction (:meth:`section_html`)."""
        self.show(self.section_html(key))

    def html(self, html: str) -> None:
        self.show(html)


__all__ = ["DEFAULT_TITLE", "METHOD", "NOTES_BY_KEY", "SECTIONS", "TEMPLATES", "Page", "table_html"]
