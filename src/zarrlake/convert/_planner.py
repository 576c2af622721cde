"""The conversion plan: the archive's axis, variables, chunks and work units (pure).

``build_plan`` reads and writes nothing: from the scanned inputs and the config it
decides the concat-dim axis, how each variable is stored (dtype, packing, fill, chunks),
the shards (:mod:`zarrlake.convert._sharding`) and the work units
(:mod:`zarrlake.convert._units`: each owns whole shards, so parallel writers never race).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr

from zarrlake.convert._config import ConvertConfig
from zarrlake.convert._encodings import (
    fill_value,
    kept_attrs,
    packing_for,
    time_encodings,
)
from zarrlake.convert._scan import ScanResult, VariableSchema, label_key
from zarrlake.convert._sharding import shards_by_dim, variable_shards
from zarrlake.convert._units import SourceSlice, WorkUnit, cut_units
from zarrlake.encoding import (
    CompressionSpec,
    Packing,
    TimeEncoding,
    plan_chunks,
)
from zarrlake.errors import InvalidInputError

__all__ = ["ConvertPlan", "SourceSlice", "VariablePlan", "WorkUnit", "build_axis", "build_plan"]


@dataclass(frozen=True)
class VariablePlan:
    """How one data variable is stored."""

    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    chunks: tuple[int, ...]
    source_dtype: str
    stored_dtype: str
    fill_value: Any
    packing: Packing | None
    out_of_range: str
    attrs: dict[str, Any]
    series: bool
    coord: bool = False
    time: TimeEncoding | None = None
    """How a time-like variable (bounds...) is stored; its numbers are written as is."""
    missing_value: Any = None
    """The inputs' ``missing_value``, kept beside ``_FillValue``."""
    kept_packing: bool = False
    """The packing is the inputs' own (their scale and offset, codes copied exactly)."""
    declares_fill: bool = True
    """Whether the inputs declare a ``_FillValue`` (variables without the concat dim
    keep none when they declare none)."""
    shards: tuple[int, ...] | None = None
    """Shard shape (Zarr format 3: several chunks in one object), or ``None``."""

    @property
    def raw_bytes(self) -> int:
        """Uncompressed bytes of the stored array."""
        return math.prod(self.shape) * np.dtype(self.stored_dtype).itemsize


@dataclass
class ConvertPlan:
    """Everything the conversion will write."""

    concat_dim: str
    axis: np.ndarray[Any, Any]
    freq: str | None
    axis_encoding: dict[str, Any]
    axis_attrs: dict[str, Any]
    axis_time: TimeEncoding | None
    variables: dict[str, VariablePlan]
    grid: dict[str, xr.Variable]
    time_chunk: int
    units: list[WorkUnit]
    zarr_format: int
    compression: CompressionSpec
    attrs: dict[str, Any]
    inputs: list[str]
    input_bytes: int
    uncovered_steps: int = 0
    notes: list[str] = field(default_factory=list)

    @property
    def raw_bytes(self) -> int:
        """Uncompressed bytes of all data variables."""
        return sum(v.raw_bytes for v in self.variables.values())

    def describe(self, compression_ratio: float | None = None) -> dict[str, Any]:
        """Return what will be written, as plain data (the ``convert plan`` output)."""
        first, last = (self.axis[0], self.axis[-1]) if len(self.axis) else (None, None)
        estimate = None if compression_ratio is None else int(self.raw_bytes / compression_ratio)
        return {
            "inputs": len(self.inputs),
            "input_bytes": self.input_bytes,
            "zarr_format": self.zarr_format,
            "concat_dim": self.concat_dim,
            "steps": len(self.axis),
            "first": str(first),
            "last": str(last),
            "freq": self.freq,
            "uncovered_steps": self.uncovered_steps,
            "dims": {
                d: int(s)
                for v in self.variables.values()
                for d, s in zip(v.dims, v.shape, strict=True)
            },
            "variables": {
                v.name: {
                    "dims": list(v.dims),
                    "shape": list(v.shape),
                    "chunks": list(v.chunks),
                    "shards": None if v.shards is None else list(v.shards),
                    "dtype": v.stored_dtype,
                    "packing": None
                    if v.packing is None
                    else {
                        "dtype": v.packing.dtype,
                        "valid_min": v.packing.valid_min,
                        "valid_max": v.packing.valid_max,
                        "max_abs_error": v.packing.max_abs_error,
                    },
                    "raw_bytes": v.raw_bytes,
                }
                for v in self.variables.values()
            },
            "codecs": str(self.compression),
            "work_units": len(self.units),
            "raw_bytes": self.raw_bytes,
            "compression_ratio": compression_ratio,
            "estimated_bytes": estimate,
            "notes": list(self.notes),
        }


