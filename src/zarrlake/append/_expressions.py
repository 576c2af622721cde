"""zappend's ``{{ expression }}`` attributes: the target after the append, and bounds.

With ``permit_eval: true``, a configured attribute whose string value holds
``{{ expression }}`` is computed for every slice, as in zappend: the expression is a
Python expression that sees

``ds``
    The target as it will read once the slice is committed: for the first slice the
    slice itself, afterwards the target's variables concatenated with the slice's along
    the append dimension (see :func:`target_after_append`). Values are lazy, so only
    what an expression uses is read.
``lower_bound(array, ref="lower")``, ``upper_bound(array, ref="lower")``
    The outer edges of the cells of a 1-D coordinate (see :func:`lower_bound`).
``np``
    NumPy (an addition of zarrlake's).

and a few harmless builtins (``len``, ``min``, ``max``, ``str``, ``round``, ...). A value
that is exactly one ``{{ expression }}`` takes the result's JSON type (a number stays a
number, a time becomes an ISO 8601 string); an expression inside other text is replaced
by the result as text (``"{{ ds.time.size }} steps"``).

The expressions are evaluated with :func:`eval`: ``permit_eval`` is for configurations
you trust, since an expression can still reach Python internals.
"""

from __future__ import annotations

import builtins
import datetime
import math
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from functools import partial
from typing import Any, Literal

import numpy as np
import pandas as pd
import xarray as xr
from zarr.abc.store import Store

from zarrlake.errors import InvalidInputError

__all__ = [
    "CellRef",
    "evaluate_attrs",
    "has_expressions",
    "lower_bound",
    "target_after_append",
    "to_attr_value",
    "upper_bound",
]

CellRef = Literal["lower", "upper", "center"]
"""Where a coordinate label sits in its cell."""

_EXPRESSION = re.compile(r"\{\{(.*?)\}\}", re.DOTALL)
_BUILTINS: dict[str, Any] = {
    name: getattr(builtins, name)
    for name in (
        "abs",
        "all",
        "any",
        "bool",
        "dict",
        "enumerate",
        "float",
        "int",
        "len",
        "list",
        "max",
        "min",
        "range",
        "round",
        "sorted",
        "str",
        "sum",
        "tuple",
        "zip",
    )
}
# Finer units, to halve an odd step of a datetime64 coordinate exactly.
_FINER_UNIT = {
    "W": "D",
    "D": "h",
    "h": "m",
    "m": "s",
    "s": "ms",
    "ms": "us",
    "us": "ns",
    "ns": "ps",
    "ps": "fs",
    "fs": "as",
}


def _item(array: Any, index: int) -> Any:
    """One element of a 1-D array as a scalar (for a lazy array, only that element is read)."""
    value = array[index]
    return np.asarray(getattr(value, "values", value))[()]


def _half(step: Any) -> Any:
    if isinstance(step, np.timedelta64):
        unit, _ = np.datetime_data(step.dtype)
        while int(step.astype(np.int64)) % 2 and unit in _FINER_UNIT:
            unit = _FINER_UNIT[unit]
            step = step.astype(f"m8[{unit}]")
    return step / 2


def _bounds(array: Any, ref: CellRef) -> tuple[Any, Any]:
    if ref not in ("lower", "upper", "center"):
        raise ValueError(f"ref must be 'lower', 'upper' or 'center', got {ref!r}")
    if not hasattr(array, "shape"):
        array = np.asarray(array)
    if len(array.shape) != 1:
        raise ValueError(f"the array must be one-dimensional, got shape {tuple(array.shape)}")
    if array.shape[0] == 0:
        raise ValueError("the array is empty")
    first, last = _item(array, 0), _item(array, -1)
    step = _item(array, 1) - first if array.shape[0] > 1 else first - first
    if first > last:
        first, last, step = last, first, -step
    if ref == "lower":
        low, high = first, last + step
    elif ref == "upper":
        low, high = first - step, last
    else:
        half = _half(step)
        low, high = first - half, last + half
    if isinstance(array, xr.DataArray):
        return xr.DataArray(low), xr.DataArray(high)
    return low, high


