"""Plumbing shared by the widget apps: styles, chart and HTML outputs, guarded callbacks, tables.

Private to :mod:`retainkit.widgets`; the apps are in ``explorer.py`` and
``calculator.py``.
"""

from __future__ import annotations

import contextlib
import functools
import html
import logging
from collections.abc import Callable, Iterator
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd

from ..charts import embed
from ..exceptions import RetainkitError
from ..i18n import translator

log = logging.getLogger("retainkit.widgets")

MISSING = "(missing)"
#: rows of the view table shown in the Table tab (the export has all of them)
TABLE_ROWS_SHOWN = 300

CSS = """
<style>
.rk-app {font-family: Inter, 'Segoe UI', 'Helvetica Neue', 'Noto Sans', 'Noto Sans Armenian', 'DejaVu Sans', Arial, Sylfaen, Mshtakan, sans-serif; color: #1b2733;}
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


def loader_html() -> str:
    """The script that defines ``window.vegaEmbed`` once per page (:func:`retainkit.charts.embed.vega_loader_html`)."""
    return embed.vega_loader_html()


def show_chart(out: w.Output, chart: Any, name: str, locale: dict[str, Any] | None = None) -> dict[str, Any]:
    """Draw ``chart`` in ``out``; ``locale`` (:func:`retainkit.i18n.vega_locale`) sets its number formats."""
    spec = embed.chart_spec(chart, validate=False)
    if locale:
        spec["config"]["locale"] = locale
    out.outputs = (
        {
            "output_type": "display_data",
            "data": {"text/html": embed.chart_output_html(spec, name=name), "text/plain": f"<{name} chart>"},
            "metadata": {},
        },
    )
    return spec


def show_html(out: w.Output, markup: str) -> None:
    out.outputs = ({"output_type": "display_data", "data": {"text/html": markup, "text/plain": ""}, "metadata": {}},)


def msg(text: str, kind: str = "info") -> str:
    return f'<div class="rk-msg rk-{kind}">{text}</div>'


def error_text(err: BaseException) -> str:
    if isinstance(err, RetainkitError):
        return f"<b>{type(err).__name__}</b>: {html.escape(str(err))}"
    return (
        f"<b>Something went wrong</b> ({html.escape(type(err).__name__)}: {html.escape(str(err))}). "
        "The previous view is kept; change a control to try again."
    )


class AppBase:
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
                self.status.value = msg(error_text(err), "error")
                return None
            self.last_error = None
            return result

        return run

    def _repr_mimebundle_(self, **kwargs: Any) -> Any:
        return self.widget._repr_mimebundle_(**kwargs)


def num_table_html(df: pd.DataFrame, *, limit: int = TABLE_ROWS_SHOWN, caption: str = "", lang: str = "en") -> str:
    """An escaped HTML table with light number formatting (rates as %, counts with separators) in ``lang``.

    Column headers are retainkit's column names (as in the CSV export), shown as they are.
    """
    tr = translator(lang)
    shown = df.head(limit)
    cols = list(shown.columns)

    def fmt(col: str, v: Any) -> tuple[str, bool]:
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
            return "", True
        if isinstance(v, (bool, np.bool_)):
            return (tr.gettext("yes") if v else tr.gettext("no")), False
        if isinstance(v, (int, np.integer)):
            return tr.format_number(int(v)), True
        if isinstance(v, (float, np.floating)):
            if col in ("crr", "churn_rate", "crr_counts") or "retention" in col or col.endswith(("_lo", "_hi")):
                return tr.format_percent(v, 1), True
            return tr.format_number(v, 2), True
        if isinstance(v, pd.Timestamp):
            return v.strftime("%Y-%m-%d"), False
        return str(v), False

    out = ['<table class="rk-table">']
    if caption:
        out.append(
            f'<caption style="text-align:left;color:#5b6672;padding:2px 0 6px 0">{html.escape(caption)}</caption>'
        )
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
        note = tr.gettext("Showing the first {n} of {total} rows; the CSV export has all of them.").format(
            n=tr.format_number(limit), total=tr.format_number(len(df))
        )
        out.append(f'<p class="rk-howto">{html.escape(note)}</p>')
    return "".join(out)


def error_panel(err: BaseException, *, title: str = "The app could not start") -> Any:
    """A readable message box for an error raised while building an app (for notebooks / Voila).

    Returns an ``IPython.display.HTML`` object (plain HTML output, so it also
    shows in saved notebooks); its ``.data`` holds the escaped markup.
    """
    from IPython.display import HTML

    return HTML(
        CSS + '<div class="rk-app">' + msg(f"<b>{html.escape(title)}.</b> {error_text(err)}", "error") + "</div>"
    )


__all__ = [
    "CSS",
    "MISSING",
    "TABLE_ROWS_SHOWN",
    "AppBase",
    "error_panel",
    "error_text",
    "loader_html",
    "msg",
    "num_table_html",
    "show_chart",
    "show_html",
]
