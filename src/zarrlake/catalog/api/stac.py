"""A STAC API over the catalog: missions are collections, observations are items.

Conformance classes: core, collections, OGC API Features (core, GeoJSON), item search
(GET and POST: ``datetime`` instants and intervals, ``ids``, ``collections``, ``bbox``,
``intersects``, ``limit`` clamped, ``next`` links carrying every parameter,
``numberMatched``/``numberReturned``) with ``sortby`` and ``filter`` (CQL2 text and
JSON, basic and advanced comparisons, over ``/stac/queryables``). Earth data with a
footprint has a geometry; sky data has ``geometry: null`` with RA/Dec as properties.
Only observations with a time are items (STAC needs one). The search lives in
:mod:`~zarrlake.catalog.api.stac_search`, filters in
:mod:`~zarrlake.catalog.api.stac_filter`, item documents in
:mod:`~zarrlake.catalog.api.stac_items`.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from zarrlake.catalog._engine import read_connection
from zarrlake.catalog._footprint import WHOLE_EARTH, Box, extents
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog.api import stac_filter, stac_search
from zarrlake.catalog.api.datasets import CatalogDep, SettingsDep
from zarrlake.catalog.api.errors import responses
from zarrlake.catalog.api.serialize import iso
from zarrlake.catalog.api.stac_geometry import bbox_numbers, geojson_object
from zarrlake.catalog.api.stac_items import GEOJSON, STAC_VERSION, base_url, item, link, parents
from zarrlake.catalog.api.stac_search import SearchBody
from zarrlake.errors import NotFoundError

router = APIRouter(prefix="/stac", tags=["stac"])

CollectionId = Annotated[str, Path(min_length=1, max_length=128, description="A mission id.")]
# Item ids are the catalog's numeric ids, but any text reaches the route: an id that
# cannot exist is a 404 like any other missing item, not a 400.
ItemId = Annotated[str, Path(min_length=1, max_length=64, description="An item (dataset) id.")]

CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#sort",
    "https://api.stacspec.org/v1.0.0/item-search#fields",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
    *stac_filter.CONFORMANCE,
]
OPENAPI = "application/vnd.oai.openapi+json;version=3.0"
SCHEMA_JSON = "application/schema+json"
QUERYABLES_REL = "http://www.opengis.net/def/rel/ogc/1.0/queryables"


@router.get("")
def landing(request: Request) -> dict[str, Any]:
    """Return the STAC landing page."""
    base = base_url(request)
    return {
        "type": "Catalog",
        "id": "zarrlake",
        "title": "zarrlake catalog",
        "description": "Observations catalogued by zarrlake; missions are collections.",
        "stac_version": STAC_VERSION,
        "conformsTo": CONFORMANCE,
        "links": [
            link("self", base),
            link("root", base),
            link("conformance", f"{base}/conformance"),
            link("data", f"{base}/collections"),
            link("search", f"{base}/search", GEOJSON, method="GET"),
            link("search", f"{base}/search", GEOJSON, method="POST"),
            link("service-desc", f"{base}/api", OPENAPI),
            link("service-doc", str(request.base_url) + "docs", "text/html"),
            link(QUERYABLES_REL, f"{base}/queryables", SCHEMA_JSON),
        ],
    }


@router.get("/queryables")
def queryables(request: Request) -> JSONResponse:
    """Return the properties a ``filter`` may name (JSON Schema)."""
    document = stac_filter.queryables(f"{base_url(request)}/queryables")
    return JSONResponse(document, media_type=SCHEMA_JSON)


@router.get("/collections/{collection_id}/queryables", responses=responses(404))
def collection_queryables(
    collection_id: CollectionId, request: Request, catalog: CatalogDep
) -> JSONResponse:
    """Return the queryables of one collection (the same for every mission)."""
    _mission(catalog, collection_id)
    url = f"{base_url(request)}/collections/{collection_id}/queryables"
    return JSONResponse(stac_filter.queryables(url), media_type=SCHEMA_JSON)


@router.get("/api")
def service_description(request: Request) -> JSONResponse:
    """Return the OpenAPI document with the OpenAPI media type (the ``service-desc``)."""
    return JSONResponse(request.app.openapi(), media_type=OPENAPI)


@router.get("/conformance")
def conformance() -> dict[str, Any]:
    """Return the conformance classes."""
    return {"conformsTo": CONFORMANCE}


def _collection(request: Request, row: dict[str, Any], box: Box | None) -> dict[str, Any]:
    base = base_url(request)
    mission = row["mission_id"]
    return {
        "type": "Collection",
        "id": mission,
        "stac_version": STAC_VERSION,
        "description": f"Observations of mission {mission}",
        "license": "other",
        "extent": {
            # The union of the items' footprints (west > east across the antimeridian,
            # as STAC allows); the whole globe only when none is known.
            "spatial": {"bbox": [list(box or WHOLE_EARTH)]},
            "temporal": {"interval": [[iso(row["time_min"]), iso(row["time_max"])]]},
        },
        "summaries": {"observations": [row["observations"]], "bytes": [row["total_bytes"]]},
        "links": [
            link("self", f"{base}/collections/{mission}"),
            link("root", base),
            link("parent", base),
            link("items", f"{base}/collections/{mission}/items", GEOJSON),
            link(QUERYABLES_REL, f"{base}/collections/{mission}/queryables", SCHEMA_JSON),
        ],
    }


@router.get("/collections")
def collections(request: Request, catalog: CatalogDep) -> dict[str, Any]:
    """Return every mission as a collection."""
    base = base_url(request)
    boxes = _extents(catalog)
    return {
        "collections": [
            _collection(request, row, boxes.get(row["mission_id"].lower()))
            for row in catalog.summary()
        ],
        "links": [link("self", f"{base}/collections"), link("root", base)],
    }


@router.get("/collections/{collection_id}", responses=responses(404))
def collection(
    collection_id: CollectionId, request: Request, catalog: CatalogDep
) -> dict[str, Any]:
    """Return one mission as a collection."""
    row = _mission(catalog, collection_id)
    box = _extents(catalog, row["mission_id"]).get(row["mission_id"].lower())
    return _collection(request, row, box)


def _extents(catalog: Catalog, mission_id: str | None = None) -> dict[str, Box]:
    with read_connection(catalog.engine) as connection:
        return extents(connection, mission_id)


def _mission(catalog: Catalog, collection_id: str) -> dict[str, Any]:
    rows = catalog.summary(collection_id)
    if not rows:
        raise NotFoundError(f"no collection {collection_id!r}", subject=collection_id)
    return rows[0]


def _csv(value: str | None) -> list[str] | None:
    return [v for v in value.split(",") if v] if value else None


def _sortby_param(value: str | None) -> list[dict[str, str]] | None:
    if not value:
        return None
    out = []
    for part in value.split(","):
        direction = "desc" if part.startswith("-") else "asc"
        out.append({"field": part.lstrip("+- "), "direction": direction})
    return out


@router.get("/search", responses=responses(400))
def search_get(
    request: Request,
    catalog: CatalogDep,
    settings: SettingsDep,
    collections: Annotated[str | None, Query(max_length=2000)] = None,
    ids: Annotated[str | None, Query(max_length=20000)] = None,
    datetime: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1)] = 10,
    sortby: Annotated[str | None, Query(max_length=200)] = None,
    token: Annotated[str | None, Query(max_length=512)] = None,
    bbox: Annotated[str | None, Query(max_length=200)] = None,
    intersects: Annotated[str | None, Query(max_length=100_000)] = None,
    fields: Annotated[str | None, Query(max_length=2000)] = None,
    filter: Annotated[str | None, Query(max_length=20_000)] = None,
    filter_lang: Annotated[str | None, Query(alias="filter-lang", max_length=20)] = None,
    filter_crs: Annotated[str | None, Query(alias="filter-crs", max_length=200)] = None,
) -> JSONResponse:
    """Search items with query parameters (``intersects`` is GeoJSON text, ``filter`` CQL2)."""
    body = SearchBody(
        collections=_csv(collections),
        ids=_csv(ids),
        datetime=datetime,
        limit=limit,
        sortby=_sortby_param(sortby),
        token=token,
    )
    if bbox is not None:
        body.bbox = bbox_numbers(bbox)
    if intersects is not None:
        body.intersects = geojson_object(intersects)
    body.filter, body.filter_lang, body.filter_crs = filter, filter_lang, filter_crs
    if fields is not None:
        body.fields = stac_search.fields_param(fields)
    result = stac_search.run(request, catalog, body, settings.max_page_size)
    return JSONResponse(result, media_type=GEOJSON)


@router.post("/search", responses=responses(400))
def search_post(
    request: Request, body: SearchBody, catalog: CatalogDep, settings: SettingsDep
) -> JSONResponse:
    """Search items with a JSON body."""
    result = stac_search.run(request, catalog, body, settings.max_page_size)
    return JSONResponse(result, media_type=GEOJSON)


@router.get("/collections/{collection_id}/items", responses=responses(400, 404))
def collection_items(
    collection_id: CollectionId,
    request: Request,
    catalog: CatalogDep,
    settings: SettingsDep,
    datetime: Annotated[str | None, Query(max_length=100)] = None,
    bbox: Annotated[str | None, Query(max_length=200)] = None,
    limit: Annotated[int, Query(ge=1)] = 10,
    token: Annotated[str | None, Query(max_length=512)] = None,
) -> JSONResponse:
    """Return the items of one collection (OGC API Features: ``datetime``, ``bbox``)."""
    _mission(catalog, collection_id)
    body = SearchBody(collections=[collection_id], datetime=datetime, limit=limit, token=token)
    if bbox is not None:
        body.bbox = bbox_numbers(bbox)
    result = stac_search.run(request, catalog, body, settings.max_page_size)
    return JSONResponse(result, media_type=GEOJSON)


def _record(catalog: Catalog, item_id: str) -> dict[str, Any]:
    """Return the observation behind an item id; 404 for any id that is not one."""
    missing = NotFoundError(f"no item {item_id!r}", subject=item_id)
    if not item_id.isascii() or not item_id.isdigit() or not 1 <= int(item_id) <= 2**62:
        raise missing
    record = catalog.get(int(item_id))
    if record["observation_timestamp"] is None:
        raise NotFoundError(
            f"dataset {item_id} has no time and is not a STAC item", subject=item_id
        )
    return record


def _item_response(request: Request, catalog: Catalog, record: dict[str, Any]) -> JSONResponse:
    item_id = int(record["id"])
    lineage = parents(catalog, [item_id]).get(item_id, [])
    return JSONResponse(item(request, record, lineage), media_type=GEOJSON)


@router.get("/collections/{collection_id}/items/{item_id}", responses=responses(404))
def collection_item(
    collection_id: CollectionId, item_id: ItemId, request: Request, catalog: CatalogDep
) -> JSONResponse:
    """Return one item of a collection."""
    _mission(catalog, collection_id)
    record = _record(catalog, item_id)
    if record["mission_id"] != collection_id:
        raise NotFoundError(
            f"item {item_id} is not in collection {collection_id!r}", subject=item_id
        )
    return _item_response(request, catalog, record)


@router.get("/items/{item_id}", responses=responses(404))
def any_item(item_id: ItemId, request: Request, catalog: CatalogDep) -> JSONResponse:
    """Return an item by id, whatever its collection (lineage links point here)."""
    return _item_response(request, catalog, _record(catalog, item_id))
