"""Data for the web dashboard, and API docs served from the package (no CDN).

Every chart endpoint takes the search's parameters (as ``/datasets`` does). A search by
mission, status, the missing flag, facility, instrument, format and calibration only
(the unfiltered dashboard among them) is answered from the chart summaries kept on
every write (``catalog/_stats.py``); others group their matching rows in the database,
through the indexes their criteria allow. Answers are also kept until a SQLite catalog
changes; the counts per status and quality bin, once per search for the count, status,
sky and Earth answers.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse
from sqlalchemy import ColumnElement, Integer, and_, cast, desc, func, literal, select, true
from starlette.routing import Route

from zarrlake.catalog import schema as s
from zarrlake.catalog._answers import groups_from_cells
from zarrlake.catalog._engine import read_connection
from zarrlake.catalog._footprint import bound_columns, footprint_sql, normalise
from zarrlake.catalog._onescan import one_scan, row_cube
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog._search import SearchQuery, count, search_conditions
from zarrlake.catalog._stats import (
    Group,
    auto_period,
    quality_groups,
    status_quality,
    totals,
)
from zarrlake.catalog._stats import coverage as coverage_rows
from zarrlake.catalog.api import operations
from zarrlake.catalog.api.datasets import CatalogDep, Params, SettingsDep, ok
from zarrlake.catalog.api.errors import responses
from zarrlake.catalog.api.kept import cached, peek, search_key

router = APIRouter(prefix="/dashboard", tags=["dashboard"])
logger = logging.getLogger(__name__)

SWAGGER = "vendor/swagger-ui-dist-5.35.0"
"""Swagger UI's files, vendored from npm under the dashboard's static files."""

MAX_SKY_POINTS = 2000
"""Above this many positions the sky map shows an even sample of about this many."""

SKY_PROBES = 40_000
"""Sample the sky by looking ids up (ids spread over the id range) when that takes at
most this many lookups (SQLite, 1M records: 0.03-0.07 s); otherwise (a narrow search)
number the search's own rows, read through its index. Numbering costs about what a
lookup does per matching row read, so a search that matches more than about the square
root of ``catalog size * MAX_SKY_POINTS`` rows is sampled faster by lookups (a text or a
quality bar the indexes narrow to 5-15 % of 1M records: 0.3-0.47 s numbered)."""

GOLDEN = 0.6180339887498949
"""The golden ratio's fractional part: the probes' fractions ``k * GOLDEN mod 1`` fill
``[0, 1)`` evenly, and no period in the ids lines up with them (a whole-number step
would probe one remainder of the ids only and could miss every record of a group)."""

Period = Annotated[Literal["year", "month", "day", "hour", "auto"], Path()]


def _where(catalog: Catalog, params: Any, settings: Any, connection: Any) -> ColumnElement[bool]:
    return and_(true(), *search_conditions(catalog, params.query(settings), connection))


def _groups(catalog: Catalog, params: Any, query: SearchQuery) -> list[Group]:
    """Return the search's counts per status and quality bin, shared by the views."""

    def compute() -> list[Group]:
        cube = _cube(catalog, params, query, auto_period(catalog, query)) if query.text else None
        return cube[0] if cube is not None else quality_groups(catalog, query)

    return cached(catalog, search_key("groups", params), compute)  # type: ignore[no-any-return]


def _cube(
    catalog: Catalog, params: Any, query: SearchQuery, period: str
) -> tuple[list[Group], list[dict[str, Any]]] | None:
    """Return a scanned search's groups and coverage per ``period`` from one scan, kept.

    ``None`` where they come otherwise (``_onescan.one_scan``): the status and the
    coverage views of such a search, asked for at once, share the one scan.
    """
    if not query.text or not one_scan(catalog, query, period):
        return None
    key = search_key(f"cube-{period}", params)
    return cached(catalog, key, lambda: row_cube(catalog, query, period))  # type: ignore[no-any-return]


def _totals(catalog: Catalog, params: Any, query: SearchQuery) -> dict[str, int]:
    """Return the search's counts (all, positioned, with a footprint)."""
    return totals(catalog, query, groups=_groups(catalog, params, query))


