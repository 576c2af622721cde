"""The conversion plan: the archive's axis, variables, chunks and work units (pure).

Work units own whole chunks along the concat dim: unit ``k`` writes the time-chunk
range ``[start, stop)`` of every variable and reads the parts of the files that fall
in it. No two units touch one chunk, so parallel writers never race on a chunk,
however the files and chunks line up.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import xarray as xr
from dask.utils import parse_bytes

from zarrlake.convert._config import ConvertConfig
from zarrlake.convert._encodings import (
    fill_value,
    kept_attrs,
    packing_for,
    time_encodings,
)
from zarrlake.convert._scan import ScanResult, VariableSchema, label_key
from zarrlake.encoding import (
    CompressionSpec,
    Packing,
    TimeEncoding,
    plan_chunks,
    plan_shards,
    resolve_shards,
)
from zarrlake.errors import InvalidInputError

__all__ = ["ConvertPlan", "SourceSlice", "VariablePlan", "WorkUnit", "build_axis", "build_plan"]

UNIT_BUDGET_BYTES = 64 * 2**20
"""Upper bound of the input bytes one work unit holds (at least one chunk row)."""


@dataclass(frozen=True)
class SourceSlice:
    """Steps of one input that land in one work unit.

    ``file_index[i]`` of the input goes to ``target_index[i]`` of the archive.
    """

    path: str
    size: int
    file_index: tuple[int, ...]
    target_index: tuple[int, ...]
    file_steps: int = 0

    @property
    def input_bytes(self) -> int:
        """Return the share of the file's bytes these steps make up."""
        share = len(self.file_index) / self.file_steps if self.file_steps else 1.0
        return int(self.size * share)


@dataclass(frozen=True)
class WorkUnit:
    """A run of whole chunks along the concat dim, and the inputs that fill it."""

    start: int
    stop: int
    sources: tuple[SourceSlice, ...]
    block: tuple[str, int, int] | None = None
    """A range of whole chunks along one other dim (name, start, stop), when a chunk row
    along the concat dim is too large for one unit; ``None``: the whole extent."""
    block_fraction: float = 1.0
    blocks: int = 1

    @property
    def key(self) -> str:
        """A stable name, used for the completion record."""
        key = f"{self.start:012d}-{self.stop:012d}"
        if self.block is not None:
            key += f"-{self.block[0]}-{self.block[1]:09d}-{self.block[2]:09d}"
        return key

    @property
    def steps(self) -> list[int]:
        """The archive steps this unit writes from its inputs."""
        return sorted(i for s in self.sources for i in s.target_index)

    @property
    def input_bytes(self) -> int:
        """Bytes of the inputs it reads (each file's share)."""
        return int(sum(s.input_bytes for s in self.sources) * self.block_fraction)

    def fingerprint(self) -> str:
        """Return a digest of the sources; a completion record counts only when it matches."""
        parts = [(s.path, s.size, s.file_index, s.target_index) for s in self.sources]
        parts.append(self.block)  # type: ignore[arg-type]
        return hashlib.sha256(json.dumps(parts).encode()).hexdigest()[:32]


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


