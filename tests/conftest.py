"""Shared fixtures: a real S3 server, and stores of every kind (local, memory, s3)."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from zarr.abc.store import Store

from zarrlake._warnings import silence_known_zarr_warnings
from zarrlake.storage import forget_memory_store, open_store
from zarrlake.storage.urls import Mode
from zarrlake.testing import LocalS3Server

silence_known_zarr_warnings()

# the catalog's database fixtures serve tests/catalog and tests/compat alike
pytest_plugins = ("tests.catalog.fixtures",)

STORE_KINDS = ("local", "memory", "s3")


@dataclass
class StoreTarget:
    """A store location for one test: its kind, URL and options."""

    kind: str
    url: str
    storage_options: dict[str, Any] | None = None
    cli_options: list[str] = field(default_factory=list)

    def open(self, mode: Mode = "a") -> Store:
        return open_store(self.url, mode=mode, storage_options=self.storage_options)

    def child(self, name: str) -> StoreTarget:
        """Another location beside this one (same kind, bucket or folder)."""
        base = self.url.rsplit("/", 1)[0]
        return StoreTarget(self.kind, f"{base}/{name}", self.storage_options, self.cli_options)


@pytest.fixture(scope="session")
def s3_server() -> Iterator[LocalS3Server]:
    """One moto S3 server process on 127.0.0.1 for the whole test session."""
    with LocalS3Server() as server:
        yield server


@pytest.fixture
def s3_bucket(s3_server: LocalS3Server) -> str:
    """A fresh, empty bucket on the session's S3 server."""
    return s3_server.create_bucket()


def make_target(kind: str, request: pytest.FixtureRequest, tmp_path: Path) -> StoreTarget:
    """Create a fresh, empty location of ``kind`` (``local``, ``memory`` or ``s3``)."""
    name = f"archive-{uuid.uuid4().hex[:8]}.zarr"
    if kind == "local":
        return StoreTarget("local", str(tmp_path / name))
    if kind == "memory":
        url = f"memory://{uuid.uuid4().hex}/{name}"
        request.addfinalizer(lambda: forget_memory_store(url))
        return StoreTarget("memory", url)
    server: LocalS3Server = request.getfixturevalue("s3_server")
    bucket = server.create_bucket()
    options = server.storage_options
    cli = [item for k, v in options.items() for item in ("-o", f"{k}={v}")]
    return StoreTarget("s3", f"s3://{bucket}/{name}", options, cli)


@pytest.fixture(params=STORE_KINDS)
def store_target(request: pytest.FixtureRequest, tmp_path: Path) -> StoreTarget:
    """A fresh location of each kind in turn: local directory, memory://, s3:// (moto)."""
    return make_target(request.param, request, tmp_path)


@pytest.fixture
def store(store_target: StoreTarget) -> Store:
    """An open, writable, empty store of each kind in turn."""
    return store_target.open("a")
