"""The report's words: section headings and introductions, notes, the methodology table (all marked for translation).

The page (:mod:`.page`) shows them in the report language; nothing here
computes a number.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..i18n import N_

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
DEFAULT_TITLE = N_("Customer retention report")
PERIODS_WORD = {
    "D": N_("daily periods"),
    "W": N_("weekly periods"),
    "M": N_("monthly periods"),
    "Q": N_("quarterly periods"),
    "Y": N_("yearly periods"),
}
UNIT_WORD = {"D": N_("day"), "W": N_("week"), "M": N_("month"), "Q": N_("quarter"), "Y": N_("year")}
#: rows of the data summary that are not a drop reason or a note (retainkit.data)
SUMMARY_ITEMS = {"rows_read": N_("rows read"), "rows_kept": N_("rows kept")}
SUMMARY_MEANINGS = {"rows_read": N_("rows in the input"), "rows_kept": N_("rows analysed")}
COLUMN_ROLES = {
    "customer_id": N_("customer id"),
    "timestamp": N_("order date/time"),
    "amount": N_("amount"),
    "order_id": N_("order id"),
    "start": N_("start"),
    "end": N_("end"),
    "mrr": N_("MRR"),
}

#: section headings and introductions of the report notebook (``page.section(key)``)
SECTIONS = {
    "kpis": (N_("Headline figures"), ""),
    "changes": (
        N_("What changed"),
        N_(
            "Compared with the previous period and, when given, the previous report. A change is listed only "
            "when the 95% interval of the difference excludes zero; everything else is noise at this sample size."
        ),
    ),
    "cohorts": (
        N_("Cohort retention"),
        N_(
            "Each row is an acquisition cohort (customers by the period of their first purchase), each column an "
            "age in periods since then. A cell is the share of the cohort that bought at that age; cells not yet "
            "observed are blank, and the pale cells are the period in progress (not complete yet). The last "
            "row, all cohorts, is the size-weighted average. In the interactive report, hover a cell for the "
            "cohort size, active customers and the 95% interval."
        ),
    ),
    "crr": (
        N_("Customer retention rate"),
        N_(
            "The customer retention rate (CRR) is the share of the customers at the start of a period who are still "
            "customers at its end; someone counts as a customer as long as their last purchase lies within the "
            "activity window. Below it: the customers at the start and at the end of each period, the new ones and "
            "those who came back after a gap."
        ),
    ),
    "revenue": (
        N_("Revenue"),
        N_(
            "Revenue retention compares a cohort's revenue at each age with its first-period revenue (refunds "
            "included); cumulative revenue per customer is the empirical lifetime value curve."
        ),
    ),
    "segments": (N_("Segments"), ""),
    "at_risk": (
        N_("Customers at risk"),
        N_(
            "The customers who spent the most and are the least likely to still be buying, with the purchases "
            "expected from them in the next period."
        ),
    ),
    "glossary": (N_("Glossary"), N_("The words of this report, one sentence each.")),
    "quality": (
        N_("Data quality"),
        N_("What was read, what was kept, what was dropped and why. Nothing is dropped silently."),
    ),
    "method": (
        N_("Methodology"),
        N_(
            "Every figure follows retainkit's retention definitions (the section numbers below refer to them). "
            "Rates carry 95% Wilson intervals; only complete periods are used."
        ),
    ),
}

DEFINITIONS_TITLE = N_("The definitions cited on this page")

#: notes the notebook shows by key (``page.note("no_amount")``)
NOTES_BY_KEY = {
    "no_amount": N_("No amount column was mapped (parameter amount), so there are no revenue views."),
    "no_segment": N_("No segment column was given (parameter segment)."),
}

#: the methodology table: term, definition ({days}: activity window, {unit}: the period)
METHOD = (
    (N_("Cohort"), N_("the period of a customer's first purchase (refunds never start a cohort) — definitions §2.")),
    (
        N_("Classic retention R(c,k)"),
        N_(
            "share of cohort c with a purchase at age k; only complete periods are shown, unobserved cells are blank, "
            "never 0 — definitions §2, §3."
        ),
    ),
    (
        N_("Average curve"),
        N_(
            "R(k) = Σ active / Σ cohort size over the cohorts observed at age k (size-weighted, never a mean of rates) "
            "— definitions §3."
        ),
    ),
    (
        N_("Intervals"),
        N_(
            "95% Wilson score intervals for every rate; differences use Newcombe's interval built from them, and a change "
            "is listed only when that interval excludes 0 — definitions §3."
        ),
    ),
    (
        N_("Customer retention rate (CRR)"),
        N_(
            "CRR = retained / S. S: customers at the start of the period; E: customers at its end; N: new customers "
            "during it. A customer counts at a boundary when they bought in the trailing {days}-day activity window. "
            "S, E, N and reactivated customers are shown so the textbook (E − N) / S can be compared — definitions §4."
        ),
    ),
    (N_("Churn"), N_("1 − CRR — definitions §4.")),
    (
        N_("Headline figures per period"),
        N_(
            "active customers: customers with a purchase in the period; new customers: the size of the period's "
            "cohort; revenue includes refunds; revenue per active customer = revenue / active customers; the change "
            "is against the previous period, in percentage points (pp: 80% to 82% is +2 pp) for a rate and relative "
            "(now / before − 1) for a count or an amount — definitions §4 (4.7, “Headline figures per period”)."
        ),
    ),
    (N_("Repeat purchase rate"), N_("share of customers with 2 or more orders — definitions §4.")),
    (
        N_("Revenue retention"),
        N_(
            "revenue of a cohort at age k / its revenue at age 0, refunds included; pooled = Σ revenue at k / Σ revenue "
            "at 0 — definitions §3."
        ),
    ),
    (
        N_("Value of a customer (customer lifetime value, CLV)"),
        N_(
            "what a customer active now brings in margin over the stated horizon, discounted: m = gross margin share × "
            "revenue per active customer per period, r = share of the active customers still active a period later "
            "(pooled over the last year), d = the yearly discount rate converted to one period, each period's margin "
            "counted at mid-period: Σ m·r^(i−½)/(1+d)^(i−½) over the periods i of the horizon. Periods "
            "are as long as the activity window, whatever the report's period, so monthly and quarterly reports agree "
            "— definitions §5 (5.6, “Value of a customer over a horizon”). A rough guide, not a forecast."
        ),
    ),
)


#: parameters holding a path of the machine that ran the report: the page shows only the last part
PATH_PARAMS = ("data", "previous_report")


def shown_value(name: str, value: Any) -> Any:
    """A parameter value as the page shows it: file and folder names without the machine's directories."""
    if name in PATH_PARAMS and isinstance(value, str) and value and value not in ("sample", "auto"):
        return Path(value).name
    return value


