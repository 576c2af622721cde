"""Run a benchmark candidate in a fresh process and measure wall time and peak RSS."""

from __future__ import annotations

import multiprocessing
import resource
import statistics
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import psutil

DATA = Path(__file__).resolve().parent / "data"


@dataclass
class Measurement:
    name: str
    seconds: float
    peak_rss_mib: float
    result: Any = None


class _TreeSampler(threading.Thread):
    """Samples the memory of this process and its children (worker pools).

    The sum of PSS (proportional set size): pages forked workers share with their
    parent count once, split between them, instead of once per process as RSS would.
    """

    def __init__(self, interval: float = 0.1) -> None:
        super().__init__(daemon=True)
        self.interval = interval
        self.peak = 0
        self.stop = threading.Event()

    def run(self) -> None:
        me = psutil.Process()
        while not self.stop.wait(self.interval):
            total = 0
            for process in [me, *me.children(recursive=True)]:
                try:
                    total += process.memory_full_info().pss
                except psutil.Error:
                    continue
            self.peak = max(self.peak, total)


def _child(fn: Callable[..., Any], args: tuple[Any, ...], queue: Any) -> None:
    sampler = _TreeSampler()
    sampler.start()
    start = time.perf_counter()
    try:
        result = fn(*args)
    except BaseException as exc:
        queue.put(exc)  # the parent must not wait forever for a failed candidate
        raise
    elapsed = time.perf_counter() - start
    sampler.stop.set()
    sampler.join()
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    # worker processes count too: the sampled peak of the whole process tree
    peak = max(own, sampler.peak / 2**20)
    queue.put((elapsed, peak, result))


def isolated(name: str, fn: Callable[..., Any], *args: Any, repeat: int = 3) -> Measurement:
    """Run ``fn(*args)`` ``repeat`` times, each in a new process; keep the median time."""
    context = multiprocessing.get_context("spawn")
    runs = []
    for _ in range(repeat):
        queue = context.Queue()
        process = context.Process(target=_child, args=(fn, args, queue))
        process.start()
        outcome = queue.get()
        process.join()
        if isinstance(outcome, BaseException):
            raise RuntimeError(f"{name} failed: {outcome!r}")
        runs.append(outcome)
        if process.exitcode != 0:
            raise RuntimeError(f"{name} failed with exit code {process.exitcode}")
    seconds = statistics.median(r[0] for r in runs)
    return Measurement(name, seconds, max(r[1] for r in runs), runs[-1][2])


def report(title: str, baseline: Measurement, ours: Measurement) -> None:
    """Print both measurements and the ratios."""
    speedup = baseline.seconds / ours.seconds if ours.seconds else float("inf")
    print(f"\n== {title}")
    for m in (baseline, ours):
        print(f"  {m.name:<40} {m.seconds:8.3f} s   peak RSS {m.peak_rss_mib:8.1f} MiB")
    print(
        f"  ratio: {speedup:.2f}x faster than the baseline; "
        f"peak RSS {ours.peak_rss_mib - baseline.peak_rss_mib:+.1f} MiB vs baseline"
    )


def free_port() -> int:
    """Return a TCP port on 127.0.0.1 that is free now (for a server a benchmark starts)."""
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