def lower_bound(array: Any, ref: CellRef = "lower") -> Any:
    """Return the lower edge of the cells of a 1-D coordinate, as zappend does.

    The cell size is the first step of the coordinate (``array[1] - array[0]``, zero for
    a single label); a ``bounds`` variable is not consulted. The labels may be
    increasing or decreasing. ``ref`` says where each label sits in its cell:

    - ``"lower"`` (default): a label is its cell's lower edge, so the lower bound is the
      smallest label;
    - ``"upper"``: a label is its cell's upper edge, so the lower bound is the smallest
      label minus the step;
    - ``"center"``: a label is its cell's centre, so the lower bound is the smallest label
      minus half the step.

    Parameters
    ----------
    array
        A 1-D array (a DataArray, NumPy array or sequence) of numbers or times.
    ref
        Where a label sits in its cell: ``"lower"``, ``"upper"`` or ``"center"``.

    Returns
    -------
    Any
        The bound: a 0-d DataArray for a DataArray, else a scalar.

    Raises
    ------
    ValueError
        For an array that is not 1-D, is empty, or a bad ``ref``.

    Examples
    --------
    >>> lower_bound([0, 1, 2]), lower_bound([0, 1, 2], "upper"), lower_bound([0, 1, 2], "center")
    (np.int64(0), np.int64(-1), np.float64(-0.5))
    """
    return _bounds(array, ref)[0]


def upper_bound(array: Any, ref: CellRef = "lower") -> Any:
    """Return the upper edge of the cells of a 1-D coordinate, as zappend does.

    As :func:`lower_bound`: with ``ref="lower"`` (the default, as in zappend) the largest
    label plus the step, with ``"upper"`` the largest label, with ``"center"`` the largest
    label plus half the step.

    Parameters
    ----------
    array
        A 1-D array (a DataArray, NumPy array or sequence) of numbers or times.
    ref
        Where a label sits in its cell: ``"lower"``, ``"upper"`` or ``"center"``.

    Returns
    -------
    Any
        The bound: a 0-d DataArray for a DataArray, else a scalar.

    Raises
    ------
    ValueError
        For an array that is not 1-D, is empty, or a bad ``ref``.

    Examples
    --------
    >>> upper_bound([0, 1, 2]), upper_bound([0, 1, 2], "upper"), upper_bound([0, 1, 2], "center")
    (np.int64(3), np.int64(2), np.float64(2.5))
    """
    return _bounds(array, ref)[1]


def _datetime_text(value: np.datetime64) -> str:
    if np.isnat(value):
        return "NaT"
    text = str(np.datetime_as_string(value, unit="s"))
    if np.datetime64(text) != value:  # keep sub-second precision
        text = str(np.datetime_as_string(value, unit="auto"))
    return text


