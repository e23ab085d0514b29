"""No silent hang: real kernels that stop answering are detected, killed and retried once.

Two real ways a kernel stops answering are reproduced: the kernel process is
stopped with SIGSTOP mid-cell (no heartbeat), and the kernel drops its own
``execute_reply`` so it goes idle while the runner waits (the lost message seen
in the test suite). A cell that holds the GIL for several times ``hang_after``
must not count as hung.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import nbformat
import pytest
from papermill.exceptions import PapermillExecutionError

from retainkit import cli
from retainkit.report.watchdog import HUNG_ENAME, execute_watched

pytestmark = pytest.mark.slow

HANG_AFTER = 3.0
KW = dict(
    progress_bar=False, kernel_name="python3", extra_arguments=["--IPKernelApp.log_level=ERROR"], execution_timeout=120
)


def _notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nb.cells = [nbformat.v4.new_code_cell(src) for src in sources]
    nbformat.write(nb, str(path))
    return path


def _kernel_children() -> list[int]:
    """PIDs of this process's child processes running an IPython kernel."""
    me = os.getpid()
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmd = (entry / "cmdline").read_bytes()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == me and b"ipykernel" in cmd:
            out.append(int(entry.name))
    return out


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


class Stopper(threading.Thread):
    """SIGSTOPs kernels of this process ``delay`` seconds after they appear (the first ``limit`` ones)."""

    def __init__(self, limit: int, delay: float = 2.0):
        super().__init__(daemon=True)
        self.limit, self.delay = limit, delay
        self.stopped: list[int] = []
        self.seen: set[int] = set()
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set() and len(self.stopped) < self.limit:
            for pid in _kernel_children():
                if pid not in self.seen:
                    self.seen.add(pid)
                    time.sleep(self.delay)
                    try:
                        os.kill(pid, signal.SIGSTOP)
                        self.stopped.append(pid)
                    except ProcessLookupError:
                        pass
            time.sleep(0.1)


SLEEPY = "import time\ntime.sleep(8)\nprint('woke up')"


def test_a_stopped_kernel_is_killed_and_the_notebook_run_once_more(tmp_path):
    nb = _notebook(tmp_path / "sleep.ipynb", SLEEPY)
    stopper = Stopper(limit=1)
    stopper.start()
    try:
        out = execute_watched(str(nb), str(tmp_path / "out.ipynb"), hang_after=HANG_AFTER, **KW)
    finally:
        stopper.done.set()
    assert len(stopper.stopped) == 1 and _gone(stopper.stopped[0])
    assert out.cells[0].outputs[0]["text"] == "woke up\n"


def test_a_kernel_that_hangs_on_both_attempts_fails_with_the_cell_marked(tmp_path):
    nb = _notebook(tmp_path / "sleep.ipynb", "x = 1", SLEEPY)
    stopper = Stopper(limit=2)
    stopper.start()
    try:
        with pytest.raises(PapermillExecutionError) as info:
            execute_watched(str(nb), str(tmp_path / "out.ipynb"), hang_after=HANG_AFTER, **KW)
    finally:
        stopper.done.set()
    assert info.value.ename == HUNG_ENAME
    assert "heartbeat" in info.value.evalue and "2 attempts" in info.value.evalue
    assert len(stopper.stopped) == 2 and all(_gone(pid) for pid in stopper.stopped)  # nothing left stopped
    executed = nbformat.read(str(tmp_path / "out.ipynb"), as_version=4)
    cell = executed.cells[1]
    assert cell.metadata.papermill.status == "failed"
    assert cell.outputs[-1]["ename"] == HUNG_ENAME


LOSSY = """import os
from pathlib import Path
_kernel = get_ipython().kernel
_send = _kernel.session.send
_marker = Path(os.environ["RK_TEST_MARKER"])
_lose = os.environ["RK_TEST_LOSE"] == "always" or not _marker.exists()
_marker.touch()

def _lossy_send(stream, msg_or_type, *args, **kwargs):
    global _lose
    kind = msg_or_type if isinstance(msg_or_type, str) else msg_or_type.get("header", {}).get("msg_type")
    if kind == "execute_reply" and _lose:
        _lose = False  # drop this cell's reply once: the kernel goes idle, the runner keeps waiting
        return None
    return _send(stream, msg_or_type, *args, **kwargs)

_kernel.session.send = _lossy_send
"""


@pytest.mark.parametrize("lose", ["once", "always"])
def test_a_lost_reply_is_detected_while_the_kernel_sits_idle(tmp_path, monkeypatch, lose):
    monkeypatch.setenv("RK_TEST_MARKER", str(tmp_path / "marker"))
    monkeypatch.setenv("RK_TEST_LOSE", lose)
    nb = _notebook(tmp_path / "lossy.ipynb", LOSSY, "print('next cell ran')")
    out_path = tmp_path / "out.ipynb"
    if lose == "once":
        out = execute_watched(str(nb), str(out_path), hang_after=HANG_AFTER, **KW)
        assert out.cells[1].outputs[0]["text"] == "next cell ran\n"
        return
    with pytest.raises(PapermillExecutionError) as info:
        execute_watched(str(nb), str(out_path), hang_after=HANG_AFTER, **KW)
    assert info.value.ename == HUNG_ENAME and "reply never reached" in info.value.evalue


def test_a_long_cell_holding_the_gil_is_not_a_hang(tmp_path):
    # one C call that never releases the GIL, for several times hang_after
    nb = _notebook(
        tmp_path / "busy.ipynb",
        "import time\nt = time.monotonic()\ns = sum(range(200_000_000))\nprint(time.monotonic() - t > 2)",
    )
    out = execute_watched(str(nb), str(tmp_path / "out.ipynb"), hang_after=1.0, **KW)
    assert out.cells[0].outputs[0]["text"] == "True\n"


def test_cli_exits_1_with_failed_artifacts_and_the_published_report_untouched(tmp_path, capsys):
    out = tmp_path / "reports"
    args = ["report", "--data", "sample", "--as-of", "2024-06-30", "--out", str(out), "-q", "--hang-timeout", "5"]
    assert cli.main(args) == 0
    html = out / "monthly" / "2024-06-30" / "retention-report.html"
    before = html.read_bytes()
    stopper = Stopper(limit=2, delay=3.0)
    stopper.start()
    try:
        code = cli.main([*args, "--title", "second run"])
    finally:
        stopper.done.set()
    assert code == 1
    err = capsys.readouterr().err
    assert HUNG_ENAME in err
    assert html.read_bytes() == before
    assert list(out.rglob("retention-report.html")) == [html]  # nothing else published
    assert not list(html.parent.glob("*FAILED*"))  # the failed run's files are kept with its run record
    assert len(list((out / "runs").glob("*/retention-report.FAILED.ipynb"))) == 1
    assert all(_gone(pid) for pid in stopper.stopped)
