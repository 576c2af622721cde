"""Subprocess entry point for the conversion crash tests.

    python -m tests.convert.workers run TARGET INPUT... [--slow S]

Prints READY after its imports; ``--slow`` sleeps before each unit so a SIGKILL can
land between and inside units.
"""

from __future__ import annotations

import subprocess
import sys
import time

from tests.subprocesses import spawn_module


def spawn(*args: str) -> subprocess.Popen[str]:
    """Start ``python -m tests.convert.workers ARGS`` and wait until it prints READY."""
    return spawn_module("tests.convert.workers", *args, wait_ready=True)


def main(argv: list[str]) -> None:
    from zarrlake._warnings import silence_known_zarr_warnings
    from zarrlake.convert import run
    from zarrlake.convert._writer import ArchiveWriter

    silence_known_zarr_warnings()
    slow = 0.0
    if "--slow" in argv:
        at = argv.index("--slow")
        slow = float(argv[at + 1])
        del argv[at : at + 2]
    if slow:
        original = ArchiveWriter.write_unit

        def slow_unit(self, unit, read):
            time.sleep(slow)
            return original(self, unit, read)

        ArchiveWriter.write_unit = slow_unit  # type: ignore[method-assign]
    command, target, *inputs = argv
    assert command == "run"
    print("READY", flush=True)
    result = run(inputs, target, chunks={"time": 7}, workers=1, chunks_per_unit=1, verify=False)
    print(f"DONE {result.units_written}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
