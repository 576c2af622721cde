"""Data for the web dashboard, and API docs served from the package (no CDN).

Every chart endpoint takes the search's parameters (as ``/datasets`` does) and lets the
database group the matching rows, so a chart costs one aggregate query whatever the
catalog's size.
"""

from __future__ import annotations

import csv
import io
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from sqlalchemy import ColumnElement, Integer, and_, case, cast, desc, func, or_, select, true
from starlette.routing import Route

from zarrlake.catalog import schema as s
from zarrlake.catalog._engine import read_connection
from zarrlake.catalog._filters import column_for
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog._search import count, search_conditions
from zarrlake.catalog.api.datasets import CatalogDep, Params, SearchParams, SettingsDep, ok
from zarrlake.catalog.api.errors import responses
from zarrlake.catalog.api.serialize import iso

router = APIRouter(prefix="/dashboard", tags=["dashboard"])
logger = logging.getLogger(__name__)

SWAGGER = "vendor/swagger-ui-dist-5.35.0"
"""Swagger UI's files, vendored from npm under the dashboard's static files."""

STATUSES = ("raw", "processing", "processed", "failed", "archived")
PERIODS = {
    "year": (4, "YYYY"),
    "month": (7, "YYYY-MM"),
    "day": (10, "YYYY-MM-DD"),
    "hour": (13, 'YYYY-MM-DD"T"HH24'),
}
"""Coverage periods: the length of their prefix of SQLite's stored times (text, cheaper
than ``strftime``) and their PostgreSQL ``to_char`` format."""

QUALITY_BINS = 10

MAX_SKY_POINTS = 5000
"""Above this many positions the sky map shows an even sample of about this many."""

Period = Annotated[Literal["year", "month", "day", "hour"], Path()]


def _where(catalog: Catalog, params: Any, settings: Any, connection: Any) -> ColumnElement[bool]:
    return and_(true(), *search_conditions(catalog, params.query(settings), connection))


def _period(catalog: Catalog, period: str) -> Any:
    column = s.observations.c.observation_timestamp
    length, postgres_format = PERIODS[period]
    if catalog.dialect == "sqlite":
        return func.substr(column, 1, length)
    return func.to_char(column, postgres_format)


_CACHE: OrderedDict[tuple[Any, ...], tuple[Any, Any]] = OrderedDict()
CACHE_SIZE = 256


def _version(catalog: Catalog) -> Any:
    """Return what changes whenever the catalog does (``None``: unknown, do not cache).

    For a SQLite file, the size and modification time of the file and its write-ahead
    log: every commit changes one of them.
    """
    database = catalog.engine.url.database
    if catalog.dialect != "sqlite" or not database or database == ":memory:":
        return None
    stamps: list[tuple[int, int] | None] = []
    for path in (database, f"{database}-wal"):
        try:
            stat = os.stat(path)
        except OSError:
            stamps.append(None)
        else:
            stamps.append((stat.st_mtime_ns, stat.st_size))
    return tuple(stamps)


def _cached(catalog: Catalog, key: tuple[Any, ...], compute: Callable[[], Any]) -> Any:
    """Return ``compute()``, reusing the answer while the catalog has not changed.

    Chart queries group every matching row: on 1M records they take seconds, and a
    dashboard asks the same ones again and again.
    """
    version = _version(catalog)
    if version is None:
        return compute()
    full_key = (id(catalog), *key)
    hit = _CACHE.get(full_key)
    if hit is not None and hit[0] == version:
        _CACHE.move_to_end(full_key)
        return hit[1]
    value = compute()
    _CACHE[full_key] = (version, value)
    while len(_CACHE) > CACHE_SIZE:
        _CACHE.popitem(last=False)
    return value


def _key(name: str, params: Any) -> tuple[Any, ...]:
    criteria = params.model_dump(exclude={"sort", "limit", "cursor"})
    return (name, *sorted(criteria.items()))


