"""Open your own data in the explorer: a path box, column mapping from the file's header, a Load button.

:class:`DataPicker` owns the controls; :meth:`DataPicker.read_columns` fills
the mapping dropdowns from the header of a CSV or Parquet file
(:func:`retainkit.readers.file_columns`, nothing else is read), and
:meth:`DataPicker.load` calls :func:`retainkit.load_transactions` with the
mapping (definitions §1). The loader's errors (:class:`~retainkit.exceptions.DataError`
and others of retainkit) are shown in the panel, never raised into the page.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from pathlib import Path
from typing import Any

import ipywidgets as w

from ..data import load_transactions
from ..exceptions import DataError
from ..i18n import translator
from ..inputs import Transactions
from ..readers import file_columns, file_kind
from ._common import error_text, msg

NONE = ""
_GUESSES = {
    "customer_id": ("customer_id", "customer", "client_id", "user_id", "customerid", "cust_id", "member_id", "id"),
    "timestamp": ("timestamp", "order_date", "date", "datetime", "created_at", "invoicedate", "time", "order_time"),
    "amount": ("amount", "revenue", "total", "sales", "price", "value", "order_value"),
}


def guess_column(role: str, columns: list[str]) -> str:
    """The header column most likely to hold ``role`` (exact name first, then a containing name), or ""."""
    low = {c.lower(): c for c in columns}
    for name in _GUESSES[role]:
        if name in low:
            return low[name]
    for name in _GUESSES[role][:3]:
        for c in columns:
            if name in c.lower():
                return c
    return NONE


class DataPicker:
    """The "Your data" panel of the explorer.

    Controls
    --------
    path : Text
        CSV (.csv, .csv.gz, .tsv) or Parquet path; relative paths are taken
        from the notebook's folder.
    read_button : Button
        Reads the header and fills the dropdowns (Enter in ``path`` does the same).
    customer_id, timestamp, amount : Dropdown
        Columns of the customer id, order time and amount (amount may be "(none)").
    segments : SelectMultiple
        Columns kept for filtering / splitting.
    date_format : Text
        strftime pattern when the timestamps are not ISO 8601 (e.g. %Y%m%d).
    load_button : Button
        Loads the log with this mapping and hands it to ``on_load``.
    message : HTML
        What happened: the columns found, the rows loaded, or the loader's error.
    """

    def __init__(self, on_load: Callable[[Transactions, str], None], *, lang: str = "en") -> None:
        _ = translator(lang).gettext
        self._ = _
        self.on_load = on_load
        desc = {"description_width": "92px"}
        full = w.Layout(width="100%")
        self.path = w.Text(
            value="",
            placeholder=_("orders.csv or orders.parquet"),
            description=_("File"),
            style=desc,
            layout=full,
            continuous_update=False,
        )
        self.read_button = w.Button(description=_("Read columns"), tooltip=_("read the file's header"))
        self.customer_id = w.Dropdown(options=[], description=_("Customer id"), style=desc, layout=full, disabled=True)
        self.timestamp = w.Dropdown(options=[], description=_("Order date"), style=desc, layout=full, disabled=True)
        self.amount = w.Dropdown(options=[], description=_("Amount"), style=desc, layout=full, disabled=True)
        self.segments = w.SelectMultiple(
            options=[], description=_("Segments"), style=desc, rows=3, layout=full, disabled=True
        )
        self.date_format = w.Text(
            value="",
            placeholder=_("ISO dates; else e.g. %Y%m%d"),
            description=_("Date format"),
            style=desc,
            layout=full,
        )
        self.currency = w.Text(value="", placeholder="EUR", description=_("Currency"), style=desc, layout=full)
        self.load_button = w.Button(
            description=_("Load"),
            button_style="primary",
            disabled=True,
            tooltip=_("load the file with this column mapping"),
        )
        self.message = w.HTML("")
        self.columns: list[str] = []
        self.read_button.on_click(lambda b: self.read_columns())
        self.path.observe(lambda ch: self.read_columns(), names="value")
        self.load_button.on_click(lambda b: self.load())
        self.widget = w.VBox(
            [
                self.path,
                self.read_button,
                self.customer_id,
                self.timestamp,
                self.amount,
                self.segments,
                self.date_format,
                self.currency,
                self.load_button,
                self.message,
            ]
        )

    def _file(self) -> Path:
        text = self.path.value.strip()
        if not text:
            raise DataError(self._("type the path of a CSV or Parquet file first."))
        path = Path(text).expanduser()
        if not path.exists():
            raise DataError(
                self._(
                    "{path}: no such file. Type a path relative to the notebook's folder, or an absolute one."
                ).format(path=text)
            )
        return path

    def _fail(self, err: BaseException) -> None:
        self.message.value = msg(error_text(err), "error")

    def read_columns(self) -> list[str]:
        """Fill the mapping dropdowns from the file's header; returns the columns ([] after an error)."""
        _ = self._
        try:
            path = self._file()
            cols = file_columns(path, file_kind(path))
        except Exception as err:  # noqa: BLE001 - shown in the panel (a DataError names the fix)
            self.columns = []
            for c in (self.customer_id, self.timestamp, self.amount, self.segments, self.load_button):
                c.disabled = True
            self._fail(err)
            return []
        self.columns = cols
        opts = [(c, c) for c in cols]
        self.customer_id.options = opts
        self.timestamp.options = opts
        self.amount.options = [(_("(none)"), NONE)] + opts
        self.segments.options = cols
        self.customer_id.value = guess_column("customer_id", cols) or cols[0]
        self.timestamp.value = guess_column("timestamp", cols) or cols[min(1, len(cols) - 1)]
        self.amount.value = guess_column("amount", cols)
        self.segments.value = ()
        for c in (self.customer_id, self.timestamp, self.amount, self.segments, self.load_button):
            c.disabled = False
        self.message.value = msg(html.escape(_("{n} columns found; check the mapping, then Load.").format(n=len(cols))))
        return cols

    def mapping(self) -> dict[str, Any]:
        """The keyword arguments of :func:`retainkit.load_transactions` chosen in the panel."""
        return {
            "customer_id": self.customer_id.value,
            "timestamp": self.timestamp.value,
            "amount": self.amount.value or None,
            "segments": list(self.segments.value),
            "date_format": self.date_format.value.strip() or None,
        }

    def load(self) -> Transactions | None:
        """Load the file with the chosen mapping and pass it to ``on_load``; None (message shown) on error."""
        _ = self._
        try:
            path = self._file()
            if not self.columns:
                self.read_columns()
                if not self.columns:
                    return None
            tx = load_transactions(path, **self.mapping())
            self.on_load(tx, self.currency.value.strip())
        except Exception as err:  # noqa: BLE001 - shown in the panel (a DataError names the fix)
            self._fail(err)
            return None
        n_rows = len(tx.frame)
        self.message.value = msg(
            html.escape(
                _("Loaded {name}: {rows:,} orders of {customers:,} customers.").format(
                    name=path.name, rows=n_rows, customers=int(tx.frame["customer_id"].nunique())
                )
            )
        )
        return tx


__all__ = ["DataPicker", "guess_column"]
