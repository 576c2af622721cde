"""``zarrlake convert run --workers 2`` vs ``xr.open_mfdataset(...).to_zarr(...)`` (dask threads).

Data: four ERA5-like monthly files (Jan-Apr 2020, 121 daily steps) of 721 x 1440 float32,
two variables with CF attributes, about 1 GB; chunks (30, 361, 720), blosc zstd 3 with
byte shuffle. The files (31/29/31/30 days) do not line up with the 30-step chunks.

Printed, from one run: seconds and MB/s of each (each in its own fresh process, peak
RSS of the whole process tree), the speed ratio, the RSS ratio, and this machine's bound
min(disk write bandwidth, 2 x one core's blosc-zstd-3 encode rate on the same data) with
the share of it each reaches.
"""

from __future__ import annotations

import os
import shutil
import time

import numpy as np
import pandas as pd
import xarray as xr

from bench._harness import DATA, isolated
from zarrlake._warnings import silence_known_zarr_warnings
from zarrlake.convert import run

# Both candidates import their libraries when this module loads (xarray above,
# zarrlake here), so neither's timing includes imports it cannot avoid.

FOLDER = DATA / "convert"
CHUNKS = {"time": 30, "latitude": 361, "longitude": 720}
MONTHS = ["2020-01", "2020-02", "2020-03", "2020-04"]


def _month(month: str, seed: int) -> xr.Dataset:
    days = pd.Period(month).days_in_month
    rng = np.random.default_rng(seed)
    lat = np.linspace(90, -90, 721, dtype="float32")
    lon = np.linspace(0, 359.75, 1440, dtype="float32")
    day = np.arange(days, dtype="float32")[:, None, None]
    base = 288 - 40 * np.abs(np.sin(np.deg2rad(lat)))[None, :, None]
    wave = (
        6
        * np.sin(np.deg2rad(lon)[None, None, :] * 3 + day / 5)
        * np.cos(np.deg2rad(lat))[None, :, None]
    )
    noise = rng.normal(0, 0.5, (days, 721, 1440)).astype("float32")
    t2m = np.round(base + wave + noise, 2).astype("float32")  # ERA5-like precision
    tp = np.round(np.maximum(wave / 6 + noise / 2, 0) * 0.01, 5).astype("float32")
    return xr.Dataset(
        {
            "t2m": (("time", "latitude", "longitude"), t2m, {"units": "K"}),
            "tp": (("time", "latitude", "longitude"), tp, {"units": "m"}),
        },
        coords={
            "time": pd.date_range(f"{month}-01", periods=days, freq="D"),
            "latitude": ("latitude", lat, {"units": "degrees_north"}),
            "longitude": ("longitude", lon, {"units": "degrees_east"}),
        },
        attrs={"title": "ERA5-like monthly file", "Conventions": "CF-1.8"},
    )


def inputs() -> list[str]:
    """Generate the monthly files once (kept under bench/data/convert)."""
    FOLDER.mkdir(parents=True, exist_ok=True)
    paths = []
    for i, month in enumerate(MONTHS):
        path = FOLDER / f"era5_{month}.nc"
        if not path.exists():
            _month(month, i).to_netcdf(path, engine="netcdf4")
        paths.append(str(path))
    return paths


def _drop_page_cache_of_outputs() -> None:
    for name in ("baseline.zarr", "zarrlake.zarr"):
        shutil.rmtree(FOLDER / name, ignore_errors=True)


def baseline(paths: list[str], target: str) -> None:
    """Plain xarray: open_mfdataset, rechunk to the target chunks, to_zarr (dask threads)."""
    from numcodecs import Blosc

    shutil.rmtree(target, ignore_errors=True)
    ds = xr.open_mfdataset(paths, combine="by_coords").chunk(CHUNKS)
    codec = Blosc(cname="zstd", clevel=3, shuffle=Blosc.SHUFFLE)
    encoding = {v: {"compressors": [codec]} for v in ds.data_vars}
    ds.to_zarr(target, mode="w", zarr_format=2, encoding=encoding, consolidated=True)


def ours(paths: list[str], target: str) -> int:
    """zarrlake: convert run with two worker processes (scan, template, units, verify)."""
    silence_known_zarr_warnings()
    shutil.rmtree(target, ignore_errors=True)
    result = run(
        paths,
        target,
        chunks=CHUNKS,
        compression="blosc:zstd:3:shuffle",
        zarr_format=2,
        workers=2,
        verify_sample=0,
    )
    assert result.report is not None and result.report.valid, result.report.errors()
    return result.units_written


def encode_rate(paths: list[str]) -> float:
    """One core's blosc-zstd-3 (shuffle) encode rate on the first file's chunks, bytes/s."""
    import numcodecs.blosc
    from numcodecs import Blosc

    numcodecs.blosc.set_nthreads(1)
    codec = Blosc(cname="zstd", clevel=3, shuffle=Blosc.SHUFFLE)
    with xr.open_dataset(paths[0]) as ds:
        block = np.ascontiguousarray(ds["t2m"].values[:30, :361, :720])
        other = np.ascontiguousarray(ds["tp"].values[:30, :361, :720])
    started = time.perf_counter()
    rounds = 4
    for _ in range(rounds):
        codec.encode(block)
        codec.encode(other)
    return rounds * (block.nbytes + other.nbytes) / (time.perf_counter() - started)


def disk_rate(size: int = 1 << 30) -> float:
    """Sequential write bandwidth of the bench folder (written, fsynced), bytes/s."""
    path = FOLDER / "disk-probe.bin"
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


def main() -> None:
    """Run the benchmark and print the ratios."""
    paths = inputs()
    size = sum(os.path.getsize(p) for p in paths)
    print(f"\n== convert: {len(paths)} monthly files, {size / 1e9:.2f} GB, chunks {CHUNKS}")
    _drop_page_cache_of_outputs()
    base = isolated(
        "xr.open_mfdataset().to_zarr() (dask threads)",
        baseline,
        paths,
        str(FOLDER / "baseline.zarr"),
        repeat=2,
    )
    mine = isolated(
        "zarrlake convert run --workers 2", ours, paths, str(FOLDER / "zarrlake.zarr"), repeat=2
    )
    encode = encode_rate(paths)
    disk = disk_rate()
    bound = min(disk, 2 * encode)
    for m in (base, mine):
        rate = size / m.seconds
        print(
            f"  {m.name:<46} {m.seconds:7.2f} s  {rate / 1e6:7.0f} MB/s  "
            f"({rate / bound:4.0%} of bound)  peak RSS {m.peak_rss_mib:7.0f} MiB"
        )
    print(
        f"  bound: min(disk {disk / 1e6:.0f} MB/s, 2 x encode {encode / 1e6:.0f} MB/s) "
        f"= {bound / 1e6:.0f} MB/s"
    )
    print(
        f"  ratio: {base.seconds / mine.seconds:.2f}x faster than the baseline; "
        f"peak RSS {mine.peak_rss_mib / base.peak_rss_mib:.2f} of the baseline's"
    )
    _drop_page_cache_of_outputs()


if __name__ == "__main__":
    main()
