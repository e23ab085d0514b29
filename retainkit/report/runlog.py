"""Exit codes and run records: every report run attempt leaves a trace the index shows.

:data:`EXIT_CODES` is the one table of exit codes: the CLI returns them, the
docs print them (a test checks the docs' table against this one) and the
recipes act on them (retry only :data:`EXIT_FAILED`).

A run record is a small JSON file, ``<out>/runs/<run-id>.json``, written
when a run starts (status ``running``) and rewritten atomically when it
ends: schedule, as_of, status, exit code, a one-line reason and the links
(relative to ``<out>``) to the report or to the failed run's artifacts in
``<out>/runs/<run-id>/``. A run killed with ``SIGKILL`` cannot write its end:
its record stays ``running`` until the owner is provably dead on this host or
older than :data:`~retainkit.report.locking.STAGING_MAX_AGE`, and the index
shows it as ``killed``.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from enum import IntEnum
from pathlib import Path
from typing import Any

from .._files import atomic_write
from .locking import STAGING_MAX_AGE, Owner, is_stale, utc_now

RUNS_DIR = "runs"
RUN_SCHEMA = 1


class ExitCode(IntEnum):
    """Exit codes of ``retainkit report`` (and the status each one is recorded with)."""

    OK = 0
    FAILED = 1
    PARAMETER = 2
    DATA = 3
    HISTORY = 4
    INTERRUPTED = 130
    TERMINATED = 143


@dataclass(frozen=True)
class ExitInfo:
    """One row of the exit-code table."""

    code: int
    status: str
    meaning: str
    retry: bool


#: The exit-code table (code, status on the index, meaning, whether an automatic retry of the same run can help:
#: only for 1, a run that failed on its own).
EXIT_CODES: tuple[ExitInfo, ...] = (
    ExitInfo(0, "ok", "report published (status 'warning' when the page carries a data-quality warning)", False),
    ExitInfo(
        1,
        "failed",
        "the run failed: a notebook cell raised, a cell timed out, the kernel died or is unknown, "
        "or the reports folder stayed locked",
        True,
    ),
    ExitInfo(
        2,
        "parameter error",
        "a parameter is wrong (checked before any kernel starts), or the report folder belongs to another schedule",
        False,
    ),
    ExitInfo(
        3,
        "data error",
        "the data cannot be analysed as given (DataError: columns, values, data-quality or freshness gate)",
        False,
    ),
    ExitInfo(
        4,
        "history check failed",
        "closed periods differ from the previous report of the schedule by more than "
        "--history-tolerance; fix the export, or pass --accept-history-change for a real restatement",
        False,
    ),
    ExitInfo(130, "interrupted", "stopped with Ctrl-C (SIGINT); nothing was published", False),
    ExitInfo(
        143,
        "killed",
        "stopped with SIGTERM (a scheduler's timeout or an operator); nothing was published. "
        "Find out why before running it again",
        False,
    ),
)
_BY_CODE = {e.code: e for e in EXIT_CODES}
EXIT_OK, EXIT_FAILED, EXIT_PARAMETER, EXIT_DATA, EXIT_HISTORY = 0, 1, 2, 3, 4

#: statuses of a finished run that published a report
PUBLISHED_STATUSES = ("ok", "warning", "history change accepted")


def status_of(code: int) -> str:
    """The status recorded for an exit code ('failed' for unknown codes)."""
    return _BY_CODE[code].status if code in _BY_CODE else "failed"


def retry_helps(code: int) -> bool:
    """Whether rerunning the same command can succeed (only for runs that failed on their own)."""
    return _BY_CODE[code].retry if code in _BY_CODE else False


def one_line(text: str, limit: int = 300) -> str:
    """The first meaningful line of a message, without ANSI colours, at most ``limit`` characters."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text))
    line = next((ln.strip() for ln in text.splitlines() if ln.strip()), "")
    return line if len(line) <= limit else line[: limit - 1] + "…"


