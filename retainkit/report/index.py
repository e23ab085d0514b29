"""``<out>/index.html``: every schedule, every report, every run attempt.

The index is rebuilt from what is on disk, never edited in place: the report
folders of each schedule (their ``report-summary.json``) and the run records
in ``<out>/runs/``. So two runs that publish at once cannot lose each other's
row, and a run that failed, was killed or timed out shows up even though it
published nothing. It is written atomically under the publishing lock.
"""

from __future__ import annotations

import datetime
import os
from pathlib import Path
from typing import Any

from .._files import atomic_write
from ..i18n import LANGUAGES, MISSING, N_, Translator, check_lang, translator
from .locking import LOCK_WAIT, PublishLock, parse_utc
from .page import DEFAULT_TITLE, TEMPLATES
from .runlog import PUBLISHED_STATUSES, RunRecord, read_records
from .schedule import REPORT_HTML, find_reports, read_schedule, schedule_names

INDEX_HTML = "index.html"
#: run attempts listed in the run log (newest first); older records stay in runs/
RUN_LOG_ROWS = 200
_FAILED_CLASS = {
    "failed",
    "parameter error",
    "data error",
    "history check failed",
    "timed out",
    "killed",
    "interrupted",
}


def report_status(summary: dict[str, Any]) -> list[str]:
    """The statuses a published report carries: 'ok', or 'warning' and/or 'history change accepted'.

    Reads the summary defensively: ``status == "warning"`` or a non-empty
    ``warnings`` list means a data-quality warning is on the page.
    """
    out = []
    warnings = summary.get("warnings")
    if summary.get("status") == "warning" or (isinstance(warnings, list) and warnings):
        out.append("warning")
    hc = summary.get("history_check")
    if isinstance(hc, dict) and hc.get("status") == "accepted":
        out.append("history change accepted")
    return out or ["ok"]


#: every status the index shows, marked for translation (the run log stores them in English)
STATUS_TEXTS = (
    N_("ok"),
    N_("warning"),
    N_("history change accepted"),
    N_("running"),
    N_("failed"),
    N_("parameter error"),
    N_("data error"),
    N_("history check failed"),
    N_("timed out"),
    N_("killed"),
    N_("interrupted"),
)
#: the schedule's settings shown under its heading, with their names on the page
_SCHEDULE_KEYS = {"freq": N_("frequency"), "segment": N_("segment"), "source": N_("source"), "tz": N_("time zone")}


def status_text(tr: Translator, status: str) -> str:
    """A status in the index's language: 'ok', 'warning', 'last run: data error', ..."""
    if status.startswith("last run: "):
        return tr.gettext("last run: {status}").format(status=status_text(tr, status.removeprefix("last run: ")))
    return tr.gettext(status) if status in STATUS_TEXTS else status


def _started_text(tr: Translator, stamp: str) -> str:
    """A run's UTC start stamp (``2026-12-01T06:15:00Z``) as a date and time in the index's language."""
    seconds = parse_utc(stamp)
    if seconds is None:
        return stamp
    return tr.format_datetime(datetime.datetime.fromtimestamp(seconds, datetime.UTC).replace(tzinfo=None), "medium")


def _css_class(status: str) -> str:
    if status in _FAILED_CLASS:
        return "rk-failed"
    if status in ("warning", "history change accepted", "running"):
        return "rk-warn"
    return ""


def _is_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _figures(tr: Translator, s: dict[str, Any]) -> dict[str, str]:
    """A report's headline figures re-formatted in the index's language from the stored values."""
    kpis = s.get("kpis")
    k: dict[str, Any] = kpis if isinstance(kpis, dict) else {}

    def disp(key: str, kind: str = "percent") -> str:
        found = k.get(key)
        item: dict[str, Any] = found if isinstance(found, dict) else {}
        v = item.get("value")
        if v is None:
            return item.get("display") or MISSING
        if kind == "count":
            return tr.format_number(v)
        if kind == "money":
            return tr.format_currency(v, s.get("currency", ""), 0)
        return tr.format_percent(v)

    period = (k.get("crr") or {}).get("period", "") if isinstance(k.get("crr"), dict) else ""
    return {
        "customers": disp("customers", "count"),
        "crr": disp("crr"),
        "crr_period": tr.period_label(period, s.get("freq", "M")) if period else "",
        "churn": disp("churn"),
        "repeat": disp("repeat_rate"),
        "ret1": disp("retention_1"),
        "rev1": disp("revenue_retention_1"),
        "clv": disp("clv", "money"),
    }


def _existing(out: Path, *links: str) -> str:
    """The first link whose file still exists (old failed runs' folders may have been deleted)."""
    return next((link for link in links if link and (out / link).is_file()), "")