@router.get("/count", responses=responses(400))
def cached_count(params: Params, catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    """Count the search's observations, as ``/datasets/count``, kept until the catalog changes."""
    total = _cached(catalog, _key("count", params), lambda: count(catalog, params.query(settings)))
    return ok({"count": total})


@router.get("/status", responses=responses(400))
def status_counts(params: Params, catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    """Count the search's observations per processing status, and per quality bin.

    ``counts`` has every status (zeros too); ``quality`` is a histogram of
    ``data_quality_score`` in bins of 0.1 (``low``, ``high``, ``count``; a score of 1
    counts in the last bin). One pass over the matching rows gives both.
    """

    def compute() -> dict[str, Any]:
        obs = s.observations.c
        top = QUALITY_BINS - 1
        raw_bin = cast(obs.data_quality_score * QUALITY_BINS, Integer)
        quality_bin = case((raw_bin > top, top), else_=raw_bin)
        with read_connection(catalog.engine) as connection:
            query = (
                select(obs.processing_status, quality_bin, func.count())
                .where(_where(catalog, params, settings, connection))
                .group_by(obs.processing_status, quality_bin)
            )
            rows = connection.execute(query).all()
        counts: dict[str, int] = {name: 0 for name in STATUSES}
        bins = [0] * QUALITY_BINS
        for status, bin_, number in rows:
            counts[str(status)] = counts.get(str(status), 0) + int(number)
            if bin_ is not None:
                bins[int(bin_)] += int(number)
        quality = [
            {"low": i / QUALITY_BINS, "high": (i + 1) / QUALITY_BINS, "count": n}
            for i, n in enumerate(bins)
        ]
        return {"counts": counts, "quality": quality}

    return ok(_cached(catalog, _key("status", params), compute))


@router.get("/coverage/{period}", responses=responses(400))
def coverage(
    period: Period, params: Params, catalog: CatalogDep, settings: SettingsDep
) -> JSONResponse:
    """Observations and bytes per period and mission, for the search's observations.

    ``period`` (year, month, day, hour) is chosen by the dashboard from the time range
    shown, so the resolution follows the zoom.
    """

    def compute() -> dict[str, Any]:
        obs = s.observations.c
        bucket = _period(catalog, period)
        with read_connection(catalog.engine) as connection:
            query = (
                select(
                    bucket.label("period"),
                    obs.mission_id,
                    func.count(),
                    func.coalesce(func.sum(obs.file_size), 0),
                )
                .where(
                    _where(catalog, params, settings, connection),
                    obs.observation_timestamp.is_not(None),
                )
                .group_by(bucket, obs.mission_id)
                .order_by(bucket)
            )
            rows = [
                {
                    "period": str(p).replace(" ", "T"),
                    "mission": m,
                    "observations": int(n),
                    "bytes": int(b),
                }
                for p, m, n, b in connection.execute(query)
            ]
        return {"period": period, "rows": rows}

    return ok(_cached(catalog, _key(f"coverage-{period}", params), compute))


@router.get("/sky", responses=responses(400))
def sky(params: Params, catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    """Positions (RA/Dec, degrees) of the search's observations, for the sky map.

    ``total`` observations have a position; up to :data:`MAX_SKY_POINTS` come one per
    observation. Beyond that ``sampled`` is true and the points are an even sample
    (every n-th id) of about :data:`MAX_SKY_POINTS`, each still one observation.
    """

    def compute() -> dict[str, Any]:
        obs = s.observations.c
        with read_connection(catalog.engine) as connection:
            where = and_(
                _where(catalog, params, settings, connection),
                obs.ra.is_not(None),
                obs.dec.is_not(None),
            )
            total = int(
                connection.execute(
                    select(func.count()).select_from(s.observations).where(where)
                ).scalar_one()
            )
            query = select(obs.id, obs.mission_id, obs.ra, obs.dec, obs.target_object).where(where)
            stride = -(-total // MAX_SKY_POINTS)
            if stride > 1:
                query = query.where(obs.id % stride == 0)
            points = [
                {"id": i, "mission": m, "ra": r, "dec": d, "target": t}
                for i, m, r, d, t in connection.execute(query.limit(2 * MAX_SKY_POINTS))
            ]
        return {"total": total, "sampled": stride > 1, "points": points}

    return ok(_cached(catalog, _key("sky", params), compute))


BBOX_KEYS = ("geospatial_lon_min", "geospatial_lat_min", "geospatial_lon_max", "geospatial_lat_max")
"""The ACDD attributes of a geographic bounding box, as extractors keep them in
``mission_specific`` (west, south, east, north)."""

MAX_FOOTPRINTS = 2000


@router.get("/earth", responses=responses(400))
def earth(params: Params, catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    """Geographic bounding boxes of the search's observations, for the Earth map.

    Records whose ``mission_specific`` holds the four ACDD ``geospatial_*`` bounds; the
    newest :data:`MAX_FOOTPRINTS` of them, with the ``total``.
    """
    return ok(_cached(catalog, _key("earth", params), lambda: _boxes(catalog, params, settings)))


def _boxes(catalog: Catalog, params: Any, settings: Any) -> dict[str, Any]:
    obs = s.observations.c
    bounds = [column_for(s.observations, f"mission_specific.{key}", 0.0) for key in BBOX_KEYS]
    with read_connection(catalog.engine) as connection:
        where = and_(
            _where(catalog, params, settings, connection), *(b.is_not(None) for b in bounds)
        )
        total = int(
            connection.execute(
                select(func.count()).select_from(s.observations).where(where)
            ).scalar_one()
        )
        query = (
            select(obs.id, obs.mission_id, *bounds)
            .where(where)
            .order_by(desc(obs.observation_timestamp), desc(obs.id))
            .limit(MAX_FOOTPRINTS)
        )
        boxes = [
            {"id": i, "mission": m, "bbox": [float(w), float(south), float(e), float(n)]}
            for i, m, w, south, e, n in connection.execute(query)
        ]
    return {"total": total, "footprints": boxes}


PROBLEM_KINDS = ("unreadable", "issues", "missing")
PROBLEM_COLUMNS = ("id", "kind", "mission_id", "file_path", "problem", "last_updated")


def _problems(catalog: Catalog, kind: str | None, limit: int) -> list[dict[str, Any]]:
    obs = s.observations.c
    kinds = [kind] if kind else list(PROBLEM_KINDS)
    tests = {
        "unreadable": obs.extraction_error.is_not(None),
        "issues": obs.issues.is_not(None),
        "missing": obs.missing.is_(True),
    }
    query = (
        select(
            obs.id,
            obs.mission_id,
            obs.file_path,
            obs.extraction_error,
            obs.issues,
            obs.missing,
            obs.last_updated,
        )
        .where(or_(*(tests[k] for k in kinds)))
        .order_by(desc(obs.last_updated), desc(obs.id))
        .limit(limit)
    )
    rows: list[dict[str, Any]] = []
    with read_connection(catalog.engine) as connection:
        for row in connection.execute(query):
            found = {
                "unreadable": row.extraction_error,
                "issues": row.issues or None,
                "missing": "the file is gone" if row.missing else None,
            }
            for name in kinds:
                if found[name]:
                    problem = _text(found[name])
                    rows.append(
                        {
                            "id": row.id,
                            "kind": name,
                            "mission_id": row.mission_id,
                            "file_path": row.file_path,
                            "problem": problem,
                            "last_updated": iso(row.last_updated),
                        }
                    )
    return rows


def _text(value: Any) -> str:
    if isinstance(value, list):
        return "; ".join(map(str, value))
    return str(value)


@router.get("/problems", responses=responses(400), response_model=None)
def problems(
    catalog: CatalogDep,
    kind: Annotated[Literal["unreadable", "issues", "missing"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=10000)] = 500,
    format: Annotated[Literal["json", "csv"], Query()] = "json",
) -> JSONResponse | StreamingResponse:
    """Unreadable files with their error, records with issues, missing files; newest first."""
    rows = _cached(catalog, ("problems", kind, limit), lambda: _problems(catalog, kind, limit))
    if format == "json":
        return ok({"items": rows})

    def lines() -> Iterator[str]:
        buffer = io.StringIO()
        writer = csv.DictWriter(buffer, PROBLEM_COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
        yield buffer.getvalue()

    return StreamingResponse(
        lines(),
        media_type="text/csv",
        headers={"Content-Disposition": 'attachment; filename="problems.csv"'},
    )


@router.get("/pipeline")
def pipeline(catalog: CatalogDep, limit: Annotated[int, Query(ge=1, le=1000)] = 50) -> JSONResponse:
    """List what is processing now, what failed (with the reason), recent status events."""
    obs, events = s.observations.c, s.status_events.c
    newest = (desc(events.at), desc(events.id))
    recent = (
        select(events.dataset_id, events.old_status, events.new_status, events.reason)
        .add_columns(events.actor, events.at, obs.mission_id, obs.file_path)
        .join_from(s.status_events, s.observations, obs.id == events.dataset_id)
        .order_by(*newest)
        .limit(limit)
    )
    with read_connection(catalog.engine) as connection:
        recent_rows = [dict(r._mapping) for r in connection.execute(recent)]
        lists = {}
        for status in ("processing", "failed"):
            query = (
                select(obs.id, obs.mission_id, obs.file_path, obs.last_updated)
                .where(obs.processing_status == status)
                .order_by(desc(obs.last_updated), desc(obs.id))
                .limit(limit)
            )
            lists[status] = [dict(r._mapping) for r in connection.execute(query)]
        failed_ids = [r["id"] for r in lists["failed"]]
        reasons: dict[int, str | None] = {}
        if failed_ids:
            why = (
                select(events.dataset_id, events.reason)
                .where(events.dataset_id.in_(failed_ids), events.new_status == "failed")
                .order_by(events.at, events.id)
            )
            reasons = {d: r for d, r in connection.execute(why)}
    for row in lists["failed"]:
        row["reason"] = reasons.get(row["id"])
    return ok(
        {
            "processing": [_times(r) for r in lists["processing"]],
            "failed": [_times(r) for r in lists["failed"]],
            "events": [_times(r) for r in recent_rows],
        }
    )


def _times(row: dict[str, Any]) -> dict[str, Any]:
    return {k: iso(v) if k in ("at", "last_updated") else v for k, v in row.items()}


def offline_docs(request: Any) -> HTMLResponse:
    """Serve Swagger UI from the package's own files: ``/docs`` works without the Internet."""
    root = request.scope.get("root_path", "")
    return get_swagger_ui_html(
        openapi_url=f"{root}/openapi.json",
        title="zarrlake catalog - API",
        swagger_js_url=f"{root}/{SWAGGER}/swagger-ui-bundle.js",
        swagger_css_url=f"{root}/{SWAGGER}/swagger-ui.css",
        swagger_favicon_url=f"{root}/{SWAGGER}/favicon-32x32.png",
        swagger_ui_parameters={"validatorUrl": None},
    )


def install(app: FastAPI) -> None:
    """Add the dashboard's endpoints and serve ``/docs`` (and ``/redoc``) offline.

    Parameters
    ----------
    app
        The service, before its static files are mounted at ``/``.
    """
    for index, route in enumerate(app.router.routes):
        path = getattr(route, "path", None)
        if path == "/docs":
            app.router.routes[index] = Route("/docs", offline_docs, include_in_schema=False)
        elif path == "/redoc":
            app.router.routes[index] = Route(
                "/redoc", lambda request: RedirectResponse("docs"), include_in_schema=False
            )
    app.include_router(router)
    app.router.on_startup.append(lambda: _prime(app))


PRIME_ABOVE = 100_000
"""Catalogs with more records than this get their unfiltered charts computed at start."""


def _prime(app: FastAPI) -> None:
    """Compute the unfiltered charts in the background, for a large catalog.

    They take seconds on 1M records; computed once at start, the dashboard's first
    visitor gets them at once (until the catalog changes).
    """
    catalog: Catalog = app.state.catalog
    settings = app.state.settings
    if _version(catalog) is None:
        return
    try:
        with read_connection(catalog.engine) as connection:
            largest = connection.execute(select(func.max(s.observations.c.id))).scalar()
    except Exception:  # an empty or unreachable catalog: nothing to precompute
        return
    if (largest or 0) <= PRIME_ABOVE:
        return

    def run() -> None:
        everything = SearchParams()
        try:
            cached_count(everything, catalog, settings)
            status_counts(everything, catalog, settings)
            for period in ("year", "month"):
                coverage(period, everything, catalog, settings)
            sky(everything, catalog, settings)
        except Exception:  # a cache warmer must never take the service down
            logger.exception("could not precompute the dashboard's charts")

    threading.Thread(target=run, name="dashboard-prime", daemon=True).start()
