"""The template: a metadata-only archive over the whole axis, written in one transaction.

Coordinates (and variables without the concat dim) are written; data variables get
their metadata and no chunks. xarray writes the dataset with the concat dim empty (its
CF encoding, so the archive reads back as xarray wrote it, without a dask graph of the
whole archive), then every array along the concat dim is resized to the full axis and
the axis labels are stored. Beside it, ``convert/plan.json`` in the archive's sidecar
keeps what region writers need and Zarr cannot hold (the out-of-range policy per
variable) and a digest of the archive's structure, so a re-run can tell its own template
from another.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any, Literal

import numpy as np
import xarray as xr
import zarr
from zarr.abc.store import Store

from zarrlake.convert._planner import ConvertPlan
from zarrlake.encoding import align_fill_value
from zarrlake.errors import AlreadyExistsError, InvalidInputError
from zarrlake.hierarchy import adetect_format
from zarrlake.storage import run_sync
from zarrlake.storage.atomic import atomic_put, delete_key, read_bytes
from zarrlake.storage.files import open_file_dataset
from zarrlake.storage.listing import alist_keys
from zarrlake.storage.sidecar import sidecar
from zarrlake.storage.urls import store_url
from zarrlake.txn import Transaction

__all__ = [
    "PLAN_KEY",
    "RECORD_PREFIX",
    "create_template_from_plan",
    "read_plan_record",
    "structure_digest",
]

PLAN_KEY = "convert/plan.json"
"""The conversion record's name in the archive's sidecar (:mod:`zarrlake.storage.sidecar`)."""
RECORD_PREFIX = "convert/done/"
"""The folder of completion records in the archive's sidecar."""


def structure_digest(plan: ConvertPlan) -> str:
    """Return a digest of what the template fixes: axis, variables, chunks, encodings."""
    parts = {
        "dim": plan.concat_dim,
        "steps": len(plan.axis),
        "first": str(plan.axis[0]) if len(plan.axis) else None,
        "last": str(plan.axis[-1]) if len(plan.axis) else None,
        "format": plan.zarr_format,
        "codecs": str(plan.compression),
        "variables": {
            v.name: [v.dims, v.shape, v.chunks, v.stored_dtype, repr(v.packing), repr(v.time)]
            + ([v.shards] if v.shards is not None else [])
            for v in plan.variables.values()
        },
        "axis_time": repr(plan.axis_time),
    }
    return hashlib.sha256(json.dumps(parts, default=str).encode()).hexdigest()[:32]


def _encoding(plan: ConvertPlan) -> dict[str, dict[str, Any]]:
    fmt = plan.zarr_format
    codec_kwargs = plan.compression.zarr_kwargs(fmt)  # type: ignore[arg-type]
    encoding: dict[str, dict[str, Any]] = {}
    for v in plan.variables.values():
        entry: dict[str, Any] = {"chunks": v.chunks}
        if v.shards is not None:
            entry["shards"] = v.shards
        if v.series or not v.coord:
            entry.update(codec_kwargs)
        if v.time is not None:
            # Written as numbers already. The inputs declare no _FillValue on times, and
            # none is added; a step never written reads as NaN (zarr's fill value) in
            # format 3, while format 2 has no fill value apart from _FillValue.
            entry["dtype"] = v.time.dtype
            entry["_FillValue"] = None
            if v.time.is_float and v.series:
                if fmt == 3:
                    entry["fill_value"] = np.float64(np.nan)
                else:
                    entry["_FillValue"] = np.float64(np.nan)
            encoding[v.name] = entry
            continue
        if v.packing is not None:
            entry.update(v.packing.encoding())
            if v.missing_value is not None:
                entry["missing_value"] = np.dtype(v.stored_dtype).type(v.missing_value)
        elif np.dtype(v.stored_dtype).kind == "f":
            entry["_FillValue"] = np.dtype(v.stored_dtype).type(v.fill_value)
            if v.missing_value is not None:
                entry["missing_value"] = np.dtype(v.stored_dtype).type(v.missing_value)
            if not v.declares_fill and fmt == 3:
                # none declared: none added; never-written steps still read as NaN
                entry["_FillValue"] = None
                entry["fill_value"] = np.dtype(v.stored_dtype).type(np.nan)
        elif np.dtype(v.stored_dtype).kind in "iub":
            # Integers keep the inputs' _FillValue, or none: a made-up 0 would turn
            # every real 0 into a missing value.
            entry["_FillValue"] = (
                np.dtype(v.stored_dtype).type(v.fill_value) if v.declares_fill else None
            )
        if not v.series and not v.declares_fill:
            entry["_FillValue"] = None  # as in the inputs: no steps can be missing
        encoding[v.name] = align_fill_value(entry, fmt)
    for name, variable in plan.grid.items():
        declared = variable.encoding.get("_FillValue")
        encoding[name] = {"_FillValue": declared}
    axis_encoding: dict[str, Any] = {"chunks": (max(1, len(plan.axis)),), "_FillValue": None}
    if plan.axis_time is not None:
        axis_encoding["dtype"] = plan.axis_time.dtype
    encoding[plan.concat_dim] = axis_encoding
    return encoding


