"""The STAC API, checked with pystac-client as a real client over HTTP."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from pystac_client import Client

from zarrlake.catalog import Catalog, search


def catalog_ids(catalog: Catalog, **criteria: object) -> list[str]:
    page = search(catalog, limit=1000, **criteria)  # type: ignore[arg-type]
    return [str(r["id"]) for r in page.items]


def test_pystac_client_search_equals_the_catalog_search(live_url: str, filled: Catalog) -> None:
    client = Client.open(f"{live_url}/stac")
    assert {c.id for c in client.get_collections()} == {"COSMOS-7", "HELIO"}
    found = client.search(
        collections=["COSMOS-7"],
        datetime="2026-03-02T00:00:00Z/2026-03-05T00:00:00Z",
        max_items=100,
        limit=2,
    )
    ids = [item.id for item in found.items()]
    expected = catalog_ids(
        filled, mission_id="COSMOS-7", start="2026-03-02T00:00:00Z", end="2026-03-05T00:00:00Z"
    )
    assert ids == expected and len(ids) > 2  # several pages of 2 followed through next links
    post = client.search(
        collections=["HELIO"],
        max_items=100,
        limit=4,
        method="POST",
        sortby=[{"field": "properties.datetime", "direction": "desc"}],
    )
    assert [i.id for i in post.items()] == catalog_ids(
        filled, mission_id="HELIO", sort="-observation_timestamp"
    )
    everything = [i.id for i in client.search(max_items=1000, limit=7).items()]
    assert sorted(everything, key=int) == sorted(catalog_ids(filled), key=int)


def test_items_carry_mission_platform_times_and_lineage(live_url: str, filled: Catalog) -> None:
    client = Client.open(f"{live_url}/stac")
    first_ids = catalog_ids(filled)[:3]
    items = list(client.search(ids=first_ids, max_items=10).items())
    by_id = {i.id: i for i in items}
    child = by_id[first_ids[1]]
    assert child.properties["mission"] == "HELIO" and child.properties["platform"] == "Sat-A"
    assert child.properties["instruments"] == ["SPEC"]
    assert child.properties["start_datetime"] and child.properties["end_datetime"]
    assert child.properties["zarrlake:ra"] == 11.0
    derived = [link.href for link in child.links if link.rel == "derived_from"]
    assert derived == [f"{live_url}/stac/items/{first_ids[0]}"]
    assert child.assets["data"].href.endswith("obs001.fits")


def test_instants_open_intervals_limits_and_errors(client: TestClient, filled: Catalog) -> None:
    instant = client.get("/stac/search?datetime=2026-03-01T06:10:00Z&limit=50").json()
    assert [f["id"] for f in instant["features"]] == catalog_ids(
        filled, start="2026-03-01T06:10:00Z", end="2026-03-01T06:10:00Z"
    )
    open_end = client.get("/stac/search?datetime=2026-03-07T00:00:00Z/..&limit=1000").json()
    assert len(open_end["features"]) == len(catalog_ids(filled, start="2026-03-07T00:00:00Z"))
    open_start = client.get("/stac/search?datetime=../2026-03-01T12:00:00Z").json()
    assert len(open_start["features"]) == 3
    clamped = client.get("/stac/search?limit=100000").json()
    assert clamped["numberReturned"] == 30  # clamped to the cap, not an error
    nxt = client.get("/stac/search?collections=COSMOS-7&limit=2&sortby=-datetime").json()
    link = next(li for li in nxt["links"] if li["rel"] == "next")
    assert "collections=COSMOS-7" in link["href"] and "sortby=-datetime" in link["href"]
    for bad in ("datetime=../..", "datetime=yesterday", "sortby=colour", "bbox=0,1,1,0"):
        response = client.get(f"/stac/search?{bad}")
        assert response.status_code == 400, bad
        assert set(response.json()) == {"code", "description"}
    assert client.get("/stac/collections/NOPE").status_code == 404
    assert client.post("/stac/search", json={"unknown": 1}).status_code == 400


@pytest.mark.parametrize("path", ["/stac", "/stac/conformance", "/stac/collections"])
def test_landing_and_documents(client: TestClient, path: str) -> None:
    body = client.get(path).json()
    if path == "/stac":
        assert "https://api.stacspec.org/v1.0.0/item-search" in body["conformsTo"]
        assert {link["rel"] for link in body["links"]} >= {"self", "root", "search", "data"}
