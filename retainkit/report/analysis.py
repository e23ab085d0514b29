"""The report's numbers: loading, every table, the gates and the published summary (definitions §1-§5).

:func:`compute` loads the data and computes every table and headline figure
of the report from the library functions (definitions §1-§5). The headline
figures are built in :mod:`.kpis`, the comparisons against noise in
:mod:`.changes`; their names are importable from here as before.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from .._files import atomic_write
from ..clv import customers_at_risk
from ..cohorts import average_curve, cohort_table
from ..data import load_transactions
from ..exceptions import DataError, HistoryError, ParameterError
from ..inputs import DataQualityWarning
from ..metrics import crr_table, purchase_metrics
from ..params import INTERNAL_PARAMS, SUMMARY_FILE, ReportParams, as_of_label, validate_params
from ..periods import FREQ_NAMES, PERIODS_PER_YEAR, end_of_day, period_offset
from .changes import Change, what_changed
from .history import HistoryCheck, compare_history, history_json, history_table, not_checked
from .kpis import (
    CLV_HORIZON_YEARS,
    Kpi,
    clv_basis_freq,
    clv_estimate,
    clv_kpi,
    compute_kpis,
    diff_interval,
    discount_per_period,
    jsonable,
    latest_crr,
    pooled_revenue_retention,
)

SUMMARY_SCHEMA = 1
#: the per-customer risk list published next to the report (definitions §5)
AT_RISK_FILE = "at-risk-customers.csv"

#: the word for one period (``retainkit.periods.FREQ_NAMES``)
FREQ_WORD = FREQ_NAMES


@dataclass
class ReportData:
    """Everything the report shows, computed by :func:`compute`."""

    params: ReportParams
    tx: Any
    cohorts: pd.DataFrame
    average: pd.DataFrame
    crr: pd.DataFrame
    purchases: pd.DataFrame
    revenue_average: pd.DataFrame
    segment_cohorts: pd.DataFrame | None
    segment_average: pd.DataFrame | None
    segment_crr: pd.DataFrame | None
    kpis: dict[str, Kpi]
    changes: list[Change]
    warnings: list[str] = field(default_factory=list)
    previous: dict[str, Any] | None = None
    at_risk: pd.DataFrame | None = None
    cohorts_in_progress: pd.DataFrame | None = None
    history: pd.DataFrame | None = None
    history_check: HistoryCheck | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def status(self) -> str:
        """ "warning" when the run raised warnings (shown in a banner and in ``report-summary.json``), else "ok"."""
        return "warning" if self.warnings else "ok"

    @property
    def summary(self):
        return self.tx.summary

    @property
    def as_of(self) -> pd.Timestamp:
        return self.tx.as_of

    @property
    def as_of_label(self) -> str:
        return as_of_label(self.as_of.tz_convert(self.params.tz).tz_localize(None).isoformat(), self.params.tz)


def read_summary(path: str | os.PathLike) -> dict[str, Any]:
    """Read a report's headline figures (a report folder or its ``report-summary.json``)."""
    p = Path(path)
    if p.is_dir():
        p = p / SUMMARY_FILE
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ParameterError(f"parameter 'previous_report': cannot read {p} ({exc}).") from None


def check_freshness(summary: Any, as_of: pd.Timestamp, freq: str, tz: str, allow_stale: bool) -> str:
    """The freshness gate: refuse an ``as_of`` more than one period after the last transaction used.

    A feed that stopped leaves the periods after its last transaction empty,
    and the report would read them as every customer churning. With
    ``allow_stale`` the report is made anyway and the returned note says so
    ('' when the data is fresh).

    Raises
    ------
    DataError
        Naming the last transaction's date and suggesting it as ``--as-of``.
    """
    last = summary.last_timestamp
    if last is None:
        return ""
    limit = end_of_day(last.tz_convert(tz), tz) + period_offset(freq)
    if as_of <= limit:
        return ""
    last_day = f"{last.tz_convert(tz):%Y-%m-%d}"
    gap = f"{(as_of - last).days:,} days"
    if allow_stale:
        return (
            f"as_of {as_of:%Y-%m-%d} is {gap} after the last transaction ({last_day}), more than one "
            f"{FREQ_WORD[freq]}: the latest periods may hold no data (allowed by allow_stale)."
        )
    raise DataError(
        f"the data looks stale: the last transaction is dated {last_day}, {gap} before as_of "
        f"{as_of.tz_convert(tz):%Y-%m-%d} (more than one {FREQ_WORD[freq]}). The feed may have stopped, and the "
        f'empty periods would be reported as customers churning. Pass --as-of {last_day} (as_of="{last_day}"), '
        "or --allow-stale (allow_stale=True) to publish anyway."
    )


