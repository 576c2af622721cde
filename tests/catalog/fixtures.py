"""Catalog fixtures (a root conftest plugin): each catalog test runs on SQLite and PostgreSQL."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from zarrlake.catalog import Catalog
from zarrlake.testing import LocalPostgresServer, create_postgres_database, postgres_binaries

POSTGRES_ENV = "ZARRLAKE_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def postgres_server_url() -> Iterator[str]:
    """The PostgreSQL server of this run: .ci/run's (``$ZARRLAKE_TEST_POSTGRES_URL``) or our own."""
    given = os.environ.get(POSTGRES_ENV)
    if given:
        yield given
        return
    if postgres_binaries() is None:
        pytest.skip("no PostgreSQL server binaries on this machine")
    with LocalPostgresServer() as server:
        yield server.url


@pytest.fixture(params=["sqlite", "postgresql"])
def catalog_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty catalog database of each kind."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'catalog.db'}"
    return create_postgres_database(request.getfixturevalue("postgres_server_url"))


@pytest.fixture
def catalog(catalog_url: str) -> Iterator[Catalog]:
    """An initialised catalog on each database kind."""
    with Catalog(catalog_url) as db:
        yield db


@pytest.fixture
def sqlite_catalog(tmp_path: Path) -> Iterator[Catalog]:
    """An initialised SQLite catalog (for tests about files, not databases)."""
    with Catalog(tmp_path / "catalog.db") as db:
        yield db
