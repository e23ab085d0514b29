"""Command line: ``retainkit report | index | sample | params``.

``retainkit report --data PATH --as-of DATE --freq M --out reports/`` runs the
retention report (see :func:`retainkit.report.run_report`). Parameters can
also come from a YAML file (``-f params.yaml``) and ``-p name value`` pairs, as
with papermill; precedence: YAML file < ``-p`` < explicit options.

Exit codes (the table is :data:`retainkit.report.runlog.EXIT_CODES`): 0 report
published; 1 the run failed (a cell raised, timed out, the kernel died, the
folder stayed locked); 2 a parameter is wrong (checked before any kernel
starts); 3 the data cannot be analysed (DataError); 4 the history check failed
(closed periods changed since the previous report); 130 interrupted; 143
stopped by SIGTERM. Every attempt of ``retainkit report`` is recorded in
``<out>/runs/`` and shown on ``<out>/index.html``.
"""

from __future__ import annotations

import argparse
import logging
import re
import shutil
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import postgres as pg
from . import report
from .datasets import sample_path
from .exceptions import DataError, ParameterError, ReportExecutionError, RetainkitError
from .i18n import LANGUAGES
from .params import INTERNAL_PARAMS, SCHEMA, validate_params
from .report.index import write_index
from .report.locking import Owner
from .report.run import RunTerminated, exit_code_for
from .report.runlog import (
    EXIT_DATA,
    EXIT_FAILED,
    EXIT_HISTORY,
    EXIT_OK,
    EXIT_PARAMETER,
    ExitCode,
    finish_record,
    new_run_id,
    start_record,
)
from .report.schedule import FREQ_SCHEDULE, derived_name

__all__ = [
    "EXIT_DATA",
    "EXIT_FAILED",
    "EXIT_HISTORY",
    "EXIT_OK",
    "EXIT_PARAMETER",
    "collect_params",
    "main",
    "report_params",
]

#: explicit options of ``retainkit report`` -> parameter name
_OPTIONS = {p.name: "--" + p.name.replace("_", "-") for p in SCHEMA if p.name not in INTERNAL_PARAMS}
_SHORT_HELP = {
    "data": "transaction log (CSV/Parquet) or 'sample'",
    "as_of": "report date: YYYY-MM-DD (the end of that day) or an ISO date-time YYYY-MM-DDTHH:MM",
}


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="retainkit", description="Customer-retention analysis and recurring offline HTML reports."
    )
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    rp = sub.add_parser(
        "report",
        help="run the retention report notebook and publish offline HTML",
        description="Run the retention report and publish <out>/<as_of>/retention-report.html "
        "(plus the executed notebook) and <out>/index.html. Parameters are validated "
        "before any kernel starts.",
    )
    for p in SCHEMA:
        if p.name in INTERNAL_PARAMS:
            continue
        kw: dict[str, Any] = {
            "dest": p.name,
            "default": None,
            "metavar": p.name.upper(),
            "help": _SHORT_HELP.get(p.name, p.help).replace("%", "%%") + f" (default {p.default!r})",
        }
        if p.choices:
            kw["metavar"] = "{" + ",".join(p.choices) + "}"
        if p.type is bool:  # --drop-duplicates / --no-drop-duplicates, --no-customer-list (absent leaves YAML/-p)
            kw.update(action=argparse.BooleanOptionalAction)
            kw.pop("metavar")
        rp.add_argument(_OPTIONS[p.name], **kw)
    rp.add_argument(
        "-p",
        "--parameter",
        nargs=2,
        action="append",
        metavar=("NAME", "VALUE"),
        default=[],
        help="set a parameter by name (repeatable), as in papermill",
    )
    rp.add_argument("-f", "--parameters-file", metavar="YAML", help="YAML file of parameters (name: value)")
    rp.add_argument("--out", default="reports", help="reports folder (default: reports)")
    rp.add_argument("--notebook", default=None, help="report notebook to run (default: the one shipped with retainkit)")
    rp.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's)")
    rp.add_argument("--timeout", type=int, default=1800, help="seconds a cell may run (default 1800)")
    rp.add_argument(
        "--keep-notebook",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="keep the executed notebook next to the report (default: only for failed runs)",
    )
    rp.add_argument(
        "--wait-previous",
        type=float,
        default=None,
        metavar="SECONDS",
        help="how long to wait for a still-running run of an earlier date of the same schedule (default 600)",
    )
    rp.add_argument(
        "--hang-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="seconds a kernel may stop answering before it is killed and the run retried once "
        "(default 30; a long computation keeps answering)",
    )
    rp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    ip = sub.add_parser("index", help="rewrite <out>/index.html from the published reports")
    ip.add_argument("--out", default="reports")
    ip.add_argument(
        "--lang",
        default=None,
        choices=LANGUAGES,
        help="language of the index page (default: that of the newest report)",
    )

    sp = sub.add_parser("sample", help="copy the bundled sample transaction log to a file")
    sp.add_argument("dest", nargs="?", default="sample_transactions.csv")

    sub.add_parser("params", help="list the report parameters")
    return ap


