"""The dashboard's chart summaries stay equal to a direct aggregate under every write path.

Random writes go through upsert (new and changed records, isolated refusals), bulk
loads, mark_missing, rename, delete and set_status; after each, every chart answer from
the summaries is compared with the same answer grouped from the observations, on SQLite
and PostgreSQL, and the stored cells with a rebuild from scratch. The searches include
the facets the cells are keyed by (facility, instrument, format, calibration), in other
spellings than the records', and records without them.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from zarrlake.catalog import Catalog, count, search
from zarrlake.catalog._answers import (
    bar_split,
    from_cells,
    groups_from_cells,
    month_quality_answers,
    quality_edge,
)
from zarrlake.catalog._cells import QUALITY_BINS, bin_floor, quality_bin, rebuild_cells
from zarrlake.catalog._engine import read_connection, write_transaction
from zarrlake.catalog._footprint import extents, footprint, union
from zarrlake.catalog._search import SearchQuery
from zarrlake.catalog._stats import coverage, match_count, status_quality, totals
from zarrlake.catalog.schema import (
    PROCESSING_STATUSES,
    chart_days,
    chart_edges,
    chart_month_quality,
    chart_months,
    chart_quality,
)
from zarrlake.errors import InvalidInputError

T0 = datetime(2025, 12, 30, 22)
MISSIONS = ["GAIA", "gaia", "Kepler", "TESS"]  # two spellings of one mission
BOX = {
    "geospatial_lon_min": -10,
    "geospatial_lat_min": -5.5,
    "geospatial_lon_max": 10,
    "geospatial_lat_max": 5.5,
}
ODD_BOXES = [  # footprints or not, as STAC items read them: the cells must agree
    {**BOX, "geospatial_lon_min": 350, "geospatial_lon_max": 360},  # 0..360: one
    {**BOX, "geospatial_lon_min": 170, "geospatial_lon_max": -170},  # across 180: one
    {**BOX, "geospatial_lat_min": 6},  # south above north: none
    {**BOX, "geospatial_lon_max": 400},  # beyond 360: none
    {**BOX, "geospatial_lon_min": 350, "geospatial_lon_max": 10},  # 0..360 backwards: none
]
SCORES = [None, 0.0, 0.05, 0.1, 0.15, 0.3, 0.6, 0.7, 0.95, 0.99, 1.0]  # bin edges, 1.0
FACETS = {  # spellings in any case, none, and empty text
    "satellite_name": [None, "", "Sat-A", "SAT-A", "Sat-B"],
    "instrument_type": [None, "CAM", "cam", "Spec"],
    "format": [None, "fits", "FITS", "netcdf"],
    "calibration_status": [None, "COMPLETE", "complete", "PENDING", ""],
}


def record(rng: random.Random, i: int) -> dict[str, Any]:
    specific: Any = rng.choice(
        [None, {}, BOX, {**BOX, "geospatial_lat_max": True}, {"x": 1}, *ODD_BOXES]
    )
    when = rng.choice([None, T0 + timedelta(hours=rng.randrange(0, 24 * 70))])
    # Times within the hour and ends (some before the start, some days later) from a
    # second generator: the writes the test makes stay those of the first.
    side = random.Random(f"{i} {when}")
    end = None
    if when is not None:
        when += timedelta(seconds=side.choice([0, side.randrange(3600)]))
        end = side.choice([None, when, when + timedelta(hours=side.uniform(-30, 80))])
    positioned = rng.random() < 0.6
    return {
        "file_path": f"/data/f{i:04d}.fits",
        "mission_id": rng.choice(MISSIONS),
        "processing_status": rng.choice(PROCESSING_STATUSES),
        "observation_timestamp": when,
        "observation_end": end,
        "data_quality_score": rng.choice(SCORES),
        "file_size": rng.choice([None, 0, rng.randrange(1, 10**12)]),
        "ra": rng.uniform(0, 360) if positioned else None,
        "dec": rng.uniform(-90, 90) if positioned or rng.random() < 0.2 else None,
        "mission_specific": specific,
        "missing": rng.random() < 0.1,
        **{name: rng.choice(values) for name, values in FACETS.items()},
    }


QUERIES = [
    SearchQuery(),
    SearchQuery(include_missing=True),
    SearchQuery(mission_id="GAIA"),  # both spellings
    SearchQuery(mission_id="kepler", processing_status="FAILED"),
    SearchQuery(processing_status="processed", include_missing=True),
    SearchQuery(mission_id="no such mission"),
    SearchQuery(instrument_type="CAM"),  # both spellings
    SearchQuery(satellite_name="sat-a", mission_id="gaia"),
    SearchQuery(format="Fits", processing_status="raw", include_missing=True),
    SearchQuery(calibration_status="Complete"),
    SearchQuery(instrument_type="spec", satellite_name="SAT-B", format="netcdf"),
    SearchQuery(instrument_type="no such instrument"),
]


BARS = [  # quality bars on a bin edge: the cells answer the counts, quality and status
    SearchQuery(min_quality=0.3),  # 0.3 * 10 is 3.0000000000000004
    SearchQuery(min_quality=0.0, mission_id="gaia"),
    SearchQuery(min_quality=0.7, instrument_type="CAM", include_missing=True),
    SearchQuery(min_quality=0.1, processing_status="raw", format="FITS"),
    SearchQuery(min_quality=0.8),
]

OFF_EDGE = [  # bars inside a bin: the cells from the next edge up, the bar's bin from rows
    SearchQuery(min_quality=0.05),  # 0.05 in, 0.0 out
    SearchQuery(min_quality=0.12, mission_id="gaia"),  # 0.15 in, 0.1 out
    SearchQuery(min_quality=0.65, instrument_type="cam", include_missing=True),
    SearchQuery(min_quality=0.85, processing_status="raw"),  # bin 9 starts below 0.9
    SearchQuery(min_quality=0.97),  # the last bin: rows only
]

DAY = timedelta(days=1)
D0 = datetime(2026, 1, 5)  # a midnight among the records' days
RANGES = [  # (start, end): partial days at both ends, day and month boundaries, one end
    (D0 + timedelta(hours=5, seconds=7), D0 + 20 * DAY + timedelta(hours=3)),
    (D0, D0 + 10 * DAY),  # midnight to midnight: the last day holds only its first instant
    (D0, D0 + 10 * DAY - timedelta(microseconds=1)),
    (D0 - timedelta(minutes=1), D0 + DAY + timedelta(minutes=1)),
    (D0 + timedelta(hours=1), D0 + timedelta(hours=20)),  # inside one day: rows only
    (datetime(2026, 1, 1), datetime(2026, 3, 1)),  # whole months
    (datetime(2025, 12, 31, 12), datetime(2026, 2, 10, 12)),  # partial months at both ends
    (D0 + timedelta(hours=6), None),
    (None, D0 + 30 * DAY + timedelta(hours=6)),
    (datetime(1990, 1, 1), datetime(1990, 12, 31)),  # no record
    (datetime(2027, 1, 1), None),  # no record
]
TIMED_CRITERIA = [  # without facets: days; with: months; with a bar: months, no facets
    {},
    {"mission_id": "GAIA", "include_missing": True},
    {"processing_status": "processed"},
    {"instrument_type": "cam"},
    {"satellite_name": "Sat-A", "format": "fits"},
    {"min_quality": 0.3},
    {"min_quality": 0.0, "mission_id": "gaia", "processing_status": "raw"},
    {"min_quality": 0.7, "instrument_type": "CAM"},  # rows
    {"min_quality": 0.65},  # off an edge: the bins above from the cells
    {"min_quality": 0.12, "mission_id": "GAIA", "processing_status": "raw"},
]


def timed_queries(rng: random.Random) -> list[SearchQuery]:
    """The ranges above and random ones, under each criteria."""
    ranges = list(RANGES)
    for _ in range(4):
        low = T0 + timedelta(seconds=rng.randrange(-2 * 86400, 72 * 86400))
        ranges.append((low, low + timedelta(seconds=rng.randrange(0, 40 * 86400))))
    return [
        SearchQuery(start=start, end=end, **criteria)
        for n, (start, end) in enumerate(ranges)
        for criteria in ({}, TIMED_CRITERIA[1 + n % (len(TIMED_CRITERIA) - 1)])
    ]


def assert_charts_match(catalog: Catalog) -> None:
    """Every chart from the summaries equals the direct aggregate, for every query."""
    for q in QUERIES + BARS:
        assert from_cells(q)
        assert totals(catalog, q) == totals(catalog, q, summaries=False), q
        assert status_quality(catalog, q) == status_quality(catalog, q, summaries=False), q
    for q in OFF_EDGE:
        split = bar_split(q)
        assert not from_cells(q) and groups_from_cells(q) == (split is not None), q
        assert totals(catalog, q) == totals(catalog, q, summaries=False), q
        assert status_quality(catalog, q) == status_quality(catalog, q, summaries=False), q
        for period in ("year", "month", "day"):
            got = coverage(catalog, q, period)
            assert got == coverage(catalog, q, period, summaries=False), (q, period)
    for q in QUERIES + BARS:
        for period in ("year", "month", "day"):
            faceted = q.instrument_type or q.satellite_name or q.format or q.calibration_status
            if q.min_quality is not None:  # the month quality cells: no facets, no days
                assert from_cells(q, period) == (period != "day" and not faceted), q
            else:
                assert from_cells(q, period) == (period != "day" or not faceted), q
            got = coverage(catalog, q, period)
            assert got == coverage(catalog, q, period, summaries=False), (q, period)
    for q in timed_queries(random.Random(len(search_all(catalog)))):
        assert not from_cells(q)  # no quality bins per day: months, and the rest from rows
        faceted = q.instrument_type or q.satellite_name
        off = q.min_quality is not None and quality_edge(q.min_quality) is None
        assert month_quality_answers(q) == (not faceted and not off), q
        assert totals(catalog, q) == totals(catalog, q, summaries=False), q
        assert status_quality(catalog, q) == status_quality(catalog, q, summaries=False), q
        for period in ("year", "month", "day"):
            if off:
                assert not from_cells(q, period)
            elif q.min_quality is not None:
                assert from_cells(q, period) == (period != "day" and not faceted), q
            else:
                assert from_cells(q, period) == (period != "day" or not faceted), q
            got = coverage(catalog, q, period)
            assert got == coverage(catalog, q, period, summaries=False), (q, period)
    records = [r for r in search_all(catalog) if not r["missing"] and footprint(r) is not None]
    with read_connection(catalog.engine) as connection:
        kept = extents(connection)
    for mission in {r["mission_id"].lower() for r in records} | set(kept):
        boxes = [footprint(r) for r in records if r["mission_id"].lower() == mission]
        assert kept.get(mission) == union(b for b in boxes if b is not None), mission
    stored = stored_cells(catalog)
    with write_transaction(catalog.engine) as connection:
        rebuild_cells(connection)
    assert stored == stored_cells(catalog)


def search_all(catalog: Catalog) -> list[dict[str, Any]]:
    """Every record, missing ones too."""
    items, cursor = [], None
    while True:
        page = search(catalog, SearchQuery(include_missing=True, limit=1000, cursor=cursor))
        items.extend(page.items)
        if page.next_cursor is None:
            return items
        cursor = page.next_cursor


def stored_cells(catalog: Catalog) -> list[list[tuple[Any, ...]]]:
    """The non-empty cells of each table (cells emptied by writes stay, at zero)."""
    out = []
    with read_connection(catalog.engine) as connection:
        for table in (chart_quality, chart_days, chart_months, chart_month_quality):
            counts = [c.name for c in table.columns if not c.primary_key]
            rows = connection.execute(select(table)).all()
            out.append(sorted(tuple(r) for r in rows if any(r._mapping[c] for c in counts)))
        # Edges counted down to zero are deleted: every stored one counts a footprint.
        out.append(sorted(tuple(r) for r in connection.execute(select(chart_edges))))
        assert all(r[-1] > 0 for r in out[-1])
    return out


def test_quality_bins_in_python_and_sql_agree(catalog: Catalog) -> None:
    catalog.upsert_observations(
        [{"file_path": f"/q/{i}", "data_quality_score": s} for i, s in enumerate(SCORES)]
    )
    histogram = status_quality(catalog, SearchQuery(), summaries=False)["quality"]
    expected = [0] * 10
    for score in SCORES:
        if score is not None:
            expected[quality_bin(score)] += 1
    assert [b["count"] for b in histogram] == expected == [2, 2, 0, 1, 0, 0, 1, 1, 0, 3]


def test_quality_bars_on_a_bin_edge_are_met_by_the_bins_from_it_up() -> None:
    for k in range(QUALITY_BINS):
        edge = k / QUALITY_BINS
        below = math.nextafter(edge, -1.0)
        exact = quality_bin(edge) == k and (k == 0 or quality_bin(below) == k - 1)
        assert quality_edge(edge) == (k if exact else None)
        assert exact == (k != 9)  # 0.9 is not: the float below it lands in bin 9
        assert quality_edge(math.nextafter(edge, 2.0)) is None
        assert quality_edge(below) == (9 if k == 9 else None)  # where bin 9 starts
    for k in range(1, QUALITY_BINS):  # the smallest float of each bin, found by walking
        floor = bin_floor(k)
        assert quality_bin(floor) == k and quality_bin(math.nextafter(floor, -1.0)) == k - 1
        assert floor == (math.nextafter(0.9, -1.0) if k == 9 else k / QUALITY_BINS)
    assert quality_edge(1.0) is None and quality_edge(0.55) is None and quality_edge(None) is None


@pytest.mark.parametrize("bar", [0.55, math.nextafter(0.55, 1.0), 0.12, 0.85, 0.8999, 0.95])
def test_a_bar_off_a_bin_edge_counts_what_the_rows_do(catalog: Catalog, bar: float) -> None:
    """The bins above from the cells and the bar's own bin from the rows: no score lost."""
    scores = [0.5, 0.55, math.nextafter(0.55, -1.0), math.nextafter(0.55, 1.0), 0.56]
    scores += [0.1, 0.12, 0.15, math.nextafter(0.6, -1.0), 0.6, 0.85, 0.8999, 0.9, 1.0]
    scores += [math.nextafter(0.9, -1.0), math.nextafter(0.2, -1.0), 0.2, None]
    catalog.upsert_observations(
        [
            {
                "file_path": f"/b/{i}",
                "data_quality_score": score,
                "instrument_type": ("CAM", "SPEC")[i % 2],
                "observation_timestamp": T0 + timedelta(days=40 * i),
            }
            for i, score in enumerate(scores)
        ]
    )
    for q in (
        SearchQuery(min_quality=bar),
        SearchQuery(min_quality=bar, instrument_type="cam"),
        SearchQuery(min_quality=bar, start=T0 + timedelta(days=50)),
    ):
        split = quality_bin(bar) < QUALITY_BINS - 1  # the last bin has no edge above
        assert (bar_split(q) is not None) == split, q
        assert groups_from_cells(q) == (split and q.start is None), q
        expected = [
            s
            for i, s in enumerate(scores)
            if s is not None
            and s >= bar
            and (q.instrument_type is None or i % 2 == 0)
            and (q.start is None or 40 * i >= 50)
        ]
        assert totals(catalog, q)["count"] == len(expected) == count(catalog, q), q
        histogram = [0] * QUALITY_BINS
        for score in expected:
            histogram[quality_bin(score)] += 1
        assert [b["count"] for b in status_quality(catalog, q)["quality"]] == histogram
        for period in ("year", "month"):
            got = coverage(catalog, q, period)
            assert sum(r["observations"] for r in got) == len(expected), (q, period)
            assert got == coverage(catalog, q, period, summaries=False), (q, period)


