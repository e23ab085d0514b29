"""The ``retainkit`` command: parameter sources, exit codes, error messages."""

from __future__ import annotations

import subprocess
import sys

import pytest

from retainkit import cli
from retainkit import report as rr
from retainkit.exceptions import HistoryError, ReportExecutionError, ReportRunError
from retainkit.params import INTERNAL_PARAMS, PARAMETER_NAMES


@pytest.fixture
def no_kernel(monkeypatch):
    """Fail the test if a report would actually run."""
    calls = []

    def fake_run_report(params, out_dir="reports", **kw):
        calls.append((params, out_dir, kw))
        raise AssertionError("run_report reached")

    monkeypatch.setattr(rr, "run_report", fake_run_report)
    return calls


def parse(*argv):
    return cli._parser().parse_args(["report", *argv])


def test_yaml_then_p_then_options(tmp_path):
    y = tmp_path / "params.yaml"
    y.write_text("data: sample\nfreq: Q\nmargin: 0.4\ntitle: From YAML\n", encoding="utf-8")
    args = parse("-f", str(y), "-p", "freq", "W", "-p", "title", "From -p", "--title", "From option")
    got = cli.collect_params(args)
    assert got == {"data": "sample", "freq": "W", "margin": 0.4, "title": "From option"}


def test_bool_parameters_are_flags():
    assert cli.collect_params(parse("--data", "sample", "--drop-duplicates", "--no-customer-list")) == {
        "data": "sample",
        "drop_duplicates": True,
        "customer_list": False,
    }
    assert cli.collect_params(parse("--data", "sample")) == {"data": "sample"}


def test_every_parameter_has_an_option():
    opts = {a.dest for a in cli._parser()._subparsers._group_actions[0].choices["report"]._actions}
    assert set(PARAMETER_NAMES) - set(INTERNAL_PARAMS) <= opts


@pytest.mark.parametrize(
    "argv, fragment",
    [
        (["--data", "sample", "--freq", "fortnight"], "parameter 'freq'"),
        (["--data", "/no/such/file.csv"], "parameter 'data'"),
        (["--data", "sample", "--segment", "chanel"], "Did you mean 'channel'"),
        (["--data", "sample", "-p", "max_cohorts", "lots"], "parameter 'max_cohorts'"),
        (["--data", "sample", "-p", "frq", "M"], "Did you mean 'freq'"),
        (["--freq", "M"], "parameter 'data': required"),
    ],
)
def test_bad_parameters_exit_2_before_any_kernel(argv, fragment, no_kernel, capsys, tmp_path):
    code = cli.main(["report", *argv, "--out", str(tmp_path)])  # its run record goes there, not into ./reports
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err and err.startswith("retainkit: error: parameter")
    assert no_kernel == []


def test_bad_yaml_file_exits_2(tmp_path, no_kernel, capsys):
    y = tmp_path / "p.yaml"
    y.write_text("- not\n- a mapping\n")
    assert cli.main(["report", "-f", str(y), "--out", str(tmp_path)]) == 2
    assert "mapping" in capsys.readouterr().err
    assert cli.main(["report", "-f", str(tmp_path / "missing.yaml"), "--out", str(tmp_path)]) == 2


def test_parameters_reach_run_report(monkeypatch, capsys, tmp_path):
    seen = {}

    def fake(params, out_dir="reports", **kw):
        seen.update(params=params, out=out_dir, **kw)
        return rr.ReportResult(
            tmp_path / "r.html",
            tmp_path / "r.ipynb",
            {"kpis": {"crr": {"label": "CRR 2024-12", "display": "84.1%"}}},
            tmp_path,
            tmp_path / "index.html",
        )

    monkeypatch.setattr(rr, "run_report", fake)
    code = cli.main(
        [
            "report",
            "--data",
            "sample",
            "--as-of",
            "2024-12-31",
            "--freq",
            "m",
            "-p",
            "margin",
            "0.25",
            "--out",
            str(tmp_path),
            "-q",
        ]
    )
    assert code == 0
    p = seen["params"]
    assert (p.freq, p.as_of, p.margin) == ("M", "2024-12-31", 0.25)
    assert seen["out"] == str(tmp_path) and seen["progress"] is False
    assert "CRR 2024-12 84.1%" in capsys.readouterr().out


