"""One contract, three backends: zarrlake.testing's suite runs on disk, memory and zarr."""

from __future__ import annotations

from pathlib import Path

from zarrlake.backends import DiskBackend, MemoryBackend, ZarrBackend
from zarrlake.testing.backends import BackendTests


class TestDiskBackend(BackendTests):
    backend_class = DiskBackend


class TestMemoryBackend(BackendTests):
    backend_class = MemoryBackend
    virtual_root = Path("/virtual")


class TestZarrBackend(BackendTests):
    backend_class = ZarrBackend