def test_a_time_range_from_the_day_cells_counts_what_the_rows_do(catalog: Catalog) -> None:
    """Whole days from the cells, partial ones and records ending before the range."""
    day = datetime(2026, 3, 10)
    catalog.upsert_observations(
        [
            {"file_path": "/t/a", "observation_timestamp": day + timedelta(hours=1)},
            {  # starts inside the range, on a whole day, but ends before it: not matched
                "file_path": "/t/b",
                "observation_timestamp": day + timedelta(days=2),
                "observation_end": day - timedelta(days=20),
            },
            {  # starts before the range and overlaps it: matched, from the rows
                "file_path": "/t/c",
                "observation_timestamp": day - timedelta(hours=30),
                "observation_end": day + timedelta(hours=1),
                "file_size": 5,
            },
            {"file_path": "/t/d", "observation_timestamp": day + timedelta(days=5, hours=23)},
            {"file_path": "/t/e"},  # no time: never in a time range
        ]
    )
    q = SearchQuery(start=day, end=day + timedelta(days=5, hours=22))
    assert from_cells(q, "day")
    got = coverage(catalog, q, "day")
    assert got == coverage(catalog, q, "day", summaries=False)
    assert [(r["period"], r["observations"], r["bytes"]) for r in got] == [
        ("2026-03-08", 1, 5),
        ("2026-03-10", 1, 0),
    ]
    months = SearchQuery(start=day - timedelta(days=9), end=day + timedelta(days=40))
    assert totals(catalog, months)["count"] == 3  # March from its cells, minus /t/b
    assert totals(catalog, months) == totals(catalog, months, summaries=False)


