"""A catalog service with a small, known catalog behind it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from zarrlake.catalog import Catalog
from zarrlake.catalog.api import ServiceSettings, create_app

TOKEN = "s3cret-token"
T0 = datetime(2026, 3, 1)


def fill(catalog: Catalog, root: Path, count: int = 30) -> list[int]:
    records = []
    for i in range(count):
        records.append(
            {
                "file_path": str(root / f"obs{i:03d}.fits"),
                "mission_id": ("COSMOS-7", "HELIO")[i % 2],
                "satellite_name": "Sat-A",
                "instrument_type": ("CAM", "SPEC", "RAD")[i % 3],
                "observation_timestamp": T0 + timedelta(hours=6 * i),
                "observation_end": T0 + timedelta(hours=6 * i, minutes=30),
                "target_object": ("M31", "M33", "NGC 1")[i % 3],
                "data_quality_score": round((i % 10) / 10, 1),
                "calibration_status": "COMPLETE" if i % 4 == 0 else "PENDING",
                "file_size": 1000 + i,
                "format": "fits",
                "ra": 10.0 + i,
                "dec": -5.0 + i,
            }
        )
    ids = catalog.upsert_observations(records).ids
    catalog.link(ids[0], ids[1], "raw_to_processed")
    catalog.link(ids[1], ids[2], "derived_from")
    return ids


@pytest.fixture
def service_root(tmp_path: Path) -> Path:
    root = tmp_path / "archive"
    root.mkdir()
    return root


@pytest.fixture
def filled(catalog: Catalog, service_root: Path) -> Catalog:
    fill(catalog, service_root)
    return catalog


def make_client(catalog: Catalog, root: Path, **settings: object) -> TestClient:
    config = ServiceSettings(catalog=catalog.url, roots=[str(root)], **settings)  # type: ignore[arg-type]
    return TestClient(create_app(config, catalog=catalog))


@pytest.fixture
def client(filled: Catalog, service_root: Path) -> Iterator[TestClient]:
    """A writable service (bearer token set) on SQLite and PostgreSQL."""
    with make_client(filled, service_root, token=TOKEN) as test_client:
        yield test_client


@pytest.fixture
def auth() -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKEN}"}


@contextmanager
def serving(app: object) -> Iterator[str]:
    """Run ``app`` on a real uvicorn server on 127.0.0.1 (a free port) in a thread."""
    import socket
    import threading
    import time

    import uvicorn

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        assert time.monotonic() < deadline and thread.is_alive(), "uvicorn did not start"
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(10)


@pytest.fixture
def live_url(filled: Catalog, service_root: Path) -> Iterator[str]:
    """The service with the filled catalog, over real HTTP (token set)."""
    config = ServiceSettings(catalog=filled.url, roots=[str(service_root)], token=TOKEN)
    with serving(create_app(config, catalog=filled)) as url:
        yield url