def test_failed_run_exit_codes(monkeypatch, capsys, tmp_path):
    def failing(ename):
        def fake(*a, **k):
            raise ReportExecutionError(
                f"{ename}: something is wrong\n(the report failed in cell 2 (setup))",
                ename=ename,
                evalue="something is wrong",
                traceback=["\x1b[31mTraceback line\x1b[0m", f"{ename}: something is wrong"],
            )

        return fake

    for ename, code in (("DataError", 3), ("RuntimeError", 1), ("ParameterError", 2), ("HistoryError", 4)):
        monkeypatch.setattr(rr, "run_report", failing(ename))
        assert cli.main(["report", "--data", "sample", "--out", str(tmp_path)]) == code
        err = capsys.readouterr().err
        assert f"retainkit: error: {ename}: something is wrong" in err
        assert "\x1b[" not in err
        assert ("Traceback line" in err) == (code == 1)  # a traceback only for an unexpected error in a cell


def test_expected_failures_print_one_line_and_their_code(monkeypatch, capsys, tmp_path):
    for exc, code in (
        (
            ReportRunError(
                "the report run failed: a cell ran longer than the timeout (5 s) in cell 3 (heatmap).",
                status="timed out",
            ),
            1,
        ),
        (HistoryError("history check: 3 figure(s) ..."), 4),
        (KeyboardInterrupt(), 130),
        (rr.RunTerminated(), 143),
    ):

        def fake(*a, _exc=exc, **k):
            raise _exc

        monkeypatch.setattr(rr, "run_report", fake)
        assert cli.main(["report", "--data", "sample", "--out", str(tmp_path)]) == code
        err = capsys.readouterr().err
        assert "Traceback" not in err and err.count("retainkit: error:") == 1


def test_parameter_errors_are_recorded_on_the_index(tmp_path, no_kernel, capsys):
    assert cli.main(["report", "--data", "sample", "--freq", "fortnight", "--out", str(tmp_path)]) == 2
    assert (
        cli.main(["report", "--data", "sample", "--segment", "chanel", "--as-of", "2024-12-31", "--out", str(tmp_path)])
        == 2
    )
    records = rr.read_records(tmp_path)
    assert [(r.status, r.exit_code, r.schedule, r.as_of) for r in records] == [
        ("parameter error", 2, "monthly-by-chanel", "2024-12-31"),
        ("parameter error", 2, "", ""),
    ]
    assert "Did you mean 'channel'" in records[0].reason
    index = (tmp_path / "index.html").read_text()
    assert index.count('<tr data-status="parameter error">') == 2


def test_unknown_kernel_is_a_parameter_error_before_anything_runs(tmp_path, capsys):
    code = cli.main(
        [
            "report",
            "--data",
            "sample",
            "--as-of",
            "2024-12-31",
            "--kernel",
            "no-such-kernel",
            "--out",
            str(tmp_path),
            "-q",
        ]
    )
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "parameter 'kernel': no Jupyter kernel named 'no-such-kernel'" in err and "python3" in err
    (rec,) = rr.read_records(tmp_path)
    assert (rec.status, rec.exit_code, rec.schedule) == ("parameter error", 2, "monthly")
    assert not list(tmp_path.glob("monthly/*"))


def test_accept_history_change_is_a_flag_and_keep_notebook_is_tristate():
    args = parse("--data", "sample", "--accept-history-change", "--no-keep-notebook")
    assert cli.collect_params(args)["accept_history_change"] is True and args.keep_notebook is False
    args = parse("--data", "sample")
    assert "accept_history_change" not in cli.collect_params(args) and args.keep_notebook is None
    assert cli.report_params(["-p", "freq", "Q", "--out", "x", "--keep-notebook"]) == {"freq": "Q"}


