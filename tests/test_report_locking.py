"""Owners, the publishing lock and staging folders shared by several runs and hosts."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
import threading
import time
from dataclasses import replace
from pathlib import Path

import pytest

from retainkit.report import locking as lk


def _other_host(**kw) -> lk.Owner:
    """An owner on another machine (same PID as ours, so only the host tells them apart)."""
    me = lk.Owner.me()
    return replace(me, host="other-host.example", boot_id="0000", pid_ns="pid:[1]", **kw)


def _dead_local_owner() -> lk.Owner:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return replace(lk.Owner.me(), pid=proc.pid, proc_start="1")


def _ago(seconds: float) -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() - seconds))


def test_owner_round_trips_and_knows_itself():
    me = lk.Owner.me()
    assert me.host and me.pid == os.getpid() and lk.parse_utc(me.started) is not None
    assert lk.Owner.from_json(json.loads(json.dumps(me.to_json()))) == me
    assert me.same_host() and me.alive_here() and me.is_me() and not me.provably_dead()
    assert lk.Owner.from_json({"host": "x"}) is None and lk.Owner.from_json("nonsense") is None


def test_a_dead_process_on_this_host_is_provably_dead():
    dead = _dead_local_owner()
    assert dead.same_host() and not dead.alive_here() and dead.provably_dead()
    assert lk.is_stale(dead, lk.STAGING_MAX_AGE)[0]


def test_pid_reuse_is_not_mistaken_for_the_owner():
    reused = replace(lk.Owner.me(), proc_start="1")  # our PID, but another process start time
    assert not reused.alive_here() and reused.provably_dead()


def test_another_host_is_never_judged_by_its_pid():
    other = _other_host()
    assert not other.same_host() and not other.provably_dead()
    stale, why = lk.is_stale(other, lk.STAGING_MAX_AGE)
    assert not stale and "other-host.example" in why
    # the same host name in another PID namespace (another container) is not "this host" either
    container = replace(lk.Owner.me(), pid_ns="pid:[4026531836999]", pid=1)
    assert not container.same_host() and not container.provably_dead()
    # only age makes a foreign owner stale
    old = _other_host(started=_ago(lk.STAGING_MAX_AGE + 60))
    assert lk.is_stale(old, lk.STAGING_MAX_AGE)[0]


def test_clean_stale_staging_removes_only_dead_or_old_owners(tmp_path):
    live_foreign = lk.create_staging(tmp_path, "foreign-live", _other_host())
    old_foreign = lk.create_staging(tmp_path, "foreign-old", _other_host(started=_ago(lk.STAGING_MAX_AGE + 60)))
    dead_local = lk.create_staging(tmp_path, "local-dead", _dead_local_owner())
    mine = lk.create_staging(tmp_path, "mine", lk.Owner.me())
    no_owner = tmp_path / lk.STAGING / "no-owner-yet"
    no_owner.mkdir()
    removed = {p.name for p in lk.clean_stale_staging(tmp_path)}
    assert removed == {"foreign-old", "local-dead"}
    assert live_foreign.is_dir() and mine.is_dir() and no_owner.is_dir()
    assert not old_foreign.exists() and not dead_local.exists()
    old = time.time() - lk.STAGING_MAX_AGE - 60
    os.utime(no_owner, (old, old))
    assert {p.name for p in lk.clean_stale_staging(tmp_path)} == {"no-owner-yet"}


def test_lock_is_exclusive_and_released(tmp_path):
    with lk.PublishLock(tmp_path) as lock:
        held = json.loads(lock.path.read_text())
        assert held["host"] == lk.Owner.me().host and held["pid"] == os.getpid()
        with pytest.raises(lk.LockTimeout, match="locked by host"):
            lk.PublishLock(tmp_path, wait=0.3, poll=0.05).acquire()
    assert not (tmp_path / lk.LOCK_FILE).exists()


def test_lock_of_a_dead_local_process_is_broken(tmp_path, caplog):
    (tmp_path / lk.LOCK_FILE).write_text(json.dumps(_dead_local_owner().to_json()))
    with lk.PublishLock(tmp_path, wait=1):
        pass
    assert "stale publishing lock" in caplog.text and "no longer running" in caplog.text


def test_lock_of_a_live_other_host_is_waited_for_then_old_one_broken(tmp_path):
    path = tmp_path / lk.LOCK_FILE
    path.write_text(json.dumps(_other_host().to_json()))
    with pytest.raises(lk.LockTimeout, match="other-host.example"):
        lk.PublishLock(tmp_path, wait=0.3, poll=0.05).acquire()
    assert path.exists()  # never broken by PID
    # released by its owner while we wait
    threading.Timer(0.3, path.unlink).start()
    with lk.PublishLock(tmp_path, wait=5, poll=0.05):
        pass
    # older than the stated age: broken
    path.write_text(json.dumps(_other_host(started=_ago(lk.LOCK_MAX_AGE + 5)).to_json()))
    with lk.PublishLock(tmp_path, wait=1, poll=0.05):
        pass


def _count_under_lock(out: str, counter: str, n: int) -> None:
    for _ in range(n):
        with lk.PublishLock(Path(out), poll=0.005):
            value = int(Path(counter).read_text())
            time.sleep(0.001)
            Path(counter).write_text(str(value + 1))


def test_lock_serialises_processes(tmp_path):
    counter = tmp_path / "counter"
    counter.write_text("0")
    ctx = mp.get_context("fork")  # no re-import of retainkit in each child
    procs = [ctx.Process(target=_count_under_lock, args=(str(tmp_path), str(counter), 25)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    assert [p.exitcode for p in procs] == [0, 0, 0]
    assert counter.read_text() == "75"  # no lost update
