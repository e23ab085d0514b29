"""What changed: figures compared with the previous period and the previous report, against noise (definitions §3)."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from ..i18n import translator
from .kpis import AGE1_RETENTION, REPEAT_WITHIN, Kpi, diff_interval, latest_crr, period_rows


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
    per = period_rows(purchases)
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


__all__ = ["Change", "what_changed"]