def warning_note(message: Any, category: type[Warning]) -> str:
    """A warning as a readable note: the message only (no file, line or class name of the machine)."""
    text = str(message).strip()
    if issubclass(category, DataQualityWarning):
        return text
    return f"A computation step reported: {text}"


def compute(params: ReportParams | Mapping[str, Any]) -> ReportData:
    """Load the data and compute every table and figure of the report.

    Parameters
    ----------
    params : ReportParams or mapping
        Validated again here (cheap), so the notebook can be run on its own.

    Returns
    -------
    ReportData
        Tables straight from ``cohort_table``, ``average_curve``,
        ``crr_table`` and ``purchase_metrics`` (definitions §3, §4), the
        headline :class:`Kpi` values and the :class:`Change` list.

    Raises
    ------
    ParameterError, DataError
    """
    p = params if isinstance(params, ReportParams) else validate_params(params)
    caught_msgs: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tx = load_transactions(
            p.data_source,
            customer_id=p.customer_id,
            timestamp=p.timestamp,
            amount=p.amount or None,
            segments=(p.segment,) if p.segment else (),
            tz=p.tz,
            as_of=p.as_of or None,
            order_id=p.order_id or None,
            date_format=p.date_format or None,
            max_dropped=p.max_dropped,
            encoding=p.encoding or None,
            drop_duplicates=p.drop_duplicates,
            table=p.table or None,
            query=p.query,
        )
        stale = check_freshness(tx.summary, tx.as_of, p.freq, p.tz, p.allow_stale)
        if stale:
            caught_msgs.append(stale)
        cohorts = cohort_table(tx, p.freq)
        if not len(cohorts):
            raise DataError(
                f"no complete {FREQ_WORD[p.freq]} before as_of={tx.as_of:%Y-%m-%d}: nothing to report. "
                "Pass a later as_of or a shorter freq."
            )
        average = average_curve(cohorts)
        in_progress = cohort_table(tx, p.freq, include_partial=True)
        crr = crr_table(tx, p.freq, window=p.window)
        purchases = purchase_metrics(tx, p.freq)
        basis = clv_basis_freq(p.window)
        crr_b = crr if basis == p.freq else crr_table(tx, basis, window=p.window)
        pm_b = purchases if basis == p.freq else purchase_metrics(tx, basis)
        seg_c = seg_a = seg_crr = None
        if p.segment:
            seg_c = cohort_table(tx, p.freq, by=p.segment)
            seg_a = average_curve(seg_c)
            seg_crr = crr_table(tx, p.freq, window=p.window, by=p.segment)
        at_risk = customers_at_risk(tx, p.freq, window=p.window) if p.customer_list else None
        rev_avg = pooled_revenue_retention(cohorts)
        kpis = compute_kpis(cohorts, average, crr, purchases, rev_avg, p, crr_b, pm_b)
        previous = read_summary(p.previous_report) if p.previous_report and p.previous_report != "auto" else None
        changes = what_changed(kpis, crr, purchases, cohorts, previous, p.freq, p.lang)
    for w in caught:
        msg = warning_note(w.message, w.category)
        if msg not in caught_msgs:
            caught_msgs.append(msg)
    history = history_table(purchases, cohorts)
    check = check_history(history, p)
    notes = [n for n in p.previous_note.splitlines() if n.strip()]
    return ReportData(
        p,
        tx,
        cohorts,
        average,
        crr,
        purchases,
        rev_avg,
        seg_c,
        seg_a,
        seg_crr,
        kpis,
        changes,
        caught_msgs,
        previous,
        at_risk=at_risk,
        cohorts_in_progress=in_progress,
        history=history,
        history_check=check,
        notes=notes,
    )


