"""One parameter schema for the retention report: notebook, runner and CLI.

The report notebook's ``parameters`` cell, :func:`retainkit.run_report` and
``retainkit report`` all use :data:`SCHEMA`. Parameters are validated here,
*before* any kernel starts: types, allowed values, the data file, and that the
mapped columns exist in it (only the header is read). A bad parameter raises
:class:`~retainkit.exceptions.ParameterError` whose message starts with
``parameter '<name>':`` and says how to fix it.

The definitions each parameter feeds are those of ``docs/definitions.md``
(§1 inputs, §2 periods, §4 CRR window, §5 CLV); ``lang`` and ``currency``
choose the reader's language and the money format (:mod:`retainkit.i18n`).
"""

from __future__ import annotations

import dataclasses
import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from . import postgres as pg
from .datasets import sample_path
from .encoding import check_encoding
from .engine import parse_window
from .exceptions import DataError, ParameterError
from .i18n import LANGUAGES, N_, check_currency, check_lang
from .periods import check_freq, check_tz, end_of_day, parse_as_of
from .readers import file_columns, file_kind, suggest

#: value of ``data`` that means the bundled sample (``retainkit.datasets.sample_path()``)
SAMPLE = "sample"
CHART_MODES = ("interactive", "svg")
SUMMARY_FILE = "report-summary.json"


@dataclass(frozen=True)
class Param:
    """One report parameter: name, Python type, default and help text."""

    name: str
    type: type
    default: Any
    help: str
    choices: tuple[str, ...] = ()


#: The report parameters, in the order of the notebook's parameters cell.
SCHEMA: tuple[Param, ...] = (
    Param("data", str, SAMPLE, N_("transaction log: CSV or Parquet path, a postgresql:// URL, or 'sample'")),
    Param("table", str, "", N_("table to read when data is a postgresql:// URL, e.g. orders or sales.orders")),
    Param("query_file", str, "", N_("file with a SELECT to read when data is a postgresql:// URL (instead of table)")),
    Param("customer_id", str, "customer_id", N_("column with the customer id")),
    Param("timestamp", str, "timestamp", N_("column with the order date/time")),
    Param("amount", str, "amount", N_("column with the order amount (revenue); '' if there is none")),
    Param("order_id", str, "", N_("column with the order id (repeated ids are dropped); '' if none")),
    Param("segment", str, "", N_("column to compare segments by (e.g. channel); '' for none")),
    Param("date_format", str, "", N_("strftime format of the timestamps if not ISO, e.g. %d/%m/%Y")),
    Param("encoding", str, "", N_("text encoding of a CSV file, e.g. latin-1 or cp1252; '' for UTF-8 (BOM or not)")),
    Param("max_dropped", float, 0.05, N_("largest share of unusable rows before the run fails, e.g. 0.05 for 5 %")),
    Param("tz", str, "UTC", N_("report time zone (IANA name)")),
    Param("freq", str, "M", N_("period granularity: D, W, M, Q or Y"), ("D", "W", "M", "Q", "Y")),
    Param(
        "as_of",
        str,
        "",
        N_("analysis date YYYY-MM-DD (end of that day) or YYYY-MM-DDTHH:MM; '' for the latest transaction"),
    ),
    Param("allow_stale", bool, False, N_("publish even when as_of is more than one period after the last transaction")),
    Param("window", str, "90D", N_("CRR activity window in days or weeks, e.g. 90D or 13W")),
    Param("currency", str, "USD", N_("ISO 4217 code of the revenue figures, e.g. EUR, AMD, USD")),
    Param("lang", str, "en", N_("report language: en (English), el (Greek) or hy (Armenian)"), LANGUAGES),
    Param("title", str, "Customer retention report", N_("report title")),
    Param("margin", float, 0.3, N_("gross margin as a share of revenue (CLV estimate)")),
    Param("discount_rate", float, 0.1, N_("yearly discount rate (CLV estimate)")),
    Param("max_cohorts", int, 24, N_("most recent cohorts shown in the heatmap and curves")),
    Param("previous_report", str, "", N_("folder of an earlier report to compare with; '' for none")),
    Param("generated_at", str, "", N_("'generated at' stamp printed in the report ('' prints none)")),
    Param("charts", str, "interactive", N_("interactive (inline Vega, tooltips) or svg (static)"), CHART_MODES),
    Param("drop_duplicates", bool, False, N_("drop exact duplicate rows (the data-quality panel counts them)")),
    Param("customer_list", bool, True, N_("list the valuable customers at risk and write at-risk-customers.csv")),
    Param("summary_path", str, "", N_("where to write the headline figures as JSON (set by the runner)")),
    Param(
        "schedule",
        str,
        "",
        N_(
            "schedule name (the folder of its reports); empty: derived from freq and segment, e.g. monthly, weekly-by-channel"
        ),
    ),
    Param(
        "history_tolerance",
        float,
        0.02,
        N_(
            "largest change allowed in customers, transactions, revenue or new "
            "customers of a closed period vs the previous report (0.02 for 2 %)"
        ),
    ),
    Param(
        "accept_history_change",
        bool,
        False,
        N_(
            "publish although closed periods changed beyond the tolerance "
            "(a real restatement); recorded on the page and the index"
        ),
    ),
    Param(
        "history_report",
        str,
        "",
        N_("folder of the previous report of the schedule for the history check (set by the runner)"),
    ),
    Param("previous_note", str, "", N_("what the runner says about the previous report it chose (set by the runner)")),
)

