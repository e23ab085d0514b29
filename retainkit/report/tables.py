"""The report's tables as escaped HTML: data quality, CRR, segments, counts, customers at risk, methodology.

:class:`PageText` holds the report language and number formats shared by
every part of the page; :class:`Tables` builds the tables on it.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from .._version import __version__
from ..clv import most_valuable_at_risk
from ..definitions import citations, embed_html, link_citations
from ..i18n import MISSING, Translator, translator
from ..inputs import NOTES, REASONS
from ..params import INTERNAL_PARAMS, SCHEMA, ReportParams
from .analysis import ReportData
from .format import esc
from .kpis import AGE1_RETENTION, latest_crr, window_days
from .sections import (
    COLUMN_ROLES,
    DEFAULT_TITLE,
    DEFINITIONS_TITLE,
    GLOSSARY,
    METHOD,
    SUMMARY_ITEMS,
    SUMMARY_MEANINGS,
    UNIT_WORD,
    shown_value,
)


def table_html(
    df: pd.DataFrame,
    *,
    formats: Mapping[str, Any] | None = None,
    caption: str = "",
    numeric: Sequence[str] = (),
    small: Sequence[str] = (),
    headers: Mapping[str, str] | None = None,
) -> str:
    """An escaped HTML table (every cell and header is escaped)."""
    formats = dict(formats or {})
    headers = dict(headers or {})
    cols = list(df.columns)
    out = ['<table class="rk-table">']
    if caption:
        out.append(f"<caption>{esc(caption)}</caption>")
    out.append(
        "<thead><tr>"
        + "".join(f'<th class="{"rk-num" if c in numeric else ""}">{esc(headers.get(c, c))}</th>' for c in cols)
        + "</tr></thead><tbody>"
    )
    for row in df.itertuples(index=False, name=None):
        cells = []
        for c, v in zip(cols, row):
            f = formats.get(c)
            if v is None or (isinstance(v, float) and not np.isfinite(v)):
                text = MISSING
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


class PageText:
    """The report language and number formats of one page (``params.lang``)."""

    def __init__(self, params: ReportParams):
        self.params = params
        self.mode = params.charts
        self.tr: Translator = translator(params.lang)
        self._n = 0
        self._bundle_done = False

    # -- language
    def _(self, message: str) -> str:
        """``message`` in the report language."""
        return self.tr.gettext(message)

    def pct(self, x: float, digits: int = 1) -> str:
        return self.tr.format_percent(x, digits)

    def num(self, x: float, digits: int = 0) -> str:
        return self.tr.format_number(x, digits)

    def period(self, label: Any) -> str:
        """A period label (``'2024-11'``) in the report language (``'Νοε 2024'``)."""
        return self.tr.period_label(label, self.params.freq)

    @property
    def title(self) -> str:
        """The report title; the default title is translated, a title the user chose is shown as given."""
        p = self.params
        return self._(DEFAULT_TITLE) if p.title == DEFAULT_TITLE else p.title

    def _warning_item(self, note: str) -> str:
        """A warning note: the library's diagnostic text, in English (marked ``lang="en"`` in other languages)."""
        return esc(note) if self.tr.lang == "en" else f'<span lang="en">{esc(note)}</span>'