#: one plain sentence above each chart (``page.chart(chart, about=key)``)
CHART_SENTENCES = {
    "heatmap": N_(
        "Each row follows the customers who made their first purchase in the same period: read across to see how "
        "many of them kept buying, read down a column to compare newer groups with older ones. Darker is better."
    ),
    "curves": N_(
        "How many new customers still buy one, two, three… periods after their first purchase: the dark line is the "
        "average of all groups, the orange one the newest group, the grey ones the earlier groups."
    ),
    "crr": N_(
        "How many of the customers at the start of each period were still customers at its end, and below it the "
        "customer counts behind that rate."
    ),
    "revenue_retention": N_(
        "How much a group of new customers spends in each later period, compared with what it spent in its first "
        "period."
    ),
    "cumulative_revenue": N_(
        "What a new customer has spent in total, on average, so many periods after their first purchase."
    ),
    "segment_crr": N_(
        "The customer retention rate of each segment, period by period; where the shaded bands overlap, the "
        "difference between segments may be noise."
    ),
    "segment_curves": N_(
        "The average retention curve of each segment: a higher line means the segment keeps its new customers better."
    ),
}

#: the report's glossary: term, one sentence (shown before the methodology)
GLOSSARY = (
    (N_("Active customer"), N_("A customer who bought at least once in the period.")),
    (N_("New customer"), N_("A customer whose first purchase falls in the period.")),
    (N_("Cohort"), N_("The customers whose first purchase was in the same period, followed together over time.")),
    (N_("Retention"), N_("The share of a cohort that buys again in a later period.")),
    (
        N_("Customer retention rate (CRR)"),
        N_("Of the customers at the start of a period, the share still customers at its end."),
    ),
    (N_("Churn"), N_("Of the customers at the start of a period, the share lost by its end: 100% minus the CRR.")),
    (
        N_("Activity window"),
        N_("How recent a purchase must be for someone to count as a customer, e.g. the last 90 days."),
    ),
    (N_("Average order value (AOV)"), N_("Revenue divided by the number of orders.")),
    (N_("Purchase frequency"), N_("Orders per customer who bought in the period.")),
    (N_("Repeat purchase rate"), N_("The share of customers who ordered two times or more.")),
    (
        N_("95% interval"),
        N_("The range the true rate lies in with 95% confidence; the fewer the customers, the wider it is."),
    ),
    (
        N_("Within noise"),
        N_("A change too small, for the number of customers, to tell apart from chance."),
    ),
    (
        N_("Percentage points"),
        N_("The difference between two percentages: from 80% to 82% is 2 percentage points."),
    ),
    (
        N_("Value of a customer (CLV)"),
        N_("The margin a customer buying now is expected to bring over the next years, in today's money."),
    ),
    (
        N_("P(alive)"),
        N_("The estimated chance that a customer is still buying, from their purchase history."),
    ),
)
