"""The cohort explorer app (ipywidgets): cohorts, retention, revenue and CRR views (definitions §2-§4).

The app is a plain Python object that owns its controls and outputs as
documented attributes, so it can be driven without a browser: set ``.value``
on a control and read the new tables (``app.table``) and charts
(``app.chart(name)``). The numbers come from :mod:`retainkit.widgets.views`,
the charts from :mod:`retainkit.widgets.figures` and the controls from
:mod:`retainkit.widgets.controls`.
"""

from __future__ import annotations

import base64
import html
import re
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from ..data import load_transactions
from ..datasets import load_sample
from ..engine import Activity
from ..exceptions import ParameterError, RetainkitError
from ..i18n import N_, translator
from ..inputs import Subscriptions, Transactions
from ._common import AppBase, msg, num_table_html, show_chart, show_html
from .controls import AGES_COUNT, FREQ_OPTIONS, MAX_DAILY_SPAN, ExplorerControls
from .figures import ExplorerCharts
from .picker import DataPicker
from .views import ExplorerViews, Prepared, seg_labels

DEFAULT_TITLE = N_("Cohort explorer")


def load_data(data: Any, **load_kwargs: Any) -> Transactions | Subscriptions:
    if isinstance(data, (Transactions, Subscriptions)):
        return data
    if isinstance(data, Activity):
        return data.source
    if isinstance(data, str) and data.strip().lower() == "sample":
        return load_sample(**load_kwargs)
    if isinstance(data, (str, Path)) and not str(data).strip():
        raise ParameterError("data is empty: pass a CSV/Parquet path, a DataFrame, or 'sample' for the bundled sample.")
    return load_transactions(data, **load_kwargs)


