"""Generated ERA5-like data sets of three shapes, in files aligned with chunks or not.

Shapes (two float32 variables on a 0.25-degree grid, 721 x 1440, daily steps):

``smooth``
    reanalysis temperature: a latitude profile, a travelling wave and small noise,
    rounded to 0.01 K (as ERA5's packing leaves it); compresses well.
``noisy``
    the same field plus unrounded Gaussian noise: every mantissa bit carries entropy,
    the hard case for a compressor.
``sparse``
    precipitation: 90 % exact zeros, the rest gamma-distributed amounts rounded to
    0.01 mm.

Layouts over 120 steps (~1 GB): ``aligned`` = 4 files of 30 steps (one time chunk of
30 each); ``spanning`` = 12 files of 10 steps (each chunk spans 3 files). Files are
generated once under ``bench/data/shapes/`` and kept.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import xarray as xr

from bench._harness import DATA

SHAPES = ("smooth", "noisy", "sparse")
LAYOUTS = {"aligned": (4, 30), "spanning": (12, 10)}
NY, NX = 721, 1440
CHUNKS = {"time": 30, "latitude": 361, "longitude": 720}
STEPS = 120


def _field(shape: str, steps: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    lat = np.linspace(90, -90, NY, dtype="float32")
    lon = np.linspace(0, 359.75, NX, dtype="float32")
    day = steps.astype("float32")[:, None, None]
    if shape == "sparse":
        wet = rng.random((len(steps), NY, NX), dtype="float32") < 0.1
        amount = rng.gamma(0.8, 3.0, size=wet.shape).astype("float32")
        return np.where(wet, np.round(amount, 2), np.float32(0)).astype("float32")
    base = 288 - 40 * np.abs(np.sin(np.deg2rad(lat)))[None, :, None]
    wave = (
        6
        * np.sin(np.deg2rad(lon)[None, None, :] * 3 + day / 5)
        * np.cos(np.deg2rad(lat))[None, :, None]
    )
    if shape == "smooth":
        noise = rng.normal(0, 0.3, (len(steps), NY, NX)).astype("float32")
        return np.round(base + wave + noise, 2).astype("float32")
    return (base + wave + rng.normal(0, 3.0, (len(steps), NY, NX))).astype("float32")


def dataset(shape: str, layout: str) -> list[str]:
    """Return the files of one data set, generating them the first time."""
    files, per_file = LAYOUTS[layout]
    folder = DATA / "shapes" / f"{shape}-{layout}"
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    times = pd.date_range("2020-01-01", periods=STEPS, freq="D")
    for index in range(files):
        path = folder / f"{shape}_{index:02d}.nc"
        paths.append(str(path))
        if path.exists():
            continue
        steps = np.arange(index * per_file, (index + 1) * per_file)
        rng = np.random.default_rng(1000 * SHAPES.index(shape) + index)
        units = "mm" if shape == "sparse" else "K"
        ds = xr.Dataset(
            {
                name: (
                    ("time", "latitude", "longitude"),
                    _field(shape, steps, rng),
                    {"units": units, "long_name": f"{shape} field {name}"},
                )
                for name in ("a", "b")
            },
            coords={
                "time": times[steps],
                "latitude": (
                    "latitude",
                    np.linspace(90, -90, NY, dtype="float32"),
                    {"units": "degrees_north"},
                ),
                "longitude": (
                    "longitude",
                    np.linspace(0, 359.75, NX, dtype="float32"),
                    {"units": "degrees_east"},
                ),
            },
            attrs={"title": f"{shape} ERA5-like test data", "Conventions": "CF-1.8"},
        )
        partial = path.with_suffix(".part")
        ds.to_netcdf(partial, engine="netcdf4")
        partial.rename(path)
    return paths


def size_of(paths: list[str]) -> int:
    """Bytes of the files."""
    return sum(Path(p).stat().st_size for p in paths)


def encode_rate(paths: list[str], compressor: object) -> float:
    """One core's encode rate of ``compressor`` (numcodecs) on chunks of the data, bytes/s."""
    return encode_probe(paths, compressor)[0]


def encode_probe(paths: list[str], compressor: object) -> tuple[float, float]:
    """Return one core's encode rate (bytes/s) and the compression ratio on chunks of the data.

    The chunks are the archive's: the first 30 steps (from as many files as hold them)
    of every latitude x longitude chunk of both variables, so the rate is the one the
    whole grid gets (the poles of a smooth field compress far better than the tropics).
    """
    steps, ny, nx = CHUNKS["time"], CHUNKS["latitude"], CHUNKS["longitude"]
    blocks = []
    with xr.open_mfdataset(paths, combine="by_coords") as ds:
        for name in ("a", "b"):
            values = ds[name][:steps].values
            for y in range(0, values.shape[1], ny):
                for x in range(0, values.shape[2], nx):
                    blocks.append(np.ascontiguousarray(values[:, y : y + ny, x : x + nx]))
    return encode_blocks(blocks, compressor)


def encode_blocks(blocks: list[np.ndarray], compressor: object) -> tuple[float, float]:
    """Return one core's encode rate (bytes/s) of ``compressor`` on ``blocks``, and the ratio."""
    import time

    import numcodecs.blosc

    # one core: blosc would otherwise encode each block on every core it finds
    numcodecs.blosc.set_nthreads(1)
    encode = compressor.encode  # type: ignore[attr-defined]
    started = time.perf_counter()
    encoded = sum(len(encode(block)) for block in blocks)
    seconds = time.perf_counter() - started
    raw = sum(b.nbytes for b in blocks)
    return raw / seconds, raw / encoded


def read_rate(paths: list[str]) -> float:
    """One core's rate (bytes/s) of reading the files' variables into memory (warm cache)."""
    import time

    for _ in range(2):  # the first round warms the page cache
        started = time.perf_counter()
        read = 0
        for path in paths:
            with xr.open_dataset(path) as ds:
                read += sum(ds[name].values.nbytes for name in ("a", "b"))
        seconds = time.perf_counter() - started
    return read / seconds


def daily_probe(paths: list[str], compressor: object) -> tuple[float, float]:
    """Return one core's encode rate and the ratio on the slices of daily files (a chunk each)."""
    blocks = []
    for path in paths:
        with xr.open_dataset(path) as ds:
            blocks.extend(np.ascontiguousarray(ds[name].values) for name in ("a", "b"))
    return encode_blocks(blocks, compressor)


def daily(shape: str, count: int = 40) -> list[str]:
    """Return ``count`` one-step files of a shape (an archive grown daily), generated once."""
    folder = DATA / "shapes" / f"{shape}-daily"
    folder.mkdir(parents=True, exist_ok=True)
    source = dataset(shape, "spanning")
    paths = [str(folder / f"{shape}_day{index:03d}.nc") for index in range(count)]
    if all(Path(p).exists() for p in paths):
        return paths
    with xr.open_mfdataset(source, combine="by_coords") as ds:
        for index, path in enumerate(paths):
            step = ds.isel(time=[index % STEPS]).load()
            step = step.assign_coords(time=pd.date_range("2020-01-01", periods=count)[[index]])
            partial = Path(path).with_suffix(".part")
            step.to_netcdf(partial, engine="netcdf4")
            partial.rename(path)
    return paths
