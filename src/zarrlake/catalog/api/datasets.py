"""The REST API: datasets, lineage, summaries, statuses, relationships, preflight."""

from __future__ import annotations

import csv
import io
import json
import secrets
from collections.abc import Iterator
from itertools import chain, islice
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, Depends, Path, Query, Request
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel, ConfigDict, Field

from zarrlake.catalog._filters import attribute_filter
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog._search import SORT_FIELDS, SearchQuery, count, related, search
from zarrlake.catalog.api.errors import ReadOnlyError, UnauthorizedError, responses
from zarrlake.catalog.api.serialize import record_json, to_json
from zarrlake.catalog.api.settings import ServiceSettings
from zarrlake.catalog.pipeline import DEFAULT_EXPANSION, iter_matches, preflight, register
from zarrlake.errors import InvalidInputError

router = APIRouter()

DatasetId = Annotated[int, Path(ge=1, le=2**62, description="The dataset's id.")]


async def catalog_of(request: Request) -> Catalog:
    """Return the app's catalog (a FastAPI dependency)."""
    return request.app.state.catalog  # type: ignore[no-any-return]


async def settings_of(request: Request) -> ServiceSettings:
    """Return the app's settings (a FastAPI dependency)."""
    return request.app.state.settings  # type: ignore[no-any-return]


def require_writer(request: Request) -> None:
    """Allow a write only with the configured bearer token."""
    settings: ServiceSettings = request.app.state.settings
    if not settings.token:
        raise ReadOnlyError(
            "this catalog service is read-only", hint="start it with a token to allow writes"
        )
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    if scheme.lower() != "bearer" or not secrets.compare_digest(given, settings.token):
        raise UnauthorizedError(
            "a valid bearer token is needed for writes", hint="send Authorization: Bearer TOKEN"
        )


CatalogDep = Annotated[Catalog, Depends(catalog_of)]
SettingsDep = Annotated[ServiceSettings, Depends(settings_of)]
Writer = Depends(require_writer)


class SearchParams(BaseModel):
    """Every ``search`` criterion, as query parameters."""

    model_config = ConfigDict(extra="forbid")

    mission: str | None = Field(None, max_length=128)
    facility: str | None = Field(None, max_length=128, description="Satellite or telescope.")
    instrument: str | None = Field(None, max_length=128)
    target: str | None = Field(None, max_length=256, description="Target name, any case.")
    start: str | None = Field(None, max_length=64, description="Overlapping from (ISO 8601).")
    end: str | None = Field(None, max_length=64, description="Overlapping until (ISO 8601).")
    min_quality: float | None = Field(None, ge=0.0, le=1.0)
    calibration: str | None = Field(None, max_length=64)
    status: str | None = Field(
        None, max_length=32, description="raw, processing, processed, failed or archived."
    )
    data_format: str | None = Field(None, max_length=32, description="fits, netcdf, zarr...")
    q: str | None = Field(None, max_length=256, description="Text in the target or path.")
    include_missing: bool = False
    attr: list[Annotated[str, Field(max_length=256)]] = Field(
        default_factory=list,
        max_length=20,
        description="Attribute filters on the record's document (mission_specific), all "
        "must hold: KEY=VALUE, KEY!=VALUE, KEY>=VALUE, KEY<=VALUE, KEY>VALUE, KEY<VALUE, "
        "or KEY alone (has the key). Numbers compare as numbers; quote a value to compare "
        'it as text ("30"). Repeat the parameter for several.',
    )
    sort: str = Field(
        "observation_timestamp",
        max_length=64,
        description=f"One of {', '.join(SORT_FIELDS)}; '-' for descending.",
    )
    limit: int = Field(50, ge=1, description="Page size (clamped to the service's cap).")
    cursor: str | None = Field(None, max_length=512)

    def query(self, settings: ServiceSettings) -> SearchQuery:
        """Return the catalog query these parameters describe."""
        return SearchQuery(
            mission_id=self.mission,
            satellite_name=self.facility,
            instrument_type=self.instrument,
            target_object=self.target,
            start=self.start,
            end=self.end,
            min_quality=self.min_quality,
            calibration_status=self.calibration,
            processing_status=self.status,
            format=self.data_format,
            text=self.q,
            include_missing=self.include_missing,
            where=attribute_filter(self.attr),
            sort=self.sort,
            limit=min(self.limit, settings.max_page_size),
            cursor=self.cursor,
        )


Params = Annotated[SearchParams, Query()]


def ok(content: Any, status_code: int = 200) -> JSONResponse:
    """Return JSON-ready content as a response (FastAPI's own encoder is ~15x slower)."""
    return JSONResponse(content, status_code=status_code)