def test_chart_summaries_stay_exact_under_every_write_path(catalog: Catalog) -> None:
    rng = random.Random(2112)
    paths: list[str] = []
    done: set[str] = set()
    for _step in range(24):
        action = rng.choice(["upsert", "upsert", "bulk", "missing", "rename", "delete", "status"])
        if not paths:
            action = "upsert"
        done.add(action)
        if action in ("upsert", "bulk"):
            fresh = [record(rng, rng.randrange(0, 400)) for _ in range(rng.randrange(1, 60))]
            if rng.random() < 0.3:  # a refused record among them, left out
                fresh.append({**record(rng, 999), "data_quality_score": 2.0})
            if action == "bulk":
                with catalog.bulk_loading():
                    catalog.upsert_observations(fresh, isolate=True)
            else:
                catalog.upsert_observations(fresh, isolate=True)
            paths = sorted(
                {*paths, *(r["file_path"] for r in fresh if r["file_path"] != "/data/f0999.fits")}
            )
        elif action == "missing":
            chosen = rng.sample(paths, min(len(paths), 8))
            catalog.mark_missing(chosen, missing=rng.random() < 0.6)
        elif action == "rename":
            old, new = rng.choice(paths), rng.choice([*paths, "/data/renamed.fits"])
            if old != new:
                catalog.rename(old, new)
                paths = sorted({*(p for p in paths if p != old), new})
        elif action == "delete":
            gone = rng.choice(paths)
            catalog.delete(gone)
            paths.remove(gone)
        else:
            for path in rng.sample(paths, min(len(paths), 5)):
                catalog.set_status(path, rng.choice(PROCESSING_STATUSES), reason="test")
        assert_charts_match(catalog)
    assert done == {"upsert", "bulk", "missing", "rename", "delete", "status"}


