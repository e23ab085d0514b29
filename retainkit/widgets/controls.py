"""The controls of the cohort explorer: the widgets, their layout and wiring (a mixin of :class:`CohortExplorer`).

:class:`ExplorerControls` builds every control the explorer documents
(``freq``, ``metric``, ``kind``, ``cohort_range``, ``filter_by``,
``filter_values``, ``split_by``, ``highlight``, ``min_size``, ``intervals``,
``export_button``), the side panel, the view tabs and the heading, and
connects the controls to the app's callbacks. The app itself
(:mod:`retainkit.widgets.explorer`) owns the data and the callbacks.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import ipywidgets as w
import pandas as pd

from ..exceptions import ParameterError
from ..i18n import N_, Translator
from ..inputs import Subscriptions, Transactions
from ._common import CSS, loader_html, show_html
from .picker import DataPicker

#: granularities offered by the explorer, in menu order
FREQ_OPTIONS = ((N_("Days"), "D"), (N_("Weeks"), "W"), (N_("Months"), "M"), (N_("Quarters"), "Q"), (N_("Years"), "Y"))
#: "ages count {unit} since the first purchase" per granularity
AGES_COUNT = {
    "D": N_("ages count days since the first purchase"),
    "W": N_("ages count weeks since the first purchase"),
    "M": N_("ages count months since the first purchase"),
    "Q": N_("ages count quarters since the first purchase"),
    "Y": N_("ages count years since the first purchase"),
}
#: daily cohorts are offered only for logs spanning at most this many days
MAX_DAILY_SPAN = 120


class ExplorerControls:
    """The controls half of :class:`~retainkit.widgets.CohortExplorer` (a mixin).

    Needs on ``self``: ``tr``, ``lang``, ``title``, ``data``, ``segments``,
    ``skipped_segments``, ``picker``, the callbacks ``update``, ``export``,
    ``_on_freq``, ``_on_highlight``, ``_on_filter_by``, ``_render_visible``,
    ``_set_cohort_options`` and :class:`~retainkit.widgets._common.AppBase`'s
    ``_guard``.
    """

    if TYPE_CHECKING:  # provided by CohortExplorer and AppBase
        tr: Translator
        lang: str
        title: str
        data: Transactions | Subscriptions
        segments: list[str]
        skipped_segments: list[str]
        picker: DataPicker
        _has_revenue: bool

        def update(self) -> None: ...
        def export(self, path: Any = None) -> str: ...
        def _on_freq(self, change: Any) -> None: ...
        def _on_highlight(self, change: Any) -> None: ...
        def _on_filter_by(self, change: Any) -> None: ...
        def _render_visible(self) -> None: ...
        def _set_cohort_options(self) -> None: ...
        def _guard(self, fn: Callable[..., Any]) -> Callable[..., Any]: ...

    def _metric_options(self) -> list[tuple[str, str]]:
        _ = self.tr.gettext
        return [(_("Customers (retention)"), "customers")] + (
            [(_("Revenue (revenue retention)"), "revenue"), (_("Cumulative revenue / customer"), "cum_revenue")]
            if self._has_revenue
            else []
        )

    def _freq_options(self) -> list[tuple[str, str]]:
        f = self.data.frame
        col = "timestamp" if "timestamp" in f.columns else "start"
        span = (f[col].max() - f[col].min()) / pd.Timedelta(days=1) if len(f) else 0
        return [(self.tr.gettext(n), k) for n, k in FREQ_OPTIONS if k != "D" or span <= MAX_DAILY_SPAN]

    def _build_widgets(self, freq: str) -> None:
        _ = self.tr.gettext
        desc = {"description_width": "92px"}
        full = w.Layout(width="100%")
        opts = self._freq_options()
        if freq not in [k for _, k in opts]:
            raise ParameterError(f"freq={freq!r} is not offered for this data; use one of {[k for _, k in opts]}.")
        self.freq = w.Dropdown(options=opts, value=freq, description=_("Cohorts by"), style=desc, layout=full)
        self.metric = w.Dropdown(
            options=self._metric_options(), value="customers", description=_("Metric"), style=desc, layout=full
        )
        self.kind = w.Dropdown(
            options=[
                (_("Classic: active at age k"), "classic"),
                (_("Unbounded: active at k or later"), "unbounded"),
                (_("Brackets of ages"), "brackets"),
            ],
            value="classic",
            description=_("Retention"),
            style=desc,
            layout=full,
        )
        self.cohort_range = w.SelectionRangeSlider(
            options=["-"],
            index=(0, 0),
            description=_("Cohorts"),
            style=desc,
            layout=full,
            continuous_update=False,
            readout=False,
        )
        self.range_label = w.HTML(layout=w.Layout(margin="-4px 0 2px 96px"))
        self.cohort_range.observe(lambda ch: self._range_text(), names="value")
        seg_opts = [(_("(all customers)"), "")] + [(s, s) for s in self.segments]
        self.filter_by = w.Dropdown(options=seg_opts, value="", description=_("Filter on"), style=desc, layout=full)
        self.filter_values = w.SelectMultiple(
            options=[],
            value=(),
            description=_("Keep"),
            style=desc,
            rows=4,
            layout=w.Layout(width="100%"),
            disabled=True,
        )
        self.split_by = w.Dropdown(
            options=[(_("(none)"), "")] + [(s, s) for s in self.segments],
            value="",
            description=_("Split by"),
            style=desc,
            layout=full,
        )
        self.min_size = w.BoundedIntText(
            value=0,
            min=0,
            max=10**9,
            step=10,
            description=_("Min. cohort"),
            style=desc,
            layout=full,
            tooltip=_("customers; smaller cohorts are left out"),
        )
        self.intervals = w.Checkbox(value=True, description=_("95% intervals (Wilson)"), indent=False)
        self.highlight = w.Dropdown(
            options=[(_("(none)"), "")],
            value="",
            description=_("Highlight"),
            style=desc,
            layout=full,
            tooltip=_("cohort drawn in colour next to the average (Curves)"),
        )
        self.export_button = w.Button(
            description=_("Export CSV"), button_style="", tooltip=_("CSV of the table behind the current view")
        )
        self.export_link = w.HTML("")
        self.controls: dict[str, w.Widget] = {
            "freq": self.freq,
            "metric": self.metric,
            "kind": self.kind,
            "cohort_range": self.cohort_range,
            "filter_by": self.filter_by,
            "filter_values": self.filter_values,
            "split_by": self.split_by,
            "highlight": self.highlight,
            "min_size": self.min_size,
            "intervals": self.intervals,
            "export_button": self.export_button,
        }
        self._set_cohort_options()

        self.data_panel = w.Accordion(children=[self.picker.widget], selected_index=None)
        self.data_panel.set_title(0, _("Your data (CSV / Parquet)"))

        def group(text: str) -> w.HTML:
            return w.HTML(f'<div class="rk-group">{html.escape(text)}</div>')

        side = w.VBox(
            [
                self.data_panel,
                group(_("View")),
                self.freq,
                self.metric,
                self.kind,
                group(_("Cohorts")),
                self.cohort_range,
                self.range_label,
                self.min_size,
                group(_("Segments")),
                self.filter_by,
                self.filter_values,
                self.split_by,
                group(_("Display")),
                self.highlight,
                self.intervals,
                w.HBox([self.export_button]),
                self.export_link,
            ],
            layout=w.Layout(width="330px", min_width="300px", flex="0 0 330px", margin="0 14px 0 0"),
        )
        side.add_class("rk-side")
        if not self.segments:
            for c in (self.filter_by, self.filter_values, self.split_by):
                c.disabled = True
        self.outputs: dict[str, w.Widget] = {
            "heatmap": w.Output(),
            "curves": w.Output(),
            "crr": w.Output(),
            "table": w.HTML(),
        }
        self.views = w.Tab(
            children=[self.outputs[k] for k in ("heatmap", "curves", "crr")]
            + [w.Box([self.outputs["table"]], layout=w.Layout(max_height="560px", overflow="auto"))]
        )
        for i, t in enumerate((_("Heatmap"), _("Curves"), "CRR", _("Table"))):
            self.views.set_title(i, t)
        self.summary = w.HTML()
        self.summary.add_class("rk-summary")
        self.status = w.HTML()
        self.status.add_class("rk-status")
        self._loader = w.Output(layout=w.Layout(height="0px", overflow="hidden"))
        show_html(self._loader, loader_html())
        skipped = (
            " "
            + _("Segments with too many values to filter on: {columns}.").format(
                columns=", ".join(self.skipped_segments)
            )
            if self.skipped_segments
            else ""
        )
        head = w.HTML(
            CSS
            + f'<div class="rk-head" lang="{self.lang}">'
            + (f"<h3>{html.escape(self.title)}</h3>" if self.title else "")
            + self._howto(freq, skipped)
            + "</div>"
        )
        main = w.VBox([self.summary, self.status, self.views], layout=w.Layout(flex="1 1 auto", min_width="0"))
        self.widget = w.VBox([head, w.HBox([side, main], layout=w.Layout(align_items="flex-start")), self._loader])
        self.widget.add_class("rk-app")
        self._head = head

    def _wire(self) -> None:
        for name in ("metric", "kind", "cohort_range", "filter_values", "split_by", "min_size", "intervals"):
            self.controls[name].observe(self._guard(lambda change: self.update()), names="value")
        self.freq.observe(self._guard(self._on_freq), names="value")
        self.highlight.observe(self._guard(self._on_highlight), names="value")
        self.filter_by.observe(self._guard(self._on_filter_by), names="value")
        self.views.observe(self._guard(lambda change: self._render_visible()), names="selected_index")
        self.export_button.on_click(self._guard(lambda button: self.export()))

    def _howto(self, freq: str, skipped: str = "") -> str:
        _ = self.tr.gettext
        text = _(
            "Pick a granularity, metric and cohorts on the left; every view updates together. Hover a chart "
            "for exact values; {ages}. Export CSV downloads the table behind the current view."
        ).format(ages=_(AGES_COUNT.get(freq, AGES_COUNT["M"])))
        return f'<p class="rk-howto">{html.escape(text + skipped)}</p>'

    def _period(self, label: Any) -> str:
        return self.tr.period_label(label, self.freq.value)

    def _range_text(self) -> None:
        a, b = self.cohort_range.value
        text = self.tr.gettext("{first} to {last}").format(first=self._period(a), last=self._period(b))
        self.range_label.value = f'<span class="rk-howto">{html.escape(text)}</span>'
