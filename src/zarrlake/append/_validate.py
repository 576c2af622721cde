"""Validate a slice against the configuration and the target before anything changes.

The target's state (dims, variables, their decoded dtypes and encodings, the labels of
the append dimension, the fixed coordinates) is read once per run and updated after
each commit, so validating a slice costs the same at step 10 and at step 10,000.
"""

from __future__ import annotations

import datetime as _dt
import warnings
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
import zarr
from zarr.abc.store import Store

from zarrlake.append._config import AppendConfig
from zarrlake.encoding import (
    Packing,
    describe_duration,
    join_hint,
    label_key,
    label_text,
    step_selection,
)
from zarrlake.errors import InvalidInputError

__all__ = [
    "SliceCheck",
    "TargetState",
    "check_slice",
    "gap_warning",
    "read_target_state",
    "stored_differences",
]


@dataclass
class VariableState:
    """What the target stores for one variable."""

    dims: tuple[str, ...]
    dtype: np.dtype[Any]
    encoding: dict[str, Any]
    attrs: dict[str, Any]


@dataclass
class TargetState:
    """The target as validation needs it."""

    exists: bool
    zarr_format: int | None = None
    sizes: dict[str, int] = field(default_factory=dict)
    variables: dict[str, VariableState] = field(default_factory=dict)
    labels: np.ndarray[Any, Any] = field(default_factory=lambda: np.array([]))
    fixed_coords: dict[str, np.ndarray[Any, Any]] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)

    _step: tuple[int, Any] | None = field(default=None, repr=False)

    def regular_step(self) -> Any:
        """Return the step between labels when they are evenly spaced, else ``None``."""
        count = len(self.labels)
        known = self._step
        if known is not None and known[0] == count:
            return known[1]
        begin = 0
        if known is not None and 2 <= known[0] < count:
            if known[1] is None:  # irregular stays irregular
                self._step = (count, None)
                return None
            begin = known[0] - 1  # only the labels added since (constant cost per slice)
        step = known[1] if known is not None and begin else None
        if count >= 2:
            tail = self.labels[begin:]
            diffs = tail[1:] - tail[:-1]
            first = diffs[0] if step is None else step
            step = first if all(d == first for d in diffs) else None
        self._step = (count, step)
        return step

    def after_append(self, ds: xr.Dataset, append_dim: str) -> None:
        """Update the state with a slice that was just committed."""
        if not self.exists:
            fresh = state_from_dataset(ds, append_dim, self.zarr_format)
            self.__dict__.update(fresh.__dict__)
            return
        self.sizes[append_dim] += ds.sizes[append_dim]
        if append_dim in ds.coords:
            self.labels = np.concatenate([self.labels, ds[append_dim].values])
        self.attrs = dict(ds.attrs)


def state_from_dataset(ds: xr.Dataset, append_dim: str, zarr_format: int | None) -> TargetState:
    """Build the state of a target from a dataset view of it."""
    variables = {
        str(name): VariableState(
            dims=tuple(str(d) for d in var.dims),
            dtype=var.dtype,
            encoding=dict(var.encoding),
            attrs=dict(var.attrs),
        )
        for name, var in ds.variables.items()
    }
    fixed = {
        str(name): np.asarray(var.values)
        for name, var in ds.coords.items()
        if append_dim not in var.dims and var.ndim == 1
    }
    labels = ds[append_dim].values if append_dim in ds.coords else np.array([])
    return TargetState(
        exists=True,
        zarr_format=zarr_format,
        sizes={str(k): int(v) for k, v in ds.sizes.items()},
        variables=variables,
        labels=np.asarray(labels),
        fixed_coords=fixed,
        attrs=dict(ds.attrs),
    )


def read_target_state(store: Store, append_dim: str, zarr_format: int | None) -> TargetState:
    """Read the target's state (``exists=False`` when the store holds no dataset).

    Parameters
    ----------
    store
        The target's store (or a staging overlay of it).
    append_dim
        The append dimension.
    zarr_format
        The target's format, when known.

    Returns
    -------
    TargetState
        The state.
    """
    if zarr_format is None:
        return TargetState(exists=False)
    with xr.open_zarr(store, consolidated=None, zarr_format=zarr_format, chunks=None) as ds:
        if append_dim not in ds.dims:
            raise InvalidInputError(
                f"the target has no dimension {append_dim!r} (it has {sorted(map(str, ds.dims))})",
                subject=append_dim,
                hint="set append_dim to one of the target's dimensions",
            )
        return state_from_dataset(ds, append_dim, zarr_format)


