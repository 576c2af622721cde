"""The catalog service: REST API, STAC API and the web dashboard in one FastAPI app."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from fastapi.staticfiles import StaticFiles

from zarrlake._version import __version__
from zarrlake.catalog.api import datasets, errors, stac
from zarrlake.catalog.api.settings import ServiceSettings
from zarrlake.catalog.repository import Catalog

WEB = Path(__file__).resolve().parent.parent / "web"


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

    @app.middleware("http")
    async def limit_body(request: Request, call_next: Any) -> Any:
        length = request.headers.get("content-length")
        too_big = length is not None and (
            not length.isdigit() or int(length) > settings.max_body_bytes
        )
        if too_big or (length is None and request.headers.get("transfer-encoding")):
            return JSONResponse(
                errors.error_body(
                    "too_large",
                    f"request bodies are limited to {settings.max_body_bytes} "
                    "bytes (with a Content-Length)",
                ),
                status_code=413,
            )
        return await call_next(request)

    app.include_router(datasets.router)
    app.include_router(stac.router)
    app.mount("/", StaticFiles(directory=WEB, html=True), name="web")
    return app
