"""Turn per-variable encoding config into xarray encodings for a new target."""

from __future__ import annotations

from typing import Any

import numcodecs
import numpy as np
import xarray as xr

from zarrlake.append.config import AppendConfig, EncodingConfig
from zarrlake.encoding.compression import CompressionSpec, describe_codecs
from zarrlake.encoding.dataset import align_fill_value
from zarrlake.encoding.packing import Packing, choose_packing, packing_from_attrs
from zarrlake.errors import InvalidInputError

__all__ = ["creation_encoding", "target_packing"]


def _compressors(encoding: EncodingConfig, zarr_format: int, name: str) -> dict[str, Any]:
    fields = encoding.model_fields_set
    if encoding.compression is not None:
        return CompressionSpec.parse(encoding.compression).zarr_kwargs(zarr_format)  # type: ignore[arg-type]
    if "compressor" not in fields:
        return {}
    if encoding.compressor is None:
        return {"compressors": None}
    try:
        codec = numcodecs.get_codec(dict(encoding.compressor))
    except (ValueError, KeyError, TypeError) as exc:
        raise InvalidInputError(
            f"variable {name!r}: compressor {encoding.compressor} is not a numcodecs codec: {exc}",
            subject=f"variables.{name}.encoding.compressor",
            hint="use e.g. {id: blosc, cname: zstd, clevel: 5}, or compression: 'blosc:zstd:5'",
        ) from exc
    if zarr_format == 2:
        return {"compressors": codec}
    spec = describe_codecs([codec])
    if not isinstance(spec, CompressionSpec):
        raise InvalidInputError(
            f"variable {name!r}: compressor {encoding.compressor} has no Zarr format 3 equivalent",
            subject=f"variables.{name}.encoding.compressor",
            hint="use blosc, zstd, gzip or lz4, or zarr_format 2",
        )
    return spec.zarr_kwargs(3)


def _chunks(
    encoding: EncodingConfig | None, var: xr.Variable, name: str, *, from_default: bool
) -> tuple[int, ...]:
    if encoding is not None and "chunks" in encoding.model_fields_set:
        if encoding.chunks is None:
            return tuple(max(1, s) for s in var.shape)
        if from_default and len(encoding.chunks) != var.ndim:
            return tuple(max(1, s) for s in var.shape)  # '*' chunks fit only same-rank variables
        if len(encoding.chunks) != var.ndim:
            raise InvalidInputError(
                f"variable {name!r}: chunks {encoding.chunks} has {len(encoding.chunks)} entries "
                f"for {var.ndim} dims {list(map(str, var.dims))}",
                subject=f"variables.{name}.encoding.chunks",
            )
        return tuple(
            max(1, size) if chunk is None else int(chunk)
            for chunk, size in zip(encoding.chunks, var.shape, strict=True)
        )
    return tuple(
        max(1, size) for size in var.shape
    )  # the slice's extent: whole dims, append dim = slice length


def creation_encoding(
    ds: xr.Dataset, config: AppendConfig, zarr_format: int
) -> tuple[dict[str, dict[str, Any]], dict[str, Packing]]:
    """Build ``to_zarr`` encodings for the first slice and the packing of each variable.

    Parameters
    ----------
    ds
        The first slice.
    config
        The append configuration.
    zarr_format
        The new target's format.

    Returns
    -------
    tuple
        Encoding per variable, and packing per packed variable.
    """
    encodings: dict[str, dict[str, Any]] = {}
    packings: dict[str, Packing] = {}
    for variable_name, var in ds.variables.items():
        name = str(variable_name)
        settings = config.variable(name)
        encoding = settings.encoding
        if var.dtype.kind == "M" and (encoding is None or encoding.units is None):
            entry_units = {"units": time_units(var.values, config.append_step), "dtype": "int64"}
        else:
            entry_units = {}
        own = (config.variables or {}).get(name)
        from_default = (
            own is None or own.encoding is None or "chunks" not in own.encoding.model_fields_set
        )
        entry: dict[str, Any] = {"chunks": _chunks(encoding, var, name, from_default=from_default)}
        entry.update(entry_units)
        if encoding is None:
            encodings[name] = entry
            continue
        fields = encoding.model_fields_set
        entry.update(_compressors(encoding, zarr_format, name))
        for key in ("dtype", "scale_factor", "add_offset", "units", "calendar"):
            value = getattr(encoding, key)
            if value is not None:
                entry[key] = value
        if "fill_value" in fields:
            fill = encoding.fill_value
            entry["_FillValue"] = np.nan if isinstance(fill, str) else fill
        if encoding.filters is not None:
            if zarr_format != 2:
                raise InvalidInputError(
                    f"variable {name!r}: numcodecs filters need Zarr format 2",
                    subject=f"variables.{name}.encoding.filters",
                    hint="drop filters, or set zarr_format: 2",
                )
            entry["filters"] = [numcodecs.get_codec(dict(f)) for f in encoding.filters]
        if encoding.packing is not None:
            packing = _packing(encoding, var, name)
            packings[name] = packing
            entry.update(packing.encoding())
        encodings[name] = align_fill_value(entry, zarr_format)
    return encodings, packings


