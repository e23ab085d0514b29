"""Command line: ``retainkit report | index | sample | params``.

``retainkit report --data PATH --as-of DATE --freq M --out reports/`` runs the
retention report (see :func:`retainkit.report.run_report`). Parameters can
also come from a YAML file (``-f params.yaml``) and ``-p name value`` pairs, as
with papermill; precedence: YAML file < ``-p`` < explicit options.

Exit codes: 0 success; 1 the report notebook failed; 2 a parameter is wrong
(checked before any kernel starts); 3 the data cannot be analysed (DataError).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import sys
from pathlib import Path
from typing import Any, Sequence

from . import report
from .datasets import sample_path
from .exceptions import DataError, ParameterError, ReportError
from .i18n import LANGUAGES
from .params import SCHEMA, validate_params

EXIT_OK, EXIT_FAILED, EXIT_PARAMETER, EXIT_DATA = 0, 1, 2, 3

#: explicit options of ``retainkit report`` -> parameter name
_OPTIONS = {p.name: "--" + p.name.replace("_", "-") for p in SCHEMA if p.name != "summary_path"}
_SHORT_HELP = {"data": "transaction log (CSV/Parquet) or 'sample'",
               "as_of": "report date: YYYY-MM-DD (the end of that day) or an ISO date-time YYYY-MM-DDTHH:MM"}


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="retainkit", description="Customer-retention analysis and recurring offline HTML reports.")
    sub = ap.add_subparsers(dest="command", metavar="COMMAND")
    rp = sub.add_parser("report", help="run the retention report notebook and publish offline HTML",
                        description="Run the retention report and publish <out>/<as_of>/retention-report.html "
                                    "(plus the executed notebook) and <out>/index.html. Parameters are validated "
                                    "before any kernel starts.")
    for p in SCHEMA:
        if p.name == "summary_path":
            continue
        kw: dict[str, Any] = {"dest": p.name, "default": None, "metavar": p.name.upper(),
                              "help": _SHORT_HELP.get(p.name, p.help).replace("%", "%%") + f" (default {p.default!r})"}
        if p.choices:
            kw["metavar"] = "{" + ",".join(p.choices) + "}"
        if p.type is bool:  # a flag: present = True (absent leaves the YAML / -p value or the default)
            kw.update(action="store_const", const=True)
            kw.pop("metavar")
        rp.add_argument(_OPTIONS[p.name], **kw)
    rp.add_argument("-p", "--parameter", nargs=2, action="append", metavar=("NAME", "VALUE"), default=[],
                    help="set a parameter by name (repeatable), as in papermill")
    rp.add_argument("-f", "--parameters-file", metavar="YAML", help="YAML file of parameters (name: value)")
    rp.add_argument("--out", default="reports", help="reports folder (default: reports)")
    rp.add_argument("--notebook", default=None, help="report notebook to run (default: the one shipped with retainkit)")
    rp.add_argument("--kernel", default=None, help="Jupyter kernel name (default: the notebook's)")
    rp.add_argument("--timeout", type=int, default=1800, help="seconds a cell may run (default 1800)")
    rp.add_argument("--hang-timeout", type=float, default=None, metavar="SECONDS",
                    help="seconds a kernel may stop answering before it is killed and the run retried once "
                         "(default 30; a long computation keeps answering)")
    rp.add_argument("-q", "--quiet", action="store_true", help="no progress bar")

    ip = sub.add_parser("index", help="rewrite <out>/index.html from the published reports")
    ip.add_argument("--out", default="reports")
    ip.add_argument("--lang", default=None, choices=LANGUAGES,
                    help="language of the index page (default: that of the newest report)")

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


def _err(msg: str) -> None:
    print(f"retainkit: error: {msg}", file=sys.stderr)


def _report(args: argparse.Namespace) -> int:
    params = collect_params(args)
    if "data" not in params:
        raise ParameterError("parameter 'data': required. Pass --data PATH (CSV or Parquet) or --data sample.")
    p = validate_params(params)  # before any kernel starts
    print(f"retainkit: running the retention report on {p.data} (as_of {p.as_of or 'latest'}, freq {p.freq})",
          file=sys.stderr)
    res = report.run_report(p, args.out, notebook=args.notebook, progress=not args.quiet, kernel_name=args.kernel,
                            timeout=args.timeout,
                            **({"hang_timeout": args.hang_timeout} if args.hang_timeout is not None else {}))
    for warning in res.summary.get("warnings", []):
        print(f"retainkit: warning: {warning}", file=sys.stderr)
    k = res.summary.get("kpis", {})
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
            return _report(args)
        if args.command == "index":
            print(report.write_index(args.out, lang=args.lang))
            return EXIT_OK
        if args.command == "sample":
            shutil.copyfile(sample_path(), args.dest)
            print(args.dest)
            return EXIT_OK
        if args.command == "params":
            for p in SCHEMA:
                print(f"{p.name:<16} {p.type.__name__:<6} default {p.default!r:<30} {p.help}")
            return EXIT_OK
    except ParameterError as exc:
        _err(str(exc))
        return EXIT_PARAMETER
    except DataError as exc:
        _err(f"DataError: {exc}")
        return EXIT_DATA
    except ReportError as exc:
        ename = getattr(exc, "ename", "")
        tb = getattr(exc, "traceback", None) or []
        if tb and ename not in ("DataError", "ParameterError"):
            import re

            plain = [re.sub(r"\x1b\[[0-9;]*m", "", line) for line in tb]
            print("\n".join(plain[-12:]), file=sys.stderr)
        _err(str(exc))
        if ename == "DataError":
            return EXIT_DATA
        if ename == "ParameterError":
            return EXIT_PARAMETER
        return EXIT_FAILED
    except KeyboardInterrupt:
        _err("interrupted; nothing was published.")
        return 130
    ap.print_help()  # pragma: no cover
    return EXIT_PARAMETER


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
