"""Run the report notebook with papermill and publish it: one folder per schedule, safe when runs share a folder.

:func:`run_report` validates the parameters (before any kernel starts),
records the attempt (:mod:`.runlog`), picks the previous report of the
schedule (:mod:`.schedule`), executes ``retention_report.ipynb`` with
papermill in its own staging folder (:mod:`.locking`), exports HTML with
nbconvert (no code, no prompts, deterministic), and publishes
``<out_dir>/<schedule>/<as_of>/retention-report.html`` under the publishing
lock; ``<out_dir>/index.html`` is rebuilt from the report folders and the run
records (:mod:`.index`).
"""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from .. import exceptions
from .. import postgres as pg
from .._deprecation import legacy_summary
from .._files import atomic_write
from ..exceptions import (
    DataError,
    HistoryError,
    ParameterError,
    ReportError,
    ReportExecutionError,
    ReportRunError,
    RetainkitError,
)
from ..params import SUMMARY_FILE, ReportParams, validate_params
from . import runlog
from .analysis import AT_RISK_FILE
from .export import export_html, machine_output
from .index import INDEX_HTML, write_index
from .locking import STAGING, LockTimeout, Owner, PublishLock, clean_stale_staging, create_staging, remove_staging
from .page import Page
from .runlog import ExitCode, RunRecord, finish_record, new_run_id, start_record
from .schedule import WAIT_PREVIOUS, PreviousChoice, Schedule, check_schedule, choose_previous, write_schedule
from .watchdog import HANG_AFTER, execute_watched

log = logging.getLogger(__name__)

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "retention_report.ipynb"
REPORT_HTML = "retention-report.html"
REPORT_NOTEBOOK = "retention-report.ipynb"
FAILED_HTML = "retention-report.FAILED.html"
FAILED_NOTEBOOK = "retention-report.FAILED.ipynb"


class RunTerminated(BaseException):
    """Raised in the running process when it receives SIGTERM (the CLI installs the handler)."""


@dataclass(frozen=True)
class ReportResult:
    """Where a published report is and what it says (``notebook`` is None unless kept).

    Attributes
    ----------
    html, notebook, folder, index : Path
    metrics : dict
        The report's ``report-summary.json``: ``kpis`` (headline figures by
        name, each with ``label``, ``value``, ``display``...), ``warnings``,
        ``status``, ``as_of_label``, ``history_check``...
    summary : pandas.DataFrame
        The headline figures, one row per KPI: ``metric`` and the fields of
        its entry in ``metrics["kpis"]``. For one release
        ``summary.get("warnings")`` / ``summary["kpis"]`` (the dict ``.summary``
        used to be) still work with a DeprecationWarning naming ``.metrics``.
    run, schedule : str
    """

    html: Path
    notebook: Path | None
    metrics: dict[str, Any]
    folder: Path
    index: Path
    run: str = ""
    schedule: str = ""

    @property
    def summary(self) -> pd.DataFrame:
        """The headline figures as a tidy frame (``metric``, ``label``, ``value``, ``display``...)."""
        kpis = self.metrics.get("kpis") or {}
        frame = pd.DataFrame.from_dict(kpis, orient="index") if kpis else pd.DataFrame()
        frame = frame.rename_axis("metric").reset_index() if kpis else pd.DataFrame({"metric": []})
        return legacy_summary(frame, self.metrics, "ReportResult")

    @property
    def as_of(self) -> str:
        return str(self.metrics.get("as_of_label", ""))


def _code_of(cls: type) -> int:
    if issubclass(cls, HistoryError):
        return ExitCode.HISTORY
    if issubclass(cls, DataError):
        return ExitCode.DATA
    if issubclass(cls, ParameterError):
        return ExitCode.PARAMETER
    if issubclass(cls, KeyboardInterrupt):
        return ExitCode.INTERRUPTED
    if issubclass(cls, RunTerminated):
        return ExitCode.TERMINATED
    return ExitCode.FAILED


