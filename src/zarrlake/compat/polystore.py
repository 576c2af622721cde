"""polystore's API (OpenHCS): a file-path storage backend over Zarr, and its registry.

``ZarrStorageBackend`` is :class:`zarrlake.backends.ZarrBackend` (OME-Zarr HCS plates,
passthrough for non-array files, symlinks); ``ZarrConfig``, ``ZarrCompressor`` and
``ZarrChunkStrategy`` configure it; ``get_backend_instance("zarr")`` returns the shared
instance, as polystore's registry does.
"""

from __future__ import annotations

from zarrlake.backends import (
    ZarrBackend,
    ZarrChunkStrategy,
    ZarrCompressor,
    ZarrConfig,
    get_backend_instance,
)
from zarrlake.errors import StorageResolutionError

__all__ = [
    "StorageResolutionError",
    "ZarrChunkStrategy",
    "ZarrCompressor",
    "ZarrConfig",
    "ZarrStorageBackend",
    "get_backend_instance",
]

ZarrStorageBackend = ZarrBackend