PARAMETER_NAMES: tuple[str, ...] = tuple(p.name for p in SCHEMA)
_BY_NAME = {p.name: p for p in SCHEMA}
#: parameters that name a column of the data (role -> parameter)
COLUMN_PARAMS = ("customer_id", "timestamp", "amount", "order_id", "segment")
#: parameters set by the runner, not shown in the report's parameter list
INTERNAL_PARAMS = ("summary_path", "history_report", "previous_note")


@dataclass(frozen=True)
class ReportParams:
    """Validated report parameters (see :data:`SCHEMA` for meanings).

    Build with :func:`validate_params`; ``to_dict()`` gives the plain mapping
    papermill injects.
    """

    data: str = SAMPLE
    table: str = ""
    query_file: str = ""
    customer_id: str = "customer_id"
    timestamp: str = "timestamp"
    amount: str = "amount"
    order_id: str = ""
    segment: str = ""
    date_format: str = ""
    encoding: str = ""
    max_dropped: float = 0.05
    tz: str = "UTC"
    freq: str = "M"
    as_of: str = ""
    allow_stale: bool = False
    window: str = "90D"
    currency: str = "USD"
    lang: str = "en"
    title: str = "Customer retention report"
    margin: float = 0.3
    discount_rate: float = 0.1
    max_cohorts: int = 24
    previous_report: str = ""
    generated_at: str = ""
    charts: str = "interactive"
    drop_duplicates: bool = False
    customer_list: bool = True
    summary_path: str = ""
    schedule: str = ""
    history_tolerance: float = 0.02
    accept_history_change: bool = False
    history_report: str = ""
    previous_note: str = ""

    def to_dict(self) -> dict[str, Any]:
        """Plain ``{name: value}`` in schema order."""
        return {p.name: getattr(self, p.name) for p in SCHEMA}

    def replace(self, **changes: Any) -> "ReportParams":
        """A validated copy with some parameters changed."""
        return validate_params({**self.to_dict(), **changes}, check_data=False)

    @property
    def is_database(self) -> bool:
        """True when ``data`` is a ``postgresql://`` URL (read with ``table`` or ``query_file``)."""
        return pg.is_postgres_url(self.data)

    @property
    def data_source(self) -> str:
        """What :func:`retainkit.load_transactions` reads: the URL, or the data file's path."""
        return self.data if self.is_database else str(self.data_path)

    @property
    def query(self) -> str | None:
        """The SELECT statement of ``query_file`` (None without one)."""
        if not self.query_file:
            return None
        return Path(self.query_file).expanduser().read_text(encoding="utf-8")

    @property
    def data_path(self) -> Path:
        """The data file (the bundled sample for ``data='sample'``)."""
        if self.data == SAMPLE:
            return Path(sample_path())
        return Path(self.data).expanduser()

    @property
    def as_of_label(self) -> str:
        """Folder name of the report: ``YYYY-MM-DD`` ('' when as_of is not given)."""
        return as_of_label(self.as_of, self.tz) if self.as_of else ""