def exit_code_for(exc: BaseException) -> int:
    """The exit code of a failed run (the table in :mod:`.runlog`).

    Errors raised inside the kernel arrive as :class:`ReportExecutionError`
    with the class name in ``ename``; a retainkit exception of that name maps
    like the class itself (HistoryError 4, DataError and its kinds 3,
    ParameterError 2); anything else that failed is 1.
    """
    if isinstance(exc, ReportExecutionError):
        cls = getattr(exceptions, exc.ename, None) if exc.ename else None
        return _code_of(cls) if isinstance(cls, type) and issubclass(cls, RetainkitError) else ExitCode.FAILED
    return _code_of(type(exc))


def _publish(files: Sequence[tuple[Path, Path]]) -> None:
    """Move finished files into place, each with an atomic rename (the HTML last)."""
    for src, dst in files:
        dst.parent.mkdir(parents=True, exist_ok=True)
        os.replace(src, dst)


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


def _check_kernel(kernel_name: str | None, nb_path: Path) -> None:
    """An unknown kernel is a parameter error, found before anything runs."""
    import nbformat
    from jupyter_client.kernelspec import NoSuchKernel, find_kernel_specs, get_kernel_spec

    name = (
        kernel_name or nbformat.read(str(nb_path), as_version=4).metadata.get("kernelspec", {}).get("name") or "python3"
    )
    try:
        get_kernel_spec(name)
    except NoSuchKernel:
        known = ", ".join(sorted(find_kernel_specs())) or "none"
        raise ParameterError(
            f"parameter 'kernel': no Jupyter kernel named {name!r} is installed (installed: {known}). "
            "Pass --kernel with one of them, or install the kernel "
            "(python -m ipykernel install --user --name NAME)."
        ) from None


def _relative(path: Path | None, out: Path) -> str:
    if path is None:
        return ""
    try:
        return path.relative_to(out).as_posix()
    except ValueError:
        return ""


