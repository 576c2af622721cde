from __future__ import annotations

import json
import multiprocessing
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from tests.conftest import StoreTarget, make_target
from tests.txn.helpers import put_private, read_private
from zarrlake.errors import ConflictError, LockedError
from zarrlake.storage import open_store, run_sync
from zarrlake.txn import LOCK_KEY, ArchiveLock, LockOptions, read_lock

NO_WAIT = LockOptions(wait=False)


def _forged(host: str, age: float) -> bytes:
    return json.dumps(
        {
            "owner_id": "forged",
            "host": host,
            "pid": 4242,
            "pid_started": 0.0,
            "command": "zarrlake append x",
            "acquired": "2026-01-01T00:00:00+00:00",
            "heartbeat": time.time() - age,
        }
    ).encode()


def test_second_writer_is_refused_with_the_owner_named(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    with ArchiveLock(store), pytest.raises(LockedError) as info:
        ArchiveLock(store_target.open("a"), NO_WAIT).acquire()
    error = info.value
    assert f"pid {os.getpid()}" in str(error) and store_target.url in str(error)
    assert error.owner is not None and error.owner["pid"] == os.getpid()
    assert error.subject == store_target.url
    assert read_private(store, LOCK_KEY) is None  # released


def test_waiting_times_out(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    with ArchiveLock(store):
        started = time.monotonic()
        with pytest.raises(LockedError, match="is locked by"):
            ArchiveLock(store, LockOptions(timeout=0.5, poll_interval=0.05)).acquire()
        assert 0.45 < time.monotonic() - started < 5


def test_waiting_succeeds_when_released(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    first = ArchiveLock(store)
    first.acquire()
    threading.Timer(0.3, first.release).start()
    with ArchiveLock(store, LockOptions(timeout=10, poll_interval=0.05)) as second:
        assert second.owner is not None


def _take_lock_and_hang(url: str, options: dict | None, ready) -> None:
    lock = ArchiveLock(open_store(url, mode="a", storage_options=options))
    lock.acquire()
    ready.set()
    time.sleep(600)


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_lock_of_a_killed_writer_is_broken_automatically(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    target = make_target(kind, request, tmp_path)
    context = multiprocessing.get_context("spawn")
    ready = context.Event()
    process = context.Process(
        target=_take_lock_and_hang, args=(target.url, target.storage_options, ready)
    )
    process.start()
    assert ready.wait(60)
    os.kill(process.pid, signal.SIGKILL)
    process.join()
    holder = run_sync(read_lock(target.open("a")))
    assert holder is not None and holder.pid == process.pid  # the dead writer's lock is there
    with ArchiveLock(target.open("a"), NO_WAIT) as lock:  # no --break-lock needed
        assert lock.owner is not None and lock.owner.pid == os.getpid()


def test_stale_lock_elsewhere_needs_break_lock(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    put_private(store, LOCK_KEY, _forged("another-host", age=3600))
    with pytest.raises(LockedError, match="--break-lock") as info:
        ArchiveLock(store, NO_WAIT).acquire()
    assert info.value.owner["host"] == "another-host"
    with ArchiveLock(store, LockOptions(wait=False, break_stale=True)) as lock:
        assert run_sync(read_lock(store)).owner_id == lock.owner.owner_id


def test_live_lock_elsewhere_is_not_broken(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    put_private(store, LOCK_KEY, _forged("another-host", age=1))
    with pytest.raises(LockedError, match="wait for it to finish"):
        ArchiveLock(store, LockOptions(wait=False, break_stale=True)).acquire()


def test_unreadable_lock_record_counts_as_held(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    put_private(store, LOCK_KEY, b"\x00garbage")
    with pytest.raises(LockedError, match="unreadable"):
        ArchiveLock(store, NO_WAIT).acquire()


def test_heartbeat_advances(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    with ArchiveLock(store, LockOptions(heartbeat_interval=0.05)) as lock:
        first = lock.owner.heartbeat
        time.sleep(0.4)
        assert run_sync(read_lock(store)).heartbeat > first


def test_lost_lock_is_noticed_and_never_deleted(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    lock = ArchiveLock(store, LockOptions(heartbeat_interval=3600))  # beats driven by hand
    lock.acquire()
    lock.verify()
    put_private(store, LOCK_KEY, _forged("breaker-host", age=0))
    lock.refresh()
    assert lock.lost
    with pytest.raises(ConflictError, match="taken by another writer"):
        lock.verify()
    lock.release()
    assert run_sync(read_lock(store)).owner_id == "forged"  # we never delete someone else's lock


def test_a_breaker_that_died_mid_break_blocks_nobody(store_target: StoreTarget) -> None:
    store = store_target.open("a")
    dead = json.loads(_forged(socket.gethostname(), age=0))
    dead["pid"], dead["owner_id"] = _dead_pid(), "dead-writer"
    put_private(store, LOCK_KEY, json.dumps(dead).encode())
    # a breaker (also dead now) claimed the break of that lock but never took it over
    breaker = dict(dead, owner_id="dead-breaker")
    put_private(store, "broken-dead-writer", json.dumps(breaker).encode())
    with ArchiveLock(store, NO_WAIT) as lock:
        assert run_sync(read_lock(store)).owner_id == lock.owner.owner_id


def _dead_pid() -> int:
    process = subprocess.Popen([sys.executable, "-c", "pass"])
    process.wait()
    return process.pid


BREAKER = """
import sys, time
from zarrlake.storage import open_store, atomic_put, read_bytes
from zarrlake.txn import ArchiveLock, LockOptions
import json
url, options = sys.argv[1], json.loads(sys.argv[2])
store = open_store(url, mode="a", storage_options=options or None)
with ArchiveLock(store, LockOptions(break_stale=True, timeout=60, poll_interval=0.02)):
    me = str(__import__("os").getpid()).encode()
    atomic_put(store, "holder", me)
    time.sleep(0.2)
    assert read_bytes(store, "holder") == me, "two writers held the lock at once"
    atomic_put(store, "holder", b"")
"""


@pytest.mark.parametrize("kind", ["local", "s3"])
def test_racing_breakers_hold_the_lock_one_at_a_time(
    kind: str, request: pytest.FixtureRequest, tmp_path: Path
) -> None:
    target = make_target(kind, request, tmp_path)
    put_private(target.open("a"), LOCK_KEY, _forged("another-host", age=3600))
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", BREAKER, target.url, json.dumps(target.storage_options)],
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(4)
    ]
    errors = [p.communicate(timeout=120)[1] for p in procs]
    assert [p.returncode for p in procs] == [0, 0, 0, 0], errors
    assert run_sync(read_lock(target.open("a"))) is None
