"""Scan inputs: read only coordinates and variable headers, and check the files agree.

Every check that can fail happens here, before anything is written: a missing
variable, a different grid, another calendar, or a label found in two files is an
error naming the files and the thing at fault.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import xarray as xr

from zarrlake.convert._config import ConvertConfig
from zarrlake.convert._inputs import with_retries
from zarrlake.encoding import is_time_like, join_hint, label_key
from zarrlake.errors import InvalidInputError
from zarrlake.storage.files import file_size, open_file_dataset

__all__ = [
    "FileScan",
    "ScanResult",
    "VariableSchema",
    "label_key",
    "scan_dataset",
    "scan_inputs",
    "scan_template",
]

# Encoding attributes of the inputs that must not be copied as plain attributes.
_CF_ENCODING_ATTRS = {
    "scale_factor",
    "add_offset",
    "_FillValue",
    "missing_value",
    "dtype",
}
_KEPT_ENCODING = ("scale_factor", "add_offset", "_FillValue", "missing_value", "dtype")
_TIME_ENCODING = ("units", "calendar", "dtype")
_CALENDAR_ALIASES = {"gregorian": "standard", None: "standard"}


@dataclass(frozen=True)
class VariableSchema:
    """What the archive needs to know about one data variable.

    Attributes
    ----------
    name, dims, dtype, attrs
        As in the first input (attrs without CF encoding attributes).
    shape
        Sizes of every dim; the concat dim's entry is the first file's length.
    source_encoding
        The first input's CF encoding (``scale_factor``, ``_FillValue``, ``dtype``...;
        ``units``/``calendar`` for times).
    coord
        A coordinate (scalar, 2-D or along the concat dim) rather than a data variable.
    time
        Holds times (``datetime64`` or cftime once decoded), e.g. ``time_bnds``.
    """

    name: str
    dims: tuple[str, ...]
    shape: tuple[int, ...]
    dtype: str
    attrs: dict[str, Any]
    source_encoding: dict[str, Any]
    coord: bool = False
    time: bool = False

    def has(self, dim: str) -> bool:
        """Whether the variable runs along ``dim``."""
        return dim in self.dims


@dataclass
class FileScan:
    """One input file as the scan saw it."""

    path: str
    size: int
    labels: np.ndarray[Any, Any]
    calendar: str | None
    variables: dict[str, VariableSchema]
    grid_digest: dict[str, str]
    times: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    """Values of time-like variables along the concat dim (bounds), for their units."""


@dataclass
class ScanResult:
    """All inputs, checked against each other, sorted by their first label."""

    files: list[FileScan]
    concat_dim: str
    variables: dict[str, VariableSchema]
    grid: dict[str, xr.Variable]
    label_attrs: dict[str, Any]
    label_encoding: dict[str, Any]
    calendar: str | None
    attrs: dict[str, Any]
    input_bytes: int = 0
    data_ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    mixed_packing: dict[str, list[str]] = field(default_factory=dict)
    """Packed variables whose scale/offset differ between inputs: the files that differ."""

    def time_values(self, name: str) -> np.ndarray[Any, Any]:
        """Every input's values of one time-like variable along the concat dim."""
        parts = [f.times[name] for f in self.files if name in f.times]
        return np.concatenate(parts) if parts else np.array([])

    @property
    def labels(self) -> np.ndarray[Any, Any]:
        """Every input label, in file order."""
        return np.concatenate([f.labels for f in self.files]) if self.files else np.array([])

    @property
    def datetime_like(self) -> bool:
        """Whether the labels are times (numpy or cftime)."""
        labels = self.labels
        return labels.dtype.kind == "M" or (labels.dtype == object and hasattr(labels[0], "year"))


def _digest(values: np.ndarray[Any, Any]) -> str:
    array = np.ascontiguousarray(values)
    if array.dtype == object:
        return hashlib.sha256(repr(array.tolist()).encode()).hexdigest()
    return hashlib.sha256(array.tobytes() + str(array.dtype).encode()).hexdigest()


def _holds_times(variable: xr.Variable) -> bool:
    if variable.dtype.kind == "M":
        return True
    if variable.dtype != object or not variable.size:
        return False
    first = variable[tuple(0 for _ in variable.dims)].values
    return is_time_like(np.asarray(first).reshape(-1))


