"""Earth observations with ACDD footprints, next to the sky observations of ``fill``."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from zarrlake.catalog import Catalog

T0 = datetime(2026, 4, 1)

# name: (west, south, east, north) as the files wrote them (ACDD geospatial_* bounds)
FOOTPRINTS: dict[str, tuple[Any, Any, Any, Any]] = {
    "equator": (100.0, -1.0, 102.0, 2.0),  # holds the point (100.5, 0.5)
    "europe": (-10.0, 35.0, 5.0, 45.0),
    "pacific": (170.0, -20.0, -170.0, -10.0),  # crosses the antimeridian
    "world360": (0.0, -90.0, 360.0, 90.0),  # the whole Earth, 0..360 convention
    "atlantic360": (350.0, 10.0, 355.0, 20.0),  # = -10..-5 east
    "station": (12.5, 41.9, 12.5, 41.9),  # a point
    "upside_down": (0.0, 10.0, 1.0, 5.0),  # south above north: no footprint
    "text": ("0", "0", "1", "1"),  # strings, not numbers: no footprint
}
KEYS = ("geospatial_lon_min", "geospatial_lat_min", "geospatial_lon_max", "geospatial_lat_max")


def fill_earth(catalog: Catalog, root: Path) -> dict[str, int]:
    """Add one EARTH-1 observation per footprint; return name -> id."""
    records = []
    for number, (name, box) in enumerate(FOOTPRINTS.items()):
        records.append(
            {
                "file_path": str(root / f"{name}.nc"),
                "mission_id": "EARTH-1",
                "satellite_name": "Terra-X",
                "instrument_type": "RADIOMETER",
                "observation_timestamp": T0 + timedelta(days=number),
                "observation_end": T0 + timedelta(days=number, hours=1),
                "data_quality_score": 0.9,
                "file_size": 2000 + number,
                "format": "netcdf",
                "mission_specific": dict(zip(KEYS, box, strict=True)),
            }
        )
    ids = catalog.upsert_observations(records).ids
    catalog.link(ids[0], ids[1], "calibration")
    return dict(zip(FOOTPRINTS, ids, strict=True))
