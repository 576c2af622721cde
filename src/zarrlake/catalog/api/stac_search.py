"""STAC item search: parameters, the spatial filter's exact test, counts and paging.

GET parameters and the POST body mean the same and go through :class:`SearchBody`.
``filter`` takes CQL2 (:mod:`~zarrlake.catalog.api.stac_filter`). Invalid values (a
bbox of 3 numbers, south above north, a datetime that is not RFC 3339, GeoJSON that is
not a geometry, ``bbox`` together with ``intersects``, CQL2 that does not parse) are
:class:`~zarrlake.errors.InvalidInputError` -- a 400 naming the parameter -- never
ignored.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import and_, select, true

from zarrlake.catalog import schema as s
from zarrlake.catalog._engine import read_connection
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog._search import (
    SearchQuery,
    count,
    cursor_after,
    search,
    search_conditions,
)
from zarrlake.catalog.api.stac_filter import parse_filter
from zarrlake.catalog.api.stac_geometry import BBOX_KEYS, Area, parse_bbox, parse_intersects
from zarrlake.catalog.api.stac_items import (
    GEOJSON,
    base_url,
    item,
    link,
    parents,
    select_fields,
)
from zarrlake.catalog.api.stac_time import parse_datetime
from zarrlake.catalog.schema import json_key
from zarrlake.errors import InvalidInputError

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
"""STAC sort fields and the catalog columns they sort by."""

EXACT_COUNT_LIMIT = 100_000
"""With a spatial filter, ``numberMatched`` is given only when at most this many
records pass the SQL prefilter (each is tested exactly, in Python)."""

_FETCH = 200  # rows per database page while an exact spatial test thins them out


class Fields(BaseModel):
    """The Fields extension: dotted paths to include and to exclude."""

    model_config = ConfigDict(extra="forbid")

    include: list[str] | None = Field(None, max_length=100)
    exclude: list[str] | None = Field(None, max_length=100)


def fields_param(text: str) -> Fields:
    """Read a GET ``fields``: ``a,+b,-c`` (no sign or ``+`` includes, ``-`` excludes)."""
    parts = [p.strip() for p in text.split(",") if p.strip()]
    return Fields(
        include=[p.lstrip("+") for p in parts if not p.startswith("-")],
        exclude=[p[1:] for p in parts if p.startswith("-")],
    )


class SearchBody(BaseModel):
    """A STAC item search (the POST body; the GET parameters mean the same)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    collections: list[str] | None = Field(None, max_length=100)
    ids: list[str] | None = Field(None, max_length=1000)

    @field_validator("collections", "ids", mode="before")
    @classmethod
    def _one_text(cls, value: Any) -> Any:
        """Take ``"A,B"`` as ``["A", "B"]``, as the GET parameter is written."""
        if isinstance(value, str):
            return [part for part in value.split(",") if part]
        return value

    datetime: str | None = Field(None, max_length=100)
    limit: int = Field(10, ge=1)
    sortby: list[dict[str, str]] | None = Field(None, max_length=5)
    token: str | None = Field(None, max_length=512)
    bbox: list[float] | None = Field(None, max_length=6)
    intersects: dict[str, Any] | None = None
    fields: Fields | None = None
    filter: dict[str, Any] | str | None = None
    filter_lang: str | None = Field(None, alias="filter-lang", max_length=20)
    filter_crs: str | None = Field(None, alias="filter-crs", max_length=200)


def sort_of(sortby: list[dict[str, str]] | None) -> str:
    """Return the catalog sort (``-column`` for descending) of a STAC ``sortby``."""
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
    direction = first.get("direction", "asc").lower()
    if direction not in ("asc", "desc"):
        raise InvalidInputError(
            f"sort direction {direction!r} is neither 'asc' nor 'desc'", subject="sortby"
        )
    return ("-" if direction == "desc" else "") + column


def area_of(body: SearchBody) -> Area | None:
    """Return the search's area (``bbox`` or ``intersects``), checked."""
    if body.bbox is not None and body.intersects is not None:
        raise InvalidInputError(
            "give bbox or intersects, not both", subject="bbox", hint="STAC allows one of them"
        )
    if body.bbox is not None:
        return parse_bbox(body.bbox)
    if body.intersects is not None:
        return parse_intersects(body.intersects)
    return None