def _schema(name: str, variable: xr.Variable, *, coord: bool = False) -> VariableSchema:
    time = _holds_times(variable)
    keys = _TIME_ENCODING if time else _KEPT_ENCODING
    encoding = {k: variable.encoding[k] for k in keys if k in variable.encoding}
    return VariableSchema(
        name=name,
        dims=tuple(str(d) for d in variable.dims),
        shape=tuple(int(s) for s in variable.shape),
        dtype=str(variable.dtype),
        attrs={
            k: v
            for k, v in variable.attrs.items()
            if k not in _CF_ENCODING_ATTRS and not (time and k in ("units", "calendar"))
        },
        source_encoding=encoding,
        coord=coord,
        time=time,
    )


def _calendar(ds: xr.Dataset, dim: str) -> str | None:
    coord = ds[dim]
    values = coord.values
    if values.dtype == object and values.size and hasattr(values.flat[0], "calendar"):
        calendar = values.flat[0].calendar
    elif values.dtype.kind == "M":
        calendar = coord.encoding.get("calendar")
    else:
        return None
    return str(_CALENDAR_ALIASES.get(calendar, calendar))


def scan_dataset(ds: xr.Dataset, path: str, config: ConvertConfig, size: int = 0) -> FileScan:
    """Scan an open dataset (one input) without loading its data variables.

    Parameters
    ----------
    ds
        The opened input.
    path
        Its path, for messages.
    config
        The conversion config (concat dim, variable selection).
    size
        Its size in bytes.

    Returns
    -------
    FileScan
        Labels, calendar, variable schemas and grid digests.

    Raises
    ------
    InvalidInputError
        When the file lacks the concat dim or a selected variable.
    """
    dim = config.concat_dim
    if dim not in ds.dims:
        raise InvalidInputError(
            f"input {path} has no dimension {dim!r} (its dims: {', '.join(map(str, ds.dims))})",
            subject=path,
            hint=join_hint("concat_dim", "--concat-dim", ds),
        )
    for name in config.include or []:
        if name not in ds.data_vars:
            raise InvalidInputError(
                f"input {path} has no variable {name!r} named in include",
                subject=path,
                hint="fix the include list or the input list",
            )
    variables = {
        str(n): _schema(str(n), v.variable)
        for n, v in ds.data_vars.items()
        if config.selects(str(n))
    }
    for n, v in ds.coords.items():  # scalar, 2-D and auxiliary coordinates
        if n not in ds.dims and config.selects(str(n), coord=True):
            variables[str(n)] = _schema(str(n), v.variable, coord=True)
    for owner in [*variables, *(str(d) for d in ds.dims if d in ds.coords)]:
        bounds = ds[owner].attrs.get("bounds")  # a kept coordinate keeps its bounds
        if isinstance(bounds, str) and bounds in ds.data_vars and bounds not in config.exclude:
            variables.setdefault(bounds, _schema(bounds, ds[bounds].variable))
    labels = ds[dim].values if dim in ds.coords else np.arange(ds.sizes[dim])
    used = {d for v in variables.values() for d in v.dims}
    grid = {
        str(d): _digest(ds[d].values) for d in ds.dims if d != dim and d in ds.coords and d in used
    }
    times = {}
    for name, schema in variables.items():
        if dim not in schema.dims:
            grid[name] = _digest(ds[name].values)  # static: must agree between inputs
        if schema.time:
            times[name] = np.asarray(ds[name].values)
    return FileScan(path, size, np.asarray(labels), _calendar(ds, dim), variables, grid, times)


