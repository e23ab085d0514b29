"""Recurring retention reports: analysis, page building, papermill run, publishing.

Three layers, used by the report notebook and the CLI:

* :func:`compute` loads the data and computes every table and headline figure
  of the report from the library functions (definitions §1-§5), and
  :func:`what_changed` decides which changes are larger than noise.
* :class:`Page` turns them into escaped HTML inside the notebook (KPI tiles,
  tables, charts). Charts work offline: the Vega libraries are embedded once
  (``charts="interactive"``) or each chart is rendered to inline SVG
  (``charts="svg"``); no script is ever loaded from the network.
* :func:`run_report` validates the parameters (before any kernel starts),
  executes ``retention_report.ipynb`` with papermill in a staging folder,
  exports HTML with nbconvert (no code, no prompts, deterministic), and
  publishes ``<out_dir>/<as_of>/retention-report.html`` plus the executed
  notebook atomically; ``<out_dir>/index.html`` lists every report.
"""

from __future__ import annotations

import html as _html
import json
import logging
import math
import os
import re
import secrets
import shutil
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import numpy as np
import pandas as pd

from ._stats import Z95, wilson_interval
from .exceptions import DataError, ParameterError, ReportError
from .params import INTERNAL_PARAMS, SCHEMA, SUMMARY_FILE, ReportParams, as_of_label, validate_params

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
NOTEBOOK = Path(__file__).parent / "notebooks" / "retention_report.ipynb"
REPORT_HTML = "retention-report.html"
REPORT_NOTEBOOK = "retention-report.ipynb"
FAILED_HTML = "retention-report.FAILED.html"
FAILED_NOTEBOOK = "retention-report.FAILED.ipynb"
INDEX_HTML = "index.html"
STAGING = ".staging"
SUMMARY_SCHEMA = 1

PERIODS_PER_YEAR = {"D": 365.0, "W": 52.0, "M": 12.0, "Q": 4.0, "Y": 1.0}
FREQ_WORD = {"D": "day", "W": "week", "M": "month", "Q": "quarter", "Y": "year"}
_SYMBOLS = {"USD": "$", "EUR": "€", "GBP": "£", "JPY": "¥", "INR": "₹", "CHF": "CHF "}


# =========================================================================== numbers
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
    out = t.groupby("age", sort=True).agg(cohorts=("cohort", "nunique"), revenue=("revenue", "sum"),
                                         base_revenue=("base_revenue", "sum")).reset_index()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["revenue_retention"] = np.where(out["base_revenue"] != 0, out["revenue"] / out["base_revenue"], np.nan)
    return out


def discount_per_period(yearly: float, freq: str) -> float:
    """Per-period discount rate equivalent to a yearly one: (1 + d)^(1/periods per year) - 1."""
    return (1.0 + yearly) ** (1.0 / PERIODS_PER_YEAR[freq]) - 1.0


def clv_estimate(margin_per_period: float, retention: float, discount_rate: float) -> float:
    """Margin-multiple CLV, margin received at the end of each period (definitions §5).

    CLV = m r / (1 + d - r). Uses :func:`retainkit.clv.clv_margin_multiple`
    (timing "end") when available; NaN when an input is undefined.
    """
    if not all(np.isfinite([margin_per_period, retention, discount_rate])):
        return math.nan
    try:
        from .clv import clv_margin_multiple

        return float(clv_margin_multiple(margin_per_period, retention, discount_rate, timing="end"))
    except ImportError:  # pragma: no cover - clv ships with retainkit
        return margin_per_period * retention / (1.0 + discount_rate - retention)


# =========================================================================== analysis
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

    @property
    def summary(self):
        return self.tx.summary

    @property
    def as_of(self) -> pd.Timestamp:
        return self.tx.as_of

    @property
    def as_of_label(self) -> str:
        return as_of_label(self.as_of.tz_convert(self.params.tz).tz_localize(None).isoformat(), self.params.tz)


def _pct(x: float, digits: int = 1) -> str:
    return "–" if x is None or not np.isfinite(x) else f"{x:.{digits}%}"


def _pp(x: float) -> str:
    return "–" if not np.isfinite(x) else f"{x * 100:+.1f} pp"


def money(x: float, currency: str, digits: int = 2) -> str:
    """'$41.20', '€1,234.00', 'SEK 12.00' (unknown codes are written before the number)."""
    if x is None or not np.isfinite(x):
        return "–"
    sym = _SYMBOLS.get(currency.upper(), f"{currency} " if currency else "")
    sign = "-" if x < 0 else ""
    return f"{sign}{sym}{abs(x):,.{digits}f}"


def _latest_crr(crr: pd.DataFrame) -> pd.DataFrame:
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


