"""Generated NetCDF inputs for the conversion tests (small, deterministic)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

LAT = 6
LON = 8


def make_dataset(
    start: str | pd.Timestamp,
    steps: int,
    *,
    seed: int = 0,
    freq: str = "D",
    lat: int = LAT,
    lon: int = LON,
    calendar: str | None = None,
    variables: tuple[str, ...] = ("t2m", "tp"),
) -> xr.Dataset:
    """An ERA5-like slice: t2m in K (valid range 200..330) and tp in m (0..1)."""
    if calendar:
        times: Any = xr.date_range(
            start, periods=steps, freq=freq, calendar=calendar, use_cftime=True
        )
    else:
        times = pd.date_range(start, periods=steps, freq=freq)
    rng = np.random.default_rng(seed)
    data = {
        "t2m": (
            ("time", "lat", "lon"),
            (280 + 10 * rng.standard_normal((steps, lat, lon))).astype("f4"),
            {"units": "K", "long_name": "2 m temperature", "valid_min": 200.0, "valid_max": 330.0},
        ),
        "tp": (
            ("time", "lat", "lon"),
            rng.random((steps, lat, lon)).astype("f4"),
            {"units": "m", "long_name": "total precipitation", "valid_range": [0.0, 1.0]},
        ),
    }
    coords = {
        "time": times,
        "lat": ("lat", np.linspace(-60, 60, lat), {"units": "degrees_north"}),
        "lon": ("lon", np.linspace(0, 350, lon), {"units": "degrees_east"}),
    }
    return xr.Dataset(
        {k: v for k, v in data.items() if k in variables},
        coords=coords,
        attrs={"title": "test inputs"},
    )


def write_inputs(
    folder: Path,
    count: int,
    steps: int,
    *,
    start: str = "2020-01-01",
    freq: str = "D",
    prefix: str = "in",
    **kwargs: Any,
) -> list[str]:
    """Write ``count`` files of ``steps`` consecutive steps each; return their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    offset = pd.tseries.frequencies.to_offset(freq)
    first = pd.Timestamp(start)
    for i in range(count):
        # a string start: xr.date_range mistakes a Timestamp start's calendar
        begin = (first + i * steps * offset).isoformat()
        ds = make_dataset(begin, steps, seed=i, freq=freq, **kwargs)
        path = folder / f"{prefix}_{i:03d}.nc"
        ds.to_netcdf(path)
        paths.append(str(path))
    return paths


def combined(paths: list[str]) -> xr.Dataset:
    """All inputs in one loaded dataset (the expected archive content)."""
    parts = [xr.open_dataset(p).load() for p in paths]
    return xr.concat(parts, dim="time").sortby("time")
