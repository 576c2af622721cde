"""zarrlake: build, grow, repair and find Zarr archives.

The curated public API. Submodules: ``storage`` (store URLs, atomic primitives),
``encoding`` (compression specs, chunk planning, CF packing), ``meta`` (inspection and
metadata health), ``append``, ``convert`` (files into one archive), ``errors`` (one
error tree rooted at :class:`ZarrlakeError`).
"""

from zarrlake._version import __version__
from zarrlake.append import AppendConfig, AppendResult, append, zappend
from zarrlake.convert import ZarrConverter
from zarrlake.encoding import (
    ChunkPlan,
    CompressionSpec,
    Packing,
    choose_packing,
    parse_compression,
    plan_chunks,
)
from zarrlake.errors import (
    AlreadyExistsError,
    CatalogSchemaError,
    ConflictError,
    ConversionError,
    CorruptError,
    ExtractionError,
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
from zarrlake.meta import (
    Report,
    StoreInfo,
    consolidate,
    consolidate_metadata,
    inspect_store,
    list_arrays,
    list_zarr_arrays,
    repair,
    repair_metadata,
    validate,
    validate_metadata,
)
from zarrlake.storage import atomic_put, open_store, parse_url, put_if_absent
from zarrlake.txn import LockOptions, Transaction, recover

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