def test_an_older_catalog_gets_its_chart_summaries_on_upgrade(catalog_url: str) -> None:
    from zarrlake.catalog import SCHEMA_VERSION
    from zarrlake.errors import CatalogSchemaError

    rng = random.Random(7)
    with Catalog(catalog_url) as db:
        db.upsert_observations([record(rng, i) for i in range(80)])
        with write_transaction(db.engine) as connection:  # as version 2 left it
            for table in (
                "chart_quality",
                "chart_days",
                "chart_edges",
                "chart_months",
                "chart_month_quality",
            ):
                connection.exec_driver_sql(f"DROP TABLE {table}")
            for index in (
                "ix_obs_unreadable",
                "ix_obs_with_issues",
                "ix_obs_missing",
                "ix_obs_end_before",  # version 6
            ):
                connection.exec_driver_sql(f"DROP INDEX {index}")
            connection.exec_driver_sql("DROP INDEX ix_status_at")
            connection.exec_driver_sql(
                "UPDATE catalog_info SET value = '2' WHERE key = 'schema_version'"
            )
    with pytest.raises(CatalogSchemaError, match="catalog upgrade"):
        Catalog(catalog_url)
    with Catalog(catalog_url, check_schema=False) as db:
        steps = db.upgrade()
        assert {
            "created index ix_obs_missing",
            "created index ix_status_at",
            "created index ix_obs_end_before",
        } <= set(steps)
        assert db.schema_version() == SCHEMA_VERSION
    with Catalog(catalog_url) as db:
        assert_charts_match(db)
        assert totals(db, SearchQuery(include_missing=True))["count"] == 80
        with read_connection(db.engine) as connection:
            assert extents(connection)  # rebuilt from the observations' footprints


