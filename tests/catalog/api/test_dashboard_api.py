"""The dashboard's own endpoints (chart data, problems, pipeline) and offline API docs."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from tests.catalog.api.conftest import make_client
from zarrlake.catalog import Catalog, SearchQuery, search


def test_docs_are_served_from_the_package(client: TestClient) -> None:
    page = client.get("/docs")
    assert page.status_code == 200
    assets = re.findall(r"""(?:src|href)=["']([^"']+)""", page.text)
    assert assets and all(a.startswith("/") and not a.startswith("//") for a in assets)
    assert "cdn" not in page.text.lower() and "https://" not in page.text
    for asset in assets:
        assert client.get(asset).status_code == 200, asset
    assert client.get("/redoc", follow_redirects=False).headers["location"] == "docs"
    for license_file in ("swagger-ui-dist-5.35.0/LICENSE", "plot-0.6.17/LICENSE"):
        assert client.get(f"/vendor/{license_file}").status_code == 200
    # Vendored libraries (versioned folders) are kept by browsers; the app's own files not.
    library = client.get("/vendor/d3-7.9.2/d3.min.js")
    assert "immutable" in library.headers["cache-control"]
    assert "max-age=31536000" in library.headers["cache-control"]
    for own in ("/", "/app.js", "/charts.js"):
        assert client.get(own).headers["cache-control"] == "no-cache", own


def test_status_counts_follow_the_search(client: TestClient, filled: Catalog) -> None:
    filled.set_status(2, "processing")
    filled.set_status(4, "failed", reason="bad header")
    counts = client.get("/dashboard/status").json()["counts"]
    assert counts == {"raw": 28, "processing": 1, "processed": 0, "failed": 1, "archived": 0}
    helio = client.get("/dashboard/status", params={"mission": "HELIO"}).json()["counts"]
    assert sum(helio.values()) == 15 and helio["processing"] == 1 and helio["failed"] == 1
    quality = client.get("/dashboard/status").json()["quality"]
    assert [b["count"] for b in quality] == [3] * 10 and quality[9]["high"] == 1.0
    filled.upsert_observations([{"file_path": "/x/no-score.fits", "mission_id": "HELIO"}])
    answer = client.get("/dashboard/status", params={"mission": "HELIO"}).json()
    assert answer["unscored"] == 1 and sum(b["count"] for b in answer["quality"]) == 15
    assert sum(answer["counts"].values()) == 16


def test_coverage_per_period_and_mission(client: TestClient) -> None:
    days = client.get("/dashboard/coverage/day", params={"mission": "HELIO"}).json()
    assert days["period"] == "day" and {r["mission"] for r in days["rows"]} == {"HELIO"}
    assert sum(r["observations"] for r in days["rows"]) == 15
    assert days["rows"][0]["period"] == "2026-03-01"
    months = client.get("/dashboard/coverage/month").json()["rows"]
    assert {(r["period"], r["mission"], r["observations"]) for r in months} == {
        ("2026-03", "COSMOS-7", 15),
        ("2026-03", "HELIO", 15),
    }
    assert sum(r["bytes"] for r in months) == sum(1000 + i for i in range(30))
    assert client.get("/dashboard/coverage/week").status_code in (400, 422)


def test_coverage_chooses_its_period_from_the_time_shown(client: TestClient) -> None:
    def period(**params: str) -> str:
        answer = client.get("/dashboard/coverage/auto", params=params).json()
        assert (
            answer["rows"]
            == client.get(f"/dashboard/coverage/{answer['period']}", params=params).json()["rows"]
        )
        return str(answer["period"])

    span = {"start": "2020-01-01T00:00:00Z"}
    assert period(**span, end="2023-01-02T00:00:00Z") == "year"  # over three years
    assert period(**span, end="2020-04-01T00:00:00Z") == "month"  # over 90 days
    assert period(**span, end="2020-01-05T00:00:00Z") == "day"
    assert period(**span, end="2020-01-03T00:00:00Z") == "hour"
    # Without a range: the missions' span (30 observations 6 hours apart: 7 days).
    assert period() == period(mission="helio") == "day"
    assert period(mission="no such mission") == "year"


def test_sky_points_and_an_even_sample(client: TestClient, monkeypatch: pytest.MonkeyPatch) -> None:
    sky = client.get("/dashboard/sky", params={"target": "m31"}).json()
    assert sky["total"] == 10 and not sky["sampled"] and len(sky["points"]) == 10
    assert {p["target"] for p in sky["points"]} == {"M31"}
    none = client.get("/dashboard/sky", params={"q": "no such text"}).json()
    assert none == {"total": 0, "sampled": False, "points": []}
    from zarrlake.catalog.api import dashboard

    monkeypatch.setattr(dashboard, "MAX_SKY_POINTS", 5)
    sample = client.get("/dashboard/sky").json()
    assert sample["sampled"] and sample["total"] == 30
    # Ids looked up over the id range 1..30: one in each fifth of it (3, 8, 15, 19, 26).
    ids = [p["id"] for p in sample["points"]]
    assert ids == sorted(ids) and [(i - 1) * 5 // 30 for i in ids] == [0, 1, 2, 3, 4]


@pytest.mark.parametrize("probes", [0, 20000])  # every n-th match / ids spread evenly
def test_a_sample_keeps_every_group(
    client: TestClient, monkeypatch: pytest.MonkeyPatch, probes: int
) -> None:
    from zarrlake.catalog.api import dashboard

    # COSMOS-7 has the odd ids: a sample of the ids divisible by 2 would show none.
    monkeypatch.setattr(dashboard, "MAX_SKY_POINTS", 8)
    monkeypatch.setattr(dashboard, "SKY_PROBES", probes)
    sample = client.get("/dashboard/sky", params={"mission": "cosmos-7"}).json()
    assert sample["sampled"] and sample["total"] == 15
    ids = [p["id"] for p in sample["points"]]
    assert 4 <= len(ids) <= 8 and all(i % 2 for i in ids) and ids == sorted(ids)


def test_probes_see_a_group_on_a_period_of_the_ids(
    catalog: Catalog, service_root: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from zarrlake.catalog.api import dashboard

    # Ids 1, 5, 9 ... (60 of 240) are mission A. Sampling 15 of them by lookups takes
    # 240 * 15 / 60 = 60 probes: a step of exactly 4 ids (4, 8, ... 240) would find none.
    catalog.upsert_observations(
        [
            {
                "file_path": f"/sky/{i:03d}.fits",
                "mission_id": "A" if i % 4 == 1 else "B",
                "ra": float(i),
                "dec": 0.0,
            }
            for i in range(1, 241)
        ]
    )
    monkeypatch.setattr(dashboard, "MAX_SKY_POINTS", 15)
    with make_client(catalog, service_root) as client:
        sample = client.get("/dashboard/sky", params={"mission": "A"}).json()
    ids = [p["id"] for p in sample["points"]]
    assert sample["sampled"] and sample["total"] == 60
    assert 8 <= len(ids) <= 30 and all(i % 4 == 1 for i in ids) and ids == sorted(ids)
    # Spread over the id range: each quarter of it holds some of the sample.
    assert {(i - 1) * 4 // 240 for i in ids} == {0, 1, 2, 3}


def test_problems_are_the_newest_of_any_kind(filled: Catalog) -> None:
    from sqlalchemy import desc, or_, select

    from zarrlake.catalog import schema as s
    from zarrlake.catalog._engine import read_connection
    from zarrlake.catalog.api.operations import _problems

    for i in range(12):  # kinds interleaved in time, some records with two
        filled.upsert_observations(
            [
                {
                    "file_path": f"/x/p{i}.fits",
                    "extraction_error": "unreadable" if i % 3 != 1 else None,
                    "issues": ["odd"] if i % 3 != 0 else None,
                }
            ]
        )
        if i % 4 == 0:
            filled.mark_missing([filled.get(i + 1)["file_path"]])
    obs = s.observations.c
    for limit in (1, 4, 7, 500):
        query = (
            select(obs.id)
            .where(or_(obs.extraction_error.is_not(None), obs.issues.is_not(None), obs.missing))
            .order_by(desc(obs.last_updated), desc(obs.id))
            .limit(limit)
        )
        with read_connection(filled.engine) as connection:
            expected = list(connection.execute(query).scalars())
        got = list(dict.fromkeys(r["id"] for r in _problems(filled, None, limit, None, None)))
        assert got == expected, limit


def test_count_matches_the_rest_count(client: TestClient) -> None:
    for params in ({}, {"mission": "HELIO"}, {"q": "obs01", "min_quality": 0.5}):
        expected = client.get("/datasets/count", params=params).json()
        assert client.get("/dashboard/count", params=params).json() == expected


def test_chart_answers_are_reused_until_the_catalog_changes(
    client: TestClient, filled: Catalog
) -> None:
    first = client.get("/dashboard/status").json()
    assert client.get("/dashboard/status").json() == first
    filled.set_status(1, "archived")
    assert client.get("/dashboard/status").json()["counts"]["archived"] == 1


def test_problems_and_pipeline(client: TestClient, filled: Catalog, service_root: object) -> None:
    filled.upsert_observations(
        [
            {"file_path": "/x/broken.nc", "mission_id": "HELIO", "extraction_error": "not HDF5"},
            {"file_path": "/x/odd.fits", "mission_id": "HELIO", "issues": ["no DATE-OBS"]},
        ]
    )
    filled.mark_missing([filled.get(5)["file_path"]])
    filled.set_status(6, "failed", reason="calibration diverged", actor="pipe")
    filled.set_status(7, "processing", actor="pipe")
    items = client.get("/dashboard/problems").json()["items"]
    kinds = {(i["kind"], i["problem"]) for i in items}
    assert ("unreadable", "not HDF5") in kinds and ("issues", "no DATE-OBS") in kinds
    assert ("missing", "the file is gone") in kinds and len(items) == 3
    only = client.get("/dashboard/problems", params={"kind": "unreadable"}).json()["items"]
    assert [i["file_path"] for i in only] == ["/x/broken.nc"]
    exported = client.get("/dashboard/problems", params={"format": "csv"})
    table = list(csv.DictReader(io.StringIO(exported.text)))
    assert len(table) == 3 and "attachment" in exported.headers["content-disposition"]
    state = client.get("/dashboard/pipeline").json()
    assert [r["id"] for r in state["processing"]] == [7]
    assert [(r["id"], r["reason"]) for r in state["failed"]] == [(6, "calibration diverged")]
    assert state["events"][0]["dataset_id"] == 7 and state["events"][0]["at"].endswith("Z")


def test_earth_footprints_from_acdd_bounds(client: TestClient, filled: Catalog) -> None:
    keys = ("geospatial_lon_min", "geospatial_lat_min", "geospatial_lon_max", "geospatial_lat_max")
    filled.upsert_observations(
        [
            {
                "file_path": "/x/swath.nc",
                "mission_id": "HELIO",
                "mission_specific": dict(zip(keys, (-10, 35, 30.5, 60), strict=True)),
            },
            {"file_path": "/x/half.nc", "mission_id": "HELIO", "mission_specific": {keys[0]: 1}},
            {  # 0..360: sent as STAC items give it, -180..180
                "file_path": "/x/east.nc",
                "mission_id": "HELIO",
                "mission_specific": dict(zip(keys, (190, 0, 200, 10), strict=True)),
            },
            {  # south above north: no footprint, neither drawn nor counted
                "file_path": "/x/upside-down.nc",
                "mission_id": "HELIO",
                "mission_specific": dict(zip(keys, (0, 10, 1, 5), strict=True)),
            },
        ]
    )
    # With no other criterion the total comes from the chart cells; with a text
    # criterion from the rows: both count what is drawn.
    for params in ({}, {"include_missing": "true"}, {"q": "x"}):
        earth = client.get("/dashboard/earth", params=params).json()
        assert earth["total"] == len(earth["footprints"]) == 2, params
        assert sorted(f["bbox"] for f in earth["footprints"]) == [
            [-170.0, 0.0, -160.0, 10.0],
            [-10.0, 35.0, 30.5, 60.0],
        ]
    assert client.get("/dashboard/earth", params={"mission": "COSMOS-7"}).json()["total"] == 0


@pytest.mark.parametrize("text", ["q", "c ", "m3"])  # none, NGC 1 (a third), M31 and M33
def test_a_scanned_text_s_views_share_one_scan(
    client: TestClient, filled: Catalog, monkeypatch: pytest.MonkeyPatch, text: str
) -> None:
    """Status and coverage of short text from one grouped query, as from their rows."""
    from zarrlake.catalog import _onescan
    from zarrlake.catalog._search import SearchQuery
    from zarrlake.catalog._stats import auto_period, coverage, status_quality
    from zarrlake.catalog.api import dashboard

    cubes: list[str] = []
    counted = _onescan.row_cube

    def cube(catalog: Catalog, q: SearchQuery, period: str) -> object:
        cubes.append(period)
        return counted(catalog, q, period)

    monkeypatch.setattr(dashboard, "row_cube", cube)
    q = SearchQuery(text=text)
    period = auto_period(filled, q)
    status = client.get("/dashboard/status", params={"q": text}).json()
    cover = client.get("/dashboard/coverage/auto", params={"q": text}).json()
    assert status == status_quality(filled, q, summaries=False)
    assert cover == {"period": period, "rows": coverage(filled, q, period, summaries=False)}
    scanned = _onescan.one_scan(filled, q, period)
    assert cubes == ([period] if scanned else [])  # one scan for both views, kept
    # Scanned on SQLite (most records hold "m3": the cells, less the rows without it).
    assert scanned == (filled.dialect == "sqlite")


def test_problems_read_as_sentences_once_each_and_filter(
    catalog: Catalog, service_root: Path, tmp_path: Path
) -> None:
    import shutil

    from astropy.io import fits

    from zarrlake.catalog import ingest

    # astropy's own test files: a compressed file no reader opens, and a plain image
    # whose header names no mission.
    data = Path(fits.__file__).parent / "tests" / "data"
    folder = tmp_path / "files"
    folder.mkdir()
    for name in ("lzw.fits.Z", "test0.fits"):
        shutil.copy(data / name, folder / name)
    ingest(catalog, folder)
    with make_client(catalog, service_root) as client:
        items = client.get("/dashboard/problems").json()["items"]
        by_file = {(Path(i["file_path"]).name, i["kind"]): i["problem"] for i in items}
        # The unreadable file once, as unreadable (its one issue is that same error).
        assert [k for k in by_file if k[0] == "lzw.fits.Z"] == [("lzw.fits.Z", "unreadable")]
        issues = by_file[("test0.fits", "issues")]
        assert "mission_id not found in the file's metadata" in issues
        assert "{" not in issues and "'code'" not in issues
        exported = client.get("/dashboard/problems", params={"format": "csv"}).text
        table = list(csv.DictReader(io.StringIO(exported)))
        assert {(Path(r["file_path"]).name, r["kind"]): r["problem"] for r in table} == by_file
        # Filters: text in the path or the problem, and the mission.
        found = client.get("/dashboard/problems", params={"q": "LZW"}).json()["items"]
        assert [Path(i["file_path"]).name for i in found] == ["lzw.fits.Z"]
        found = client.get("/dashboard/problems", params={"q": "MISSION_ID"}).json()["items"]
        assert [Path(i["file_path"]).name for i in found] == ["test0.fits"]
        unknown = client.get("/dashboard/problems", params={"mission": "UNKNOWN"}).json()
        assert {Path(i["file_path"]).name for i in unknown["items"]} == {"test0.fits", "lzw.fits.Z"}
        assert client.get("/dashboard/problems", params={"mission": "HST"}).json()["items"] == []


def test_issue_sentences() -> None:
    from zarrlake.catalog.api.operations import issue_text

    assert issue_text({"code": "unparsable_card", "message": "FITS card 'X' ..."}) == (
        "FITS card 'X' ..."
    )
    assert issue_text({"code": "missing_field", "field": "instrument_type"}) == (
        "instrument_type not found in the file's metadata"
    )
    assert (
        issue_text(
            {
                "code": "quality_out_of_range",
                "field": "data_quality_score",
                "attribute": "Q",
                "value": "7",
            }
        )
        == "Q = 7 is outside 0..1: not taken as data_quality_score"
    )
    assert (
        issue_text(
            {"code": "unreadable_value", "field": "ra", "attribute": "RA_OBJ", "value": "ten"}
        )
        == "RA_OBJ = 'ten' cannot be read as ra"
    )
    assert issue_text({"code": "odd_thing", "hdu": 2}) == "odd thing: hdu 2"
    assert issue_text("no DATE-OBS") == "no DATE-OBS"


def test_lineage_graph_holds_every_link_between_its_datasets(
    client: TestClient, filled: Catalog
) -> None:
    # A diamond: 13 -> 15 -> 18 and 13 -> 18; 18 -> 19 (a child); the fixture has 1 -> 2 -> 3.
    filled.link(13, 15, "calibrated_from")
    filled.link(15, 18)
    filled.link(13, 18, "uses")
    filled.link(18, 19)
    graph = client.get("/dashboard/lineage/18", params={"depth": 2}).json()
    assert graph["root"] == 18
    nodes = {n["id"]: (n["depth"], n["direction"]) for n in graph["nodes"]}
    assert nodes == {18: (0, "self"), 15: (1, "parent"), 13: (1, "parent"), 19: (1, "child")}
    edges = {(e["parent"], e["child"], e["type"]) for e in graph["edges"]}
    # 13 -> 15 joins two inputs of 18: /related names each dataset once and leaves it out.
    assert edges == {
        (13, 15, "calibrated_from"),
        (15, 18, "derived_from"),
        (13, 18, "uses"),
        (18, 19, "derived_from"),
    }
    assert all(n["file_path"] == filled.get(n["id"])["file_path"] for n in graph["nodes"])
    one = client.get("/dashboard/lineage/15", params={"depth": 1}).json()
    assert {n["id"] for n in one["nodes"]} == {13, 15, 18}
    assert {(e["parent"], e["child"]) for e in one["edges"]} == {(13, 15), (15, 18), (13, 18)}
    assert client.get("/dashboard/lineage/999").status_code == 404
    assert client.get("/dashboard/lineage/18", params={"depth": 4}).status_code in (400, 422)


@pytest.mark.parametrize(
    ("start", "end"),
    [
        ("0001-01-01T00:00:00Z", None),
        ("0100-01-01T00:00:00Z", "0151-06-01T00:00:00Z"),
        (None, "9999-12-31T23:59:59Z"),
        ("0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"),
    ],
)
def test_time_ranges_at_the_ends_of_the_calendar(
    client: TestClient, filled: Catalog, start: str | None, end: str | None
) -> None:
    # A model run from 1860 to 2099 and an ocean file of year 1 (real CF data has both):
    # a range starting before year 240 once overflowed (start less the longest span).
    filled.upsert_observations(
        [
            {
                "file_path": "/x/scenario.nc",
                "mission_id": "HELIO",
                "observation_timestamp": "1860-06-01T00:00:00Z",
                "observation_end": "2099-12-01T00:00:00Z",
            },
            {
                "file_path": "/x/nemo.nc",
                "mission_id": "HELIO",
                "observation_timestamp": "0001-01-01T00:00:00Z",
                "observation_end": "0001-01-31T00:00:00Z",
            },
        ]
    )
    params = {k: v for k, v in (("start", start), ("end", end)) if v}
    expected = {
        r["file_path"] for r in search(filled, SearchQuery(start=start, end=end, limit=1000)).items
    }
    assert ("/x/nemo.nc" in expected) == (start is None or start.startswith("0001"))
    assert ("/x/scenario.nc" in expected) == (end is None or end > "1860")
    for path in (
        "/datasets/count",
        "/dashboard/count",
        "/dashboard/status",
        "/dashboard/coverage/auto",
        "/dashboard/coverage/year",
        "/dashboard/sky",
        "/dashboard/earth",
    ):
        answer = client.get(path, params=params)
        assert answer.status_code == 200, (path, answer.text)
    assert client.get("/dashboard/count", params=params).json()["count"] == len(expected)
    status = client.get("/dashboard/status", params=params).json()
    assert sum(status["counts"].values()) == len(expected)
    years = client.get("/dashboard/coverage/year", params=params).json()["rows"]
    assert sum(r["observations"] for r in years) == len(expected)
    page = client.get("/datasets", params={**params, "limit": 1000}).json()
    assert {r["file_path"] for r in page["items"]} == expected


def test_problem_text_filter_matches_wildcards_literally(
    client: TestClient, filled: Catalog
) -> None:
    filled.upsert_observations(
        [
            {"file_path": "/x/run_1.nc", "mission_id": "HELIO", "extraction_error": "truncated"},
            {"file_path": "/x/runX1.nc", "mission_id": "HELIO", "extraction_error": "truncated"},
            {"file_path": "/x/100%.nc", "mission_id": "HELIO", "extraction_error": "truncated"},
        ]
    )

    def found(text: str) -> list[str]:
        items = client.get("/dashboard/problems", params={"q": text}).json()["items"]
        return sorted(i["file_path"] for i in items)

    assert found("run_1") == ["/x/run_1.nc"]
    assert found("0%") == ["/x/100%.nc"]
    assert found("TRUNCATED") == sorted(["/x/100%.nc", "/x/run_1.nc", "/x/runX1.nc"])
