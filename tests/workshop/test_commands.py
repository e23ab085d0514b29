"""Every command shown in the facilitator's guide and in the workshop notebooks is run here.

Commands are read from the ```bash and ```cron blocks of ``notebooks/workshop/README.md``
and of the notebooks' Markdown cells. Each must match one of the runners below, or the
test fails: a command added to the documents without a way to run it here is an error.

What "run" means, per command:

* ``retainkit ...``, ``papermill ...``, ``git checkout ...``: run as shown, in a
  temporary folder (``git`` in a fresh clone of the repository, so nothing is lost);
* the cron line: its five fields are checked, then its command runs with ``/srv/retainkit``
  replaced by the repository and ``/srv/reports`` by a temporary folder;
* ``make report``: ``make -n`` shows the recipe, and the recipe's ``retainkit report`` line runs
  with its output folder in a temporary folder; ``make handouts``: the recipe's command runs on
  one notebook (all fourteen pages take minutes; ``test_handouts.py`` renders three more);
* ``make test`` cannot run inside the test suite it starts, and ``make lab`` starts a server:
  for those ``make -n`` must show the recipe and its program must start (``--version``).
"""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[2]
WORKSHOP = ROOT / "notebooks" / "workshop"
BIN = Path(sys.executable).parent

pytestmark = pytest.mark.slow


def _blocks(text: str) -> list[tuple[str, str]]:
    return re.findall(r"```(bash|cron)\n(.*?)```", text, flags=re.S)