def scan_inputs(
    paths: Sequence[str],
    config: ConvertConfig,
    *,
    on_file: Callable[[FileScan], None] | None = None,
) -> ScanResult:
    """Scan every input (coordinates and headers only) and check they fit together.

    Parameters
    ----------
    paths
        Input files, local paths or URLs.
    config
        The conversion config.
    on_file
        Called after each file (progress).

    Returns
    -------
    ScanResult
        The files sorted by first label, the variables, grid and label encoding.

    Raises
    ------
    InvalidInputError
        Naming the files at fault: no inputs, a missing or extra variable, another
        grid or calendar, labels repeated within or across files.
    """
    if not paths:
        raise InvalidInputError("no input files were given", subject="inputs")
    files: list[FileScan] = []
    first: dict[str, Any] = {}
    for path in paths:

        def read(path: str = path) -> FileScan:
            with open_file_dataset(
                path,
                engine=config.engine,
                storage_options=config.storage_options,
                purpose="headers",
            ) as ds:
                scanned = scan_dataset(ds, path, config, file_size(path, config.storage_options))
                if not first:
                    first.update(_first_file_details(ds, config, scanned))
                return scanned

        scanned = with_retries(
            read, what=path, retries=config.retries, backoff=config.retry_backoff
        )
        files.append(scanned)
        if on_file is not None:
            on_file(scanned)
    reference = files[0]
    mixed: dict[str, list[str]] = {}
    for scanned in files[1:]:
        _check_same(reference, scanned, config.concat_dim)
        for name in _packing_differs(reference, scanned):
            mixed.setdefault(name, [reference.path]).append(scanned.path)
    files.sort(key=lambda f: label_key(f.labels.min()) if f.labels.size else 0)
    _check_unique_labels(files, config.concat_dim)
    if not reference.variables:
        raise InvalidInputError(
            f"no data variable of {reference.path} is selected for conversion",
            subject=reference.path,
            hint="check include/exclude",
        )
    return ScanResult(
        files=files,
        concat_dim=config.concat_dim,
        variables=reference.variables,
        calendar=reference.calendar,
        input_bytes=sum(f.size for f in files),
        mixed_packing=mixed,
        **first,
    )


def _packing_differs(reference: FileScan, other: FileScan) -> list[str]:
    """Variables packed with another scale, offset or integer type than in the reference."""
    keys = ("scale_factor", "add_offset", "dtype")
    differ = []
    for name, schema in reference.variables.items():
        ours = {k: schema.source_encoding.get(k) for k in keys}
        theirs = {k: other.variables[name].source_encoding.get(k) for k in keys}
        if ours["scale_factor"] is None and ours["add_offset"] is None:
            continue
        if {k: str(v) for k, v in ours.items()} != {k: str(v) for k, v in theirs.items()}:
            differ.append(name)
    return differ


def _first_file_details(ds: xr.Dataset, config: ConvertConfig, scanned: FileScan) -> dict[str, Any]:
    dim = config.concat_dim
    grid = {
        name: ds[name].variable.load().copy() for name in scanned.grid_digest if name in ds.dims
    }
    coord = ds[dim] if dim in ds.coords else None
    return {
        "grid": grid,
        "label_attrs": dict(coord.attrs) if coord is not None else {},
        "label_encoding": dict(coord.encoding) if coord is not None else {},
        "attrs": dict(ds.attrs),
    }


def _check_same(reference: FileScan, other: FileScan, dim: str) -> None:
    missing = sorted(set(reference.variables) - set(other.variables))
    extra = sorted(set(other.variables) - set(reference.variables))
    if missing or extra:
        what = f"lacks {', '.join(map(repr, missing))}" if missing else ""
        what += (" and " if what else "") + (
            f"has extra {', '.join(map(repr, extra))}" if extra else ""
        )
        raise InvalidInputError(
            f"input {other.path} {what} compared with {reference.path}",
            subject=other.path,
            hint="convert files with the same variables, or use include/exclude",
        )
    for name, schema in reference.variables.items():
        theirs = other.variables[name]
        if schema.dims != theirs.dims:
            raise InvalidInputError(
                f"variable {name!r} has dims {theirs.dims} in {other.path} but {schema.dims} "
                f"in {reference.path}",
                subject=other.path,
            )
        ours = [s for d, s in zip(schema.dims, schema.shape, strict=True) if d != dim]
        sizes = [s for d, s in zip(theirs.dims, theirs.shape, strict=True) if d != dim]
        if ours != sizes:
            raise InvalidInputError(
                f"variable {name!r} has a different grid in {other.path}: sizes "
                f"{dict(zip(theirs.dims, theirs.shape, strict=True))} vs "
                f"{dict(zip(schema.dims, schema.shape, strict=True))} in {reference.path}",
                subject=other.path,
                hint="regrid the file first, or convert it into another archive",
            )
    for coord, digest in reference.grid_digest.items():
        if other.grid_digest.get(coord) != digest:
            if coord in reference.variables:
                raise InvalidInputError(
                    f"{coord!r} has no {dim!r} dimension but differs between {other.path} and "
                    f"{reference.path}; the archive can hold only one value of it",
                    subject=other.path,
                    hint=f"exclude {coord!r} (exclude: [{coord}]), or fix the inputs",
                )
            raise InvalidInputError(
                f"coordinate {coord!r} of {other.path} differs from {reference.path} "
                "(a different grid)",
                subject=other.path,
                hint="regrid the file first, or convert it into another archive",
            )
    if other.calendar != reference.calendar:
        raise InvalidInputError(
            f"{dim!r} of {other.path} uses calendar {other.calendar!r} but {reference.path} "
            f"uses {reference.calendar!r}",
            subject=other.path,
            hint="convert files of one calendar into one archive",
        )


