"""A killed command leaves no worker behind: workers follow their parent's death."""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.convert.inputs import write_inputs
from tests.subprocesses import ROOT
from zarrlake._workers import follow_parent


def _children(pid: int) -> set[int]:
    """The pids whose parent is ``pid`` (Linux /proc)."""
    found = set()
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
        except OSError:
            continue
        # the command name is in parentheses and may hold spaces: fields follow the last ')'
        fields = stat[stat.rindex(")") + 2 :].split()
        if int(fields[1]) == pid:
            found.add(int(entry.name))
    return found


def _alive(pid: int) -> bool:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat[stat.rindex(")") + 2] != "Z"  # a zombie has ended


def _wait_gone(pids: set[int], seconds: float) -> set[int]:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        left = {pid for pid in pids if _alive(pid)}
        if not left:
            return set()
        time.sleep(0.05)
    return {pid for pid in pids if _alive(pid)}


def _sleeping_worker(command_pid: int, ready: multiprocessing.synchronize.Event) -> None:
    follow_parent(command_pid)
    ready.set()
    time.sleep(120)


def _middle(queue: multiprocessing.Queue[int], ready: multiprocessing.synchronize.Event) -> None:
    context = multiprocessing.get_context("fork")
    worker = context.Process(target=_sleeping_worker, args=(os.getpid(), ready))
    worker.start()
    queue.put(worker.pid or 0)
    time.sleep(120)


pytestmark = pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")


def test_a_worker_ends_when_its_parent_is_killed() -> None:
    context = multiprocessing.get_context("fork")
    queue: multiprocessing.Queue[int] = context.Queue()
    ready = context.Event()
    middle = context.Process(target=_middle, args=(queue, ready))
    middle.start()
    worker = queue.get(timeout=30)
    assert ready.wait(30)
    assert _alive(worker)
    os.kill(middle.pid or 0, signal.SIGKILL)
    middle.join(10)
    assert _wait_gone({worker}, 10) == set()


def test_a_worker_whose_parent_died_before_it_watched_ends_at_once() -> None:
    code = (
        "import os, sys, time\n"
        "from zarrlake._workers import follow_parent\n"
        "follow_parent(int(sys.argv[1]))\n"
        "time.sleep(60)\n"
    )
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    started = time.monotonic()
    orphan = subprocess.run(
        [sys.executable, "-c", code, str(gone.pid)], cwd=ROOT, timeout=60, check=False
    )
    assert orphan.returncode == 1
    assert time.monotonic() - started < 30


def test_killing_convert_run_ends_its_workers(tmp_path: Path) -> None:
    # Worker processes (the command's default workers are threads, which end with it).
    inputs = write_inputs(tmp_path / "in", 12, 20, lat=180, lon=360)
    code = (
        "import sys; from zarrlake.convert import run; "
        "run(sys.argv[2:], sys.argv[1], workers=2, executor='processes')"
    )
    command = subprocess.Popen(
        [sys.executable, "-c", code, str(tmp_path / "out.zarr"), *map(str, inputs)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        workers: set[int] = set()
        deadline = time.monotonic() + 60
        while len(workers) < 2 and time.monotonic() < deadline and command.poll() is None:
            workers = _children(command.pid)
            time.sleep(0.02)
        assert len(workers) >= 2, "convert run never started its two workers"
        time.sleep(0.5)  # working workers live until the run ends, seconds from now
        assert all(_alive(pid) for pid in workers), "the workers failed on their own"
        os.kill(command.pid, signal.SIGKILL)
        command.wait(10)
        assert _wait_gone(workers, 10) == set(), "workers outlived the killed command"
    finally:  # whatever happened, leave nothing of the command running
        with contextlib.suppress(ProcessLookupError):
            os.killpg(command.pid, signal.SIGKILL)
