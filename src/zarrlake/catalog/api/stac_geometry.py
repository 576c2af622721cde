"""Footprints of observations and the spatial filters of STAC item search.

An observation has a footprint when its ``mission_specific`` holds the four ACDD
bounds ``geospatial_lon_min/lat_min/lon_max/lat_max`` as numbers that make a box
(Earth data: the extractors keep a file's ACDD attributes there, or derive them from
its latitude and longitude coordinates); ``catalog/_footprint.py`` reads them, for
the items, the collections' extents and the dashboard alike. Sky data (RA/Dec) has
none: its items have ``geometry: null`` and no spatial filter matches them.

Longitudes may be given as -180..180 or 0..360; ``west > east`` is a box that crosses
the antimeridian. The SQL side only narrows the candidates (a superset: every stored
convention is tried); the exact test is shapely's ``intersects`` on the normalised
footprint, so both databases give the same answer.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, and_, false, or_

from zarrlake.catalog._footprint import BBOX_KEYS, Box, bound_columns, footprint
from zarrlake.errors import InvalidInputError

__all__ = ["BBOX_KEYS", "Area", "Box", "footprint", "footprint_geojson"]

GEOMETRY_TYPES = (
    "Point",
    "MultiPoint",
    "LineString",
    "MultiLineString",
    "Polygon",
    "MultiPolygon",
    "GeometryCollection",
)


def footprint_geojson(box: Box) -> dict[str, Any]:
    """Return a footprint as a GeoJSON geometry (a point or line when it has no area)."""
    west, south, east, north = box
    if west > east:  # split at the antimeridian, as GeoJSON (RFC 7946 3.1.9) asks
        return {
            "type": "MultiPolygon",
            "coordinates": [_ring(west, south, 180.0, north), _ring(-180.0, south, east, north)],
        }
    if west == east and south == north:
        return {"type": "Point", "coordinates": [west, south]}
    if west == east or south == north:
        return {"type": "LineString", "coordinates": [[west, south], [east, north]]}
    return {"type": "Polygon", "coordinates": _ring(west, south, east, north)}


def _ring(west: float, south: float, east: float, north: float) -> list[list[list[float]]]:
    # Counter-clockwise exterior ring (RFC 7946 right-hand rule).
    return [[[west, south], [east, south], [east, north], [west, north], [west, south]]]


@dataclass(frozen=True)
class Area:
    """A search area: a shapely geometry and the lon/lat boxes that bound it.

    Attributes
    ----------
    geometry
        The exact area (shapely).
    boxes
        One box, or two for a ``bbox`` that crosses the antimeridian; each with
        ``west <= east``.
    """

    geometry: Any
    boxes: tuple[Box, ...]

    def matches(self, record: Mapping[str, Any]) -> bool:
        """Return whether an observation's footprint intersects the area."""
        box = footprint(record)
        if box is None:
            return False
        import shapely

        return bool(shapely.intersects(self.geometry, _shape_of(box)))

    def conditions(self) -> list[ColumnElement[bool]]:
        """Return SQL conditions that keep every record that may intersect (a superset).

        Latitudes are tested first: the cheaper test drops most rows before the
        longitude tests run (SQLite stops at the first false term). A missing or
        non-numeric bound is NULL, and a comparison with NULL is never true, so no
        separate NULL test is needed.
        """
        if not self.boxes:
            return [false()]
        west, south, east, north = bound_columns()
        tests = []
        for qw, qs, qe, qn in self.boxes:
            shifts = []
            for offset in (0.0, 360.0):  # stored as -180..180, or as 0..360
                low, high = qw + offset, qe + offset
                shifts.append(
                    or_(
                        and_(west <= high, east >= low, west <= east),
                        and_(west > east, or_(west <= high, east >= low)),  # crosses 180
                    )
                )
            tests.append(and_(south <= qn, north >= qs, or_(*shifts)))
        return [or_(*tests)]


def _shape_of(box: Box) -> Any:
    from shapely.geometry import shape

    return shape(footprint_geojson(box))


def bbox_numbers(text: str) -> list[float]:
    """Read a GET ``bbox`` parameter: comma-separated numbers.

    Raises
    ------
    InvalidInputError
        For a part that is not a finite number (``[1, 2, 3, 4]`` with brackets too).
    """
    try:
        return [_number(part) for part in text.split(",")]
    except ValueError as exc:
        raise _bad_bbox(f"bbox {text!r}: {exc}") from None


