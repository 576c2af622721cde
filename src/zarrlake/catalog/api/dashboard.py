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

import csv
import io
import logging
import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from fastapi import APIRouter, FastAPI, Path, Query
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import HTMLResponse, JSONResponse, RedirectResponse, StreamingResponse
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
from zarrlake.catalog.api.datasets import CatalogDep, Params, SettingsDep, ok
from zarrlake.catalog.api.errors import responses
from zarrlake.catalog.api.serialize import iso

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


_CACHE: OrderedDict[tuple[Any, ...], tuple[Any, Any]] = OrderedDict()
CACHE_SIZE = 256
_GUARD = threading.Lock()  # over _CACHE and _COMPUTING (threads share them)
_COMPUTING: dict[tuple[Any, ...], tuple[threading.Lock, int]] = {}
"""A lock per answer being computed, and how many requests hold or wait for it."""


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
    dashboard asks the same ones again and again. Requests for one answer at once
    compute it once (the others wait for it): a view's requests arrive together, and
    several need the same totals. An answer may be computed from others (coverage from
    the groups): each answer has its own lock, so a request never waits for itself.
    """
    version = _version(catalog)
    if version is None:
        return compute()
    full_key = (id(catalog), *key)
    with _computing(full_key):
        with _GUARD:
            hit = _CACHE.get(full_key)
            if hit is not None and hit[0] == version:
                _CACHE.move_to_end(full_key)
                return hit[1]
        value = compute()
        with _GUARD:
            _CACHE[full_key] = (version, value)
            while len(_CACHE) > CACHE_SIZE:
                _CACHE.popitem(last=False)
        return value


@contextmanager
def _computing(key: tuple[Any, ...]) -> Iterator[None]:
    """Hold the lock of one answer (made for its first request, dropped after its last)."""
    with _GUARD:
        lock, users = _COMPUTING.get(key) or (threading.Lock(), 0)
        _COMPUTING[key] = (lock, users + 1)
    try:
        with lock:
            yield
    finally:
        with _GUARD:
            users = _COMPUTING[key][1] - 1
            if users:
                _COMPUTING[key] = (lock, users)
            else:
                del _COMPUTING[key]


def _peek(catalog: Catalog, key: tuple[Any, ...]) -> Any:
    """Return the kept answer for ``key`` if it is current, else ``None`` (never computes)."""
    version = _version(catalog)
    with _GUARD:
        hit = _CACHE.get((id(catalog), *key))
    return hit[1] if hit is not None and version is not None and hit[0] == version else None


def _groups(catalog: Catalog, params: Any, query: SearchQuery) -> list[Group]:
    """Return the search's counts per status and quality bin, shared by the views."""

    def compute() -> list[Group]:
        cube = _cube(catalog, params, query, auto_period(catalog, query)) if query.text else None
        return cube[0] if cube is not None else quality_groups(catalog, query)

    return _cached(catalog, _key("groups", params), compute)  # type: ignore[no-any-return]


def _cube(
    catalog: Catalog, params: Any, query: SearchQuery, period: str
) -> tuple[list[Group], list[dict[str, Any]]] | None:
    """Return a scanned search's groups and coverage per ``period`` from one scan, kept.

    ``None`` where they come otherwise (``_onescan.one_scan``): the status and the
    coverage views of such a search, asked for at once, share the one scan.
    """
    if not query.text or not one_scan(catalog, query, period):
        return None
    key = _key(f"cube-{period}", params)
    return _cached(catalog, key, lambda: row_cube(catalog, query, period))  # type: ignore[no-any-return]


def _totals(catalog: Catalog, params: Any, query: SearchQuery) -> dict[str, int]:
    """Return the search's counts (all, positioned, with a footprint)."""
    return totals(catalog, query, groups=_groups(catalog, params, query))


def _key(name: str, params: Any) -> tuple[Any, ...]:
    criteria = params.model_dump(exclude={"sort", "limit", "cursor"})
    return (name, *sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in criteria.items()))


@router.get("/count", responses=responses(400))
def cached_count(params: Params, catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    """Count the search's observations, as ``/datasets/count``, kept until the catalog changes."""
    query = params.query(settings)
    if groups_from_cells(query) or _peek(catalog, _key("groups", params)) is not None:
        return ok({"count": _totals(catalog, params, query)["count"]})
    # From the rows, a plain count reads less than the groups (no sorting, no documents).
    return ok({"count": _cached(catalog, _key("count", params), lambda: count(catalog, query))})


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

    return ok(_cached(catalog, _key(f"coverage-{chosen}", params), compute))


@router.get("/sky", responses=responses(400))
def sky(params: Params, catalog: CatalogDep, settings: SettingsDep) -> JSONResponse:
    """Positions (RA/Dec, degrees) of the search's observations, for the sky map.

    ``total`` observations have a position; up to :data:`MAX_SKY_POINTS` come one per
    observation. Beyond that ``sampled`` is true and the points are an even sample of
    about :data:`MAX_SKY_POINTS`, each still one observation: every n-th matching
    observation in id order, or (for a search matching most of a large catalog) the
    matches among ids spread evenly over the id range.
    """
    query = params.query(settings)
    total = _totals(catalog, params, query)["positioned"]
    return ok(_cached(catalog, _key("sky", params), lambda: _sky(catalog, query, total)))


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
    return ok(_cached(catalog, _key("earth", params), lambda: _boxes(catalog, query, total)))


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
    columns = (
        obs.id,
        obs.mission_id,
        obs.file_path,
        obs.extraction_error,
        obs.issues,
        obs.missing,
        obs.last_updated,
    )
    newest = (desc(obs.last_updated), desc(obs.id))
    # The newest records of each kind through its partial index, then the newest of
    # those: the same rows as one query over "any kind", which would read every row.
    found: dict[int, Any] = {}
    with read_connection(catalog.engine) as connection:
        for name in kinds:
            query = select(*columns).where(tests[name]).order_by(*newest).limit(limit)
            found.update((row.id, row) for row in connection.execute(query))
    chosen = sorted(found.values(), key=lambda r: (r.last_updated, r.id), reverse=True)[:limit]
    rows: list[dict[str, Any]] = []
    for row in chosen:
        problems = {
            "unreadable": row.extraction_error,
            "issues": row.issues or None,
            "missing": "the file is gone" if row.missing else None,
        }
        for name in kinds:
            if problems[name]:
                rows.append(
                    {
                        "id": row.id,
                        "kind": name,
                        "mission_id": row.mission_id,
                        "file_path": row.file_path,
                        "problem": _text(problems[name]),
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
    return ok(_cached(catalog, ("pipeline", limit), lambda: _pipeline(catalog, limit)))


def _pipeline(catalog: Catalog, limit: int) -> dict[str, Any]:
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
    return {
        "processing": [_times(r) for r in lists["processing"]],
        "failed": [_times(r) for r in lists["failed"]],
        "events": [_times(r) for r in recent_rows],
    }


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