def _report_row(
    out: Path, tr: Translator, schedule: str, label: str, r: dict[str, Any] | None, latest: RunRecord | None
) -> dict[str, Any]:
    s = r["summary"] if r else {}
    listed = s.get("changes")
    changes: list[Any] = listed if isinstance(listed, list) else []
    statuses = report_status(s) if r and r["has_html"] else []
    link = failed = ""
    if latest is not None and not latest.published():
        st = latest.effective_status()
        statuses.append("running" if st == "running" else f"last run: {st}")
        failed = _existing(out, latest.failed_html, latest.failed_notebook)
    if r and r["has_html"]:
        link = f"{schedule}/{label}/{REPORT_HTML}"
    title = s.get("title", "")
    n_changes = sum(1 for c in changes if isinstance(c, dict) and c.get("significant"))
    return {
        "label": label,
        "date": tr.format_date(label[:10]) if _is_date(label[:10]) else label,
        "title": tr.gettext(DEFAULT_TITLE) if title == DEFAULT_TITLE else title,
        "link": link,
        "failed_link": failed,
        "reason": latest.effective_reason() if latest is not None and not latest.published() else "",
        "statuses": [(st, status_text(tr, st), _css_class(st.removeprefix("last run: "))) for st in statuses],
        **(
            _figures(tr, s)
            if r
            else {k: MISSING for k in ("customers", "crr", "churn", "repeat", "ret1", "rev1", "clv")}
            | {"crr_period": ""}
        ),
        "changes": tr.format_number(n_changes) if r else "",
        "history": s["history_check"].get("summary", "") if isinstance(s.get("history_check"), dict) else "",
    }


def index_lang(out: Path, lang: str | None = None) -> str:
    """``lang`` if given, else the language of the newest report that has one ('en' for none)."""
    if lang:
        return check_lang(lang)
    reports = sorted(find_reports(out), key=lambda r: r["folder"], reverse=True)
    for r in reports:
        found = (r["summary"] or {}).get("lang")
        if found in LANGUAGES:
            return str(found)
    return "en"


def index_rows(out: Path, lang: str | None = None) -> dict[str, Any]:
    """What the index shows, as plain data (schedules with their rows, and the run log), in ``lang``."""
    out = Path(out)
    tr = translator(index_lang(out, lang))
    records = read_records(out)
    names = sorted(set(schedule_names(out)) | {r.schedule for r in records if r.schedule})
    schedules: list[dict[str, Any]] = []
    for name in names:
        reports = {r["folder"]: r for r in find_reports(out, name)}
        latest: dict[str, RunRecord] = {}
        for rec in records:  # newest first
            if rec.schedule == name and rec.as_of:
                latest.setdefault(rec.as_of, rec)
        labels = sorted(set(reports) | set(latest), reverse=True)
        rows = []
        for label in labels:
            rep = reports.get(label)
            attempt = latest.get(label)
            if attempt is not None and rep is not None and attempt.published():
                attempt = None  # the newest attempt published this report
            rows.append(_report_row(out, tr, name, label, rep, attempt))
        definition = read_schedule(out, name) or {}
        meta = [f"{tr.gettext(label)} {definition[k]}" for k, label in _SCHEDULE_KEYS.items() if definition.get(k)]
        schedules.append({"name": name, "meta": meta, "rows": rows, "published": sum(1 for r in rows if r["link"])})
    runs = []
    for rec in records[:RUN_LOG_ROWS]:
        st = rec.effective_status()
        link = _existing(out, rec.report) if rec.published() else _existing(out, rec.failed_html, rec.failed_notebook)
        runs.append(
            {
                "started": rec.started,
                "started_text": _started_text(tr, rec.started),
                "schedule": rec.schedule or "–",
                "as_of": rec.as_of or "–",
                "status": st,
                "status_text": status_text(tr, st),
                "css": _css_class(st),
                "code": "" if rec.exit_code is None else rec.exit_code,
                "reason": rec.effective_reason(),
                "link": link,
                "host": rec.owner.host,
                "link_text": tr.gettext("report") if rec.published() else (tr.gettext("failed run") if link else ""),
            }
        )
    n_reports = sum(s["published"] for s in schedules)
    return {
        "schedules": schedules,
        "runs": runs,
        "more_runs": max(0, len(records) - RUN_LOG_ROWS),
        "n_reports": n_reports,
        "reports_text": tr.format_number(n_reports),
        "lang": tr.lang,
        "_": tr.gettext,
        "ngettext": tr.ngettext,
    }


def write_index(
    out_dir: str | os.PathLike = "reports", lang: str | None = None, *, lock: bool = True, lock_wait: float = LOCK_WAIT
) -> Path:
    """(Re)write ``<out_dir>/index.html`` from the report folders and run records.

    Deterministic for the same folder contents (sorted, no clock), escaped,
    written atomically; under the publishing lock (waiting up to ``lock_wait``
    seconds for it) unless the caller holds it (``lock=False``). The page is in
    ``lang`` (default: the language of the newest report); figures are
    re-formatted in that language from the stored values, and the scheduling
    texts (schedules, statuses, the run log) translated; the reasons a run
    failed are the library's diagnostics, kept in English (``lang="en"``).
    """
    import jinja2

    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True, keep_trailing_newline=True
    )
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")

    def render() -> Path:
        text = env.get_template("index.html.j2").render(css=css, published=PUBLISHED_STATUSES, **index_rows(out, lang))
        path = out / INDEX_HTML
        atomic_write(path, text)
        return path

    if not lock:
        return render()
    with PublishLock(out, wait=lock_wait):
        return render()


__all__ = [
    "INDEX_HTML",
    "RUN_LOG_ROWS",
    "STATUS_TEXTS",
    "index_lang",
    "index_rows",
    "report_status",
    "status_text",
    "write_index",
]
