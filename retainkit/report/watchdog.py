"""No silent hang: a kernel that stops answering is detected, killed and the run retried once.

papermill (nbclient) waits for a cell's reply for as long as the cell timeout
allows (30 minutes for ``retainkit report``). It notices a kernel whose
process has *exited*, but not one that is still there and no longer answers
(a stopped or frozen process): the run would wait out the whole timeout.

How a hung kernel is told apart from a long cell
------------------------------------------------
:class:`KernelWatch` runs in a thread of the runner while the kernel lives and
looks for two signs, each of which must last ``hang_after`` seconds (default
:data:`HANG_AFTER`, 30 s; detection within about 32 s):

* **No heartbeat.** Every Jupyter kernel echoes pings on its heartbeat
  socket. In ipykernel that is a separate thread echoing in C without Python's
  GIL, so it answers while a cell computes for hours, sleeps, waits for a
  database or holds the GIL in one long C call (measured: a 24 s
  ``sum(range(4e8))`` kept answering). It stops answering only when the whole
  process no longer runs: stopped (SIGSTOP, a debugger, a frozen cgroup),
  deadlocked below Python, or starved by the machine. Silence counts from the
  first answer (start-up has nbclient's own 60 s start timeout).
* **Idle, yet awaited.** The runner still waits for a cell's reply (between
  nbclient's ``on_cell_execute`` and ``on_cell_executed`` hooks) while the
  kernel has announced ``idle`` on its IOPub channel: the cell finished and its
  reply was lost on the way (the rare hang seen in the test suite: the kernel
  goes idle while nbclient keeps waiting). A running cell keeps the kernel
  ``busy``, however long it takes.

A cell that merely takes long shows neither sign and is limited only by the
cell timeout.

What happens then
-----------------
The watchdog kills the kernel's process group (SIGKILL works on a stopped
process); nbclient sees the dead kernel within a second; :func:`execute_watched`
runs the notebook once more in a new kernel. If that kernel hangs too, the
cell that was running is marked failed in the executed notebook (error name
``KernelNotResponding``) and :class:`papermill.exceptions.PapermillExecutionError`
is raised, so the runner keeps the FAILED artifacts and exits 1 as for any
failed cell. A kernel that dies by itself (a crash, the OOM killer) is reported
the same way (``DeadKernelError``), without a retry: running out of memory again
would not help.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import zmq
from jupyter_client.manager import AsyncKernelManager
from traitlets import Any as AnyTrait
from traitlets import Float
from traitlets.config import Config

log = logging.getLogger(__name__)

#: seconds without a heartbeat answer after which a kernel counts as hung
HANG_AFTER = 30.0
#: how many times a notebook is run when its kernel hangs (one retry)
ATTEMPTS = 2
HUNG_ENAME = "KernelNotResponding"


@dataclass
class HangRecord:
    """What the watchdog knows and saw during one attempt; shared by the kernel manager, nbclient's hooks
    and the runner.

    ``cell_started`` / ``cell_finished`` are nbclient's ``on_cell_execute`` and
    ``on_cell_executed`` hooks: between them the runner waits for a cell's
    reply. traitlets copies configuration values into the kernel manager with
    ``deepcopy``; a record is shared, not copied, so every party sees the same
    one.
    """

    hung: bool = False
    message: str = ""
    pids: list[int] = field(default_factory=list)
    waiting_since: float | None = None
    cell: int | None = None

    def __deepcopy__(self, memo: dict) -> "HangRecord":
        return self

    def cell_started(self, cell: Any = None, cell_index: int | None = None, **_: Any) -> None:
        self.waiting_since, self.cell = time.monotonic(), cell_index

    def cell_finished(self, **_: Any) -> None:
        self.waiting_since = None

    def hooks(self) -> dict[str, Callable[..., None]]:
        """nbclient hook arguments that keep ``waiting_since`` up to date."""
        return {"on_cell_execute": self.cell_started, "on_cell_executed": self.cell_finished}


def _status_of(frames: list[bytes]) -> str | None:
    """``execution_state`` of a Jupyter ``status`` message (multipart frames), None for other messages."""
    try:
        i = frames.index(b"<IDS|MSG>")
        header = json.loads(frames[i + 2])
        if header.get("msg_type") != "status":
            return None
        return json.loads(frames[i + 5]).get("execution_state")
    except (ValueError, IndexError, TypeError):
        return None


class KernelWatch(threading.Thread):
    """Watches a running kernel; calls ``on_hang(message)`` when it stops answering.

    Two signs, each held for ``hang_after`` seconds:

    * the heartbeat socket gives no answer (the process is stopped or frozen;
      counted only after a first answer);
    * the runner still waits for a cell's reply (``record.waiting_since``)
      while the kernel has reported itself idle on its IOPub channel: the cell
      finished and its reply was lost between kernel and runner.
    """

    def __init__(
        self,
        hb_url: str,
        iopub_url: str,
        record: HangRecord,
        hang_after: float,
        on_hang: Callable[[str], None],
        interval: float = 1.0,
    ):
        super().__init__(name="retainkit-kernel-watchdog", daemon=True)
        self.hb_url, self.iopub_url = hb_url, iopub_url
        self.record = record
        self.hang_after = float(hang_after)
        self.on_hang = on_hang
        self.interval = float(interval)
        self._stop_event = threading.Event()
        self.state: str | None = None
        self.state_since = time.monotonic()

    def stop(self) -> None:
        self._stop_event.set()

    def _read_status(self, sub: Any) -> None:
        while sub.poll(timeout=0):
            state = _status_of(sub.recv_multipart())
            if state is not None and state != self.state:
                self.state, self.state_since = state, time.monotonic()

    def _reply_lost(self, now: float) -> str:
        since = self.record.waiting_since
        if since is None or self.state != "idle":
            return ""
        idle_for = now - max(since, self.state_since)
        if idle_for < self.hang_after:
            return ""
        cell = "" if self.record.cell is None else f" {self.record.cell + 1}"
        return (
            f"the kernel finished notebook cell{cell} and has been idle for {idle_for:.0f} s, but its reply "
            "never reached the runner (a lost message); the kernel was killed"
        )

    def run(self) -> None:
        ctx = zmq.Context()
        sub = ctx.socket(zmq.SUB)
        sub.linger = 0
        sub.setsockopt(zmq.SUBSCRIBE, b"")
        sub.connect(self.iopub_url)
        hb = None
        answered = False
        silent_since: float | None = None
        try:
            while not self._stop_event.is_set():
                if hb is None:
                    hb = ctx.socket(zmq.REQ)
                    hb.linger = 0
                    hb.connect(self.hb_url)
                sent = time.monotonic()
                hb.send(b"retainkit-ping")
                if hb.poll(timeout=int(self.interval * 1000)):
                    hb.recv()
                    answered, silent_since = True, None
                    self._stop_event.wait(max(self.interval - (time.monotonic() - sent), 0.0))
                else:
                    hb.close()  # a REQ socket without its reply cannot send again
                    hb = None
                    if answered and silent_since is None:
                        silent_since = sent
                now = time.monotonic()
                self._read_status(sub)
                message = self._reply_lost(now)
                if silent_since is not None and now - silent_since >= self.hang_after:
                    message = (
                        f"the kernel stopped answering its heartbeat for {now - silent_since:.0f} s (a stopped "
                        "or frozen process, not a long cell: a computing kernel keeps answering) and was killed"
                    )
                if message:
                    self.on_hang(message)
                    return
        finally:
            for sock in (hb, sub):
                if sock is not None:
                    sock.close()
            ctx.term()


class WatchedKernelManager(AsyncKernelManager):
    """An ``AsyncKernelManager`` whose kernel is watched by :class:`KernelWatch` while it runs."""

    hang_after = Float(HANG_AFTER, help="seconds a kernel may look hung before it is killed").tag(config=True)
    record = AnyTrait(None, help="HangRecord shared with the runner and nbclient's hooks").tag(config=True)
    _watch: KernelWatch | None  # set while a kernel runs

    def _url(self, port: int) -> str:
        if self.transport == "tcp":
            return f"tcp://{self.ip}:{port}"
        return f"{self.transport}://{self.ip}-{port}"

    def _kill_hung(self, message: str) -> None:
        pid = getattr(self.provisioner, "pid", None)
        record = self.record if isinstance(self.record, HangRecord) else HangRecord()
        record.hung, record.message = True, message
        log.warning("kernel %s: %s", pid, message)
        if pid is None:
            return
        record.pids.append(int(pid))
        try:
            if os.getpgid(pid) == pid:  # the kernel leads its own process group: take its children too
                os.killpg(pid, signal.SIGKILL)
            else:
                os.kill(pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    def _stop_watch(self) -> None:
        watch = getattr(self, "_watch", None)
        if watch is not None:
            watch.stop()
            self._watch = None

    async def start_kernel(self, **kw: Any) -> None:  # type: ignore[override]  # jupyter_client's stub is sync
        await super().start_kernel(**kw)
        record = self.record if isinstance(self.record, HangRecord) else HangRecord()
        self._watch = KernelWatch(
            self._url(self.hb_port), self._url(self.iopub_port), record, self.hang_after, self._kill_hung
        )
        self._watch.start()

    async def shutdown_kernel(self, now: bool = False, restart: bool = False) -> None:  # type: ignore[override]
        self._stop_watch()
        await super().shutdown_kernel(now=now, restart=restart)

    async def cleanup_resources(self, restart: bool = False) -> None:  # type: ignore[override]
        self._stop_watch()
        await super().cleanup_resources(restart=restart)


def _mark_failed_cell(output_path: str, index: int | None, ename: str, message: str) -> tuple[int, Any, str]:
    """Mark cell ``index`` (the one that was running) of the executed notebook as failed with ``ename: message``.

    papermill records a cell whose kernel died as "completed"; this makes the
    kept notebook say which cell never finished. Returns (cell index,
    execution count, source), (-1, None, "") when unknown.
    """
    import nbformat

    path = Path(output_path)
    if index is None or not path.is_file():
        return -1, None, ""
    nb = nbformat.read(str(path), as_version=4)
    if not 0 <= index < len(nb.cells):
        return -1, None, ""
    cell = nb.cells[index]
    cell.setdefault("metadata", {}).setdefault("papermill", {})["status"] = "failed"
    cell.setdefault("outputs", []).append(
        nbformat.v4.new_output("error", ename=ename, evalue=message, traceback=[f"{ename}: {message}"])
    )
    nbformat.write(nb, str(path))
    return index, cell.get("execution_count"), cell.source


def execute_watched(
    input_path: str,
    output_path: str,
    *,
    hang_after: float = HANG_AFTER,
    attempts: int = ATTEMPTS,
    **papermill_kwargs: Any,
) -> Any:
    """``papermill.execute_notebook`` with a kernel watchdog and one retry after a hang.

    Parameters
    ----------
    input_path, output_path : str
        As for :func:`papermill.execute_notebook` (the output is rewritten by a retry).
    hang_after : float
        Seconds without a heartbeat answer before the kernel counts as hung.
    attempts : int
        Runs in all when the kernel hangs (default 2: one retry).
    **papermill_kwargs
        Passed to :func:`papermill.execute_notebook`.

    Returns
    -------
    The executed notebook (papermill's return value).

    Raises
    ------
    papermill.exceptions.PapermillExecutionError
        A cell failed, the kernel hung on every attempt (ename
        ``KernelNotResponding``) or the kernel died (``DeadKernelError``); the
        executed notebook at ``output_path`` marks the cell that was running.
    """
    import papermill as pm
    from nbclient.exceptions import DeadKernelError
    from papermill.exceptions import PapermillExecutionError

    for attempt in range(1, attempts + 1):
        record = HangRecord()
        config = Config({"WatchedKernelManager": {"hang_after": float(hang_after), "record": record}})
        try:
            return pm.execute_notebook(
                input_path,
                output_path,
                kernel_manager_class=WatchedKernelManager,
                config=config,
                **record.hooks(),
                **papermill_kwargs,
            )
        except DeadKernelError as exc:
            if record.hung and attempt < attempts:
                log.warning(
                    "report kernel hung (attempt %d of %d): %s; running the notebook again",
                    attempt,
                    attempts,
                    record.message,
                )
                continue
            if record.hung:
                ename = HUNG_ENAME
                message = f"{record.message}, on each of {attempts} attempts"
            else:
                ename = "DeadKernelError"
                message = (
                    f"the kernel died while the cell ran ({exc}); it may have run out of memory or crashed. "
                    "See the system log (e.g. dmesg for the OOM killer)."
                )
            index, count, source = _mark_failed_cell(output_path, record.cell, ename, message)
            raise PapermillExecutionError(index, count, source, ename, message, [f"{ename}: {message}"]) from None
    raise AssertionError("unreachable")  # pragma: no cover


__all__ = [
    "ATTEMPTS",
    "HANG_AFTER",
    "HUNG_ENAME",
    "HangRecord",
    "KernelWatch",
    "WatchedKernelManager",
    "execute_watched",
]
