"""The report's headline figures (KPIs): one :class:`Kpi` per card, from the library's tables (definitions §3-§5).

:func:`compute_kpis` turns ``cohort_table``, ``average_curve``, ``crr_table``
and ``purchase_metrics`` into the figures of the report's cards; the value of
a customer over a horizon is :func:`clv_kpi` (definitions §5.6).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .._stats import Z95, wilson_interval
from ..clv import clv_horizon, clv_margin_multiple
from ..engine import parse_window
from ..i18n import MISSING, N_, Translator, translator
from ..metrics import kpi_trends
from ..params import ReportParams
from ..periods import PERIODS_PER_YEAR

PERIOD_DAYS = {f: 365.2425 / n for f, n in PERIODS_PER_YEAR.items()}


#: the horizon of the report's CLV (definitions §5.6)
CLV_HORIZON_YEARS = 3.0


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
    """One headline figure: value, how it is shown, the counts behind it and, for a trend card, its recent periods."""

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
    #: one plain sentence saying what the figure is
    help: str = ""
    #: "trend" (a figure of the latest period, with its recent periods) or "overall"
    group: str = "overall"
    #: the change against the previous period: percentage points of a rate, or relative (now / before - 1)
    change: float = math.nan
    change_kind: str = ""
    #: the values (and 95 % intervals of a rate) of the latest periods, oldest first, with their period labels
    spark: list[float] = field(default_factory=list)
    spark_lo: list[float] = field(default_factory=list)
    spark_hi: list[float] = field(default_factory=list)
    spark_periods: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {k: jsonable(v) for k, v in self.__dict__.items()}


def latest_crr(crr: pd.DataFrame) -> pd.DataFrame:
    t = crr
    if "window_covered" in t.columns:
        t = t[t["window_covered"].astype(bool)]
    t = t[t["start_customers"] > 0]
    return t.sort_values("period_start") if "period_start" in t.columns else t


def period_rows(pm: pd.DataFrame) -> pd.DataFrame:
    return pm[pm["period"].astype(str) != "overall"]


def overall_row(pm: pd.DataFrame) -> pd.Series | None:
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


#: the trend cards (definitions §4.7): label, one plain sentence, how the value is shown, whether up is good
TREND_CARDS: dict[str, tuple[str, str, str, bool]] = {
    "active_customers": (N_("Active customers"), N_("Customers who bought at least once in {period}."), "count", True),
    "new_customers": (N_("New customers"), N_("Customers whose first purchase was in {period}."), "count", True),
    "revenue": (N_("Revenue"), N_("Everything customers paid in {period}, minus refunds."), "money0", True),
    "revenue_per_customer": (
        N_("Revenue per active customer"),
        N_("Revenue of {period} divided by the customers who bought in it."),
        "money",
        True,
    ),
    "aov": (N_("Average order value"), N_("What one order was worth on average in {period}."), "money", True),
    "purchase_frequency": (
        N_("Purchase frequency"),
        N_("Orders per customer who bought in {period}."),
        "decimal",
        True,
    ),
    "crr": (
        N_("CRR {period}"),
        N_(
            "Of the customers at the start of {period}, the share still customers at its end (a customer counts "
            "while they have bought in the last {days} days)."
        ),
        "percent",
        True,
    ),
    "churn": (
        N_("Churn {period}"),
        N_("Of the customers at the start of {period}, the share who were no longer customers at its end."),
        "percent",
        False,
    ),
}
#: plain sentences of the cards over all periods
OVERALL_HELP = {
    "customers": N_("Everyone who bought at least once up to the report date."),
    "repeat_rate": N_("Share of all customers who have ordered two times or more."),
    "retention_1": N_(
        "Share of new customers who bought again in the period right after the one of their first purchase."
    ),
    "revenue_retention_1": N_(
        "Revenue of new customers in the period after their first one, as a share of their first period's revenue."
    ),
    "clv": N_("What a customer buying now is worth in margin over the next {years} years, in today's money."),
}
#: how many of the latest periods a sparkline shows
SPARK_PERIODS = 12
UP, DOWN, FLAT = "▲", "▼", "●"


def format_value(tr: Translator, v: float, kind: str, currency: str = "") -> str:
    """A figure of a trend card in the report language: kind is count, money0, money, decimal or percent."""
    if kind == "count":
        return tr.format_number(v)
    if kind == "money0":
        return tr.format_currency(v, currency, 0)
    if kind == "money":
        return tr.format_currency(v, currency, 2)
    if kind == "decimal":
        return tr.format_number(v, 2)
    return tr.format_percent(v)


def trend_kpis(trends: pd.DataFrame, p: ReportParams, last: int = SPARK_PERIODS) -> dict[str, Kpi]:
    """The trend cards from :func:`retainkit.metrics.kpi_trends` (definitions §4.7), in the report language.

    Each card shows the figure of the latest period with a value, the change
    against the period before (percentage points for a rate, tested against
    noise with :func:`diff_interval`; relative for a count or an amount), the
    95 % interval of a rate and the values of the latest ``last`` periods.
    """
    tr = translator(p.lang)
    _ = tr.gettext
    days = tr.format_number(window_days(p.window))

    def show(v: float, kind: str) -> str:
        return format_value(tr, v, kind, p.currency)

    out: dict[str, Kpi] = {}
    for key, (label, sentence, kind, higher_is_better) in TREND_CARDS.items():
        t = trends[(trends["metric"] == key) & np.isfinite(trends["value"].astype(float))]
        if not len(t):
            if key in ("crr", "churn"):
                none = _("no complete period with a covered activity window")
                out[key] = Kpi(key, _("CRR") if key == "crr" else _("Churn"), math.nan, MISSING, none, group="trend")
            continue
        now, period = t.iloc[-1], tr.period_label(t.iloc[-1]["period"], p.freq)
        k = Kpi(
            key,
            _(label).format(period=period),
            float(now["value"]),
            show(float(now["value"]), kind),
            lo=float(now["lo"]),
            hi=float(now["hi"]),
            num=float(now["numerator"]),
            den=float(now["denominator"]),
            period=str(now["period"]),
            help=_(sentence).format(period=period, days=days),
            group="trend",
        )
        if kind == "percent":
            k.sub = _("95% interval {low} – {high}").format(low=show(k.lo, kind), high=show(k.hi, kind))
        tail = t.tail(last)
        k.spark = [float(v) for v in tail["value"]]
        k.spark_periods = [str(v) for v in tail["period"]]
        if kind == "percent":
            k.spark_lo, k.spark_hi = [float(v) for v in tail["lo"]], [float(v) for v in tail["hi"]]
        if len(t) > 1:
            before = t.iloc[-2]
            vs = tr.period_label(before["period"], p.freq)
            noise = False
            if kind == "percent":
                d, dlo, dhi = diff_interval(
                    now["numerator"], now["denominator"], before["numerator"], before["denominator"]
                )
                noise = not (np.isfinite(dlo) and (dlo > 0 or dhi < 0))
                k.change, k.change_kind = float(now["value"] - before["value"]), "points"
                amount = _("{value} percentage points").format(value=tr.format_number(abs(k.change) * 100, 1))
                shown = round(abs(k.change) * 100, 1)
            else:
                b = float(before["value"])
                k.change = float(now["value"]) / b - 1 if b else math.nan
                k.change_kind = "relative"
                amount = tr.format_percent(abs(k.change)) if np.isfinite(k.change) else MISSING
                shown = round(abs(k.change) * 100, 1) if np.isfinite(k.change) else 0.0
            arrow = FLAT if not shown else (UP if k.change > 0 else DOWN)
            text = _("{arrow} {change} vs {period} (within noise)") if noise else _("{arrow} {change} vs {period}")
            k.delta = text.format(arrow=arrow, change=amount, period=vs)
            if shown and not noise:
                k.delta_class = "rk-good" if (k.change > 0) == higher_is_better else "rk-bad"
        out[key] = k
    return out


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

    overall = overall_row(purchases)
    lc = latest_crr(crr)
    customers = (
        float(overall["customers"]) if overall is not None else float(cohorts.drop_duplicates("cohort")["size"].sum())
    )
    k: dict[str, Kpi] = trend_kpis(kpi_trends(purchases, crr, cohorts), p)
    sub = ""
    if len(lc):
        last = lc.iloc[-1]
        sub = _("{n} of them bought in the {days} days before {period} ended").format(
            n=num(int(last["end_customers"])), period=plabel(last["period"]), days=num(window_days(p.window))
        )
    k["customers"] = Kpi(
        "customers", _("Customers"), customers, num(int(customers)), sub or _("with a purchase up to the report date")
    )
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
            _("all cohorts pooled ({n} cohorts)").format(n=num(int(r["cohorts"]))),
            num=float(r["revenue"]),
            den=float(r["base_revenue"]),
            period="age 1",
        )
    clv = clv_kpi(crr_basis, purchases_basis, p) if crr_basis is not None and purchases_basis is not None else None
    if clv is not None:
        k["clv"] = clv
    for key, text in OVERALL_HELP.items():
        if key in k:
            k[key].help = _(text).format(years=num(CLV_HORIZON_YEARS))
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
    return min(PERIOD_DAYS, key=lambda f: (abs(math.log(PERIOD_DAYS[f] / days)), f))


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
    per = period_rows(purchases)
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


def jsonable(v: Any) -> Any:
    """A value as JSON data: numpy numbers as Python numbers, NaN and infinities as None, lists item by item."""
    if isinstance(v, (list, tuple)):
        return [jsonable(x) for x in v]
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not np.isfinite(v) else float(v)
    return v


__all__ = [
    "AGE1_RETENTION",
    "OVERALL_HELP",
    "SPARK_PERIODS",
    "TREND_CARDS",
    "AGE1_REVENUE_RETENTION",
    "CLV_HORIZON_YEARS",
    "PER_UNIT",
    "REPEAT_WITHIN",
    "Kpi",
    "clv_basis_freq",
    "clv_estimate",
    "clv_kpi",
    "compute_kpis",
    "diff_interval",
    "discount_per_period",
    "format_value",
    "jsonable",
    "latest_crr",
    "overall_row",
    "period_rows",
    "pooled_revenue_retention",
    "trend_kpis",
    "window_days",
]
