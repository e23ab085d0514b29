"""Airflow 3 DAG: the monthly retention report, one month at a time, retried only when a retry can help.

Copy this file into your DAGs folder and set the three paths below. The report
runs in its own virtual environment (``pip install retainkit`` there); the
Airflow worker only starts it, so Airflow and retainkit never share packages.

* ``max_active_runs=1`` with ``catchup=True``: after a pause the missed months
  run one after the other, in order, so each compares with the month before it
  (``--previous auto``; retainkit also waits for a still-running earlier month).
* Retries only for exit code 1 (the run failed on its own: a crash, a timeout,
  a busy lock). Exit codes 2 (parameters), 3 (data) and 4 (history check) fail
  the task at once: retrying the same command cannot fix them.
* The exit codes are retainkit's exit-code table (docs/scheduling.md).
"""

from __future__ import annotations

import subprocess
from datetime import UTC, datetime, timedelta, timezone

from airflow.sdk import DAG, task

try:  # Airflow >= 3.1
    from airflow.sdk.exceptions import AirflowFailException
except ImportError:  # Airflow 3.0
    from airflow.exceptions import AirflowFailException

RETAINKIT = "/opt/retention/.venv/bin/retainkit"  # the retainkit command of the report's virtual environment
PARAMETERS = "/opt/retention/monthly.yaml"  # the report parameters (data, columns, freq: M, ...)
REPORTS = "/srv/www/reports"  # the reports folder (index.html, one folder per schedule)

#: exit codes of `retainkit report` for which a retry can succeed (1: the run failed on its own)
RETRY_EXIT_CODES = frozenset({1})
#: exit codes that name a problem a person must fix (2 parameters, 3 data, 4 history check)
NO_RETRY_EXIT_CODES = frozenset({2, 3, 4})


def as_of_for(data_interval_end: datetime) -> str:
    """The report date of a run: the last day of the month before the run's date (the month that just ended)."""
    first = data_interval_end.date().replace(day=1)
    return (first - timedelta(days=1)).isoformat()


def run_report(as_of: str) -> str:
    """Run `retainkit report` for ``as_of``; raise so that Airflow retries exit 1 only."""
    cmd = [RETAINKIT, "report", "-f", PARAMETERS, "--as-of", as_of, "--previous", "auto", "--out", REPORTS, "-q"]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    print(proc.stdout + proc.stderr)  # the task log
    if proc.returncode == 0:
        return as_of
    message = f"retainkit report --as-of {as_of} exited with {proc.returncode}: {proc.stderr.strip()[-500:]}"
    if proc.returncode in RETRY_EXIT_CODES:
        raise RuntimeError(message)  # retried (retries below)
    raise AirflowFailException(message)  # 2, 3, 4 and anything unexpected: fail now, no retry


with DAG(
    dag_id="retention_report",
    schedule="15 6 1 * *",  # 06:15 UTC on the 1st: the report of the month that just ended
    start_date=datetime(2024, 1, 1, tzinfo=UTC),
    catchup=True,
    max_active_runs=1,
    default_args={"retries": 2, "retry_delay": timedelta(minutes=10)},
    tags=["retainkit"],
) as dag:

    @task(execution_timeout=timedelta(hours=1))
    def retention_report(data_interval_end: datetime | None = None) -> str:
        """The month's report; ``data_interval_end`` is the run's date (the 1st of the next month)."""
        if data_interval_end is None:  # pragma: no cover - Airflow always passes it
            raise AirflowFailException("no data_interval_end in the task context")
        return run_report(as_of_for(data_interval_end))

    retention_report()