def _axis_values(plan: ConvertPlan) -> Any:
    """Return the axis labels as stored (times encoded exactly, or an error names the label)."""
    if plan.axis_time is not None:
        return plan.axis_time.encode(plan.axis, name=plan.concat_dim)
    return plan.axis


def _empty_variable(
    dims: tuple[str, ...], shape: tuple[int, ...], dtype: Any, attrs: dict[str, Any]
) -> xr.Variable:
    """Return a variable without values (length 0 along the concat dim).

    ``fastpath``: a plain numeric ndarray needs none of xarray's conversions, and the
    slow path imports dask.array to check for masked dask arrays (0.5-1 s of start-up).
    """
    data = np.zeros(shape, dtype=np.dtype(dtype))
    return xr.Variable(dims, data, attrs=attrs, fastpath=True)


def template_dataset(plan: ConvertPlan, static: Mapping[str, xr.Variable]) -> xr.Dataset:
    """Build the dataset whose ``to_zarr`` writes the template, with the concat dim empty.

    Times are encoded here (exactly, or an error names the label): xarray's own time
    encoder would pick units silently. Every variable along the concat dim has length
    0 along it (no data to write); the template's writer resizes them afterwards.
    """
    dim = plan.concat_dim
    axis_attrs = dict(plan.axis_attrs)
    axis_values = _axis_values(plan)
    if plan.axis_time is not None:
        axis_attrs.update(plan.axis_time.attrs())
    coords: dict[str, Any] = {dim: _empty_variable((dim,), (0,), axis_values.dtype, axis_attrs)}
    coords.update(plan.grid)
    data_vars: dict[str, Any] = {}
    for v in plan.variables.values():
        attrs = dict(v.attrs)
        if v.packing is not None and not v.kept_packing:
            attrs.update(v.packing.attrs())
        if v.time is not None:
            attrs.update(v.time.attrs())
        if v.series:
            if v.time is not None:
                dtype: Any = v.time.dtype
            else:
                dtype = v.packing.unpacked_dtype if v.packing else v.source_dtype
            empty = tuple(0 if d == dim else s for d, s in zip(v.dims, v.shape, strict=True))
            variable = _empty_variable(v.dims, empty, dtype, attrs)
        else:
            values = static[v.name].values
            if v.time is not None:
                values = v.time.encode(values, name=v.name)
            # an ndarray xarray built already (or its encoded times): see _empty_variable
            variable = xr.Variable(v.dims, values, attrs=attrs, fastpath=True)
        (coords if v.coord else data_vars)[v.name] = variable
    return xr.Dataset(data_vars, coords=coords, attrs=dict(plan.attrs))