def test_a_version_4_catalog_gets_faceted_cells_on_upgrade(catalog_url: str) -> None:
    rng = random.Random(8)
    with Catalog(catalog_url) as db:
        db.upsert_observations([record(rng, i) for i in range(60)])
        with write_transaction(db.engine) as connection:  # as version 4 left it
            connection.exec_driver_sql("DROP TABLE chart_months")
            connection.exec_driver_sql("DROP TABLE chart_month_quality")
            connection.exec_driver_sql("DROP TABLE chart_quality")
            connection.exec_driver_sql(
                "CREATE TABLE chart_quality (mission_id VARCHAR(128), "
                "processing_status VARCHAR(32), quality_bin INTEGER, missing BOOLEAN, "
                "observation_count BIGINT, positioned_count BIGINT, footprint_count BIGINT, "
                "PRIMARY KEY (mission_id, processing_status, quality_bin, missing))"
            )
            connection.exec_driver_sql(
                "UPDATE catalog_info SET value = '4' WHERE key = 'schema_version'"
            )
    with Catalog(catalog_url, check_schema=False) as db:
        steps = db.upgrade()
        assert any(step.startswith("dropped chart_quality") for step in steps), steps
    with Catalog(catalog_url) as db:
        assert_charts_match(db)
        assert db.upgrade() == ["rebuilt mission summaries"]  # nothing else to do again