def test_sample_and_params_commands(tmp_path, capsys):
    dest = tmp_path / "s.csv"
    assert cli.main(["sample", str(dest)]) == 0
    assert dest.read_text().startswith("order_id,customer_id,timestamp")
    assert cli.main(["params"]) == 0
    assert "window" in capsys.readouterr().out
    assert cli.main([]) == 2


def test_index_command(tmp_path, capsys):
    assert cli.main(["index", "--out", str(tmp_path)]) == 0
    assert (tmp_path / "index.html").is_file()


@pytest.mark.slow
def test_bad_data_surfaces_as_data_error_in_the_terminal(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("customer_id,timestamp,amount\n1,not a date,3\n2,nor this,4\n", encoding="utf-8")
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "retainkit.cli",
            "report",
            "--data",
            str(bad),
            "--as-of",
            "2024-01-31",
            "--out",
            str(tmp_path / "reports"),
            "-q",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert proc.returncode == 3
    assert "retainkit: error: DataError: column 'timestamp'" in proc.stderr
    assert "could not be parsed" in proc.stderr or "none of 2 values" in proc.stderr
    (rec,) = rr.read_records(tmp_path / "reports")
    assert (rec.status, rec.exit_code, rec.schedule, rec.as_of) == ("data error", 3, "monthly", "2024-01-31")
    failed = tmp_path / "reports" / "runs" / rec.run
    assert (failed / rr.FAILED_NOTEBOOK).is_file() and (failed / rr.FAILED_HTML).is_file()
    assert rec.failed_html == f"runs/{rec.run}/{rr.FAILED_HTML}"
    assert not (tmp_path / "reports" / "monthly" / "2024-01-31").exists()
    assert str(failed / rr.FAILED_HTML) in proc.stderr
    assert "Traceback" not in proc.stderr
    index = (tmp_path / "reports" / "index.html").read_text()
    assert 'data-status="last run: data error"' in index and f'href="runs/{rec.run}/{rr.FAILED_HTML}"' in index
    # the terminal shows the error, not the kernel's start-up chatter
    assert "Kernel is running over TCP" not in proc.stderr


def test_only_ipython_kernels_get_the_quiet_argument(tmp_path):
    assert rr.run._quiet_kernel_args("python3", tmp_path / "x.ipynb") == ["--IPKernelApp.log_level=ERROR"]
    assert rr.run._quiet_kernel_args("no-such-kernel", tmp_path / "x.ipynb") == []


def test_report_result_summary_is_a_frame_and_the_dict_is_metrics(tmp_path):
    metrics = {"kpis": {"crr": {"label": "CRR 2024-12", "display": "84.1%", "value": 0.841}}, "warnings": ["w"]}
    res = rr.ReportResult(tmp_path / "r.html", None, metrics, tmp_path, tmp_path / "index.html")
    assert res.summary.to_dict("records") == [
        {"metric": "crr", "label": "CRR 2024-12", "display": "84.1%", "value": 0.841}
    ]
    with pytest.warns(
        DeprecationWarning, match=r"ReportResult.summary\['warnings'\].*ReportResult.metrics\['warnings'\]"
    ):
        assert res.summary.get("warnings") == ["w"]


def test_a_schedule_whose_runs_never_got_a_date_shows_a_note_not_an_empty_table(tmp_path, no_kernel, capsys):
    assert cli.main(["report", "--freq", "Q", "--out", str(tmp_path)]) == 2  # no --data: fails before any as_of
    index = (tmp_path / "index.html").read_text(encoding="utf-8")
    assert 'id="schedule-quarterly"' in index and '<table class="rk-table" data-schedule="quarterly">' not in index
    assert '<p class="rk-note" data-schedule="quarterly">No run of this schedule got as far as a report date' in index
    assert "parameter &#39;data&#39;: required" in index  # the run log says why
