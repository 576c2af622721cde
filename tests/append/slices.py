"""Slices for append tests, importable by subprocesses (crash, race and isolation tests)."""

from __future__ import annotations

import hashlib

import numpy as np
import xarray as xr

NX, NY = 6, 5


def make_slice(i: int, steps: int = 1) -> xr.Dataset:
    """Steps ``i*steps ..`` of a dataset whose values are a function of the step."""
    start = i * steps
    times = np.datetime64("2026-01-01T00", "ns") + np.arange(start, start + steps) * np.timedelta64(
        1, "h"
    )
    step = np.arange(start, start + steps, dtype="float64")[:, None, None]
    field = step * 100 + np.arange(NY)[None, :, None] + np.arange(NX)[None, None, :] / 10
    return xr.Dataset(
        {
            "temp": (("time", "y", "x"), field.astype("float32"), {"units": "K"}),
            "flag": (("time", "y", "x"), (field % 7).astype("int16")),
        },
        coords={"time": times, "y": np.arange(NY), "x": np.arange(NX) * 0.5},
        attrs={"title": "append test", "slice": i},
    )


def step_checksum(ds: xr.Dataset, index: int) -> str:
    """A checksum of one step's values, to compare with what was appended."""
    digest = hashlib.sha256()
    for name in ("temp", "flag"):
        digest.update(np.ascontiguousarray(ds[name].isel(time=index).values).tobytes())
    return digest.hexdigest()


def expected_checksums(n: int) -> list[str]:
    """Checksums of the first ``n`` steps of ``make_slice(i)`` (one step each)."""
    return [step_checksum(make_slice(i), 0) for i in range(n)]
