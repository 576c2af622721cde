"""The writer's view of one stored array: dims, chunks, encodings (packing, times, fill)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import xarray as xr
import zarr

from zarrlake.encoding import OutOfRangePolicy, Packing, TimeEncoding, packing_from_encoding

__all__ = ["StoredVariable", "stored_variable"]


@dataclass
class StoredVariable:
    """One stored array along the concat dim, as the writer encodes values for it."""

    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    dtype: np.dtype[Any]
    unpacked: np.dtype[Any]
    fill: Any
    packing: Packing | None
    policy: OutOfRangePolicy
    array: Any
    time: TimeEncoding | None = None
    raw_fill: float | None = None
    """A float array's stored missing value when it is not NaN (CF ``_FillValue``
    such as 1e20): NaN is written as this."""

    def time_chunk(self, dim: str) -> int:
        """Return the chunk length along ``dim``."""
        return self.chunks[self.dims.index(dim)]


def _packing_of(variable: xr.DataArray | xr.Variable) -> Packing | None:
    unpacked = "float64" if variable.dtype == np.float64 else "float32"
    return packing_from_encoding(variable.encoding, variable.attrs, unpacked_dtype=unpacked)


def stored_variable(
    name: str, variable: xr.Variable, array: zarr.Array[Any], policy: OutOfRangePolicy
) -> StoredVariable:
    """Describe one stored array along the concat dim for the writer."""
    attrs = array.attrs
    time = None
    if " since " in str(attrs.get("units", "")):
        time = TimeEncoding(
            str(attrs["units"]), str(attrs.get("calendar", "standard")), str(array.dtype)
        )
    unpacked = np.dtype(array.dtype) if time is not None else np.dtype(variable.dtype)
    raw_fill = None
    cf_fill = variable.encoding.get("_FillValue")
    if time is None and array.dtype.kind == "f" and cf_fill is not None:
        value = float(np.asarray(cf_fill).ravel()[0])
        raw_fill = None if np.isnan(value) else value
    return StoredVariable(
        name=name,
        dims=tuple(str(d) for d in variable.dims),
        shape=tuple(array.shape),
        # the unit of writing: a shard is one object, written whole (a part of it
        # would be read back and rewritten), so the writer splits by shards
        chunks=tuple(array.shards or array.chunks),
        dtype=array.dtype,
        unpacked=unpacked,
        fill=np.nan if unpacked.kind == "f" else array.fill_value,
        packing=None if time is not None else _packing_of(variable),
        policy=policy,
        array=array.with_config({"write_empty_chunks": True}),
        time=time,
        raw_fill=raw_fill,
    )