def check_history(history: pd.DataFrame, p: ReportParams) -> HistoryCheck:
    """Compare the closed periods with the previous report of the schedule (see :mod:`.history`).

    The previous report is ``history_report`` (chosen by the runner: the
    latest successful report of the schedule with an earlier as_of), else
    ``previous_report``.

    Raises
    ------
    HistoryError
        When figures moved beyond ``history_tolerance`` and
        ``accept_history_change`` is off.
    """
    folder = p.history_report or (p.previous_report if p.previous_report != "auto" else "")
    if not folder:
        why = (
            "no earlier report of this schedule to compare with."
            if p.as_of
            else "no as_of was given, so no earlier report of the schedule could be chosen (pass --as-of)."
        )
        return not_checked(why, p.history_tolerance)
    check = compare_history(
        history,
        read_summary(folder),
        p.freq,
        tolerance=p.history_tolerance,
        accept=p.accept_history_change,
        currency=p.currency,
    )
    if check.failed:
        raise HistoryError(check.message(), changes=check.changes)
    return check


def summary_dict(data: ReportData) -> dict[str, Any]:
    """The report's headline figures as JSON-ready data (``report-summary.json``)."""
    p = data.params
    return {
        "schema": SUMMARY_SCHEMA,
        "title": p.title,
        "as_of": data.as_of.isoformat(),
        "as_of_label": data.as_of_label,
        "freq": p.freq,
        "window": p.window,
        "currency": p.currency,
        "lang": p.lang,
        "segment": p.segment,
        "generated_at": p.generated_at,
        "rows_read": int(data.summary.rows_read),
        "rows_kept": int(data.summary.rows_kept),
        "schedule": p.schedule,
        "status": data.status,
        "warnings": list(data.warnings),
        "first_transaction": _day(data.summary.first_timestamp, p.tz),
        "last_transaction": _day(data.summary.last_timestamp, p.tz),
        "kpis": {k: v.to_json() for k, v in data.kpis.items()},
        "history": history_json(data.history, p.freq) if data.history is not None else None,
        "history_check": data.history_check.to_json() if data.history_check is not None else None,
        "notes": list(data.notes),
        "changes": [
            {
                "metric": c.metric,
                "now": jsonable(c.now),
                "then": jsonable(c.then),
                "now_label": c.now_label,
                "then_label": c.then_label,
                "diff": jsonable(c.diff),
                "lo": jsonable(c.lo),
                "hi": jsonable(c.hi),
                "significant": c.significant,
            }
            for c in data.changes
        ],
        "params": {k: v for k, v in p.to_dict().items() if k not in INTERNAL_PARAMS},
    }


def write_summary(data: ReportData, path: str | os.PathLike | None = None) -> Path | None:
    """Write :func:`summary_dict` to ``path`` (default: ``params.summary_path``; '' writes nothing)."""
    target = path if path is not None else data.params.summary_path
    if not target:
        return None
    target = Path(target)
    atomic_write(target, json.dumps(summary_dict(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return target


def write_at_risk_csv(data: ReportData, path: str | os.PathLike = AT_RISK_FILE) -> Path | None:
    """Write the per-customer risk table (definitions §5) as CSV; nothing when the list is turned off.

    Columns: the customer id (the only column taken from the data), last
    purchase, purchases, spend, P(alive), expected purchases next period and
    the method. Rows sorted by P(alive), then spend (highest first), then id;
    numbers rounded so the file is byte-identical for the same data.
    """
    if data.at_risk is None or not data.params.customer_list:
        return None
    t = data.at_risk
    cid = t.columns[0]
    t = t.sort_values(["p_alive", "spend", cid], ascending=[True, False, True], kind="stable")
    t = t.assign(
        spend=t["spend"].round(2), p_alive=t["p_alive"].round(6), expected_purchases=t["expected_purchases"].round(6)
    )
    target = Path(path)
    atomic_write(target, t.to_csv(index=False, lineterminator="\n"))
    return target


def _day(ts: pd.Timestamp | None, tz: str) -> str:
    return "" if ts is None else f"{ts.tz_convert(tz):%Y-%m-%d}"


__all__ = [
    "CLV_HORIZON_YEARS",
    "FREQ_WORD",
    "PERIODS_PER_YEAR",
    "SUMMARY_SCHEMA",
    "Change",
    "Kpi",
    "ReportData",
    "check_freshness",
    "check_history",
    "clv_basis_freq",
    "clv_estimate",
    "clv_kpi",
    "compute",
    "compute_kpis",
    "diff_interval",
    "discount_per_period",
    "latest_crr",
    "pooled_revenue_retention",
    "read_summary",
    "summary_dict",
    "warning_note",
    "what_changed",
    "write_summary",
    "AT_RISK_FILE",
    "write_at_risk_csv",
]
