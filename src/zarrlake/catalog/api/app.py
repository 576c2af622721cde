"""The catalog service: REST API, STAC API and the web dashboard in one FastAPI app."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from zarrlake._version import __version__
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog.api import dashboard, datasets, errors, stac
from zarrlake.catalog.api.settings import ServiceSettings

WEB = Path(__file__).resolve().parent.parent / "web"


class WebFiles(StaticFiles):
    """The dashboard's files; the vendored libraries (folders named by version) kept a year.

    A later visit then reads d3, Plot and the maps' libraries from the browser's cache
    without asking again; the dashboard's own files are checked on every visit.
    """

    def file_response(self, full_path: Any, *args: Any, **kwargs: Any) -> Any:
        """Return the file, with the headers that say how long a browser may keep it."""
        response = super().file_response(full_path, *args, **kwargs)
        vendored = Path(full_path).resolve().is_relative_to(WEB / "vendor")
        response.headers["Cache-Control"] = (
            "public, max-age=31536000, immutable" if vendored else "no-cache"
        )
        return response


class BodyLimit:
    """Refuse request bodies over ``limit`` bytes (413) before anything reads them.

    A plain ASGI middleware: Starlette's ``BaseHTTPMiddleware`` costs more per request
    than a whole search.
    """

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer 413 for an oversized (or unsized) body; pass everything else on."""
        if scope["type"] == "http":
            headers = dict(scope.get("headers") or [])
            length = headers.get(b"content-length")
            chunked = b"transfer-encoding" in headers
            if (length is not None and (not length.isdigit() or int(length) > self.limit)) or (
                length is None and chunked
            ):
                response = JSONResponse(
                    errors.error_body(
                        "too_large",
                        f"request bodies are limited to {self.limit} bytes (with a Content-Length)",
                    ),
                    status_code=413,
                )
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)


class RefuseNul:
    """Answer 400 for a NUL character in the path, a query parameter or a JSON body.

    No catalog database stores NUL in text (PostgreSQL refuses it outright), so such a
    request could only fail later, as a 500. Bodies are read only when they may hold
    one (the raw bytes hold a NUL or the JSON escape for it).
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Refuse a request with a NUL character; pass everything else on."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _nul_in_url(scope)
        if where is None and scope.get("method") in ("POST", "PUT", "PATCH"):
            body, receive = await _read_body(receive)
            where = _nul_in_body(body)
        if where is not None:
            response = JSONResponse(
                errors.error_body(
                    "invalid_input",
                    f"{where} contains a NUL character (\\x00), which the catalog cannot "
                    "store or search for; remove it",
                ),
                status_code=400,
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


def _nul_in_url(scope: Scope) -> str | None:
    if "\x00" in scope.get("path", ""):
        return "the path"
    query = scope.get("query_string", b"")
    if b"%00" in query or b"\x00" in query:
        for name, value in parse_qsl(query.decode("latin-1"), keep_blank_values=True):
            if "\x00" in name or "\x00" in value:
                return f"query parameter {name.replace(chr(0), '')!r}"
        return "the query string"
    return None


async def _read_body(receive: Receive) -> tuple[bytes, Receive]:
    parts: list[bytes] = []
    more = True
    while more:
        message = await receive()
        if message["type"] != "http.request":
            break
        parts.append(message.get("body", b""))
        more = message.get("more_body", False)
    body = b"".join(parts)
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if sent:
            return await receive()
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return body, replay


def _nul_in_body(body: bytes) -> str | None:
    if b"\x00" in body:
        return "the request body"
    if b"\\u0000" not in body:
        return None
    try:
        document = json.loads(body)
    except ValueError:
        return None  # not JSON: the endpoint reports that
    return _nul_at(document, "body")


def _nul_at(value: Any, where: str) -> str | None:
    if isinstance(value, str):
        return f"{where}" if "\x00" in value else None
    if isinstance(value, dict):
        for key, item in value.items():
            inner = f"{where}.{str(key).replace(chr(0), '')}"
            if "\x00" in str(key):
                return inner
            found = _nul_at(item, inner)
            if found:
                return found
    if isinstance(value, list):
        for number, item in enumerate(value):
            found = _nul_at(item, f"{where}[{number}]")
            if found:
                return found
    return None


def create_app(
    settings: ServiceSettings | None = None, *, catalog: Catalog | None = None
) -> FastAPI:
    """Build the service.

    Parameters
    ----------
    settings
        Token, roots and limits (:meth:`ServiceSettings.from_env` when ``None``).
    catalog
        An open catalog; by default ``settings.catalog`` is opened (created if new).

    Returns
    -------
    FastAPI
        REST at ``/datasets``..., STAC at ``/stac``, the dashboard at ``/``, OpenAPI at
        ``/docs``.
    """
    settings = settings or ServiceSettings.from_env()
    app = FastAPI(
        title="zarrlake catalog",
        version=__version__,
        description="Find observations: REST and STAC APIs over a zarrlake catalog. "
        "Writes need a bearer token; errors are {code, description}.",
    )
    app.state.settings = settings
    app.state.catalog = catalog or Catalog(settings.catalog)
    errors.install(app)
    app.add_middleware(RefuseNul)
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)  # outermost: runs first

    app.include_router(datasets.router)
    app.include_router(stac.router)
    dashboard.install(app)
    app.mount("/", WebFiles(directory=WEB, html=True), name="web")
    return app
