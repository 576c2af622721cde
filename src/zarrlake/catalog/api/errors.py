"""Domain errors to HTTP responses, in one place: ``{code, description}`` bodies."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from zarrlake.catalog.api.settings import OutsideRootsError
from zarrlake.errors import (
    AlreadyExistsError,
    CatalogSchemaError,
    ConflictError,
    InsufficientStorageError,
    InvalidInputError,
    LockedError,
    NotFoundError,
    ZarrlakeError,
)


class ErrorModel(BaseModel):
    """The body of every error response."""

    code: str
    description: str


class ReadOnlyError(ZarrlakeError):
    """A write was asked of a service started without a token."""


class UnauthorizedError(ZarrlakeError):
    """A write came without the right bearer token."""


# The first matching class decides; subclasses come before their bases.
STATUS: list[tuple[type[Exception], int, str]] = [
    (UnauthorizedError, 401, "unauthorized"),
    (ReadOnlyError, 403, "read_only"),
    (OutsideRootsError, 403, "outside_roots"),
    (NotFoundError, 404, "not_found"),
    (AlreadyExistsError, 409, "conflict"),
    (ConflictError, 409, "conflict"),
    (LockedError, 423, "locked"),
    (InsufficientStorageError, 507, "insufficient_storage"),
    (InvalidInputError, 400, "invalid_input"),
    (CatalogSchemaError, 503, "catalog_unavailable"),
    (ZarrlakeError, 500, "error"),
]


def error_body(code: str, description: str) -> dict[str, str]:
    """Return the JSON body of every error response."""
    return {"code": code, "description": description}


def status_of(error: Exception) -> tuple[int, str]:
    """Return the HTTP status and code for a domain error."""
    for cls, status, code in STATUS:
        if isinstance(error, cls):
            return status, code
    return 500, "internal"


def install(app: FastAPI) -> None:
    """Register the handlers that turn errors into ``{code, description}`` responses."""

    @app.exception_handler(ZarrlakeError)
    async def _domain(_request: Request, error: ZarrlakeError) -> JSONResponse:
        status, code = status_of(error)
        headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
        return JSONResponse(error_body(code, str(error)), status_code=status, headers=headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, error: RequestValidationError) -> JSONResponse:
        parts = []
        for item in error.errors()[:5]:
            where = ".".join(str(p) for p in item.get("loc", ()) if p != "body")
            parts.append(f"{where}: {item.get('msg')}")
        return JSONResponse(error_body("invalid_request", "; ".join(parts)), status_code=400)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, error: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(
            error.status_code, "http_error"
        )
        return JSONResponse(error_body(code, str(error.detail)), status_code=error.status_code)

    @app.exception_handler(Exception)
    async def _unexpected(_request: Request, error: Exception) -> JSONResponse:
        return JSONResponse(
            error_body("internal", f"unexpected {type(error).__name__}"), status_code=500
        )


def responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """Return OpenAPI ``responses`` entries for the given error statuses."""
    return {s: {"description": "error", "model": ErrorModel} for s in statuses}
