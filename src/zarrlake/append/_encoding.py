"""Turn per-variable encoding config into xarray encodings for a new target."""

from __future__ import annotations

from typing import Any

import numcodecs
import numpy as np
import xarray as xr

from zarrlake.append._config import AppendConfig, EncodingConfig
from zarrlake.encoding import (
    CompressionSpec,
    Packing,
    TimeEncoding,
    align_fill_value,
    choose_time_encoding,
    describe_codecs,
    is_time_like,
    packing_from_encoding,
    resolve_shards,
)
from zarrlake.errors import InvalidInputError

__all__ = [
    "creation_encoding",
    "encode_times",
    "step_microseconds",
    "target_packing",
    "target_times",
]


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


APPEND_COORD_MIN_CHUNK = 1024
"""Values per chunk, at least, of a new target's 1-D variables along the append dim."""


def _chunks(
    encoding: EncodingConfig | None,
    var: xr.Variable,
    name: str,
    *,
    from_default: bool,
    append_dim: str | None = None,
) -> tuple[int, ...]:
    """Chunks of a new target's variable: the configured ones, else the slice's extent.

    A 1-D variable along ``append_dim`` (the append coordinate, per-step scalars) is
    not chunked by the slice's length (one value per step for one-step slices): its
    chunk is the smallest multiple of the slice length that holds 1024 values.
    Chunks configured for the variable itself always win.
    """
    if encoding is not None and "chunks" in encoding.model_fields_set:
        if encoding.chunks is None:
            return tuple(max(1, s) for s in var.shape)
        if not (from_default and len(encoding.chunks) != var.ndim):
            if len(encoding.chunks) != var.ndim:
                raise InvalidInputError(
                    f"variable {name!r}: chunks {encoding.chunks} has {len(encoding.chunks)} "
                    f"entries for {var.ndim} dims {list(map(str, var.dims))}",
                    subject=f"variables.{name}.encoding.chunks",
                )
            return tuple(
                max(1, size) if chunk is None else int(chunk)
                for chunk, size in zip(encoding.chunks, var.shape, strict=True)
            )
        # '*' chunks fit only same-rank variables: this one takes the default
    if append_dim is not None and var.dims == (append_dim,):
        length = max(1, var.shape[0])
        return (length * -(-APPEND_COORD_MIN_CHUNK // length),)
    return tuple(
        max(1, size) for size in var.shape
    )  # the slice's extent: whole dims, append dim = slice length


def _shards(
    encoding: EncodingConfig | None,
    chunks: tuple[int, ...],
    var: xr.Variable,
    name: str,
    zarr_format: int,
    own: Any,
) -> tuple[int, ...] | None:
    """Shards of a new target's variable: the configured ones, checked against its chunks.

    Shards from ``*`` fit only same-rank variables (as chunks do); the others get none.
    """
    if encoding is None or encoding.shards is None:
        return None
    where = f"variables.{name}.encoding.shards"
    from_default = own is None or own.encoding is None or own.encoding.shards is None
    if len(encoding.shards) != var.ndim:
        if from_default:
            return None
        raise InvalidInputError(
            f"variable {name!r}: shards {encoding.shards} has {len(encoding.shards)} "
            f"entries for {var.ndim} dims {list(map(str, var.dims))}",
            subject=where,
        )
    dims = [str(d) for d in var.dims]
    return resolve_shards(
        dims,
        chunks,
        dict(zip(dims, encoding.shards, strict=True)),
        zarr_format=zarr_format,
        where=where,
    )


_DECLARED_KEYS = ("_FillValue", "missing_value", "scale_factor", "add_offset", "dtype")


def _declared(var: xr.Variable) -> dict[str, Any]:
    """Return the CF encoding the source declared (kept for a new target unless configured)."""
    return {k: var.encoding[k] for k in _DECLARED_KEYS if k in var.encoding}


def step_microseconds(append_step: str | int | float | None) -> int | None:
    """Return a time-delta ``append_step`` in microseconds (``None`` for others)."""
    import pandas as pd

    if not isinstance(append_step, str) or append_step in ("+", "-"):
        return None
    return abs(int(pd.Timedelta(append_step).value)) // 1000 or None


def _time_encoding(
    var: xr.Variable, encoding: EncodingConfig | None, config: AppendConfig, name: str
) -> TimeEncoding:
    declared = {k: var.encoding[k] for k in ("units", "calendar", "dtype") if k in var.encoding}
    if encoding is not None:
        declared.update(
            {k: v for k in ("units", "calendar", "dtype") if (v := getattr(encoding, k, None))}
        )
        if encoding.units is not None:  # configured units are used as given, or refused
            first = next(iter(np.asarray(var.values).flat), None)
            time = TimeEncoding(
                encoding.units,
                str(declared.get("calendar") or getattr(first, "calendar", "proleptic_gregorian")),
                str(np.dtype(declared.get("dtype", "int64"))),
            )
            time.encode(var.values, name=name)
            return time
    return choose_time_encoding(
        np.asarray(var.values),
        declared=declared,
        step_microseconds=step_microseconds(config.append_step),
        finest_default="seconds",
    )


def creation_encoding(
    ds: xr.Dataset, config: AppendConfig, zarr_format: int
) -> tuple[dict[str, dict[str, Any]], dict[str, Packing], dict[str, TimeEncoding]]:
    """Build ``to_zarr`` encodings for the first slice, packings and time encodings.

    What the source declared (``_FillValue``, ``missing_value``, packing, time units
    and calendar) is kept unless the configuration says otherwise; times get units
    that hold every label exactly and the configured ``append_step``.

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
        Encoding per variable, packing per packed variable, and the time encoding of
        each time-like variable (its values are written as numbers, see
        :func:`encode_times`).
    """
    encodings: dict[str, dict[str, Any]] = {}
    packings: dict[str, Packing] = {}
    times: dict[str, TimeEncoding] = {}
    for variable_name, var in ds.variables.items():
        name = str(variable_name)
        settings = config.variable(name)
        encoding = settings.encoding
        own = (config.variables or {}).get(name)
        from_default = (
            own is None or own.encoding is None or "chunks" not in own.encoding.model_fields_set
        )
        entry: dict[str, Any] = {
            "chunks": _chunks(
                encoding, var, name, from_default=from_default, append_dim=config.append_dim
            )
        }
        shards = _shards(encoding, entry["chunks"], var, name, zarr_format, own)
        if shards is not None:
            entry["shards"] = shards
        if is_time_like(np.asarray(var.values)):
            time = _time_encoding(var, encoding, config, name)
            times[name] = time
            entry.update(dtype=time.dtype, _FillValue=None)
            if encoding is not None:
                entry.update(_compressors(encoding, zarr_format, name))
            encodings[name] = entry
            continue
        configured = encoding is not None and bool(
            {"dtype", "scale_factor", "add_offset", "fill_value", "packing"}
            & encoding.model_fields_set
        )
        if not configured:
            entry.update(_declared(var))
            if var.dtype.kind == "f" and "_FillValue" not in entry:
                entry["_FillValue"] = None  # none declared: none added (NaN stays NaN)
                if zarr_format == 3:
                    entry["fill_value"] = var.dtype.type(np.nan)
        if encoding is None:
            encodings[name] = align_fill_value(entry, zarr_format)
            continue
        fields = encoding.model_fields_set
        entry.update(_compressors(encoding, zarr_format, name))
        for key in ("dtype", "scale_factor", "add_offset"):
            value = getattr(encoding, key)
            if value is not None:
                entry[key] = value
        if "fill_value" in fields:
            fill = encoding.fill_value
            entry["_FillValue"] = np.nan if isinstance(fill, str) else fill
            entry.pop("fill_value", None)
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
    for name, entry in encodings.items():
        if name not in packings and name not in times:
            kept = target_packing(entry, dict(ds[name].attrs), name)
            if kept is not None:  # the source's own packing: later slices must fit it
                packings[name] = kept
    return encodings, packings, times


def encode_times(ds: xr.Dataset, times: dict[str, TimeEncoding], where: str) -> xr.Dataset:
    """Replace time-like variables by their stored numbers (exactly, or an error).

    xarray's own encoder picks other units silently when labels do not fit; here a
    label that the target's units, calendar and dtype cannot hold exactly is an
    :class:`~zarrlake.errors.InvalidInputError` naming the slice and the label.
    """
    updates = {}
    for name, time in times.items():
        if name not in ds.variables:
            continue
        var = ds[name].variable
        numbers = time.encode(np.asarray(var.values), name=name, where=where)
        # fastpath: a plain numeric ndarray; xarray's slow path imports dask.array
        # (0.3-0.6 s of a command's start-up) only to look for masked dask arrays
        encoded = xr.Variable(var.dims, numbers, attrs={**var.attrs, **time.attrs()}, fastpath=True)
        encoded.encoding = {"dtype": time.dtype, "_FillValue": None}
        updates[name] = encoded
    if not updates:
        return ds
    coords = {k: v for k, v in updates.items() if k in ds.coords}
    data = {k: v for k, v in updates.items() if k not in ds.coords}
    return ds.assign_coords(coords).assign(data)


def target_times(variables: dict[str, Any]) -> dict[str, TimeEncoding]:
    """Return the time encoding of each time-like variable of an existing target.

    ``variables`` maps names to states with ``dtype`` (decoded) and ``encoding``.
    """
    times = {}
    for name, state in variables.items():
        units = state.encoding.get("units")
        if state.dtype.kind in "MO" and isinstance(units, str) and " since " in units:
            times[name] = TimeEncoding(
                units,
                str(state.encoding.get("calendar", "proleptic_gregorian")),
                str(np.dtype(state.encoding.get("dtype", "int64"))),
            )
    return times


def _packing(encoding: EncodingConfig, var: xr.Variable, name: str) -> Packing:
    assert encoding.packing is not None
    return encoding.packing.resolve(
        var.attrs,
        unpacked_dtype="float64" if var.dtype == np.float64 else "float32",
        name=name,
        where=f"variables.{name}.encoding.packing",
    )


def target_packing(encoding: dict[str, Any], attrs: dict[str, Any], name: str) -> Packing | None:
    """Return the packing an existing packed target variable was written with, if any."""
    return packing_from_encoding(encoding, attrs)
