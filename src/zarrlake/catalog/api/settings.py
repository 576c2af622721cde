"""The catalog service's settings: from arguments, else environment variables."""

from __future__ import annotations

import os
import posixpath
from pathlib import Path

from pydantic import BaseModel, Field

from zarrlake.errors import InvalidInputError

TOKEN_ENV = "ZARRLAKE_API_TOKEN"
ROOTS_ENV = "ZARRLAKE_ROOTS"


class ServiceSettings(BaseModel):
    """How the catalog service runs.

    Write endpoints need ``token`` (a bearer token); without one the service is
    read-only. The server reads files (to extract metadata, to measure free space) only
    under ``roots``.
    """

    catalog: str | None = Field(None, description="Catalog URL ($ZARRLAKE_CATALOG by default).")
    token: str | None = Field(None, description="Bearer token for writes ($ZARRLAKE_API_TOKEN).")
    roots: list[str] = Field(
        default_factory=list,
        description="Folders or URL prefixes the server may read and register "
        "($ZARRLAKE_ROOTS, separated by os.pathsep).",
    )
    max_page_size: int = Field(500, ge=1, le=1000, description="Larger limits are clamped.")
    max_body_bytes: int = Field(1_048_576, ge=1024, description="Larger request bodies: 413.")
    max_export_rows: int = Field(100_000, ge=1, description="Rows one export may return.")

    @classmethod
    def from_env(cls, **given: object) -> ServiceSettings:
        """Build settings from arguments, filling what is missing from the environment."""
        values = {k: v for k, v in given.items() if v not in (None, [], ())}
        if "token" not in values and os.environ.get(TOKEN_ENV):
            values["token"] = os.environ[TOKEN_ENV]
        if "roots" not in values and os.environ.get(ROOTS_ENV):
            values["roots"] = [r for r in os.environ[ROOTS_ENV].split(os.pathsep) if r]
        return cls.model_validate(values)

    def allows(self, path: str) -> bool:
        """Return whether ``path`` lies under a configured root (no ``..`` escapes)."""
        return any(_under(path, root) for root in self.roots)

    def check_path(self, path: str, *, what: str = "path") -> str:
        """Return the normalised path, or raise when it is outside every root.

        Raises
        ------
        InvalidInputError
            Naming the path, when no root contains it (``outside_roots``).
        """
        if "\x00" in path:
            raise InvalidInputError(f"{what} contains a NUL byte", subject=what)
        normal = _normalise(path)
        if not self.allows(normal):
            raise OutsideRootsError(
                f"{what} {path!r} is outside the folders this service may read",
                subject=what,
                hint="configure --root (or $ZARRLAKE_ROOTS) to include it",
            )
        return normal


class OutsideRootsError(InvalidInputError):
    """A path the service was asked to read or register is outside its roots."""


def _normalise(path: str) -> str:
    if "://" in path:
        scheme, rest = path.split("://", 1)
        return f"{scheme}://{posixpath.normpath('/' + rest).lstrip('/')}"
    return str(Path(os.path.abspath(path)).resolve())


def _under(path: str, root: str) -> bool:
    normal_root = _normalise(root).rstrip("/")
    return path == normal_root or path.startswith(normal_root + "/")
