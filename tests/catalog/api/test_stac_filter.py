"""The Filter extension: CQL2 text and JSON give what the catalog's own search gives."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from pystac_client import Client

from zarrlake.catalog import Catalog, search


def ids(catalog: Catalog, **criteria: Any) -> set[str]:
    where = criteria.pop("where", {})
    where = {"observation_timestamp": {"$exists": True}, **where}
    page = search(catalog, limit=1000, where=where, **criteria)
    return {str(r["id"]) for r in page.items}


def found(client: TestClient, text: str | None = None, **body: Any) -> set[str]:
    if text is not None:
        response = client.get("/stac/search", params={"filter": text, "limit": 1000})
    else:
        response = client.post("/stac/search", json={**body, "limit": 1000})
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["numberMatched"] == len(result["features"])
    return {f["id"] for f in result["features"]}


def test_text_and_json_filters_match_the_catalog_search(
    client: TestClient, filled: Catalog
) -> None:
    good = ids(filled, min_quality=0.8)
    assert found(client, '"zarrlake:quality" >= 0.8') == good
    assert found(client, "0.8 <= zarrlake:quality") == good  # value first
    json_filter = {"op": ">=", "args": [{"property": "properties.zarrlake:quality"}, 0.8]}
    assert found(client, filter=json_filter) == good
    assert found(client, filter=json_filter, **{"filter-lang": "cql2-json"}) == good
    m31 = ids(filled, target_object="M31")
    assert found(client, "\"zarrlake:target\" = 'm31'") == m31  # any case, as search
    cam = ids(filled, instrument_type="CAM")
    assert found(client, "instruments IN ('cam')") == cam
    assert found(client, "platform = 'SAT-A' AND instruments LIKE 'c%'") == cam
    raw = ids(filled, processing_status="raw")
    assert found(client, "\"zarrlake:processing_status\" = 'RAW'") == raw
    both = ids(filled, min_quality=0.5, where={"data_quality_score": {"$lte": 0.7}})
    assert found(client, '"zarrlake:quality" BETWEEN 0.5 AND 0.7') == both
    late = ids(filled, start="2026-03-05T00:00:00Z")
    assert found(client, "end_datetime >= TIMESTAMP('2026-03-05T00:00:00Z')") == late
    mixed = found(
        client,
        "(\"zarrlake:target\" = 'M33' OR \"zarrlake:target\" = 'NGC 1')"
        " AND NOT collection = 'HELIO'",
    )
    assert mixed == ids(filled, mission_id="COSMOS-7") - ids(filled, target_object="M31")
    assert found(client, '"zarrlake:calibration" IS NULL') == set()


def test_filters_combine_with_other_parameters_and_page(
    client: TestClient, filled: Catalog
) -> None:
    body = client.get(
        "/stac/search",
        params={"filter": "instruments = 'CAM'", "collections": "COSMOS-7", "limit": 2},
    ).json()
    expected = ids(filled, instrument_type="CAM", mission_id="COSMOS-7")
    assert body["numberMatched"] == len(expected)
    following = next(li for li in body["links"] if li["rel"] == "next")
    assert "filter=" in following["href"]  # the next page keeps the filter
    posted = client.post(
        "/stac/search",
        json={"filter": {"op": "=", "args": [{"property": "instruments"}, "CAM"]}, "limit": 2},
    ).json()
    nxt = next(li for li in posted["links"] if li["rel"] == "next")
    assert nxt["body"]["filter"] == {"op": "=", "args": [{"property": "instruments"}, "CAM"]}


@pytest.mark.parametrize(
    ("params", "words"),
    [
        ({"filter": "quality >= 0.8"}, "'quality' is not a queryable property"),
        ({"filter": "zarrlake:quality >>> 1"}, "filter is not valid cql2-text"),
        ({"filter": "S_INTERSECTS(geometry, POINT(1 2))"}, "use bbox, intersects"),
        ({"filter": "\"zarrlake:processing_status\" = 'bogus'"}, "'bogus' is not one of"),
        ({"filter": "\"zarrlake:quality\" = 'high'"}, "compared with numbers"),
        ({"filter": "platform = instruments"}, "comparing two properties"),
        ({"filter": "datetime > '2026-01-01'"}, "TIMESTAMP('...')"),
        ({"filter": "platform = 'A'", "filter-lang": "cql3"}, "filter-lang 'cql3'"),
        ({"filter": "platform = 'A'", "filter-crs": "EPSG:3857"}, "filter-crs"),
        ({"filter": "{broken", "filter-lang": "cql2-json"}, "not valid cql2-json"),
    ],
)
def test_bad_filters_are_400(client: TestClient, params: dict[str, str], words: str) -> None:
    response = client.get("/stac/search", params=params)
    assert response.status_code == 400, response.text
    assert words in response.json()["description"]


def test_queryables_are_advertised(client: TestClient) -> None:
    landing = client.get("/stac").json()
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-text" in landing["conformsTo"]
    rel = "http://www.opengis.net/def/rel/ogc/1.0/queryables"
    link = next(li for li in landing["links"] if li["rel"] == rel)
    response = client.get(link["href"])
    assert response.headers["content-type"] == "application/schema+json"
    schema = response.json()
    assert schema["properties"]["zarrlake:quality"]["type"] == "number"
    assert "raw" in schema["properties"]["zarrlake:processing_status"]["enum"]
    collection = client.get("/stac/collections/HELIO").json()
    assert (
        client.get(next(li["href"] for li in collection["links"] if li["rel"] == rel)).status_code
        == 200
    )
    assert client.get("/stac/collections/NOPE/queryables").status_code == 404


def test_pystac_client_filters(live_url: str, filled: Catalog) -> None:
    client = Client.open(f"{live_url}/stac")
    search_ = client.search(filter='"zarrlake:quality" >= 0.8', max_items=1000, limit=3)
    assert {i.id for i in search_.items()} == ids(filled, min_quality=0.8)
    posted = client.search(
        method="POST",
        filter={"op": "=", "args": [{"property": "zarrlake:target"}, "M33"]},
        max_items=1000,
        limit=3,
    )
    assert {i.id for i in posted.items()} == ids(filled, target_object="M33")


def test_item_ids_are_text_and_collections_may_be_one_string(
    client: TestClient, filled: Catalog
) -> None:
    first = sorted(ids(filled), key=int)[0]
    assert found(client, f"id = '{first}'") == {first}
    assert found(client, "id = 'no-such-item'") == set()  # empty, not an error
    assert found(client, f"NOT id = '{first}'") == ids(filled) - {first}
    assert found(client, collections="HELIO") == ids(filled, mission_id="HELIO")
    for strange in ("²", "99999999999999999999999", "-1", "\u0661"):
        response = client.get("/stac/search", params={"ids": strange})
        assert response.status_code == 200 and response.json()["features"] == [], strange
