"""Helpers for transaction tests: snapshots of a store and small datasets."""

from __future__ import annotations

import numpy as np
import xarray as xr
from zarr.abc.store import Store

from zarrlake.storage import run_sync
from zarrlake.storage.atomic import aatomic_put, adelete_key, aread_bytes
from zarrlake.storage.listing import alist_keys
from zarrlake.storage.sidecar import sidecar


def snapshot(store: Store, *, private: bool = False) -> dict[str, bytes]:
    """Every key and its bytes (with the sidecar's, as ``sidecar:NAME``, when ``private``)."""
    out: dict[str, bytes] = {}
    for key in sorted(run_sync(alist_keys(store, ""))):
        data = run_sync(aread_bytes(store, key))
        if data is not None:
            out[key] = data
    if private:
        side = sidecar(store)
        for key in sorted(run_sync(alist_keys(side.store, side.prefix.rstrip("/")))):
            data = run_sync(aread_bytes(side.store, key))
            if data is not None:
                out[f"sidecar:{key}"] = data
    return out


def put_private(store: Store, name: str, data: bytes) -> None:
    """Write the bookkeeping item ``name`` (``lock``, ``journal.json``) of an archive."""
    side = sidecar(store)
    run_sync(aatomic_put(side.store, side.key(name), data))


def read_private(store: Store, name: str) -> bytes | None:
    """Read the bookkeeping item ``name`` of an archive, or ``None``."""
    side = sidecar(store)
    return run_sync(aread_bytes(side.store, side.key(name)))


def delete_private(store: Store, name: str) -> None:
    """Delete the bookkeeping item ``name`` of an archive."""
    side = sidecar(store)
    run_sync(adelete_key(side.store, side.key(name)))


def time_slice(i: int, steps: int = 1, nx: int = 3) -> xr.Dataset:
    """Steps ``i .. i+steps-1`` of a small dataset whose values encode the step."""
    times = np.arange(i, i + steps)
    values = np.repeat(times[:, None].astype("float64"), nx, axis=1) + np.arange(nx) / 10
    return xr.Dataset(
        {"v": (("time", "x"), values, {"units": "K"})},
        coords={"time": times, "x": np.arange(nx)},
        attrs={"title": "test"},
    )
