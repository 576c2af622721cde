"""How each variable of a conversion is stored: packing, times, fill values, attributes.

Pure functions of the scan and the config, used by ``build_plan`` in
:mod:`zarrlake.convert._planner`. The rule throughout: what the inputs declare is kept
(their packing, time units and calendar, ``_FillValue``/``missing_value``) unless the
config asks for something else or the inputs disagree, and then the plan says why in
a note.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from zarrlake.convert._config import ConvertConfig
from zarrlake.convert._scan import ScanResult, VariableSchema
from zarrlake.encoding import (
    Packing,
    TimeEncoding,
    choose_time_encoding,
    packing_from_encoding,
)

__all__ = [
    "fill_value",
    "kept_attrs",
    "packing_for",
    "packing_needs_scan",
    "source_packing",
    "time_encodings",
]


def source_packing(schema: VariableSchema) -> Packing | None:
    """Return the packing an input declares (integers with ``scale_factor``/``add_offset``)."""
    if np.dtype(schema.dtype).kind != "f":
        return None
    unpacked = "float64" if schema.dtype == "float64" else "float32"
    return packing_from_encoding(schema.source_encoding, unpacked_dtype=unpacked)


def packing_for(
    schema: VariableSchema, config: ConvertConfig, scan: ScanResult, notes: list[str]
) -> tuple[Packing | None, str]:
    """Return how a variable is packed (or ``None``) and its out-of-range policy.

    Configured packing wins (its range: given, declared ``valid_min``/``valid_max`` or
    ``valid_range``, else the data's widened by ``margin``); otherwise an input's own
    integer packing is kept, unless ``unpack`` names the variable or the inputs pack it
    with different scales (then it is stored unpacked and a note says why).
    """
    settings = config.packing_for(schema.name)
    if np.dtype(schema.dtype).kind != "f" or schema.time:
        return None, "error"
    if settings is None:
        kept = source_packing(schema)
        if kept is None or config.unpacks(schema.name):
            return None, "error"
        if schema.name in scan.mixed_packing:
            files = scan.mixed_packing[schema.name]
            notes.append(
                f"{schema.name!r} is packed with different scale_factor/add_offset in "
                f"{files[0]} and {files[1]}"
                + (f" (and {len(files) - 2} more)" if len(files) > 2 else "")
                + f"; it is stored unpacked ({schema.dtype}); set packing to repack it"
            )
            return None, "error"
        # The inputs' own codes come back exactly: out-of-range cannot happen.
        return kept, "error"
    packing = settings.resolve(
        schema.attrs,
        data_range=scan.data_ranges.get(schema.name),
        unpacked_dtype="float64" if schema.dtype == "float64" else "float32",
        name=schema.name,
        where=f"packing.{schema.name}",
    )
    return packing, settings.out_of_range


def time_encodings(
    scan: ScanResult, axis: np.ndarray[Any, Any]
) -> tuple[TimeEncoding | None, dict[str, TimeEncoding]]:
    """Choose how the axis and every time-like variable along it are stored.

    Variables that declare the axis's units (or none, as CF bounds may) share the
    axis's encoding, chosen from all their values together; others keep their own.
    """
    declared_axis = scan.label_encoding
    is_time_axis = axis.dtype.kind == "M" or (axis.dtype == object and scan.datetime_like)
    series = [s for s in scan.variables.values() if s.time and scan.concat_dim in s.dims]
    static = [s for s in scan.variables.values() if s.time and scan.concat_dim not in s.dims]

    def same(schema: VariableSchema) -> bool:
        units = schema.source_encoding.get("units")
        return units is None or units == declared_axis.get("units")

    encodings: dict[str, TimeEncoding] = {}
    axis_time = None
    if is_time_axis:
        shared = [axis, *(scan.time_values(s.name) for s in series if same(s))]
        axis_time = choose_time_encoding(
            shared,
            calendar=declared_axis.get("calendar") or scan.calendar,
            declared=declared_axis,
            finest_default="days",
        )
    for schema in static:  # one value for the archive: kept units when exact
        encodings[schema.name] = choose_time_encoding(
            scan.files[0].times[schema.name],
            declared=schema.source_encoding,
            finest_default="days",
        )
    for schema in series:
        if axis_time is not None and same(schema):
            encodings[schema.name] = axis_time
        else:
            encodings[schema.name] = choose_time_encoding(
                scan.time_values(schema.name),
                declared=schema.source_encoding,
                finest_default="days",
            )
    return axis_time, encodings


def packing_needs_scan(scan: ScanResult, config: ConvertConfig) -> list[str]:
    """Return the packed variables whose range only a full read of the inputs can give."""
    names = []
    for name, schema in scan.variables.items():
        settings = config.packing_for(name)
        if settings is None or np.dtype(schema.dtype).kind != "f":
            continue
        if settings.valid_min is not None or "valid_range" in schema.attrs:
            continue
        if "valid_min" in schema.attrs and "valid_max" in schema.attrs:
            continue
        if name not in scan.data_ranges:
            names.append(name)
    return names


def kept_attrs(
    attrs: dict[str, Any], kept: set[str], name: str, notes: list[str]
) -> dict[str, Any]:
    """Drop a ``bounds`` attribute that would point at a variable the archive lacks."""
    bounds = attrs.get("bounds")
    if isinstance(bounds, str) and bounds not in kept:
        notes.append(f"{name!r} loses its attribute bounds={bounds!r}: {bounds!r} is excluded")
        return {k: v for k, v in attrs.items() if k != "bounds"}
    return dict(attrs)


def fill_value(schema: VariableSchema) -> Any:
    """Return the stored fill value: the inputs' ``_FillValue`` when they declare one."""
    kind = np.dtype(schema.dtype).kind
    if schema.time:
        return float("nan")
    if kind == "f":
        declared = schema.source_encoding.get("_FillValue")
        if declared is not None and np.isfinite(np.asarray(declared, dtype=np.float64)).all():
            return float(np.asarray(declared).ravel()[0])
        return float("nan")
    if "_FillValue" in schema.source_encoding:
        return np.asarray(schema.source_encoding["_FillValue"]).item()
    return 0
