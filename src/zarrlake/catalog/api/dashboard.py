"""Data for the web dashboard, and API docs served from the package (no CDN).

Every chart endpoint takes the search's parameters (as ``/datasets`` does) and lets the
database group the matching rows, so a chart costs one aggregate query whatever the
catalog's size.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
from sqlalchemy import ColumnElement, Float, Integer, and_, cast, desc, func, or_, select, true
from starlette.routing import Route

from zarrlake.catalog import schema as s
from zarrlake.catalog._engine import read_connection
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog._search import search_conditions
from zarrlake.catalog.api.datasets import CatalogDep, Params, SettingsDep, ok
from zarrlake.catalog.api.errors import responses
from zarrlake.catalog.api.serialize import iso

router = APIRouter(prefix="/dashboard", tags=["dashboard"])

SWAGGER = "vendor/swagger-ui-dist-5.35.0"
"""Swagger UI's files, vendored from npm under the dashboard's static files."""

STATUSES = ("raw", "processing", "processed", "failed", "archived")
PERIODS = {
    "year": ("%Y", "YYYY"),
    "month": ("%Y-%m", "YYYY-MM"),
    "day": ("%Y-%m-%d", "YYYY-MM-DD"),
    "hour": ("%Y-%m-%dT%H", 'YYYY-MM-DD"T"HH24'),
}
"""Coverage periods: their SQLite ``strftime`` and PostgreSQL ``to_char`` formats."""

MAX_SKY_POINTS = 5000
"""Above this many positions the sky map gets one point per cell and mission."""

SKY_CELL_DEGREES = 2.0
"""The size of those cells, in RA and Dec."""

Period = Annotated[Literal["year", "month", "day", "hour"], Path()]


def _where(catalog: Catalog, params: Any, settings: Any, connection: Any) -> ColumnElement[bool]:
    return and_(true(), *search_conditions(catalog, params.query(settings), connection))


def _period(catalog: Catalog, period: str) -> Any:
    column = s.observations.c.observation_timestamp
    sqlite_format, postgres_format = PERIODS[period]
    if catalog.dialect == "sqlite":
        return func.strftime(sqlite_format, column)
    return func.to_char(column, postgres_format)


@router.get("/status", responses=responses(400))
def status_counts(params: Params, catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    """Count the search's observations per processing status (every status, zeros too)."""
    obs = s.observations.c
    with read_connection(catalog.engine) as connection:
        query = (
            select(obs.processing_status, func.count())
            .where(_where(catalog, params, settings, connection))
            .group_by(obs.processing_status)
        )
        counts = {str(k): int(v) for k, v in connection.execute(query)}
    ordered = {name: counts.pop(name, 0) for name in STATUSES}
    return ok({"counts": {**ordered, **counts}})


@router.get("/coverage/{period}", responses=responses(400))
def coverage(
    period: Period, params: Params, catalog: CatalogDep, settings: SettingsDep
) -> JSONResponse:
    """Observations and bytes per period and mission, for the search's observations.

    ``period`` (year, month, day, hour) is chosen by the dashboard from the time range
    shown, so the resolution follows the zoom.
    """
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
            {"period": p, "mission": m, "observations": int(n), "bytes": int(b)}
            for p, m, n, b in connection.execute(query)
        ]
    return ok({"period": period, "rows": rows})


@router.get("/sky", responses=responses(400))
def sky(params: Params, catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    """Positions (RA/Dec, degrees) of the search's observations, for the sky map.

    Up to :data:`MAX_SKY_POINTS` positions come one per observation (with its id);
    beyond that, one point per cell (:data:`SKY_CELL_DEGREES`) and mission, at the
    mean position of its observations, with their ``count``.
    """
    obs = s.observations.c
    with read_connection(catalog.engine) as connection:
        where = and_(
            _where(catalog, params, settings, connection),
            obs.ra.is_not(None),
            obs.dec.is_not(None),
        )
        total = int(connection.execute(select(func.count()).where(where)).scalar_one())
        if total <= MAX_SKY_POINTS:
            query = select(obs.id, obs.mission_id, obs.ra, obs.dec, obs.target_object).where(where)
            points = [
                {"id": i, "mission": m, "ra": r, "dec": d, "target": t, "count": 1}
                for i, m, r, d, t in connection.execute(query)
            ]
            return ok({"total": total, "binned": False, "points": points})
        ra_cell = cast(obs.ra / SKY_CELL_DEGREES, Integer)
        dec_cell = cast((obs.dec + 90) / SKY_CELL_DEGREES, Integer)
        query = (
            select(
                obs.mission_id,
                func.avg(cast(obs.ra, Float)),
                func.avg(cast(obs.dec, Float)),
                func.count(),
            )
            .where(where)
            .group_by(obs.mission_id, ra_cell, dec_cell)
        )
        points = [
            {"id": None, "mission": m, "ra": r, "dec": d, "target": None, "count": int(n)}
            for m, r, d, n in connection.execute(query)
        ]
    return ok({"total": total, "binned": True, "points": points})


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
    rows = _problems(catalog, kind, limit)
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
