"""File-path storage backends: save and load "files" by path; the backend decides how.

``disk`` keeps files on the local filesystem, ``memory`` in the process, ``zarr`` in
Zarr hierarchies, with wells of high-content screening plates written as valid
OME-Zarr HCS (NGFF 0.5 or 0.4). Every backend keeps the contract described in
:mod:`zarrlake.backends._base`. polystore's names (``ZarrStorageBackend``, ...) are in
:mod:`zarrlake.compat.polystore`.
"""

from zarrlake.backends._base import StorageBackend
from zarrlake.backends._config import PLATE_SIZES, ZarrChunkStrategy, ZarrCompressor, ZarrConfig
from zarrlake.backends._disk import DiskBackend
from zarrlake.backends._memory import MemoryBackend
from zarrlake.backends._registry import (
    available_backends,
    get_backend,
    get_backend_instance,
    register_backend,
)
from zarrlake.backends._zarr_ import ZarrBackend
from zarrlake.errors import StorageResolutionError

__all__ = [
    "PLATE_SIZES",
    "DiskBackend",
    "MemoryBackend",
    "StorageBackend",
    "StorageResolutionError",
    "ZarrBackend",
    "ZarrChunkStrategy",
    "ZarrCompressor",
    "ZarrConfig",
    "available_backends",
    "get_backend",
    "get_backend_instance",
    "register_backend",
]
