"""``zarrlake append`` vs the plain ``ds.to_zarr(target, append_dim="time")`` loop.

0. Whole commands, as a user runs them: ``zarrlake append DAY_FILES... -t OUT`` vs
   ``python bench/scripts/xarray_append.py OUT DAY_FILES...`` (process start to exit,
   alternated, peak PSS and CPU of the tree), 40 daily 721 x 1440 files of two
   variables, on the smooth, noisy and sparse shapes of ``bench/_shapes.py``. The bound
   is the cores' encode rate of blosc-zstd-3 on the slices (one core's, measured on
   them, times the cores); the floor adds the start-up any writer pays
   (``startup_floor``: the interpreter and xarray, zarr, netCDF4, numcodecs) and
   reading the files (one core's rate, opening each): ``start-up + input / (cores /
   (1/read + 1/encode))``.
1. 100 slices of time=1 x 720 x 1440 float32, two variables, local target: median seconds
   per slice and peak RSS of each (each in its own fresh process).
2. Growth: 1010 slices of 1 x 90 x 180; median per-slice time around slice 10 and
   around slice 1000, for both.
3. The first case on the local S3 server (fewer slices).
"""

from __future__ import annotations

import shutil
import statistics
import time
from typing import Any

import numpy as np
import xarray as xr

from bench._harness import DATA, Measurement, isolated
from zarrlake._warnings import silence_known_zarr_warnings
from zarrlake.testing import LocalS3Server


def make_slice(i: int, ny: int = 720, nx: int = 1440) -> xr.Dataset:
    rng = np.random.default_rng(i)
    y = np.linspace(-1, 1, ny, dtype="float32")[:, None]
    x = np.linspace(-2, 2, nx, dtype="float32")[None, :]
    base = np.sin(3 * x + i / 10) * np.cos(2 * y)
    return xr.Dataset(
        {
            "t2m": (
                ("time", "lat", "lon"),
                (280 + 10 * base + rng.normal(0, 0.1, base.shape))[None].astype("float32"),
            ),
            "tp": (("time", "lat", "lon"), np.maximum(base, 0)[None].astype("float32")),
        },
        coords={
            "time": [np.datetime64("2026-01-01T00", "ns") + np.timedelta64(i, "h")],
            "lat": np.linspace(90, -90, ny, dtype="float32"),
            "lon": np.linspace(0, 360, nx, endpoint=False, dtype="float32"),
        },
    )


def _store(url: str, options: dict[str, Any] | None) -> Any:
    from zarrlake.storage import open_store

    return open_store(url, mode="a", storage_options=options)


def baseline(url: str, options: dict[str, Any] | None, count: int, ny: int, nx: int) -> list[float]:
    silence_known_zarr_warnings()
    store = _store(url, options)
    times = []
    for i in range(count):
        ds = make_slice(i, ny, nx)
        started = time.perf_counter()
        if i == 0:
            time_encoding = {"time": {"units": "hours since 2026-01-01", "dtype": "int64"}}
            ds.to_zarr(store, mode="w", zarr_format=3, encoding=time_encoding)
        else:
            ds.to_zarr(store, append_dim="time")
        times.append(time.perf_counter() - started)
    return times


def ours(url: str, options: dict[str, Any] | None, count: int, ny: int, nx: int) -> list[float]:
    from zarrlake.append import append

    silence_known_zarr_warnings()
    times: list[float] = []
    append(
        (make_slice(i, ny, nx) for i in range(count)),
        url,
        target_storage_options=options,
        on_slice=lambda report: times.append(report.seconds),
    )
    return times


def _reset(url: str, options: dict[str, Any] | None) -> None:
    if "://" not in url:
        shutil.rmtree(url, ignore_errors=True)
    else:
        from zarrlake.storage import open_store

        open_store(url, mode="w", storage_options=options)


def compare(
    title: str, url: str, options: dict[str, Any] | None, count: int, ny: int, nx: int
) -> tuple[Measurement, Measurement]:
    _reset(url, options)
    base = isolated(
        "ds.to_zarr(append_dim='time') loop", baseline, url, options, count, ny, nx, repeat=1
    )
    _reset(url, options)
    mine = isolated("zarrlake append", ours, url, options, count, ny, nx, repeat=1)
    _reset(url, options)
    b, m = statistics.median(base.result[1:]), statistics.median(mine.result[1:])
    print(f"\n== {title}")
    print(f"  baseline median {b * 1000:8.1f} ms/slice   peak RSS {base.peak_rss_mib:8.1f} MiB")
    print(f"  zarrlake median {m * 1000:8.1f} ms/slice   peak RSS {mine.peak_rss_mib:8.1f} MiB")
    rss = mine.peak_rss_mib - base.peak_rss_mib
    print(f"  ratio zarrlake/baseline per slice: {m / b:.2f}x; peak RSS difference {rss:+.1f} MiB")
    return base, mine


