"""``zarrlake convert run`` vs the xarray script it replaces, as whole commands.

Each candidate is a command a user types, timed from process start to exit, with the
peak memory (PSS) of its whole process tree; the two alternate in one run (A B A B) on
six data sets of ~1 GB (``bench/_shapes.py``: smooth, noisy and sparse fields; files
aligned with the 30-step time chunks, and files of 10 steps so each chunk spans 3):

- baseline: ``python bench/scripts/xarray_convert.py OUT FILES...``
  (``open_mfdataset(...).chunk(...).to_zarr(...)``, dask threads);
- ``zarrlake convert run FILES... -O OUT --workers 2`` with the same chunks and codec
  (blosc zstd 3, byte shuffle, Zarr format 3) and its default verify;
- ``zarrlake convert run ... --no-verify``, to show what the verify costs.

The bound: conversion is compression-bound on this machine, so it is the rate at
which the cores can encode these data (one core's blosc-zstd-3 encode rate on chunks of
the data set, times the cores), unless writing the *compressed* bytes (input / the
compression ratio measured on those chunks) at the disk's write rate takes longer.
The floor of a whole command adds what any conversion must do besides encoding: start
Python and import xarray, zarr, netCDF4 and numcodecs (timed here, median of 3, one
core), and read the inputs into memory (one core's rate through xarray, page cache
warm); ``floor = start-up + input / min(disk term, cores / (1/read + 1/encode))``.
The time a candidate needs to be 1.5x faster than the script is printed beside it.
Printed: median seconds and the spread, MB/s of input, share of the bound, peak memory,
CPU seconds of the whole process tree (user + system; a loaded machine inflates them
far less than the wall time), and ratios. ``BENCH_ZARRLAKE_ONLY=1`` skips the
``--no-verify`` candidate. ``BENCH_BEFORE=SRC`` adds ``zarrlake convert run`` from another
checkout's ``src`` (e.g. a ``git worktree`` of main) to the alternation: an A/B of a
change, with the same measuring as the rest. ``BENCH_LIBRARY=1`` adds ``run()`` called
from a script (``bench/scripts/zarrlake_run.py``), without and with
``tune_process_memory()``: the peak a notebook or a service gets.
``BENCH_SHAPES=smooth`` / ``BENCH_LAYOUTS=aligned`` / ``BENCH_REPEAT=3`` narrow or widen
the run.
"""

from __future__ import annotations

import os
import shutil
import time

from bench._commands import ZARRLAKE, Runs, alternate, script, startup_floor
from bench._harness import DATA
from bench._shapes import (
    CHUNKS,
    LAYOUTS,
    SHAPES,
    dataset,
    encode_probe,
    read_rate,
    size_of,
)

OUT = DATA / "convert-out"
CORES = os.cpu_count() or 1


