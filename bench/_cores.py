"""Where a command's cores idle: CPU seconds per thread, sampled every 100 ms.

``python -m bench._cores COMMAND...`` runs the command (stderr to ``$BENCH_CORES_LOG``,
default ``/dev/null``, so ``ZARRLAKE_LOG_FORMAT=json`` events can be kept beside it) and
reads ``/proc/PID/task/*/stat`` of the command's process every 100 ms; it prints, per
half second, how many cores the process used and its busiest threads (name-tid). Linux
only; the command's own child processes are not followed (threads are what
``convert run`` uses by default).
"""

from __future__ import annotations

import collections
import os
import subprocess
import sys
import time

_TICKS = os.sysconf("SC_CLK_TCK")


def thread_cpu(pid: int) -> dict[str, float]:
    """Return CPU seconds (user + system) by thread, keyed ``name-tid``."""
    seconds = {}
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return {}
    for tid in tids:
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as handle:
                stat = handle.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        seconds[f"{name}-{tid}"] = (int(fields[11]) + int(fields[12])) / _TICKS
    return seconds


def main(argv: list[str]) -> None:
    """Run ``argv`` and print its cores in use per half second."""
    log = os.environ.get("BENCH_CORES_LOG", os.devnull)
    started = time.perf_counter()
    with open(log, "w") as errors:
        child = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=errors)
        before: dict[str, float] = {}
        buckets: dict[int, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        while child.poll() is None:
            now = thread_cpu(child.pid)
            at = int((time.perf_counter() - started) * 2)
            for thread, cpu in now.items():
                buckets[at][thread] += cpu - before.get(thread, 0.0)
            before = now
            time.sleep(0.1)
    wall = time.perf_counter() - started
    for at in sorted(buckets):
        used = buckets[at]
        busiest = ", ".join(f"{n} {v:.2f}" for n, v in used.most_common(4) if v > 0.01)
        print(f"{at / 2:5.1f} s  cores {sum(used.values()) / 0.5:4.2f}  {busiest}")
    print(f"wall {wall:.2f} s, exit {child.returncode}")


if __name__ == "__main__":
    main(sys.argv[1:])
