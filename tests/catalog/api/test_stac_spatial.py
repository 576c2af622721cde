"""STAC search by footprint (bbox, intersects), counts, paging and refused parameters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pystac.validation import validate_dict

from tests.catalog.api.conftest import make_client
from tests.catalog.api.stacdata import fill_earth
from zarrlake.catalog import Catalog


@pytest.fixture
def earth(filled: Catalog, service_root: Path) -> dict[str, int]:
    return fill_earth(filled, service_root)


@pytest.fixture
def api(filled: Catalog, service_root: Path, earth: dict[str, int]) -> Iterator[TestClient]:
    with make_client(filled, service_root) as test_client:
        yield test_client


def names(earth: dict[str, int], body: dict[str, Any]) -> set[str]:
    by_id = {str(i): name for name, i in earth.items()}
    return {by_id.get(f["id"], f"sky:{f['id']}") for f in body["features"]}


def both(api: TestClient, **params: Any) -> dict[str, Any]:
    """Run one search as GET and POST; they must agree; return the GET answer."""
    query = {k: (json.dumps(v) if k == "intersects" else v) for k, v in params.items()}
    if "bbox" in query:
        query["bbox"] = ",".join(str(x) for x in params["bbox"])
    got = api.get("/stac/search", params={**query, "limit": 100})
    posted = api.post("/stac/search", json={**params, "limit": 100})
    assert got.status_code == posted.status_code == 200, (got.text, posted.text)
    assert got.headers["content-type"] == "application/geo+json"
    assert [f["id"] for f in got.json()["features"]] == [f["id"] for f in posted.json()["features"]]
    return dict(got.json())


@pytest.mark.parametrize(
    ("bbox", "expected"),
    [
        ([100.5, 0.0, 101.0, 1.0], {"equator", "world360"}),
        ([0.0, 40.0, 20.0, 50.0], {"europe", "station", "world360"}),
        ([-8.0, 12.0, -6.0, 14.0], {"atlantic360", "world360"}),  # stored as 350..355 east
        ([175.0, -15.0, 179.0, -12.0], {"pacific", "world360"}),  # west of the antimeridian
        ([-179.0, -15.0, -175.0, -12.0], {"pacific", "world360"}),  # east of it
        ([160.0, -15.0, -160.0, -12.0], {"pacific", "world360"}),  # a query that crosses it
        ([100.0, 0.0, 0.0, 105.0, 1.0, 1.0], {"equator", "world360"}),  # with heights
        ([181.0, 91.0, 182.0, 92.0], set()),  # beyond the Earth: nothing, not an error
    ],
)
def test_bbox_matches_footprints_on_both_databases(
    api: TestClient, earth: dict[str, int], bbox: list[float], expected: set[str]
) -> None:
    body = both(api, bbox=bbox)
    assert names(earth, body) == expected
    assert body["numberMatched"] == body["numberReturned"] == len(expected)


def test_intersects_is_exact_not_by_bounds(api: TestClient, earth: dict[str, int]) -> None:
    point = {"type": "Point", "coordinates": [100.5, 0.5]}
    assert names(earth, both(api, intersects=point)) == {"equator", "world360"}
    # The triangle's bounds overlap Europe's box; the triangle itself does not.
    triangle = {"type": "Polygon", "coordinates": [[[4, 50], [8, 50], [8, 40], [4, 50]]]}
    body = both(api, intersects=triangle)
    assert names(earth, body) == {"world360"}
    assert body["numberMatched"] == 1
    line = {"type": "LineString", "coordinates": [[12.0, 41.9], [13.0, 41.9]]}
    assert names(earth, both(api, intersects=line)) == {"station", "world360"}
    collection = {
        "type": "GeometryCollection",
        "geometries": [point, {"type": "Point", "coordinates": [-7.0, 15.0]}],
    }
    assert names(earth, both(api, intersects=collection)) == {
        "equator",
        "atlantic360",
        "world360",
    }


def test_spatial_paging_returns_every_match_once(api: TestClient, earth: dict[str, int]) -> None:
    url: str | None = "/stac/search?bbox=-180,-90,180,90&limit=2"
    seen: list[str] = []
    matched = []
    while url:
        body = api.get(url).json()
        matched.append(body.get("numberMatched"))
        assert body["numberReturned"] == len(body["features"]) <= 2
        seen += [f["id"] for f in body["features"]]
        url = next((li["href"] for li in body["links"] if li["rel"] == "next"), None)
    with_footprint = {"equator", "europe", "pacific", "world360", "atlantic360", "station"}
    assert sorted(seen) == sorted(str(earth[n]) for n in with_footprint)
    assert matched == [6, None, None]  # counted once, on the first page
    # POST pages carry the whole body in the next link.
    body = api.post("/stac/search", json={"intersects": _world(), "limit": 4}).json()
    following = next(li for li in body["links"] if li["rel"] == "next")
    assert following["method"] == "POST" and following["body"]["intersects"] == _world()
    rest = api.post("/stac/search", json=following["body"]).json()
    assert len(body["features"]) + len(rest["features"]) == 6
    assert "next" not in {li["rel"] for li in rest["links"]}


def _world() -> dict[str, Any]:
    ring = [[-180, -90], [180, -90], [180, 90], [-180, 90], [-180, -90]]
    return {"type": "Polygon", "coordinates": [ring]}


def test_counts_without_a_spatial_filter(api: TestClient) -> None:
    body = api.get("/stac/search?collections=COSMOS-7&limit=4").json()
    assert body["numberMatched"] == 15 and body["numberReturned"] == 4


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"bbox": "0,0,1"}, "bbox has 3 numbers"),
        ({"bbox": "0,0,0,1,1"}, "bbox has 5 numbers"),
        ({"bbox": "[100.0, 0.0, 105.0, 1.0]"}, "is not a number"),
        ({"bbox": "100,1,105,0"}, "south 1.0 is above north 0.0"),
        ({"bbox": "0,0,nan,1"}, "not a finite number"),
        ({"bbox": "0,0,1,1", "intersects": '{"type": "Point", "coordinates": [0, 0]}'}, "not both"),
        ({"intersects": "{not json"}, "intersects is not JSON"),
        ({"intersects": "[1, 2]"}, "intersects must be a GeoJSON geometry object"),
        ({"intersects": '{"type": "Feature", "geometry": null}'}, "not 'Feature'"),
        ({"intersects": '{"type": "Polygon", "coordinates": [[1, 2]]}'}, "not a valid Polygon"),
        ({"intersects": '{"type": "Point", "coordinates": []}'}, "intersects is"),
        ({"datetime": "1985-04-12"}, "not an RFC 3339 date-time"),
        ({"datetime": "1985-12-12T23:20:50.52"}, "not an RFC 3339 date-time"),
        ({"datetime": "1937-01-01T12:00:27.87+0100"}, "not an RFC 3339 date-time"),
        ({"datetime": "1985-13-12T23:20:50Z"}, "not a real date-time"),
        ({"datetime": "/"}, "open at both ends"),
        ({"datetime": "2020-01-01T00:00:00Z/2021-01-01T00:00:00Z/"}, "an interval has one"),
        ({"datetime": "2021-01-01T00:00:00Z/2020-01-01T00:00:00Z"}, "starts after it ends"),
        ({"sortby": "datetime", "limit": "-1"}, "limit"),
    ],
)
def test_invalid_parameters_are_400_naming_them(
    api: TestClient, params: dict[str, str], words: str
) -> None:
    response = api.get("/stac/search", params=params)
    assert response.status_code == 400, response.text
    assert response.json()["code"] in ("invalid_input", "invalid_request")
    assert words in response.json()["description"]


@pytest.mark.parametrize(
    ("body", "words"),
    [
        ({"bbox": "100.0, 0.0, 105.0, 1.0"}, "bbox"),
        ({"bbox": [0, 0, 0]}, "bbox has 3 numbers"),
        ({"bbox": [100, 1, 105, 0]}, "south 1.0 is above north 0.0"),
        ({"bbox": [0, 0, 1, 1], "intersects": {"type": "Point", "coordinates": [0, 0]}}, "both"),
        ({"intersects": {"type": "Pointy", "coordinates": [0, 0]}}, "not 'Pointy'"),
        ({"intersects": {"type": "Polygon", "coordinates": "x"}}, "not a valid Polygon"),
        ({"datetime": "yesterday"}, "not an RFC 3339 date-time"),
        ({"sortby": [{"field": "datetime", "direction": "sideways"}]}, "sideways"),
        ({"limit": 0}, "limit"),
    ],
)
def test_invalid_bodies_are_400(api: TestClient, body: dict[str, Any], words: str) -> None:
    response = api.post("/stac/search", json=body)
    assert response.status_code == 400, response.text
    assert words in response.json()["description"]


def test_missing_items_are_404(api: TestClient, earth: dict[str, int]) -> None:
    europe = earth["europe"]
    for path in (
        "/stac/collections/EARTH-1/items/non-existent-item",
        "/stac/collections/EARTH-1/items/99999999",
        "/stac/collections/EARTH-1/items/0",
        "/stac/collections/COSMOS-7/items/" + str(europe),  # exists, other collection
        f"/stac/collections/NOPE/items/{europe}",
        "/stac/items/non-existent-item",
        "/stac/items/99999999999999999999999",
    ):
        response = api.get(path)
        assert response.status_code == 404, (path, response.text)
        assert response.json()["code"] == "not_found"
    assert api.get(f"/stac/collections/EARTH-1/items/{europe}").status_code == 200


def test_landing_links_service_desc_and_doc(api: TestClient) -> None:
    links = {link["rel"]: link for link in api.get("/stac").json()["links"]}
    desc = links["service-desc"]
    assert desc["type"] == "application/vnd.oai.openapi+json;version=3.0"
    response = api.get(desc["href"], headers={"Accept": desc["type"]})
    assert response.status_code == 200
    assert response.headers["content-type"] == desc["type"]
    assert "/stac/search" in response.json()["paths"]
    doc = links["service-doc"]
    assert doc["type"] == "text/html" and doc["href"].endswith("/docs")
    page = api.get(doc["href"])
    assert page.status_code == 200 and page.headers["content-type"].startswith("text/html")


def test_items_have_footprints_lineage_and_file_urls(
    api: TestClient, earth: dict[str, int], service_root: Path
) -> None:
    def get(name: str) -> dict[str, Any]:
        return dict(api.get(f"/stac/items/{earth[name]}").json())

    europe = get("europe")
    assert europe["bbox"] == [-10.0, 35.0, 5.0, 45.0]
    assert europe["geometry"]["type"] == "Polygon"
    assert europe["assets"]["data"]["href"] == (service_root / "europe.nc").as_uri()
    calibration = [li for li in europe["links"] if li["rel"] == "calibration"]
    assert [li["href"].rsplit("/", 1)[1] for li in calibration] == [str(earth["equator"])]
    pacific = get("pacific")
    assert pacific["bbox"] == [170.0, -20.0, -170.0, -10.0]
    assert pacific["geometry"]["type"] == "MultiPolygon"
    assert get("atlantic360")["bbox"] == [-10.0, 10.0, -5.0, 20.0]
    assert get("world360")["bbox"] == [-180.0, -90.0, 180.0, 90.0]
    assert get("station")["geometry"] == {"type": "Point", "coordinates": [12.5, 41.9]}
    for unusable in ("upside_down", "text"):
        item = get(unusable)
        assert item["geometry"] is None and "bbox" not in item
    sky = api.get("/stac/search?collections=COSMOS-7&limit=1").json()["features"][0]
    assert sky["geometry"] is None and "bbox" not in sky
    assert sky["properties"]["zarrlake:ra"] is not None


def test_documents_validate_against_bundled_schemas(api: TestClient) -> None:
    """STAC 1.1.0 documents: pystac validates them offline (its bundled schemas)."""
    documents = [api.get("/stac").json()]
    documents += api.get("/stac/collections").json()["collections"]
    documents += api.get("/stac/search?limit=100").json()["features"]
    for document in documents:
        validate_dict(document)  # raises on any schema error; no network is used


def test_fields_extension_include_exclude(api: TestClient, earth: dict[str, int]) -> None:
    def first(**params: Any) -> dict[str, Any]:
        got = api.get("/stac/search", params={"collections": "EARTH-1", "limit": 1, **params})
        assert got.status_code == 200, got.text
        body = {"collections": ["EARTH-1"], "limit": 1}
        if "fields" in params:
            text = params["fields"]
            parts = [p for p in text.split(",") if p]
            body["fields"] = {
                "include": [p.lstrip("+") for p in parts if not p.startswith("-")],
                "exclude": [p[1:] for p in parts if p.startswith("-")],
            }
        posted = api.post("/stac/search", json=body)
        assert got.json()["features"] == posted.json()["features"]
        return dict(got.json()["features"][0])

    whole = first()
    assert "zarrlake:quality" in whole["properties"]
    default = first(fields="")
    assert set(default) == {
        "type", "stac_version", "id", "collection", "geometry", "bbox", "links", "assets",
        "properties",
    }  # fmt: skip
    assert default["properties"] == {"datetime": whole["properties"]["datetime"]}
    validate_dict(default)  # the default set is a valid STAC item
    added = first(fields="properties.zarrlake:quality")
    assert added["properties"] == {
        "datetime": whole["properties"]["datetime"],
        "zarrlake:quality": 0.9,
    }
    assert "geometry" not in first(fields="-geometry")
    trimmed = first(fields="properties,-properties.created,-links")
    assert "created" not in trimmed["properties"] and "links" not in trimmed
    assert trimmed["properties"]["mission"] == "EARTH-1"
    assert api.post("/stac/search", json={"fields": None}).status_code == 400
    following = api.get("/stac/search?fields=id&limit=1").json()["links"]
    assert "fields=id" in next(li["href"] for li in following if li["rel"] == "next")


def test_collection_extents_are_the_union_of_footprints(
    api: TestClient, filled: Catalog, service_root: Path
) -> None:
    def extent(mission: str) -> list[float]:
        one = api.get(f"/stac/collections/{mission}").json()["extent"]["spatial"]["bbox"]
        listed = {c["id"]: c for c in api.get("/stac/collections").json()["collections"]}
        assert listed[mission]["extent"]["spatial"]["bbox"] == one
        assert len(one) == 1
        return list(one[0])

    # EARTH-1 holds world360: the whole Earth; sky data has no footprint: the globe too.
    assert extent("EARTH-1") == [-180.0, -90.0, 180.0, 90.0]
    assert extent("COSMOS-7") == [-180.0, -90.0, 180.0, 90.0]
    keys = ("geospatial_lon_min", "geospatial_lat_min", "geospatial_lon_max", "geospatial_lat_max")
    boxes = [(170.0, -20.0, -170.0, -10.0), (190.0, -5.0, 200.5, 3.7), (160.0, 0.0, 165.0, 1.0)]
    ids = filled.upsert_observations(
        [
            {
                "file_path": str(service_root / f"fiji-{i}.nc"),
                "mission_id": "FIJI",
                "observation_timestamp": datetime(2026, 5, 1),
                "mission_specific": dict(zip(keys, box, strict=True)),
            }
            for i, box in enumerate(boxes)
        ]
    ).ids
    # Across the antimeridian (west > east), not round the world; 190..200.5 is -170..-159.5.
    assert extent("FIJI") == [160.0, -20.0, -159.5, 3.7]
    filled.delete(ids[2])  # the extent shrinks with its footprints
    assert extent("FIJI") == [170.0, -20.0, -159.5, 3.7]
    item = api.get(f"/stac/collections/FIJI/items/{ids[0]}").json()
    assert item["bbox"] == [170.0, -20.0, -170.0, -10.0]
