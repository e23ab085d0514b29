"""The headline cards of the report: value, change against the previous period, interval, sparkline, one sentence.

Cards of the latest period (definitions §4.7) come first, with a sparkline of
their recent periods; the figures over all periods follow. Direction is shown
by an arrow (▲ ▼ ●) as well as by colour, so it reads in print and without
colour vision.
"""

from __future__ import annotations

import numpy as np

from .analysis import ReportData
from .format import esc
from .kpis import TREND_CARDS, Kpi, format_value
from .sparkline import sparkline_svg
from .tables import PageText


class KpiCards(PageText):
    """The KPI cards of the report page."""

    def spark_html(self, k: Kpi) -> str:
        """The sparkline of a trend card with its first and last period under it ('' without values)."""
        vals = [v for v in k.spark if np.isfinite(v)]
        if len(k.spark) < 2 or not vals:
            return ""
        kind = TREND_CARDS[k.key][2] if k.key in TREND_CARDS else "count"
        cur = self.params.currency
        first, last = self.period(k.spark_periods[0]), self.period(k.spark_periods[-1])
        label = self._("{figure}, {first} to {last}: lowest {low}, highest {high}").format(
            figure=k.label,
            first=first,
            last=last,
            low=format_value(self.tr, min(vals), kind, cur),
            high=format_value(self.tr, max(vals), kind, cur),
        )
        svg = sparkline_svg(k.spark, k.spark_lo, k.spark_hi, label=label)
        return (
            f'<div class="rk-spark-box">{svg}<div class="rk-spark-range"><span>{esc(first)}</span>'
            f"<span>{esc(last)}</span></div></div>"
        )

    def card_html(self, k: Kpi) -> str:
        """One card: label, value, interval or counts, change, sparkline and the plain sentence."""
        delta = f'<div class="rk-delta {k.delta_class}">{esc(k.delta)}</div>' if k.delta else ""
        value = "" if not np.isfinite(k.value) else repr(float(k.value))
        sub = f'<div class="rk-kpi-sub">{esc(k.sub)}</div>' if k.sub else ""
        helptext = f'<p class="rk-kpi-help">{esc(k.help)}</p>' if k.help else ""
        return (
            f'<div class="rk-kpi rk-kpi-{esc(k.group)}" data-kpi="{esc(k.key)}" data-value="{value}">'
            f'<div class="rk-kpi-label">{esc(k.label)}</div><div class="rk-kpi-value">{esc(k.display)}</div>'
            f"{sub}{delta}{self.spark_html(k)}{helptext}</div>"
        )

    def kpis_html(self, data: ReportData) -> str:
        """The cards in two groups: the latest period with trends, then the figures over all periods."""
        trend = [k for k in data.kpis.values() if k.group == "trend"]
        overall = [k for k in data.kpis.values() if k.group != "trend"]
        parts = []
        latest = next((k.period for k in trend if k.period), "")
        if trend:
            head = (
                self._("Latest complete period: {period}, with the last {n} periods").format(
                    period=self.period(latest), n=self.num(max(len(k.spark) for k in trend))
                )
                if latest
                else ""
            )
            if head:
                parts.append(f'<h3 class="rk-kpi-group">{esc(head)}</h3>')
            parts.append('<div class="rk-kpis">' + "".join(self.card_html(k) for k in trend) + "</div>")
        if overall:
            head = self._("All periods up to the report date")
            parts.append(f'<h3 class="rk-kpi-group">{esc(head)}</h3>')
            parts.append('<div class="rk-kpis">' + "".join(self.card_html(k) for k in overall) + "</div>")
        return "".join(parts)


__all__ = ["KpiCards"]
