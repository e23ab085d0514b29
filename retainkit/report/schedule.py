"""Report schedules: one folder per schedule, the reports in it, and the previous report of a run.

Layout of a reports folder::

    reports/
      index.html                     every schedule, every report, every run attempt
      runs/<run-id>.json             one record per run attempt (see runlog)
      runs/<run-id>/                 a failed run's artifacts (FAILED.html, FAILED.ipynb)
      monthly/                       a schedule
        schedule.json                what defines it: freq, segment, data source name, time zone
        2024-11-30/                  one report per as_of
          retention-report.html
          report-summary.json
        2024-12-31/...
      quarterly-by-channel/...

A schedule's name is ``--schedule NAME`` when given, else derived from the
period granularity and the segment column: ``monthly``, ``weekly``,
``quarterly-by-channel``. Its ``schedule.json`` records the granularity,
segment, data source name (the data file's name) and time zone of its first
report; a run that would put a report of another granularity into the schedule,
or (for a derived name) another data source, fails before any kernel starts
(exit 2) and names the ``--schedule`` to use. So a monthly and a quarterly
report of the same date, or two shops' exports, never overwrite each other.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from .._files import atomic_write
from ..exceptions import ParameterError
from ..params import SUMMARY_FILE
from ..periods import days_to_period, period_start_day
from .runlog import RUNS_DIR, RunRecord, read_records

SCHEDULE_FILE = "schedule.json"
REPORT_HTML = "retention-report.html"
FREQ_SCHEDULE = {"D": "daily", "W": "weekly", "M": "monthly", "Q": "quarterly", "Y": "yearly"}
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,63}")
_RESERVED = {RUNS_DIR, "index.html", "static", "assets"}
#: seconds a run waits for a still-running run of an earlier date of its schedule
WAIT_PREVIOUS = 600.0
_EPOCH = date(1970, 1, 1)


def _slug(text: str) -> str:
    s = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")[:40]
    return s or "s" + hashlib.sha1(text.encode("utf-8")).hexdigest()[:8]


def check_schedule_name(name: str) -> str:
    """A valid schedule name (a folder name: letters, digits, '.', '_', '-'; at most 64 characters)."""
    if not _NAME.fullmatch(name) or name.lower() in _RESERVED or re.fullmatch(r"\d{4}-\d{2}-\d{2}.*", name):
        raise ParameterError(
            f"parameter 'schedule': {name!r} is not a usable schedule name. Use letters, digits, '.', '_' and '-' "
            f"(at most 64, starting with a letter or digit; not a date, not {', '.join(sorted(_RESERVED))}), "
            "e.g. monthly-eu."
        )
    return name


def derived_name(freq: str, segment: str = "") -> str:
    """``monthly``, ``weekly-by-channel``, ...: the schedule name when ``--schedule`` is not given."""
    return FREQ_SCHEDULE[freq] + (f"-by-{_slug(segment)}" if segment else "")


def source_name(data: str) -> str:
    """The data source's name as a schedule records it: the file or folder name ('sample' for the sample)."""
    if data == "sample":
        return "sample"
    return Path(str(data)).name or str(data)


@dataclass(frozen=True)
class Schedule:
    """What defines a schedule (``<out>/<name>/schedule.json``)."""

    name: str
    freq: str
    segment: str
    source: str
    tz: str
    explicit: bool = False

    @classmethod
    def of(cls, *, schedule: str, freq: str, segment: str, data: str, tz: str) -> "Schedule":
        """The schedule of a run's parameters (``schedule`` '' derives the name)."""
        name = check_schedule_name(schedule) if schedule else derived_name(freq, segment)
        return cls(name, freq, segment, source_name(data), tz, bool(schedule))

    def to_json(self) -> dict[str, Any]:
        return {k: v for k, v in asdict(self).items() if k != "explicit"}

    def folder(self, out: Path) -> Path:
        return Path(out) / self.name