def _number(part: str) -> float:
    try:
        number = float(part)
    except ValueError:
        raise ValueError(f"{part.strip()!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{part.strip()!r} is not a finite number")
    return number


def parse_bbox(numbers: Sequence[float]) -> Area:
    """Check a STAC ``bbox`` (``west, south, east, north``, or 6 numbers with heights).

    Parameters
    ----------
    numbers
        The box's numbers.

    Returns
    -------
    Area
        The box (two boxes when ``west > east``: it crosses the antimeridian).

    Raises
    ------
    InvalidInputError
        For a wrong count, a number that is not finite, or south above north.
    """
    if len(numbers) not in (4, 6):
        raise _bad_bbox(
            f"bbox has {len(numbers)} numbers; give 4 (west,south,east,north) or 6 "
            "(west,south,bottom,east,north,top)"
        )
    if not all(math.isfinite(n) for n in numbers):
        raise _bad_bbox(f"bbox {list(numbers)} holds a number that is not finite")
    if len(numbers) == 6:  # heights are ignored: footprints are 2-D
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    west, south, east, north = (float(n) for n in numbers)
    if south > north:
        raise _bad_bbox(f"bbox south {south} is above north {north}; swap them")
    # Coordinates are taken as given: a part beyond -180..180 / -90..90 holds no
    # footprint (stac-api-validator expects such a box to answer 200, empty).
    if west <= east:
        boxes: tuple[Box, ...] = ((west, south, east, north),)
    else:  # crosses the antimeridian
        boxes = tuple(
            b for b in ((west, south, 180.0, north), (-180.0, south, east, north)) if b[0] <= b[2]
        )
    import shapely

    return Area(shapely.union_all([_shape_of(b) for b in boxes]), boxes)


def _bad_bbox(message: str) -> InvalidInputError:
    return InvalidInputError(
        message, subject="bbox", hint="e.g. bbox=-10.5,35,5,45 (west,south,east,north)"
    )


def geojson_object(text: str) -> dict[str, Any]:
    """Read a GET ``intersects`` parameter: GeoJSON text.

    Raises
    ------
    InvalidInputError
        For text that is not a JSON object.
    """
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise _bad_geometry(f"intersects is not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise _bad_geometry(f"intersects must be a GeoJSON geometry object, not {value!r}")
    return value


def parse_intersects(value: Mapping[str, Any]) -> Area:
    """Read a STAC ``intersects`` GeoJSON geometry.

    Parameters
    ----------
    value
        The geometry object.

    Returns
    -------
    Area
        The geometry and its bounds.

    Raises
    ------
    InvalidInputError
        For an object that is not a GeoJSON geometry (a Feature is not one), or
        one shapely cannot read (too few positions, non-numbers).

    Notes
    -----
    Coordinates are WGS 84 longitude, latitude as given: a part beyond
    -180..180 / -90..90 touches no footprint.
    """
    if value.get("type") not in GEOMETRY_TYPES:
        kind = value.get("type")
        raise _bad_geometry(
            f"intersects must be a GeoJSON geometry ({', '.join(GEOMETRY_TYPES)}), not {kind!r}"
        )
    import shapely
    from shapely.geometry import shape

    try:
        geometry = shape(dict(value))
        empty = geometry.is_empty
    except Exception as exc:  # shapely reports bad coordinates in many ways
        reason = " ".join(str(exc).split())  # GEOS messages end in a newline
        raise _bad_geometry(f"intersects is not a valid {value['type']}: {reason}") from None
    if empty:
        raise _bad_geometry(f"intersects is an empty {value['type']}")
    west, south, east, north = (float(v) for v in geometry.bounds)
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        raise _bad_geometry("intersects has coordinates that are not finite numbers")
    if not geometry.is_valid:  # e.g. a self-crossing ring: test what it covers
        geometry = shapely.make_valid(geometry)
    return Area(geometry, ((west, south, east, north),))


def _bad_geometry(message: str) -> InvalidInputError:
    return InvalidInputError(
        message,
        subject="intersects",
        hint='e.g. {"type": "Point", "coordinates": [100.0, 0.0]} (longitude, latitude)',
    )