class CohortExplorer(ExplorerControls, ExplorerCharts, ExplorerViews, AppBase):
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
    highlight : Dropdown
        Cohort drawn in colour next to the bold average in the Curves view
        (the other cohorts are grey); "" for none. Default: the latest cohort
        with 3+ complete ages. Not used when split.
    picker : DataPicker
        The "Your data" panel (``data_panel``): a CSV/Parquet path, column
        mapping dropdowns filled from the file's header, Load; the loaded log
        replaces the data (:meth:`set_data`) and the loader's errors are shown
        in the panel.
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
        from the first selected cohort on; when split, one row per (segment,
        period) with the segment column first, as ``crr_table(by=split)``.
    views : Tab
        "Heatmap", "Curves", "CRR", "Table"; ``outputs`` maps those names
        (lower case) to their Output / HTML widgets. Split by a segment, the
        heatmap has one block per segment, the curves and CRR one line per
        segment with a legend, the table and CSV export a segment column. Charts are drawn for the
        visible tab; ``chart(name)`` builds any of them for the current view.
    summary, status : HTML
        One line describing the view; messages and errors.
    widget : Box
        The whole app (what a notebook displays).

    ``lang`` ("en", "el", "hy") is the language of every label, chart and
    number of the app (:mod:`retainkit.i18n`).
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
        title: str = DEFAULT_TITLE,
        lang: str = "en",
    ) -> None:
        super().__init__()
        self.tr = translator(lang)
        self.lang = self.tr.lang
        if not isinstance(data, (Transactions, Subscriptions)):
            raise ParameterError(
                f"CohortExplorer needs loaded data (retainkit.load_transactions / load_subscriptions), "
                f"not {type(data).__name__}; or call cohort_explorer(path_or_frame, ...)."
            )
        self.data = data
        self.window = window
        self.brackets = [tuple(int(v) for v in b) for b in brackets]
        self.currency = currency
        self.title = self.tr.gettext(DEFAULT_TITLE) if title == DEFAULT_TITLE else title
        self._cache: dict[str, Prepared] = {}
        self.table = pd.DataFrame()
        self.pooled = pd.DataFrame()
        self.average = pd.DataFrame()
        self.crr = pd.DataFrame()
        self.last_export: str | None = None
        self._stale: set[str] = set()
        self._auto_highlight = True
        self._specs: dict[str, dict[str, Any]] = {}
        self._has_revenue = bool(getattr(data, "has_amount", False) or getattr(data, "has_mrr", False))
        self.segments = self._usable_segments(segments, max_segment_values)
        self._max_segment_values = max_segment_values
        self._seg_values = self._segment_values()
        self.picker = DataPicker(self._picked, lang=self.lang)
        self._build_widgets(freq)
        self._wire()
        self.update()

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

    def _segment_values(self) -> dict[str, list[str]]:
        return {s: sorted(set(seg_labels(pd.Series(self.data.frame[s])).unique())) for s in self.segments}

    def _picked(self, data: Transactions, currency: str) -> None:
        self.set_data(data, currency=currency)

    def set_data(self, data: Transactions | Subscriptions, *, currency: str | None = None) -> None:
        """Explore another loaded log (what the "Your data" panel does after Load); controls are reset.

        Parameters
        ----------
        data : Transactions or Subscriptions
        currency : str, optional
            Currency label of its amounts (kept when None).
        """
        if not isinstance(data, (Transactions, Subscriptions)):
            raise ParameterError(
                f"set_data needs loaded data (retainkit.load_transactions), not {type(data).__name__}."
            )
        self.data = data
        self._cache = {}
        if currency is not None:
            self.currency = currency
        self._has_revenue = bool(getattr(data, "has_amount", False) or getattr(data, "has_mrr", False))
        self.segments = self._usable_segments(None, self._max_segment_values)
        self._seg_values = self._segment_values()
        opts = self._freq_options()
        keys = [k for _, k in opts]
        with self._hold():
            self.freq.options = opts
            self.freq.value = "M" if "M" in keys else keys[0]
            self.metric.options = self._metric_options()
            self.metric.value = "customers"
            self.kind.value = "classic"
            self.filter_by.options = [("(all customers)", "")] + [(s, s) for s in self.segments]
            self.filter_by.value = ""
            self.filter_values.options = []
            self.filter_values.value = ()
            self.filter_values.disabled = True
            self.split_by.options = [("(none)", "")] + [(s, s) for s in self.segments]
            self.split_by.value = ""
            self.filter_by.disabled = self.split_by.disabled = not self.segments
            self.min_size.value = 0
            self.highlight.value = ""
        self._auto_highlight = True
        self._set_cohort_options()
        self.update()

    def _set_cohort_options(self) -> None:
        prep = self.prepared()
        labels = list(prep.labels)
        with self._hold():
            self.cohort_range.options = labels
            self.cohort_range.index = (0, len(labels) - 1)
        self._range_text()

    def _on_freq(self, change: Any) -> None:
        self.status.value = ""
        self._set_cohort_options()
        self._head.value = re.sub(
            r'<p class="rk-howto">.*?</p>',
            lambda m: self._howto(self.freq.value),
            self._head.value,
            count=1,
            flags=re.S,
        )
        self.update()

    def _on_highlight(self, change: Any) -> None:
        self._auto_highlight = False  # the reader chose (possibly "(none)"): keep their choice
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

    def _render(self, name: str) -> None:
        out = self.outputs[name]
        try:
            self._specs[name] = show_chart(out, self.chart(name), name, locale=self.tr.vega_locale())
        except RetainkitError as err:  # an empty selection for this view: say so in place
            self._specs.pop(name, None)
            show_html(out, msg(html.escape(str(err)), "warn"))
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
        _ = self.tr.gettext
        cap = (
            _("Bracket retention per cohort: {rows} rows; columns as in retainkit.cohort_table (definitions §3).")
            if "bracket" in self.table.columns
            else _("Cohort table: {rows} rows; columns as in retainkit.cohort_table (definitions §3).")
        ).format(rows=self.tr.format_number(len(self.table)))
        self.outputs["table"].value = num_table_html(self.table, caption=cap, lang=self.lang)
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
        self._set_highlight_options()
        self.status.value = ""
        self._stale = {"heatmap", "curves", "crr", "table"}
        self.export_link.value = ""
        self._render_visible()
        self.summary.value = self._summary_text()

    def _set_highlight_options(self) -> None:
        """Cohorts of the view offered for highlighting; default: the latest with 3+ complete ages."""
        t = self.table
        if "age" not in t.columns or self._split_col:
            cohorts: list[str] = []
        else:
            done = t[~t["partial"]] if "partial" in t.columns else t
            ages = done.groupby("cohort", sort=True)["age"].max()
            cohorts = [str(c) for c in ages.index]
            default = next((str(c) for c in reversed(ages.index) if ages[c] >= 3), cohorts[-1] if cohorts else "")
        current = self.highlight.value
        keep = current in cohorts or (current == "" and not self._auto_highlight)
        with self._hold():
            self.highlight.options = [(translator(self.lang).gettext("(none)"), "")] + [(c, c) for c in cohorts]
            self.highlight.value = current if keep else (default if cohorts else "")
        self.highlight.disabled = not cohorts

    def _summary_text(self) -> str:
        _, tr = self.tr.gettext, self.tr
        t0 = self.pooled[self.pooled["age"] == 0]
        n_cust = int(t0["size"].sum())
        n_coh = int(t0["cohort"].nunique())
        a, b = self.cohort_range.value
        parts = [
            html.escape(
                _("{cohorts} cohorts ({first} to {last}), {customers} customers").format(
                    cohorts=tr.format_number(n_coh),
                    first=self._period(a),
                    last=self._period(b),
                    customers=tr.format_number(n_cust),
                )
            )
        ]
        if self._filter_col is not None:
            parts.append(f"{html.escape(self._filter_col)}: {html.escape(', '.join(self.filter_values.value))}")
        if self._split_col:
            parts.append(html.escape(_("split by {column}").format(column=self._split_col)))
        as_of = pd.Timestamp(self.prepared().act.as_of)
        parts.append(html.escape(_("as of {date}").format(date=tr.format_date(as_of.date()))))
        window = str(self.crr.attrs.get("window", ""))
        if window.upper().endswith("D") and window[:-1].isdigit():
            parts.append(
                html.escape(_("CRR activity window {days} days").format(days=tr.format_number(int(window[:-1]))))
            )
        return " · ".join(parts)

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
        label = self.tr.gettext("Save {file} ({rows} rows)").format(
            file=name, rows=self.tr.format_number(len(self.table))
        )
        self.export_link.value = (
            f'<div class="rk-download"><a download="{name}" href="data:text/csv;base64,{b64}">'
            f"{html.escape(label)}</a></div>"
        )
        return text


def cohort_explorer(
    data: Any = "sample",
    *,
    segments: Sequence[str] | None = None,
    window: str | int = "90D",
    brackets: Sequence[tuple[int, int]] = ((1, 2), (3, 5), (6, 11)),
    freq: str = "M",
    currency: str = "",
    title: str = DEFAULT_TITLE,
    lang: str = "en",
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
    lang : {"en", "el", "hy"}
        Language of the app's labels, charts and numbers.

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
    loaded = load_data(data, **load_kwargs)
    return CohortExplorer(
        loaded,
        segments=segments,
        window=window,
        brackets=brackets,
        freq=freq,
        currency=currency,
        title=title,
        lang=lang,
    )


__all__ = [
    "AGES_COUNT",
    "DEFAULT_TITLE",
    "FREQ_OPTIONS",
    "MAX_DAILY_SPAN",
    "CohortExplorer",
    "cohort_explorer",
    "load_data",
]