_NS_PER_UNIT = {
    "days": 86_400 * 10**9,
    "hours": 3_600 * 10**9,
    "minutes": 60 * 10**9,
    "seconds": 10**9,
    "milliseconds": 10**6,
    "microseconds": 10**3,
    "nanoseconds": 1,
}


def time_units(values: np.ndarray[Any, Any], append_step: str | int | float | None) -> str:
    """Choose CF time units for a new target so later appends stay representable.

    xarray picks the coarsest units that fit the first slice (a single midnight label
    gets ``days``), after which hourly appends no longer fit an integer encoding. Here
    the units are the coarsest unit dividing a time-delta ``append_step``, else seconds,
    and finer only when the first slice needs it; the reference is the first label's day.
    """
    import pandas as pd

    times = values.astype("datetime64[ns]")
    times = times[~np.isnat(times)]
    reference = times.min().astype("datetime64[D]") if times.size else np.datetime64("1970-01-01")
    offsets = (times - reference).astype("int64")
    limit = _NS_PER_UNIT["seconds"]
    if isinstance(append_step, str) and append_step not in ("+", "-"):
        limit = max(limit, int(pd.Timedelta(append_step).value))
    for unit, size in _NS_PER_UNIT.items():  # coarsest first
        if size <= limit and limit % size == 0 and np.all(offsets % size == 0):
            return f"{unit} since {np.datetime_as_string(reference, unit='D')}"
    raise AssertionError("nanoseconds divide everything")


def _packing(encoding: EncodingConfig, var: xr.Variable, name: str) -> Packing:
    assert encoding.packing is not None
    settings = encoding.packing
    unpacked = "float64" if var.dtype == np.float64 else "float32"
    if settings.valid_min is not None and settings.valid_max is not None:
        return choose_packing(
            settings.valid_min,
            settings.valid_max,
            settings.dtype,
            unpacked_dtype=unpacked,
            name=name,
        )
    packing = packing_from_attrs(var.attrs, settings.dtype, unpacked_dtype=unpacked, name=name)
    if packing is None:
        raise InvalidInputError(
            f"variable {name!r}: packing needs a fixed range and none was given",
            subject=f"variables.{name}.encoding.packing",
            hint="set packing.valid_min and valid_max, or the variable's valid_min/valid_max",
        )
    return packing


def target_packing(encoding: dict[str, Any], attrs: dict[str, Any], name: str) -> Packing | None:
    """Return the packing an existing packed target variable was written with, if any."""
    scale = encoding.get("scale_factor")
    dtype = np.dtype(encoding.get("dtype", "float32"))
    if scale is None or dtype.kind not in "iu" or dtype.itemsize > 4 or dtype.kind == "u":
        return None
    offset = float(encoding.get("add_offset", 0.0))
    limit = float(np.iinfo(dtype).max)
    low, high = offset - limit * float(scale), offset + limit * float(scale)
    if "valid_min" in attrs and "valid_max" in attrs:
        low, high = float(attrs["valid_min"]), float(attrs["valid_max"])
    fill = encoding.get("_FillValue", -(2 ** (dtype.itemsize * 8 - 1)))
    return Packing(
        dtype=str(dtype),
        scale_factor=float(scale),
        add_offset=offset,
        fill_value=int(fill),
        valid_min=low,
        valid_max=high,
    )