def _query(body: SearchBody, limit: int, area: Area | None) -> SearchQuery:
    start, end = parse_datetime(body.datetime)
    conditions = list(area.conditions()) if area else []
    if body.filter is not None:
        conditions.append(parse_filter(body.filter, body.filter_lang, body.filter_crs))
    where: dict[str, Any] = {"observation_timestamp": {"$exists": True}}
    if body.ids:
        # Ids that no dataset can have (not ASCII digits, or beyond BIGINT) match nothing.
        numeric = [int(i) for i in body.ids if i.isascii() and i.isdigit() and len(i) < 19]
        where["_id"] = {"$in": numeric}
    if body.collections:
        where["mission_id"] = {"$in": body.collections}
    return SearchQuery(
        start=start,
        end=end,
        where=where,
        conditions=tuple(conditions),
        sort=sort_of(body.sortby),
        limit=limit,
        cursor=body.token,
    )


def _page(catalog: Catalog, query: SearchQuery, area: Area | None) -> tuple[list[Any], str | None]:
    """Return up to ``query.limit`` records and the next cursor (exact spatial test).

    With a spatial filter, rows are read until one more than a page has passed the
    exact test, so a ``next`` link is given only when there is a next item.
    """
    if area is None:
        page = search(catalog, query)
        return page.items, page.next_cursor
    kept: list[dict[str, Any]] = []
    cursor = query.cursor
    while True:
        page = search(catalog, replace(query, limit=max(_FETCH, query.limit + 1), cursor=cursor))
        for record in page.items:
            if area.matches(record):
                if len(kept) == query.limit:  # one more exists: there is a next page
                    return kept, cursor_after(kept[-1], query.sort)
                kept.append(record)
        cursor = page.next_cursor
        if cursor is None:
            return kept, None


def _matched(catalog: Catalog, query: SearchQuery, area: Area | None) -> int | None:
    """Return ``numberMatched``: a SQL count, or an exact test of the prefiltered rows."""
    if area is None:
        return count(catalog, query)
    bounds = [json_key(s.observations.c.mission_specific, key, 0.0) for key in BBOX_KEYS]
    with read_connection(catalog.engine) as connection:
        where = and_(true(), *search_conditions(catalog, query, connection))
        rows = connection.execute(select(*bounds).where(where).limit(EXACT_COUNT_LIMIT + 1))
        matched = 0
        for number, row in enumerate(rows):
            if number == EXACT_COUNT_LIMIT:
                return None  # too many to test one by one on every request
            matched += area.matches({"mission_specific": dict(zip(BBOX_KEYS, row, strict=True))})
        return matched


def run(request: Request, catalog: Catalog, body: SearchBody, max_limit: int) -> dict[str, Any]:
    """Run a STAC item search and return the FeatureCollection.

    Parameters
    ----------
    request
        The request (links are built from its URL; a POST's next link repeats the body).
    catalog
        The catalog.
    body
        The search; ``limit`` over ``max_limit`` is clamped.
    max_limit
        The service's page size cap.

    Returns
    -------
    dict
        ``features``, ``links`` (``next`` when there is more), ``numberReturned`` and,
        on the first page, ``numberMatched`` (left out when a spatial count would be
        too costly).

    Raises
    ------
    InvalidInputError
        For any invalid parameter.
    """
    area = area_of(body)
    limit = min(body.limit, max_limit)
    query = _query(body, limit, area)
    records, next_cursor = _page(catalog, query, area)
    lineage = parents(catalog, [r["id"] for r in records])
    features = [item(request, r, lineage.get(r["id"], [])) for r in records]
    if "fields" in body.model_fields_set:
        if body.fields is None:
            raise InvalidInputError(
                "fields is null; give an object with include and/or exclude lists",
                subject="fields",
                hint='e.g. {"include": ["id", "properties.datetime"]}',
            )
        keep, drop = body.fields.include or [], body.fields.exclude or []
        features = [select_fields(f, keep, drop) for f in features]
    base = base_url(request)
    links = [link("root", base), link("self", str(request.url), GEOJSON)]
    if next_cursor:
        if request.method == "POST":
            following = body.model_dump(exclude_none=True, by_alias=True) | {
                "token": next_cursor,
                "limit": limit,
            }
            links.append(
                link("next", str(request.url), GEOJSON, method="POST", body=following, merge=False)
            )
        else:
            params = dict(request.query_params) | {"token": next_cursor, "limit": str(limit)}
            href = str(request.url.replace_query_params(**params))
            links.append(link("next", href, GEOJSON, method="GET"))
    result: dict[str, Any] = {"type": "FeatureCollection", "features": features, "links": links}
    # Counted on the first page only: a count costs a pass over every match, and a
    # client paging through a large result would pay it once per page.
    matched = _matched(catalog, query, area) if body.token is None else None
    if matched is not None:
        result["numberMatched"] = matched
    result["numberReturned"] = len(features)
    return result