def _parse_label(text: str, calendar: str | None, numeric: bool) -> Any:
    if numeric:
        return float(text)
    if calendar in (None, "standard", "proleptic_gregorian"):
        return pd.Timestamp(text).to_datetime64().astype("datetime64[ns]")
    return xr.date_range(start=text, periods=1, calendar=calendar, use_cftime=True)[0]


def _infer_freq(labels: np.ndarray[Any, Any], numeric: bool) -> str | float | None:
    if len(labels) < 2:
        return None
    diffs = np.diff(labels)
    if numeric:
        # Regular only when every label sits exactly on start + k * step (float32
        # spacings rarely do); otherwise the axis is the labels themselves.
        step = float(np.min(diffs))
        if step <= 0:
            return None
        k = np.round((labels.astype(np.float64) - float(labels[0])) / step)
        grid = (float(labels[0]) + step * k).astype(labels.dtype)  # as build_axis makes it
        exact = np.array_equal(grid, labels)
        return step if exact else None
    index = (
        pd.DatetimeIndex(labels) if labels.dtype.kind == "M" else xr.CFTimeIndex(labels)  # type: ignore[no-untyped-call]
    )
    if len(labels) >= 3:
        inferred = xr.infer_freq(index)  # type: ignore[no-untyped-call]
        if inferred:
            return str(inferred)
    seconds = np.array([pd.Timedelta(d).total_seconds() for d in diffs])
    step = float(seconds.min())
    if step > 0 and np.all(np.isclose(seconds % step, 0)):  # gaps: missing files
        if step % 86400 == 0:
            return "D" if step == 86400 else f"{int(step // 86400)}D"
        return str(pd.tseries.frequencies.to_offset(pd.Timedelta(seconds=step)).freqstr)
    return None


def build_axis(scan: ScanResult, config: ConvertConfig) -> tuple[np.ndarray[Any, Any], str | None]:
    """Build the archive's concat-dim labels from the config's range and the inputs.

    Parameters
    ----------
    scan
        The scanned inputs.
    config
        ``global_start``, ``global_end``, ``freq``.

    Returns
    -------
    tuple
        The labels and the frequency (``None`` for an irregular axis).

    Raises
    ------
    InvalidInputError
        When a range is given without a frequency that can be known, or the range is
        empty.
    """
    numeric = not scan.datetime_like
    labels = scan.labels
    order = sorted(range(len(labels)), key=lambda i: label_key(labels[i]))
    labels = labels[order]
    freq = config.freq if config.freq is not None else _infer_freq(labels, numeric)
    start = (
        _parse_label(config.global_start, scan.calendar, numeric)
        if config.global_start
        else labels[0]
    )
    end = (
        _parse_label(config.global_end, scan.calendar, numeric) if config.global_end else labels[-1]
    )
    if label_key(end) < label_key(start):
        raise InvalidInputError(
            f"global_end {end} is before global_start {start}", subject="global_end"
        )
    if freq is None:
        if config.global_start or config.global_end:
            raise InvalidInputError(
                "a global range needs a frequency, and the inputs' labels have none",
                subject="freq",
                hint="give freq, e.g. '1D' or '6h'",
            )
        return labels, None
    if numeric:
        step = float(freq)
        count = math.floor((float(end) - float(start)) / step + 1e-9) + 1
        axis = float(start) + step * np.arange(count)
        whole = labels.dtype.kind in "iu" and float(step).is_integer()
        dtype = labels.dtype if labels.dtype.kind == "f" or whole else np.dtype(np.float64)
        return axis.astype(dtype), str(int(step) if whole else step)
    try:
        if labels.dtype.kind == "M":
            axis = pd.date_range(start, end, freq=str(freq)).values.astype("datetime64[ns]")
        else:
            axis = np.asarray(
                xr.date_range(start, end, freq=str(freq), calendar=scan.calendar, use_cftime=True)
            )
    except ValueError as exc:
        raise InvalidInputError(f"invalid freq {freq!r}: {exc}", subject="freq") from None
    if not len(axis):
        raise InvalidInputError(
            f"the range {start} .. {end} by {freq} has no steps", subject="global_start"
        )
    return axis, str(freq)


