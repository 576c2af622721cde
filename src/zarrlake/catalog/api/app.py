"""The catalog service: REST API, STAC API and the web dashboard in one FastAPI app."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles
from starlette.types import ASGIApp, Receive, Scope, Send

from zarrlake._version import __version__
from zarrlake.catalog._repository import Catalog
from zarrlake.catalog.api import dashboard, datasets, errors, stac
from zarrlake.catalog.api.settings import ServiceSettings

WEB = Path(__file__).resolve().parent.parent / "web"


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
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)

    app.include_router(datasets.router)
    app.include_router(stac.router)
    dashboard.install(app)
    app.mount("/", StaticFiles(directory=WEB, html=True), name="web")
    return app
