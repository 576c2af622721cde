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


SCALE = 10
"""Extents are kept in tenths of a degree, rounded outwards (so they hold every box).

Coarse on purpose: a mission has at most 3,601 distinct longitude edges of each kind,
so its extent is a sweep over a few thousand small rows however many files it has.
"""


def edge_values(box: Box) -> list[tuple[str, int]]:
    """Return what a footprint adds to its mission's extent: edges in tenths of a degree.

    A box across the antimeridian is two stretches of longitude, -180..180 each (a
    ``start`` and an ``end`` apiece); starts and the south round down, ends and the
    north round up. Counting these per mission is enough to find the union of its
    footprints (:func:`from_edges`), and a removed footprint just counts down.
    """
    west, south, east, north = box
    stretches = [(west, 180.0), (-180.0, east)] if west > east else [(west, east)]
    values = [("south", _down(south)), ("north", _up(north))]
    for start, end in stretches:
        values += [("start", _down(start)), ("end", _up(end))]
    return values


# Rounded to 1e-6 of a unit first: 0.7 * 10 is 7.000000000000001, whose ceiling is 8.
def _down(degrees: float) -> int:
    return math.floor(round(degrees * SCALE, 6))


def _up(degrees: float) -> int:
    return math.ceil(round(degrees * SCALE, 6))


def from_edges(rows: Iterable[tuple[str, int, int]]) -> Box | None:
    """Return the smallest box holding the footprints whose edges are counted in ``rows``.

    Parameters
    ----------
    rows
        ``(edge, value, count)``: how many footprints have this edge (see
        :func:`edge_values`); counts of zero or less are ignored.

    Returns
    -------
    tuple or None
        ``(west, south, east, north)``, ``None`` without a footprint. Longitudes are
        arcs on a circle: the box leaves out the widest stretch of longitude no
        footprint covers, so footprints on both sides of the antimeridian give a
        narrow box across it (``west > east``), not one around the world.
    """
    events: list[tuple[int, int, int]] = []  # (value, 0 for a start / 1 for an end, count)
    south, north = None, None
    for edge, value, number in rows:
        if number <= 0:
            continue
        if edge == "south":
            south = value if south is None else min(south, value)
        elif edge == "north":
            north = value if north is None else max(north, value)
        else:
            events.append((value, 0 if edge == "start" else 1, number))
    if south is None or north is None or not events:
        return None
    events.sort()  # at one value, starts before ends: touching stretches join
    stretches: list[list[int]] = []
    covering = 0
    for value, is_end, number in events:
        if not is_end:
            if covering == 0:
                stretches.append([value, value])
            covering += number
        else:
            covering -= number
            stretches[-1][1] = value
    # The gaps between covered stretches, and the one across the antimeridian.
    gaps = [(stretches[i][1], stretches[i + 1][0]) for i in range(len(stretches) - 1)]
    wrap = (stretches[-1][1], stretches[0][0] + 360 * SCALE)
    widest = max([*gaps, wrap], key=lambda g: g[1] - g[0])
    if widest[1] - widest[0] <= 0:  # every longitude is covered
        west, east = -180 * SCALE, 180 * SCALE
    elif widest is wrap:
        west, east = stretches[0][0], stretches[-1][1]
    else:  # west > east: across the antimeridian
        west, east = widest[1], widest[0]
    return west / SCALE, south / SCALE, east / SCALE, north / SCALE


def union(boxes: Iterable[Box]) -> Box | None:
    """Return the smallest box holding every footprint, to 0.1 degree (see :func:`from_edges`)."""
    return from_edges((edge, value, 1) for box in boxes for edge, value in edge_values(box))


def extents(connection: Any, mission_id: str | None = None) -> dict[str, Box]:
    """Return the union of each mission's footprints, from the ``chart_edges`` cells.

    Parameters
    ----------
    connection
        A read connection.
    mission_id
        Only this mission (any spelling); every mission when ``None``.

    Returns
    -------
    dict
        Per mission id in lower case (spellings that differ in case are one mission,
        as in the summaries), :func:`from_edges` of the footprints of its observations
        not marked missing (as its summary counts them), to 0.1 degree outwards.
        Missions without a footprint are left out.
    """
    from sqlalchemy import func, literal, select

    from zarrlake.catalog.schema import chart_edges, mission_summaries

    t = chart_edges.c
    query = select(t.mission_id, t.edge, t.value, t.footprint_count).where(t.missing.is_(False))
    if mission_id is not None:
        # Its spellings by name, so the cells are read through their primary key.
        m = mission_summaries.c
        spellings = select(m.mission_id).where(
            func.lower(m.mission_id) == func.lower(literal(mission_id))
        )
        query = query.where(t.mission_id.in_(list(connection.execute(spellings).scalars())))
    rows: dict[str, list[tuple[str, int, int]]] = {}
    for name, edge, value, number in connection.execute(query):
        rows.setdefault(str(name).lower(), []).append((str(edge), int(value), int(number)))
    found = {name: from_edges(group) for name, group in rows.items()}
    return {name: box for name, box in found.items() if box is not None}
