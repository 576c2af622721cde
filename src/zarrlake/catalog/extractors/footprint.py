"""A geographic footprint from latitude/longitude coordinates, as ACDD bounds.

Earth-observation files often carry their extent only as coordinates. The NetCDF,
HDF5 and Zarr extractors offer their variables here; when the file's attributes do
not already give the four ACDD bounds (``geospatial_lat_min`` ...), the range of the
latitude and longitude coordinates -- of their cell bounds when a coordinate names a
``bounds`` variable -- becomes them, so the STAC API and the dashboard's Earth map
see a footprint. Sky data (no latitude/longitude) gets none.

A coordinate is recognised by its CF ``standard_name`` (``latitude``, ``longitude``),
its ``units`` (``degrees_north``, ``degrees_east`` and their CF spellings), or its
name (``lat``/``latitude``, ``lon``/``longitude``) when its units do not say
otherwise. Fill values and NaN are ignored; latitudes outside -90..90 mean the variable
is not what it seems, and no footprint is made. Longitudes are brought into -180..180
and the box is the narrowest one holding them all (west > east when it crosses the
antimeridian, as ACDD allows).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

import numpy as np

ACDD_KEYS = ("geospatial_lat_min", "geospatial_lat_max", "geospatial_lon_min", "geospatial_lon_max")
SOURCE_KEY = "zarrlake_footprint"
"""Set in ``mission_specific`` when the bounds were computed, not read from attributes."""

MAX_VALUES = 10_000_000
"""Coordinates with more values than this are not read (a footprint is not worth it)."""

GLOBAL_GAP = 5.0
"""Longitudes that leave no gap wider than this (degrees) cover the whole circle: a
curvilinear global grid has no clean edge, and a box that wraps around all but a
sliver would only look odd."""

_UNITS = {
    "latitude": {"degrees_north", "degree_north", "degree_n", "degrees_n", "degreen", "degreesn"},
    "longitude": {"degrees_east", "degree_east", "degree_e", "degrees_e", "degreee", "degreese"},
}
_NAMES = {"latitude": {"lat", "latitude"}, "longitude": {"lon", "longitude"}}


@dataclass(frozen=True)
class Variable:
    """A variable as an extractor sees it.

    Attributes
    ----------
    attrs
        Its attributes.
    size
        Its number of values.
    read
        Returns its values (called only for coordinates).
    """

    attrs: Mapping[str, Any]
    size: int
    read: Callable[[], Any]


def _axis(name: str, attrs: Mapping[str, Any]) -> str | None:
    standard = str(attrs.get("standard_name", "")).strip().lower()
    if standard in _NAMES:
        return standard
    units = str(attrs.get("units", "")).strip().lower()
    for axis, spellings in _UNITS.items():
        if units in spellings:
            return axis
    leaf = name.rsplit("/", 1)[-1].lower()
    for axis, names in _NAMES.items():
        if leaf in names and (not units or units.startswith("degree")):
            return axis
    return None


def _values(variable: Variable) -> np.ndarray[Any, Any] | None:
    if variable.size == 0 or variable.size > MAX_VALUES:
        return None
    data = np.asarray(variable.read(), dtype="float64").ravel()
    for key in ("_FillValue", "missing_value"):
        fill = variable.attrs.get(key)
        if fill is not None:
            # A fill value that is not a number cannot match these numbers.
            with suppress(TypeError, ValueError, IndexError):
                data = data[data != float(np.asarray(fill).ravel()[0])]
    data = data[np.isfinite(data)]
    return data if data.size else None


def _extent(variables: Mapping[str, Variable], axis: str) -> tuple[float, float] | None:
    for name, variable in variables.items():
        if _axis(name, variable.attrs) != axis:
            continue
        bounds = variable.attrs.get("bounds")
        chosen = variables.get(str(bounds)) if isinstance(bounds, str) else None
        # Cell bounds first (the true edges); the centres when there are none or the
        # bounds are unusable (periodic grids write longitudes past 180).
        for candidate in (chosen, variable):
            data = _values(candidate) if candidate is not None else None
            if data is None:
                continue
            if axis == "longitude":
                return _longitudes(data)
            if data.min() >= -90.0 and data.max() <= 90.0:
                return float(data.min()), float(data.max())
        return None  # not degrees after all: better no footprint than a wrong one
    return None


def _longitudes(data: np.ndarray[Any, Any]) -> tuple[float, float]:
    """Return the narrowest ``(west, east)`` holding every longitude, in -180..180.

    The complement of the widest gap between neighbouring longitudes on the circle,
    so data on both sides of 0 (written 0..360) or of 180 gets a tight box; west >
    east when it crosses the antimeridian, as ACDD allows.
    """
    longitudes = np.unique(((data + 180.0) % 360.0) - 180.0)
    if longitudes.size == 1:
        return float(longitudes[0]), float(longitudes[0])
    gaps = np.diff(np.append(longitudes, longitudes[0] + 360.0))  # the last wraps around
    widest = int(np.argmax(gaps))
    if gaps[widest] <= GLOBAL_GAP:  # no hole worth a box edge: all longitudes
        return -180.0, 180.0
    if gaps[-1] >= gaps[widest] * (1 - 1e-3):  # a tie (a global grid): no crossing
        widest = gaps.size - 1
    if widest == gaps.size - 1:
        return float(longitudes[0]), float(longitudes[-1])
    return float(longitudes[widest + 1]), float(longitudes[widest])


def coordinate_footprint(
    variables: Mapping[str, Variable], attributes: Mapping[str, Any]
) -> dict[str, Any]:
    """Return ACDD bounds from the coordinates, for ``mission_specific``.

    Parameters
    ----------
    variables
        Variable name (a path in HDF5) to its attributes, size and reader.
    attributes
        The file's global attributes.

    Returns
    -------
    dict
        The four ``geospatial_*`` bounds and :data:`SOURCE_KEY`; empty when the
        attributes already give any ACDD bound, or there is no usable latitude and
        longitude.
    """
    if any(str(key).lower() in ACDD_KEYS for key in attributes):
        return {}
    latitude = _extent(variables, "latitude")
    longitude = _extent(variables, "longitude") if latitude else None
    if latitude is None or longitude is None:
        return {}
    return {
        "geospatial_lat_min": latitude[0],
        "geospatial_lat_max": latitude[1],
        "geospatial_lon_min": longitude[0],
        "geospatial_lon_max": longitude[1],
        SOURCE_KEY: "latitude/longitude coordinates",
    }
