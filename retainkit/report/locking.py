"""Who owns what in a shared reports folder: run owners, the publishing lock, staging folders.

Several report runs may share one reports folder, from one machine or from
several machines mounting the same folder (NFS, SMB). Three rules keep them
from breaking each other:

* Every run writes down who it is (:class:`Owner`: host name, PID, the
  process's start time, the machine's boot id and PID namespace), in its
  staging folder and in its lock.
* Publishing (moving files into a report folder, rewriting ``index.html`` and
  ``schedule.json``) happens under one lock file, ``<out>/.lock``, created
  with ``O_CREAT | O_EXCL`` and held for about a second.
* Another run's lock or staging folder is removed only when its owner is
  *provably dead on this host* (same host name, boot id and PID namespace, and
  no live process with that PID and start time), or when it is older than a
  stated age (:data:`LOCK_MAX_AGE` for the lock, :data:`STAGING_MAX_AGE` for
  staging). A run from another machine or another container is never judged by
  its PID, which means nothing here.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
import shutil
import socket
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from ..exceptions import ReportError

log = logging.getLogger(__name__)

LOCK_FILE = ".lock"
STAGING = ".staging"
OWNER_FILE = "owner.json"
#: a lock is held for about a second (publishing and the index); older than this, its holder is gone
LOCK_MAX_AGE = 10 * 60.0
#: how long a run waits for the lock before it gives up (exit 1)
LOCK_WAIT = LOCK_MAX_AGE + 60.0
#: a staging folder older than this belongs to a run that can no longer be running
#: (a report run is stopped by its cell timeout long before)
STAGING_MAX_AGE = 24 * 3600.0


def _read_first_line(path: str) -> str:
    try:
        with open(path, encoding="ascii") as fh:
            return fh.readline().strip()
    except OSError:
        return ""


def _pid_namespace() -> str:
    try:
        return os.readlink("/proc/self/ns/pid")
    except OSError:
        return ""


def _process_start(pid: int) -> str:
    """Start time of a process in clock ticks since boot (Linux), '' when unknown or gone."""
    text = _read_first_line(f"/proc/{pid}/stat")
    if not text:
        return ""
    # the command name (field 2) may contain spaces and parentheses: split after its closing one
    fields = text.rsplit(")", 1)[-1].split()
    return fields[19] if len(fields) > 19 else ""


def utc_now() -> str:
    """The current time as ``YYYY-MM-DDTHH:MM:SSZ`` (UTC)."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_utc(stamp: str) -> float | None:
    """Seconds since the epoch of a :func:`utc_now` stamp; None when unreadable."""
    try:
        return datetime.strptime(stamp, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=UTC).timestamp()
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True)
class Owner:
    """The process that owns a run, a lock or a staging folder.

    ``host`` is the host name; ``boot_id`` and ``pid_ns`` tell two machines
    (or two containers) with the same host name apart; ``proc_start`` tells a
    process from a later one that reuses its PID. Empty strings where the
    platform does not say (non-Linux): such owners are judged by age only
    unless host name and PID namespace both match.
    """

    host: str
    pid: int
    started: str
    boot_id: str = ""
    pid_ns: str = ""
    proc_start: str = ""

    @classmethod
    def me(cls) -> "Owner":
        """The current process."""
        pid = os.getpid()
        return cls(
            socket.gethostname(),
            pid,
            utc_now(),
            _read_first_line("/proc/sys/kernel/random/boot_id"),
            _pid_namespace(),
            _process_start(pid),
        )

    @classmethod
    def from_json(cls, data: Any) -> "Owner | None":
        """An owner read back from JSON; None when the record is unreadable."""
        if not isinstance(data, dict):
            return None
        try:
            return cls(
                str(data["host"]),
                int(data["pid"]),
                str(data["started"]),
                str(data.get("boot_id", "")),
                str(data.get("pid_ns", "")),
                str(data.get("proc_start", "")),
            )
        except (KeyError, TypeError, ValueError):
            return None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    def describe(self) -> str:
        """'host web1, PID 4242, started 2026-12-01T06:15:00Z'."""
        return f"host {self.host}, PID {self.pid}, started {self.started}"

    def same_host(self) -> bool:
        """True only when this process can see the owner's processes (same machine, boot and PID namespace)."""
        here = Owner.me()
        if self.host != here.host:
            return False
        if self.boot_id and here.boot_id and self.boot_id != here.boot_id:
            return False
        return bool(self.pid_ns and self.pid_ns == here.pid_ns)

    def alive_here(self) -> bool:
        """The owner's process still runs on this host (PID exists and, where known, started at the same time)."""
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:  # pragma: no cover - exists, owned by someone else
            pass
        if self.proc_start:
            now = _process_start(self.pid)
            if now and now != self.proc_start:
                return False  # the PID was reused by a later process
        return True

    def provably_dead(self) -> bool:
        """True when the owner ran on this host and its process is gone."""
        return self.same_host() and not self.alive_here()

    def age(self, now: float | None = None) -> float:
        """Seconds since the owner started (infinite when the stamp is unreadable)."""
        t = parse_utc(self.started)
        return float("inf") if t is None else (time.time() if now is None else now) - t

    def is_me(self) -> bool:
        here = Owner.me()
        return self.same_host() and self.pid == here.pid and (not self.proc_start or self.proc_start == here.proc_start)