@dataclass
class SliceCheck:
    """The outcome of validating one slice."""

    action: Literal["create", "append", "existing"]
    dataset: xr.Dataset
    reason: str = ""
    positions: np.ndarray[Any, Any] | None = None
    """For ``existing``: where the slice's labels are in the target."""


def _fail(name: str, message: str, subject: str, hint: str | None = None) -> InvalidInputError:
    return InvalidInputError(f"{name}: {message}", subject=subject, hint=hint)


def _select_variables(ds: xr.Dataset, config: AppendConfig, name: str) -> xr.Dataset:
    names = {str(v) for v in ds.variables}
    for option in ("included_variables", "excluded_variables"):
        for variable in getattr(config, option) or []:
            if variable not in names:
                raise _fail(
                    name,
                    f"{option} names {variable!r}, which the slice does not have",
                    variable,
                    f"the slice has {sorted(names)}",
                )
    if config.included_variables:
        keep = set(config.included_variables)
        for variable in list(keep):
            keep.update(str(d) for d in ds[variable].dims if d in ds.variables)
        ds = ds.drop_vars([v for v in ds.variables if str(v) not in keep])
    if config.excluded_variables:
        ds = ds.drop_vars(config.excluded_variables)
    return ds


def _check_structure(ds: xr.Dataset, config: AppendConfig, name: str) -> None:
    dim = config.append_dim
    if dim not in ds.dims:
        raise _fail(
            name,
            f"has no append dimension {dim!r} (dims: {sorted(map(str, ds.dims))})",
            dim,
            join_hint("append_dim", "--append-dim", ds),
        )
    for fixed, size in (config.fixed_dims or {}).items():
        if fixed not in ds.dims:
            raise _fail(name, f"lacks the fixed dimension {fixed!r}", fixed)
        if ds.sizes[fixed] != size:
            raise _fail(
                name,
                f"dimension {fixed!r} has size {ds.sizes[fixed]}, fixed_dims says {size}",
                fixed,
            )
    for variable, settings in (config.variables or {}).items():
        if variable == "*":
            continue
        if variable not in ds.variables:
            raise _fail(
                name,
                f"the configured variable {variable!r} is missing",
                variable,
                "add it to the slice, or exclude it",
            )
        if settings.dims is not None and list(map(str, ds[variable].dims)) != settings.dims:
            raise _fail(
                name,
                f"variable {variable!r} has dims {list(map(str, ds[variable].dims))}, "
                f"configured {settings.dims}",
                variable,
            )
    if dim in ds.coords:
        _check_labels(ds[dim].values, config, name, previous=None)


def _check_labels(
    labels: np.ndarray[Any, Any], config: AppendConfig, name: str, previous: Any
) -> None:
    dim = config.append_dim
    values = np.concatenate([[previous], labels]) if previous is not None else labels
    if values.size < 2:
        return
    decreasing = _decreasing(config.append_step)
    ok = (values[1:] < values[:-1]) if decreasing else (values[1:] > values[:-1])
    if not ok.all():
        where = "after the target's last label" if previous is not None else "within the slice"
        order = "decreasing" if decreasing else "increasing"
        bad = values[1:][~ok][0]
        raise _fail(
            name,
            f"labels of {dim!r} must be strictly {order} {where}; {bad} is not",
            dim,
            "append slices in order, or set append_step",
        )
    step = config.append_step
    if step in (None, "+", "-"):
        return
    is_time = values.dtype.kind in "MO"
    if is_time != isinstance(step, str):
        raise _fail(
            name, f"append_step {step!r} does not fit labels of type {values.dtype}", "append_step"
        )
    steps = values[1:] - values[:-1]
    if isinstance(step, str):
        delta = pd.Timedelta(step)
        expected: Any = (
            delta.to_pytimedelta() if values.dtype.kind == "O" else delta.to_timedelta64()
        )
    else:
        expected = step
    if not all(s == expected for s in steps):
        found = sorted({_duration_text(s) for s in steps if s != expected})
        raise _fail(
            name,
            f"steps between labels of {dim!r} must be {_duration_text(expected)}; found "
            f"{', '.join(found[:3])}",
            "append_step",
        )