def compute_kpis(cohorts: pd.DataFrame, average: pd.DataFrame, crr: pd.DataFrame, purchases: pd.DataFrame,
                 revenue_average: pd.DataFrame, p: ReportParams) -> dict[str, Kpi]:
    """The headline figures of the report from the library tables (definitions §3-§5).

    Keys: ``customers``, ``crr``, ``churn``, ``repeat_rate``, ``retention_1``,
    ``revenue_retention_1``, ``clv``. Each :class:`Kpi` carries the counts it
    was computed from, so a later report can test a change against noise.
    """
    unit = FREQ_WORD[p.freq]
    k: dict[str, Kpi] = {}
    overall = _overall(purchases)
    per = _periods(purchases)
    lc = _latest_crr(crr)
    customers = float(overall["customers"]) if overall is not None else float(cohorts.drop_duplicates("cohort")["size"].sum())
    sub = ""
    if len(lc):
        last = lc.iloc[-1]
        sub = f"{int(last['end_customers']):,} active at the end of {last['period']} ({p.window} window)"
    k["customers"] = Kpi("customers", "Customers", customers, f"{int(customers):,}", sub or "with a purchase up to as_of")
    if len(lc):
        last = lc.iloc[-1]
        crr_v, lo, hi = float(last["crr"]), float(last["crr_lo"]), float(last["crr_hi"])
        delta, cls, dchurn, cchurn = "", "", "", ""
        if len(lc) > 1:
            prev = lc.iloc[-2]
            d, dlo, dhi = diff_interval(last["retained"], last["start_customers"], prev["retained"], prev["start_customers"])
            sig = np.isfinite(dlo) and (dlo > 0 or dhi < 0)
            delta = f"{_pp(d)} vs {prev['period']}" + ("" if sig else " (within noise)")
            cls = ("rk-good" if d > 0 else "rk-bad") if sig else ""
            dchurn = f"{_pp(-d)} vs {prev['period']}" + ("" if sig else " (within noise)")
            cchurn = ("rk-good" if d > 0 else "rk-bad") if sig else ""
        k["crr"] = Kpi("crr", f"CRR {last['period']}", crr_v, _pct(crr_v), f"95% interval {_pct(lo)} – {_pct(hi)}",
                       lo, hi, float(last["retained"]), float(last["start_customers"]), str(last["period"]), delta, cls)
        k["churn"] = Kpi("churn", f"Churn {last['period']}", 1 - crr_v, _pct(1 - crr_v),
                         f"{int(last['lost']):,} of {int(last['start_customers']):,} customers lost",
                         1 - hi, 1 - lo, float(last["lost"]), float(last["start_customers"]), str(last["period"]), dchurn, cchurn)
    else:
        k["crr"] = Kpi("crr", "CRR", math.nan, "–", "no complete period with a covered activity window")
        k["churn"] = Kpi("churn", "Churn", math.nan, "–", "no complete period with a covered activity window")
    if overall is not None:
        rr = float(overall["repeat_purchase_rate"])
        num, den = float(overall["repeat_customers"]), float(overall["customers"])
        lo, hi = (float(v[0]) for v in wilson_interval([num], [den]))
        k["repeat_rate"] = Kpi("repeat_rate", "Repeat purchase rate", rr, _pct(rr),
                               f"customers with 2+ orders, all periods ({int(num):,} of {int(den):,})", lo, hi, num, den, "overall")
    a1 = average[average["age"] == 1]
    if len(a1):
        r = a1.iloc[0]
        k["retention_1"] = Kpi("retention_1", f"{unit.capitalize()}-1 retention", float(r["retention"]), _pct(float(r["retention"])),
                               f"all cohorts pooled ({int(r['cohorts'])} cohorts), 95% {_pct(float(r['retention_lo']))} – {_pct(float(r['retention_hi']))}",
                               float(r["retention_lo"]), float(r["retention_hi"]), float(r["active"]), float(r["size"]), "age 1")
    else:
        k["retention_1"] = Kpi("retention_1", f"{unit.capitalize()}-1 retention", math.nan, "–", "no cohort observed at age 1 yet")
    if len(revenue_average) and (revenue_average["age"] == 1).any():
        r = revenue_average[revenue_average["age"] == 1].iloc[0]
        v = float(r["revenue_retention"])
        k["revenue_retention_1"] = Kpi("revenue_retention_1", f"{unit.capitalize()}-1 revenue retention", v, _pct(v),
                                       f"revenue at age 1 / age 0, {int(r['cohorts'])} cohorts pooled",
                                       num=float(r["revenue"]), den=float(r["base_revenue"]), period="age 1")
    # CLV (definitions §5): margin multiple with m = margin x revenue per active
    # customer-period and r = mean CRR, both over the last (up to) 12 periods.
    if len(lc) and len(per) and "revenue" in per.columns:
        recent = per.tail(12)
        with np.errstate(divide="ignore", invalid="ignore"):
            rev_per_active = float(np.nanmean(recent["revenue"] / recent["customers"]))
        r = float(lc["crr"].tail(12).mean())
        d = discount_per_period(p.discount_rate, p.freq)
        m = p.margin * rev_per_active
        clv = clv_estimate(m, r, d)
        k["clv"] = Kpi("clv", "CLV estimate", clv, money(clv, p.currency, 0),
                       f"margin multiple m·r/(1+d−r): m = {money(m, p.currency)}/{unit}, r = {_pct(r)}, d = {_pct(d, 2)}/{unit}")
    return k


