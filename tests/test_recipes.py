"""The scheduling recipes work as printed: crontab lines, retainkit-cron, GitHub Actions, Airflow, exit codes."""

from __future__ import annotations

import ast
import importlib.util
import os
import re
import shutil
import subprocess
import sys
import types
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from retainkit import cron
from retainkit.report import runlog

ROOT = Path(__file__).resolve().parents[1]
SCHEDULING = ROOT / "docs" / "scheduling.md"
README = ROOT / "README.md"
WORKFLOW = ROOT / "docs" / "recipes" / "github-actions.yml"
DAG = ROOT / "docs" / "recipes" / "airflow_dag.py"
BIN = Path(sys.executable).parent


def _cron_lines(text: str) -> list[str]:
    lines = []
    for block in re.findall(r"```cron\n(.*?)```", text, re.S):
        lines += [ln for ln in block.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    return lines


# ----------------------------------------------------------------------------- exit codes
def test_docs_exit_code_table_is_the_code_table():
    text = SCHEDULING.read_text(encoding="utf-8")
    section = text[text.index("## Exit codes") :]
    section = section[: section.index("\n## ", 4)]
    rows = [[c.strip() for c in ln.strip("|").split("|")] for ln in section.splitlines() if re.match(r"\| \d+ \|", ln)]
    assert [(int(r[0]), r[1]) for r in rows] == [(e.code, e.status) for e in runlog.EXIT_CODES]
    assert [r[3] == "yes" for r in rows] == [e.retry for e in runlog.EXIT_CODES]
    assert "one table" in section.lower()


# ----------------------------------------------------------------------------- cron
@settings(max_examples=200, deadline=None)
@given(st.dates(date(1990, 1, 1), date(2060, 12, 31)), st.sampled_from(["D", "W", "M", "Q", "Y"]))
def test_as_of_is_the_end_of_the_last_complete_period(today, freq):
    alias = {"W": "W-SUN", "D": "D", "M": "M", "Q": "Q", "Y": "Y"}[freq]
    want = (pd.Period(today, alias).start_time - pd.Timedelta(days=1)).date()
    assert cron.last_complete_period_end(today, freq) == want
    assert cron.last_complete_period_end(today, freq) < today


def test_print_as_of_reads_freq_from_the_options_and_the_yaml(tmp_path, capsys):
    y = tmp_path / "q.yaml"
    y.write_text("data: sample\nfreq: Q\n", encoding="utf-8")
    for argv, want in (
        (["--", "-f", str(y)], "2024-12-31"),
        (["--", "-p", "freq", "W"], "2024-12-29"),
        (["--", "--freq", "M"], "2024-12-31"),
        (["--", "-f", str(y), "--as-of", "2024-06-30"], "2024-06-30"),
        ([], "2024-12-31"),
    ):
        assert cron.main(["--today", "2025-01-01", "--print-as-of", *argv]) == 0
        assert capsys.readouterr().out.strip() == want, argv
    assert cron.main(["--today", "2025-01-01", "--print-as-of", "--", "--freq", "fortnight"]) == 2


def test_documented_crontab_lines_are_one_line_and_install():
    pages = [README, *sorted((ROOT / "docs").rglob("*.md"))]
    lines = [ln for page in pages for ln in _cron_lines(page.read_text(encoding="utf-8"))]
    assert len(lines) >= 2 and any("retainkit-cron" in ln for ln in lines)
    crontab = shutil.which("crontab")
    if crontab is None:
        pytest.skip("crontab is not installed (make cron installs Debian's cron)")
    for ln in lines:
        assert not ln.rstrip().endswith("\\"), ln
        fields = ln.split(None, 5)
        assert len(fields) == 6, ln
        path = Path(os.environ.get("TMPDIR", "/tmp")) / f"retainkit-crontab-check-{os.getpid()}"
        path.write_text(ln + "\n", encoding="utf-8")
        try:
            proc = subprocess.run([crontab, "-n", str(path)], capture_output=True, text=True, timeout=30)
        finally:
            path.unlink()
        assert proc.returncode == 0, f"{ln}\n{proc.stdout}{proc.stderr}"


def _fake_sendmail(bindir: Path, mailbox: Path) -> None:
    bindir.mkdir(exist_ok=True)
    exe = bindir / "sendmail"
    exe.write_text(f"#!/bin/sh\ncat > '{mailbox}'\n", encoding="utf-8")
    exe.chmod(0o755)


def test_the_documented_cron_line_runs_under_sh_with_cron_s_environment(tmp_path):
    """The wrapper's line, with the example paths replaced, run the way cron runs it: /bin/sh -c, no environment."""
    line = next(ln for ln in _cron_lines(SCHEDULING.read_text(encoding="utf-8")) if "retainkit-cron" in ln)
    exe = BIN / "retainkit-cron"
    assert exe.is_file(), "retainkit-cron is not installed (pip install -e .)"
    yaml_file = tmp_path / "monthly.yaml"
    yaml_file.write_text("data: sample\nsegment: chanel\n", encoding="utf-8")  # a typo: exit 2 before any kernel
    command = (
        line.split(None, 5)[5]
        .replace("/srv/retention/.venv/bin/retainkit-cron", str(exe))
        .replace("/srv/retention/logs", str(tmp_path / "logs"))
        .replace("/srv/retention/monthly.yaml", str(yaml_file))
        .replace("/srv/www/reports", str(tmp_path / "reports"))
    )
    assert "%" not in command and "/srv/" not in command
    _fake_sendmail(tmp_path / "bin", tmp_path / "mail.txt")
    env = {"PATH": f"{tmp_path / 'bin'}:/usr/bin:/bin", "HOME": str(tmp_path), "SHELL": "/bin/sh", "LOGNAME": "root"}
    proc = subprocess.run(
        ["/bin/sh", "-c", command], env=env, capture_output=True, text=True, timeout=300, cwd=tmp_path
    )
    assert proc.returncode == 2, proc.stderr
    assert proc.stdout == ""  # mailed, not printed (cron would mail it a second time)
    as_of = cron.last_complete_period_end(date.today(), "M").isoformat()
    log = (tmp_path / "logs" / f"retainkit-{as_of}.log").read_text()
    assert "parameter 'segment'" in log and "<== exit code 2" in log
    mail = (tmp_path / "mail.txt").read_text()
    assert f"Subject: retention report {as_of} failed (exit 2: parameter error)" in mail
    assert "To: team@example.com" in mail and "Did you mean 'channel'" in mail and "will not help" in mail
    (rec,) = runlog.read_records(tmp_path / "reports")
    assert (rec.status, rec.as_of, rec.schedule) == ("parameter error", as_of, "monthly-by-chanel")


def test_cron_prints_the_failure_without_mail(tmp_path, capsys):
    code = cron.main(
        [
            "--today",
            "2025-01-01",
            "--log-dir",
            str(tmp_path / "a" / "logs"),
            "--",
            "--data",
            str(tmp_path / "missing.csv"),
            "--out",
            str(tmp_path / "reports"),
        ]
    )
    out = capsys.readouterr().out
    assert code == 2
    assert out.startswith(
        "retainkit-cron: the retention report for 2024-12-31 failed with exit code 2 (parameter error)."
    )
    assert "no such file" in out and f"log: {tmp_path / 'a' / 'logs' / 'retainkit-2024-12-31.log'}" in out


# ----------------------------------------------------------------------------- GitHub Actions
def _workflow() -> dict:
    return yaml.safe_load(WORKFLOW.read_text(encoding="utf-8"))


def _step(wf: dict, prefix: str) -> dict:
    return next(s for s in wf["jobs"]["report"]["steps"] if s.get("name", "").startswith(prefix))


def test_workflow_keeps_reports_in_a_branch_not_a_cache():
    wf = _workflow()
    text = WORKFLOW.read_text(encoding="utf-8")
    assert "actions/cache" not in text.replace("# ", "") or "cache is evicted" in text
    assert not any("actions/cache" in str(s.get("uses", "")) for s in wf["jobs"]["report"]["steps"])
    assert wf["permissions"]["contents"] == "write"
    assert wf["concurrency"]["cancel-in-progress"] is False
    assert _step(wf, "Keep")["if"] == "always()"
    assert "${{" not in _step(wf, "Keep")["run"] and "${{" not in _step(wf, "Run the report")["run"]


def _git(*args, cwd: Path) -> str:
    return subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True, text=True).stdout