def _check_unique_labels(files: list[FileScan], dim: str) -> None:
    seen: dict[Any, FileScan] = {}
    for scanned in files:
        for label in scanned.labels:
            key = label_key(label)
            if key in seen:
                first = seen[key]
                where = (
                    f"twice in {scanned.path}"
                    if first is scanned
                    else f"in both {first.path} and {scanned.path}"
                )
                raise InvalidInputError(
                    f"label {label} appears {where} (overlapping or duplicate inputs)",
                    subject=scanned.path,
                    hint=_repeated_label_hint(first, scanned, dim),
                )
            seen[key] = scanned


def _repeated_label_hint(first: FileScan, second: FileScan, dim: str) -> str:
    """Tell repeated steps from a label coordinate that is not the time.

    Some models write a placeholder along the time dimension (NEMO's ``time_counter``
    can be 0 in every file) and the times in another coordinate along it.
    """
    differing = sorted(
        (
            name
            for name, values in second.times.items()
            if name in first.times and not np.array_equal(first.times[name], values)
        ),
        key=lambda name: second.times[name].ndim,  # time_centered before its bounds
    )
    if first is second or not differing:
        return "remove the duplicate file or the repeated steps"
    return (
        f"{differing[0]!r} along {dim!r} differs between the files, so the labels of "
        f"{dim!r} may be placeholders: set them from {differing[0]!r} in the inputs, or "
        "remove the duplicate file"
    )


def scan_data_ranges(scan: ScanResult, names: Sequence[str], config: ConvertConfig) -> None:
    """Find the minimum and maximum of some variables over every input (a full read).

    Used for packing when neither the config nor the variables' attributes fix a range.
    The result goes into ``scan.data_ranges``.
    """
    ranges: dict[str, tuple[float, float]] = {}
    for scanned in scan.files:

        def read(path: str = scanned.path) -> dict[str, tuple[float, float]]:
            found = {}
            with open_file_dataset(
                path, engine=config.engine, storage_options=config.storage_options
            ) as ds:
                for name in names:
                    values = np.asarray(ds[name].values)
                    finite = values[np.isfinite(values)]
                    if finite.size:
                        found[name] = (float(finite.min()), float(finite.max()))
            return found

        found = with_retries(
            read, what=scanned.path, retries=config.retries, backoff=config.retry_backoff
        )
        for name, (low, high) in found.items():
            old = ranges.get(name, (low, high))
            ranges[name] = (min(old[0], low), max(old[1], high))
    scan.data_ranges.update(ranges)


def scan_template(ds: xr.Dataset, name: str, config: ConvertConfig) -> ScanResult:
    """Scan an in-memory template dataset as if it were the only input.

    Packed variables without a fixed range take the dataset's own minimum and maximum.
    """
    scanned = scan_dataset(ds, name, config)
    if not scanned.variables:
        raise InvalidInputError(
            f"no data variable of {name} is selected for conversion",
            subject=name,
            hint="check include/exclude",
        )
    result = ScanResult(
        files=[scanned],
        concat_dim=config.concat_dim,
        variables=scanned.variables,
        calendar=scanned.calendar,
        **_first_file_details(ds, config, scanned),
    )
    for variable in scanned.variables:
        values = np.asarray(ds[variable].values)
        if values.dtype.kind == "f" and np.isfinite(values).any():
            finite = values[np.isfinite(values)]
            result.data_ranges[variable] = (float(finite.min()), float(finite.max()))
    return result