def what_changed(kpis: Mapping[str, Kpi], crr: pd.DataFrame, purchases: pd.DataFrame, cohorts: pd.DataFrame,
                 previous: Mapping[str, Any] | None, freq: str) -> list[Change]:
    """Compare figures with the previous period and the previous report.

    Every comparison is a difference of two proportions with its 95 %
    interval (:func:`diff_interval`); the report lists a change only when
    the interval excludes 0, the others as "within noise".

    Compared: CRR latest vs previous period; repeat purchase rate (within the
    period) latest vs previous period; age-1 retention of the newest cohort
    observed at age 1 vs all earlier cohorts pooled; and, with a previous
    report, its CRR, repeat rate and age-1 retention vs this report's.
    """
    unit = FREQ_WORD[freq]
    out: list[Change] = []
    lc = _latest_crr(crr)
    if len(lc) > 1:
        a, b = lc.iloc[-1], lc.iloc[-2]
        d, lo, hi = diff_interval(a["retained"], a["start_customers"], b["retained"], b["start_customers"])
        out.append(Change("CRR", str(a["period"]), str(b["period"]), float(a["crr"]), float(b["crr"]), d, lo, hi))
    per = _periods(purchases)
    if len(per) > 1:
        a, b = per.iloc[-1], per.iloc[-2]
        d, lo, hi = diff_interval(a["repeat_customers"], a["customers"], b["repeat_customers"], b["customers"])
        out.append(Change(f"Repeat purchase rate within the {unit}", str(a["period"]), str(b["period"]),
                          float(a["repeat_purchase_rate"]), float(b["repeat_purchase_rate"]), d, lo, hi))
    t = cohorts[(cohorts["age"] == 1) & ~cohorts["partial"].astype(bool)] if len(cohorts) else cohorts
    if len(t) > 1:
        t = t.sort_values("cohort_start")
        newest, earlier = t.iloc[-1], t.iloc[:-1]
        k2, n2 = float(earlier["active"].sum()), float(earlier["size"].sum())
        d, lo, hi = diff_interval(newest["active"], newest["size"], k2, n2)
        out.append(Change(f"{unit.capitalize()}-1 retention", f"cohort {newest['cohort']}", "earlier cohorts pooled",
                          float(newest["retention"]), k2 / n2 if n2 else math.nan, d, lo, hi))
    if previous:
        pk = previous.get("kpis", {})
        then = f"report of {previous.get('as_of_label', '?')}"
        for key, name, better in (("crr", "CRR", True), ("repeat_rate", "Repeat purchase rate", True),
                                  ("retention_1", f"{unit.capitalize()}-1 retention", True)):
            now_k, then_k = kpis.get(key), pk.get(key)
            if now_k is None or not then_k or then_k.get("den") in (None, 0) or not np.isfinite(now_k.den):
                continue
            if key == "crr" and then_k.get("period") == now_k.period:
                continue  # same period: nothing new to compare
            d, lo, hi = diff_interval(now_k.num, now_k.den, then_k["num"], then_k["den"])
            now_label = f"{now_k.period} (this report)" if key == "crr" else "this report"
            then_label = f"{then_k.get('period')} ({then})" if key == "crr" else then
            out.append(Change(name, now_label, then_label, now_k.value, float(then_k["value"]), d, lo, hi, better))
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
    from .cohorts import average_curve, cohort_table
    from .data import load_transactions
    from .metrics import crr_table, purchase_metrics

    p = params if isinstance(params, ReportParams) else validate_params(params)
    caught_msgs: list[str] = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        tx = load_transactions(
            str(p.data_path), customer_id=p.customer_id, timestamp=p.timestamp, amount=p.amount or None,
            segments=(p.segment,) if p.segment else (), tz=p.tz, as_of=p.as_of or None,
            order_id=p.order_id or None, date_format=p.date_format or None,
        )
        cohorts = cohort_table(tx, p.freq)
        if not len(cohorts):
            raise DataError(
                f"no complete {FREQ_WORD[p.freq]} before as_of={tx.as_of:%Y-%m-%d}: nothing to report. "
                "Pass a later as_of or a shorter freq."
            )
        average = average_curve(cohorts)
        crr = crr_table(tx, p.freq, window=p.window)
        purchases = purchase_metrics(tx, p.freq)
        seg_c = seg_a = seg_crr = None
        if p.segment:
            seg_c = cohort_table(tx, p.freq, by=p.segment)
            seg_a = average_curve(seg_c)
            seg_crr = crr_table(tx, p.freq, window=p.window, by=p.segment)
    for w in caught:
        msg = str(w.message)
        if msg not in caught_msgs:
            caught_msgs.append(msg)
    rev_avg = pooled_revenue_retention(cohorts)
    kpis = compute_kpis(cohorts, average, crr, purchases, rev_avg, p)
    previous = read_summary(p.previous_report) if p.previous_report and p.previous_report != "auto" else None
    changes = what_changed(kpis, crr, purchases, cohorts, previous, p.freq)
    return ReportData(p, tx, cohorts, average, crr, purchases, rev_avg, seg_c, seg_a, seg_crr, kpis, changes,
                      caught_msgs, previous)


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
        "segment": p.segment,
        "generated_at": p.generated_at,
        "rows_read": int(data.summary.rows_read),
        "rows_kept": int(data.summary.rows_kept),
        "kpis": {k: v.to_json() for k, v in data.kpis.items()},
        "changes": [{"metric": c.metric, "now": _jsonable(c.now), "then": _jsonable(c.then), "now_label": c.now_label,
                     "then_label": c.then_label, "diff": _jsonable(c.diff), "lo": _jsonable(c.lo), "hi": _jsonable(c.hi),
                     "significant": c.significant} for c in data.changes],
        "params": {k: v for k, v in p.to_dict().items() if k not in INTERNAL_PARAMS},
    }