def _static_variables(
    plan: ConvertPlan, engine: str | None, options: Any
) -> dict[str, xr.Variable]:
    names = [v.name for v in plan.variables.values() if not v.series]
    if not names:
        return {}
    with open_file_dataset(plan.inputs[0], engine=engine, storage_options=options) as ds:
        return {name: ds[name].variable.load() for name in names}


def read_plan_record(store: Store) -> dict[str, Any] | None:
    """Return the conversion record of an archive, or ``None`` when it has none."""
    side = sidecar(store)
    data = read_bytes(side.store, side.key(PLAN_KEY))
    if data is None:
        return None
    try:
        record: dict[str, Any] = json.loads(data)
    except ValueError:
        return None
    return record


def plan_record(plan: ConvertPlan) -> dict[str, Any]:
    """Return the record a template keeps for its region writers."""
    return {
        "version": 1,
        "concat_dim": plan.concat_dim,
        "structure": structure_digest(plan),
        "freq": plan.freq,
        "out_of_range": {v.name: v.out_of_range for v in plan.variables.values()},
    }


def _grow_along_axis(store: Any, plan: ConvertPlan) -> None:
    """Resize the arrays along the concat dim to the whole axis; store the axis labels."""
    dim = plan.concat_dim
    zarr_format: Literal[2, 3] = 2 if plan.zarr_format == 2 else 3
    group = zarr.open_group(store, mode="r+", zarr_format=zarr_format, use_consolidated=False)
    for v in plan.variables.values():
        if v.series:
            array = group[v.name]
            assert isinstance(array, zarr.Array)
            array.resize(v.shape)
    axis = group[dim]
    assert isinstance(axis, zarr.Array)
    axis.resize((len(plan.axis),))
    values = np.asarray(_axis_values(plan))
    axis.with_config({"write_empty_chunks": True})[:] = values.astype(axis.dtype, copy=False)


def archive_exists(store: Store) -> bool:
    """Whether the store holds a Zarr root node."""
    return run_sync(adetect_format(store)) is not None


def create_template_from_plan(
    plan: ConvertPlan,
    store: Store,
    *,
    overwrite: bool = False,
    engine: str | None = None,
    storage_options: Any = None,
    static: Mapping[str, xr.Variable] | None = None,
) -> None:
    """Write the template of a plan into a store, atomically and under the archive lock.

    Parameters
    ----------
    plan
        The conversion plan.
    store
        The target store, writable.
    overwrite
        Replace an existing archive.
    engine, storage_options
        For reading variables without the concat dim from the first input.
    static
        Those variables' values, when the caller has them already.

    Raises
    ------
    AlreadyExistsError
        When the target holds an archive and ``overwrite`` is false.
    """
    url = store_url(store)
    if static is None:
        static = _static_variables(plan, engine, storage_options)
    ds = template_dataset(plan, static)
    encoding = _encoding(plan)
    with Transaction(store, operation="convert-template") as txn:
        if archive_exists(store):
            if not overwrite:
                raise AlreadyExistsError(
                    f"{url} already holds an archive",
                    subject=url,
                    hint="pick a new target, or pass overwrite=True (--overwrite) to replace it",
                )
            txn.clear()
        side = sidecar(store)
        for key in run_sync(alist_keys(side.store, side.key(RECORD_PREFIX).rstrip("/"))):
            delete_key(side.store, key)
        try:
            ds.to_zarr(
                txn.staging,
                mode="w-",
                encoding=encoding,
                zarr_format=plan.zarr_format,
                consolidated=False,
                # coordinates equal to the fill value (a time axis starting at 0) are
                # stored: `info` and readers must not take them for unwritten chunks
                write_empty_chunks=True,
            )
            _grow_along_axis(txn.staging, plan)
        except (ValueError, TypeError) as exc:
            raise InvalidInputError(
                f"cannot write the template of {url}: {exc}", subject=url
            ) from exc
        # The record goes first: a template that exists always has its record.
        atomic_put(side.store, side.key(PLAN_KEY), json.dumps(plan_record(plan), indent=1).encode())
        txn.commit()