def page_url(request: Request, **changes: Any) -> str:
    """Return this request's URL with some query parameters replaced (others kept)."""
    params = dict(request.query_params)
    for key, value in changes.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = str(value)
    return str(request.url.replace_query_params(**params))


@router.get("/health", tags=["service"])
def health(catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    """Report that the service and its catalog answer."""
    return ok(
        {
            "status": "ok",
            "catalog": catalog.dialect,
            "schema_version": catalog.schema_version(),
            "read_only": not settings.token,
        }
    )


@router.get("/datasets", tags=["datasets"], responses=responses(400))
def list_datasets(
    request: Request, params: Params, catalog: CatalogDep, settings: SettingsDep
) -> JSONResponse:
    """Search datasets; follow ``next`` for the following page."""
    page = search(catalog, params.query(settings))
    return ok(
        {
            "items": [record_json(item) for item in page.items],
            "limit": min(params.limit, settings.max_page_size),
            "next_cursor": page.next_cursor,
            "next": page_url(request, cursor=page.next_cursor) if page.next_cursor else None,
        }
    )


@router.get("/datasets/count", tags=["datasets"], responses=responses(400))
def count_datasets(params: Params, catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    """Count every dataset matching the search (all pages)."""
    return ok({"count": count(catalog, params.query(settings))})


class ExportParams(SearchParams):
    """Search parameters plus the download format."""

    format: Literal["csv", "json"] = "csv"


@router.get("/datasets/export", tags=["datasets"], responses=responses(400))
def export_datasets(
    params: Annotated[ExportParams, Query()], catalog: CatalogDep, settings: SettingsDep
) -> StreamingResponse:
    """Download every dataset matching the search as CSV or JSON."""
    download = params.format
    query = params.query(settings)
    query.cursor = None
    matches = iter_matches(catalog, query)
    # Bad parameters must fail before the response starts, not in the middle of it.
    first = list(islice(matches, 1))
    rows = islice(chain(first, matches), settings.max_export_rows)
    if download == "json":
        body: Iterator[str] = _json_lines(rows)
        media, name = "application/json", "datasets.json"
    else:
        body = _csv_lines(rows)
        media, name = "text/csv", "datasets.csv"
    return StreamingResponse(
        body, media_type=media, headers={"Content-Disposition": f'attachment; filename="{name}"'}
    )


EXPORT_COLUMNS = (
    "id",
    "mission_id",
    "satellite_name",
    "instrument_type",
    "observation_timestamp",
    "observation_end",
    "target_object",
    "data_quality_score",
    "calibration_status",
    "processing_status",
    "format",
    "file_size",
    "file_path",
    "ra",
    "dec",
    "version",
    "missing",
)


def _csv_lines(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(EXPORT_COLUMNS)
    for row in rows:
        record = to_json(row)
        writer.writerow(["" if record.get(c) is None else record[c] for c in EXPORT_COLUMNS])
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def _json_lines(rows: Iterator[dict[str, Any]]) -> Iterator[str]:
    yield "["
    for index, row in enumerate(rows):
        yield ("," if index else "") + json.dumps(to_json(row))
    yield "]"


@router.get("/datasets/{dataset_id}", tags=["datasets"], responses=responses(404))
def get_dataset(dataset_id: DatasetId, request: Request, catalog: CatalogDep) -> JSONResponse:
    """Return one dataset with all its metadata and its status history."""
    record = catalog.get(dataset_id)
    return ok(
        {
            **to_json(record),
            "status_history": to_json(catalog.status_history(dataset_id)),
            "links": {"related": str(request.url_for("get_related", dataset_id=dataset_id))},
        }
    )


@router.get("/datasets/{dataset_id}/related", tags=["datasets"], responses=responses(400, 404))
def get_related(
    dataset_id: DatasetId,
    catalog: CatalogDep,
    depth: Annotated[int, Query(ge=1, le=10)] = 1,
) -> JSONResponse:
    """Return the lineage of a dataset: parents (inputs) and children (outputs)."""
    return ok(
        {
            "id": dataset_id,
            "depth": depth,
            "related": to_json(related(catalog, dataset_id, depth)),
        }
    )


@router.get("/summary", tags=["datasets"])
def summary(
    catalog: CatalogDep, mission: Annotated[str | None, Query(max_length=128)] = None
) -> JSONResponse:
    """Per mission: observations, bytes, mean quality, calibrated count, time coverage."""
    return ok([to_json(row) for row in catalog.summary(mission)])


@router.get("/stats", tags=["datasets"], responses=responses(400))
def stats(params: Params, catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    """Chart data for a search: observations and bytes per month, a quality histogram."""
    from zarrlake.catalog._stats import chart_data

    return ok(to_json(chart_data(catalog, params.query(settings))))


BOOKKEEPING = frozenset({"id", "first_seen", "last_updated", "last_verified", "target_key"})
"""Fields the catalog keeps itself: ``POST /datasets`` refuses them."""


class RegisterBody(BaseModel):
    """A dataset to register (or update)."""

    model_config = ConfigDict(extra="forbid")

    file_path: str = Field(..., min_length=1, max_length=2048)
    extract: bool = Field(True, description="Read the file's metadata (under the roots only).")
    fields: dict[str, Any] = Field(default_factory=dict, description="Fields to set.")


@router.post(
    "/datasets",
    tags=["pipelines"],
    status_code=201,
    dependencies=[Writer],
    responses=responses(400, 401, 403),
)
def register_dataset(
    body: RegisterBody, catalog: CatalogDep, settings: SettingsDep
) -> JSONResponse:
    """Register a dataset (or update the one with this path); return it.

    ``fields`` cannot set the catalog's own bookkeeping (``first_seen``,
    ``last_updated``, ``last_verified``, the derived ``target_key``).
    """
    kept = sorted(BOOKKEEPING.intersection(body.fields))
    if kept:
        raise InvalidInputError(
            f"fields {', '.join(kept)} are kept by the catalog and cannot be set",
            subject=kept[0],
            hint="leave them out; the catalog sets them on every write",
        )
    path = settings.check_path(body.file_path, what="file_path")
    record_id = register(catalog, path, extract=body.extract, **body.fields)
    return ok(to_json(catalog.get(record_id)), 201)


class StatusBody(BaseModel):
    """A status change."""

    model_config = ConfigDict(extra="forbid")

    status: Literal["raw", "processing", "processed", "failed", "archived"]
    reason: str | None = Field(None, max_length=1000)
    actor: str | None = Field(None, max_length=128)


@router.patch(
    "/datasets/{dataset_id}/status",
    tags=["pipelines"],
    dependencies=[Writer],
    responses=responses(400, 401, 403, 404),
)
def change_status(dataset_id: DatasetId, body: StatusBody, catalog: CatalogDep) -> JSONResponse:
    """Change a dataset's processing status (kept in its status history)."""
    event = catalog.set_status(dataset_id, body.status, reason=body.reason, actor=body.actor)
    return ok(to_json(event))


class RelationshipBody(BaseModel):
    """A link between two datasets."""

    model_config = ConfigDict(extra="forbid")

    parent_dataset_id: int = Field(..., ge=1, le=2**62)
    child_dataset_id: int = Field(..., ge=1, le=2**62)
    relationship_type: str = Field("derived_from", min_length=1, max_length=64)
    relationship_metadata: dict[str, Any] | None = Field(
        None, description="Replaces the link's metadata; left out, an existing link keeps its."
    )


@router.post(
    "/relationships",
    tags=["pipelines"],
    status_code=201,
    dependencies=[Writer],
    responses=responses(400, 401, 403, 404),
)
def create_relationship(body: RelationshipBody, catalog: CatalogDep) -> JSONResponse:
    """Record that a child dataset relates to a parent (``derived_from`` by default)."""
    link_id = catalog.link(
        body.parent_dataset_id,
        body.child_dataset_id,
        body.relationship_type,
        body.relationship_metadata,
    )
    return ok({"id": link_id, **body.model_dump()}, 201)


class PreflightBody(BaseModel):
    """What a pipeline wants to read and where it writes."""

    model_config = ConfigDict(extra="forbid")

    criteria: SearchParams = Field(default_factory=SearchParams)
    min_quality: float | None = Field(None, ge=0.0, le=1.0)
    output: str | None = Field(None, max_length=2048, description="Output location.")
    expansion: float = Field(
        DEFAULT_EXPANSION, ge=0.0, le=1e6, description="Output bytes per input byte."
    )
    check_files: bool = Field(True, description="Check that files exist (under the roots).")


@router.post("/preflight", tags=["pipelines"], responses=responses(400, 403))
def run_preflight(
    body: Annotated[PreflightBody, Body()], catalog: CatalogDep, settings: SettingsDep
) -> JSONResponse:
    """Which datasets match, which fail the quality bar or are gone, and is there room.

    A read-only check: no token needed (files and the output are only looked at, under
    the service's roots).
    """
    output = settings.check_path(body.output, what="output") if body.output else None
    query = body.criteria.query(settings)
    query.cursor = None
    check = preflight(
        catalog,
        query,
        min_quality=body.min_quality,
        output=output,
        expansion=body.expansion,
        check_files=body.check_files,
        may_check=settings.allows,
    )
    return ok(check.as_dict())