def new_run_id(owner: Owner) -> str:
    """A unique, sortable, file-name-safe run id: ``20261201T061500123456Z-web1-4242-9f3a`` (UTC, microseconds)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    host = re.sub(r"[^A-Za-z0-9.-]+", "-", owner.host)[:40] or "host"
    return f"{stamp}-{host}-{owner.pid}-{secrets.token_hex(2)}"


@dataclass(frozen=True)
class RunRecord:
    """What one run attempt did (``<out>/runs/<run>.json``). Links are relative to the reports folder."""

    run: str
    schedule: str
    as_of: str
    status: str
    owner: Owner
    started: str
    exit_code: int | None = None
    reason: str = ""
    finished: str = ""
    report: str = ""
    failed_html: str = ""
    failed_notebook: str = ""
    previous: str = ""
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        d = {k: getattr(self, k) for k in self.__dataclass_fields__}
        d["owner"] = self.owner.to_json()
        d["notes"] = list(self.notes)
        d["schema"] = RUN_SCHEMA
        return d

    @classmethod
    def from_json(cls, data: Any) -> "RunRecord | None":
        if not isinstance(data, dict):
            return None
        owner = Owner.from_json(data.get("owner"))
        if owner is None or not data.get("run"):
            return None
        code = data.get("exit_code")
        return cls(
            run=str(data["run"]),
            schedule=str(data.get("schedule", "")),
            as_of=str(data.get("as_of", "")),
            status=str(data.get("status", "")),
            owner=owner,
            started=str(data.get("started", owner.started)),
            exit_code=int(code) if isinstance(code, (int, float)) and not isinstance(code, bool) else None,
            reason=str(data.get("reason", "")),
            finished=str(data.get("finished", "")),
            report=str(data.get("report", "")),
            failed_html=str(data.get("failed_html", "")),
            failed_notebook=str(data.get("failed_notebook", "")),
            previous=str(data.get("previous", "")),
            notes=tuple(str(n) for n in data.get("notes", []) if n),
        )

    @property
    def running(self) -> bool:
        return self.status == "running"

    def effective_status(self, max_age: float = STAGING_MAX_AGE) -> str:
        """The status to show: a ``running`` record whose owner is gone reads ``killed``."""
        if self.running and is_stale(self.owner, max_age)[0]:
            return "killed"
        return self.status

    def effective_reason(self, max_age: float = STAGING_MAX_AGE) -> str:
        if self.running and self.effective_status(max_age) == "killed":
            why = is_stale(self.owner, max_age)[1]
            return f"the run stopped without a result (killed, or its machine restarted): {why}"
        return self.reason

    def published(self) -> bool:
        return self.status in PUBLISHED_STATUSES


def runs_dir(out: Path) -> Path:
    return Path(out) / RUNS_DIR


def record_path(out: Path, run: str) -> Path:
    return runs_dir(out) / f"{run}.json"


def write_record(out: Path, record: RunRecord) -> Path:
    """Write (or rewrite) a run record atomically."""
    path = record_path(out, record.run)
    atomic_write(path, json.dumps(record.to_json(), indent=1, sort_keys=True, ensure_ascii=False) + "\n")
    return path


def start_record(out: Path, owner: Owner, run: str, schedule: str, as_of: str) -> RunRecord:
    """Record that a run started (status ``running``)."""
    rec = RunRecord(run=run, schedule=schedule, as_of=as_of, status="running", owner=owner, started=owner.started)
    write_record(out, rec)
    return rec


def finish_record(
    out: Path, record: RunRecord, code: int, reason: str = "", *, status: str | None = None, **links: Any
) -> RunRecord:
    """Record how a run ended: exit code, status (from :data:`EXIT_CODES` unless given) and a one-line reason."""
    rec = replace(
        record,
        status=status or status_of(code),
        exit_code=int(code),
        reason=one_line(reason),
        finished=utc_now(),
        **links,
    )
    write_record(out, rec)
    return rec


def read_records(out: Path) -> list[RunRecord]:
    """Every readable run record under ``<out>/runs/``, newest first (unreadable files are skipped)."""
    recs: list[RunRecord] = []
    d = runs_dir(out)
    if not d.is_dir():
        return recs
    for p in d.glob("*.json"):
        try:
            rec = RunRecord.from_json(json.loads(p.read_text(encoding="utf-8")))
        except (OSError, ValueError):
            continue
        if rec is not None:
            recs.append(rec)
    return sorted(recs, key=lambda r: (r.started, r.run), reverse=True)


def read_record(out: Path, run: str) -> RunRecord | None:
    try:
        return RunRecord.from_json(json.loads(record_path(out, run).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


__all__ = [
    "EXIT_CODES",
    "EXIT_DATA",
    "EXIT_FAILED",
    "EXIT_HISTORY",
    "EXIT_OK",
    "EXIT_PARAMETER",
    "PUBLISHED_STATUSES",
    "RUNS_DIR",
    "ExitCode",
    "ExitInfo",
    "RunRecord",
    "finish_record",
    "new_run_id",
    "one_line",
    "read_record",
    "read_records",
    "record_path",
    "retry_helps",
    "runs_dir",
    "start_record",
    "status_of",
    "write_record",
]