def run_report(
    params: ReportParams | Mapping[str, Any] | None = None,
    out_dir: str | os.PathLike = "reports",
    *,
    notebook: str | os.PathLike | None = None,
    progress: bool = False,
    kernel_name: str | None = None,
    timeout: int | None = 1800,
    update_index: bool = True,
    keep_notebook: bool | None = None,
    wait_previous: float = WAIT_PREVIOUS,
    hang_timeout: float = HANG_AFTER,
    lang: str | None = None,
) -> ReportResult:
    """Run the retention report notebook and publish it as offline HTML, in its schedule's folder.

    Parameters
    ----------
    params : ReportParams or mapping, optional
        Report parameters (see :data:`retainkit.params.SCHEMA`), validated
        before any kernel starts. ``previous_report="auto"`` compares with the
        latest successful report of the same schedule with an earlier as_of.
    out_dir : path
        Reports folder. The report goes to ``<out_dir>/<schedule>/<as_of>/``
        (``retention-report.html``, ``report-summary.json``), where the
        schedule is ``params["schedule"]`` or derived from ``freq`` and
        ``segment`` (``monthly``, ``weekly-by-channel``; see
        :mod:`retainkit.report.schedule`). ``<out_dir>/index.html`` lists every
        schedule, report and run attempt; ``<out_dir>/runs/`` holds the run
        records and failed runs' artifacts.
    notebook : path, optional
        Report notebook to run (default: the one shipped in retainkit).
    progress : bool
        Show papermill's cell progress bar (stderr).
    kernel_name : str, optional
        Jupyter kernel (default: the notebook's, "python3"); an unknown one is
        a ParameterError before anything runs.
    timeout : int or None
        Seconds a single cell may run; a longer cell fails the run (exit 1,
        status "timed out").
    update_index : bool
        Rewrite ``index.html`` at the end of the run (good or failed).
    keep_notebook : bool or None
        Keep the executed notebook: None (default) only for failed runs
        (``retention-report.FAILED.ipynb``, next to the readable
        ``.FAILED.html``); True also for published reports
        (``retention-report.ipynb``, about as large as the HTML); False never
        (the ``.FAILED.html``, with code and traceback, is always kept).
    wait_previous : float
        Seconds to wait for a still-running run of an earlier as_of of the same
        schedule before comparing with an older report (and saying so).
    hang_timeout : float
        Seconds a kernel may leave its heartbeat unanswered before it counts as
        hung: it is killed and the notebook run once more; a second hang fails
        the run (``KernelNotResponding``) instead of waiting out ``timeout``.
        A long computation keeps the heartbeat answered
        (:mod:`retainkit.report.watchdog`).
    lang : {"en", "el", "hy"}, optional
        The report's language; wins over ``params["lang"]`` (default "en").

    Returns
    -------
    ReportResult

    Raises
    ------
    ParameterError
        Before any kernel starts, naming the parameter (also for a report
        folder that belongs to another schedule, or an unknown kernel).
    ReportExecutionError
        (a :class:`~retainkit.exceptions.ReportError`) A cell raised. Nothing
        published is touched; the failed run's notebook and its HTML (with
        code) are kept in ``<out_dir>/runs/<run>/``. ``ename`` tells the kind:
        ``HistoryError`` (closed periods changed), ``DataError``, ...; see
        :func:`exit_code_for`.
    ReportError
        The run failed otherwise (a cell timed out, the kernel died, the
        reports folder stayed locked); one-line message.

    Notes
    -----
    Every attempt leaves a run record (``<out_dir>/runs/<run>.json``) with its
    status, exit code and reason, also when it fails or is interrupted.
    Publishing is atomic per file, under the publishing lock: everything is
    produced in ``<out_dir>/.staging/<run>/`` and moved into place with
    ``os.replace`` only after the run and the export succeeded (HTML last), so
    a crash or kill mid-run never leaves a half-written report and never
    replaces the previous one. Same data and parameters give byte-identical
    HTML.
    """
    given: dict[str, Any] = {"lang": lang} if lang is not None else {}
    p = validate_params(params if params is not None else {}, **given)
    out = Path(out_dir).expanduser().resolve()
    sched = Schedule.of(schedule=p.schedule, freq=p.freq, segment=p.segment, data=p.data, tz=p.tz)
    owner = Owner.me()
    run = new_run_id(owner)
    label = p.as_of_label
    out.mkdir(parents=True, exist_ok=True)
    record = start_record(out, owner, run, sched.name, label)
    stage: Path | None = None
    try:
        check_schedule(out, sched)
        nb_path = Path(notebook) if notebook is not None else NOTEBOOK
        if not nb_path.is_file():
            raise ParameterError(f"parameter 'notebook': {str(nb_path)!r} does not exist.")
        _check_kernel(kernel_name, nb_path)
        if p.previous_report == "auto" and not label:
            raise ParameterError(
                "parameter 'previous_report': 'auto' needs as_of (the report date) to find an earlier report."
            )
        choice = (
            choose_previous(out, sched.name, label, run=run, wait=wait_previous, freq=p.freq)
            if label
            else PreviousChoice("", "")
        )
        notes = list(choice.notes)
        if choice.waited:
            notes.append(
                f"Waited for a still-running run of an earlier date of schedule {sched.name}; compared with "
                + (f"the report of {choice.label}." if choice.label else "no earlier report.")
            )
        for note in notes:
            log.warning("%s", note)
        record = replace(record, notes=tuple(notes))
        changes: dict[str, Any] = {
            "summary_path": SUMMARY_FILE,
            "schedule": sched.name,
            "history_report": choice.path,
            "previous_note": "\n".join(choice.notes),
        }
        password = None
        if p.is_database:
            # the kernel gets the password in PGPASSWORD, never in the notebook, its summary or the page
            changes["data"], password = pg.split_password(p.data)
            if p.query_file:
                changes["query_file"] = str(Path(p.query_file).expanduser().resolve())
        elif p.data != "sample":
            changes["data"] = str(Path(p.data).expanduser().resolve())
        if p.previous_report == "auto":
            changes["previous_report"] = choice.path
        elif p.previous_report:
            changes["previous_report"] = str(Path(p.previous_report).expanduser().resolve())
        p = p.replace(**changes)
        clean_stale_staging(out)
        stage = create_staging(out, run, owner)
        result = _execute_and_publish(
            p,
            out,
            stage,
            sched,
            record,
            nb_path,
            progress=progress,
            kernel_name=kernel_name,
            timeout=timeout,
            hang_timeout=hang_timeout,
            keep_notebook=keep_notebook,
            password=password,
            update_index=update_index,
            previous=choice,
        )
        return result
    except BaseException as exc:
        _record_failure(out, record, exc, update_index)
        raise
    finally:
        if stage is not None:
            remove_staging(stage)


