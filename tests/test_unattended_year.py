"""A year of scheduled monthly reports, with the failures an unattended year brings (issue 22, "Checked by").

One slow scenario on real report runs (the shipped notebook without its chart cells, to keep each run
short; the charts are tested in test_report.py): a growing monthly export, run month by month with
``retainkit-cron`` as a crontab would; a truncated export in September, a renamed column in October, October
(fixed) and November started together, and in December a second machine's lock, staging folder and
still-running run in the shared folder. Every bad month must fail loudly and appear on the index, every good
month must compare with the right predecessor, nothing may be lost.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import nbformat
import pandas as pd
import pytest

from retainkit.datasets import sample_path
from retainkit.report import locking as lk
from retainkit.report import runlog
from retainkit.report.run import NOTEBOOK

pytestmark = pytest.mark.slow

BIN = Path(sys.executable).parent
MONTHS = [str(d.date()) for d in pd.date_range("2024-01-31", "2024-12-31", freq="ME")]
PREVIOUS = {m: p for p, m in zip([""] + MONTHS, MONTHS)}


@pytest.fixture(scope="module")
def year(tmp_path_factory):
    root = tmp_path_factory.mktemp("year")
    nb = nbformat.read(str(NOTEBOOK), as_version=4)
    nb.cells = [c for c in nb.cells if c.get("id") not in ("heatmap", "curves", "crr", "revenue", "segments")]
    nbformat.write(nb, str(root / "short.ipynb"))
    (root / "monthly.yaml").write_text(
        "customer_id: customer_id\ntimestamp: timestamp\namount: amount\n"
        "order_id: order_id\nfreq: M\nprevious_report: auto\n",
        encoding="utf-8",
    )
    frame = pd.read_csv(sample_path())
    frame["_ts"] = pd.to_datetime(frame["timestamp"])
    return {"root": root, "out": root / "reports", "frame": frame, "results": {}}


def export(year, month: str, *, truncate: float | None = None, rename: dict | None = None) -> Path:
    """The month's export: every order up to the month's end, sorted by customer (as some shops export)."""
    end = pd.Timestamp(month) + pd.Timedelta(days=1)
    f = year["frame"]
    rows = f[f["_ts"] < end].drop(columns="_ts").sort_values(["customer_id", "timestamp"], kind="stable")
    if rename:
        rows = rows.rename(columns=rename)
    path = year["root"] / "exports" / month / "orders.csv"
    path.parent.mkdir(parents=True, exist_ok=True)
    rows.to_csv(path, index=False)
    if truncate is not None:  # a copy cut in the middle of a row
        data = path.read_bytes()
        cut = int(len(data) * truncate)
        while data[cut - 1 : cut] in (b"\n", b","):
            cut += 1
        path.write_bytes(data[:cut])
    return path


def cron_run(year, month: str, data: Path, *extra: str) -> subprocess.CompletedProcess:
    """What the documented crontab line runs on the 1st of the next month."""
    today = str((pd.Timestamp(month) + pd.Timedelta(days=1)).date())
    cmd = [
        str(BIN / "retainkit-cron"),
        "--log-dir",
        str(year["root"] / "logs"),
        "--today",
        today,
        "--",
        "-f",
        str(year["root"] / "monthly.yaml"),
        "--data",
        str(data),
        "--out",
        str(year["out"]),
        "--notebook",
        str(year["root"] / "short.ipynb"),
        *extra,
    ]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=900, stdin=subprocess.DEVNULL)


def report_cmd(year, month: str, data: Path, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "retainkit.cli",
        "report",
        "-f",
        str(year["root"] / "monthly.yaml"),
        "--data",
        str(data),
        "--as-of",
        month,
        "--out",
        str(year["out"]),
        "--notebook",
        str(year["root"] / "short.ipynb"),
        "-q",
        *extra,
    ]


def records(year, month: str | None = None) -> list[runlog.RunRecord]:
    return [r for r in runlog.read_records(year["out"]) if month is None or r.as_of == month]


def summary(year, month: str) -> dict:
    return json.loads((year["out"] / "monthly" / month / "report-summary.json").read_text(encoding="utf-8"))


def test_01_eight_good_months_each_compare_with_the_month_before(year):
    for month in MONTHS[:8]:
        proc = cron_run(year, month, export(year, month))
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert proc.stdout == ""  # nothing to mail
        (rec,) = records(year, month)
        assert (rec.status, rec.exit_code, rec.previous) == ("ok", 0, PREVIOUS[month])
        s = summary(year, month)
        assert s["history_check"]["status"] == ("ok" if PREVIOUS[month] else "not checked")
        assert s["history_check"]["previous"] == PREVIOUS[month]


def test_02_a_truncated_export_fails_the_history_check_and_is_on_the_index(year):
    aug = (year["out"] / "monthly" / "2024-08-31" / "retention-report.html").read_bytes()
    month = "2024-09-30"
    proc = cron_run(year, month, export(year, month, truncate=0.46))
    assert proc.returncode == runlog.EXIT_HISTORY, proc.stdout
    assert "failed with exit code 4 (history check failed)" in proc.stdout
    changed = (
        r"\d{4}-\d{2}: ([\d,]+ (customers|transactions|new customers)|revenue \S+) now, \S+ in the report of 2024-08-31"
    )
    assert re.search(changed, proc.stdout)
    assert not (year["out"] / "monthly" / month).exists()  # nothing published
    assert (year["out"] / "monthly" / "2024-08-31" / "retention-report.html").read_bytes() == aug
    (rec,) = records(year, month)
    assert (rec.status, rec.exit_code) == ("history check failed", 4) and "customers now" in rec.reason
    assert (year["out"] / rec.failed_html).is_file()
    index = (year["out"] / "index.html").read_text(encoding="utf-8")
    assert 'data-status="last run: history check failed"' in index and rec.failed_html in index
    log = (year["root"] / "logs" / f"retainkit-{month}.log").read_text()
    assert "Traceback" not in log and "retainkit: error: HistoryError: history check:" in log
    # the complete export publishes and compares with August
    proc = cron_run(year, month, export(year, month))
    assert proc.returncode == 0, proc.stdout
    assert records(year, month)[0].previous == "2024-08-31"


def test_03_a_renamed_column_fails_before_any_kernel_and_is_on_the_index(year):
    month = "2024-10-31"
    t0 = time.monotonic()
    proc = subprocess.run(
        report_cmd(year, month, export(year, month, rename={"customer_id": "customer"})),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == runlog.EXIT_PARAMETER
    assert "parameter 'customer_id': column 'customer_id' is not in orders.csv" in proc.stderr
    assert "Traceback" not in proc.stderr
    (rec,) = records(year, month)
    assert (rec.status, rec.schedule) == ("parameter error", "monthly")
    index = (year["out"] / "index.html").read_text(encoding="utf-8")
    assert 'data-status="last run: parameter error"' in index
    assert time.monotonic() - t0 < 120


def test_04_two_months_started_together_each_compare_with_their_predecessor(year):
    oct_, nov = "2024-10-31", "2024-11-30"
    # October's run is held 30 s in its last cell, so that November surely starts while October runs
    nb = nbformat.read(str(year["root"] / "short.ipynb"), as_version=4)
    nb.cells.insert(len(nb.cells) - 1, nbformat.v4.new_code_cell("import time\ntime.sleep(30)"))
    slow = year["root"] / "slow.ipynb"
    nbformat.write(nb, str(slow))
    first = subprocess.Popen(
        report_cmd(year, oct_, export(year, oct_))[:-3] + ["--notebook", str(slow), "-q"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not any(r.running for r in records(year, oct_)):
        time.sleep(0.2)
    second = subprocess.Popen(
        report_cmd(year, nov, export(year, nov), "--wait-previous", "600"),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    out1, err1 = first.communicate(timeout=900)
    out2, err2 = second.communicate(timeout=900)
    assert first.returncode == 0, err1
    assert second.returncode == 0, err2
    assert records(year, oct_)[0].previous == "2024-09-30"
    assert records(year, nov)[0].previous == oct_  # not September: it waited for October
    assert summary(year, nov)["history_check"]["previous"] == oct_
    assert "Waited for a still-running run of an earlier date of schedule monthly" in err2
    assert any("Waited" in n for n in records(year, nov)[0].notes)


def test_05_a_second_host_sharing_the_folder_is_left_alone(year):
    out, month = year["out"], "2024-12-31"
    other = replace(lk.Owner.me(), host="reports-2.example", boot_id="ffff", pid_ns="pid:[9]", pid=os.getpid())
    ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - lk.LOCK_MAX_AGE - 600))
    days_ago = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - lk.STAGING_MAX_AGE - 3600))
    (out / lk.LOCK_FILE).write_text(json.dumps(replace(other, started=ago).to_json()))  # an abandoned lock
    live = lk.create_staging(out, "20261201T000000Z-reports-2-77-beef", other)  # a live run on the other host
    (live / "retention-report.ipynb").write_text("{}")
    dead = lk.create_staging(out, "20261129T000000Z-reports-2-66-dead", replace(other, started=days_ago))
    runlog.start_record(out, other, "20261201T000001Z-reports-2-77-beef", "monthly", "2024-12-15")  # still running
    proc = subprocess.run(
        report_cmd(year, month, export(year, month), "--wait-previous", "3"),
        capture_output=True,
        text=True,
        timeout=900,
    )
    assert proc.returncode == 0, proc.stderr
    assert "stale publishing lock" in proc.stderr and "reports-2.example" in proc.stderr
    assert "2024-12-15 was still running after 3 s" in proc.stderr
    assert live.is_dir() and (live / "retention-report.ipynb").is_file()  # never touched
    assert not dead.exists()  # older than the stated age
    assert not (out / lk.LOCK_FILE).exists()
    rec = records(year, month)[0]
    assert rec.previous == "2024-11-30"
    html = (out / "monthly" / month / "retention-report.html").read_text(encoding="utf-8")
    assert (
        "The run for 2024-12-15 was still running after 3 s of waiting; compared with the report of 2024-11-30" in html
    )


def test_06_nothing_is_lost_and_the_index_tells_the_whole_year(year):
    out = year["out"]
    index = (out / "index.html").read_text(encoding="utf-8")
    for month in MONTHS:
        folder = out / "monthly" / month
        assert (folder / "retention-report.html").is_file() and (folder / "report-summary.json").is_file(), month
        assert not (folder / "retention-report.ipynb").exists()  # kept for failed runs only
        assert f'href="monthly/{month}/retention-report.html"' in index
        ok = [r for r in records(year, month) if r.status == "ok"]
        assert ok and all(r.previous == PREVIOUS[month] for r in ok), month
        html = (folder / "retention-report.html").read_text(encoding="utf-8")
        assert str(year["root"]) not in html and "/tmp/" not in html  # relative, movable
        metrics = [c["metric"] for c in summary(year, month)["changes"]]
        assert len(metrics) == len(set(metrics))
    runs = index[index.index('id="run-log"') :]
    statuses = re.findall(r'<tr data-status="([^"]+)">', runs)
    assert statuses.count("ok") == 12 and statuses.count("history check failed") == 1
    assert statuses.count("parameter error") == 1 and statuses.count("running") == 1  # the other host's run
    assert len(statuses) == len(runlog.read_records(out)) == 15
    # every failure left its readable page, linked from the index
    for rec in runlog.read_records(out):
        if rec.status == "history check failed":
            assert (out / rec.failed_html).is_file() and f'href="{rec.failed_html}"' in runs
    sizes = {
        p.name: sum(f.stat().st_size for f in p.rglob("*") if f.is_file()) for p in (out / "monthly", out / "runs")
    }
    print(f"\nsizes after a year: {sizes}")  # docs/scheduling.md "Disk" quotes the full report's figures
    assert sizes["runs"] < 5_000_000