def is_stale(owner: Owner | None, max_age: float, *, mtime: float | None = None) -> tuple[bool, str]:
    """Whether something owned by ``owner`` may be removed by another run, and why (for the log).

    Removable when the owner is provably dead on this host, or older than
    ``max_age`` seconds. Without a readable owner, the file's ``mtime`` decides.
    """
    if owner is None:
        if mtime is not None and time.time() - mtime > max_age:
            return True, f"no owner record and unchanged for more than {max_age / 3600:g} h"
        return False, "no owner record yet"
    if owner.is_me():
        return False, "owned by this process"
    if owner.provably_dead():
        return True, f"its owner ({owner.describe()}) is no longer running on this host"
    if owner.age() > max_age:
        return True, f"its owner ({owner.describe()}) started more than {max_age / 3600:g} h ago"
    return False, f"owned by a live or unknown process ({owner.describe()})"


# ----------------------------------------------------------------------------- lock
class LockTimeout(ReportError):
    """The publishing lock stayed taken by another live run for longer than the wait allowed."""


class PublishLock:
    """``<out>/.lock``: one publisher at a time, across processes and hosts.

    Use as a context manager. The lock file holds the :class:`Owner` as JSON.
    A lock whose owner is provably dead on this host, or older than
    ``max_age`` seconds, is broken (and logged); otherwise the run waits, up to
    ``wait`` seconds, then raises :class:`LockTimeout`.
    """

    def __init__(
        self,
        out: Path,
        *,
        wait: float = LOCK_WAIT,
        max_age: float = LOCK_MAX_AGE,
        poll: float = 0.2,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        self.path = Path(out) / LOCK_FILE
        self.wait, self.max_age, self.poll, self._sleep = wait, max_age, poll, sleep
        self.owner = Owner.me()
        self._token = secrets.token_hex(8)
        self._held = False

    def _content(self) -> str:
        return json.dumps({**self.owner.to_json(), "token": self._token}, sort_keys=True)

    def _try_create(self) -> bool:
        try:
            fd = os.open(self.path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
        except FileExistsError:
            return False
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self._content())
            fh.flush()
            os.fsync(fh.fileno())
        return True

    def _holder(self) -> tuple[str, Owner | None, float | None]:
        try:
            text = self.path.read_text(encoding="utf-8")
            mtime = self.path.stat().st_mtime
        except FileNotFoundError:
            return "", None, None
        try:
            data = json.loads(text)
        except ValueError:
            data = None
        return text, Owner.from_json(data), mtime

    def _break(self, seen: str, why: str) -> None:
        """Remove a stale lock, but only the one judged (another run may have replaced it meanwhile)."""
        aside = self.path.with_name(f"{LOCK_FILE}.stale.{os.getpid()}.{secrets.token_hex(4)}")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        try:
            if aside.read_text(encoding="utf-8") == seen:
                log.warning("removed the stale publishing lock %s: %s", self.path, why)
                return
            try:  # not the lock we judged: put it back unless a new one exists already
                os.link(aside, self.path)
            except FileExistsError:
                pass
        finally:
            aside.unlink(missing_ok=True)

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        deadline = time.monotonic() + self.wait
        while True:
            if self._try_create():
                self._held = True
                return
            text, owner, mtime = self._holder()
            if text or owner is not None:
                stale, why = is_stale(owner, self.max_age, mtime=mtime)
                if owner is None and not stale and mtime is not None and time.time() - mtime > 5.0:
                    stale, why = True, "the lock file is unreadable and older than 5 s"  # a torn write
                if stale:
                    self._break(text, why)
                    continue
            if time.monotonic() >= deadline:
                who = owner.describe() if owner else "an unknown owner"
                raise LockTimeout(
                    f"the reports folder {self.path.parent} is locked by {who} for more than "
                    f"{self.wait:.0f} s; nothing was published. If that run is gone, remove "
                    f"{self.path}."
                )
            self._sleep(self.poll)

    def release(self) -> None:
        if not self._held:
            return
        self._held = False
        text, _, _ = self._holder()
        if self._token in text:
            self.path.unlink(missing_ok=True)
        else:  # pragma: no cover - only if someone broke our lock while we held it
            log.warning("the publishing lock %s was taken over by another run while this one held it", self.path)

    def __enter__(self) -> "PublishLock":
        self.acquire()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.release()


# ----------------------------------------------------------------------------- staging
def create_staging(out: Path, run_id: str, owner: Owner) -> Path:
    """``<out>/.staging/<run_id>/`` with its ``owner.json``."""
    stage = Path(out) / STAGING / run_id
    stage.mkdir(parents=True)
    (stage / OWNER_FILE).write_text(json.dumps(owner.to_json(), sort_keys=True), encoding="utf-8")
    return stage


def staging_owner(stage: Path) -> Owner | None:
    try:
        return Owner.from_json(json.loads((stage / OWNER_FILE).read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None


def clean_stale_staging(out: Path, *, max_age: float = STAGING_MAX_AGE) -> list[Path]:
    """Remove the staging folders of runs that can no longer be running; returns what was removed.

    A folder is removed when its owner is provably dead on this host or
    started more than ``max_age`` seconds ago (see :func:`is_stale`); a live
    run's folder, on this or any other host, is never touched.
    """
    root = Path(out) / STAGING
    removed: list[Path] = []
    if not root.is_dir():
        return removed
    for d in sorted(root.iterdir()):
        if not d.is_dir():
            continue
        try:
            mtime = d.stat().st_mtime
        except FileNotFoundError:
            continue
        stale, why = is_stale(staging_owner(d), max_age, mtime=mtime)
        if stale:
            log.info("removing the staging folder %s: %s", d.name, why)
            shutil.rmtree(d, ignore_errors=True)
            removed.append(d)
    return removed


def remove_staging(stage: Path) -> None:
    """Remove this run's own staging folder (and ``.staging`` when it is empty)."""
    shutil.rmtree(stage, ignore_errors=True)
    try:
        stage.parent.rmdir()
    except OSError:
        pass


__all__ = [
    "LOCK_FILE",
    "LOCK_MAX_AGE",
    "LOCK_WAIT",
    "OWNER_FILE",
    "STAGING",
    "STAGING_MAX_AGE",
    "LockTimeout",
    "Owner",
    "PublishLock",
    "clean_stale_staging",
    "create_staging",
    "is_stale",
    "parse_utc",
    "remove_staging",
    "staging_owner",
    "utc_now",
]