def _load_yaml(path: str) -> dict[str, Any]:
    import yaml

    p = Path(path)
    if not p.is_file():
        raise ParameterError(f"parameters file {path!r} does not exist.")
    try:
        data = yaml.safe_load(p.read_text(encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"parameters file {path!r} is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise ParameterError(f"parameters file {path!r} must be a mapping of name: value, not {type(data).__name__}.")
    return {str(k): v for k, v in data.items()}


def collect_params(args: argparse.Namespace) -> dict[str, Any]:
    """Merge the YAML file, ``-p`` pairs and explicit options (later wins)."""
    params: dict[str, Any] = {}
    if args.parameters_file:
        params.update(_load_yaml(args.parameters_file))
    for name, value in args.parameter:
        params[name] = value
    for name in _OPTIONS:
        value = getattr(args, name, None)
        if value is not None:
            params[name] = value
    return params


def report_params(argv: Sequence[str]) -> dict[str, Any]:
    """The report parameters named by ``retainkit report`` options (YAML file < ``-p`` < options).

    Options that are not report parameters are ignored; used by
    ``retainkit-cron`` to read ``freq`` and ``tz`` from the same options.
    """
    args, _ = _parser().parse_known_args(["report", *argv])
    return collect_params(args)


def _err(msg: str) -> None:
    print(f"retainkit: error: {msg}", file=sys.stderr)


def _record_early_failure(args: argparse.Namespace, params: dict[str, Any], exc: BaseException, code: int) -> None:
    """A run that failed before run_report started still gets its run record (and a row on the index)."""
    try:
        freq, segment = str(params.get("freq") or "M").strip().upper(), str(params.get("segment") or "")
        schedule = str(params.get("schedule") or "") or (derived_name(freq, segment) if freq in FREQ_SCHEDULE else "")
        as_of = str(params.get("as_of") or "").strip()
        as_of = as_of if re.fullmatch(r"\d{4}-\d{2}-\d{2}", as_of) else ""
        out = Path(args.out).expanduser()
        out.mkdir(parents=True, exist_ok=True)
        owner = Owner.me()
        rec = start_record(out, owner, new_run_id(owner), schedule, as_of)
        finish_record(out, rec, code, str(exc))
        write_index(out)
    except (OSError, RetainkitError) as rec_exc:
        logging.getLogger(__name__).warning("could not record the failed run: %s", rec_exc)


def _on_sigterm(signum: int, frame: Any) -> None:
    raise RunTerminated()


def _report(args: argparse.Namespace) -> int:
    params = collect_params(args)
    try:
        if "data" not in params:
            raise ParameterError("parameter 'data': required. Pass --data PATH (CSV or Parquet) or --data sample.")
        p = validate_params(params)  # before any kernel starts
    except ParameterError as exc:
        _record_early_failure(args, params, exc, EXIT_PARAMETER)
        raise
    source = p.data
    if p.is_database:
        source = pg.redact(p.data) + (f" table {p.table}" if p.table else f" query {p.query_file}")
    print(
        f"retainkit: running the retention report on {source} (as_of {p.as_of or 'latest'}, freq {p.freq})",
        file=sys.stderr,
    )
    extra = {} if args.wait_previous is None else {"wait_previous": args.wait_previous}
    res = report.run_report(
        p,
        args.out,
        notebook=args.notebook,
        progress=not args.quiet,
        kernel_name=args.kernel,
        timeout=args.timeout,
        keep_notebook=args.keep_notebook,
        **extra,
        **({"hang_timeout": args.hang_timeout} if args.hang_timeout is not None else {}),
    )
    for warning in res.metrics.get("warnings", []):
        print(f"retainkit: warning: {warning}", file=sys.stderr)
    k = res.metrics.get("kpis", {})
    order = ("customers", "crr", "churn", "repeat_rate", "retention_1", "revenue_retention_1", "clv")
    keys = [x for x in order if x in k] + sorted(x for x in k if x not in order)
    figs = ", ".join(f"{k[x]['label']} {k[x]['display']}" for x in keys if k[x].get("display"))
    print(f"report: {res.html}")
    print(f"index:  {res.index}")
    if figs:
        print(f"        {figs}")
    return EXIT_OK


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``retainkit`` command; returns the exit code."""
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    ap = _parser()
    args = ap.parse_args(argv)
    if args.command is None:
        ap.print_help()
        return EXIT_PARAMETER
    try:
        if args.command == "report":
            previous = signal.signal(signal.SIGTERM, _on_sigterm)
            try:
                return _report(args)
            finally:
                signal.signal(signal.SIGTERM, previous)
        if args.command == "index":
            print(write_index(args.out, lang=args.lang))
            return EXIT_OK
        if args.command == "sample":
            shutil.copyfile(sample_path(), args.dest)
            print(args.dest)
            return EXIT_OK
        if args.command == "params":
            for p in SCHEMA:
                print(f"{p.name:<16} {p.type.__name__:<6} default {p.default!r:<30} {p.help}")
            return EXIT_OK
    except ReportExecutionError as exc:
        code = exit_code_for(exc)
        if code == EXIT_FAILED and exc.traceback:  # an unexpected error in a cell: show where
            plain = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in exc.traceback]
            print("\n".join(plain[-12:]), file=sys.stderr)
        _err(str(exc))
        return code
    except (RetainkitError, KeyboardInterrupt) as exc:
        code = exit_code_for(exc)
        if isinstance(exc, KeyboardInterrupt):
            _err("interrupted; nothing was published.")
        elif isinstance(exc, DataError):
            _err(f"{type(exc).__name__}: {exc}")
        else:
            _err(str(exc))
        return code
    except BaseException as exc:
        if isinstance(exc, RunTerminated):
            _err("stopped by SIGTERM; nothing was published.")
            return ExitCode.TERMINATED
        raise
    ap.print_help()  # pragma: no cover
    return EXIT_PARAMETER


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
