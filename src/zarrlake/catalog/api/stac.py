"""A STAC API over the catalog: missions are collections, observations are items.

Core + item search (GET and POST, ``datetime`` instants and intervals, ``ids``,
``collections``, ``limit`` clamped, ``sortby``, ``next`` links carrying every
parameter) + collections. Items have no geometry (sky observations); RA/Dec are
properties. Only observations with a time are items (STAC needs one).
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from zarrlake.catalog import schema as s
from zarrlake.catalog._engine import read_connection
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog._search import SearchQuery, search
from zarrlake.catalog.api.datasets import CatalogDep, DatasetId, SettingsDep
from zarrlake.catalog.api.errors import responses
from zarrlake.catalog.api.serialize import iso
from zarrlake.errors import InvalidInputError, NotFoundError

router = APIRouter(prefix="/stac", tags=["stac"])

CollectionId = Annotated[str, Path(min_length=1, max_length=128, description="A mission id.")]

STAC_VERSION = "1.0.0"
CONFORMANCE = [
    "https://api.stacspec.org/v1.0.0/core",
    "https://api.stacspec.org/v1.0.0/item-search",
    "https://api.stacspec.org/v1.0.0/item-search#sort",
    "https://api.stacspec.org/v1.0.0/collections",
    "https://api.stacspec.org/v1.0.0/ogcapi-features",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/core",
    "http://www.opengis.net/spec/ogcapi-features-1/1.0/conf/geojson",
]
GEOJSON = "application/geo+json"
SORTABLE = {
    "datetime": "observation_timestamp",
    "properties.datetime": "observation_timestamp",
    "start_datetime": "observation_timestamp",
    "properties.start_datetime": "observation_timestamp",
    "id": "id",
    "collection": "mission_id",
    "properties.mission": "mission_id",
    "zarrlake:quality": "data_quality_score",
    "properties.zarrlake:quality": "data_quality_score",
}
MEDIA_TYPES = {
    "fits": "image/fits",
    "netcdf": "application/netcdf",
    "hdf5": "application/x-hdf5",
    "csv": "text/csv",
    "zarr": "application/vnd+zarr",
}


def _base(request: Request) -> str:
    return str(request.base_url).rstrip("/") + "/stac"


def _link(rel: str, href: str, media: str = "application/json", **extra: Any) -> dict[str, Any]:
    return {"rel": rel, "href": href, "type": media, **extra}


@router.get("")
def landing(request: Request) -> dict[str, Any]:
    """Return the STAC landing page."""
    base = _base(request)
    return {
        "type": "Catalog",
        "id": "zarrlake",
        "title": "zarrlake catalog",
        "description": "Observations catalogued by zarrlake; missions are collections.",
        "stac_version": STAC_VERSION,
        "conformsTo": CONFORMANCE,
        "links": [
            _link("self", base),
            _link("root", base),
            _link("conformance", f"{base}/conformance"),
            _link("data", f"{base}/collections"),
            _link("search", f"{base}/search", GEOJSON, method="GET"),
            _link("search", f"{base}/search", GEOJSON, method="POST"),
            _link(
                "service-desc",
                str(request.base_url) + "openapi.json",
                "application/vnd.oai.openapi+json;version=3.0",
            ),
        ],
    }


@router.get("/conformance")
def conformance() -> dict[str, Any]:
    """Return the conformance classes."""
    return {"conformsTo": CONFORMANCE}


def _collection(request: Request, row: dict[str, Any]) -> dict[str, Any]:
    base = _base(request)
    mission = row["mission_id"]
    return {
        "type": "Collection",
        "id": mission,
        "stac_version": STAC_VERSION,
        "description": f"Observations of mission {mission}",
        "license": "other",
        "extent": {
            "spatial": {"bbox": [[-180.0, -90.0, 180.0, 90.0]]},
            "temporal": {"interval": [[iso(row["time_min"]), iso(row["time_max"])]]},
        },
        "summaries": {"observations": [row["observations"]], "bytes": [row["total_bytes"]]},
        "links": [
            _link("self", f"{base}/collections/{mission}"),
            _link("root", base),
            _link("parent", base),
            _link("items", f"{base}/collections/{mission}/items", GEOJSON),
        ],
    }


@router.get("/collections")
def collections(request: Request, catalog: CatalogDep) -> dict[str, Any]:
    """Return every mission as a collection."""
    base = _base(request)
    return {
        "collections": [_collection(request, row) for row in catalog.summary()],
        "links": [_link("self", f"{base}/collections"), _link("root", base)],
    }


@router.get("/collections/{collection_id}", responses=responses(404))
def collection(
    collection_id: CollectionId, request: Request, catalog: CatalogDep
) -> dict[str, Any]:
    """Return one mission as a collection."""
    return _collection(request, _mission(catalog, collection_id))


def _mission(catalog: Catalog, collection_id: str) -> dict[str, Any]:
    rows = catalog.summary(collection_id)
    if not rows:
        raise NotFoundError(f"no collection {collection_id!r}", subject=collection_id)
    return rows[0]


def _parents(catalog: Catalog, ids: list[int]) -> dict[int, list[int]]:
    rel = s.dataset_relationships.c
    found: dict[int, list[int]] = {}
    if not ids:
        return found
    query = select(rel.child_dataset_id, rel.parent_dataset_id).where(rel.child_dataset_id.in_(ids))
    with read_connection(catalog.engine) as connection:
        for child, parent in connection.execute(query):
            found.setdefault(int(child), []).append(int(parent))
    return found


def item(request: Request, record: dict[str, Any], parents: list[int]) -> dict[str, Any]:
    """Turn an observation into a STAC item."""
    base = _base(request)
    mission = record["mission_id"]
    start = record["observation_timestamp"]
    end = record["observation_end"] or start
    properties: dict[str, Any] = {
        "datetime": iso(start),
        "start_datetime": iso(start),
        "end_datetime": iso(end),
        "mission": mission,
        "platform": record["satellite_name"],
        "instruments": [record["instrument_type"]] if record["instrument_type"] else [],
        "zarrlake:target": record["target_object"],
        "zarrlake:quality": record["data_quality_score"],
        "zarrlake:calibration": record["calibration_status"],
        "zarrlake:processing_status": record["processing_status"],
        "zarrlake:ra": record["ra"],
        "zarrlake:dec": record["dec"],
        "created": iso(record["first_seen"]),
        "updated": iso(record["last_updated"]),
    }
    item_url = f"{base}/collections/{mission}/items/{record['id']}"
    links = [
        _link("self", item_url, GEOJSON),
        _link("collection", f"{base}/collections/{mission}"),
        _link("parent", f"{base}/collections/{mission}"),
        _link("root", base),
    ]
    links += [_link("derived_from", f"{base}/items/{p}", GEOJSON) for p in parents]
    return {
        "type": "Feature",
        "stac_version": STAC_VERSION,
        "id": str(record["id"]),
        "collection": mission,
        "geometry": None,
        "properties": properties,
        "links": links,
        "assets": {
            "data": {
                "href": record["file_path"],
                "type": MEDIA_TYPES.get(record["format"] or "", "application/octet-stream"),
                "roles": ["data"],
                "file:size": record["file_size"],
            }
        },
    }


class SearchBody(BaseModel):
    """A STAC item search (POST body; the GET parameters mean the same)."""

    model_config = ConfigDict(extra="forbid")

    collections: list[str] | None = Field(None, max_length=100)
    ids: list[str] | None = Field(None, max_length=1000)
    datetime: str | None = Field(None, max_length=100)
    limit: int = Field(10, ge=1)
    sortby: list[dict[str, str]] | None = Field(None, max_length=5)
    token: str | None = Field(None, max_length=512)
    bbox: list[float] | None = None
    intersects: dict[str, Any] | None = None


def _interval(text: str | None) -> tuple[str | None, str | None]:
    if not text:
        return None, None
    if "/" not in text:
        return text, text
    head, _, tail = text.partition("/")
    start = None if head in ("", "..") else head
    end = None if tail in ("", "..") else tail
    if start is None and end is None:
        raise InvalidInputError(
            "datetime interval '../..' is open at both ends", subject="datetime"
        )
    return start, end


def _sort(sortby: list[dict[str, str]] | None) -> str:
    if not sortby:
        return "observation_timestamp"
    first = sortby[0]
    field = first.get("field", "")
    column = SORTABLE.get(field)
    if column is None:
        raise InvalidInputError(
            f"cannot sort by {field!r}",
            subject="sortby",
            hint=f"sortable: {', '.join(sorted(SORTABLE))}",
        )
    return ("-" if first.get("direction", "asc").lower() == "desc" else "") + column


def _search_items(
    request: Request, catalog: Catalog, body: SearchBody, max_limit: int
) -> dict[str, Any]:
    if body.bbox is not None or body.intersects is not None:
        raise InvalidInputError(
            "spatial filters are not supported: items have no geometry",
            subject="bbox",
            hint="filter by datetime, ids or collections",
        )
    start, end = _interval(body.datetime)
    where: dict[str, Any] = {"observation_timestamp": {"$exists": True}}
    if body.ids:
        numeric = [int(i) for i in body.ids if i.isdigit()]
        where["_id"] = {"$in": numeric}
    if body.collections:
        where["mission_id"] = {"$in": body.collections}
    limit = min(body.limit, max_limit)
    page = search(
        catalog,
        SearchQuery(
            start=start,
            end=end,
            where=where,
            sort=_sort(body.sortby),
            limit=limit,
            cursor=body.token,
        ),
    )
    parents = _parents(catalog, [r["id"] for r in page.items])
    features = [item(request, r, parents.get(r["id"], [])) for r in page.items]
    base = _base(request)
    links = [_link("root", base), _link("self", str(request.url), GEOJSON)]
    if page.next_cursor:
        if request.method == "POST":
            following = body.model_dump(exclude_none=True) | {
                "token": page.next_cursor,
                "limit": limit,
            }
            links.append(
                _link("next", f"{base}/search", GEOJSON, method="POST", body=following, merge=False)
            )
        else:
            params = dict(request.query_params) | {"token": page.next_cursor, "limit": str(limit)}
            links.append(
                _link(
                    "next", str(request.url.replace_query_params(**params)), GEOJSON, method="GET"
                )
            )
    return {
        "type": "FeatureCollection",
        "features": features,
        "links": links,
        "numberReturned": len(features),
    }


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
) -> JSONResponse:
    """Search items with query parameters."""
    body = SearchBody(
        collections=_csv(collections),
        ids=_csv(ids),
        datetime=datetime,
        limit=limit,
        sortby=_sortby_param(sortby),
        token=token,
        bbox=[0.0] if bbox else None,
    )
    result = _search_items(request, catalog, body, settings.max_page_size)
    return JSONResponse(result, media_type=GEOJSON)


@router.post("/search", responses=responses(400))
def search_post(
    request: Request, body: SearchBody, catalog: CatalogDep, settings: SettingsDep
) -> JSONResponse:
    """Search items with a JSON body."""
    result = _search_items(request, catalog, body, settings.max_page_size)
    return JSONResponse(result, media_type=GEOJSON)


@router.get("/collections/{collection_id}/items", responses=responses(400, 404))
def collection_items(
    collection_id: CollectionId,
    request: Request,
    catalog: CatalogDep,
    settings: SettingsDep,
    datetime: Annotated[str | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1)] = 10,
    token: Annotated[str | None, Query(max_length=512)] = None,
) -> JSONResponse:
    """Return the items of one collection."""
    _mission(catalog, collection_id)
    body = SearchBody(collections=[collection_id], datetime=datetime, limit=limit, token=token)
    result = _search_items(request, catalog, body, settings.max_page_size)
    return JSONResponse(result, media_type=GEOJSON)


def _item_response(request: Request, catalog: Catalog, record: dict[str, Any]) -> JSONResponse:
    item_id = int(record["id"])
    if record["observation_timestamp"] is None:
        raise NotFoundError(
            f"dataset {item_id} has no time and is not a STAC item", subject=str(item_id)
        )
    parents = _parents(catalog, [item_id]).get(item_id, [])
    return JSONResponse(item(request, record, parents), media_type=GEOJSON)


@router.get("/collections/{collection_id}/items/{item_id}", responses=responses(404))
def collection_item(
    collection_id: CollectionId, item_id: DatasetId, request: Request, catalog: CatalogDep
) -> JSONResponse:
    """Return one item of a collection."""
    record = catalog.get(item_id)
    if record["mission_id"] != collection_id:
        raise NotFoundError(
            f"item {item_id} is not in collection {collection_id!r}", subject=str(item_id)
        )
    return _item_response(request, catalog, record)


@router.get("/items/{item_id}", responses=responses(404))
def any_item(item_id: DatasetId, request: Request, catalog: CatalogDep) -> JSONResponse:
    """Return an item by id, whatever its collection (lineage links point here)."""
    return _item_response(request, catalog, catalog.get(item_id))
