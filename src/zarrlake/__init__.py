"""zarrlake: build, grow, repair and find Zarr archives.

The curated public API, imported lazily (a command imports what it uses, so
``zarrlake --version`` does not import xarray). Packages: ``storage`` (store URLs, atomic
primitives), ``hierarchy`` (the Zarr metadata model), ``encoding`` (compression specs,
chunk planning, CF packing and times), ``txn`` (transactions), ``meta`` (inspection and
metadata health), ``convert`` (files into one archive), ``append``, ``backends``
(file-path storage), ``catalog`` (find any observation), ``compat`` (the original tools'
names), ``errors`` (one error tree rooted at :class:`ZarrlakeError`).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from zarrlake._version import __version__
from zarrlake.errors import (
    AlreadyExistsError,
    CatalogSchemaError,
    ConflictError,
    ConversionError,
    CorruptError,
    ExtractionError,
    InsufficientStorageError,
    InvalidInputError,
    IsDirectoryError,
    LockedError,
    MissingDependencyError,
    NotDirectoryError,
    NotFoundError,
    OutOfRangeError,
    PathNotFoundError,
    RetryLimitExceededError,
    StorageError,
    StorageResolutionError,
    SymlinkLoopError,
    UnsupportedSchemeError,
    ZarrlakeError,
)

if TYPE_CHECKING:
    from zarrlake.append import AppendConfig, AppendResult, append
    from zarrlake.compat.zappend import zappend
    from zarrlake.compat.zarr_utils import (
        consolidate_metadata,
        list_zarr_arrays,
        repair_metadata,
        validate_metadata,
    )
    from zarrlake.compat.zarrio import ZarrConverter
    from zarrlake.encoding import (
        ChunkPlan,
        CompressionSpec,
        Packing,
        choose_packing,
        parse_compression,
        plan_chunks,
    )
    from zarrlake.meta import (
        Report,
        StoreInfo,
        consolidate,
        inspect_store,
        list_arrays,
        repair,
        validate,
    )
    from zarrlake.storage import atomic_put, open_store, parse_url, put_if_absent
    from zarrlake.txn import LockOptions, Transaction, recover

_LAZY = {
    "zarrlake.append": ("AppendConfig", "AppendResult"),
    "zarrlake.compat.zappend": ("zappend",),
    "zarrlake.compat.zarr_utils": (
        "consolidate_metadata",
        "list_zarr_arrays",
        "repair_metadata",
        "validate_metadata",
    ),
    "zarrlake.compat.zarrio": ("ZarrConverter",),
    "zarrlake.encoding": (
        "ChunkPlan",
        "CompressionSpec",
        "Packing",
        "choose_packing",
        "parse_compression",
        "plan_chunks",
    ),
    "zarrlake.meta": (
        "Report",
        "StoreInfo",
        "consolidate",
        "inspect_store",
        "list_arrays",
        "repair",
        "validate",
    ),
    "zarrlake.storage": ("atomic_put", "open_store", "parse_url", "put_if_absent"),
    "zarrlake.txn": ("LockOptions", "Transaction", "recover"),
}
_HOME = {name: module for module, names in _LAZY.items() for name in names}


def __getattr__(name: str) -> Any:
    """Import a public name's package on first use (PEP 562)."""
    if name == "append":
        # the package zarrlake.append is callable as append(): one object, however imported
        return importlib.import_module("zarrlake.append")
    module = _HOME.get(name)
    if module is None:
        raise AttributeError(f"module 'zarrlake' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted(__all__)


__all__ = [
    "AlreadyExistsError",
    "AppendConfig",
    "AppendResult",
    "CatalogSchemaError",
    "ChunkPlan",
    "CompressionSpec",
    "ConflictError",
    "ConversionError",
    "CorruptError",
    "ExtractionError",
    "InsufficientStorageError",
    "InvalidInputError",
    "IsDirectoryError",
    "LockOptions",
    "LockedError",
    "MissingDependencyError",
    "NotDirectoryError",
    "NotFoundError",
    "OutOfRangeError",
    "Packing",
    "PathNotFoundError",
    "Report",
    "RetryLimitExceededError",
    "StorageError",
    "StorageResolutionError",
    "StoreInfo",
    "SymlinkLoopError",
    "Transaction",
    "UnsupportedSchemeError",
    "ZarrConverter",
    "ZarrlakeError",
    "__version__",
    "append",
    "atomic_put",
    "choose_packing",
    "consolidate",
    "consolidate_metadata",
    "inspect_store",
    "list_arrays",
    "list_zarr_arrays",
    "open_store",
    "parse_compression",
    "parse_url",
    "plan_chunks",
    "put_if_absent",
    "recover",
    "repair",
    "repair_metadata",
    "validate",
    "validate_metadata",
    "zappend",
]