def _chunks_by_dim(
    scan: ScanResult, config: ConvertConfig, steps: int, packings: dict[str, Packing | None]
) -> dict[str, int]:
    dim = scan.concat_dim
    given = dict(config.chunks or {})

    def full_shape(schema: VariableSchema) -> tuple[int, ...]:
        return tuple(
            steps if d == dim else s for d, s in zip(schema.dims, schema.shape, strict=True)
        )

    def stored_itemsize(schema: VariableSchema) -> int:
        pack = packings.get(schema.name)
        return np.dtype(pack.dtype if pack else schema.dtype).itemsize

    largest = max(
        scan.variables.values(),
        key=lambda s: (s.has(dim), math.prod(full_shape(s)) * stored_itemsize(s)),
    )
    if all(d in given for d in largest.dims):
        return given
    plan = plan_chunks(
        largest.dims,
        full_shape(largest),
        pack.dtype if (pack := packings.get(largest.name)) else largest.dtype,
        access_pattern=config.access_pattern,
        target_chunk_bytes=config.target_chunk_size,
        series_dim=dim if largest.has(dim) else None,
        # the dims the user chose are kept, the others refit to the target around them
        fixed={d: c for d, c in given.items() if d in largest.dims},
    )
    return {**plan.as_dict(), **given}


SMALL_ARRAY_BYTES = 2**20
"""Arrays below this many bytes (coordinates, bounds, masks) are stored whole."""


def _variable_chunks(
    dims: tuple[str, ...],
    shape: tuple[int, ...],
    dtype: Any,
    by_dim: dict[str, int],
    dim: str,
    config: ConvertConfig,
) -> tuple[int, ...]:
    """Chunks of one variable: the shared chunk along ``dim``, small arrays whole.

    Every variable with the concat dim takes the plan's chunk along it (units write
    whole chunks of every variable). Below 1 MiB an array is one chunk (along ``dim``:
    the shared chunk; dims the user chunked keep their chunks); a larger variable
    without ``dim`` is planned on its own shape (one chunk when it fits the target), a
    larger one with ``dim`` takes ``by_dim``.
    """
    given = {d: c for d, c in (config.chunks or {}).items() if d in dims}
    if math.prod(shape) * np.dtype(dtype).itemsize < SMALL_ARRAY_BYTES:
        return tuple(
            max(1, min(by_dim.get(d, s) if d == dim else given.get(d, s), s))
            for d, s in zip(dims, shape, strict=True)
        )
    if dim not in dims:
        return plan_chunks(
            dims,
            shape,
            dtype,
            access_pattern=config.access_pattern,
            target_chunk_bytes=config.target_chunk_size,
            fixed=given,
        ).chunks
    return tuple(max(1, min(by_dim.get(d, s), s)) for d, s in zip(dims, shape, strict=True))