def _duration_text(delta: Any) -> str:
    """Say a step as people read it (``3 days``) for times; numbers as they are."""
    if isinstance(delta, np.timedelta64):
        return describe_duration(int(delta / np.timedelta64(1, "us")))
    if isinstance(delta, _dt.timedelta):
        return describe_duration(delta // _dt.timedelta(microseconds=1))
    return str(delta)


def gap_warning(labels: np.ndarray[Any, Any], state: TargetState, config: AppendConfig) -> str:
    """Say when a slice leaves a gap in a regular axis and no ``append_step`` is set.

    With ``append_step`` set a gap is an error (:func:`check_slice`); without it, a
    target whose labels are evenly spaced expects the next one.
    """
    if config.append_step is not None or not labels.size:
        return ""
    step = state.regular_step()
    if step is None:
        return ""
    expected = state.labels[-1] + step
    if labels[0] == expected:
        return ""
    return (
        f"leaves a gap in {config.append_dim!r}: the target's step is {_duration_text(step)}, "
        f"so the next label would be {label_text(expected)}, but the slice starts at "
        f"{label_text(labels[0])}"
    )


def _decreasing(step: str | int | float | None) -> bool:
    if step is None or step == "+":
        return False
    if step == "-":
        return True
    if isinstance(step, str):
        return bool(pd.Timedelta(step) < pd.Timedelta(0))
    return step < 0


def _castable(values: np.ndarray[Any, Any], target: np.dtype[Any]) -> bool:
    source = values.dtype
    if np.can_cast(source, target, "safe"):
        return True
    if source.kind == "f" and target.kind == "f":
        # narrower floats: only values that survive the round trip exactly
        with np.errstate(over="ignore", invalid="ignore"):
            back = values.astype(target).astype(source)
        return bool(np.array_equal(back, values, equal_nan=True))
    if source.kind in "iuf" and target.kind in "iu":
        if source.kind == "f" and not np.all(np.isfinite(values)):
            return False
        info = np.iinfo(target)
        return values.size == 0 or bool(
            values.min() >= info.min
            and values.max() <= info.max
            and np.all(values == np.round(values))
        )
    if source.kind in "iu" and target.kind == "f":
        return bool(np.all(values.astype(target).astype(source) == values))
    return bool(source == target)


def _check_against_target(
    ds: xr.Dataset, state: TargetState, config: AppendConfig, name: str
) -> xr.Dataset:
    dim = config.append_dim
    static = [v for v in ds.variables if dim not in ds[v].dims]
    for variable in static:
        key = str(variable)
        if key in state.fixed_coords:
            mine = np.asarray(ds[variable].values)
            theirs = state.fixed_coords[key]
            if mine.shape != theirs.shape or not np.array_equal(
                mine, theirs, equal_nan=mine.dtype.kind == "f"
            ):
                raise _fail(
                    name,
                    f"coordinate {key!r} differs from the target's (a different grid)",
                    key,
                    "regrid the slice to the target's grid",
                )
    ds = ds.drop_vars(static)
    appended = {n for n, v in state.variables.items() if dim in v.dims}
    for variable in ds.variables:
        key = str(variable)
        if key not in state.variables:
            raise _fail(
                name,
                f"variable {key!r} is not in the target",
                key,
                "exclude it (excluded_variables), or start a new target",
            )
        target = state.variables[key]
        dims = tuple(map(str, ds[variable].dims))
        if dims != target.dims:
            raise _fail(
                name, f"variable {key!r} has dims {list(dims)}, the target {list(target.dims)}", key
            )
        for d in dims:
            if d != dim and ds.sizes[d] != state.sizes[d]:
                raise _fail(
                    name,
                    f"dimension {d!r} of variable {key!r} has size {ds.sizes[d]}, "
                    f"the target {state.sizes[d]}",
                    d,
                )
        encoding = config.variable(key).encoding
        if encoding is None or encoding.dtype is None:  # a configured dtype is a request
            _check_dtype(ds[variable], target, key, name)
    missing = sorted(appended - {str(v) for v in ds.variables})
    if missing:
        raise _fail(
            name,
            f"lacks variable(s) {missing} that the target has along {dim!r}",
            missing[0],
            "add them to the slice, or exclude them from the target",
        )
    return ds


def _to_target_calendar(ds: xr.Dataset, state: TargetState, name: str) -> xr.Dataset:
    """Express datetime64 variables in the calendar of a target decoded to cftime."""
    updates = {}
    for key, variable in ds.variables.items():
        target = state.variables.get(str(key))
        if target is None or target.dtype.kind != "O" or variable.dtype.kind != "M":
            continue
        units = target.encoding.get("units")
        calendar = target.encoding.get("calendar")
        if not units or not calendar:
            continue
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                encoded, used_units, _ = xr.coding.times.encode_cf_datetime(
                    variable.values, units, calendar
                )
            converted = xr.coding.times.decode_cf_datetime(
                encoded, used_units, calendar, use_cftime=True
            )
        except (ValueError, OverflowError, TypeError) as exc:
            raise _fail(
                name,
                f"times of {str(key)!r} do not exist in the target's calendar {calendar!r}: {exc}",
                str(key),
                "drop or move those dates, or start a target in a standard calendar",
            ) from exc
        updates[key] = variable.copy(data=np.asarray(converted, dtype=object))
    if not updates:
        return ds
    coords = {k: v for k, v in updates.items() if k in ds.coords}
    data = {k: v for k, v in updates.items() if k not in ds.coords}
    return ds.assign_coords(coords).assign(data)


def _check_dtype(
    variable: xr.Variable | xr.DataArray, target: VariableState, key: str, name: str
) -> None:
    values = np.asarray(variable.values)
    if target.dtype.kind == "M" or values.dtype.kind == "M":
        if values.dtype.kind != target.dtype.kind:
            raise _fail(name, f"variable {key!r} is {values.dtype}, the target {target.dtype}", key)
        return  # exactness in the target's units: encode_times, before the write
    if values.dtype.kind == "O" or target.dtype.kind == "O":
        if values.dtype.kind != target.dtype.kind:
            raise _fail(name, f"variable {key!r} is {values.dtype}, the target {target.dtype}", key)
        return
    if not _castable(values, target.dtype):
        raise _fail(
            name,
            f"variable {key!r} of dtype {values.dtype} cannot be stored as the target's "
            f"{target.dtype} without loss",
            key,
            f"cast the slice, or name the dtype to cast to (variables.{key}.encoding.dtype)",
        )


def check_slice(ds: xr.Dataset, state: TargetState, config: AppendConfig, name: str) -> SliceCheck:
    """Validate one slice; return what to do with it and the dataset to write.

    Parameters
    ----------
    ds
        The loaded slice.
    state
        The target's state.
    config
        The append configuration.
    name
        The slice's name for messages.

    Returns
    -------
    SliceCheck
        ``create`` (first slice of a new target), ``append``, or ``existing`` (its
        labels are already in the target, and ``on_existing`` is not ``error``: the
        caller compares values, then skips or replaces).

    Raises
    ------
    InvalidInputError
        Naming the slice and the variable, dimension or option at fault.
    """
    ds = _select_variables(ds, config, name)
    _check_structure(ds, config, name)
    if not state.exists:
        return SliceCheck("create", ds)
    ds = _to_target_calendar(ds, state, name)
    dim = config.append_dim
    if dim in ds.coords and state.labels.size:
        labels = ds[dim].values
        if labels.dtype.kind != state.labels.dtype.kind:
            raise _fail(
                name,
                f"labels of {dim!r} are {labels.dtype}, the target's {state.labels.dtype}",
                dim,
            )
        present = np.isin(labels, state.labels)
        if present.all():
            if config.on_existing == "error":
                raise _fail(
                    name,
                    f"its labels of {dim!r} ({labels[0]} .. {labels[-1]}) are already in the "
                    "target",
                    dim,
                    "set on_existing to 'skip' to re-run a list of slices, or 'replace'",
                )
            # A re-delivered slice: its structure is checked like any other's; the
            # caller compares its values with what is stored.
            ds = _check_against_target(ds, state, config, name)
            where = {label_key(v): i for i, v in enumerate(state.labels)}
            positions = np.array([where[label_key(v)] for v in labels], dtype=np.int64)
            return SliceCheck("existing", ds, "its labels are already in the target", positions)
        if present.any():
            raise _fail(
                name,
                f"some labels of {dim!r} ({labels[present][:3]}) are already in the target and "
                "some are not",
                dim,
                "a slice must not overlap the target",
            )
        _check_labels(labels, config, name, previous=state.labels[-1])
    ds = _check_against_target(ds, state, config, name)
    return SliceCheck("append", ds)


def stored_differences(
    ds: xr.Dataset,
    store: Store,
    append_dim: str,
    positions: np.ndarray[Any, Any],
    packings: Mapping[str, Packing],
) -> list[str]:
    """Say how a re-delivered slice differs from the steps stored at ``positions``.

    Values are compared as the target stores them: packed variables by their codes
    (within one code: the first write may have rounded a value on a half step the
    other way), times by their labels, other values bit for bit in the target's dtype
    (NaN equals NaN).

    Returns
    -------
    list of str
        One description per variable that differs (empty: the slice is what is stored).
    """
    differ = []
    steps = step_selection(positions)  # a run reads as a slice: fast on shards too
    with xr.open_zarr(store, consolidated=None, chunks=None) as stored:
        group = zarr.open_group(store, mode="r", use_consolidated=False)
        for key, variable in ds.variables.items():
            name = str(key)
            if append_dim not in variable.dims or name not in stored.variables:
                continue
            dims = stored[name].dims
            mine = np.asarray(variable.transpose(*dims).values)
            if name in packings:
                # codes against the stored codes: decoded float32 values would round
                packing = packings[name]
                mine = packing.pack_in_range(packing.check_range(mine, policy="clip"))
                array = group[name]
                assert isinstance(array, zarr.Array)
                where = tuple(steps if d == append_dim else slice(None) for d in dims)
                theirs = np.asarray(array.get_orthogonal_selection(where))
            else:
                theirs = np.asarray(stored[name].isel({append_dim: steps}).values)
            if name not in packings and mine.dtype.kind in "biuf" and theirs.dtype.kind in "biuf":
                mine = mine.astype(theirs.dtype)
            if mine.shape != theirs.shape:
                differ.append(f"{name!r} has shape {mine.shape}, the stored steps {theirs.shape}")
                continue
            if name in packings:
                # Within one code: xarray's encoder rounds in the data's float32, ours in
                # float64, so a value on a half step may land on either neighbour.
                fill = packings[name].fill_value
                same = (mine == fill) == (theirs == fill)
                same &= np.abs(mine.astype(np.int64) - theirs.astype(np.int64)) <= 1
            elif mine.dtype.kind in "fc":
                same = np.isnan(mine) == np.isnan(theirs)
                with np.errstate(invalid="ignore"):
                    same &= (mine == theirs) | np.isnan(mine)
            else:
                same = np.asarray(mine == theirs)
            count = int(np.size(same) - np.count_nonzero(same))
            if count:
                text = f"{name!r}: {count} of {np.size(same)} value(s) differ"
                if mine.dtype.kind in "iuf" and name not in packings:
                    with np.errstate(invalid="ignore"):
                        delta = np.abs(mine.astype(np.float64) - theirs.astype(np.float64))
                    finite = delta[np.isfinite(delta)]
                    if finite.size:
                        text += f" (largest difference {float(finite.max()):g})"
                differ.append(text)
    return differ


def merged_attrs(
    mode: str,
    target_attrs: Mapping[Any, Any],
    slice_attrs: Mapping[Any, Any],
    creating: bool,
) -> dict[Any, Any]:
    """Global attributes after a slice, before configured attrs are applied."""
    if mode == "ignore":
        return {} if creating else dict(target_attrs)
    if creating or mode == "replace":
        return dict(slice_attrs)
    if mode == "update":
        return {**target_attrs, **slice_attrs}
    return dict(target_attrs)