def _fail(name: str, message: str) -> ParameterError:
    err = ParameterError(f"parameter {name!r}: {message}")
    err.parameter = name  # type: ignore[attr-defined]
    return err


_TRUE = ("true", "yes", "1", "on")
_FALSE = ("false", "no", "0", "off", "")


def _coerce_bool(p: Param, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, int) and value in (0, 1):
        return bool(value)
    if isinstance(value, str) and value.strip().lower() in _TRUE + _FALSE:
        return value.strip().lower() in _TRUE
    raise _fail(p.name, f"{value!r} is not true or false (write true/false, yes/no or 1/0).")


def _coerce(p: Param, value: Any) -> Any:
    if value is None:
        if p.type is str:
            return ""
        raise _fail(p.name, f"needs a {p.type.__name__}, got None.")
    if p.type is bool:
        return _coerce_bool(p, value)
    if p.type is str:
        if isinstance(value, (str, Path)):
            return str(value)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and p.name in ("window",):
            return f"{int(value)}D"
        if hasattr(value, "isoformat") and p.name in ("as_of", "generated_at"):
            return value.isoformat()
        raise _fail(p.name, f"must be a string, got {type(value).__name__} {value!r}.")
    if isinstance(value, bool):
        raise _fail(p.name, f"must be a {p.type.__name__}, got a bool {value!r}.")
    try:
        if p.type is int:
            if isinstance(value, float) and not value.is_integer():
                raise ValueError
            return int(str(value).strip()) if isinstance(value, str) else int(value)
        return float(value)
    except (TypeError, ValueError):
        raise _fail(
            p.name, f"{value!r} is not a{'n' if p.type is int else ''} {'integer' if p.type is int else 'number'}."
        ) from None


def as_of_label(as_of: str, tz: str = "UTC") -> str:
    """Folder label of an ``as_of`` value: the local date, plus ``THHMM`` if not a whole day."""
    parsed = parse_as_of(as_of, tz)
    assert parsed is not None  # an as_of value always parses to an instant (or raises)
    ts = parsed.tz_convert(tz)
    return f"{ts:%Y-%m-%d}" if ts == end_of_day(ts, tz) else f"{ts:%Y-%m-%dT%H%M}"


def _columns_of(path: Path, encoding: str) -> list[str]:
    try:
        return file_columns(path, file_kind(path), check_encoding(encoding))
    except DataError as exc:
        raise _fail("data", str(exc)) from None


