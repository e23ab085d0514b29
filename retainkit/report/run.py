"""Run the report notebook with papermill and publish it (staging, atomic publish, index).

:func:`run_report` validates the parameters (before any kernel starts),
executes ``retention_report.ipynb`` with papermill in a staging folder,
exports HTML with nbconvert (no code, no prompts, deterministic), and
publishes ``<out_dir>/<as_of>/retention-report.html`` plus the executed
notebook atomically; ``<out_dir>/index.html`` lists every report.
"""

from __future__ import annotations

import datetime
import json
import logging
import os
import re
import secrets
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping, Sequence


from .._files import atomic_write
from ..exceptions import ParameterError, ReportExecutionError
from ..i18n import LANGUAGES, MISSING, check_lang, translator
from ..params import SUMMARY_FILE, ReportParams, validate_params
from .export import export_html, machine_output
from .page import DEFAULT_TITLE, TEMPLATES, Page
from .watchdog import HANG_AFTER, execute_watched

log = logging.getLogger(__name__)

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "retention_report.ipynb"
REPORT_HTML = "retention-report.html"
REPORT_NOTEBOOK = "retention-report.ipynb"
FAILED_HTML = "retention-report.FAILED.html"
FAILED_NOTEBOOK = "retention-report.FAILED.ipynb"
INDEX_HTML = "index.html"
STAGING = ".staging"


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


def _index_lang(reports: list[dict[str, Any]], lang: str | None) -> str:
    """``lang`` if given, else the language of the newest report that has one ('en' for none)."""
    if lang:
        return check_lang(lang)
    for r in reports:
        found = (r["summary"] or {}).get("lang")
        if found in LANGUAGES:
            return str(found)
    return "en"


def write_index(out_dir: str | os.PathLike = "reports", lang: str | None = None) -> Path:
    """(Re)write ``<out_dir>/index.html`` listing every report with its headline figures.

    Deterministic (sorted by folder, no clock), escaped, written atomically.
    The page is in ``lang`` (default: the language of the newest report);
    figures are re-formatted in that language from the stored values.
    """
    import jinja2

    out = Path(out_dir)
    reports = find_reports(out)
    tr = translator(_index_lang(reports, lang))
    _ = tr.gettext
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(str(TEMPLATES)), autoescape=True,
                             keep_trailing_newline=True)
    rows = []
    for r in reports:
        s = r["summary"] or {}
        k = s.get("kpis", {})
        freq = s.get("freq", "M")

        def disp(key: str, kind: str = "percent", k: dict = k, s: dict = s) -> str:
            v = (k.get(key) or {}).get("value")
            if v is None:
                return (k.get(key) or {}).get("display") or MISSING
            if kind == "count":
                return tr.format_number(v)
            if kind == "money":
                return tr.format_currency(v, s.get("currency", ""), 0)
            return tr.format_percent(v)

        period = (k.get("crr") or {}).get("period", "")
        rows.append({
            "folder": r["folder"], "date": tr.format_date(r["folder"][:10]) if _is_date(r["folder"][:10]) else r["folder"],
            "title": (_(DEFAULT_TITLE) if s.get("title") == DEFAULT_TITLE else s.get("title")) if s else _("(failed run)"),
            "failed": r["failed"],
            "has_html": r["has_html"], "report": f"{r['folder']}/{REPORT_HTML}", "failed_html": f"{r['folder']}/{FAILED_HTML}",
            "customers": disp("customers", "count"), "crr": disp("crr"),
            "crr_period": tr.period_label(period, freq) if period else "",
            "churn": disp("churn"), "repeat": disp("repeat_rate"), "ret1": disp("retention_1"),
            "rev1": disp("revenue_retention_1"), "clv": disp("clv", "money"),
            "changes": tr.format_number(sum(1 for c in s.get("changes", []) if c.get("significant"))),
        })
    css = (TEMPLATES / "report.css").read_text(encoding="utf-8")
    text = env.get_template("index.html.j2").render(rows=rows, css=css, _=_, ngettext=tr.ngettext, lang=tr.lang,
                                                    reports=sum(1 for r in rows if r["has_html"]),
                                                    reports_text=tr.format_number(sum(1 for r in rows if r["has_html"])))
    path = out / INDEX_HTML
    atomic_write(path, text)
    return path


def _is_date(text: str) -> bool:
    try:
        datetime.date.fromisoformat(text)
    except ValueError:
        return False
    return True


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
    hang_timeout: float = HANG_AFTER,
    lang: str | None = None,
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
        Before any kernel starts, naming the parameter.
    ReportExecutionError
        (a :class:`~retainkit.exceptions.ReportError`) The notebook failed. Nothing already published is touched; the
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
    from papermill.exceptions import PapermillExecutionError

    p = validate_params(params if params is not None else {}, **({"lang": lang} if lang is not None else {}))
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
            execute_watched(
                str(nb_path), str(staged_nb), hang_after=hang_timeout, parameters=p.to_dict(), cwd=str(stage),
                progress_bar=progress,
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
        stray = machine_output(nb)  # left out of the page; recorded as warnings instead
        if stray:
            summary["warnings"] = [*summary.get("warnings", []), *(f"Output on stderr: {t}" for t in stray)]
            summary["status"] = "warning"
            atomic_write(stage / SUMMARY_FILE, json.dumps(summary, indent=2, sort_keys=True, ensure_ascii=False) + "\n")
        html_text = export_html(nb, title=Page(p).title, lang=p.lang)
        atomic_write(stage / REPORT_HTML, html_text)
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


def _failed(exc: Any, staged_nb: Path, stage: Path, out: Path, label: str, p: ReportParams) -> ReportExecutionError:
    import nbformat

    folder = out / (label or "unknown-as-of")
    cell, src = None, ""
    nb_file = html_file = None
    if staged_nb.exists():
        nb = nbformat.read(str(staged_nb), as_version=4)
        cell, src = _failed_cell(nb)
        try:
            atomic_write(stage / FAILED_HTML, export_html(nb, include_input=True, title=f"FAILED: {Page(p).title}", lang=p.lang))
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
    return ReportExecutionError(msg, cell=cell, ename=exc.ename, evalue=exc.evalue, notebook=nb_file, html=html_file,
                                traceback=list(exc.traceback or []))



__all__ = [
    "FAILED_HTML", "FAILED_NOTEBOOK", "INDEX_HTML", "NOTEBOOK", "REPORT_HTML", "REPORT_NOTEBOOK", "STAGING",
    "ReportResult", "find_reports", "run_report", "write_index",
]
