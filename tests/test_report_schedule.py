"""One folder per schedule, run records, the previous report of a run, and the index built from them."""

from __future__ import annotations

import json
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from retainkit.exceptions import ParameterError
from retainkit.report import index as ix
from retainkit.report import locking as lk
from retainkit.report import runlog as rl
from retainkit.report import schedule as sc


# ----------------------------------------------------------------------------- naming and the guard
def test_schedule_names_are_derived_from_freq_and_segment():
    assert sc.Schedule.of(schedule="", freq="M", segment="", data="sample", tz="UTC").name == "monthly"
    s = sc.Schedule.of(schedule="", freq="Q", segment="Sales Channel", data="/x/orders.csv", tz="UTC")
    assert (s.name, s.source, s.explicit) == ("quarterly-by-sales-channel", "orders.csv", False)
    assert sc.Schedule.of(schedule="eu-shop", freq="W", segment="", data="a.csv", tz="UTC").explicit
    assert sc.derived_name("D", "<b>") == "daily-by-b"
    for bad in ("", "../x", "runs", ".hidden", "a/b", "2024-12-31", "x" * 65):
        with pytest.raises(ParameterError, match="parameter 'schedule'"):
            sc.check_schedule_name(bad)


def test_a_schedule_folder_refuses_reports_of_another_freq_or_source(tmp_path):
    monthly = sc.Schedule.of(schedule="", freq="M", segment="", data="/data/eu.csv", tz="UTC")
    sc.write_schedule(tmp_path, monthly)
    sc.check_schedule(tmp_path, monthly)  # same parameters: fine
    us = replace(monthly, source="us.csv")
    with pytest.raises(ParameterError, match=r"source 'eu.csv' there, 'us.csv' in this run.*--schedule monthly-us"):
        sc.check_schedule(tmp_path, us)
    # an explicit name continues the schedule with the new source, but never with another freq
    sc.check_schedule(tmp_path, replace(us, explicit=True))
    with pytest.raises(ParameterError, match="freq 'M' there, 'Q' in this run"):
        sc.check_schedule(tmp_path, replace(monthly, freq="Q", explicit=True))


# ----------------------------------------------------------------------------- records
def _publish(out: Path, schedule: str, label: str, **summary) -> Path:
    d = out / schedule / label
    d.mkdir(parents=True)
    (d / "report-summary.json").write_text(json.dumps({"as_of_label": label, "title": "T", **summary}))
    (d / sc.REPORT_HTML).write_text("<html></html>")
    return d


def _record(
    out: Path,
    schedule: str,
    as_of: str,
    status: str = "running",
    owner: lk.Owner | None = None,
    code: int | None = None,
    started: str | None = None,
    **kw,
) -> rl.RunRecord:
    owner = owner or lk.Owner.me()
    owner = replace(owner, started=started or owner.started)
    run = rl.new_run_id(owner) + f"-{as_of}"
    rec = rl.RunRecord(
        run=run, schedule=schedule, as_of=as_of, status=status, owner=owner, started=owner.started, exit_code=code, **kw
    )
    rl.write_record(out, rec)
    return rec


def test_records_round_trip_and_a_dead_running_run_reads_killed(tmp_path):
    me = lk.Owner.me()
    rec = rl.start_record(tmp_path, me, rl.new_run_id(me), "monthly", "2024-03-31")
    assert rl.read_record(tmp_path, rec.run) == rec and rec.effective_status() == "running"
    done = rl.finish_record(tmp_path, rec, 4, "history check: 12 figure(s)...\nsecond line")
    assert (done.status, done.exit_code, done.reason) == ("history check failed", 4, "history check: 12 figure(s)...")
    assert rl.read_records(tmp_path)[0] == done
    dead = replace(me, pid=2**22 + 17, proc_start="1")
    ghost = _record(tmp_path, "monthly", "2024-04-30", owner=dead)
    assert ghost.effective_status() == "killed" and "no longer running" in ghost.effective_reason()
    (tmp_path / "runs" / "garbage.json").write_text("{not json")
    assert len(rl.read_records(tmp_path)) == 2


def test_exit_code_table_is_consistent():
    codes = [e.code for e in rl.EXIT_CODES]
    assert codes == sorted(set(codes)) and codes[:5] == [0, 1, 2, 3, 4]
    assert {e.code for e in rl.EXIT_CODES if e.retry} == {rl.EXIT_FAILED}
    assert [int(c) for c in rl.ExitCode] == codes
    assert rl.status_of(4) == "history check failed" and rl.status_of(99) == "failed"


# ----------------------------------------------------------------------------- previous report
def test_previous_is_the_latest_earlier_report_of_the_same_schedule(tmp_path):
    for label in ("2024-01-31", "2024-02-29", "2024-04-30"):
        _publish(tmp_path, "monthly", label)
    _publish(tmp_path, "quarterly", "2024-03-31")
    got = sc.choose_previous(tmp_path, "monthly", "2024-04-30", wait=0)
    assert (Path(got.path).name, got.label, got.notes) == ("2024-02-29", "2024-02-29", ())
    assert sc.choose_previous(tmp_path, "monthly", "2024-01-31", wait=0).path == ""
    assert sc.choose_previous(tmp_path, "quarterly", "2024-06-30", wait=0).label == "2024-03-31"