class Tables(PageText):
    """The tables of the report page (every cell escaped)."""

    def _definitions_html(self, refs: Sequence[str]) -> str:
        """The cited sections of the definitions document (English only), under a heading in the report language.

        The document is the project's contract and has no translation: in a Greek or
        Armenian page its body is marked ``lang="en"``.
        """
        block = embed_html(refs, title=self._(DEFINITIONS_TITLE))
        if self.tr.lang == "en":
            return block
        return (
            block.replace("</summary>", '</summary><div lang="en">', 1).removesuffix("</details>") + "</div></details>"
        )

    def _examples(self, text: str) -> str:
        """'line 51: ...' examples of the data summary with 'line' in the report language."""
        return re.sub(r"\bline (\d+)", lambda m: self._("line {n}").format(n=m[1]), str(text))

    def data_quality_html(self, data: ReportData) -> str:
        s, _ = data.summary, self._
        frame = s.to_frame()
        items, meanings = [], []
        for item, what in zip(frame["item"], frame["what"]):
            key = str(item).removeprefix("dropped: ")
            if key in SUMMARY_ITEMS:
                items.append(_(SUMMARY_ITEMS[key]))
            elif str(item).startswith("dropped: "):
                items.append(_("dropped: {reason}").format(reason=_(REASONS[key]) if key in REASONS else key))
            else:
                items.append(_(NOTES[key]) if key in NOTES else key)
            meanings.append(
                _(REASONS[key])
                if key in REASONS
                else _(NOTES[key])
                if key in NOTES
                else _(SUMMARY_MEANINGS[key])
                if key in SUMMARY_MEANINGS
                else what
            )
        frame = frame.assign(item=items, what=meanings, examples=frame["examples"].map(self._examples))
        note = _("Read {read} rows, analysed {kept}, dropped {dropped} (definitions §1: nothing is dropped silently).")
        note = note.format(read=self.num(s.rows_read), kept=self.num(s.rows_kept), dropped=self.num(s.rows_dropped))
        parts = [f'<p class="rk-note">{link_citations(esc(note))}</p>']
        for w in data.warnings:  # the library's own diagnostic, kept in English (lang="en")
            parts.append(f'<div class="rk-warning">{esc(_("Warning:"))} {self._warning_item(w)}</div>')
        if data.history_check is not None:  # in English (not in the catalogues yet)
            parts.append(
                f'<p class="rk-note" data-history="{esc(data.history_check.status)}" lang="en">'
                f"{esc(data.history_check.summary())}</p>"
            )
        parts.append(
            table_html(
                frame,
                formats={"rows": self.num, "share": lambda v: self.pct(v, 2)},
                numeric=("rows", "share"),
                small=("examples",),
                headers={
                    "item": _("Item"),
                    "rows": _("Rows"),
                    "share": _("Share"),
                    "what": _("Meaning"),
                    "examples": _("Examples"),
                },
            )
        )
        cols = s.columns if isinstance(getattr(s, "columns", None), dict) else {}
        if cols:
            roles = [_(COLUMN_ROLES[r]) if r in COLUMN_ROLES else r for r in cols]
            parts.append(
                table_html(
                    pd.DataFrame({"role": roles, "column": list(cols.values())}),
                    caption=_("Column mapping"),
                    headers={"role": _("Role"), "column": _("Column in the data")},
                )
            )
        return "".join(parts)

    def crr_table_html(self, data: ReportData, last: int = 6) -> str:
        _ = self._
        t = latest_crr(data.crr).tail(last)
        cols = [
            "period",
            "start_customers",
            "retained",
            "lost",
            "new",
            "reactivated",
            "end_customers",
            "crr",
            "crr_lo",
            "crr_hi",
        ]
        t = t.loc[:, [c for c in cols if c in t.columns]].iloc[::-1]
        caption = _("Latest periods ({days}-day activity window)").format(
            days=self.num(window_days(data.params.window))
        )
        return table_html(
            t,
            caption=caption,
            formats={"period": self.period}
            | {c: self.num for c in cols[1:7]}
            | {c: self.pct for c in ("crr", "crr_lo", "crr_hi")},
            numeric=cols[1:],
            headers={
                "period": _("Period"),
                "start_customers": _("At the start"),
                "retained": _("Retained"),
                "lost": _("Lost"),
                "new": _("New"),
                "reactivated": _("Reactivated"),
                "end_customers": _("At the end"),
                "crr": "CRR",
                "crr_lo": _("95% low"),
                "crr_hi": _("95% high"),
            },
        )

    def segment_table_html(self, data: ReportData) -> str:
        if data.segment_average is None:
            return ""
        _ = self._
        seg = data.params.segment
        a = data.segment_average
        rows = []
        crr = data.segment_crr
        for name, g in a.groupby(seg, sort=False):
            r0 = g[g["age"] == 0]
            r1 = g[g["age"] == 1]
            row = {
                "segment": str(name),
                "customers": float(r0["size"].iloc[0]) if len(r0) else math.nan,
                "ret1": float(r1["retention"].iloc[0]) if len(r1) else math.nan,
                "ret1_ci": f"{self.pct(float(r1['retention_lo'].iloc[0]))} – {self.pct(float(r1['retention_hi'].iloc[0]))}"
                if len(r1)
                else MISSING,
            }
            if crr is not None:
                c = latest_crr(crr[crr[seg].astype(str) == str(name)])
                row["crr"] = float(c["crr"].iloc[-1]) if len(c) else math.nan
                row["crr_period"] = self.period(c["period"].iloc[-1]) if len(c) else ""
            if "cum_revenue_per_customer" in g.columns and len(g):
                row["cum_rev"] = float(g.sort_values("age")["cum_revenue_per_customer"].iloc[min(len(g), 12) - 1])
            rows.append(row)
        df = pd.DataFrame(rows).sort_values("customers", ascending=False, kind="stable")
        return table_html(
            df,
            caption=_("Segments by {column}").format(column=seg),
            formats={
                "customers": self.num,
                "ret1": self.pct,
                "crr": self.pct,
                "cum_rev": lambda v: self.tr.format_currency(v, data.params.currency, 2),
            },
            numeric=("customers", "ret1", "ret1_ci", "crr", "cum_rev"),
            headers={
                "segment": seg,
                "customers": _("Customers"),
                "ret1": _(AGE1_RETENTION[data.params.freq]),
                "ret1_ci": _("95% interval"),
                "crr": _("Latest CRR"),
                "crr_period": _("Period"),
                "cum_rev": _("Revenue per customer by age {age}").format(age=self.num(min(11, int(a["age"].max())))),
            },
        )

    def counts_html(self, data: ReportData) -> str:
        """The triangle's counts (active customers by cohort and age) in a collapsible table (definitions §3).

        The latest ``max_cohorts`` cohorts, the period in progress marked with
        an asterisk, and the all-cohorts row from ``average_curve`` (Σ active
        over the cohorts observed at that age).
        """
        _ = self._
        t = data.cohorts_in_progress if data.cohorts_in_progress is not None else data.cohorts
        t = t.assign(partial=t["partial"].astype(bool))
        order = t.drop_duplicates("cohort").sort_values("cohort_start")["cohort"].astype(str).tolist()
        order = order[-self.params.max_cohorts :]
        t = t[t["cohort"].astype(str).isin(order)]
        ages = sorted(set(t["age"].astype(int)) | set(data.average["age"].astype(int)))
        cell = {
            (str(c), int(a)): self.num(int(n)) + (" *" if part else "")
            for c, a, n, part in zip(t["cohort"], t["age"], t["active"], t["partial"])
        }
        sizes = t.drop_duplicates("cohort").set_index(t.drop_duplicates("cohort")["cohort"].astype(str))["size"]
        head = "".join(f'<th class="rk-num">{a}</th>' for a in ages)
        rows = []
        for c in order:
            cells = "".join(f'<td class="rk-num">{esc(cell.get((c, a), ""))}</td>' for a in ages)
            rows.append(
                f'<tr><td>{esc(self.period(c))}</td><td class="rk-num">{self.num(int(sizes[c]))}</td>{cells}</tr>'
            )
        avg = {int(a): self.num(int(n)) for a, n in zip(data.average["age"], data.average["active"])}
        cells = "".join(f'<td class="rk-num">{esc(avg.get(a, ""))}</td>' for a in ages)
        rows.append(
            f'<tr class="rk-total"><td><b>{esc(_("All cohorts (size-weighted)"))}</b></td>'
            f'<td class="rk-num"></td>{cells}</tr>'
        )
        summary = _("Counts: customers with a purchase, by cohort and age")
        note = _(
            "The cohort's customers, then those who bought at each age. * the period in progress (not "
            "complete yet). The last row adds up every cohort observed at that age, complete periods only."
        )
        return (
            f'<details class="rk-details"><summary>{esc(summary)}</summary><p class="rk-note">{esc(note)}</p>'
            f'<table class="rk-table"><thead><tr><th>{esc(_("Cohort"))}</th><th class="rk-num">{esc(_("Customers"))}</th>{head}'
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></details>"
        )

    def at_risk_html(self, data: ReportData, n: int = 10) -> str:
        """The most valuable customers with the lowest P(alive) (definitions §5), or a note when turned off."""
        _ = self._
        if data.at_risk is None:
            return f'<p class="rk-note">{esc(_("The customer list is turned off (parameter customer_list)."))}</p>'
        risk = data.at_risk
        cid = risk.columns[0]
        top = most_valuable_at_risk(risk, n=n)
        method = str(risk.attrs.get("method", ""))
        if method == "BG/NBD":
            how = _(
                "P(alive) is the chance that the customer still buys, from the BG/NBD model of repeat "
                "purchases (definitions §5); expected purchases are for the next {unit}."
            )
        else:
            how = _(
                "The BG/NBD model could not be fitted to these data, so a simple rule is used instead "
                "({rule}); expected purchases are not estimated."
            )
        sentence = _(
            "The customers who spent the most (top quarter) and are the least likely to still be "
            "buying: the first ones to contact."
        )
        note = how.format(unit=_(UNIT_WORD[data.params.freq]), rule=method)
        cur = data.params.currency
        table = table_html(
            top,
            caption=_("Valuable customers at risk of lapsing"),
            formats={
                "purchases": self.num,
                "spend": lambda v: self.tr.format_currency(v, cur),
                "p_alive": self.pct,
                "expected_purchases": lambda v: self.num(v, 3),
            },
            numeric=("purchases", "spend", "p_alive", "expected_purchases"),
            small=("method",),
            headers={
                cid: _("Customer"),
                "last_purchase": _("Last purchase"),
                "purchases": _("Purchases"),
                "spend": _("Spend"),
                "p_alive": _("P(alive)"),
                "expected_purchases": _("Expected purchases next {unit}").format(unit=_(UNIT_WORD[data.params.freq])),
                "method": _("Method"),
            },
        )
        csv_note = _("The full list of {n} customers is in at-risk-customers.csv next to this report.")
        return (
            f'<p class="rk-note">{esc(sentence)} {link_citations(esc(note))}</p>'
            + table
            + f'<p class="rk-note">{esc(csv_note.format(n=self.num(len(risk))))}</p>'
        )

    def glossary_html(self) -> str:
        """The glossary: each word of the report in one sentence, in the report language."""
        rows = "".join(
            f"<tr><td><b>{esc(self._(term))}</b></td><td>{esc(self._(text))}</td></tr>" for term, text in GLOSSARY
        )
        return f'<table class="rk-table rk-glossary"><tbody>{rows}</tbody></table>'

    def methodology_html(self, data: ReportData) -> str:
        p, _ = self.params, self._
        unit = _(UNIT_WORD[p.freq])
        days = self.num(window_days(p.window))
        defs = [(_(term), _(text).format(days=days, unit=unit)) for term, text in METHOD]
        parts = [
            '<table class="rk-table"><tbody>'
            + "".join(f"<tr><td><b>{esc(a)}</b></td><td>{link_citations(esc(b))}</td></tr>" for a, b in defs)
            + "</tbody></table>"
        ]
        rows = []
        for x in SCHEMA:
            if x.name in INTERNAL_PARAMS:
                continue
            value = self.title if x.name == "title" else shown_value(x.name, getattr(p, x.name))
            rows.append({"name": x.name, "value": repr(value), "help": _(x.help)})
        parts.append(
            table_html(
                pd.DataFrame(rows),
                caption=_("Parameters of this run"),
                small=("help",),
                headers={"name": _("Parameter"), "value": _("Value"), "help": _("Meaning")},
            )
        )
        # the sections cited above and by the data-quality section (§1), readable without the repository
        parts.append(self._definitions_html(sorted({c.section for _t, b in defs for c in citations(b)} | {"1"})))
        footer = _("as of {date}").format(date=self.tr.format_date(data.as_of_label[:10]))
        if p.generated_at:
            footer += " · " + _("generated at {stamp}").format(stamp=p.generated_at)
        parts.append(f'<div class="rk-footer">retainkit {esc(__version__)} · {esc(footer)}</div>')
        return "".join(parts)


__all__ = ["PageText", "Tables", "table_html"]