def validate_params(
    params: Mapping[str, Any] | ReportParams | None = None, *, check_data: bool = True, **overrides: Any
) -> ReportParams:
    """Check and normalise report parameters before anything runs.

    Parameters
    ----------
    params : mapping or ReportParams, optional
        Parameter values by name; missing ones take their defaults
        (:data:`SCHEMA`). Strings are converted to the parameter's type, as
        they come from the command line.
    check_data : bool
        Also check that the data file exists and every mapped column is in it
        (only the header is read). Default True.
    **overrides
        Parameters given as keywords win over ``params``.

    Returns
    -------
    ReportParams

    Raises
    ------
    ParameterError
        For an unknown name, a wrong type, a value outside the allowed set
        (``freq``, ``charts``), an unparseable ``as_of``/``tz``/``window``, a
        missing file, or a mapped column that is not in the data. The message
        starts with ``parameter '<name>':``.
    """
    raw: dict[str, Any] = {}
    if isinstance(params, ReportParams):
        raw.update(params.to_dict())
    elif params is not None:
        if not isinstance(params, Mapping):
            raise ParameterError(f"params must be a mapping of parameter names to values, not {type(params).__name__}.")
        raw.update(params)
    raw.update(overrides)
    unknown = [k for k in raw if k not in _BY_NAME]
    if unknown:
        name = str(unknown[0])
        close = difflib.get_close_matches(name, PARAMETER_NAMES, n=2, cutoff=0.6)
        hint = f" Did you mean {' or '.join(map(repr, close))}?" if close else ""
        raise _fail(name, f"unknown parameter.{hint} Known parameters: {', '.join(PARAMETER_NAMES)}.")
    values = {p.name: _coerce(p, raw[p.name]) if p.name in raw else p.default for p in SCHEMA}

    for name in ("data", "customer_id", "timestamp", "tz", "freq", "window", "title", "charts"):
        if not str(values[name]).strip():
            raise _fail(name, "must not be empty.")
    try:
        values["tz"] = check_tz(values["tz"].strip())
    except ParameterError as exc:
        raise _fail("tz", str(exc)) from None
    try:
        values["freq"] = check_freq(values["freq"])
    except ParameterError as exc:
        raise _fail("freq", str(exc)) from None
    try:
        days = parse_window(values["window"])
        values["window"] = f"{days}D"
    except ParameterError as exc:
        raise _fail("window", str(exc)) from None
    values["as_of"] = values["as_of"].strip()
    if values["as_of"]:
        try:
            as_of_ts = parse_as_of(values["as_of"], values["tz"])
        except ParameterError as exc:
            raise _fail("as_of", str(exc)) from None
        today_end = end_of_day(pd.Timestamp.now(tz=values["tz"]), values["tz"])
        if as_of_ts > today_end:
            raise _fail(
                "as_of",
                f"{values['as_of']!r} is in the future (today is {today_end:%Y-%m-%d} in "
                f"{values['tz']}): a report describes data up to a past instant. Pass today's date or an "
                "earlier one, or leave as_of empty for the latest transaction.",
            )
    if not 0 <= values["max_dropped"] <= 1:
        raise _fail("max_dropped", f"{values['max_dropped']!r} must be a share of rows in [0, 1], e.g. 0.05 for 5 %.")
    values["encoding"] = values["encoding"].strip()
    if values["encoding"]:
        try:
            check_encoding(values["encoding"])
        except ParameterError as exc:
            raise _fail("encoding", str(exc)) from None
    charts = values["charts"].strip().lower()
    if charts not in CHART_MODES:
        raise _fail("charts", f"{values['charts']!r} is not one of {', '.join(map(repr, CHART_MODES))}.")
    values["charts"] = charts
    if not 0 < values["margin"] <= 1:
        raise _fail("margin", f"{values['margin']!r} must be a share of revenue in (0, 1], e.g. 0.3 for 30 %.")
    if not 0 <= values["discount_rate"] < 1:
        raise _fail("discount_rate", f"{values['discount_rate']!r} must be a yearly rate in [0, 1), e.g. 0.1 for 10 %.")
    if not 0 <= values["history_tolerance"] < float("inf"):
        raise _fail("history_tolerance", f"{values['history_tolerance']!r} must be a share >= 0, e.g. 0.02 for 2 %.")
    values["schedule"] = values["schedule"].strip()
    if values["max_cohorts"] < 1:
        raise _fail("max_cohorts", f"{values['max_cohorts']!r} must be at least 1.")
    try:
        values["currency"] = check_currency(values["currency"])
    except ParameterError as exc:
        raise _fail("currency", str(exc)) from None
    try:
        values["lang"] = check_lang(values["lang"])
    except ParameterError as exc:
        raise _fail("lang", str(exc)) from None
    prev = values["previous_report"].strip()
    values["previous_report"] = prev
    if prev and prev != "auto":
        ppath = Path(prev).expanduser()
        summary = ppath / SUMMARY_FILE if ppath.is_dir() else ppath
        if not summary.is_file():
            raise _fail(
                "previous_report",
                f"{prev!r} is not a report folder (no {SUMMARY_FILE} in it). "
                "Pass the folder of an earlier report, e.g. reports/2024-05-31, or '' for none.",
            )

    _check_source(values)

    out = ReportParams(**values)
    if check_data:
        _check_data(out)
    return out


