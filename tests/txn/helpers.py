"""Helpers for transaction tests: snapshots of a store and small datasets."""

from __future__ import annotations

import numpy as np
import xarray as xr
from zarr.abc.store import Store

from zarrlake.storage import run_sync
from zarrlake.storage.atomic import aread_bytes
from zarrlake.storage.listing import alist_keys


def snapshot(store: Store, *, private: bool = False) -> dict[str, bytes]:
    """Every key and its bytes (zarrlake's own keys only when ``private``)."""
    keys = run_sync(alist_keys(store, ""))
    out: dict[str, bytes] = {}
    for key in sorted(keys):
        if key.startswith(".zarrlake/") and not private:
            continue
        data = run_sync(aread_bytes(store, key))
        if data is not None:
            out[key] = data
    return out


def time_slice(i: int, steps: int = 1, nx: int = 3) -> xr.Dataset:
    """Steps ``i .. i+steps-1`` of a small dataset whose values encode the step."""
    times = np.arange(i, i + steps)
    values = np.repeat(times[:, None].astype("float64"), nx, axis=1) + np.arange(nx) / 10
    return xr.Dataset(
        {"v": (("time", "x"), values, {"units": "K"})},
        coords={"time": times, "x": np.arange(nx)},
        attrs={"title": "test"},
    )