@router.get("/count", responses=responses(400))
def cached_count(params: Params, catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    """Count the search's observations, as ``/datasets/count``, kept until the catalog changes."""
    query = params.query(settings)
    if groups_from_cells(query) or peek(catalog, search_key("groups", params)) is not None:
        return ok({"count": _totals(catalog, params, query)["count"]})
    # From the rows, a plain count reads less than the groups (no sorting, no documents).
    return ok(
        {"count": cached(catalog, search_key("count", params), lambda: count(catalog, query))}
    )


@router.get("/status", responses=responses(400))
def status_counts(params: Params, catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    """Count the search's observations per processing status, and per quality bin.

    ``counts`` has every status (zeros too); ``quality`` is a histogram of
    ``data_quality_score`` in bins of 0.1 (``low``, ``high``, ``count``; a score of 1
    counts in the last bin).
    """
    query = params.query(settings)
    return ok(status_quality(catalog, query, groups=_groups(catalog, params, query)))


@router.get("/coverage/{period}", responses=responses(400))
def coverage(
    period: Period, params: Params, catalog: CatalogDep, settings: SettingsDep
) -> JSONResponse:
    """Observations and bytes per period and mission, for the search's observations.

    ``period`` (year, month, day, hour) follows the zoom: ``auto`` chooses it from the
    search's time range, or its missions' span (``period`` in the answer says which).
    """
    query = params.query(settings)
    chosen = auto_period(catalog, query) if period == "auto" else period

    def compute() -> dict[str, Any]:
        cube = _cube(catalog, params, query, chosen) if period == "auto" else None
        rows = cube[1] if cube is not None else coverage_rows(catalog, query, chosen)
        return {"period": chosen, "rows": rows}

    return ok(cached(catalog, search_key(f"coverage-{chosen}", params), compute))


@router.get("/sky", responses=responses(400))
def sky(params: Params, catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    """Positions (RA/Dec, degrees) of the search's observations, for the sky map.

    ``total`` observations have a position; up to :data:`MAX_SKY_POINTS` come one per
    observation. Beyond that ``sampled`` is true and the points are an even sample of
    about :data:`MAX_SKY_POINTS`, each still one observation: every n-th matching
    observation in id order, or (when that takes at most :data:`SKY_PROBES` lookups)
    the matches among ids spread evenly over the id range.
    """
    query = params.query(settings)
    total = _totals(catalog, params, query)["positioned"]
    return ok(cached(catalog, search_key("sky", params), lambda: _sky(catalog, query, total)))


def _sky(catalog: Catalog, query: SearchQuery, total: int) -> dict[str, Any]:
    obs = s.observations.c
    if not total:  # no matching record has a position: nothing to read (nor to scan for)
        return {"total": 0, "sampled": False, "points": []}
    stride = -(-total // MAX_SKY_POINTS)
    columns = (obs.id, obs.mission_id, obs.ra, obs.dec, obs.target_object)
    with read_connection(catalog.engine, scan=True) as connection:
        where = and_(
            true(),
            *search_conditions(catalog, query, connection),
            obs.ra.is_not(None),
            obs.dec.is_not(None),
        )
        largest = 0
        if stride > 1:
            largest = int(connection.execute(select(func.max(obs.id))).scalar() or 0)
        probes = -(-largest * MAX_SKY_POINTS // max(total, 1))
        if stride > 1 and probes <= SKY_PROBES:
            sample = _probed(columns, where, largest, probes, catalog.dialect)
        elif stride > 1:
            # Every n-th match: numbered in id order, so no pattern in the ids (one
            # mission in ten, say) can hide a whole group, as "id % n = 0" could.
            numbered = (
                select(*columns, func.row_number().over(order_by=obs.id).label("n"))
                .where(where)
                .subquery()
            )
            sample = (
                select(*(numbered.c[c.name] for c in columns))
                .where(numbered.c.n % stride == 0)
                .order_by(numbered.c.id)
            )
        else:
            sample = select(*columns).where(where).order_by(obs.id)
        points = [
            {"id": i, "mission": m, "ra": r, "dec": d, "target": t}
            for i, m, r, d, t in connection.execute(sample.limit(2 * MAX_SKY_POINTS))
        ]
    return {"total": total, "sampled": stride > 1, "points": points}


def _probed(columns: tuple[Any, ...], where: Any, largest: int, probes: int, dialect: str) -> Any:
    """Select the matches among ``probes`` ids spread evenly over ``1..largest``.

    Each probe is a primary-key lookup: a search matching a good share of the catalog
    reads a few thousand rows instead of all. Probe ``k`` looks up id
    ``1 + floor(largest * frac(k * GOLDEN))`` (a Weyl sequence): spread as evenly as a
    grid, without a step that a pattern in the ids (one mission in four, say) can hide a
    whole group behind.
    """
    obs = s.observations.c
    counter = select(literal(1).label("k")).cte("probe", recursive=True)
    counter = counter.union_all(select(counter.c.k + 1).where(counter.c.k < probes))
    turn = counter.c.k * GOLDEN
    place = (turn - _whole(turn, dialect)) * largest
    probed = select((_whole(place, dialect) + 1).label("v")).distinct().subquery()
    return (
        select(*columns)
        .select_from(probed.join(s.observations, obs.id == probed.c.v))
        .where(where)
        .order_by(obs.id)
    )


def _whole(value: Any, dialect: str) -> Any:
    """Return the whole part of a non-negative number (PostgreSQL's cast rounds)."""
    return cast(value if dialect == "sqlite" else func.floor(value), Integer)


MAX_FOOTPRINTS = 2000


@router.get("/earth", responses=responses(400))
def earth(params: Params, catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    """Geographic footprints of the search's observations, for the Earth map.

    Records whose ``mission_specific`` holds a footprint, read as STAC items read it
    (``catalog/_footprint.py``): ``bbox`` is ``[west, south, east, north]`` with
    longitudes in -180..180, ``west > east`` for a box across the antimeridian. The
    newest :data:`MAX_FOOTPRINTS` of them, with the ``total`` (the same records).
    """
    query = params.query(settings)
    total = _totals(catalog, params, query)["footprints"]
    return ok(cached(catalog, search_key("earth", params), lambda: _boxes(catalog, query, total)))


def _boxes(catalog: Catalog, query: SearchQuery, total: int) -> dict[str, Any]:
    obs = s.observations.c
    if not total:  # nothing to look for (a scan of every row's JSON would find nothing)
        return {"total": 0, "footprints": []}
    with read_connection(catalog.engine, scan=True) as connection:
        where = and_(true(), *search_conditions(catalog, query, connection), footprint_sql())
        rows = (
            select(obs.id, obs.mission_id, *bound_columns())
            .where(where)
            .order_by(desc(obs.observation_timestamp), desc(obs.id))
            .limit(MAX_FOOTPRINTS)
        )
        boxes = []
        for i, m, *bounds in connection.execute(rows):
            box = normalise(*(float(b) for b in bounds))
            if box is not None:  # always, as footprint_sql() kept the row
                boxes.append({"id": i, "mission": m, "bbox": list(box)})
    return {"total": total, "footprints": boxes}


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
    app.include_router(operations.router)
