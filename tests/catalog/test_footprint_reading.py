"""One reading of ACDD footprints: Python and SQL agree, and unions go round the globe."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from sqlalchemy import select

from zarrlake.catalog import Catalog
from zarrlake.catalog._engine import read_connection
from zarrlake.catalog._footprint import BBOX_KEYS, footprint, footprint_sql, union
from zarrlake.catalog.schema import observations

EDGES: list[Any] = [-400, -180, -170.5, 0, 10, 170, 180, 190, 360, 361, True, "10", None]
LATITUDES: list[Any] = [-91, -90, -10, 0, 45, 90, 91]


def test_sql_keeps_exactly_the_records_python_reads(catalog: Catalog) -> None:
    records = []
    for i, (west, east) in enumerate(itertools.product(EDGES, EDGES)):
        for j, (south, north) in enumerate(itertools.pairwise(LATITUDES[i % 3 :: 2])):
            values = (west, south, east, north) if j % 2 else (west, north, east, south)
            specific = {k: v for k, v in zip(BBOX_KEYS, values, strict=True) if v is not None}
            records.append({"file_path": f"/e/{i}-{j}.nc", "mission_specific": specific})
    catalog.upsert_observations(records)
    with read_connection(catalog.engine) as connection:
        kept = set(
            connection.execute(select(observations.c.file_path).where(footprint_sql())).scalars()
        )
    expected = {r["file_path"] for r in records if footprint(r) is not None}
    assert 0 < len(expected) < len(records)
    assert kept == expected


@pytest.mark.parametrize(
    ("boxes", "expected"),
    [
        ([], None),
        ([(-10.0, 0.0, 10.0, 5.0), (20.0, -5.0, 30.0, 1.0)], (-10.0, -5.0, 30.0, 5.0)),
        # both sides of the antimeridian: a narrow box across it, not round the world
        ([(170.0, 0.0, 175.0, 1.0), (-175.0, 2.0, -170.0, 3.0)], (170.0, 0.0, -170.0, 3.0)),
        ([(170.0, 0.0, -170.0, 1.0), (-160.0, 0.0, -150.0, 1.0)], (170.0, 0.0, -150.0, 1.0)),
        ([(170.0, 0.0, -170.0, 1.0), (0.0, 0.0, 10.0, 1.0)], (0.0, 0.0, -170.0, 1.0)),
        ([(-180.0, 0.0, 180.0, 1.0), (5.0, 2.0, 6.0, 3.0)], (-180.0, 0.0, 180.0, 3.0)),
        ([(0.0, 0.0, -1.0, 1.0), (-2.0, 0.0, 0.5, 1.0)], (-180.0, 0.0, 180.0, 1.0)),
        ([(-180.0, 0.0, -90.0, 1.0), (90.0, 0.0, 180.0, 1.0)], (90.0, 0.0, -90.0, 1.0)),
    ],
)
def test_union_of_footprints(boxes: list[Any], expected: Any) -> None:
    assert union(boxes) == expected