def _execute_and_publish(
    p: ReportParams,
    out: Path,
    stage: Path,
    sched: Schedule,
    record: RunRecord,
    nb_path: Path,
    *,
    progress: bool,
    kernel_name: str | None,
    timeout: int | None,
    hang_timeout: float,
    keep_notebook: bool | None,
    update_index: bool,
    previous: PreviousChoice,
    password: str | None = None,
) -> ReportResult:
    import nbformat
    from nbclient.exceptions import CellTimeoutError, DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    staged_nb = stage / REPORT_NOTEBOOK
    try:
        with pg.password_environment(password):  # the kernel gets it in PGPASSWORD, never in a file
            execute_watched(
                str(nb_path),
                str(staged_nb),
                hang_after=hang_timeout,
                parameters=p.to_dict(),
                cwd=str(stage),
                progress_bar=progress,
                kernel_name=kernel_name,
                execution_timeout=timeout,
                log_output=False,
                extra_arguments=_quiet_kernel_args(kernel_name, nb_path),
            )
    except PapermillExecutionError as exc:
        raise _failed(exc, staged_nb, stage, out, record, p, keep_notebook) from None
    except CellTimeoutError:
        raise _failed(
            None,
            staged_nb,
            stage,
            out,
            record,
            p,
            keep_notebook,
            status="timed out",
            what=f"a cell ran longer than the timeout ({timeout} s)",
        ) from None
    except DeadKernelError:
        raise _failed(
            None, staged_nb, stage, out, record, p, keep_notebook, what="the kernel died (out of memory, or killed)"
        ) from None
    summary = json.loads((stage / SUMMARY_FILE).read_text(encoding="utf-8"))
    label = summary["as_of_label"]
    nb = nbformat.read(str(staged_nb), as_version=4)
    stray = machine_output(nb)  # left out of the page; recorded as warnings instead
    if stray:
        summary["warnings"] = [*summary.get("warnings", []), *(f"Output on stderr: {t}" for t in stray)]
        summary["status"] = "warning"
        atomic_write(stage / SUMMARY_FILE, json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
    atomic_write(stage / REPORT_HTML, export_html(nb, title=Page(p).title, lang=p.lang))
    folder = sched.folder(out) / label
    files = [(stage / SUMMARY_FILE, folder / SUMMARY_FILE), (stage / REPORT_HTML, folder / REPORT_HTML)]
    if keep_notebook:
        files.insert(0, (staged_nb, folder / REPORT_NOTEBOOK))
    has_list = (stage / AT_RISK_FILE).is_file()  # the customer list (parameter customer_list)
    if has_list:
        files.append((stage / AT_RISK_FILE, folder / AT_RISK_FILE))
    status = "ok"
    hc = summary.get("history_check") or {}
    if hc.get("status") == "accepted":
        status = "history change accepted"
    if summary.get("status") == "warning" or summary.get("warnings"):
        status = "warning"
    with PublishLock(out):
        _publish(files)
        stale = (
            (FAILED_HTML, FAILED_NOTEBOOK)
            + (() if keep_notebook else (REPORT_NOTEBOOK,))
            + (() if has_list else (AT_RISK_FILE,))
        )
        for name in stale:  # left by an earlier run of this date (or an older retainkit)
            (folder / name).unlink(missing_ok=True)
        write_schedule(out, sched)
        rec = finish_record(
            out,
            replace_record(record, as_of=label),
            ExitCode.OK,
            hc.get("summary", "") if status == "history change accepted" else "",
            status=status,
            report=_relative(folder / REPORT_HTML, out),
            previous=previous.label,
        )
        index = write_index(out, lock=False) if update_index else out / INDEX_HTML
    return ReportResult(
        folder / REPORT_HTML,
        folder / REPORT_NOTEBOOK if keep_notebook else None,
        summary,
        folder,
        index,
        rec.run,
        sched.name,
    )


def replace_record(record: RunRecord, **changes: Any) -> RunRecord:
    """A copy of a run record with some fields changed (the as_of once the data told it)."""
    return replace(record, **{k: v for k, v in changes.items() if v})


def _record_failure(out: Path, record: RunRecord, exc: BaseException, update_index: bool) -> None:
    """Finish the run record of a failed attempt and rebuild the index; never raises over the real error."""
    code = exit_code_for(exc)
    status = getattr(exc, "status", None) or runlog.status_of(code)
    reason = str(exc) if not isinstance(exc, ReportExecutionError) else f"{exc.ename}: {exc.evalue}"
    if isinstance(exc, KeyboardInterrupt):
        reason = "interrupted (Ctrl-C); nothing was published"
    elif isinstance(exc, RunTerminated):
        reason = "stopped by SIGTERM; nothing was published"
    elif not reason.strip():
        reason = type(exc).__name__
    links = {
        "failed_html": _relative(getattr(exc, "html", None), out),
        "failed_notebook": _relative(getattr(exc, "notebook", None), out),
    }
    try:
        finish_record(out, record, code, reason, status=status, **links)
        if update_index and not isinstance(exc, LockTimeout):  # the next run's index will show it
            write_index(out, lock_wait=60.0)
    except Exception as rec_exc:  # noqa: BLE001 - the run's own error matters more
        log.warning("could not record the failed run in %s: %s", out, rec_exc)


def _failed(
    exc: Any,
    staged_nb: Path,
    stage: Path,
    out: Path,
    record: RunRecord,
    p: ReportParams,
    keep_notebook: bool | None,
    *,
    what: str = "",
    status: str = "failed",
) -> ReportError:
    """Keep the failed run's notebook (unless told not to) and its HTML with code in ``<out>/runs/<run>/``.

    ``exc`` is papermill's error when a cell raised; None when the run failed
    around the cells (``what`` says how, ``status`` how the record names it).
    """
    import nbformat

    folder = runlog.runs_dir(out) / record.run
    cell, src = None, ""
    nb_file = html_file = None
    if staged_nb.exists():
        try:
            nb = nbformat.read(str(staged_nb), as_version=4)
        except Exception as read_exc:  # noqa: BLE001 - a notebook cut by a dying kernel
            log.warning("could not read the failed notebook: %s", read_exc)
            nb = None
        if nb is not None:
            cell, src = _failed_cell(nb)
            try:
                atomic_write(
                    stage / FAILED_HTML,
                    export_html(nb, include_input=True, title=f"FAILED: {Page(p).title}", lang=p.lang),
                )
                _publish([(stage / FAILED_HTML, folder / FAILED_HTML)])
                html_file = folder / FAILED_HTML
            except Exception as export_exc:  # noqa: BLE001 - keep the notebook even if HTML export fails
                log.warning("could not export the failed notebook to HTML: %s", export_exc)
        if keep_notebook is not False or html_file is None:
            _publish([(staged_nb, folder / FAILED_NOTEBOOK)])
            nb_file = folder / FAILED_NOTEBOOK
    where = f"cell {cell}" + (f" ({src})" if src else "") if cell else "a cell"
    kept = [str(f) for f in (html_file, nb_file) if f]
    parts = [f"the report failed in {where}"] if exc is not None else []
    parts.append(f"kept for reading: {', '.join(kept)}" if kept else "no notebook kept")
    tail = "(" + "; ".join(parts) + ". The previously published report, if any, is unchanged.)"
    if exc is None:
        return ReportRunError(
            f"the report run failed: {what} in {where}.\n{tail}", status=status, notebook=nb_file, html=html_file
        )
    return ReportExecutionError(
        f"{exc.ename}: {exc.evalue}\n{tail}",
        cell=cell,
        ename=exc.ename,
        evalue=exc.evalue,
        notebook=nb_file,
        html=html_file,
        traceback=list(exc.traceback or []),
    )


__all__ = [
    "FAILED_HTML",
    "FAILED_NOTEBOOK",
    "INDEX_HTML",
    "NOTEBOOK",
    "REPORT_HTML",
    "REPORT_NOTEBOOK",
    "STAGING",
    "ReportResult",
    "RunTerminated",
    "exit_code_for",
    "run_report",
]
