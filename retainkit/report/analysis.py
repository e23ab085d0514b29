"""The report's numbers: tables, headline figures (KPIs) and what changed (definitions §3-§5).

:func:`compute` loads the data and computes every table and headline figure
of the report from the library functions (definitions §1-§5), and
:func:`what_changed` decides which changes are larger than noise.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .._files import atomic_write
from .._stats import Z95, wilson_interval
from ..clv import clv_horizon, clv_margin_multiple, customers_at_risk
from ..cohorts import average_curve, cohort_table
from ..data import load_transactions
from ..engine import parse_window
from ..exceptions import DataError, HistoryError, ParameterError
from ..i18n import MISSING, N_, translator
from ..inputs import DataQualityWarning
from ..metrics import crr_table, purchase_metrics
from ..params import INTERNAL_PARAMS, SUMMARY_FILE, ReportParams, as_of_label, validate_params
from ..periods import FREQ_NAMES, PERIODS_PER_YEAR, end_of_day, period_offset
from .history import HistoryCheck, compare_history, history_json, history_table, not_checked

SUMMARY_SCHEMA = 1
#: the per-customer risk list published next to the report (definitions §5)
AT_RISK_FILE = "at-risk-customers.csv"

_PERIOD_DAYS = {f: 365.2425 / n for f, n in PERIODS_PER_YEAR.items()}
#: the horizon of the report's CLV (definitions §5.6)
CLV_HORIZON_YEARS = 3.0
#: the word for one period (``retainkit.periods.FREQ_NAMES``)
FREQ_WORD = FREQ_NAMES


def diff_interval(k1: float, n1: float, k2: float, n2: float, z: float = Z95) -> tuple[float, float, float]:
    """Difference of two proportions k1/n1 - k2/n2 with Newcombe's hybrid score interval.

    Newcombe (1998), method 10: the interval is built from the two 95 % Wilson
    intervals (definitions §3 "Uncertainty"), so "the intervals say it is more
    than noise" means exactly that this interval excludes 0. Assumes the two
    proportions come from independent samples; for overlapping customer bases
    (consecutive CRRs) it is approximate.

    Returns
    -------
    (diff, lo, hi) : floats; NaN when either n is 0.
    """
    if not n1 or not n2:
        return (math.nan, math.nan, math.nan)
    p1, p2 = k1 / n1, k2 / n2
    (l1,), (u1,) = (np.atleast_1d(v) for v in wilson_interval([k1], [n1], z))
    (l2,), (u2,) = (np.atleast_1d(v) for v in wilson_interval([k2], [n2], z))
    d = p1 - p2
    lo = d - math.sqrt((p1 - l1) ** 2 + (u2 - p2) ** 2)
    hi = d + math.sqrt((u1 - p1) ** 2 + (p2 - l2) ** 2)
    return (float(d), float(lo), float(hi))


def pooled_revenue_retention(table: pd.DataFrame) -> pd.DataFrame:
    """Pooled revenue retention per age: sum_c Rev(c,k) / sum_c Rev(c,0) (definitions §3).

    Over the cohorts whose cell (c, k) is observed (partial cells excluded),
    the revenue analogue of the size-weighted average curve.

    Returns
    -------
    DataFrame
        ``age``, ``cohorts``, ``revenue``, ``base_revenue``, ``revenue_retention``.
    """
    if "revenue" not in table.columns:
        return pd.DataFrame(columns=["age", "cohorts", "revenue", "base_revenue", "revenue_retention"])
    t = table.loc[~table["partial"].astype(bool)] if "partial" in table.columns else table
    base = t.loc[t["age"] == 0].set_index("cohort")["revenue"]
    t = t.assign(base_revenue=t["cohort"].map(base))
    out = (
        t.groupby("age", sort=True)
        .agg(cohorts=("cohort", "nunique"), revenue=("revenue", "sum"), base_revenue=("base_revenue", "sum"))
        .reset_index()
    )
    with np.errstate(divide="ignore", invalid="ignore"):
        out["revenue_retention"] = np.where(out["base_revenue"] != 0, out["revenue"] / out["base_revenue"], np.nan)
    return out


def discount_per_period(yearly: float, freq: str) -> float:
    """Per-period discount rate equivalent to a yearly one: (1 + d)^(1/periods per year) - 1.

    Periods per year come from :data:`retainkit.periods.PERIODS_PER_YEAR` (a year
    is 365.2425 days, a week 7: 52.1775 weeks a year).
    """
    return (1.0 + yearly) ** (1.0 / PERIODS_PER_YEAR[freq]) - 1.0


def clv_estimate(margin_per_period: float, retention: float, discount_rate: float) -> float:
    """Margin-multiple CLV, margin received at the end of each period (definitions §5).

    CLV = m r / (1 + d - r). Uses :func:`retainkit.clv.clv_margin_multiple`
    (timing "end"); NaN when an input is undefined.
    """
    if not all(np.isfinite([margin_per_period, retention, discount_rate])):
        return math.nan
    return float(clv_margin_multiple(margin_per_period, retention, discount_rate, timing="end"))


@dataclass
class Kpi:
    """One headline figure: value, how it is shown, and the counts behind it."""

    key: str
    label: str
    value: float
    display: str
    sub: str = ""
    lo: float = math.nan
    hi: float = math.nan
    num: float = math.nan
    den: float = math.nan
    period: str = ""
    delta: str = ""
    delta_class: str = ""

    def to_json(self) -> dict[str, Any]:
        return {k: _jsonable(v) for k, v in self.__dict__.items()}


@dataclass
class Change:
    """A compared figure (now vs then) and whether the intervals call it a change."""

    metric: str
    now_label: str
    then_label: str
    now: float
    then: float
    diff: float
    lo: float
    hi: float
    higher_is_better: bool = True

    @property
    def significant(self) -> bool:
        return bool(np.isfinite(self.lo) and (self.lo > 0 or self.hi < 0))

    @property
    def good(self) -> bool:
        return (self.diff > 0) == self.higher_is_better


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


def latest_crr(crr: pd.DataFrame) -> pd.DataFrame:
    t = crr
    if "window_covered" in t.columns:
        t = t[t["window_covered"].astype(bool)]
    t = t[t["start_customers"] > 0]
    return t.sort_values("period_start") if "period_start" in t.columns else t


def _periods(pm: pd.DataFrame) -> pd.DataFrame:
    return pm[pm["period"].astype(str) != "overall"]


def _overall(pm: pd.DataFrame) -> pd.Series | None:
    o = pm[pm["period"].astype(str) == "overall"]
    return o.iloc[0] if len(o) else None


#: per frequency: the age-1 retention figure, its revenue twin, "within the period" and the per-period unit
AGE1_RETENTION = {
    "D": N_("Day-1 retention"),
    "W": N_("Week-1 retention"),
    "M": N_("Month-1 retention"),
    "Q": N_("Quarter-1 retention"),
    "Y": N_("Year-1 retention"),
}
AGE1_REVENUE_RETENTION = {
    "D": N_("Day-1 revenue retention"),
    "W": N_("Week-1 revenue retention"),
    "M": N_("Month-1 revenue retention"),
    "Q": N_("Quarter-1 revenue retention"),
    "Y": N_("Year-1 revenue retention"),
}
REPEAT_WITHIN = {
    "D": N_("Repeat purchase rate within the day"),
    "W": N_("Repeat purchase rate within the week"),
    "M": N_("Repeat purchase rate within the month"),
    "Q": N_("Repeat purchase rate within the quarter"),
    "Y": N_("Repeat purchase rate within the year"),
}
PER_UNIT = {"D": N_("per day"), "W": N_("per week"), "M": N_("per month"), "Q": N_("per quarter"), "Y": N_("per year")}


def compute_kpis(
    cohorts: pd.DataFrame,
    average: pd.DataFrame,
    crr: pd.DataFrame,
    purchases: pd.DataFrame,
    revenue_average: pd.DataFrame,
    p: ReportParams,
    crr_basis: pd.DataFrame | None = None,
    purchases_basis: pd.DataFrame | None = None,
) -> dict[str, Kpi]:
    """The headline figures of the report from the library tables (definitions §3-§5).

    Keys: ``customers``, ``crr``, ``churn``, ``repeat_rate``, ``retention_1``,
    ``revenue_retention_1``, ``clv``. Each :class:`Kpi` carries the counts it
    was computed from, so a later report can test a change against noise.
    Labels and displayed values are in the report language (``p.lang``);
    ``Kpi.period`` keeps the language-neutral period label.
    """
    tr = translator(p.lang)
    _ = tr.gettext
    num = tr.format_number

    def pct(x: float, digits: int = 1) -> str:
        return tr.format_percent(x, digits)

    def plabel(label: Any) -> str:
        return tr.period_label(label, p.freq)

    k: dict[str, Kpi] = {}
    overall = _overall(purchases)
    lc = latest_crr(crr)
    customers = (
        float(overall["customers"]) if overall is not None else float(cohorts.drop_duplicates("cohort")["size"].sum())
    )
    sub = ""
    if len(lc):
        last = lc.iloc[-1]
        sub = _("{n} active at the end of {period} ({window}-day activity window)").format(
            n=num(int(last["end_customers"])), period=plabel(last["period"]), window=num(window_days(p.window))
        )
    k["customers"] = Kpi(
        "customers", _("Customers"), customers, num(int(customers)), sub or _("with a purchase up to the report date")
    )
    if len(lc):
        last = lc.iloc[-1]
        crr_v, lo, hi = float(last["crr"]), float(last["crr_lo"]), float(last["crr_hi"])
        delta, cls, dchurn, cchurn = "", "", "", ""
        if len(lc) > 1:
            prev = lc.iloc[-2]
            d, dlo, dhi = diff_interval(
                last["retained"], last["start_customers"], prev["retained"], prev["start_customers"]
            )
            sig = np.isfinite(dlo) and (dlo > 0 or dhi < 0)
            vs = _("{difference} vs {period}") if sig else _("{difference} vs {period} (within noise)")
            delta = vs.format(difference=tr.format_points(d), period=plabel(prev["period"]))
            cls = ("rk-good" if d > 0 else "rk-bad") if sig else ""
            dchurn = vs.format(difference=tr.format_points(-d), period=plabel(prev["period"]))
            cchurn = ("rk-good" if d > 0 else "rk-bad") if sig else ""
        k["crr"] = Kpi(
            "crr",
            _("CRR {period}").format(period=plabel(last["period"])),
            crr_v,
            pct(crr_v),
            _("95% interval {low} – {high}").format(low=pct(lo), high=pct(hi)),
            lo,
            hi,
            float(last["retained"]),
            float(last["start_customers"]),
            str(last["period"]),
            delta,
            cls,
        )
        k["churn"] = Kpi(
            "churn",
            _("Churn {period}").format(period=plabel(last["period"])),
            1 - crr_v,
            pct(1 - crr_v),
            _("{lost} of {start} customers lost").format(
                lost=num(int(last["lost"])), start=num(int(last["start_customers"]))
            ),
            1 - hi,
            1 - lo,
            float(last["lost"]),
            float(last["start_customers"]),
            str(last["period"]),
            dchurn,
            cchurn,
        )
    else:
        k["crr"] = Kpi("crr", _("CRR"), math.nan, MISSING, _("no complete period with a covered activity window"))
        k["churn"] = Kpi("churn", _("Churn"), math.nan, MISSING, _("no complete period with a covered activity window"))
    if overall is not None:
        rr = float(overall["repeat_purchase_rate"])
        rnum, den = float(overall["repeat_customers"]), float(overall["customers"])
        lo, hi = (float(v[0]) for v in wilson_interval([rnum], [den]))
        k["repeat_rate"] = Kpi(
            "repeat_rate",
            _("Repeat purchase rate"),
            rr,
            pct(rr),
            _("customers with 2+ orders, all periods ({n} of {total})").format(n=num(int(rnum)), total=num(int(den))),
            lo,
            hi,
            rnum,
            den,
            "overall",
        )
    a1 = average[average["age"] == 1]
    if len(a1):
        r = a1.iloc[0]
        k["retention_1"] = Kpi(
            "retention_1",
            _(AGE1_RETENTION[p.freq]),
            float(r["retention"]),
            pct(float(r["retention"])),
            _("all cohorts pooled ({n} cohorts), 95% interval {low} – {high}").format(
                n=num(int(r["cohorts"])), low=pct(float(r["retention_lo"])), high=pct(float(r["retention_hi"]))
            ),
            float(r["retention_lo"]),
            float(r["retention_hi"]),
            float(r["active"]),
            float(r["size"]),
            "age 1",
        )
    else:
        k["retention_1"] = Kpi(
            "retention_1", _(AGE1_RETENTION[p.freq]), math.nan, MISSING, _("no cohort observed at age 1 yet")
        )
    if len(revenue_average) and (revenue_average["age"] == 1).any():
        r = revenue_average[revenue_average["age"] == 1].iloc[0]
        v = float(r["revenue_retention"])
        k["revenue_retention_1"] = Kpi(
            "revenue_retention_1",
            _(AGE1_REVENUE_RETENTION[p.freq]),
            v,
            pct(v),
            _("revenue at age 1 / age 0, {n} cohorts pooled").format(n=num(int(r["cohorts"]))),
            num=float(r["revenue"]),
            den=float(r["base_revenue"]),
            period="age 1",
        )
    clv = clv_kpi(crr_basis, purchases_basis, p) if crr_basis is not None and purchases_basis is not None else None
    if clv is not None:
        k["clv"] = clv
    return k


def window_days(window: str) -> int:
    """Days of a validated activity window such as ``'90D'``."""
    return int(str(window).rstrip("Dd"))


def clv_basis_freq(window: str) -> str:
    """The period CLV retention is measured in: the one closest in length to the activity window (§5.6).

    A customer counted active by a 90-day window cannot be lost within a month,
    so chaining monthly CRRs overstates retention; one period as long as the
    window makes the CLV the same whatever the report's ``freq``.
    """
    days = parse_window(window)
    return min(_PERIOD_DAYS, key=lambda f: (abs(math.log(_PERIOD_DAYS[f] / days)), f))


#: "over the last N {periods}" of the CLV basis, per frequency
LAST_PERIODS = {
    "D": N_("last {n} days"),
    "W": N_("last {n} weeks"),
    "M": N_("last {n} months"),
    "Q": N_("last {n} quarters"),
    "Y": N_("last {n} years"),
}
#: the CLV explanation per frequency of its basis (the period is part of the sentence)
CLV_SUB = {
    "D": N_(
        "margin {margin} of revenue, discounted at {rate} a year; {m} margin per active customer per day, "
        "{r} still active a day later"
    ),
    "W": N_(
        "margin {margin} of revenue, discounted at {rate} a year; {m} margin per active customer per week, "
        "{r} still active a week later"
    ),
    "M": N_(
        "margin {margin} of revenue, discounted at {rate} a year; {m} margin per active customer per month, "
        "{r} still active a month later"
    ),
    "Q": N_(
        "margin {margin} of revenue, discounted at {rate} a year; {m} margin per active customer per quarter, "
        "{r} still active a quarter later"
    ),
    "Y": N_(
        "margin {margin} of revenue, discounted at {rate} a year; {m} margin per active customer per year, "
        "{r} still active a year later"
    ),
}


def clv_kpi(crr: pd.DataFrame, purchases: pd.DataFrame, p: ReportParams) -> Kpi | None:
    """The CLV of a customer active now over :data:`CLV_HORIZON_YEARS` (definitions §5.6).

    ``crr`` and ``purchases`` are ``crr_table`` and ``purchase_metrics`` at
    :func:`clv_basis_freq`. Over the last year of complete periods:
    r = sum retained / sum S (pooled CRR), m = margin x revenue / sum of the
    mean active customers (S + E) / 2 of each period; then
    :func:`retainkit.clv.clv_horizon`. Label and explanation in ``p.lang``.
    """
    tr = translator(p.lang)
    _ = tr.gettext
    lc = latest_crr(crr)
    per = _periods(purchases)
    if not len(lc) or not len(per) or "revenue" not in per.columns:
        return None
    f = str(crr.attrs.get("freq", "")) or clv_basis_freq(p.window)
    n = max(1, int(round(PERIODS_PER_YEAR[f])))
    last = lc.tail(n)
    rev = last["period_start"].map(dict(zip(per["period_start"], per["revenue"]))).astype(float)
    active = float(((last["start_customers"] + last["end_customers"]) / 2).sum())
    retained, start = float(last["retained"].sum()), float(last["start_customers"].sum())
    if not start or not active or rev.isna().all():
        return None
    r = retained / start
    m = p.margin * float(rev.sum()) / active
    value = clv_horizon(m, r, p.discount_rate, periods_per_year=PERIODS_PER_YEAR[f], horizon_years=CLV_HORIZON_YEARS)
    label = tr.ngettext(
        "Value of a customer over {n} year", "Value of a customer over {n} years", int(CLV_HORIZON_YEARS)
    ).format(n=tr.format_number(CLV_HORIZON_YEARS, None))
    sub = _(CLV_SUB[f]).format(
        margin=tr.format_percent(p.margin, 0),
        rate=tr.format_percent(p.discount_rate, 0),
        m=tr.format_currency(m, p.currency, 2),
        r=tr.format_percent(r),
    )
    return Kpi(
        "clv",
        label,
        value,
        tr.format_currency(value, p.currency, 0),
        sub,
        period=_(LAST_PERIODS[f]).format(n=tr.format_number(len(last))),
    )


def what_changed(
    kpis: Mapping[str, Kpi],
    crr: pd.DataFrame,
    purchases: pd.DataFrame,
    cohorts: pd.DataFrame,
    previous: Mapping[str, Any] | None,
    freq: str,
    lang: str = "en",
) -> list[Change]:
    """Compare figures with the previous period and the previous report; each metric once.

    Every comparison is a difference of two proportions with its 95 %
    interval (:func:`diff_interval`, definitions §3 "Uncertainty"); the report
    lists a change only when the interval excludes 0, the others as "within
    noise".

    Compared, one entry per metric:

    * CRR: the latest period vs the latest period of the previous report
      (both from this run's data; definitions §4), or vs the period before
      when there is no previous report or it had the same latest period (for a
      schedule that runs once per period the two are the same comparison, so
      it is listed once);
    * repeat purchase rate within the period: latest vs previous period;
    * age-1 retention: the newest cohort observed at age 1 vs all earlier
      cohorts pooled;
    * with a previous report: the repeat purchase rate (all periods) vs the
      figure it published.

    Names and labels are in ``lang``.
    """
    tr = translator(lang)
    _ = tr.gettext

    def plabel(label: Any) -> str:
        return tr.period_label(label, freq)

    then = ""
    if previous:
        prev_label = previous.get("as_of_label", "")
        then = _("report of {date}").format(date=tr.format_date(prev_label[:10]) if prev_label else "?")
    out: list[Change] = []
    lc = latest_crr(crr)
    if len(lc) > 1:
        a, earlier = lc.iloc[-1], lc.iloc[:-1]
        prev_period = ((previous or {}).get("kpis", {}).get("crr") or {}).get("period")
        match = earlier[earlier["period"].astype(str) == str(prev_period)] if prev_period else earlier.iloc[:0]
        b = match.iloc[-1] if len(match) else earlier.iloc[-1]
        then_label = f"{plabel(b['period'])} ({then})" if len(match) else plabel(b["period"])
        d, lo, hi = diff_interval(a["retained"], a["start_customers"], b["retained"], b["start_customers"])
        out.append(Change(_("CRR"), plabel(a["period"]), then_label, float(a["crr"]), float(b["crr"]), d, lo, hi))
    per = _periods(purchases)
    if len(per) > 1:
        a, b = per.iloc[-1], per.iloc[-2]
        d, lo, hi = diff_interval(a["repeat_customers"], a["customers"], b["repeat_customers"], b["customers"])
        out.append(
            Change(
                _(REPEAT_WITHIN[freq]),
                plabel(a["period"]),
                plabel(b["period"]),
                float(a["repeat_purchase_rate"]),
                float(b["repeat_purchase_rate"]),
                d,
                lo,
                hi,
            )
        )
    t = cohorts[(cohorts["age"] == 1) & ~cohorts["partial"].astype(bool)] if len(cohorts) else cohorts
    if len(t) > 1:
        t = t.sort_values("cohort_start")
        newest, earlier_c = t.iloc[-1], t.iloc[:-1]
        k2, n2 = float(earlier_c["active"].sum()), float(earlier_c["size"].sum())
        d, lo, hi = diff_interval(newest["active"], newest["size"], k2, n2)
        out.append(
            Change(
                _(AGE1_RETENTION[freq]),
                _("cohort {cohort}").format(cohort=plabel(newest["cohort"])),
                _("earlier cohorts pooled"),
                float(newest["retention"]),
                k2 / n2 if n2 else math.nan,
                d,
                lo,
                hi,
            )
        )
    if previous:
        now_k, then_k = kpis.get("repeat_rate"), previous.get("kpis", {}).get("repeat_rate")
        if now_k is not None and then_k and then_k.get("den") not in (None, 0) and np.isfinite(now_k.den):
            d, lo, hi = diff_interval(now_k.num, now_k.den, then_k["num"], then_k["den"])
            out.append(
                Change(
                    _("Repeat purchase rate"), _("this report"), then, now_k.value, float(then_k["value"]), d, lo, hi
                )
            )
    return out


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
                "now": _jsonable(c.now),
                "then": _jsonable(c.then),
                "now_label": c.now_label,
                "then_label": c.then_label,
                "diff": _jsonable(c.diff),
                "lo": _jsonable(c.lo),
                "hi": _jsonable(c.hi),
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


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not np.isfinite(v) else float(v)
    return v


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