def build_plan(
    scan: ScanResult, config: ConvertConfig, *, object_store: bool = False
) -> ConvertPlan:
    """Plan the conversion of scanned inputs; reads and writes nothing.

    Parameters
    ----------
    scan
        The scanned inputs (with ``data_ranges`` for packed variables that need them).
    config
        The conversion config.
    object_store
        Whether the target is an object store (``shards: auto`` plans shards then).

    Returns
    -------
    ConvertPlan
        Axis, variables, chunks and work units.

    Raises
    ------
    InvalidInputError
        When an input label is not on the axis (naming the file and the label), or a
        packing range is unknown.
    """
    dim = scan.concat_dim
    axis, freq = build_axis(scan, config)
    index = {label_key(v): i for i, v in enumerate(axis)}
    positions = []
    for scanned in scan.files:
        target = []
        for label in scanned.labels:
            at = index.get(label_key(label))
            if at is None:
                raise InvalidInputError(
                    f"label {label} of {scanned.path} is not on the archive's {dim!r} grid "
                    f"({axis[0]} .. {axis[-1]} by {freq})",
                    subject=scanned.path,
                    hint="widen global_start/global_end, or fix freq",
                )
            target.append(at)
        positions.append(np.asarray(target, dtype=np.int64))
    notes: list[str] = []
    packings = {}
    policies = {}
    for name, schema in scan.variables.items():
        packings[name], policies[name] = packing_for(schema, config, scan, notes)
    axis_time, times = time_encodings(scan, axis)
    by_dim = _chunks_by_dim(scan, config, len(axis), packings)
    kept = {*scan.variables, *scan.grid, dim}
    variables = {}
    for name, schema in scan.variables.items():
        shape = tuple(
            len(axis) if d == dim else s for d, s in zip(schema.dims, schema.shape, strict=True)
        )
        chunks = _variable_chunks(
            schema.dims,
            shape,
            (packings[name] or times.get(name) or schema).dtype,
            by_dim,
            dim,
            config,
        )
        pack = packings[name]
        time = times.get(name)
        stored = pack.dtype if pack else time.dtype if time else schema.dtype
        fill: Any = pack.fill_value if pack else fill_value(schema)
        variables[name] = VariablePlan(
            name,
            schema.dims,
            shape,
            chunks,
            schema.dtype,
            stored,
            fill,
            pack,
            policies[name],
            kept_attrs(schema.attrs, kept, name, notes),
            schema.has(dim),
            coord=schema.coord,
            time=time,
            missing_value=schema.source_encoding.get("missing_value"),
            kept_packing=pack is not None and config.packing_for(name) is None,
            declares_fill="_FillValue" in schema.source_encoding,
        )
    shard_sizes = shards_by_dim(variables, dim, config, object_store)
    for name, variable in variables.items():
        shards = variable_shards(variable, shard_sizes, dim, config.zarr_format)
        if shards is not None:
            variables[name] = dataclasses.replace(variable, shards=shards)
    time_chunk = by_dim.get(dim, len(axis))
    units = cut_units(
        scan,
        positions,
        variables,
        steps=len(axis),
        time_chunk=time_chunk,
        shard_sizes=shard_sizes,
        chunks_per_unit=config.chunks_per_unit,
    )
    covered = sum(len(p) for p in positions)
    if covered < len(axis):
        notes.append(f"{len(axis) - covered} step(s) of the axis have no input and stay empty")
    axis_attrs = {
        k: v
        for k, v in scan.label_attrs.items()
        if axis_time is None or k not in ("units", "calendar")
    }
    return ConvertPlan(
        concat_dim=dim,
        axis=axis,
        freq=freq,
        axis_encoding=axis_time.attrs() if axis_time else {},
        axis_attrs=kept_attrs(axis_attrs, kept, dim, notes),
        axis_time=axis_time,
        variables=variables,
        grid=scan.grid,
        time_chunk=time_chunk,
        units=units,
        zarr_format=config.zarr_format,
        compression=CompressionSpec.parse(config.compression),
        attrs={**scan.attrs, **config.attrs},
        inputs=[f.path for f in scan.files],
        input_bytes=scan.input_bytes,
        uncovered_steps=len(axis) - covered,
        notes=notes,
    )
