"""CF packing: floats stored as int8/int16/int32 with ``scale_factor``/``add_offset``.

The range is fixed once per archive (given, or from ``valid_min``/``valid_max``):
per-file ranges would give each region write or append its own scale, which one
array cannot store. With ``n`` bits, ``_FillValue = -2**(n-1)`` is reserved for missing
values and the codes ``-(2**(n-1) - 1) .. 2**(n-1) - 1`` cover the range::

    scale_factor = (valid_max - valid_min) / (2**n - 2)
    add_offset   = (valid_max + valid_min) / 2
    unpacked     = packed * scale_factor + add_offset

Round-trip law: for finite ``x`` in ``[valid_min, valid_max]``,
``|unpack(pack(x)) - x| <= scale_factor / 2`` (plus the rounding of the unpacked dtype);
NaN packs to ``_FillValue`` and unpacks to NaN. Values outside the range follow the
policy: ``error`` (default; names the variable, the count and the extremes), ``clip``
to the range, or ``mask`` to ``_FillValue``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt

from zarrlake.errors import InvalidInputError, OutOfRangeError

__all__ = [
    "OutOfRangePolicy",
    "Packing",
    "align_fill_value",
    "choose_packing",
    "packing_from_attrs",
    "packing_from_encoding",
]

OutOfRangePolicy = Literal["error", "clip", "mask"]
_POLICIES = ("error", "clip", "mask")
_PACKED_DTYPES = {"int8": np.int8, "int16": np.int16, "int32": np.int32}
_BITS_TO_DTYPE = {8: "int8", 16: "int16", 32: "int32"}


@dataclass(frozen=True)
class Packing:
    """Packing parameters for one variable.

    Attributes
    ----------
    dtype
        The packed integer dtype name (``int8``, ``int16``, ``int32``).
    scale_factor, add_offset
        In the unpacked dtype's precision (as CF requires).
    fill_value
        The reserved packed code for missing values.
    valid_min, valid_max
        The fixed range of unpacked values.
    unpacked_dtype
        ``float32`` or ``float64``.
    """

    dtype: str
    scale_factor: float
    add_offset: float
    fill_value: int
    valid_min: float
    valid_max: float
    unpacked_dtype: str = "float32"

    @property
    def max_abs_error(self) -> float:
        """Half a quantisation step: the bound of the round-trip error."""
        return self.scale_factor / 2

    @property
    def code_limit(self) -> int:
        """The largest packed code (the smallest is its negative)."""
        return int(np.iinfo(self.dtype).max)

    def check_range(
        self,
        values: npt.ArrayLike,
        *,
        policy: OutOfRangePolicy = "error",
        name: str = "values",
        where: str | None = None,
    ) -> npt.NDArray[np.floating[Any]]:
        """Apply the out-of-range policy to unpacked values.

        Parameters
        ----------
        values
            Unpacked values.
        policy
            ``error``, ``clip`` or ``mask`` (out-of-range values become NaN).
        name
            The variable name, for the error message.
        where
            The file or slice the values come from, for the error message.

        Returns
        -------
        numpy.ndarray
            The values (a float copy when ``clip`` or ``mask`` changed any).

        Raises
        ------
        OutOfRangeError
            With ``policy="error"``, when any finite value lies outside the range.
        """
        if policy not in _POLICIES:
            raise InvalidInputError(
                f"unknown out-of-range policy {policy!r}",
                subject="out_of_range",
                hint=f"use one of {', '.join(_POLICIES)}",
            )
        array = np.asarray(values)
        if not np.issubdtype(array.dtype, np.floating):
            array = array.astype(np.float64)
        with np.errstate(invalid="ignore"):
            outside = (array < self.valid_min) | (array > self.valid_max)
        if not outside.any():
            return array
        if policy == "error":
            bad = array[outside]
            origin = f" in {where}" if where else ""
            raise OutOfRangeError(
                f"variable {name!r}{origin}: {bad.size} value(s) outside the packing range "
                f"[{self.valid_min:g}, {self.valid_max:g}] (min {np.min(bad):g}, "
                f"max {np.max(bad):g})",
                subject=name,
                hint="widen valid_min/valid_max for the whole archive (or a packing margin "
                "when the range came from the data), or set out_of_range to 'clip' or 'mask'",
            )
        if policy == "clip":
            clipped: npt.NDArray[np.floating[Any]] = np.clip(array, self.valid_min, self.valid_max)
            return clipped
        masked = array.copy()
        masked[outside] = np.nan
        return masked

    def pack(
        self,
        values: npt.ArrayLike,
        *,
        policy: OutOfRangePolicy = "error",
        name: str = "values",
        where: str | None = None,
    ) -> npt.NDArray[np.signedinteger[Any]]:
        """Pack unpacked values into integer codes (NaN becomes the fill value).

        Parameters
        ----------
        values
            Unpacked values.
        policy, name, where
            As for :meth:`check_range`.

        Returns
        -------
        numpy.ndarray
            Integer codes of :attr:`dtype`.
        """
        return self.pack_in_range(self.check_range(values, policy=policy, name=name, where=where))

    def pack_in_range(self, values: npt.ArrayLike) -> npt.NDArray[np.signedinteger[Any]]:
        """Pack values already checked by :meth:`check_range` (NaN becomes the fill value).

        Parameters
        ----------
        values
            Unpacked values inside the range, or NaN.

        Returns
        -------
        numpy.ndarray
            Integer codes of :attr:`dtype`.
        """
        checked = np.asarray(values, dtype=np.float64)
        missing = ~np.isfinite(checked)
        limit = self.code_limit
        with np.errstate(invalid="ignore"):
            codes = np.rint((checked - self.add_offset) / self.scale_factor)
        codes = np.clip(np.where(missing, 0, codes), -limit, limit)
        packed = codes.astype(self.dtype)
        packed[missing] = self.fill_value
        return packed

    def unpack(self, packed: npt.ArrayLike) -> npt.NDArray[np.floating[Any]]:
        """Unpack integer codes (the fill value becomes NaN).

        Parameters
        ----------
        packed
            Integer codes.

        Returns
        -------
        numpy.ndarray
            Values of :attr:`unpacked_dtype`.
        """
        codes = np.asarray(packed)
        out_type = np.dtype(self.unpacked_dtype)
        scale = out_type.type(self.scale_factor)
        offset = out_type.type(self.add_offset)
        values: npt.NDArray[np.floating[Any]] = codes.astype(out_type) * scale + offset
        values[codes == self.fill_value] = np.nan
        return values

    def encoding(self) -> dict[str, Any]:
        """Return the xarray encoding entries (dtype, scale, offset, ``_FillValue``)."""
        out_type = np.dtype(self.unpacked_dtype).type
        return {
            "dtype": self.dtype,
            "scale_factor": out_type(self.scale_factor),
            "add_offset": out_type(self.add_offset),
            "_FillValue": np.dtype(self.dtype).type(self.fill_value),
        }

    def attrs(self) -> dict[str, float]:
        """Return the range attributes to keep beside the packed variable."""
        return {"valid_min": self.valid_min, "valid_max": self.valid_max}


def choose_packing(
    valid_min: float,
    valid_max: float,
    dtype: str | int = "int16",
    *,
    unpacked_dtype: str = "float32",
    name: str = "values",
) -> Packing:
    """Choose packing parameters for a fixed range.

    Parameters
    ----------
    valid_min, valid_max
        The range of unpacked values, fixed for the whole archive.
    dtype
        ``int8``, ``int16`` or ``int32``, or the bits 8, 16, 32.
    unpacked_dtype
        ``float32`` (default) or ``float64``; scale and offset take its precision.
    name
        The variable name, for error messages.

    Returns
    -------
    Packing
        The parameters.

    Raises
    ------
    InvalidInputError
        For an unknown dtype, a non-finite or empty range.
    """
    dtype_name = _BITS_TO_DTYPE.get(dtype, "") if isinstance(dtype, int) else str(dtype)
    if dtype_name not in _PACKED_DTYPES:
        raise InvalidInputError(
            f"variable {name!r}: cannot pack into {dtype!r}",
            subject=name,
            hint="pack into int8, int16 or int32 (bits 8, 16 or 32)",
        )
    if unpacked_dtype not in ("float32", "float64"):
        raise InvalidInputError(
            f"variable {name!r}: unpacked dtype {unpacked_dtype!r} is not float32 or float64",
            subject=name,
        )
    low, high = float(valid_min), float(valid_max)
    if not (np.isfinite(low) and np.isfinite(high)) or high <= low:
        raise InvalidInputError(
            f"variable {name!r}: packing range [{low}, {high}] is empty or not finite",
            subject=name,
            hint="give valid_min < valid_max, both finite",
        )
    bits = np.dtype(dtype_name).itemsize * 8
    out_type = np.dtype(unpacked_dtype).type
    # Store scale and offset exactly as they will be read back (unpacked precision).
    scale = float(out_type((high - low) / (2**bits - 2)))
    offset = float(out_type((high + low) / 2))
    return Packing(
        dtype=dtype_name,
        scale_factor=scale,
        add_offset=offset,
        fill_value=-(2 ** (bits - 1)),
        valid_min=low,
        valid_max=high,
        unpacked_dtype=unpacked_dtype,
    )


def packing_from_attrs(
    attrs: Mapping[str, Any],
    dtype: str | int = "int16",
    *,
    unpacked_dtype: str = "float32",
    name: str = "values",
) -> Packing | None:
    """Choose packing from CF ``valid_min``/``valid_max`` (or ``valid_range``) attributes.

    Parameters
    ----------
    attrs
        The variable's attributes.
    dtype, unpacked_dtype, name
        As for :func:`choose_packing`.

    Returns
    -------
    Packing or None
        ``None`` when the attributes give no range.
    """
    if "valid_range" in attrs:
        low, high = (float(v) for v in np.asarray(attrs["valid_range"]).ravel()[:2])
    elif "valid_min" in attrs and "valid_max" in attrs:
        low, high = float(attrs["valid_min"]), float(attrs["valid_max"])
    else:
        return None
    return choose_packing(low, high, dtype, unpacked_dtype=unpacked_dtype, name=name)


def packing_from_encoding(
    encoding: Mapping[str, Any],
    attrs: Mapping[str, Any] | None = None,
    *,
    unpacked_dtype: str = "float32",
) -> Packing | None:
    """Return the packing a stored variable declares, read from its CF encoding.

    The one reading of packed variables for convert (an input's packing, kept) and
    append (the target's, which later slices must fit).

    Parameters
    ----------
    encoding
        xarray's encoding of the variable: ``dtype`` (a signed integer), ``scale_factor``
        and/or ``add_offset``, ``_FillValue`` or ``missing_value``.
    attrs
        Its attributes: ``valid_min``/``valid_max`` narrow the range when both exist.
    unpacked_dtype
        ``float32`` or ``float64`` (the decoded dtype).

    Returns
    -------
    Packing or None
        ``None`` when the variable is not packed into signed integers (unsigned codes
        are read by xarray but not written by zarrlake's packer).
    """
    if "scale_factor" not in encoding and "add_offset" not in encoding:
        return None
    raw = encoding.get("dtype")
    if raw is None or np.dtype(raw).kind != "i" or np.dtype(raw).itemsize > 4:
        return None
    dtype = np.dtype(raw)
    scale = float(np.asarray(encoding.get("scale_factor", 1.0)).ravel()[0])
    offset = float(np.asarray(encoding.get("add_offset", 0.0)).ravel()[0])
    declared = encoding.get("_FillValue", encoding.get("missing_value"))
    fill = (
        int(np.asarray(declared).ravel()[0]) if declared is not None else int(np.iinfo(dtype).min)
    )
    limit = int(np.iinfo(dtype).max)
    ends = sorted((offset - limit * scale, offset + limit * scale))
    attrs = attrs or {}
    if "valid_min" in attrs and "valid_max" in attrs:
        ends = [float(attrs["valid_min"]), float(attrs["valid_max"])]
    return Packing(str(dtype), scale, offset, fill, ends[0], ends[1], unpacked_dtype)


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