def growth(title: str, url: str, count: int) -> None:
    _reset(url, None)
    base = isolated("baseline", baseline, url, None, count, 90, 180, repeat=1)
    _reset(url, None)
    mine = isolated("zarrlake", ours, url, None, count, 90, 180, repeat=1)
    _reset(url, None)
    print(f"\n== {title}")
    for m in (base, mine):
        early = statistics.median(m.result[5:16])
        late = statistics.median(m.result[-11:])
        print(
            f"  {m.name:<10} slice ~10: {early * 1000:6.1f} ms   "
            f"slice ~{count - 5}: {late * 1000:6.1f} ms   growth {late / early - 1:+.0%}"
        )


def whole_commands(repeat: int = 2) -> None:
    """Case 0: the CLI against the plain script, process start to exit."""
    import os

    from numcodecs import Blosc

    from bench._commands import ZARRLAKE, alternate, script, startup_floor
    from bench._shapes import SHAPES, daily, daily_probe, read_rate, size_of

    out = DATA / "append-out"
    config = DATA / "append-bench.yaml"
    config.write_text('variables: {"*": {encoding: {compression: "blosc:zstd:3:shuffle"}}}\n')
    shapes = os.environ.get("BENCH_SHAPES", ",".join(SHAPES)).split(",")

    def clear() -> None:
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)

    cores = os.cpu_count() or 1
    startup = startup_floor()
    for shape in shapes:
        paths = daily(shape)
        size = size_of(paths)
        encode, ratio = daily_probe(paths, Blosc(cname="zstd", clevel=3, shuffle=Blosc.SHUFFLE))
        bound = cores * encode
        read = read_rate(paths)
        floor = startup + size / (cores / (1 / read + 1 / encode))
        runs = alternate(
            {
                "to_zarr(append_dim) loop script": lambda paths=paths: [
                    *script("xarray_append.py"),
                    str(out / "baseline.zarr"),
                    *paths,
                ],
                "zarrlake append": lambda paths=paths: [
                    *ZARRLAKE,
                    "append",
                    *paths,
                    "-t",
                    str(out / "zarrlake.zarr"),
                    "-c",
                    str(config),
                ],
            },
            repeat=repeat,
            before_each=clear,
        )
        print(
            f"\n== append {shape}: {len(paths)} daily files, {size / 1e6:.0f} MB; bound "
            f"{cores} x encode {encode / 1e6:.0f} = {bound / 1e6:.0f} MB/s (ratio {ratio:.2f}); "
            f"floor {floor:.2f} s ({startup:.2f} s start-up, read {read / 1e6:.0f} MB/s a core)"
        )
        for run in runs.values():
            print(
                f"  {run.name:<34} {run.median:6.2f} s (runs {run.spread()})  "
                f"{size / run.median / bound:4.0%} of bound  {floor / run.median:4.0%} of floor  "
                f"peak {run.peak:6.0f} MiB  cpu {run.cpu:6.2f} s"
            )
        base, ours = runs.values()
        print(
            f"  ratio: time {ours.median / base.median:.2f} of the script's, "
            f"peak memory {ours.peak / base.peak:.2f}, cpu {ours.cpu / base.cpu:.2f}"
        )
    shutil.rmtree(out, ignore_errors=True)


def main() -> None:
    DATA.mkdir(parents=True, exist_ok=True)
    whole_commands()
    local = str(DATA / "append.zarr")
    compare(
        "append, 100 slices of 1x720x1440 float32, 2 variables, local", local, None, 100, 720, 1440
    )
    growth("append growth, 1010 slices of 1x90x180, local", local, 1010)
    with LocalS3Server() as server:
        bucket = server.create_bucket()
        compare(
            "append, 20 slices of 1x720x1440, S3 server on 127.0.0.1",
            f"s3://{bucket}/append.zarr",
            server.storage_options,
            20,
            720,
            1440,
        )


if __name__ == "__main__":
    main()