def _bash(script: str, cwd: Path, env: dict) -> subprocess.CompletedProcess:
    # GitHub runs a step's script with: bash --noprofile --norc -eo pipefail {0}
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", "-c", script],
        cwd=cwd,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def _fake_tools(bindir: Path) -> None:
    bindir.mkdir()
    (bindir / "retainkit-cron").write_text("#!/bin/sh\necho 2024-12-31\n")
    (bindir / "retainkit").write_text(
        "#!/bin/sh\n# stands in for `retainkit report ... --out reports`: writes a report or a run record\n"
        "mkdir -p reports/monthly/$FAKE_AS_OF reports/runs\n"
        "echo '{}' > reports/runs/run-$FAKE_AS_OF.json\n"
        "[ \"$FAKE_CODE\" = 0 ] && echo '<html></html>' > reports/monthly/$FAKE_AS_OF/retention-report.html\n"
        "exit $FAKE_CODE\n"
    )
    for f in bindir.iterdir():
        f.chmod(0o755)


def test_workflow_steps_keep_the_history_across_fresh_workspaces(tmp_path):
    wf = _workflow()
    restore, run, keep = _step(wf, "Restore")["run"], _step(wf, "Run the report")["run"], _step(wf, "Keep")["run"]
    origin = tmp_path / "origin.git"
    _git("init", "-q", "--bare", str(origin), cwd=tmp_path)
    seed = tmp_path / "seed"
    _git("clone", "-q", f"file://{origin}", str(seed), cwd=tmp_path)
    (seed / "monthly.yaml").write_text("data: sample\n")
    _git("add", "monthly.yaml", cwd=seed)
    _git("-c", "user.name=t", "-c", "user.email=t@example.com", "commit", "-qm", "init", cwd=seed)
    _git("push", "-q", "origin", "HEAD:refs/heads/main", cwd=seed)
    _fake_tools(tmp_path / "bin")
    path = f"{tmp_path / 'bin'}:{os.environ['PATH']}"

    def workflow_run(name: str, as_of: str, code: int) -> None:
        ws = tmp_path / name  # actions/checkout: a fresh clone of the default branch
        _git("clone", "-q", "--branch", "main", f"file://{origin}", str(ws), cwd=tmp_path)
        env = {
            "REPORTS_BRANCH": wf["env"]["REPORTS_BRANCH"],
            "PATH": path,
            "GITHUB_OUTPUT": str(tmp_path / f"{name}.out"),
        }
        r = _bash(restore, ws, env)
        assert r.returncode == 0, r.stderr
        r = _bash(run, ws, {**env, "AS_OF": as_of, "FAKE_AS_OF": as_of, "FAKE_CODE": str(code)})
        assert r.returncode == 0, r.stderr  # the step itself passes; the last step fails the job
        outputs = dict(ln.split("=", 1) for ln in (tmp_path / f"{name}.out").read_text().split())
        assert outputs == {"as_of": as_of, "exit_code": str(code)}
        r = _bash(keep, ws, {**env, "AS_OF": as_of, "EXIT_CODE": str(code)})
        assert r.returncode == 0, r.stderr

    workflow_run("ws1", "2024-11-30", 0)
    workflow_run("ws2", "2024-12-31", 3)  # a failed run keeps its record too
    workflow_run("ws3", "2025-01-31", 0)
    files = _git("ls-tree", "-r", "--name-only", "retention-reports", cwd=origin).split()
    assert "monthly/2024-11-30/retention-report.html" in files and "monthly/2025-01-31/retention-report.html" in files
    assert {"runs/run-2024-11-30.json", "runs/run-2024-12-31.json", "runs/run-2025-01-31.json"} <= set(files)
    assert "monthly.yaml" not in files  # only the reports folder is in the branch
    assert _git("ls-tree", "-r", "--name-only", "main", cwd=origin).split() == ["monthly.yaml"]
    log = _git("log", "--format=%s", "retention-reports", cwd=origin).splitlines()
    assert log == [
        "retention report 2025-01-31 (exit 0)",
        "retention report 2024-12-31 (exit 3)",
        "retention report 2024-11-30 (exit 0)",
    ]