def read_schedule(out: Path, name: str) -> dict[str, Any] | None:
    """The recorded definition of a schedule; None when there is none (or it cannot be read)."""
    try:
        data = json.loads((Path(out) / name / SCHEDULE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def check_schedule(out: Path, sched: Schedule) -> None:
    """Refuse a run that would mix its reports into another schedule's folder (exit 2, before any kernel).

    Raises
    ------
    ParameterError
        When the folder's ``schedule.json`` records another granularity or
        time zone, or (for a derived name) another segment or data source.
    """
    rec = read_schedule(out, sched.name)
    if rec is None:
        return
    fields = ["freq", "tz"] + ([] if sched.explicit else ["segment", "source"])
    diff = [
        (f, rec.get(f), getattr(sched, f)) for f in fields if rec.get(f) is not None and rec.get(f) != getattr(sched, f)
    ]
    if not diff:
        return
    what = "; ".join(f"{f} {old!r} there, {new!r} in this run" for f, old, new in diff)
    hint = (
        f"{sched.name}-{_slug(sched.source.rsplit('.', 1)[0])}"
        if any(f == "source" for f, _, _ in diff)
        else f"{FREQ_SCHEDULE[sched.freq]}-{_slug(sched.tz)}"
        if any(f == "tz" for f, _, _ in diff)
        else derived_name(sched.freq, sched.segment)
    )
    raise ParameterError(
        f"parameter 'schedule': the reports of schedule {sched.name!r} ({Path(out) / sched.name}) were made with "
        f"other parameters ({what}), so this run would replace or mix with them. Pass --schedule NAME for a "
        f"separate schedule, e.g. --schedule {hint}"
        + (
            "; or pass --schedule " + sched.name + " to continue this schedule with the new data source"
            if [f for f, _, _ in diff] == ["source"]
            else ""
        )
        + "."
    )


def write_schedule(out: Path, sched: Schedule) -> None:
    """Record (or update) a schedule's definition; call under the publishing lock."""
    atomic_write(sched.folder(out) / SCHEDULE_FILE, json.dumps(sched.to_json(), indent=1, sort_keys=True) + "\n")


# ----------------------------------------------------------------------------- finding reports
def _read_summary(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def schedule_names(out: Path) -> list[str]:
    """Folders of ``out`` that hold a schedule (a ``schedule.json`` or any report folder), sorted."""
    out = Path(out)
    if not out.is_dir():
        return []
    names = []
    for d in sorted(out.iterdir()):
        if not d.is_dir() or d.name.startswith(".") or d.name == RUNS_DIR:
            continue
        if (d / SCHEDULE_FILE).is_file() or any((c / SUMMARY_FILE).is_file() for c in d.iterdir() if c.is_dir()):
            names.append(d.name)
    return names


def find_reports(out_dir: str | Path = "reports", schedule: str | None = None) -> list[dict[str, Any]]:
    """Every published report under ``out_dir`` (one schedule or all), newest as_of first within a schedule.

    Returns
    -------
    list of dict
        ``schedule``, ``folder`` (the as_of label), ``path``, ``summary``
        (the parsed ``report-summary.json``) and ``has_html``.
    """
    out = Path(out_dir)
    rows = []
    for name in [schedule] if schedule else schedule_names(out):
        sdir = out / name
        if not sdir.is_dir():
            continue
        for d in sorted((c for c in sdir.iterdir() if c.is_dir() and not c.name.startswith(".")), reverse=True):
            summary = _read_summary(d / SUMMARY_FILE)
            if summary is None:
                continue
            rows.append(
                {
                    "schedule": name,
                    "folder": d.name,
                    "path": d,
                    "summary": summary,
                    "has_html": (d / REPORT_HTML).is_file(),
                }
            )
    return rows


@dataclass(frozen=True)
class PreviousChoice:
    """The report a run compares with: its folder ('' for none), as_of label, and what the page should say."""

    path: str
    label: str
    notes: tuple[str, ...] = ()
    waited: bool = False


def _between(rec: RunRecord, schedule: str, low: str, high: str) -> bool:
    return rec.schedule == schedule and bool(rec.as_of) and low < rec.as_of < high


def previous_period_end(day: date, freq: str) -> date:
    """The last day of the latest period that ended before ``day`` (definitions §2).

    For the last day of a period, the last day of the period before it: the
    as_of of the previous report of a schedule that runs once per period.
    """
    current = days_to_period(np.array([(day - _EPOCH).days]), freq)
    return _EPOCH + timedelta(days=int(period_start_day(current, freq)[0]) - 1)


def _expected_previous(label: str, freq: str | None) -> str:
    """The as_of of the report one period before ``label``, when ``label`` is the last day of a period."""
    if not freq or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", label):
        return ""
    day = date.fromisoformat(label)
    if previous_period_end(day + timedelta(days=1), freq) != day:
        return ""  # not a period's last day: no regular predecessor
    return previous_period_end(day, freq).isoformat()


def choose_previous(
    out: Path,
    schedule: str,
    label: str,
    *,
    run: str = "",
    wait: float = WAIT_PREVIOUS,
    poll: float = 2.0,
    sleep: Callable[[float], None] = time.sleep,
    clock: Callable[[], float] = time.monotonic,
    freq: str | None = None,
) -> PreviousChoice:
    """The latest successful report of ``schedule`` with an as_of before ``label`` (definitions §2 periods).

    Chosen by as_of, not by which run finished first. When a run of the same
    schedule for a date between that report and ``label`` is still running
    (its record says ``running`` and its owner is not provably gone), wait for
    it, up to ``wait`` seconds, polling every ``poll``; then take its report,
    or, if it failed or is still running, the older one and say so in ``notes``.
    Runs whose latest attempt failed are named in ``notes`` too, and so is,
    with ``freq``, the period just before ``label`` when an older report is
    compared because that period has neither a report nor a run (a run for it
    may not have started yet).
    """
    out = Path(out)
    deadline = clock() + wait
    waited = False
    while True:
        reports = [r for r in find_reports(out, schedule) if r["has_html"] and r["folder"] < label]
        best = reports[0] if reports else None
        low = best["folder"] if best else ""
        records = [r for r in read_records(out) if r.run != run and _between(r, schedule, low, label)]
        pending = sorted({r.as_of for r in records if r.effective_status() == "running"})
        if not pending or clock() >= deadline:
            break
        waited = True
        sleep(poll)
    notes = []
    if pending:
        notes.append(
            f"The run for {', '.join(pending)} was still running after {wait:.0f} s of waiting; "
            + (f"compared with the report of {low} instead." if best else "compared with no earlier report.")
        )
    latest: dict[str, RunRecord] = {}
    for r in records:  # newest first
        latest.setdefault(r.as_of, r)
    failed = sorted(
        a for a, r in latest.items() if a not in pending and not r.published() and r.effective_status() != "running"
    )
    if failed:
        states = ", ".join(f"{a} ({latest[a].effective_status()})" for a in failed)
        notes.append(
            f"No report for {states}: its last run did not publish one; "
            + (f"compared with the report of {low}." if best else "no earlier report to compare with.")
        )
    expected = _expected_previous(label, freq)
    if expected and best and expected > low and expected not in latest and expected not in pending:
        notes.append(f"No report or run for {expected} yet; compared with the report of {low}.")
    return PreviousChoice(str(best["path"]) if best else "", low, tuple(notes), waited)


__all__ = [
    "FREQ_SCHEDULE",
    "SCHEDULE_FILE",
    "WAIT_PREVIOUS",
    "PreviousChoice",
    "Schedule",
    "check_schedule",
    "check_schedule_name",
    "choose_previous",
    "derived_name",
    "find_reports",
    "previous_period_end",
    "read_schedule",
    "schedule_names",
    "source_name",
    "write_schedule",
]