def test_previous_waits_for_a_running_predecessor(tmp_path):
    _publish(tmp_path, "monthly", "2024-02-29")
    running = _record(tmp_path, "monthly", "2024-03-31")

    def finish():
        _publish(tmp_path, "monthly", "2024-03-31")
        rl.finish_record(tmp_path, running, 0, status="ok")

    threading.Timer(0.5, finish).start()
    got = sc.choose_previous(tmp_path, "monthly", "2024-04-30", wait=30, poll=0.1)
    assert got.label == "2024-03-31" and got.waited and got.notes == ()


def test_previous_gives_up_waiting_and_says_so(tmp_path):
    _publish(tmp_path, "monthly", "2024-02-29")
    _record(tmp_path, "monthly", "2024-03-31")  # runs for ever (owned by this live process)
    t0 = time.monotonic()
    got = sc.choose_previous(tmp_path, "monthly", "2024-04-30", wait=0.5, poll=0.1)
    assert time.monotonic() - t0 < 10
    assert got.label == "2024-02-29"
    assert "2024-03-31 was still running after 0 s" in got.notes[0] or "still running" in got.notes[0]


def test_previous_names_a_failed_predecessor_and_ignores_a_dead_one(tmp_path):
    _publish(tmp_path, "monthly", "2024-02-29")
    _record(tmp_path, "monthly", "2024-03-31", status="data error", code=3)
    _record(tmp_path, "monthly", "2024-03-15", owner=replace(lk.Owner.me(), pid=2**22 + 19, proc_start="1"))
    got = sc.choose_previous(tmp_path, "monthly", "2024-04-30", wait=5, poll=0.1)
    assert got.label == "2024-02-29" and not got.waited
    assert "2024-03-31 (data error)" in got.notes[0] and "2024-03-15 (killed)" in got.notes[0]


# ----------------------------------------------------------------------------- index
def test_index_lists_every_schedule_and_every_attempt(tmp_path):
    _publish(
        tmp_path,
        "monthly",
        "2024-01-31",
        kpis={"crr": {"display": "81.0%", "period": "2024-01"}},
        changes=[{"significant": True}, {"significant": False}],
    )
    _publish(tmp_path, "monthly", "2024-02-29", warnings=["3.2 % of rows dropped"])
    _publish(
        tmp_path, "monthly", "2024-03-31", history_check={"status": "accepted", "summary": "History changed, accepted"}
    )
    _publish(tmp_path, "quarterly-by-channel", "2024-03-31", title="<script>alert(1)</script>")
    _record(tmp_path, "monthly", "2024-03-31", status="ok", code=0, report="monthly/2024-03-31/retention-report.html")
    _record(
        tmp_path,
        "monthly",
        "2024-02-29",
        status="data error",
        code=3,
        reason="DataError: column 'x'",
        failed_html="runs/r1/retention-report.FAILED.html",
    )
    _record(tmp_path, "monthly", "2024-04-30", status="history check failed", code=4, reason="history check: ...")
    _record(tmp_path, "", "", status="parameter error", code=2, reason="parameter 'freq': 'fortnight'")
    _record(tmp_path, "monthly", "2024-05-31", owner=replace(lk.Owner.me(), pid=2**22 + 21, proc_start="1"))
    (tmp_path / ".staging").mkdir()
    (tmp_path / "runs" / "r1").mkdir()
    (tmp_path / "runs" / "r1" / "retention-report.FAILED.html").write_text("failed")
    html = ix.write_index(tmp_path).read_text(encoding="utf-8")
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;" in html
    assert 'id="schedule-monthly"' in html and 'id="schedule-quarterly-by-channel"' in html
    assert 'href="monthly/2024-01-31/retention-report.html"' in html
    assert 'href="runs/r1/retention-report.FAILED.html"' in html  # the failed attempt after the good report
    for status in (
        "warning",
        "history change accepted",
        "last run: data error",
        "last run: history check failed",
        "last run: killed",
    ):
        assert f'data-status="{status}"' in html, status
    runs = html[html.index('id="run-log"') :]
    for status in ("ok", "data error", "history check failed", "parameter error", "killed"):
        assert f'<tr data-status="{status}">' in runs, status
    assert ".staging" not in html and "/tmp" not in html and str(tmp_path) not in html
    assert ix.write_index(tmp_path).read_text(encoding="utf-8") == html  # deterministic
    rows = ix.index_rows(tmp_path)
    monthly = next(s for s in rows["schedules"] if s["name"] == "monthly")
    assert [r["label"] for r in monthly["rows"]] == [
        "2024-05-31",
        "2024-04-30",
        "2024-03-31",
        "2024-02-29",
        "2024-01-31",
    ]
    assert monthly["rows"][-1]["changes"] == "1"  # formatted in the index language
    # a deleted failed run's folder: no dead link
    (tmp_path / "runs" / "r1" / "retention-report.FAILED.html").unlink()
    assert 'href="runs/r1/' not in ix.write_index(tmp_path).read_text(encoding="utf-8")


def test_a_missing_predecessor_is_named_when_an_older_report_is_compared(tmp_path):
    _publish(tmp_path, "monthly", "2024-09-30")
    got = sc.choose_previous(tmp_path, "monthly", "2024-11-30", wait=0, freq="M")
    assert got.label == "2024-09-30"
    assert got.notes == ("No report or run for 2024-10-31 yet; compared with the report of 2024-09-30.",)
    assert sc.choose_previous(tmp_path, "monthly", "2024-10-31", wait=0, freq="M").notes == ()
    assert sc.choose_previous(tmp_path, "monthly", "2024-11-15", wait=0, freq="M").notes == ()  # not a month end
    assert sc.choose_previous(tmp_path, "monthly", "2024-09-30", wait=0, freq="M").notes == ()  # the first report