def test_a_version_6_catalog_gets_month_bytes_and_the_text_index_on_upgrade(
    catalog_url: str,
) -> None:
    from zarrlake.catalog import SCHEMA_VERSION
    from zarrlake.catalog._text import drop_text_index
    from zarrlake.errors import CatalogSchemaError

    rng = random.Random(6)
    with Catalog(catalog_url) as db:
        db.upsert_observations([record(rng, i) for i in range(70)])
        with write_transaction(db.engine) as connection:  # as version 6 left it
            drop_text_index(connection)
            connection.exec_driver_sql("DROP TABLE chart_month_quality")
            connection.exec_driver_sql(
                "CREATE TABLE chart_month_quality (mission_id VARCHAR(128), "
                "processing_status VARCHAR(32), month VARCHAR(7), quality_bin INTEGER, "
                "missing BOOLEAN, observation_count BIGINT, positioned_count BIGINT, "
                "footprint_count BIGINT, "
                "PRIMARY KEY (mission_id, processing_status, month, quality_bin, missing))"
            )
            connection.exec_driver_sql(
                "UPDATE catalog_info SET value = '6' WHERE key = 'schema_version'"
            )
    with pytest.raises(CatalogSchemaError, match="catalog upgrade"):
        Catalog(catalog_url)
    with Catalog(catalog_url, check_schema=False) as db:
        steps = db.upgrade()
        assert "dropped chart_month_quality (fewer columns; rebuilt)" in steps, steps
        text_index = "obs_text" if db.dialect == "sqlite" else "ix_obs_path_trgm"
        assert any(text_index in step for step in steps), steps
        assert db.schema_version() == SCHEMA_VERSION == 7
    with Catalog(catalog_url) as db:
        assert_charts_match(db)
        assert db.upgrade() == ["rebuilt mission summaries"]  # nothing else to do again
        every = count(db, SearchQuery(include_missing=True, text="/data/f0"))
        assert every == 70