# ----------------------------------------------------------------------------- Airflow
class _Dag:
    seen: dict = {}

    def __init__(self, **kwargs):
        _Dag.seen = kwargs

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def _load_dag(monkeypatch) -> types.ModuleType:
    class AirflowFailException(Exception):
        pass

    tasks = []

    def task(*args, **kwargs):
        def wrap(fn):
            tasks.append((fn, kwargs))
            return lambda *a, **k: None  # calling the task inside the DAG only declares it

        return wrap(args[0]) if args and callable(args[0]) else wrap

    airflow = types.ModuleType("airflow")
    sdk = types.ModuleType("airflow.sdk")
    sdk.DAG, sdk.task = _Dag, task
    exc_mod = types.ModuleType("airflow.sdk.exceptions")
    exc_mod.AirflowFailException = AirflowFailException
    for name, mod in (("airflow", airflow), ("airflow.sdk", sdk), ("airflow.sdk.exceptions", exc_mod)):
        monkeypatch.setitem(sys.modules, name, mod)
    spec = importlib.util.spec_from_file_location("retention_dag_under_test", DAG)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    module._tasks = tasks
    module._fail = AirflowFailException
    return module


def test_airflow_dag_compiles_with_current_imports():
    tree = ast.parse(DAG.read_text(encoding="utf-8"))
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
    assert "airflow.sdk" in imported
    assert not any(m and (m.startswith("airflow.operators") or m == "airflow") for m in imported)  # deprecated in 3
    compile(DAG.read_text(encoding="utf-8"), str(DAG), "exec")