def to_attr_value(value: Any) -> Any:
    """Convert an expression's result into a value an attribute can hold (JSON).

    As zappend: finite floats stay numbers (``nan``/``inf`` become text), integers and
    booleans keep their type, times become ISO 8601 text (to the second unless they have
    a finer part), 0-d arrays become their element, arrays and sequences become lists
    and mappings dicts. Besides, durations become ISO 8601 durations and any object with
    ``isoformat()`` (cftime dates) its ISO text.

    Parameters
    ----------
    value
        The result.

    Returns
    -------
    Any
        ``None``, a bool, int, float, str, list or dict.

    Raises
    ------
    ValueError
        For a value with no JSON form.
    """
    if isinstance(value, xr.DataArray):
        value = value.values
    if isinstance(value, np.ndarray):
        if value.ndim == 0:
            value = value[()]
        else:
            return [to_attr_value(v) for v in value]
    if value is None or isinstance(value, (bool, str, np.bool_, np.str_)):
        return value if not isinstance(value, (np.bool_, np.str_)) else value.item()
    if isinstance(value, np.datetime64):  # before numbers: timedelta64 is an integer
        return _datetime_text(value)
    if isinstance(value, (np.timedelta64, datetime.timedelta)):
        return "NaT" if pd.isna(value) else pd.Timedelta(value).isoformat()
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value) if math.isfinite(value) else str(float(value))
    if isinstance(value, np.bytes_):
        return value.decode()
    if isinstance(value, datetime.datetime):
        return value.replace(microsecond=0).isoformat()
    if isinstance(value, Mapping) and not isinstance(value, xr.Dataset):
        return {str(k): to_attr_value(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [to_attr_value(v) for v in value]
    if hasattr(value, "isoformat"):  # datetime.date, cftime dates
        return value.isoformat()
    raise ValueError(f"cannot store a {type(value).__name__} as an attribute")


def has_expressions(attrs: Mapping[str, Any]) -> bool:
    """Tell whether any (top-level) string value holds a ``{{ expression }}``.

    Parameters
    ----------
    attrs
        The configured attributes.

    Returns
    -------
    bool
        ``True`` if evaluating would change something.
    """
    return any(isinstance(v, str) and _EXPRESSION.search(v) for v in attrs.values())


def evaluate_attrs(
    attrs: Mapping[str, Any], ds: xr.Dataset, permit_eval: bool = True
) -> dict[str, Any]:
    """Evaluate the ``{{ expression }}`` in the configured attributes, as zappend does.

    A (top-level) string value that is exactly one ``{{ expression }}`` becomes the
    result (see :func:`to_attr_value`); each ``{{ expression }}`` inside other text is
    replaced by the result as text. Other values, and a ``{{`` without ``}}``, are kept.

    Parameters
    ----------
    attrs
        The configured attributes.
    ds
        The dataset expressions see as ``ds``: the target after the append (see
        :func:`target_after_append`).
    permit_eval
        Without it, the attributes are returned unchanged.

    Returns
    -------
    dict
        The attributes with the expressions' values.

    Raises
    ------
    InvalidInputError
        For an expression that fails or whose result cannot be an attribute.
    """
    if not permit_eval:
        return dict(attrs)
    namespace = {
        "__builtins__": _BUILTINS,
        "ds": ds,
        "np": np,
        "lower_bound": lower_bound,
        "upper_bound": upper_bound,
    }

    def evaluate(key: str, expression: str) -> Any:
        try:
            # permit_eval is the user's explicit opt-in to zappend's expression attrs
            return to_attr_value(eval(expression.strip(), namespace))
        except Exception as exc:
            raise InvalidInputError(
                f"attribute {key!r}: expression {{{{{expression}}}}} failed: "
                f"{type(exc).__name__}: {exc}",
                subject=f"attrs.{key}",
                hint="fix the expression (it sees ds, lower_bound, upper_bound and np)",
            ) from exc

    def as_text(key: str, match: re.Match[str]) -> str:
        return str(evaluate(key, match.group(1)))

    evaluated: dict[str, Any] = {}
    for key, value in attrs.items():
        if not isinstance(value, str) or not _EXPRESSION.search(value):
            evaluated[key] = value
            continue
        whole = _EXPRESSION.fullmatch(value)
        if whole is not None and "}}" not in whole.group(1):
            evaluated[key] = evaluate(key, whole.group(1))
        else:
            evaluated[key] = _EXPRESSION.sub(partial(as_text, key), value)
    return evaluated


@contextmanager
def target_after_append(
    target: Store | None,
    ds: xr.Dataset,
    append_dim: str,
    *,
    zarr_format: int | None = None,
    labels: np.ndarray[Any, Any] | None = None,
    consolidated: bool | None = None,
) -> Iterator[xr.Dataset]:
    """Open a lazy view of the target as it will read once ``ds`` is appended.

    The target is opened lazily (dask arrays), and each variable along ``append_dim`` is
    concatenated with the slice's; other variables and the indexes of the other
    dimensions are the slice's (they equal the target's, once the slice is validated),
    and so are the attributes. Nothing is read until an expression uses values, and then
    only the chunks it needs.

    Parameters
    ----------
    target
        The target's store (or a staging overlay of it) before the append; ``None`` for
        a slice that creates the target, whose view is the slice itself.
    ds
        The slice, decoded, as it will be written.
    append_dim
        The append dimension.
    zarr_format
        The target's format, when known.
    labels
        The target's (decoded) labels along ``append_dim``, when known, so that they are
        not read again.
    consolidated
        Whether to read the consolidated metadata (``None``: when there is some);
        ``False`` for a staging overlay whose consolidated metadata lags behind.

    Yields
    ------
    xarray.Dataset
        The view; valid inside the ``with`` block.
    """
    if target is None:
        yield ds
        return
    with xr.open_zarr(
        target,
        consolidated=consolidated,
        zarr_format=zarr_format,
        chunks={},
        create_default_indexes=False,
    ) as stored:
        if (
            labels is not None
            and append_dim in stored.variables
            and len(labels) == stored.sizes.get(append_dim)
        ):
            stored = stored.assign_coords({append_dim: (append_dim, labels)})
        elif append_dim in stored.variables:
            stored = stored.set_xindex(append_dim)
        yield _concat(stored, ds, append_dim)


def _concat(stored: xr.Dataset, ds: xr.Dataset, append_dim: str) -> xr.Dataset:
    """Concatenate the (lazy) target and the slice along ``append_dim``."""
    stored = stored.drop_vars([v for v in stored.variables if v not in ds.variables])
    added = ds.drop_vars([v for v in ds.variables if v not in stored.variables])
    after = xr.concat(
        [stored, added],
        dim=append_dim,
        data_vars="minimal",
        coords="minimal",
        compat="override",
        join="override",
        combine_attrs="override",
    )
    after.attrs = dict(ds.attrs)
    for name, variable in after.variables.items():
        variable.attrs = dict(ds.variables[name].attrs)
    return after