def disk_rate(size: int = 1 << 30) -> float:
    """Sequential write bandwidth of the bench folder (written, fsynced), bytes/s."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / "disk-probe.bin"
    block = os.urandom(8 << 20)
    started = time.perf_counter()
    with open(path, "wb") as handle:
        for _ in range(size // len(block)):
            handle.write(block)
        handle.flush()
        os.fsync(handle.fileno())
    seconds = time.perf_counter() - started
    path.unlink()
    return size / seconds


def _clear() -> None:
    shutil.rmtree(OUT, ignore_errors=True)
    OUT.mkdir(parents=True)


def _zarrlake(paths: list[str], *extra: str) -> list[str]:
    chunks = [item for dim, size in CHUNKS.items() for item in ("--chunk", f"{dim}={size}")]
    return [
        *ZARRLAKE,
        "convert",
        "run",
        *paths,
        "-O",
        str(OUT / "zarrlake.zarr"),
        *chunks,
        "--compression",
        "blosc:zstd:3:shuffle",
        "--workers",
        str(CORES),
        *extra,
    ]


def one(shape: str, layout: str, repeat: int, disk: float, startup: float) -> dict[str, Runs]:
    """Measure the candidates on one data set and print them."""
    from numcodecs import Blosc

    paths = dataset(shape, layout)
    size = size_of(paths)
    encode, ratio = encode_probe(paths, Blosc(cname="zstd", clevel=3, shuffle=Blosc.SHUFFLE))
    # input bytes per second the disk allows: it writes only the compressed bytes
    disk_input = disk * ratio
    bound = min(disk_input, CORES * encode)
    read = read_rate(paths)
    floor = startup + size / min(disk_input, CORES / (1 / read + 1 / encode))
    candidates = {
        "xarray script (open_mfdataset.to_zarr)": lambda: [
            *script("xarray_convert.py"),
            str(OUT / "baseline.zarr"),
            *paths,
        ],
        "zarrlake convert run": lambda: _zarrlake(paths),
        "zarrlake convert run --no-verify": lambda: _zarrlake(paths, "--no-verify"),
    }
    if os.environ.get("BENCH_ZARRLAKE_ONLY"):
        del candidates["zarrlake convert run --no-verify"]
    if os.environ.get("BENCH_LIBRARY"):
        library = [*script("zarrlake_run.py")]
        candidates["run() from a script"] = lambda: [*library, str(OUT / "lib.zarr"), *paths]
        candidates["run() after tune_process_memory()"] = lambda: [
            *library,
            "--tune",
            str(OUT / "lib.zarr"),
            *paths,
        ]
    before = os.environ.get("BENCH_BEFORE")
    if before:
        # env(1) execs the command: the tree measured is the command's alone
        candidates["zarrlake convert run (BENCH_BEFORE)"] = lambda: [
            "env",
            f"PYTHONPATH={before}",
            *_zarrlake(paths),
        ]
    runs = alternate(candidates, repeat=repeat, before_each=_clear)
    files, steps = LAYOUTS[layout]
    print(
        f"\n== convert {shape}/{layout}: {files} files x {steps} steps, {size / 1e9:.2f} GB; "
        f"bound min(disk {disk / 1e6:.0f} MB/s x ratio {ratio:.2f} = {disk_input / 1e6:.0f}, "
        f"{CORES} x encode {encode / 1e6:.0f}) = {bound / 1e6:.0f} MB/s of input; floor "
        f"{floor:.2f} s ({startup:.2f} s start-up, read {read / 1e6:.0f} MB/s a core)"
    )
    for run in runs.values():
        rate = size / run.median
        print(
            f"  {run.name:<40} {run.median:6.2f} s (runs {run.spread()})  {rate / 1e6:5.0f} MB/s"
            f"  {rate / bound:4.0%} of bound  {floor / run.median:4.0%} of floor  "
            f"peak {run.peak:6.0f} MiB  cpu {run.cpu:6.2f} s"
        )
    base, ours, *rest = runs.values()
    verify = ""
    if rest and rest[0].name.endswith("--no-verify"):
        verify = f"; default verify {(ours.median - rest[0].median) / ours.median:+.1%} of the run"
    if rest and rest[-1].name.endswith("(BENCH_BEFORE)"):
        old = rest[-1]
        verify += (
            f"; vs BENCH_BEFORE: time {ours.median / old.median:.2f}, peak "
            f"{ours.peak / old.peak:.2f}, cpu {ours.cpu / old.cpu:.2f}"
        )
    print(
        f"  ratio: time {ours.median / base.median:.2f} of the script's, peak memory "
        f"{ours.peak / base.peak:.2f}, cpu {ours.cpu / base.cpu:.2f}{verify}; "
        f"1.5x faster than the script = {base.median / 1.5:.2f} s, "
        f"{base.median / 1.5 / floor:.2f} of the floor (zarrlake: {ours.median / floor:.2f})"
    )
    return runs


def main() -> None:
    """Run every data set (or those named in BENCH_SHAPES / BENCH_LAYOUTS)."""
    shapes = os.environ.get("BENCH_SHAPES", ",".join(SHAPES)).split(",")
    layouts = os.environ.get("BENCH_LAYOUTS", ",".join(LAYOUTS)).split(",")
    repeat = int(os.environ.get("BENCH_REPEAT", "2"))
    for shape in shapes:
        for layout in layouts:
            dataset(shape, layout)  # generated before any timing
    disk = disk_rate()
    startup = startup_floor()
    for shape in shapes:
        for layout in layouts:
            one(shape, layout, repeat, disk, startup)
    shutil.rmtree(OUT, ignore_errors=True)


if __name__ == "__main__":
    main()
