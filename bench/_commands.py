"""Whole commands as a user runs them: process start to exit, peak memory of the tree.

``measure(argv)`` starts the command, samples the proportional set size (PSS) of the
process and all its descendants every 50 ms (forked workers' shared pages count once,
split between them) and returns the wall time from ``Popen`` to exit; ``measure_run``
also returns the CPU seconds (user + system) of the command and every descendant it
waited for, which a loaded machine inflates far less than the wall time. ``alternate``
runs several candidates in turn, ``repeat`` rounds (A B A B ...), so a slow minute of
the machine hits each alike, and keeps every run: the median and the spread are printed.
"""

from __future__ import annotations

import os
import resource
import statistics
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
PYTHON = sys.executable
ZARRLAKE = [PYTHON, "-m", "zarrlake"]


@dataclass
class Runs:
    """Every run of one candidate."""

    name: str
    seconds: list[float] = field(default_factory=list)
    peak_mib: list[float] = field(default_factory=list)
    cpu_seconds: list[float] = field(default_factory=list)

    @property
    def median(self) -> float:
        return statistics.median(self.seconds)

    @property
    def peak(self) -> float:
        return max(self.peak_mib)

    @property
    def cpu(self) -> float:
        return statistics.median(self.cpu_seconds) if self.cpu_seconds else float("nan")

    def spread(self) -> str:
        return f"{min(self.seconds):.2f}-{max(self.seconds):.2f}"


def _tree_pss(process: psutil.Process) -> int:
    total = 0
    try:
        members = [process, *process.children(recursive=True)]
    except psutil.Error:
        return 0
    for member in members:
        try:
            total += member.memory_full_info().pss
        except psutil.Error:
            continue
    return total


@dataclass(frozen=True)
class Measured:
    """One run of a command."""

    seconds: float
    peak_mib: float
    cpu_seconds: float


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def measure(argv: Sequence[str], env: Mapping[str, str] | None = None) -> tuple[float, float]:
    """Run a command to its end; return (wall seconds, peak PSS of its tree in MiB).

    Raises
    ------
    RuntimeError
        When the command fails (its stderr is included).
    """
    run = measure_run(argv, env)
    return run.seconds, run.peak_mib


def measure_run(argv: Sequence[str], env: Mapping[str, str] | None = None) -> Measured:
    """Run a command to its end; return its wall time, peak tree PSS and CPU time.

    Raises
    ------
    RuntimeError
        When the command fails (its stderr is included).
    """
    cpu_before = _children_cpu()
    environment = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
    peak = 0
    done = threading.Event()
    started = time.perf_counter()
    child = subprocess.Popen(
        list(argv), env=environment, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    watched = psutil.Process(child.pid)

    def sample() -> None:
        nonlocal peak
        while not done.wait(0.05):
            peak = max(peak, _tree_pss(watched))

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    _, stderr = child.communicate()
    seconds = time.perf_counter() - started
    done.set()
    sampler.join()
    if child.returncode != 0:
        raise RuntimeError(
            f"{' '.join(argv[:4])} ... exited {child.returncode}: {stderr.decode()[-2000:]}"
        )
    return Measured(seconds, peak / 2**20, _children_cpu() - cpu_before)


def alternate(
    candidates: Mapping[str, Callable[[], Sequence[str]]],
    *,
    repeat: int = 2,
    before_each: Callable[[], None] | None = None,
) -> dict[str, Runs]:
    """Run each candidate's command in turn, ``repeat`` rounds; return every run.

    ``candidates`` maps a name to a function returning the argv (called before each
    run, so it can clear the previous output first); ``before_each`` runs before every
    command (e.g. to remove outputs).
    """
    runs = {name: Runs(name) for name in candidates}
    for _ in range(repeat):
        for name, argv in candidates.items():
            if before_each is not None:
                before_each()
            run = measure_run(argv())
            runs[name].seconds.append(run.seconds)
            runs[name].peak_mib.append(run.peak_mib)
            runs[name].cpu_seconds.append(run.cpu_seconds)
    return runs


def script(name: str) -> list[str]:
    """The argv prefix of a baseline script in bench/scripts/."""
    return [PYTHON, str(ROOT / "bench" / "scripts" / name)]


def startup_floor(repeat: int = 3) -> float:
    """Seconds to start Python and import what any NetCDF-to-Zarr writer needs (median).

    The part of a whole command that no tool avoids: the interpreter and xarray, zarr,
    netCDF4 and numcodecs, on one core before any data moves.
    """
    imports = "import numcodecs.blosc, netCDF4, xarray, zarr"
    return statistics.median(measure([PYTHON, "-c", imports])[0] for _ in range(repeat))