def _units(
    scan: ScanResult,
    positions: list[np.ndarray[Any, Any]],
    steps: int,
    chunk: int,
    per_unit: int,
    blocks: list[tuple[str, int, int]] | None = None,
    extent: int = 1,
) -> list[WorkUnit]:
    chunk_count = math.ceil(steps / chunk)
    by_unit: dict[int, list[SourceSlice]] = defaultdict(list)
    for scanned, target in zip(scan.files, positions, strict=True):
        unit_of_step = (target // chunk) // per_unit
        for unit_index in np.unique(unit_of_step):
            mask = unit_of_step == unit_index
            file_index = np.nonzero(mask)[0]
            by_unit[int(unit_index)].append(
                SourceSlice(
                    scanned.path,
                    scanned.size,
                    tuple(int(i) for i in file_index),
                    tuple(int(i) for i in target[mask]),
                    len(target),
                )
            )
    units = []
    for unit_index in range(math.ceil(chunk_count / per_unit)):
        if unit_index not in by_unit:
            continue
        start = unit_index * per_unit * chunk
        stop = min(steps, start + per_unit * chunk)
        sources = tuple(by_unit[unit_index])
        if not blocks:
            units.append(WorkUnit(start, stop, sources))
            continue
        for block in blocks:
            fraction = (block[2] - block[1]) / extent
            units.append(WorkUnit(start, stop, sources, block, fraction, len(blocks)))
    return units


def _shards_by_dim(
    variables: dict[str, VariablePlan], dim: str, config: ConvertConfig, object_store: bool
) -> dict[str, int]:
    """Shard size per dim name: configured, or planned on the largest series variable.

    ``auto`` plans shards only for an object-store target in Zarr format 3; the sizes
    come from the largest variable along the concat dim and apply to every variable
    along it, so all of them share one shard length along the concat dim and work
    units (whole shards) never split one.
    """
    if isinstance(config.shards, dict):
        known = {d for v in variables.values() for d in v.dims}
        unknown = sorted(set(config.shards) - known)
        if unknown:
            raise InvalidInputError(
                f"shards names dimension(s) {unknown} that no variable has "
                f"(dimensions: {sorted(known)})",
                subject=f"shards.{unknown[0]}",
            )
        if config.shards and config.zarr_format != 3:
            raise InvalidInputError(
                "shards need Zarr format 3 (format 2 has no sharding)",
                subject="shards",
                hint="set zarr_format: 3, or drop shards",
            )
        return dict(config.shards)
    if config.shards == "none" or not object_store or config.zarr_format != 3:
        return {}  # a local (or in-memory) target: one file per chunk costs little
    largest = max(
        (v for v in variables.values() if v.series), key=lambda v: v.raw_bytes, default=None
    )
    if largest is None:
        return {}
    shards = plan_shards(
        largest.shape,
        largest.chunks,
        np.dtype(largest.stored_dtype).itemsize,
        series_axis=largest.dims.index(dim),
        target_shard_bytes=int(parse_bytes(config.target_shard_size)),
    )
    if shards is None:
        return {}
    planned = dict(zip(largest.dims, shards, strict=True))
    time_chunk = largest.chunks[largest.dims.index(dim)]
    if config.chunks_per_unit:  # units the user sized must still hold whole shards
        factor = math.gcd(planned[dim] // time_chunk, config.chunks_per_unit)
        planned[dim] = factor * time_chunk
    return planned


def _variable_shards(
    variable: VariablePlan, by_dim: dict[str, int], dim: str, zarr_format: int
) -> tuple[int, ...] | None:
    """Return the shards of one variable along the concat dim (others: plain chunks).

    A dim the variable holds in one chunk (a small array's whole extent) keeps it.
    """
    if not variable.series or not by_dim:
        return None
    given = {
        d: size
        for d, size, shape, chunk in zip(
            variable.dims,
            (by_dim.get(d) for d in variable.dims),
            variable.shape,
            variable.chunks,
            strict=True,
        )
        if size is not None and (d == dim or chunk < shape)
    }
    return resolve_shards(
        variable.dims, variable.chunks, given, zarr_format=zarr_format, where="shards"
    )


def _spatial_blocks(
    variables: dict[str, VariablePlan], dim: str, unit_steps: int, row_bytes: int
) -> tuple[list[tuple[str, int, int]] | None, int]:
    """Split a unit's rows along the first other dim when they exceed the unit budget.

    Blocks are whole shards (whole chunks when not sharded): no two units share one.
    """
    row = row_bytes * unit_steps
    largest = max(
        (v for v in variables.values() if v.series),
        key=lambda v: math.prod(v.shape),
        default=None,
    )
    if largest is None or row <= UNIT_BUDGET_BYTES:
        return None, 1
    others = [i for i, d in enumerate(largest.dims) if d != dim]
    if not others:
        return None, 1
    split = others[0]
    name, size = largest.dims[split], largest.shape[split]
    chunk = (largest.shards or largest.chunks)[split]
    chunk_count = math.ceil(size / chunk)
    if chunk_count < 2:
        return None, 1
    per_block = max(1, math.floor(UNIT_BUDGET_BYTES / (row / chunk_count)))
    blocks = [
        (name, begin * chunk, min(size, (begin + per_block) * chunk))
        for begin in range(0, chunk_count, per_block)
    ]
    return (blocks if len(blocks) > 1 else None), size


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
    shard_sizes = _shards_by_dim(variables, dim, config, object_store)
    for name, variable in variables.items():
        shards = _variable_shards(variable, shard_sizes, dim, config.zarr_format)
        if shards is not None:
            variables[name] = dataclasses.replace(variable, shards=shards)
    time_chunk = by_dim.get(dim, len(axis))
    row_bytes = sum(
        math.prod(s for d, s in zip(v.dims, v.shape, strict=True) if d != dim)
        * np.dtype(v.source_dtype if v.time is None else v.stored_dtype).itemsize
        for v in variables.values()
        if v.series
    )
    per_unit = config.chunks_per_unit or max(1, UNIT_BUDGET_BYTES // max(1, row_bytes * time_chunk))
    # a unit writes whole shards: its chunks along the concat dim are a multiple of theirs
    per_shard = max(1, shard_sizes.get(dim, time_chunk) // time_chunk) if shard_sizes else 1
    if per_unit % per_shard:
        if config.chunks_per_unit:
            raise InvalidInputError(
                f"chunks_per_unit {per_unit} splits a shard ({per_shard} chunks along "
                f"{dim!r}): two units would write one shard",
                subject="chunks_per_unit",
                hint=f"use a multiple of {per_shard}",
            )
        per_unit = -(-per_unit // per_shard) * per_shard
    blocks, extent = (
        _spatial_blocks(variables, dim, per_unit * time_chunk, row_bytes)
        if not config.chunks_per_unit
        else (None, 1)
    )
    units = _units(scan, positions, len(axis), time_chunk, per_unit, blocks, extent)
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
