"""An observation's geographic footprint: the one reading of its ACDD bounds.

An observation has a footprint when its ``mission_specific`` holds the four ACDD
bounds ``geospatial_lon_min/lat_min/lon_max/lat_max`` as numbers that make a box:
latitudes within -90..90 with south not above north, longitudes either both within
-180..180 (``west > east``: the box crosses the antimeridian) or both within 0..360
with ``west <= east``. STAC items, the STAC collections' extents, the dashboard's
Earth map and its counts all read footprints here (in Python, :func:`footprint`; in
SQL, :func:`footprint_sql`, which keeps exactly the same records), so a box the map
draws is the box an item shows, and the number drawn is the number counted.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import ColumnElement, and_, or_

BBOX_KEYS = ("geospatial_lon_min", "geospatial_lat_min", "geospatial_lon_max", "geospatial_lat_max")
"""The ACDD attributes of a footprint in ``mission_specific`` (west, south, east, north)."""

Box = tuple[float, float, float, float]

WHOLE_EARTH: Box = (-180.0, -90.0, 180.0, 90.0)


def footprint(record: Mapping[str, Any]) -> Box | None:
    """Return an observation's footprint as a normalised ``(west, south, east, north)``.

    Parameters
    ----------
    record
        An observation record (its ``mission_specific`` is read).

    Returns
    -------
    tuple or None
        Longitudes in -180..180 (``west > east`` crosses the antimeridian); ``None``
        when the record has no usable four bounds (missing, not numbers, out of range,
        or south above north).
    """
    return footprint_of(record.get("mission_specific"))


def footprint_of(specific: Any) -> Box | None:
    """Return the footprint held by a ``mission_specific`` mapping (see :func:`footprint`)."""
    if not isinstance(specific, Mapping):
        return None
    values: list[float] = []
    for key in BBOX_KEYS:
        value = specific.get(key)
        if not isinstance(value, int | float) or isinstance(value, bool):
            return None  # as the SQL side: only JSON numbers count
        values.append(float(value))
    return normalise(*values)


def normalise(west: float, south: float, east: float, north: float) -> Box | None:
    """Return four stored bounds as a footprint, or ``None`` when they make no box."""
    if not all(math.isfinite(v) for v in (west, south, east, north)):
        return None
    if not (-90.0 <= south <= north <= 90.0):
        return None
    if -180.0 <= west <= 180.0 and -180.0 <= east <= 180.0:
        return west, south, east, north
    if 0.0 <= west <= 360.0 and 0.0 <= east <= 360.0 and west <= east:
        if east - west >= 360.0 - 1e-9:  # the whole circle, written 0..360
            return -180.0, south, 180.0, north
        return _wrap(west), south, _wrap(east), north
    return None


def _wrap(longitude: float) -> float:
    return longitude - 360.0 if longitude > 180.0 else longitude


def bound_columns() -> list[Any]:
    """Return the SQL expressions of the four stored bounds (NULL unless a JSON number)."""
    from zarrlake.catalog.schema import json_key, observations

    return [json_key(observations.c.mission_specific, key, 0.0) for key in BBOX_KEYS]


def footprint_sql() -> ColumnElement[bool]:
    """Return the SQL test of :func:`footprint` (true exactly when it gives a box).

    A NULL bound (missing, or not a JSON number) makes every comparison unknown, so
    the row is left out without a separate NULL test; the range tests also leave out
    what is not finite.
    """
    west, south, east, north = bound_columns()
    return and_(
        south >= -90.0,
        south <= north,
        north <= 90.0,
        or_(
            and_(west.between(-180.0, 180.0), east.between(-180.0, 180.0)),
            and_(west.between(0.0, 360.0), east.between(0.0, 360.0), west <= east),
        ),
    )


def union(boxes: Iterable[Box]) -> Box | None:
    """Return the smallest box holding every footprint (``None`` for none).

    Longitudes are arcs on a circle: the union leaves out the widest stretch of
    longitude no footprint covers, so footprints on both sides of the antimeridian
    give a narrow box across it (``west > east``), not one around the world.
    """
    arcs: list[tuple[float, float]] = []
    south, north = 90.0, -90.0
    for west, low, east, high in boxes:
        south, north = min(south, low), max(north, high)
        if west > east:  # across the antimeridian: two pieces on the line
            arcs += [(west, 180.0), (-180.0, east)]
        else:
            arcs.append((west, east))
    if not arcs:
        return None
    arcs.sort()
    # The covered stretches of -180..180, merged.
    merged = [list(arcs[0])]
    for start, stop in arcs[1:]:
        if start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], stop)
        else:
            merged.append([start, stop])
    # The gaps between them, and the one across the antimeridian (from the last
    # stretch's end round to the first one's start).
    gaps = [(merged[i][1], merged[i + 1][0]) for i in range(len(merged) - 1)]
    wrap = (merged[-1][1], merged[0][0] + 360.0)
    widest = max([*gaps, wrap], key=lambda g: g[1] - g[0])
    if widest[1] - widest[0] <= 0.0:  # no gap: every longitude is covered
        return -180.0, south, 180.0, north
    if widest is wrap:
        return merged[0][0], south, merged[-1][1], north
    return widest[1], south, widest[0], north  # west > east: across the antimeridian
