"""Apply compression specs, chunk plans and packing to an xarray Dataset's encoding."""

from __future__ import annotations

from collections.abc import Hashable, Mapping
from typing import Any

import numpy as np
import xarray as xr

from zarrlake.encoding.chunks import DEFAULT_TARGET_CHUNK_BYTES, AccessPattern, plan_chunks
from zarrlake.encoding.compression import CompressionSpec, ZarrFormat
from zarrlake.encoding.packing import OutOfRangePolicy, Packing

__all__ = ["align_fill_value", "apply_packing_policy", "dataset_encoding"]


def align_fill_value(entry: dict[str, Any], zarr_format: int) -> dict[str, Any]:
    """Make zarr's ``fill_value`` the CF ``_FillValue`` of an encoding, in format 3.

    xarray leaves zarr's ``fill_value`` at 0 for packed (integer) arrays in format 3,
    so never-written chunks read as ``add_offset`` instead of missing (rule ZL123).

    Parameters
    ----------
    entry
        One variable's ``to_zarr`` encoding; changed in place.
    zarr_format
        2 or 3 (format 2 stores the fill value right already).

    Returns
    -------
    dict
        The same encoding.
    """
    if zarr_format == 3 and entry.get("_FillValue") is not None:
        entry["fill_value"] = entry["_FillValue"]
    return entry


def dataset_encoding(
    ds: xr.Dataset,
    *,
    compression: str | CompressionSpec = "blosc:zstd:3",
    zarr_format: ZarrFormat = 3,
    access_pattern: AccessPattern = "balanced",
    target_chunk_bytes: int | str = DEFAULT_TARGET_CHUNK_BYTES,
    align_to: int | None = None,
    packing: Mapping[str, Packing] | None = None,
) -> dict[Hashable, dict[str, Any]]:
    """Build the ``encoding=`` argument of ``Dataset.to_zarr`` for every data variable.

    Parameters
    ----------
    ds
        The dataset to write.
    compression
        A compression spec applied to every data variable.
    zarr_format
        2 or 3.
    access_pattern, target_chunk_bytes, align_to
        Passed to :func:`zarrlake.encoding.plan_chunks` for each variable.
    packing
        Packing per variable name; planning uses the packed itemsize.

    Returns
    -------
    dict
        Variable name to encoding (chunks, compressors, and packing entries).
    """
    spec = CompressionSpec.parse(compression)
    packing = packing or {}
    encoding: dict[Hashable, dict[str, Any]] = {}
    for name, variable in ds.data_vars.items():
        pack = packing.get(str(name))
        dtype = np.dtype(pack.dtype) if pack else variable.dtype
        plan = plan_chunks(
            [str(d) for d in variable.dims],
            variable.shape,
            dtype,
            access_pattern=access_pattern,
            target_chunk_bytes=target_chunk_bytes,
            align_to=align_to,
        )
        entry: dict[str, Any] = {"chunks": plan.chunks, **spec.zarr_kwargs(zarr_format)}
        if pack:
            entry.update(pack.encoding())
        encoding[name] = entry
    return encoding


def apply_packing_policy(
    ds: xr.Dataset,
    packing: Mapping[str, Packing],
    *,
    policy: OutOfRangePolicy = "error",
    where: str | None = None,
) -> xr.Dataset:
    """Check packed variables against their fixed ranges before xarray encodes them.

    xarray's CF encoder wraps out-of-range values silently; this applies the
    out-of-range policy first.

    Parameters
    ----------
    ds
        The dataset.
    packing
        Packing per variable name.
    policy
        ``error``, ``clip`` or ``mask``.
    where
        The file the dataset came from, for error messages.

    Returns
    -------
    xarray.Dataset
        The dataset, with clipped or masked values where the policy changed them.
    """
    updates = {}
    for name, pack in packing.items():
        variable = ds[name]
        checked = pack.check_range(
            np.asarray(variable.values), policy=policy, name=str(name), where=where
        )
        if checked is not variable.values:
            updates[name] = variable.copy(data=checked.astype(variable.dtype, copy=False))
    return ds.assign(updates) if updates else ds
