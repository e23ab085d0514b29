"""The loyalty-programme ROI calculator app (ipywidgets; definitions §6 "Scenario (planned) ROI").

A plain Python object that owns its controls and outputs: set ``.value`` on a
control and read ``app.result`` (:func:`retainkit.loyalty.scenario_roi`) and
``app.grid`` (:func:`retainkit.loyalty.sensitivity`).
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import ipywidgets as w
import numpy as np
import pandas as pd

from .. import loyalty
from .._deprecation import warn_renamed
from ..charts import cumulative_cash_chart, roi_sensitivity_chart
from ..exceptions import ParameterError
from ..i18n import N_, translator
from ..periods import FREQ_NAMES, check_freq
from ._common import CSS, AppBase, loader_html, num_table_html, show_chart, show_html

#: (kind, min, max, step, format, group, label, unit)
PARAM_SPECS: dict[str, tuple[str, float, float, float, str, str, str, str]] = {
    "members": ("int", 0, 10_000_000, 100, "", N_("Customers"), N_("Members"), N_("customers enrolled")),
    "baseline_retention": (
        "slider",
        0.0,
        0.99,
        0.005,
        ".1%",
        N_("Customers"),
        N_("Retention"),
        N_("per period, without the loyalty programme"),
    ),
    "retention_lift": (
        "slider",
        -0.10,
        0.20,
        0.001,
        "+.1%",
        N_("Customers"),
        N_("Retention lift"),
        N_("percentage points per period"),
    ),
    "baseline_spend": ("float", 0, 1_000_000, 1, "", N_("Spend"), N_("Spend"), N_("per customer per period")),
    "spend_lift": ("slider", -0.5, 1.0, 0.01, "+.0%", N_("Spend"), N_("Spend lift"), N_("members vs baseline")),
    "margin": ("slider", 0.0, 1.0, 0.01, ".0%", N_("Spend"), N_("Gross margin"), N_("of spend")),
    "earn_rate": ("float", 0, 1000, 0.1, "", N_("Rewards"), N_("Earn rate"), N_("points per currency unit")),
    "point_value": ("float", 0, 1000, 0.001, "", N_("Rewards"), N_("Point value"), N_("cost per redeemed point")),
    "breakage": ("slider", 0.0, 1.0, 0.01, ".0%", N_("Rewards"), N_("Breakage"), N_("points never redeemed")),
    "per_member_cost": (
        "float",
        0,
        1_000_000,
        0.05,
        "",
        N_("Costs"),
        N_("Member cost"),
        N_("per active member per period"),
    ),
    "fixed_cost": ("float", 0, 1e10, 100, "", N_("Costs"), N_("Fixed cost"), N_("per period")),
    "setup_cost": ("float", 0, 1e10, 1000, "", N_("Costs"), N_("Setup cost"), N_("one-off, period 0")),
    "membership_fee": ("float", 0, 1_000_000, 0.5, "", N_("Costs"), N_("Member fee"), N_("paid by members per period")),
    "horizon": ("islider", 1, 120, 1, "d", N_("Horizon"), N_("Horizon"), N_("periods")),
    "discount_rate": ("slider", 0.0, 0.05, 0.0005, ".2%", N_("Horizon"), N_("Discount rate"), N_("per period")),
}
PRESET_LABELS = {
    "points": N_("Points"),
    "tiered": N_("Tiered / cumulative discounts"),
    "paid_membership": N_("Paid membership"),
    "gamified": N_("Gamification"),
}
#: period names the calculator knows in every language (another name is shown as given)
PERIOD_NAMES = {
    "day": N_("day"),
    "week": N_("week"),
    "month": N_("month"),
    "quarter": N_("quarter"),
    "year": N_("year"),
}
DEFAULT_TITLE = N_("Loyalty programme ROI")


def _period(freq: str | None, overrides: dict[str, Any]) -> tuple[str | None, str]:
    """(freq code, period name) from ``freq=`` or its deprecated spelling ``period=`` (popped from ``overrides``).

    A ``period=`` name that is no granularity (e.g. "sprint") is shown as given, with no code.
    """
    if "period" in overrides:
        if freq is not None:
            raise ParameterError("pass freq= only: period= is its deprecated spelling.")
        warn_renamed("loyalty_roi_calculator(period=...)", "freq= ('D', 'W', 'M', 'Q' or 'Y')", stacklevel=4)
        name = str(overrides.pop("period"))
        try:
            code = check_freq(name)
        except ParameterError:
            return None, name
        return code, FREQ_NAMES[code] if name.strip().lower() == FREQ_NAMES[code] else name
    code = check_freq("M" if freq is None else freq)
    return code, FREQ_NAMES[code]


class LoyaltyROICalculator(AppBase):
    """Loyalty-programme ROI calculator (definitions §6, "Scenario (planned) ROI").

    Build it with :func:`loyalty_roi_calculator`.

    Controls
    --------
    preset : ToggleButtons
        Programme type ("points", "tiered", "paid_membership", "gamified");
        choosing one loads its illustrative parameters into every control.
    params : dict of str -> widget
        One control per parameter of :func:`retainkit.loyalty.scenario_roi`
        (names as in :data:`retainkit.loyalty.PARAMETERS`); rates are shares
        (0.02 = 2 points), amounts are per period.

    Outputs
    -------
    result : ScenarioResult
        :func:`retainkit.loyalty.scenario_roi` for the current values.
    grid : DataFrame
        :func:`retainkit.loyalty.sensitivity` ROI grid (retention lift x breakage).
    summary : HTML
        ROI, NPV, payback period, break-even retention lift, programme cost.
    views : Tab
        "Cumulative cash", "Sensitivity", "Table"; ``outputs`` maps
        "cash", "sensitivity", "table" to their widgets.
    status : HTML
        Messages; a bad combination (e.g. retention + lift >= 100 %) is
        explained here and the previous results stay.
    freq, period : str
        The period granularity ("M") and its name ("month"), in which every
        rate and amount is given.
    """

    def __init__(
        self,
        preset: str = "points",
        *,
        currency: str = "",
        freq: str | None = None,
        title: str = DEFAULT_TITLE,
        lang: str = "en",
        **overrides: Any,
    ) -> None:
        super().__init__()
        self.tr = translator(lang)
        self.lang = self.tr.lang
        self.freq, self.period = _period(freq, overrides)
        if preset not in loyalty.PRESETS:
            raise ParameterError(f"preset={preset!r}: use one of {sorted(loyalty.PRESETS)}.")
        unknown = sorted(set(overrides) - set(loyalty.PARAMETERS))
        if unknown:
            raise ParameterError(
                f"unknown scenario parameter(s) {unknown}; the parameters are {list(loyalty.PARAMETERS)}."
            )
        self.currency = currency
        self.title = self.tr.gettext(DEFAULT_TITLE) if title == DEFAULT_TITLE else title
        self.result: loyalty.ScenarioResult | None = None
        self.grid = pd.DataFrame()
        self._specs: dict[str, dict[str, Any]] = {}
        self._build(preset)
        values = loyalty.preset_parameters(preset)
        values.update(overrides)
        self._set_values(values)
        self._wire()
        self.update()

    @property
    def period_name(self) -> str:
        """The period's name in the app language ("μήνας" for "month")."""
        return self.tr.gettext(PERIOD_NAMES[self.period]) if self.period in PERIOD_NAMES else self.period

    def _build(self, preset: str) -> None:
        _ = self.tr.gettext
        style = {"description_width": "104px"}
        self.preset = w.ToggleButtons(
            options=[(_(PRESET_LABELS[k]) if k in PRESET_LABELS else k, k) for k in loyalty.PRESETS],
            value=preset,
            style={"button_width": "auto"},
        )
        self.params: dict[str, w.Widget] = {}
        groups: dict[str, list[w.Widget]] = {}
        cur = f" {self.currency}" if self.currency else ""
        for name, (kind, lo, hi, step, fmt, group, label, unit) in PARAM_SPECS.items():
            tip = _(loyalty.PARAMETERS[name])
            common = dict(description=_(label), style=style, tooltip=tip, layout=w.Layout(width="96%"))
            if kind == "slider":
                ctl = w.FloatSlider(min=lo, max=hi, step=step, readout_format=fmt, continuous_update=False, **common)
            elif kind == "islider":
                ctl = w.IntSlider(min=int(lo), max=int(hi), step=int(step), continuous_update=False, **common)
            elif kind == "int":
                ctl = w.BoundedIntText(min=int(lo), max=int(hi), step=int(step), **common)
            else:
                ctl = w.BoundedFloatText(min=lo, max=hi, step=step, **common)
            u = _(unit)
            if (
                name
                in ("baseline_spend", "per_member_cost", "fixed_cost", "setup_cost", "membership_fee", "point_value")
                and cur
            ):
                u = f"{self.currency}, {u}"
            unit_label = w.HTML(
                f'<span class="rk-howto" style="font-size:11px">{html.escape(u)}</span>',
                layout=w.Layout(margin="-4px 0 4px 108px"),
            )
            self.params[name] = ctl
            groups.setdefault(_(group), []).extend([ctl, unit_label])
        self.controls: dict[str, w.Widget] = {"preset": self.preset, **self.params}
        side_children: list[w.Widget] = []
        for g, items in groups.items():
            side_children.append(w.HTML(f'<div class="rk-group">{html.escape(g)}</div>'))
            side_children.extend(items)
        side = w.VBox(side_children, layout=w.Layout(width="360px", flex="0 0 360px", margin="0 14px 0 0"))
        side.add_class("rk-side")
        self.summary = w.HTML()
        self.status = w.HTML()
        self.status.add_class("rk-status")
        self.outputs: dict[str, w.Widget] = {"cash": w.Output(), "sensitivity": w.Output(), "table": w.HTML()}
        self.views = w.Tab(
            children=[
                self.outputs["cash"],
                self.outputs["sensitivity"],
                w.Box([self.outputs["table"]], layout=w.Layout(max_height="520px", overflow="auto")),
            ]
        )
        for i, t in enumerate((_("Cumulative cash"), _("Sensitivity"), _("Table"))):
            self.views.set_title(i, t)
        self._loader = w.Output(layout=w.Layout(height="0px", overflow="hidden"))
        show_html(self._loader, loader_html())
        howto = _(
            "Pick a loyalty programme type to load illustrative numbers (not benchmarks), then replace them with "
            "yours. All rates and amounts are per period ({period}); lifts are for members versus the same "
            "customers without the loyalty programme (definitions §6)."
        ).format(period=self.period_name)
        head = w.HTML(
            CSS
            + f'<div class="rk-head" lang="{self.lang}">'
            + (f"<h3>{html.escape(self.title)}</h3>" if self.title else "")
            + f'<p class="rk-howto">{html.escape(howto)}</p></div>'
        )
        main = w.VBox([self.summary, self.status, self.views], layout=w.Layout(flex="1 1 auto", min_width="0"))
        self.widget = w.VBox(
            [head, self.preset, w.HBox([side, main], layout=w.Layout(align_items="flex-start")), self._loader]
        )
        self.widget.add_class("rk-app")

    def _wire(self) -> None:
        self.preset.observe(self._guard(self._on_preset), names="value")
        for ctl in self.params.values():
            ctl.observe(self._guard(lambda change: self.update()), names="value")
        self.views.observe(self._guard(lambda change: self._render_visible()), names="selected_index")

    def _set_values(self, values: Mapping[str, Any]) -> None:
        with self._hold():
            for name, v in values.items():
                ctl = self.params[name]
                if isinstance(ctl, (w.FloatSlider, w.BoundedFloatText, w.BoundedIntText, w.IntSlider)):
                    if v < ctl.min or v > ctl.max:  # widen the range rather than silently clipping
                        if v < ctl.min:
                            ctl.min = v
                        else:
                            ctl.max = v
                ctl.value = int(v) if isinstance(ctl, (w.IntSlider, w.BoundedIntText)) else float(v)

    def _on_preset(self, change: Any) -> None:
        self._set_values(loyalty.preset_parameters(self.preset.value))
        self.update()

    def parameters(self) -> dict[str, float]:
        """Current parameter values (ready for ``scenario_roi(**params)``)."""
        return {name: ctl.value for name, ctl in self.params.items()}

    def update(self) -> None:
        """Recompute the scenario and sensitivity grid; redraw the visible tab."""
        if self._holding:
            return
        p: dict[str, Any] = self.parameters()
        result = loyalty.scenario_roi(**p)
        top = max(2 * p["retention_lift"], 0.01) if p["retention_lift"] > 0 else 0.05
        top = min(top, 0.99 - p["baseline_retention"])
        lifts = np.round(np.linspace(0.0, max(top, 0.0), 9), 6)
        grid = loyalty.sensitivity(**p, retention_lifts=lifts)
        self.result, self.grid = result, grid
        self.status.value = ""
        self.summary.value = self._summary_html()
        self._stale = {"cash", "sensitivity", "table"}
        self._render_visible()

    def chart(self, name: str) -> Any:
        """The Altair chart "cash" or "sensitivity" for the current values."""
        if name == "cash":
            return cumulative_cash_chart(self.result, lang=self.lang)
        if name == "sensitivity":
            return roi_sensitivity_chart(self.grid, lang=self.lang)
        raise ParameterError(f"chart name {name!r} must be 'cash' or 'sensitivity'.")

    def _render_visible(self) -> None:
        names = ("cash", "sensitivity", "table")
        name = names[self.views.selected_index or 0]
        if name not in self._stale:
            return
        if name == "table":
            self._render_table()
            return
        self._specs[name] = show_chart(self.outputs[name], self.chart(name), name, locale=self.tr.vega_locale())
        self._stale.discard(name)

    def render_all(self) -> None:
        """Draw every view now."""
        for name in ("cash", "sensitivity"):
            self._specs[name] = show_chart(self.outputs[name], self.chart(name), name, locale=self.tr.vega_locale())
        self._stale = {"table"}
        self._render_table()

    def _render_table(self) -> None:
        cols = [
            "period",
            "baseline_customers",
            "program_customers",
            "incremental_customers",
            "incremental_gross_profit",
            "reward_cost",
            "other_costs",
            "membership_fees",
            "cash_flow",
            "cumulative_discounted_cash",
        ]
        _ = self.tr.gettext
        caption = (
            _("Per period ({period}); amounts in {currency}, received at the end of each period (definitions §6).")
            if self.currency
            else _("Per period ({period}); amounts received at the end of each period (definitions §6).")
        ).format(period=self.period_name, currency=self.currency)
        assert self.result is not None  # update() ran in __init__
        self.outputs["table"].value = num_table_html(self.result.table[cols], caption=caption, lang=self.lang)
        self._stale.discard("table")

    def _summary_html(self) -> str:
        assert self.result is not None  # update() ran in __init__
        s = self.result.metrics
        _, tr = self.tr.gettext, self.tr

        def money(v: float) -> str:
            return html.escape(tr.format_currency(v, self.currency, 0))

        def kpi(label: str, value: str, note: str = "", good: bool | None = None) -> str:
            cls = "" if good is None else (" rk-good" if good else " rk-bad")
            return (
                f'<div class="rk-kpi"><div class="rk-kpi-label">{label}</div>'
                f'<div class="rk-kpi-value{cls}">{value}</div><div class="rk-kpi-note">{note}</div></div>'
            )

        roi = s["roi"]
        no_roi = roi is None or np.isnan(roi)
        roi_txt = _("n/a") if no_roi else ("+" if roi > 0 else "") + tr.format_percent(roi, 0)
        pb = s["payback_period"]
        be = s["break_even_retention_lift"]
        be_txt = _("none in range") if be is None or np.isnan(be) else tr.format_points(be, 2)
        cards = [
            kpi("ROI", html.escape(roi_txt), html.escape(_("(PV profit − cost) / cost")), None if no_roi else roi >= 0),
            kpi("NPV", money(s["npv"]), html.escape(_("present value, after setup")), s["npv"] >= 0),
            kpi(
                _("Payback"),
                html.escape(
                    _("not reached")
                    if pb is None
                    else _("{period} {n}").format(period=self.period_name, n=tr.format_number(pb))
                ),
                html.escape(_("discounted cumulative cash ≥ 0")),
                pb is not None,
            ),
            kpi(_("Break-even lift"), html.escape(be_txt), html.escape(_("retention lift with NPV = 0"))),
            kpi(_("Programme cost"), money(s["total_program_cost"]), html.escape(_("PV, net of fees, incl. setup"))),
            kpi(
                _("Subsidy"),
                money(s["reward_cost_on_baseline_spend"]),
                html.escape(_("PV paid on spend that happens anyway")),
            ),
        ]
        return CSS + '<div class="rk-kpis">' + "".join(cards) + "</div>"