def test_facet_searches_the_cells_cannot_answer_go_to_the_rows(catalog: Catalog) -> None:
    catalog.upsert_observations(
        [
            {"file_path": "/f/a", "instrument_type": None, "calibration_status": "OK"},
            {"file_path": "/f/b", "instrument_type": "", "format": "fits"},
        ]
    )
    empty = SearchQuery(instrument_type="")  # only the row with '' matches, not None
    assert not from_cells(empty)
    assert totals(catalog, empty)["count"] == 1
    assert from_cells(SearchQuery(instrument_type="CAM"), "month")
    assert not from_cells(SearchQuery(instrument_type="CAM"), "day")  # no day cells by facet
    assert from_cells(SearchQuery(mission_id="x"), "day")
    assert not from_cells(SearchQuery(), "hour")
    assert not from_cells(SearchQuery(min_quality=0.55))  # not on a bin edge
    assert from_cells(SearchQuery(min_quality=0.5))
    assert from_cells(SearchQuery(min_quality=0.5), "month")  # the month quality cells
    assert from_cells(SearchQuery(min_quality=0.5, mission_id="x"), "year")
    assert not from_cells(SearchQuery(min_quality=0.5), "day")  # no bins per day
    assert not from_cells(SearchQuery(min_quality=0.5, instrument_type="CAM"), "month")
    assert not from_cells(SearchQuery(min_quality=0.55), "month")
    # A calibration or format no record has is refused from the cells as from the rows.
    for q in (SearchQuery(calibration_status="nope"), SearchQuery(format="grib")):
        assert from_cells(q)
        with pytest.raises(InvalidInputError, match="the catalog has"):
            match_count(catalog, q)
        with pytest.raises(InvalidInputError, match="the catalog has"):
            count(catalog, q)


def test_searches_from_the_rows_count_what_the_records_hold(catalog: Catalog) -> None:
    """A broad quality bar (read in table order on SQLite) and a narrow one, among others."""
    from zarrlake.catalog._engine import read_connection
    from zarrlake.catalog._stats import _share_above

    rng = random.Random(5)
    catalog.upsert_observations([record(rng, i) for i in range(300)])
    catalog.upsert_observations(  # a low score for most: a bar of 0.9 is met by few
        [{"file_path": f"/low/{i}", "data_quality_score": 0.2} for i in range(600)]
    )
    records = [r for r in search_all(catalog) if not r["missing"]]
    with read_connection(catalog.engine) as connection:
        if catalog.dialect == "sqlite":
            assert _share_above(connection, 0.1) and not _share_above(connection, 0.99)
    for q, keep in [
        (SearchQuery(min_quality=0.12), lambda r: (r["data_quality_score"] or -1) >= 0.12),
        (SearchQuery(min_quality=0.99), lambda r: (r["data_quality_score"] or -1) >= 0.99),
        (SearchQuery(text="f01"), lambda r: "f01" in r["file_path"]),
    ]:
        assert not from_cells(q)
        kept = [r for r in records if keep(r)]
        counts = status_quality(catalog, q)["counts"]
        assert counts == {st: sum(r["processing_status"] == st for r in kept) for st in counts}
        assert totals(catalog, q) == {
            "count": len(kept),
            "positioned": sum(r["ra"] is not None and r["dec"] is not None for r in kept),
            "footprints": sum(footprint(r) is not None for r in kept),
        }
        years = coverage(catalog, q, "year")
        timed = [r for r in kept if r["observation_timestamp"] is not None]
        assert sum(row["observations"] for row in years) == len(timed)
