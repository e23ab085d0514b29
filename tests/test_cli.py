"""The ``retainkit`` command: parameter sources, exit codes, error messages."""

from __future__ import annotations

import subprocess
import sys

import pytest

from retainkit import cli
from retainkit import report as rr
from retainkit.params import PARAMETER_NAMES


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


def test_every_parameter_has_an_option():
    opts = {a.dest for a in cli._parser()._subparsers._group_actions[0].choices["report"]._actions}
    assert set(PARAMETER_NAMES) - {"summary_path"} <= opts


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
def test_bad_parameters_exit_2_before_any_kernel(argv, fragment, no_kernel, capsys):
    code = cli.main(["report", *argv])
    err = capsys.readouterr().err
    assert code == 2
    assert fragment in err and err.startswith("retainkit: error: parameter")
    assert no_kernel == []


def test_bad_yaml_file_exits_2(tmp_path, no_kernel, capsys):
    y = tmp_path / "p.yaml"
    y.write_text("- not\n- a mapping\n")
    assert cli.main(["report", "-f", str(y)]) == 2
    assert "mapping" in capsys.readouterr().err
    assert cli.main(["report", "-f", str(tmp_path / "missing.yaml")]) == 2


def test_parameters_reach_run_report(monkeypatch, capsys, tmp_path):
    seen = {}

    def fake(params, out_dir="reports", **kw):
        seen.update(params=params, out=out_dir, **kw)
        return rr.ReportResult(tmp_path / "r.html", tmp_path / "r.ipynb",
                               {"kpis": {"crr": {"label": "CRR 2024-12", "display": "84.1%"}}}, tmp_path, tmp_path / "index.html")

    monkeypatch.setattr(rr, "run_report", fake)
    code = cli.main(["report", "--data", "sample", "--as-of", "2024-12-31", "--freq", "m", "-p", "margin", "0.25",
                     "--out", str(tmp_path), "-q"])
    assert code == 0
    p = seen["params"]
    assert (p.freq, p.as_of, p.margin) == ("M", "2024-12-31", 0.25)
    assert seen["out"] == str(tmp_path) and seen["progress"] is False
    assert "CRR 2024-12 84.1%" in capsys.readouterr().out


def test_failed_run_exit_codes(monkeypatch, capsys):
    def failing(ename):
        def fake(*a, **k):
            err = rr.ReportError(f"{ename}: something is wrong\n(the report failed in cell 2 (setup))")
            err.ename, err.traceback = ename, ["\x1b[31mTraceback line\x1b[0m", f"{ename}: something is wrong"]
            raise err
        return fake

    for ename, code in (("DataError", 3), ("RuntimeError", 1), ("ParameterError", 2)):
        monkeypatch.setattr(rr, "run_report", failing(ename))
        assert cli.main(["report", "--data", "sample"]) == code
        err = capsys.readouterr().err
        assert f"retainkit: error: {ename}: something is wrong" in err
        assert "\x1b[" not in err


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
    proc = subprocess.run([sys.executable, "-m", "retainkit.cli", "report", "--data", str(bad), "--as-of", "2024-01-31",
                           "--out", str(tmp_path / "reports"), "-q"], capture_output=True, text=True, timeout=300)
    assert proc.returncode == 3
    assert "retainkit: error: DataError: column 'timestamp'" in proc.stderr
    assert "could not be parsed" in proc.stderr or "none of 2 values" in proc.stderr
    failed = tmp_path / "reports" / "2024-01-31"
    assert (failed / rr.FAILED_NOTEBOOK).is_file() and (failed / rr.FAILED_HTML).is_file()
    assert not (failed / rr.REPORT_HTML).exists()
    assert str(failed / rr.FAILED_HTML) in proc.stderr
    # the terminal shows the error, not the kernel's start-up chatter
    assert "Kernel is running over TCP" not in proc.stderr


def test_only_ipython_kernels_get_the_quiet_argument(tmp_path):
    assert rr.run._quiet_kernel_args("python3", tmp_path / "x.ipynb") == ["--IPKernelApp.log_level=ERROR"]
    assert rr.run._quiet_kernel_args("no-such-kernel", tmp_path / "x.ipynb") == []