def test_airflow_dag_runs_one_month_at_a_time_and_retries_only_exit_1(monkeypatch, tmp_path):
    dag = _load_dag(monkeypatch)
    kw = _Dag.seen
    assert kw["max_active_runs"] == 1 and kw["catchup"] is True and kw["default_args"]["retries"] >= 1
    assert dag.RETRY_EXIT_CODES == {e.code for e in runlog.EXIT_CODES if e.retry}
    assert dag.NO_RETRY_EXIT_CODES == {runlog.EXIT_PARAMETER, runlog.EXIT_DATA, runlog.EXIT_HISTORY}
    assert dag.as_of_for(datetime(2025, 1, 1, 6, 15, tzinfo=UTC)) == "2024-12-31"
    assert dag.as_of_for(datetime(2024, 3, 1, 6, 15, tzinfo=UTC)) == "2024-02-29"
    fake = tmp_path / "retainkit"
    fake.write_text("#!/bin/sh\necho \"args: $*\"\necho 'retainkit: error: something' >&2\nexit $FAKE_CODE\n")
    fake.chmod(0o755)
    monkeypatch.setattr(dag, "RETAINKIT", str(fake))
    for code in (0, 1, 2, 3, 4):
        monkeypatch.setenv("FAKE_CODE", str(code))
        if code == 0:
            assert dag.run_report("2024-12-31") == "2024-12-31"
        elif code == 1:
            with pytest.raises(RuntimeError) as exc:
                dag.run_report("2024-12-31")
            assert not isinstance(exc.value, dag._fail)  # retried by Airflow
        else:
            with pytest.raises(dag._fail, match=f"exited with {code}"):  # failed at once, never retried
                dag.run_report("2024-12-31")
    ((fn, task_kwargs),) = dag._tasks
    assert task_kwargs["execution_timeout"] <= timedelta(hours=2)
    monkeypatch.setenv("FAKE_CODE", "0")
    assert fn(data_interval_end=datetime(2025, 2, 1, 6, 15, tzinfo=UTC)) == "2025-01-31"