def _check_source(values: dict[str, Any]) -> None:
    """``table`` / ``query_file`` go with a PostgreSQL URL, exactly one of them; the query file exists."""
    values["table"] = values["table"].strip()
    values["query_file"] = values["query_file"].strip()
    if not pg.is_postgres_url(values["data"]):
        for name in ("table", "query_file"):
            if values[name]:
                raise _fail(
                    name,
                    f"{values[name]!r}: only for a PostgreSQL source; pass data as a "
                    "postgresql://user@host:5432/db URL, or leave it empty.",
                )
        return
    if bool(values["table"]) == bool(values["query_file"]):
        raise _fail(
            "table",
            "a postgresql:// URL needs what to read: a table (--table orders) or a SELECT "
            "in a file (--query-file orders.sql), not both.",
        )
    if values["query_file"]:
        qpath = Path(values["query_file"]).expanduser()
        if not qpath.is_file():
            raise _fail(
                "query_file",
                f"{values['query_file']!r}: no such file (working directory: "
                f"{Path.cwd()}). Write the SELECT statement into it.",
            )
        if not qpath.read_text(encoding="utf-8").strip():
            raise _fail("query_file", f"{values['query_file']!r} is empty; write the SELECT statement into it.")


def _check_data(p: ReportParams) -> None:
    if p.is_database:
        # a connection and a LIMIT 0 query; DataError if the server, the table or the query fails
        available, where = pg.source_columns(p.data, table=p.table or None, query=p.query)
    else:
        path = p.data_path
        if not path.exists():
            raise _fail("data", f"{str(path)!r}: no such file (working directory: {Path.cwd()}). Check the path.")
        available, where = _columns_of(path, p.encoding), path.name
    for name in COLUMN_PARAMS:
        col = getattr(p, name)
        if not col:
            if name in ("customer_id", "timestamp"):
                raise _fail(name, "must name a column.")
            continue
        if col not in available:
            shown = ", ".join(f"'{c}'" for c in available[:20]) + (" ..." if len(available) > 20 else "")
            none = (
                "" if name in ("customer_id", "timestamp") else f" or '' if there is no {name.replace('_', ' ')} column"
            )
            raise _fail(
                name,
                f"column {col!r} is not in {where}.{suggest(col, available)} "
                f"Available columns: {shown}. Pass the right column name{none}.",
            )


def parameters_cell_source() -> str:
    """The notebook's parameters cell, generated from :data:`SCHEMA` (``name: type = default  # help``)."""
    lines = []
    for p in SCHEMA:
        lines.append(f"{p.name}: {p.type.__name__} = {p.default!r}  # {p.help}")
    return "\n".join(lines) + "\n"


def from_namespace(namespace: Mapping[str, Any], *, check_data: bool = True) -> ReportParams:
    """Validate the parameter variables of a notebook namespace (``globals()``)."""
    return validate_params({n: namespace[n] for n in PARAMETER_NAMES if n in namespace}, check_data=check_data)


def describe() -> list[dict[str, Any]]:
    """The schema as records (name, type, default, help, choices) for docs and ``--help``."""
    return [{**dataclasses.asdict(p), "type": p.type.__name__} for p in SCHEMA]


__all__ = [
    "CHART_MODES",
    "PARAMETER_NAMES",
    "SAMPLE",
    "SCHEMA",
    "SUMMARY_FILE",
    "Param",
    "ReportParams",
    "as_of_label",
    "describe",
    "from_namespace",
    "parameters_cell_source",
    "validate_params",
]
