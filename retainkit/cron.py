"""``retainkit-cron``: the retention report as one crontab line.

::

    15 6 1 * * /opt/rk/bin/retainkit-cron --log-dir /var/log/rk --mail-to ops@example.com -- -f /etc/rk.yaml

What it adds around ``retainkit report`` (everything after ``--``):

* derives ``--as-of``: the last day of the latest complete period of the
  report's ``freq`` (from ``--freq``, ``-p freq`` or the ``-f`` YAML file;
  monthly by default) in the report's time zone, so the 1st of the month
  reports the month that just ended (``--as-of`` after ``--`` wins);
* creates the log folder and writes the report's whole output to
  ``<log-dir>/retainkit-<as_of>.log``;
* prints nothing when the report was published (so cron sends no mail), and on
  failure prints a short account (exit code, its meaning from the exit-code
  table, the error line, the log) and, with ``--mail-to``, mails it with the
  system's ``sendmail``;
* exits with the report's exit code.

It needs no shell features (no ``%``, no ``$(...)``, no ``cd``), so the line
above installs in any crontab as printed and runs under ``/bin/sh`` with cron's
minimal environment.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from collections.abc import Sequence
from datetime import date, datetime
from email.message import EmailMessage
from pathlib import Path

from .cli import report_params
from .exceptions import ParameterError
from .periods import check_freq, check_tz
from .report.runlog import EXIT_CODES, EXIT_PARAMETER, one_line, retry_helps, status_of
from .report.schedule import previous_period_end


def last_complete_period_end(today: date, freq: str) -> date:
    """The last day of the latest period that ended before ``today`` (definitions §2).

    ``M``: the last day of the previous month; ``W``: the Sunday before
    ``today`` (ISO weeks start on Monday); ``Q``, ``Y``: the previous quarter's
    or year's last day; ``D``: yesterday.
    """
    return previous_period_end(today, check_freq(freq))


def _default_log_dir() -> Path:
    base = os.environ.get("XDG_STATE_HOME") or os.path.join(os.path.expanduser("~"), ".local", "state")
    return Path(base) / "retainkit" / "logs"


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(
        prog="retainkit-cron",
        description="Run `retainkit report` for the period that just ended, log its output, report failures. "
        "Options of `retainkit report` follow `--`.",
        epilog="Exit code: the report's (0 published, 1 run failed, 2 parameters, 3 data, 4 history check).",
    )
    ap.add_argument(
        "--log-dir",
        default=None,
        help="folder for the run logs, created if missing "
        "(default $XDG_STATE_HOME/retainkit/logs or ~/.local/state/retainkit/logs)",
    )
    ap.add_argument(
        "--mail-to",
        action="append",
        default=[],
        metavar="ADDRESS",
        help="mail a failure to this address with sendmail (repeatable); without it the failure is "
        "printed on stdout, which cron mails to MAILTO",
    )
    ap.add_argument(
        "--today",
        default=None,
        metavar="YYYY-MM-DD",
        help="pretend today is this date (backfills, tests); default: today in the report's time zone",
    )
    ap.add_argument("--print-as-of", action="store_true", help="print the derived --as-of and exit")
    ap.add_argument("report_args", nargs=argparse.REMAINDER, help="-- then the options of `retainkit report`")
    return ap


def derive_as_of(report_args: Sequence[str], today: str | None = None) -> tuple[str, bool]:
    """(as_of, derived?): the ``--as-of`` given after ``--``, or the end of the last complete period."""
    params = report_params(report_args)
    if params.get("as_of"):
        return str(params["as_of"]), False
    freq = check_freq(str(params.get("freq") or "M"))
    if today:
        day = date.fromisoformat(today)
    else:
        from zoneinfo import ZoneInfo

        day = datetime.now(ZoneInfo(check_tz(str(params.get("tz") or "UTC")))).date()
    return last_complete_period_end(day, freq).isoformat(), True


def _error_line(log_text: str) -> str:
    lines = [ln for ln in log_text.splitlines() if ln.startswith("retainkit: error:")]
    return (
        one_line(lines[-1][len("retainkit: error:") :])
        if lines
        else one_line(log_text.strip().splitlines()[-1] if log_text.strip() else "")
    )


def failure_text(as_of: str, code: int, log: Path, error: str) -> str:
    """The account of a failed run printed (and mailed) by ``retainkit-cron``."""
    meaning = next((e.meaning for e in EXIT_CODES if e.code == code), "unexpected exit code")
    retry = "a retry may succeed" if retry_helps(code) else "retrying the same run will not help"
    return (
        f"retainkit-cron: the retention report for {as_of} failed with exit code {code} ({status_of(code)}).\n"
        f"error: {error or '(no error line; see the log)'}\n"
        f"meaning: {meaning}; {retry}.\n"
        f"log: {log}\n"
    )


def _sendmail() -> str | None:
    return shutil.which("sendmail") or next(
        (p for p in ("/usr/sbin/sendmail", "/usr/lib/sendmail") if os.access(p, os.X_OK)), None
    )


def send_mail(to: Sequence[str], subject: str, body: str) -> str:
    """Mail ``body`` with the system's sendmail; returns '' when handed over, else why not."""
    exe = _sendmail()
    if exe is None:
        return "no sendmail program found (install an MTA such as msmtp-mta or postfix)"
    msg = EmailMessage()
    msg["To"] = ", ".join(to)
    msg["Subject"] = subject
    msg.set_content(body)
    try:
        proc = subprocess.run([exe, "-t", "-oi"], input=msg.as_bytes(), capture_output=True, timeout=60)
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"{exe} failed: {exc}"
    if proc.returncode != 0:
        return f"{exe} exited with {proc.returncode}: {one_line(proc.stderr.decode(errors='replace'))}"
    return ""


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of ``retainkit-cron``; returns the report's exit code."""
    args = _parser().parse_args(argv)
    report_args = list(args.report_args)
    if report_args[:1] == ["--"]:
        report_args = report_args[1:]
    try:
        as_of, derived = derive_as_of(report_args, args.today)
    except (ParameterError, ValueError) as exc:
        print(f"retainkit-cron: error: {exc}", file=sys.stderr)
        return EXIT_PARAMETER
    if args.print_as_of:
        print(as_of)
        return 0
    log_dir = Path(args.log_dir).expanduser() if args.log_dir else _default_log_dir()
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"retainkit-{as_of}.log"
    cmd = [sys.executable, "-m", "retainkit.cli", "report", *report_args, "-q"]
    if derived:
        cmd += ["--as-of", as_of]
    with open(log, "a", encoding="utf-8") as fh:
        fh.write(f"==> {datetime.now().astimezone():%Y-%m-%d %H:%M:%S %z} retainkit report for {as_of}\n")
        fh.flush()
        code = subprocess.run(cmd, stdout=fh, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL).returncode
        fh.write(f"<== exit code {code}\n")
    if code == 0:
        return 0
    text = failure_text(as_of, code, log, _error_line(log.read_text(encoding="utf-8", errors="replace")))
    if args.mail_to:
        why = send_mail(args.mail_to, f"retention report {as_of} failed (exit {code}: {status_of(code)})", text)
        if why:
            text += f"(could not mail {', '.join(args.mail_to)}: {why})\n"
        else:
            return code
    sys.stdout.write(text)
    return code


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