def shown_commands() -> list[tuple[str, str, str]]:
    """(where, kind, command) for every command in the guide and the notebooks."""
    sources = [("README.md", (WORKSHOP / "README.md").read_text(encoding="utf-8"))]
    for nb in sorted(WORKSHOP.glob("*.ipynb")):
        cells = json.loads(nb.read_text(encoding="utf-8"))["cells"]
        sources.append((nb.name, "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "markdown")))
    out = []
    for where, text in sources:
        for kind, block in _blocks(text):
            for line in block.replace("\\\n", " ").splitlines():
                line = line.strip()
                if kind == "bash":
                    line = re.sub(r"\s+#.*$", "", line)
                if line:
                    out.append((where, kind, line))
    return out


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


def _run(cmd: str | list[str], cwd: Path, timeout: int = 600) -> subprocess.CompletedProcess:
    args = cmd if isinstance(cmd, list) else ["bash", "-c", cmd]
    proc = subprocess.run(args, cwd=cwd, env=_env(), capture_output=True, text=True, timeout=timeout)
    assert proc.returncode == 0, f"{cmd!r} exited {proc.returncode}:\n{proc.stdout[-2000:]}\n{proc.stderr[-3000:]}"
    return proc


def _report_written(folder: Path) -> None:
    pages = list(folder.glob("*/*/retention-report.html"))  # reports/<schedule>/<as_of>/
    assert len(pages) == 1 and (folder / "index.html").is_file(), list(folder.rglob("*"))


def _make_recipe(target: str) -> list[str]:
    proc = _run(["make", "-n", target], ROOT)
    return [line for line in proc.stdout.splitlines() if line.strip()]


# --------------------------------------------------------------------------- runners
def run_retainkit_report(cmd: str, tmp: Path) -> None:
    _run(cmd, tmp)
    _report_written(tmp / "reports")


def run_retainkit_help(cmd: str, tmp: Path) -> None:
    assert "--data" in _run(cmd, tmp).stdout


def run_papermill_demo(cmd: str, tmp: Path) -> None:
    # the demo notebook exactly as notebook 06 writes it (its cell is executed here)
    cells = json.loads((WORKSHOP / "06_recurring_reports.ipynb").read_text(encoding="utf-8"))["cells"]
    code = next(
        "".join(c["source"]) for c in cells if "crr_demo.ipynb" in "".join(c["source"]) and c["cell_type"] == "code"
    )
    code = code.replace('Path(tempfile.mkdtemp(prefix="workshop-papermill-"))', f"Path({str(tmp)!r})")
    exec("from pathlib import Path\nimport nbformat\n" + code, {"__name__": "demo"})  # noqa: S102
    _run(cmd, tmp)
    assert json.loads((tmp / "result.json").read_text())["crr"] == pytest.approx((190 - 30) / 200)
    assert (tmp / "out.ipynb").is_file()


def run_papermill_solutions(cmd: str, tmp: Path) -> None:
    for nb in WORKSHOP.glob("*.ipynb"):
        shutil.copy(nb, tmp / nb.name)
    _run(cmd, tmp)
    out = nbformat.read(tmp / shlex.split(cmd)[2], as_version=4)
    checks = [o for c in out.cells if c.cell_type == "code" and "workshop.check(" in c.source for o in c.outputs]
    assert checks and all(o["data"]["text/plain"].startswith("✔") for o in checks)


def run_git_checkout(cmd: str, tmp: Path) -> None:
    clone = tmp / "clone"
    _run(["git", "clone", "--quiet", str(ROOT), str(clone)], tmp)
    nb = clone / "notebooks" / "workshop" / "01_crr_by_hand.ipynb"
    original = nb.read_text(encoding="utf-8")
    nb.write_text(original.replace("None  # your answer", "0.8  # your answer"), encoding="utf-8")
    _run(cmd, clone)
    assert nb.read_text(encoding="utf-8") == original


def run_cron(line: str, tmp: Path) -> None:
    fields, command = line.split()[:5], line.split(None, 5)[5]
    ranges = [(0, 59), (0, 23), (1, 31), (1, 12), (0, 7)]
    for f, (lo, hi) in zip(fields, ranges):
        assert f == "*" or (f.isdigit() and lo <= int(f) <= hi), line
    command = command.replace("/srv/retainkit", str(ROOT)).replace("/srv/reports", str(tmp / "reports"))
    assert "/srv/" not in command, command
    _run(command, tmp)
    _report_written(tmp / "reports")


def run_make(cmd: str, tmp: Path) -> None:
    target = cmd.split()[1]
    recipe = _make_recipe(target)
    if target == "report":
        line = next(r for r in recipe if "retainkit report" in r)
        _run(line.replace("--out reports", f"--out {tmp / 'reports'}"), ROOT)
        _report_written(tmp / "reports")
    elif target == "handouts":
        line = next(r for r in recipe if "retainkit.workshop.handouts" in r and "--solutions" not in r)
        _run(line.replace("--out build/handouts", f"--out {tmp}") + " --only 01_crr_by_hand", ROOT)
        assert (tmp / "01_crr_by_hand.html").stat().st_size > 1_000_000  # with the MathJax bundle inside
    elif target == "test":
        assert any("pytest" in r for r in recipe), recipe
        _run([sys.executable, "-m", "pytest", "--version"], tmp)
    elif target == "lab":
        assert any("jupyter lab notebooks/" in r for r in recipe), recipe
        _run([str(BIN / "jupyter"), "lab", "--version"], tmp)
    else:
        pytest.fail(f"make {target}: no runner")


RUNNERS: list[tuple[str, str, Callable[[str, Path], None]]] = [
    ("bash", r"retainkit report --data sample --out reports", run_retainkit_report),
    ("bash", r"retainkit report --help", run_retainkit_help),
    ("bash", r"papermill crr_demo\.ipynb out\.ipynb -p start 200 -p end 190 -p new 30", run_papermill_demo),
    ("bash", r"papermill \d\d_\w+\.ipynb \S+\.ipynb -p solutions True", run_papermill_solutions),
    ("bash", r"git checkout -- notebooks/workshop/", run_git_checkout),
    ("bash", r"make (report|test|handouts|lab)", run_make),
    ("cron", r"[\d*]+ [\d*]+ [\d*]+ [\d*]+ [\d*]+ +cd /srv/retainkit && \.venv/bin/retainkit report .*", run_cron),
]


def _runner(kind: str, cmd: str) -> Callable[[str, Path], None] | None:
    for k, pattern, runner in RUNNERS:
        if k == kind and re.fullmatch(pattern, cmd):
            return runner
    return None


COMMANDS = shown_commands()


def test_the_documents_show_commands_and_every_one_has_a_runner():
    assert len(COMMANDS) >= 9
    missing = [(w, c) for w, k, c in COMMANDS if _runner(k, c) is None]
    assert not missing, f"commands shown without a test that runs them: {missing}"
    assert any(w == "06_recurring_reports.ipynb" and "retainkit report --data sample" in c for w, _, c in COMMANDS)


@pytest.mark.parametrize("where, kind, cmd", sorted(set(COMMANDS)), ids=lambda v: str(v)[:60])
def test_command_runs(where, kind, cmd, tmp_path):
    runner = _runner(kind, cmd)
    assert runner is not None, cmd
    runner(cmd, tmp_path)