def loyalty_roi_calculator(
    preset: str = "points",
    *,
    currency: str = "",
    freq: str | None = None,
    title: str = DEFAULT_TITLE,
    lang: str = "en",
    **overrides: Any,
) -> LoyaltyROICalculator:
    """Build the loyalty-ROI calculator app (definitions §6).

    Parameters
    ----------
    preset : {"points", "tiered", "paid_membership", "gamified"}
        Programme type whose illustrative parameters fill the controls.
    currency : str
        Currency label for amounts.
    freq : {"D", "W", "M", "Q", "Y"}, optional
        Length of one period (default "M", a month); every rate and amount is
        per period. ``period="month"`` is its deprecated spelling.
    title : str
        Heading of the app ("" for none).
    lang : {"en", "el", "hy"}
        Language of the app's labels, charts and numbers.
    **overrides
        Starting values for any parameter of :func:`retainkit.loyalty.scenario_roi`.

    Returns
    -------
    LoyaltyROICalculator
    """
    return LoyaltyROICalculator(preset, currency=currency, freq=freq, title=title, lang=lang, **overrides)


__all__ = [
    "DEFAULT_TITLE",
    "PARAM_SPECS",
    "PERIOD_NAMES",
    "PRESET_LABELS",
    "LoyaltyROICalculator",
    "loyalty_roi_calculator",
]
