"""A scanned search's groups and coverage from one query equal the two row queries'.

Records with and without targets, times, scores, positions, footprints and sizes, on
SQLite and PostgreSQL; short text (scanned on SQLite) and longer, with other criteria.
"""

from __future__ import annotations

import random
from datetime import timedelta

import pytest

from tests.catalog.test_chart_summaries import T0, record
from zarrlake.catalog import Catalog
from zarrlake.catalog._engine import read_connection
from zarrlake.catalog._onescan import one_scan, row_cube
from zarrlake.catalog._search import SearchQuery
from zarrlake.catalog._stats import coverage, quality_groups
from zarrlake.errors import InvalidInputError

TEXTS = ["a", "f0", "17", "F01", "m", "zz", "ngc 4", "%"]
CRITERIA = [
    {},
    {"mission_id": "gaia", "include_missing": True},
    {"processing_status": "raw", "min_quality": 0.15},
    {"instrument_type": "cam", "start": T0 + timedelta(days=3), "end": T0 + timedelta(days=30)},
]


def test_one_query_answers_what_the_two_row_queries_do(catalog: Catalog) -> None:
    rng = random.Random(23)
    catalog.upsert_observations(
        [
            {**record(rng, i), "target_object": rng.choice([None, "M31", "NGC 42", "ngc 4x"])}
            for i in range(300)
        ]
    )
    for text in TEXTS:
        for criteria in CRITERIA:
            q = SearchQuery(text=text, **criteria)
            for period in ("year", "month", "day", "hour"):
                want = (
                    sorted(quality_groups(catalog, q, summaries=False)),
                    coverage(catalog, q, period, summaries=False),
                )
                for summaries in (True, False):
                    groups, rows = row_cube(catalog, q, period, summaries=summaries)
                    assert (sorted(groups), rows) == want, (q, period, summaries)
    with read_connection(catalog.engine) as connection:
        sqlite = connection.dialect.name == "sqlite"
    # Scanned: short text on SQLite, from the rows or (most rows hold it) the cells less.
    assert one_scan(catalog, SearchQuery(text="zz"), "month") == sqlite
    assert one_scan(catalog, SearchQuery(text="17"), "month") == sqlite
    assert one_scan(catalog, SearchQuery(text="a"), "month") == sqlite  # every path: /data/
    assert not one_scan(catalog, SearchQuery(text="a", instrument_type="cam"), "day")
    assert not one_scan(catalog, SearchQuery(text="ngc 4"), "month")  # the trigram index
    assert not one_scan(catalog, SearchQuery(), "month")


def test_a_value_no_record_has_is_an_error_as_from_the_rows(catalog: Catalog) -> None:
    catalog.upsert_observations([{"file_path": "/x/a.fits", "format": "fits"}])
    q = SearchQuery(text="x", format="no such format")
    with pytest.raises(InvalidInputError):
        row_cube(catalog, q, "month")
    with pytest.raises(InvalidInputError):
        quality_groups(catalog, q, summaries=False)