def write_summary(data: ReportData, path: str | os.PathLike | None = None) -> Path | None:
    """Write :func:`summary_dict` to ``path`` (default: ``params.summary_path``; '' writes nothing)."""
    target = path if path is not None else data.params.summary_path
    if not target:
        return None
    target = Path(target)
    _atomic_write(target, json.dumps(summary_dict(data), indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    return target


def _jsonable(v: Any) -> Any:
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (float, np.floating)):
        return None if not np.isfinite(v) else float(v)
    return v


# =========================================================================== page
def esc(value: Any) -> str:
    """HTML-escape any value (quotes too)."""
    return _html.escape("" if value is None else str(value), quote=True)


def script_json(obj: Any) -> str:
    """JSON safe to place inside a ``<script>`` element (no ``</script>``, no ``<!--``)."""
    text = json.dumps(obj, sort_keys=True, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    return (text.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
            .replace("\u2028", "\\u2028").replace("\u2029", "\\u2029"))


def _vl_version() -> str:
    import altair as alt

    m = re.match(r"v?(\d+)\.(\d+)", alt.SCHEMA_VERSION)
    return f"{m[1]}.{m[2]}" if m else ""


def _cache_dir() -> Path:
    base = os.environ.get("RETAINKIT_CACHE") or os.path.join(
        os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache"), "retainkit")
    return Path(base)


def vega_bundle() -> str:
    """The Vega, Vega-Lite and vega-embed JavaScript (offline, from vl-convert), ~0.9 MB.

    Defines ``window.vegaEmbed``; include it once per page. Building it takes
    vl-convert several seconds, so it is cached on disk per vl-convert and
    Vega-Lite version (``$RETAINKIT_CACHE`` or ``~/.cache/retainkit``).
    """
    import vl_convert as vlc

    version = _vl_version()
    cache = _cache_dir() / f"vega-bundle-vlc{getattr(vlc, '__version__', 'x')}-vl{version}.js"
    js = None
    if cache.is_file():
        try:
            js = cache.read_text(encoding="utf-8")
        except OSError:  # pragma: no cover
            js = None
    if not js or "window.vegaEmbed" not in js:
        js = vlc.javascript_bundle(vl_version=version)
        try:
            _atomic_write(cache, js)
        except OSError:  # pragma: no cover - a read-only home still works, just slower
            pass
    if re.search(r"</script|<!--", js, re.IGNORECASE):  # pragma: no cover - checked for this vl-convert
        raise ReportError("the Vega bundle contains '</script' or '<!--' and cannot be inlined safely.")
    return js


def chart_spec(chart: Any) -> dict[str, Any]:
    """Vega-Lite dict of an Altair chart with the retainkit theme config merged in."""
    from .charts import theme_config

    spec = chart.to_dict() if hasattr(chart, "to_dict") else dict(chart)
    config = theme_config()
    for key, val in spec.get("config", {}).items():
        config[key] = {**config.get(key, {}), **val} if isinstance(val, dict) and isinstance(config.get(key), dict) else val
    spec["config"] = config
    return spec


def table_html(df: pd.DataFrame, *, formats: Mapping[str, Any] | None = None, caption: str = "",
               numeric: Sequence[str] = (), small: Sequence[str] = (), headers: Mapping[str, str] | None = None) -> str:
    """An escaped HTML table (every cell and header is escaped)."""
    formats = dict(formats or {})
    headers = dict(headers or {})
    cols = list(df.columns)
    out = ['<table class="rk-table">']
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append("<thead><tr>" + "".join(
        f'<th class="{"rk-num" if c in numeric else ""}">{esc(headers.get(c, c))}</th>' for c in cols) + "</tr></thead><tbody>")
    for row in df.itertuples(index=False, name=None):
        cells = []
        for c, v in zip(cols, row):
            f = formats.get(c)
            if v is None or (isinstance(v, float) and not np.isfinite(v)):
                text = "–"
            elif callable(f):
                text = f(v)
            elif f:
                text = f.format(v)
            else:
                text = str(v)
            cls = "rk-num" if c in numeric else ("rk-small" if c in small else "")
            cells.append(f'<td class="{cls}">{esc(text)}</td>')
        out.append("<tr>" + "".join(cells) + "</tr>")
    out.append("</tbody></table>")
    return "".join(out)


class Page:
    """Builds the report's HTML pieces and displays them in the notebook.

    All user-supplied text (title, column names, segment values, file names)
    is escaped. Chart ids are numbered, never random, so reruns give identical
    HTML. ``charts="interactive"`` embeds the Vega bundle once (in
    :meth:`header`) and draws each chart with ``vegaEmbed`` (tooltips);
    ``charts="svg"`` renders each chart to inline SVG in the kernel.
    """

    def __init__(self, params: ReportParams):
        self.params = params
        self.mode = params.charts
        self._n = 0
        self._bundle_done = False

    # -- output
    @staticmethod
    def show(html: str) -> None:
        """Display an HTML string in the notebook."""
        from IPython.display import HTML, display

        display(HTML(html))

    # -- pieces
    def bundle_html(self) -> str:
        if self.mode != "interactive" or self._bundle_done:
            return ""
        self._bundle_done = True
        return f'<script type="text/javascript">{vega_bundle()}</script>'

    def header_html(self, data: ReportData) -> str:
        p, s = self.params, data.summary
        css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
        meta = [f"Data as of {data.as_of.tz_convert(p.tz):%Y-%m-%d %H:%M} ({p.tz})",
                f"{FREQ_WORD[p.freq]}ly periods",
                f"{s.rows_kept:,} transactions of {s.customers:,} customers",
                f"source: {Path(str(s.source)).name}"]
        if p.generated_at:
            meta.append(f"generated at {p.generated_at}")
        return (f"<style>{css}</style>" + self.bundle_html()
                + f'<div class="rk-header"><h1>{esc(p.title)}</h1><div class="rk-meta">'
                + "".join(f"<span>{esc(m)}</span>" for m in meta) + "</div></div>")

    def kpis_html(self, data: ReportData) -> str:
        tiles = []
        for k in data.kpis.values():
            delta = f'<div class="rk-delta {k.delta_class}">{esc(k.delta)}</div>' if k.delta else ""
            value = "" if not np.isfinite(k.value) else repr(float(k.value))
            tiles.append(
                f'<div class="rk-kpi" data-kpi="{esc(k.key)}" data-value="{value}">'
                f'<div class="rk-kpi-label">{esc(k.label)}</div><div class="rk-kpi-value">{esc(k.display)}</div>'
                f'<div class="rk-kpi-sub">{esc(k.sub)}</div>{delta}</div>')
        return '<div class="rk-kpis">' + "".join(tiles) + "</div>"

    def changes_html(self, data: ReportData) -> str:
        sig = [c for c in data.changes if c.significant]
        quiet = [c for c in data.changes if not c.significant]

        def item(c: Change) -> str:
            word = "rose" if c.diff > 0 else "fell"
            cls = "rk-good" if c.good else "rk-bad"
            return (f'<li class="{cls if c.significant else ""}"><b>{esc(c.metric)}</b> {word if c.significant else "moved"} from '
                    f"{esc(_pct(c.then))} ({esc(c.then_label)}) to {esc(_pct(c.now))} ({esc(c.now_label)})"
                    f'<span class="rk-detail">difference {esc(_pp(c.diff))}, 95% interval {esc(_pp(c.lo))} to {esc(_pp(c.hi))}</span></li>')

        parts = []
        if sig:
            parts.append('<ul class="rk-changes">' + "".join(item(c) for c in sig) + "</ul>")
        elif data.changes:
            parts.append('<p class="rk-note">No change is larger than noise: every 95% interval of a difference below includes 0.</p>')
        else:
            parts.append('<p class="rk-note">Not enough periods yet to compare anything.</p>')
        if quiet:
            parts.append(f'<details class="rk-details"><summary>Compared and within noise ({len(quiet)})</summary>'
                         '<ul class="rk-changes">' + "".join(item(c) for c in quiet) + "</ul></details>")
        if data.params.previous_report and not data.previous:
            parts.append('<p class="rk-note">No previous report was found to compare with.</p>')
        return "".join(parts)

    def chart_html(self, chart: Any) -> str:
        """HTML of one chart: a vegaEmbed call (interactive) or inline SVG."""
        self._n += 1
        spec = chart_spec(chart)
        cid = f"rk-chart-{self._n}"
        if self.mode == "svg":
            import vl_convert as vlc

            svg = vlc.vegalite_to_svg(spec, vl_version=_vl_version())
            return f'<div class="rk-chart" id="{cid}">{svg}</div>'
        return (f'<div class="rk-chart" id="{cid}"></div>'
                '<script type="text/javascript">(function(){'
                f'var el=document.getElementById("{cid}");var spec={script_json(spec)};'
                'if(typeof window.vegaEmbed!=="function"){el.textContent="This chart needs JavaScript.";return;}'
                'window.vegaEmbed(el,spec,{renderer:"svg",actions:false,mode:"vega-lite"})'
                '.catch(function(e){el.className+=" rk-chart-error";el.textContent="Chart failed: "+e;console.error(e);});'
                "})();</script>")

    def data_quality_html(self, data: ReportData) -> str:
        s = data.summary
        frame = s.to_frame()
        parts = [f'<p class="rk-note">Read {s.rows_read:,} rows, analysed {s.rows_kept:,}, dropped {s.rows_dropped:,} '
                 f"(definitions §1: nothing is dropped silently).</p>"]
        for w in data.warnings:
            parts.append(f'<div class="rk-warning">{esc(w)}</div>')
        parts.append(table_html(
            frame, formats={"rows": "{:,}", "share": lambda v: f"{v:.2%}"}, numeric=("rows", "share"), small=("examples",),
            headers={"item": "Item", "rows": "Rows", "share": "Share", "what": "Meaning", "examples": "Examples"}))
        cols = s.columns if isinstance(getattr(s, "columns", None), dict) else {}
        if cols:
            parts.append(table_html(pd.DataFrame({"role": list(cols), "column": list(cols.values())}),
                                    caption="Column mapping", headers={"role": "Role", "column": "Column in the data"}))
        return "".join(parts)

    def crr_table_html(self, data: ReportData, last: int = 6) -> str:
        t = _latest_crr(data.crr).tail(last)
        cols = ["period", "start_customers", "retained", "lost", "new", "reactivated", "end_customers", "crr", "crr_lo", "crr_hi", "crr_counts"]
        t = t.loc[:, [c for c in cols if c in t.columns]].iloc[::-1]
        return table_html(t, caption=f"Latest periods (activity window {data.params.window})",
                          formats={c: "{:,}" for c in cols[1:7]} | {c: _pct for c in ("crr", "crr_lo", "crr_hi", "crr_counts")},
                          numeric=cols[1:],
                          headers={"period": "Period", "start_customers": "S", "retained": "Retained", "lost": "Lost",
                                   "new": "N (new)", "reactivated": "Reactivated", "end_customers": "E",
                                   "crr": "CRR", "crr_lo": "95% low", "crr_hi": "95% high", "crr_counts": "(E−N)/S"})

    def segment_table_html(self, data: ReportData) -> str:
        if data.segment_average is None:
            return ""
        seg = data.params.segment
        a = data.segment_average
        rows = []
        crr = data.segment_crr
        for name, g in a.groupby(seg, sort=False):
            r0 = g[g["age"] == 0]
            r1 = g[g["age"] == 1]
            row = {"segment": str(name), "customers": float(r0["size"].iloc[0]) if len(r0) else math.nan,
                   "ret1": float(r1["retention"].iloc[0]) if len(r1) else math.nan,
                   "ret1_ci": f"{_pct(float(r1['retention_lo'].iloc[0]))} – {_pct(float(r1['retention_hi'].iloc[0]))}" if len(r1) else "–"}
            if crr is not None:
                c = _latest_crr(crr[crr[seg].astype(str) == str(name)])
                row["crr"] = float(c["crr"].iloc[-1]) if len(c) else math.nan
                row["crr_period"] = str(c["period"].iloc[-1]) if len(c) else ""
            if "cum_revenue_per_customer" in g.columns and len(g):
                row["cum_rev"] = float(g.sort_values("age")["cum_revenue_per_customer"].iloc[min(len(g), 12) - 1])
            rows.append(row)
        df = pd.DataFrame(rows).sort_values("customers", ascending=False, kind="stable")
        unit = FREQ_WORD[data.params.freq]
        return table_html(df, caption=f"Segments by {seg}",
                          formats={"customers": "{:,.0f}", "ret1": _pct, "crr": _pct,
                                   "cum_rev": lambda v: money(v, data.params.currency)},
                          numeric=("customers", "ret1", "ret1_ci", "crr", "cum_rev"),
                          headers={"segment": seg, "customers": "Customers", "ret1": f"{unit.capitalize()}-1 retention",
                                   "ret1_ci": "95% interval", "crr": "Latest CRR", "crr_period": "Period",
                                   "cum_rev": f"Revenue per customer by age {min(11, int(a['age'].max()))}"})

    def methodology_html(self, data: ReportData) -> str:
        p = data.params
        from . import __version__

        defs = [
            ("Cohort", "the period of a customer's first purchase (refunds never start a cohort) — definitions §2."),
            ("Classic retention R(c,k)", "share of cohort c with a purchase at age k; only complete periods are shown, unobserved cells are blank, never 0 — definitions §2, §3."),
            ("Average curve", "R(k) = Σ active / Σ cohort size over the cohorts observed at age k (size-weighted, never a mean of rates) — definitions §3."),
            ("Intervals", "95% Wilson score intervals for every rate; differences use Newcombe's interval built from them, and a change is listed only when that interval excludes 0 — definitions §3."),
            ("CRR", f"retained / S, where a customer is 'a customer' at a boundary when they bought in the trailing {p.window} window; S, E, N and reactivated are shown so (E−N)/S can be compared — definitions §4."),
            ("Churn", "1 − CRR — definitions §4."),
            ("Repeat purchase rate", "share of customers with 2 or more orders — definitions §4."),
            ("Revenue retention", "revenue of a cohort at age k / its revenue at age 0, refunds included; pooled = Σ revenue at k / Σ revenue at 0 — definitions §3."),
            ("CLV estimate", f"margin multiple m·r/(1+d−r) with margin received at the end of each {FREQ_WORD[p.freq]}: m = margin share × revenue per active customer per {FREQ_WORD[p.freq]}, r = mean CRR, both over the last 12 {FREQ_WORD[p.freq]}s; d = the yearly discount rate per {FREQ_WORD[p.freq]} — definitions §5. A rough guide, not a forecast."),
        ]
        parts = ['<table class="rk-table"><tbody>' + "".join(
            f"<tr><td><b>{esc(a)}</b></td><td>{esc(b)}</td></tr>" for a, b in defs) + "</tbody></table>"]
        rows = [{"name": x.name, "value": repr(getattr(p, x.name)), "help": x.help} for x in SCHEMA if x.name not in INTERNAL_PARAMS]
        parts.append(table_html(pd.DataFrame(rows), caption="Parameters of this run", small=("help",),
                                headers={"name": "Parameter", "value": "Value", "help": "Meaning"}))
        parts.append(f'<div class="rk-footer">retainkit {esc(__version__)} · as of {esc(data.as_of_label)}'
                     + (f" · generated at {esc(p.generated_at)}" if p.generated_at else "") + "</div>")
        return "".join(parts)

    # -- display shortcuts used by the notebook
    def header(self, data: ReportData) -> None:
        self.show(self.header_html(data))

    def kpis(self, data: ReportData) -> None:
        self.show(self.kpis_html(data))

    def changes(self, data: ReportData) -> None:
        self.show(self.changes_html(data))

    def chart(self, chart: Any) -> None:
        self.show(self.chart_html(chart))

    def note(self, text: str) -> None:
        self.show(f'<p class="rk-note">{esc(text)}</p>')

    def html(self, html: str) -> None:
        self.show(html)


# =========================================================================== export
WIDGET_MIME = "application/vnd.jupyter.widget-view+json"
WIDGET_NOTE = "[interactive controls: open the notebook in JupyterLab to use them]"


def prepare_for_export(nb: Any, *, title: str | None = None, drop_empty: bool = True) -> Any:
    """Deterministic, offline-safe copy of an executed notebook for HTML export.

    Cell ids are renumbered (papermill injects random ones), the widget state
    is dropped (it references a CDN loader) and every widget view is replaced
    by a one-line note (a static page has no kernel to run it), and code
    cells without output are removed when ``drop_empty``; cells tagged
    ``remove-cell`` are always removed.
    """
    import copy

    nb = copy.deepcopy(nb)
    nb.metadata.pop("widgets", None)
    if title is not None:
        nb.metadata["title"] = title
    cells = [c for c in nb.cells
             if "remove-cell" not in c.get("metadata", {}).get("tags", [])
             and not (drop_empty and c.cell_type == "code" and not c.get("outputs"))]
    for i, c in enumerate(cells):
        c["id"] = f"cell-{i:03d}"
        for out in c.get("outputs", []):
            if WIDGET_MIME in out.get("data", {}):  # no kernel offline: say so instead of the widget's repr
                out["data"] = {"text/plain": WIDGET_NOTE}
    nb.cells = cells
    return nb


#: MathJax 3 bundle inlined into pages with ``math=True``: TeX input, SVG output, every TeX extension
#: included and the glyphs drawn from the script itself, so nothing is fetched (no fonts, no components).
MATHJAX_BUNDLE = "static/mathjax/es5/tex-svg-full.js"
#: MathJax configuration: the notebook's $...$ and $$...$$; no menu (it would load accessibility code).
MATHJAX_CONFIG = {
    "tex": {"inlineMath": [["$", "$"], ["\\(", "\\)"]], "displayMath": [["$$", "$$"], ["\\[", "\\]"]],
            "processEscapes": True},
    "svg": {"fontCache": "global"},
    "options": {"enableMenu": False},
}
EXPORT_TEMPLATES = {"report": "report.html.j2", "notebook": "notebook.html.j2", "slides": "slides.html.j2"}


def mathjax_script() -> str:
    """The MathJax configuration and bundle as inline ``<script>`` elements (offline; no ``src``).

    The bundle comes from the ``django-static-mathjax`` package (MathJax
    3.2.2, Apache-2.0; it has no Django dependency), read with
    importlib.resources.
    """
    from importlib import resources

    bundle = (resources.files("mathjax") / MATHJAX_BUNDLE).read_text(encoding="utf-8")
    bundle = bundle.replace("</script", "<\\/script")  # cannot close the inline element early
    return (f"<script>window.MathJax = {script_json(MATHJAX_CONFIG)};</script>\n"
            f'<script id="rk-mathjax">{bundle}</script>')


def export_html(nb: Any, *, include_input: bool = False, title: str | None = None, math: bool = False,
                template: str = "report") -> str:
    """Export an executed notebook to one self-contained HTML page (nbconvert).

    ``include_input=False`` hides code and prompts (the report); True keeps
    the code (failed runs, so the traceback can be read in context; notebook
    hand-outs). The page loads nothing from the network: retainkit's
    templates have no require.js, Mermaid, widget or CDN MathJax scripts.

    Parameters
    ----------
    nb : nbformat.NotebookNode
        An executed notebook.
    include_input : bool
        Show code cells and prompts.
    title : str, optional
    math : bool
        Render the Markdown cells' TeX ($...$, $$...$$) with a MathJax that is
        inlined into the page (about 2 MB; works offline).
    template : {"report", "notebook", "slides"}
        "report": retainkit's report stylesheet; "notebook": JupyterLab's look
        (notebook hand-outs); "slides": JupyterLab's look, one Markdown cell
        per screen.

    Returns
    -------
    str
        The HTML page; the same notebook and arguments give the same bytes.
    """
    from nbconvert import HTMLExporter

    from . import __version__

    if template not in EXPORT_TEMPLATES:
        raise ParameterError(f"template={template!r} must be one of {sorted(EXPORT_TEMPLATES)}.")
    nb = prepare_for_export(nb, title=title, drop_empty=not include_input)
    exporter = HTMLExporter(
        template_name="lab",
        extra_template_paths=[str(TEMPLATES)],
        template_file=EXPORT_TEMPLATES[template],
        exclude_input=not include_input,
        exclude_input_prompt=not include_input,
        exclude_output_prompt=True,
    )
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    body, _ = exporter.from_notebook_node(nb, resources={
        "rk_css": css, "rk_version": __version__, "rk_math": mathjax_script() if math else "",
        "metadata": {"name": title or "retention report"}})
    return body


# =========================================================================== runner
@dataclass(frozen=True)
class ReportResult:
    """Where a published report is and what it says."""

    html: Path
    notebook: Path
    summary: dict[str, Any]
    folder: Path
    index: Path

    @property
    def as_of(self) -> str:
        return str(self.summary.get("as_of_label", ""))


def _atomic_write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8", newline="\n") as fh:
            fh.write(text)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


def _publish(files: Sequence[tuple[Path, Path]]) -> None:
    """Move finished files into place, each with an atomic rename (the HTML last)."""
    for src, dst in files:
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # pragma: no cover
        return True
    return True


def _clean_stale_staging(out: Path) -> None:
    root = out / STAGING
    if not root.is_dir():
        return
    for d in root.iterdir():
        m = re.match(r".*-p(\d+)-[0-9a-f]+$", d.name)
        if m and not _pid_alive(int(m[1])):
            shutil.rmtree(d, ignore_errors=True)


def find_reports(out_dir: str | os.PathLike = "reports") -> list[dict[str, Any]]:
    """Every published report under ``out_dir`` (newest first), with its summary."""
    out = Path(out_dir)
    rows = []
    if not out.is_dir():
        return rows
    for d in sorted(out.iterdir(), reverse=True):
        if d.name.startswith(".") or not d.is_dir():
            continue
        s = d / SUMMARY_FILE
        failed = (d / FAILED_HTML).exists()
        if s.is_file():
            try:
                summary = json.loads(s.read_text(encoding="utf-8"))
            except ValueError:
                continue
            rows.append({"folder": d.name, "summary": summary, "failed": failed,
                         "has_html": (d / REPORT_HTML).exists()})
        elif failed:
            rows.append({"folder": d.name, "summary": None, "failed": True, "has_html": False})
    return rows


def _previous_auto(out: Path, label: str) -> str:
    for r in find_reports(out):
        if r["summary"] and r["folder"] < label and r["has_html"]:
            return str((out / r["folder"]).resolve())
    return ""


def write_index(out_dir: str | os.PathLike = "reports") -> Path:
    """(Re)write ``<out_dir>/index.html`` listing every report with its headline figures.

    Deterministic (sorted by folder, no clock), escaped, written atomically.
    """
    import jinja2

    out = Path(out_dir)
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             keep_trailing_newline=True)
    rows = []
    for r in find_reports(out):
        s = r["summary"] or {}
        k = s.get("kpis", {})

        def disp(key: str) -> str:
            return (k.get(key) or {}).get("display") or "–"

        rows.append({
            "folder": r["folder"], "title": s.get("title", "(failed run)"), "failed": r["failed"],
            "has_html": r["has_html"], "report": f"{r['folder']}/{REPORT_HTML}", "failed_html": f"{r['folder']}/{FAILED_HTML}",
            "customers": disp("customers"), "crr": disp("crr"), "crr_period": (k.get("crr") or {}).get("period", ""),
            "churn": disp("churn"), "repeat": disp("repeat_rate"), "ret1": disp("retention_1"),
            "rev1": disp("revenue_retention_1"), "clv": disp("clv"),
            "changes": sum(1 for c in s.get("changes", []) if c.get("significant")),
        })
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    text = env.get_template("index.html.j2").render(rows=rows, css=css)
    path = out / INDEX_HTML
    _atomic_write(path, text)
    return path


def _failed_cell(nb: Any) -> tuple[int | None, str]:
    """(number among the notebook's own code cells, a short name) of the failed cell."""
    n = 0
    for c in nb.cells:
        if c.cell_type != "code" or "injected-parameters" in c.get("metadata", {}).get("tags", []):
            continue
        n += 1
        if c.get("metadata", {}).get("papermill", {}).get("status") == "failed":
            cid = str(c.get("id", ""))
            if re.fullmatch(r"[a-z][a-z0-9-]*", cid) and not re.fullmatch(r"[0-9a-f]{8}", cid):
                return n, cid
            src = next((ln for ln in c.source.splitlines() if ln.strip() and not ln.strip().startswith("#")), "")
            return n, src.strip()[:60]
    return None, ""


def _quiet_kernel_args(kernel_name: str | None, nb_path: Path) -> list[str]:
    """Kernel arguments that keep an IPython kernel's start-up log to errors.

    The kernel is private to the run and listens on localhost only; its
    warning about unencrypted TCP would otherwise print on every scheduled run.
    Other kernels get no extra argument (they may not accept it).
    """
    try:
        import nbformat
        from jupyter_client.kernelspec import get_kernel_spec

        name = kernel_name or nbformat.read(str(nb_path), as_version=4).metadata.get("kernelspec", {}).get("name")
        argv = get_kernel_spec(name or "python3").argv
    except Exception:  # noqa: BLE001 - an unknown kernel is reported by papermill itself
        return []
    return ["--IPKernelApp.log_level=ERROR"] if any("ipykernel" in a for a in argv) else []


def run_report(
    params: ReportParams | Mapping[str, Any] | None = None,
    out_dir: str | os.PathLike = "reports",
    *,
    notebook: str | os.PathLike | None = None,
    progress: bool = False,
    kernel_name: str | None = None,
    timeout: int | None = 1800,
    update_index: bool = True,
) -> ReportResult:
    """Run the retention report notebook and publish it (offline HTML + executed notebook).

    Parameters
    ----------
    params : ReportParams or mapping, optional
        Report parameters (see :data:`retainkit.params.SCHEMA`), validated
        before any kernel starts. ``previous_report="auto"`` picks the latest
        earlier report in ``out_dir`` (needs ``as_of``).
    out_dir : path
        Reports folder. The report goes to ``<out_dir>/<as_of>/`` as
        ``retention-report.html``, ``retention-report.ipynb`` and
        ``report-summary.json``; ``<out_dir>/index.html`` lists all reports.
    notebook : path, optional
        Report notebook to run (default: the one shipped in retainkit).
    progress : bool
        Show papermill's cell progress bar (stderr).
    kernel_name : str, optional
        Jupyter kernel (default: the notebook's, "python3").
    timeout : int or None
        Seconds a single cell may run.
    update_index : bool
        Rewrite ``index.html`` after publishing.

    Returns
    -------
    ReportResult

    Raises
    ------
    ParameterError
        Before any kernel starts, naming the parameter.
    ReportError
        The notebook failed. Nothing already published is touched; the
        executed notebook is kept as ``retention-report.FAILED.ipynb`` (and
        ``.html``, with code) in the report folder. Attributes: ``ename``,
        ``evalue``, ``cell``, ``notebook``, ``html``.

    Notes
    -----
    Publishing is atomic per file: everything is produced in
    ``<out_dir>/.staging/`` and moved into place with ``os.replace`` only after
    the run and the export succeeded (HTML last), so a crash or kill mid-run
    never leaves a half-written report and never replaces the previous one.
    Same data and parameters give byte-identical HTML.
    """
    import nbformat
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    p = validate_params(params if params is not None else {})
    out = Path(out_dir).expanduser().resolve()
    nb_path = Path(notebook) if notebook is not None else NOTEBOOK
    if not nb_path.is_file():
        raise ParameterError(f"notebook {str(nb_path)!r} does not exist.")
    label = p.as_of_label
    changes: dict[str, Any] = {"summary_path": SUMMARY_FILE}
    if p.data != "sample":
        changes["data"] = str(Path(p.data).expanduser().resolve())
    if p.previous_report == "auto":
        if not label:
            raise ParameterError("parameter 'previous_report': 'auto' needs as_of (the report date) to find an earlier report.")
        changes["previous_report"] = _previous_auto(out, label)
    elif p.previous_report:
        changes["previous_report"] = str(Path(p.previous_report).expanduser().resolve())
    p = p.replace(**changes)

    out.mkdir(parents=True, exist_ok=True)
    _clean_stale_staging(out)
    stage = out / STAGING / f"{label or 'latest'}-p{os.getpid()}-{secrets.token_hex(4)}"
    stage.mkdir(parents=True)
    staged_nb = stage / REPORT_NOTEBOOK
    try:
        try:
            pm.execute_notebook(
                str(nb_path), str(staged_nb), parameters=p.to_dict(), cwd=str(stage), progress_bar=progress,
                kernel_name=kernel_name, execution_timeout=timeout, log_output=False,
                extra_arguments=_quiet_kernel_args(kernel_name, nb_path),
            )
        except PapermillExecutionError as exc:
            err = _failed(exc, staged_nb, stage, out, label, p)
            if update_index:
                write_index(out)
            raise err from None
        summary = json.loads((stage / SUMMARY_FILE).read_text(encoding="utf-8"))
        label = summary["as_of_label"]
        nb = nbformat.read(str(staged_nb), as_version=4)
        html_text = export_html(nb, title=p.title)
        _atomic_write(stage / REPORT_HTML, html_text)
        folder = out / label
        _publish([(staged_nb, folder / REPORT_NOTEBOOK), (stage / SUMMARY_FILE, folder / SUMMARY_FILE),
                  (stage / REPORT_HTML, folder / REPORT_HTML)])
        for stale in (FAILED_HTML, FAILED_NOTEBOOK):
            (folder / stale).unlink(missing_ok=True)
        index = write_index(out) if update_index else out / INDEX_HTML
        return ReportResult(folder / REPORT_HTML, folder / REPORT_NOTEBOOK, summary, folder, index)
    finally:
        shutil.rmtree(stage, ignore_errors=True)
        try:
            (out / STAGING).rmdir()
        except OSError:
            pass


def _failed(exc: Any, staged_nb: Path, stage: Path, out: Path, label: str, p: ReportParams) -> ReportError:
    import nbformat

    folder = out / (label or "unknown-as-of")
    cell, src = None, ""
    nb_file = html_file = None
    if staged_nb.exists():
        nb = nbformat.read(str(staged_nb), as_version=4)
        cell, src = _failed_cell(nb)
        try:
            _atomic_write(stage / FAILED_HTML, export_html(nb, include_input=True, title=f"FAILED: {p.title}"))
            _publish([(staged_nb, folder / FAILED_NOTEBOOK), (stage / FAILED_HTML, folder / FAILED_HTML)])
            nb_file, html_file = folder / FAILED_NOTEBOOK, folder / FAILED_HTML
        except Exception as export_exc:  # noqa: BLE001 - keep the notebook even if HTML export fails
            log.warning("could not export the failed notebook to HTML: %s", export_exc)
            _publish([(staged_nb, folder / FAILED_NOTEBOOK)])
            nb_file = folder / FAILED_NOTEBOOK
    where = f"cell {cell}" + (f" ({src})" if src else "") if cell else "a cell"
    msg = f"{exc.ename}: {exc.evalue}\n(the report failed in {where}"
    if nb_file:
        msg += f"; executed notebook kept at {nb_file}" + (f", readable at {html_file}" if html_file else "")
    msg += ". The previously published report, if any, is unchanged.)"
    err = ReportError(msg)
    err.ename, err.evalue, err.cell = exc.ename, exc.evalue, cell  # type: ignore[attr-defined]
    err.notebook, err.html = nb_file, html_file  # type: ignore[attr-defined]
    err.traceback = list(exc.traceback or [])  # type: ignore[attr-defined]
    return err


__all__ = [
    "Change", "Kpi", "Page", "ReportData", "ReportResult", "clv_estimate", "compute", "compute_kpis",
    "diff_interval", "discount_per_period", "export_html", "find_reports", "mathjax_script",
    "pooled_revenue_retention", "read_summary", "run_report", "summary_dict", "table_html", "what_changed", "write_index", "write_summary",
]
